"""Factories for the identity tests: cheap password hashing and accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from schemas.users import Role, User
from wirewatch.identity.passwords import Passwords


@pytest.fixture
def passwords() -> Passwords:
    """Argon2id with the cheapest parameters: the same code path, a thousand times faster."""
    return Passwords(PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture
def make_user(passwords: Passwords) -> Callable[..., User]:
    """Factory of accounts: ``make_user("ana", Role.ANALYST, password="...")``."""

    def make(
        user_id: str, role: Role = Role.VIEWER, password: str | None = None, **fields: Any
    ) -> User:
        hashed = passwords.hash(password) if password is not None else None
        return User(id=user_id, role=role, password_hash=hashed, **fields)

    return make
