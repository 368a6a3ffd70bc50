"""`extractor keys create|list|revoke`: the service's API keys (only their hashes are stored)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from extractor.core.errors import ExtractorError

from .common import app, fail, open_store
from .serve import DbOpt

keys_app = typer.Typer(help="Create, list and revoke API keys of the service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


_store = open_store


@keys_app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="A name for the key (who or what uses it).")],
    rate_limit: Annotated[int, typer.Option("--rate-limit", min=1, help="Requests per minute.")] = 120,
    role: Annotated[
        str, typer.Option("--role", help="reader (read, extract, its own jobs), reviewer (+ review in the UI), "
                          "admin (+ delete documents, every key's jobs).")
    ] = "reader",
    db: DbOpt = None,
) -> None:
    """Create a key and print it once: only its hash is stored, it cannot be shown again."""
    from extractor.service.auth import new_key
    from extractor.store.keys import add_key

    store = _store(db)
    key, prefix, digest = new_key()
    try:
        with store.write() as session:
            add_key(session, name=name, prefix=prefix, key_hash=digest, rate_limit=rate_limit, role=role)
    except ExtractorError as exc:
        fail(str(exc))
    typer.echo(key)
    typer.echo(f"key {name!r} created ({role}, {rate_limit}/min); it is shown only this once", err=True)


@keys_app.command("list")
def list_cmd(db: DbOpt = None) -> None:
    """The keys: name, role, prefix, rate limit, created, revoked."""
    from extractor.store.keys import list_keys

    store = _store(db)
    with store.read() as session:
        rows = list_keys(session)
    table = Table("id", "name", "role", "prefix", "per min", "created", "revoked")
    for info, created, revoked in rows:
        table.add_row(str(info.id), info.name, info.role, info.prefix + "…", str(info.rate_limit), created,
                      revoked or "")
    Console().print(table)


@keys_app.command("revoke")
def revoke_cmd(name: Annotated[str, typer.Argument(help="Name (or id) of the key.")], db: DbOpt = None) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from extractor.store.keys import revoke_key

    store = _store(db)
    try:
        with store.write() as session:
            info = revoke_key(session, name)
    except ExtractorError as exc:
        fail(str(exc))
    typer.echo(f"key {info.name!r} revoked", err=True)
