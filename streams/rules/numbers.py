"""Numeric facts in news text: prices, spreads, percent moves and extremes.

:func:`extract_values` reads an article's title, summary and body and returns
one :class:`~schemas.detections.ExtractedValue` per figure, bound to the
commodity it is about:

- **price** and **spread**: an amount with a currency and, when written, a
  unit (``$62/bbl``, ``19.40 dollars per barrel``, ``EUR 35/MWh``,
  ``€35 per megawatt hour``, ``$4,400 an ounce``, ``62 USD/bbl``). An amount
  is a spread when a spread word (discount, premium, spread, differential)
  comes before it in the sentence with no other amount in between, or right
  after it ("a $12 discount"). Totals (``$2 billion``) are not prices and are
  skipped.
- **change_pct**: a percentage with a direction word close before it
  ("fell 3%", "up 2.5 percent", "rally 12%", "slumped 4.1 per cent") or a
  direction noun right after it ("a 3% drop"). The value is signed: negative
  for falls. A percentage without a direction is not a move and is skipped.
- **extreme**: "one-year high", "record low", "all-time high", "six-month
  low", "highest since 2022", "widest gap in a year" (of a spread)...

Binding: a figure belongs to the nearest commodity mention *in the same
sentence*, looking first backwards, then forwards. A word that names a
different subject (shares, stocks, index, tickets, output, exports, the
dollar...) between the commodity and the figure breaks the link, so "Shares
of the oil major rose 3%" binds to nothing. In a spread sentence the
benchmark (the commodity after "to", "against", "versus" or the second of
"between X and Y") is the spread's ``benchmark`` and figures bind to the
other commodity: "the discount on Urals to Brent reached a one-year high of
19.40 dollars per barrel" gives a spread of 19.40 USD/bbl for Urals with
benchmark Brent, and the extreme "one-year high" for Urals.

A sentence that names no commodity but a traded unit of one before its
figure ("The most active contract rose 7 percent", "Die Tonne verteuerte sich
um 4,3 Prozent", "New York futures rose 7%") is about the commodity of the
sentence before it, when that sentence names exactly one; the first sentence
of the summary or the body follows the title. Another subject's word before
the figure ("Shares of the contractor rose 3%") still breaks the link.

Numbers: ``4,400`` and ``1,250,000`` group thousands with commas, ``19,40``
and ``4,3`` (two digits or one after the comma) have a decimal comma, and
``1.250.000`` and ``1.250,50`` group with dots. In an article whose language
writes decimals with a comma (German, French, Spanish, Polish, Russian,
Ukrainian and the other languages of :data:`COMMA_DECIMAL`), a comma is
always the decimal mark (``1,659 Euro je Liter`` is 1.659) and one dot
followed by exactly three digits groups thousands (``11.200 Dollar`` is
11200); elsewhere ``11.200`` is 11.2.

Linear time. The three scans over whole fields (amounts, percentages,
extremes) find their matches with google-re2, whose automata match in time
linear in the text whatever the input; each match's groups are then read by
Python ``re`` from the match alone (see :class:`_Scan`). The short context
checks around a figure (direction words, spread words, other subjects,
benchmarks) run on small windows with Python ``re``, for its lower per-call
cost; a check for words starts with the non-letter before them, consumed
(see :func:`_compile_words`), and the window carries that character. Each
of those patterns is an alternation of literal words, optionally followed by one
character-class run (``stem[letters]*``) or a bounded repeat of a group that
starts with a fixed character, with no nested unbounded quantifier, so every
starting position does work bounded by the longest alternative and matching
stays linear in the slice length. The alternations of words are factored by
their leading characters (:mod:`streams.rules.alternations`), which matches
the same and rejects a word's branch at its first character. Patterns run on
folded text (lower case, no diacritics), so they are written in lower case.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import re2
from pydantic import TypeAdapter

from schemas.articles import Article
from schemas.common import TextField
from schemas.detections import EntityMention, ExtractedValue
from streams.rules.alternations import factored
from streams.rules.text import Offsets
from streams.rules.words import folded_text

_FIELDS = (TextField.TITLE, TextField.SUMMARY, TextField.BODY)


# Letters of folded text. A small class keeps RE2's DFA small (``\\pL`` spans
# thousands of code points and makes RE2 fall back to slower matching).
_LETTERS = "a-zа-яёіїєґ"


class _Scan:
    """A scan over a whole field: RE2 finds each match, Python ``re`` reads its groups.

    RE2 matches in time linear in the text whatever the input, but its Python
    wrapper is slow at reporting matches in a ``str``: every call encodes the
    whole text to UTF-8 again, and every match goes through several Python
    calls that convert its offsets from bytes. So the scans of a field share
    one encoding of it (:class:`_Encoded`) and RE2 matches the bytes, whose
    offsets are the text's when it is ASCII; otherwise they are converted
    here, once per match, by decoding only the bytes since the previous
    match. RE2 also runs the pattern without its groups (reporting them costs
    more still), and Python's ``re`` reads the groups by matching the same
    pattern to the match's extent alone, a short string: at most
    :data:`_MAX_MATCH` characters (a longer one is no figure and is skipped).
    The extent is RE2's leftmost-first match, so the highest-priority way to
    match exactly it is the one RE2 took, and ``re`` takes it too
    (``re.ASCII``: ``\\d`` and ``\\s`` mean what they mean in RE2).
    """

    def __init__(self, pattern: str) -> None:
        pattern = pattern.replace("@L", _LETTERS)
        # a bytes pattern in RE2's (default) UTF-8 mode: a class such as [а-я] matches
        # a whole encoded character, and matches start and end between characters
        self._find = re2.compile(re.sub(r"\(\?P<\w+>", "(?:", pattern).encode())
        self._read = re.compile(pattern, re.ASCII)

    def finditer(self, text: _Encoded) -> Iterator[tuple[int, re.Match[str]]]:
        """Each match as ``(offset, match)``, ``match`` being of ``text[offset:]`` up to its end."""
        read = self._read.fullmatch
        folded, encoded = text.text, text.encoded
        ascii_text = len(encoded) == len(folded)
        byte_at = char_at = 0  # the offsets of the previous match's start, in both
        for found in self._find.finditer(encoded):
            start, end = found.span()
            if not ascii_text:
                char_at += len(encoded[byte_at:start].decode())
                byte_at = start
                start, end = char_at, char_at + len(encoded[start:end].decode())
            if end - start <= _MAX_MATCH:
                match = read(folded[start:end])
                if match is not None:
                    yield start, match


@dataclass(frozen=True, slots=True)
class _Encoded:
    """A folded field and its UTF-8 encoding, made once for the field's scans."""

    text: str
    encoded: bytes


# The longest figure, currency, multiplier and unit phrase the scans read.
_MAX_MATCH = 120


def _compile_small(pattern: str) -> re.Pattern[str]:
    """Compile a context check with Python ``re`` (reviewed: see the module docs)."""
    return re.compile(pattern.replace("@L", _LETTERS))


def _compile_words(pattern: str) -> re.Pattern[str]:
    """Compile a search for words that start after a non-letter: the words are group ``w``.

    The leading non-letter is consumed rather than looked behind at, so
    ``re`` finds the candidate offsets at C speed and tries the alternation
    of words only there (a look-behind first tried it at every offset: 20 µs
    for 200 characters). Search :func:`_window` or ``" " + slice``.
    """
    return _compile_small(f"[^@L0-9](?P<w>{pattern})")


def _window(folded: str, start: int, end: int) -> str:
    """``folded[start:end]`` with the character before it (a space at the text's start).

    Offset ``i`` of the window is offset ``start - 1 + i`` of ``folded``.
    """
    return folded[start - 1 : end] if start else " " + folded[:end]


def _words(*words: str) -> str:
    """An alternation of words, longest first so a longer word wins (factored, see :func:`factored`)."""
    return factored("|".join(sorted(words, key=len, reverse=True)))


# An amount: 4,400 / 4,400.50 / 19.40 / 19,40 (a decimal comma, as in most of Europe) /
# 1.250,50 and 1.250.000 (thousands with dots, as in German, Spanish and Polish).
_NUM = (
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,}|\d+(?:[.,]\d+)?"
)
_CUR_BEFORE = _words(r"us\$", r"\$", "€", "£", "₽", "usd", "eur", "gbp", "rub", "cny", "uah", "pln")
_CUR_AFTER = _words(
    "dollars", "dollar", "usd", "euros", "euro", "eur", "gbp", "roubles", "rouble",
    "rubles", "ruble", "rub", "yuan", "cny", "uah", "hryvnias", "hryvnia",
    r"долл[@L]*\.?", r"долар[@L]*", "евро", "євро", r"руб[@L]*\.?", r"юан[@L]*",
    r"грн\.?", r"гривн[@L]*", r"гривен[@L]*",
    r"dolar[@L]*", "rubel", r"rubl[@L]*", "zl", r"zlot[@L]*", "pln", r"yuan[@L]*",
)  # fmt: skip
_MULTIPLIER = _words(
    "bn", "billion", "mln", "million", "trillion", "tn", "thousand", "млрд", "млн", "трлн",
    "mrd", "mio", "md", "mld", "tys", "mil", r"milliard[@L]*", r"million[@L]*", r"miliard[@L]*",
    r"milion[@L]*", r"millon[@L]*", r"billion[@L]*", r"тысяч[@L]*", r"тисяч[@L]*",
)  # fmt: skip
_UNIT = _words(
    "bbl", "barrels", "barrel", r"баррел[@L]*", r"барел[@L]*",
    "troy ounces", "troy ounce", "ounces", "ounce", "oz", r"унци[@L]*",
    "metric tonnes", "metric tons", "tonnes", "tonne", "tons", "ton", "mt", "t", r"тонн[@L]*",
    "mwh", "megawatt hours", "megawatt hour", "megawatt-hours", "megawatt-hour", "мвт ч",
    "mmbtu", "million british thermal units",
    "bushels", "bushel", "bu", "gallons", "gallon", "gal",
    "pounds", "pound", "lbs", "lb", "litres", "litre", "liters", "liter",
    "thousand cubic metres", "thousand cubic meters", "1,000 cubic metres",
    "1,000 cubic meters", "tcm", "тысячу кубометров", "тисячу кубометрів",
    "baril", "barril", r"barylk[@L]*", "fass",
    r"megawattstunde[@L]*", r"megawattheure[@L]*", r"megavatios? hora", r"megawatogodzin[@L]*",
    r"feinunze[@L]*", r"unze[@L]*", "once", r"onzas?", r"uncj[@L]*",
    r"toneladas?", "tone", "tony", r"litr[@L]*",
)  # fmt: skip
_UNIT_CODES = {
    "bbl": "bbl", "barrel": "bbl", "баррел": "bbl", "барел": "bbl",
    "troy": "oz", "ounce": "oz", "oz": "oz", "унци": "oz",
    "metric": "t", "tonne": "t", "ton": "t", "mt": "t", "t": "t", "тонн": "t",
    "mwh": "MWh", "megawatt": "MWh", "мвт": "MWh",
    "mmbtu": "MMBtu", "million": "MMBtu",
    "bushel": "bu", "bu": "bu", "gallon": "gal", "gal": "gal",
    "pound": "lb", "lb": "lb", "lbs": "lb", "litre": "l", "liter": "l",
    "thousand": "tcm", "1,000": "tcm", "tcm": "tcm", "тысячу": "tcm", "тисячу": "tcm",
    "baril": "bbl", "barril": "bbl", "barylk": "bbl", "fass": "bbl",
    "megawattstunde": "MWh", "megawattheure": "MWh", "megavatio": "MWh", "megawatogodzin": "MWh",
    "feinunze": "oz", "unze": "oz", "once": "oz", "onza": "oz", "uncj": "oz", "tonelada": "t",
    "litr": "l",
}  # fmt: skip
_CURRENCY_CODES = {
    "us$": "USD", "$": "USD", "usd": "USD", "dollar": "USD", "долл": "USD", "долар": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "евро": "EUR", "євро": "EUR",
    "£": "GBP", "gbp": "GBP",
    "₽": "RUB", "rub": "RUB", "rouble": "RUB", "ruble": "RUB", "руб": "RUB",
    "cny": "CNY", "yuan": "CNY", "юан": "CNY",
    "uah": "UAH", "hryvnia": "UAH", "грн": "UAH", "гривн": "UAH", "гривен": "UAH",
    "dolar": "USD", "rubel": "RUB", "rubl": "RUB", "zl": "PLN", "zlot": "PLN", "pln": "PLN",
}  # fmt: skip

# Every quantifier below is a single character class or a bounded repeat of
# a group that starts with a fixed character, and RE2 guarantees linear time
# anyway: these notes are for readers who port the patterns.
_MONEY = _Scan(
    rf"(?:^|[^@L0-9])(?:"
    rf"(?P<cur1>{_CUR_BEFORE})\s?(?P<num1>{_NUM})(?:\s?(?P<mult1>{_MULTIPLIER}))?"
    rf"|(?P<num2>{_NUM})\s?(?:(?P<mult2>{_MULTIPLIER})\s)?(?P<cur2>{_CUR_AFTER}))"
    rf"(?:(?:\s?/\s?|\s(?:per|an?|each|за|je|pro|le|la|par|por|el|za)\s|\sl'|\sthe\s)"
    rf"(?P<unit>{_UNIT}))?"
)
_PERCENT = _Scan(
    r"(?:^|[^@L0-9.,+\-−])(?P<sign>[+\-−])?(?P<num>\d+(?:[.,]\d+)?)\s?"
    r"(?P<pct>%|percent|per cent|pct|процент[@L]*|проц\.|відсот[@L]*|prozent|pour cent"
    r"|pourcent|por ciento|procent[@L]*|proc\.?|pkt proc\.?)"
)
_UP = (
    "rose", "rise", "rises", "rising", "risen", "up", "gained", "gain", "gains", "gaining",
    "climbed", "climb", "climbs", "climbing", "jumped", "jump", "jumps", "jumping", "surged",
    "surge", "surges", "surging", "soared", "soar", "soars", "rallied", "rally", "rallies",
    "rallying", "advanced", "advance", "advances", "added", "adds", "increased", "increase",
    "increases", "higher", "spiked", "spike", "rebounded", "rebound", "firmed", "strengthened",
    r"вырос[@L]*", r"подорожал[@L]*", r"повысил[@L]*", r"прибавил[@L]*",
    r"подскочил[@L]*", r"рост[@L]*", r"зрос[@L]*", "зріс", r"подорожчал[@L]*",
    r"підвищил[@L]*", r"додал[@L]*", r"підскочил[@L]*", r"подорожча[@L]*", r"підвищи[@L]*",
    "додав", r"підскочи[@L]*", "виріс",
    # de, fr, es, pl (folded: no accents)
    r"gestiegen", "stieg", "steigt", "zugelegt", r"legte[@L]* zu", r"kletter[@L]*", "sprang",
    r"verteuer[@L]*", r"erhoht[@L]*", r"anstieg[@L]*",
    "hausse", r"grimp[@L]*", "bondi", r"progress[@L]*", "gagne", "gagnant", r"augment[@L]*",
    "monte", "sube", "subio", "subieron", r"aumento[@L]*", "gano", "avanzo", "repunto", "alza",
    r"wzrosl[@L]*", r"wzrost[@L]*", r"podrozal[@L]*", r"zyskal[@L]*", r"skoczyl[@L]*",
    # the present tense of headlines and leads ("Kakao springt um 9 Prozent")
    "springt", "steigen", "bondit", "envole", "flambe", "suben", "dispara", "disparo", "avanza",
    "rosnie", "rosna", r"drozej[@L]*", "skacze",
)  # fmt: skip
_DOWN = (
    "fell", "fall", "falls", "falling", "fallen", "down", "dropped", "drop", "drops",
    "dropping", "declined", "decline", "declines", "declining", "slumped", "slump", "slumps",
    "slid", "slide", "slides", "sliding", "lost", "lose", "loses", "losing", "loss",
    "plunged", "plunge", "plunges", "tumbled", "tumble", "tumbles", "sank", "sink", "sinks",
    "eased", "ease", "eases", "retreated", "retreat", "dipped", "dip", "dips", "decreased",
    "decrease", "lower", "crashed", "crash", "shed", "sheds", "weakened", "slipped", "slip",
    r"упал[@L]*", r"подешевел[@L]*", r"снизил[@L]*", r"опустил[@L]*", r"потерял[@L]*",
    r"обвалил[@L]*", r"падени[@L]*", r"снижени[@L]*", r"впал[@L]*", r"подешевшал[@L]*",
    r"знизил[@L]*", r"втратил[@L]*", r"падінн[@L]*", r"зниженн[@L]*", r"подешевша[@L]*",
    "впав", r"знизи[@L]*", r"втрати[@L]*",
    "fiel", "gefallen", "sank", "gesunken", "verlor", r"verbillig[@L]*", "gab nach",
    r"rutscht[@L]*", "brach ein", "eingebrochen",
    "baisse", "recul", "recule", "chute", r"perdu", "cede", r"plonge", "glisse",
    "bajo", "bajaron", "cayo", "cae", "cayeron", "perdio", "retrocedio", "descendio", "desplomo",
    r"spadl[@L]*", r"spadek", r"potanial[@L]*", r"stracil[@L]*", r"obnizyl[@L]*",
    "fallt", "sinkt", "chutent", "reculent", "caen", "baja", "bajan", "retrocede",
    "desploma", "spada", "spadaja", r"taniej[@L]*",
)  # fmt: skip
_DIRECTION = _compile_words(rf"(?:(?P<up>{_words(*_UP)})|(?P<down>{_words(*_DOWN)}))(?![@L0-9])")
# "a 3% drop", "3 percent higher", "a 2% weekly gain": a direction noun or
# adverb right after (not a verb: in "3% after falling" the verb is elsewhere).
_AFTER_UP = ("gain", "gains", "rise", "rises", "jump", "increase", "rally", "surge", "higher", "up")
_AFTER_DOWN = (
    "drop",
    "fall",
    "falls",
    "decline",
    "slump",
    "plunge",
    "loss",
    "lower",
    "down",
    "dip",
)
_DIRECTION_AFTER = _compile_small(
    rf"^\s(?:[@L]+\s)?(?:(?P<up>{_words(*_AFTER_UP)})|(?P<down>{_words(*_AFTER_DOWN)}))"
    r"(?![@L0-9])"
)
_NUMBER_WORD = _words(
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "eighteen", "twenty", "thirty", "forty", "fifty", r"\d+",
)  # fmt: skip
_PERIOD = "year|month|week|day|decade|session"
_MONTH = "january|february|march|april|may|june|july|august|september|october|november|december"
_EXTREME = _Scan(
    r"(?:^|[^@L0-9])(?P<ext>"
    rf"(?:(?:{_NUMBER_WORD})[- ](?:{_PERIOD})s?|multi[- ]?(?:{_PERIOD})|record|all[- ]time"
    rf"|lifetime|historic|seasonal)[- ](?P<hl>high|low|peak|trough)s?"
    rf"|(?P<hl2>highest|lowest|strongest|weakest|widest|narrowest)"
    rf"(?:\s(?:level|levels|close|price|settlement|gap|spread|discount|premium))?"
    rf"\s(?:since|in)\s(?:(?:early|late|mid|the start of|the end of)[- ])?"
    rf"(?:\d{{4}}|(?:{_MONTH})(?:\s\d{{4}})?|(?:(?:more than|almost|nearly|over|at least)\s)?"
    rf"(?:a|an|{_NUMBER_WORD})\s(?:{_PERIOD})s?)"
    r"|(?:рекордн[@L]*|историческ[@L]*|многолетн[@L]*|годов[@L]*|історичн[@L]*"
    r"|багаторічн[@L]*|річн[@L]*)\s(?P<hl3>максимум|минимум|мінімум)[@L]*"
    r"|(?P<hl4>максимум|минимум|мінімум)[@L]*\s(?:(?:с|з|за|since)\s\d{4}"
    r"|за\s(?:год|месяц|неделю|рік|місяць|тиждень|\d+\s[@L]+|(?:два|три|пять|шесть)\s[@L]+))"
    # de: Jahreshoch, Rekordtief, Sechsmonatshoch; höchster Stand seit einem Jahr
    r"|[@L]*(?:jahres|monats|wochen|rekord|allzeit)(?P<hl5>hoch|tief)[@L]*"
    r"|(?P<hl6>hochst|tiefst|niedrigst)[@L]*\s(?:stand|niveau|wert)[@L]*\sseit\s"
    r"(?:\d{4}|einem\s(?:jahr|monat)|[@L]+\s(?:jahren|monaten|wochen))"
    # fr: plus haut depuis un an, plus bas historique
    r"|plus\s(?P<hl7>haut|bas)\s(?:depuis\s(?:\d{4}|un an|une annee|un mois|[@L]+\s"
    r"(?:ans|mois|semaines))|historique)"
    # es: máximo de un año, nivel más alto en un mes, mínimos desde 2020
    r"|(?P<hl8>maximo|minimo|mas alto|mas bajo)s?\s(?:de|desde|en)\s(?:\d{4}|un ano|un mes"
    r"|[@L]+\s(?:anos|meses|semanas))"
    # pl: najwyżej od miesiąca, najniższy poziom od 2022
    r"|(?P<hl9>najwyz|najniz)[@L]*(?:\spoziom[@L]*)?\sod\s(?:\d{4}|roku|miesiaca|tygodnia"
    r"|[@L]+\s(?:lat|miesiecy|tygodni))"
    r")(?:[^@L0-9]|$)"
)
_SPREAD_WORDS = (
    "(?:"
    + factored(
        r"discounts?|premiums?|spreads?|differentials?|дисконт[@L]*|скидк[@L]*|спред[@L]*"
        r"|преми[@L]*|знижк[@L]*|(?:preis)?abschlag[@L]*|aufschlag[@L]*|differenz[@L]*"
        r"|abstand[@L]*|decote[@L]*|ecart[@L]*|descuento[@L]*|diferencial[@L]*|dyskont[@L]*"
        r"|premia|premii|roznic[@L]*"
    )
    + ")(?![@L0-9])"
)
_SPREAD_WORD = _compile_words(_SPREAD_WORDS)
# "a $12 discount", "$12 a barrel premium": the spread word right after the amount.
_SPREAD_AFTER = _compile_small(rf"^\s(?:[@L]+\s){{0,2}}{_SPREAD_WORDS}")
_BENCHMARK_BEFORE = _compile_words(
    r"(?:to|against|versus|vs\.?|over|relative to|below|under|above|к|до"
    r"|относительно|щодо|gegenuber|zu|zur|zum|par rapport (?:a|au)|face (?:a|au)|sur|frente a"
    r"|respecto (?:a|al|del)|sobre|wobec|do|w stosunku do)\s"
    r"(?:(?:the|dated|benchmark|global|international|north sea|front-month|der|dem|den|die"
    r"|nordseesorte|sorte|referenzsorte|le|la|du|de|el|ropy|crudo|brut|marki|эталонн[@L]*"
    r"|марк[@L]*|сорт[@L]*|еталонн[@L]*)\s){0,3}$"
)
_AND_BEFORE = _compile_words(
    r"(?:and|и|і|та|und|et|y|i)\s(?:(?:the|dated|benchmark|der|le|la|el)\s){0,2}$"
)
_BETWEEN = _compile_words(r"(?:between|между|між|zwischen|entre|miedzy)\s")
# Words naming another subject than the commodity's price: a figure after
# them is about shares, tickets, output, a currency... not the commodity.
_OTHER_SUBJECT = _compile_words(
    "(?:"
    + factored(
        r"shares?|stocks?|equit(?:y|ies)|index|indices|indexes|tickets?|fares?"
        r"|bonds?|yields?|compan(?:y|ies)|firms?|majors?|producers?|miners?|groups?|earnings"
        r"|profits?|revenues?|sales|dividends?|output|production|exports?|imports?|suppl(?:y|ies)"
        r"|demand|inventor(?:y|ies)|stockpiles?|volumes?|shipments?|capacity|dollar|euro|rouble"
        r"|ruble|yuan|currency|inflation|rates?|gdp|wages?|rents?|market cap"
        r"|акци[@L]*|индекс[@L]*|компани[@L]*|добыч[@L]*|экспорт[@L]*|импорт[@L]*"
        r"|акці[@L]*|індекс[@L]*|компані[@L]*|видобу[@L]*|експорт[@L]*|імпорт[@L]*"
        r"|aktie[@L]*|kurs|boerse|borse|inflation|action|actions|accion[@L]*|bolsa|inflacion"
        r"|akcj[@L]*|gield[@L]*|inflacj[@L]*|zins[@L]*|taux|tasas?|stop[ay] procentow[@L]*"
    )
    + ")(?![@L0-9])"
)
# What is traded of a commodity: the subject of a sentence whose figure is about the
# commodity of the sentence before ("The most active contract rose 7 percent").
_INSTRUMENT = _compile_words(
    "(?:"
    + factored(
        r"contracts?|futures|tonnes?|tons?|barrels?|ounces?|bushels?"
        r"|kontrakt[@L]*|terminkontrakt[@L]*|fass|feinunze|unze|scheffel"
        r"|contrats?|baril|barils|once|onces|boisseau"
        r"|contratos?|futuros|toneladas?|barril|barriles|onzas?"
        r"|tona|tony|tone|baryl[@L]*|uncj[@L]*"
        r"|контракт[@L]*|фьючерс[@L]*|тонн[@L]*|баррел[@L]*|унци[@L]*"
        r"|ф'?ючерс[@L]*|барел[@L]*|унці[@L]*"
    )
    + ")(?![@L0-9])"
)
# Words of policy, not of a market: an amount or a percentage right after one
# ("a price cap of $60 a barrel", "Zölle von 25 Prozent", "une amende de 5 euros")
# or right before one ("the $60 cap") is a cap, a tariff, a fine, a subsidy or a
# budget, not a commodity price or a price move, and is not extracted.
_POLICY_WORDS = (
    "(?:"
    + factored(
        r"caps?|capped|ceilings?|limits?|tariffs?|dut(?:y|ies)|levy|levies|tax|taxes|fines?"
        r"|fined|penalt(?:y|ies)|subsid(?:y|ies|ised|ized)|budgets?|grants?|aid|rebates?|bail"
        r"|preisdeckel|preisobergrenze|obergrenze|deckel|zoll|zolle|zollen|strafe[@L]*|bussgeld"
        r"|subvention[@L]*|haushalt[@L]*|budget[@L]*|steuer[@L]*|abgabe[@L]*|forderung[@L]*"
        r"|plafond[@L]*|droits? de douane|taxe[@L]*|amende[@L]*|subvention[@L]*|aide[@L]*"
        r"|tope|techo|arancel[@L]*|multa[@L]*|subsidio[@L]*|subvencion[@L]*|presupuest[@L]*"
        r"|impuesto[@L]*|ayuda[@L]*|pulap[@L]*|limit[@L]*|cla|clo|clem|kar[ay]|kare|grzywn[@L]*"
        r"|dotacj[@L]*|dotacj[@L]*|subsydi[@L]*|budzet[@L]*|podat[@L]*|dopla[@L]*"
        r"|потол[@L]*|пошлин[@L]*|штраф[@L]*|субсид[@L]*|бюджет[@L]*|налог[@L]*|стел[@L]*|мит[оа]"
        r"|субсиді[@L]*|податк[@L]*"
    )
    + ")(?![@L0-9])"
)
_POLICY_BEFORE = _compile_words(_POLICY_WORDS)
_POLICY_AFTER = _compile_small(
    rf"^\s(?:(?:price|preis|prix|precio|cen[ay]|export|import)\s)?{_POLICY_WORDS}"
)
_POLICY_RIGHT_AFTER = _compile_small(rf"^\s{_POLICY_WORDS}")
# A sentence ends at . ! ? or ; (maybe closed by a quote) before a blank, or
# at a line break. Abbreviations that end in a dot inside a sentence ("4,3 proc. do",
# "19 долл. за") do not. Fixed-length alternatives: linear in Python re.
# One pattern per mark, each starting with its literal character, which re
# searches at C speed; a pattern starting with the class [.!?;] tests every
# offset (28 against 13 µs per 3 KB body; a look-behind first, 250). The ends
# are the same as one pattern's: a match of one cannot start inside another's
# except at a line break that ends it too.
_SENTENCE_ENDS = (
    *(
        re.compile(
            re.escape(mark) + "(?<!proc.)(?<!проц.)(?<!долл.)(?<!руб.)(?<!tys.)(?<!mln.)"
            "(?<!mld.)(?<!mrd.)(?<!mio.)[\"'”’»)]?\\s"
        )
        for mark in ".!?;"
    ),
    re.compile("\n"),
)
# How far before a percentage its direction word may be (about six words).
_DIRECTION_WINDOW = 48
_AFTER_AMOUNT_WINDOW = 24
# How far before an amount a policy word may be (about eight words: "the price
# cap on Russian crude stays at $60").
_POLICY_WINDOW = 64
# How far (in characters, about 30 words) a figure may be from its commodity.
_MAX_BINDING_DISTANCE = 200

_HL_GROUPS = ("hl", "hl2", "hl3", "hl4", "hl5", "hl6", "hl7", "hl8", "hl9")
_UP_WORDS = frozenset(
    {"high", "peak", "highest", "strongest", "widest", "максимум", "hoch", "hochst", "haut"}
    | {"maximo", "mas alto", "najwyz"}
)

ValueKind = Literal["price", "spread", "change_pct", "extreme"]
# The values are built as plain data and validated in one call: a model per value
# and per span, each validated on its own, cost about 10 µs more for the nine
# values of a 3 KB seven-language article.
_VALUES: Final = TypeAdapter(tuple[ExtractedValue, ...])


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    id: str


@dataclass(slots=True)
class _Figure:
    """A figure found in one field, before binding."""

    kind: ValueKind
    start: int
    end: int
    value: float | None = None
    currency: str | None = None
    unit: str | None = None
    extreme: str | None = None
    direction: Literal["up", "down"] | None = None


def extract_values(
    article: Article, mentions: Sequence[EntityMention]
) -> tuple[ExtractedValue, ...]:
    """Return the prices, spreads, percent moves and extremes of an article.

    Args:
        article: the article to read (title, summary and body).
        mentions: its entity mentions (from the gazetteer); commodity mentions
            are what figures bind to.

    Returns:
        One value per figure, in field then text order; ``commodity`` is None
        when no commodity of the same sentence owns the figure.
    """
    language = (article.language or "").split("-")[0].lower()
    comma_decimal = language in COMMA_DECIMAL
    by_field: dict[TextField, list[_Mention]] = {}
    for mention in mentions:
        if mention.kind != "commodity":
            continue
        for span in mention.spans:
            by_field.setdefault(span.field, []).append(_Mention(span.start, span.end, mention.id))
    # the commodity a summary's or a body's first sentence follows (see the module docs)
    title_commodity = _only(by_field.get(TextField.TITLE, []))
    values: list[dict[str, Any]] = []
    for field in _FIELDS:
        text = article.text_of(field)
        if not text:
            continue
        carried = None if field == TextField.TITLE else title_commodity
        values.extend(_field_values(field, text, by_field.get(field, []), comma_decimal, carried))
    return _VALUES.validate_python(values)


def _only(mentions: Sequence[_Mention]) -> str | None:
    """The commodity of ``mentions`` when they name exactly one, else None."""
    ids = {mention.id for mention in mentions}
    return ids.pop() if len(ids) == 1 else None


def _field_values(
    field: TextField,
    text: str,
    mentions: list[_Mention],
    comma_decimal: bool,
    carried: str | None,
) -> Iterator[dict[str, Any]]:
    """The values of one field, as the data of :class:`ExtractedValue` models.

    ``carried``: the commodity the field's first sentence follows when it names none.
    """
    view = folded_text(text)
    folded, original = view.folded, view.offsets
    if original is not None:  # mentions are spans of the text: bring them to the folded one
        mentions = [
            _Mention(original.folded(m.start), original.folded(m.end), m.id) for m in mentions
        ]
    commodities = sorted(mentions, key=lambda m: m.start)
    encoded = _Encoded(folded, folded.encode())
    figures = sorted(
        [
            *_amounts(encoded, comma_decimal),
            *_percents(encoded, comma_decimal),
            *_extremes(encoded),
        ],
        key=lambda f: f.start,
    )
    if not figures:
        return
    ends = _sentence_ends(folded)
    sentences: dict[tuple[int, int], list[_Figure]] = {}
    for figure in figures:
        sentences.setdefault(_sentence(ends, len(folded), figure.start), []).append(figure)
    starts = [m.start for m in commodities]
    for (start, end), inside in sentences.items():
        low = bisect_left(starts, start)
        sentence_mentions = commodities[low : bisect_left(starts, end)]
        follows = None
        if not sentence_mentions:
            if start:  # the sentence before this one
                before = _sentence(ends, len(folded), start - 1)[0]
                follows = _only(commodities[bisect_left(starts, before) : low])
            else:
                follows = carried
        yield from _bind_sentence(
            field, text, folded, original, start, inside, sentence_mentions, follows
        )


def _sentence_ends(folded: str) -> list[int]:
    """The offset after each sentence end of ``folded``, in order."""
    return sorted({match.end() for end in _SENTENCE_ENDS for match in end.finditer(folded)})


def _sentence(ends: list[int], size: int, offset: int) -> tuple[int, int]:
    """``[start, end)`` of the sentence around ``offset``, given every sentence end."""
    index = bisect_right(ends, offset)
    start = ends[index - 1] if index else 0
    end = ends[index] if index < len(ends) else size
    return start, end


def _bind_sentence(
    field: TextField,
    text: str,
    folded: str,
    original: Offsets | None,
    sentence_start: int,
    figures: list[_Figure],
    mentions: list[_Mention],
    follows: str | None,
) -> Iterator[dict[str, Any]]:
    """The values of one sentence's figures; ``follows``: the commodity of the sentence
    before, for a sentence that names none (see the module docs)."""
    benchmarks = _benchmark_mentions(folded, sentence_start, mentions)
    benchmark_id = benchmarks[0].id if benchmarks else None
    amounts = [(f.start, f.end) for f in figures if f.kind == "price"]
    if benchmarks:  # (most sentences have none: no set of mentions to hash)
        references = set(benchmarks)
        mentions = [m for m in mentions if m not in references]
    owners = _Owners(mentions, amounts)
    previous_figure = previous_amount = sentence_start
    for figure in figures:
        if figure.kind in ("price", "change_pct"):
            policy = _is_policy(folded, previous_figure, figure)
            previous_figure = figure.end
            if figure.kind == "price":
                if not policy and _is_spread(folded, previous_amount, figure):
                    figure.kind = "spread"
                previous_amount = figure.end
            if policy:
                continue
        commodity = owners.of(folded, sentence_start, figure)
        if (
            follows is not None
            and _INSTRUMENT.search(_window(folded, sentence_start, figure.start))
            and not owners.other_subject(folded, sentence_start, figure.start)
        ):
            commodity = follows
        start, end = figure.start, figure.end
        if original is not None:
            start, end = original.start(start), original.end(end)
        yield {
            "kind": figure.kind,
            "value": figure.value,
            "currency": figure.currency,
            "unit": figure.unit,
            "commodity": commodity,
            "benchmark": benchmark_id if figure.kind == "spread" and commodity else None,
            "extreme": figure.extreme,
            "direction": figure.direction,
            "span": {"field": field, "start": start, "end": end, "text": text[start:end]},
        }


def _benchmark_mentions(
    folded: str, sentence_start: int, mentions: list[_Mention]
) -> list[_Mention]:
    """Commodity mentions that are the reference of a spread ("to Brent")."""
    if len(mentions) < 2 or not _SPREAD_WORD.search(
        " " + folded[sentence_start : mentions[-1].start]
    ):
        return []
    between = _BETWEEN.search(_window(folded, sentence_start, mentions[-1].start))
    found = []
    for index, mention in enumerate(mentions[1:], start=1):
        before = " " + folded[max(sentence_start, mention.start - 40) : mention.start]
        after_and = (
            between is not None
            and between.start("w") + sentence_start - 1 < mentions[index - 1].start
            and _AND_BEFORE.search(before)
        )
        if after_and or _BENCHMARK_BEFORE.search(before):
            found.append(mention)
    # A benchmark needs something to be compared with.
    ids = {m.id for m in found}
    return found if any(m.id not in ids for m in mentions) else []


def _is_policy(folded: str, previous_end: int, figure: _Figure) -> bool:
    """A policy word before the figure (since the last figure, within the window) or right after it."""
    before = folded[max(previous_end, figure.start - _POLICY_WINDOW) : figure.start]
    if _POLICY_BEFORE.search(" " + before):
        return True
    after = _POLICY_AFTER if figure.kind == "price" else _POLICY_RIGHT_AFTER
    return bool(after.match(folded[figure.end : figure.end + _AFTER_AMOUNT_WINDOW]))


def _is_spread(folded: str, previous_end: int, figure: _Figure) -> bool:
    """A spread word before the amount (since the last amount) or right after it."""
    if _SPREAD_WORD.search(" " + folded[previous_end : figure.start]):
        return True
    return bool(_SPREAD_AFTER.match(folded[figure.end : figure.end + _AFTER_AMOUNT_WINDOW]))


class _Owners:
    """The commodity mentions of one sentence that figures may bind to.

    ``amounts`` are the sentence's amounts: a currency word inside one ("52
    Euro je Megawattstunde, den höchsten Stand") names the amount's unit, not
    another subject the figures after it are about.
    """

    def __init__(self, mentions: list[_Mention], amounts: list[tuple[int, int]]) -> None:
        self.mentions = mentions
        self.starts = [m.start for m in mentions]
        self.ends = [m.end for m in mentions]
        self.amounts = amounts

    def other_subject(self, folded: str, start: int, end: int) -> bool:
        """True when a word of another subject is in ``folded[start:end]``, outside the amounts."""
        shift = start - 1  # window offsets to folded offsets
        return any(
            not any(
                low <= found.start("w") + shift and found.end("w") + shift <= high
                for low, high in self.amounts
            )
            for found in _OTHER_SUBJECT.finditer(_window(folded, start, end))
        )

    def of(self, folded: str, sentence_start: int, figure: _Figure) -> str | None:
        """The id of the commodity a figure is about, or None (see the module docs)."""
        index = bisect_right(self.ends, figure.start)
        if index:
            nearest = self.mentions[index - 1]
            if figure.start - nearest.end > _MAX_BINDING_DISTANCE or self.other_subject(
                folded, nearest.end, figure.start
            ):
                return None
            return nearest.id
        subject_start = max(sentence_start, figure.start - _DIRECTION_WINDOW)
        if self.other_subject(folded, subject_start, figure.start):
            return None
        index = bisect_left(self.starts, figure.end)
        if index == len(self.mentions):
            return None
        following = self.mentions[index]
        if following.start - figure.end > _MAX_BINDING_DISTANCE or self.other_subject(
            folded, figure.end, following.start
        ):
            return None
        return following.id


def _amounts(encoded: _Encoded, comma_decimal: bool) -> Iterator[_Figure]:
    folded = encoded.text
    for offset, match in _MONEY.finditer(encoded):
        if match["mult1"] or match["mult2"]:
            continue  # "$2 billion" is a total, not a price
        end = offset + match.end()
        if end < len(folded) and folded[end].isalnum():
            continue  # "5 europe": the currency or unit runs into a longer word
        before = match["cur1"]
        number = match["num1"] if before else match["num2"]
        currency = before or match["cur2"]
        if number is None or currency is None:
            continue
        unit = match["unit"]
        yield _Figure(
            kind="price",
            start=offset + match.start("cur1" if before else "num2"),
            end=end,
            value=_to_float(number, decimal_comma=comma_decimal, dot_groups=comma_decimal),
            currency=_code(_CURRENCY_CODES, currency),
            unit=_code(_UNIT_CODES, unit) if unit else None,
        )


def _percents(encoded: _Encoded, comma_decimal: bool) -> Iterator[_Figure]:
    folded = encoded.text
    previous_end = 0
    for offset, match in _PERCENT.finditer(encoded):
        number = match["num"] or "0"
        start, end = offset + match.start("num"), offset + match.end()
        window_start = max(previous_end, start - _DIRECTION_WINDOW)
        previous_end = end
        direction: Literal["up", "down"] | None = None
        after = _DIRECTION_AFTER.match(folded[end : end + _AFTER_AMOUNT_WINDOW])
        if after:
            direction = "up" if after["up"] else "down"
            end += after.end(direction)
        else:
            last = None
            for found in _DIRECTION.finditer(" " + folded[window_start:start]):
                last = found
            if last is not None:
                direction = "up" if last["up"] else "down"
                start = window_start + last.start(direction) - 1
        sign = match["sign"]
        if direction is None and sign:
            direction = "up" if sign == "+" else "down"
            start = offset + match.start("sign")
        if direction is None:
            continue  # "a 25% stake": a share, not a move
        value = _to_float(number, decimal_comma=True, dot_groups=comma_decimal)
        yield _Figure(
            kind="change_pct",
            start=start,
            end=end,
            value=-value if direction == "down" else value,
            direction=direction,
        )


def _extremes(encoded: _Encoded) -> Iterator[_Figure]:
    for offset, match in _EXTREME.finditer(encoded):
        word = next(filter(None, map(match.group, _HL_GROUPS)), None)
        phrase = match["ext"] or ""
        yield _Figure(
            kind="extreme",
            start=offset + match.start("ext"),
            end=offset + match.end("ext"),
            extreme=" ".join(phrase.split()),
            direction="up" if word in _UP_WORDS else "down",
        )


def _to_float(number: str, *, decimal_comma: bool = False, dot_groups: bool = False) -> float:
    """``4,400`` -> 4400.0; ``19,40`` (a decimal comma) -> 19.4; ``1.250,50`` -> 1250.5.

    ``decimal_comma``: a lone comma is the decimal mark (``1,659`` -> 1.659);
    ``dot_groups``: one dot before exactly three digits groups thousands
    (``11.200`` -> 11200.0; ``11.5`` stays 11.5).
    """
    if (
        number.count(".") > 1
        or ("." in number and number.rfind(",") > number.rfind("."))
        or (dot_groups and "," not in number and _DOT_GROUPED.fullmatch(number))
    ):
        # dots group thousands (1.250.000, 1.250,50): the comma, if any, is the decimal mark
        return float(number.replace(".", "").replace(",", "."))
    if "," in number:
        head, _, tail = number.rpartition(",")
        if decimal_comma or (len(tail) != 3 and "." not in number):
            return float(f"{head.replace(',', '')}.{tail}")
        return float(number.replace(",", ""))
    return float(number)


# one dot grouping thousands: 1 to 3 digits, a dot, exactly 3 digits
_DOT_GROUPED: Final = re.compile(r"[0-9]{1,3}\.[0-9]{3}")
COMMA_DECIMAL: Final = frozenset(
    [
        "de",
        "fr",
        "es",
        "pl",
        "ru",
        "uk",
        "it",
        "pt",
        "nl",
        "cs",
        "sk",
        "sl",
        "hr",
        "sr",
        "bg",
        "ro",
        "hu",
        "el",
        "tr",
        "sv",
        "da",
        "no",
        "nb",
        "nn",
        "fi",
        "et",
        "lv",
        "lt",
        "be",
    ]
)
"""Primary subtags of the languages whose numbers write decimals with a comma."""


def _code(table: dict[str, str], word: str) -> str:
    """The code of a currency or unit word, by its longest known prefix."""
    for size in range(len(word), 0, -1):
        code = table.get(word[:size])
        if code is not None:
            return code
    return word.upper()
