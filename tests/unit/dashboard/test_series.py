"""Figure series: levels bound to a commodity, one point per article figure, bounded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from schemas import Detection
from tests.unit.dashboard.conftest import NOW, level
from wirewatch.dashboard.series import FigureSeries, SeriesKey

URALS = {"commodity": "commodity:urals", "benchmark": "commodity:brent", "currency": "USD"}


def test_spreads_make_a_series_in_time_order(make_detection: Callable[..., Detection]) -> None:
    """Spread figures of several articles become one series, ordered by publication time."""
    book = FigureSeries()
    for hours, value in ((2, 13.0), (0, 11.5), (1, 12.0)):
        book.add(
            make_detection(
                published_at=NOW + timedelta(hours=hours),
                values=(level("spread", value, unit="bbl", **URALS),),
            )
        )
    key = SeriesKey("spread", "commodity:urals", "commodity:brent", "USD", "bbl")
    view = book.view(key)
    assert [p["value"] for p in view["points"]] == [11.5, 12.0, 13.0]
    assert view["label"] == "Urals spread to Brent (USD/bbl)"


def test_only_levels_bound_to_a_commodity_count(make_detection: Callable[..., Detection]) -> None:
    """A percent change, an extreme, or a price without a commodity is no series point."""
    book = FigureSeries()
    changed = book.add(
        make_detection(
            values=(
                level("change_pct", 3.0, commodity="commodity:brent"),
                level("price", 62.0),
            )
        )
    )
    assert not changed
    assert len(book) == 0


def test_an_article_figure_is_one_point(make_detection: Callable[..., Detection]) -> None:
    """Several rules firing on one article carry the same figure: it is counted once."""
    book = FigureSeries()
    figure = level("price", 62.0, start=40, commodity="commodity:brent", currency="USD")
    assert book.add(make_detection(article_id="a1", rule_id="r1", values=(figure,)))
    assert not book.add(make_detection(article_id="a1", rule_id="r2", values=(figure,)))
    (key,) = book.keys_in([figure])
    assert len(book.view(key)["points"]) == 1


def test_series_are_bounded(make_detection: Callable[..., Detection]) -> None:
    """At most max_points per series (oldest dropped) and max_series series (stalest dropped)."""
    book = FigureSeries(max_series=2, max_points=3)
    for n in range(5):
        figure = level("price", float(n), commodity="commodity:brent", currency="USD")
        book.add(make_detection(published_at=NOW + timedelta(hours=n), values=(figure,)))
    (brent,) = book.keys_in([level("price", 0.0, commodity="commodity:brent", currency="USD")])
    assert [p["value"] for p in book.view(brent)["points"]] == [2.0, 3.0, 4.0]
    for commodity in ("commodity:gold", "commodity:wheat"):
        book.add(make_detection(values=(level("price", 1.0, commodity=commodity),)))
    assert len(book) == 2
    assert book.view(brent)["points"] == []
    assert [s["label"] for s in book.catalogue()] == ["wheat price", "gold price"]
