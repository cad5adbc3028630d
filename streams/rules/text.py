"""Text folding and tokenising shared by the query matcher and the gazetteer.

Folding is case- and diacritic-insensitive *and length-preserving*: character
``i`` of the folded text is character ``i`` of the original, so a match found
in folded text is a span of the stored article text as it is. Characters whose
folded form would be longer (``ß`` -> ``ss``) keep their lower-case form.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

# A word: letters or digits, with inner apostrophes ("Russia's" is one word).
# No nested quantifiers, so matching is linear in the text length.
_WORD = re.compile(r"\w+(?:['’]\w+)*")


class _FoldTable(dict[int, int]):
    """A ``str.translate`` table that computes each character's fold on first sight."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        if len(base) != 1:
            base = char.lower() if len(char.lower()) == 1 else char
        self[code] = ord(base)
        return self[code]


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Return ``text`` lower-cased without diacritics, with exactly the same length.

    >>> fold("Kraków ÉTÉ Київ")
    'krakow ete киів'
    """
    if text.isascii():
        return text.lower()
    return text.translate(_TABLE)


@dataclass(frozen=True, slots=True)
class Token:
    """A word of a text: its folded form and its ``[start, end)`` offsets in the text."""

    text: str
    start: int
    end: int


def tokenize(folded: str) -> list[Token]:
    """Split already-folded text into words, with offsets (punctuation is dropped)."""
    return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(folded)]


def word_index(starts: list[int], offset: int) -> int:
    """Return the index of the word that contains or precedes character ``offset``.

    Args:
        starts: the ``start`` of every token, ascending.
        offset: a character offset into the same text.
    """
    return max(bisect_right(starts, offset) - 1, 0)
