"""The `extractor` command line: a thin layer over the library; each command calls one function."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from .errors import ExtractorError

app = typer.Typer(
    help="Extract structured sanctions data from news articles and press releases, and evaluate it.",
    epilog=(
        "Examples: extractor extract seeds/*.txt · extractor extract docs/ --model gpt-4o-mini -j 8 --out out.jsonl · "
        "extractor eval --prompt sanctions@v3 · extractor compare runs/a runs/b --fail-on-regression. "
        "Without --model or OPENAI_BASE_URL the embedded offline model answers (tiny: expect poor answers)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cache_app = typer.Typer(help="Inspect or clear the result cache.", no_args_is_help=True)
prompts_app = typer.Typer(help="List, show, render and diff versioned prompts.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
app.add_typer(prompts_app, name="prompts")

err = Console(stderr=True, highlight=False)

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Model name for the endpoint, or 'embedded[:smollm2|gemma3]'. Env: EXTRACTOR_MODEL."
    ),
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL. Env: OPENAI_BASE_URL.")
]
PromptOpt = Annotated[
    str | None,
    typer.Option("--prompt", "-p", help="NAME or NAME@vN (default: latest sanctions). Env: EXTRACTOR_PROMPT."),
]
CacheDirOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Cache directory. Env: EXTRACTOR_CACHE_DIR.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error and exit."""
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


def settings_from(**options: Any) -> Any:
    """Settings from the environment with the given CLI options applied."""
    from .settings import Settings

    try:
        return Settings.from_env(**options)
    except ExtractorError as exc:
        fail(str(exc))


@app.command("extract")
def extract_cmd(
    paths: Annotated[list[str], typer.Argument(help="Files (.txt .md .html .jsonl), directories, or - for stdin.")],
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    prompt: PromptOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Append results to this JSONL file; documents already in it are skipped."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, help="Documents in flight at once.")] = 1,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ignore cached answers, store fresh ones.")] = False,
    cache_dir: CacheDirOpt = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="Structured-output mode: json_schema, tools, json, md_json.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Output token limit per call.")] = None,
    require_grounding: Annotated[
        bool, typer.Option("--require-grounding", help="Drop targets and actions whose evidence is not in the text.")
    ] = False,
    batch_api: Annotated[
        bool, typer.Option("--batch-api", help="Submit through the OpenAI Batch API (needs --out); re-run to resume.")
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="Batch API polling interval, seconds.")] = 30.0,
) -> None:
    """Extract sanctions actions from documents; print one JSON line per document."""
    from .batch import extract_into, pending
    from .documents import iter_documents
    from .pipeline import Extractor
    from .progress import BatchProgress, print_summary

    settings = settings_from(
        model=model, base_url=base_url, cache=not no_cache, refresh=refresh, cache_dir=cache_dir, mode=mode,
        max_tokens=max_tokens, require_grounding=require_grounding or None,
    )
    try:
        extractor = Extractor(settings, prompt=prompt)
    except ExtractorError as exc:
        fail(str(exc))
    if batch_api:
        _extract_with_batch_api(extractor, paths, out, poll)
        return
    todo, skipped = pending(iter_documents(paths, exclude=[out] if out else []), out)
    if skipped:
        err.print(f"{skipped} document(s) already in {out}: skipped")
    with ExitStack() as stack:
        sink = stack.enter_context(out.open("a", encoding="utf-8")) if out else sys.stdout
        progress = stack.enter_context(BatchProgress(len(todo), enabled=len(todo) > 1))

        def report(outcome: Any) -> None:
            if outcome.error is not None:
                progress.console.print(f"[red]error:[/red] {outcome.error}", soft_wrap=True, highlight=False)
            progress.advance(outcome)

        try:
            summary = extract_into(sink, extractor, todo, concurrency=concurrency, on_outcome=report)
        except KeyboardInterrupt:
            err.print("interrupted: finished documents are saved; run again with the same --out to resume")
            raise typer.Exit(130) from None
    summary.skipped = skipped
    if len(todo) > 1 or out is not None:
        print_summary(err, summary)
    if summary.failed:
        raise typer.Exit(1)


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
) -> None:
    """Score extractions against the gold set and write report.json, report.md and report.html."""
    from .evaluate import build_report, default_run_dir, run_eval, score_run, write_reports
    from .goldset import load_gold_set
    from .pipeline import Extractor
    from .progress import BatchProgress
    from .reports.text import print_eval
    from .runs import load_run

    try:
        gold_set = load_gold_set(gold, docs)
        if predictions is not None:
            run = load_run(predictions)
            out_dir = out or (predictions if predictions.is_dir() else predictions.parent / f"{predictions.stem}-eval")
        else:
            settings = settings_from(model=model, base_url=base_url, cache=not no_cache, cache_dir=cache_dir)
            extractor = Extractor(settings, prompt=prompt)
            out_dir = out or default_run_dir(extractor)
            with BatchProgress(len(gold_set.ids)) as progress:
                run = run_eval(gold_set, extractor, out_dir, concurrency=concurrency, on_outcome=progress.advance)
        score = score_run(run, gold_set, n_boot=n_boot)
        report = build_report(score, run, gold_set)
        paths = write_reports(report, run, gold_set, out_dir)
    except ExtractorError as exc:
        fail(str(exc))
    print_eval(Console(width=max(Console().width, 150)), report, run.info)
    err.print("wrote " + ", ".join(str(p) for p in paths))


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
    from .comparing import build_compare_report, compare, gate, write_compare_reports
    from .goldset import load_gold_set
    from .reports.compare import print_compare
    from .runs import slug

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
    from .evaluate import default_run_dir, run_eval
    from .pipeline import Extractor
    from .progress import BatchProgress
    from .runs import load_run

    if Path(ref).exists():
        return load_run(Path(ref))
    extractor = Extractor(settings_from(model=model, base_url=base_url), prompt=ref)
    with BatchProgress(len(gold_set.ids)) as progress:
        return run_eval(gold_set, extractor, default_run_dir(extractor), concurrency=concurrency,
                        on_outcome=progress.advance)


@app.command("show")
def show_cmd(
    results: Annotated[Path, typer.Argument(help="A results JSONL file (from `extract --out`).")],
    doc: Annotated[str, typer.Option("--doc", help="Article id to show.")],
    text: Annotated[
        Path | None, typer.Option("--text", help="The document's text file (default: looked up in --docs).")
    ] = None,
    docs: Annotated[Path | None, typer.Option("--docs", help="Directory of <id>.txt documents.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the HTML page here.")] = None,
) -> None:
    """Render one document with each evidence span and target name highlighted and linked to its action."""
    from .reports.html import show_html
    from .results import Failure, load_results

    try:
        found = load_results(results).get(doc)
    except ExtractorError as exc:
        fail(str(exc))
    if found is None:
        fail(f"{results}: no result for document {doc!r}")
    if isinstance(found, Failure):
        fail(f"{doc}: extraction failed: {found.error.get('message', '')}")
    source = text or _find_text(doc, [docs] if docs else [results.parent, Path("evals/docs"), Path("seeds")])
    if source is None:
        fail(f"no text for {doc!r}: pass --text FILE or --docs DIR")
    page = show_html(found, source.read_text(encoding="utf-8"))
    target = out or Path(f"{doc}.html")
    target.write_text(page, encoding="utf-8")
    err.print(f"wrote {target}")


def _find_text(doc_id: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for suffix in (".txt", ".md"):
            candidate = folder / f"{doc_id}{suffix}"
            if candidate.exists():
                return candidate
    return None


def _extract_with_batch_api(extractor: Any, paths: list[str], out: Path | None, poll: float) -> None:
    """`extract --batch-api`: one batch for the documents not done yet; results into --out."""
    from .batch_api import run_batch_api
    from .documents import iter_documents

    if out is None:
        fail("--batch-api needs --out FILE.jsonl: results arrive later and are collected there")
    assert out is not None
    try:
        summary = run_batch_api(
            extractor, iter_documents(paths, exclude=[out]), out, poll_interval=poll,
            on_status=lambda s: err.print(f"batch {s['batch_id']}: {s['status']} ({s['completed']}/{s['total']})"),
        )
    except ExtractorError as exc:
        fail(str(exc))
    err.print(json.dumps(summary, indent=2))
    if summary.get("pending"):
        err.print(f"the batch is still running: run the same command again to collect it into {out}")
    elif summary.get("failed"):
        raise typer.Exit(1)


@cache_app.command("stats")
def cache_stats(cache_dir: CacheDirOpt = None) -> None:
    """Show the cache directory, its entries and size."""
    from .cache import ResultCache

    settings = settings_from(cache_dir=cache_dir)
    stats = ResultCache(settings.cache_dir).stats()
    typer.echo(json.dumps(stats, indent=2))


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDirOpt = None) -> None:
    """Remove every cached answer."""
    from .cache import ResultCache

    settings = settings_from(cache_dir=cache_dir)
    removed = ResultCache(settings.cache_dir).clear()
    typer.echo(f"removed {removed} cached answer(s) from {settings.cache_dir}")


@prompts_app.command("list")
def prompts_list() -> None:
    """Every prompt version with its hash and what changed."""
    from .prompts import available, load_prompt

    for name, versions in available().items():
        for version in versions:
            prompt = load_prompt(f"{name}@v{version}")
            typer.echo(f"{prompt.id:<16} {prompt.hash}  {prompt.description}")


@prompts_app.command("show")
def prompts_show(prompt_id: Annotated[str, typer.Argument(help="NAME or NAME@vN")]) -> None:
    """Print a prompt file as stored."""
    from .prompts import load_prompt

    try:
        prompt = load_prompt(prompt_id)
    except ExtractorError as exc:
        fail(str(exc))
    typer.echo(f"# {prompt.id}  hash {prompt.hash}  ({prompt.path})")
    typer.echo(prompt.path.read_text(encoding="utf-8"))


@prompts_app.command("render")
def prompts_render(
    prompt_id: Annotated[str, typer.Argument(help="NAME or NAME@vN")],
    path: Annotated[str, typer.Argument(help="A document (.txt .md .html .jsonl) or - for stdin.")],
) -> None:
    """Print the exact messages and JSON schema that would be sent for a document."""
    from .documents import iter_documents
    from .prompts import load_prompt, render_preview
    from .schema import answer_model

    try:
        prompt = load_prompt(prompt_id)
    except ExtractorError as exc:
        fail(str(exc))
    schema = answer_model(**prompt.spec.limits.model_dump()).model_json_schema()
    for item in iter_documents([path]):
        if isinstance(item, ExtractorError):
            fail(str(item))
        preview = {"article_id": item.id, **render_preview(prompt, item, schema)}
        typer.echo(json.dumps(preview, indent=2, ensure_ascii=False))


@prompts_app.command("diff")
def prompts_diff(
    a: Annotated[str, typer.Argument(help="First prompt id")],
    b: Annotated[str, typer.Argument(help="Second prompt id")],
) -> None:
    """Unified diff of two prompt versions."""
    from .prompts import diff_prompts, load_prompt

    try:
        pa, pb = load_prompt(a), load_prompt(b)
    except ExtractorError as exc:
        fail(str(exc))
    typer.echo(diff_prompts(pa, pb) or f"{pa.id} and {pb.id} are identical")


def main() -> None:
    """Console-script entry point."""
    import logging

    # instructor logs every failed attempt at ERROR; the CLI reports failures itself, once.
    logging.getLogger("instructor").addHandler(logging.NullHandler())
    logging.getLogger("instructor").propagate = False
    app()
