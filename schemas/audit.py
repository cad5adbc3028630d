"""The ``AuditEvent``: who changed what, when, and what it was before and after.

Every write a person makes (a rule set published, a silence added or expired,
an account changed) appends one event to the ``audit`` topic, which is not
compacted: the history is the point. ``before`` and ``after`` are snapshots of
the record as it travels on its own topic, with secrets replaced by
:data:`REDACTED`, so the trail can be shown to anyone allowed to read it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, JsonValue

from schemas.common import Message, Timestamp, utcnow

AUDIT_SCHEMA_VERSION: Literal[1] = 1

AuditAction = Literal[
    "rules.published",
    "rules.rolled_back",
    "rules.deleted",
    "silence.added",
    "silence.expired",
    "user.added",
    "user.changed",
    "user.disabled",
    "user.enabled",
    "user.password_set",
    "route.changed",
    "receiver.changed",
    "receiver.deleted",
    "gazetteer.published",
    "gazetteer.deleted",
]
"""What happened, as ``<kind of record>.<verb>``; filters match the kind alone too."""

AUDIT_ACTIONS: tuple[str, ...] = get_args(AuditAction)

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"password|secret|token|hash|credential|api_?key|urls?$", re.IGNORECASE)
"""Snapshot keys whose values are secrets: password hashes, receiver URLs, tokens."""

Snapshot = dict[str, JsonValue]


class AuditEvent(Message):
    """One write, by one person, to one record.

    ``actor`` is a user id when the write came through the dashboard, and the
    operating-system login name (or ``--author``) when it came from the command
    line; ``origin`` is the client's address or the host the command ran on.
    ``target`` names the record: ``silence:<id>``, ``user:<id>``, ``rules:<key>``.
    """

    schema_version: Literal[1] = AUDIT_SCHEMA_VERSION
    id: Annotated[str, Field(min_length=1)]
    at: Timestamp = Field(default_factory=utcnow)
    actor: Annotated[str, Field(min_length=1, max_length=200)]
    via: Literal["dashboard", "cli"]
    origin: Annotated[str, Field(max_length=200)] = ""
    action: AuditAction
    target: Annotated[str, Field(min_length=1, max_length=300)]
    before: Snapshot | None = None
    after: Snapshot | None = None


def redact(value: Any) -> Any:
    """Return ``value`` (JSON data) with the value of every secret-named key replaced.

    Applied to every snapshot before it becomes part of an event, whatever
    its kind, so a secret added to a record later is masked without anyone
    remembering to.
    """
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if v is not None and _SECRET_KEY.search(str(key)) else redact(v))
            for key, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def snapshot(record: BaseModel | Mapping[str, Any] | None) -> Snapshot | None:
    """Return ``record`` as redacted JSON data (a model as it is serialised on its topic)."""
    if record is None:
        return None
    data = record.model_dump(mode="json") if isinstance(record, BaseModel) else dict(record)
    redacted: Snapshot = redact(data)
    return redacted


def audit_event(
    action: AuditAction,
    target: str,
    *,
    actor: str,
    via: Literal["dashboard", "cli"],
    origin: str = "",
    before: BaseModel | Mapping[str, Any] | None = None,
    after: BaseModel | Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Return the event of one write, with both snapshots redacted."""
    return AuditEvent(
        id=uuid.uuid4().hex,
        at=at or utcnow(),
        actor=actor,
        via=via,
        origin=origin,
        action=action,
        target=target,
        before=snapshot(before),
        after=snapshot(after),
    )


@dataclass(frozen=True)
class AuditQuery:
    """Which events to show: every given condition must hold.

    ``action`` is a whole action (``silence.added``) or a kind (``silence``);
    ``target`` matches as a substring (``silence:`` or a silence's id).
    """

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, event: AuditEvent) -> bool:
        """Return True if ``event`` passes every condition."""
        if self.actor is not None and event.actor != self.actor:
            return False
        if self.action is not None and self.action not in (
            event.action,
            event.action.split(".", 1)[0],
        ):
            return False
        if self.target is not None and self.target not in event.target:
            return False
        if self.since is not None and event.at < self.since:
            return False
        return self.until is None or event.at < self.until
