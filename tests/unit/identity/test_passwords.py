"""Password hashing with Argon2id, and the rules for a new password."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import ConfigError
from wirewatch.identity.passwords import MIN_LENGTH, Passwords, check_new_password


def test_default_hash_is_argon2id_with_a_memory_hard_cost() -> None:
    """The production hasher is Argon2id with 64 MiB per hash and a salt per hash."""
    real = Passwords()
    first, second = real.hash("correct horse battery"), real.hash("correct horse battery")
    assert first.startswith("$argon2id$")
    assert "m=65536" in first
    assert first != second
    assert real.verify(first, "correct horse battery")


def test_verify(passwords: Passwords) -> None:
    """The right password verifies; a wrong one, no account, or a damaged hash do not."""
    stored = passwords.hash("violet lighthouse 42")
    assert passwords.verify(stored, "violet lighthouse 42")
    assert not passwords.verify(stored, "violet lighthouse 43")
    assert not passwords.verify(None, "wirewatch decoy password")
    assert not passwords.verify("$argon2id$garbage", "violet lighthouse 42")
    assert not passwords.verify("not a hash at all", "violet lighthouse 42")


async def test_verify_async_runs_off_the_loop(passwords: Passwords) -> None:
    """The async form gives the same answers."""
    stored = passwords.hash("violet lighthouse 42")
    assert await passwords.verify_async(stored, "violet lighthouse 42")
    assert not await passwords.verify_async(stored, "nope nope nope")


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_text_round_trips(password: str) -> None:
    """Any text, Unicode included, verifies against its own hash and nothing else."""
    hasher = Passwords(PasswordHasher.from_parameters(CHEAPEST))
    stored = hasher.hash(password)
    assert hasher.verify(stored, password)
    assert not hasher.verify(stored, password + "x")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", f"at least {MIN_LENGTH}"),
        ("x" * 1025, "at most 1024"),
        (" padded password ", "space"),
    ],
)
def test_new_password_rules(password: str, message: str) -> None:
    """A weak or mistyped password is refused with a reason that never repeats it."""
    with pytest.raises(ConfigError, match=message) as caught:
        check_new_password(password)
    assert password.strip() not in str(caught.value)


def test_a_good_password_passes() -> None:
    """Ten characters or more, no stray spaces: accepted."""
    check_new_password("tidal basin ferry")
