"""Word segmentation: the same words as ``re``'s ``\\w+``, offsets exact through folding."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.rules.text import fold_offsets
from streams.rules.words import Respacer, word_spans, word_text, words

_WORD = re.compile(r"\w+")
# Characters folding needs care with: letters Unicode does not decompose, ß and
# ligatures that grow, a stress mark and a cedilla that NFC cannot merge, apostrophes.
_IRREGULAR = "łŁøØđßẞæœıﬁ\u0301\u0327ʼ’'"
_TRICKY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(_IRREGULAR), st.sampled_from("aиé -."), st.characters(codec="utf-8")
    ),
    max_size=120,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kyiv’s “drone-war”", ["kyiv", "s", "drone", "war"]),
        ("ÉTÉ à Kraków", ["ete", "a", "krakow"]),
        ("Київ, Києві — ЄС", ["киів", "києві", "єс"]),
        ("U.S. F-16s: 3.5%", ["u", "s", "f", "16s", "3", "5"]),
        ("snake_case\tand\nlines", ["snake_case", "and", "lines"]),
        ("Wrocław, Łódź, Øresund, Straße", ["wroclaw", "lodz", "oresund", "strasse"]),
        ("ви\u0301ставка", ["виставка"]),
        ("Ƹx ƹy", ["ƹx", "ƹy"]),  # anyascii writes ƹ as a backtick: kept as a letter
        ("мʼясо м’ясо м'ясо", ["м", "ясо"] * 3),
        ("", []),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    """Words are folded runs of letters, digits and underscores; everything else separates."""
    assert words(text) == expected


# deadline=None: folding learns a block of 256 characters the first time it meets
# one (up to 0.2 s on a loaded machine), which random Unicode does often
@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_word_text_keeps_the_words(text: str) -> None:
    """The words of word_text are re's \\w+ runs of the text, folded, a dropped mark joining two."""
    folded = word_text(text)
    if fold_offsets(text) is None:
        assert len(folded) == len(text)
    kept = "".join(char for char in text if word_text(char))
    assert folded.split() == [word_text(w) for w in _WORD.findall(kept)]


@settings(deadline=None)
@given(_TRICKY_TEXT)
def test_word_spans_point_at_the_words(text: str) -> None:
    """word_spans gives, for each word, offsets whose slice folds to exactly that word."""
    starts, ends = word_spans(text)
    assert [word_text(text[s:e]) for s, e in zip(starts, ends, strict=True)] == words(text)


@settings(deadline=None)
@given(_TRICKY_TEXT)
def test_respacer_maps_the_joined_words_back(text: str) -> None:
    """Respacer maps the start and end of each word, joined by single spaces, to word_spans'."""
    spaced = word_text(text)
    respacer = Respacer(spaced, fold_offsets(text))
    mapped, joined = [], 0
    for word in spaced.split():
        mapped.append((respacer.offset(joined), respacer.offset(joined + len(word))))
        joined += len(word) + 1
    assert mapped == list(zip(*word_spans(text), strict=True))
