"""A Python client for `extractor serve`, on httpx: extraction, jobs, documents and the run history.

>>> with Client("http://127.0.0.1:8000", api_key) as client:          # doctest: +SKIP
...     line = client.extract("Treasury sanctioned ...", id="a1")
...     job = client.submit([{"id": "a2", "text": "..."}])
...     client.wait(job)
...     lines = list(client.results(job))
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from extractor.core.documents import Document
from extractor.core.errors import ExtractorError


class ServiceError(ExtractorError):
    """The service answered with an error (its status, code and message), or could not be reached."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code} ({status}): {message}" if status else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _record(document: Document | dict[str, Any]) -> dict[str, Any]:
    if isinstance(document, Document):
        return document.model_dump(exclude_none=True)
    return dict(document)


class Client:
    """The service's API: `extract()` one document, or `submit()` many, `wait()` and read `results()`."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 300.0, **httpx_options: Any) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout,
            **httpx_options,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(0, "unreachable", f"{self._http.base_url}{path}: {exc}") from None
        _raise_for(response)
        return response

    def extract(
        self, text: str | Document | dict[str, Any], *, prompt: str | None = None, model: str | None = None,
        **metadata: Any,
    ) -> dict[str, Any]:
        """Extract one document now; returns the result line (`ArticleExtraction` fields plus `meta`).

        `text` is the article text (with `id`, `title`, `published`, `url`, `publisher` as
        keywords), a `Document`, or a dict of those fields.
        """
        record = {"text": text, **metadata} if isinstance(text, str) else {**_record(text), **metadata}
        if prompt is not None:
            record["prompt"] = prompt
        if model is not None:
            record["model"] = model
        result: dict[str, Any] = self._request("POST", "/v1/extract", json=record).json()
        return result

    def submit(
        self, documents: Iterable[Document | dict[str, Any]], *, prompt: str | None = None, model: str | None = None
    ) -> str:
        """Queue documents as one job; returns the job id (rejected entries are in `last_submission`)."""
        body: dict[str, Any] = {"documents": [_record(d) for d in documents]}
        if prompt is not None:
            body["prompt"] = prompt
        if model is not None:
            body["model"] = model
        answer = self._request("POST", "/v1/jobs", json=body).json()
        self.last_submission: dict[str, Any] = answer
        job_id: str = answer["id"]
        return job_id

    def status(self, job_id: str) -> dict[str, Any]:
        """The job's counts: total, queued, running, done, failed, and its status."""
        status: dict[str, Any] = self._request("GET", f"/v1/jobs/{job_id}").json()
        return status

    def wait(self, job_id: str, *, timeout: float = 3600.0, poll: float = 1.0) -> dict[str, Any]:
        """Poll until the job is finished (or raise `TimeoutError` after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if status["status"] == "finished":
                return status
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} not finished after {timeout:g} s: {status}")
            time.sleep(min(poll, max(deadline - time.monotonic(), 0.01)))

    def results(self, job_id: str) -> Iterator[dict[str, Any]]:
        """The job's result and failure lines, streamed, in submission order."""
        try:
            with self._http.stream("GET", f"/v1/jobs/{job_id}/results") as response:
                if response.is_error:
                    response.read()
                    _raise_for(response)
                for raw in response.iter_lines():
                    if raw.strip():
                        yield json.loads(raw)
        except httpx.HTTPError as exc:
            raise ServiceError(0, "unreachable", f"results of job {job_id}: {exc}") from None

    def documents(self, **filters: Any) -> dict[str, Any]:
        """A page of stored documents (filters: target, authority, issuer, measure, since, until, limit, offset)."""
        params = {k: str(v) for k, v in filters.items() if v is not None}
        page: dict[str, Any] = self._request("GET", "/v1/documents", params=params).json()
        return page

    def document(self, document_id: str) -> dict[str, Any]:
        """A stored document with its extractions."""
        detail: dict[str, Any] = self._request("GET", f"/v1/documents/{document_id}").json()
        return detail

    def delete_document(self, document_id: str) -> dict[str, Any]:
        """Delete a stored document and its extractions."""
        deleted: dict[str, Any] = self._request("DELETE", f"/v1/documents/{document_id}").json()
        return deleted


    def record_run(self, record: dict[str, Any]) -> dict[str, Any]:
        """Record a scored eval run (`RunRecord.to_payload()`) in the service's run history."""
        summary: dict[str, Any] = self._request("POST", "/v1/runs", json=record).json()
        return summary

    def runs(self, **filters: Any) -> dict[str, Any]:
        """A page of recorded runs (filters: prompt, model, gold, since, until, sort, limit, offset)."""
        params = {k: str(v) for k, v in filters.items() if v is not None}
        page: dict[str, Any] = self._request("GET", "/v1/runs", params=params).json()
        return page

    def run(self, run_id: str) -> dict[str, Any]:
        """One recorded run with its per-field metrics."""
        detail: dict[str, Any] = self._request("GET", f"/v1/runs/{run_id}").json()
        return detail

    def compare_runs(self, a: str, b: str) -> dict[str, Any]:
        """The paired comparison of run B against run A (compare.json's layout)."""
        report: dict[str, Any] = self._request("GET", "/v1/runs/compare", params={"a": a, "b": b}).json()
        return report

    def delete_run(self, run_id: str) -> dict[str, Any]:
        """Remove a run from the history (its run directory is left alone)."""
        deleted: dict[str, Any] = self._request("DELETE", f"/v1/runs/{run_id}").json()
        return deleted


def _raise_for(response: httpx.Response) -> None:
    if not response.is_error:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.text[:200] or response.reason_phrase
    raise ServiceError(response.status_code, code, message)
