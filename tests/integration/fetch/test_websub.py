"""WebSub: the fetcher subscribes to a feed's hub, takes signed pushes, refuses forged ones."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from schemas import DeadLetter
from tests.integration.fetch.conftest import Fetchers, read_articles, wait_for
from tests.support.news_site import Page, rss, site_in_thread
from tests.support.servers import free_port
from tests.support.topics import read_to_end
from tests.support.websub_hub import hub_in_thread


def test_hub_pushes_are_produced_and_forged_ones_refused(
    fetchers: Fetchers, tmp_path: Path
) -> None:
    """A verified subscription's signed push becomes an article at once; a forged push is dead-lettered."""
    settings = fetchers.settings
    with site_in_thread() as site, hub_in_thread() as hub:

        def feed(*titles: str) -> bytes:
            items = [
                {"title": t, "link": site.url(f"/{n}"), "description": t}
                for n, t in enumerate(titles)
            ]
            return rss(items, hub=hub.url)

        site.pages["/feed"] = Page(feed("Harbour reopens after the storm"), "application/rss+xml")
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            json.dumps(
                {
                    "sources": [
                        {
                            "id": "pushed",
                            "name": "Pushed",
                            "url": site.url("/feed"),
                            "interval": "1h",
                        }
                    ]
                }
            )
        )
        port = free_port()
        fetcher = fetchers.start(
            sources, port=port, WIREWATCH_FETCH_CALLBACK_URL=f"http://127.0.0.1:{port}"
        )
        assert wait_for(lambda: any(s.verified for s in hub.subscriptions), 30), fetcher.log()
        assert hub.subscriptions[0].topic == site.url("/feed")
        assert len(read_articles(settings)) == 1
        pushed = feed("Harbour reopens after the storm", "Ferries resume the island route")
        assert hub.push(pushed) == 202
        assert wait_for(lambda: len(read_articles(settings)) == 2, 20), fetcher.log()
        forged = feed("Harbour reopens after the storm", "Ferries resume", "A forged headline")
        assert hub.push(forged, forge=True) == 202

        def letters() -> list[DeadLetter]:
            records = asyncio.run(read_to_end(settings, settings.topics.articles_dlq))
            return [DeadLetter.model_validate_json(r.value) for r in records if r.value]

        assert wait_for(lambda: len(letters()) == 1, 20), fetcher.log()
    assert letters()[0].reason == "bad_signature"
    assert sorted(a.title for a in read_articles(settings)) == [
        "Ferries resume the island route",
        "Harbour reopens after the storm",
    ]
    assert len(site.hits("/feed")) == 1  # the new item came by push, not by polling
