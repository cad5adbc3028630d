"""Rate limits turn floods into digests; scheduled digests; nothing is dropped."""

from __future__ import annotations

from datetime import timedelta

from alerts.grouping import Notification, Pending
from alerts.routing import RateLimit, ReceiverSpec, Route
from alerts.throttle import Throttle
from tests.unit.alerts.factories import make_alert

ROUTE = Route("root", "desk", ("...",), 0, 300, 3600)


def note(receiver: str = "desk") -> Notification:
    return Notification(receiver, (Pending(make_alert(), receiver, ROUTE, ("p", 0), 0),))


def test_unlimited_receiver_passes() -> None:
    """A receiver without a rate limit gets every notification at once."""
    throttle = Throttle({"desk": ReceiverSpec()})
    assert all(throttle.admit(note(), t) is not None for t in range(100))


def test_flood_becomes_digest() -> None:
    """Past `count` per window, notifications are collected and sent as one digest at window end."""
    spec = ReceiverSpec(rate_limit=RateLimit(count=3, per=timedelta(minutes=10)))
    throttle = Throttle({"desk": spec})
    sent = [throttle.admit(note(), 100 + i) for i in range(40)]
    assert sum(n is not None for n in sent) == 3
    assert throttle.due(699) == []
    assert throttle.next_due() == 703
    (digest,) = throttle.due(703)
    assert digest.kind == "digest"
    assert len(digest.items) == 37
    assert digest.window_s == 600
    assert throttle.admit(note(), 704) is not None


def test_hourly_digest() -> None:
    """A receiver with `digest: hourly` gets one digest at the next UTC hour boundary."""
    throttle = Throttle({"desk": ReceiverSpec(digest="hourly")})
    assert throttle.admit(note(), 7200 + 10) is None
    assert throttle.admit(note(), 7200 + 20) is None
    assert throttle.due(10799) == []
    (digest,) = throttle.due(10800)
    assert len(digest.items) == 2


def test_discard() -> None:
    """Buffered items can be discarded when their partition is revoked."""
    throttle = Throttle({"desk": ReceiverSpec(digest="daily")})
    throttle.admit(note(), 0)
    assert len(throttle.discard(lambda item: True)) == 1
    assert throttle.due(86400) == []
