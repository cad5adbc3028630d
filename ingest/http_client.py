"""One HTTP GET with every safety rule: addresses, redirects, timeouts, sizes, types.

:meth:`HttpClient.get` follows redirects itself (at most
``fetch_max_redirects``, never in a loop), checking each hop's address, and
refuses early: a ``Content-Length`` over the cap or a content type that is
neither a feed nor a page ends the request before the body is read. The
body is read in chunks and decompressed here (gzip or deflate, the only
encodings offered) with a bound on each step, so a 50 MB page or a gzip bomb
costs at most the cap in memory and is refused as soon as the count passes it.
Nothing is executed: a page is bytes to parse.
"""

from __future__ import annotations

import asyncio
import functools
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Final, Literal
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from ingest.address_policy import AddressPolicy, GuardedResolver, RefusedAddress
from schemas import Settings, WirewatchError

FEED_TYPES: Final = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/json",
        "text/json",
    }
)
PAGE_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES: Final = frozenset({"text/plain"})
DOCUMENT_TYPES: Final = FEED_TYPES | PAGE_TYPES
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 65_536
_MAX_GZIP_MEMBERS: Final = 64

Outcome = Literal["failed", "refused", "rate_limited"]


class FetchError(WirewatchError):
    """A request did not give a usable document.

    Attributes:
        outcome: ``failed`` (worth retrying with backoff), ``refused`` (the
            fetcher will not fetch it as it is) or ``rate_limited`` (429/503).
        retry_after: seconds the server asked to wait, when it said.
        url: the URL of the hop that failed.
        status: the HTTP status, when the server answered with an error.
    """

    def __init__(
        self,
        outcome: Outcome,
        message: str,
        *,
        url: str,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        self.outcome = outcome
        self.url = url
        self.retry_after = retry_after
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Document:
    """A response the fetcher can use: 200 with a body, or 304 (``not_modified``)."""

    url: str
    """The final URL, after redirects."""
    status: int
    body: bytes
    media_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None
    headers: CIMultiDictProxy[str] | None = None

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET."""
        return self.status == 304

    def text(self) -> str:
        """The body as text, in the declared charset (else UTF-8), bad bytes replaced."""
        try:
            return self.body.decode(self.charset or "utf-8", "replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", "replace")


def user_agent(settings: Settings) -> str:
    """The User-Agent: Wirewatch, its version, and the operator's contact when set."""
    try:
        release = version("wirewatch")
    except PackageNotFoundError:  # running from a source tree that was not installed
        release = "dev"
    contact = settings.fetch_contact.strip()
    return f"Wirewatch/{release} (news monitor{'; +' + contact if contact else ''})"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Bounded:
    """Collects a body's chunks, decompressing gzip or deflate, within two byte caps."""

    def __init__(self, encoding: str, max_raw: int, max_decoded: int, url: str) -> None:
        self._url = url
        self._max_raw = max_raw
        self._max_decoded = max_decoded
        self.raw = 0
        self._decoded = 0
        self._parts: list[bytes] = []
        self._members = 1
        if encoding in ("", "identity"):
            self._inflate: zlib._Decompress | None = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchError("refused", f"content encoding {encoding!r} was not asked for", url=url)
        self._encoding = encoding

    def add(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self._max_raw:
            raise FetchError(
                "refused",
                f"the response is over {self._max_raw} bytes (WIREWATCH_FETCH_MAX_BYTES)",
                url=self._url,
            )
        if self._inflate is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            budget = self._max_decoded - self._decoded + 1
            try:
                out = self._inflate.decompress(data, budget)
            except zlib.error as exc:
                if self._encoding == "deflate" and self.raw == len(chunk) and not self._parts:
                    # Some servers send raw deflate without the zlib header.
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._encoding = "raw-deflate"
                    continue
                raise FetchError(
                    "failed", f"the {self._encoding} body is corrupt: {exc}", url=self._url
                ) from None
            self._keep(out)
            data = self._inflate.unconsumed_tail
            if self._inflate.eof and self._inflate.unused_data:
                # Another gzip member follows (concatenated gzip streams).
                self._members += 1
                if self._members > _MAX_GZIP_MEMBERS:
                    raise FetchError("refused", "the gzip body has too many members", url=self._url)
                data = self._inflate.unused_data
                self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def _keep(self, data: bytes) -> None:
        self._decoded += len(data)
        if self._decoded > self._max_decoded:
            raise FetchError(
                "refused",
                f"the response decompresses to more than {self._max_decoded} bytes "
                "(WIREWATCH_FETCH_MAX_DECOMPRESSED_BYTES): a compression bomb?",
                url=self._url,
            )
        if data:
            self._parts.append(data)

    def body(self) -> bytes:
        if self._inflate is not None:
            self._keep(self._inflate.flush())
        return b"".join(self._parts)


class HttpClient:
    """An aiohttp session that only reaches allowed addresses; :meth:`get` fetches one URL.

    Use as ``async with HttpClient(settings) as client:``.
    """

    def __init__(self, settings: Settings, *, limit: int | None = None) -> None:
        self._settings = settings
        self._policy = AddressPolicy(settings.fetch_allow_networks)
        self._limit = limit or settings.fetch_concurrency
        self._session: aiohttp.ClientSession | None = None
        self.user_agent = user_agent(settings)

    async def __aenter__(self) -> HttpClient:
        s = self._settings
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self._policy),
            limit=self._limit,
            ttl_dns_cache=300,
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            trust_env=False,  # no proxy from the environment: every address is checked here
            timeout=aiohttp.ClientTimeout(
                total=s.fetch_total_timeout_s,
                sock_connect=s.fetch_connect_timeout_s,
                sock_read=s.fetch_read_timeout_s,
            ),
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: frozenset[str] = DOCUMENT_TYPES,
        max_bytes: int | None = None,
    ) -> Document:
        """GET ``url`` (following redirects) and return the document, or a 304.

        Args:
            headers: extra request headers (a source's own).
            etag, last_modified: validators of the last answer, for a conditional GET.
            accept: the media types taken; others are refused before the body is read.
            max_bytes: a lower cap than ``fetch_max_bytes`` (robots.txt).

        Raises:
            FetchError: refused, failed or rate-limited, with the reason.
        """
        s = self._settings
        request_headers = {"Accept": _accept_header(accept), **(headers or {})}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        visited: set[str] = set()
        current = url
        try:
            async with asyncio.timeout(s.fetch_total_timeout_s):
                for _ in range(s.fetch_max_redirects + 1):
                    visited.add(current)
                    location = await self._request(
                        current, request_headers, accept, max_bytes or s.fetch_max_bytes
                    )
                    if isinstance(location, Document):
                        return location
                    following = urljoin(current, location)
                    if following in visited:
                        raise FetchError(
                            "failed", f"redirect loop back to {following}", url=current
                        )
                    current = following
        except TimeoutError:
            raise FetchError(
                "failed",
                f"no complete answer within {s.fetch_total_timeout_s:g} s (WIREWATCH_FETCH_TOTAL_TIMEOUT_S)",
                url=current,
            ) from None
        raise FetchError(
            "failed",
            f"more than {s.fetch_max_redirects} redirects (WIREWATCH_FETCH_MAX_REDIRECTS)",
            url=current,
        )

    async def post_form(self, url: str, form: Mapping[str, str]) -> tuple[int, str]:
        """POST ``form`` to ``url`` (a WebSub hub); return the status and the start of the answer.

        Redirects are not followed. The address rules apply as for a GET.

        Raises:
            FetchError: refused or failed before an answer.
        """
        session, host = self._session_for(url)
        try:
            async with session.post(url, data=dict(form), allow_redirects=False) as response:
                answer = await response.content.read(2000)
                return response.status, answer.decode("utf-8", "replace")
        except (aiohttp.ClientError, OSError) as exc:
            raise _failure(exc, url, host) from None

    async def _request(
        self, url: str, headers: Mapping[str, str], accept: frozenset[str], max_bytes: int
    ) -> Document | str:
        """One hop: a Document, or the Location of a redirect."""
        session, host = self._session_for(url)
        try:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                return await self._answer(url, response, accept, max_bytes)
        except (aiohttp.ClientError, OSError) as exc:
            raise _failure(exc, url, host) from None

    def _session_for(self, url: str) -> tuple[aiohttp.ClientSession, str]:
        """The session and the host of ``url``, once its scheme and literal address pass.

        Raises:
            FetchError: not http(s), or a literal address the policy refuses.
        """
        assert self._session is not None, "use HttpClient as an async context manager"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("refused", f"not an http(s) URL: {url[:200]}", url=url)
        try:
            self._policy.check_host(parts.hostname)
        except RefusedAddress as exc:
            raise FetchError("refused", str(exc), url=url) from None
        return self._session, parts.hostname

    async def _answer(
        self,
        url: str,
        response: aiohttp.ClientResponse,
        accept: frozenset[str],
        max_bytes: int,
    ) -> Document | str:
        status = response.status
        if status in _REDIRECTS:
            location = response.headers.get("Location")
            if not location:
                raise FetchError("failed", f"HTTP {status} without a Location", url=url)
            return location
        if status == 304:
            return Document(url, 304, b"", "", None, None, None, response.headers)
        if status in (429, 503):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            said = f", Retry-After {wait:g} s" if wait is not None else ""
            raise FetchError(
                "rate_limited", f"HTTP {status}{said}", url=url, retry_after=wait, status=status
            )
        if status >= 400 or status < 200 or status == 204:
            raise FetchError(
                "failed", f"HTTP {status} {response.reason or ''}".rstrip(), url=url, status=status
            )
        media_type = response.content_type.lower()
        if response.headers.get("Content-Type") and media_type not in accept:
            raise FetchError(
                "refused",
                f"content type {media_type!r} is not a feed or a web page",
                url=url,
            )
        length = response.content_length
        if length is not None and length > max_bytes:
            raise FetchError(
                "refused",
                f"the response announces {length} bytes, over {max_bytes} (WIREWATCH_FETCH_MAX_BYTES)",
                url=url,
            )
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        body = _Bounded(encoding, max_bytes, self._settings.fetch_max_decompressed_bytes, url)
        async for chunk in response.content.iter_chunked(_CHUNK):
            body.add(chunk)
        data = body.body()
        if b"\x00" in data[:4096]:
            raise FetchError("refused", "the body is binary, not a feed or a page", url=url)
        return Document(
            url=url,
            status=status,
            body=data,
            media_type=media_type if response.headers.get("Content-Type") else "",
            charset=response.charset,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            headers=response.headers,
        )


def _failure(exc: BaseException, url: str, host: str) -> FetchError:
    """What went wrong with a request to ``host``, as a FetchError people can act on."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        if isinstance(exc.os_error, RefusedAddress):
            return FetchError("refused", str(exc.os_error), url=url)
        return FetchError("failed", f"cannot resolve {host}: {exc.os_error}", url=url)
    if isinstance(exc, aiohttp.ServerTimeoutError | aiohttp.ConnectionTimeoutError):
        return FetchError(
            "failed",
            f"{host} did not answer in time (WIREWATCH_FETCH_CONNECT_TIMEOUT_S, "
            "WIREWATCH_FETCH_READ_TIMEOUT_S)",
            url=url,
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError("refused", f"invalid URL: {exc}", url=url)
    return FetchError("failed", f"{type(exc).__name__}: {exc}", url=url)


@functools.lru_cache(maxsize=16)
def _accept_header(types: frozenset[str]) -> str:
    if types <= TEXT_TYPES:
        return "text/plain"
    preferred = [t for t in sorted(types) if t not in ("application/json", "text/json")]
    return ", ".join([*preferred, "*/*;q=0.1"])
