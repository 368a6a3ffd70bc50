"""The endpoint check before a run: the model answers, the mode is accepted, the output budget fits.

`ready(extractor)` probes the extractor's endpoint once (`endpoint.probe`) and returns the
extractor to run with, plus notes for the user:

- the endpoint is down, or the key is refused: `ConfigError` at once, before any document;
- the structured-output mode is refused (llama-cpp-python's server answers `json_schema` with
  a 500 "Input should be 'text' or 'json_object'"): the next of json_schema → tools → json that
  is accepted, with a one-line note; none accepted: `ConfigError` naming --mode;
- the context is known (the model list, llama.cpp's /props, an overflow error, a clamped
  answer) and the output budget does not fit it with the prompt: the default budget is lowered
  to fit, with a note; a budget the user set is refused, naming --max-tokens and what fits.

The embedded model, and `EXTRACTOR_PROBE=off` (a record/replay server that answers only the
requests it recorded), skip the check.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..backends.base import mode_for
from ..backends.openai_compat import OPENAI_URL
from ..calls.requests import chat_body
from ..documents import Document
from ..errors import ConfigError
from .endpoint import Endpoint, Probe, probe

if TYPE_CHECKING:
    from ..pipeline import Extractor

PROBE_TEXT = "The city council approved a new park on Monday."
# Tokens left for the article beside the prompt and the answer, at the least.
ARTICLE_ROOM = 256
MIN_OUTPUT = 512
# The probe's own output budget: enough for a model to start its answer, short enough to be quick.
PROBE_MAX_TOKENS = 64


def ready(extractor: Extractor) -> tuple[Extractor, list[str]]:
    """The extractor to run with, checked against its endpoint once, and notes to show the user."""
    settings = extractor.settings
    if not settings.probe or settings.uses_embedded:
        return extractor, []
    document = Document(id="probe", text=PROBE_TEXT)
    messages = extractor.prompt.messages(document)
    params = {**extractor.params(), "max_tokens": min(extractor.max_tokens, PROBE_MAX_TOKENS),
              **extractor.backend.request_kwargs()}

    def body_for(mode: str) -> dict[str, Any]:
        return chat_body(mode_for(mode), messages=messages, response_model=extractor.response_model, **params)

    endpoint = Endpoint(settings.base_url or OPENAI_URL, settings.api_key, settings.timeout)
    try:
        found = probe(endpoint, model=str(settings.model), mode=settings.mode, body_for=body_for)
    finally:
        endpoint.close()
    changes, notes = _budget(extractor, found, endpoint.base_url, len(json.dumps(messages)))
    if found.mode != settings.mode:
        changes["mode"] = found.mode
    if not changes:
        return extractor, found.notes + notes
    from ..pipeline import Extractor

    checked = Extractor(settings.with_(**changes), prompt=extractor.prompt)
    checked.log_calls(extractor.call_log, run_id=extractor.run_id)
    return checked, found.notes + notes


def _budget(extractor: Extractor, found: Probe, url: str, prompt_chars: int) -> tuple[dict[str, Any], list[str]]:
    """Settings that make the output budget fit a known context (or the reason none can)."""
    context = found.context
    if context is None:
        return {}, []
    changes: dict[str, Any] = {}
    if 512 <= context < extractor.settings.context_tokens:
        changes["context_tokens"] = context  # long documents are chunked for this context
    # The probe's own prompt is the prompt and a one-line document; at worst three characters a token.
    prompt = found.prompt_tokens or prompt_chars // 3
    budget = extractor.max_tokens
    if budget + prompt + ARTICLE_ROOM <= context:
        return changes, []
    fitted = (context - prompt) // 2  # half the room for the article, half for the answer
    larger = ("start the server with a larger context (llama-cpp-python --n_ctx 16384, llama-server -c 16384, "
              "vLLM --max-model-len 16384)")
    if fitted < MIN_OUTPUT:
        raise ConfigError(f"{url} has a {context}-token context; prompt {extractor.prompt.id} alone takes about "
                          f"{prompt} tokens, which leaves no room for an article and an answer: {larger} "
                          "(no document was sent)")
    if extractor.settings.max_tokens is not None or extractor.prompt.spec.max_tokens is not None:
        raise ConfigError(f"--max-tokens / EXTRACTOR_MAX_TOKENS {budget} does not fit {url}'s {context}-token "
                          f"context with prompt {extractor.prompt.id} (about {prompt} tokens): use --max-tokens "
                          f"{fitted} or less, or {larger} (no document was sent)")
    changes["max_tokens"] = fitted
    note = (f"{url} has a {context}-token context and prompt {extractor.prompt.id} takes about {prompt}: the output "
            f"budget is {fitted} tokens for this run instead of {budget} (--max-tokens sets it; longer answers "
            f"are continued)")
    return changes, [note]


__all__ = ["Endpoint", "Probe", "probe", "ready"]
