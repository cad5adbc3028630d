"""The fetch state topic: states read back, and pending items settled after a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.fetch_store import FetchStore, read_states
from ingest.sender import start_producer, stop_producer
from ingest.sources import Accepted
from schemas import Article, Settings
from schemas.fetch_state import FetchState
from schemas.kafka import ensure_topics, make_producer, pipeline_topics


async def test_pending_items_are_settled_from_the_articles_topic(fetch_settings: Settings) -> None:
    """A crash after the pending state and some articles: exactly the items whole on the topic count as seen."""
    settings = fetch_settings
    await ensure_topics(settings, pipeline_topics(settings))
    producer = make_producer(settings)
    await start_producer(producer, settings)
    try:
        store = FetchStore(settings, producer)
        ids = [f"url-{n:032x}" for n in range(6)]
        pending = FetchState(
            source_id="s1",
            url="https://example.org/feed",
            interval_s=60,
            seen={"url-old": "d0"},
            pending=dict.fromkeys(ids, "d1"),
            # ids[1]'s page was sent and one of its two teasers: it is not produced whole.
            pending_teasers={ids[0]: ("teaser-a",), ids[1]: ("teaser-b", "teaser-c")},
            updated_at=datetime.now(UTC),
        )
        await store.save(pending, wait=True)
        sent = [
            Accepted(Article(id=key, source="s", title=f"t{key}", body="b"), "o")
            for key in [*ids[:4], "teaser-a", "teaser-b"]
        ]
        await store.produce(sent, [])
        # ...and the fetcher dies here: the state on the topic still says pending.
        restarted = FetchStore(settings, producer)
        (state,) = (await restarted.load(range(settings.partitions))).values()
        settled = await restarted.confirm_pending(state)
    finally:
        await stop_producer(producer, settings)
    assert settled.pending == {}
    assert settled.pending_teasers == {}
    assert set(settled.seen) == {"url-old", ids[0], *ids[2:4]}
    assert (await read_states(settings))["s1"].pending == dict.fromkeys(ids, "d1")
