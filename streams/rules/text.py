"""Text folding shared by the query matcher, the gazetteer and the number extractors.

Folding is case- and diacritic-insensitive: ``Kraków`` -> ``krakow``. It also
folds the Latin letters Unicode does not decompose (``ł`` -> ``l``, ``ø`` ->
``o``, ``đ`` -> ``d``, ``ı`` -> ``i``, ``ß`` -> ``ss``, ``æ`` -> ``ae``,
``œ`` -> ``oe``), through anyascii's maintained transliteration table,
consulted only for characters Unicode names LATIN (Cyrillic, Greek and
other scripts keep their letters). A combining mark that NFC could not merge
into its letter (the Cyrillic stress mark U+0301 in ``ви́ставка``) is
dropped, so it no longer splits its word. The modifier letter apostrophe
U+02BC and the right single quotation mark U+2019 fold to the ASCII
apostrophe, so ``мʼясо``, ``м’ясо`` and ``м'ясо`` fold alike.

Most characters fold to exactly one character; the few that do not (``ß``
grows to two, a stray combining mark shrinks to none) are *irregular*.
:func:`fold_with_offsets` returns, with the folded text, an :class:`Offsets`
map from folded offsets back to the original text (None when the text has
no irregular character, the common case), so a match found in folded text
is still an exact span of the stored article text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from typing import Final

from anyascii import anyascii

# Apostrophes that news copy uses interchangeably with the ASCII one.
_APOSTROPHES: Final = {0x2019: "'", 0x02BC: "'"}
_DROPPED_CATEGORIES: Final = frozenset({"Mn", "Me"})


def _fold_char(char: str) -> str:
    """The fold of one character: usually one character, "" for a lone mark, two for ``ß``."""
    apostrophe = _APOSTROPHES.get(ord(char))
    if apostrophe is not None:
        return apostrophe
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    if not base:
        # a combining mark with no letter to sit on (NFC could not merge it)
        return "" if unicodedata.category(char) in _DROPPED_CATEGORIES else char
    if not base.isascii() and unicodedata.name(char, "").startswith("LATIN "):
        base = anyascii(base).lower() or base
    if len(base) == 1:
        return base
    # Longer folds are kept only as ASCII letters and digits of a word character
    # ("ß" -> "ss", "ﬁ" -> "fi"): "½" -> "1⁄2" or Hangul -> jamo would change words.
    if char.isalnum() and base.isascii() and base.isalnum():
        return base
    lower = char.lower()
    return lower if len(lower) == 1 else char


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that computes each character's fold on first sight.

    It records the irregular characters it meets, so :func:`_offsets` can
    find them in a text with one C-speed regular-expression scan.
    """

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(folded) != 1:
            self.irregular.add(chr(code))
            self.pattern = re.compile("[" + "".join(map(re.escape, sorted(self.irregular))) + "]")
        self[code] = folded
        return folded


_TABLE: Final = _FoldTable()


def fold(text: str) -> str:
    """Return ``text`` lower-cased, without diacritics, its undecomposable letters folded.

    >>> fold("Kraków ÉTÉ Київ Łódź Straße")
    'krakow ete киів lodz strasse'
    """
    if text.isascii():
        return text.lower()
    return text.translate(_TABLE)


def fold_char(char: str) -> str:
    """Return the fold of one character (what :func:`fold` makes of it)."""
    return _TABLE[ord(char)]


class Offsets:
    """Maps offsets in a folded text back to offsets in its original.

    Built from the irregular characters of the original, in text order: the
    folded span ``[folded_start, folded_end)`` of each, and its original
    offset. Between them the two texts advance together.
    """

    __slots__ = ("_folded_ends", "_folded_starts", "_originals")

    def __init__(self, folded_starts: list[int], folded_ends: list[int], originals: list[int]):
        self._folded_starts = folded_starts
        self._folded_ends = folded_ends
        self._originals = originals

    def start(self, offset: int) -> int:
        """The original offset of a match starting at folded ``offset``.

        Inside an expansion (the second ``s`` of ``ß``) it is the letter's
        start; after a dropped mark, the character after the mark.
        """
        index = bisect_right(self._folded_starts, offset) - 1
        if index < 0:
            return offset
        if offset < self._folded_ends[index]:
            return self._originals[index]
        return self._originals[index] + 1 + offset - self._folded_ends[index]

    def end(self, offset: int) -> int:
        """The original offset of a match ending (exclusive) at folded ``offset``.

        Inside an expansion it is the end of the letter; a dropped mark right
        after the match belongs to its last letter and is included.
        """
        starts, ends = self._folded_starts, self._folded_ends
        index = bisect_right(starts, offset) - 1
        # an expansion that starts exactly here is after the match, not in it
        while index >= 0 and starts[index] == offset and ends[index] > offset:
            index -= 1
        if index < 0:
            return offset
        if offset < ends[index]:
            return self._originals[index] + 1
        return self._originals[index] + 1 + offset - ends[index]

    def folded(self, offset: int) -> int:
        """The folded offset of original ``offset`` (the inverse of :meth:`start`)."""
        index = bisect_right(self._originals, offset) - 1
        if index < 0:
            return offset
        if offset == self._originals[index]:
            return self._folded_starts[index]
        return self._folded_ends[index] + offset - self._originals[index] - 1


def fold_offsets(text: str) -> Offsets | None:
    """Return the map from offsets in ``fold(text)`` to offsets in ``text``.

    None when every character of ``text`` folds to exactly one character, so
    offsets are the same in both. The map is the same for
    :func:`streams.rules.words.word_text`, which folds the same characters.
    Call it after folding ``text`` (either way): the fold table learns which
    characters are irregular when it first meets them.
    """
    pattern = _TABLE.pattern
    if pattern is None or text.isascii():
        return None
    folded_starts: list[int] = []
    folded_ends: list[int] = []
    originals: list[int] = []
    shift = 0  # folded offset minus original offset so far
    for match in pattern.finditer(text):
        start = match.start()
        width = len(_TABLE[ord(text[start])])
        folded_starts.append(start + shift)
        folded_ends.append(start + shift + width)
        originals.append(start)
        shift += width - 1
    if not originals:
        return None
    return Offsets(folded_starts, folded_ends, originals)


def fold_with_offsets(text: str) -> tuple[str, Offsets | None]:
    """Return :func:`fold` of ``text`` and the map of its offsets back to ``text``."""
    folded = fold(text)
    return folded, fold_offsets(text)
