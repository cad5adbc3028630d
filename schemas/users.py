"""The ``User``: a person who signs in to the dashboard, and what they may do.

Users travel on the compacted ``users`` topic keyed by their id, so every
dashboard instance knows the same accounts; a change writes the whole record
again. The id is the sign-in name and is what every other record refers to
(a silence's author, an audit event's actor, later a rule pack's owner).

The record carries the password's Argon2id hash, never the password; the hash
is still a secret (it can be attacked offline), so it is excluded from the
model's ``repr`` and redacted from audit events.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from schemas.common import Message, Timestamp, utcnow

USER_SCHEMA_VERSION: Literal[1] = 1

USER_ID = r"^[a-z0-9][a-z0-9._@+-]{0,127}$"
"""Lower-case sign-in names; ``@`` and ``+`` allow the e-mail addresses single sign-on passes."""


class Role(StrEnum):
    """What a user may do, least first: each role may do everything the one before it may."""

    VIEWER = "viewer"
    """Reads every panel and runs the playground (which changes nothing)."""
    ANALYST = "analyst"
    """Also adds silences and expires their own."""
    ADMIN = "admin"
    """Also expires anyone's silences and manages users, rules and routes."""

    @property
    def rank(self) -> int:
        """Order of roles: viewer=0, analyst=1, admin=2."""
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        """Return True if this role may do everything ``other`` may."""
        return self.rank >= other.rank


class User(Message):
    """One account: its role, whether it may sign in, and its password hash.

    ``session_epoch`` grows whenever the password, the role or the disabled
    flag changes; a session cookie names the epoch it was issued under, so
    every session issued before the change stops working at once, on every
    dashboard instance.
    """

    schema_version: Literal[1] = USER_SCHEMA_VERSION
    id: Annotated[str, Field(pattern=USER_ID)]
    role: Role
    disabled: bool = False
    password_hash: Annotated[str | None, Field(repr=False, max_length=512)] = None
    session_epoch: Annotated[int, Field(ge=0)] = 0
    created_at: Timestamp = Field(default_factory=utcnow)
    updated_at: Timestamp = Field(default_factory=utcnow)
    updated_by: str = ""

    @property
    def can_sign_in(self) -> bool:
        """True if the account is enabled and has a password (single sign-on accounts have none)."""
        return not self.disabled and self.password_hash is not None
