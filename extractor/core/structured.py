"""instructor at the edge of the pipeline: response classes built once, failures read back.

`prepared(model)` is what the pipeline passes instructor as `response_model`; the other
helpers turn instructor's exceptions into the project's: the transport error inside a
retry exception, and a validation error named by field.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from .errors import BackendError


@lru_cache(maxsize=128)  # bounded: grounded decoding makes one answer model per document
def prepared(model: type[BaseModel]) -> type[BaseModel]:
    """`model` as instructor's response class, built once, with its JSON schema generated once.

    instructor wraps a plain model (a new class) and regenerates its schema on every call;
    both are the same for every document, so they are made here once per model.
    """
    from instructor.v2.core.function_calls import response_schema

    wrapped = response_schema(model)
    schema = wrapped.model_json_schema()

    class Prepared(wrapped):  # type: ignore[valid-type, misc]
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            if args or kwargs:
                return super().model_json_schema(*args, **kwargs)
            return copy.deepcopy(schema)  # callers may edit the schema they get

    Prepared.__name__ = Prepared.__qualname__ = model.__name__
    Prepared.__doc__ = wrapped.__doc__
    return Prepared


def step_reason(step: str | None, reason: str) -> str:
    return f"step {step}: {reason}" if step else reason


def backend_error(exc: Exception) -> BackendError | None:
    attempts = getattr(exc, "failed_attempts", None) or []
    candidates = [a.exception for a in attempts] + [exc.__cause__, exc.__context__]
    return next((c for c in candidates if isinstance(c, BackendError)), None)


def last_reason(exc: Exception) -> str:
    attempts = getattr(exc, "failed_attempts", None) or []
    error = attempts[-1].exception if attempts else exc
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
