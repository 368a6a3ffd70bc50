"""Typed FastAPI dependencies: the service state, a read session and the authenticated API key.

The `/v1` router depends on `require_key` as a whole, so no route under it can be added
without authentication; routes that need the key's identity also take `ApiKeyDep`
(FastAPI resolves it once per request).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from extractor.store.keys import KeyInfo, find_key, key_by_id

from .auth import bearer_token, check_key, hash_key
from .errors import ApiError
from .sessions import COOKIE
from .state import ServiceState

# Declares the Bearer scheme in the OpenAPI document (the docs page's "Authorize" button);
# the checking itself is ours, so every failure is our JSON 401.
bearer_scheme = HTTPBearer(auto_error=False, description="An API key from `extractor keys create NAME`")


def get_state(request: Request) -> ServiceState:
    """The app's `ServiceState`."""
    state: ServiceState = request.app.state.service
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """A read-only session for the request."""
    with state.store.read() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def require_key(
    request: Request, state: StateDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> KeyInfo:
    """The caller's API key (401 if missing, unknown or revoked; 429 if over its rate limit)."""
    token = bearer_token(request.headers.get("authorization"))
    with state.store.read() as session:
        info = check_key(find_key(session, hash_key(token)))
    state.limiter.check(info)
    return info


ApiKeyDep = Annotated[KeyInfo, Depends(require_key)]


def session_key(request: Request, state: ServiceState) -> KeyInfo | None:
    """The API key of the request's session cookie, if it has a valid one (not rate-limited here)."""
    browser = state.sessions.read(request.cookies.get(COOKIE))
    if browser is None:
        return None
    with state.store.read() as session:
        info = key_by_id(session, browser.key_id)
    return info if info is not None and not info.revoked else None


def require_key_or_session(
    request: Request, state: StateDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> KeyInfo:
    """A Bearer key, or else a logged-in browser session (for the API docs pages)."""
    if request.headers.get("authorization"):
        return require_key(request, state)
    info = session_key(request, state)
    if info is None:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <key>, or log in at /review/login",
                       {"WWW-Authenticate": "Bearer"})
    state.limiter.check(info)
    return info
