"""``wirewatch fetch URL...`` against a loopback site and the real broker."""

from __future__ import annotations

from schemas import Settings
from tests.integration.fetch.conftest import articles_of, run_wirewatch
from tests.support.news_samples import COCOA, DRONES, TALKS
from tests.support.news_site import NewsSite, Page, article_html, rss


async def test_fetch_twice_produces_once_and_second_is_304(
    fetch_settings: Settings, site: NewsSite
) -> None:
    """The first run produces the feed's items; the second sends the validators, gets 304 and produces nothing."""
    feed = rss(
        [
            {"title": DRONES[0], "link": site.url("/drones"), "description": DRONES[1][0]},
            {"title": COCOA[0], "link": site.url("/cocoa"), "description": COCOA[1][0]},
        ]
    )
    site.pages["/feed"] = Page(feed, "application/rss+xml")
    first = await run_wirewatch(fetch_settings, "fetch", site.url("/feed"))
    assert first.code == 0, first.stdout + first.stderr
    assert "2 new" in first.stdout, first.stdout + first.stderr
    second = await run_wirewatch(fetch_settings, "fetch", site.url("/feed"))
    assert second.code == 0, second.stdout + second.stderr
    assert "not_modified" in second.stdout, second.stdout + second.stderr
    assert site.hits("/feed")[-1].headers.get("If-None-Match")
    articles = await articles_of(fetch_settings)
    assert sorted(a.title for a in articles) == sorted([DRONES[0], COCOA[0]])


async def test_fetch_an_article_page(fetch_settings: Settings, site: NewsSite) -> None:
    """An article page given as is becomes one article with the page's main text."""
    site.pages["/talks"] = Page(article_html(*TALKS))
    done = await run_wirewatch(fetch_settings, "fetch", site.url("/talks"))
    assert done.code == 0, done.stderr
    (article,) = await articles_of(fetch_settings)
    assert article.title == TALKS[0]
    assert TALKS[1][1][:40] in article.body


async def test_loopback_refused_without_the_allowance(
    kafka_settings: Settings, site: NewsSite
) -> None:
    """Without WIREWATCH_FETCH_ALLOW_NETWORKS the loopback site is refused: exit 1, nothing produced, no request."""
    site.pages["/feed"] = Page(
        rss([{"title": DRONES[0], "link": site.url("/d")}]), "application/rss+xml"
    )
    done = await run_wirewatch(kafka_settings, "fetch", site.url("/feed"))
    assert done.code == 1
    assert "refused" in done.stdout
    assert "loopback" in done.stdout
    assert site.requests == []
    assert await articles_of(kafka_settings) == []


async def test_fetch_every_kind_in_one_run(fetch_settings: Settings, site: NewsSite) -> None:
    """Atom, JSON Feed, a news sitemap and a section page in one run; a page reached twice is one key."""
    import json

    site.pages["/atom"] = Page(
        (
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            "<id>urn:a</id><updated>2026-11-10T09:00:00Z</updated><entry><title>"
            f'{TALKS[0]}</title><id>urn:t</id><link href="{site.url("/talks")}"/>'
            f"<updated>2026-11-10T09:00:00Z</updated><summary>{TALKS[1][0]}</summary></entry></feed>"
        ).encode(),
        "application/atom+xml",
    )
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {"id": "c", "url": site.url("/cocoa"), "title": COCOA[0], "content_text": COCOA[1][1]}
        ],
    }
    site.pages["/feed.json"] = Page(json.dumps(feed).encode(), "application/feed+json")
    site.pages["/sitemap.xml"] = Page(
        (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{site.url('/world/drones-over-velka')}</loc></url></urlset>"
        ).encode(),
        "application/xml",
    )
    site.pages["/world/drones-over-velka"] = Page(article_html(*DRONES))
    site.pages["/section"] = Page(
        article_html("Section", ["x"], related=[("/world/drones-over-velka", DRONES[0])])
    )
    urls = [site.url(p) for p in ("/atom", "/feed.json", "/sitemap.xml", "/section")]
    done = await run_wirewatch(fetch_settings, "fetch", *urls)
    assert done.code == 0, done.stdout + done.stderr
    articles = await articles_of(fetch_settings)
    assert {a.title for a in articles} == {TALKS[0], COCOA[0], DRONES[0]}
    assert len({a.id for a in articles if a.title == DRONES[0]}) == 1
