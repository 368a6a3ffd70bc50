"""Browser sessions for the review pages: a signed cookie naming the API key, and its CSRF token.

The cookie holds the key's id and a random CSRF token, signed with itsdangerous under a
secret generated on first start and kept in the database (so every server process on one
database accepts the same cookies, and a restart does not log anybody out). The key is
looked up again on every request, so revoking it ends its sessions at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from extractor.store import Store
from extractor.store.models import SecretRow

COOKIE = "sx_session"
MAX_AGE_S = 12 * 3600
SECRET_NAME = "session-signing-key"


@dataclass(frozen=True)
class BrowserSession:
    """What a valid session cookie says: whose key, and the token its forms must carry."""

    key_id: int
    csrf: str

    def csrf_ok(self, token: str | None) -> bool:
        """True if a form's token is this session's (compared in constant time)."""
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


def session_secret(store: Store) -> str:
    """The signing secret, created on first use; concurrent first starts agree on one."""
    with store.read() as session:
        row = session.get(SecretRow, SECRET_NAME)
        if row is not None:
            return row.value
    try:
        with store.write() as session:
            if session.get(SecretRow, SECRET_NAME) is None:
                session.add(SecretRow(name=SECRET_NAME, value=secrets.token_urlsafe(48)))
    except IntegrityError:  # another process created it first
        pass
    with store.read() as session:
        row = session.get(SecretRow, SECRET_NAME)
        assert row is not None
        return row.value


class Sessions:
    """Issue and read session cookies."""

    def __init__(self, secret: str, max_age_s: int = MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="extractor-review-session")
        self.max_age_s = max_age_s

    def issue(self, key_id: int) -> str:
        """A cookie value for a fresh session of key `key_id` (with a new CSRF token)."""
        return self._serializer.dumps({"k": key_id, "c": secrets.token_urlsafe(24)})

    def read(self, cookie: str | None) -> BrowserSession | None:
        """The session in a cookie value; None when missing, tampered with or expired."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("k"), int) or not isinstance(data.get("c"), str):
            return None
        return BrowserSession(key_id=data["k"], csrf=data["c"])
