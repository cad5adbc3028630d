"""normalize_text's fast path returns exactly what the full normalisation would."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from schemas import normalize_text

_BLANKS = re.compile(r"[^\S\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def reference(text: str) -> str:
    """The original regex normalisation, NFC moved last: the oracle the fast version must match.

    The original applied NFC first, so "a<control><accent>" lost its control
    character and stayed uncomposed: not idempotent (found by the test below).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = _CONTROL.sub("", text)
    text = _BLANKS.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return unicodedata.normalize("NFC", _MANY_NEWLINES.sub("\n\n", text).strip())


tricky = st.text(
    alphabet=st.sampled_from(
        [
            " ",
            "\n",
            "\t",
            "\r",
            "\x0b",
            "\x0c",
            "\x1c",
            "\x1f",
            "\x85",
            "\xa0",
            "\u2028",
            "\u2029",
            "\u3000",
            "\u200b",
            "\ufeff",
            "\x00",
            "\x7f",
            "a",
            "é",
            "e",
            "\u0301",
            "Ж",
        ]
    ),
    max_size=30,
)


@given(st.one_of(tricky, st.text()))
@example("Already normal text.\n\nSecond paragraph.")
@example("e\u0301")
@example(" lead\tand  trail \n")
@example("a\x1f\u0301")
def test_normalize_text_matches_the_reference(text: str) -> None:
    """Fast path or not, the result equals the reference normalisation and is idempotent."""
    normal = normalize_text(text)
    assert normal == reference(text)
    assert normalize_text(normal) == normal
