"""Accounts on the users topic: reading them, and adding or changing one with its audit event.

``wirewatch users`` and the dashboard's Users panel both change accounts only through here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from alerts.compacted import CompactedReader
from schemas import ConfigError, Settings
from schemas.audit import AuditAction, audit_event
from schemas.audit_log import Change, write_audited
from schemas.common import utcnow
from schemas.kafka import encode, ensure_topics, pipeline_topics
from schemas.users import USER_ID, Role, User
from wirewatch.identity.directory import UserDirectory

Via = Literal["dashboard", "cli"]
"""Where a change was made, for its audit event."""

_USER_ID = re.compile(USER_ID)
_REVOKING = ("role", "disabled", "password_hash")
"""Changes that end the account's sessions: a session carries the rights it was issued with."""


def user_id(name: str) -> str:
    """Return the id for a sign-in name (lower case), or say what is wrong with it.

    Raises:
        ConfigError: the name has characters an id cannot have.
    """
    normal = name.strip().lower()
    if not _USER_ID.match(normal):
        raise ConfigError(
            f"user name {name!r}: use lower-case letters, digits and . _ @ + - "
            "(starting with a letter or digit, at most 128 characters)"
        )
    return normal


def new_user(name: str, role: Role, password_hash: str | None, actor: str) -> User:
    """Return a new account (``password_hash`` None: single sign-on only)."""
    now = utcnow()
    return User(
        id=user_id(name),
        role=role,
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
        updated_by=actor,
    )


def changed_user(user: User, actor: str, **updates: Any) -> User:
    """Return ``user`` with ``updates``; a change of role, password or state ends its sessions."""
    revoke = any(name in updates and updates[name] != getattr(user, name) for name in _REVOKING)
    return user.model_copy(
        update={
            **updates,
            "session_epoch": user.session_epoch + revoke,
            "updated_at": utcnow(),
            "updated_by": actor,
        }
    )


async def read_users(settings: Settings) -> UserDirectory:
    """Return every account on the users topic (created if missing), read to its end."""
    topic = settings.topics.users
    await ensure_topics(settings, [t for t in pipeline_topics(settings) if t.name == topic])
    directory = UserDirectory()
    reader = CompactedReader(settings, topic, directory.on_record, client_id="wirewatch-users")
    await reader.start()
    try:
        await reader.catch_up()
    finally:
        await reader.stop()
    return directory


async def write_user(
    settings: Settings,
    action: AuditAction,
    before: User | None,
    after: User,
    *,
    actor: str,
    origin: str,
    via: Via,
) -> None:
    """Write ``after`` to the users topic and its audit event (the hash is redacted there)."""
    event = audit_event(
        action,
        f"user:{after.id}",
        actor=actor,
        via=via,
        origin=origin,
        before=before,
        after=after,
    )
    change = Change(settings.topics.users, after.id.encode("utf-8"), encode(after))
    await write_audited(settings, [change], event)


async def find_user(settings: Settings, name: str) -> User:
    """Return the account NAME as it is on the users topic now.

    Raises:
        ConfigError: the name is not a user id, or no account has it.
    """
    found = (await read_users(settings)).get(user_id(name))
    if found is None:
        raise ConfigError(f"no user {name!r}; `wirewatch users list` shows them")
    return found


def exists(name: str) -> ConfigError:
    """The error for adding an account that exists."""
    return ConfigError(
        f"user {user_id(name)!r} exists; `wirewatch users passwd` or `users role` change it"
    )


async def add_user(
    settings: Settings,
    name: str,
    role: Role,
    password_hash: str | None,
    *,
    actor: str,
    origin: str,
    via: Via,
) -> User:
    """Add the account NAME (``password_hash`` None: single sign-on only), audited.

    Raises:
        ConfigError: the name is not a user id, or the account exists.
    """
    if (await read_users(settings)).get(user_id(name)) is not None:
        raise exists(name)
    user = new_user(name, role, password_hash, actor)
    await write_user(settings, "user.added", None, user, actor=actor, origin=origin, via=via)
    return user


async def change_user(
    settings: Settings,
    name: str,
    action: AuditAction,
    *,
    actor: str,
    origin: str,
    via: Via,
    **updates: Any,
) -> User:
    """Apply ``updates`` to the account NAME and save it with its audit event; return it.

    Raises:
        ConfigError: no such account.
    """
    user = await find_user(settings, name)
    changed = changed_user(user, actor, **updates)
    await write_user(settings, action, user, changed, actor=actor, origin=origin, via=via)
    return changed


def user_row(user: User) -> dict[str, str]:
    """What ``users list`` and the dashboard show of an account (never its password hash)."""
    return {
        "id": user.id,
        "role": user.role.value,
        "state": "disabled" if user.disabled else "enabled",
        "sign_in": "password" if user.password_hash else "single sign-on",
        "updated_at": user.updated_at.isoformat(),
        "updated_by": user.updated_by,
    }
