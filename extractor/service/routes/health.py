"""`/health` (the process answers) and `/ready` (database reachable, workers running): no key needed."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import StateDep
from ..openapi import errors

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the server process is answering."""
    return {"status": "ok"}


@router.get("/ready", response_model=None, responses=errors(503))
async def ready(state: StateDep) -> Any:
    """Readiness: the database answers and the job workers are running (503 otherwise)."""
    database = await asyncio.to_thread(state.store.ping)
    workers = state.workers.running
    body = {"status": "ready" if database and workers else "unavailable",
            "database": "ok" if database else "unreachable", "workers": state.workers.concurrency if workers else 0}
    if database and workers:
        return body
    return JSONResponse({"error": {"code": "unavailable", "message": "not ready"}, **body}, status_code=503)
