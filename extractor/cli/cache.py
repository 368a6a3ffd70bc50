"""`extractor cache`: inspect or clear the result cache."""

from __future__ import annotations

import json

import typer

from extractor.core.errors import ExtractorError

from .common import CacheDirOpt, app, fail, settings_from

cache_app = typer.Typer(help="Inspect or clear the result cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("stats")
def cache_stats(cache_dir: CacheDirOpt = None) -> None:
    """Show the cache directory, its entries and size."""
    from extractor.core.cache import ResultCache

    settings = settings_from(cache_dir=cache_dir)
    try:
        stats = ResultCache(settings.cache_dir).stats()
    except ExtractorError as exc:
        fail(str(exc), 1)
    typer.echo(json.dumps(stats, indent=2))


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDirOpt = None) -> None:
    """Remove every cached answer."""
    from extractor.core.cache import ResultCache

    settings = settings_from(cache_dir=cache_dir)
    try:
        removed = ResultCache(settings.cache_dir).clear()
    except ExtractorError as exc:
        fail(str(exc), 1)
    typer.echo(f"removed {removed} cached answer(s) from {settings.cache_dir}")
