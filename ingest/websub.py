"""WebSub: subscribing to a feed's hub, and checking what the hub pushes.

The fetcher subscribes a source to the hub its feed advertises when
``WIREWATCH_FETCH_CALLBACK_URL`` is set, with a fresh secret, and renews the
lease before it ends. A push is used only when its ``X-Hub-Signature`` is the
HMAC of its body with that secret. Polling goes on meanwhile at the source's
longest interval, and at its usual one again as soon as the subscription is
denied, fails or lapses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Final

from ingest.http_client import FetchError, HttpClient
from schemas.fetch_state import FetchState, WebSubLease

_ALGORITHMS: Final = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
RETRY_REQUEST_S: Final = 600.0
"""A subscription not verified this long after its request is asked for again."""
RETRY_FAILED_S: Final = 3600.0
"""A hub that failed is tried again after this long."""


def callback_url(base: str, source_id: str) -> str:
    """The callback URL of a source under the fetcher's public base URL."""
    return f"{base.rstrip('/')}/websub/{source_id}"


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    """True when ``header`` (``sha256=<hex>``) is the HMAC of ``body`` with ``secret``."""
    if not header or "=" not in header:
        return False
    method, _, given = header.strip().partition("=")
    digest = _ALGORITHMS.get(method.lower())
    if digest is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def push_active(state: FetchState, now: datetime) -> bool:
    """True while the source has a verified, unexpired subscription."""
    lease = state.websub
    return (
        lease is not None
        and lease.state == "active"
        and lease.expires_at is not None
        and lease.expires_at > now
    )


def wants_subscription(state: FetchState, hub: str | None, lease_s: float, now: datetime) -> bool:
    """True when the source should (re)subscribe to ``hub`` now."""
    if hub is None:
        return False
    lease = state.websub
    if lease is None or lease.hub != hub:
        return True
    age = (now - lease.requested_at).total_seconds()
    if lease.state == "requested":
        return age > RETRY_REQUEST_S
    if lease.state == "failed":
        return age > RETRY_FAILED_S
    return lease.expires_at is None or (lease.expires_at - now).total_seconds() < lease_s / 10


async def subscribe(
    client: HttpClient, *, hub: str, topic: str, callback: str, lease_s: float, now: datetime
) -> WebSubLease:
    """Ask ``hub`` to push ``topic`` to ``callback``; the lease is ``requested`` until verified."""
    secret = secrets.token_hex(32)
    lease = WebSubLease(hub=hub, topic=topic, secret=secret, requested_at=now)
    form = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.callback": callback,
        "hub.secret": secret,
        "hub.lease_seconds": str(int(lease_s)),
    }
    try:
        status, text = await client.post_form(hub, form)
    except FetchError as exc:
        return lease.model_copy(update={"state": "failed", "error": str(exc)})
    if status not in (202, 204):
        return lease.model_copy(
            update={"state": "failed", "error": f"hub answered HTTP {status}: {text[:200]}"}
        )
    return lease


def verified(
    lease: WebSubLease, lease_s: float | None, default_s: float, now: datetime
) -> WebSubLease:
    """The lease once the hub verified it, for the lease the hub granted."""
    return lease.model_copy(
        update={
            "state": "active",
            "expires_at": now + timedelta(seconds=lease_s or default_s),
            "error": None,
        }
    )
