"""The dashboard's view model fed record by record, as the topic followers feed it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from alerts.silences import new_silence, parse_matcher
from schemas import DeadLetter, Detection, Evidence, Settings
from schemas.kafka import encode
from schemas.stories import GroupControl, StoryAssignment, StoryDecision, StoryFeatures
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


def test_story_view_says_why_and_includes_absorbed_stories(unit_settings: Settings) -> None:
    """Decisions read from the stories topic explain each article; an absorbed story's alerts join."""
    state = DashboardState(unit_settings, clock=lambda: NOW)
    at = NOW - timedelta(hours=1)

    def assignment(article_id: str, **decision: Any) -> StoryAssignment:
        return StoryAssignment(
            features=StoryFeatures(article_id=article_id, source="s", event_at=at, record_at=at),
            decision=StoryDecision(**decision),
        )

    state.on_story(b"a", encode(assignment("a1", kind="opened", story_id="a")))
    state.on_story(b"b", encode(assignment("b1", kind="opened", story_id="b")))
    state.on_story(
        b"a",
        encode(assignment("c1", kind="joined", story_id="a", candidate="a", merged=("b",))),
    )
    for story_id, article_id in (("a", "a1"), ("b", "b1")):
        state.on_alert(
            None,
            encode(
                make_alert(
                    key=f"k-{story_id}",
                    story_id=story_id,
                    evidence=(Evidence(article_id=article_id, source="s", title=article_id),),
                )
            ),
        )
    view = state.story("a")
    assert view is not None
    assert {a["article_id"] for a in view["articles"]} == {"a1", "b1"}
    why = {w["article_id"]: w for w in view["why"]}
    assert why["a1"]["text"].startswith("opened story a")
    assert why["b1"]["kind"] == "opened"


def test_merge_controls_on_the_detections_topic_are_not_unreadable(unit_settings: Settings) -> None:
    """The detections topic also carries story-merge controls: skipped, not counted as unreadable."""
    state = DashboardState(unit_settings)
    control = GroupControl(
        type="story_merge", rule_id="r", from_group="story:b", into_group="story:a", at=NOW
    )
    state.on_detection(b"r|story:b", encode(control))
    assert not state.unreadable
