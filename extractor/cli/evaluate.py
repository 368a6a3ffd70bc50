"""`extractor eval`, `compare` and `show`: scores (recorded in the run history), comparisons, the document view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from extractor.core.errors import DocumentError, ExtractorError

from .common import BaseUrlOpt, CacheDirOpt, ModelOpt, PromptOpt, app, err, fail, run_with, settings_from
from .serve import DbOpt


@app.command("eval")
def eval_cmd(
    predictions: Annotated[
        Path | None,
        typer.Option("--predictions", help="Score this JSONL (from `extract --out`) or run directory; no model calls."),
    ] = None,
    prompt: PromptOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    gold: Annotated[Path | None, typer.Option("--gold", help="Gold directory (default evals/gold).")] = None,
    docs: Annotated[Path | None, typer.Option("--docs", help="Documents directory (default evals/docs).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run/report directory (default runs/<...>).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1)] = 1,
    no_cache: Annotated[bool, typer.Option("--no-cache")] = False,
    cache_dir: CacheDirOpt = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples.")] = 2000,
    shown: Annotated[
        int, typer.Option("--html-documents", min=0, help="Documents shown in report.md/html (lowest F1 first).")
    ] = 200,
    list_path: Annotated[
        Path | None,
        typer.Option("--list", help="Also report which gold and predicted targets are on this sanctions list."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Scoring processes (default: one per core from 1,000 documents)."),
    ] = None,
    db: DbOpt = None,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the run in the run history.")] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="The run's name in the history (default: --out's).")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="Extract through this `extractor serve` URL; the run is recorded there."),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="API key for --server. Env: EXTRACTOR_API_KEY.")
    ] = None,
) -> None:
    """Score extractions against the gold set, write report.json, report.md and report.html, and record the run.

    The run goes into the run history (`extractor runs list`, the service's runs page): the
    database of `--db` / EXTRACTOR_DB_URL (the service's), or with `--server` that service's.
    """
    from extractor.core.pipeline import Extractor
    from extractor.eval.goldset import load_gold_set
    from extractor.eval.predict import check_matches_gold, default_run_dir, run_eval, store_run
    from extractor.eval.reports.text import print_eval
    from extractor.eval.runs import load_run
    from extractor.eval.score_run import score_run

    from .progress import BatchProgress
    from .runs import eval_through_server, record_run

    if server is not None and (predictions is not None or db is not None):
        fail("--server extracts the gold set through the service and records the run there: "
             "it goes with neither --predictions nor --db")
    try:
        gold_set = load_gold_set(gold, docs)
        if server is not None:
            out_dir = out or default_run_dir(prompt=prompt, model=model)
            run = eval_through_server(gold_set, out_dir, server, api_key, prompt=prompt, model=model,
                                      concurrency=concurrency)
        elif predictions is not None:
            run = load_run(predictions)
            _warn_torn(run)
            try:
                check_matches_gold(run, gold_set)
            except ExtractorError as exc:
                fail(str(exc), 1)
            out_dir = out or (predictions if predictions.is_dir() else predictions.parent / f"{predictions.stem}-eval")
            run = store_run(run, gold_set, out_dir)  # what eval writes, compare reads
        else:
            settings = settings_from(model=model, base_url=base_url, cache=not no_cache, cache_dir=cache_dir)
            extractor = Extractor(settings, prompt=prompt)
            out_dir = out or default_run_dir(extractor)
            with run_with(extractor) as checked, BatchProgress(len(gold_set.ids)) as progress:
                run = run_eval(gold_set, checked, out_dir, concurrency=concurrency, on_outcome=progress.advance)
        evaluation = score_run(run, gold_set, out_dir, n_boot=n_boot, shown=shown, workers=workers)
    except ExtractorError as exc:
        fail(str(exc))
    print_eval(Console(width=max(Console().width, 150)), evaluation.report, run.info)
    if evaluation.omitted:
        err.print(f"report.md and report.html show the {evaluation.shown} lowest-scoring documents; "
                  f"report.json has all {evaluation.shown + evaluation.omitted}")
    paths = list(evaluation.paths)
    if list_path is not None:
        from .match import list_recall_view

        paths.append(list_recall_view(list_path, gold_set, run, out_dir))
    err.print("wrote " + ", ".join(str(p) for p in paths))
    if not no_record:
        record_run(evaluation, run, gold_set, db=db, server=server, api_key=api_key, name=name)


def _warn_torn(run: Any) -> None:
    if run.torn:
        err.print(f"warning: {run.path}: {len(run.torn)} torn line(s) ignored (line {run.torn[0]}...): "
                  "their documents count as missing")


@app.command("compare")
def compare_cmd(
    a: Annotated[str, typer.Argument(help="Run A: a run directory, a predictions JSONL, or a prompt id.")],
    b: Annotated[str, typer.Argument(help="Run B: a run directory, a predictions JSONL, or a prompt id.")],
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    gold: Annotated[Path | None, typer.Option("--gold", help="Gold directory (default evals/gold).")] = None,
    docs: Annotated[Path | None, typer.Option("--docs", help="Documents directory (default evals/docs).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Report directory (default runs/compare_*).")] = None,
    fail_on_regression: Annotated[
        bool, typer.Option("--fail-on-regression", help="Exit 1 when B is significantly worse than A.")
    ] = False,
    margin: Annotated[float, typer.Option("--margin", min=0.0, help="Tolerated F1 drop for the gate.")] = 0.01,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Paired bootstrap resamples.")] = 2000,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1)] = 1,
) -> None:
    """Compare two runs or prompt versions on the same gold documents, with paired statistics."""
    from extractor.eval.compare_runs import build_compare_report, compare, gate, write_compare_reports
    from extractor.eval.goldset import load_gold_set
    from extractor.eval.reports.compare import print_compare
    from extractor.eval.runs import slug

    try:
        gold_set = load_gold_set(gold, docs)
        run_a = _run_or_eval(a, gold_set, model, base_url, concurrency)
        run_b = _run_or_eval(b, gold_set, model, base_url, concurrency)
        comparison = compare(run_a, run_b, gold_set, n_boot=n_boot)
        report = build_compare_report(comparison, run_a, run_b, gold_set)
        out_dir = out or Path("runs") / f"compare_{slug(Path(a).name or a)}_vs_{slug(Path(b).name or b)}"
        paths = write_compare_reports(report, gold_set, run_a, run_b, out_dir)
    except ExtractorError as exc:
        fail(str(exc))
    print_compare(Console(width=max(Console().width, 150)), report)
    err.print("wrote " + ", ".join(str(p) for p in paths))
    reason = gate(comparison, margin)
    if reason:
        err.print(f"[red]{reason}[/red]" if fail_on_regression else reason)
        if fail_on_regression:
            raise typer.Exit(1)


def _run_or_eval(ref: str, gold_set: Any, model: str | None, base_url: str | None, concurrency: int) -> Any:
    """A stored run when `ref` is a path; otherwise evaluate prompt `ref` now (cache on)."""
    from extractor.core.pipeline import Extractor
    from extractor.eval.predict import default_run_dir, run_eval
    from extractor.eval.runs import load_run

    from .progress import BatchProgress

    if Path(ref).exists():
        return load_run(Path(ref))
    if "/" in ref or ref.endswith((".jsonl", ".json")):
        raise DocumentError(f"{ref}: no such run directory or predictions file")
    extractor = Extractor(settings_from(model=model, base_url=base_url), prompt=ref)
    with run_with(extractor) as checked, BatchProgress(len(gold_set.ids)) as progress:
        return run_eval(gold_set, checked, default_run_dir(checked), concurrency=concurrency,
                        on_outcome=progress.advance)


@app.command("show")
def show_cmd(
    results: Annotated[Path, typer.Argument(help="A results JSONL file (from `extract --out`).")],
    doc: Annotated[
        list[str] | None, typer.Option("--doc", help="Article id to show (repeatable; default: every document).")
    ] = None,
    text: Annotated[
        Path | None, typer.Option("--text", help="The document's text file, for one --doc (default: looked up).")
    ] = None,
    docs: Annotated[Path | None, typer.Option("--docs", help="Directory of <id>.txt documents.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Documents on one page without --doc.")] = 200,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the HTML page here.")] = None,
) -> None:
    """Render documents with each evidence span and target name highlighted and linked to its action.

    One `--doc` gives one page (`<id>.html`); several, or none (every document, up to
    `--limit`), give one page with a list of them first (`<results>.html`).
    """
    from extractor.batch.results import Failure, load_results
    from extractor.core.files import write_atomic
    from extractor.eval.reports.html import show_page
    from extractor.eval.runs import slug

    try:
        found = load_results(results)
    except ExtractorError as exc:
        fail(str(exc))
    wanted = list(dict.fromkeys(doc)) if doc else list(found)
    if not wanted:
        fail(f"{results}: no results in it")
    if text is not None and len(wanted) != 1:
        fail("--text goes with one --doc: name the document, or use --docs DIR for several")
    missing = [d for d in wanted if d not in found]
    if missing:
        fail(f"{results}: no result for document {missing[0]!r}" + (f" (and {len(missing) - 1} more)"
                                                                      if len(missing) > 1 else ""))
    omitted = max(0, len(wanted) - limit) if not doc else 0
    wanted = wanted if doc else wanted[:limit]
    first = found[wanted[0]] if wanted else None
    if len(wanted) == 1 and isinstance(first, Failure):
        fail(f"{wanted[0]}: extraction failed: {first.error.get('message', '')}")
    folders = [docs] if docs else [results.parent, Path("evals/docs"), Path("seeds")]
    items = []
    for doc_id in wanted:
        result = found[doc_id]
        source = text or _find_text(doc_id, folders)
        if source is None and len(wanted) == 1:
            fail(f"no text for {doc_id!r}: pass --text FILE or --docs DIR")
        body = _document_text(source, doc_id) if source is not None and not isinstance(result, Failure) else None
        items.append((doc_id, result, body))
    page = show_page(items, source=str(results), omitted=omitted)
    target = out or Path(f"{slug(wanted[0]) if len(wanted) == 1 else slug(results.stem)}.html")
    if target.is_dir():
        fail(f"--out {target} is a directory: name the HTML file, e.g. {target / (slug(wanted[0]) + '.html')}")
    try:
        write_atomic(target, page)
    except OSError as exc:
        fail(f"--out {target}: cannot write ({exc.strerror or exc})", 1)
    err.print(f"wrote {target}" + (f" ({len(items)} documents{f'; {omitted} more not shown' if omitted else ''})"
                                   if len(items) > 1 else ""))


def _document_text(source: Path, doc: str) -> str:
    """The text extraction saw for `doc` in `source`, read as `extract` reads it; errors are one line."""
    from extractor.core.documents import Document, read_file

    items = list(read_file(source))
    texts = [item for item in items if isinstance(item, Document)]
    match = next((d for d in texts if d.id == doc), texts[0] if len(texts) == 1 else None)
    if match is None:
        problems = [str(item) for item in items if isinstance(item, DocumentError)]
        fail(problems[0] if problems else f"{source}: no document {doc!r} in it")
    return match.text


def _find_text(doc_id: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for suffix in (".txt", ".md"):
            candidate = folder / f"{doc_id}{suffix}"
            if candidate.exists():
                return candidate
    return None
