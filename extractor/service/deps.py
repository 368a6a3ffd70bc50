"""Typed FastAPI dependencies: the service state, a read session, the authenticated API key and its role.

The `/v1` router depends on `require_key` as a whole, so no route under it can be added
without authentication; routes that need the key's identity also take `ApiKeyDep`
(FastAPI resolves it once per request). A route that needs more than reading declares it
with `require_role`:

    @router.delete("/things/{id}", dependencies=[Depends(require_role("admin"))])

Roles, least first: reader (read, extract, its own jobs), reviewer (+ review), admin
(+ delete, every key's jobs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from extractor.store.keys import KeyInfo, find_key, key_by_id
from extractor.store.models import ROLES

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


def client_address(request: Request) -> str:
    """The caller's address (the forwarded client's behind a trusted proxy), for the failed-key lockout."""
    return request.client.host if request.client else "unknown"


def require_key(
    request: Request, state: StateDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> KeyInfo:
    """The caller's API key (401 if missing, unknown or revoked; 429 if over its rate limit or locked out)."""
    return authenticate(request, state, lambda: bearer_token(request.headers.get("authorization")))


def authenticate(request: Request, state: ServiceState, token: Callable[[], str]) -> KeyInfo:
    """The key that `token()` reads from the request, checked: the lockout first, a failure counted, the rate limit.

    `require_key` reads a Bearer token; the alerts feed reads the password of HTTP Basic too.
    """
    address = client_address(request)
    state.throttle.check(address)
    with state.store.read() as session:
        info = find_key(session, hash_key(token()))
    if info is None or info.revoked:
        state.throttle.failed(address)
    info = check_key(info)
    state.limiter.check(info)
    return info


ApiKeyDep = Annotated[KeyInfo, Depends(require_key)]


def require_role(role: str) -> Callable[[KeyInfo], KeyInfo]:
    """A dependency: the caller's key if its role is `role` or above, else 403."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")

    def dependency(key: ApiKeyDep) -> KeyInfo:
        if not key.allows(role):
            raise ApiError(403, "forbidden", f"this needs a key with the {role} role; this key is a {key.role}")
        return key

    dependency.__name__ = f"require_{role}"
    return dependency


def session_key(request: Request, state: ServiceState) -> KeyInfo | None:
    """The API key of the request's session cookie, if it has a live one (not rate-limited here)."""
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
