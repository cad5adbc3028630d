"""One poll of one source: robots.txt, a polite conditional GET, its items, their pages, articles.

:class:`Poller` does the network side and returns a :class:`PollResult`
(articles to produce, records refused, what was seen, the validators, the
outcome); it never touches Kafka, so it is tested against loopback servers
alone. A source's listing is read according to its kind; a page given to
``wirewatch fetch`` (kind ``auto``) is produced as an article when it is one,
and read for its article links when it is a listing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import orjson

from ingest.documents import DocumentError, Item, Listing, read_document, sniff
from ingest.http_client import DOCUMENT_TYPES, PAGE_TYPES, Document, FetchError, HttpClient
from ingest.items import article_record, remember, sort_items
from ingest.page_text import Extractor, PageText
from ingest.politeness import HostGates
from ingest.robots import RobotsCache
from ingest.schedule import max_age
from ingest.source_list import SourceSpec
from ingest.sources import Accepted, Rejected, as_produced
from schemas import InvalidRecordError, Settings
from schemas.article_input import build_articles
from schemas.fetch_state import FetchState, FetchStatus


@dataclass
class PollResult:
    """What one poll found; the caller produces the articles and keeps the state."""

    status: FetchStatus
    articles: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)
    """Item key -> digest of every item read (to remember), pages that failed for good included."""
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    """Linked pages that were not articles (listings, consent walls) or robots.txt forbids."""
    failed_pages: int = 0
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after: float | None = None
    cache_max_age: float | None = None
    hub: str | None = None
    topic: str | None = None

    @property
    def pending(self) -> dict[str, str]:
        """key -> digest of the items about to be produced (their pages; teasers in ``pending_teasers``)."""
        return {
            item.article.id: self.seen.get(item.article.id, "")
            for item in self.articles
            if item.article.kind != "teaser"
        }

    @property
    def pending_teasers(self) -> dict[str, tuple[str, ...]]:
        """Item key -> the ids of the teasers produced after its page (pages with teasers only)."""
        teasers: dict[str, list[str]] = {}
        for item in self.articles:
            if item.article.kind == "teaser" and item.article.found_on is not None:
                teasers.setdefault(item.article.found_on.id, []).append(item.article.id)
        return {key: tuple(ids) for key, ids in teasers.items()}

    def pending_state(self, state: FetchState, now: datetime) -> FetchState:
        """``state`` saying which records are about to be produced (written before them)."""
        return state.model_copy(
            update={
                "pending": self.pending,
                "pending_teasers": self.pending_teasers,
                "updated_at": now,
            }
        )


class Poller:
    """Fetches sources politely and safely; share one per process."""

    def __init__(
        self,
        settings: Settings,
        client: HttpClient,
        extractor: Extractor,
        *,
        gates: HostGates | None = None,
        robots: RobotsCache | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._extractor = extractor
        self.gates = gates or HostGates(
            settings.fetch_host_concurrency, settings.fetch_host_delay_s
        )
        self.robots = robots or RobotsCache(
            client, agent=client.user_agent, ttl_s=settings.fetch_robots_ttl_s
        )

    async def get(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: frozenset[str] = DOCUMENT_TYPES,
    ) -> Document:
        """GET ``url`` if robots.txt allows, through the host's gate.

        Raises:
            FetchError: refused (robots.txt included), failed or rate-limited.
        """
        host = (urlsplit(url).hostname or "").lower()
        rules = await self.robots.rules_for(url)
        if not rules.allows(url, self.robots.agent):
            why = (
                f"robots.txt unreadable ({rules.unreachable})"
                if rules.unreachable
                else "robots.txt disallows it"
            )
            raise FetchError("refused", why, url=url)
        self.gates.set_crawl_delay(host, rules.crawl_delay(self.robots.agent))
        async with self.gates.slot(host):
            try:
                return await self._client.get(
                    url, headers=headers, etag=etag, last_modified=last_modified, accept=accept
                )
            except FetchError as exc:
                if exc.retry_after is not None:
                    self.gates.block(host, min(exc.retry_after, self._settings.fetch_backoff_max_s))
                raise

    async def poll(self, source: SourceSpec, state: FetchState) -> PollResult:
        """Fetch ``source`` once (conditionally on ``state``'s validators) and read what is new."""
        try:
            document = await self.get(
                source.url,
                headers=dict(source.headers),
                etag=state.etag,
                last_modified=state.last_modified,
            )
        except FetchError as exc:
            return PollResult(exc.outcome, error=str(exc), retry_after=exc.retry_after)
        if document.not_modified:
            result = PollResult("not_modified")
            result.etag = document.etag or state.etag
            result.last_modified = document.last_modified or state.last_modified
        else:
            result = await self.read(
                source, document.body, document.media_type, document.url, state
            )
            result.etag, result.last_modified = document.etag, document.last_modified
        if document.headers is not None:
            result.cache_max_age = max_age(document.headers.get("Cache-Control"))
        return result

    async def read(
        self, source: SourceSpec, body: bytes, media_type: str, url: str, state: FetchState
    ) -> PollResult:
        """Read a fetched (or pushed) document of ``source`` and build its new articles."""
        kind = sniff(body, media_type)
        expected = {"feed": "feed", "sitemap": "sitemap", "section": "page"}.get(source.kind)
        if expected is not None and kind != expected:
            return PollResult("failed", error=f"expected a {source.kind}, got a {_name(kind)}")
        if kind == "page" and source.kind == "auto":
            page = await self._extractor.extract(body, url)
            if page.kind == "article":
                listing = Listing("page", [Item(url=url, title=page.title)])
                return await self._articles(source, listing, state, url, pages={url: page})
        try:
            listing = read_document(body, media_type, url)
        except DocumentError as exc:
            return PollResult("failed", error=str(exc))
        return await self._articles(source, listing, state, url)

    async def _articles(
        self,
        source: SourceSpec,
        listing: Listing,
        state: FetchState,
        url: str,
        pages: dict[str, PageText] | None = None,
    ) -> PollResult:
        settings = self._settings
        found = sort_items(listing.items, state.seen, source.name)
        wanted = [*found.new, *found.updated][: settings.fetch_max_items]
        follow = source.follows_links or source.full_text or listing.kind != "feed"
        if follow:
            wanted = wanted[: settings.fetch_max_links]
        result = PollResult(
            "unchanged",
            unchanged=found.unchanged,
            hub=listing.hub,
            topic=listing.self_url or url,
        )
        # Items not taken now (over the caps) are not remembered: the next poll takes them.
        taken = {key for key, _ in wanted}
        result.seen = {
            key: digest
            for key, digest in found.digests.items()
            if key in taken or key in state.seen
        }
        pages = dict(pages or {})
        if follow:
            pages.update(
                await self._pages(
                    [item.url for _, item in wanted if item.url and item.url not in pages], result
                )
            )
        updated = {key for key, _ in found.updated}
        for key, item in wanted:
            page = pages.get(item.url) if item.url else None
            if follow and item.url and page is None:
                continue  # its page failed: retried on the next poll
            if page is not None and page.kind != "article":
                result.skipped += 1
                result.seen[key] = f"!{page.kind}"
                continue
            record = article_record(
                key,
                item,
                source,
                page=page,
                declared_language=listing.language,
                listing_url=url,
                edited=key in updated,
            )
            origin = f"{source.id} {item.url or key}"
            try:
                # The split every ingest path makes: the teasers a page closes with
                # become headline-only articles, produced after it.
                parts = build_articles(
                    record,
                    origin=origin,
                    max_body_bytes=settings.max_body_bytes,
                    links={**item.links, **(page.links if page else {})},
                )
            except InvalidRecordError as exc:
                result.rejected.append(Rejected(origin, exc.reason, str(exc), _payload(record)))
                result.seen[key] = "!invalid"
                continue
            result.articles.extend(as_produced(parts, origin))
            if key in updated:
                result.updated += 1
            else:
                result.new += 1
        if result.articles:
            result.status = "new"
        return result

    async def _pages(self, urls: Iterable[str], result: PollResult) -> dict[str, PageText]:
        """Fetch and extract each page; pages refused or gone for good become non-articles."""

        async def one(url: str) -> tuple[str, PageText | None]:
            try:
                document = await self.get(url, accept=PAGE_TYPES)
            except FetchError as exc:
                result.failed_pages += 1
                if exc.outcome == "refused" or (
                    exc.status is not None and exc.status < 500 and exc.status != 429
                ):
                    return url, PageText("listing", reason=str(exc))
                return url, None
            return url, await self._extractor.extract(document.body, document.url)

        done = await asyncio.gather(*(one(url) for url in urls))
        return {url: page for url, page in done if page is not None}


def _name(kind: str) -> str:
    return {"page": "web page", "feed": "feed", "sitemap": "sitemap"}[kind]


def _payload(record: dict[str, object]) -> bytes:
    try:
        return orjson.dumps(record, default=str)
    except TypeError:
        return b""


def pending_ids(state: FetchState) -> set[str]:
    """The ids of every record ``state`` says may have been produced: pages and their teasers."""
    return {*state.pending, *(key for ids in state.pending_teasers.values() for key in ids)}


def settle_pending(state: FetchState, on_topic: set[str]) -> FetchState:
    """``state`` with its pending items settled against the ids found on the articles topic.

    An item counts as produced (seen) only when its page and every one of its
    teasers reached the topic; the others are forgotten, so the next poll
    produces them again, whole (their ids are stable and the workers drop
    exact repeats of what did arrive).
    """
    seen = dict(state.seen)
    for key, digest in state.pending.items():
        if key in on_topic and on_topic.issuperset(state.pending_teasers.get(key, ())):
            seen[key] = digest
    return state.model_copy(update={"seen": seen, "pending": {}, "pending_teasers": {}})


def remembered(state: FetchState, result: PollResult, limit: int) -> dict[str, str]:
    """The state's ``seen`` after ``result`` (bounded to ``limit`` keys)."""
    return remember(state.seen, result.seen, limit)
