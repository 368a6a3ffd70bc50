"""Evaluation runs: extract every gold document and store the run (`score_run.score_run` scores it).

`run_eval` resumes: predictions already in the run directory are kept and only the
missing documents are extracted, so an interrupted eval loses nothing. run.json and the
reports are replaced atomically, so a crash never leaves half a file.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from extractor.batch.results import check_resumable
from extractor.batch.run import Outcome, RunSummary, extract_into, pending
from extractor.core.documents import Document
from extractor.core.errors import DocumentError
from extractor.core.files import write_atomic
from extractor.core.pipeline import Extractor
from extractor.core.schema import SCHEMA_VERSION, schema_hash

from .goldset import GoldSet
from .predictions import PredictionFile
from .runs import PREDICTIONS, StoredRun, load_run, slug, write_info


def default_run_dir(extractor: Extractor | None = None, *, prompt: str | None = None, model: str | None = None) -> Path:
    """runs/<timestamp>_<prompt>_<model>, in the working directory (the extractor's, or the names given)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    if extractor is not None:
        prompt, model = extractor.prompt.id, extractor.settings.model or "embedded"
    name = f"{prompt or 'default'}_{model or 'default'}"
    return Path("runs") / f"{stamp}_{slug(name)}"


def run_eval(
    gold_set: GoldSet,
    extractor: Extractor,
    out_dir: Path,
    *,
    concurrency: int = 1,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> StoredRun:
    """Extract every gold document into `out_dir/predictions.jsonl` (resuming) and write run.json.

    A directory holding another prompt's or model's predictions is refused, not mixed in.
    """
    _check_out(out_dir)
    check_resumable(out_dir / PREDICTIONS, prompt_id=extractor.prompt.id, prompt_hash=extractor.prompt.hash,
                    model=extractor.backend.model)
    setup = {"prompt_id": extractor.prompt.id, "prompt_hash": extractor.prompt.hash, "model": extractor.backend.model,
             "backend": extractor.backend.name, "endpoint": extractor.backend.endpoint}
    return collect_run(gold_set, out_dir, setup,
                       lambda sink, todo: extract_into(sink, extractor, todo, concurrency=concurrency,
                                                       on_outcome=on_outcome))


ExtractInto = Callable[[IO[str], Iterable[Document | DocumentError]], RunSummary]
"""Extract documents, appending a result or failure line per document to the sink."""


def collect_run(gold_set: GoldSet, out_dir: Path, setup: dict[str, Any], extract: ExtractInto) -> StoredRun:
    """Extract the gold documents not yet in `out_dir/predictions.jsonl` with `extract`, then write run.json.

    `setup` names the prompt, model, backend and endpoint; a value it leaves None (a remote
    service resolves the prompt version itself) is taken from the result lines' meta.
    """
    _check_out(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    predictions_path = out_dir / PREDICTIONS
    todo, skipped = pending((gold_set.documents[i] for i in gold_set.ids), predictions_path)
    started = time.perf_counter()
    with predictions_path.open("a", encoding="utf-8") as sink:
        summary = extract(sink, todo)
    summary.skipped = skipped
    found = PredictionFile(predictions_path).setup()
    known = {**setup, **{k: v for k, v in found.items() if setup.get(k) is None and v is not None}}
    write_info(out_dir, run_info(gold_set, known, summary, time.perf_counter() - started))
    return load_run(out_dir)


def _check_out(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DocumentError(f"--out {out_dir} is a file: an eval run needs a directory")


def check_matches_gold(run: StoredRun, gold_set: GoldSet) -> None:
    """Refuse predictions none of whose ids are gold documents: there would be nothing to score."""
    if run.predictions and set(run.predictions) & set(gold_set.ids):
        return
    sample = ", ".join(sorted(run.predictions)[:3]) or "none"
    raise DocumentError(
        f"{run.path}: none of its {len(run.predictions)} document id(s) ({sample}) is in the gold set "
        f"{gold_set.gold_dir} ({len(gold_set.ids)} documents): score predictions of the gold documents"
    )


def store_run(run: StoredRun, gold_set: GoldSet, out_dir: Path) -> StoredRun:
    """Make `out_dir` a run directory holding `run`'s predictions, so `compare` accepts it.

    `eval --predictions FILE --out DIR` scores a file; this copies the file in as
    `predictions.jsonl` and records its setup in run.json. A directory that already holds
    other predictions is refused rather than overwritten.
    """
    source = run.path / PREDICTIONS if run.path.is_dir() else run.path
    target = out_dir / PREDICTIONS
    if out_dir.exists() and not out_dir.is_dir():
        raise DocumentError(f"--out {out_dir} is a file: reports go into a directory")
    if source.resolve() != target.resolve():
        data = source.read_bytes()
        if target.exists() and target.read_bytes() != data:
            raise DocumentError(f"{out_dir} already holds other predictions ({target}): choose another --out")
        write_atomic(target, data)
    # A big gold set's hash is known only after a pass over it: the scoring pass records it
    # (`runs.record_gold_hash`) rather than a pass of its own here.
    recorded = {**run.info, "predictions_from": str(source),
                "gold_hash": run.info.get("gold_hash") or gold_set.known_hash(),
                "gold_dir": run.info.get("gold_dir") or str(gold_set.gold_dir), "n_documents": len(run.predictions)}
    write_info(out_dir, recorded)
    if isinstance(run.predictions, PredictionFile):
        # The same bytes: keep the index rather than read the copy again.
        predictions = run.predictions.moved(target)
        # gold_hash keeps its place while still None, so the report lists the run's fields in one order.
        info = {**predictions.setup(), **{k: v for k, v in recorded.items() if v is not None or k == "gold_hash"}}
        return StoredRun(path=out_dir, info=info, predictions=predictions, torn=run.torn)
    return load_run(out_dir)


def run_info(gold_set: GoldSet, setup: dict[str, Any], summary: RunSummary, seconds: float) -> dict[str, Any]:
    """What run.json records: setup (prompt id and hash, model, backend, endpoint), gold-set identity, accounting."""
    return {
        "prompt_id": setup.get("prompt_id"),
        "prompt_hash": setup.get("prompt_hash"),
        "model": setup.get("model"),
        "backend": setup.get("backend"),
        "endpoint": setup.get("endpoint"),
        "schema_version": SCHEMA_VERSION,
        "schema_hash": schema_hash(),
        "gold_hash": gold_set.hash(),
        "gold_dir": str(gold_set.gold_dir),
        "n_documents": len(gold_set.ids),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(seconds, 2),
        "accounting": summary.to_dict(),
    }
