"""Every use of instructor, and of openai's insides, in one module.

The rest of the project sees project types only: a validated answer, a `Cut` answer (stopped
at the token limit) or an `Invalid` one, and `BackendError`s. What this module relies on
beyond the libraries' documented surface, and why it is worth it:

- `instructor.v2.core.response.handle_response_model` / `process_response`: how instructor
  turns (messages, response model, mode) into a request body, and a completion into a
  validated answer. The Batch API sends and reads exactly what the synchronous path would.
- `instructor.v2.core.hooks.Hooks` and its `parse:error` event: why each re-asked answer
  failed validation, for the call log.
- `instructor.response_schema` plus a cached JSON schema (`prepared`): instructor wraps a
  plain model in a new class and regenerates its schema on every call; built once here.
  Without it a call costs about 4 ms more CPU (`benchmarks`, docs/performance.md).
- `reject_async_validators` memoised for the classes `prepared` builds: instructor walks the
  whole response model twice per call to refuse async validators (about 0.6 ms of CPU).
  It is replaced in every instructor module that holds it.
- openai's `client.post(..., cast_to=ChatCompletion)` instead of `chat.completions.create`:
  `create` walks every request to convert typed parameters; ours are plain JSON already
  (about 1.5 ms of CPU per call under load).

`tests/unit/test_sdk_contract.py` pins the versions these were checked against (`PINNED`)
and checks each behaviour; when instructor or openai changes version it fails and names what
to re-check here.
"""

from __future__ import annotations

import json
import sys
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ..errors import BackendError

PINNED = {"instructor": "1.17.", "openai": "3.3."}
"""Versions (prefixes) the helpers below were checked against."""

# Keyword arguments instructor's create takes or passes on that are not part of the HTTP body.
_NOT_BODY = frozenset({"max_retries", "response_model", "hooks", "validation_context", "context", "strict",
                       "token_budget", "extra_headers", "extra_query", "extra_body", "timeout"})


@dataclass(frozen=True)
class Cut:
    """An answer that stopped at the token limit (`finish_reason: length`): its text, to salvage and continue."""

    text: str | None


class Invalid(Exception):
    """An answer that does not validate (after instructor's re-asks): the field and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- modes and the structured call ---------------------------------------------------------------


def mode_for(name: str) -> Any:
    """The instructor `Mode` of a `--mode` name (one of `settings.MODES`)."""
    from instructor import Mode

    return {"json_schema": Mode.JSON_SCHEMA, "tools": Mode.TOOLS, "json": Mode.JSON, "md_json": Mode.MD_JSON}[name]


def structured_create(create: Callable[..., Awaitable[Any]], mode: Any) -> Callable[..., Awaitable[Any]]:
    """`create` (raw chat completions) driven by instructor: validation, re-asks, the mode's request format."""
    import instructor

    return instructor.patch(create=create, mode=mode)  # type: ignore[return-value]


async def ask(create: Callable[..., Awaitable[Any]], response_model: type[BaseModel], *,
              rejected: Callable[[str], None] | None = None, **kwargs: Any) -> BaseModel | Cut:
    """One answer of `response_model` from a `structured_create` callable (messages and parameters in `kwargs`).

    Returns the validated answer or a `Cut` one; raises the endpoint's `BackendError`, or
    `Invalid` when the re-asks ran out. `rejected` is told why each answer that did not
    validate was re-asked, in order (instructor's `parse:error` hook; the call log keeps it).
    """
    from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

    from .accounting import completion_text

    if rejected is not None:
        from instructor.v2.core.hooks import Hooks

        hooks = Hooks()
        hooks.on("parse:error", lambda error, **_: rejected(reason_of(error)))
        kwargs["hooks"] = hooks
    try:
        answer: BaseModel = await create(response_model=prepared(response_model), **kwargs)
    except InstructorRetryException as exc:
        transport = _backend_error(exc)
        if transport is not None:
            raise transport from None  # the endpoint failed: not a validation failure
        raise Invalid(_last_reason(exc)) from None
    except IncompleteOutputException as exc:
        return Cut(completion_text(exc.last_completion))
    return answer


def _backend_error(exc: Exception) -> BackendError | None:
    attempts = getattr(exc, "failed_attempts", None) or []
    candidates = [a.exception for a in attempts] + [exc.__cause__, exc.__context__]
    return next((c for c in candidates if isinstance(c, BackendError)), None)


def _last_reason(exc: Exception) -> str:
    attempts = getattr(exc, "failed_attempts", None) or []
    error = attempts[-1].exception if attempts else exc
    return reason_of(error)


def reason_of(error: BaseException) -> str:
    """Why one answer failed: a validation error named by field and reason, or the exception's text."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        # A pydantic ValidationError: name the field and the reason, not just "1 validation error".
        try:
            found = errors()
            first = found[0]
            where = ".".join(str(p) for p in first["loc"]) or "answer"
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            return f"{where}: {first['msg']}{more}"
        except (TypeError, IndexError, KeyError):
            pass
    return str(error)


# -- the Batch API: the body instructor would send, and the answer it would accept ---------------


def request_body(response_model: type[BaseModel], mode: Any, **kwargs: Any) -> dict[str, Any]:
    """The chat-completions body instructor sends for `kwargs` (messages, model, parameters) in `mode`.

    instructor adds what the mode needs (response_format; tools and tool_choice; schema
    instructions in the messages); keys that never reach HTTP are dropped.
    """
    import openai
    from instructor.v2.core.response import handle_response_model

    _, prepared_kwargs = handle_response_model(prepared(response_model), mode=mode, **kwargs)
    body = {key: value for key, value in prepared_kwargs.items()
            if key not in _NOT_BODY and not isinstance(value, openai.NotGiven | openai.Omit)}
    return dict(json.loads(json.dumps(body)))  # plain JSON, as it goes over the wire


def completion_of(body: dict[str, Any]) -> Any:
    """A chat-completion body (a Batch API output line's) as the SDK's `ChatCompletion`; raises `Invalid`."""
    from openai.types.chat import ChatCompletion

    try:
        completion = ChatCompletion.model_validate(
            {"id": "batch", "object": "chat.completion", "created": 0, "model": "", **body})
    except PydanticValidationError as exc:
        raise Invalid(f"not a chat completion: {reason_of(exc)}") from None
    if not completion.choices:
        raise Invalid("the completion has no choices")
    return completion


def parse_answer(completion: Any, response_model: type[BaseModel], mode: Any) -> BaseModel | Cut:
    """The answer in a chat completion, validated as the synchronous path validates it; raises `Invalid`."""
    from instructor.core.exceptions import IncompleteOutputException
    from instructor.v2.core.response import process_response

    from .accounting import completion_text

    try:
        answer: BaseModel = process_response(completion, response_model=prepared(response_model), stream=False,
                                             strict=True, mode=mode)
    except IncompleteOutputException:
        return Cut(completion_text(completion))
    except (PydanticValidationError, ValueError) as exc:
        raise Invalid(reason_of(exc)) from None
    return answer


# -- openai: the request without the SDK's parameter walk ----------------------------------------


def chat_poster(client: Any) -> Callable[..., Any]:
    """`chat.completions.create` without the SDK's parameter transformation (sync or async client).

    `create` walks every request (the whole JSON schema, every message) to convert typed
    parameters; ours are plain JSON already, and the walk costs more CPU than the rest of the
    call. `post` sends the same body through the same client: same errors, same parsing.
    """
    from openai.types.chat import ChatCompletion

    def create(*, timeout: float | None = None, **body: Any) -> Any:
        return client.post("/chat/completions", cast_to=ChatCompletion, body=body, options={"timeout": timeout})

    return create


# -- response classes built once -----------------------------------------------------------------


@lru_cache(maxsize=128)  # bounded: grounded decoding makes one answer model per document
def prepared(model: type[BaseModel]) -> type[BaseModel]:
    """`model` as instructor's response class, built once, with its JSON schema generated once.

    instructor wraps a plain model (a new class) and regenerates its schema on every call;
    both are the same for every document, so they are made here once per model.
    """
    from instructor import response_schema

    _memoise_async_validator_check()
    wrapped = response_schema(model)
    # Kept as JSON text: parsing it gives every caller its own copy (callers may edit the
    # schema they get) in a fraction of the time copy.deepcopy takes.
    schema = json.dumps(wrapped.model_json_schema())

    class Prepared(wrapped):  # type: ignore[valid-type, misc]
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            if args or kwargs:
                return super().model_json_schema(*args, **kwargs)
            return dict(json.loads(schema))

    Prepared.__name__ = Prepared.__qualname__ = model.__name__
    Prepared.__doc__ = wrapped.__doc__
    _CHECKED.add(Prepared)
    return Prepared


# The classes `prepared` built; the async-validator check is memoised for these only.
_CHECKED: weakref.WeakSet[type] = weakref.WeakSet()


def _memoise_async_validator_check() -> None:
    """Check each prepared class for async validators once, not twice on every call.

    The classes `prepared` builds never change after they are built, so their answer is kept;
    any other model is checked as instructor checks it. The function is replaced wherever
    instructor's modules hold it (some import it when they call it, some when they load).
    """
    try:
        from instructor.v2.validation import async_validators
    except ImportError:  # moved in another release: calls work, only slower (the contract test says so)
        return
    check = getattr(async_validators, "reject_async_validators", None)
    if check is None or getattr(check, "memoised", False):
        return
    reject_async_validators = memoised_check(check)
    for name, module in list(sys.modules.items()):
        if name.startswith("instructor") and getattr(module, "reject_async_validators", None) is check:
            module.reject_async_validators = reject_async_validators  # type: ignore[attr-defined]


def memoised_check(check: Callable[[Any], None]) -> Callable[[Any], None]:
    """`check`, remembered for the classes `prepared` built once they have passed it."""

    passed: weakref.WeakSet[type] = weakref.WeakSet()

    def reject_async_validators(response_model: Any) -> None:
        if response_model in passed:
            return
        check(response_model)  # raises for a model with async validators: never kept
        if isinstance(response_model, type) and response_model in _CHECKED:
            passed.add(response_model)

    reject_async_validators.memoised = True  # type: ignore[attr-defined]
    return reject_async_validators
