"""Terms and numbers: stems without stop words, numbers normalised across languages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.stories.terms import MAX_NUMBERS, MAX_TERMS, normalise_number, numbers_of, terms_of


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        pytest.param(
            "Russian offensives near Pokrovsk", "en", {"russian", "offens", "pokrovsk"}, id="en"
        ),
        pytest.param("Die Verhandlungen in Genf", "de", {"verhandl", "genf"}, id="de"),
        pytest.param("Переговоры в Стамбуле", "ru", {"переговор", "стамбул"}, id="ru"),
        pytest.param(
            "Переговори у Стамбулі",
            "uk",
            {"переговори", "переговорити", "стамбул", "стамбулі"},
            id="uk-normal-forms",
        ),
        pytest.param("Negocjacje w Stambule", "xx", {"negocj", "stambu"}, id="unknown-prefixes"),
        pytest.param("Rozmowy w Stambule", "pl", {"rozmow", "stambul"}, id="pl"),
    ],
)
def test_terms_are_stems_without_stop_words(text: str, language: str, expected: set[str]) -> None:
    """Stop words go, inflections meet at a stem; an unknown language keeps prefixes."""
    assert set(terms_of(text, language)) == expected


def test_inflected_forms_share_a_stem() -> None:
    """Singular and plural, verb forms, cases: one term each."""
    assert terms_of("offensive offensives", "en") == terms_of("offensive", "en")
    assert terms_of("capturing captured", "en") == terms_of("capture", "en")
    kyiv = set(terms_of("Київ", "uk"))
    assert kyiv & set(terms_of("Києві", "uk"))
    assert kyiv & set(terms_of("Києвом", "uk"))


@pytest.mark.parametrize(
    ("written", "language", "expected"),
    [
        ("19.40", "en", "19.4"),
        ("19,40", "ru", "19.4"),
        ("4,400", "en", "4400"),
        ("4,400", "ru", "4.4"),
        ("4.400", "de", "4400"),
        ("4.400", "en", "4.4"),
        ("1,250,000", "en", "1250000"),
        ("1.250,50", "de", "1250.5"),
        ("2026", "en", "2026"),
        ("1.2.3", "en", None),
    ],
)
def test_numbers_are_normalised(written: str, language: str, expected: str | None) -> None:
    """Decimal commas and thousands separators read as the language writes them."""
    assert normalise_number(written, language) == expected


def test_numbers_meet_across_languages() -> None:
    """ "200,000", "200 thousand" and "200 тысяч" are one number; single digits are left out."""
    assert numbers_of("about 200,000 homes, 3 dead", "en") == ("200000",)
    assert numbers_of("около 200 тысяч абонентов", "ru") == ("200000",)
    assert numbers_of("3.1 million barrels", "en") == ("3100000",)
    assert numbers_of("3,1 млн баррелей", "ru") == ("3100000",)


@given(st.text(max_size=2_000), st.sampled_from(["en", "de", "ru", "uk", "pl", "xx", None]))
def test_any_text_gives_bounded_terms_and_numbers(text: str, language: str | None) -> None:
    """Whatever the text and language: no error, at most the caps."""
    assert len(terms_of(text, language)) <= MAX_TERMS
    numbers = numbers_of(text, language)
    assert len(numbers) <= MAX_NUMBERS
    assert all(float(n) >= 0 for n in numbers)
