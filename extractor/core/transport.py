"""Transport retries for model endpoints: tenacity around one chat-completions call.

Retried: 429 (honouring Retry-After), 5xx, timeouts and dropped connections, with
exponential backoff, jitter, a cap on attempts and a total time budget. Anything else
(400, 401, 404) fails at once. Validation re-asks are not handled here: they belong to
instructor, one level up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from . import accounting
from .errors import BackendError

MAX_RETRY_AFTER = 60.0
_backoff = wait_exponential_jitter(multiplier=0.5, max=20.0, jitter=0.5)


def is_transient(exc: BaseException) -> bool:
    """True for faults worth retrying: rate limits, server errors, timeouts, lost connections."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), if any."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000.0
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except ValueError:
        return None  # an HTTP-date: fall back to backoff
    return None


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    asked = retry_after(exc)
    if asked is not None:
        return min(max(asked, 0.0), MAX_RETRY_AFTER)
    return float(_backoff(state))


def describe(exc: BaseException, endpoint: str) -> str:
    """One line saying what went wrong with the endpoint and which setting to check."""
    if isinstance(exc, openai.APITimeoutError):
        return f"timed out talking to {endpoint} (EXTRACTOR_TIMEOUT)"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach {endpoint}: check OPENAI_BASE_URL / --base-url ({exc.__cause__ or exc})"
    if isinstance(exc, openai.AuthenticationError):
        return f"{endpoint} refused the API key (401): check OPENAI_API_KEY"
    if isinstance(exc, openai.NotFoundError):
        return f"{endpoint} answered 404: check the model name (EXTRACTOR_MODEL / --model) and the base URL"
    if isinstance(exc, openai.APIStatusError):
        return f"{endpoint} answered HTTP {exc.status_code}: {exc.message}"
    return f"{endpoint}: {type(exc).__name__}: {exc}"


def with_transport_retries(
    create: Callable[..., Any],
    *,
    endpoint: str,
    attempts: int,
    budget: float,
) -> Callable[..., Any]:
    """Wrap a chat-completions `create` so transient faults are retried within a budget."""

    def before_sleep(state: RetryCallState) -> None:
        stats = accounting.current()
        if stats is not None:
            stats.transport_retries += 1

    def call(*args: Any, **kwargs: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=_wait,
            stop=stop_after_attempt(attempts) | stop_after_delay(budget),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(create, *args, **kwargs)
        except openai.OpenAIError as exc:
            raise BackendError(describe(exc, endpoint)) from exc

    return call
