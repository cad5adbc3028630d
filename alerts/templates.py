"""Rendering notifications with the shipped Jinja2 templates, in a sandbox.

One body template per receiver kind: ``slack`` (Slack mrkdwn), ``email``
(HTML; apprise derives the plain-text part from it) and ``text`` (plain text
for chat apps and files), plus one title template. Templates see plain view
objects built here, never the raw models, and run in a
:class:`~jinja2.sandbox.SandboxedEnvironment`; HTML is autoescaped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from alerts.grouping import Notification
from schemas import Alert, Evidence, ExtractedValue, FigureChange, FigurePoint
from schemas.alerts import SpikeFigures

TEMPLATE_DIR = Path(__file__).parent / "templates"
BodyFormat = Literal["text", "markdown", "html"]
_BODIES: dict[str, tuple[str, BodyFormat]] = {
    "slack": ("slack.md.j2", "text"),  # mrkdwn goes to Slack as is: no conversion by apprise
    "email": ("email.html.j2", "html"),
    "text": ("text.txt.j2", "text"),
}
KINDS = tuple(_BODIES)
_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Rendered:
    """A rendered notification: what apprise (or the file receiver) is given."""

    title: str
    body: str
    body_format: BodyFormat


@dataclass(frozen=True)
class PageView:
    """The page a teaser was read on: a template links to it."""

    title: str
    url: str | None


@dataclass(frozen=True)
class EvidenceView:
    """One article as a template shows it; ``segments`` are (text, highlighted) pieces.

    ``found_on`` is set for a teaser: the headline was read on that page.
    """

    title: str
    source: str
    url: str | None
    segments: tuple[tuple[str, bool], ...]
    found_on: PageView | None = None


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
        f"{spike.current} articles in the last {_window(spike.window_s)} on {spike.key}, "
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


def _point_view(point: FigurePoint, unit: str) -> PointView:
    return PointView(
        value=f"{point.value:g}{' ' + unit if unit else ''}",
        source=point.source,
        at=point.at.strftime("%Y-%m-%d %H:%M UTC"),
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


def _mrkdwn(text: object) -> str:
    """Escape text for Slack mrkdwn (``&``, ``<``, ``>``)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _window(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    return f"{hours} hours"


class Templates:
    """The sandboxed template environment; :meth:`render` turns a notification into text."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            autoescape=lambda name: name is not None and ".html" in name,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["mrkdwn"] = _mrkdwn
        self._env.filters["window"] = _window
        self._cache: OrderedDict[tuple[str, str, int, tuple[str, ...]], Rendered] = OrderedDict()

    def render(self, kind: str, notification: Notification) -> Rendered:
        """Render ``notification`` for a receiver of ``kind`` (slack, email or text).

        The same alerts routed to several receivers of one kind render once:
        the text depends only on the kind and the alerts, so results are cached.
        """
        key = (
            kind,
            notification.kind,
            round(notification.window_s),
            tuple(item.alert.key for item in notification.items),
        )
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        rendered = self._render(kind, notification)
        self._cache[key] = rendered
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return rendered

    def _render(self, kind: str, notification: Notification) -> Rendered:
        name, body_format = _BODIES[kind]
        views = [alert_view(alert) for alert in notification.alerts]
        top = max(notification.alerts, key=lambda alert: alert.severity.rank)
        context = {
            "alerts": views,
            "digest": notification.kind == "digest",
            "window_s": notification.window_s,
            "severity": top.severity.value,
        }
        title = self._env.get_template("title.txt.j2").render(context).strip()
        body = self._env.get_template(name).render(context).strip() + "\n"
        return Rendered(title=title, body=body, body_format=body_format)
