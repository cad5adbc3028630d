"""Who is making a request, and the role rules every write is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.silences import Silence
from schemas.users import Role

LOCAL_USER = "local"
"""The identity of everyone on a dashboard with no account, which serves loopback only."""

Via = Literal["password", "proxy", "local"]


@dataclass(frozen=True)
class Identity:
    """A signed-in person (or the local user of an account-less dashboard)."""

    user_id: str
    role: Role
    via: Via

    def may(self, role: Role) -> bool:
        """Return True if this identity has ``role`` or a higher one."""
        return self.role.at_least(role)

    def may_add_silence(self) -> bool:
        """Analysts and admins add silences."""
        return self.may(Role.ANALYST)

    def may_expire(self, silence: Silence) -> bool:
        """Admins expire any silence; analysts their own."""
        return self.may(Role.ADMIN) or (
            self.may(Role.ANALYST) and silence.created_by == self.user_id
        )
