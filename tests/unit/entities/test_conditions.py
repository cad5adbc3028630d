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
