"""The call log: every model call's request, raw response, tokens and latency, handed to a `CallLog`.

The pipeline records each call it makes (validation re-asks and continuations included) as a
`CallRecord` and gives it to the extractor's `call_log`, if one is set. Each record says what
became of the answer: `ok`, `rejected` (it did not validate and was asked again; the reason
is kept), `cut_off` (stopped at the token limit and continued) or `error` (no answer: an
HTTP or transport failure). The command line and
the service wire one that writes to the store's database (`extractor logs` reads it back),
so a user can see what the model really said for a bad answer. Core never imports the store:
anything with a `record` method will do.

Bodies are bounded before they leave here: a string longer than `MAX_STRING` keeps its head
and tail with a marker, so an article of a megabyte costs a few tens of kilobytes per call, and
a list longer than `MAX_ITEMS` (a grounded schema's enumerations) keeps its first items.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# Per string in a request or response: enough for a long article, bounded for a huge one.
MAX_STRING = 20_000
MAX_ITEMS = 200


class CallLog(Protocol):
    """Where call records go. `record` must return quickly (it is called on the event loop)."""

    def record(self, call: CallRecord) -> None:
        """Keep one call."""
        ...


@dataclass
class CallRecord:
    """One model call as it happened: what was sent, what came back (or the error), its cost and time."""

    article_id: str | None
    prompt_id: str | None
    model: str
    endpoint: str
    mode: str | None
    step: str | None
    request: dict[str, Any]
    response: dict[str, Any] | None
    error: str | None
    status: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    finish_reason: str | None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    run_id: str | None = None



@dataclass
class CallContext:
    """What the pipeline knows about the call in flight: its document, prompt and step.

    `held` keeps the records of one structured answer until the pipeline knows which of its
    attempts was accepted (`settle`); without a context, records go straight to the log.
    """

    article_id: str | None
    prompt_id: str | None
    step: str | None = None
    held: list[CallRecord] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def hooks(self) -> Any:
        """instructor hooks that keep why each answer was rejected (its validation error), in order."""
        from instructor.v2.core.hooks import Hooks

        from .structured import reason_of

        hooks = Hooks()
        hooks.on("parse:error", lambda error, **_: self.reasons.append(reason_of(error)))
        return hooks

    def settle(self, log: CallLog | None, *, accepted: bool, cut_off: bool = False) -> None:
        """Give the held records to `log`, each marked by what became of its answer.

        With `accepted` the last answer was taken and the ones before it were re-asked; otherwise
        every answer was rejected, each with the reason instructor gave for it, in order.
        `cut_off` marks the last answer as stopped at the token limit (and continued).
        """
        answered = [record for record in self.held if record.error is None]
        reasons = self.reasons
        for index, record in enumerate(answered):
            last = index == len(answered) - 1
            if last and cut_off:
                record.status = "cut_off"
            elif last and accepted:
                record.status = "ok"
            else:
                record.status = "rejected"
                record.error = reasons[index] if index < len(reasons) else "did not validate: asked again"
        if log is not None:
            for record in self.held:
                log.record(record)
        self.held.clear()
        self.reasons.clear()


_context: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("extractor_call_context", default=None)


def set_context(context: CallContext) -> contextvars.Token[CallContext | None]:
    """Name the document and step of the calls made in this context (until `reset_context`)."""
    return _context.set(context)


def reset_context(token: contextvars.Token[CallContext | None]) -> None:
    """Undo `set_context`."""
    _context.reset(token)


def bounded(value: Any, limit: int = MAX_STRING) -> Any:
    """`value` (JSON-like) with every string longer than `limit` cut to its head and tail, every list to MAX_ITEMS."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        keep = limit // 2
        return f"{value[:keep]}…[{len(value) - 2 * keep} characters not kept]…{value[-keep:]}"
    if isinstance(value, dict):
        return {str(k): bounded(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        kept = [bounded(v, limit) for v in value[:MAX_ITEMS]]
        return kept + ([f"…[{len(value) - MAX_ITEMS} more items not kept]"] if len(value) > MAX_ITEMS else [])
    if value is None or isinstance(value, bool | int | float):
        return value
    return bounded(str(value), limit)


def _dump(completion: Any) -> dict[str, Any] | None:
    dump = getattr(completion, "model_dump", None)
    if callable(dump):
        return bounded(dump(mode="json", exclude_none=True))
    return bounded(completion) if isinstance(completion, dict) else {"repr": bounded(repr(completion))}


def _usage(completion: Any) -> tuple[int, int]:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return 0, 0
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)


def _finish_reason(completion: Any) -> str | None:
    try:
        return str(completion.choices[0].finish_reason)
    except (AttributeError, IndexError, TypeError):
        return None


def logged(
    create: Callable[..., Awaitable[Any]], log: CallLog, *, model: str, endpoint: str, mode: str | None,
    run_id: str | None = None,
) -> Callable[..., Awaitable[Any]]:
    """`create` with each call (its request, raw response or error, tokens and latency) given to `log`."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        context = _context.get() or CallContext(None, None)
        started_at = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        keep = context.held.append if _context.get() is not None else log.record
        try:
            completion = await create(*args, **kwargs)
        except Exception as exc:
            keep(CallRecord(
                article_id=context.article_id, prompt_id=context.prompt_id, model=model, endpoint=endpoint, mode=mode,
                step=context.step, request=bounded(kwargs), response=None, error=f"{type(exc).__name__}: {exc}",
                status="error", prompt_tokens=0, completion_tokens=0,
                latency_s=round(time.perf_counter() - started, 4), finish_reason=None, started_at=started_at,
                run_id=run_id,
            ))
            raise
        prompt_tokens, completion_tokens = _usage(completion)
        keep(CallRecord(
            article_id=context.article_id, prompt_id=context.prompt_id, model=model, endpoint=endpoint, mode=mode,
            step=context.step, request=bounded(kwargs), response=_dump(completion), error=None, status="ok",
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            latency_s=round(time.perf_counter() - started, 4), finish_reason=_finish_reason(completion),
            started_at=started_at, run_id=run_id,
        ))
        return completion

    return call
