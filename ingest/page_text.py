"""An article page's main text, title, date and language, with trafilatura, off the event loop.

trafilatura scored best among Python extractors on the public extraction
benchmarks (F1 0.95 on news pages) and brings htmldate for dates. It costs
tens of milliseconds of CPU per page, the fetcher's largest cost, so
:class:`Extractor` runs it in worker processes. A page that is not an
article is recognised and said so: a listing (little text of its own, or
mostly links) or a cookie-consent wall (a short text about cookies and consent).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import re
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Final, Literal

import lxml.etree
import lxml.html

from ingest.documents import in_chrome, in_chrome_element, note_links
from ingest.related_links import related_links, with_related
from schemas.articles import normalize_line

PageKind = Literal["article", "listing", "consent"]

MAX_PAGE_BYTES: Final = 3_000_000
"""A page larger than this is not extracted (no article is that long)."""
MIN_ARTICLE_WORDS: Final = 60
MAX_LINK_DENSITY: Final = 0.5
EXTRACT_TIMEOUT_S: Final = 30.0
_CONSENT: Final = re.compile(
    r"\b(cookies?|consent|gdpr|privacy (settings|preferences|choices)|accept all|reject all|"
    r"einwilligung|zustimmen|consentement|accepter|consentimiento|aceptar|zgod[ay]|"
    r"файл(ы|ов) cookie|согласие)\b",
    re.I,
)
_CONSENT_WORDS_MAX: Final = 300


@dataclass(frozen=True)
class PageText:
    """What a page holds: for an article its text and metadata; else why it is not one."""

    kind: PageKind
    title: str | None = None
    text: str = ""
    published: str | None = None
    language: str | None = None
    reason: str = ""
    links: dict[str, str] = field(default_factory=dict)
    """The text of each link outside the page's chrome -> its absolute URL (teasers keep theirs)."""


def extract_page(html: bytes, url: str) -> PageText:
    """Extract the main text of ``html`` (served at ``url``) and classify the page.

    Runs in a worker process; pure and deterministic.
    """
    import trafilatura

    if len(html) > MAX_PAGE_BYTES:
        return PageText("listing", reason=f"the page is over {MAX_PAGE_BYTES} bytes")
    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        return PageText("listing", reason=f"not an HTML page: {exc}")
    language = _declared_language(tree)
    links: dict[str, str] = {}
    note_links((a for a in tree.iter("a") if not in_chrome(a)), url, links)
    density = _link_density(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        date_extraction_params={"extensive_search": True, "original_date": True},
    )
    if document is not None and not isinstance(document, dict):
        document = document.as_dict()
    if not document or not document.get("text"):
        return PageText("listing", language=language, reason="no main text found")
    title = str(document.get("title") or "").strip() or None
    text = _without_title(str(document["text"]), title)
    words = len(text.split())
    if words <= _CONSENT_WORDS_MAX and len(_CONSENT.findall(f"{title or ''} {text}")) >= 2:
        return PageText("consent", title, reason="a cookie or consent notice")
    if words < MIN_ARTICLE_WORDS:
        return PageText("listing", title, reason=f"only {words} words of its own text")
    if density > MAX_LINK_DENSITY:
        return PageText("listing", title, reason=f"{density:.0%} of its text is links")
    related = related_links(tree, text, url)
    if related:
        text = with_related(text, [headline for _, headline in related], [title or ""])
        links.update((normalize_line(headline), link) for link, headline in related)
    return PageText(
        "article",
        title=title,
        text=text,
        published=document.get("date") or None,
        language=language or document.get("language") or None,
        links=links,
    )


def _declared_language(tree: lxml.html.HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        for meta in tree.iter("meta"):
            if (meta.get("http-equiv") or "").lower() == "content-language":
                lang = meta.get("content")
                break
    lang = (lang or "").strip().split(",")[0].strip()
    return lang.lower() if 2 <= len(lang) <= 16 else None


def _link_density(tree: lxml.html.HtmlElement) -> float:
    """The share of a page's text that is link text, navigation, header and footer left out."""
    body = tree.find("body")
    if body is None:
        return 0.0

    def size(element: lxml.html.HtmlElement) -> int:
        return len(" ".join(element.text_content().split()))

    for element in body.iter("script", "style", "noscript"):
        element.text = ""
    chrome = sum(size(e) for e in body.iter() if _chrome_root(e))
    total = size(body) - chrome
    if total <= 0:
        return 1.0
    linked = sum(size(a) for a in body.iter("a") if not in_chrome(a))
    return linked / total


def _chrome_root(element: lxml.html.HtmlElement) -> bool:
    """True for an element of the page's chrome that no other chrome element holds."""
    return isinstance(element.tag, str) and in_chrome_element(element) and not in_chrome(element)


def _without_title(text: str, title: str | None) -> str:
    """The text without a first line repeating the headline (the page's own h1)."""
    first, _, rest = text.partition("\n")
    if title and first.strip() == title.strip() and rest.strip():
        return rest.strip()
    return text.strip()


class Extractor:
    """Runs :func:`extract_page` in ``workers`` processes (0: in a thread of this process).

    Use as ``async with Extractor(workers) as extractor:``.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: concurrent.futures.Executor | None = None

    async def __aenter__(self) -> Extractor:
        self._pool = self._new_pool()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _new_pool(self) -> concurrent.futures.Executor:
        if self._workers == 0:
            return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="extract")
        # spawn: a fork of a process running an event loop and threads is not safe.
        return concurrent.futures.ProcessPoolExecutor(
            self._workers, mp_context=multiprocessing.get_context("spawn")
        )

    async def extract(self, html: bytes, url: str) -> PageText:
        """Extract a page; a worker that died is replaced and the page reported as not read."""
        assert self._pool is not None, "use Extractor as an async context manager"
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, extract_page, html, url), EXTRACT_TIMEOUT_S
            )
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return PageText("listing", reason="the extracting process died on this page")
        except TimeoutError:
            return PageText("listing", reason=f"extraction took over {EXTRACT_TIMEOUT_S:g} s")
