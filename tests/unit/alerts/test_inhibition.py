"""Inhibition: a firing alert mutes related alerts, as Alertmanager's inhibit_rules do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.inhibition import Inhibitor, InhibitRule, story_merges
from alerts.routing import load_routes
from schemas import Alert, ConfigError, EntityMention, Severity
from schemas.kafka import encode
from schemas.stories import StoryAssignment, StoryDecision, StoryFeatures, StoryFence
from tests.unit.alerts.factories import make_alert

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
WAR = {"category": "military_offensive", "severity": Severity.HIGH}
PL = EntityMention(id="country:PL", kind="country", name="Poland")
UA = EntityMention(id="country:UA", kind="country", name="Ukraine")


def rule(**fields: Any) -> InhibitRule:
    values: dict[str, Any] = {
        "source_matchers": ["category=military_offensive", "severity=high"],
        "target_matchers": ["category=peace_talks"],
        "equal": ["story_id"],
        "for": "6h",
    }
    values.update(fields)
    return InhibitRule.model_validate(values)


def alert(minutes: float = 0, **fields: Any) -> Alert:
    return make_alert(created_at=T0 + timedelta(minutes=minutes), **fields)


def test_a_source_mutes_a_target_of_the_same_story() -> None:
    """An offensive alert on a story mutes the peace-talks alert of that story, not of another."""
    inhibitor = Inhibitor([rule()])
    source = alert(0, story_id="s1", **WAR)
    inhibitor.observe(source, T0)
    muting = inhibitor.muting(alert(5, story_id="s1", category="peace_talks"), T0)
    assert muting is not None
    assert (muting.rule, muting.source_key) == (0, source.key)
    assert "inhibit_rules[0]" in str(muting)
    assert inhibitor.muting(alert(5, story_id="s2", category="peace_talks"), T0) is None
    assert inhibitor.muting(alert(5, story_id="s1", category="sanctions"), T0) is None


def test_a_source_mutes_for_its_duration_only() -> None:
    """After ``for`` the source no longer mutes, and is forgotten."""
    inhibitor = Inhibitor([rule(**{"for": "1h"})])
    inhibitor.observe(alert(0, story_id="s1", **WAR), T0)
    late = alert(61, story_id="s1", category="peace_talks")
    assert inhibitor.muting(late, T0 + timedelta(minutes=61)) is None
    assert len(inhibitor) == 0


def test_a_target_still_waiting_is_muted_by_a_later_source() -> None:
    """A target created before the source but not yet sent is muted when its group is due."""
    inhibitor = Inhibitor([rule()])
    target = alert(0, story_id="s1", category="peace_talks")
    assert inhibitor.muting(target, T0) is None
    inhibitor.observe(alert(1, story_id="s1", **WAR), T0 + timedelta(minutes=1))
    assert inhibitor.muting(target, T0 + timedelta(minutes=1)) is not None


def test_routes_published_anew_keep_the_sources_of_the_rules_they_keep() -> None:
    """A kept rule still mutes with the sources seen before; a new rule starts with none."""
    kept, added = rule(), rule(target_matchers=["category=sanctions"])
    inhibitor = Inhibitor([kept])
    inhibitor.observe(alert(0, story_id="s1", **WAR), T0)
    swapped = inhibitor.reconfigured([added, kept])
    assert swapped.muting(alert(5, story_id="s1", category="peace_talks"), T0) is not None
    assert swapped.muting(alert(5, story_id="s1", category="sanctions"), T0) is None


def test_shared_entities_are_enough_for_entity_equality() -> None:
    """equal: [entity] holds when the alerts share one entity id."""
    inhibitor = Inhibitor([rule(equal=["entity"], target_matchers=["category=airspace_violation"])])
    inhibitor.observe(alert(0, entities=(PL, UA), **WAR), T0)
    assert inhibitor.muting(alert(1, entities=(PL,), category="airspace_violation"), T0)
    assert inhibitor.muting(alert(1, entities=(), category="airspace_violation"), T0) is None


def test_an_alert_never_mutes_itself() -> None:
    """An alert matching both sides is not its own source."""
    both = rule(target_matchers=["severity=high"])
    inhibitor = Inhibitor([both])
    source = alert(0, story_id="s1", **WAR)
    inhibitor.observe(source, T0)
    assert inhibitor.muting(source, T0) is None
    assert inhibitor.muting(alert(1, story_id="s1", **WAR), T0) is not None


def test_sources_are_bounded() -> None:
    """Past the cap the oldest sources are forgotten first."""
    inhibitor = Inhibitor([rule()], max_sources=3)
    for n in range(5):
        inhibitor.observe(alert(n, story_id=f"s{n}", **WAR), T0)
    assert len(inhibitor) == 3
    assert inhibitor.muting(alert(9, story_id="s0", category="peace_talks"), T0) is None
    assert inhibitor.muting(alert(9, story_id="s4", category="peace_talks"), T0) is not None


def test_a_merge_moves_the_sources_of_the_absorbed_story() -> None:
    """Story b merged into a: b's offensive alert mutes a's peace-talks alert (and a late alert of b)."""
    inhibitor = Inhibitor([rule()])
    assert inhibitor.compares_stories
    assert not Inhibitor([rule(equal=["entity"])]).compares_stories
    source = alert(0, story_id="b", **WAR)
    inhibitor.observe(source, T0)
    target = alert(5, story_id="a", category="peace_talks")
    assert inhibitor.muting(target, T0) is None
    inhibitor.merge("b", "a")
    muting = inhibitor.muting(target, T0)
    assert muting is not None
    assert muting.source_key == source.key
    late_of_b = alert(6, story_id="b", category="peace_talks")
    assert inhibitor.muting(late_of_b, T0) is not None
    inhibitor.merge("a", "c")  # a chain: b is in c now, as a is
    assert inhibitor.muting(alert(7, story_id="c", category="peace_talks"), T0) is not None
    assert inhibitor.muting(alert(7, story_id="d", category="peace_talks"), T0) is None
    kept = inhibitor.reconfigured([rule()])
    assert kept.muting(alert(8, story_id="c", category="peace_talks"), T0) is not None


def test_a_merge_known_first_applies_to_sources_seen_after_it() -> None:
    """A merge read before the absorbed story's source (topics read in any order) still moves it."""
    inhibitor = Inhibitor([rule()])
    inhibitor.merge("b", "a")
    inhibitor.merge("a", "b")  # a loop is refused, not followed
    inhibitor.observe(alert(0, story_id="b", **WAR), T0)
    assert inhibitor.muting(alert(5, story_id="a", category="peace_talks"), T0) is not None


def test_story_merges_are_read_from_stories_topic_records() -> None:
    """An assignment that bridged stories names each absorbed story and the one it joined."""
    at = T0

    def assignment(**decision: Any) -> bytes:
        features = StoryFeatures(article_id="x1", source="s", event_at=at, record_at=at)
        return encode(StoryAssignment(features=features, decision=StoryDecision(**decision)))

    joined = assignment(kind="joined", story_id="a", candidate="a", merged=("b", "c"))
    assert story_merges(joined) == [("b", "a"), ("c", "a")]
    assert story_merges(assignment(kind="opened", story_id="a")) == []
    assert story_merges(encode(StoryFence(token="t", at=at))) == []
    assert story_merges(b"not json") == []
    assert story_merges(None) == []


def test_no_rules_mute_nothing() -> None:
    """Without inhibit rules nothing is remembered or muted."""
    inhibitor = Inhibitor([])
    inhibitor.observe(alert(0, **WAR), T0)
    assert (len(inhibitor), inhibitor.muting(alert(0), T0)) == (0, None)


def write(tmp_path: Path, inhibit: list[dict[str, Any]]) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(
        yaml.safe_dump(
            {"receivers": {"desk": {}}, "route": {"receiver": "desk"}, "inhibit_rules": inhibit}
        )
    )
    return path


def test_route_file_reads_inhibit_rules(tmp_path: Path) -> None:
    """inhibit_rules in the route file: text matchers, equal labels and a duration."""
    routes = load_routes(
        write(
            tmp_path,
            [
                {
                    "source_matchers": ["category=military_offensive", "severity=~high|critical"],
                    "target_matchers": ["category=peace_talks"],
                    "equal": ["story_id"],
                    "for": "6h",
                }
            ],
        )
    )
    [only] = routes.inhibit_rules
    assert [str(m) for m in only.source_matchers] == [
        "category=military_offensive",
        "severity=~high|critical",
    ]
    assert only.for_ == timedelta(hours=6)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"target_matchers": ["category=x"]}, "source_matchers"),
        ({"source_matchers": ["category=x"], "target_matchers": ["colour=red"]}, "LABEL one of"),
        (
            {"source_matchers": ["category=x"], "target_matchers": ["receiver=desk"]},
            "cannot name one",
        ),
        (
            {"source_matchers": ["category=x"], "target_matchers": ["tag=y"], "equal": ["url"]},
            "cannot require equal",
        ),
        (
            {"source_matchers": ["category=x"], "target_matchers": ["tag=y"], "for": "0s"},
            "positive duration",
        ),
    ],
)
def test_bad_inhibit_rules_are_refused(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    """A malformed inhibit rule is a ConfigError naming the file and the problem."""
    with pytest.raises(ConfigError, match=message):
        load_routes(write(tmp_path, [entry]))
