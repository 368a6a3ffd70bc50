"""Per-call accounting: tokens, attempts and retries summed over everything one extraction did.

A `CallStats` is bound to the current context while one document is extracted; the
transport layer and the completion observer add to it, whichever thread or task runs.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_current: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("extractor_call_stats", default=None)


@dataclass
class CallStats:
    """What one extraction cost, over all validation attempts and transport retries."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    transport_retries: int = 0
    continuations: int = 0
    setup_s: float = 0.0
    last_output: str | None = None
    errors: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def usage(self) -> dict[str, int]:
        """Token usage as a JSON-ready dict."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    def merge(self, other: CallStats) -> None:
        """Add another extraction's counts (the chunks of one document)."""
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.attempts += other.attempts
        self.transport_retries += other.transport_retries
        self.continuations += other.continuations
        self.setup_s += other.setup_s
        self.incomplete += other.incomplete
        self.last_output = other.last_output or self.last_output

    def add_completion(self, completion: Any) -> None:
        """Count one raw completion: its usage and its text (kept for failure reports)."""
        self.attempts += 1
        usage = getattr(completion, "usage", None)
        if usage is not None:
            self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        self.last_output = completion_text(completion)


def completion_text(completion: Any) -> str | None:
    """The text or tool-call arguments of a chat completion, whatever the mode."""
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return None
    if getattr(message, "tool_calls", None):
        return message.tool_calls[0].function.arguments
    return getattr(message, "content", None)


def add_setup(seconds: float) -> None:
    """Count time spent starting a client or loading a model, kept out of per-document latency."""
    stats = _current.get()
    if stats is not None:
        stats.setup_s += seconds


def current() -> CallStats | None:
    """The stats of the extraction running in this context, if any."""
    return _current.get()


@contextmanager
def tracking() -> Iterator[CallStats]:
    """Bind a fresh `CallStats` to the current context for the duration of one extraction."""
    stats = CallStats()
    token = _current.set(stats)
    try:
        yield stats
    finally:
        _current.reset(token)


def step_reason(step: str | None, reason: str) -> str:
    """`reason`, naming the step of a split prompt it happened in."""
    return f"step {step}: {reason}" if step else reason
