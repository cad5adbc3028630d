"""Source health: failing too long or quiet too long raises an alert; recovery clears it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.source_health import check_health
from ingest.source_list import SourceSpec
from schemas import Settings
from schemas.fetch_state import FetchState

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
SOURCE = SourceSpec(
    id="ledger", name="The Ledger", url="https://ledger.example/rss", tags=("world",)
)


def state(**fields: object) -> FetchState:
    return FetchState.model_validate(
        {"source_id": "ledger", "url": SOURCE.url, "interval_s": 300, **fields}
    )


def test_failing_long_enough_raises_once_then_clears(unit_settings: Settings) -> None:
    """An hour of failures raises one alert; the next check does not repeat it; success clears it."""
    failing = state(
        failing_since=NOW - timedelta(minutes=61), last_error="HTTP 503", last_status="failed"
    )
    raised_state, raised = check_health(failing, SOURCE, unit_settings, NOW)
    assert raised is not None
    assert raised.category == "source_health"
    assert raised.headline == "The Ledger has failed for 1 h 1 min: HTTP 503"
    assert raised.tags == ("source_health", "failing", "world")
    assert check_health(raised_state, SOURCE, unit_settings, NOW)[1] is None
    recovered = raised_state.model_copy(update={"failing_since": None})
    cleared_state, cleared = check_health(recovered, SOURCE, unit_settings, NOW)
    assert cleared is not None
    assert cleared.key == raised.key + "/resolved"
    assert cleared.is_update
    assert cleared_state.health_alert is None


def test_brief_failures_do_not_alert(unit_settings: Settings) -> None:
    """Failing for less than fetch_failing_alert_s is no alert."""
    assert (
        check_health(state(failing_since=NOW - timedelta(minutes=5)), SOURCE, unit_settings, NOW)[1]
        is None
    )


def test_quiet_for_several_usual_gaps(unit_settings: Settings) -> None:
    """A source that published hourly and has been silent for a day is quiet; for two hours it is not."""
    hourly = [NOW - timedelta(hours=24 + n) for n in range(5, 0, -1)]
    quiet = state(new_item_times=hourly, last_new_item_at=hourly[-1])
    _, alert = check_health(quiet, SOURCE, unit_settings, NOW)
    assert alert is not None
    assert "published nothing new for 1 days" in alert.headline or "for 25 h" in alert.headline
    recent = [NOW - timedelta(hours=2 + n) for n in range(5, 0, -1)]
    assert (
        check_health(
            state(new_item_times=recent, last_new_item_at=recent[-1]), SOURCE, unit_settings, NOW
        )[1]
        is None
    )
