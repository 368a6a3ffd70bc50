"""One exception root for everything the extractor raises on purpose."""

from __future__ import annotations

from typing import Any


class ExtractorError(Exception):
    """Root of the extractor's exceptions; the CLI prints these as one-line errors."""


class DocumentError(ExtractorError):
    """A document could not be read: missing, empty, binary, not UTF-8, bad JSONL line.

    `article_id` is the id the document has (or would have had), so a failure line names the
    document rather than a fragment of the message; `path` is the file it came from.
    """

    def __init__(self, message: str, *, article_id: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.article_id = article_id
        self.path = path


class PromptError(ExtractorError):
    """An unknown prompt or version, or a prompt file that does not validate."""


class ConfigError(ExtractorError):
    """A setting is missing or wrong (model, endpoint, cache directory)."""


class BackendError(ExtractorError):
    """The model endpoint failed after transport retries (unreachable, 4xx, 5xx, timeout).

    `attempts` counts the requests made for the failing call, `transport_retries` the
    retries among them, so a failed document is accounted for like a successful one.
    """

    def __init__(self, message: str, *, attempts: int = 1, transport_retries: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.transport_retries = transport_retries


class ExtractionFailed(ExtractorError):
    """Validation attempts ran out: the model never produced a schema-valid answer.

    Carries the document, the prompt, the last invalid output and why it failed, so the
    failure can be inspected and stored.
    """

    def __init__(
        self,
        *,
        article_id: str,
        prompt_id: str,
        attempts: int,
        reason: str,
        last_output: str | None,
        usage: dict[str, int] | None = None,
        endpoint: str | None = None,
        transport_retries: int = 0,
    ) -> None:
        self.article_id = article_id
        self.endpoint = endpoint
        self.transport_retries = transport_retries
        self.prompt_id = prompt_id
        self.attempts = attempts
        self.reason = reason
        self.last_output = last_output
        self.usage = usage or {}
        first_line = reason.strip().splitlines()[0] if reason.strip() else "invalid output"
        source = f" ({endpoint})" if endpoint else ""
        super().__init__(
            f"{article_id}: no schema-valid answer from prompt {prompt_id}{source} after {attempts} "
            f"attempt(s): {first_line}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the failure, for failure lines in result files."""
        return {
            "type": type(self).__name__,
            "message": str(self),
            "reason": self.reason,
            "last_output": self.last_output,
            "attempts": self.attempts,
            "transport_retries": self.transport_retries,
            "endpoint": self.endpoint,
        }
