"""Alert policies: immediate, threshold, corroboration, cooldown, and replay-stable keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import Detection, EntityMention, ExtractedValue, Severity, Span
from schemas.common import TextField
from schemas.rules import AlertPolicy
from schemas.stories import GroupControl
from streams.aggregate import (
    Decision,
    GroupState,
    decide,
    detection_key,
    fold_control,
    group_keys,
    split_detection_key,
)

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
SPAN = Span(field=TextField.BODY, start=0, end=5, text="Brent")


@pytest.fixture
def make_detection() -> Callable[..., Detection]:
    """Factory of detections of rule r1 at T0 + ``minutes``."""

    def make(article_id: str, minutes: float = 0, **fields: Any) -> Detection:
        values: dict[str, Any] = {
            "key": f"{article_id}/r1@v1",
            "article_id": article_id,
            "story_id": "s1",
            "source": f"source-{article_id}",
            "title": f"Title {article_id}",
            "rule_id": "r1",
            "rule_version": "v1",
            "rule_title": "Rule one",
            "category": "energy",
            "severity": Severity.HIGH,
            "snippet": "Brent rose",
            "detected_at": T0 + timedelta(minutes=minutes),
        }
        values.update(fields)
        return Detection(**values)

    return make


def run(
    policy: AlertPolicy, detections: list[Detection], group: str = "story:s1"
) -> list[Decision]:
    """Fold detections one by one into a fresh state; return every decision."""
    state = GroupState()
    decisions = []
    for detection in detections:
        decision = decide(state, detection, policy, group=group)
        state = decision.state
        decisions.append(decision)
    return decisions


def fired(decisions: list[Decision]) -> list[int]:
    """Indexes of the detections that produced an alert."""
    return [i for i, d in enumerate(decisions) if d.alerts and not d.replayed]


def test_immediate_alerts_once_per_story(make_detection: Callable[..., Detection]) -> None:
    """The first detection alerts; a repeat story from the same source is quiet in cooldown."""
    policy = AlertPolicy()
    decisions = run(policy, [make_detection("a1"), make_detection("a2", 5, source="source-a1")])
    assert fired(decisions) == [0]
    alert = decisions[0].alerts[0]
    assert alert.key == "r1@v1/story:s1/20261110T090000.000000Z"
    assert [e.article_id for e in alert.evidence] == ["a1"]
    assert alert.is_update is False


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        pytest.param([0, 10, 20], [2], id="three-within-30m"),
        pytest.param([0, 10, 40], [], id="third-outside-window"),
        pytest.param([0, 10, 35, 38], [3], id="sliding-window"),
    ],
)
def test_threshold_counts_articles_within_window(
    make_detection: Callable[..., Detection], minutes: list[int], expected: list[int]
) -> None:
    """count: 3 within 30m fires on the third article inside a sliding window."""
    policy = AlertPolicy(policy="threshold", count=3, within="30m")
    detections = [make_detection(f"a{i}", m) for i, m in enumerate(minutes)]
    decisions = run(policy, detections)
    assert fired(decisions) == expected
    for index in expected:
        alert = decisions[index].alerts[0]
        assert alert.article_count == 3
        assert alert.policy == "threshold"


def test_threshold_counts_each_article_once(make_detection: Callable[..., Detection]) -> None:
    """The same article twice (a replay) does not count twice."""
    policy = AlertPolicy(policy="threshold", count=3, within="30m")
    decisions = run(
        policy, [make_detection("a1"), make_detection("a1", 1), make_detection("a2", 2)]
    )
    assert fired(decisions) == []
    assert decisions[1].replayed


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        pytest.param(["x", "x", "y"], [2], id="two-distinct"),
        pytest.param(["x", "X", "x"], [], id="case-insensitive-same-source"),
    ],
)
def test_corroboration_needs_distinct_sources(
    make_detection: Callable[..., Detection], sources: list[str], expected: list[int]
) -> None:
    """sources: 2 fires when a second distinct outlet reports the story."""
    policy = AlertPolicy(policy="corroboration", sources=2)
    detections = [make_detection(f"a{i}", i, source=s) for i, s in enumerate(sources)]
    decisions = run(policy, detections)
    assert fired(decisions) == expected
    if expected:
        assert decisions[expected[0]].alerts[0].source_count == 2


def test_cooldown_renotifies_on_new_figure_as_update(
    make_detection: Callable[..., Detection],
) -> None:
    """In cooldown a new extracted figure is an update with a key extending the first."""
    policy = AlertPolicy(renotify_after="6h")
    price = ExtractedValue(kind="price", value=80.0, currency="USD", span=SPAN)
    new_price = ExtractedValue(kind="price", value=85.0, currency="USD", span=SPAN)
    decisions = run(
        policy,
        [
            make_detection("a1", 0, source="x", values=(price,)),
            make_detection("a2", 10, source="x", values=(price,)),
            make_detection("a3", 20, source="x", values=(new_price,)),
        ],
    )
    assert fired(decisions) == [0, 2]
    update = decisions[2].alerts[0]
    assert update.is_update
    assert update.key == decisions[0].alerts[0].key + "/update-1"
    assert {v.value for v in update.values} == {80.0, 85.0}


def test_cooldown_renotifies_on_more_sources(make_detection: Callable[..., Detection]) -> None:
    """In cooldown a new source is a material change."""
    decisions = run(AlertPolicy(), [make_detection("a1", 0), make_detection("a2", 5)])
    assert fired(decisions) == [0, 1]
    assert decisions[1].alerts[0].source_count == 2


def test_after_cooldown_a_fresh_alert_opens_a_new_window(
    make_detection: Callable[..., Detection],
) -> None:
    """Once renotify_after has passed, the story alerts again under a new key."""
    decisions = run(
        AlertPolicy(renotify_after="1h"),
        [make_detection("a1", 0, source="x"), make_detection("a2", 61, source="x")],
    )
    assert fired(decisions) == [0, 1]
    first, second = decisions[0].alerts[0], decisions[1].alerts[0]
    assert second.key != first.key
    assert not second.is_update


def test_replayed_trigger_resends_the_same_alert(make_detection: Callable[..., Detection]) -> None:
    """Replaying the detection that fired re-sends the same alert (same key), nothing new."""
    policy = AlertPolicy(policy="threshold", count=2)
    first = run(policy, [make_detection("a1"), make_detection("a2", 1)])
    replay = decide(first[-1].state, make_detection("a2", 9), policy, group="story:s1")
    assert replay.replayed
    assert [a.key for a in replay.alerts] == [a.key for a in first[-1].alerts]


def test_replay_from_scratch_gives_the_same_keys(make_detection: Callable[..., Detection]) -> None:
    """Processing the same detections again from empty state yields identical keys."""
    policy = AlertPolicy(policy="threshold", count=2, within="1h")
    detections = [make_detection(f"a{i}", i * 7) for i in range(6)]
    keys = [[a.key for a in d.alerts] for d in run(policy, detections)]
    assert keys == [[a.key for a in d.alerts] for d in run(policy, detections)]


def test_entity_grouping_splits_by_entity(make_detection: Callable[..., Detection]) -> None:
    """A threshold grouped by entity counts one group per entity; otherwise the story."""
    entities = (
        EntityMention(id="country:RU", kind="country", name="Russia"),
        EntityMention(id="country:UA", kind="country", name="Ukraine"),
    )
    detection = make_detection("a1", entities=entities)
    by_entity = AlertPolicy(policy="threshold", count=2, group_by="entity")
    assert group_keys(detection, by_entity) == ["entity:country:RU", "entity:country:UA"]
    assert group_keys(detection, AlertPolicy()) == ["story:s1"]
    assert group_keys(make_detection("a2"), by_entity) == ["story:s1"]


def test_entity_kind_grouping_keeps_that_kind_only(
    make_detection: Callable[..., Detection],
) -> None:
    """``entity:commodity`` groups by commodities alone; without one, by story."""
    brent = EntityMention(id="commodity:brent", kind="commodity", name="Brent")
    russia = EntityMention(id="country:RU", kind="country", name="Russia")
    by_commodity = AlertPolicy(policy="threshold", count=2, group_by="entity:commodity")
    assert group_keys(make_detection("a1", entities=(brent, russia)), by_commodity) == [
        "entity:commodity:brent"
    ]
    assert group_keys(make_detection("a2", entities=(russia,)), by_commodity) == ["story:s1"]


def test_commodity_grouping_follows_the_figures(make_detection: Callable[..., Detection]) -> None:
    """``commodity`` groups by the commodities figures are bound to, not every one named."""
    brent = EntityMention(id="commodity:brent", kind="commodity", name="Brent")
    gold = EntityMention(id="commodity:gold", kind="commodity", name="Gold")
    move = ExtractedValue(
        kind="change_pct",
        value=3.0,
        commodity="commodity:brent",
        span=Span(field=TextField.BODY, start=0, end=2, text="3%"),
    )
    by_figure = AlertPolicy(policy="threshold", count=2, group_by="commodity")
    detection = make_detection("a1", entities=(brent, gold), values=(move,))
    assert group_keys(detection, by_figure) == ["entity:commodity:brent"]
    assert group_keys(make_detection("a2", entities=(gold,)), by_figure) == ["story:s1"]


@pytest.mark.parametrize("group_by", ["entities", "entity:", "entity:Commodity", "topic"])
def test_unknown_grouping_is_refused(group_by: str) -> None:
    """group_by is story, entity or entity:<kind>; anything else is a validation error."""
    with pytest.raises(ValueError, match="group_by"):
        AlertPolicy(policy="threshold", group_by=group_by)


@pytest.mark.parametrize("group", ["story:s1", "entity:country:RU"])
def test_detection_key_round_trips(group: str) -> None:
    """A detection key splits back into its rule id and group."""
    assert split_detection_key(detection_key("r.1", group)) == ("r.1", group)


@pytest.mark.parametrize("key", ["", "r1", "|story:s1", "r1|"])
def test_malformed_detection_key_is_refused(key: str) -> None:
    """A key without a rule id and a group raises ValueError."""
    with pytest.raises(ValueError, match="not a detection key"):
        split_detection_key(key)


def test_state_survives_a_json_round_trip(make_detection: Callable[..., Detection]) -> None:
    """The state stored in the changelog reloads to an equal state."""
    state = run(AlertPolicy(), [make_detection("a1")])[0].state
    assert GroupState.model_validate_json(state.model_dump_json()) == state


def test_a_wire_reprint_counts_as_its_original_source(
    make_detection: Callable[..., Detection],
) -> None:
    """A copy on another domain is the original's source: two texts, one outlet, no corroboration."""
    policy = AlertPolicy(policy="corroboration", sources=2)
    original = make_detection("a1", source="wire.example")
    reprint = make_detection(
        "a2", 1, source="reprint.example", copy_of="a1", copy_of_source="wire.example"
    )
    independent = make_detection("a3", 2, source="other.example")
    decisions = run(policy, [original, reprint, independent])
    assert fired(decisions) == [2]
    assert decisions[2].alerts[0].source_count == 2


def test_a_threshold_counts_reports_not_copies(make_detection: Callable[..., Detection]) -> None:
    """Three copies of one text are one report for a threshold of two."""
    policy = AlertPolicy(policy="threshold", count=2)
    copies = [
        make_detection("a1"),
        make_detection("a2", 1, copy_of="a1", copy_of_source="source-a1"),
        make_detection("a3", 2, copy_of="a1", copy_of_source="source-a1"),
    ]
    assert fired(run(policy, copies)) == []
    assert fired(run(policy, [*copies, make_detection("b1", 3)])) == [3]


def merge(
    absorbed: GroupState, into: GroupState, policy: AlertPolicy, at: datetime
) -> tuple[GroupState, GroupState, Decision]:
    """Run story B's merge into A through both control steps; return both states and A's decision."""
    control = GroupControl(
        type="story_merge", rule_id="r1", from_group="story:b", into_group="story:a", at=at
    )
    moved = fold_control(absorbed, control, policy, group="story:b")
    ((key, transfer),) = moved.forward
    assert key == "r1|story:a"
    assert isinstance(transfer, GroupControl)
    folded = fold_control(into, transfer, policy, group="story:a")
    return moved.state, folded.state, folded


def test_a_merge_lets_two_stories_of_one_source_corroborate(
    make_detection: Callable[..., Detection],
) -> None:
    """Each story had one source; merged, they have two, and the story alerts under A's id."""
    policy = AlertPolicy(policy="corroboration", sources=2)
    a = decide(GroupState(), make_detection("a1", story_id="a"), policy, group="story:a")
    b = decide(GroupState(), make_detection("b1", 1, story_id="b"), policy, group="story:b")
    assert not a.alerts
    assert not b.alerts
    _, state, decision = merge(b.state, a.state, policy, T0 + timedelta(minutes=2))
    (alert,) = decision.alerts
    assert alert.story_id == "a"
    assert alert.source_count == 2
    assert {e.article_id for e in alert.evidence} == {"a1", "b1"}
    assert state.absorbed == ("story:b",)


def test_an_alert_sent_under_the_absorbed_id_is_not_sent_again(
    make_detection: Callable[..., Detection],
) -> None:
    """B alerted before the merge; A takes B's alert over: a new detection is an update, not a new alert."""
    policy = AlertPolicy(policy="corroboration", sources=2)
    b = run(
        policy,
        [make_detection("b1", story_id="b"), make_detection("b2", 1, story_id="b")],
        group="story:b",
    )
    assert len(fired(b)) == 1
    a = decide(GroupState(), make_detection("a1", 2, story_id="a"), policy, group="story:a")
    _, state, decision = merge(b[-1].state, a.state, policy, T0 + timedelta(minutes=3))
    assert decision.alerts[0].is_update  # a third source: an update of B's alert
    assert decision.alerts[0].key.startswith(b[-1].alerts[0].key)
    quiet = decide(
        state, make_detection("a2", 4, source="source-a1", story_id="a"), policy, group="story:a"
    )
    assert quiet.alerts == ()


def test_merge_controls_are_replay_safe(make_detection: Callable[..., Detection]) -> None:
    """A replayed merge passes the same state on; a replayed transfer changes nothing."""
    policy = AlertPolicy(policy="corroboration", sources=2)
    a = decide(GroupState(), make_detection("a1", story_id="a"), policy, group="story:a")
    b = decide(GroupState(), make_detection("b1", 1, story_id="b"), policy, group="story:b")
    at = T0 + timedelta(minutes=2)
    moved, state, first = merge(b.state, a.state, policy, at)
    control = GroupControl(
        type="story_merge", rule_id="r1", from_group="story:b", into_group="story:a", at=at
    )
    again = fold_control(moved, control, policy, group="story:b")
    assert again.replayed
    ((_, transfer),) = again.forward
    assert isinstance(transfer, GroupControl)
    replay = fold_control(state, transfer, policy, group="story:a")
    assert replay.replayed
    assert replay.alerts == first.alerts


def test_a_moved_group_passes_detections_on(make_detection: Callable[..., Detection]) -> None:
    """A detection reaching an absorbed story's group goes on to the story that absorbed it."""
    policy = AlertPolicy(policy="corroboration", sources=2)
    moved, _, _ = merge(GroupState(), GroupState(), policy, T0)
    decision = decide(moved, make_detection("b9", 5, story_id="b"), policy, group="story:b")
    ((key, onward),) = decision.forward
    assert key == "r1|story:a"
    assert isinstance(onward, Detection)
    assert onward.story_id == "a"
