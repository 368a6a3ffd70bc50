"""What an OpenAI-compatible endpoint accepts, found with two requests before a run.

`probe(...)` asks the endpoint for its models (`GET /models`: is it there, is the key good,
how long is the context) and sends one real request, the prompt with a one-line document, in
the run's structured-output mode. Whatever it learns comes back as a `Probe`; what makes a
run impossible is a `ConfigError` naming the setting to change. Nothing here retries: a
server that is down is reported in the time one connection attempt takes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import ConfigError

# Structured-output modes tried in order, from the one asked for.
FALLBACK = {"json_schema": ("json_schema", "tools", "json"), "tools": ("tools", "json"), "json": ("json",),
            "md_json": ("md_json",)}
CONNECT_TIMEOUT = 5.0
# Fields servers use for the context length in their model list (vLLM, LM Studio, OpenRouter, llama.cpp).
_CONTEXT_FIELDS = ("max_model_len", "context_length", "loaded_context_length", "max_context_length", "n_ctx",
                   "context_window")
_CONTEXT = re.compile(r"(?:maximum context length|context (?:length|window|size))\D{0,40}?(\d{3,7})", re.IGNORECASE)
_MESSAGES_TOKENS = re.compile(r"(\d+) in the messages|requested tokens \((\d+)\)|prompt (?:is|has) (\d+) tokens",
                              re.IGNORECASE)
_FORMAT = re.compile(r"response_format|json_schema|json_object|tool_choice|\btools?\b|function|grammar",
                     re.IGNORECASE)
_PYDANTIC_MSG = re.compile(r"""'msg': (?:"([^"]*)"|'([^']*)')""")
_REFUSED = re.compile(r"not support|unsupported|should be|must be|invalid|unknown|not allowed|extra (?:inputs|fields)"
                      r"|not implemented|unrecognized|not permitted", re.IGNORECASE)


@dataclass
class Reply:
    """One answer of the endpoint: status, parsed body (when JSON) and the error message, if any."""

    status: int
    body: Any
    message: str = ""

    @property
    def ok(self) -> bool:
        """A 2xx chat completion with at least one choice."""
        return 200 <= self.status < 300 and isinstance(self.body, dict) and bool(self.body.get("choices"))


@dataclass
class Probe:
    """What the probe found: the mode to use, the context length if known, the prompt's size and notes."""

    mode: str
    context: int | None = None
    prompt_tokens: int | None = None
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _message(response: httpx.Response) -> tuple[Any, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return body, str(error.get("message") or error)
    if isinstance(body, dict) and "detail" in body:
        return body, json.dumps(body["detail"])[:600]
    return body, str(error) if error else ""


class Endpoint:
    """An endpoint's base URL and key, spoken to with one short-lived HTTP client."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key or 'not-needed'}"}
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT))

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def get(self, url: str) -> Reply:
        """GET `url` (absolute, or under the base URL)."""
        return self._send("GET", url if url.startswith("http") else f"{self.base_url}{url}")

    def chat(self, body: dict[str, Any]) -> Reply:
        """POST one chat-completions body."""
        return self._send("POST", f"{self.base_url}/chat/completions", body)

    def _send(self, method: str, url: str, body: dict[str, Any] | None = None) -> Reply:
        try:
            response = self.client.request(method, url, json=body)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise ConfigError(f"cannot reach {self.base_url}: no connection within {CONNECT_TIMEOUT:g}s: check "
                                  "OPENAI_BASE_URL / --base-url and that the server is running (no document was "
                                  "sent)") from None
            raise ConfigError(f"{self.base_url} did not answer a one-line request within the request timeout "
                              "(EXTRACTOR_TIMEOUT): is the model still loading? (no document was sent)") from None
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}: check OPENAI_BASE_URL / "
                              "--base-url and that the server is running (no document was sent)") from None
        if response.status_code in (401, 403):
            word = "refused the API key" if response.status_code == 401 else "denied access"
            raise ConfigError(f"{self.base_url} {word} ({response.status_code}): check OPENAI_API_KEY (no document "
                              "was sent)")
        body, message = _message(response)
        return Reply(response.status_code, body, message)


def _listed_context(entry: dict[str, Any]) -> int | None:
    for source in (entry, entry.get("meta") or {}):
        for name in _CONTEXT_FIELDS:
            value = source.get(name) if isinstance(source, dict) else None
            if isinstance(value, int) and value > 0:
                return value
    return None


def _models(endpoint: Endpoint, model: str, found: Probe) -> None:
    """The endpoint's model list: which models it serves and, for ours, the context length it reports."""
    reply = endpoint.get("/models")
    data = reply.body.get("data") if reply.status == 200 and isinstance(reply.body, dict) else None
    if not isinstance(data, list):
        return  # no model list here (some servers have none): the chat request decides
    entries = {str(e.get("id")): e for e in data if isinstance(e, dict) and e.get("id") is not None}
    found.models = list(entries)
    entry = entries.get(model) or (next(iter(entries.values())) if len(entries) == 1 else None)
    if entry is None:
        return
    found.context = _listed_context(entry)
    if found.context is None and entry.get("owned_by") == "llamacpp":
        # llama.cpp's server reports the context it runs with under /props, beside /v1.
        props = endpoint.get(endpoint.base_url.removesuffix("/v1") + "/props")
        if props.status == 200 and isinstance(props.body, dict):
            settings = props.body.get("default_generation_settings") or {}
            value = settings.get("n_ctx") or props.body.get("n_ctx")
            found.context = value if isinstance(value, int) and value > 0 else None


def _context_from_error(reply: Reply) -> tuple[int | None, int | None]:
    """(context length, prompt tokens) stated by a context-overflow error, when it is one."""
    body: dict[str, Any] = reply.body if isinstance(reply.body, dict) else {}
    raw = body.get("error")
    error: dict[str, Any] = raw if isinstance(raw, dict) else {}
    n_ctx = error.get("n_ctx")
    context = n_ctx if isinstance(n_ctx, int) else None
    match = _CONTEXT.search(reply.message)
    if context is None and match:
        context = int(match.group(1))
    prompt = error.get("n_prompt_tokens") if isinstance(error.get("n_prompt_tokens"), int) else None
    tokens = _MESSAGES_TOKENS.search(reply.message)
    if prompt is None and tokens:
        prompt = int(next(g for g in tokens.groups() if g))
    return context, prompt


def refuses_mode(reply: Reply) -> bool:
    """True when an error says the request's structured-output form is not accepted."""
    if reply.status not in (400, 415, 422, 500, 501):
        return False
    return bool(_FORMAT.search(reply.message) and _REFUSED.search(reply.message))


def probe(endpoint: Endpoint, *, model: str, mode: str, body_for: Callable[[str], dict[str, Any]]) -> Probe:
    """Find the mode the endpoint accepts and what it says about its context; raise when a run cannot work.

    `body_for(mode)` is the request the run would send for a one-line document in that mode
    (with a small output budget: the answer itself does not matter, only that it comes).
    """
    found = Probe(mode=mode)
    _models(endpoint, model, found)
    refused: list[str] = []
    for candidate in FALLBACK.get(mode, (mode,)):
        reply = endpoint.chat(body_for(candidate))
        if reply.ok:
            found.mode = candidate
            _usage(reply, found)
            if refused:
                found.notes.append(f"{endpoint.base_url} refused --mode {mode} ({refused[0]}); using --mode "
                                   f"{candidate} for this run; pass --mode {candidate} to skip this check")
            return found
        context, prompt = _context_from_error(reply)
        if context is not None:
            found.mode, found.context = candidate, context
            found.prompt_tokens = prompt
            return found  # the budget check says what to do about it
        if refuses_mode(reply):
            refused.append(f"HTTP {reply.status}: {short(reply.message)}")
            continue
        _unexplained(endpoint, model, candidate, reply, found)
        return found
    tried = ", ".join(FALLBACK.get(mode, (mode,)))
    raise ConfigError(f"{endpoint.base_url} accepts none of the structured-output modes tried ({tried}): "
                      f"{refused[0]}: choose one it supports with --mode / EXTRACTOR_MODE (md_json asks for JSON "
                      "in the text) (no document was sent)")


def _usage(reply: Reply, found: Probe) -> None:
    usage = reply.body.get("usage") or {}
    prompt = usage.get("prompt_tokens")
    found.prompt_tokens = prompt if isinstance(prompt, int) and prompt > 0 else None


def short(message: str, limit: int = 160) -> str:
    """An error message on one line: pydantic's `'msg': "..."` when there is one, else the first words."""
    quoted = _PYDANTIC_MSG.search(message)
    text = quoted.group(1) or quoted.group(2) if quoted else message
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unexplained(endpoint: Endpoint, model: str, mode: str, reply: Reply, found: Probe) -> None:
    """An error the probe cannot read: stop when it surely means a wrong model, else note it and go on."""
    if reply.status == 404 and found.models and model not in found.models:
        listed = ", ".join(found.models[:8]) + (" ..." if len(found.models) > 8 else "")
        raise ConfigError(f"{endpoint.base_url} does not serve model {model!r} (it serves: {listed}): check "
                          "--model / EXTRACTOR_MODEL (no document was sent)")
    found.notes.append(f"{endpoint.base_url} answered the probe request in --mode {mode} with HTTP {reply.status} "
                       f"({short(reply.message)}); going on without the check (EXTRACTOR_PROBE=off skips it)")
