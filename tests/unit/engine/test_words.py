"""Word segmentation: length-preserving, and the same words as ``re``'s ``\\w+``."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.rules.words import Respacer, word_spans, word_text, words

_WORD = re.compile(r"\w+")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kyiv’s “drone-war”", ["kyiv", "s", "drone", "war"]),
        ("ÉTÉ à Kraków", ["ete", "a", "krakow"]),
        ("Київ, Києві — ЄС", ["киів", "києві", "єс"]),
        ("U.S. F-16s: 3.5%", ["u", "s", "f", "16s", "3", "5"]),
        ("snake_case\tand\nlines", ["snake_case", "and", "lines"]),
        ("", []),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    """Words are folded runs of letters, digits and underscores; everything else separates."""
    assert words(text) == expected


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_word_text_preserves_length_and_words(text: str) -> None:
    """word_text keeps the length, and its words are re's \\w+ runs of the text, folded."""
    folded = word_text(text)
    assert len(folded) == len(text)
    assert folded.split() == [word_text(w) for w in _WORD.findall(text)]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_word_spans_point_at_the_words(text: str) -> None:
    """word_spans gives, for each word, offsets whose slice folds to that word."""
    starts, ends = word_spans(text)
    assert [word_text(text[s:e]) for s, e in zip(starts, ends, strict=True)] == words(text)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_respacer_maps_the_joined_words_back(text: str) -> None:
    """Respacer maps the start and end of each word, joined by single spaces, to word_spans'."""
    spaced = word_text(text)
    respacer = Respacer(spaced)
    mapped, joined = [], 0
    for word in spaced.split():
        mapped.append((respacer.offset(joined), respacer.offset(joined + len(word))))
        joined += len(word) + 1
    assert mapped == list(zip(*word_spans(text), strict=True))
