"""Text folding shared by the query matcher and the gazetteer.

Folding is case- and diacritic-insensitive *and length-preserving*: character
``i`` of the folded text is character ``i`` of the original, so a match found
in folded text is a span of the stored article text as it is. Characters whose
folded form would be longer (``ß`` -> ``ss``) keep their lower-case form.
"""

from __future__ import annotations

import unicodedata


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
