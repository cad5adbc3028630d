"""Word segmentation shared by queries and article text.

A word is a run of ``\\w`` characters (letters, digits, underscore), as in
Python's ``re``, except that a combining mark NFC could not merge (a
Cyrillic stress mark) stays inside its word. :func:`word_text` folds a text
(:func:`streams.rules.text.fold`) and turns every other character into a
space, so the words of ``word_text(t).split()`` are the words of ``t``. An
offset into the result is an offset into ``t`` unless ``t`` has irregular
characters (``ß`` folds to two, a stray mark to none); then
:func:`streams.rules.text.fold_offsets` maps it back. It runs at C speed:
``str.translate`` on pure-ASCII text (typographic punctuation, common in
English news, is replaced first to keep that path), else lower-casing and
replacing only the characters that change (:class:`streams.rules.text.CharTable`).
:func:`folded_text` makes a field's word text, fold and offsets map together
for the matcher, the gazetteer and the extractors, and remembers them.

The rule engine matches the words joined by single spaces; a
:class:`Respacer` maps an offset in that joined text back to ``t`` from the
runs of extra spaces alone, so placing a few matches does not cost a pass
over every word.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from itertools import accumulate, compress, count
from operator import add
from typing import Final

from streams.rules.text import CharTable, Offsets, fold, fold_char, fold_offsets

# Non-ASCII punctuation frequent in Latin-script news; each becomes a space.
_TYPOGRAPHIC: Final = "’‘“”„«»—–…\u00a0\u202f"


class _WordTable(CharTable):
    """A table of what each character becomes in a word text: a word character folds, any other becomes a space.

    A dropped mark stays dropped, so the letters around it form one word;
    an apostrophe of any kind separates words (``Kyiv's`` is ``kyiv s``).

    It also knows the fold of each character it changes (:attr:`folds`): the
    characters the fold changes are among them (a character the word table
    leaves alone is a word character that folds to itself, or a space), so one
    :meth:`split` of a text makes both its word text and its fold.
    """

    def __init__(self) -> None:
        self.folds: dict[str, str] = {}
        self.irregular: frozenset[str] = frozenset()
        super().__init__()

    def value(self, char: str) -> str:
        folded = fold_char(char)
        is_word = (char.isalnum() or char == "_") and (folded.isalnum() or folded == "_")
        return folded if is_word or not folded else " "

    def _learn(self, unknown: list[str]) -> bool:
        if not super()._learn(unknown):
            return False
        self.folds = {char: fold_char(char) for char in self._changes}
        self.irregular = frozenset(char for char, folded in self.folds.items() if len(folded) != 1)
        return True


_TABLE: Final = _WordTable()
# where ``word_text(t)`` has more spaces than its words joined by single spaces;
# a literal prefix, so the search runs at C speed (an alternation with ^ is ten times slower)
_DOUBLE_SPACES: Final = re.compile("   *")


class FoldedText:
    """A text as the rule engine reads it: as words, and folded with its offsets map.

    The matcher reads a field's word text; the gazetteer and the number
    extractors then read its fold (when a rule's query matched). For a text
    with non-ASCII words, one :meth:`~streams.rules.text.CharTable.split`
    makes both (the characters the fold changes are among those the word
    table changes), and tells whether the text has an irregular character,
    without which there is no offsets map to look for. A 3 KB seven-language body took 51 µs for its
    word text and 52 more for its fold and offsets; now 59 for the word text
    and the fold, which is made at once (keeping the pieces for later would
    hold tens of MB for a 1 MB body), and 4 for the rest. Other texts are
    folded on first need.
    """

    __slots__ = ("_folded", "_offsets", "_offsets_known", "_text", "ascii_words", "words")

    words: str
    """:func:`word_text` of the text."""
    ascii_words: bool
    """True when every word of the text is known to be ASCII: each word of
    :attr:`words` is then its word lower-cased."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._folded: str | None = None
        self._offsets: Offsets | None = None
        self._offsets_known = False
        self.ascii_words = True
        if text.isascii():
            self.words = text.translate(_TABLE)
            return
        spaced = _ascii_word_text(text)
        if spaced is not None:
            self.words = spaced
            return
        self.ascii_words = False
        pieces = _TABLE.split(text)
        if pieces is None:
            self.words = text.translate(_TABLE)
            return
        self.words = _TABLE.join(pieces)
        # made now rather than keeping the pieces (a 1 MB body's are tens of MB)
        self._folded = _TABLE.join(pieces, _TABLE.folds)
        self._offsets_known = _TABLE.irregular.isdisjoint(pieces[1::2])

    @property
    def folded(self) -> str:
        """:func:`streams.rules.text.fold` of the text."""
        if self._folded is None:
            self._folded = fold(self._text)
        return self._folded

    @property
    def offsets(self) -> Offsets | None:
        """:func:`streams.rules.text.fold_offsets` of the text (also right for its word text)."""
        if not self._offsets_known:
            self._offsets = fold_offsets(self._text)
            self._offsets_known = True
        return self._offsets


@lru_cache(maxsize=16)
def folded_text(text: str) -> FoldedText:
    """The :class:`FoldedText` of ``text``, remembered for the last few texts (a few articles' fields)."""
    return FoldedText(text)


def word_text(text: str) -> str:
    """Return ``text`` folded, every non-word character a space.

    The length is the same unless ``text`` has irregular characters (see
    :func:`streams.rules.text.fold_offsets`).

    >>> word_text("Kyiv’s “drone-war”")
    'kyiv s  drone war '
    """
    if text.isascii():
        return text.translate(_TABLE)
    spaced = _ascii_word_text(text)
    return _TABLE.apply(text) if spaced is None else spaced


def _ascii_word_text(text: str) -> str | None:
    """:func:`word_text` of a non-ASCII ``text`` whose words are ASCII, else None.

    Typographic punctuation, common in English news, becomes spaces first.
    """
    for char in _TYPOGRAPHIC:
        if char in text:
            text = text.replace(char, " ")
    ascii_only = text.encode("ascii", "ignore")
    if len(ascii_only) == len(text):
        # a compact ASCII string again, so translate takes its fast path
        return ascii_only.decode("ascii").translate(_TABLE)
    return None


def words(text: str) -> list[str]:
    """Return the folded words of ``text``."""
    return word_text(text).split()


def word_spans(text: str) -> tuple[list[int], list[int]]:
    """Return the start and end offsets in ``text`` of every word (as :func:`words` splits it)."""
    pieces = word_text(text).split(" ")
    # piece k starts after the k pieces and k spaces before it; empty pieces are runs of spaces
    offsets = map(add, accumulate(map(len, pieces), initial=0), count())
    starts = list(compress(offsets, pieces))
    ends = list(map(add, starts, map(len, filter(None, pieces))))
    original = fold_offsets(text)
    if original is None:
        return starts, ends
    return list(map(original.start, starts)), list(map(original.end, ends))


class Respacer:
    """Maps offsets in ``" ".join(spaced.split())`` back to offsets in the original text.

    ``spaced`` is a :func:`word_text`; the two texts differ only where
    ``spaced`` starts with spaces or has runs of two or more, so the map is
    a shift that grows at each such run. ``original`` maps ``spaced`` to the
    text it was made from when they differ (irregular characters); at the
    start or end of a word its ``start`` and ``end`` agree.
    """

    __slots__ = ("_original", "_runs", "_shifts")

    def __init__(self, spaced: str, original: Offsets | None = None) -> None:
        self._original = original
        # _runs: the joined offset of the one space each run becomes (-1: a leading run);
        # _shifts[k]: the extra spaces before any word after the first k runs
        self._runs: list[int] = []
        self._shifts = [0]
        extra = len(spaced) - len(spaced.lstrip(" "))
        if extra:
            self._runs.append(-1)
            self._shifts.append(extra)
        for run in _DOUBLE_SPACES.finditer(spaced, extra):
            start, end = run.span()
            self._runs.append(start - extra)
            extra += end - start - 1
            self._shifts.append(extra)

    def offset(self, joined: int) -> int:
        """Return the original offset of ``joined``, the start or end of a word in the joined text."""
        spaced = joined + self._shifts[bisect_left(self._runs, joined)]
        return spaced if self._original is None else self._original.start(spaced)
