"""instructor at the edge of the pipeline: response classes built once, failures read back.

`prepared(model)` is what the pipeline passes instructor as `response_model`; the other
helpers turn instructor's exceptions into the project's: the transport error inside a
retry exception, and a validation error named by field.
"""

from __future__ import annotations

import json
import sys
import weakref
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from ..errors import BackendError
from . import accounting
from .log import CallLog, logged


@lru_cache(maxsize=128)  # bounded: grounded decoding makes one answer model per document
def prepared(model: type[BaseModel]) -> type[BaseModel]:
    """`model` as instructor's response class, built once, with its JSON schema generated once.

    instructor wraps a plain model (a new class) and regenerates its schema on every call;
    both are the same for every document, so they are made here once per model.
    """
    from instructor.v2.core.function_calls import response_schema

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

    instructor's `reject_async_validators` walks the whole response model (every nested
    model, every type argument) in `create` and again in its retry loop: about 0.2 ms a
    call, a fifth of what the pipeline adds to a request. The classes `prepared` builds
    never change after they are built, so their answer is kept; any other model is checked
    as instructor checks it. The function is replaced wherever instructor's modules hold it
    (some import it when they call it, some when they load); if a release moves or renames
    it, nothing is replaced.
    """
    try:
        from instructor.v2.validation import async_validators
    except ImportError:
        return
    check = getattr(async_validators, "reject_async_validators", None)
    if check is None or getattr(check, "memoised", False):
        return

    reject_async_validators = memoised_check(check)
    for name, module in list(sys.modules.items()):
        if name.startswith("instructor") and getattr(module, "reject_async_validators", None) is check:
            module.reject_async_validators = reject_async_validators  # type: ignore[attr-defined]


def patched_create(backend: Any, log: CallLog | None = None, *, mode: str | None = None,
                   run_id: str | None = None) -> Any:
    """instructor's create over `backend.acreate`: each completion counted in the running `CallStats`
    and, with a `log`, each call (request, raw response, tokens, latency) given to it."""
    import instructor

    create: Callable[..., Awaitable[Any]] = backend.acreate
    if log is not None:
        create = logged(create, log, model=backend.model, endpoint=backend.endpoint, mode=mode, run_id=run_id)

    async def observed(*args: Any, **kwargs: Any) -> Any:
        completion = await create(*args, **kwargs)
        stats = accounting.current()
        if stats is not None:
            stats.add_completion(completion)
        return completion

    return instructor.patch(create=observed, mode=backend.mode)


def step_reason(step: str | None, reason: str) -> str:
    return f"step {step}: {reason}" if step else reason


def backend_error(exc: Exception) -> BackendError | None:
    attempts = getattr(exc, "failed_attempts", None) or []
    candidates = [a.exception for a in attempts] + [exc.__cause__, exc.__context__]
    return next((c for c in candidates if isinstance(c, BackendError)), None)


def last_reason(exc: Exception) -> str:
    attempts = getattr(exc, "failed_attempts", None) or []
    return reason_of(attempts[-1].exception if attempts else exc)


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
