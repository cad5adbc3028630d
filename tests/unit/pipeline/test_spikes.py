"""Breaking-news spikes: the last window against the same hour of past weeks, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import Detection, EntityMention, Severity
from schemas.rules import AlertPolicy
from streams.aggregate import group_keys
from streams.spikes import BUCKET_S, MAX_MEMBERS, SpikeDecision, SpikeRule, SpikeState, decide_spike

# A Sunday, 03:00 UTC: a quiet hour of the week.
SUNDAY_NIGHT = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)
RULE = SpikeRule("poland-watch", "v1", "News about Poland", "airspace_violation", Severity.HIGH)
POLICY = AlertPolicy(policy="spike")
POLAND = EntityMention(id="country:PL", kind="country", name="Poland")


class Counter:
    """Feeds detections to one key, numbering articles."""

    def __init__(self, policy: AlertPolicy = POLICY, group: str = "rule") -> None:
        self.policy = policy
        self.group = group
        self.state = SpikeState()
        self.n = 0

    def detection(self, at: datetime, source: str = "s0", story: str | None = None) -> Detection:
        self.n += 1
        return Detection(
            key=f"a{self.n}/poland-watch@v1",
            article_id=f"a{self.n}",
            story_id=story or f"story-{self.n}",
            source=source,
            title=f"Report {self.n}",
            url=f"https://news.example/{self.n}",
            rule_id="poland-watch",
            rule_version="v1",
            rule_title="News about Poland",
            category="airspace_violation",
            severity=Severity.HIGH,
            entities=(POLAND,),
            detected_at=at,
        )

    def feed(self, detection: Detection) -> SpikeDecision:
        decision = decide_spike(self.state, detection, self.policy, group=self.group, rule=RULE)
        self.state = decision.state
        return decision

    def add(self, at: datetime, **fields: str) -> SpikeDecision:
        return self.feed(self.detection(at, **fields))

    def history(self, end: datetime, days: int, per_hour: int) -> None:
        """``per_hour`` articles every hour of the ``days`` days before ``end``."""
        hours = days * 24
        for hour in range(hours, 0, -1):
            for n in range(per_hour):
                self.add(end - timedelta(hours=hour) + timedelta(minutes=5 + n), source=f"h{n}")

    def burst(self, end: datetime, count: int, sources: int = 4) -> list[SpikeDecision]:
        """``count`` articles in the hour before ``end``, from ``sources`` outlets, 3 stories."""
        start = end - timedelta(minutes=55)
        return [
            self.add(start + timedelta(minutes=n), source=f"s{n % sources}", story=f"st{n % 3}")
            for n in range(count)
        ]


def alerts_of(decisions: list[SpikeDecision]) -> list[tuple[int, object]]:
    return [(i, a) for i, d in enumerate(decisions) for a in d.alerts if not d.replayed]


def test_no_baseline_no_spike() -> None:
    """Without any history at that hour there is no baseline, so no spike, however many articles."""
    counter = Counter()
    assert alerts_of(counter.burst(SUNDAY_NIGHT, 40)) == []


def test_a_burst_against_a_quiet_week_fires_with_its_figures() -> None:
    """A week of one article an hour, then a burst from 4 outlets: a spike, explained."""
    counter = Counter()
    counter.history(SUNDAY_NIGHT - timedelta(hours=1), days=8, per_hour=1)
    found = alerts_of(counter.burst(SUNDAY_NIGHT, 6))
    assert len(found) == 1
    index, alert = found[0]
    assert index == 4  # the fifth article of the burst, from the fourth outlet
    assert alert.policy == "spike"
    spike = alert.spike
    assert spike is not None
    assert (spike.key, spike.reference, spike.slots, spike.window_s) == ("rule", "week", 1, 3600)
    assert spike.current == 5
    assert spike.baseline == pytest.approx(1.0)
    assert spike.ratio == 5.0
    assert spike.sources == 4
    assert [(s.story_id, s.articles) for s in spike.top_stories] == [
        ("st0", 2),
        ("st1", 2),
        ("st2", 1),
    ]
    assert alert.story_id == "st0"
    assert alert.rule_id == "poland-watch"
    assert alert.key.startswith("poland-watch@v1/rule/")
    assert alert.evidence[0].article_id == f"a{counter.n - 6 + 4}"
    assert alert.entities == (POLAND,)


def test_the_baseline_is_the_same_hour_of_the_week() -> None:
    """A busy Monday morning makes a burst ordinary then; the same burst on a quiet night is a spike."""
    monday = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    busy = Counter()
    for week in (2, 1):
        busy.burst(monday - timedelta(weeks=week), 14)
    assert alerts_of(busy.burst(monday, 14)) == []
    quiet = Counter()
    quiet.history(SUNDAY_NIGHT - timedelta(hours=1), days=15, per_hour=1)
    assert alerts_of(quiet.burst(SUNDAY_NIGHT, 14))


def test_with_less_than_a_week_the_previous_days_are_the_baseline() -> None:
    """Three days of history: the same hour on the two days fully known is the baseline."""
    counter = Counter()
    counter.history(SUNDAY_NIGHT - timedelta(hours=1), days=3, per_hour=1)
    [(_, alert)] = alerts_of(counter.burst(SUNDAY_NIGHT, 6))
    assert alert.spike is not None
    assert (alert.spike.reference, alert.spike.slots) == ("day", 2)


def test_a_spike_needs_its_count_and_sources() -> None:
    """Many articles from one outlet, or too few articles, are no spike."""
    counter = Counter()
    counter.history(SUNDAY_NIGHT - timedelta(hours=1), days=8, per_hour=0)
    counter.add(SUNDAY_NIGHT - timedelta(days=8))
    assert alerts_of(counter.burst(SUNDAY_NIGHT, 20, sources=1)) == []
    few = Counter(AlertPolicy(policy="spike", count=5, sources=2, ratio=2))
    few.add(SUNDAY_NIGHT - timedelta(days=8))
    assert alerts_of(few.burst(SUNDAY_NIGHT, 4)) == []


def test_in_cooldown_only_a_doubled_count_is_an_update() -> None:
    """After a spike alert, more articles alert again only when the count has doubled."""
    counter = Counter()
    counter.add(SUNDAY_NIGHT - timedelta(days=8))
    found = alerts_of(counter.burst(SUNDAY_NIGHT, 20))
    assert [i for i, _ in found] == [4, 9, 19]
    first, *updates = (alert for _, alert in found)
    assert [a.spike.current for a in (first, *updates)] == [5, 10, 20]  # type: ignore[union-attr]
    assert [a.is_update for a in updates] == [True, True]
    assert [a.key for a in updates] == [first.key + "/update-1", first.key + "/update-2"]


def test_a_replayed_article_resends_the_same_alert() -> None:
    """The detection that fired, replayed, re-sends its alert; nothing is counted twice."""
    counter = Counter()
    counter.add(SUNDAY_NIGHT - timedelta(days=8))
    decisions = counter.burst(SUNDAY_NIGHT, 5)
    trigger = next(i for i, d in enumerate(decisions) if d.alerts)
    detection = Detection.model_validate(
        {**counter.detection(SUNDAY_NIGHT).model_dump(), "article_id": f"a{trigger + 2}"}
    )
    replay = counter.feed(detection)
    assert replay.replayed
    assert replay.alerts == decisions[trigger].alerts
    assert replay.state == counter.state


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 24 * 70), min_size=1, max_size=500))
def test_state_stays_bounded(hours: list[float]) -> None:
    """Counts never reach back past the baseline; the window holds at most MAX_MEMBERS."""
    counter = Counter(AlertPolicy(policy="spike", baseline="2w"))
    for at in sorted(hours):
        counter.add(SUNDAY_NIGHT + timedelta(hours=at), source=f"s{int(at) % 5}")
    state = counter.state
    newest = SUNDAY_NIGHT + timedelta(hours=max(hours))
    oldest = (newest - timedelta(weeks=2, hours=1)).timestamp() // BUCKET_S - 1
    assert all(slot >= oldest for slot, _ in state.buckets)
    assert len(state.buckets) <= 14 * 144 + 8
    assert len(state.members) <= MAX_MEMBERS


def test_spike_keys() -> None:
    """A spike counts by rule, by category or by each entity (of a kind)."""
    detection = Counter().detection(SUNDAY_NIGHT)
    assert group_keys(detection, AlertPolicy(policy="spike")) == ["rule"]
    by_category = AlertPolicy(policy="spike", group_by="category")
    assert group_keys(detection, by_category) == ["category:airspace_violation"]
    by_country = AlertPolicy(policy="spike", group_by="entity:country")
    assert group_keys(detection, by_country) == ["entity:country:PL"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"policy": "spike", "group_by": "story"}, "a spike cannot group_by story"),
        ({"policy": "spike", "within": "2d"}, "between 5m and 1d"),
        ({"policy": "spike", "baseline": "20w"}, "between 1d and 12w"),
        ({"policy": "spike", "ratio": 1}, "greater than 1"),
        ({"policy": "threshold", "group_by": "rule"}, "for the spike policy only"),
    ],
)
def test_bad_spike_policies_are_refused(fields: dict[str, object], message: str) -> None:
    """A spike policy that cannot work is refused with a message saying why."""
    with pytest.raises(ValidationError, match=message):
        AlertPolicy.model_validate(fields)


def test_spike_defaults() -> None:
    """Unless set, a spike counts the rule's articles over 1h, needing 5 articles and 3 sources."""
    policy = AlertPolicy(policy="spike")
    assert (policy.group_by, policy.within, policy.count, policy.sources, policy.ratio) == (
        "rule",
        timedelta(hours=1),
        5,
        3,
        3.0,
    )
