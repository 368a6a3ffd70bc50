"""The exact chat-completions body instructor sends for a response model in a mode, without sending it.

The Batch API submits these bodies and the endpoint probe tries them mode by mode, so both
send what the pipeline would send: taken from instructor, not rebuilt here.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel

# Keyword arguments instructor's create takes or passes on that are not part of the HTTP body.
NOT_BODY = frozenset({"max_retries", "response_model", "hooks", "validation_context", "context", "strict",
                      "token_budget", "extra_headers", "extra_query", "extra_body", "timeout"})


def _incomplete() -> type[Exception]:
    from instructor.core.exceptions import IncompleteOutputException

    return IncompleteOutputException


@cache
def _captured_class() -> type[Exception]:
    class Captured(_incomplete()):  # type: ignore[misc]
        """Raised by the capturing create with the prepared request.

        A subclass of IncompleteOutputException because instructor re-raises that one untouched
        and without logging; any other exception is logged and wrapped in InstructorRetryException.
        """

        def __init__(self, kwargs: dict[str, Any]) -> None:
            super().__init__(message="request captured")
            self.kwargs = kwargs

    return Captured


def _capture(*args: Any, **kwargs: Any) -> Any:
    raise _captured_class()(kwargs)


@cache
def _capturing_create(mode: Any) -> Any:
    import instructor

    return instructor.patch(create=_capture, mode=mode)


def _find_captured(exc: BaseException) -> Any:
    attempts = getattr(exc, "failed_attempts", None) or []
    candidates = [exc, *(a.exception for a in attempts), exc.__cause__, exc.__context__]
    return next((c for c in candidates if isinstance(c, _captured_class())), None)


def chat_body(mode: Any, *, messages: list[dict[str, str]], response_model: type[BaseModel],
              **params: Any) -> dict[str, Any]:
    """The chat-completions body for `response_model` in instructor `mode`, as plain JSON.

    instructor prepares it for the mode (response_format, tools and tool_choice, or schema
    instructions added to the messages); keys that never reach HTTP are dropped.
    """
    import openai
    from instructor.core.exceptions import InstructorRetryException

    create = _capturing_create(mode)
    try:
        create(messages=messages, response_model=response_model, max_retries=0, **params)
    except (_incomplete(), InstructorRetryException) as exc:
        captured = _find_captured(exc)
        if captured is None:
            raise
        kwargs = captured.kwargs
    else:  # pragma: no cover - the capturing create always raises
        raise RuntimeError("instructor did not call create")
    body = {
        key: value for key, value in kwargs.items()
        if key not in NOT_BODY and not isinstance(value, openai.NotGiven | openai.Omit)
    }
    return dict(json.loads(json.dumps(body)))  # plain JSON, as it would go over the wire
