"""Reading a fetched document: RSS, Atom, JSON Feed, a news sitemap, or an HTML page's links.

:func:`read_document` turns bytes into a :class:`Listing`: the items it
lists (each with what the document says of it: link, guid, title, summary,
content, date, language), the document's own language and title, and the
WebSub hub it advertises. A document that is none of these, or is
malformed, is a :class:`DocumentError` naming the problem. XML is parsed
without DTDs, entities or network access (lxml), or by feedparser.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html
import orjson

from schemas import WirewatchError, canonical_url
from schemas.articles import normalize_line

ListingKind = Literal["feed", "sitemap", "page"]
_NEWS_NS: Final = "http://www.google.com/schemas/sitemap-news/0.9"
_SITEMAP_NS: Final = "http://www.sitemaps.org/schemas/sitemap/0.9"
_HARMLESS_BOZO: Final = ("CharacterEncodingOverride", "NonXMLContentType")
_BLOCKS: Final = frozenset(
    {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "section"}
)
_NOT_CONTENT: Final = frozenset({"nav", "header", "footer", "aside", "form", "script", "style"})
_NAV_WORDS: Final = re.compile(
    r"(^|[\s_-])(nav|menu|footer|header|breadcrumb|cookie|share|social)", re.I
)
_ARTICLE_PATH: Final = re.compile(r"/[^/]*[a-z0-9]+-[a-z0-9]+-[a-z0-9]+[^/]*/?$|/\d{4,}", re.I)
_MIN_HEADLINE_WORDS: Final = 4
MAX_LINKS: Final = 1_000
"""Links noted per item or page (text -> URL), so a teaser that is a link keeps its own."""


class DocumentError(WirewatchError):
    """The document is not a feed, a sitemap or a page this fetcher can read."""


@dataclass(frozen=True)
class Item:
    """One entry of a feed or sitemap, or one article link of a section page."""

    url: str | None
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    content: str | None = None
    published: datetime | None = None
    language: str | None = None
    links: Mapping[str, str] = field(default_factory=dict)
    """The text of each link in the item's summary and content -> its absolute URL."""


@dataclass(frozen=True)
class Listing:
    """What a document lists, and what it says about itself."""

    kind: ListingKind
    items: list[Item] = field(default_factory=list)
    title: str | None = None
    language: str | None = None
    hub: str | None = None
    self_url: str | None = None


def sniff(body: bytes, media_type: str) -> ListingKind:
    """Guess what a document is from its media type and first bytes."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if media_type in ("text/html", "application/xhtml+xml") or head.startswith(
        (b"<!doctype html", b"<html")
    ):
        return "page"
    if head.startswith((b"{", b"[")) or media_type.endswith("json"):
        return "feed"
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    return "feed"


def read_document(body: bytes, media_type: str, base_url: str) -> Listing:
    """Read ``body`` (as served with ``media_type`` from ``base_url``) into a :class:`Listing`.

    A page gives its article links (see :func:`article_links`).

    Raises:
        DocumentError: malformed, or none of the kinds above.
    """
    kind = sniff(body, media_type)
    if kind == "page":
        return Listing("page", article_links(body, base_url))
    if kind == "sitemap":
        return _sitemap(body, base_url)
    if body.lstrip()[:1] in (b"{", b"["):
        return _json_feed(body, base_url)
    return _xml_feed(body, base_url)


def fragment_text(fragment: str, links: dict[str, str] | None = None, base_url: str = "") -> str:
    """The text of an HTML fragment (a feed's summary); block elements become line breaks.

    Args:
        links: filled with the text -> absolute URL of each link (see :func:`note_links`).
        base_url: what relative links are resolved against.
    """
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return fragment.strip()
    for element in root.iter("script", "style"):
        element.drop_tree()
    if links is not None:
        note_links(root.iter("a"), base_url, links)
    for element in root.iter(*_BLOCKS):
        element.tail = ("\n\n" if element.tag == "p" else "\n") + (element.tail or "")
    return "\n".join(line.strip() for line in root.text_content().splitlines()).strip()


def note_links(
    anchors: Iterable[lxml.html.HtmlElement], base_url: str, links: dict[str, str]
) -> None:
    """Note each anchor's text (one normalised line) -> its absolute http(s) URL in ``links``.

    The first link of a text wins; at most :data:`MAX_LINKS` are kept, so a
    teaser line that is a link keeps its own URL however long the page.
    """
    for anchor in anchors:
        if len(links) >= MAX_LINKS:
            return
        url = absolute_link(anchor.get("href"), base_url)
        text = normalize_line(anchor.text_content()) if url else ""
        if url and text:
            links.setdefault(text, url)


def absolute_link(href: str | None, base_url: str) -> str | None:
    """``href`` resolved against ``base_url`` when it is an http(s) URL; None otherwise."""
    if not href or not href.strip():
        return None
    try:
        url = urljoin(base_url, href.strip())
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


# --- RSS and Atom ---------------------------------------------------------------


def _xml_feed(body: bytes, base_url: str) -> Listing:
    try:
        parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    except Exception as exc:  # feedparser can fail in many ways on hostile input
        raise DocumentError(f"cannot parse the feed: {exc}") from None
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and type(problem).__name__ not in _HARMLESS_BOZO:
        raise DocumentError(f"not a well-formed RSS or Atom feed: {problem}")
    if not parsed.get("version"):
        raise DocumentError("not an RSS, Atom or JSON feed, a news sitemap or a web page")
    feed = parsed.get("feed", {})
    links = feed.get("links", [])
    language = feed.get("language") or None
    items = [_feed_item(entry, base_url) for entry in parsed.entries]
    return Listing(
        "feed",
        items,
        title=fragment_text(feed.get("title", "")) or None,
        language=language if isinstance(language, str) else None,
        hub=_link(links, "hub", base_url),
        self_url=_link(links, "self", base_url),
    )


def _link(links: list[Any], rel: str, base_url: str) -> str | None:
    for link in links:
        if link.get("rel") == rel and link.get("href"):
            return urljoin(base_url, str(link["href"]))
    return None


def _feed_item(entry: Any, base_url: str) -> Item:
    contents = entry.get("content") or []
    link = entry.get("link")
    url = urljoin(base_url, link) if link else None
    links: dict[str, str] = {}
    content = "\n\n".join(
        fragment_text(c.get("value", ""), links, url or base_url) for c in contents
    ).strip()
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    language = (contents[0].get("language") if contents else None) or None
    return Item(
        url=url,
        guid=entry.get("id") or None,
        title=fragment_text(entry.get("title", "")) or None,
        summary=fragment_text(entry.get("summary", ""), links, url or base_url) or None,
        content=content or None,
        published=datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None,
        language=language if isinstance(language, str) else None,
        links=links,
    )


# --- JSON Feed ---------------------------------------------------------------------


def _json_feed(body: bytes, base_url: str) -> Listing:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        raise DocumentError("a JSON document that is not a JSON Feed (no jsonfeed.org version)")
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise DocumentError("a JSON Feed without an items list")
    raw_hubs = data.get("hubs")
    hubs: list[Any] = raw_hubs if isinstance(raw_hubs, list) else []
    hub = next(
        (
            h.get("url")
            for h in hubs
            if isinstance(h, dict) and str(h.get("type", "")).lower() == "websub"
        ),
        None,
    )
    items = [_json_item(raw, base_url) for raw in raw_items if isinstance(raw, dict)]
    return Listing(
        "feed",
        items,
        title=_str(data.get("title")),
        language=_str(data.get("language")),
        hub=urljoin(base_url, hub) if isinstance(hub, str) else None,
        self_url=_str(data.get("feed_url")),
    )


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _json_item(raw: dict[str, Any], base_url: str) -> Item:
    link = _str(raw.get("url")) or _str(raw.get("external_url"))
    url = urljoin(base_url, link) if link else None
    links: dict[str, str] = {}
    content = _str(raw.get("content_text")) or fragment_text(
        _str(raw.get("content_html")) or "", links, url or base_url
    )
    return Item(
        url=url,
        guid=_str(raw.get("id")) or (str(raw["id"]) if isinstance(raw.get("id"), int) else None),
        title=_str(raw.get("title")),
        summary=_str(raw.get("summary")),
        content=content or None,
        published=_when(raw.get("date_published") or raw.get("date_modified")),
        language=_str(raw.get("language")),
        links=links,
    )


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- News sitemaps -------------------------------------------------------------------


def _safe_xml(body: bytes) -> lxml.etree._Element:
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
    )
    try:
        return lxml.etree.fromstring(body, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise DocumentError(f"malformed XML: {exc}") from None


def _sitemap(body: bytes, base_url: str) -> Listing:
    root = _safe_xml(body)
    if lxml.etree.QName(root).localname != "urlset":
        raise DocumentError("a sitemap index, not a sitemap of pages: list its sitemaps as sources")
    items = []
    for entry in root.iter(f"{{{_SITEMAP_NS}}}url"):
        loc = entry.findtext(f"{{{_SITEMAP_NS}}}loc")
        if not loc or not loc.strip():
            continue
        news = entry.find(f"{{{_NEWS_NS}}}news")
        title = language = None
        when = entry.findtext(f"{{{_SITEMAP_NS}}}lastmod")
        if news is not None:
            title = news.findtext(f"{{{_NEWS_NS}}}title")
            language = news.findtext(f"{{{_NEWS_NS}}}publication/{{{_NEWS_NS}}}language")
            when = news.findtext(f"{{{_NEWS_NS}}}publication_date") or when
        items.append(
            Item(
                url=urljoin(base_url, loc.strip()),
                title=title.strip() if title else None,
                published=_when(when),
                language=language.strip() if language else None,
            )
        )
    return Listing("sitemap", items)


# --- HTML section pages ---------------------------------------------------------------


def article_links(body: bytes, base_url: str, limit: int = 500) -> list[Item]:
    """The links of a section page that lead to articles of the same site, in page order.

    Links inside navigation, headers, footers, asides and forms are left out,
    and so are links to the page itself, to other sites, and to the site's
    sections: a link counts when its text reads as a headline (four words or
    more) or its path as an article's (a slug of several words, or a long number).
    """
    try:
        root = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return []
    found = headline_links((a for a in root.iter("a") if not in_chrome(a)), base_url, limit)
    return [Item(url=url, title=text or None) for url, text in found]


def headline_links(
    anchors: Iterable[lxml.html.HtmlElement], base_url: str, limit: int
) -> list[tuple[str, str]]:
    """The (URL, text) of the ``anchors`` that lead to another article of the page's site.

    A link counts when its text reads as a headline (four words or more) or
    its path as an article's (a slug of several words, or a long number);
    links to the page itself, to other sites and repeats are left out.
    """
    page = canonical_url(base_url)
    host = _site(urlsplit(base_url).hostname or "")
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for anchor in anchors:
        href = anchor.get("href")
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(base_url, href.strip())
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or _site(parts.hostname or "") != host:
            continue
        try:
            key = canonical_url(url)
        except ValueError:
            continue
        text = " ".join(anchor.text_content().split())
        if key == page or key in seen:
            continue
        if len(text.split()) < _MIN_HEADLINE_WORDS and not _ARTICLE_PATH.search(parts.path):
            continue
        seen.add(key)
        found.append((url, text))
        if len(found) >= limit:
            break
    return found


def _site(host: str) -> str:
    return host.lower().removeprefix("www.")


def in_chrome_element(element: lxml.html.HtmlElement) -> bool:
    """True for a page's navigation, header, footer, aside or form (by tag, role, class or id)."""
    if element.tag in _NOT_CONTENT or element.get("role") in (
        "navigation",
        "banner",
        "contentinfo",
    ):
        return True
    return marked_as_chrome(element)


def marked_as_chrome(element: lxml.html.HtmlElement) -> bool:
    """True when ``element``'s class or id names navigation, a header, a footer or sharing."""
    marks = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(marks.strip()) and _NAV_WORDS.search(marks) is not None


def in_chrome(element: lxml.html.HtmlElement) -> bool:
    """True when ``element`` sits inside a page's chrome (see :func:`in_chrome_element`)."""
    return any(in_chrome_element(ancestor) for ancestor in element.iterancestors())
