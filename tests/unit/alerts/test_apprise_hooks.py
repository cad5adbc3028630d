"""Reading Retry-After, and the per-notification entries apprise's plugins are given."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from alerts.apprise_hooks import key_service, retry_after_s, sending
from alerts.delivery import make_transport
from alerts.idempotency import notification_key

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("9" * 15, 999_999_999_999_999.0),
        ("9" * 16, math.inf),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        ("Tue, 01 Dec 2026 12:00:30 GMT", 30.0),
        ("Tuesday, 01-Dec-26 12:00:45 GMT", 45.0),  # RFC 850, obsolete but allowed
        ("Tue Dec  1 12:01:00 2026", 60.0),  # asctime, no zone: GMT
        ("Tue, 01 Dec 2026 11:00:00 GMT", 0.0),  # already past
    ],
)
def test_retry_after_forms(value: str, seconds: float) -> None:
    """Both RFC 9110 forms are read: delay-seconds and an HTTP date (from now; past is 0)."""
    assert retry_after_s(value, NOW) == seconds


@pytest.mark.parametrize(
    "value",
    ["", " ", "-1", "+3", "3.5", "1e3", "٣", "３", "soon", "5, 6", "9" * 65, "Tue, 99 Foo 2026"],
)
def test_retry_after_that_is_not_one(value: str) -> None:
    """Anything else is no Retry-After at all (a 429 then waits the configured floor)."""
    assert retry_after_s(value, NOW) is None


def test_json_service_carries_the_keys_only_while_sending() -> None:
    """A json:// plugin's payload extras and headers gain the keys inside `sending`, and keep
    the ones its URL configured."""
    transport = make_transport("json://127.0.0.1:9/p?:team=desk&+X-Env=prod", 1.0, None)  # type: ignore[arg-type]
    (service,) = list(transport._apprise)  # type: ignore[attr-defined]
    assert dict(service.payload_extras) == {"team": "desk"}
    with sending(["b", "a"]):
        assert dict(service.payload_extras) == {
            "team": "desk",
            "alert_keys": ["b", "a"],
            "notification_key": notification_key(["a", "b"]),
        }
        assert dict(service.headers) == {
            "X-Env": "prod",
            "Idempotency-Key": notification_key(["a", "b"]),
        }
    assert dict(service.headers) == {"X-Env": "prod"}
    assert "team=desk" in service.url()


def test_other_services_are_left_alone() -> None:
    """A plugin with no place for extra fields (Slack) is not changed; its keys are in the body."""
    transport = make_transport("slack://T1JJ3T3L2/A1BRTD4JD/TIi", 1.0, None)  # type: ignore[arg-type]
    (service,) = list(transport._apprise)  # type: ignore[attr-defined]
    before = dict(vars(service))
    key_service(service)
    assert dict(vars(service)) == before


def test_reshaped_json_payload_is_left_as_configured() -> None:
    """A json:// URL that remaps apprise's fields (a Slack-compatible endpoint wants only
    `text`) keeps exactly that shape; the key still goes in the Idempotency-Key header."""
    url = "json://127.0.0.1:9/p?:message=text&:title=&:version=&:attachments=&:type="
    transport = make_transport(url, 1.0, None)  # type: ignore[arg-type]
    (service,) = list(transport._apprise)  # type: ignore[attr-defined]
    with sending(["a"]):
        assert "alert_keys" not in dict(service.payload_extras)
        assert dict(service.headers) == {"Idempotency-Key": notification_key(["a"])}
