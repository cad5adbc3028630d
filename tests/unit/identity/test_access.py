"""Roles and what each may write; account records and their changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from alerts.silences import new_silence, parse_matcher
from schemas import ConfigError
from schemas.kafka import encode
from schemas.silences import Silence
from schemas.users import Role, User
from wirewatch.identity.access import Identity
from wirewatch.identity.accounts import changed_user, new_user, user_id
from wirewatch.identity.directory import UserDirectory


def silence_by(author: str) -> Silence:
    """A silence created by ``author``."""
    return new_silence([parse_matcher("tag=x")], timedelta(hours=1), "why", author)


@pytest.mark.parametrize(
    ("role", "add", "expire_own", "expire_other"),
    [
        (Role.VIEWER, False, False, False),
        (Role.ANALYST, True, True, False),
        (Role.ADMIN, True, True, True),
    ],
)
def test_silence_rights_by_role(
    role: Role, add: bool, expire_own: bool, expire_other: bool
) -> None:
    """Viewers write nothing; analysts add silences and expire their own; admins expire any."""
    me = Identity("ana", role, "password")
    assert me.may_add_silence() is add
    assert me.may_expire(silence_by("ana")) is expire_own
    assert me.may_expire(silence_by("bob")) is expire_other


def test_roles_are_ordered() -> None:
    """Each role includes the ones below it."""
    assert Role.ADMIN.at_least(Role.ANALYST)
    assert Role.ANALYST.at_least(Role.VIEWER)
    assert not Role.VIEWER.at_least(Role.ANALYST)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Ana", "ana"), (" ana.k@example.org ", "ana.k@example.org"), ("o'neil", None), ("", None)],
)
def test_user_ids(name: str, expected: str | None) -> None:
    """Names are lower-cased; characters an id cannot hold are refused with the rule."""
    if expected is None:
        with pytest.raises(ConfigError, match="lower-case letters"):
            user_id(name)
    else:
        assert user_id(name) == expected


def test_revoking_changes_raise_the_epoch() -> None:
    """Role, password and disabling end sessions (epoch + 1); other changes do not."""
    ana = new_user("ana", Role.ANALYST, "$argon2id$x", "root")
    assert ana.session_epoch == 0
    assert changed_user(ana, "root", role=Role.ADMIN).session_epoch == 1
    assert changed_user(ana, "root", disabled=True).session_epoch == 1
    assert changed_user(ana, "root", password_hash="$argon2id$y").session_epoch == 1
    assert changed_user(ana, "root", role=Role.ANALYST).session_epoch == 0
    assert changed_user(ana, "ops", disabled=False).updated_by == "ops"


def test_directory_follows_records(make_user: Callable[..., User]) -> None:
    """Latest record per id; tombstones forget; an unreadable record is counted, its content not logged."""
    users = UserDirectory()
    assert not users.has_accounts
    ana = make_user("ana", Role.ANALYST, password="violet lighthouse 42")
    users.on_record(b"ana", encode(ana))
    assert users.has_accounts
    users.on_record(b"ana", encode(ana.model_copy(update={"disabled": True})))
    assert not users.has_accounts
    assert users.get("ana") is not None
    users.on_record(b"ana", None)
    assert users.get("ana") is None
    leaked = b'{"id": "BAD ID", "role": "viewer", "password_hash": "$argon2id$secret-hash"}'
    with capture_logs() as logs:
        users.on_record(b"bad", leaked)
    assert users.unreadable == 1
    assert "secret-hash" not in repr(logs)
    assert "secret-hash" not in repr(ana.model_copy(update={"password_hash": "secret-hash"}))
