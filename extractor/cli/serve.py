"""`extractor serve`: the HTTP API with background job workers, on uvicorn."""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from extractor.core.errors import ExtractorError
from extractor.service.config import default

from .common import BaseUrlOpt, DbOpt, ModelOpt, PromptOpt, app, err, fail, open_store, settings_from

MIB = 1024 * 1024


MALLOC_ARENAS = 2


def _limit_malloc_arenas() -> None:
    """Hold the server's heap to a few glibc arenas (unless MALLOC_ARENA_MAX says otherwise).

    glibc gives threads that contend for the heap arenas of their own, up to eight per core,
    and memory freed in one arena is not reused by the others: with some 80 request and worker
    threads the heap kept growing under steady load (`benchmarks/soak.py`). A no-op off glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS)


M_ARENA_MAX = -8  # glibc's mallopt parameter number


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    db: DbOpt = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Job documents extracted at once.")
    ] = default("workers"),
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    prompt: PromptOpt = None,
    allow_model: Annotated[
        list[str] | None, typer.Option("--allow-model", help="Another model requests may ask for (repeatable).")
    ] = None,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", min=0.01, help="Request body limit, MiB.")
    ] = default("max_body_bytes") / MIB,
    max_text_chars: Annotated[
        int, typer.Option("--max-text-chars", min=100, help="Longest article text accepted, characters.")
    ] = default("max_text_chars"),
    max_job_documents: Annotated[
        int, typer.Option("--max-job-documents", min=1, help="Most documents one job may hold.")
    ] = default("max_job_documents"),
    lease: Annotated[
        float, typer.Option("--lease", min=0.1, help="Seconds without a heartbeat before a job item is retried.")
    ] = default("lease_s"),
    list_path: Annotated[
        Path | None,
        typer.Option("--list", help="A sanctions list (OFAC sdn.csv or FtM entities) for /v1/documents/{id}/matches."),
    ] = None,
    session_secret_file: Annotated[
        Path | None,
        typer.Option("--session-secret-file", help="The review sessions' signing secret, a 0600 file (created if "
                     "missing; default in the user data dir). Env: EXTRACTOR_SESSION_SECRET_FILE, or the secret "
                     "itself in EXTRACTOR_SESSION_SECRET."),
    ] = None,
    auth_failures: Annotated[
        int, typer.Option("--auth-failures", min=1, help="Failed API keys from one address before it is locked out.")
    ] = default("auth_failures"),
    auth_window: Annotated[
        float, typer.Option("--auth-window", min=1, help="Seconds over which failed keys count, and the lockout.")
    ] = default("auth_window_s"),
    watch: Annotated[
        bool, typer.Option("--watch/--no-watch", help="Poll watched sources, merge events, send alerts.")
    ] = default("watch"),
    watch_tick: Annotated[
        float, typer.Option("--watch-tick", min=0.05, help="Seconds between two turns of the monitor.")
    ] = default("watch_tick_s"),
    watch_host_interval: Annotated[
        float, typer.Option("--watch-host-interval", min=0.0, help="Seconds between two requests to one host.")
    ] = default("watch_host_interval_s"),
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Run the extraction service: HTTP API, a database, background jobs that survive restarts, API keys."""
    import uvicorn

    from extractor.service import ServiceConfig, create_app
    from extractor.service.sessions import session_secret
    from extractor.store.keys import active_key_count

    try:
        config = ServiceConfig(
            db_url=db, settings=settings_from(model=model, base_url=base_url, prompt=prompt),
            models=tuple(allow_model or ()), workers=workers, max_body_bytes=int(max_body_mb * MIB),
            max_text_chars=max_text_chars, max_job_documents=max_job_documents, lease_s=lease, list_path=list_path,
            session_secret_file=session_secret_file, auth_failures=auth_failures, auth_window_s=auth_window,
            watch=watch, watch_tick_s=watch_tick, watch_host_interval_s=watch_host_interval,
        )
    except ExtractorError as exc:
        fail(str(exc))
    try:
        session_secret(session_secret_file)  # a missing secret is created now, an unsafe one refused
    except ExtractorError as exc:
        fail(str(exc), 1)
    store = open_store(db)
    with store.read() as session:
        keys = active_key_count(session)
    if not keys:
        err.print(f"[yellow]warning:[/yellow] no API keys in {store.display_url}: every request will get 401; "
                  "create one with `extractor keys create NAME`" + (f" --db {db}" if db else ""))
    if not _loopback(host):
        err.print(f"[yellow]warning:[/yellow] listening on {host}, not loopback: put a TLS reverse proxy in front")
    err.print(f"database: {store.display_url}")
    _limit_malloc_arenas()  # before uvicorn starts the loop and its thread pools
    uvicorn.run(create_app(config, store=store), host=host, port=port, log_level=log_level, proxy_headers=True,
                timeout_keep_alive=30)
