"""`extractor watch`, `extractor watchlist`, `extractor alerts`: the monitor's sources, watchlists and alerts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from extractor.core.errors import ExtractorError

from .common import BaseUrlOpt, ModelOpt, PromptOpt, app, err, fail, open_store, settings_from
from .serve import DbOpt

watch_app = typer.Typer(help="Watch feeds and index pages; new articles are extracted as they arrive.",
                        no_args_is_help=True)
watchlist_app = typer.Typer(help="Names, programmes, authorities and countries to be alerted about.",
                            no_args_is_help=True)
app.add_typer(watch_app, name="watch")
app.add_typer(watchlist_app, name="watchlist")


def _write(db: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
    store = open_store(db)
    try:
        with store.write() as session:
            return fn(session, *args, **kwargs)
    except ExtractorError as exc:
        fail(str(exc))
    finally:
        store.close()


def _read(db: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
    store = open_store(db)
    try:
        with store.read() as session:
            return fn(session, *args, **kwargs)
    finally:
        store.close()


@watch_app.command("add")
def add_cmd(
    url: Annotated[str, typer.Argument(help="An RSS/Atom feed, or an index page (with --pattern).")],
    name: Annotated[str | None, typer.Option("--name", help="A name for the source.")] = None,
    every: Annotated[str, typer.Option("--every", help="Poll interval: 90s, 15m, 2h, 1d.")] = "15m",
    pattern: Annotated[str | None, typer.Option("--pattern", help="Index page: a regex article URLs match.")] = None,
    recheck: Annotated[str | None, typer.Option(
        "--recheck", help="How often known articles are fetched again (conditional GET); default 1d.")] = None,
    db: DbOpt = None,
) -> None:
    """Watch a source."""
    from extractor.monitor.sources import add_source

    found = _write(db, add_source, url, name=name, every=every, pattern=pattern, recheck=recheck)
    typer.echo(f"watching {found.name} ({found.kind}, every {found.every_s}s)", err=True)


@watch_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False, db: DbOpt = None) -> None:
    """Watched sources: schedule, items seen, last error."""
    from extractor.monitor.sources import list_sources

    sources = _read(db, list_sources)
    if as_json:
        for source in sources:
            typer.echo(json.dumps(source.to_dict(), ensure_ascii=False))
        return
    table = Table("id", "name", "kind", "every", "items", "last ok", "next poll", "error")
    for s in sources:
        d = s.to_dict()
        table.add_row(str(s.id), s.name, s.kind, f"{s.every_s}s", str(s.items_seen), (d["last_ok_at"] or "")[:19],
                      (d["next_poll_at"] or "")[:19], (s.last_error or "")[:60])
    Console().print(table)


@watch_app.command("remove")
def remove_cmd(source: Annotated[str, typer.Argument(help="Name or id.")], db: DbOpt = None) -> None:
    """Stop watching a source."""
    from extractor.monitor.sources import remove_source

    found = _write(db, remove_source, source)
    typer.echo(f"removed {found.name}", err=True)


@watch_app.command("run")
def run_cmd(
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, extract, digest, send; then exit.")
    ] = False,
    db: DbOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    prompt: PromptOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Articles extracted at once.")] = 4,
) -> None:
    """Poll the sources and extract new articles (`--once` for cron; without it, until interrupted)."""
    from extractor.service import ServiceConfig
    from extractor.service.monitoring import run_once
    from extractor.service.registry import Registry
    from extractor.store.calls import StoreCallLog

    settings = settings_from(model=model, base_url=base_url, prompt=prompt)
    config = ServiceConfig(db_url=db, settings=settings, workers=workers)
    store = open_store(db)
    # Model calls go to the call log of the same database, as the server's do (`extractor logs`).
    call_log = StoreCallLog(store) if settings.call_log else None
    registry = Registry(settings, call_log=call_log)

    async def loop() -> None:
        try:
            while True:
                report = await run_once(config, store, registry)
                _print_report(report)
                if once:
                    return
                await asyncio.sleep(config.watch_tick_s)
        finally:
            await registry.aclose()

    try:
        asyncio.run(loop())
    except (ExtractorError, RuntimeError) as exc:
        fail(str(exc), 1)
    except KeyboardInterrupt:
        pass
    finally:
        if call_log is not None:
            call_log.close()
        store.close()


def _print_report(report: Any) -> None:
    for poll in report.polls:
        state = f"error: {poll.error}" if poll.error else "not modified" if poll.not_modified else (
            f"{poll.listed} listed, {poll.new} new, {poll.changed} changed" + (f", {len(poll.failed)} failed"
                                                                              if poll.failed else ""))
        err.print(f"{poll.source}: {state}", soft_wrap=True)
    actions = sum(d.actions for d in report.digests)
    err.print(f"{actions} action(s) merged into events; {report.alerts} new alert(s); {report.delivered} delivered")


@watch_app.command("events")
def events_cmd(
    ftm: Annotated[Path | None, typer.Option("--ftm", help="Write the events as FtM entities to this file.")] = None,
    authority: Annotated[str | None, typer.Option("--authority", help="A jurisdiction code, e.g. us.")] = None,
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="An issuing body: a registry id (us-treasury) or a name (OFAC).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Events merged across sources, as JSON lines (or FtM entities with --ftm)."""
    from followthemoney.cli.util import write_entity

    from extractor.monitor.queries import EventFilter, event_dict, event_entities, list_events

    def run(session: Any) -> int:
        rows, _ = list_events(session, EventFilter(authority=authority, issuer=issuer), limit=100_000, offset=0)
        if ftm is None:
            for row in rows:
                typer.echo(json.dumps(event_dict(row), ensure_ascii=False))
            return len(rows)
        with ftm.open("wb") as out:
            for row in rows:
                for entity in event_entities(row):
                    write_entity(out, entity)
        return len(rows)

    count = _read(db, run)
    err.print(f"{count} event(s)" + (f" written to {ftm}" if ftm else ""))


@watchlist_app.command("add")
def watchlist_add_cmd(
    name: Annotated[
        str | None, typer.Argument(help="A name to watch (transliterations, word order, aliases match).")
    ] = None,
    programme: Annotated[str | None, typer.Option("--programme", help="A programme id, e.g. GLOMAG.")] = None,
    authority: Annotated[
        str | None, typer.Option("--authority", help="A jurisdiction (eu) or an issuing body (us-ofac, OFAC).")
    ] = None,
    country: Annotated[str | None, typer.Option("--country", help="A target country code, e.g. cn.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A CSV of names, FtM entities or the SDN CSV.")] = None,
    db: DbOpt = None,
) -> None:
    """Watch one thing: a name, or --programme, --authority, --country or --file."""
    from extractor.monitor.watchlists import add_watchlist

    given = [(k, v) for k, v in (("name", name), ("programme", programme), ("authority", authority),
                                 ("country", country), ("file", str(file) if file else None)) if v]
    if len(given) != 1:
        fail("give exactly one of NAME, --programme, --authority, --country, --file")
    found = _write(db, add_watchlist, *given[0])
    typer.echo(f"watching {found.kind} {found.value} (id {found.id})", err=True)


@watchlist_app.command("list")
def watchlist_list_cmd(db: DbOpt = None) -> None:
    """Every watchlist entry."""
    from extractor.monitor.watchlists import list_watchlists

    for watch in _read(db, list_watchlists):
        typer.echo(f"{watch.id}\t{watch.kind}\t{watch.value}")


@watchlist_app.command("remove")
def watchlist_remove_cmd(
    watchlist_id: Annotated[int, typer.Argument(help="The entry's id.")], db: DbOpt = None
) -> None:
    """Remove a watchlist entry and its alerts."""
    from extractor.monitor.watchlists import remove_watchlist

    found = _write(db, remove_watchlist, watchlist_id)
    typer.echo(f"removed {found.kind} {found.value}", err=True)


@app.command("alerts")
def alerts_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    webhook: Annotated[str | None, typer.Option("--webhook", help="Register a webhook URL for new alerts.")] = None,
    db: DbOpt = None,
) -> None:
    """The latest alerts (or register a webhook with --webhook URL; its signing secret is printed once)."""
    from extractor.monitor.delivery import add_webhook
    from extractor.monitor.queries import list_alerts

    if webhook:
        hook, secret = _write(db, add_webhook, webhook)
        typer.echo(secret)
        err.print(f"webhook {hook.id} → {hook.url}; alerts are signed with the secret above (shown once)")
        return
    alerts = _read(db, list_alerts, limit=limit)
    if as_json:
        for alert in alerts:
            typer.echo(json.dumps(alert, ensure_ascii=False))
        return
    table = Table("id", "when", "watching", "matched", "event", "score", "evidence")
    for a in alerts:
        watching = f"{a['watchlist']['kind']} {a['watchlist']['value']}" if a["watchlist"] else ""
        table.add_row(str(a["id"]), a["created_at"][:16], watching, f"{a['field']}: {a['value']}",
                      f"#{a['event_id']} {a['event_title'] or ''}"[:60], f"{a['score']:.2f}",
                      (a["evidence"] or "")[:80])
    Console().print(table)
