"""Word segmentation shared by queries and article text.

A word is a run of ``\\w`` characters (letters, digits, underscore), as in
Python's ``re``. :func:`word_text` folds a text (:func:`streams.rules.text.fold`)
and turns every other character into a space, keeping the length, so the
words of ``word_text(t).split()`` are the words of ``t`` and an offset into
the result is an offset into ``t``. It runs at C speed through
``str.translate``, which is much faster on pure-ASCII text; typographic
punctuation, common in English news, is replaced first to keep that path.
"""

from __future__ import annotations

from itertools import accumulate, compress, count
from operator import add
from typing import Final

from streams.rules.text import fold

# Non-ASCII punctuation frequent in Latin-script news; each becomes a space.
_TYPOGRAPHIC: Final = "’‘“”„«»—–…\u00a0\u202f"


class _WordTable(dict[int, int]):
    """A ``str.translate`` table: a word character folds, any other becomes a space."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        value = ord(fold(char)) if char.isalnum() or char == "_" else 32
        self[code] = value
        return value


_TABLE: Final = _WordTable()


def word_text(text: str) -> str:
    """Return ``text`` folded, every non-word character a space, with the same length.

    >>> word_text("Kyiv’s “drone-war”")
    'kyiv s  drone war '
    """
    if not text.isascii():
        for char in _TYPOGRAPHIC:
            if char in text:
                text = text.replace(char, " ")
        ascii_only = text.encode("ascii", "ignore")
        if len(ascii_only) == len(text):
            # a compact ASCII string again, so translate takes its fast path
            text = ascii_only.decode("ascii")
    return text.translate(_TABLE)


def words(text: str) -> list[str]:
    """Return the folded words of ``text``."""
    return word_text(text).split()


def word_spans(text: str) -> tuple[list[int], list[int]]:
    """Return the start and end offsets of every word of ``text`` (as :func:`words` splits it)."""
    pieces = word_text(text).split(" ")
    # piece k starts after the k pieces and k spaces before it; empty pieces are runs of spaces
    offsets = map(add, accumulate(map(len, pieces), initial=0), count())
    starts = list(compress(offsets, pieces))
    return starts, list(map(add, starts, map(len, filter(None, pieces))))
