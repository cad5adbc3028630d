"""One poll of one source against a news site on loopback: formats, validators, refusals."""

from __future__ import annotations

import gzip
import ipaddress
import json
from datetime import UTC, datetime

import pytest

from ingest.http_client import HttpClient
from ingest.page_text import Extractor
from ingest.poll import Poller, pending_ids, remembered, settle_pending
from ingest.source_list import SourceSpec
from schemas import Settings, article_id
from tests.support.news_samples import COCOA, CONSENT_PAGE, DRONES, TALKS
from tests.support.news_site import NewsSite, Page, article_html, listing_html, rss
from tests.unit.fetch.conftest import fresh_state, source

RSS = "application/rss+xml"


def two_items(site: NewsSite) -> bytes:
    return rss(
        [
            {
                "title": DRONES[0],
                "link": site.url("/world/drones"),
                "guid": "g1",
                "description": DRONES[1][0],
            },
            {
                "title": COCOA[0],
                "link": site.url("/markets/cocoa"),
                "guid": "g2",
                "description": COCOA[1][0],
            },
        ]
    )


async def test_rss_items_become_articles_keyed_by_canonical_url(
    site: NewsSite, poller: Poller
) -> None:
    """Each RSS item is an article whose id is its canonical URL's, with the feed's language."""
    site.pages["/feed"] = Page(two_items(site), RSS)
    spec = source(site.url("/feed"))
    result = await poller.poll(spec, fresh_state(spec))
    assert result.status == "new", result.error
    ids = [a.article.id for a in result.articles]
    assert ids == [
        article_id(url=site.url("/world/drones")),
        article_id(url=site.url("/markets/cocoa")),
    ]
    first = result.articles[0].article
    assert first.title == DRONES[0]
    assert first.source == "Test Ledger"
    assert first.language == "en"
    assert first.meta["source_id"] == "s1"


async def test_second_poll_is_conditional_and_304_produces_nothing(
    site: NewsSite, poller: Poller
) -> None:
    """The validators of the first answer are sent back; a 304 yields no article."""
    site.pages["/feed"] = Page(two_items(site), RSS)
    spec = source(site.url("/feed"))
    state = fresh_state(spec)
    first = await poller.poll(spec, state)
    state = state.model_copy(
        update={
            "etag": first.etag,
            "last_modified": first.last_modified,
            "seen": remembered(state, first, 100),
        }
    )
    second = await poller.poll(spec, state)
    assert second.status == "not_modified"
    assert not second.articles
    assert site.hits("/feed")[-1].headers.get("If-None-Match") == first.etag


async def test_rewritten_guids_and_edited_headlines(site: NewsSite, poller: Poller) -> None:
    """New GUIDs on the same links are the same articles; an edited headline is an update of its id."""
    site.pages["/feed"] = Page(two_items(site), RSS, etag=False)
    spec = source(site.url("/feed"))
    state = fresh_state(spec)
    first = await poller.poll(spec, state)
    state = state.model_copy(update={"seen": remembered(state, first, 100)})
    rewritten = rss(
        [
            {
                "title": DRONES[0],
                "link": site.url("/world/drones?utm_source=rss"),
                "guid": "x1",
                "description": DRONES[1][0],
            },
            {
                "title": COCOA[0] + " (updated)",
                "link": site.url("/markets/cocoa"),
                "guid": "x2",
                "description": COCOA[1][0],
            },
        ]
    )
    site.pages["/feed"] = Page(rewritten, RSS, etag=False)
    second = await poller.poll(spec, state)
    assert (second.new, second.updated, second.unchanged) == (0, 1, 1)
    assert second.articles[0].article.id == first.articles[1].article.id
    assert second.articles[0].article.meta["edited"] is True


async def test_full_text_takes_the_article_not_the_clutter(site: NewsSite, poller: Poller) -> None:
    """With full_text the linked page's main text is the body: no navigation, ad or related links."""
    site.pages["/feed"] = Page(
        rss([{"title": DRONES[0], "link": site.url("/world/drones"), "description": "Short."}]), RSS
    )
    related = [("/markets/cocoa", COCOA[0]), ("/world/talks", TALKS[0])]
    site.pages["/world/drones"] = Page(article_html(DRONES[0], DRONES[1], related=related))
    spec = source(site.url("/feed"), full_text=True)
    result = await poller.poll(spec, fresh_state(spec))
    body = result.articles[0].article.body
    assert DRONES[1][1][:60] in body
    assert DRONES[1][3][:40] in body
    for clutter in (
        "Advertisement",
        "garden furniture",
        COCOA[0],
        TALKS[0],
        "all rights reserved",
        "Markets",
    ):
        assert clutter not in body
    assert result.articles[0].article.summary == "Short."


async def test_atom_and_json_feed(site: NewsSite, poller: Poller) -> None:
    """Atom entries and JSON Feed items are read like RSS items."""
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">'
        "<title>Atom</title><id>urn:a</id><updated>2026-11-10T09:00:00Z</updated>"
        f'<entry><title>{TALKS[0]}</title><id>urn:1</id><link href="{site.url("/talks")}"/>'
        f"<updated>2026-11-10T09:00:00Z</updated><summary>{TALKS[1][0]}</summary></entry></feed>"
    ).encode()
    site.pages["/atom"] = Page(atom, "application/atom+xml")
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON",
        "language": "de",
        "items": [
            {
                "id": "7",
                "url": site.url("/cocoa"),
                "title": COCOA[0],
                "content_text": COCOA[1][0],
                "date_published": "2026-11-10T09:00:00Z",
            }
        ],
    }
    site.pages["/json"] = Page(json.dumps(feed).encode(), "application/feed+json")
    for path, title, language in (("/atom", TALKS[0], "fr"), ("/json", COCOA[0], "de")):
        spec = source(site.url(path))
        result = await poller.poll(spec, fresh_state(spec))
        assert [a.article.title for a in result.articles] == [title], result.error
        assert result.articles[0].article.language == language


async def test_news_sitemap_pages_are_fetched(site: NewsSite, poller: Poller) -> None:
    """A news sitemap's entries are fetched and extracted, with the sitemap's title and language."""
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
        f"<loc>{site.url('/world/drones')}</loc><news:news><news:publication><news:name>Ledger</news:name>"
        "<news:language>en</news:language></news:publication>"
        f"<news:publication_date>2026-11-10T09:30:00Z</news:publication_date><news:title>{DRONES[0]}</news:title>"
        "</news:news></url></urlset>"
    ).encode()
    site.pages["/sitemap.xml"] = Page(sitemap, "application/xml")
    site.pages["/world/drones"] = Page(article_html(DRONES[0], DRONES[1]))
    spec = source(site.url("/sitemap.xml"), kind="sitemap")
    result = await poller.poll(spec, fresh_state(spec))
    assert [a.article.title for a in result.articles] == [DRONES[0]]
    assert DRONES[1][2][:50] in result.articles[0].article.body


async def test_section_page_links_are_followed_and_listings_skipped(
    site: NewsSite, poller: Poller
) -> None:
    """A section page's article links are fetched; navigation is not; a linked listing or consent wall is not produced."""
    links = [
        ("/world/drones-cross-the-border", DRONES[0]),
        ("/markets/cocoa-futures-slide", COCOA[0]),
        ("/world/more-world-news-today", "More world news from our correspondents"),
        ("/privacy-choices-page", "Manage your privacy choices for this site"),
    ]
    site.pages["/world"] = Page(listing_html(links))
    site.pages["/world/drones-cross-the-border"] = Page(article_html(*DRONES))
    site.pages["/markets/cocoa-futures-slide"] = Page(article_html(*COCOA))
    site.pages["/world/more-world-news-today"] = Page(
        listing_html([("/x/one-two-three", "One two three four")] * 3)
    )
    site.pages["/privacy-choices-page"] = Page(CONSENT_PAGE)
    spec = source(site.url("/world"), kind="section")
    result = await poller.poll(spec, fresh_state(spec))
    assert sorted(a.article.title for a in result.articles) == sorted([DRONES[0], COCOA[0]])
    assert result.skipped == 2
    assert not site.hits("/sport")
    assert len(result.seen) == 4  # the two non-articles are remembered, never fetched again


async def test_auto_kind_produces_an_article_page(site: NewsSite, poller: Poller) -> None:
    """A URL of an article page given as is (kind auto) is produced as that article."""
    site.pages["/world/talks"] = Page(article_html(*TALKS, lang="en-GB"))
    spec = source(site.url("/world/talks"), kind="auto")
    result = await poller.poll(spec, fresh_state(spec))
    assert [a.article.title for a in result.articles] == [TALKS[0]]
    assert result.articles[0].article.language == "en-gb"


@pytest.mark.parametrize(
    ("page", "status", "fragment"),
    [
        (Page(b"", status=500), "failed", "HTTP 500"),
        (Page(b"", status=429, headers={"Retry-After": "120"}), "rate_limited", "Retry-After 120"),
        (Page(b"<rss><channel><item><title>x</title></chan", RSS), "failed", "well-formed"),
        (
            Page(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
            "refused",
            "content type 'image/png'",
        ),
        (Page(b"GIF89a\x00\x00\x00", "text/html"), "refused", "binary"),
        (
            Page(
                gzip.compress(b"<p>" + b"a" * 30_000_000), RSS, headers={"Content-Encoding": "gzip"}
            ),
            "refused",
            "compression bomb",
        ),
        (Page(stream_bytes=50_000_000), "refused", "over 2000000 bytes"),
        (Page(b"x" * 3_000_000), "refused", "announces 3000000 bytes"),
    ],
    ids=[
        "500",
        "429",
        "malformed-xml",
        "image",
        "binary",
        "gzip-bomb",
        "50mb-stream",
        "content-length",
    ],
)
async def test_bad_answers(
    site: NewsSite, poller: Poller, page: Page, status: str, fragment: str
) -> None:
    """Errors are failures to retry, rate limits carry their wait, and unsafe bodies are refused early."""
    site.pages["/feed"] = page
    spec = source(site.url("/feed"))
    result = await poller.poll(spec, fresh_state(spec))
    assert result.status == status
    assert fragment in (result.error or "")
    if status == "rate_limited":
        assert result.retry_after == 120
        assert poller.gates.blocked_for("127.0.0.1") > 100


async def test_a_hanging_server_times_out(site: NewsSite, fetch_settings: Settings) -> None:
    """A server that accepts and never answers is a failure within the read timeout."""
    site.pages["/feed"] = Page(b"", hang_s=30)
    settings = fetch_settings.model_copy(update={"fetch_read_timeout_s": 0.5})
    async with HttpClient(settings) as client, Extractor(0) as extractor:
        spec = source(site.url("/feed"))
        result = await Poller(settings, client, extractor).poll(spec, fresh_state(spec))
    assert result.status == "failed"
    assert "in time" in (result.error or "")


async def test_redirects(site: NewsSite, poller: Poller) -> None:
    """Redirects are followed; a loop is a failure."""
    site.pages["/old"] = Page(status=301, headers={"Location": "/feed"})
    site.pages["/feed"] = Page(two_items(site), RSS)
    site.pages["/a"] = Page(status=302, headers={"Location": "/b"})
    site.pages["/b"] = Page(status=302, headers={"Location": "/a"})
    spec = source(site.url("/old"))
    assert (await poller.poll(spec, fresh_state(spec))).status == "new"
    loop = source(site.url("/a"))
    result = await poller.poll(loop, fresh_state(loop))
    assert result.status == "failed"
    assert "redirect loop" in (result.error or "")


async def test_loopback_is_refused_without_the_allowance(
    site: NewsSite, unit_settings: Settings
) -> None:
    """By default 127.0.0.1, and a redirect to it, are refused before any request reaches it."""
    site.pages["/feed"] = Page(two_items(site), RSS)
    settings = unit_settings.model_copy(update={"fetch_host_delay_s": 0.0})
    async with HttpClient(settings) as client, Extractor(0) as extractor:
        poller = Poller(settings, client, extractor)
        spec = source(site.url("/feed"))
        result = await poller.poll(spec, fresh_state(spec))
        by_name = source(f"http://localhost:{site.port}/feed")
        named = await poller.poll(by_name, fresh_state(by_name))
    assert result.status == "refused"
    assert "loopback" in (result.error or "")
    assert named.status == "refused"
    assert "localhost resolves to 127.0.0.1" in (named.error or "") or "::1" in (named.error or "")
    assert site.requests == []


async def test_redirect_to_loopback_is_refused(site: NewsSite, fetch_settings: Settings) -> None:
    """A redirect from an allowed address to 127.0.0.1 is refused when only that address is allowed."""
    async with __import__("tests.support.news_site", fromlist=["serve_site"]).serve_site(
        "127.0.0.2"
    ) as other:
        other.pages["/feed"] = Page(status=302, headers={"Location": site.url("/feed")})
        site.pages["/feed"] = Page(two_items(site), RSS)
        settings = fetch_settings.model_copy(
            update={"fetch_allow_networks": [ipaddress.ip_network("127.0.0.2/32")]}
        )
        async with HttpClient(settings) as client, Extractor(0) as extractor:
            spec = source(other.url("/feed"))
            result = await Poller(settings, client, extractor).poll(spec, fresh_state(spec))
    assert result.status == "refused"
    assert "127.0.0.1 is a loopback address" in (result.error or "")
    assert not site.hits("/feed")


async def test_robots_txt_disallow(site: NewsSite, poller: Poller) -> None:
    """A path robots.txt disallows for every agent is refused, and never requested."""
    site.pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /private/\n", "text/plain")
    site.pages["/private/feed"] = Page(two_items(site), RSS)
    spec = source(site.url("/private/feed"))
    result = await poller.poll(spec, fresh_state(spec))
    assert result.status == "refused"
    assert "robots.txt" in (result.error or "")
    assert not site.hits("/private/feed")
    assert site.hits("/robots.txt")[0].headers["User-Agent"].startswith("Wirewatch/")


async def test_seed_shaped_page_keeps_its_teasers_out_of_the_body(
    site: NewsSite, poller: Poller
) -> None:
    """A page like the seed article: headline, standfirst, body, then a run of teaser links inside the article."""
    from html import escape

    teasers = [
        ("/markets/cocoa", COCOA[0]),
        ("/world/talks", TALKS[0]),
        ("/world/ports", "Port workers end a two-day strike at the northern terminals"),
        ("/opinion/budget", "Why the budget vote matters for the coalition"),
    ]
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in DRONES[1])
    links = "".join(f'<p><a href="{href}">{escape(text)}</a></p>' for href, text in teasers)
    page = (
        f'<!doctype html><html lang="en"><head><title>{escape(DRONES[0])}</title></head><body>'
        f'<nav><a href="/">Home</a> <a href="/world">World</a></nav><article><h1>{escape(DRONES[0])}</h1>'
        f'<p class="standfirst">Three aircraft were tracked for twelve minutes</p>{paragraphs}'
        f'<div class="teasers">{links}</div></article></body></html>'
    ).encode()
    site.pages["/world/drones"] = Page(page)
    spec = source(site.url("/world/drones"), kind="auto")
    result = await poller.poll(spec, fresh_state(spec))
    page_item, *teaser_items = result.articles
    body = page_item.article.body
    assert DRONES[1][3][:40] in body
    for _, teaser in teasers:
        assert teaser not in body
    assert [(t.article.title, t.article.url) for t in teaser_items] == [
        (text, site.url(href)) for href, text in teasers
    ]


CLOSING_HEADLINES = [
    "Grain exporters raise prices at the Black Sea ports",
    "Power cuts return to the eastern districts",
    "Parliament delays the vote on the defence budget",
]


def page_closing_with_headlines(site: NewsSite) -> SourceSpec:
    """A page whose paragraphs end with :data:`CLOSING_HEADLINES`, as a source of kind ``auto``."""
    from html import escape

    body = "".join(f"<p>{escape(p)}</p>" for p in [*DRONES[1], *CLOSING_HEADLINES])
    site.pages["/world/drones"] = Page(
        f'<!doctype html><html lang="en"><head><title>{escape(DRONES[0])}</title></head><body>'
        f"<article><h1>{escape(DRONES[0])}</h1>{body}</article></body></html>".encode()
    )
    return source(site.url("/world/drones"), kind="auto")


async def test_a_page_closing_with_headlines_yields_its_teasers(
    site: NewsSite, poller: Poller
) -> None:
    """A fetched page's closing block of headlines is split off as produce splits files: teasers."""
    headlines = CLOSING_HEADLINES
    spec = page_closing_with_headlines(site)
    result = await poller.poll(spec, fresh_state(spec))
    assert result.status == "new", result.error
    page_item, *teasers = result.articles
    article = page_item.article
    assert DRONES[1][-1][:40] in article.body
    assert not any(headline in article.body for headline in headlines)
    assert [t.article.title for t in teasers] == headlines
    assert all(t.article.kind == "teaser" for t in teasers)
    assert {t.article.found_on.id for t in teasers if t.article.found_on} == {article.id}
    assert [t.origin for t in teasers] == [f"{page_item.origin}+teaser{n}" for n in (1, 2, 3)]
    assert list(result.pending) == [article.id]
    assert result.pending_teasers == {article.id: tuple(t.article.id for t in teasers)}


async def test_a_feed_items_teasers_keep_their_own_links(site: NewsSite, poller: Poller) -> None:
    """A feed item's content closing with linked headlines: each teaser has its own link, made absolute."""
    from html import escape

    related = [
        ("/markets/grain-ports", CLOSING_HEADLINES[0]),
        ("https://elsewhere.example/power-cuts", CLOSING_HEADLINES[1]),
        ("../politics/budget-vote", CLOSING_HEADLINES[2]),
    ]
    content = "".join(f"<p>{escape(p)}</p>" for p in DRONES[1]) + "".join(
        f'<p><a href="{escape(href)}">{escape(text)}</a></p>' for href, text in related
    )
    item = {"title": DRONES[0], "link": site.url("/world/drones"), "content": content}
    site.pages["/feed"] = Page(rss([item]), RSS)
    spec = source(site.url("/feed"))
    result = await poller.poll(spec, fresh_state(spec))
    _, *teasers = result.articles
    assert [(t.article.title, t.article.url) for t in teasers] == [
        (CLOSING_HEADLINES[0], site.url("/markets/grain-ports")),
        (CLOSING_HEADLINES[1], "https://elsewhere.example/power-cuts"),
        (CLOSING_HEADLINES[2], site.url("/politics/budget-vote")),
    ]


async def test_a_page_counts_as_produced_only_with_every_teaser(
    site: NewsSite, poller: Poller
) -> None:
    """A crash after a page was sent but before its teasers: the next poll sends the page and teasers again."""
    spec = page_closing_with_headlines(site)
    state = fresh_state(spec)
    result = await poller.poll(spec, state)
    page, *teasers = [item.article.id for item in result.articles]
    pending = result.pending_state(state, datetime.now(UTC))
    assert pending_ids(pending) == {page, *teasers}
    crashed = settle_pending(pending, {page, teasers[0]})
    assert page not in crashed.seen
    assert (crashed.pending, crashed.pending_teasers) == ({}, {})
    again = await poller.poll(spec, crashed)
    assert [item.article.id for item in again.articles] == [page, *teasers]
    whole = settle_pending(pending, {page, *teasers})
    assert whole.seen == {page: result.seen[page]}
    assert not (await poller.poll(spec, whole)).articles


FERRY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ferry crews walk out over rota changes | The Harbour Gazette</title></head><body>
<header class="masthead"><nav><ul>
<li><a href="/live/regional-elections-live-coverage">Live coverage of the regional elections tonight</a></li>
<li><a href="/weather">Weather</a></li></ul></nav></header>
<div class="ad-banner"><a href="/offers/annual-plan-discount">Subscribe today and save on the annual plan</a></div>
<main><article><h1>Ferry crews walk out over rota changes</h1>
<p>Crews on the island ferries stopped work at six in the morning, leaving hundreds of commuters
waiting on the quay as the operator and the seafarers' union traded blame for the breakdown of talks.</p>
<p>The union says the new rota would add two night shifts a month without extra pay, while the operator
argues that <a href="/business/ferry-operator-annual-results">its annual results</a> leave no room for a
larger wage bill this year and that the timetable must change before the summer season.</p>
<p>A mediator appointed by the transport ministry is expected to meet both sides on Thursday; until then
only the early freight sailing will run, the harbour master told reporters at the terminal.</p>
</article>
<section class="read-more"><h3>Read more</h3><ul>
<li><a href="/business/rail-freight-costs-climb-again">Rail freight costs climb for the third month running</a></li>
<li><a href="../island/new-bridge-plan-delayed">Plans for a bridge to the island slip by another year</a></li>
<li><a href="javascript:void(0)">Show the whole list of stories today</a></li>
<li><a href="https://elsewhere.example/sponsored-cruise-deals">Cruise deals you will not want to miss</a></li>
</ul></section>
<div class="promo-box"><a href="/shop/harbour-calendar-special">Order the harbour calendar for next year</a></div>
</main>
<footer><a href="/careers/open-positions-newsroom">Careers at the newsroom and open positions</a>
<p>All rights reserved.</p></footer></body></html>"""


async def test_a_related_links_block_after_the_article_becomes_teasers(
    site: NewsSite, poller: Poller
) -> None:
    """A page's 'Read more' list after the article: its headlines are teasers with their own links; menus, ads, footer are not."""
    site.pages["/ports/ferry-crews-walk-out"] = Page(FERRY_PAGE.encode())
    spec = source(site.url("/ports/ferry-crews-walk-out"), kind="auto")
    result = await poller.poll(spec, fresh_state(spec))
    assert result.status == "new", result.error
    page, *teasers = (item.article for item in result.articles)
    assert page.body.endswith("harbour master told reporters at the terminal.")
    assert [(t.title, t.url, t.kind) for t in teasers] == [
        (
            "Rail freight costs climb for the third month running",
            site.url("/business/rail-freight-costs-climb-again"),
            "teaser",
        ),
        (
            "Plans for a bridge to the island slip by another year",
            site.url("/island/new-bridge-plan-delayed"),
            "teaser",
        ),
    ]


def test_related_links_are_bounded() -> None:
    """A related block of 200 links gives at most MAX_TEASERS teasers, each at most MAX_TEASER_CHARS long."""
    import lxml.html

    from ingest.related_links import related_links
    from schemas.teasers import MAX_TEASER_CHARS, MAX_TEASERS

    long = "word " * 100
    items = "".join(
        f'<li><a href="/news/story-number-{n}">Story number {n} of the long list {long if n % 2 else ""}</a></li>'
        for n in range(200)
    )
    paragraph = "The council approved the budget after a long night of debate in the old town hall."
    html = f"<html><body><article><p>{paragraph}</p></article><ul>{items}</ul></body></html>"
    found = related_links(lxml.html.document_fromstring(html), paragraph, "https://example.org/a")
    assert 0 < len(found) <= MAX_TEASERS
    assert all(len(text) <= MAX_TEASER_CHARS for _, text in found)


def test_related_headlines_join_a_closing_block_the_text_already_has() -> None:
    """Headlines kept in the text and linked ones read from the HTML make one block; the footer stays last."""
    from ingest.related_links import with_related
    from schemas.teasers import closing_block

    text = "\n".join(
        [*DRONES[1], CLOSING_HEADLINES[0], CLOSING_HEADLINES[1], "All rights reserved."]
    )
    merged = with_related(text, [CLOSING_HEADLINES[1], CLOSING_HEADLINES[2]], [DRONES[0]])
    block = closing_block(merged, lead=[DRONES[0]])
    assert block is not None
    assert block.body == "\n".join(DRONES[1])
    assert [t.text for t in block.teasers] == CLOSING_HEADLINES
    assert block.footer == ("All rights reserved.",)
