"""Sign-in rate limits per account and per address, in sliding windows, with bounded memory."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wirewatch.identity.throttle import SignInThrottle


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_account_paused_after_failures_from_any_address() -> None:
    """Five wrong passwords pause the account, whichever addresses they came from."""
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for n in range(5):
        assert throttle.wait_s("ana", f"10.0.0.{n}") == 0
        throttle.attempted("ana", f"10.0.0.{n}", succeeded=False)
    assert throttle.wait_s("ana", "10.0.0.99") == 900
    assert throttle.wait_s("bob", "10.0.0.99") == 0
    clock.now += 600
    assert throttle.wait_s("ana", "10.0.0.99") == 300
    clock.now += 300
    assert throttle.wait_s("ana", "10.0.0.99") == 0


def test_success_clears_the_account_but_not_the_address() -> None:
    """A right password forgives the account's failures; the address still counts attempts."""
    throttle = SignInThrottle(account_failures=3, address_attempts=4, clock=Clock())
    for _ in range(2):
        throttle.attempted("ana", "10.0.0.1", succeeded=False)
    throttle.attempted("ana", "10.0.0.1", succeeded=True)
    throttle.attempted("ana", "10.0.0.1", succeeded=False)
    assert throttle.wait_s("ana", "10.0.0.2") == 0
    assert throttle.wait_s("zed", "10.0.0.1") > 0


def test_address_paused_whatever_accounts_it_tries() -> None:
    """Twenty attempts from one address pause it for every account."""
    throttle = SignInThrottle(clock=Clock())
    for n in range(20):
        throttle.attempted(f"user{n}", "192.0.2.7", succeeded=False)
    assert throttle.wait_s("someone-new", "192.0.2.7") > 0
    assert throttle.wait_s("someone-new", "192.0.2.8") == 0


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8), st.booleans()), max_size=300))
def test_memory_is_bounded(attempts: list[tuple[str, str, bool]]) -> None:
    """However many made-up names and addresses, at most max_keys of each are remembered."""
    clock = Clock()
    throttle = SignInThrottle(max_keys=10, clock=clock)
    for account, address, ok in attempts:
        throttle.attempted(account, address, succeeded=ok)
        clock.now += 1
        assert throttle.keys <= 20
