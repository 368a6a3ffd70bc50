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
        "Without --model or OPENAI_BASE_URL the embedded default answers offline: rules that read the text and copy "
        "names and quotes from it (README: What to expect)."
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
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy database URL (default: SQLite in the user data dir). Env: EXTRACTOR_DB_URL."),
]
CacheDirOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Cache directory. Env: EXTRACTOR_CACHE_DIR.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error and exit."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)  # "[ray]" in a message is text, not markup
    raise typer.Exit(code)


def open_store(db: str | None) -> Any:
    """The service's store at `db` (or its default), opened and migrated; exits with the reason when it cannot be."""
    from extractor.store import Store

    try:
        return Store(db)
    except ExtractorError as exc:
        fail(str(exc), 1)


def settings_from(**options: Any) -> Any:
    """Settings from the environment with the given CLI options applied."""
    from extractor.core.settings import Settings

    try:
        return Settings.from_env(**options)
    except ExtractorError as exc:
        fail(str(exc))


@contextmanager
def call_log(settings: Any, db: str | None = None, *, wanted: bool = True) -> Iterator[tuple[Any, str | None]]:
    """The store's call log for a run's model calls and the run's id (`extractor logs --run ID`).

    `(None, None)` when EXTRACTOR_CALL_LOG=off or not `wanted` (the calls are made elsewhere).
    The log goes to `db`, else EXTRACTOR_DB_URL or the user data directory; it opens the
    database on the first call and is closed (its queue written) when the run ends.
    """
    if not (wanted and settings.call_log):
        yield None, None
        return
    from extractor.store.calls import StoreCallLog

    log = StoreCallLog(db)
    try:
        yield log, uuid.uuid4().hex[:12]
    finally:
        log.close()


@contextmanager
def run_with(extractor: Any, *, db: str | None = None) -> Iterator[Any]:
    """The extractor a run outside the engines (an eval) uses, prepared as every engine prepares it.

    Its model calls logged (`call_log`) and its endpoint checked once (`batch.engine.checked`):
    notes printed, a run that cannot work stops here, before any document.
    """
    from extractor.batch.engine import Events, checked

    with call_log(extractor.settings, db) as (log, run_id):
        try:
            ready = checked(extractor, Events(note=note), call_log=log, run_id=run_id)
        except ExtractorError as exc:
            fail(str(exc))
        yield ready


def note(line: str) -> None:
    """Print a line about a run (not an error) to standard error."""
    err.print(escape(line), soft_wrap=True)
