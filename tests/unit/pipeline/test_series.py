"""Change rules: a figure compared with its series' history, as a pure function of (state, detection)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Detection, ExtractedValue, Severity, Span
from schemas.common import TextField
from streams.rules.conditions import compile_condition
from streams.series import HORIZON, RECENT_POINTS, SeriesState, judge, series_keys

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
SPAN = Span(field=TextField.BODY, start=0, end=5, text="19.40")
URALS = "spread|commodity:urals|commodity:brent|USD|bbl"
BRENT = "price|commodity:brent||USD|bbl"
WIDENED = compile_condition("spread - previous(spread) >= 2")


def spread(value: float, commodity: str = "commodity:urals") -> ExtractedValue:
    return ExtractedValue(
        kind="spread",
        value=value,
        currency="USD",
        unit="bbl",
        commodity=commodity,
        benchmark="commodity:brent",
        span=SPAN,
    )


def price(value: float) -> ExtractedValue:
    return ExtractedValue(
        kind="price",
        value=value,
        currency="USD",
        unit="bbl",
        commodity="commodity:brent",
        span=SPAN,
    )


def detection(article_id: str, hours: float, *values: ExtractedValue) -> Detection:
    """A change rule's detection of article ``article_id``, T0 + ``hours``."""
    return Detection(
        key=f"{article_id}/urals-widens@v1",
        article_id=article_id,
        story_id=article_id,
        source=f"source-{article_id}",
        title=f"Urals report {article_id}",
        url=f"https://news.example/{article_id}",
        rule_id="urals-widens",
        rule_version="v1",
        rule_title="Urals discount widens",
        category="commodity_price_move",
        severity=Severity.HIGH,
        values=values,
        detected_at=T0 + timedelta(hours=hours),
    )


def run(condition: str, reports: list[Detection], series: str = URALS) -> list[Detection | None]:
    """Judge each report in turn from an empty series; return what was passed on."""
    compiled = compile_condition(condition)
    state = SeriesState()
    passed = []
    for report in reports:
        judged = judge(state, report, compiled, series)
        state = judged.state
        passed.append(judged.detection)
    return passed


def test_a_widening_of_two_dollars_since_the_last_report_passes() -> None:
    """The first report has no previous; a later one 2.2 wider passes, carrying both figures."""
    first, second, third = run(
        "spread - previous(spread) >= 2",
        [
            detection("a1", 0, spread(19.4)),
            detection("a2", 5, spread(21.6)),
            detection("a3", 6, spread(22.0)),
        ],
    )
    assert first is None
    assert third is None
    assert second is not None
    change = second.change
    assert change is not None
    assert (change.series, change.level, change.commodity, change.benchmark) == (
        URALS,
        "spread",
        "commodity:urals",
        "commodity:brent",
    )
    assert (change.current.value, change.current.source, change.current.at) == (
        21.6,
        "source-a2",
        T0 + timedelta(hours=5),
    )
    assert change.reference is not None
    assert (change.reference.value, change.reference.source, change.reference.at) == (
        19.4,
        "source-a1",
        T0,
    )
    assert change.reference.url == "https://news.example/a1"
    assert round(change.delta or 0, 6) == 2.2
    assert round(change.change_pct or 0, 3) == round(2.2 / 19.4 * 100, 3)


def test_change_since_a_duration_looks_back_at_least_that_far() -> None:
    """change_pct_since(price, 24h) compares with the last report at least 24 hours older."""
    passed = run(
        "change_pct_since(price, 24h) <= -5",
        [
            detection("b1", 0, price(80.0)),
            detection("b2", 20, price(78.0)),
            detection("b3", 25, price(75.5)),
            detection("b4", 26, price(79.0)),
        ],
        series=BRENT,
    )
    assert [p is not None for p in passed] == [False, False, True, False]
    change = passed[2].change if passed[2] else None
    assert change is not None
    assert change.reference is not None
    assert change.reference.article_id == "b1"
    assert change.since_s == 25 * 3600
    assert round(change.change_pct or 0, 3) == -5.625


def test_a_replay_judges_the_same_and_records_nothing_twice() -> None:
    """Judging the same detection again gives the same verdict and leaves the state as it was."""
    state = judge(SeriesState(), detection("a1", 0, spread(19.4)), WIDENED, URALS).state
    second = detection("a2", 5, spread(21.6))
    once = judge(state, second, WIDENED, URALS)
    again = judge(once.state, second, WIDENED, URALS)
    assert once.detection == again.detection
    assert once.detection is not None
    assert again.state == once.state
    assert len(once.state.points) == 2


def test_a_late_report_is_compared_with_what_came_before_it() -> None:
    """History is by time, not arrival: a report read late sees only earlier ones."""
    state = SeriesState()
    for report in (detection("a1", 0, spread(19.4)), detection("a3", 10, spread(30.0))):
        state = judge(state, report, WIDENED, URALS).state
    late = judge(state, detection("a2", 5, spread(21.5)), WIDENED, URALS).detection
    assert late is not None
    assert late.change is not None
    assert late.change.reference is not None
    assert late.change.reference.article_id == "a1"


def test_only_the_judged_series_counts() -> None:
    """Another commodity's spread in the same article is judged on its own series' partition."""
    other = "spread|commodity:wti|commodity:brent|USD|bbl"
    report = detection("a2", 5, spread(30.0, "commodity:wti"), spread(21.6))
    assert series_keys(report, "spread") == [URALS, other]
    state = judge(SeriesState(), detection("a1", 0, spread(19.4)), WIDENED, URALS).state
    assert judge(state, report, WIDENED, URALS).detection is not None
    alone = judge(SeriesState(), detection("a1", 0, spread(29.0, "commodity:wti")), WIDENED, other)
    assert judge(alone.state, report, WIDENED, other).detection is None


def test_a_rule_gone_still_records_the_report() -> None:
    """With no condition (the rule was removed), the report is recorded and nothing passes."""
    judged = judge(SeriesState(), detection("a1", 0, spread(19.4)), None, URALS)
    assert judged.detection is None
    assert [p.value for p in judged.state.points] == [19.4]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 24 * 30), min_size=1, max_size=400))
def test_a_series_stays_bounded(hours: list[float]) -> None:
    """However many reports, a series keeps its recent ones and one an hour within the horizon."""
    state = SeriesState()
    for n, at in enumerate(hours):
        state = judge(state, detection(f"a{n}", at, spread(19.0 + n % 5)), WIDENED, URALS).state
    points = state.points
    assert len(points) <= RECENT_POINTS + HORIZON.total_seconds() / 3600 + 1
    assert [p.at for p in points] == sorted(p.at for p in points)
    newest = max(T0 + timedelta(hours=h) for h in hours)
    assert points[-1].at == newest
    assert all(p.at >= newest - HORIZON for p in points[:-RECENT_POINTS])
