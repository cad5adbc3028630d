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


def _lexeme_forms(word: str) -> set[str]:
    """Every form of the Ukrainian lexemes ``word`` or its normal forms belong to."""
    analyzer = _ukrainian()
    forms = {word}
    for normal in {word, *analyzer.normal_forms(word)}:
        for parse in analyzer.parse(normal):
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
            self._compute = _ukrainian().normal_forms
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
    ) -> dict[int, list[tuple[int, int]]]:
        """Return where every ``~`` term that matches occurs in an article's word stream.

        Args:
            language: the article's primary language subtag.
            stream: the article's folded words, each after one space (see
                :class:`streams.rules.matcher.ArticleScan`).
            original: ``original(start, end)`` is the word at ``[start, end)``
                of the stream as the article writes it, lower-cased; empty
                for a word that is no text (a field separator).
            ascii_words: every word of the article is ASCII, so each word of
                the stream is its original: the distinct candidate words are
                looked up once each, and only those with a term are found again.

        Returns:
            term id -> ``(start, end)`` in the stream of each occurrence (from
            its first word's first letter to its last word's end), in text order.
        """
        keyed = self._keyed(language)
        keys = keyed.cache.keys
        hits: list[tuple[int, int, str]]  # (start, end, the word as written, lower-cased)
        if ascii_words:
            hits = []
            for word in set(stream.split()):
                if word[:_START] in keyed.starts and keyed.first(word):
                    needle = f" {word} "
                    at = stream.find(needle)
                    while at >= 0:
                        hits.append((at + 1, at + 1 + len(word), word))
                        at = stream.find(needle, at + len(word))
            hits.sort()
        else:
            hits = [
                (match.start() + 1, match.end(), original(match.start() + 1, match.end()))
                for match in keyed.pattern.finditer(stream)
            ]
        found: dict[int, list[tuple[int, int]]] = {}
        for start, end, first in hits:
            for term_id, term_keys in keyed.first(first):
                stop = end
                for following in term_keys[1:]:
                    begin = stop + 1
                    stop = stream.find(" ", begin)
                    word = original(begin, stop) if stop > 0 else ""
                    if not word or following.isdisjoint(keys(word)):
                        break
                else:
                    found.setdefault(term_id, []).append((start, stop))
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

    def first(self, word: str) -> tuple[tuple[int, list[Keys]], ...]:
        """The terms whose first word shares a key with ``word`` (lower-cased), remembered."""
        found = self._first.get(word)
        if found is None:
            if len(self._first) >= _CACHE_SIZE:
                self._first.clear()
            terms = {
                term_id: (term_id, term_keys)
                for key in self.cache.keys(word)
                for term_id, term_keys in self._by_key.get(key, ())
            }
            found = self._first[word] = tuple(terms.values())
        return found
