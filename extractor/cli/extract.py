"""`extractor extract`: documents in, one JSON line per document out.

The command chooses an engine (`extractor.batch.engine.Engine`), runs it and prints the
summary. Which options go with which engine is written once, in `ENGINE_OPTIONS`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from extractor.core.errors import ConfigError, DocumentError, ExtractorError, PromptError

from .common import BaseUrlOpt, CacheDirOpt, ModelOpt, PromptOpt, app, call_log, err, fail, settings_from

ENGINES = {"local": "the local engine", "ray": "--engine ray", "batch-api": "--batch-api", "server": "--server URL"}
"""Each engine and the option that chooses it."""
ENGINE_OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "--db": (("local", "ray"), "the server stores its results itself, and Batch API results arrive later"),
    "--ray-address": (("ray",), ""),
    "--actors": (("ray",), ""),
    "--poll": (("batch-api",), ""),
    "--api-key": (("server",), ""),
}
"""Option → the engines it goes with, and why not the others (the one place these rules are kept)."""


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
    poll: Annotated[
        float | None, typer.Option("--poll", help="Batch API polling interval, seconds.")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local (asyncio in this process) or ray (an actor pool; --out DIR).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Join this Ray cluster (default: start Ray in-process).")
    ] = None,
    actors: Annotated[
        int | None, typer.Option("--actors", min=1, help="Ray actors (at most), each with -j in flight.")
    ] = None,
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
    from extractor.batch.engine import Job

    if out is not None and str(out) == "-":
        out = None  # `--out -`: standard output, as without --out

    name = _engine_name(engine, batch_api, server)
    given = {"--db": db, "--ray-address": ray_address, "--actors": actors, "--poll": poll, "--api-key": api_key}
    _check_options(name, {option for option, value in given.items() if value is not None})
    options = {"model": model, "base_url": base_url, "prompt": prompt, "poll": poll, "address": ray_address,
               "actors": actors, "server": server, "api_key": api_key}
    settings = settings_from(
        model=model, base_url=base_url, prompt=prompt, cache=not no_cache, refresh=refresh, cache_dir=cache_dir,
        mode=mode, max_tokens=max_tokens, require_grounding=require_grounding or None,
    )
    try:
        chosen = _build(name, settings, options)
        sink = _store_sink(db) if db is not None else None
    except ExtractorError as exc:
        fail(str(exc))
    with call_log(settings, db, wanted=chosen.logs_calls) as (log, run_id):
        job = Job(paths=paths, out=out, concurrency=concurrency, sink=sink, call_log=log, run_id=run_id)
        summary = _run(chosen, job)
    if summary.skipped:
        err.print(f"{summary.skipped} document(s) already in {out}: skipped")
    if summary.documents > 1 or out is not None:
        from .progress import print_summary

        print_summary(err, summary)
    if summary.pending:
        err.print(f"the batch is still running: run the same command again to collect it into {out}")
    elif summary.failed:
        if run_id is not None:
            err.print(f"what the model answered: extractor logs --run {run_id} --failed")
        raise typer.Exit(1)


def _engine_name(engine: str, batch_api: bool, server: str | None) -> str:
    """The engine the options choose; two at once, or an unknown `--engine`, is a usage error."""
    if engine not in ("local", "ray"):
        fail(f"--engine {engine!r} is not one of local, ray")
    chosen = [name for name, on in (("ray", engine == "ray"), ("batch-api", batch_api), ("server", server is not None))
              if on]
    if len(chosen) > 1:
        fail(f"{ENGINES[chosen[0]]} and {ENGINES[chosen[1]]} do not go together")
    return chosen[0] if chosen else "local"


def _check_options(name: str, given: set[str]) -> None:
    """Refuse an option that does not go with the chosen engine, naming the engines it goes with."""
    for option in sorted(given):
        engines, why = ENGINE_OPTIONS[option]
        if name not in engines:
            goes = " or ".join(ENGINES[e] for e in engines)
            fail(f"{option} goes with {goes}, not {ENGINES[name]}" + (f" ({why})" if why else ""))


def _build(name: str, settings: Any, options: dict[str, Any]) -> Any:
    """The engine called `name`, built from the settings and its options."""
    if name == "server":
        from extractor.batch.remote import ServerEngine

        return ServerEngine(options["server"], options["api_key"], prompt=options["prompt"], model=options["model"])
    from extractor.core.pipeline import Extractor

    extractor = Extractor(settings)
    if name == "ray":
        from extractor.batch.ray_engine import RayEngine

        return RayEngine(extractor, **({"actors": options["actors"]} if options["actors"] else {}),
                         address=options["address"])
    if name == "batch-api":
        from extractor.batch.openai_batch import BatchApiEngine

        return BatchApiEngine(extractor, **({"poll_interval": options["poll"]} if options["poll"] else {}))
    from extractor.batch.engine import LocalEngine

    return LocalEngine(extractor)


def _store_sink(db: str) -> Any:
    """`--db URL`: a sink storing each result with its document, as `serve` stores them (opened now, to fail early)."""
    from extractor.store.sink import StoreSink

    sink = StoreSink(db)
    sink.store  # noqa: B018  (open and migrate now: a wrong URL is one error before any document)
    return sink


def _run(engine: Any, job: Any) -> Any:
    """Run `engine` with a progress bar; usage and setup errors exit 2, a run that broke off exits 1."""
    from extractor.batch.engine import Events

    from .progress import BatchProgress

    progress = BatchProgress(engine=engine.name)

    def outcome(done: Any) -> None:
        dropped = _dropped_note(done)
        if dropped:
            progress.note(f"warning: {dropped}")
        progress.advance(done)

    events = Events(start=progress.start, outcome=outcome, note=progress.note)
    try:
        with progress:
            return engine.run(job, events)
    except KeyboardInterrupt:
        err.print("interrupted: finished documents are saved; run again with the same --out to resume")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        _quiet_stdout()
        err.print("stopped: the output was closed before the run finished (broken pipe)")
        raise typer.Exit(141) from None
    except (ConfigError, DocumentError, PromptError) as exc:
        fail(str(exc))  # the command line or setup is wrong: nothing ran
    except ExtractorError as exc:
        fail(str(exc), code=1)
    except OSError as exc:  # the output cannot take more (a full disk, /dev/full): what was written stays done
        where = f"--out {job.out}" if job.out is not None else "standard output"
        fail(f"cannot write results to {where}: {exc.strerror or exc}; documents not yet written are not done", 1)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush to a closed pipe raises nothing more."""
    with contextlib.suppress(OSError, ValueError):  # a stdout without a file descriptor (tests) has nothing to flush
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _dropped_note(outcome: Any) -> str | None:
    """The warning for what `--require-grounding` dropped from a result, if it dropped anything."""
    meta = outcome.result.meta if outcome.result is not None else None
    # `RunMeta` from this process's extractor; a plain dict when read back from a line (Ray's workers).
    dropped = meta.get("dropped") if isinstance(meta, dict) else meta.dropped if meta is not None else None
    if not dropped or not (dropped.get("actions") or dropped.get("targets")):
        return None
    return (f"{outcome.article_id}: --require-grounding dropped {dropped['actions']} action(s) and "
            f"{dropped['targets']} target(s) not found in the text (meta.dropped lists them)")
