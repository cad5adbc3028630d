"""Single sign-on through an authenticating proxy (oauth2-proxy and the like).

The proxy signs people in and passes the user's name in a header. That header
is only as trustworthy as the connection it came on: anyone who can reach the
dashboard directly can send it too. So it is honoured only on connections
from the configured proxy addresses, and ignored from anywhere else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from schemas import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxy:
    """The proxy's header and addresses; with no header configured, nothing is trusted."""

    def __init__(self, header: str | None, addresses: Iterable[str]) -> None:
        self.header = header
        networks: list[Network] = []
        for text in addresses:
            try:
                networks.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"WIREWATCH_DASHBOARD_PROXY_ADDRESSES: {text!r} is not an address or CIDR "
                    "range such as 10.0.0.5/32"
                ) from None
        if header and not networks:
            raise ConfigError(
                "WIREWATCH_DASHBOARD_PROXY_HEADER is set but WIREWATCH_DASHBOARD_PROXY_ADDRESSES "
                'is empty: name the proxy\'s addresses, e.g. ["10.0.0.5/32"]'
            )
        self.networks = tuple(networks)

    @property
    def enabled(self) -> bool:
        """True when single sign-on through a proxy is configured."""
        return bool(self.header)

    def trusts(self, peer: str | None) -> bool:
        """Return True if the connection comes from a configured proxy address."""
        if not self.networks or not peer:
            return False
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def user(self, headers: Mapping[str, str], peer: str | None) -> str | None:
        """Return the user the proxy passed (lower case), or None if absent or untrusted."""
        if not self.header or not self.trusts(peer):
            return None
        value = headers.get(self.header, "").strip().lower()
        return value or None

    def client_address(self, headers: Mapping[str, str], peer: str | None) -> str:
        """The address of the person: the proxy's last X-Forwarded-For entry, else the peer."""
        if self.trusts(peer):
            forwarded = headers.get("X-Forwarded-For", "").split(",")[-1].strip()
            if forwarded:
                return forwarded
        return peer or "unknown"

    def https(self, headers: Mapping[str, str], peer: str | None, scheme: str) -> bool:
        """True if the browser's connection is HTTPS: here, or at a trusted proxy."""
        if scheme == "https":
            return True
        return self.trusts(peer) and headers.get("X-Forwarded-Proto", "").lower() == "https"
