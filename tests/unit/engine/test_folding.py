"""Folding: undecomposable letters, stray marks, apostrophes, and exact offsets through all three."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Article
from streams.rules.entities import Gazetteer
from streams.rules.numbers import extract_values
from streams.rules.text import Offsets, fold, fold_with_offsets
from streams.rules.words import word_text, words
from tests.unit.engine.conftest import compile_rules, make_rule


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Wroclaw", "Drones were seen over Wrocław on Sunday."),
        ("Lodz", "The plant in Łódź halted production."),
        ("Bialystok", "Troops moved to Białystok."),
        ("Oresund", "Ships crossed the Øresund strait."),
        ("Dubrovnik OR Đakovo", "Protest in Đakovo"),
        ("Strasse", "Sperrung der Straße nach Kiel"),
        ("Straße", "Sperrung der Strasse nach Kiel"),
        ("Faeroe", "Færøe fishing fleet"),
        ("coeur", "Le cœur du pays"),
        ("Diyarbakir", "Clashes in Diyarbakır province"),
        ("м'ясо", "Ціни на мʼясо зросли"),
        ("мʼясо", "Ціни на м’ясо зросли"),
        ("м’ясо", "Ціни на м'ясо зросли"),
        ("виставка", "Відкрилася ви\u0301ставка зброї"),
        ('"ви\u0301ставка зброї"', "Відкрилася виставка зброї"),
    ],
)
def test_folded_query_matches(query: str, text: str, make_article: Callable[..., Article]) -> None:
    """A query in plain letters matches the text's undecomposable letters, marks and apostrophes."""
    rules = compile_rules(make_rule(query))
    assert rules.evaluate(make_article(body=text))


def test_a_letter_never_folds_to_a_space() -> None:
    """An isolated mark's presentation form (a letter, NFKD a space and the mark) stays in its word."""
    assert word_text("a\ufe70b") == "a\ufe70b"
    assert words("a\ufe70b c") == ["a\ufe70b", "c"]


def test_fold_examples() -> None:
    """The fold of the letters the issue names, and of scripts that must keep their letters."""
    assert fold("Łódź Øresund Đakovo ß ẞ Æ Œ ı") == "lodz oresund đakovo ss ss ae oe i".replace(
        "đ", "d"
    )
    assert fold("Київ Αθήνα") == "киів αθηνα"
    assert words("ви\u0301ставка") == ["виставка"]


_LETTERS = st.sampled_from(list("aeolnrsz") + list("łøđßæœı") + ["e\u0301", "и\u0301", "ó"])
_WORD = st.lists(_LETTERS, min_size=1, max_size=8).map("".join)
_GAP = st.sampled_from([" ", ", ", " — ", "ʼ", "’", "'", "\u0301 ", " \u0301"])


@settings(max_examples=300, deadline=None)  # first meetings of character blocks
@given(
    before=st.lists(_WORD, max_size=6),
    target=_WORD,
    after=st.lists(_WORD, max_size=6),
    gaps=st.lists(_GAP, min_size=14, max_size=14),
)
def test_spans_cover_exactly_the_matched_words(
    before: list[str], target: str, after: list[str], gaps: list[str]
) -> None:
    """Through any mix of irregular letters, a detection's span is exactly the matched word."""
    pieces = [*before, target, *after]
    text = "".join(word + gap for word, gap in zip(pieces, gaps, strict=False))
    folded_target = " ".join(words(target))
    article = Article(id="a", source="s", title="t", body=text)
    text = article.body  # NFC: "e" and U+0301 are stored as "é"
    rules = compile_rules(make_rule(f'"{folded_target}"'))
    found = rules.evaluate(article)
    assert found, (text, folded_target)
    for span in found[0].spans:
        assert span.text == text[span.start : span.end]
        assert " ".join(words(span.text)) == folded_target
        # whole words: nothing of a word left outside the span
        assert span.start == 0 or not word_text(text[span.start - 1]).strip()
        assert span.end == len(text) or not word_text(text[span.end]).strip()


@given(st.text(alphabet=st.sampled_from("aßłæ\u0301ʼ ø-é"), max_size=60))
def test_offsets_round_trip(text: str) -> None:
    """Every folded offset maps into the original, in order, and back."""
    folded, original = fold_with_offsets(text)
    if original is None:
        assert len(folded) == len(text)
        return
    starts = [original.start(i) for i in range(len(folded) + 1)]
    assert starts == sorted(starts)
    assert all(0 <= s <= len(text) for s in starts)
    for index in range(len(text) + 1):
        assert original.start(original.folded(index)) >= index - 1


def test_gazetteer_and_figures_keep_exact_spans(make_article: Callable[..., Article]) -> None:
    """Entity and figure spans point at the stored text when ß and stress marks shift the fold."""
    gazetteer = Gazetteer.from_entries(
        [
            ("t", {"id": "place:lodz", "name": "Łódź", "kind": "place", "aliases": ["Lodz"]}),
            (
                "t",
                {
                    "id": "commodity:brent",
                    "name": "Brent",
                    "kind": "commodity",
                    "aliases": ["Brent"],
                },
            ),
        ]
    )
    body = "Große Straße in Łódź. Brent stieg um 3 Prozent auf 64,10 Dollar je Barrel."
    item = make_article(body=body, title="Straße")
    mentions = gazetteer.mentions(item)
    assert [(m.id, [s.text for s in m.spans]) for m in mentions] == [
        ("place:lodz", ["Łódź"]),
        ("commodity:brent", ["Brent"]),
    ]
    values = extract_values(item, mentions)
    assert [(v.kind, v.commodity, v.span.text) for v in values] == [
        ("change_pct", "commodity:brent", "stieg um 3 Prozent"),
        ("price", "commodity:brent", "64,10 Dollar je Barrel"),
    ]
    for value in values:
        assert value.span.text == body[value.span.start : value.span.end]


def test_every_character_folds_as_its_lower_case_does() -> None:
    """The premise of the fast fold: a character becomes what its lower case becomes (two exceptions)."""
    from streams.rules.text import CharTable, fold_char
    from streams.rules.words import _TABLE as word_table

    exceptions = set()
    for code in range(0x80, 0x110000):
        char = chr(code)
        lower = char.lower()
        if lower == char:  # nothing to check, and most of Unicode: skipped cheaply
            continue
        if (
            len(lower) != 1
            or fold_char(char) != fold_char(lower)
            or word_table[code] != word_table[ord(lower)]
        ):
            exceptions.add(char)
    assert exceptions == CharTable._SLOW


_FOLD_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("İↃↄßẞΣσς’ʼ\u0301 ,.-ÉéŁłКийЇї"),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(_FOLD_TEXT)
def test_fast_fold_is_the_character_by_character_fold(text: str) -> None:
    """Folding and word text through lower case and the changed characters equal a translate of each character."""
    from streams.rules.text import _TABLE as fold_table
    from streams.rules.words import _TABLE as word_table

    assert fold(text) == text.translate(fold_table)
    assert word_text(text) == text.translate(word_table)


def test_the_word_table_changes_every_character_the_fold_changes() -> None:
    """The premise of folding a text and making its word text in one pass (the plane that pass reads)."""
    from streams.rules.text import fold_char
    from streams.rules.words import _TABLE as word_table

    missed = [
        char
        for char in map(chr, range(0x80, 0x10000))
        if char == char.lower() and fold_char(char) != char and word_table[ord(char)] == char
    ]
    assert missed == []


def _offsets_map(text: str, offsets: Offsets | None) -> list[tuple[int, int]] | None:
    """Where each offset of the fold of ``text`` starts and ends in ``text`` (None: the same)."""
    if offsets is None:
        return None
    return [(offsets.start(i), offsets.end(i)) for i in range(len(fold(text)) + 1)]


@settings(max_examples=400, deadline=None)
@given(_FOLD_TEXT)
def test_folded_text_is_the_fold_the_offsets_and_the_word_text(text: str) -> None:
    """The one-pass views of a text are what folding, mapping and the word text give one by one."""
    from streams.rules.text import fold_offsets
    from streams.rules.words import folded_text

    view = folded_text(text)
    assert view.folded == fold(text)
    assert view.words == word_text(text)
    assert _offsets_map(text, view.offsets) == _offsets_map(text, fold_offsets(text))
    assert not view.ascii_words or all(word.isascii() for word in words(text))
