"""The Sources panel: each fetched source's health, read from the fetch state topic.

Pure data over :class:`~schemas.fetch_state.FetchState` records: the latest
state per source (bounded), and a view that puts the sources needing
attention first (an open health alert, then failures) with counts by status.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Final

from schemas.fetch_state import FetchState

MAX_SOURCES: Final = 50_000
ROWS: Final = 200
"""Most sources listed on the page (those needing attention first)."""
_FAILING: Final = frozenset({"failed", "refused", "rate_limited"})


class SourceHealth:
    """The latest state of every source seen on the fetch state topic."""

    def __init__(self, max_sources: int = MAX_SOURCES) -> None:
        self._states: dict[str, FetchState] = {}
        self._max = max_sources

    def __len__(self) -> int:
        return len(self._states)

    def put(self, state: FetchState) -> bool:
        """Keep ``state`` as its source's latest; False when the panel is full and it is new."""
        if state.source_id not in self._states and len(self._states) >= self._max:
            return False
        self._states[state.source_id] = state
        return True

    def remove(self, source_id: str) -> None:
        """Forget a source (a tombstone on the topic)."""
        self._states.pop(source_id, None)

    def view(self, now: datetime, rows: int = ROWS) -> dict[str, Any]:
        """The panel's JSON: counts by status, and the sources, those needing attention first."""

        def rank(state: FetchState) -> tuple[int, str]:
            if state.health_alert:
                return 0, state.source_id
            if state.last_status in _FAILING:
                return 1, state.source_id
            return 2, (state.name or state.source_id).casefold()

        ordered = sorted(self._states.values(), key=rank)
        return {
            "total": len(self._states),
            "alerting": sum(1 for s in self._states.values() if s.health_alert),
            "by_status": dict(Counter(s.last_status for s in self._states.values())),
            "rows": [_row(state, now) for state in ordered[:rows]],
        }


def _row(state: FetchState, now: datetime) -> dict[str, Any]:
    def iso(when: datetime | None) -> str | None:
        return when.isoformat() if when else None

    return {
        "id": state.source_id,
        "name": state.name or state.source_id,
        "url": state.url,
        "status": state.last_status,
        "alerting": state.health_alert is not None,
        "last_fetch_at": iso(state.last_fetch_at),
        "last_new_item_at": iso(state.last_new_item_at),
        "items_per_day": round(state.items_per_day(now), 1),
        "interval_s": state.interval_s,
        "failures": state.failures,
        "error": state.last_error,
        "push": state.websub.state if state.websub else None,
    }
