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
    """A story notified within repeat_interval is a repeat unless the alert is an update."""
    guard = RepeatGuard()
    guard.note("desk", "story-x", 100)
    assert guard.is_repeat(make_alert(story_id="story-x"), "desk", 3600, 200)
    assert not guard.is_repeat(make_alert(story_id="story-x", is_update=True), "desk", 3600, 200)
    assert not guard.is_repeat(make_alert(story_id="story-x"), "other", 3600, 200)
    assert not guard.is_repeat(make_alert(story_id="story-x"), "desk", 3600, 3700)
