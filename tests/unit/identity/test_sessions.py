"""Session tokens: signed, expiring, bound to the account's epoch, each with a CSRF token."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from schemas.users import Role, User
from wirewatch.identity.sessions import SessionSigner, anonymous_session, signed_in

KEY = "k" * 43


def test_round_trip_and_fresh_tokens() -> None:
    """A session survives the cookie; signing in makes a new id and a new CSRF token."""
    signer = SessionSigner(KEY, 3600)
    before = anonymous_session()
    assert signer.loads(signer.dumps(before)) == before
    after = signed_in("password", "ana", 3)
    assert (after.user_id, after.epoch, after.kind) == ("ana", 3, "password")
    assert after.sid != before.sid
    assert after.csrf != before.csrf
    assert signer.loads(signer.dumps(after)) == after


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "x" * 5000],
)
def test_garbage_is_no_session(token: str) -> None:
    """Anything that is not a token this key signed reads as no session."""
    assert SessionSigner(KEY, 3600).loads(token) is None


def test_forged_or_foreign_tokens_are_refused() -> None:
    """A token signed with another key, or edited, is refused."""
    session = signed_in("password", "ana", 0)
    foreign = SessionSigner("another key entirely, also long", 3600).dumps(session)
    assert SessionSigner(KEY, 3600).loads(foreign) is None
    token = SessionSigner(KEY, 3600).dumps(session)
    payload, rest = token.split(".", 1)
    edited = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    assert SessionSigner(KEY, 3600).loads(edited) is None


def test_sessions_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token older than the session lifetime is refused."""
    signer = SessionSigner(KEY, 3600)
    token = signer.dumps(signed_in("password", "ana", 0))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3601)
    assert signer.loads(token) is None


def test_csrf_token_must_be_the_sessions_own() -> None:
    """Only the session's own CSRF token matches; none, empty or another does not."""
    session, other = anonymous_session(), anonymous_session()
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("")
    assert not session.csrf_matches(other.csrf)


def test_session_stands_only_for_the_account_as_it_was(make_user: Callable[..., User]) -> None:
    """Disabling the account, raising its epoch or another user ends the session."""
    ana = make_user("ana", Role.ANALYST, session_epoch=2)
    session = signed_in("password", "ana", 2)
    assert session.valid_for(ana)
    assert not session.valid_for(None)
    assert not session.valid_for(ana.model_copy(update={"disabled": True}))
    assert not session.valid_for(ana.model_copy(update={"session_epoch": 3}))
    assert not session.valid_for(make_user("bob", Role.ANALYST, session_epoch=2))
