"""The demo's news site: the seed articles as web pages and one JSON Feed per publisher.

``wirewatch demo`` serves it on 127.0.0.1 and points a real ``wirewatch
fetcher`` at its feeds, so the seeds enter the pipeline the way live news
does. Each feed carries its articles' full text (so the articles are the
seeds exactly, whatever the extractor would make of the pages) and links to
the article's page. Articles are published over time, at ``rate`` a second
from when :meth:`DemoSite.publish` is called, in the order of the seed files.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from schemas import Article


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "news"


@dataclass
class DemoSite:
    """The site's content and clock; :meth:`start` serves it from a thread of its own."""

    articles: Sequence[Article]
    rate: float | None = None
    host: str = "127.0.0.1"
    port: int = 0
    _opened_at: float | None = None
    _stop: asyncio.Event | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    @property
    def publishers(self) -> dict[str, list[int]]:
        """Feed slug -> the indexes of its articles (in seed order)."""
        found: dict[str, list[int]] = {}
        for n, article in enumerate(self.articles):
            found.setdefault(_slug(article.source), []).append(n)
        return found

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on the site."""
        return f"http://{self.host}:{self.port}{path}"

    def sources(self) -> dict[str, Any]:
        """The sources file of the site's feeds (one source per publisher, polled every second)."""
        names = {_slug(a.source): a.source for a in self.articles}
        return {
            "sources": [
                {
                    "id": f"demo-{slug}",
                    "name": names[slug],
                    "url": self.url(f"/feeds/{slug}.json"),
                    "interval": "1s",
                }
                for slug in self.publishers
            ]
        }

    def publish(self) -> None:
        """Start publishing: all at once, or ``rate`` articles a second from now."""
        self._opened_at = time.monotonic()

    def published(self) -> int:
        """How many articles are on the site now."""
        if self._opened_at is None:
            return 0
        if not self.rate:
            return len(self.articles)
        return min(len(self.articles), int((time.monotonic() - self._opened_at) * self.rate) + 1)

    # --- pages ------------------------------------------------------------------

    def feed(self, slug: str) -> bytes | None:
        """The JSON Feed of one publisher: its published articles, newest first."""
        indexes = self.publishers.get(slug)
        if indexes is None:
            return None
        shown = [n for n in indexes if n < self.published()]
        first = self.articles[indexes[0]]
        items = [self._item(n) for n in reversed(shown)]
        return orjson.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": first.source,
                "home_page_url": self.url("/"),
                "feed_url": self.url(f"/feeds/{slug}.json"),
                "language": first.language,
                "items": items,
            }
        )

    def _item(self, n: int) -> dict[str, Any]:
        article = self.articles[n]
        item: dict[str, Any] = {
            "id": article.id,
            "url": self.url(f"/articles/{n}.html"),
            "title": article.title,
            "content_text": article.body,
            "language": article.language,
        }
        if article.url:
            item["external_url"] = article.url
        if article.summary:
            item["summary"] = article.summary
        if article.published_at:
            item["date_published"] = article.published_at.isoformat()
        return item

    def page(self, n: int) -> bytes | None:
        """One article as a web page (what a reader clicking an alert's link sees)."""
        if not 0 <= n < len(self.articles):
            return None
        a = self.articles[n]
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in a.body.split("\n") if p.strip())
        standfirst = f'<p class="standfirst">{html.escape(a.summary)}</p>' if a.summary else ""
        return (
            f'<!doctype html><html lang="{html.escape(a.language)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(a.title)}</title></head><body>"
            f'<nav><a href="/">{html.escape(a.source)}</a></nav><article>'
            f"<h1>{html.escape(a.title)}</h1>{standfirst}{paragraphs}</article></body></html>"
        ).encode()

    def index(self) -> bytes:
        """A list of the feeds."""
        rows = "".join(
            f'<li><a href="/feeds/{slug}.json">{html.escape(self.articles[ns[0]].source)}</a></li>'
            for slug, ns in self.publishers.items()
        )
        return f"<!doctype html><title>Demo news</title><h1>Demo news</h1><ul>{rows}</ul>".encode()

    # --- serving ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        body: bytes | None
        if path == "/":
            body, kind = self.index(), "text/html"
        elif (m := re.fullmatch(r"/feeds/([a-z0-9-]+)\.json", path)) is not None:
            body, kind = self.feed(m.group(1)), "application/feed+json"
        elif (m := re.fullmatch(r"/articles/(\d{1,6})\.html", path)) is not None:
            body, kind = self.page(int(m.group(1))), "text/html"
        else:
            body, kind = None, "text/plain"
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=body, content_type=kind, charset="utf-8")

    def start(self) -> None:
        """Serve on ``host`` (a free port when ``port`` is 0) from a daemon thread."""
        ready = threading.Event()
        failed: list[BaseException] = []

        async def main() -> None:
            self._stop = asyncio.Event()
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:
                failed.append(exc)
                ready.set()
                return
            self.port = runner.addresses[0][1]
            ready.set()
            await self._stop.wait()
            await runner.cleanup()

        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        self._thread.start()
        ready.wait(10)
        if failed:
            raise failed[0]

    def stop(self) -> None:
        """Stop serving."""
        if self._thread is not None and self._stop is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5)
            self._thread = None
