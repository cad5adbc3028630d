"""The ``Article``: the message on the articles topic, and the only input of detection.

Text is normalised once, here, when an article is built (Unicode NFC, unified
line breaks, runs of blanks folded). Every later offset (a matched span, a
highlight) indexes the stored, normalised text, so highlights stay exact.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

import re2
from pydantic import Field, JsonValue, field_validator

from schemas.common import Message, Timestamp, utcnow
from schemas.patterns import re2_options

ARTICLE_SCHEMA_VERSION: Literal[1] = 1

_MANY_NEWLINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# In ASCII text, anything normalize_text would change: a control character
# (any but \n), two blanks, a blank next to a line break, three line breaks.
# RE2 scans the bytes once (a DFA), twice as fast as the five substring tests
# it replaces; the body of every article goes through here.
_ASCII_NOT_NORMAL = re2.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|  | \n|\n |\n\n\n", re2_options())


def normalize_text(text: str) -> str:
    """Return ``text`` in the form articles store: NFC, ``\\n`` line breaks, folded blanks.

    Paragraph breaks survive (at most one blank line); control characters go.
    The function is idempotent: ``normalize_text(normalize_text(t)) == normalize_text(t)``.
    """
    if _is_normal(text):
        # Most text (and every stored article, re-validated downstream) is already
        # normal; a few C-speed checks spare the per-character passes below.
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = _CONTROL.sub("", text)
    # str.split() folds the same blanks as the regex class [^\S\n] (Unicode
    # whitespace) and strips each line in one pass.
    text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
    # NFC last: removing a control character between a letter and its accent
    # must not leave the pair uncomposed (which broke idempotence).
    return unicodedata.normalize("NFC", _MANY_NEWLINES.sub("\n\n", text).strip())


def _is_normal(text: str) -> bool:
    """True when :func:`normalize_text` would return ``text`` unchanged.

    Being printable apart from line breaks rules out control characters,
    ``\\r``, tabs and every blank but the ASCII space; then single spaces,
    no blank-edged lines, no triple line break and NFC form mean nothing to do.
    """
    if text != text.strip():
        return False
    if text.isascii():  # and ASCII is NFC
        return _ASCII_NOT_NORMAL.search(text.encode("ascii")) is None
    return (
        "  " not in text
        and " \n" not in text
        and "\n " not in text
        and "\n\n\n" not in text
        and text.replace("\n", "").isprintable()
        and unicodedata.is_normalized("NFC", text)
    )


def normalize_line(text: str) -> str:
    """Return ``text`` normalised as a single line (titles, sources)."""
    return " ".join(normalize_text(text).split())


ArticleKind = Literal["article", "teaser"]
"""``article``: a page of its own; ``teaser``: another story's headline found on a page."""


class PageRef(Message):
    """The page a teaser was found on: where an alert raised from the teaser links to."""

    id: Annotated[str, Field(min_length=1, max_length=256)]
    url: str | None = None
    title: str | None = None


class LanguageDetection(Message):
    """What language identification made of an article whose record gave no language.

    ``language`` is the identifier's best guess, kept even when it was not
    trusted (then the article's own ``language`` is ``unknown``);
    ``confidence`` is its probability, from 0 to 1.
    """

    language: Annotated[str, Field(min_length=2, max_length=16)]
    confidence: Annotated[float, Field(ge=0, le=1)]


class Article(Message):
    """One news article, as it travels on the articles topic.

    ``id`` is stable: the same article produced twice has the same id and the
    same Kafka key. ``meta`` keeps any extra fields the input record carried.
    ``language`` is the record's own tag, else the identified language, else
    ``unknown``; ``language_detection`` says how it was identified (None when
    the record gave it).

    A ``teaser`` is a headline-only article (``body`` empty): one of the
    related headlines a page closes with, split off the page at ingest
    (:mod:`schemas.teasers`), with ``found_on`` naming the page.
    """

    schema_version: Literal[1] = ARTICLE_SCHEMA_VERSION
    id: Annotated[str, Field(min_length=1, max_length=256)]
    url: str | None = None
    source: Annotated[str, Field(min_length=1, max_length=256)]
    title: Annotated[str, Field(min_length=1, max_length=2_000)]
    summary: str | None = None
    body: str
    language: Annotated[str, Field(min_length=2, max_length=16)] = "unknown"
    language_detection: LanguageDetection | None = None
    published_at: Timestamp | None = None
    received_at: Timestamp = Field(default_factory=utcnow)
    meta: dict[str, JsonValue] = Field(default_factory=dict)
    kind: ArticleKind = "article"
    found_on: PageRef | None = None

    @field_validator("title", "source")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = normalize_line(value)
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return normalize_text(value) or None

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return normalize_text(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return value.strip().lower().replace("_", "-")

    def text_of(self, field: str) -> str:
        """Return the text of ``field`` (``title``, ``summary`` or ``body``); "" when absent."""
        value = getattr(self, field)
        return value if isinstance(value, str) else ""
