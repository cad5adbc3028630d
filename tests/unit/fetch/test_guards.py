"""The address policy and WebSub signatures."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest

from ingest.address_policy import AddressPolicy, RefusedAddress
from ingest.http_client import parse_retry_after
from ingest.websub import signature_ok


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-global"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    """Loopback, private, link-local (cloud metadata), multicast and mapped forms are refused."""
    reason = AddressPolicy().refusal(address)
    assert reason is not None
    assert f"a {kind} address" in reason


def test_public_addresses_pass_and_allowed_networks_open() -> None:
    """A public address passes; an allowed CIDR block opens exactly itself."""
    policy = AddressPolicy([ipaddress.ip_network("10.1.0.0/16")])
    assert policy.refusal("93.184.216.34") is None
    assert policy.refusal("10.1.9.9") is None
    assert policy.refusal("10.2.0.1") is not None
    with pytest.raises(RefusedAddress):
        policy.check_host("[::1]")
    policy.check_host("news.example")  # names are checked when resolved


def test_signatures() -> None:
    """The HMAC of the body with the secret passes, in any supported method; anything else fails."""
    body = b"<rss/>"
    good = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, f"sha256={good}", "s3cret")
    assert signature_ok(
        body, "sha1=" + hmac.new(b"s3cret", body, hashlib.sha1).hexdigest(), "s3cret"
    )
    assert not signature_ok(body + b" ", f"sha256={good}", "s3cret")
    assert not signature_ok(body, f"md5={good}", "s3cret")
    assert not signature_ok(body, None, "s3cret")


def test_retry_after_forms() -> None:
    """Seconds and HTTP dates are read; nonsense is None."""
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420.0) == 60
    assert parse_retry_after("soon") is None
