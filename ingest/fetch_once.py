"""``wirewatch fetch URL...``: fetch feeds or pages once, produce what is new, say what happened.

Each URL is a source of its own (kind ``auto`` unless told), with an id
derived from its canonical URL, so its state lives on the fetch state topic
like a configured source's: a second run sends the validators (and gets a
304), and produces only what is new.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ingest.fetch_store import FetchStore, initial_state
from ingest.http_client import HttpClient
from ingest.page_text import Extractor
from ingest.poll import Poller, PollResult
from ingest.sender import start_producer, stop_producer
from ingest.source_list import SourceKind, SourceSpec
from schemas import Settings, canonical_url
from schemas.fetch_state import FetchStatus
from schemas.kafka import ensure_topics, make_producer, pipeline_topics


@dataclass(frozen=True)
class UrlOutcome:
    """What one URL gave."""

    url: str
    status: FetchStatus
    new: int
    updated: int
    unchanged: int
    skipped: int
    dead_lettered: int
    error: str | None

    def describe(self) -> str:
        """One line for people."""
        if self.status in ("failed", "refused", "rate_limited"):
            return f"{self.status:12} {self.url}: {self.error}"
        counts = f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"
        if self.skipped:
            counts += f", {self.skipped} not articles"
        if self.dead_lettered:
            counts += f", {self.dead_lettered} invalid (dead-lettered)"
        return f"{self.status:12} {self.url}: {counts}"


def adhoc_source(url: str, *, kind: SourceKind = "auto", full_text: bool = False) -> SourceSpec:
    """The source of a URL given on the command line: an id from its canonical URL."""
    digest = hashlib.sha256(canonical_url(url).encode()).hexdigest()[:20]
    host = (urlsplit(url).hostname or "web").removeprefix("www.")
    return SourceSpec(id=f"url-{digest}", name=host, url=url, kind=kind, full_text=full_text)


def summarize(outcomes: Sequence[UrlOutcome]) -> str:
    """The closing line: counts of articles and of URLs by outcome."""
    statuses = Counter(outcome.status for outcome in outcomes)
    new = sum(o.new for o in outcomes)
    updated = sum(o.updated for o in outcomes)
    parts = [f"{new} new and {updated} updated articles produced"]
    parts += [
        f"{statuses[s]} {s.replace('_', ' ')}"
        for s in ("unchanged", "not_modified", "failed", "refused", "rate_limited")
        if statuses[s]
    ]
    return "; ".join(parts)


async def fetch_urls(
    settings: Settings, urls: Sequence[str], *, kind: SourceKind = "auto", full_text: bool = False
) -> list[UrlOutcome]:
    """Fetch each URL once and produce its new articles; return what each gave, in order.

    Raises:
        BrokerError: Kafka cannot be reached.
        DeliveryError: Kafka did not acknowledge articles or states.
    """
    names = settings.topics
    wanted = {names.articles, names.articles_dlq, names.fetch_state}
    await ensure_topics(settings, [s for s in pipeline_topics(settings) if s.name in wanted])
    sources = [adhoc_source(url, kind=kind, full_text=full_text) for url in urls]
    producer = make_producer(settings, client_id="wirewatch-fetch")
    await start_producer(producer, settings)
    try:
        store = FetchStore(settings, producer)
        partitions = {await store.partition_of(s.id) for s in sources}
        states = await store.load(partitions)
        async with (
            HttpClient(settings) as client,
            Extractor(settings.fetch_extract_workers) as extractor,
        ):
            poller = Poller(settings, client, extractor)

            async def one(source: SourceSpec) -> UrlOutcome:
                state = states.get(source.id) or initial_state(source, settings)
                state = await store.confirm_pending(state)
                result = await poller.poll(source, state)
                await store.record(source, state, result, health=False)
                return _outcome(source.url, result)

            return list(await asyncio.gather(*(one(source) for source in sources)))
    finally:
        await stop_producer(producer, settings)


def _outcome(url: str, result: PollResult) -> UrlOutcome:
    return UrlOutcome(
        url=url,
        status=result.status,
        new=result.new,
        updated=result.updated,
        unchanged=result.unchanged,
        skipped=result.skipped,
        dead_lettered=len(result.rejected),
        error=result.error,
    )
