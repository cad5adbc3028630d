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
    if not char.isspace():
        # an isolated form of a mark decomposes to a space and the mark ("ﹰ" -> " ً"):
        # folded to a space, a letter would split the word it is in
        base = base.replace(" ", "")
    if not base:
        # a combining mark with no letter to sit on (NFC could not merge it)
        return "" if unicodedata.category(char) in _DROPPED_CATEGORIES else char
    if not base.isascii() and unicodedata.name(char, "").startswith("LATIN "):
        # only letters and digits: anyascii writes some letters as punctuation
        # ("ƹ" -> "`"), which would split the word they are in
        ascii_base = anyascii(base).lower()
        if ascii_base.isalnum():
            base = ascii_base
    if len(base) == 1:
        return base
    # Longer folds are kept only as ASCII letters and digits of a word character
    # ("ß" -> "ss", "ﬁ" -> "fi"): "½" -> "1⁄2" or Hangul -> jamo would change words.
    if char.isalnum() and base.isascii() and base.isalnum():
        return base
    lower = char.lower()
    return lower if len(lower) == 1 else char


class CharTable(dict[int, str]):
    """A table of what each character becomes, computed on first sight and applied fast.

    ``str.translate`` with a dict costs a lookup per character: on a 3 KB
    text with any non-ASCII character, about ten times ``str.lower``. Nearly
    every character becomes what its lower case becomes (checked for all of
    Unicode by the tests), and most lower-case characters stay as they are, so
    :meth:`apply` lower-cases the text at C speed and then replaces only the
    characters known to change: one regular-expression split cuts them out
    and a dict maps them, both at C speed (a replacement function called per
    character cost 30 instead of 18 µs for the 60 changed characters of a
    3 KB text). The table learns the characters of the Basic Multilingual
    Plane a block of 256 at a time: the first block (ASCII and Latin-1) when
    it is made, any other when a text first has one of the block (so at most
    256 times in a process, however many new characters texts bring). A text
    with a character beyond that plane, or whose lower case breaks the rule
    (``İ`` lower-cases to two, ``Ↄ`` folds apart from ``ↄ``), is translated
    character by character.
    """

    _SLOW: Final = frozenset("İↃ")

    def __init__(self) -> None:
        super().__init__()
        self._blocks: set[int] = set()
        self._unknown = re.compile("[^\x00-\x7f]")
        self._changed: re.Pattern[str] | None = None
        self._changes: dict[str, str] = {}
        self._learn(["\x00"])

    def value(self, char: str) -> str:
        """What ``char`` becomes (subclasses define it)."""
        raise NotImplementedError

    def __missing__(self, code: int) -> str:
        value = self[code] = self.value(chr(code))
        return value

    def _learn(self, unknown: list[str]) -> bool:
        """Learn the blocks of the ``unknown`` characters; False when one needs the slow path."""
        if any(char in self._SLOW or ord(char) > 0xFFFF for char in unknown):
            return False
        blocks = {ord(char) >> 8 for char in unknown}
        # with the blocks of their lower cases (the Ohm sign's is the Greek block),
        # and theirs in turn
        pending = blocks - self._blocks
        while pending:
            lowers = {
                ord(chr(code).lower()[0]) >> 8
                for block in pending
                for code in range(block << 8, (block + 1) << 8)
                if not 0xD800 <= code < 0xE000
            }
            pending = lowers - blocks - self._blocks
            blocks |= pending
        for block in blocks - self._blocks:
            for code in range(block << 8, (block + 1) << 8):
                if code not in self and not 0xD800 <= code < 0xE000:
                    self[code] = self.value(chr(code))
            self._blocks.add(block)
        learned = [
            code
            for block in sorted(self._blocks)
            for code in range(block << 8, (block + 1) << 8)
            if code in self and chr(code) not in self._SLOW
        ]
        self._unknown = re.compile(f"[^{_ranges(learned)}]")
        # lower-cased text has only characters that are their own lower case
        changed = [code for code in learned if self[code] != chr(code) == chr(code).lower()]
        self._changes = {chr(code): self[code] for code in changed}
        # a capturing group: the split keeps each changed character, at the odd indexes
        self._changed = re.compile(f"([{_ranges(changed)}])") if changed else None
        return True

    def split(self, text: str) -> list[str] | None:
        """``text`` lower-cased and cut around each character the table changes.

        The changed characters are at the odd indexes, the runs between them
        (which the table leaves as they are) at the even ones. None when the
        text needs the slow path (see the class docs).
        """
        if self._unknown.search(text) and not self._learn(self._unknown.findall(text)):
            return None
        lowered = text.lower()
        return [lowered] if self._changed is None else self._changed.split(lowered)

    def join(self, pieces: list[str], changes: dict[str, str] | None = None) -> str:
        """The pieces of :meth:`split` joined, each changed character replaced.

        ``changes`` maps them to something else than what the table makes of them.
        """
        replaced = pieces.copy()
        replaced[1::2] = map(
            (self._changes if changes is None else changes).__getitem__, pieces[1::2]
        )
        return "".join(replaced)

    def apply(self, text: str) -> str:
        """Return ``text.translate(self)``, faster."""
        pieces = self.split(text)
        return text.translate(self) if pieces is None else self.join(pieces)


def _ranges(codes: list[int]) -> str:
    """A regular-expression character class body of the sorted code points ``codes``."""
    parts: list[str] = []
    index = 0
    while index < len(codes):
        last = index
        while last + 1 < len(codes) and codes[last + 1] == codes[last] + 1:
            last += 1
        first = re.escape(chr(codes[index]))
        parts.append(first if last == index else f"{first}-{re.escape(chr(codes[last]))}")
        index = last + 1
    return "".join(parts)


class _FoldTable(CharTable):
    """The fold of every character.

    It records the irregular characters it meets, so :func:`fold_offsets` can
    find them in a text with one C-speed regular-expression scan.
    """

    def __init__(self) -> None:
        self.irregular: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        super().__init__()  # learns the first block, which needs the two above

    def value(self, char: str) -> str:
        folded = _fold_char(char)
        if len(folded) != 1:
            self.irregular.add(char)
            self.pattern = re.compile("[" + "".join(map(re.escape, sorted(self.irregular))) + "]")
        return folded


_TABLE: Final = _FoldTable()


def fold(text: str) -> str:
    """Return ``text`` lower-cased, without diacritics, its undecomposable letters folded.

    >>> fold("Kraków ÉTÉ Київ Łódź Straße")
    'krakow ete киів lodz strasse'
    """
    if text.isascii():
        return text.lower()
    return _TABLE.apply(text)


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
