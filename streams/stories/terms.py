"""The words and numbers of an article that clustering compares.

Terms are the words of the title and lead without stop words, cut to their
stems, so "offensive" and "offensives", "Verhandlungen" and "Verhandlung",
"Києві" and "Київ" share a term. Stems are the ones the rule engine's ``~``
operator uses (:mod:`streams.rules.stems`): Snowball's stem, or for Ukrainian
every normal form pymorphy3 gives (and the form itself); a language
with neither, or an unknown one, keeps the first :data:`PREFIX_STEM` letters
of each word, a crude stemmer that works tolerably for inflected languages.
Stop words come from the ``stop-words`` package and are folded like the text.

Numbers are language-independent evidence: "52 drones", "52 дрони" and "52
Drohnen" share ``52``; "19.40", "19,40" and "19.4" are all ``19.4``; "4,400" in
English and "4.400" in German are ``4400``; "200,000", "200 thousand" and "200
тысяч" are all ``200000``.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import re2
from stop_words import get_stop_words

from streams.rules.stems import LEMMATIZED, has_stemmer, key_cache
from streams.rules.text import fold
from streams.rules.words import word_spans, word_text

STOP_WORDS: Final = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "uk": "ukrainian",
    "pl": "polish",
}
PREFIX_STEM: Final = 6
MIN_LETTERS: Final = 3
"""Shorter words are not terms: particles, initials, unit symbols."""
MAX_TERMS: Final = 32
MAX_NUMBERS: Final = 16
NUMBER_CHARS: Final = 3_000
"""Numbers are read from the opening of the text only, so a 1 MB body costs no more."""

# A number as written, digits with separators between digit groups, and the word
# after it, which may multiply it (RE2: linear time).
_NUMBER: Final = re2.compile(r"(\d+(?:[.,]\d+)*)(?:[\s-]+(\pL+))?")
_THOUSAND, _MILLION, _BILLION = 1_000, 1_000_000, 1_000_000_000
_MULTIPLIERS: Final = {
    "thousand": _THOUSAND, "mille": _THOUSAND, "mil": _THOUSAND, "tausend": _THOUSAND,
    "tys": _THOUSAND, "тыс": _THOUSAND, "тис": _THOUSAND,
    "million": _MILLION, "millions": _MILLION, "millionen": _MILLION, "mln": _MILLION,
    "millones": _MILLION, "millon": _MILLION, "млн": _MILLION,
    "billion": _BILLION, "billions": _BILLION, "bn": _BILLION, "milliard": _BILLION,
    "milliards": _BILLION, "milliarde": _BILLION, "milliarden": _BILLION, "mld": _BILLION,
    "mrd": _BILLION, "млрд": _BILLION,
}  # fmt: skip
"""Words that multiply the number before them (folded); inflected ones by their stems below."""
_MULTIPLIER_STEMS: Final = (
    ("тысяч", _THOUSAND), ("тисяч", _THOUSAND), ("tysiac", _THOUSAND), ("tysiec", _THOUSAND),
    ("миллион", _MILLION), ("мільион", _MILLION), ("milion", _MILLION),
    ("миллиард", _BILLION), ("мільярд", _BILLION), ("miliard", _BILLION),
)  # fmt: skip
_COMMA_DECIMAL: Final = frozenset({"de", "es", "it", "pt", "nl", "fr", "pl", "ru", "uk"})
"""Languages that write "19,40" for 19.4 (so "4,400" is 4.4, not 4400)."""
_DOT_THOUSANDS: Final = frozenset({"de", "es", "it", "pt", "nl"})
"""Languages that write "4.400" for 4400."""


@cache
def _stop_words(language: str) -> frozenset[str]:
    name = STOP_WORDS.get(language)
    if name is None:
        return frozenset()
    return frozenset(fold(word) for word in get_stop_words(name))


def terms_of(text: str, language: str | None) -> tuple[str, ...]:
    """Return the distinct stems of ``text``'s words, in order of first use (at most :data:`MAX_TERMS`).

    Args:
        language: the article's language tag (``en``, ``uk-UA``); None or an
            unknown language: no stop words, prefix stems.
    """
    primary = (language or "").split("-")[0].lower()
    stop = _stop_words(primary)
    stems = key_cache(primary) if has_stemmer(primary) else None
    folded = word_text(text)
    found: dict[str, None] = {}
    for start, end in zip(*word_spans(text), strict=True):
        word = folded[start:end]
        if len(word) < MIN_LETTERS or word.isdigit() or word in stop:
            continue
        if stems is None:
            found.setdefault(word[:PREFIX_STEM])
            continue
        keys = stems.keys(text[start:end].lower())
        if primary in LEMMATIZED:
            # a form may have several normal forms (Києві: Київ and кий), and the
            # form itself may be one: every key is a term, so forms meet on one
            for key in sorted(keys):
                found.setdefault(key)
        else:
            found.setdefault(min(keys - {word}) if len(keys) > 1 else word)
        if len(found) >= MAX_TERMS:
            break
    return tuple(found)[:MAX_TERMS]


def numbers_of(text: str, language: str | None) -> tuple[str, ...]:
    """Return the distinct numbers written in the opening of ``text``, normalised (at most :data:`MAX_NUMBERS`).

    Single digits are left out: they are everywhere ("2 sides", "1 day").
    """
    primary = (language or "").split("-")[0].lower()
    found: dict[str, None] = {}
    for written, word in _NUMBER.findall(text[:NUMBER_CHARS]):
        number = normalise_number(written, primary, _multiplier(word))
        if number is not None and len(number.replace(".", "")) > 1:
            found.setdefault(number)
            if len(found) >= MAX_NUMBERS:
                break
    return tuple(found)


def _multiplier(word: str) -> int:
    if not word:
        return 1
    folded = fold(word)
    factor = _MULTIPLIERS.get(folded)
    if factor is not None:
        return factor
    for stem, factor in _MULTIPLIER_STEMS:
        if folded.startswith(stem):
            return factor
    return 1


def normalise_number(written: str, language: str = "", multiplier: int = 1) -> str | None:
    """Return ``written`` (``4,400``, ``19,40``, ``1.250,5``) as a plain decimal string, or None.

    With both separators, the last one is the decimal mark. A lone separator
    before groups of exactly three digits groups thousands when there are
    several groups, or when the language writes numbers that way: "4,400" is
    4400 in English and 4.4 in Russian, "4.400" is 4400 in German and 4.4 in
    English.
    """
    if "." in written and "," in written:
        decimal = "." if written.rfind(".") > written.rfind(",") else ","
        grouping = "," if decimal == "." else "."
        plain = written.replace(grouping, "").replace(decimal, ".")
    elif "," in written or "." in written:
        separator = "," if "," in written else "."
        groups = written.split(separator)
        grouped = all(len(g) == 3 for g in groups[1:])
        if len(groups) > 2:
            thousands = grouped
        elif separator == ",":
            thousands = grouped and language not in _COMMA_DECIMAL
        else:
            thousands = grouped and language in _DOT_THOUSANDS
        if not thousands and len(groups) > 2:
            return None
        plain = "".join(groups) if thousands else ".".join(groups)
    else:
        plain = written
    try:
        value = float(plain) * multiplier
    except ValueError:
        return None
    if value.is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")
