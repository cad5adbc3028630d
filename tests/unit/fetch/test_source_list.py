"""The sources file: valid sources load, every problem is reported with its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.source_list import SourcesFileError, load_sources, parse_sources

ROOT = Path(__file__).resolve().parents[3]

GOOD = """
sources:
  - id: ledger-world
    name: The Ledger, world
    url: https://ledger.example/world/rss
    language: en
    tags: [world]
    interval: {min: 2m, max: 1h}
    full_text: true
  - id: ledger-sitemap
    name: The Ledger
    url: https://ledger.example/news-sitemap.xml
    kind: sitemap
    interval: 10m
    headers: {X-Api-Key: abc}
"""


def test_a_valid_file_loads() -> None:
    """Kinds, bounds, fixed intervals, headers and defaults are read as written."""
    world, sitemap = parse_sources(GOOD, "sources.yaml")
    assert world.kind == "feed"
    assert world.full_text
    assert (world.interval.min, world.interval.max) == (120, 3600)
    assert sitemap.interval.min == sitemap.interval.max == 600
    assert sitemap.follows_links
    assert sitemap.headers == {"X-Api-Key": "abc"}


def test_the_example_file_is_valid() -> None:
    """seeds/sources.yaml, the example the README points to, loads."""
    assert load_sources(ROOT / "seeds" / "sources.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sources:\n  - {id: a, name: A, url: ftp://x/y}\n",
            "sources.yaml:2:27: source a: url: Value error, the url must start with http",
        ),
        (
            "sources:\n  - id: a\n    name: A\n    url: https://x.example/\n    kind: podcast\n",
            "sources.yaml:5:11: source a: kind:",
        ),
        (
            "sources:\n  - id: a\n    name: A\n    url: https://x.example/\n    interval: {min: 1h, max: 1m}\n",
            "sources.yaml:5:15: source a: interval: Value error, interval.min is longer",
        ),
        (
            "sources:\n  - id: a\n    name: A\n    url: https://x.example/\n    headers: {Host: evil}\n",
            "source a: headers: Value error, the fetcher sets 'Host' itself",
        ),
        (
            "sources:\n  - {id: a, name: A, url: 'https://x.example/'}\n  - {id: a, name: B, url: 'https://y.example/'}\n",
            "sources.yaml:3:10: source a: the id is already used by source #1",
        ),
        (
            "sources:\n  - &x {id: a, name: A, url: 'https://x.example/'}\n  - *x\n",
            "sources.yaml:2:5: invalid YAML: anchors and aliases",
        ),
        (
            "sources:\n  - {id: 'a b', name: A, url: 'https://x.example/'}\n",
            "source a b: id: Value error, an id is letters",
        ),
        ("feeds: []\n", "a mapping with a 'sources:' list"),
        (
            "sources:\n  - {id: a, name: A, url: 'https://x.example/', colour: red}\n",
            "source a: colour: Extra inputs are not permitted",
        ),
    ],
    ids=[
        "scheme",
        "kind",
        "interval",
        "header",
        "duplicate",
        "alias",
        "id",
        "shape",
        "unknown-key",
    ],
)
def test_problems_are_located(text: str, expected: str) -> None:
    """Each mistake is one error line naming the file, line, column and source."""
    with pytest.raises(SourcesFileError) as caught:
        parse_sources(text, "sources.yaml")
    assert expected in str(caught.value)


def test_every_problem_is_listed_at_once() -> None:
    """Two bad sources give two located lines, not only the first."""
    text = "sources:\n  - {id: a, name: A, url: nope}\n  - {id: b, url: 'https://x.example/'}\n"
    with pytest.raises(SourcesFileError) as caught:
        parse_sources(text, "s.yaml")
    assert len(caught.value.problems) == 2
    assert "s.yaml:3:5: source b: name: Field required" in str(caught.value)
