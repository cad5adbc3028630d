"""Single sign-on: the proxy's header counts only on connections from the proxy's addresses."""

from __future__ import annotations

import pytest

from schemas import ConfigError
from wirewatch.identity.proxy import TrustedProxy

HEADER = "X-Forwarded-User"


@pytest.fixture
def proxy() -> TrustedProxy:
    """A proxy at 10.0.0.5 and in fd00::/64."""
    return TrustedProxy(HEADER, ["10.0.0.5/32", "fd00::/64"])


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.0.0.5", True),
        ("fd00::17", True),
        ("10.0.0.6", False),
        ("127.0.0.1", False),
        ("fd01::1", False),
        ("not an address", False),
        (None, False),
    ],
)
def test_header_honoured_only_from_the_proxy(
    proxy: TrustedProxy, peer: str | None, trusted: bool
) -> None:
    """The user in the header is taken from the proxy's addresses and ignored from others."""
    assert proxy.user({HEADER: " Ana@Example.org "}, peer) == (
        "ana@example.org" if trusted else None
    )


def test_no_header_or_empty_header_is_nobody(proxy: TrustedProxy) -> None:
    """A request through the proxy without the header (or with it empty) has no user."""
    assert proxy.user({}, "10.0.0.5") is None
    assert proxy.user({HEADER: "  "}, "10.0.0.5") is None


def test_client_address_and_https_only_believed_from_the_proxy(proxy: TrustedProxy) -> None:
    """X-Forwarded-For and X-Forwarded-Proto count from the proxy; anyone else can forge them."""
    forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https"}
    assert proxy.client_address(forwarded, "10.0.0.5") == "203.0.113.9"
    assert proxy.client_address(forwarded, "192.0.2.1") == "192.0.2.1"
    assert proxy.https(forwarded, "10.0.0.5", "http")
    assert not proxy.https(forwarded, "192.0.2.1", "http")
    assert proxy.https({}, "192.0.2.1", "https")


def test_without_a_header_nothing_is_trusted() -> None:
    """Single sign-on off: no proxy user, whatever the addresses say."""
    off = TrustedProxy(None, ["10.0.0.5/32"])
    assert not off.enabled
    assert off.user({HEADER: "ana"}, "10.0.0.5") is None


@pytest.mark.parametrize(
    ("addresses", "message"),
    [(["10.0.0.300/32"], "not an address"), ([], "ADDRESSES is empty")],
)
def test_bad_proxy_settings_are_config_errors(addresses: list[str], message: str) -> None:
    """A malformed CIDR, or a header with no address, is refused at start with what to fix."""
    with pytest.raises(ConfigError, match=message):
        TrustedProxy(HEADER, addresses)
