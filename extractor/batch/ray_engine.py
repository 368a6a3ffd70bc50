"""Extraction on Ray: a Ray Dataset of work units, an actor pool of `Extractor`s, sharded JSONL out.

The driver cuts the inputs into units of a few dozen documents (`ray_inputs.plan_units`).
Each actor builds one `Extractor`, reads the units it is given and runs `aextract_many`
over their documents, so an actor keeps `concurrency` documents in flight exactly like the
local path, and N actors keep N × concurrency. The actors return one small row per document
(the encoded result or failure line plus its `RunSummary`); the driver writes the lines
into shards as they stream back and merges one `RunSummary` for the whole cluster.

Resuming: ids with a successful line in the output directory are skipped (failures run
again), as `--out FILE` does locally. Inputs must be readable at the same path on every
node (a shared filesystem or object store mount) when the run spans machines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from extractor.core.documents import Document
from extractor.core.errors import ConfigError, DocumentError, ExtractorError
from extractor.core.pipeline import Extractor
from extractor.core.schema import ArticleExtraction
from extractor.core.settings import Settings

from .engine import Events, Job, ModelEngine
from .ray_inputs import ShardWriter, done_in, list_inputs, plan_units, read_unit
from .results import failure_line, parse_record, result_line
from .run import Outcome, RunSummary, aextract_many

RAY_HINT = "--engine ray needs Ray: pip install 'sanctions-extractor[ray]'"
START_TIMEOUT = 120.0
"""Seconds to wait for the first extraction actor before the run fails saying the cluster has no room."""
DEFAULT_ACTORS = 2
# Passed on to the actors so they resolve prompts and settings as the driver does.
FORWARDED_ENV = ("EXTRACTOR_PROMPTS_DIR",)


def require_ray() -> Any:
    """The `ray` module, or a `ConfigError` naming the extra that installs it."""
    try:
        import ray
        import ray.data  # Ray Data needs pyarrow and pandas, which plain `ray` lacks
    except ImportError:
        raise ConfigError(RAY_HINT) from None
    return ray


class ExtractBatch:
    """The actor-pool callable: one `Extractor` per actor, `aextract_many` over the documents of each work unit."""

    def __init__(
        self, settings: Settings, prompt_id: str, prompt_hash: str, concurrency: int, done: frozenset[str],
        env: dict[str, str], sink: Callable[[Document, dict[str, Any]], None] | None = None,
    ) -> None:
        os.environ.update(env)
        self.sink = sink
        self.extractor = Extractor(settings, prompt=prompt_id)
        if self.extractor.prompt.hash != prompt_hash:
            # A node with other prompt files would silently produce results of another prompt.
            raise ConfigError(f"prompt {prompt_id} differs on this node from the driver's (hash mismatch)")
        self.concurrency = concurrency
        self.done = done
        self.groups: dict[tuple[str, int], Any] = {}

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """Read and extract the batch's units; one output row per document (skipped ones too)."""
        rows: list[dict[str, Any]] = []
        items: list[Document | DocumentError] = []
        for raw in batch["unit"]:
            for item in read_unit(json.loads(str(raw)), self.groups):
                if isinstance(item, Document) and item.id in self.done:
                    rows.append(_row(item.id, "skipped", "", "", RunSummary(skipped=1)))
                    continue
                items.append(item)

        by_id = {item.id: item for item in items if isinstance(item, Document)}

        def collect(outcome: Outcome) -> None:
            one = RunSummary()
            one.add(outcome)
            if outcome.result is not None:
                line, status, message = result_line(outcome.result), "ok", ""
                if self.sink is not None:
                    self.sink(by_id[outcome.article_id], line)  # stored before it counts as done
            else:
                assert outcome.error is not None
                line, status, message = failure_line(outcome.article_id, outcome.error), "failed", str(outcome.error)
            rows.append(_row(outcome.article_id, status, json.dumps(line, ensure_ascii=False), message, one))

        if items:
            asyncio.run(aextract_many(self.extractor, items, concurrency=self.concurrency, on_outcome=collect))
        return {key: [row[key] for row in rows] for key in ROW_KEYS}


ROW_KEYS = ("article_id", "status", "line", "message", "summary")


def _row(article_id: str, status: str, line: str, message: str, one: RunSummary) -> dict[str, Any]:
    # The document's accounting travels as `RunSummary.state()`; the driver merges it into the run's.
    return {"article_id": article_id, "status": status, "line": line, "message": message,
            "summary": json.dumps(one.state())}


def _start_ray(ray: Any, address: str | None) -> bool:
    """Join `address`, or start an in-process Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    try:
        # "local": a Ray of our own; with no address at all, Ray would join any cluster already running here.
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ConfigError(f"cannot start {where}: {exc}") from None
    return True


def _check_room(ray: Any, cpus: float, address: str | None) -> None:
    """Refuse a cluster none of whose nodes could hold even one extraction actor."""
    sizes = sorted((float(node.get("Resources", {}).get("CPU", 0.0)) for node in ray.nodes() if node.get("Alive")),
                   reverse=True)
    if not sizes or sizes[0] < cpus:
        where = f"the Ray cluster at {address}" if address else "the local Ray"
        nodes = ", ".join(f"{size:g}" for size in sizes) or "none alive"
        raise ConfigError(f"{where} cannot run an extraction actor: each needs {cpus:g} CPU on one node, and its "
                          f"nodes have {nodes} CPU; add a node with at least {cpus:g} CPU")


def _quiet(ray: Any, start_timeout: float) -> dict[str, Any]:
    """Ray Data's own bars and logs off (the caller shows one progress bar); returns the settings it replaced."""
    context = ray.data.DataContext.get_current()
    names = ("enable_progress_bars", "print_on_execution_start", "enable_auto_log_stats", "wait_for_min_actors_s")
    saved = {name: getattr(context, name) for name in names}
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    # Waiting for the first actor is bounded: a cluster whose CPUs are all taken fails with a message.
    context.wait_for_min_actors_s = max(math.ceil(start_timeout), 1)
    # A worker's traceback still goes to Ray Data's log file; the run reports one line.
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    return saved


def run_ray(
    extractor: Extractor,
    paths: list[str],
    out_dir: Path,
    *,
    actors: int = 2,
    concurrency: int = 4,
    address: str | None = None,
    batch_size: int | None = None,
    actor_cpus: float | None = None,
    lines_per_shard: int = 10000,
    start_timeout: float = START_TIMEOUT,
    on_start: Callable[[int], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    sink: Callable[[Document, dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Extract the documents in `paths` on Ray into result shards under `out_dir`.

    `sink(document, line)`, when given, is shipped to every actor and called for each result
    (the CLI passes a `StoreSink` for `--db URL`: results straight into the service's database).

    Up to `actors` extractors each keep `concurrency` documents in flight. The only resources
    asked of Ray are the actors' (`actor_cpus`, default a whole CPU for a model that runs in
    process, a quarter for an endpoint client): the driver cuts the inputs into work units and
    each actor reads its own, so a cluster that can hold one actor runs the job, with as many
    actors as fit up to `actors`. When not even one actor starts within `start_timeout`
    seconds, or no node is big enough for one, the run fails saying so.

    `on_start` gets the estimated number of documents to do, `on_outcome` each finished
    document. Raises `ConfigError` for a missing extra or an unusable cluster or output
    directory, `ExtractorError` when a worker fails (finished lines are kept).
    """
    if actors < 1 or concurrency < 1:
        raise ConfigError("--actors and --concurrency must be at least 1")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file: --engine ray writes a directory of result shards")
    ray = require_ray()
    inputs = list_inputs(paths, exclude=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = frozenset(done_in(out_dir))
    size = batch_size or max(4 * concurrency, 8)
    units = [json.dumps(unit) for unit in plan_units(inputs, size)]
    if not units:
        raise DocumentError("no input files")
    # A remote model leaves actors waiting on the network: a fraction of a CPU each lets
    # more actors share a node. A model that runs in process computes, so it gets a whole CPU.
    cpus = actor_cpus if actor_cpus is not None else (1.0 if extractor.backend.in_process else 0.25)
    started = _start_ray(ray, address)
    saved: dict[str, Any] = {}
    try:
        _check_room(ray, cpus, address)
        saved = _quiet(ray, start_timeout)
        if on_start is not None:
            on_start(max(inputs.estimated_documents() - len(done), 0))
        env = {name: os.environ[name] for name in FORWARDED_ENV if os.environ.get(name)}
        # One block per work unit, so each actor call gets one unit and results stream back as units finish.
        dataset = ray.data.from_items([{"unit": unit} for unit in units], override_num_blocks=len(units))
        results = dataset.map_batches(
            ExtractBatch,
            fn_constructor_kwargs={
                "settings": extractor.settings, "prompt_id": extractor.prompt.id,
                "prompt_hash": extractor.prompt.hash, "concurrency": concurrency, "done": done, "env": env,
                "sink": sink,
            },
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
            num_cpus=cpus,
        )
        with warnings.catch_warnings():
            # Ray Data's tuning hints (such as "fewer blocks than actors" on a small input) are noise here.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"ray\.")
            return _drain(results, out_dir, lines_per_shard, on_outcome, cpus=cpus, timeout=start_timeout)
    finally:
        context = ray.data.DataContext.get_current()
        for name, value in saved.items():
            setattr(context, name, value)
        if started:
            ray.shutdown()


def _drain(
    results: Any, out_dir: Path, lines_per_shard: int, on_outcome: Callable[[Outcome], None] | None, *,
    cpus: float, timeout: float,
) -> RunSummary:
    """Write the lines as they stream back; count every row into one summary."""
    summary = RunSummary()
    writer = ShardWriter(out_dir, lines_per_shard=lines_per_shard)
    extracted: set[str] = set()
    try:
        for row in results.iter_rows():
            if row["status"] == "ok" and row["article_id"] in extracted:
                row = _duplicate(row)
            elif row["status"] == "ok":
                extracted.add(row["article_id"])
            summary.merge(RunSummary.from_state(json.loads(row["summary"])))
            if row["status"] == "skipped":
                continue
            writer.write(row["line"])
            if on_outcome is not None:
                on_outcome(_outcome(row))
    except ExtractorError:
        raise
    except Exception as exc:
        if type(exc).__name__ == "GetTimeoutError":
            raise ExtractorError(
                f"no extraction actor could start on the Ray cluster within {timeout:g} s: each needs {cpus:g} CPU "
                "on one node and none was free (`ray status` shows the pending demand); free some CPUs or add a "
                "node, then run again with the same --out"
            ) from None
        if type(exc).__module__.startswith("ray"):
            # Lines already written stay; a rerun with the same --out resumes after them.
            raise ExtractorError(
                f"a Ray worker failed: {_first_line(exc)} (traceback in Ray's logs, /tmp/ray/session_latest/logs "
                "on the node); finished documents are saved, run again with the same --out to resume"
            ) from None
        raise
    finally:
        writer.close()
    return summary


def _outcome(row: dict[str, Any]) -> Outcome:
    """The `Outcome` of a row, for progress: the result read back from its line, or the error's message."""
    if row["status"] == "ok":
        result = parse_record(json.loads(row["line"]), 0)
        if isinstance(result, ArticleExtraction):
            return Outcome(article_id=str(row["article_id"]), result=result)
    return Outcome(article_id=str(row["article_id"]), error=ExtractorError(str(row["message"])))


def _duplicate(row: dict[str, Any]) -> dict[str, Any]:
    """A second result for an id already extracted in this run becomes a failure, as locally.

    Workers read files independently, so a repeated id (in two JSONL files, say) is only
    seen here; the first result is kept and the repeat is recorded as refused.
    """
    error = DocumentError(f"duplicate id {row['article_id']!r}: ids must be unique within a run; this document "
                          "is not kept", article_id=str(row["article_id"]))
    line = json.dumps(failure_line(str(row["article_id"]), error), ensure_ascii=False)
    state = json.loads(row["summary"])
    state.update(succeeded=state["succeeded"] - 1, failed=state["failed"] + 1, cache_hits=0, latencies=[])
    return {**row, "status": "failed", "line": line, "message": str(error), "summary": json.dumps(state)}


def _first_line(exc: BaseException) -> str:
    """The worker's own error line out of Ray's wrapping (the last line of the first message that has text)."""
    seen: BaseException | None = exc
    for _ in range(10):  # bounded: Ray chains a few wrappers, never many
        if seen is None:
            break
        lines = [line.strip() for line in str(seen).splitlines() if line.strip()]
        if lines:
            # "extractor.core.errors.ConfigError: …" → "ConfigError: …"
            return re.sub(r"^(?:\w+\.)+(?=\w+: )", "", lines[-1])
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


class RayEngine(ModelEngine):
    """Ray: an actor pool of extractors on a local or remote cluster, results as shards in the job's directory.

    The workers build their own extractors from the checked settings; their calls are not logged.
    """

    name = "ray"

    def __init__(self, extractor: Extractor, *, actors: int = DEFAULT_ACTORS, address: str | None = None) -> None:
        super().__init__(extractor)
        self.actors = actors
        self.address = address

    def check(self, job: Job, events: Events) -> None:
        """Refuse a job without an output directory."""
        if job.out is None:
            raise ConfigError("--engine ray needs --out DIR: results are written there as JSONL shards")

    def extract(self, extractor: Extractor, job: Job, events: Events) -> RunSummary:
        """Extract into the directory `job.out`, skipping ids already extracted there."""
        assert job.out is not None  # `check` refused a job without one
        return run_ray(extractor, job.paths, job.out, actors=self.actors, concurrency=job.concurrency,
                       address=self.address, on_start=events.start, on_outcome=events.outcome, sink=job.sink)
