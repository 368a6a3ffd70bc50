"""The FastAPI app factory: store and workers in the lifespan, JSON errors, limits, routers.

Every router under `/v1` is mounted with the API-key dependency, so authentication is a
property of the prefix, not of each route.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from extractor.store import Store
from extractor.store.calls import StoreCallLog

from . import apidocs, errors, openapi
from .auth import AuthThrottle, RateLimiter
from .config import ServiceConfig
from .deps import require_key
from .limits import BodyLimit, DataOnlyHeaders
from .monitoring import make_monitor
from .registry import Registry
from .review import STATIC_DIR, monitor_pages
from .review import router as review_router
from .routes import documents, events, extract, ftm, health, jobs, sources
from .runs import STATIC_DIR as RUNS_STATIC_DIR
from .runs import api as runs_api
from .runs import pages as runs_pages
from .sessions import Sessions, session_secret
from .state import ServiceState
from .workers import JobWorkers

log = logging.getLogger("extractor.service")


def create_app(config: ServiceConfig | None = None, *, store: Store | None = None) -> FastAPI:
    """The service app; the store is opened (and migrated) at start-up unless one is given."""
    config = config or ServiceConfig()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Extraction and database calls run on the loop's default thread pool, which is only
        # cpu_count + 4 threads: size it so that `workers` extractions really run at once,
        # with room left for requests.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=config.workers * 2 + 16, thread_name_prefix="extractor")
        )
        db = store or Store(config.db_url)
        # Every model call the service makes is kept in its own database (`extractor logs --db URL`).
        call_log = StoreCallLog(db) if config.settings.call_log else None
        registry = Registry(config.settings, models=config.models, call_log=call_log)
        workers = JobWorkers(db, registry, concurrency=config.workers, lease_s=config.lease_s,
                             poll_s=config.poll_s, max_attempts=config.max_attempts)
        sessions = Sessions(session_secret(config.session_secret_file), db)
        throttle = AuthThrottle(config.auth_failures, config.auth_window_s)
        monitor = make_monitor(config, db, registry, workers) if config.watch else None
        app.state.service = ServiceState(config, db, registry, workers, RateLimiter(), sessions, throttle, monitor)
        await workers.start()
        if monitor is not None:
            await monitor.start()
        log.info("serving with %s, %d job worker(s)", db.display_url, config.workers)
        try:
            yield
        finally:
            if monitor is not None:
                await monitor.stop()
            await workers.stop()
            await registry.aclose()
            if call_log is not None:
                await asyncio.to_thread(call_log.close)
            db.close()

    app = FastAPI(
        title="sanctions-extractor",
        summary="Structured extraction of sanctions news: documents in, sanctions actions out.",
        version="1",
        lifespan=lifespan,
        redoc_url=None,
        docs_url=None,
        openapi_url=None,
        default_response_class=errors.SafeJSONResponse,
    )
    errors.install(app)
    app.add_middleware(DataOnlyHeaders)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.include_router(health.router)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], responses=openapi.errors(401, 422, 429))
    # ftm before documents: `/documents/{id}/ftm` must not be read as the document `{id}/ftm`.
    for module in (extract, jobs, ftm, documents, runs_api, sources, events):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(events.feed_router)
    apidocs.install(app, config)
    app.include_router(review_router)
    app.include_router(runs_pages.router)
    app.include_router(monitor_pages.router)
    app.mount("/review/static", StaticFiles(directory=STATIC_DIR), name="review-static")
    app.mount("/review/runs/static", StaticFiles(directory=RUNS_STATIC_DIR), name="runs-static")
    return app
