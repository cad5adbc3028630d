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

Keys are remembered per language (a bounded cache), and only words whose
first two letters start some key of a stem term are looked at, so an article
costs little more unless it is full of candidate words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final

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
_Keyed = tuple["StemTerm", list[Keys]]
# A word and the keys it shares with a term start with the same two letters (a
# stem or normal form keeps the start of its word: Києвом/київ, Харкові/харків),
# so only words starting like some term key are looked up.
_START: Final = 2


@cache
def _snowball(language: str) -> Stemmer._Stemmer:
    return Stemmer.Stemmer(SNOWBALL[language])


@cache
def _ukrainian() -> Callable[[str], list[str]]:
    # imported here: only processes that meet a Ukrainian stem term load the dictionary
    import pymorphy3

    analyzer = pymorphy3.MorphAnalyzer(lang="uk")
    normal_forms: Callable[[str], list[str]] = analyzer.normal_forms
    return normal_forms


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
            self._compute = _ukrainian()
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


class _FieldKeys:
    """The keys of a field's words, computed on first need from the original text."""

    __slots__ = ("_cache", "_keys", "_spans", "_text")

    def __init__(self, cache_: _KeyCache, spans: Sequence[tuple[int, int]], text: str) -> None:
        self._cache, self._spans, self._text = cache_, spans, text
        self._keys: dict[int, Keys] = {}

    def at(self, index: int) -> Keys:
        """The keys of word ``index`` of the field."""
        known = self._keys.get(index)
        if known is None:
            start, end = self._spans[index]
            known = self._keys[index] = self._cache.keys(self._text[start:end].lower())
        return known


@dataclass(frozen=True, slots=True)
class StemTerm:
    """A ``~`` term of the rule set: its id and its words as written (lower-cased)."""

    id: int
    words: tuple[str, ...]


class StemIndex:
    """Every ``~`` term of a rule set, keyed per article language on first need."""

    def __init__(self, terms: Sequence[StemTerm]) -> None:
        self.terms = tuple(terms)
        self._by_language: dict[str, tuple[frozenset[str], dict[str, list[_Keyed]]]] = {}

    def _keyed(self, language: str) -> tuple[frozenset[str], dict[str, list[_Keyed]]]:
        """The terms keyed in ``language``: the starts of their first words' keys, and by key."""
        keyed = self._by_language.get(language)
        if keyed is None:
            cache_ = key_cache(language)
            by_key: dict[str, list[_Keyed]] = {}
            for term in self.terms:
                term_keys = [cache_.keys(word) for word in term.words]
                for key in term_keys[0]:
                    by_key.setdefault(key, []).append((term, term_keys))
            starts = frozenset(key[:_START] for key in by_key)
            keyed = self._by_language[language] = (starts, by_key)
        return keyed

    def find(
        self,
        language: str,
        fields: Sequence[tuple[int, int, list[str], list[tuple[int, int]], str]],
    ) -> dict[int, list[tuple[int, int, int, int, int, int]]]:
        """Return the occurrences of every ``~`` term that matches.

        Args:
            language: the article's primary language subtag.
            fields: per non-empty field, ``(bit, first word index, folded
                words, word spans in the field text, field text)``.

        Returns:
            term id -> occurrences ``(bit, first_word, last_word, term_id,
            char_start, char_end)``, in text order.
        """
        starts, by_key = self._keyed(language)
        cache_ = key_cache(language)
        found: dict[int, list[tuple[int, int, int, int, int, int]]] = {}
        for bit, first, folded, spans, text in fields:
            keys = _FieldKeys(cache_, spans, text)
            for index, word in enumerate(folded):
                if word[:_START] not in starts:
                    continue
                candidates = {
                    term.id: (term, term_keys)
                    for key in keys.at(index)
                    for term, term_keys in by_key.get(key, ())
                }
                for term, term_keys in candidates.values():
                    size = len(term_keys)
                    if index + size > len(folded) or not all(
                        not term_keys[k].isdisjoint(keys.at(index + k)) for k in range(1, size)
                    ):
                        continue
                    found.setdefault(term.id, []).append(
                        (
                            bit,
                            first + index,
                            first + index + size - 1,
                            term.id,
                            spans[index][0],
                            spans[index + size - 1][1],
                        )
                    )
        return found
