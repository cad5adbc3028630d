"""The Sources panel's data: latest state per source, those needing attention first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import Settings
from schemas.fetch_state import FetchState
from schemas.kafka import encode
from wirewatch.dashboard.sources import SourceHealth
from wirewatch.dashboard.state import DashboardState

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def state(source_id: str, **fields: object) -> FetchState:
    return FetchState.model_validate(
        {
            "source_id": source_id,
            "url": f"https://{source_id}.example/rss",
            "interval_s": 300,
            **fields,
        }
    )


def test_alerting_and_failing_sources_come_first() -> None:
    """An alerting source, then failing ones, then the rest by name; counts by status."""
    panel = SourceHealth()
    panel.put(state("calm", name="Calm Gazette", last_status="not_modified"))
    panel.put(state("broken", name="Broken Herald", last_status="failed", last_error="HTTP 500"))
    panel.put(state("down", name="Down Daily", last_status="failed", health_alert="k"))
    panel.put(state("calm", name="Calm Gazette", last_status="new"))  # a later state replaces
    view = panel.view(NOW)
    assert [row["id"] for row in view["rows"]] == ["down", "broken", "calm"]
    assert view["by_status"] == {"new": 1, "failed": 2}
    assert view["alerting"] == 1
    assert view["rows"][1]["error"] == "HTTP 500"


def test_items_per_day_and_bound() -> None:
    """Items a day come from the total since the first fetch; the panel holds a bounded number."""
    panel = SourceHealth(max_sources=1)
    assert panel.put(state("a", items_total=30, first_fetch_at=NOW - timedelta(days=3)))
    assert not panel.put(state("b"))
    assert panel.view(NOW)["rows"][0]["items_per_day"] == 10.0


def test_dashboard_state_reads_the_topic(unit_settings: Settings) -> None:
    """Records of the fetch state topic reach the status; a tombstone removes the source."""
    board = DashboardState(unit_settings, clock=lambda: NOW)
    board.on_fetch_state(b"a", encode(state("a", name="Alpha")))
    board.on_fetch_state(b"bad", b"{not json")
    assert board.status()["sources"]["rows"][0]["name"] == "Alpha"
    assert board.unreadable[unit_settings.topics.fetch_state] == 1
    board.on_fetch_state(b"a", None)
    assert board.status()["sources"]["total"] == 0
