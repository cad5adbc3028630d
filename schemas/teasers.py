"""Teasers: the other stories' headlines a page closes with, split off into articles of their own.

News pages end with a block of related headlines ("teasers"), often followed
by a footer. They are other stories: matched as the page's body, their
entities and figures would be taken for the page's (the Urals discount of a
teaser reported as news of a page about peace talks). :func:`split_teasers`
cuts that block off the body and returns each teaser as a headline-only
article (``kind: teaser``), so rules read it as what it is.

It is the one place the split happens. The producer applies it to every
record it reads (text pages, JSON, JSON Lines, feeds, stdin; see
``ingest.sources``), and the stream worker applies it again to every record
it takes from the articles topic, so a page written there by another client
(``kcat``) is split the same way; on a page already split it finds nothing.

How a closing block is recognised, from the end of the body:

1. A **footer** is set aside first: short lines such as "© 2026 Publisher",
   "All rights reserved", "Share this article", "Follow us on ...",
   "Reporting by ...; Editing by ...". They are kept in ``meta["footer"]``.
2. A **marker** line ("Related", "Read more", "See also", "More on this
   story", "Читайте также", "Lesen Sie auch"...) opens a block: every short
   line after it is a teaser, punctuated or not.
3. Otherwise, a run of short one-sentence lines at the end is a block when it
   starts with a *headline-shaped* line and holds at least two of them. A line
   is headline-shaped when it ends without sentence punctuation, or is in
   title case ("Is Europe Ready for a Drone Wall?"), or repeats the page's own
   headline or standfirst. Punctuated lines inside or after such a run are
   teasers too; punctuated lines before it stay in the body.

What stays body: one short closing paragraph (or several) ending in
punctuation; a subheading followed by a last paragraph (one headline-shaped
line is not a block); a list introduced by a colon ("The measures
include:"); lines longer than :data:`MAX_TEASER_CHARS` or holding more than
one sentence; and always the first line of the body.

A teaser's own link is kept when the input has one: an HTML link around the
whole line (feeds) or a URL closing the line. Its id is derived from the
page's id and the teaser's text, so producing the page again gives the same
teaser ids. Work is bounded: only the last :data:`MAX_SCANNED_LINES` lines
are examined, each of at most :data:`MAX_TEASER_CHARS` characters, with RE2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from schemas.articles import Article, PageRef, normalize_line

MAX_TEASER_CHARS = 300
"""Longer lines are paragraphs, never teasers."""
MAX_TEASERS = 20
MAX_FOOTER_LINES = 6
MAX_SCANNED_LINES = MAX_TEASERS + MAX_FOOTER_LINES + 2
MIN_HEADLINES = 2
"""Headline-shaped lines a block needs when no marker opens it."""
_MAX_FOOTER_CHARS = 160
_MAX_MARKER_CHARS = 60
_MIN_TITLE_CASE_WORDS = 4
SENTENCE_END = tuple(".!?…:;\"”»'’)]")


def _compile(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    return re2.compile(pattern, options)


# Every pattern is anchored at both ends and applied to one short line.
_FOOTER = _compile(
    r"^(?:"
    r"(?:©|\(c\)|copyright\b).*"
    r"|.*\ball rights reserved\b.*"
    r"|share(?: this)?(?: article| story| page)?(?: on \S+)?"
    r"|(?:follow|find) us(?: on .*)?"
    r"|(?:subscribe|sign up|register)(?: (?:to|for|now).*)?"
    r"|(?:our |the |daily |weekly )?newsletters?.*"
    r"|advertisement|sponsored(?: content)?|(?:tags|topics|filed under|categories)\s*:.*"
    r"|\(?(?:additional )?(?:reporting|writing|editing) by\b.*"
    r"|(?:click|tap) here\b.*"
    r")[.!]?$"
)
_MARKER = _compile(
    r"^(?:"
    r"related(?: (?:stories|articles|news|coverage|content|reading|posts|links|topics))?"
    r"|read (?:more|also|next)(?: on this)?|also read|see also|more to read"
    r"|more (?:on|about) (?:this|the) (?:story|topic)|more (?:stories|news|headlines)"
    r"|more from [^.!?]{1,40}|recommended(?: for you| stories| reading)?"
    r"|you (?:may|might) (?:also )?(?:like|be interested in|have missed)"
    r"|editor'?s picks|top stories|latest(?: news| stories| headlines)?|most (?:read|popular)"
    r"|trending(?: now)?|in other news|other news|don'?t miss"
    r"|читайте (?:также|також|еще|ще)|по теме|за темою|смотрите также|дивіться також"
    r"|lesen sie auch|mehr zum thema|à lire aussi|lire aussi|sur le même sujet"
    r"|czytaj (?:też|także|więcej)|zobacz (?:też|także)|leer también|lee también"
    r")\s*[:.…»>-]*$"
)
_FOOTER_STARTS = (
    "©", "c)", "copyright", "share", "follow", "find us", "subscribe", "sign up", "register",
    "our ", "the ", "daily ", "weekly ", "newsletter", "advertisement", "sponsored", "tags",
    "topics", "filed under", "categories", "additional ", "reporting", "writing", "editing",
    "click", "tap",
)  # fmt: skip
"""How every footer line of :data:`_FOOTER` begins (casefolded, an opening bracket dropped)."""
_OPENING_QUOTES = "\"'“‘«("
_CLOSING_QUOTES = "\"'”’)»"
_TRAILING_URL = _compile(r"^(.*\S)\s+[(<\[]?(https?://[^\s)>\]]+)[)>\]]?$")


@dataclass(frozen=True, slots=True)
class Teaser:
    """One closing headline: its text and its own link when the input had one."""

    text: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ClosingBlock:
    """What :func:`closing_block` found at the end of a body."""

    body: str
    teasers: tuple[Teaser, ...]
    footer: tuple[str, ...]


def closing_block(
    body: str,
    *,
    lead: Sequence[str] = (),
    links: Mapping[str, str] | None = None,
) -> ClosingBlock | None:
    """Find the block of teasers (and the footer) closing ``body``; None when there is neither.

    Args:
        body: a normalised article body (``\\n`` between lines, none blank-edged).
        lead: the page's headline and standfirst: a closing line repeating
            one of them is headline-shaped.
        links: a line's text -> the URL the input linked it to (feeds).
    """
    # Only the tail is split: the head stays one piece (never taken), whatever its length.
    lines = body.rsplit("\n", 2 * MAX_SCANNED_LINES + 2)
    if len(lines[-1]) > MAX_TEASER_CHARS:
        return None  # a long last paragraph: neither a teaser nor a footer (the common case)
    window: list[int] = []  # the last non-blank lines, oldest first
    index = len(lines) - 1
    while index >= 0 and len(window) <= MAX_SCANNED_LINES:
        if lines[index]:
            window.append(index)
        index -= 1
    window.reverse()
    if len(window) < 2:
        return None
    # The first line of the body is never taken: a page keeps a body.
    first = 0 if len(window) > MAX_SCANNED_LINES else 1
    window = window[-MAX_SCANNED_LINES:]
    end = len(window)
    while end > first and len(window) - end < MAX_FOOTER_LINES:
        if not _is_footer(lines[window[end - 1]]):
            break
        end -= 1
    footer = tuple(lines[i] for i in window[end:])
    start = _block_start(lines, window, first, end, lead)
    if start >= end and not footer:
        return None
    cut = window[start] if start < len(window) else len(lines)
    teasers = tuple(
        _teaser(lines[i], links or {}) for i in window[start:end] if not _is_marker(lines[i])
    )
    kept = "\n".join(lines[:cut]).rstrip()
    return ClosingBlock(body=kept, teasers=teasers, footer=footer)


def _is_footer(text: str) -> bool:
    if len(text) > _MAX_FOOTER_CHARS:
        return False
    folded = text.casefold()
    # A plain prefix test spares most lines the RE2 call (microseconds through its wrapper).
    if not folded.lstrip("(").startswith(_FOOTER_STARTS) and "rights reserved" not in folded:
        return False
    return _FOOTER.match(text) is not None


def _is_marker(text: str) -> bool:
    return len(text) <= _MAX_MARKER_CHARS and _MARKER.match(text) is not None


def _block_start(
    lines: list[str], window: list[int], first: int, end: int, lead: Sequence[str]
) -> int:
    """Index in ``window`` where the teasers begin; ``end`` when there are none."""
    # A marker opens a block of short lines, whatever their punctuation.
    for position in range(end - 1, max(first, end - MAX_TEASERS - 1) - 1, -1):
        text = lines[window[position]]
        if len(text) > MAX_TEASER_CHARS:
            break
        if _is_marker(text):
            return position if position + 1 < end else end
    # A run of short lines; punctuated ones before its first headline-shaped
    # line are the article's closing paragraphs.
    folded_lead: set[str] | None = None
    headlines = 0
    earliest = end
    for position in range(end - 1, max(first, end - MAX_TEASERS) - 1, -1):
        text = lines[window[position]]
        if not _teaser_shaped(text):
            break
        text = _without_url(text).text
        shaped = not text.endswith(SENTENCE_END) or _title_case(text)
        if not shaped:
            if folded_lead is None:
                folded_lead = {normalize_line(line).casefold() for line in lead if line}
            shaped = text.casefold() in folded_lead
        if shaped:
            headlines += 1
            earliest = position
    if headlines < MIN_HEADLINES:
        return end
    before = lines[window[earliest - 1]] if earliest > 0 else ""
    if before.endswith(":"):
        return end  # "The measures include:" then a list: body
    return earliest


def _teaser_shaped(text: str) -> bool:
    """Short enough for a headline and at most one sentence."""
    return len(text) <= MAX_TEASER_CHARS and not _inner_break(text)


def _inner_break(text: str) -> bool:
    """A sentence break inside the line: two lower-case letters, an end mark, a blank, a capital.

    "...said. The" and '...said." The' are; "U.S. President" is not. Plain
    string scans: this runs on the closing lines of every article.
    """
    size = len(text)
    for mark in ".?!":
        at = text.find(mark, 2)
        while at >= 0:
            after = at + 1
            while after < size and text[after] in _CLOSING_QUOTES:
                after += 1
            if after < size and text[after] == " ":
                before = text[at - 2 : at]
                following = text[after + 1 : after + 3].lstrip(_OPENING_QUOTES)[:1]
                if before.isalpha() and before.islower() and following.isupper():
                    return True
            at = text.find(mark, after)
    return False


def _title_case(text: str) -> bool:
    """Every word of four letters or more capitalised, and at least four of them."""
    words = [word for word in text.split() if len(word) >= 4 and word[0].isalpha()]
    return len(words) >= _MIN_TITLE_CASE_WORDS and all(word[0].isupper() for word in words)


def _without_url(text: str) -> Teaser:
    """The line without a URL closing it (``Headline https://...``), and that URL."""
    found = _TRAILING_URL.match(text) if "http" in text else None
    return Teaser(text=found.group(1), url=found.group(2)) if found else Teaser(text=text)


def _teaser(text: str, links: Mapping[str, str]) -> Teaser:
    url = links.get(text)
    return Teaser(text=text, url=url) if url is not None else _without_url(text)


def teaser_id(page_id: str, text: str) -> str:
    """Return the stable id of a teaser: the page's id and the teaser's folded text, hashed."""
    key = f"{page_id}\x1f{normalize_line(text).casefold()}"
    return "teaser-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def split_teasers(article: Article, *, links: Mapping[str, str] | None = None) -> list[Article]:
    """Return ``article`` without its closing block, then one headline-only article per teaser.

    The page keeps its id; its teasers' texts go to ``meta["related_headlines"]``
    and a footer to ``meta["footer"]``. A teaser article has the page's source,
    language and times, its own link or else the page's URL, an empty body,
    and ``found_on`` naming the page. A teaser, or a page with no closing
    block, comes back alone and unchanged.

    Args:
        links: a closing line's text -> its URL, when the input linked it.
    """
    if article.kind != "article":
        return [article]
    block = closing_block(article.body, lead=[article.title, article.summary or ""], links=links)
    if block is None:
        return [article]
    meta = dict(article.meta)
    if block.teasers:
        meta["related_headlines"] = "\n".join(teaser.text for teaser in block.teasers)
    if block.footer:
        meta["footer"] = "\n".join(block.footer)
    page = article.model_copy(update={"body": block.body, "meta": meta})
    found_on = PageRef.model_construct(id=article.id, url=article.url, title=article.title)
    teasers: dict[str, Article] = {}
    for teaser in block.teasers:
        key = teaser_id(article.id, teaser.text)
        # Every value comes from the validated page (a teaser is one of its normalised
        # lines, at most MAX_TEASER_CHARS long): validating them again costs 30 us each.
        teasers.setdefault(
            key,
            Article.model_construct(
                id=key,
                kind="teaser",
                found_on=found_on,
                url=teaser.url or article.url,
                source=article.source,
                title=teaser.text,
                summary=None,
                body="",
                language=article.language,
                language_detection=article.language_detection,
                published_at=article.published_at,
                received_at=article.received_at,
                meta={},
            ),
        )
    return [page, *teasers.values()]
