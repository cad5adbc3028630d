"""The accounts known to this process: the latest record of each user on the users topic."""

from __future__ import annotations

import structlog
from pydantic import ValidationError

from schemas.users import User

log = structlog.get_logger(__name__)


class UserDirectory:
    """Every user by id, updated record by record from the compacted users topic.

    ``version`` grows on every change, so a caller can tell whether to look again.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, User] = {}
        self.unreadable = 0
        self.version = 0

    def put(self, user: User) -> None:
        """Add or replace a user."""
        self._by_id[user.id] = user
        self.version += 1

    def on_record(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the users topic; one that does not decode is counted and logged."""
        if value is None:
            if (
                key is not None
                and self._by_id.pop(key.decode("utf-8", "replace"), None) is not None
            ):
                self.version += 1
            return
        try:
            self.put(User.model_validate_json(value))
        except ValidationError as exc:
            self.unreadable += 1
            # The record holds a password hash: log where the problem is, never the input.
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            log.warning("user_record_unreadable", key=repr(key), problems=problems[:5])

    def get(self, user_id: str) -> User | None:
        """Return the user with this id, or None."""
        return self._by_id.get(user_id)

    def all(self) -> list[User]:
        """Every user, by id."""
        return sorted(self._by_id.values(), key=lambda u: u.id)

    @property
    def has_accounts(self) -> bool:
        """True if at least one enabled account exists: the dashboard then requires sign-in."""
        return any(not user.disabled for user in self._by_id.values())
