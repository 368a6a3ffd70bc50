"""`extractor cache`: inspect or clear the result cache (disk, or Redis with EXTRACTOR_CACHE_URL)."""

from __future__ import annotations

import json
from typing import Any

import typer

from extractor.core.errors import ExtractorError

from .common import CacheDirOpt, app, fail, settings_from

cache_app = typer.Typer(help="Inspect or clear the result cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _open(cache_dir: Any) -> tuple[Any, str]:
    from extractor.core.cache import open_cache
    from extractor.core.cache.redis import redacted

    settings = settings_from(cache_dir=cache_dir)
    where = redacted(settings.cache_url) if settings.cache_url else str(settings.cache_dir)
    try:
        cache = open_cache(settings, enabled=True)
    except ExtractorError as exc:
        fail(str(exc), 1)
    assert cache is not None
    return cache, where


@cache_app.command("stats")
def cache_stats(cache_dir: CacheDirOpt = None) -> None:
    """Show where the cache is, its entries and size."""
    cache, _ = _open(cache_dir)
    try:
        stats = cache.stats()
    except ExtractorError as exc:
        fail(str(exc), 1)
    typer.echo(json.dumps(stats, indent=2))


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDirOpt = None) -> None:
    """Remove every cached answer."""
    cache, where = _open(cache_dir)
    try:
        removed = cache.clear()
    except ExtractorError as exc:
        fail(str(exc), 1)
    typer.echo(f"removed {removed} cached answer(s) from {where}")
