"""The numeric extractors in the seven languages, and figures of policy that are not prices."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas import Article
from streams.rules.entities import Gazetteer
from streams.rules.numbers import extract_values

Figure = tuple[str, float | None, str | None, str | None, str | None]


def figures(gazetteer: Gazetteer, item: Article) -> list[Figure]:
    """(kind, value, currency, unit, commodity) of every figure, commodity id without its kind."""
    found = extract_values(item, gazetteer.mentions(item))
    for value in found:
        assert value.span.text == item.body[value.span.start : value.span.end]
    return [
        (v.kind, v.value, v.currency, v.unit, v.commodity and v.commodity.split(":")[1])
        for v in found
        if v.kind != "extreme"
    ]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Der TTF-Kontrakt verteuerte sich um 12,5 Prozent auf 48,30 Euro je Megawattstunde.",
            [("change_pct", 12.5, None, None, "ttf"), ("price", 48.3, "EUR", "MWh", "ttf")],
        ),
        (
            "Le Brent a gagné 4,2 % à 66,80 dollars le baril.",
            [("change_pct", 4.2, None, None, "brent"), ("price", 66.8, "USD", "bbl", "brent")],
        ),
        (
            "El Brent avanzó un 4,1 % hasta 66,70 dólares por barril.",
            [("change_pct", 4.1, None, None, "brent"), ("price", 66.7, "USD", "bbl", "brent")],
        ),
        (
            "Baryłka ropy Brent podrożała o 4,3 proc. do 66,90 dolara za baryłkę.",
            [("change_pct", 4.3, None, None, "brent"), ("price", 66.9, "USD", "bbl", "brent")],
        ),
        ("Benzyna kosztuje 6,45 zł za litr.", [("price", 6.45, "PLN", "l", "gasoline")]),
        ("Gold kostete 1.250,50 Dollar je Feinunze.", [("price", 1250.5, "USD", "oz", "gold")]),
        ("Der Weizenpreis fiel um 3 Prozent.", [("change_pct", -3.0, None, None, "wheat")]),
        ("Le prix du blé a chuté de 3 %.", [("change_pct", -3.0, None, None, "wheat")]),
        ("El trigo cayó un 3 por ciento.", [("change_pct", -3.0, None, None, "wheat")]),
        ("Барель Brent подорожчав на 4,2%.", [("change_pct", 4.2, None, None, "brent")]),
        ("Der Kakaopreis springt um 9 Prozent.", [("change_pct", 9.0, None, None, "cocoa")]),
        ("Der Weizen fällt um 2 Prozent.", [("change_pct", -2.0, None, None, "wheat")]),
        ("El azúcar se desploma un 6 %.", [("change_pct", -6.0, None, None, "sugar")]),
        ("La soja sube un 1,5 %.", [("change_pct", 1.5, None, None, "soybeans")]),
        ("Cena miedzi rośnie o 2 proc.", [("change_pct", 2.0, None, None, "copper")]),
        ("Kawa tanieje o 3 proc.", [("change_pct", -3.0, None, None, "coffee")]),
    ],
)
def test_prices_and_moves_in_other_languages(
    gazetteer: Gazetteer, article: Callable[..., Article], sentence: str, expected: list[Figure]
) -> None:
    """Currency words, units, decimal commas and percent words of de, fr, es, pl and uk."""
    assert figures(gazetteer, article(sentence)) == expected


@pytest.mark.parametrize(
    ("sentence", "language", "value"),
    [
        ("Kupfer kostete 11.200 Dollar je Tonne.", "de", 11200.0),
        ("Kupfer kostete 11.200 Dollar je Tonne.", "de-AT", 11200.0),
        ("Superbenzin kostete 1,659 Euro je Liter.", "de", 1.659),
        ("Kupfer kostete 11.5 Dollar je Tonne.", "de", 11.5),
        ("Le cuivre valait 11.200 dollars la tonne.", "fr", 11200.0),
        ("Copper fetched 11.200 dollars a tonne.", "en", 11.2),
        ("Copper fetched 1,659 dollars a tonne.", "en", 1659.0),
    ],
)
def test_the_articles_language_decides_the_decimal_mark(
    gazetteer: Gazetteer,
    article: Callable[..., Article],
    sentence: str,
    language: str,
    value: float,
) -> None:
    """Where decimals take a comma, a dot before three digits groups thousands and a comma is decimal."""
    prices = [
        f for f in figures(gazetteer, article(sentence, language=language)) if f[0] == "price"
    ]
    assert [f[1] for f in prices] == [value]


def test_german_spread_sentence(gazetteer: Gazetteer, article: Callable[..., Article]) -> None:
    """A German spread sentence gives the spread of Urals to Brent, with its decimal comma."""
    item = article(
        "Der Preisabschlag für russisches Rohöl der Sorte Urals gegenüber der Nordseesorte "
        "Brent hat sich auf 19,40 Dollar je Barrel ausgeweitet, der größte Abstand seit einem Jahr."
    )
    spread = [v for v in extract_values(item, gazetteer.mentions(item)) if v.kind == "spread"]
    assert [(v.value, v.currency, v.unit, v.commodity, v.benchmark) for v in spread] == [
        (19.4, "USD", "bbl", "commodity:urals", "commodity:brent")
    ]


@pytest.mark.parametrize(
    ("sentence", "commodity"),
    [
        (
            "Der TTF-Kontrakt stieg auf 52 Euro je Megawattstunde, den höchsten Stand seit einem Jahr.",
            "commodity:ttf",
        ),
        ("Brent rose to $80 a barrel, its highest since 2023.", "commodity:brent"),
        ("Brent rose 2%, while the dollar hit a one-year high.", None),
    ],
)
def test_a_currency_inside_an_amount_is_not_another_subject(
    gazetteer: Gazetteer, article: Callable[..., Article], sentence: str, commodity: str | None
) -> None:
    """An extreme after a price binds to the price's commodity; after "the dollar" alone, to none."""
    item = article(sentence)
    found = [v.commodity for v in extract_values(item, gazetteer.mentions(item)) if v.extreme]
    assert found == [commodity]


@pytest.mark.parametrize(
    ("sentence", "extreme"),
    [
        ("Der Gaspreis stieg auf ein Jahreshoch.", "jahreshoch"),
        ("Der Ölpreis fiel auf den tiefsten Stand seit 2021.", "tiefsten stand seit 2021"),
        ("Le Brent a atteint son plus haut depuis un an.", "plus haut depuis un an"),
        ("El Brent marcó su máximo de un año.", "maximo de un ano"),
        ("Ropa Brent najwyżej od miesiąca.", "najwyzej od miesiaca"),
        ("Нефть Brent обновила максимум за год.", "максимум за год"),
    ],
)
def test_extremes_in_other_languages(
    gazetteer: Gazetteer, article: Callable[..., Article], sentence: str, extreme: str
) -> None:
    """Jahreshoch, plus haut depuis un an, máximo de un año, максимум за год..."""
    item = article(sentence)
    found = [v.extreme for v in extract_values(item, gazetteer.mentions(item))]
    assert found == [extreme]


@pytest.mark.parametrize(
    "sentence",
    [
        "The G7 price cap on Russian crude stays at $60 a barrel.",
        "Oil traded near the $60 cap.",
        "Washington raised the tariff on steel to $300 a tonne.",
        "The refiner was fined $40 per barrel of oil it had exported.",
        "A diesel subsidy of 0.35 euros per litre ends in March.",
        "Der Preisdeckel für russisches Öl liegt bei 47,60 Dollar je Barrel.",
        "Le plafond du prix du pétrole russe est fixé à 47,60 dollars le baril.",
        "El tope al precio del crudo ruso baja a 47,60 dólares por barril.",
        "Pułap cenowy na rosyjską ropę naftową wynosi 47,60 dolara za baryłkę.",
        "Потолок цен на российскую нефть составит 47,60 доллара за баррель.",
        "Steel tariffs rose 25% on Monday.",
        "Die Zölle auf Stahl stiegen um 25 Prozent.",
    ],
)
def test_policy_figures_are_not_prices(
    gazetteer: Gazetteer, article: Callable[..., Article], sentence: str
) -> None:
    """A cap, a tariff, a fine, a subsidy or a budget in money (or its change) is not a price."""
    assert figures(gazetteer, article(sentence)) == []


def test_a_price_next_to_a_cap_is_still_a_price(
    gazetteer: Gazetteer, article: Callable[..., Article]
) -> None:
    """Only the capped figure is dropped: the market price in the same sentence stays."""
    found = figures(gazetteer, article("Urals traded at $58 a barrel, below the $60 cap."))
    assert found == [("price", 58.0, "USD", "bbl", "urals")]
