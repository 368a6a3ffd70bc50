"""`extractor extract`: documents in, one JSON line per document out."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer

from extractor.core.errors import ExtractorError

from .common import BaseUrlOpt, CacheDirOpt, ModelOpt, PromptOpt, app, err, fail, run_with, settings_from


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
    engine: Annotated[
        str, typer.Option("--engine", help="local (asyncio in this process) or ray (an actor pool; --out DIR).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Join this Ray cluster (default: start Ray in-process).")
    ] = None,
    actors: Annotated[int | None, typer.Option("--actors", min=1, help="Ray actors, each with -j in flight.")] = None,
    server: Annotated[
        str | None, typer.Option("--server", help="Send the documents to this `extractor serve` URL instead.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="API key for --server. Env: EXTRACTOR_API_KEY.")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Also store every result in this service database (a SQLAlchemy URL)."),
    ] = None,
) -> None:
    """Extract sanctions actions from documents; print one JSON line per document."""
    from extractor.batch.run import Pending, extract_into
    from extractor.core.documents import count_inputs, iter_documents
    from extractor.core.pipeline import Extractor

    from .progress import BatchProgress, print_summary

    settings = settings_from(
        model=model, base_url=base_url, cache=not no_cache, refresh=refresh, cache_dir=cache_dir, mode=mode,
        max_tokens=max_tokens, require_grounding=require_grounding or None,
    )
    extractor: Any = None
    if server is None:
        try:
            extractor = Extractor(settings, prompt=prompt)
        except ExtractorError as exc:
            fail(str(exc))
    elif batch_api:
        fail("--server and --batch-api do not go together")
    if engine != "local" or ray_address or actors:
        if server is not None or batch_api:
            fail("--engine ray goes with neither --server nor --batch-api")
        from .ray_extract import extract_with_ray

        # Ray's workers build their own extractors from the checked settings; they log no calls.
        with run_with(extractor, log_calls=False) as checked:
            extract_with_ray(checked, paths, out, engine=engine, address=ray_address, actors=actors,
                             concurrency=concurrency, db=db)
        return
    if db is not None and server is not None:
        fail("--db goes with a local or Ray extraction, not --server (the server stores its results itself)")
    if out is not None:
        _check_out(out, paths, extractor)
    if batch_api:
        _extract_with_batch_api(extractor, paths, out, poll)
        return
    todo = Pending(iter_documents(paths, exclude=[out] if out else []), out)
    stored = _Stored(db) if db is not None else None
    expected = count_inputs(paths)
    if expected is not None:
        expected = max(expected - len(todo.done), 0)
    if todo.done:
        err.print(f"{len(todo.done)} document(s) already in {out}: skipped")
    with ExitStack() as stack:
        if extractor is not None:
            extractor = stack.enter_context(run_with(extractor, db=db))
        sink = stack.enter_context(out.open("a", encoding="utf-8")) if out else sys.stdout
        progress = stack.enter_context(BatchProgress(expected, enabled=expected is None or expected > 1))

        def report(outcome: Any) -> None:
            if stored is not None:
                stored.outcome(outcome)
            if outcome.error is not None:
                progress.console.print(f"[red]error:[/red] {outcome.error}", soft_wrap=True, highlight=False)
            progress.advance(outcome)

        try:
            if server is not None:
                from .remote import extract_via_server

                summary = extract_via_server(sink, server, api_key, todo, prompt=prompt, model=model,
                                             concurrency=concurrency, on_outcome=report)
            else:
                documents = stored.remember(todo) if stored is not None else todo
                summary = extract_into(sink, extractor, documents, concurrency=concurrency, on_outcome=report)
        except KeyboardInterrupt:
            err.print("interrupted: finished documents are saved; run again with the same --out to resume")
            raise typer.Exit(130) from None
    summary.skipped = todo.skipped
    if summary.documents > 1 or out is not None:
        print_summary(err, summary)
    if summary.failed:
        if extractor is not None and extractor.run_id is not None:
            err.print(f"what the model answered: extractor logs --run {extractor.run_id} --failed")
        raise typer.Exit(1)


class _Stored:
    """`--db URL` on the local engine: each result is stored with its document, as `serve` stores them."""

    def __init__(self, db: str) -> None:
        from extractor.store.sink import StoreSink

        self.sink = StoreSink(db)
        try:
            self.sink.store  # noqa: B018  (open and migrate now: a wrong URL is one error before any document)
        except ExtractorError as exc:
            fail(str(exc))
        self.in_flight: dict[str, Any] = {}  # documents handed out and not finished: at most -j of them

    def remember(self, items: Any) -> Any:
        for item in items:
            if hasattr(item, "text"):
                self.in_flight[item.id] = item
            yield item

    def outcome(self, outcome: Any) -> None:
        from extractor.batch.results import result_line

        document = self.in_flight.pop(outcome.article_id, None)
        if outcome.result is not None and document is not None:
            try:
                self.sink(document, result_line(outcome.result))
            except Exception as exc:  # the database failed: the result is still in --out / stdout
                err.print(f"[red]error:[/red] {outcome.article_id}: not stored in --db: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}", soft_wrap=True, highlight=False)


def _check_out(out: Path, paths: list[str], extractor: Any) -> None:
    """Refuse an --out that is a directory, an input, or holds another setup's results; create its folder."""
    from extractor.batch.results import check_resumable, read_results

    if out.is_dir():
        fail(f"--out {out} is a directory: name a file, e.g. {out / 'results.jsonl'}")
    target = out.resolve()
    if any(p != "-" and Path(p).resolve() == target for p in paths) or _linked_to_input(out, paths):
        fail(f"--out {out} is also an input: results would be appended to the documents; choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out {out}: cannot create its folder ({exc.strerror or exc})")
    if not out.exists() or extractor is None:
        return
    try:
        check_resumable(out, prompt_id=extractor.prompt.id, prompt_hash=extractor.prompt.hash,
                        model=extractor.backend.model)
        torn = read_results(out).torn
    except ExtractorError as exc:
        fail(str(exc))
    if torn:
        lines = ", ".join(map(str, torn[:5])) + (" ..." if len(torn) > 5 else "")
        err.print(f"warning: {out}: {len(torn)} torn line(s) ignored (line {lines}): their documents are done again")


def _linked_to_input(out: Path, paths: list[str]) -> bool:
    """True if `out` is a hard link to one of the input files (same file under another name)."""
    from extractor.core.documents import document_files

    try:
        if not out.is_file() or out.stat().st_nlink < 2:
            return False  # no other name: it cannot be an input under another path
        identity = (out.stat().st_dev, out.stat().st_ino)
        files = [item[0] for item in document_files([p for p in paths if p != "-"]) if isinstance(item, tuple)]
        return any((f.stat().st_dev, f.stat().st_ino) == identity for f in files)
    except OSError:
        return False


def _extract_with_batch_api(extractor: Any, paths: list[str], out: Path | None, poll: float) -> None:
    """`extract --batch-api`: one batch for the documents not done yet; results into --out."""
    from extractor.batch.openai_batch import run_batch_api
    from extractor.core.documents import iter_documents

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
