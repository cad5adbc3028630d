"""A scriptable news site on loopback for the fetcher's tests and benchmark.

Each path answers as its :class:`Page` says: a body and content type, a
status, extra headers, gzip, a hang, a redirect. Pages with an ETag answer a
matching ``If-None-Match`` with 304. Every request is recorded (path and
headers) so a test can check what the fetcher sent. ``/robots.txt`` is a 404
unless a page is set for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.servers import free_port


@dataclass
class Page:
    """How one path answers."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True
    gzip: bool = False
    hang_s: float = 0.0
    stream_bytes: int = 0
    """Answer with this many bytes of filler, streamed, without a Content-Length."""


@dataclass
class Seen:
    """One request the site received."""

    path: str
    headers: dict[str, str]


@dataclass
class NewsSite:
    """The running site: set :attr:`pages`, read :attr:`requests`."""

    port: int
    host: str = "127.0.0.1"
    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this site."""
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[Seen]:
        """The requests made for ``path``."""
        return [seen for seen in self.requests if seen.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs
        self.requests.append(Seen(path, dict(request.headers)))
        page = self.pages.get(path)
        if page is None:
            return web.Response(status=404, text="not found")
        if page.hang_s:
            await asyncio.sleep(page.hang_s)
        headers = dict(page.headers)
        if page.status != 200:
            return web.Response(status=page.status, headers=headers, body=page.body)
        if page.etag:
            tag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                return web.Response(status=304, headers=headers)
        if page.stream_bytes:
            response = web.StreamResponse(headers={"Content-Type": page.content_type, **headers})
            await response.prepare(request)
            chunk = b"<p>" + b"x" * 65_530 + b"</p>"
            sent = 0
            with contextlib.suppress(ConnectionError):
                while sent < page.stream_bytes:
                    await response.write(chunk)
                    sent += len(chunk)
            return response
        body = page.body
        if page.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = page.content_type
        return web.Response(status=200, headers=headers, body=body)


@contextlib.asynccontextmanager
async def serve_site(host: str = "127.0.0.1") -> AsyncIterator[NewsSite]:
    """Run a :class:`NewsSite` on ``host`` until the block ends."""
    site = NewsSite(free_port(), host)
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", site.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, host, site.port).start()
    try:
        yield site
    finally:
        await runner.cleanup()


def rss(
    items: list[dict[str, str]],
    *,
    title: str = "Test feed",
    hub: str | None = None,
    language: str = "en",
) -> bytes:
    """An RSS 2.0 feed of ``items`` (keys: title, link, guid, description, pubDate, content)."""
    from xml.sax.saxutils import escape

    entries = []
    for item in items:
        parts = [f"<title>{escape(item['title'])}</title>"]
        if "link" in item:
            parts.append(f"<link>{escape(item['link'])}</link>")
        if "guid" in item:
            parts.append(f'<guid isPermaLink="false">{escape(item["guid"])}</guid>')
        if "description" in item:
            parts.append(f"<description>{escape(item['description'])}</description>")
        if "content" in item:
            parts.append(f"<content:encoded>{escape(item['content'])}</content:encoded>")
        parts.append(f"<pubDate>{item.get('pubDate', 'Tue, 10 Nov 2026 09:30:00 GMT')}</pubDate>")
        entries.append("<item>" + "".join(parts) + "</item>")
    hub_link = f'<atom:link rel="hub" href="{escape(hub)}"/>' if hub else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link>"
        f"<description>d</description><language>{language}</language>{hub_link}"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def article_html(
    title: str,
    paragraphs: list[str],
    *,
    related: list[tuple[str, str]] = (),  # type: ignore[assignment]
    lang: str = "en",
    published: str = "2026-11-10T09:30:00+00:00",
) -> bytes:
    """An article page as news sites build them: navigation, an ad, the article, related links, a footer."""
    from html import escape

    nav = "".join(
        f'<li><a href="/{s}">{s.title()}</a></li>' for s in ("world", "markets", "sport", "opinion")
    )
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    more = "".join(
        f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in related
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)} | The Ledger</title>'
        f'<meta property="og:type" content="article"><meta property="article:published_time" content="{published}">'
        f'</head><body><header class="site-header"><nav><ul>{nav}</ul></nav></header>'
        '<div class="ad-slot">Advertisement: Summer sale on garden furniture, up to half price this week only.</div>'
        f"<main><article><h1>{escape(title)}</h1>{body}</article>"
        f'<aside class="related"><h2>More stories</h2><ul>{more}</ul></aside></main>'
        '<footer class="site-footer"><p>The Ledger, all rights reserved.</p><a href="/about">About us</a></footer>'
        "</body></html>"
    ).encode()


def listing_html(links: list[tuple[str, str]], *, title: str = "World news") -> bytes:
    """A section page: navigation, then a list of headline links with one-line teasers."""
    from html import escape

    nav = "".join(f'<li><a href="/{s}">{s.title()}</a></li>' for s in ("world", "markets", "sport"))
    entries = "".join(
        f'<li class="story"><h3><a href="{escape(href)}">{escape(text)}</a></h3></li>'
        for href, text in links
    )
    return (
        f'<!doctype html><html lang="en"><head><title>{escape(title)}</title></head><body>'
        f'<nav class="menu"><ul>{nav}</ul></nav><main><h1>{escape(title)}</h1><ul class="stories">{entries}</ul></main>'
        '<footer><a href="/contact">Contact the newsroom team today</a></footer></body></html>'
    ).encode()


@contextlib.contextmanager
def site_in_thread(host: str = "127.0.0.1") -> Iterator[NewsSite]:
    """Run a :class:`NewsSite` in a thread of its own (for tests that block while processes run).

    Its pages may be changed from the test's thread: a dict assignment is atomic.
    """
    started = threading.Event()
    found: list[NewsSite] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        async with serve_site(host) as running:
            found.append(running)
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the news site did not start within 10 s")
    try:
        yield found[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
