"""Which IP addresses the fetcher may connect to: public ones, and the networks settings allow.

A URL found in a feed is untrusted: it may point at the fetcher's own
machine, a cloud metadata service or an office network. An address is
refused when it is not global (private, loopback, link-local, shared,
reserved, unspecified) or is multicast, unless a CIDR block of
``WIREWATCH_FETCH_ALLOW_NETWORKS`` holds it. Names are checked after DNS
resolution, by the resolver the HTTP client connects through, so the address
checked is the address connected to (no second lookup to rebind); literal
addresses are checked before each request, and every redirect is a request.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(OSError):
    """The host is (or resolves only to) addresses the fetcher must not reach."""


def _kind(ip: Address) -> str | None:
    """What makes ``ip`` non-public (``loopback``, ``private``...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _kind(ip.ipv4_mapped)
    for name in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:
        return "non-global"
    return None


class AddressPolicy:
    """Decides whether an address may be connected to.

    Args:
        allowed: networks reachable although not public (tests allow 127.0.0.0/8).
    """

    def __init__(self, allowed: Sequence[Network] = ()) -> None:
        self._allowed = tuple(allowed)
        self._known: dict[str, str | None] = {}
        self._hosts: dict[str, str | None] = {}

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be reached, or None when it may (answers are remembered)."""
        if address in self._known:
            return self._known[address]
        if len(self._known) > 10_000:
            self._known.clear()
        reason = self._known[address] = self._decide(address)
        return reason

    def _decide(self, address: str) -> str | None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        kind = _kind(ip)
        if kind is None or any(ip in network for network in self._allowed):
            return None
        return (
            f"{ip} is a {kind} address, which the fetcher does not reach unless "
            "WIREWATCH_FETCH_ALLOW_NETWORKS holds it"
        )

    def check_host(self, host: str) -> None:
        """Refuse ``host`` if it is a literal address that may not be reached (names pass).

        Raises:
            RefusedAddress: the literal address is refused.
        """
        if host not in self._hosts:
            if len(self._hosts) > 10_000:
                self._hosts.clear()
            try:
                ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
            except ValueError:
                self._hosts[host] = None  # a name: checked when it is resolved
            else:
                self._hosts[host] = self.refusal(host.strip("[]"))
        reason = self._hosts[host]
        if reason is not None:
            raise RefusedAddress(reason)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses the policy allows.

    Raises RefusedAddress from :meth:`resolve` when no address is left, which
    aiohttp hands back inside its ``ClientConnectorDNSError``.
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` and drop the addresses the policy refuses."""
        found = await self._inner.resolve(host, port, family)
        kept = [entry for entry in found if self._policy.refusal(entry["host"]) is None]
        if not kept:
            reasons = sorted({str(self._policy.refusal(entry["host"])) for entry in found})
            raise RefusedAddress(f"{host.rstrip('.')} resolves to {'; '.join(reasons)}")
        return kept

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()
