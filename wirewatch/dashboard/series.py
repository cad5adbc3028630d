"""Time series of extracted figures: a commodity's price, or its spread to a benchmark.

Every detection carries the figures the engine read from its article. A
figure of kind ``price`` or ``spread`` bound to a commodity is a point of the
series named by (kind, commodity, benchmark, currency, unit), at the
article's publication time (else the detection time). An article's figure
counts once, however many rules fired on the article. Bounded: at most
``max_series`` series of ``max_points`` points each.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from schemas import Detection, ExtractedValue

SERIES_KINDS: Final = ("price", "spread")
"""Levels only: a percent change is not a point on a level's chart."""


@dataclass(frozen=True, slots=True, order=True)
class SeriesKey:
    """What makes points comparable: the same kind of figure for the same commodity, in one unit."""

    kind: str
    commodity: str
    benchmark: str = ""
    currency: str = ""
    unit: str = ""

    @classmethod
    def of(cls, value: ExtractedValue) -> SeriesKey | None:
        """Return the series ``value`` belongs to, or None if it is not a level with a commodity."""
        if value.kind not in SERIES_KINDS or value.value is None or not value.commodity:
            return None
        return cls(
            value.kind,
            value.commodity,
            value.benchmark or "",
            value.currency or "",
            value.unit or "",
        )

    @property
    def id(self) -> str:
        """A stable identifier for URLs and the page: the parts joined by ``|``."""
        return "|".join((self.kind, self.commodity, self.benchmark, self.currency, self.unit))


@dataclass(frozen=True, slots=True, order=True)
class Point:
    """One figure: when, how much, and the article it was read from."""

    at: float
    article_id: str
    value: float = field(compare=False)
    title: str = field(compare=False)
    source: str = field(compare=False)
    text: str = field(compare=False)
    start: int = field(compare=False, default=0)


class _Series:
    def __init__(self) -> None:
        self.points: list[Point] = []
        self.ids: set[tuple[str, int]] = set()


class FigureSeries:
    """The figure series seen in detections, least recently extended dropped first."""

    def __init__(self, max_series: int = 200, max_points: int = 500) -> None:
        self.max_series = max_series
        self.max_points = max_points
        self._series: OrderedDict[SeriesKey, _Series] = OrderedDict()
        self._names: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._series)

    def add(self, detection: Detection) -> bool:
        """Record the level figures of ``detection``; return True if a series changed."""
        when = (detection.published_at or detection.detected_at).timestamp()
        changed = False
        for value in detection.values:
            key = SeriesKey.of(value)
            if key is None or value.value is None:
                continue
            identity = (detection.article_id, value.span.start)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
                while len(self._series) > self.max_series:
                    self._series.popitem(last=False)
            elif identity in series.ids:
                continue
            self._series.move_to_end(key)
            point = Point(
                when,
                detection.article_id,
                value.value,
                detection.title,
                detection.source,
                value.span.text,
                value.span.start,
            )
            bisect.insort(series.points, point)
            series.ids.add(identity)
            if len(series.points) > self.max_points:
                oldest = series.points.pop(0)
                series.ids.discard((oldest.article_id, oldest.start))
            changed = True
        if changed:
            for entity in detection.entities:
                if entity.kind == "commodity":
                    self._names[entity.id] = entity.name
        return changed

    def name(self, entity_id: str) -> str:
        """The display name of a commodity id (the id itself when never seen named)."""
        return self._names.get(entity_id, entity_id.partition(":")[2] or entity_id)

    def label(self, key: SeriesKey) -> str:
        """A title for the chart: ``Urals spread to Brent (USD/bbl)``."""
        what = f"{self.name(key.commodity)} {key.kind}"
        if key.benchmark:
            what += f" to {self.name(key.benchmark)}"
        unit = "/".join(part for part in (key.currency, key.unit) if part)
        return f"{what} ({unit})" if unit else what

    def keys_in(self, values: Iterable[ExtractedValue]) -> list[SeriesKey]:
        """Return the series the level figures among ``values`` belong to, sorted, once each."""
        return sorted({key for key in map(SeriesKey.of, values) if key is not None})

    def view(self, key: SeriesKey) -> dict[str, Any]:
        """Return the JSON of one series (no points when it is not known)."""
        series = self._series.get(key)
        points = series.points if series else []
        return {
            "id": key.id,
            "label": self.label(key),
            "kind": key.kind,
            "commodity": key.commodity,
            "benchmark": key.benchmark or None,
            "currency": key.currency or None,
            "unit": key.unit or None,
            "points": [
                {
                    "at": p.at,
                    "value": p.value,
                    "article_id": p.article_id,
                    "title": p.title,
                    "source": p.source,
                    "text": p.text,
                }
                for p in points
            ],
        }

    def catalogue(self) -> list[dict[str, Any]]:
        """Every series known, with its label and point count, most recently extended first."""
        return [
            {"id": key.id, "label": self.label(key), "points": len(series.points)}
            for key, series in reversed(self._series.items())
        ]
