"""The numeric extractors: prices, spreads, percent moves, extremes, and their binding."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Article, ExtractedValue
from streams.rules.entities import Gazetteer
from streams.rules.numbers import extract_values

URALS = (
    "The discount on Russian Urals crude to Brent reached a one-year high "
    "of 19.40 dollars per barrel."
)


def values_of(gazetteer: Gazetteer, item: Article) -> tuple[ExtractedValue, ...]:
    return extract_values(item, gazetteer.mentions(item))


def one(values: tuple[ExtractedValue, ...], kind: str) -> ExtractedValue:
    found = [value for value in values if value.kind == kind]
    assert len(found) == 1, values
    return found[0]


def test_urals_spread_sentence(gazetteer: Gazetteer, article: Callable[..., Article]) -> None:
    """The Urals sentence yields a Urals spread to Brent of 19.40 USD/bbl and a one-year high."""
    values = values_of(gazetteer, article(URALS))
    spread = one(values, "spread")
    assert (spread.value, spread.currency, spread.unit) == (19.40, "USD", "bbl")
    assert spread.commodity == "commodity:urals"
    assert spread.benchmark == "commodity:brent"
    assert spread.span.text == "19.40 dollars per barrel"
    extreme = one(values, "extreme")
    assert extreme.extreme == "one-year high"
    assert extreme.commodity == "commodity:urals"
    assert extreme.direction == "up"
    assert not [value for value in values if value.kind == "price"]


@pytest.mark.parametrize(
    ("sentence", "value", "currency", "unit", "commodity"),
    [
        ("Brent crude traded at $62/bbl.", 62.0, "USD", "bbl", "brent"),
        ("WTI settled at 62 USD/bbl.", 62.0, "USD", "bbl", "wti"),
        ("Dutch TTF gas was at EUR 35/MWh.", 35.0, "EUR", "MWh", "ttf"),
        ("TTF gas traded at €35 per megawatt hour.", 35.0, "EUR", "MWh", "ttf"),
        ("Gold climbed to $4,400 an ounce.", 4400.0, "USD", "oz", "gold"),
        ("Copper fetched $10,250.50 a tonne on the LME.", 10250.5, "USD", "t", "copper"),
        ("Henry Hub gas was $3.10/mmbtu.", 3.1, "USD", "MMBtu", "henry-hub"),
        ("Wheat futures closed at $5.40 a bushel.", 5.4, "USD", "bu", "wheat"),
        ("Brent rose to $64.10.", 64.1, "USD", None, "brent"),
        ("Нефть Urals стоила 55,30 доллара за баррель.", 55.3, "USD", "bbl", "urals"),
        ("Пшениця коштувала 230 доларів за тонну.", 230.0, "USD", "t", "wheat"),
        ("Urals sold for US$58 per barrel.", 58.0, "USD", "bbl", "urals"),
    ],
)
def test_price_formats(
    gazetteer: Gazetteer,
    article: Callable[..., Article],
    sentence: str,
    value: float,
    currency: str,
    unit: str | None,
    commodity: str,
) -> None:
    """Every written price format yields value, currency code and unit code, bound to the commodity."""
    price = one(values_of(gazetteer, article(sentence)), "price")
    assert (price.value, price.currency, price.unit) == (value, currency, unit)
    assert price.commodity == f"commodity:{commodity}"
    assert sentence[price.span.start : price.span.end] == price.span.text


@pytest.mark.parametrize(
    ("sentence", "change", "commodity"),
    [
        ("Brent crude fell 3% on Monday.", -3.0, "brent"),
        ("Gold was up 2.5 percent.", 2.5, "gold"),
        ("Copper's rally 12% this year surprised traders.", 12.0, "copper"),
        ("Wheat futures slumped 4.1 per cent.", -4.1, "wheat"),
        ("WTI dropped by 1.2 pct in Asian trade.", -1.2, "wti"),
        ("Nickel posted a 3% weekly gain.", 3.0, "nickel"),
        ("Silver suffered a 5 percent drop.", -5.0, "silver"),
        ("Urals crude (-2.5%) lagged.", -2.5, "urals"),
        ("Нефть Brent подорожала на 2,5%.", 2.5, "brent"),
        ("Ціни на пшеницю впали на 3%.", -3.0, "wheat"),
        ("Brent rose for a third day, gaining 1.1%.", 1.1, "brent"),
    ],
)
def test_percent_moves_are_signed(
    gazetteer: Gazetteer,
    article: Callable[..., Article],
    sentence: str,
    change: float,
    commodity: str,
) -> None:
    """A percentage with a direction is a signed change bound to the commodity."""
    move = one(values_of(gazetteer, article(sentence)), "change_pct")
    assert move.value == change
    assert move.direction == ("down" if change < 0 else "up")
    assert move.commodity == f"commodity:{commodity}"


@pytest.mark.parametrize(
    ("sentence", "extreme", "direction"),
    [
        ("Gold hit a record high.", "record high", "up"),
        ("Gold hit an all-time high.", "all-time high", "up"),
        ("Brent slid to a six-month low.", "six-month low", "down"),
        ("Copper reached a 52-week high.", "52-week high", "up"),
        ("Wheat fell to a multi-year low.", "multi-year low", "down"),
        ("Brent rose to its highest since 2022.", "highest since 2022", "up"),
        (
            "Gold rose to the highest level in more than a month.",
            "highest level in more than a month",
            "up",
        ),
        ("Brent fell to the lowest since March 2021.", "lowest since march 2021", "down"),
        ("The Urals discount to Brent was the widest gap in a year.", "widest gap in a year", "up"),
        ("The Brent-WTI spread was the narrowest since 2020.", "narrowest since 2020", "down"),
        ("Золото обновило рекордный максимум.", "рекордныи максимум", "up"),
    ],
)
def test_extremes(
    gazetteer: Gazetteer,
    article: Callable[..., Article],
    sentence: str,
    extreme: str,
    direction: str,
) -> None:
    """Extremes are read with their direction (folded text) and bound to the commodity."""
    found = one(values_of(gazetteer, article(sentence)), "extreme")
    assert found.extreme == extreme
    assert found.direction == direction
    assert found.commodity is not None


@pytest.mark.parametrize(
    "sentence",
    [
        "Shares of the oil major rose 3% after it announced a buyback.",
        "Exxon shares rose 3% as investors cheered.",
        "Brentford beat Arsenal 2-1 as ticket prices rose 5%.",
        "She won Olympic gold, and her sponsor's shares rose 3%.",
        "Oil exports fell 3% in October.",
        "Gold fell as the dollar rose 1%.",
        "Oil output rose 2% to 9.5 million barrels a day.",
    ],
)
def test_other_subjects_do_not_bind(
    gazetteer: Gazetteer, article: Callable[..., Article], sentence: str
) -> None:
    """Share, ticket, output, export and currency moves are never a commodity's figure."""
    values = values_of(gazetteer, article(sentence))
    assert all(value.commodity is None for value in values if value.kind == "change_pct"), values


@pytest.mark.parametrize(
    "sentence",
    [
        "Sanctions froze $300 billion of Russian assets.",
        "A 25% stake in the gold mine was sold.",
        "Gold prices are likely to stay volatile.",
        "The 2022 record for oil was never beaten.",
        "He paid 5 europe-wide fees.",
    ],
)
def test_non_figures_are_ignored(
    gazetteer: Gazetteer, article: Callable[..., Article], sentence: str
) -> None:
    """Totals, stakes without a direction, years and words are not prices or moves."""
    assert [v for v in values_of(gazetteer, article(sentence)) if v.kind != "extreme"] == []


def test_figures_bind_within_their_sentence(
    gazetteer: Gazetteer, article: Callable[..., Article]
) -> None:
    """A figure never binds to a commodity of another sentence."""
    values = values_of(gazetteer, article("Gold was quiet. Ticket prices rose 4%."))
    assert one(values, "change_pct").commodity is None


def test_nearest_commodity_wins(gazetteer: Gazetteer, article: Callable[..., Article]) -> None:
    """In "gold rose 2% and silver gained 3%" each move binds to its own metal."""
    values = values_of(gazetteer, article("Gold rose 2% and silver gained 3%."))
    moves = {v.commodity: v.value for v in values if v.kind == "change_pct"}
    assert moves == {"commodity:gold": 2.0, "commodity:silver": 3.0}


@pytest.mark.parametrize(
    ("sentence", "commodity", "benchmark", "value"),
    [
        ("Urals traded at a discount of $12 to Brent.", "urals", "brent", 12.0),
        ("The spread between Brent and WTI narrowed to $3.50 a barrel.", "brent", "wti", 3.5),
        ("ESPO crude sold at a $4 premium to Dubai crude.", "espo", "dubai", 4.0),
    ],
)
def test_spreads_have_a_benchmark(
    gazetteer: Gazetteer,
    article: Callable[..., Article],
    sentence: str,
    commodity: str,
    benchmark: str,
    value: float,
) -> None:
    """A spread amount carries the compared commodity and the benchmark."""
    spread = one(values_of(gazetteer, article(sentence)), "spread")
    assert spread.commodity == f"commodity:{commodity}"
    assert spread.benchmark == f"commodity:{benchmark}"
    assert spread.value == value


def test_title_figures_are_found(gazetteer: Gazetteer, article: Callable[..., Article]) -> None:
    """Figures in the title get title spans."""
    values = values_of(gazetteer, article("Nothing here.", title="Brent slumps 4% to $60"))
    assert {v.kind for v in values} == {"change_pct", "price"}
    assert all(v.span.field.value == "title" for v in values)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["Brent", "gold", "shares", "fell", "rose", "3%", "$62/bbl", "19,40", "record",
             "high", "discount", "to", "Urals", ".", ",", "per", "barrel", "€", "4,400", "\n"]
        ),
        max_size=40,
    )
)  # fmt: skip
def test_spans_always_slice_the_text(gazetteer: Gazetteer, words: list[str]) -> None:
    """Whatever the words, every value's span slices the stored text and binds to a known id."""
    body = " ".join(words).strip() or "x"
    item = Article(id="h", source="s", title="t", body=body)
    for value in values_of(gazetteer, item):
        assert item.text_of(value.span.field)[value.span.start : value.span.end] == value.span.text
        assert value.commodity is None or value.commodity in gazetteer


@pytest.mark.parametrize(
    "body",
    [
        "1" * 60_000,
        "$" + "1," * 30_000 + "5 a barrel",
        "." * 60_000,
        "fell " * 12_000 + "3%",
        "Brent " + "discount to " * 6_000 + "$5",
        "highest since " * 5_000,
        "4" + ",000" * 15_000 + " dollars per barrel",
        "rose 3% " * 8_000,
        "Brent " + "rose 3% " * 20_000,
        "discount between Brent and WTI " * 12_000 + "$5",
        "Urals to Brent discount $5 " * 12_000,
    ],
)
def test_pathological_inputs_finish(gazetteer: Gazetteer, body: str) -> None:
    """Long adversarial runs (digits, separators, cue words, one endless sentence) finish quickly.

    A quadratic step would take tens of seconds on the 300 KB bodies here.
    """
    item = Article(id="p", source="s", title="t", body=body)
    for value in values_of(gazetteer, item):
        assert item.body[value.span.start : value.span.end] == value.span.text


_SCAN_TOKENS = [
    "$", "€", "us$", "12", "4,400", "19,40", "1.250,50", "0.5", " ", "  ", ".", ",", "-", "+",
    "%", "percent", "pour cent", "proc.", "dollars", "долл.", "zl", "euro", "je", "per", "a",
    "barrel", "megawattstunde", "bn", "million", "high", "low", "record", "one-year", "since",
    "2022", "a year", "jahreshoch", "plus haut depuis un an", "maximo de un ano", "максимум",
    "за год", "najwyzej od", "miesiaca", "brent", "\n", "x",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_SCAN_TOKENS), max_size=30))
def test_two_stage_scans_read_what_re2_reads(tokens: list[str]) -> None:
    """RE2 finding a figure's extent and ``re`` reading its groups give RE2's own groups."""
    import re2

    from streams.rules import numbers

    text = "".join(tokens)
    for scan in (numbers._MONEY, numbers._PERCENT, numbers._EXTREME):
        whole = re2.compile(scan._read.pattern)
        expected = [
            tuple(match.span(group) for group in range(whole.groups + 1))
            for match in whole.finditer(text)
        ]
        got = [
            tuple(
                (offset + start, offset + end) if start >= 0 else (-1, -1)
                for start, end in (match.span(group) for group in range(match.re.groups + 1))
            )
            for offset, match in scan.finditer(numbers._Encoded(text, text.encode()))
        ]
        assert got == expected


_SENTENCE_TOKENS = [
    "a", "proc", "проц", "долл", "руб", "tys", "mln", "mio", ".", "!", "?", ";", ",", "\"", "'",
    "”", "’", "»", ")", " ", "\n", "\t", "\u00a0", "19", "x.y",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_SENTENCE_TOKENS), max_size=40))
def test_sentence_ends_are_those_of_one_pattern(tokens: list[str]) -> None:
    """The per-mark patterns find the ends one pattern for every mark finds."""
    import re

    from streams.rules import numbers

    one_pattern = re.compile(
        "[.!?;](?<!proc.)(?<!проц.)(?<!долл.)(?<!руб.)(?<!tys.)(?<!mln.)(?<!mld.)(?<!mrd.)"
        "(?<!mio.)[\"'”’»)]?\\s|\n"
    )
    text = "".join(tokens)
    assert numbers._sentence_ends(text) == [m.end() for m in one_pattern.finditer(text)]


@pytest.mark.parametrize(
    ("body", "commodity"),
    [
        (
            "Copper hit a record. The three-month contract rose 4 percent to $11,210 a tonne.",
            "copper",
        ),
        (
            "Der Kupferpreis stieg. Die Tonne verteuerte sich um 4,3 Prozent auf 11.210 Dollar.",
            "copper",
        ),
        (
            "El café arábica sube. El contrato más negociado avanzó un 7 %, hasta 4,30 dólares por libra.",
            "coffee",
        ),
        ("Brent дорожает. Фьючерсы подорожали на 2%.", "brent"),
        # the links that do not hold
        ("Copper hit a record. Shares of the contract miner rose 4 percent.", None),
        ("Copper and gold rallied. The contract rose 4 percent.", None),
        ("Copper hit a record. Consumer spending rose 4 percent.", None),
        ("Copper hit a record. The index was flat. The contract rose 4 percent.", None),
    ],
)
def test_a_traded_unit_follows_the_sentence_before(
    gazetteer: Gazetteer, article: Callable[..., Article], body: str, commodity: str | None
) -> None:
    """ "The contract rose 4%" after a sentence naming one commodity is about that commodity."""
    move = one(values_of(gazetteer, article(body)), "change_pct")
    assert move.commodity == (commodity and f"commodity:{commodity}")


def test_a_first_sentence_follows_the_title(
    gazetteer: Gazetteer, article: Callable[..., Article]
) -> None:
    """A summary's first sentence that names only a traded unit follows a title naming one commodity."""
    item = article("New York futures rose 7 percent.", title="Arabica coffee hits a record")
    assert one(values_of(gazetteer, item), "change_pct").commodity == "commodity:coffee"
    item = article("New York futures rose 7 percent.", title="Gold and silver hit records")
    assert one(values_of(gazetteer, item), "change_pct").commodity is None
