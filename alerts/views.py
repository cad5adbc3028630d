"""What a notification shows, as plain view objects the templates read (never the raw models).

An alert becomes an :class:`AlertView`; the alerts of one story in a
notification become one :class:`StoryView`: every rule and category that
fired on the story, its sources over time, its figures, and whether it is an
update of a story the receiver was already told about. A notification about
three rules firing on one article is one story, not three.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas import Alert, Evidence, ExtractedValue, FigureChange, FigurePoint
from schemas.alerts import SpikeFigures


@dataclass(frozen=True)
class PageView:
    """The page a teaser was read on: a template links to it."""

    title: str
    url: str | None


@dataclass(frozen=True)
class EvidenceView:
    """One article as a template shows it; ``segments`` are (text, highlighted) pieces.

    ``when`` is its publication time (``2026-11-10 09:30 UTC``), "" when unknown;
    ``found_on`` is set for a teaser: the headline was read on that page.
    """

    title: str
    source: str
    url: str | None
    segments: tuple[tuple[str, bool], ...]
    found_on: PageView | None = None
    when: str = ""


@dataclass(frozen=True)
class PointView:
    """One report of a figure: ``21.6 USD/bbl``, who said it, when."""

    value: str
    source: str
    at: str
    url: str | None


@dataclass(frozen=True)
class ChangeView:
    """A change rule's comparison: the series, this report, the one before, and the move."""

    series: str
    current: PointView
    reference: PointView | None
    move: str


@dataclass(frozen=True)
class SpikeView:
    """A spike alert's figures in words, and its top stories."""

    summary: str
    stories: tuple[tuple[str, str | None, int, int], ...]


def spike_view(spike: SpikeFigures) -> SpikeView:
    """Return the template view of a spike: count against baseline, and the top stories."""
    usual = "this hour of the week" if spike.reference == "week" else "this hour of day"
    summary = (
        f"{spike.current} articles in the last {window_words(spike.window_s)} on {spike.key}, "
        f"usually {spike.baseline:g} at {usual} ({spike.slots} "
        f"{'week' if spike.reference == 'week' else 'day'}{'s' if spike.slots != 1 else ''} "
        f"back): x{spike.ratio:g}, {spike.sources} sources"
    )
    stories = tuple((s.title, s.url, s.articles, s.sources) for s in spike.top_stories)
    return SpikeView(summary=summary, stories=stories)


@dataclass(frozen=True)
class AlertView:
    """One alert as a template shows it."""

    key: str
    headline: str
    rule_title: str
    category: str
    severity: str
    tags: tuple[str, ...]
    is_update: bool
    article_count: int
    source_count: int
    entities: tuple[str, ...]
    figures: tuple[str, ...]
    evidence: tuple[EvidenceView, ...]
    link: str | None
    change: ChangeView | None = None
    spike: SpikeView | None = None


def highlight_segments(
    snippet: str, highlights: tuple[tuple[int, int], ...]
) -> tuple[tuple[str, bool], ...]:
    """Split ``snippet`` into (text, highlighted) pieces; bad or overlapping spans are clipped."""
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in sorted(highlights):
        start, end = max(start, cursor), min(end, len(snippet))
        if start >= end:
            continue
        if start > cursor:
            pieces.append((snippet[cursor:start], False))
        pieces.append((snippet[start:end], True))
        cursor = end
    if cursor < len(snippet):
        pieces.append((snippet[cursor:], False))
    return tuple(pieces)


def describe_figure(value: ExtractedValue) -> str:
    """Return an extracted figure as a short phrase: ``Brent price 92.4 USD/bbl``."""
    subject = " ".join(
        part for part in (value.commodity, value.benchmark and f"vs {value.benchmark}") if part
    )
    if value.kind == "extreme":
        text = f"{value.extreme or 'extreme'}"
    elif value.kind == "change_pct" and value.value is not None:
        text = f"change {value.value:+g} %"
    else:
        amount = "" if value.value is None else f" {value.value:g}"
        unit = "/".join(part for part in (value.currency, value.unit) if part)
        text = f"{value.kind}{amount}{' ' + unit if unit else ''}"
    return f"{subject} {text}".strip() + f" (“{value.span.text}”)"


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _point_view(point: FigurePoint, unit: str) -> PointView:
    return PointView(
        value=f"{point.value:g}{' ' + unit if unit else ''}",
        source=point.source,
        at=_when(point.at),
        url=point.url,
    )


def change_view(change: FigureChange) -> ChangeView:
    """Return the template view of a change rule's comparison."""
    unit = "/".join(part for part in (change.currency, change.unit) if part)
    subject = change.commodity.partition(":")[2] or change.commodity
    if change.benchmark:
        subject += f" vs {change.benchmark.partition(':')[2] or change.benchmark}"
    move = ""
    if change.delta is not None:
        move = f"{change.delta:+.2f}{' ' + unit if unit else ''}"
        if change.change_pct is not None:
            move += f" ({change.change_pct:+.1f} %)"
        if change.since_s is not None and change.reference is not None:
            move += f" over {round(change.since_s / 3600):g} h"
    return ChangeView(
        series=f"{subject} {change.level}",
        current=_point_view(change.current, unit),
        reference=_point_view(change.reference, unit) if change.reference else None,
        move=move,
    )


def _evidence_view(evidence: Evidence) -> EvidenceView:
    page = evidence.found_on
    return EvidenceView(
        title=evidence.title,
        source=evidence.source,
        url=evidence.url,
        when=_when(evidence.published_at) if evidence.published_at else "",
        segments=highlight_segments(evidence.snippet, evidence.snippet_highlights),
        found_on=(
            PageView(title=page.title or page.url or page.id, url=page.url)
            if evidence.kind == "teaser" and page is not None
            else None
        ),
    )


def alert_view(alert: Alert) -> AlertView:
    """Return the template view of ``alert``."""
    entities = tuple(dict.fromkeys(entity.name for entity in alert.entities))
    return AlertView(
        key=alert.key,
        headline=alert.headline,
        rule_title=alert.rule_title,
        category=alert.category,
        severity=alert.severity.value,
        tags=alert.tags,
        is_update=alert.is_update,
        article_count=alert.article_count,
        source_count=alert.source_count,
        entities=entities,
        figures=tuple(describe_figure(value) for value in alert.values),
        evidence=tuple(_evidence_view(e) for e in alert.evidence),
        link=next((e.url for e in alert.evidence if e.url), None),
        change=change_view(alert.change) if alert.change else None,
        spike=spike_view(alert.spike) if alert.spike else None,
    )


def window_words(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    return f"{hours} hours"


@dataclass(frozen=True)
class RuleView:
    """One rule that fired on a story, with what only that alert says."""

    rule_id: str
    rule_title: str
    category: str
    severity: str
    policy: str
    is_update: bool
    change: ChangeView | None = None
    spike: SpikeView | None = None


@dataclass(frozen=True)
class StoryView:
    """One story of a notification: everything its alerts say, once.

    ``is_update``: the receiver was told about the story before, or an alert
    is a story update (a new figure, more sources). ``sources`` are the
    articles behind the alerts, oldest publication first (undated last).
    """

    story_id: str
    headline: str
    severity: str
    categories: tuple[str, ...]
    rules: tuple[RuleView, ...]
    sources: tuple[EvidenceView, ...]
    segments: tuple[tuple[str, bool], ...]
    entities: tuple[str, ...]
    figures: tuple[str, ...]
    article_count: int
    source_count: int
    is_update: bool
    link: str | None


def story_views(alerts: Sequence[Alert], known: Collection[str] = ()) -> list[StoryView]:
    """Return the stories of ``alerts``, in order of their first alert.

    Args:
        known: stories the receiver was already notified about.
    """
    by_story: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_story.setdefault(alert.story_id, []).append(alert)
    return [_story_view(story_id, found, story_id in known) for story_id, found in by_story.items()]


def _story_view(story_id: str, alerts: list[Alert], known: bool) -> StoryView:
    top = max(alerts, key=lambda alert: alert.severity.rank)
    figures: dict[str, ExtractedValue] = {}
    entities: dict[str, str] = {}
    for alert in alerts:
        for value in alert.values:
            figures.setdefault(value.model_dump_json(exclude={"span"}), value)
        for entity in alert.entities:
            entities.setdefault(entity.id, entity.name)
    ordered = story_articles(alerts)
    quoted = next((e for e in ordered if e.snippet), None)
    return StoryView(
        story_id=story_id,
        headline=alerts[0].headline,
        severity=top.severity.value,
        categories=tuple(dict.fromkeys(alert.category for alert in alerts)),
        rules=tuple(_rule_view(alert) for alert in alerts),
        sources=tuple(_evidence_view(e) for e in ordered),
        segments=(highlight_segments(quoted.snippet, quoted.snippet_highlights) if quoted else ()),
        entities=tuple(dict.fromkeys(entities.values())),
        figures=tuple(describe_figure(value) for value in figures.values()),
        article_count=max(len(ordered), max(alert.article_count for alert in alerts)),
        source_count=max(
            len({e.source.casefold() for e in ordered}),
            max(alert.source_count for alert in alerts),
        ),
        is_update=known or any(alert.is_update for alert in alerts),
        link=next((e.url for e in ordered if e.url), None),
    )


def _rule_view(alert: Alert) -> RuleView:
    return RuleView(
        rule_id=alert.rule_id,
        rule_title=alert.rule_title,
        category=alert.category,
        severity=alert.severity.value,
        policy=alert.policy,
        is_update=alert.is_update,
        change=change_view(alert.change) if alert.change else None,
        spike=spike_view(alert.spike) if alert.spike else None,
    )


def story_articles(alerts: Sequence[Alert]) -> list[Evidence]:
    """Return each article behind ``alerts`` once, oldest publication first (undated last)."""
    found: dict[str, Evidence] = {}
    for alert in alerts:
        for evidence in alert.evidence:
            found.setdefault(evidence.article_id, evidence)
    return sorted(found.values(), key=_published_order)


def _published_order(evidence: Evidence) -> tuple[int, float, str]:
    if evidence.published_at is None:
        return (1, 0.0, evidence.article_id)
    return (0, evidence.published_at.timestamp(), evidence.article_id)
