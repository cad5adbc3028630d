"""Teasers: the closing block of a page is split off, in every format, and nothing else is."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.sources import Accepted, read_articles
from schemas import Article, Settings, build_article, normalize_text
from schemas.article_input import build_articles
from schemas.teasers import SENTENCE_END, closing_block, split_teasers, teaser_id

PAGES = Path(__file__).parent / "pages"
LONG = "The ministry said the talks would go on. Officials gave no date for the next round."


@pytest.mark.parametrize(
    ("body", "teasers", "footer"),
    [
        pytest.param(
            f"{LONG}\nGold steadies near record\nEU agrees new listings",
            ["Gold steadies near record", "EU agrees new listings"],
            [],
            id="unpunctuated-headlines",
        ),
        pytest.param(
            f"{LONG}\nRelated:\nOil rises 3% as OPEC cuts output.\nEU weighs new sanctions.",
            ["Oil rises 3% as OPEC cuts output.", "EU weighs new sanctions."],
            [],
            id="marker-then-punctuated",
        ),
        pytest.param(
            f"{LONG}\nЧитайте также:\nНефть подорожала на 3%.\nЕС ввёл новые санкции.",
            ["Нефть подорожала на 3%.", "ЕС ввёл новые санкции."],
            [],
            id="russian-marker",
        ),
        pytest.param(
            f"{LONG}\nGold steadies near record\nOil rises 3% as OPEC cuts output.\nEU agrees listings",
            [
                "Gold steadies near record",
                "Oil rises 3% as OPEC cuts output.",
                "EU agrees listings",
            ],
            [],
            id="punctuated-among-headlines",
        ),
        pytest.param(
            f"{LONG}\nOil Prices Slide as Demand Fears Grow.\nIs Europe Ready for a Drone Wall?",
            ["Oil Prices Slide as Demand Fears Grow.", "Is Europe Ready for a Drone Wall?"],
            [],
            id="title-case-punctuated",
        ),
        pytest.param(
            f"{LONG}\nGold steadies near record\nEU agrees new listings\n"
            "© 2026 Energy Ledger. All rights reserved.\nShare this article",
            ["Gold steadies near record", "EU agrees new listings"],
            ["© 2026 Energy Ledger. All rights reserved.", "Share this article"],
            id="teasers-then-footer",
        ),
        pytest.param(
            f"{LONG}\n(Reporting by Ana Lis; Editing by Tom Berg)",
            [],
            ["(Reporting by Ana Lis; Editing by Tom Berg)"],
            id="footer-alone",
        ),
    ],
)
def test_closing_blocks_are_found(body: str, teasers: list[str], footer: list[str]) -> None:
    """Headline lists (with or without a marker or punctuation) and footers leave the body."""
    block = closing_block(normalize_text(body))
    assert block is not None
    assert block.body == LONG
    assert [t.text for t in block.teasers] == teasers
    assert list(block.footer) == footer


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            f"{LONG}\nHe declined to comment.\nTalks resume on Monday.", id="short-closers"
        ),
        pytest.param(
            f"{LONG}\nWhat comes next\nThe talks resume on Monday in Geneva, officials said.",
            id="subheading-and-last-paragraph",
        ),
        pytest.param(
            "The sanctions cover three firms:\nRosneft and its units\nLukoil trading arms\n"
            "Gazprom Neft subsidiaries",
            id="list-after-colon",
        ),
        pytest.param(f"{LONG}\nGold steadies", id="one-unpunctuated-line"),
        pytest.param(
            f"{LONG}\nWill Europe listen?\nOnly the next winter will tell.", id="question-close"
        ),
        pytest.param(
            LONG
            + "\n"
            + ("The ministry gave figures for every region and month " * 8).strip()
            + "\n"
            + ("Officials in every region confirmed the figures last week " * 8).strip(),
            id="long-unpunctuated-paragraphs",
        ),
        pytest.param("Gold steadies near record\nEU agrees new listings", id="first-line-kept"),
    ],
)
def test_article_endings_are_kept(body: str) -> None:
    """Closing paragraphs, a subheading, a list or a lone line are the article's own."""
    assert closing_block(normalize_text(body)) is None


def test_a_line_repeating_the_standfirst_is_a_headline() -> None:
    """A punctuated closing line that repeats the page's lead counts as a headline."""
    body = f"{LONG}\nPeace talks may resume soon.\nGold steadies near record"
    block = closing_block(body, lead=["Headline", "Peace talks may resume soon."])
    assert block is not None
    assert [t.text for t in block.teasers] == [
        "Peace talks may resume soon.",
        "Gold steadies near record",
    ]


def test_a_teaser_keeps_its_own_link() -> None:
    """A URL closing the line, or a link the input gave, is the teaser's URL."""
    body = f"{LONG}\nGold steadies near record https://x.example/gold\nEU agrees new listings"
    block = closing_block(body, links={"EU agrees new listings": "https://x.example/eu"})
    assert block is not None
    assert [(t.text, t.url) for t in block.teasers] == [
        ("Gold steadies near record", "https://x.example/gold"),
        ("EU agrees new listings", "https://x.example/eu"),
    ]


words = st.text(alphabet="abcdefghij ", min_size=3, max_size=40).filter(lambda t: t.strip())
paragraphs = words.map(lambda t: t.strip().capitalize() + ".")
headlines = words.map(lambda t: t.strip()).filter(lambda t: not t.endswith(SENTENCE_END))


@given(
    body=st.lists(paragraphs, min_size=1, max_size=4),
    teasers=st.lists(headlines, min_size=2, max_size=6),
)
def test_headline_lists_come_back_apart_from_the_body(body: list[str], teasers: list[str]) -> None:
    """Closing headline lines come back apart from the body, in order."""
    block = closing_block("\n".join([*body, *teasers]))
    assert block is not None
    assert block.body == "\n".join(body)
    assert [t.text for t in block.teasers] == teasers


@given(st.text(max_size=3000))
def test_splitting_never_fails_and_is_idempotent(text: str) -> None:
    """Any body splits without error, keeps its first line, and a split page splits no further."""
    body = normalize_text(text) or "x"
    page = Article(id="p", source="s", title="T", body=body)
    first, *teasers = split_teasers(page)
    assert first.body.split("\n")[0] == body.split("\n")[0]
    assert split_teasers(first) == [first]
    assert all(t.kind == "teaser" and t.body == "" for t in teasers)


def test_teaser_articles_name_their_page() -> None:
    """A teaser is headline-only, from the page's source, linked to it, with a stable id."""
    page = build_article(
        {
            "id": "page-1",
            "url": "https://wire.example/page-1",
            "source": "Wire",
            "title": "Talks resume",
            "body": f"{LONG}\nGold steadies near record\nEU agrees new listings",
            "published_at": "2026-11-10T09:30:00Z",
            "language": "en",
        }
    )
    kept, gold, eu = split_teasers(page)
    assert kept.body == LONG
    assert kept.meta["related_headlines"] == "Gold steadies near record\nEU agrees new listings"
    assert (gold.kind, gold.title, gold.body, gold.source) == (
        "teaser",
        "Gold steadies near record",
        "",
        "Wire",
    )
    assert gold.url == page.url
    assert gold.published_at == page.published_at
    assert gold.found_on is not None
    assert (gold.found_on.id, gold.found_on.url, gold.found_on.title) == (
        "page-1",
        "https://wire.example/page-1",
        "Talks resume",
    )
    assert gold.id == teaser_id("page-1", "gold steadies  near record") != eu.id
    assert [t.id for t in split_teasers(page)[1:]] == [gold.id, eu.id]


def test_a_teaser_record_round_trips() -> None:
    """A teaser as the producer sends it is read back unchanged (its body is empty)."""
    page = Article(id="p", source="s", title="T", body=f"{LONG}\nA headline here\nAnother one here")
    teaser = split_teasers(page)[1]
    again = build_articles(json.loads(teaser.model_dump_json()))
    assert again == [teaser]


def test_an_unknown_kind_is_the_inputs_own() -> None:
    """A record's own ``kind`` field that is not an article kind is kept in meta."""
    article = build_article({"id": "a", "source": "s", "title": "T", "body": "B.", "kind": "news"})
    assert (article.kind, article.meta["kind"]) == ("article", "news")


def test_every_format_splits_teasers(unit_settings: Settings, tmp_path: Path) -> None:
    """Text pages, JSON Lines, feeds and stdin yield the page, then its teasers."""
    body = f"{LONG}\nGold steadies near record\nEU agrees new listings"
    page = tmp_path / "wire" / "page.txt"
    page.parent.mkdir()
    page.write_text(f"Talks resume\nStandfirst\n{body}\n", encoding="utf-8")
    record = {"id": "j1", "source": "Wire", "title": "Talks resume", "body": body}
    lines = tmp_path / "wire" / "feed.jsonl"
    lines.write_text(json.dumps(record) + "\n", encoding="utf-8")
    rss = tmp_path / "wire" / "feed.rss"
    rss.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item>'
        "<title>Talks resume</title><link>https://wire.example/a</link><description>"
        f'&lt;p&gt;{LONG}&lt;/p&gt;&lt;ul&gt;&lt;li&gt;&lt;a href="/gold"&gt;Gold steadies near'
        " record&lt;/a&gt;&lt;/li&gt;&lt;li&gt;EU agrees new listings&lt;/li&gt;&lt;/ul&gt;"
        "</description></item></channel></rss>",
        encoding="utf-8",
    )
    stdin = io.BytesIO(json.dumps(record).encode())
    items = list(read_articles([page, lines, rss, "-"], unit_settings, stdin=stdin))
    assert all(isinstance(item, Accepted) for item in items)
    articles = [(item.article.kind, item.article.title, item.origin) for item in items]  # type: ignore[union-attr]
    assert len(articles) == 12
    assert articles[:3] == [
        ("article", "Talks resume", str(page)),
        ("teaser", "Gold steadies near record", f"{page}+teaser1"),
        ("teaser", "EU agrees new listings", f"{page}+teaser2"),
    ]
    feed_gold = items[7].article  # type: ignore[union-attr]
    assert (feed_gold.title, feed_gold.url) == (
        "Gold steadies near record",
        "https://wire.example/gold",
    )
    assert items[8].article.url == "https://wire.example/a"  # type: ignore[union-attr]


def test_our_own_page_fires_every_default_category(capsys: pytest.CaptureFixture[str]) -> None:
    """A page like the reference one fires all five categories, two of them from its teasers."""
    from wirewatch.cli import main

    assert main(["scan", str(PAGES / "talks-and-teasers.txt"), "--format", "jsonl"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    categories = {d["category"] for d in found}
    assert categories == {
        "airspace_violation",
        "commodity_price_move",
        "military_offensive",
        "peace_talks",
        "sanctions",
    }
    urals = [d for d in found if d["category"] == "commodity_price_move"]
    assert urals
    assert all(d["article_id"].startswith("teaser-") for d in urals)
    figures = {
        (v["kind"], v["value"], v["commodity"], v["benchmark"], v["extreme"])
        for v in urals[0]["values"]
    }
    assert ("spread", 18.75, "commodity:urals", "commodity:brent", None) in figures
    assert ("extreme", None, "commodity:urals", None, "one-year high") in figures
    sanctions = [d for d in found if d["category"] == "sanctions"]
    assert [d["rule_id"] for d in sanctions] == ["bans-caps-freezes"]
    assert sanctions[0]["article_id"].startswith("teaser-")
    page = [d for d in found if not d["article_id"].startswith("teaser-")]
    assert page
    assert not any(v for d in page for v in d["values"])
