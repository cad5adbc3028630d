"""Password hashing with Argon2id (argon2-cffi), and the rules a new password must meet.

Argon2id is memory-hard: each guess costs 64 MiB and a few tens of
milliseconds (RFC 9106's low-memory profile, argon2-cffi's default), which is
what makes a stolen users topic expensive to attack. Hashing runs in a thread
(it would block the event loop) and at most :data:`CONCURRENT_HASHES` at once,
so a burst of sign-ins cannot take all the memory.
"""

from __future__ import annotations

import asyncio
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas import ConfigError

MIN_LENGTH: Final = 10
MAX_LENGTH: Final = 1024
CONCURRENT_HASHES: Final = 2


def check_new_password(password: str) -> None:
    """Refuse a password too short, too long, or blank at either end.

    The message never repeats the password.

    Raises:
        ConfigError: what is wrong with it.
    """
    if len(password) < MIN_LENGTH:
        raise ConfigError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ConfigError(f"the password must have at most {MAX_LENGTH} characters")
    if password != password.strip():
        raise ConfigError("the password starts or ends with a space (a copy-and-paste slip?)")


class Passwords:
    """Hashes and verifies passwords; one instance per process."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(CONCURRENT_HASHES)
        # Verified against when the account does not exist, so a wrong name takes
        # as long as a wrong password and the timing does not reveal who has an account.
        self._decoy = self._hasher.hash("wirewatch decoy password")

    def hash(self, password: str) -> str:
        """Return the Argon2id hash of ``password`` (a new random salt each time)."""
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Return True if ``password`` matches the ``stored`` hash (None: no account)."""
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    async def hash_async(self, password: str) -> str:
        """:meth:`hash` in a worker thread, sharing the :data:`CONCURRENT_HASHES` slots."""
        async with self._slots:
            return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, stored: str | None, password: str) -> bool:
        """:meth:`verify` in a worker thread, at most :data:`CONCURRENT_HASHES` at once."""
        async with self._slots:
            return await asyncio.to_thread(self.verify, stored, password)
