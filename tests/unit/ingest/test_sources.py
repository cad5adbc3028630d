"""read_articles: every supported format, and every kind of bad input, without a broker."""

from __future__ import annotations

import io
import json
import resource
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.sources import (
    Accepted,
    Item,
    Rejected,
    parse_text_page,
    read_articles,
)
from schemas import Settings

SEEDS = Path(__file__).parents[3] / "seeds"

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Feed Wire</title><language>en-gb</language>
<item><title>Drones cross into Polish airspace</title>
<link>https://feed.example/a?utm_source=rss</link><guid>feed-a</guid>
<pubDate>Tue, 10 Nov 2026 09:30:00 GMT</pubDate>
<description>&lt;p&gt;Jets were &lt;b&gt;scrambled&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Second paragraph.&lt;/p&gt;</description></item>
<item><title>Second story</title><link>https://feed.example/b</link>
<description>Plain body.</description></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Wire</title><id>urn:x</id>
<updated>2026-11-10T09:30:00Z</updated>
<entry><title>Talks resume in Istanbul</title><id>urn:atom:1</id>
<link href="https://atom.example/1"/><updated>2026-11-10T09:30:00Z</updated>
<summary>Delegations met.</summary>
<content type="html">&lt;p&gt;Delegations met for two hours.&lt;/p&gt;</content></entry>
</feed>
"""


def read(settings: Settings, *paths: str | Path, stdin: bytes | None = None) -> list[Item]:
    """Read everything from ``paths`` into a list."""
    stream = io.BytesIO(stdin) if stdin is not None else None
    return list(read_articles(list(paths), settings, stdin=stream))


def only(items: list[Item]) -> Rejected:
    """The single item, which must be a rejection."""
    assert len(items) == 1, items
    assert isinstance(items[0], Rejected), items[0]
    return items[0]


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file under a ``wire`` directory and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / "wire" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return _write


# --- text pages -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "Headline\nStandfirst\nBody one.\nBody two.",
            {"title": "Headline", "summary": "Standfirst", "body": "Body one.\nBody two."},
        ),
        (
            "\n\nHeadline\n\nStandfirst\n\nBody.\n",
            {"title": "Headline", "summary": "Standfirst", "body": "Body.\n"},
        ),
        ("Headline\nOnly a body", {"title": "Headline", "body": "Only a body"}),
        ("Headline only", {"title": "Headline only"}),
        ("", {}),
        (
            "Source: Wire\nDate: 2026-11-10T09:30:00Z\nURL: https://x.example/a\n\nH\nS\nB",
            {
                "source": "Wire",
                "published_at": "2026-11-10T09:30:00Z",
                "url": "https://x.example/a",
                "title": "H",
                "summary": "S",
                "body": "B",
            },
        ),
        (
            "Id: page-7\nLanguage: uk\n\nH\nB",
            {"id": "page-7", "language": "uk", "title": "H", "body": "B"},
        ),
        # A header-like first line not followed by a blank line is the headline.
        (
            "Source: of the leak revealed\nStandfirst\nBody",
            {"title": "Source: of the leak revealed", "summary": "Standfirst", "body": "Body"},
        ),
        (
            "Breaking: talks collapse\n\nS\nB",
            {"title": "Breaking: talks collapse", "summary": "S", "body": "B"},
        ),
        ("H\r\nS\r\nB1\r\nB2", {"title": "H", "summary": "S", "body": "B1\nB2"}),
        # The page keeps what it closes with: teasers are split later, for every format.
        (
            "H\nS\nIt happened.\nGold steadies",
            {"title": "H", "summary": "S", "body": "It happened.\nGold steadies"},
        ),
    ],
)
def test_parse_text_page(page: str, expected: dict[str, str]) -> None:
    """Headline, standfirst, body, and an optional header block ended by a blank line."""
    assert parse_text_page(page) == expected


lines = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1
).filter(lambda t: t.strip() and ":" not in t)


sentences = lines.map(lambda t: t + ".")


@given(title=lines, summary=lines, body=st.lists(sentences, min_size=1, max_size=5))
def test_text_page_round_trip(title: str, summary: str, body: list[str]) -> None:
    """Any page written as headline, standfirst and body lines parses back into those parts."""
    page = "\n".join([title, summary, *body])
    assert parse_text_page(page) == {"title": title, "summary": summary, "body": "\n".join(body)}


@given(st.text())
def test_text_page_parser_never_fails(text: str) -> None:
    """Arbitrary text never makes the parser raise; it returns only known fields."""
    assert set(parse_text_page(text)) <= {
        *("title", "summary", "body", "source", "published_at", "url", "id", "language"),
    }


def test_text_page_source_comes_from_the_directory(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path]
) -> None:
    """A bare page is from its directory, has no publication time, and a stable id."""
    path = write("story.txt", "Headline\nStandfirst\nBody.")
    first, second = read(unit_settings, path), read(unit_settings, path)
    assert isinstance(first[0], Accepted)
    assert isinstance(second[0], Accepted)
    article = first[0].article
    assert (article.source, article.published_at, article.summary) == ("wire", None, "Standfirst")
    assert article.id.startswith("sth-")
    assert second[0].article.id == article.id


# --- JSON, JSON Lines, feeds, directories, stdin -------------------------------------


def test_jsonl_lines_become_articles_with_line_origins(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path]
) -> None:
    """Each line is a record; blank lines are skipped; origins carry the line number."""
    path = write(
        "feed.jsonl",
        '{"title": "One", "body": "B1", "url": "https://x.example/1"}\n\n'
        '{"headline": "Two", "text": "B2", "source": "S"}\n',
    )
    items = read(unit_settings, path)
    assert [(type(i), i.origin) for i in items] == [
        (Accepted, f"{path}:1"),
        (Accepted, f"{path}:3"),
    ]


def test_json_array_and_single_object(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path]
) -> None:
    """A .json file holds an array of records (origins by index) or one record."""
    array = write(
        "batch.json",
        json.dumps([{"title": "A", "body": "B"}, "oops", {"title": "C", "body": "D"}], indent=2),
    )
    single = write("one.json", json.dumps({"title": "A", "body": "B"}, indent=2))
    items = read(unit_settings, array, single)
    assert [(type(i).__name__, i.origin) for i in items] == [
        ("Accepted", f"{array}[0]"),
        ("Rejected", f"{array}[1]"),
        ("Accepted", f"{array}[2]"),
        ("Accepted", str(single)),
    ]
    assert isinstance(items[1], Rejected)
    assert items[1].reason == "not_an_object"


def test_rss_feed(unit_settings: Settings, write: Callable[[str, str | bytes], Path]) -> None:
    """RSS items become articles: guid as id, HTML reduced to text, feed title as source."""
    items = read(unit_settings, write("wire.rss", RSS))
    assert all(isinstance(i, Accepted) for i in items)
    first, second = (i.article for i in items if isinstance(i, Accepted))
    assert (first.id, first.source, first.language) == ("feed-a", "Feed Wire", "en-gb")
    assert first.body == "Jets were scrambled.\n\nSecond paragraph."
    assert first.published_at is not None
    assert first.published_at.isoformat() == "2026-11-10T09:30:00+00:00"
    assert second.id.startswith("url-")
    assert items[1].origin.endswith("wire.rss#2")


def test_atom_feed(unit_settings: Settings, write: Callable[[str, str | bytes], Path]) -> None:
    """Atom entries use content as body and summary as standfirst."""
    items = read(unit_settings, write("wire.atom", ATOM))
    assert len(items) == 1
    assert isinstance(items[0], Accepted)
    article = items[0].article
    assert (article.id, article.summary, article.body) == (
        "urn:atom:1",
        "Delegations met.",
        "Delegations met for two hours.",
    )


def test_directories_are_read_recursively_skipping_hidden_and_partial_files(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path], tmp_path: Path
) -> None:
    """A directory yields its files in name order; hidden, editor and partial files are skipped."""
    write("b.txt", "B\nbody")
    write("sub/a.jsonl", '{"title": "A", "body": "x"}\n')
    write(".hidden.txt", "H\nbody")
    write("c.txt.part", "C\nbody")
    write("d.txt~", "D\nbody")
    write("rules.yaml", "rules:\n  - id: x\n")
    items = read(unit_settings, tmp_path / "wire")
    assert [Path(i.origin).name for i in items] == ["b.txt", "rules.yaml", "a.jsonl:1"]
    assert [type(i).__name__ for i in items] == ["Accepted", "Rejected", "Accepted"]
    assert isinstance(items[1], Rejected)
    assert items[1].reason == "unsupported_format"


@pytest.mark.parametrize(
    ("content", "title"),
    [
        (b'{"title": "J", "body": "b"}\n{"title": "K", "body": "b"}\n', "J"),
        (b'[{"title": "J", "body": "b"}]', "J"),
        (RSS.encode(), "Drones cross into Polish airspace"),
        (b"Text headline\nStandfirst\nBody", "Text headline"),
    ],
)
def test_stdin_format_is_sniffed(unit_settings: Settings, content: bytes, title: str) -> None:
    """From stdin ('-') the format is recognised from the first bytes."""
    items = read(unit_settings, "-", stdin=content)
    assert isinstance(items[0], Accepted)
    assert items[0].article.title == title
    assert items[0].origin.startswith("<stdin>")


def test_seed_articles_are_all_valid_and_labelled(unit_settings: Settings) -> None:
    """Every seed reads cleanly, ids are unique, and labels.jsonl names exactly the seed pages."""
    items = read(unit_settings, SEEDS / "articles", SEEDS / "articles.jsonl")
    assert all(isinstance(i, Accepted) for i in items), [
        i for i in items if isinstance(i, Rejected)
    ]
    articles = [i.article for i in items if isinstance(i, Accepted)]
    assert len({a.id for a in articles}) == len(articles)
    ids = [a.id for a in articles if a.kind == "article"]
    assert len(ids) >= 40
    with (SEEDS / "labels.jsonl").open(encoding="utf-8") as labels:
        labelled = [json.loads(line)["id"] for line in labels]
    assert sorted(labelled) == sorted(ids)


# --- bad input (each a test) -----------------------------------------------------


def test_invalid_utf8(unit_settings: Settings, write: Callable[[str, str | bytes], Path]) -> None:
    """A text page that is not UTF-8 is refused with its bytes kept for the dead letter."""
    rejected = only(
        read(unit_settings, write("latin1.txt", "Café\nStandfirst\nBody".encode("latin-1")))
    )
    assert rejected.reason == "invalid_utf8"
    assert rejected.payload == "Café\nStandfirst\nBody".encode("latin-1")


def test_invalid_utf8_line_in_jsonl_spares_the_others(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path]
) -> None:
    """One bad line is one rejection; the lines around it are still read."""
    path = write(
        "mixed.jsonl",
        b'{"title": "A", "body": "b"}\n{"title": "\xff", "body": "b"}\n{"title": "C", "body": "b"}\n',
    )
    items = read(unit_settings, path)
    assert [type(i).__name__ for i in items] == ["Accepted", "Rejected", "Accepted"]
    assert isinstance(items[1], Rejected)
    assert (items[1].reason, items[1].origin) == ("invalid_utf8", f"{path}:2")


@pytest.mark.parametrize(
    "name", ["empty.txt", "empty.jsonl", "empty.json", "empty.rss", "blank.txt"]
)
def test_empty_file(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path], name: str
) -> None:
    """An empty (or blank) file of any format is reported, never silently ignored."""
    rejected = only(read(unit_settings, write(name, "" if name.startswith("empty") else " \n\n ")))
    assert rejected.reason == "empty"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"body": "no title"}', "missing_title"),
        ('{"title": "no body"}', "missing_body"),
        ('{"title": "t", "body": "   "}', "missing_body"),
        ('{"title": ["t"], "body": "b"}', "wrong_type"),
        ('{"title": "t", "body": 42}', "wrong_type"),
        ('{"title": "t", "body": "b", "published_at": {"y": 1}}', "wrong_type"),
        ('["not", "an", "object"]', "not_an_object"),
        ('"a string"', "not_an_object"),
        ('{"title": "t", "body": "b"', "invalid_json"),
        ('{"title": "t", "body": NaN}', "invalid_json"),
        ('{"title": "t", "body": "\\ud800"}', "invalid_json"),
    ],
)
def test_bad_records_in_jsonl(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path], content: str, reason: str
) -> None:
    """Missing title or body, wrong types and broken JSON each give a reason and the line's origin."""
    path = write("bad.jsonl", content + "\n")
    rejected = only(read(unit_settings, path))
    assert (rejected.reason, rejected.origin) == (reason, f"{path}:1")
    assert rejected.payload is not None


def test_text_page_without_body(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path]
) -> None:
    """A one-line text page has no body and is refused as such."""
    assert (
        only(read(unit_settings, write("short.txt", "Only a headline\n"))).reason == "missing_body"
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("name", ["big.txt", "big.json", "big.rss", "big"])
def test_50_mb_file_is_refused_without_reading_it_all(
    unit_settings: Settings, tmp_path: Path, name: str
) -> None:
    """A file over max_file_bytes (20 MB) is too_large; at most the limit is read into memory."""
    path = tmp_path / name
    with path.open("wb") as out:
        out.write(b"Headline\nStandfirst\n")
        for _ in range(50):
            out.write(b"word " * 200_000)
    before = _peak_rss_mb()
    rejected = only(read(unit_settings, path))
    assert rejected.reason == "too_large"
    assert "WIREWATCH_MAX_FILE_BYTES" in rejected.error
    assert rejected.payload is not None
    assert len(rejected.payload) <= 65_536
    assert _peak_rss_mb() - before < 200


def test_50_mb_jsonl_line_is_refused_and_the_next_line_read(
    unit_settings: Settings, tmp_path: Path
) -> None:
    """One line over the limit is too_large without holding it whole; reading goes on after it."""
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as out:
        out.write(b'{"title": "t", "body": "' + b"x" * 50_000_000 + b'"}\n')
        out.write(b'{"title": "next", "body": "b"}\n')
    items = read(unit_settings, path)
    assert [type(i).__name__ for i in items] == ["Rejected", "Accepted"]
    assert isinstance(items[0], Rejected)
    assert (items[0].reason, items[0].origin) == ("too_large", f"{path}:1")


def test_jsonl_files_larger_than_the_file_limit_stream(tmp_path: Path) -> None:
    """JSON Lines are streamed: the file limit applies per line, not to the whole file."""
    settings = Settings(_env_file=None, max_file_bytes=1_000)  # type: ignore[call-arg]
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"title": "t{n}", "body": "b"}}\n' for n in range(200)))
    items = read(settings, path)
    assert len(items) == 200
    assert all(isinstance(i, Accepted) for i in items)


@pytest.mark.parametrize("name", ["random.bin", "image.txt", "data.jsonl", "blob.rss"])
def test_binary_file(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path], name: str
) -> None:
    """A binary file is refused once as binary, whatever its name says."""
    content = bytes(range(256)) * 400
    rejected = only(read(unit_settings, write(name, content)))
    assert rejected.reason == "binary"


@pytest.mark.parametrize("name", ["deep.jsonl", "deep.json"])
def test_json_nested_10000_deep(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path], name: str
) -> None:
    """A JSON document nested 10,000 deep is refused as too_deep, with no RecursionError."""
    deep = '{"title": "t", "body": "b", "x": ' + "[" * 10_000 + "]" * 10_000 + "}"
    rejected = only(read(unit_settings, write(name, deep + "\n")))
    assert rejected.reason == "too_deep"


def test_moderately_deep_extra_fields(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path]
) -> None:
    """Nesting JSON accepts but meta does not (over 32 levels) is refused as too_deep too."""
    deep = '{"title": "t", "body": "b", "x": ' + "[" * 100 + "]" * 100 + "}"
    assert only(read(unit_settings, write("deep.jsonl", deep + "\n"))).reason == "too_deep"


@pytest.mark.parametrize(
    "content",
    [
        RSS[: len(RSS) // 2],
        "<rss version='2.0'><channel><item><title>x</title></item>",
        "<html><body>not a feed</body></html>",
        "<?xml version='1.0'?><rss><channel><item><title>a &undefined; b</title></item></channel></rss>",
    ],
)
def test_broken_rss_feed(
    unit_settings: Settings, write: Callable[[str, str | bytes], Path], content: str
) -> None:
    """A truncated or malformed feed is refused whole, with the parser's reason."""
    rejected = only(read(unit_settings, write("broken.rss", content)))
    assert rejected.reason == "invalid_feed"
    assert rejected.payload == content.encode()


def test_missing_path_and_missing_stdin(unit_settings: Settings, tmp_path: Path) -> None:
    """A path that vanished and '-' without a stream are rejections, not exceptions."""
    items = read(unit_settings, tmp_path / "gone.txt", "-")
    assert [i.reason for i in items if isinstance(i, Rejected)] == ["unreadable", "unreadable"]
