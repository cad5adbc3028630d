"""Stemming for the ``~word`` operator: a word matches when it shares a stem in the article's language.

``~київ`` matches "Києвом", "Києві" and "Київ" in a Ukrainian article, where
the wildcard ``київ*`` misses the forms whose vowel changed. Each word has a
set of *keys*, computed on the lower-cased original word (not its fold:
stemmers and dictionaries need ``ї``, ``й`` and accents) and then folded:

- Snowball stems (PyStemmer, in C) for the languages Snowball covers: among
  the seven of the packs en, de, fr, es, ru and pl;
- Ukrainian, which Snowball lacks: every normal form pymorphy3 gives with its
  Ukrainian dictionary (``києві`` -> ``київ`` and ``кий``: an ambiguous form
  keeps both readings). simplemma was the other candidate; it maps ``Київ``
  itself to ``кий`` and takes about 500 MB for two languages' dictionaries
  (pymorphy3: 28 MB, 0.07 s to load).

A word matches ``~term`` when their key sets, each with the folded word
itself added, share a member. The word itself counts because Snowball
over-stems some base forms (Russian ``киев`` -> ``ки`` but ``киевом`` ->
``киев``). An article in a language with no stemmer (or ``unknown``) matches
``~term`` only on the exact word.

Keys are remembered per language (a bounded cache). Only the words that start
like some word that can share a key with a term are looked up: a regular
expression over the article's folded word stream finds them at C speed, and
only those are mapped back to their original spelling to be keyed. For a
Snowball language the starts are the first two letters of the term keys (a
stem keeps the start of its word, ``negotiated``/``negoti``); for Ukrainian,
whose normal forms can change a word's second letter (``бійців``/``боєць``),
they are also the first two letters of every form pymorphy3's dictionary
gives the term's lexemes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import Stemmer

from streams.rules.text import fold

SNOWBALL: Final = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "ru": "russian",
    "pl": "polish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "sv": "swedish",
    "no": "norwegian",
    "da": "danish",
    "fi": "finnish",
    "hu": "hungarian",
    "ro": "romanian",
    "tr": "turkish",
    "cs": "czech",
    "lt": "lithuanian",
    "el": "greek",
    "sr": "serbian",
}
"""ISO 639-1 codes of the Snowball stemmers used, and the Snowball names."""
LEMMATIZED: Final = frozenset({"uk"})
"""Languages keyed by pymorphy3's normal forms."""
_CACHE_SIZE: Final = 200_000

Keys = frozenset[str]
# A word and the keys it shares with a term start with the same two letters (a
# stem keeps the start of its word: negotiated/negoti, Киевом/киев), so only
# words starting like some term key (or, in Ukrainian, some form of its
# lexemes) are looked up.
_START: Final = 2


@cache
def _snowball(language: str) -> Stemmer._Stemmer:
    return Stemmer.Stemmer(SNOWBALL[language])


@cache
def _ukrainian() -> Any:
    """pymorphy3's Ukrainian analyzer, loaded once per process."""
    # imported here: only processes that meet a Ukrainian stem term load the dictionary
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="uk")


def _normal_forms(word: str) -> list[str]:
    """pymorphy3's Ukrainian normal forms of ``word``; none for a word it cannot read.

    pymorphy3 asks ``unicodedata.name`` whether each letter is Latin, which
    raises ValueError for a letter without a name in Python's Unicode tables
    (a Tangut ideograph): such a word has no normal form, not an error.
    """
    try:
        return list(_ukrainian().normal_forms(word))
    except ValueError:
        return []


def _lexeme_forms(word: str) -> set[str]:
    """Every form of the Ukrainian lexemes ``word`` or its normal forms belong to."""
    analyzer = _ukrainian()
    forms = {word}
    for normal in {word, *_normal_forms(word)}:
        try:
            parses = analyzer.parse(normal)
        except ValueError:  # as in _normal_forms
            continue
        for parse in parses:
            if parse.normal_form == normal:
                forms.update(form.word for form in parse.lexeme)
    return forms


def has_stemmer(language: str | None) -> bool:
    """True when ``language`` (a primary subtag) has a stemmer or a lemmatizer."""
    return language in SNOWBALL or language in LEMMATIZED


class _KeyCache:
    """The keys of words in one language, remembered up to a bound."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._known: dict[str, Keys] = {}
        if language in SNOWBALL:
            stem = _snowball(language).stemWord
            self._compute: Callable[[str], Iterable[str]] = lambda word: (stem(word),)
        elif language in LEMMATIZED:
            self._compute = _normal_forms
        else:
            self._compute = lambda word: ()

    def keys(self, word: str) -> Keys:
        """The folded keys of ``word`` (lower-cased, not folded), the folded word included."""
        found = self._known.get(word)
        if found is None:
            if len(self._known) >= _CACHE_SIZE:
                self._known.clear()
            folded = fold(word)
            found = self._known[word] = frozenset([folded, *map(fold, self._compute(word))])
        return found


@cache
def key_cache(language: str) -> _KeyCache:
    """The per-process key cache of ``language``."""
    return _KeyCache(language)


@dataclass(frozen=True, slots=True)
class StemTerm:
    """A ``~`` term of the rule set: its id and its words as written (lower-cased)."""

    id: int
    words: tuple[str, ...]


class StemIndex:
    """Every ``~`` term of a rule set, keyed per article language on first need."""

    def __init__(self, terms: Sequence[StemTerm]) -> None:
        self.terms = tuple(terms)
        self._by_language: dict[str, _Language] = {}

    def _keyed(self, language: str) -> _Language:
        """The terms keyed in ``language`` (made on first need)."""
        keyed = self._by_language.get(language)
        if keyed is None:
            keyed = self._by_language[language] = _Language(language, self.terms)
        return keyed

    def find(
        self,
        language: str,
        stream: str,
        original: Callable[[int, int], str],
        *,
        ascii_words: bool = False,
    ) -> StemPlaces:
        """Return which ``~`` terms match an article's word stream, and where (on first need).

        Args:
            language: the article's primary language subtag.
            stream: the article's folded words, each after one space (see
                :class:`streams.rules.matcher.ArticleScan`).
            original: ``original(start, end)`` is the word at ``[start, end)``
                of the stream as the article writes it, lower-cased; empty
                for a word that is no text (a field separator).
            ascii_words: every word of the article is ASCII, so each word of
                the stream is its original: the distinct words are checked
                against the words already keyed with set operations, and a
                one-word term's places are found only when a rule asks for them.
        """
        keyed = self._keyed(language)
        if ascii_words:
            words = keyed.matching(set(stream.split()))
            places = StemPlaces(stream, words, keyed.singles)
            for word in words & keyed.multi_words:
                at = places.of(word)
                for term_id, term_keys in keyed.first(word):
                    if len(term_keys) > 1:
                        places.add(term_id, keyed.follow(term_keys, stream, original, at))
            return places.in_order()
        places = StemPlaces(stream)
        by_word: dict[str, list[tuple[int, int]]] = {}
        for match in keyed.pattern.finditer(stream):
            start, end = match.start() + 1, match.end()
            by_word.setdefault(original(start, end), []).append((start, end))
        for word, at in by_word.items():
            for term_id, term_keys in keyed.first(word):
                if len(term_keys) == 1:
                    places.add(term_id, at)
                else:
                    places.add(term_id, keyed.follow(term_keys, stream, original, at))
        return places.in_order()


class StemPlaces:
    """The ``~`` terms that match one article, and their places in its word stream.

    In an all-ASCII article, the one-word terms that match are known from the
    article's distinct words alone; the places of their words are searched in
    the stream only when a rule asks for them (most terms belong to rules that
    never get that far).
    """

    __slots__ = ("_placed", "_singles", "_stream", "_word_places")

    def __init__(
        self,
        stream: str,
        words: set[str] | None = None,
        singles: dict[str, frozenset[int]] | None = None,
    ) -> None:
        self._stream = stream
        self._placed: dict[int, list[tuple[int, int]]] = {}
        # each word of the article that matches one-word terms -> those terms (a copy: the
        # language's memo may be cleared while this article is still being evaluated)
        self._singles = {w: singles[w] for w in words if w in singles} if words and singles else {}
        self._word_places: dict[str, list[tuple[int, int]]] = {}

    def terms(self) -> set[int]:
        """The ids of the terms that match."""
        return set(self._placed).union(*self._singles.values())

    def add(self, term_id: int, places: list[tuple[int, int]]) -> None:
        """Record places of a term (several words can share a term's key)."""
        if places:
            self._placed.setdefault(term_id, []).extend(places)

    def of(self, word: str) -> list[tuple[int, int]]:
        """Every ``(start, end)`` of ``word`` in the stream, in text order."""
        found = self._word_places.get(word)
        if found is None:
            stream, needle = self._stream, f" {word} "
            found = self._word_places[word] = []
            at = stream.find(needle)
            while at >= 0:
                found.append((at + 1, at + 1 + len(word)))
                at = stream.find(needle, at + len(word))
        return found

    def in_order(self) -> StemPlaces:
        """Sort the places recorded so far into text order; return ``self``."""
        for places in self._placed.values():
            places.sort()
        return self

    def get(self, term_id: int) -> list[tuple[int, int]]:
        """Every ``(start, end)`` of a term (from its first word's first letter to its last
        word's end) in the stream, in text order."""
        found = self._placed.get(term_id)
        if found is None:
            found = self._placed[term_id] = sorted(
                place
                for word, term_ids in self._singles.items()
                if term_id in term_ids
                for place in self.of(word)
            )
        return found


class _Language:
    """The ``~`` terms keyed in one language."""

    def __init__(self, language: str, terms: Sequence[StemTerm]) -> None:
        self.cache = key_cache(language)
        self._by_key: dict[str, list[tuple[int, list[Keys]]]] = {}
        starts: set[str] = set()
        for term in terms:
            term_keys = [self.cache.keys(word) for word in term.words]
            for key in term_keys[0]:
                self._by_key.setdefault(key, []).append((term.id, term_keys))
            if language in LEMMATIZED:
                starts.update(fold(form)[:_START] for form in _lexeme_forms(term.words[0]))
        starts.update(key[:_START] for key in self._by_key)
        self.starts = frozenset(starts)
        # A space, then a word starting with one of the starts: a literal first
        # character, then one of the first letters, each followed by a class of
        # second letters, so the search runs at C speed and in linear time
        # whatever the rule writer's words.
        seconds: dict[str, set[str]] = {}
        for start in starts:
            seconds.setdefault(start[0], set()).add(start[1:])
        alternatives = "|".join(
            re.escape(head) + ("" if "" in tails else f"[{''.join(map(re.escape, sorted(tails)))}]")
            for head, tails in sorted(seconds.items())
        )
        self.pattern = re.compile(f" (?:{alternatives})[^ ]*")
        self._first: dict[str, tuple[tuple[int, list[Keys]], ...]] = {}
        self._matching: set[str] = set()  # the words of ``_first`` that have terms
        self.singles: dict[str, frozenset[int]] = {}  # word -> the one-word terms it matches
        self.multi_words: set[str] = set()  # words that are the first of a longer term

    def follow(
        self,
        term_keys: list[Keys],
        stream: str,
        original: Callable[[int, int], str],
        at: list[tuple[int, int]],
    ) -> list[tuple[int, int]]:
        """The places among ``at`` of a term's first word where its other words follow."""
        keys = self.cache.keys
        found = []
        for start, end in at:
            stop = end
            for following in term_keys[1:]:
                begin = stop + 1
                stop = stream.find(" ", begin)
                word = original(begin, stop) if stop > 0 else ""
                if not word or following.isdisjoint(keys(word)):
                    break
            else:
                found.append((start, stop))
        return found

    def first(self, word: str) -> tuple[tuple[int, list[Keys]], ...]:
        """The terms whose first word shares a key with ``word`` (lower-cased), remembered."""
        found = self._first.get(word)
        if found is None:
            if len(self._first) >= _CACHE_SIZE:
                self._forget()
            found = self._remember(word)
        return found

    def matching(self, words: set[str]) -> set[str]:
        """The members of ``words`` that share a key with some term's first word.

        ``words`` are lower-cased and each its own fold (ASCII). A word is keyed once: the words of an article are checked against
        those already known with set operations, at C speed, and only new
        words whose start some key has are keyed.
        """
        new = words.difference(self._first)
        if new:
            if len(self._first) + len(new) > _CACHE_SIZE:
                self._forget()
                new = words
            starts = self.starts
            for word in new:
                if word[:_START] in starts:
                    self._remember(word)
                else:
                    self._first[word] = ()
        return words & self._matching

    def _remember(self, word: str) -> tuple[tuple[int, list[Keys]], ...]:
        terms = {
            term_id: (term_id, term_keys)
            for key in self.cache.keys(word)
            for term_id, term_keys in self._by_key.get(key, ())
        }
        found = self._first[word] = tuple(terms.values())
        if found:
            self._matching.add(word)
            singles = frozenset(term_id for term_id, term_keys in found if len(term_keys) == 1)
            if singles:
                self.singles[word] = singles
            if len(singles) < len(found):
                self.multi_words.add(word)
        return found

    def _forget(self) -> None:
        self._first.clear()
        self._matching.clear()
        self.singles.clear()
        self.multi_words.clear()
