"""`extractor extract --server URL`: documents sent to a running service instead of the local pipeline.

The same output lines as a local run (result lines, failure lines), the same resume by
`--out`, progress bar and summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from extractor.batch.results import failure_line, write_line
from extractor.batch.run import Outcome, RunSummary
from extractor.core.documents import Document
from extractor.core.errors import DocumentError, ExtractorError
from extractor.core.meta import RunMeta
from extractor.core.schema import ArticleExtraction

from .common import fail

API_KEY_ENV = "EXTRACTOR_API_KEY"


def _outcome(line: dict[str, Any]) -> Outcome:
    """An `Outcome` for the progress bar and summary, rebuilt from a result line."""
    fields = {k: v for k, v in line.items() if k != "meta"}
    result = ArticleExtraction.model_validate(fields)
    try:
        result._meta = RunMeta.model_validate(line.get("meta") or {})
    except ValueError:
        result._meta = None
    return Outcome(article_id=result.article_id, result=result)


def api_key_or_fail(api_key: str | None) -> str:
    """The key for `--server`: `--api-key`, else $EXTRACTOR_API_KEY; neither is a one-line error."""
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        fail(f"--server needs an API key: pass --api-key or set {API_KEY_ENV}")
    return key


def extract_via_server(
    sink: IO[str], server: str, api_key: str | None, documents: Iterable[Document | DocumentError], *,
    prompt: str | None, model: str | None, concurrency: int, on_outcome: Callable[[Outcome], None],
) -> RunSummary:
    """POST each document to `server`'s /v1/extract, `concurrency` at once; write a line per document."""
    from extractor.client import Client

    key = api_key_or_fail(api_key)
    summary = RunSummary()

    def record(outcome: Outcome, line: dict[str, Any]) -> None:
        write_line(sink, line)
        summary.add(outcome)
        on_outcome(outcome)

    with Client(server, key) as client:

        def one(item: Document | DocumentError) -> tuple[Outcome, dict[str, Any]]:
            if isinstance(item, DocumentError):
                article_id = str(item).split(":")[0]
                return Outcome(article_id=article_id, error=item), failure_line(article_id, item)
            try:
                line = client.extract(item, prompt=prompt, model=model)
            except ExtractorError as exc:
                return Outcome(article_id=item.id, error=exc), failure_line(item.id, exc)
            return _outcome(line), line

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for outcome, line in pool.map(one, documents):
                record(outcome, line)
    return summary
