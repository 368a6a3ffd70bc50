"""Browser sessions for the review pages: a signed cookie holding a random token, kept on the server.

The cookie holds a 256-bit token signed with itsdangerous; the database holds only the
token's SHA-256 (`extractor.store.sessions`), so logging out ends a session for good and
reading the database gives nobody a session. The form token (CSRF) is derived from the
session token, so it is not in the database either.

The signing secret is never in the database: it comes from EXTRACTOR_SESSION_SECRET, or a
file readable by its owner only (EXTRACTOR_SESSION_SECRET_FILE / `serve --session-secret-file`,
default `session-secret` in the user data directory), created 0600 on first start. Servers
sharing one database must share the secret (the same variable or file).

Logging in takes a form token too: the login page sets a short-lived cookie (SameSite=Strict)
and puts the same token in the form, so another site cannot log a browser in with its own key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from itsdangerous import BadSignature, URLSafeTimedSerializer

from extractor.core.errors import ConfigError
from extractor.store import Store
from extractor.store import sessions as stored

COOKIE = "sx_session"
LOGIN_COOKIE = "sx_login"
MAX_AGE_S = 12 * 3600
LOGIN_MAX_AGE_S = 3600
SECRET_ENV = "EXTRACTOR_SESSION_SECRET"
SECRET_FILE_ENV = "EXTRACTOR_SESSION_SECRET_FILE"
MIN_SECRET_CHARS = 32


@dataclass(frozen=True)
class BrowserSession:
    """A live session: whose key, its token (for logout), and the token its forms must carry."""

    key_id: int
    token: str
    csrf: str

    def csrf_ok(self, token: str | None) -> bool:
        """True if a form's token is this session's (compared in constant time)."""
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


def default_secret_file() -> Path:
    """`session-secret` in the user data directory (beside the default SQLite database)."""
    return Path(platformdirs.user_data_dir("sanctions-extractor")) / "session-secret"


def session_secret(path: Path | None = None) -> str:
    """The signing secret: $EXTRACTOR_SESSION_SECRET, else the secret file (created 0600 if missing).

    A secret file that others may read or write is refused, as ssh refuses such a key.
    """
    env = os.environ.get(SECRET_ENV, "").strip()
    if env:
        if len(env) < MIN_SECRET_CHARS:
            raise ConfigError(f"{SECRET_ENV} is too short: use at least {MIN_SECRET_CHARS} random characters")
        return env
    file = Path(path or os.environ.get(SECRET_FILE_ENV) or default_secret_file()).expanduser()
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"session secret file {file}: cannot create it ({exc.strerror or exc})") from None
    else:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    mode = stat.S_IMODE(file.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"session secret file {file} is readable or writable by others (mode {mode:o}): "
                          f"chmod 600 {file}")
    secret = file.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"session secret file {file} holds fewer than {MIN_SECRET_CHARS} characters")
    return secret


def _csrf(token: str) -> str:
    return hashlib.sha256(b"csrf:" + token.encode("utf-8")).hexdigest()


class Sessions:
    """Issue, read and end session cookies; issue and check login form tokens."""

    def __init__(self, secret: str, store: Store, max_age_s: int = MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="extractor-review-session")
        self._login = URLSafeTimedSerializer(secret, salt="extractor-review-login")
        self.store = store
        self.max_age_s = max_age_s

    def issue(self, key_id: int) -> str:
        """A cookie value for a new session of key `key_id`, recorded in the database."""
        token = secrets.token_urlsafe(32)
        with self.store.write() as session:
            stored.open_session(session, token, key_id, self.max_age_s)
        return self._serializer.dumps({"t": token})

    def _token(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:  # also SignatureExpired
            return None
        token = data.get("t") if isinstance(data, dict) else None
        return token if isinstance(token, str) else None

    def read(self, cookie: str | None) -> BrowserSession | None:
        """The live session in a cookie value; None when missing, tampered with, expired or logged out."""
        token = self._token(cookie)
        if token is None:
            return None
        with self.store.read() as session:
            key_id = stored.session_key_id(session, token)
        return BrowserSession(key_id=key_id, token=token, csrf=_csrf(token)) if key_id is not None else None

    def end(self, browser: BrowserSession) -> None:
        """End a session on the server (logout): the cookie, or any copy of it, no longer works."""
        with self.store.write() as session:
            stored.end_session(session, browser.token)

    def login_token(self) -> tuple[str, str]:
        """(cookie value, form token) for the login form."""
        token = secrets.token_urlsafe(24)
        return self._login.dumps({"l": token}), token

    def login_ok(self, cookie: str | None, form_token: str | None) -> bool:
        """True if the login form's token matches the login cookie this server set (and is fresh)."""
        if not cookie or not form_token:
            return False
        try:
            data = self._login.loads(cookie, max_age=LOGIN_MAX_AGE_S)
        except BadSignature:
            return False
        token = data.get("l") if isinstance(data, dict) else None
        return isinstance(token, str) and hmac.compare_digest(token, str(form_token))
