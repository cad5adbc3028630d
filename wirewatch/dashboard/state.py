"""The dashboard's view model: what the followed topics say, decoded, bounded, queryable.

Kafka stays outside: :mod:`wirewatch.dashboard.follow` hands each record's
key and value to one of the ``on_*`` methods. A record that does not decode
is counted and logged, never fatal: the page shows how many there were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError

from alerts.silences import SilenceSet
from schemas import Alert, DeadLetter, Detection, Settings
from schemas.audit import AuditEvent
from schemas.common import utcnow
from schemas.fetch_state import FetchState
from schemas.silences import Silence
from schemas.stories import DETECTIONS_RECORD, STORY_RECORD, StoryAssignment
from streams.rules import RuleSet
from wirewatch.dashboard.audit_trail import AuditTrail
from wirewatch.dashboard.feed import AlertFilter, Feed, FeedEntry, story_card, story_view
from wirewatch.dashboard.health import HOUR, DeadLetterLog, HourlyHits
from wirewatch.dashboard.series import FigureSeries
from wirewatch.dashboard.sources import SourceHealth
from wirewatch.dashboard.stories import StoryDecisions

log = structlog.get_logger(__name__)

FEED_PAGE = 200
"""Most alerts sent at once (a snapshot on connect or on a filter change)."""


class DashboardState:
    """Everything the page shows, updated record by record.

    ``version`` grows on every change of what the status panel shows, so the
    server can tell whether to send a new one. ``on_new_alert`` is called,
    for each alert that entered the feed, with its story's alerts (oldest first).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_new_alert: Callable[[list[FeedEntry]], None] | None = None,
    ) -> None:
        self.topics = settings.topics
        self.feed = Feed(settings.dashboard_history)
        self.hits = HourlyHits(max(1, round(settings.dashboard_window_s / HOUR)))
        self.series = FigureSeries()
        self.decisions = StoryDecisions()
        self.dead_letters = DeadLetterLog()
        self.silences = SilenceSet()
        self.sources = SourceHealth()
        self.audit = AuditTrail()
        self.rules: RuleSet | None = None
        self.rules_installed_at: datetime | None = None
        self.rule_report: dict[str, Any] = {"source": "", "packs": [], "failing": []}
        self.unreadable: Counter[str] = Counter()
        self.caught_up: dict[str, bool] = {}
        self.version = 0
        self._clock = clock
        self._on_new_alert = on_new_alert

    def _changed(self) -> None:
        self.version += 1

    def _unreadable(self, topic: str, error: ValidationError) -> None:
        self.unreadable[topic] += 1
        self._changed()
        log.warning("dashboard_record_unreadable", topic=topic, error=str(error)[:500])

    # --- records -------------------------------------------------------------

    def on_alert(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the alerts topic."""
        if value is None:
            return
        try:
            alert = Alert.model_validate_json(value)
        except ValidationError as exc:
            self._unreadable(self.topics.alerts, exc)
            return
        entry = self.feed.add(alert)
        if entry is not None:
            self._changed()
            if self._on_new_alert is not None:
                self._on_new_alert(self.feed.story_entries(alert.story_id))

    def on_detection(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the detections topic: a hit, and maybe figures (merge controls are skipped)."""
        if value is None:
            return
        try:
            detection = DETECTIONS_RECORD.validate_json(value)
        except ValidationError as exc:
            self._unreadable(self.topics.detections, exc)
            return
        if not isinstance(detection, Detection):
            return
        counted = self.hits.add(detection, self._clock())
        if self.series.add(detection) or counted:
            self._changed()

    def on_story(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the workers' stories topic: why an article is in its story."""
        if value is None:
            return
        try:
            record = STORY_RECORD.validate_json(value)
        except ValidationError as exc:
            self._unreadable("stories", exc)
            return
        if isinstance(record, StoryAssignment):
            self.decisions.add(record)
            decision = record.decision
            moved = [self.feed.absorb(decision.story_id, absorbed) for absorbed in decision.merged]
            if any(moved):
                self._changed()

    def dead_letter_handler(self, topic: str) -> Callable[[bytes | None, bytes | None], None]:
        """Return the record handler of the dead-letter topic ``topic``."""

        def on_dead_letter(key: bytes | None, value: bytes | None) -> None:
            if value is None:
                return
            try:
                letter = DeadLetter.model_validate_json(value)
            except ValidationError as exc:
                self._unreadable(topic, exc)
                return
            self.dead_letters.add(topic, letter)
            self._changed()

        return on_dead_letter

    def on_silence(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the compacted silences topic (a tombstone forgets one)."""
        if value is None:
            if key is not None:
                self.silences.remove(key.decode("utf-8", "replace"))
                self._changed()
            return
        try:
            self.silences.put(Silence.model_validate_json(value))
        except ValidationError as exc:
            self._unreadable(self.topics.silences, exc)
            return
        self._changed()

    def on_fetch_state(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the compacted fetch state topic (a tombstone forgets a source)."""
        if value is None:
            if key is not None:
                self.sources.remove(key.decode("utf-8", "replace"))
                self._changed()
            return
        try:
            state = FetchState.model_validate_json(value)
        except ValidationError as exc:
            self._unreadable(self.topics.fetch_state, exc)
            return
        if self.sources.put(state):
            self._changed()

    def on_audit(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the audit topic."""
        if value is None:
            return
        try:
            event = AuditEvent.model_validate_json(value)
        except ValidationError as exc:
            self._unreadable(self.topics.audit, exc)
            return
        if self.audit.add(event):
            self._changed()

    def install_rules(self, rules: RuleSet) -> None:
        """Use ``rules`` (called by the rule book each time a rule set is installed)."""
        self.rules = rules
        self.rules_installed_at = self._clock()
        self._changed()

    def report_rules(self, report: dict[str, Any]) -> None:
        """Keep where the rules come from, the packs in force and the failing ones (the rule book's report)."""
        self.rule_report = report
        self._changed()

    def set_caught_up(self, topic: str, done: bool) -> None:
        """Record whether the history of ``topic`` has been read."""
        self.caught_up[topic] = done
        self._changed()

    # --- views ---------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True once every followed topic is read up to its end at start, and rules are in."""
        return bool(self.caught_up) and all(self.caught_up.values()) and self.rules is not None

    def alerts(self, where: AlertFilter, limit: int = FEED_PAGE) -> dict[str, Any]:
        """Return the newest alerts passing ``where`` (at most ``limit``) and how many pass."""
        shown: list[dict[str, Any]] = []
        matching = 0
        for entry in self.feed.newest(where):
            matching += 1
            if len(shown) < limit:
                shown.append(entry.view)
        return {"alerts": shown, "matching": matching, "total": len(self.feed)}

    def stories(self, where: AlertFilter, limit: int = FEED_PAGE) -> dict[str, Any]:
        """Return the cards of the newest stories with an alert passing ``where`` (at most ``limit``)."""
        shown: list[dict[str, Any]] = []
        matching = 0
        for entries in self.feed.stories(where):
            matching += 1
            if len(shown) < limit:
                shown.append(story_card(entries, self.feed.card_id(entries[0].alert.story_id)))
        return {
            "stories": shown,
            "matching": matching,
            "total": self.feed.story_count,
            "alerts_total": len(self.feed),
            "stories_total": self.feed.story_count,
        }

    def story(self, story_id: str) -> dict[str, Any] | None:
        """Return a story's view with the figure series it touches and why its articles are in it.

        The alerts sent under stories it absorbed are part of it.
        """
        alerts = self.feed.story(self.decisions.stories_within(story_id))
        if not alerts:
            return None
        view = story_view(story_id, alerts)
        view["why"] = [
            why for a in view["articles"] if (why := self.decisions.why(a["article_id"]))
        ]
        keys = self.series.keys_in(v for a in alerts for v in a.values)
        view["series"] = [self.series.view(key) for key in keys]
        return view

    def silence_views(self) -> list[dict[str, Any]]:
        """Every silence known, newest first, with its state now."""
        now = self._clock()
        views = []
        for silence in self.silences.all():
            if silence.active(now):
                state = "active"
            elif silence.starts_at > now:
                state = "pending"
            else:
                state = "expired"
            view = silence.model_dump(mode="json")
            view["state"] = state
            views.append(view)
        return views

    def status(self) -> dict[str, Any]:
        """Return everything the panels beside the feed show."""
        now = self._clock()
        rules = self.rules
        return {
            "now": now.isoformat(),
            "ready": self.ready,
            "caught_up": dict(self.caught_up),
            "ruleset": {
                "version": rules.version if rules else None,
                "rules": len(rules.rules) if rules else 0,
                "enabled": sum(r.enabled for r in rules.rules.values()) if rules else 0,
                "installed_at": (
                    self.rules_installed_at.isoformat() if self.rules_installed_at else None
                ),
                "source": self.rule_report["source"],
                "packs": self.rule_report["packs"],
                "failing": self.rule_report["failing"],
            },
            "hits": self.hits.table(now, rules.rules if rules else {}),
            "dead_letters": self.dead_letters.view(),
            "silences": self.silence_views(),
            "sources": self.sources.view(now),
            "facets": self.feed.facets(),
            "series": self.series.catalogue(),
            "unreadable": dict(self.unreadable),
            "alerts_total": len(self.feed),
            "stories_total": self.feed.story_count,
            "audit_version": self.audit.version,
        }
