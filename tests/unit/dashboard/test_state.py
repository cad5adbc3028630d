"""The dashboard's view model fed record by record, as the topic followers feed it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from alerts.silences import new_silence, parse_matcher
from schemas import DeadLetter, Detection, Settings
from schemas.kafka import encode
from streams.rulebook import compile_packs
from streams.rules import load_pack_text
from tests.unit.alerts.factories import make_alert
from tests.unit.dashboard.conftest import NOW, level
from wirewatch.dashboard.feed import AlertFilter, FeedEntry
from wirewatch.dashboard.state import DashboardState

PACK = (
    '{"rules": [{"id": "rule-a", "title": "A", "category": "c", "severity": "low", "query": "a"}]}'
)


def test_records_feed_every_panel(
    unit_settings: Settings, make_detection: Callable[..., Detection]
) -> None:
    """Alerts, detections, dead letters and silences each reach their panel; new alerts are announced."""
    announced: list[list[FeedEntry]] = []
    state = DashboardState(unit_settings, clock=lambda: NOW, on_new_alert=announced.append)
    alert = make_alert(story_id="s1")
    state.on_alert(alert.key.encode(), encode(alert))
    state.on_alert(alert.key.encode(), encode(alert))  # a replay
    figure = level("spread", 19.4, commodity="commodity:urals", benchmark="commodity:brent")
    state.on_detection(b"k", encode(make_detection(values=(figure,))))
    letter = DeadLetter.wrap(b"{", stage="detect", origin="o", reason="invalid_json", error="e")
    state.dead_letter_handler("articles.dlq")(b"k", encode(letter))
    assert [[e.alert.key for e in story] for story in announced] == [[alert.key]]
    status = state.status()
    assert status["alerts_total"] == 1
    assert status["dead_letters"]["total"] == 1
    assert status["hits"]["rules"][0]["total"] == 1
    assert status["series"][0]["label"] == "Urals spread to Brent"
    assert state.alerts(AlertFilter())["matching"] == 1
    assert state.stories(AlertFilter())["stories"][0]["story_id"] == "s1"


def test_story_carries_the_series_of_its_figures(
    unit_settings: Settings, make_detection: Callable[..., Detection]
) -> None:
    """A story with a spread shows that spread's series, points from every detection in memory."""
    state = DashboardState(unit_settings, clock=lambda: NOW)
    figure = level("spread", 19.4, commodity="commodity:urals", benchmark="commodity:brent")
    for hours in (1, 2):
        state.on_detection(
            None,
            encode(make_detection(published_at=NOW - timedelta(hours=hours), values=(figure,))),
        )
    alert = make_alert(story_id="s1", values=(figure,))
    state.on_alert(None, encode(alert))
    story = state.story("s1")
    assert story is not None
    (series,) = story["series"]
    assert len(series["points"]) == 2
    assert state.story("unknown") is None


def test_unreadable_records_are_counted_not_fatal(unit_settings: Settings) -> None:
    """A record that is not the topic's model is counted per topic and skipped."""
    state = DashboardState(unit_settings)
    state.on_alert(None, b"{not an alert")
    state.on_detection(None, b"[]")
    state.on_silence(b"id", b"{}")
    assert state.unreadable == {
        unit_settings.topics.alerts: 1,
        unit_settings.topics.detections: 1,
        unit_settings.topics.silences: 1,
    }
    assert len(state.feed) == 0


def test_ready_once_history_is_read_and_rules_are_in(unit_settings: Settings) -> None:
    """Ready needs every followed topic caught up and a rule set installed."""
    state = DashboardState(unit_settings)
    assert not state.ready
    state.set_caught_up("alerts", False)
    state.install_rules(compile_packs([load_pack_text(PACK, name="p")], None))
    assert not state.ready
    state.set_caught_up("alerts", True)
    assert state.ready
    assert state.status()["ruleset"]["rules"] == 1


def test_silence_tombstone_forgets_it(unit_settings: Settings) -> None:
    """A tombstone on the compacted silences topic removes the silence from the page."""
    state = DashboardState(unit_settings)
    silence = new_silence([parse_matcher("tag=x")], timedelta(hours=1), "why", "me")
    state.on_silence(silence.id.encode(), encode(silence))
    assert [v["state"] for v in state.silence_views()] == ["active"]
    state.on_silence(silence.id.encode(), None)
    assert state.silence_views() == []
