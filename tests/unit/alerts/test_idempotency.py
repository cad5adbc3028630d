"""The keys a receiver de-duplicates by: notification keys and email Message-IDs."""

from __future__ import annotations

import email.policy
import random
from email.headerregistry import HeaderRegistry

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.idempotency import message_id, notification_key

KEYS = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8)


@given(KEYS, st.randoms())
def test_notification_key_ignores_order_and_repeats(keys: list[str], rng: random.Random) -> None:
    """An exact repeat of a notification, its alerts in any order, has the same key."""
    shuffled = list(keys)
    rng.shuffle(shuffled)
    assert notification_key(keys) == notification_key([*shuffled, keys[0]])


@given(KEYS, st.text(min_size=1, max_size=40))
def test_another_alert_makes_another_key(keys: list[str], extra: str) -> None:
    """A notification with one more alert is not a repeat."""
    if extra not in keys:
        assert notification_key(keys) != notification_key([*keys, extra])


def parsed_message_id(value: str) -> str:
    """``value`` read as a Message-ID header by the standard library, which must find no defect."""
    header = HeaderRegistry()("Message-ID", value)
    assert not header.defects, header.defects
    return str(header)


@given(
    KEYS,
    st.one_of(
        st.none(),
        st.text(max_size=30),
        st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z]{2,6}){0,3}", fullmatch=True),
    ),
)
def test_message_id_is_always_valid(keys: list[str], domain: str | None) -> None:
    """Whatever the SMTP host name, the Message-ID is a valid RFC 5322 msg-id."""
    value = message_id(notification_key(keys), domain)
    assert parsed_message_id(value) == value


@pytest.mark.parametrize(
    ("domain", "right"),
    [
        ("smtp.example.org", "smtp.example.org"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "wirewatch.invalid"),
        ("", "wirewatch.invalid"),
        (None, "wirewatch.invalid"),
        ("bad..host", "wirewatch.invalid"),
    ],
)
def test_message_id_domain(domain: str | None, right: str) -> None:
    """apprise's host name is the right-hand side when it is a dot-atom, else a fixed one."""
    assert message_id("0123abcd", domain) == f"<wirewatch.0123abcd@{right}>"


def test_message_id_survives_an_email_round_trip() -> None:
    """A message built with the id and parsed back has that one Message-ID."""
    value = message_id(notification_key(["a@1/story:s/w"]), "example.org")
    parsed = email.message_from_string(
        f"Message-ID: {value}\nSubject: x\n\nbody\n", policy=email.policy.default
    )
    assert parsed.get_all("Message-ID") == [value]


def test_keys_cannot_run_together() -> None:
    """Two alert keys are never taken for one that holds the separator."""
    assert notification_key(["a", "b"]) != notification_key(["a\nb"])
    assert notification_key(["a", "b"]) != notification_key(['a", "b'])
