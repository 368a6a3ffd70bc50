"""Transport retries for model endpoints: tenacity around one chat-completions call.

Retried: 429 (honouring Retry-After, in seconds or as an HTTP date), 5xx, timeouts and
dropped connections, with exponential backoff, jitter, a cap on attempts and a total time
budget that is a real bound: no sleep and no request timeout reaches past it. Anything else
(400, 401, 403, 404) fails at once with the setting to check. Validation re-asks are not
handled here: they belong to instructor, one level up.

The same policy wraps the synchronous client (the Batch API's file calls) and the async one
(every extraction), so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from ..errors import BackendError
from . import accounting

MAX_RETRY_AFTER = 60.0
# Below this much budget left, another attempt could not even connect: stop instead.
MIN_ATTEMPT_SECONDS = 0.05


class MalformedResponse(Exception):
    """The endpoint answered 200 with something that is not a chat completion (a proxy page, `choices: []`)."""


class AttemptTimedOut(Exception):
    """One request ran past its time limit (a hung server, a body trickling in byte by byte)."""


def is_transient(exc: BaseException) -> bool:
    """True for faults worth retrying: rate limits, server errors, timeouts, lost connections, garbled bodies."""
    import json

    import openai

    if isinstance(exc, MalformedResponse | AttemptTimedOut | json.JSONDecodeError):
        return True
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def retry_after(exc: BaseException | None, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, Retry-After seconds or HTTP date), if any."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if headers.get("retry-after-ms"):
            return max(float(headers["retry-after-ms"]) / 1000.0, 0.0)
        raw = headers.get("retry-after")
        if not raw:
            return None
        try:
            return max(float(raw), 0.0)
        except ValueError:
            when = email.utils.parsedate_to_datetime(raw)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            return max(when.timestamp() - (now if now is not None else time.time()), 0.0)
    except (TypeError, ValueError, IndexError):
        return None  # unparseable: fall back to backoff


def _root(exc: BaseException) -> BaseException:
    """The innermost `__cause__` of an exception chain (bounded: chains are short)."""
    for _ in range(16):
        if exc.__cause__ is None:
            break
        exc = exc.__cause__
    return exc


def _is_timeout(exc: BaseException) -> bool:
    """True when the fault at the root of the chain is a timeout.

    The SDK's aiohttp transport reports every lost or refused connection as a connect
    *timeout*; the aiohttp error underneath says what really happened.
    """
    root = _root(exc)
    return root is exc or isinstance(root, TimeoutError) or "Timeout" in type(root).__name__


def describe(exc: BaseException, endpoint: str) -> str:
    """One line saying what went wrong with the endpoint and which setting to check."""
    import json

    import openai

    if isinstance(exc, AttemptTimedOut) or (isinstance(exc, openai.APITimeoutError) and _is_timeout(exc)):
        return f"timed out talking to {endpoint}: no complete answer within the request timeout (EXTRACTOR_TIMEOUT)"
    if isinstance(exc, MalformedResponse | json.JSONDecodeError):
        return (f"{endpoint} answered something that is not a chat completion ({exc}): check that OPENAI_BASE_URL "
                "is an OpenAI-compatible /v1 endpoint")
    if isinstance(exc, openai.APIConnectionError):
        cause = _root(exc) if isinstance(exc, openai.APITimeoutError) else exc.__cause__ or exc
        text = f"{type(cause).__name__}: {cause}"
        if _dropped(cause):
            return f"{endpoint} closed the connection mid-answer ({text}); the server or a proxy dropped it"
        return f"cannot reach {endpoint}: check OPENAI_BASE_URL / --base-url ({text})"
    if isinstance(exc, openai.AuthenticationError):
        return f"{endpoint} refused the API key (401): check OPENAI_API_KEY"
    if isinstance(exc, openai.PermissionDeniedError):
        return f"{endpoint} denied access (403): check OPENAI_API_KEY and that it may use model --model"
    if isinstance(exc, openai.NotFoundError):
        return f"{endpoint} answered 404: check the model name (EXTRACTOR_MODEL / --model) and the base URL"
    if isinstance(exc, openai.BadRequestError):
        return (f"{endpoint} rejected the request (400: {exc.message}): check EXTRACTOR_MAX_TOKENS / --max-tokens "
                "against the model's context, and EXTRACTOR_MODE / --mode (try tools or json)")
    if isinstance(exc, openai.APIStatusError):
        return f"{endpoint} answered HTTP {exc.status_code}: {exc.message}"
    return f"{endpoint}: {type(exc).__name__}: {exc}"


def _dropped(cause: BaseException) -> bool:
    name = type(cause).__name__
    return name in ("RemoteProtocolError", "ReadError", "ServerDisconnectedError", "ClientPayloadError") or (
        "incomplete" in str(cause).lower()
    )


class _Budget(stop_base):
    """Stop once the next wait would end past the time budget."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        wait = retry_state.upcoming_sleep or 0.0
        return time.monotonic() + wait + MIN_ATTEMPT_SECONDS > self.deadline


class RetryPolicy:
    """How one call is retried: attempts, total budget, backoff; shared by sync and async calls."""

    # Exponential backoff: BACKOFF_BASE · 2^n seconds plus up to BACKOFF_JITTER, at most BACKOFF_MAX.
    BACKOFF_BASE = 0.5
    BACKOFF_JITTER = 0.5
    BACKOFF_MAX = 20.0

    def __init__(self, *, endpoint: str, attempts: int, budget: float, timeout: float) -> None:
        self.endpoint = endpoint
        self.attempts = attempts
        self.budget = budget
        self.timeout = timeout

    def _options(self, deadline: float) -> dict[str, Any]:
        from tenacity import wait_exponential_jitter

        backoff = wait_exponential_jitter(multiplier=self.BACKOFF_BASE, max=self.BACKOFF_MAX,
                                          jitter=self.BACKOFF_JITTER)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            asked = retry_after(exc)
            seconds = min(asked, MAX_RETRY_AFTER) if asked is not None else float(backoff(state))
            return max(seconds, 0.0)

        def before_sleep(state: RetryCallState) -> None:
            stats = accounting.current()
            if stats is not None:
                stats.transport_retries += 1

        return {
            "retry": retry_if_exception(is_transient),
            "wait": wait,
            "stop": stop_after_attempt(self.attempts) | _Budget(deadline),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def _timeout(self, deadline: float) -> float:
        # A request never waits past the budget, whatever EXTRACTOR_TIMEOUT says.
        return max(min(self.timeout, deadline - time.monotonic()), MIN_ATTEMPT_SECONDS)

    def wrap(self, create: Callable[..., Any], *, check: Callable[[Any], None] | None = None) -> Callable[..., Any]:
        """`create` (synchronous) with this policy: the same retry loop as `awrap`, run to completion here.

        For callers without an event loop (the Batch API's file calls); the call itself runs on
        a worker thread, so the per-attempt time limit holds for it too.
        """

        async def threaded(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(create, *args, **kwargs)

        retried = self.awrap(threaded, check=check)

        async def attempt(*args: Any, **kwargs: Any) -> Any:
            return await retried(*args, **kwargs)

        def call(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run(attempt(*args, **kwargs))

        return call

    def awrap(
        self, create: Callable[..., Awaitable[Any]], *, check: Callable[[Any], None] | None = None
    ) -> Callable[..., Awaitable[Any]]:
        """`create` (async) with this policy: transient faults retried, others raised as `BackendError`.

        `check` rejects a malformed result (retried).

        Each attempt also has a hard wall-clock limit: httpx's timeouts apply per read, so a
        body trickling in byte by byte would otherwise outlast any budget.
        """

        async def call(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self.budget
            tried = 0
            try:
                async for attempt in AsyncRetrying(**self._options(deadline)):
                    with attempt:
                        tried += 1
                        limit = self._timeout(deadline)
                        try:
                            async with asyncio.timeout(limit):
                                result = await create(*args, **kwargs, timeout=limit)
                        except TimeoutError:
                            raise AttemptTimedOut(f"no complete answer within {limit:.1f}s") from None
                        if check is not None:
                            check(result)
                        return result
            except Exception as exc:
                error = self._error(exc, tried)
                if error is exc:
                    raise
                raise error from exc
            raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

        return call

    def _error(self, exc: Exception, tried: int) -> Exception:
        import json

        import openai

        if isinstance(exc, openai.OpenAIError | MalformedResponse | AttemptTimedOut | json.JSONDecodeError):
            suffix = ""
            if is_transient(exc):
                asked = retry_after(exc)
                wanted = f"; the server asked to wait {asked:g}s" if asked is not None else ""
                suffix = (f" (gave up after {tried} attempt(s) within EXTRACTOR_RETRY_BUDGET={self.budget:g}s"
                          f"{wanted})")
            return BackendError(describe(exc, self.endpoint) + suffix, attempts=tried,
                                transport_retries=max(tried - 1, 0))
        return exc


def chat_completion(result: Any) -> None:
    """Raise `MalformedResponse` unless `result` is a chat completion with at least one choice."""
    choices = getattr(result, "choices", None)
    if choices is None:
        raise MalformedResponse(f"a body of type {type(result).__name__}: {str(result)[:60]!r}")
    if not choices:
        raise MalformedResponse("choices: [] (no answer)")


def with_transport_retries(
    create: Callable[..., Any], *, endpoint: str, attempts: int, budget: float, timeout: float = 600.0
) -> Callable[..., Any]:
    """Wrap a synchronous `create` so transient faults are retried within a budget."""
    return RetryPolicy(endpoint=endpoint, attempts=attempts, budget=budget, timeout=timeout).wrap(create)
