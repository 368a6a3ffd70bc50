"""OpenAI Batch API: submit many documents as one asynchronous batch, collect the answers later.

The batch carries the very request bodies the synchronous pipeline would send (taken from
instructor, not rebuilt here), and its answers go through the same validation, cache,
grounding and result lines. What differs: one attempt per document, no re-asks. A pending
batch is remembered in `<out>.batch.json`, so a run interrupted while waiting resumes
polling that batch instead of paying for a second one.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import openai
from instructor import Mode
from instructor.utils import extract_json_from_codeblock
from pydantic import BaseModel, ValidationError

from extractor.core.calls import accounting
from extractor.core.calls.requests import chat_body
from extractor.core.calls.transport import with_transport_retries
from extractor.core.documents import Document
from extractor.core.errors import ConfigError, DocumentError, ExtractionFailed, ExtractorError
from extractor.core.pipeline import Extractor
from extractor.core.schema import ExtractionAnswer

from .results import done_ids, failure_line, repair_tail, result_line, write_line
from .run import Input, Outcome

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000  # OpenAI's limit on requests in one batch
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
STATE_VERSION = 1


def request_body(extractor: Extractor, document: Document) -> dict[str, Any]:
    """The chat-completions body the synchronous pipeline would send first for `document`.

    instructor prepares it for the extractor's mode (response_format, tools and tool_choice,
    or schema instructions added to the messages); keys that never reach HTTP are dropped.
    Only for single-call prompts: a split prompt asks several dependent questions per document.
    """
    _require_single_call(extractor)
    return chat_body(extractor.backend.mode, messages=extractor.messages(document),
                     response_model=extractor.response_model, **extractor.params(),
                     **extractor.backend.request_kwargs())


def _require_single_call(extractor: Extractor) -> None:
    strategy = getattr(extractor.prompt.spec, "strategy", "single")
    if strategy != "single":
        raise ConfigError(f"prompt {extractor.prompt.id} uses the {strategy!r} strategy (several dependent calls per "
                          "document); the Batch API sends one request per document: choose a single-call prompt")


def state_path(out_path: Path) -> Path:
    """Where a pending batch is remembered: `<out>.batch.json` next to the result file."""
    return out_path.with_name(out_path.name + ".batch.json")


def run_batch_api(
    extractor: Extractor,
    documents: Iterable[Input],
    out_path: Path,
    *,
    poll_interval: float = 10.0,
    timeout: float = 24 * 3600,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_status: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Extract `documents` through the OpenAI Batch API, appending result lines to `out_path`.

    Documents already extracted in `out_path` are skipped; documents whose answer is cached
    are written at once (meta cache_hit true); the rest go into one batch. Each answer is
    validated, cached, grounded and written like a synchronous result. Batch mode makes one
    attempt per document and does not re-ask: an answer that fails validation, a request that
    errs, or a document too long for one request becomes a failure line, and a re-run submits
    those documents again.

    While the batch runs, its id is kept in `<out>.batch.json`; a call that finds that file
    resumes the batch (no new upload), then submits whatever is left. If `timeout` seconds
    pass first, the summary says `pending: True` and the file stays for the next call.
    `on_outcome` sees every line written (this function writes them); `on_status` sees each poll.
    Reported cost uses the configured prices, not batch discounts. Returns the summary dict.
    """
    if extractor.settings.uses_embedded:
        raise ConfigError("the Batch API needs an OpenAI-compatible endpoint: set --model and OPENAI_API_KEY "
                          "or OPENAI_BASE_URL (the embedded model runs in process; extract without batch mode)")
    _require_single_call(extractor)
    client = getattr(extractor.backend, "client", None)
    if not isinstance(client, openai.OpenAI):
        raise ConfigError(f"backend {extractor.backend.name!r} has no OpenAI client: the Batch API needs one")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    repair_tail(out_path)
    run = _BatchRun(extractor, client, out_path, poll_interval, timeout, on_outcome, on_status)
    with out_path.open("a", encoding="utf-8") as sink:
        run.sink = sink
        return run.execute(documents)


class _BatchRun:
    """One call of `run_batch_api`: the documents, the sink and the running totals."""

    def __init__(
        self, extractor: Extractor, client: openai.OpenAI, out_path: Path, poll_interval: float, timeout: float,
        on_outcome: Callable[[Outcome], None] | None, on_status: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.extractor = extractor
        self.client = client
        self.out_path = out_path
        self.state_path = state_path(out_path)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.on_outcome = on_outcome
        self.on_status = on_status
        self.sink: Any = None
        self.done: set[str] = set()
        self.started = time.perf_counter()
        self.summary: dict[str, Any] = {
            "documents": 0, "skipped": 0, "cached": 0, "submitted": 0, "succeeded": 0, "failed": 0,
            "batch_id": None, "resumed": False, "status": None, "pending": False,
            "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost": None,
        }

    # -- the flow -------------------------------------------------------------------------

    def execute(self, documents: Iterable[Input]) -> dict[str, Any]:
        done = self.done = done_ids(self.out_path)
        docs: dict[str, Document] = {}
        rejected: list[tuple[str, DocumentError]] = []
        for item in documents:
            self.summary["documents"] += 1
            if isinstance(item, DocumentError):
                rejected.append((item.article_id or str(item).split(":")[0], item))
            elif item.id in done:
                self.summary["skipped"] += 1
            elif item.id in docs:
                rejected.append((item.id, DocumentError(f"{item.id}: duplicate id: batch requests need unique ids")))
            else:
                docs[item.id] = item
        state = self._load_state()
        if state is not None:
            self._check_state(state, docs)  # before anything is written
        for article_id, problem in rejected:
            self._fail(article_id, problem)
        if state is not None:
            self.summary["resumed"] = True
            if not self._wait_and_collect(state, docs):
                return self._finish()
            for custom_id in state["keys"]:
                docs.pop(custom_id, None)
        requests, keys = [], {}
        for doc in docs.values():
            prepared = self._prepare(doc)
            if prepared is not None:
                keys[doc.id] = prepared[0]
                requests.append({"custom_id": doc.id, "method": "POST", "url": ENDPOINT, "body": prepared[1]})
        if requests:
            state = self._submit(requests, keys)
            self._wait_and_collect(state, docs)
        return self._finish()

    def _prepare(self, doc: Document) -> tuple[str, dict[str, Any]] | None:
        """The cache key and request body of `doc`, or None when it was answered from the cache or failed."""
        ex = self.extractor
        try:
            pieces = ex.chunks(doc)
        except ConfigError as exc:
            self._fail(doc.id, exc)
            return None
        if len(pieces) > 1:
            reason = (f"too long for one request ({len(pieces)} chunks needed): batch mode sends whole documents; "
                      "extract it without batch mode")
            self._fail(doc.id, ExtractionFailed(article_id=doc.id, prompt_id=ex.prompt.id, attempts=0,
                                                reason=reason, last_output=None))
            return None
        key = ex.key_for(doc)
        cached = ex.cached_answer(key)
        if cached is not None:
            self._succeed(doc, cached, key, accounting.CallStats(), cache_hit=True)
            return None
        return key, request_body(ex, doc)

    def _submit(self, requests: list[dict[str, Any]], keys: dict[str, str]) -> dict[str, Any]:
        if len(requests) > MAX_REQUESTS:
            raise ConfigError(f"{len(requests)} requests exceed the Batch API's {MAX_REQUESTS} per batch: "
                              "split the input")
        upload = self.out_path.with_name(self.out_path.name + ".batch-input.jsonl")
        with upload.open("w", encoding="utf-8") as handle:
            for request in requests:
                handle.write(json.dumps(request, ensure_ascii=False) + "\n")
        try:
            file = self._call(self.client.files.create, file=upload, purpose="batch")
            batch = self._call(self.client.batches.create, input_file_id=file.id, endpoint=ENDPOINT,
                               completion_window="24h")
        finally:
            upload.unlink(missing_ok=True)
        state = {
            "version": STATE_VERSION,
            "batch_id": batch.id,
            "input_file_id": file.id,
            "model": self.extractor.backend.model,
            "prompt_id": self.extractor.prompt.id,
            "submitted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "keys": keys,
        }
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(self.state_path)
        return state

    def _wait_and_collect(self, state: dict[str, Any], docs: dict[str, Document]) -> bool:
        """Poll until the batch ends, then write its lines; False when `timeout` came first."""
        batch_id = state["batch_id"]
        self.summary["batch_id"] = batch_id
        self.summary["submitted"] += len(state["keys"])
        deadline = time.monotonic() + self.timeout
        while True:
            batch = self._call(self.client.batches.retrieve, batch_id)
            self.summary["status"] = batch.status
            if self.on_status is not None:
                self.on_status(_status(batch))
            if batch.status in TERMINAL:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.summary["pending"] = True
                return False
            time.sleep(min(self.poll_interval, remaining))
        records: dict[str, dict[str, Any]] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = self._call(self.client.files.content, file_id).content.decode("utf-8")
                for raw in content.splitlines():
                    if raw.strip():
                        record = json.loads(raw)
                        records.setdefault(str(record.get("custom_id")), record)
        missing = f"batch {batch_id} ended {batch.status} without an answer for this document"
        if batch.errors and batch.errors.data:
            missing += ": " + "; ".join(str(e.message) for e in batch.errors.data)
        for custom_id, key in state["keys"].items():
            if custom_id in self.done:
                continue  # written before an interruption of an earlier collection
            self._collect(custom_id, key, records.get(custom_id), docs.get(custom_id), missing)
        self.state_path.unlink(missing_ok=True)
        return True

    def _collect(
        self, custom_id: str, key: str, record: dict[str, Any] | None, doc: Document | None, missing: str
    ) -> None:
        """Validate one output line, cache its answer, and write its result or failure line."""
        ex = self.extractor
        stats = accounting.CallStats(attempts=1)
        if record is None:
            self._fail(custom_id, self._failed(custom_id, stats, missing))
            return
        response = record.get("response") or {}
        body = response.get("body") or {}
        usage = body.get("usage") or {}
        stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        stats.completion_tokens = int(usage.get("completion_tokens") or 0)
        error = record.get("error") or (body.get("error") if response.get("status_code") != 200 else None)
        if error or response.get("status_code") != 200:
            detail = error.get("message", error) if isinstance(error, dict) else error
            status = response.get("status_code")
            reason = f"request failed{f' (HTTP {status})' if status else ''}: {detail}"
            self._fail(custom_id, self._failed(custom_id, stats, reason))
            return
        try:
            answer = self._validate(body, stats)
        except _Invalid as exc:
            self._fail(custom_id, self._failed(custom_id, stats, exc.reason))
            return
        ex.store(key, answer, stats)
        if doc is None:
            self._fail(custom_id, DocumentError(f"{custom_id}: answered by batch {self.summary['batch_id']} but not "
                                                "among the documents given; its answer is cached for the next run"))
            return
        self._succeed(doc, answer, key, stats, cache_hit=False)

    def _validate(self, body: dict[str, Any], stats: accounting.CallStats) -> ExtractionAnswer:
        """The answer in a completion body, checked as instructor checks it for this mode."""
        ex = self.extractor
        choices = body.get("choices") or []
        if not choices:
            raise _Invalid("the completion has no choices")
        message = choices[0].get("message") or {}
        tool_calls = message.get("tool_calls") or []
        text = tool_calls[0]["function"]["arguments"] if tool_calls else message.get("content")
        stats.last_output = text
        if choices[0].get("finish_reason") == "length":
            raise _Invalid(f"output cut off at max_tokens={ex.settings.max_tokens} before the JSON was complete")
        if text is None:
            raise _Invalid("the completion has neither content nor tool call arguments")
        try:
            if ex.backend.mode == Mode.MD_JSON:
                text = extract_json_from_codeblock(text)
            answer: BaseModel = ex.response_model.model_validate_json(text)
            return ExtractionAnswer.model_validate(answer.model_dump())
        except (ValidationError, ValueError) as exc:
            raise _Invalid(str(exc)) from None

    # -- lines and totals -----------------------------------------------------------------

    def _succeed(
        self, doc: Document, answer: ExtractionAnswer, key: str, stats: accounting.CallStats, *, cache_hit: bool
    ) -> None:
        """Build the result as `Extractor.extract_document` does, write it, count it."""
        result = self.extractor.finish(doc, answer, key, self.started, stats, cache_hit=cache_hit)
        write_line(self.sink, result_line(result))
        self.summary["cached" if cache_hit else "succeeded"] += 1
        self._count(stats)
        if self.on_outcome is not None:
            self.on_outcome(Outcome(article_id=doc.id, result=result))

    def _failed(self, article_id: str, stats: accounting.CallStats, reason: str) -> ExtractionFailed:
        return ExtractionFailed(article_id=article_id, prompt_id=self.extractor.prompt.id, attempts=1, reason=reason,
                                last_output=stats.last_output, usage=stats.usage())

    def _fail(self, article_id: str, error: ExtractorError) -> None:
        meta = {"batch_id": self.summary["batch_id"]} if self.summary["batch_id"] else None
        write_line(self.sink, failure_line(article_id, error, meta))
        self.summary["failed"] += 1
        usage = getattr(error, "usage", None) or {}
        self._count(accounting.CallStats(prompt_tokens=usage.get("prompt_tokens", 0),
                                         completion_tokens=usage.get("completion_tokens", 0)))
        if self.on_outcome is not None:
            self.on_outcome(Outcome(article_id=article_id, error=error))

    def _count(self, stats: accounting.CallStats) -> None:
        self.summary["prompt_tokens"] += stats.prompt_tokens
        self.summary["completion_tokens"] += stats.completion_tokens
        self.summary["total_tokens"] += stats.total_tokens

    def _finish(self) -> dict[str, Any]:
        self.summary["cost"] = self.extractor.settings.cost(self.summary["prompt_tokens"],
                                                            self.summary["completion_tokens"])
        return self.summary

    # -- plumbing -------------------------------------------------------------------------

    def _call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call with the transport retries of chat completions; BackendError when it fails."""
        settings = self.extractor.settings
        wrapped = with_transport_retries(function, endpoint=self.extractor.backend.endpoint,
                                         attempts=settings.transport_attempts, budget=settings.transport_budget)
        return wrapped(*args, **kwargs)

    def _load_state(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{self.state_path}: unreadable batch state ({exc}); delete it to submit anew") from None
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION or "batch_id" not in state:
            raise ConfigError(f"{self.state_path}: not a batch state file of this version; delete it to submit anew")
        return state

    def _check_state(self, state: dict[str, Any], docs: dict[str, Document]) -> None:
        """A pending batch must be collected with the settings and texts it was submitted with."""
        for custom_id, key in state["keys"].items():
            doc = docs.get(custom_id)
            if doc is not None and self.extractor.key_for(doc) != key:
                raise ConfigError(
                    f"batch {state['batch_id']} in {self.state_path} was submitted with other settings or text for "
                    f"{custom_id} (model {state.get('model')}, prompt {state.get('prompt_id')}): run again with the "
                    "same settings, or delete the file to abandon that batch"
                )


class _Invalid(Exception):
    """A completion that does not hold a schema-valid answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _status(batch: Any) -> dict[str, Any]:
    counts = batch.request_counts
    return {
        "batch_id": batch.id,
        "status": batch.status,
        "completed": counts.completed if counts else None,
        "failed": counts.failed if counts else None,
        "total": counts.total if counts else None,
    }
