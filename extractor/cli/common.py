"""What every command shares: the Typer app, option types, settings resolution and the error line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from extractor.core.errors import ExtractorError

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
    typer.Option("--prompt", "-p", help="NAME or NAME@vN (default: sanctions@v3). Env: EXTRACTOR_PROMPT."),
]
CacheDirOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Cache directory. Env: EXTRACTOR_CACHE_DIR.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error and exit."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)  # "[ray]" in a message is text, not markup
    raise typer.Exit(code)


def settings_from(**options: Any) -> Any:
    """Settings from the environment with the given CLI options applied."""
    from extractor.core.settings import Settings

    try:
        return Settings.from_env(**options)
    except ExtractorError as exc:
        fail(str(exc))


def open_store(db: str | None) -> Any:
    """The service's database (`--db`, else EXTRACTOR_DB_URL, else the default SQLite file), migrated."""
    from extractor.store import Store

    try:
        return Store(db)
    except ExtractorError as exc:
        fail(str(exc), 1)


@contextmanager
def run_with(extractor: Any, *, db: str | None = None, log_calls: bool = True) -> Iterator[Any]:
    """The extractor a run uses: its endpoint checked once (notes printed, a run that cannot work stops
    here, before any document) and, unless EXTRACTOR_CALL_LOG=off, its model calls logged to the store
    (`db`, else EXTRACTOR_DB_URL or the user data directory) for `extractor logs`.
    """
    from extractor.core.probe import ready

    log = None
    if log_calls and extractor.settings.call_log:
        from extractor.store.calls import StoreCallLog

        log = StoreCallLog(db)
        extractor.log_calls(log, run_id=uuid.uuid4().hex[:12])
    try:
        try:
            extractor, notes = ready(extractor)
        except ExtractorError as exc:
            fail(str(exc))
        for note in notes:
            err.print(f"note: {escape(note)}", soft_wrap=True)
        yield extractor
    finally:
        if log is not None:
            log.close()
