"""The Audit panel's memory: the newest events of the audit topic, filterable."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from schemas.audit import AuditEvent, AuditQuery

AUDIT_KEPT: Final = 2_000
"""Most events held; `wirewatch audit` reads the whole topic."""


class AuditTrail:
    """Events by id in arrival order (the topic's order), the oldest dropped beyond the cap.

    An event the dashboard wrote itself is added at once and again when the
    follower reads it back; the id makes the second a no-op.
    """

    def __init__(self, keep: int = AUDIT_KEPT) -> None:
        self._events: OrderedDict[str, AuditEvent] = OrderedDict()
        self._keep = keep
        self.version = 0

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: AuditEvent) -> bool:
        """Keep ``event``; return False if it was already known."""
        if event.id in self._events:
            return False
        self._events[event.id] = event
        while len(self._events) > self._keep:
            self._events.popitem(last=False)
        self.version += 1
        return True

    def view(self, query: AuditQuery, limit: int) -> dict[str, Any]:
        """The newest events passing ``query`` (at most ``limit``), newest first, and the counts."""
        shown: list[dict[str, Any]] = []
        matching = 0
        for event in reversed(self._events.values()):
            if query.matches(event):
                matching += 1
                if len(shown) < limit:
                    shown.append(event.model_dump(mode="json"))
        return {"events": shown, "matching": matching, "kept": len(self._events)}
