"""Grouping in the Alertmanager sense, and the repeat guard, on an explicit clock."""

from __future__ import annotations

from alerts.grouping import Grouper, Pending, RepeatGuard
from alerts.routing import Route
from schemas import Alert
from tests.unit.alerts.factories import make_alert

ROUTE = Route(
    "root", "desk", ("category",), group_wait=30, group_interval=300, repeat_interval=3600
)


def pending(alert: Alert, at: float, route: Route = ROUTE, offset: int = 0) -> Pending:
    return Pending(alert, route.receiver, route, ("p0", offset), at)


def test_group_wait_collects_one_notification() -> None:
    """50 alerts of one group within group_wait become one notification listing all of them."""
    grouper = Grouper()
    alerts = [make_alert() for _ in range(50)]
    grouped = [
        grouper.add(pending(a, 1000 + i * 0.5), 1000 + i * 0.5) for i, a in enumerate(alerts)
    ]
    assert grouped == [False] + [True] * 49
    assert grouper.due(1029.9) == []
    (notification,) = grouper.due(1030)
    assert notification.alerts == tuple(alerts)
    assert len(grouper) == 0


def test_group_interval_after_first_notification() -> None:
    """After a group was notified, its next alert waits for group_interval, not group_wait."""
    grouper = Grouper()
    grouper.add(pending(make_alert(), 0), 0)
    assert len(grouper.due(30)) == 1
    grouper.add(pending(make_alert(), 40), 40)
    assert grouper.next_due() == 330
    assert grouper.due(329) == []
    assert len(grouper.due(330)) == 1


def test_quiet_group_starts_over() -> None:
    """A group quiet for longer than group_interval waits group_wait again."""
    grouper = Grouper()
    grouper.add(pending(make_alert(), 0), 0)
    grouper.due(30)
    grouper.due(400)
    grouper.add(pending(make_alert(), 1000), 1000)
    assert grouper.next_due() == 1030


def test_groups_are_separate() -> None:
    """Alerts of different group_by values are notified separately."""
    grouper = Grouper()
    grouper.add(pending(make_alert(category="oil"), 0), 0)
    grouper.add(pending(make_alert(category="gas"), 0), 0)
    assert sorted(n.alerts[0].category for n in grouper.due(30)) == ["gas", "oil"]


def test_ungrouped_route() -> None:
    """group_by ['...'] puts every alert in a group of its own."""
    route = Route("r", "desk", ("...",), 0, 300, 3600)
    grouper = Grouper()
    for _ in range(3):
        assert not grouper.add(pending(make_alert(), 0, route), 0)
    assert len(grouper.due(0)) == 3


def test_discard_drops_revoked_items() -> None:
    """Items of a revoked partition are removed and returned; the rest stay."""
    grouper = Grouper()
    grouper.add(Pending(make_alert(), "desk", ROUTE, ("p0", 1), 0), 0)
    grouper.add(Pending(make_alert(), "desk", ROUTE, ("p1", 1), 0), 0)
    removed = grouper.discard(lambda item: item.origin[0] == "p0")
    assert [item.origin for item in removed] == [("p0", 1)]
    assert len(grouper) == 1


def test_repeat_guard() -> None:
    """A rule notified on a story within repeat_interval is a repeat, unless an update."""
    guard = RepeatGuard()
    guard.note("desk", "story-x", "sanctions.crude", 100)
    assert guard.is_repeat(make_alert(story_id="story-x"), "desk", 3600, 200)
    assert not guard.is_repeat(make_alert(story_id="story-x", is_update=True), "desk", 3600, 200)
    assert not guard.is_repeat(make_alert(story_id="story-x"), "other", 3600, 200)
    assert not guard.is_repeat(make_alert(story_id="story-x"), "desk", 3600, 3700)


def test_another_rule_on_a_known_story_is_no_repeat() -> None:
    """A rule that had not fired on the story yet is news about it, sent as an update."""
    guard = RepeatGuard()
    guard.note("desk", "story-x", "drones", 100)
    assert not guard.is_repeat(make_alert(story_id="story-x", rule_id="visa"), "desk", 3600, 200)
    assert guard.knows("desk", "story-x")
    assert not guard.knows("other", "story-x")


def test_a_story_waiting_for_a_receiver_collects_its_alerts() -> None:
    """Alerts of one story join the group where it waits, whatever their category: one card."""
    grouper = Grouper()
    story = [make_alert(story_id="s1", category=c) for c in ("airspace", "war", "talks")]
    other = make_alert(story_id="s2", category="war")
    assert not grouper.add(pending(story[0], 0), 0)
    assert grouper.add(pending(story[1], 1), 1)
    assert not grouper.add(pending(other, 1), 1)
    assert grouper.add(pending(story[2], 2), 2)
    notifications = grouper.due(31)
    assert sorted(len(n.items) for n in notifications) == [1, 3]
    together = next(n for n in notifications if len(n.items) == 3)
    assert together.alerts == tuple(story)
    late = make_alert(story_id="s1", category="war")
    grouper.add(pending(late, 40), 40)
    (alone,) = grouper.due(400)
    assert alone.alerts == (late,)
