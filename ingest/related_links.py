"""The related-story links an article page lists after its main text, read as its teasers.

News pages close an article with blocks of links to other stories (a list of
headlines under "Related" or "Read more", an aside of "More stories").
trafilatura leaves them out of the main text, as it should, so the split of
:mod:`schemas.teasers` never sees them. :func:`related_links` reads them from
the HTML: the links that come after the end of the main text in the
document, outside navigation, headers, footers, forms and ads, that lead to
another article of the same site (see :func:`ingest.documents.headline_links`).
:func:`with_related` appends them to the text under a marker line, so the one
split turns them into teasers, each with its own link.

Work is bounded: at most :data:`MAX_TEXT_NODES` text nodes are searched
for the end of the main text, :data:`MAX_ANCHORS` links after it are
looked at, and :data:`~schemas.teasers.MAX_TEASERS` of at most
:data:`~schemas.teasers.MAX_TEASER_CHARS` characters are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

import lxml.html

from ingest.documents import headline_links, in_chrome_element, marked_as_chrome
from schemas.articles import normalize_line
from schemas.teasers import MAX_TEASER_CHARS, MAX_TEASERS, closing_block

MAX_TEXT_NODES: Final = 20_000
MAX_ANCHORS: Final = 2_000
RELATED_MARKER: Final = "Related"
"""The marker line put before the links: every short line after it is a teaser."""
_END_CHARS: Final = 30
"""How much of a text node's end must be found at the end of the main text's last line."""
_MIN_END_CHARS: Final = 12
_AD_WORDS: Final = re.compile(
    r"(^|[\s_-])(ads?|advert\w*|sponsor\w*|promo\w*|outbrain|taboola|partner\w*)($|[\s_-])", re.I
)


def related_links(tree: lxml.html.HtmlElement, text: str, url: str) -> list[tuple[str, str]]:
    """The (URL, headline) of each related-story link after the main ``text`` of ``tree``.

    Args:
        tree: the page, parsed.
        text: its main text, as extracted.
        url: the page's URL: links are resolved against it and must stay on its site.
    """
    end = _end_of_text(tree, text)
    if end is None:
        return []
    anchors = (a for a in _following_anchors(end) if not _in_menu_or_ad(a))
    return [
        (link, headline)
        for link, headline in headline_links(anchors, url, MAX_TEASERS)
        if len(headline) <= MAX_TEASER_CHARS
    ]


def with_related(text: str, related: Sequence[str], lead: Sequence[str] = ()) -> str:
    """``text`` followed by the ``related`` headlines it does not hold yet, under a marker line.

    A closing block the text already ends with (teasers trafilatura kept, a
    footer) stays one block with them: the marker goes before its teasers,
    the footer stays last.
    """
    held = {normalize_line(line).casefold() for line in text.split("\n")}
    new = [line for line in related if normalize_line(line).casefold() not in held]
    if not new:
        return text
    block = closing_block(text, lead=lead)
    head, tail, footer = text, [], []
    if block is not None:
        head = block.body
        rest = [line for line in text[len(block.body) :].split("\n") if line.strip()]
        split = len(rest) - len(block.footer)
        tail, footer = rest[:split], rest[split:]
    # The split reads at most MAX_TEASERS lines after a marker.
    new = new[: max(0, MAX_TEASERS - len(tail))]
    return "\n".join([head, RELATED_MARKER, *tail, *new, *footer])


def _end_of_text(tree: lxml.html.HtmlElement, text: str) -> lxml.html.HtmlElement | None:
    """The element where the main text ends in ``tree``: its last line found from the end."""
    lines = (normalize_line(line) for line in reversed(text.split("\n")))
    last = next((line for line in lines if len(line) >= _MIN_END_CHARS), "")[-3 * _END_CHARS :]
    if not last:
        return None
    nodes = tree.xpath("//body//text()")
    for node in reversed(nodes[-MAX_TEXT_NODES:]):
        seen = normalize_line(str(node))
        if len(seen) >= _MIN_END_CHARS and seen[-_END_CHARS:] in last:
            parent: lxml.html.HtmlElement | None = node.getparent()
            return parent
    return None


def _following_anchors(end: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """The links after ``end`` in document order (not inside it), at most :data:`MAX_ANCHORS`."""
    anchors: list[lxml.html.HtmlElement] = end.xpath("following::a")
    yield from anchors[:MAX_ANCHORS]


def _in_menu_or_ad(anchor: lxml.html.HtmlElement) -> bool:
    """True inside navigation, a header, a footer, a form or an ad (a related aside is not chrome)."""
    for element in anchor.iterancestors():
        chrome = marked_as_chrome(element) if element.tag == "aside" else in_chrome_element(element)
        marks = f"{element.get('class', '')} {element.get('id', '')}"
        if chrome or _AD_WORDS.search(marks):
            return True
    return False
