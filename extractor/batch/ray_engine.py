"""Extraction on Ray: a Ray Dataset of documents, an actor pool of `Extractor`s, sharded JSONL out.

Each actor builds one `Extractor` and runs `aextract_many` over every batch it is given,
so an actor keeps `concurrency` documents in flight exactly like the local path, and N
actors keep N × concurrency. The actors return one small row per document (the encoded
result or failure line plus its accounting); the driver writes the lines into shards as
they stream back and keeps one progress count and one `RunSummary` for the whole cluster.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from extractor.core.documents import Document
from extractor.core.errors import ConfigError, DocumentError, ExtractorError
from extractor.core.pipeline import Extractor
from extractor.core.settings import Settings

from .ray_inputs import ShardWriter, done_in, list_inputs, parquet_rows, read_file_rows
from .results import failure_line, result_line
from .run import Outcome, RunSummary, aextract_many

RAY_HINT = "--engine ray needs Ray: pip install 'sanctions-extractor[ray]'"
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


@dataclass(frozen=True)
class RowEvent:
    """One document finished somewhere in the cluster, as the driver sees it."""

    article_id: str
    status: str  # "ok", "failed" or "skipped"
    message: str = ""
    tokens: int = 0


class ExtractBatch:
    """The actor-pool callable: one `Extractor` per actor, `aextract_many` over each batch."""

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

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """Extract the batch's documents; one output row per input row (skipped ones too)."""
        rows: list[dict[str, Any]] = []
        items: list[Document | DocumentError] = []
        for raw in batch["doc"]:
            item = _decode(str(raw))
            if isinstance(item, Document) and item.id in self.done:
                rows.append(_row(item.id, "skipped", "", "", RunSummary()))
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


ROW_KEYS = ("article_id", "status", "line", "message", "prompt_tokens", "completion_tokens", "attempts",
            "transport_retries", "cache_hits", "latency", "cost")


def _decode(raw: str) -> Document | DocumentError:
    record = json.loads(raw)
    if "error" in record:
        return DocumentError(str(record["error"]), article_id=record.get("article_id"))
    try:
        return Document.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        return DocumentError(f"{record.get('id', 'row')}: {'.'.join(map(str, first['loc']))}: {first['msg']}")


def _row(article_id: str, status: str, line: str, message: str, one: RunSummary) -> dict[str, Any]:
    return {
        "article_id": article_id, "status": status, "line": line, "message": message,
        "prompt_tokens": one.prompt_tokens, "completion_tokens": one.completion_tokens, "attempts": one.attempts,
        "transport_retries": one.transport_retries, "cache_hits": one.cache_hits,
        "latency": one.latencies[0] if one.latencies else math.nan,
        "cost": one.cost if one.cost is not None else math.nan,
    }


def _merge(summary: RunSummary, row: dict[str, Any]) -> None:
    """Add one actor row to the run's summary (the row's numbers came from `RunSummary.add`)."""
    if row["status"] == "skipped":
        summary.skipped += 1
        return
    summary.documents += 1
    if row["status"] == "ok":
        summary.succeeded += 1
    else:
        summary.failed += 1
    for key in ("prompt_tokens", "completion_tokens", "attempts", "transport_retries", "cache_hits"):
        setattr(summary, key, getattr(summary, key) + int(row[key]))
    if not math.isnan(float(row["latency"])):
        summary.latencies.append(float(row["latency"]))
    if not math.isnan(float(row["cost"])):
        summary.cost = (summary.cost or 0.0) + float(row["cost"])


def _start_ray(ray: Any, address: str | None) -> bool:
    """Join `address`, or start an in-process Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ConfigError(f"cannot start {where}: {exc}") from None
    return True


def _quiet(ray: Any) -> None:
    """Ray Data's own bars and logs off: the caller shows one progress bar for the run."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    # A worker's traceback still goes to Ray Data's log file; the run reports one line.
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)


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
    on_start: Callable[[int], None] | None = None,
    on_row: Callable[[RowEvent, RunSummary], None] | None = None,
    sink: Callable[[Document, dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Extract the documents in `paths` on Ray into result shards under `out_dir`.

    `sink(document, line)`, when given, is shipped to every actor and called for each result
    (the CLI passes a `StoreSink` for `--db URL`: results straight into the service's database).

    `actors` extractors each keep `concurrency` documents in flight. `on_start` gets the
    estimated number of inputs, `on_row` each finished (or skipped) document with the
    running summary. Raises `ConfigError` for a missing extra or an unusable cluster or
    output directory, `ExtractorError` when a worker fails (finished lines are kept).
    """
    if actors < 1 or concurrency < 1:
        raise ConfigError("--actors and --concurrency must be at least 1")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file: --engine ray writes a directory of result shards")
    ray = require_ray()
    inputs = list_inputs(paths, exclude=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = frozenset(done_in(out_dir))
    if on_start is not None:
        on_start(inputs.estimated_documents())
    started = _start_ray(ray, address)
    try:
        _quiet(ray)
        dataset = _documents(ray, inputs)
        # A remote model leaves actors waiting on the network: a fraction of a CPU each lets
        # more actors share a node. The embedded model computes, so it gets a whole CPU.
        cpus = actor_cpus if actor_cpus is not None else (1.0 if extractor.backend.in_process else 0.25)
        env = {name: os.environ[name] for name in FORWARDED_ENV if os.environ.get(name)}
        size = batch_size or max(4 * concurrency, 8)
        # One block per batch: a big JSONL file reads as one block, which would give one actor
        # all the work and send its results back only at the end.
        results = dataset.repartition(target_num_rows_per_block=size).map_batches(
            ExtractBatch,
            fn_constructor_kwargs={
                "settings": extractor.settings, "prompt_id": extractor.prompt.id,
                "prompt_hash": extractor.prompt.hash, "concurrency": concurrency, "done": done, "env": env,
                "sink": sink,
            },
            batch_size=size,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=cpus,
        )
        with warnings.catch_warnings():
            # Ray Data's tuning hints (such as "fewer blocks than actors" on a small input) are noise here.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"ray\.")
            return _drain(results, out_dir, lines_per_shard, on_row)
    finally:
        if started:
            ray.shutdown()


def _documents(ray: Any, inputs: Any) -> Any:
    """One dataset of `doc` rows from every input kind."""
    parts = []
    light = {"num_cpus": 0.25}  # reading is I/O; leave the CPUs to the extractors
    if inputs.files:
        files = ray.data.from_items([{"path": p, "article_id": i} for p, i in inputs.files])
        parts.append(files.flat_map(read_file_rows, **light))
    if inputs.parquet:
        table = ray.data.read_parquet(inputs.parquet, include_paths=True)
        parts.append(table.map_batches(parquet_rows, batch_format="pyarrow", **light))
    if inputs.errors:
        parts.append(ray.data.from_items([{"doc": json.dumps({"error": e})} for e in inputs.errors]))
    if not parts:
        raise DocumentError("no input files")
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def _drain(
    results: Any, out_dir: Path, lines_per_shard: int, on_row: Callable[[RowEvent, RunSummary], None] | None
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
            if row["status"] != "skipped":
                writer.write(row["line"])
            _merge(summary, row)
            if on_row is not None:
                tokens = int(row["prompt_tokens"]) + int(row["completion_tokens"])
                on_row(RowEvent(str(row["article_id"]), str(row["status"]), str(row["message"]), tokens), summary)
    except ExtractorError:
        raise
    except Exception as exc:
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


def _duplicate(row: dict[str, Any]) -> dict[str, Any]:
    """A second result for an id already extracted in this run becomes a failure, as locally.

    Workers read files independently, so a repeated id (in two JSONL files, say) is only
    seen here; the first result is kept and the repeat is recorded as refused.
    """
    error = DocumentError(f"duplicate id {row['article_id']!r}: ids must be unique within a run; this document "
                          "is not kept", article_id=str(row["article_id"]))
    line = json.dumps(failure_line(str(row["article_id"]), error), ensure_ascii=False)
    return {**row, "status": "failed", "line": line, "message": str(error)}


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
