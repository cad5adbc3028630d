"""Rule health: hits per rule per hour, and the dead letters of the pipeline and the notifier.

Pure data: :class:`HourlyHits` counts each detection once (a detection is
sent once per alert group and again on a replay, always with the same key)
in the hour it was made, over a sliding window; :class:`DeadLetterLog` keeps
counts by topic, stage and reason, and the latest letters.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from schemas import DeadLetter, Detection
from schemas.rules import RuleSpec

HOUR: Final = 3600
MAX_PREVIEW: Final = 2_000
"""Characters of a dead letter's payload shown on the page."""


class HourlyHits:
    """Detections per rule per clock hour over the last ``hours`` hours.

    Bounded: at most ``max_rules`` rule ids and ``max_keys`` remembered
    detection keys (the oldest are forgotten first).
    """

    def __init__(self, hours: int, max_rules: int = 1_000, max_keys: int = 100_000) -> None:
        self.hours = hours
        self.max_rules = max_rules
        self.max_keys = max_keys
        self._counts: dict[str, dict[int, int]] = {}
        self._last: dict[str, float] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()

    def _first_hour(self, now: datetime) -> int:
        return int(now.timestamp() // HOUR) - self.hours + 1

    def add(self, detection: Detection, now: datetime) -> bool:
        """Count ``detection`` unless already counted or older than the window; True if counted."""
        if detection.key in self._seen:
            return False
        at = detection.detected_at.timestamp()
        hour = int(at // HOUR)
        if hour < self._first_hour(now):
            return False
        rule = detection.rule_id
        if rule not in self._counts and len(self._counts) >= self.max_rules:
            return False
        self._seen[detection.key] = None
        if len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        per_hour = self._counts.setdefault(rule, {})
        per_hour[hour] = per_hour.get(hour, 0) + 1
        self._last[rule] = max(at, self._last.get(rule, 0.0))
        return True

    def prune(self, now: datetime) -> None:
        """Forget the hours that left the window."""
        first = self._first_hour(now)
        for rule in list(self._counts):
            per_hour = {h: n for h, n in self._counts[rule].items() if h >= first}
            if per_hour:
                self._counts[rule] = per_hour
            else:
                del self._counts[rule]
                self._last.pop(rule, None)

    def table(self, now: datetime, rules: Mapping[str, RuleSpec]) -> dict[str, Any]:
        """Return the hits chart: hour starts, and per rule its counts per hour.

        Every rule of ``rules`` is listed, with zeros when it never fired (a
        silent rule is news too), then rules no longer in the set that fired
        within the window.
        """
        self.prune(now)
        first = self._first_hour(now)
        hours = list(range(first, first + self.hours))
        found = []
        for rule_id in [*rules, *sorted(set(self._counts) - set(rules))]:
            per_hour = self._counts.get(rule_id, {})
            found.append((rule_id, [per_hour.get(h, 0) for h in hours], sum(per_hour.values())))
        found.sort(key=lambda item: (-item[2], item[0]))
        rows = []
        for rule_id, counts, total in found:
            spec = rules.get(rule_id)
            last = self._last.get(rule_id)
            rows.append(
                {
                    "rule_id": rule_id,
                    "title": spec.title if spec else "",
                    "category": spec.category if spec else "",
                    "severity": spec.severity.value if spec else "",
                    "enabled": spec.enabled if spec else False,
                    "in_rule_set": spec is not None,
                    "counts": counts,
                    "total": total,
                    "last_hit": datetime.fromtimestamp(last, UTC).isoformat() if last else None,
                }
            )
        totals = [sum(counts[i] for _, counts, _ in found) for i in range(len(hours))]
        return {
            "hours": [datetime.fromtimestamp(h * HOUR, UTC).isoformat() for h in hours],
            "totals": totals,
            "rules": rows,
        }


class DeadLetterLog:
    """Dead letters seen: counts by (topic, stage, reason), and the latest ``keep`` letters.

    At most ``max_reasons`` distinct counters; letters past that count under reason ``other``.
    """

    def __init__(self, keep: int = 50, max_reasons: int = 200) -> None:
        self.max_reasons = max_reasons
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._recent: deque[tuple[str, DeadLetter]] = deque(maxlen=keep)

    def __len__(self) -> int:
        return sum(self._counts.values())

    def add(self, topic: str, letter: DeadLetter) -> None:
        """Record ``letter``, read from ``topic``."""
        key = (topic, letter.stage, letter.reason)
        if key not in self._counts and len(self._counts) >= self.max_reasons:
            key = (topic, letter.stage, "other")
        self._counts[key] += 1
        self._recent.append((topic, letter))

    def view(self) -> dict[str, Any]:
        """Return the JSON of the dead-letter panel: counts, and the latest letters first."""
        counts = [
            {"topic": topic, "stage": stage, "reason": reason, "count": count}
            for (topic, stage, reason), count in self._counts.most_common()
        ]
        recent = []
        for topic, letter in reversed(self._recent):
            payload = letter.payload_text
            if payload is None and letter.payload_b64 is not None:
                payload = f"(binary, {len(letter.payload_b64) * 3 // 4} bytes)"
            recent.append(
                {
                    "topic": topic,
                    "stage": letter.stage,
                    "origin": letter.origin,
                    "reason": letter.reason,
                    "error": letter.error,
                    "key": letter.key,
                    "failed_at": letter.failed_at.isoformat(),
                    "payload": (payload or "")[:MAX_PREVIEW],
                }
            )
        return {"total": len(self), "counts": counts, "recent": recent}
