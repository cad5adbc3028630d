"""Audit events: secrets redacted from every snapshot, filters, the wire format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.audit import REDACTED, AuditEvent, AuditQuery, audit_event, redact
from schemas.users import Role, User

AT = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def test_user_snapshot_hides_the_password_hash() -> None:
    """An account change records everything about the account except its hash."""
    before = User(id="ana", role=Role.VIEWER, password_hash="$argon2id$v=19$m=65536$salt$hash")
    after = before.model_copy(update={"role": Role.ANALYST})
    event = audit_event(
        "user.changed", "user:ana", actor="root", via="cli", before=before, after=after
    )
    assert event.before is not None
    assert event.after is not None
    assert event.before["password_hash"] == REDACTED
    assert event.after["role"] == "analyst"
    assert "argon2" not in event.model_dump_json()


def test_redact_reaches_nested_secrets_and_keeps_the_rest() -> None:
    """Secret-named keys are masked at any depth; None stays None, other keys stay."""
    data = {
        "receivers": {"desk": {"urls": ["slack://T/B/C"], "template": "slack"}},
        "api_key": "abc",
        "token": None,
        "key": "alert-key-is-not-secret",
        "list": [{"secret": "s", "name": "n"}],
    }
    assert redact(data) == {
        "receivers": {"desk": {"urls": REDACTED, "template": "slack"}},
        "api_key": REDACTED,
        "token": None,
        "key": "alert-key-is-not-secret",
        "list": [{"secret": REDACTED, "name": "n"}],
    }


@given(
    st.dictionaries(
        st.sampled_from(["password", "Secret", "webhook_url", "x_token"]), st.text(min_size=1)
    )
)
def test_no_secret_value_survives(secrets: dict[str, str]) -> None:
    """Whatever the secret values, none of them remains under a secret-named key."""
    assert set(redact({"nested": secrets})["nested"].values()) <= {REDACTED}


def test_event_round_trips_on_the_wire() -> None:
    """An event decodes back to itself from the JSON on the topic."""
    event = audit_event(
        "silence.added",
        "silence:abc",
        actor="ana",
        via="dashboard",
        origin="10.0.0.1",
        after={"id": "abc"},
        at=AT,
    )
    assert AuditEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        (AuditQuery(), True),
        (AuditQuery(actor="ana"), True),
        (AuditQuery(actor="bob"), False),
        (AuditQuery(action="silence"), True),
        (AuditQuery(action="silence.added"), True),
        (AuditQuery(action="silence.expired"), False),
        (AuditQuery(action="user"), False),
        (AuditQuery(target="abc"), True),
        (AuditQuery(target="user:"), False),
        (AuditQuery(since=AT - timedelta(hours=1)), True),
        (AuditQuery(since=AT + timedelta(seconds=1)), False),
        (AuditQuery(until=AT), False),
        (AuditQuery(until=AT + timedelta(seconds=1)), True),
    ],
)
def test_query_conditions(query: AuditQuery, matches: bool) -> None:
    """Each filter keeps what it names: actor, action or kind, target substring, time window."""
    event = audit_event("silence.added", "silence:abc", actor="ana", via="dashboard", at=AT)
    assert query.matches(event) is matches
