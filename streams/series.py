"""Figure series: the history a change rule compares a figure with.

A change rule's ``where`` reads a series' history (``spread - previous(spread)
>= 2``, ``change_pct_since(price, 24h) <= -5``). The detect stage cannot
judge it: it fires the rule on every article that reports a figure of the
series (:meth:`~streams.rules.RuleSet.evaluate` with ``defer_history``) and
sends the detection keyed by the series. Every report of a series thus
reaches one partition, where the workers keep a :class:`SeriesState` per
series in a changelogged table; :func:`judge` records the report and
evaluates the condition against what was reported before. A detection that
holds goes on, with the comparison attached (:class:`~schemas.FigureChange`),
to aggregation, keyed by rule and series.

Pure functions over plain data, like :mod:`streams.aggregate`. Time is the
detections' ``detected_at`` (the article's record time), so a replay judges
the same way; an article never counts as its own history.

Bounded: a series keeps its last :data:`RECENT_POINTS` reports as they were,
older ones thinned to the last of each hour, none older than
:data:`HORIZON` before its newest report (what ``change_pct_since`` may ask
for, plus a day): at most about 220 points per series. Series are as many as
the gazetteer's commodities times the benchmarks, currencies and units
written with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas import Detection, ExtractedValue, FigureChange, FigurePoint
from streams.rules.conditions import MAX_HISTORY_S, Condition

RECENT_POINTS = 24
HORIZON = timedelta(seconds=MAX_HISTORY_S) + timedelta(days=1)
MAX_TITLE = 200


class SeriesState(BaseModel):
    """The reports of one series, oldest first (thinned as the module says)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    points: tuple[FigurePoint, ...] = ()


@dataclass(frozen=True)
class Judgement:
    """What :func:`judge` made of one detection: the series' new state, and the detection to pass on.

    ``detection`` is None when the rule's condition does not hold (or the rule is gone).
    """

    state: SeriesState
    detection: Detection | None


def series_keys(detection: Detection, level: str) -> list[str]:
    """The series of ``level`` (price or spread) a detection reports: where it is judged."""
    return sorted({v.series for v in detection.values if v.kind == level and v.series})


@dataclass
class _Lookup:
    """The :class:`~streams.rules.conditions.History` of one series as of one article."""

    points: Sequence[FigurePoint]
    now: datetime
    article_id: str
    consulted: dict[str, FigurePoint] = field(default_factory=dict)

    def _last(self, before: datetime, *, inclusive: bool) -> FigurePoint | None:
        for point in reversed(self.points):
            if point.article_id == self.article_id:
                continue
            if point.at < before or (inclusive and point.at == before):
                return point
        return None

    def previous(self, series: str) -> float | None:
        point = self._last(self.now, inclusive=False)
        if point is not None:
            self.consulted["previous"] = point
        return point.value if point else None

    def since(self, series: str, seconds: float) -> float | None:
        point = self._last(self.now - timedelta(seconds=seconds), inclusive=True)
        if point is not None:
            self.consulted.setdefault("since", point)
        return point.value if point else None


def judge(
    state: SeriesState, detection: Detection, condition: Condition | None, series: str
) -> Judgement:
    """Record ``detection``'s report of ``series``; pass the detection on if its condition holds.

    Args:
        state: the series' reports so far.
        detection: a change rule's detection, as the detect stage sent it.
        condition: the rule's compiled ``where`` (None: the rule is gone,
            the report is only recorded).
        series: the series the detection was sent for.
    """
    mine = [v for v in detection.values if v.series == series]
    if not mine:
        return Judgement(state, None)
    lookup = _Lookup(state.points, detection.detected_at, detection.article_id)
    passed = None
    if condition is not None and condition.level is not None:
        # Only this series' figure of the level is judged here; the detection's
        # other series are judged on their own partitions.
        values = [v for v in detection.values if v.kind != condition.level or v.series == series]
        record = condition.first_match(values, lookup)
        if record is not None:
            current = record[condition.level]
            change = _change(mine[0], detection, float(current or 0.0), lookup)
            passed = detection.model_copy(update={"change": change})
    return Judgement(_record(state, detection, mine[0]), passed)


def _point(detection: Detection, value: float) -> FigurePoint:
    return FigurePoint(
        value=value,
        at=detection.detected_at,
        article_id=detection.article_id,
        source=detection.source,
        title=detection.title[:MAX_TITLE],
        url=detection.url,
    )


def _change(
    figure: ExtractedValue, detection: Detection, current: float, lookup: _Lookup
) -> FigureChange:
    reference = lookup.consulted.get("previous") or lookup.consulted.get("since")
    since = lookup.consulted.get("since")
    delta = current - reference.value if reference else None
    return FigureChange(
        series=figure.series or "",
        level="spread" if figure.kind == "spread" else "price",
        commodity=figure.commodity or "",
        benchmark=figure.benchmark,
        currency=figure.currency,
        unit=figure.unit,
        since_s=(detection.detected_at - since.at).total_seconds() if since else None,
        current=_point(detection, current),
        reference=reference,
        delta=delta,
        change_pct=(
            delta / abs(reference.value) * 100
            if delta is not None and reference and reference.value
            else None
        ),
    )


def _record(state: SeriesState, detection: Detection, figure: ExtractedValue) -> SeriesState:
    """The state with this article's report added once, then thinned and bounded."""
    if any(point.article_id == detection.article_id for point in state.points):
        return state
    points = sorted(
        (*state.points, _point(detection, float(figure.value or 0.0))),
        key=lambda p: (p.at, p.article_id),
    )
    horizon = points[-1].at - HORIZON
    recent = points[-RECENT_POINTS:]
    hourly: dict[int, FigurePoint] = {}
    for point in points[:-RECENT_POINTS]:
        if point.at >= horizon:
            hourly[int(point.at.timestamp() // 3600)] = point  # the hour's last report
    return SeriesState(points=(*hourly.values(), *recent))


class OfflineSeries:
    """Every series' state in memory, for judging change rules in one process (``wirewatch scan``).

    The workers keep the same states in a table, one series per partition.
    """

    def __init__(self) -> None:
        self._states: dict[str, SeriesState] = {}

    def judge(self, detection: Detection, condition: Condition) -> list[Detection]:
        """Judge a change rule's detection on each series it reports; return those passed on."""
        passed = []
        for series in series_keys(detection, condition.level or ""):
            judged = judge(self._states.get(series, SeriesState()), detection, condition, series)
            self._states[series] = judged.state
            if judged.detection is not None:
                passed.append(judged.detection)
        return passed
