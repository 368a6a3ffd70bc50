"""Every error as JSON `{"error": {"code", "message"}}`: API errors, HTTP errors, validation, crashes.

The handlers never put a stack trace or an internal exception text in a response; an
unexpected exception is logged with its traceback and answered with a generic 500. Nor do
they name the model endpoint: a failing endpoint is a 502 that says so and no more (its
URL and error go to the log), and an invalid answer's message leaves the endpoint out.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from extractor.batch.results import failure_line
from extractor.core.errors import (
    BackendError,
    ConfigError,
    DocumentError,
    ExtractionFailed,
    ExtractorError,
    NotImplementedFeature,
    PromptError,
)
from extractor.store.documents import DocumentConflict

log = logging.getLogger("extractor.service")

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
    429: "rate_limited", 500: "internal_error", 502: "backend_error", 503: "unavailable",
}

# The library's errors, as (status, code) of the response.
LIBRARY_ERRORS: list[tuple[type[ExtractorError], int, str]] = [
    (DocumentConflict, 409, "document_conflict"),
    (PromptError, 400, "unknown_prompt"),
    (DocumentError, 400, "invalid_document"),
    (ExtractionFailed, 422, "extraction_failed"),
    (BackendError, 502, "backend_error"),
    (NotImplementedFeature, 501, "not_implemented"),
    (ConfigError, 500, "configuration_error"),
]


class ApiError(Exception):
    """An error answered as-is: HTTP status, a stable code and a message for the caller."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str) -> dict[str, Any]:
    """The error envelope."""
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


BACKEND_FAILED = "the model endpoint failed; the server log has the details"


def public_message(exc: ExtractorError) -> str:
    """What a caller is told about `exc`: never the model endpoint's URL or its error text."""
    if isinstance(exc, BackendError):
        return BACKEND_FAILED
    text = str(exc)
    endpoint = getattr(exc, "endpoint", None)
    if endpoint:
        text = text.replace(f" ({endpoint})", "").replace(endpoint, "the model endpoint")
    return text


def public_failure(article_id: str, exc: ExtractorError) -> dict[str, Any]:
    """A job item's failure line, as `failure_line` makes it, without the endpoint (which is logged)."""
    if isinstance(exc, BackendError):
        log.warning("%s: %s", article_id, exc)
    line = failure_line(article_id, exc)
    error = {k: v for k, v in line["error"].items() if k != "endpoint"}
    error["message"] = public_message(exc)
    return {**line, "error": error}


def library_error(exc: ExtractorError) -> ApiError:
    """The API error for an exception the library raised on purpose."""
    for kind, status, code in LIBRARY_ERRORS:
        if isinstance(exc, kind):
            if status >= 500:
                log.error("%s: %s", code, exc)
            return ApiError(status, code, public_message(exc))
    return ApiError(400, "extraction_error", public_message(exc))


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "the request body is not valid JSON"
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return 422, "invalid_request", "; ".join(parts) + more


def install(app: FastAPI) -> None:
    """Register the JSON error handlers on `app`."""

    @app.exception_handler(ApiError)
    async def _api(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(ExtractorError)
    async def _library(_request: Request, exc: ExtractorError) -> JSONResponse:
        error = library_error(exc)
        return error_response(error.status, error.code, error.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _validation_message(exc)
        return error_response(status, code, message)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error: the server log has the details")
