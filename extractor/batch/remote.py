"""A running service as the engine: documents sent to `extractor serve` instead of the local pipeline.

The same output lines as a local run (result lines, failure lines), the same resume by the
output file, the same events and summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from extractor.core.documents import iter_documents
from extractor.core.errors import ConfigError, DocumentError, ExtractorError
from extractor.core.meta import RunMeta
from extractor.core.schema import ArticleExtraction

from .engine import Engine, Events, Job, open_out, prepare_out_file, remaining, resume_from
from .results import failure_line, write_line
from .run import Input, Outcome, Pending, RunSummary

API_KEY_ENV = "EXTRACTOR_API_KEY"


def server_key(api_key: str | None) -> str:
    """The key for a service: `api_key`, else $EXTRACTOR_API_KEY; neither is a `ConfigError`."""
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        raise ConfigError(f"--server needs an API key: pass --api-key or set {API_KEY_ENV}")
    return key


class ServerEngine(Engine):
    """POST each document to a service's /v1/extract, `concurrency` at once; the service's prompt and model."""

    name = "server"

    def __init__(self, url: str, api_key: str | None = None, *, prompt: str | None = None,
                 model: str | None = None) -> None:
        self.url = url
        self.api_key = api_key
        self.prompt = prompt
        self.model = model

    def run(self, job: Job, events: Events | None = None) -> RunSummary:
        """Send the documents not yet in `job.out`; write a line per document."""
        events = events or Events()
        server_key(self.api_key)
        if job.sink is not None:
            raise ConfigError("the server stores its results itself: --db goes with a local or Ray extraction")
        if job.out is not None:
            prepare_out_file(job.out, job.paths, events, setup=None)
        done_in = resume_from(job.out)
        todo = Pending(iter_documents(job.paths, exclude=[done_in] if done_in else []), done_in)
        events.start(remaining(job.paths, len(todo.done)))
        with open_out(job.out) as sink:
            summary = self.send(sink, todo, concurrency=job.concurrency, on_outcome=events.outcome)
        summary.skipped = todo.skipped
        return summary

    def send(self, sink: IO[str], items: Iterable[Input], *, concurrency: int = 1,
             on_outcome: Callable[[Outcome], None] | None = None) -> RunSummary:
        """Send each document, `concurrency` at once, writing its result or failure line to `sink`.

        The loop an eval through a service (`eval --server`) runs too, into its own predictions file.
        """
        from extractor.client import Client

        summary = RunSummary()
        with Client(self.url, server_key(self.api_key)) as client:

            def one(item: Input) -> tuple[Outcome, dict[str, Any]]:
                if isinstance(item, DocumentError):
                    article_id = item.article_id or str(item).split(":")[0]
                    return Outcome(article_id=article_id, error=item), failure_line(article_id, item)
                try:
                    line = client.extract(item, prompt=self.prompt, model=self.model)
                except ExtractorError as exc:
                    return Outcome(article_id=item.id, error=exc), failure_line(item.id, exc)
                return _outcome(line), line

            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for outcome, line in pool.map(one, items):
                    write_line(sink, line)
                    summary.add(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)
        return summary


def _outcome(line: dict[str, Any]) -> Outcome:
    """An `Outcome` for the progress bar and summary, rebuilt from a result line."""
    fields = {k: v for k, v in line.items() if k != "meta"}
    result = ArticleExtraction.model_validate(fields)
    try:
        result._meta = RunMeta.model_validate(line.get("meta") or {})
    except ValueError:
        result._meta = None
    return Outcome(article_id=result.article_id, result=result)
