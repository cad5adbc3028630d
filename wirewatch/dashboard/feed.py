"""The alert feed: the newest alerts in memory, the filters over them, and stories.

Pure data, no Kafka and no web: :class:`Feed` keeps at most ``capacity``
alerts ordered by creation time, :class:`AlertFilter` decides what a reader
asked to see, :func:`story_card` makes one card of everything the alerts of a
story say (the feed shows one card per story, not one per alert), and
:func:`story_view` gathers the articles behind one story.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from alerts.views import story_articles
from schemas import Alert, ConfigError, ExtractedValue, Severity
from schemas.stories import StoryMerges

MAX_FILTER_CHARS = 200
"""Longest filter value accepted: a filter is typed by a person, not pasted text."""


def alert_view(alert: Alert) -> dict[str, Any]:
    """Return the JSON the page renders for ``alert`` (entity spans left out: never shown)."""
    view = alert.model_dump(mode="json", exclude={"entities": {"__all__": {"spans"}}})
    view["headline"] = alert.headline
    return view


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One alert of the feed with what filtering needs, computed once."""

    alert: Alert
    view: dict[str, Any] = field(compare=False)
    text: str = field(compare=False)
    entities: frozenset[str] = field(compare=False)

    @classmethod
    def of(cls, alert: Alert) -> FeedEntry:
        """Build the entry of ``alert``."""
        parts = [alert.rule_id, alert.rule_title, alert.category, *alert.tags]
        for evidence in alert.evidence:
            parts += [evidence.title, evidence.source, evidence.snippet]
        parts += [entity.name for entity in alert.entities]
        entities = {entity.id.casefold() for entity in alert.entities}
        entities |= {entity.name.casefold() for entity in alert.entities}
        return cls(alert, alert_view(alert), "\n".join(parts).casefold(), frozenset(entities))

    @property
    def sort_key(self) -> tuple[float, str]:
        """Creation time, then key: the feed's order (oldest first)."""
        return (self.alert.created_at.timestamp(), self.alert.key)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What a reader of the feed asked to see; an empty filter lets everything through.

    Attributes:
        category: exactly this category.
        min_severity: this severity or a more urgent one.
        entity: an entity id (``country:RU``) or name (``Russia``), any case.
        text: every word occurs (any case) in the rule, headline, snippet,
            sources, tags or entity names.
    """

    category: str = ""
    min_severity: Severity | None = None
    entity: str = ""
    text: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AlertFilter:
        """Build a filter from URL parameters ``category``, ``severity``, ``entity`` and ``q``.

        Raises:
            ConfigError: an unknown severity, or a value longer than MAX_FILTER_CHARS.
        """
        values = {name: query.get(name, "").strip() for name in ("category", "severity", "entity")}
        values["q"] = " ".join(query.get("q", "").split())
        for name, value in values.items():
            if len(value) > MAX_FILTER_CHARS:
                raise ConfigError(f"filter {name!r} is longer than {MAX_FILTER_CHARS} characters")
        severity = None
        if values["severity"]:
            try:
                severity = Severity(values["severity"].lower())
            except ValueError:
                names = ", ".join(s.value for s in Severity)
                raise ConfigError(
                    f"unknown severity {values['severity']!r}: use one of {names}"
                ) from None
        return cls(
            category=values["category"],
            min_severity=severity,
            entity=values["entity"].casefold(),
            text=values["q"].casefold(),
        )

    def matches(self, entry: FeedEntry) -> bool:
        """Return True if the alert of ``entry`` passes every condition of this filter."""
        alert = entry.alert
        if self.category and alert.category != self.category:
            return False
        if self.min_severity is not None and alert.severity.rank < self.min_severity.rank:
            return False
        if self.entity and self.entity not in entry.entities:
            return False
        return all(word in entry.text for word in self.text.split())


class Feed:
    """The newest alerts, at most ``capacity``, each alert key once.

    Alerts arrive from several partitions, so not quite in order: each is
    inserted at its place by creation time, and the oldest is dropped when
    the feed is full. A replayed alert (same key) is ignored. When clustering
    merges two stories (:meth:`absorb`), the absorbed story's alerts, those
    in memory and those still to come, join the card of the story that
    absorbed it.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: list[FeedEntry] = []
        self._keys: list[tuple[float, str]] = []
        self._by_key: dict[str, FeedEntry] = {}
        self._by_story: dict[str, list[FeedEntry]] = {}
        """Alerts by the story whose card shows them (absorbed stories' with their absorber's)."""
        self._card_of: dict[str, str] = {}
        self._merges = StoryMerges(capacity)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, alert: Alert) -> FeedEntry | None:
        """Insert ``alert``; return its entry, or None when it is a repeat or too old to keep."""
        if alert.key in self._by_key:
            return None
        entry = FeedEntry.of(alert)
        key = entry.sort_key
        if len(self._entries) >= self.capacity and key < self._keys[0]:
            return None
        index = bisect.bisect(self._keys, key)
        self._keys.insert(index, key)
        self._entries.insert(index, entry)
        self._by_key[alert.key] = entry
        card = self.card_id(alert.story_id)
        self._card_of[alert.key] = card
        story = self._by_story.setdefault(card, [])
        story.insert(bisect.bisect([e.sort_key for e in story], key), entry)
        while len(self._entries) > self.capacity:
            self._keys.pop(0)
            dropped = self._entries.pop(0)
            del self._by_key[dropped.alert.key]
            card = self._card_of.pop(dropped.alert.key)
            left = self._by_story[card]
            left.remove(dropped)
            if not left:
                del self._by_story[card]
        return entry

    def newest(self, where: AlertFilter = AlertFilter()) -> Iterator[FeedEntry]:
        """Yield the entries passing ``where``, newest first."""
        return (entry for entry in reversed(self._entries) if where.matches(entry))

    def absorb(self, into: str, absorbed: str) -> bool:
        """Clustering merged story ``absorbed`` into ``into``: file its alerts, now and later, with ``into``'s.

        Returns True when alerts in memory moved (the cards changed).
        """
        card = self._merges.record(absorbed, into)
        if card is None:  # an older merge the other way round: nothing to do
            return False
        moved = self._by_story.pop(absorbed, [])
        if not moved:
            return False
        for entry in moved:
            self._card_of[entry.alert.key] = card
        self._by_story[card] = sorted(
            [*self._by_story.get(card, []), *moved], key=lambda e: e.sort_key
        )
        return True

    def card_id(self, story_id: str) -> str:
        """The story whose card shows the alerts of ``story_id``: itself, or the one that absorbed it."""
        return self._merges.current(story_id)

    def story(self, story_ids: Iterable[str]) -> list[Alert]:
        """Return the alerts of the stories ``story_ids`` (and of those they absorbed), newest first."""
        cards = {self.card_id(story_id) for story_id in story_ids}
        entries = [e for card in cards for e in self._by_story.get(card, [])]
        return [e.alert for e in sorted(entries, key=lambda e: e.sort_key, reverse=True)]

    def story_entries(self, story_id: str) -> list[FeedEntry]:
        """Return the entries of ``story_id``'s card, oldest first."""
        return list(self._by_story.get(self.card_id(story_id), []))

    def stories(self, where: AlertFilter = AlertFilter()) -> Iterator[list[FeedEntry]]:
        """Yield the cards with an alert passing ``where``, latest alert first (oldest first within)."""
        seen: set[str] = set()
        for entry in reversed(self._entries):
            card = self._card_of[entry.alert.key]
            if card in seen:
                continue
            seen.add(card)
            entries = self._by_story[card]
            if any(where.matches(e) for e in entries):
                yield entries

    @property
    def story_count(self) -> int:
        """How many stories the alerts in memory belong to."""
        return len(self._by_story)

    def facets(self) -> dict[str, Any]:
        """Return the categories and entities present, to offer as filter choices.

        Entities are the most frequent 200, most frequent first.
        """
        categories = sorted({entry.alert.category for entry in self._entries})
        names: dict[str, str] = {}
        counts: Counter[str] = Counter()
        for entry in self._entries:
            for entity in entry.alert.entities:
                names[entity.id] = entity.name
                counts[entity.id] += 1
        entities = [{"id": i, "name": names[i], "count": n} for i, n in counts.most_common(200)]
        return {"categories": categories, "entities": entities}


def story_values(alerts: list[Alert]) -> list[ExtractedValue]:
    """Return the figures of ``alerts``, each distinct figure once, in order of appearance."""
    seen: set[str] = set()
    values = []
    for alert in alerts:
        for value in alert.values:
            identity = value.model_dump_json()
            if identity not in seen:
                seen.add(identity)
                values.append(value)
    return values


def story_card(entries: list[FeedEntry], story_id: str | None = None) -> dict[str, Any]:
    """Return the JSON of one story's card: every rule that fired on it, its sources over time.

    ``entries`` are the story's alerts, oldest first (with those of stories it
    absorbed); ``story_id`` is the story's (default: the first alert's). An alert is marked as an
    update when it is one (a new figure, more sources) or when it brought an
    article the story's earlier alerts did not have: three rules firing on
    one article are one event, a later article is news about the story.
    """
    alerts = [entry.alert for entry in entries]
    first, last = alerts[0], alerts[-1]
    seen: set[str] = set()
    rows = []
    for alert, entry in zip(alerts, entries, strict=True):
        articles = {e.article_id for e in alert.evidence}
        rows.append(
            {
                **{
                    name: entry.view[name]
                    for name in ("key", "rule_id", "rule_title", "category", "severity")
                },
                **{name: entry.view[name] for name in ("policy", "created_at", "change", "spike")},
                "update": alert.is_update or (bool(seen) and not articles <= seen),
            }
        )
        seen |= articles
    sources = story_articles(alerts)
    quoted = next((e for e in reversed(alerts) if e.evidence and e.evidence[0].snippet), last)
    evidence = quoted.evidence[0] if quoted.evidence else None
    names: dict[str, str] = {}
    for alert in alerts:
        for entity in alert.entities:
            names.setdefault(entity.id, entity.name)
    return {
        "story_id": story_id or first.story_id,
        "headline": first.headline,
        "severity": max((a.severity for a in alerts), key=lambda s: s.rank).value,
        "categories": list(dict.fromkeys(a.category for a in alerts)),
        "first_at": first.created_at.isoformat(),
        "updated_at": max(a.created_at for a in alerts).isoformat(),
        "alerts": rows,
        "updates": sum(row["update"] for row in rows),
        "sources": [
            e.model_dump(mode="json", exclude={"snippet", "snippet_highlights"}) for e in sources
        ],
        "article_count": max(len(sources), max(a.article_count for a in alerts)),
        "source_count": max(
            len({e.source.casefold() for e in sources}), max(a.source_count for a in alerts)
        ),
        "snippet": evidence.snippet if evidence else "",
        "snippet_highlights": list(evidence.snippet_highlights) if evidence else [],
        "entities": [{"id": i, "name": n} for i, n in names.items()],
        "values": [v.model_dump(mode="json") for v in story_values(alerts)],
    }


def story_view(story_id: str, alerts: list[Alert]) -> dict[str, Any]:
    """Return the JSON of a story: its alerts, articles, sources, figures and entity names."""
    articles = story_articles(alerts)
    return {
        "story_id": story_id,
        "headline": alerts[-1].headline if alerts else story_id,
        "alerts": [alert_view(alert) for alert in alerts],
        "articles": [evidence.model_dump(mode="json") for evidence in articles],
        "sources": sorted({evidence.source for evidence in articles}),
        "values": [value.model_dump(mode="json") for value in story_values(alerts)],
        "names": {entity.id: entity.name for alert in alerts for entity in alert.entities},
    }
