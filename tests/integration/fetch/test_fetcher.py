"""``wirewatch fetcher`` processes on the real broker: restarts, sharing sources, health alerts."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections import Counter
from pathlib import Path

from schemas import Alert, Settings
from tests.integration.fetch.conftest import Fetchers, read_articles, wait_for
from tests.support.news_site import NewsSite, Page, rss, site_in_thread
from tests.support.topics import read_to_end

RSS = "application/rss+xml"


def feed_of(site: NewsSite, feed: int, count: int) -> Page:
    """Feed ``feed`` with items 0..count-1 (newest first, as feeds list them)."""
    items = [
        {
            "title": f"Report {n} of desk {feed}: talks resume on the river crossing",
            "link": site.url(f"/desk{feed}/report-{n}"),
            "description": f"Summary of report {n} from desk {feed}.",
        }
        for n in reversed(range(count))
    ]
    return Page(rss(items), RSS)


def sources_file(path: Path, site: NewsSite, feeds: int, interval: str = "1s") -> Path:
    sources = [
        {
            "id": f"desk-{n}",
            "name": f"Desk {n}",
            "url": site.url(f"/feed/{n}"),
            "interval": interval,
        }
        for n in range(feeds)
    ]
    path.write_text(json.dumps({"sources": sources}))
    return path


def counts(settings: Settings) -> Counter[str]:
    """How many records each article id has on the articles topic."""
    return Counter(article.id for article in read_articles(settings))


def test_killed_fetcher_restarts_without_repeating_or_losing(
    fetchers: Fetchers, tmp_path: Path
) -> None:
    """SIGKILL at random moments while items keep coming: every item is produced exactly once."""
    settings = fetchers.settings
    rng = random.Random(7)
    with site_in_thread() as site:
        total = 4
        site.pages["/feed/0"] = feed_of(site, 0, total)
        sources = sources_file(tmp_path / "sources.yaml", site, 1)
        fetcher = fetchers.start(sources, WIREWATCH_FETCH_INSTANCE_ID="a")
        for _ in range(2):
            assert wait_for(lambda want=total: len(counts(settings)) >= want, 30), fetcher.log()
            total += 5
            site.pages["/feed/0"] = feed_of(site, 0, total)
            time.sleep(rng.uniform(0.5, 1.5))
            fetcher.stop(signal.SIGKILL)
            fetcher = fetchers.start(sources, WIREWATCH_FETCH_INSTANCE_ID="a")
        assert wait_for(lambda want=total: len(counts(settings)) >= want, 30), fetcher.log()
        time.sleep(2)  # a few more polls: a repeat would show now
        found = counts(settings)
    assert len(found) == total
    assert set(found.values()) == {1}, [k for k, n in found.items() if n > 1]


def test_two_fetchers_share_sources_and_survive_a_kill(fetchers: Fetchers, tmp_path: Path) -> None:
    """100 sources split between two fetchers; after one is killed the other polls all of them."""
    settings = fetchers.settings
    with site_in_thread() as site:
        for n in range(100):
            site.pages[f"/feed/{n}"] = feed_of(site, n, 1)
        sources = sources_file(tmp_path / "sources.yaml", site, 100, interval="2s")
        first = fetchers.start(sources, name="first")
        second = fetchers.start(sources, name="second")
        assert wait_for(lambda: len(counts(settings)) >= 100, 60), first.log()
        assert wait_for(
            lambda: first.readiness().get("owned", 0) + second.readiness().get("owned", 0) == 100,
            30,
        )
        owned = first.readiness()["owned"], second.readiness()["owned"]
        assert all(owned), owned
        second.stop(signal.SIGKILL)
        for n in range(100):
            site.pages[f"/feed/{n}"] = feed_of(site, n, 2)
        assert wait_for(lambda: len(counts(settings)) >= 200, 60), first.log()
        assert first.readiness()["owned"] == 100
        found = counts(settings)
    assert len(found) == 200
    assert set(found.values()) == {1}


def test_failing_source_raises_and_clears_a_health_alert(
    fetchers: Fetchers, tmp_path: Path
) -> None:
    """A source failing past fetch_failing_alert_s raises a source_health alert; recovery clears it."""
    settings = fetchers.settings
    with site_in_thread() as site:
        site.pages["/feed/0"] = Page(b"", status=500)
        sources = sources_file(tmp_path / "sources.yaml", site, 1)
        fetcher = fetchers.start(
            sources,
            WIREWATCH_FETCH_FAILING_ALERT_S="2",
            WIREWATCH_FETCH_BACKOFF_MAX_S="1",
        )

        def alerts() -> list[Alert]:
            records = asyncio.run(read_to_end(settings, settings.topics.alerts))
            return [Alert.model_validate_json(r.value) for r in records if r.value]

        assert wait_for(lambda: len(alerts()) >= 1, 30), fetcher.log()
        site.pages["/feed/0"] = feed_of(site, 0, 1)
        assert wait_for(lambda: len(alerts()) >= 2, 30), fetcher.log()
        found = alerts()  # two keys, so maybe two partitions: not in order
        (raised,) = [a for a in found if not a.is_update]
        (cleared,) = [a for a in found if a.is_update]
    assert raised.category == "source_health"
    assert "HTTP 500" in raised.headline
    assert cleared.is_update
    assert "resolved" in cleared.tags
    assert cleared.key == f"{raised.key}/resolved"
