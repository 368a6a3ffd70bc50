"""The OpenAPI document says what the server really does: every status it answers, and its configured limits.

Routes declare their error statuses with `errors(...)` (each an `ErrorBody`); `finish()`
fills in what depends on how the server was started: the longest text it accepts, the
prompts and the models a request may name. A request the document calls valid is accepted,
and one it calls invalid is refused with a 4xx (checked by schemathesis in the test suite).
"""

from __future__ import annotations

from typing import Any

from .schemas import ErrorBody

ERROR_TEXT = {
    400: "Bad request: the body is not valid JSON (or nested too deeply), the document is unusable, or the prompt "
         "or model is unknown",
    401: "Missing, invalid or revoked API key",
    403: "The key's role is too low for this operation (reader < reviewer < admin)",
    404: "No such document, job, extraction or run",
    409: "Conflict: the id is stored with another text, the server has no sanctions list, or the runs do not compare",
    413: "The body or the text is over the server's limit",
    415: "Unsupported content type",
    422: "The request does not validate (the message names the field)",
    429: "Over the key's rate limit, or too many failed keys from this address (see Retry-After)",
    502: "The model endpoint failed",
    503: "The database does not answer",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with its description and the error body."""
    return {status: {"model": ErrorBody, "description": ERROR_TEXT[status]} for status in statuses}


def jobs_request_body(max_documents: int) -> dict[str, Any]:
    """The request body of `POST /v1/jobs`: a JSON list, an object with `documents`, JSONL, or a JSONL upload.

    Entries are checked one by one and a bad one is reported in the answer, not refused with
    the request, so the schema of an entry is open.
    """
    documents = {"type": "array", "minItems": 1, "maxItems": max_documents,
                 "items": {"description": "A document: {id?, text, title?, published?, url?, publisher?}"}}
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {
                "description": "A list of documents, or {documents, prompt, model}",
                "anyOf": [
                    documents,
                    {"type": "object", "required": ["documents"], "properties": {
                        "documents": documents,
                        "prompt": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "model": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    }},
                ],
            }},
            "application/x-ndjson": {"schema": {"type": "string", "pattern": "\\S",
                                                "description": "One document per line"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary", "description": "A JSONL file"}},
            }},
        },
    }


EXTRACTING = ("/v1/extract", "/v1/jobs")


def finish(spec: dict[str, Any], *, max_text_chars: int, prompts: list[str], models: list[str],
           max_documents: int) -> dict[str, Any]:
    """`spec` with the server's own limits and choices filled in (in place; the same every time)."""
    choice = {"prompt": prompts, "model": models}
    request = spec.get("components", {}).get("schemas", {}).get("ExtractRequest", {}).get("properties", {})
    if "text" in request:
        request["text"]["maxLength"] = max_text_chars
    for name, values in choice.items():
        if name in request:
            request[name]["anyOf"] = [{"type": "string", "enum": values}, {"type": "null"}]
    for route, path in spec.get("paths", {}).items():
        # Only requests that extract choose among the served prompts and models; elsewhere (the
        # run history's filters, say) a prompt or model is any recorded name.
        extracting = route in EXTRACTING
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if extracting and parameter.get("in") == "query" and parameter.get("name") in choice:
                    parameter["schema"] = {"anyOf": [{"type": "string", "enum": choice[parameter["name"]]},
                                                     {"type": "null"}], "title": parameter["name"].title()}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            for option in body.get("anyOf", []):
                listed = option.get("properties", {}).get("documents", option)
                if listed.get("type") == "array":
                    listed["maxItems"] = max_documents
                for name, values in choice.items():
                    if name in option.get("properties", {}):
                        option["properties"][name] = {"anyOf": [{"type": "string", "enum": values},
                                                                {"type": "null"}]}
    return spec
