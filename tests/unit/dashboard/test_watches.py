"""Watches: a draft checked as `rules check` would, the author's pack, and a bounded backtest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import Article
from streams.rules import load_gazetteer
from wirewatch.dashboard.watches import (
    Backtest,
    WatchDraft,
    check_watch,
    evaluate_batch,
    id_prefix,
    watch_pack,
)


def draft(**fields: Any) -> WatchDraft:
    """A valid draft, with ``fields`` changed."""
    values: dict[str, Any] = {
        "name": "drones",
        "title": "Drones",
        "category": "watch",
        "query": "drone* NEAR/5 airspace",
    }
    return WatchDraft(**{**values, **fields})


def test_a_valid_draft_compiles_as_the_authors_tagged_rule() -> None:
    """The rule's id starts with the author, and it carries the watch tag."""
    problems, warnings, rules = check_watch(draft(), "ana@example.org", None)
    assert (problems, warnings) == ([], [])
    assert rules is not None
    [rule] = rules.rules.values()
    assert rule.id == "ana-example.org.drones"
    assert rule.tags == ("watch:ana@example.org",)


@pytest.mark.parametrize(
    ("fields", "field", "located"),
    [
        pytest.param({"query": "drone* NEAR/5 (airspace OR"}, "query", True, id="query"),
        pytest.param({"where": "change_pct >>= 2"}, "where", False, id="where"),
        pytest.param({"query": "regex:/(a)\\1/"}, "query", True, id="regex-re2-refuses"),
    ],
)
def test_problems_are_located_by_field(fields: dict[str, str], field: str, located: bool) -> None:
    """A bad query gives its column and a caret; a bad where condition its message."""
    problems, _, rules = check_watch(draft(**fields), "ana", None)
    assert rules is None
    assert problems[0].field == field
    assert (problems[0].caret is not None) is located


def test_unknown_entities_are_warned_about() -> None:
    """An entity id the gazetteer lacks is a warning, not an error."""
    gazetteer = load_gazetteer(Path(__file__).resolve().parents[3] / "seeds" / "entities")
    problems, warnings, rules = check_watch(
        draft(entities_any=["country:RU", "country:XX"]), "ana", gazetteer
    )
    assert problems == []
    assert rules is not None
    assert warnings == ["entities any: country:XX is not in the gazetteer"]


def test_the_pack_takes_adds_replaces_and_drops() -> None:
    """Saving a watch adds or replaces it in the author's pack; deleting drops it."""
    first = draft().rule("ana")
    pack = watch_pack(None, "ana", first)
    assert [r.id for r in pack.rules] == ["ana.drones"]
    other = draft(name="oil", query="crude").rule("ana")
    pack = watch_pack(pack, "ana", other)
    changed = draft(title="Drones again").rule("ana")
    pack = watch_pack(pack, "ana", changed)
    assert [(r.id, r.title) for r in pack.rules] == [
        ("ana.oil", "Drones"),
        ("ana.drones", "Drones again"),
    ]
    assert {r.id for r in watch_pack(pack, "ana", None, drop="ana.oil").rules} == {"ana.drones"}


def test_backtest_batches_count_each_article_once(make_article: Callable[..., Article]) -> None:
    """A repeated article counts once; a record that is not an article is skipped."""
    _, _, rules = check_watch(draft(query="drone"), "ana", None)
    assert rules is not None
    hit = make_article(title="Drone seen", body="A drone.").model_dump_json().encode()
    miss = make_article(title="Wheat", body="Harvest.").model_dump_json().encode()
    found = Backtest(days=1, hits=[])
    evaluate_batch(rules, [hit, hit, miss, b"{not an article"], set(), found)
    assert (found.articles, found.fired) == (2, 1)
    assert found.hits is not None
    assert found.hits[0]["title"] == "Drone seen"


def test_id_prefix_fits_a_rule_id() -> None:
    """Sign-in names with @ and + make a valid rule-id prefix."""
    assert id_prefix("Ana+News@Example.org") == "ana-news-example.org"
