"""The where-condition language: parsing, errors with a caret, and per-commodity semantics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import ExtractedValue, Span
from schemas.errors import ConfigError
from streams.rules.conditions import VARIABLES, compile_condition, records

SPAN = Span(field="body", start=0, end=1, text="x")


def fact(kind: str, commodity: str | None = "commodity:urals", **fields: object) -> ExtractedValue:
    return ExtractedValue(kind=kind, commodity=commodity, span=SPAN, **fields)  # type: ignore[arg-type]


URALS = [
    fact("spread", value=19.4, currency="USD", unit="bbl", benchmark="commodity:brent"),
    fact("extreme", extreme="one-year high", direction="up"),
]
BRENT_FALL = [fact("change_pct", "commodity:brent", value=-3.0, direction="down")]
SHARES = [fact("change_pct", None, value=7.0, direction="up")]
MIXED = [
    fact("price", "commodity:gold", value=4400.0, currency="USD", unit="oz"),
    fact("change_pct", "commodity:silver", value=5.0, direction="up"),
]


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        ("abs(change_pct) >= 2 or extreme is not null", URALS, True),
        ("abs(change_pct) >= 2 or extreme is not null", BRENT_FALL, True),
        ("abs(change_pct) >= 5", BRENT_FALL, False),
        ("change_pct <= -3", BRENT_FALL, True),
        ("direction = 'down' and commodity = 'brent'", BRENT_FALL, True),
        ("commodity is not null and change_pct > 2", SHARES, False),
        ("commodity is null and change_pct > 2", SHARES, True),
        ("spread > 15 and benchmark = \"brent\" and unit = 'BBL'", URALS, True),
        ("spread > 15 and extreme = 'one-year high'", URALS, True),
        ("commodity in ('urals', 'commodity:wti')", URALS, True),
        ("commodity not in ('urals')", URALS, False),
        ("currency in ('EUR', 'GBP')", URALS, False),
        ("price is null", URALS, True),
        ("not (price > 5)", URALS, True),
        ("NOT price > 5 AND spread > 5", URALS, True),
        ("max(price, spread) >= 19 and min(price, spread) < 20", URALS, True),
        ("spread * 2 - 1 > 37 and spread / 2 < 10", URALS, True),
        ("-change_pct = 3", BRENT_FALL, True),
        ("price > 4000 and change_pct > 2", MIXED, False),
        ("price > 4000 or change_pct > 2", MIXED, True),
        ("commodity = 'gold' and unit = 'oz'", MIXED, True),
        ("price > 1", [], False),
        ("price is null", [], False),
        ("change_pct / 0 is null", BRENT_FALL, True),
    ],
)
def test_semantics(condition: str, values: list[ExtractedValue], expected: bool) -> None:
    """Conditions hold when any per-commodity record satisfies them; nulls make comparisons false."""
    assert compile_condition(condition).matches(values) is expected


def test_records_combine_the_facts_of_one_commodity() -> None:
    """One record per combination of a commodity's facts; another commodity is another record."""
    values = [
        fact("change_pct", value=1.0, direction="up"),
        fact("change_pct", value=-2.0, direction="down"),
        fact("price", value=60.0, currency="USD", unit="bbl"),
        fact("price", "commodity:brent", value=70.0, currency="USD"),
    ]
    found = sorted((r["commodity"], r["price"], r["change_pct"]) for r in records(values))  # type: ignore[type-var]
    assert found == [
        ("commodity:brent", 70.0, None),
        ("commodity:urals", 60.0, -2.0),
        ("commodity:urals", 60.0, 1.0),
    ]


@pytest.mark.parametrize(
    ("condition", "column", "message"),
    [
        ("price >", 8, "expected a value"),
        ("price > 'x'", 9, "cannot compare a number with a string"),
        ("foo > 1", 1, "unknown variable 'foo'"),
        ("price >= 2 and", 15, "expected a value"),
        ("(price > 2", 11, "expected ')'"),
        ("abs(price, 1) > 2", 1, "abs() takes exactly one argument"),
        ("price", 6, "expected a comparison"),
        ("extreme < 'a'", 1, "strings can only be compared with = or !="),
        ("price = null", 1, "write 'is null'"),
        ("price $ 3", 7, "unexpected character '$'"),
        ("extreme = 'abc", 11, "not closed"),
        ("nope(1) > 2", 1, "unknown function 'nope'"),
        ("price in (1, 'a')", 14, "the left side is a number"),
        ("", 1, "empty"),
        ("price > 2 price", 11, "expected 'and', 'or' or the end"),
        ("price is 3", 10, "expected 'null' after 'is'"),
        ("price not 3", 7, "expected 'in' after 'not'"),
        ("commodity + 1 > 2", 11, "arithmetic needs numbers"),
        ("2abc > 1", 2, "must not run into a name"),
        ("(price > 1) = (spread > 1)", 1, "a condition cannot be compared"),
        ("price > and", 9, "keyword 'and'"),
        ("previous(extreme) > 1", 10, "takes a level reported over time: price or spread"),
        ("previous(change_pct) > 1", 10, "price or spread"),
        ("spread - previous(spread) > previous(price)", 38, "it already reads the history of"),
        ("change_pct_since(price) > 2", 23, "expected ',' and a duration"),
        ("change_pct_since(price, 24) > 2", 25, "expected a duration such as 24h"),
        ("change_pct_since(price, 8d) > 2", 25, "at most 7d"),
        ("price > 24h", 9, "only allowed as the second argument of change_pct_since"),
        ("previous(price, 1) > 2", 15, "expected ')'"),
    ],
)
def test_errors_name_the_column_with_a_caret(condition: str, column: int, message: str) -> None:
    """A malformed condition is a ConfigError with origin, column and a caret under the spot."""
    with pytest.raises(ConfigError) as caught:
        compile_condition(condition, origin="pack.yaml: rule r")
    text = str(caught.value)
    assert text.startswith("pack.yaml: rule r: where condition, column")
    assert f"column {column}:" in text
    assert message in text
    _first, line, caret = text.split("\n")
    assert line == f"    {condition}"
    assert caret == "    " + " " * (column - 1) + "^"


def test_multiline_condition_errors_name_the_line() -> None:
    """In a multi-line condition the error names line and column of that line."""
    with pytest.raises(ConfigError, match=r"line 2, column 12: unknown variable 'pricee'"):
        compile_condition("price > 1 and\n  spread < pricee")


def test_long_condition_is_rejected() -> None:
    """Conditions have a size cap."""
    with pytest.raises(ConfigError, match="limit"):
        compile_condition("price > 1 or " * 400 + "price > 1")


def test_condition_is_not_python() -> None:
    """Python syntax and attribute access are rejected, not evaluated."""
    for text in ("__import__('os').system('true') > 1", "price.__class__ > 1", "[price] > 1"):
        with pytest.raises(ConfigError):
            compile_condition(text)


_ATOMS = [
    *VARIABLES,
    "1", "2.5", "-3", "'up'", "null", "abs(change_pct)", "min(price, 1)", "and", "or",
    "previous(spread)", "change_pct_since(spread, 24h)", "24h",
    "not", "is", "in", "(", ")", ",", "=", "!=", "<", "<=", ">", ">=", "+", "*", "@",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ATOMS), max_size=12))
def test_any_token_soup_parses_or_raises_config_error(atoms: list[str]) -> None:
    """Whatever the input, compiling either succeeds and evaluates to a bool, or raises ConfigError."""
    text = " ".join(atoms)
    try:
        condition = compile_condition(text)
    except ConfigError:
        return
    assert condition.matches(URALS + BRENT_FALL + SHARES) in (True, False)


class FakeHistory:
    """A history of fixed values per series; remembers what was asked."""

    def __init__(self, previous: float | None, since: float | None = None) -> None:
        self._previous = previous
        self._since = since
        self.asked: list[tuple[str, str, float]] = []

    def previous(self, series: str) -> float | None:
        self.asked.append(("previous", series, 0.0))
        return self._previous

    def since(self, series: str, seconds: float) -> float | None:
        self.asked.append(("since", series, seconds))
        return self._since


URALS_SERIES = "spread|commodity:urals|commodity:brent|USD|bbl"


@pytest.mark.parametrize(
    ("condition", "history", "expected"),
    [
        ("spread - previous(spread) >= 2", FakeHistory(17.0), True),
        ("spread - previous(spread) >= 2", FakeHistory(18.0), False),
        ("spread - previous(spread) >= 2", FakeHistory(None), False),
        ("previous(spread) is null", FakeHistory(None), True),
        ("change_pct_since(spread, 24h) >= 10", FakeHistory(None, since=17.0), True),
        ("change_pct_since(spread, 24h) >= 20", FakeHistory(None, since=17.0), False),
        ("change_pct_since(spread, 1d) is null", FakeHistory(None, since=0.0), True),
        ("commodity = 'brent' and spread > previous(spread)", FakeHistory(1.0), False),
        ("abs(spread - previous(spread)) >= 2 or extreme is not null", FakeHistory(19.0), True),
    ],
)
def test_history_functions_read_the_series_of_the_records_figure(
    condition: str, history: FakeHistory, expected: bool
) -> None:
    """previous() and change_pct_since() read the history of the record's own series."""
    compiled = compile_condition(condition)
    assert compiled.level == "spread"
    assert (compiled.first_match(URALS, history) is not None) is expected
    assert {series for _, series, _ in history.asked} <= {URALS_SERIES}


def test_change_pct_since_reads_its_duration_in_seconds() -> None:
    """The duration of change_pct_since is passed to the history in seconds."""
    history = FakeHistory(None, since=10.0)
    compile_condition("change_pct_since(spread, 90m) > 1").first_match(URALS, history)
    assert history.asked == [("since", URALS_SERIES, 5400.0)]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("spread - previous(spread) >= 2", True),
        ("commodity = 'brent' and spread - previous(spread) >= 2", False),
        ("price - previous(price) >= 2", False),
        ("spread > 100 or previous(spread) is null", True),
        ("not (spread - previous(spread) >= 2)", True),
        ("spread > 1 or previous(spread) > 1", True),
    ],
)
def test_without_history_a_maybe_is_a_match(condition: str, expected: bool) -> None:
    """Without history a history function is unknown: what may hold counts, what cannot does not."""
    assert compile_condition(condition).matches(URALS) is expected


def test_conditions_without_history_read_no_level() -> None:
    """A plain condition follows no series."""
    assert compile_condition("spread > 1").level is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_ATOMS), max_size=12),
    st.one_of(st.none(), st.floats(-50, 50)),
    st.one_of(st.none(), st.floats(-50, 50)),
)
def test_what_holds_with_history_may_hold_without(
    atoms: list[str], previous: float | None, since: float | None
) -> None:
    """Unknown history never hides a match: a condition true with some history is a maybe without."""
    try:
        condition = compile_condition(" ".join(atoms))
    except ConfigError:
        return
    values = URALS + BRENT_FALL + SHARES
    if condition.first_match(values, FakeHistory(previous, since)) is not None:
        assert condition.matches(values)
