"""The aboutness score's parts: sentences, the worth of a place, the sum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import Span, TextField
from streams.rules.aboutness import place_weight, score, sentence_starts


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("One. Two! Three? “Four.” Five", [0, 5, 10, 17, 25]),
        ("Brent rose to 4.30 dollars. It fell.", [0, 28]),
        ("Wait... then go. Done", [0, 8, 17]),
        ("Ellipsis… next", [0, 10]),
        ("First paragraph\n\nSecond paragraph", [0, 17]),
        ("No end", [0]),
        ("Trailing end. ", [0]),
        ("", [0]),
        ("U.S. officials said so. Then it ended.", [0, 24]),
        ("The U.K. and the E.U. agreed. Talks go on.", [0, 30]),
        ("Plan A. Then plan B. Done", [0]),
    ],
)
def test_sentence_starts(text: str, starts: list[int]) -> None:
    """Sentences end at terminal punctuation, closing quotes, then space, or at a line break; never after a one-letter word."""
    assert sentence_starts(text) == starts


@given(st.text(alphabet=' .!?…\n"”a', max_size=200))
def test_sentence_starts_are_ordered_and_inside_the_text(text: str) -> None:
    """Whatever the text, the starts begin at 0, increase and point at a non-space character."""
    starts = sentence_starts(text)
    assert starts[0] == 0
    assert starts == sorted(set(starts))
    assert all(not text[s].isspace() for s in starts[1:])


@pytest.mark.parametrize(
    ("field", "sentence", "sentences", "weight"),
    [
        (TextField.TITLE, 0, 1, 1.0),
        (TextField.SUMMARY, 0, 1, 1.0),
        (TextField.BODY, 0, 9, 1.0),
        (TextField.BODY, 1, 9, 0.8),
        (TextField.BODY, 4, 9, 0.6),
        (TextField.BODY, 8, 9, 0.4),
        (TextField.BODY, 1, 2, 0.8),  # the last of two sentences is the second, not a recap
    ],
)
def test_place_weight(field: TextField, sentence: int, sentences: int, weight: float) -> None:
    """The lead is worth 1, then 0.8, 0.6, and 0.4 for the last sentence of three or more."""
    assert place_weight(field, sentence, sentences) == weight


def _span(field: TextField, start: int, term: str) -> Span:
    return Span(field=field, start=start, end=start + len(term), text=term, term=term)


def test_score_ranks_places_and_adds_figures_and_entities() -> None:
    """Places count 1, 1/2, 1/4... in order of worth; a lone term is half a place."""
    spans = [
        _span(TextField.TITLE, 0, "offensive"),
        _span(TextField.BODY, 0, "offensive"),
        _span(TextField.BODY, 12, "troops"),
        _span(TextField.BODY, 40, "troops"),
    ]
    total, parts = score(spans, [0, 30], figures=True, entities=True)
    evidence = [(p.field, p.sentence, p.terms, p.weight, p.counted) for p in parts[:3]]
    assert evidence == [
        (TextField.BODY, 0, ("offensive", "troops"), 1.0, 1.0),
        (TextField.TITLE, None, ("offensive",), 0.5, 0.25),
        (TextField.BODY, 1, ("troops",), 0.4, 0.1),
    ]
    assert [p.kind for p in parts[3:]] == ["figures", "entities"]
    assert total == 1.85
