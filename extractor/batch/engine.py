"""One interface for every way of running an extraction job: here, on Ray, through the Batch API, on a service.

An `Engine` runs a `Job` (the inputs, where the result lines go, how many documents at once,
an optional sink that also stores each result, an optional call log) and returns a
`RunSummary`; while it runs it reports through `Events` (the expected count once known, each
finished document, a line about the run). Callers such as the command line choose an engine,
run it and print the summary, the same way whichever engine it is.

An engine that calls a model with this machine's settings (`ModelEngine`: local, Ray, Batch
API) checks the endpoint once before its first document (`core.probe.ready`): a run that
cannot work stops there, and the notes (a mode that fell back, a budget that was lowered) are
reported as events.

Every engine writes the same lines (`results.result_line`, `results.failure_line`) and
resumes the same way: documents with a successful line in the output are skipped.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from extractor.core.calls.log import CallLog
from extractor.core.documents import Document, count_inputs, document_files, iter_documents
from extractor.core.errors import ConfigError
from extractor.core.pipeline import Extractor
from extractor.core.probe import ready

from .results import check_resumable, looks_like_results, read_results, result_line
from .run import Input, Outcome, Pending, RunSummary, extract_into

Sink = Callable[[Document, dict[str, Any]], None]
"""Also stores one result: the document and its result line (`store.sink.StoreSink` is one)."""


def _ignore(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Job:
    """What to extract and where the results go; the same for every engine."""

    paths: list[str]
    out: Path | None = None  # a JSONL file (a directory of shards for Ray); None: standard output
    concurrency: int = 1  # documents in flight (per worker, on Ray)
    sink: Sink | None = None
    # Each model call made in this process, under `run_id` (`extractor logs`); engines whose
    # calls are made elsewhere (Ray's workers, the Batch API, a service) say so in `logs_calls`.
    call_log: CallLog | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Events:
    """What a running engine reports: the expected count, each finished document, lines about the run."""

    start: Callable[[int | None], None] = field(default=_ignore)  # documents to do (None: not known)
    outcome: Callable[[Outcome], None] = field(default=_ignore)
    note: Callable[[str], None] = field(default=_ignore)


class Engine(ABC):
    """Runs a `Job` and accounts for it in a `RunSummary`."""

    name: ClassVar[str]
    logs_calls: ClassVar[bool] = False
    """Whether the model calls are made in this process, so that `Job.call_log` sees them."""

    @abstractmethod
    def run(self, job: Job, events: Events | None = None) -> RunSummary:
        """Extract the job's documents into its output; raises `ConfigError` when the job cannot run as given."""


class ModelEngine(Engine):
    """An engine whose documents are answered by a model this machine's settings name (`Extractor`).

    `run` refuses a job the engine cannot run (`check`), then checks the endpoint once
    (`checked`) and extracts with the extractor that check returns (`extract`): no engine
    sends a document before the endpoint is known to answer.
    """

    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor

    def run(self, job: Job, events: Events | None = None) -> RunSummary:
        """Check the job, then the endpoint, then extract."""
        events = events or Events()
        self.check(job, events)
        extractor = checked(self.extractor, events, call_log=job.call_log if self.logs_calls else None,
                            run_id=job.run_id)
        return self.extract(extractor, job, events)

    def check(self, job: Job, events: Events) -> None:
        """Raise `ConfigError` for a job this engine cannot run (before anything is sent); prepare its output."""

    @abstractmethod
    def extract(self, extractor: Extractor, job: Job, events: Events) -> RunSummary:
        """Extract the job's documents with `extractor` (the endpoint already checked)."""


def checked(extractor: Extractor, events: Events, *, call_log: CallLog | None = None,
            run_id: str | None = None) -> Extractor:
    """The extractor a run uses: its calls given to `call_log` (when one is), its endpoint checked once.

    The check (`core.probe.ready`) raises `ConfigError` for a run that cannot work (the
    endpoint is down, the key refused, no structured-output mode accepted) and may return
    another extractor (the mode that works, a budget that fits); its notes go to `events`.
    """
    if call_log is not None:
        extractor.log_calls(call_log, run_id=run_id)
    extractor, notes = ready(extractor)
    for note in notes:
        events.note(f"note: {note}")
    return extractor


class LocalEngine(ModelEngine):
    """asyncio in this process: `concurrency` documents and model calls in flight."""

    name = "local"
    logs_calls = True

    def check(self, job: Job, events: Events) -> None:
        """Refuse an output file that cannot take this run's results."""
        ex = self.extractor
        if job.out is not None:
            prepare_out_file(job.out, job.paths, events, setup=(ex.prompt.id, ex.prompt.hash, ex.backend.model))

    def extract(self, extractor: Extractor, job: Job, events: Events) -> RunSummary:
        """Extract into `job.out` (resuming) or standard output."""
        done_in = resume_from(job.out)
        todo = Pending(iter_documents(job.paths, exclude=[done_in] if done_in else []), done_in)
        events.start(remaining(job.paths, len(todo.done)))
        storing = Storing(job.sink, events) if job.sink is not None else None
        documents: Iterable[Input] = storing.remember(todo) if storing is not None else todo
        report = storing.outcome if storing is not None else events.outcome
        with open_out(job.out) as sink:
            summary = extract_into(sink, extractor, documents, concurrency=job.concurrency, on_outcome=report)
        summary.skipped = todo.skipped
        return summary


def remaining(paths: list[str], done: int) -> int | None:
    """About how many documents of `paths` are still to do, `done` being in the output already."""
    expected = count_inputs(paths)
    return None if expected is None else max(expected - done, 0)


def open_out(out: Path | None) -> Any:
    """The result file opened for appending, or standard output (left open)."""
    return out.open("a", encoding="utf-8") if out is not None else nullcontext(sys.stdout)


def is_results_file(out: Path | None) -> bool:
    """True when `out` is (or will be) a regular file: read to resume a run. A device or pipe is only written."""
    return out is not None and (not out.exists() or out.is_file())


def resume_from(out: Path | None) -> Path | None:
    """The output a run resumes from (skipping the documents in it): `out` if it is a results file."""
    return out if is_results_file(out) else None


def prepare_out_file(out: Path, paths: list[str], events: Events, *, setup: tuple[str, str, str] | None) -> None:
    """Refuse an output file that is a directory, an input, or holds another setup's results; create its folder.

    `setup` is (prompt id, prompt hash, model) of this run, when the engine knows it.
    """
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory: name a file, e.g. {out / 'results.jsonl'}")
    if not is_results_file(out):
        return  # a device or pipe (/dev/stdout, a FIFO): written as a stream, never read
    target = out.resolve()
    if any(p != "-" and Path(p).resolve() == target for p in paths) or _linked_to_input(out, paths):
        raise ConfigError(f"--out {out} is also an input: results would be appended to the documents; "
                          "choose another --out")
    if not looks_like_results(out):
        raise ConfigError(f"--out {out} holds something other than result lines (it does not start with a JSON "
                          "object): results are never appended to it; choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create its folder ({exc.strerror or exc})") from None
    if not out.exists():
        return
    if setup is not None:
        prompt_id, prompt_hash, model = setup
        check_resumable(out, prompt_id=prompt_id, prompt_hash=prompt_hash, model=model)
    torn = read_results(out).torn
    if torn:
        lines = ", ".join(map(str, torn[:5])) + (" ..." if len(torn) > 5 else "")
        events.note(f"warning: {out}: {len(torn)} torn line(s) ignored (line {lines}): their documents are done again")


def _linked_to_input(out: Path, paths: list[str]) -> bool:
    """True if `out` is a hard link to one of the input files (same file under another name)."""
    try:
        if not out.is_file() or out.stat().st_nlink < 2:
            return False  # no other name: it cannot be an input under another path
        identity = (out.stat().st_dev, out.stat().st_ino)
        files = [item[0] for item in document_files([p for p in paths if p != "-"]) if isinstance(item, tuple)]
        return any((f.stat().st_dev, f.stat().st_ino) == identity for f in files)
    except OSError:
        return False


class Storing:
    """A job's sink on an engine that sees outcomes in this process: each result stored with its document."""

    def __init__(self, sink: Sink, events: Events) -> None:
        self.sink = sink
        self.events = events
        self.in_flight: dict[str, Document] = {}  # handed out and not finished: at most `concurrency` of them

    def remember(self, items: Iterable[Input]) -> Iterator[Input]:
        """The items, each document remembered until its outcome arrives."""
        for item in items:
            if isinstance(item, Document):
                self.in_flight[item.id] = item
            yield item

    def outcome(self, outcome: Outcome) -> None:
        """Store a result (a failing database is one note: the line is in the output anyway), then report it."""
        document = self.in_flight.pop(outcome.article_id, None)
        if outcome.result is not None and document is not None:
            try:
                self.sink(document, result_line(outcome.result))
            except Exception as exc:  # the database failed: the result is still in the output
                first = str(exc).splitlines()[0] if str(exc) else ""
                self.events.note(f"error: {outcome.article_id}: not stored in --db: {type(exc).__name__}: {first}")
        self.events.outcome(outcome)

