"""robots.txt, read with protego and kept per host for ``fetch_robots_ttl_s``.

As RFC 9309 says: a robots.txt that is missing (4xx) allows everything; one
that cannot be read (5xx, a timeout, a refused address) disallows everything
for a short while, then it is asked for again. Concurrent requests for one
host share one fetch of its robots.txt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from protego import Protego

from ingest.http_client import TEXT_TYPES, FetchError, HttpClient

MAX_ROBOTS_BYTES: Final = 500_000
"""Google reads the first 500 KiB of a robots.txt; so does Wirewatch."""
UNREACHABLE_RETRY_S: Final = 300.0
_ROBOTS_TYPES: Final = TEXT_TYPES | frozenset({"text/html", "application/octet-stream"})


@dataclass(frozen=True)
class Robots:
    """A host's rules: None parser means everything is allowed."""

    parser: Protego | None
    expires_at: float
    unreachable: str | None = None

    def allows(self, url: str, agent: str) -> bool:
        """True when ``agent`` may fetch ``url``."""
        if self.unreachable is not None:
            return False
        return self.parser is None or bool(self.parser.can_fetch(url, agent))

    def crawl_delay(self, agent: str) -> float | None:
        """The Crawl-delay for ``agent``, if the file gives one."""
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay is not None else None


class RobotsCache:
    """robots.txt per scheme and host, fetched through ``client`` when first needed."""

    def __init__(
        self,
        client: HttpClient,
        *,
        agent: str,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.agent = agent
        self._ttl_s = ttl_s
        self._clock = clock
        self._known: dict[str, Robots] = {}
        self._loading: dict[str, asyncio.Future[Robots]] = {}

    async def rules_for(self, url: str) -> Robots:
        """The robots rules of ``url``'s host, fetched (once) when missing or stale."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        known = self._known.get(origin)
        if known is not None and known.expires_at > self._clock():
            return known
        loading = self._loading.get(origin)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[Robots] = asyncio.get_running_loop().create_future()
        self._loading[origin] = future
        try:
            robots = await self._load(origin)
            self._known[origin] = robots
            future.set_result(robots)
            return robots
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody logs it as lost
            raise
        finally:
            del self._loading[origin]

    async def _load(self, origin: str) -> Robots:
        now = self._clock()
        try:
            document = await self._client.get(
                f"{origin}/robots.txt", accept=_ROBOTS_TYPES, max_bytes=MAX_ROBOTS_BYTES
            )
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return Robots(None, now + self._ttl_s)
            return Robots(None, now + UNREACHABLE_RETRY_S, unreachable=str(exc))
        return Robots(Protego.parse(document.text()), now + self._ttl_s)
