"""Alertmanager-style grouping over plain data, with the clock passed in.

A new group waits ``group_wait`` so alerts arriving together are sent
together; once a group has been notified, later alerts of it wait for
``group_interval`` after its last notification. Times are epoch seconds given
by the caller, so tests drive the clock.

One story, one notification: an alert whose story already waits for the same
receiver joins that story's group, whatever its own group would be, so three
rules firing on one article (three categories) make one notification showing
the story once with its three rules.

Alerts are events, not states, so ``repeat_interval`` means: a rule already
notified on a story to a receiver is not notified again within
``repeat_interval`` unless the alert is a story update (:class:`RepeatGuard`);
another rule firing on that story later is sent, as an update of the story.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts.labels import group_values
from alerts.routing import Route
from schemas import Alert


@dataclass(frozen=True)
class Pending:
    """One alert waiting to be notified to one receiver; ``origin`` is its (partition, offset) on the alerts topic."""

    alert: Alert
    receiver: str
    route: Route
    origin: tuple[Any, int]
    received_at: float


@dataclass(frozen=True)
class Notification:
    """What is rendered and sent once: a group of alerts, or a digest of them.

    ``known_stories``: the stories among them the receiver was already
    notified about; the templates mark those as updates.
    """

    receiver: str
    items: tuple[Pending, ...]
    kind: str = "group"
    window_s: float = 0.0
    known_stories: frozenset[str] = frozenset()

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """The alerts listed, in arrival order."""
        return tuple(item.alert for item in self.items)

    @property
    def id(self) -> str:
        """A stable id for logs and the ledger: receiver and first alert key."""
        return f"{self.receiver}:{self.items[0].alert.key}+{len(self.items) - 1}"


@dataclass
class _Group:
    route: Route
    items: list[Pending] = field(default_factory=list)
    flush_at: float = 0.0
    last_sent: float | None = None


GroupKey = tuple[str, str, tuple[str, ...]]


class Grouper:
    """Holds pending alerts by group and says which groups are due.

    A group quiet for ``group_interval`` after its last notification starts
    over: its next alert waits ``group_wait`` again. Due times sit in heaps,
    so each call costs O(log groups) however many groups are open.
    """

    def __init__(self) -> None:
        self._groups: dict[GroupKey, _Group] = {}
        self._story_groups: dict[tuple[str, str], GroupKey] = {}
        self._flush: list[tuple[float, int, GroupKey]] = []
        self._expire: list[tuple[float, int, GroupKey]] = []
        self._seq = itertools.count()
        self._count = 0

    def add(self, item: Pending, now: float) -> bool:
        """Add ``item``; return True if it joined alerts already waiting (it was grouped).

        It joins the group where its story already waits for its receiver, if any.
        """
        route = item.route
        story = (item.receiver, item.alert.story_id)
        key = self._story_groups.get(story)
        if key is None or not self._waits(key, item.alert.story_id):
            key = (route.id, item.receiver, group_values(item.alert, route.group_by))
        self._story_groups[story] = key
        group = self._groups.setdefault(key, _Group(route))
        grouped = bool(group.items)
        if not group.items:
            if group.last_sent is None or now - group.last_sent >= route.group_interval:
                group.flush_at = now + route.group_wait
            else:
                group.flush_at = group.last_sent + route.group_interval
            heapq.heappush(self._flush, (group.flush_at, next(self._seq), key))
        group.items.append(item)
        self._count += 1
        return grouped

    def _waits(self, key: GroupKey, story_id: str) -> bool:
        group = self._groups.get(key)
        return group is not None and any(i.alert.story_id == story_id for i in group.items)

    def due(self, now: float) -> list[Notification]:
        """Return the groups whose time has come, as notifications, and mark them sent."""
        ready: list[Notification] = []
        while self._flush and self._flush[0][0] <= now:
            _, _, key = heapq.heappop(self._flush)
            group = self._groups.get(key)
            if group is None or not group.items or group.flush_at > now:
                continue
            ready.append(Notification(receiver=key[1], items=tuple(group.items)))
            for item in group.items:
                if self._story_groups.get((item.receiver, item.alert.story_id)) == key:
                    del self._story_groups[(item.receiver, item.alert.story_id)]
            self._count -= len(group.items)
            group.items = []
            group.last_sent = now
            expiry = now + group.route.group_interval
            heapq.heappush(self._expire, (expiry, next(self._seq), key))
        while self._expire and self._expire[0][0] <= now:
            _, _, key = heapq.heappop(self._expire)
            group = self._groups.get(key)
            if (
                group is not None
                and not group.items
                and group.last_sent is not None
                and now - group.last_sent >= group.route.group_interval
            ):
                del self._groups[key]
        return ready

    def next_due(self) -> float | None:
        """Return the earliest time a group becomes due, or None when nothing waits."""
        while self._flush:
            flush_at, _, key = self._flush[0]
            group = self._groups.get(key)
            if group is not None and group.items and group.flush_at == flush_at:
                return flush_at
            heapq.heappop(self._flush)  # a stale entry: the group was sent or emptied
        return None

    def discard(self, drop: Callable[[Pending], bool]) -> list[Pending]:
        """Remove and return the pending items for which ``drop`` is true (partition revoked)."""
        removed: list[Pending] = []
        for group in self._groups.values():
            removed.extend(item for item in group.items if drop(item))
            group.items = [item for item in group.items if not drop(item)]
        for item in removed:
            self._story_groups.pop((item.receiver, item.alert.story_id), None)
        self._count -= len(removed)
        return removed

    def __len__(self) -> int:
        return self._count


class RepeatGuard:
    """Remembers when each rule was last notified on each story to each receiver."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], float] = {}
        self._stories: set[tuple[str, str]] = set()

    def is_repeat(self, alert: Alert, receiver: str, interval: float, now: float) -> bool:
        """Return True if the alert's rule was notified on its story less than ``interval`` ago.

        A story update (``is_update``) is never a repeat, nor is another rule on the story.
        """
        if alert.is_update:
            return False
        last = self._last.get((receiver, alert.story_id, alert.rule_id))
        return last is not None and now - last < interval

    def knows(self, receiver: str, story_id: str) -> bool:
        """Return True if ``story_id`` was notified to ``receiver`` before."""
        return (receiver, story_id) in self._stories

    def note(self, receiver: str, story_id: str, rule_id: str, at: float) -> None:
        """Record that ``rule_id`` was notified on ``story_id`` to ``receiver`` at ``at``."""
        if story_id:
            key = (receiver, story_id, rule_id)
            self._last[key] = max(at, self._last.get(key, at))
            self._stories.add((receiver, story_id))
