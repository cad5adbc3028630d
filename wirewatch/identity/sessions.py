"""Session tokens: signed, expiring, revocable, each with its own CSRF token.

A session is a small signed document in an ``HttpOnly`` cookie (itsdangerous,
HMAC-SHA256 with a timestamp), so any dashboard instance holding the same key
accepts it without shared storage. It names the user and the account's
``session_epoch`` when it was issued: disabling the account, changing its
role or its password raises the epoch and so ends every session at once.
Every visitor gets one, even before signing in, so that the sign-in form is
protected against cross-site posting like every other write.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer

from schemas.users import User

SessionKind = Literal["anonymous", "password", "proxy"]
_KINDS = ("anonymous", "password", "proxy")


@dataclass(frozen=True)
class Session:
    """What a session cookie says: who (None before sign-in), how, and its tokens."""

    sid: str
    kind: SessionKind
    user_id: str | None
    epoch: int
    csrf: str

    def csrf_matches(self, token: str | None) -> bool:
        """Return True if ``token`` (the request's X-CSRF-Token header) is this session's."""
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())

    def valid_for(self, user: User | None) -> bool:
        """Return True if this signed-in session still stands for ``user`` as it is now."""
        return (
            user is not None
            and not user.disabled
            and user.id == self.user_id
            and user.session_epoch == self.epoch
        )


def anonymous_session() -> Session:
    """Return a fresh session for a visitor who has not signed in."""
    return Session(
        sid=secrets.token_urlsafe(16),
        kind="anonymous",
        user_id=None,
        epoch=0,
        csrf=secrets.token_urlsafe(24),
    )


def signed_in(kind: SessionKind, user_id: str, epoch: int) -> Session:
    """Return a new session for ``user_id``: new id and CSRF token (no session fixation)."""
    return replace(anonymous_session(), kind=kind, user_id=user_id, epoch=epoch)


class SessionSigner:
    """Turns sessions into cookie values and back, refusing forged or expired ones."""

    def __init__(self, key: str, max_age_s: float) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="wirewatch.dashboard.session")
        self.max_age_s = max_age_s

    def dumps(self, session: Session) -> str:
        """Return the cookie value of ``session``."""
        token: str = self._serializer.dumps(
            [session.sid, session.kind, session.user_id, session.epoch, session.csrf]
        )
        return token

    def loads(self, token: str | None) -> Session | None:
        """Return the session in a cookie value, or None if it is absent, forged or expired."""
        if not token or len(token) > 4096:
            return None
        try:
            data: Any = self._serializer.loads(token, max_age=round(self.max_age_s))
        except BadSignature:  # also SignatureExpired
            return None
        if not (isinstance(data, list) and len(data) == 5):
            return None
        sid, kind, user_id, epoch, csrf = data
        if kind not in _KINDS or not isinstance(epoch, int):
            return None
        return Session(sid=str(sid), kind=kind, user_id=user_id, epoch=epoch, csrf=str(csrf))
