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

from extractor.core.calls import accounting
from extractor.core.calls.sdk import Cut, Invalid, completion_of, parse_answer
from extractor.core.calls.sdk import request_body as sdk_request_body
from extractor.core.calls.transport import with_transport_retries
from extractor.core.documents import Document, iter_documents
from extractor.core.errors import ConfigError, DocumentError, ExtractionFailed, ExtractorError
from extractor.core.pipeline import Extractor
from extractor.core.schema import ExtractionAnswer

from .engine import Events, Job, ModelEngine, is_results_file, prepare_out_file, remaining
from .results import done_ids, failure_line, repair_tail, result_line, write_line
from .run import Input, Outcome, RunSummary

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000  # OpenAI's limit on requests in one batch
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
STATE_VERSION = 1
POLL_S = 30.0
"""Seconds between two looks at a running batch (`--poll`)."""
WAIT_S = 24 * 3600.0
"""Seconds to wait for a batch before leaving it pending for the next run (the Batch API's own window)."""


def request_body(extractor: Extractor, document: Document) -> dict[str, Any]:
    """The chat-completions body the synchronous pipeline would send first for `document`.

    instructor prepares it for the extractor's mode (response_format, tools and tool_choice,
    or schema instructions added to the messages). Only for single-call prompts: a split
    prompt asks several dependent questions per document.
    """
    _require_single_call(extractor)
    return sdk_request_body(extractor.response_model, extractor.backend.mode, messages=extractor.messages(document),
                            **extractor.params(), **extractor.backend.request_kwargs())


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
    poll_interval: float = POLL_S,
    timeout: float = WAIT_S,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_status: Callable[[dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Extract `documents` through the OpenAI Batch API, appending result lines to `out_path`.

    Documents already extracted in `out_path` are skipped; documents whose answer is cached
    are written at once (meta cache_hit true); the rest go into one batch. Each answer is
    validated, cached, grounded and written like a synchronous result. Batch mode makes one
    attempt per document and does not re-ask: an answer that fails validation, a request that
    errs, or a document too long for one request becomes a failure line, and a re-run submits
    those documents again.

    While the batch runs, its id is kept in `<out>.batch.json`; a call that finds that file
    resumes the batch (no new upload), then submits whatever is left. If `timeout` seconds
    pass first, the summary says `pending` and the file stays for the next call. Its details
    name the batch, its last status, how many documents it held and whether it was resumed.
    `on_outcome` sees every line written (this function writes them); `on_status` sees each poll.
    Reported cost uses the configured prices, not batch discounts.
    """
    client = extractor.backend.batch_client()
    if client is None:
        raise ConfigError(f"the Batch API needs an OpenAI-compatible endpoint, and the {extractor.backend.name} "
                          "backend is not one: set --model and OPENAI_API_KEY or OPENAI_BASE_URL (a model that runs "
                          "in process is extracted without batch mode)")
    _require_single_call(extractor)
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
        self, extractor: Extractor, client: Any, out_path: Path, poll_interval: float, timeout: float,
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
        self.summary = RunSummary(details={"batch_id": None, "status": None, "submitted": 0, "resumed": False})
        self.details = self.summary.details

    # -- the flow -------------------------------------------------------------------------

    def execute(self, documents: Iterable[Input]) -> RunSummary:
        done = self.done = done_ids(self.out_path)
        docs: dict[str, Document] = {}
        rejected: list[tuple[str, DocumentError]] = []
        for item in documents:
            if isinstance(item, DocumentError):
                rejected.append((item.article_id or str(item).split(":")[0], item))
            elif item.id in done:
                self.summary.skipped += 1
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
            self.details["resumed"] = True
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
        self.details["batch_id"] = batch_id
        self.details["submitted"] += len(state["keys"])
        deadline = time.monotonic() + self.timeout
        while True:
            batch = self._call(self.client.batches.retrieve, batch_id)
            self.details["status"] = batch.status
            if self.on_status is not None:
                self.on_status(_status(batch))
            if batch.status in TERMINAL:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.summary.pending = True
                return False
            time.sleep(min(self.poll_interval, remaining))
        records: dict[str, dict[str, Any]] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = self._call(self.client.files.content, file_id).content.decode("utf-8")
                for raw in content.split("\n"):  # JSON Lines: "\n" only (U+2028 may sit raw in a string)
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
        except Invalid as exc:
            self._fail(custom_id, self._failed(custom_id, stats, exc.reason))
            return
        ex.store(key, answer, stats)
        if doc is None:
            self._fail(custom_id, DocumentError(f"{custom_id}: answered by batch {self.details['batch_id']} but not "
                                                "among the documents given; its answer is cached for the next run"))
            return
        self._succeed(doc, answer, key, stats, cache_hit=False)

    def _validate(self, body: dict[str, Any], stats: accounting.CallStats) -> ExtractionAnswer:
        """The answer in a completion body, checked as the synchronous path checks it in this mode."""
        ex = self.extractor
        completion = completion_of(body)
        stats.last_output = accounting.completion_text(completion)
        answer = parse_answer(completion, ex.response_model, ex.backend.mode)
        if isinstance(answer, Cut):
            raise Invalid(f"output cut off at max_tokens={ex.max_tokens} before the JSON was complete")
        return ExtractionAnswer.model_validate(answer.model_dump())

    # -- lines and totals -----------------------------------------------------------------

    def _succeed(
        self, doc: Document, answer: ExtractionAnswer, key: str, stats: accounting.CallStats, *, cache_hit: bool
    ) -> None:
        """Build the result as `Extractor.extract_document` does, write it, count it."""
        result = self.extractor.finish(doc, answer, key, self.started, stats, cache_hit=cache_hit)
        write_line(self.sink, result_line(result))
        self._count(Outcome(article_id=doc.id, result=result))

    def _failed(self, article_id: str, stats: accounting.CallStats, reason: str) -> ExtractionFailed:
        return ExtractionFailed(article_id=article_id, prompt_id=self.extractor.prompt.id, attempts=1, reason=reason,
                                last_output=stats.last_output, usage=stats.usage())

    def _fail(self, article_id: str, error: ExtractorError) -> None:
        meta = {"batch_id": self.details["batch_id"]} if self.details["batch_id"] else None
        write_line(self.sink, failure_line(article_id, error, meta))
        self._count(Outcome(article_id=article_id, error=error))

    def _count(self, outcome: Outcome) -> None:
        self.summary.add(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def _finish(self) -> RunSummary:
        # Failed answers cost tokens too: priced over the whole run's usage.
        self.summary.cost = self.extractor.settings.cost(self.summary.prompt_tokens, self.summary.completion_tokens)
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


def _status(batch: Any) -> dict[str, Any]:
    counts = batch.request_counts
    return {
        "batch_id": batch.id,
        "status": batch.status,
        "completed": counts.completed if counts else None,
        "failed": counts.failed if counts else None,
        "total": counts.total if counts else None,
    }


class BatchApiEngine(ModelEngine):
    """The OpenAI Batch API: one batch for the documents not done yet, collected into the job's output file."""

    name = "batch-api"

    def __init__(self, extractor: Extractor, *, poll_interval: float = POLL_S, timeout: float = WAIT_S) -> None:
        super().__init__(extractor)
        self.poll_interval = poll_interval
        self.timeout = timeout

    def check(self, job: Job, events: Events) -> None:
        """Refuse a job without an output file, or with a database sink; prepare the output file."""
        if job.out is None:
            raise ConfigError("--batch-api needs --out FILE.jsonl: results arrive later and are collected there")
        if not is_results_file(job.out):
            raise ConfigError(f"--batch-api needs --out to be a file (results are collected there later), "
                              f"not {job.out}")
        if job.sink is not None:
            raise ConfigError("the Batch API engine does not store results in a database: load --out with "
                              "a local run's --db, or extract with the local or Ray engine")
        ex = self.extractor
        prepare_out_file(job.out, job.paths, events, setup=(ex.prompt.id, ex.prompt.hash, ex.backend.model))

    def extract(self, extractor: Extractor, job: Job, events: Events) -> RunSummary:
        """Submit (or resume), wait, collect; `pending` in the summary when the batch outlasts `timeout`."""
        assert job.out is not None  # `check` refused a job without one
        events.start(remaining(job.paths, len(done_ids(job.out))))

        def status(state: dict[str, Any]) -> None:
            events.note(f"batch {state['batch_id']}: {state['status']} ({state['completed']}/{state['total']})")

        return run_batch_api(extractor, iter_documents(job.paths, exclude=[job.out]), job.out,
                             poll_interval=self.poll_interval, timeout=self.timeout, on_outcome=events.outcome,
                             on_status=status)
