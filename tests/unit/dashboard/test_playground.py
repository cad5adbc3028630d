"""The rule playground: the workers' engine on a pasted article, and ad-hoc queries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.rulebook import compile_packs
from streams.rules import RuleSet, load_pack_text
from streams.rules.entities import Gazetteer
from wirewatch.dashboard.playground import PlaygroundRequest, run_playground

ROOT = Path(__file__).resolve().parents[3]
PACK = {
    "rules": [
        {
            "id": "drones",
            "title": "Drones in airspace",
            "category": "airspace",
            "severity": "high",
            "query": "drone* NEAR/8 airspace",
        }
    ]
}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The test pack compiled as a worker compiles it, with the seed gazetteer."""
    pack = load_pack_text(json.dumps(PACK), name="test")
    return compile_packs([pack], Gazetteer.load(ROOT / "seeds" / "entities"))


def test_article_shows_rule_spans_and_entities(rules: RuleSet) -> None:
    """A pasted article fires the rule; spans index the normalised text the page is given."""
    result = run_playground(
        rules,
        PlaygroundRequest(
            title="Drones over Poland",
            body="Several  drones crossed into Polish airspace overnight.\r\n",
        ),
    )
    article = result["article"]
    assert article["body"] == "Several drones crossed into Polish airspace overnight."
    (fired,) = result["detections"]
    assert fired["rule_id"] == "drones"
    assert not fired["adhoc"]
    texts = {article[s["field"]][s["start"] : s["end"]] for s in fired["spans"]}
    assert {"drones", "airspace"} <= {t.lower() for t in texts}
    assert "country:PL" in {e["id"] for e in result["entities"]}
    assert result["ruleset_version"] == rules.version


def test_adhoc_query_fires_beside_the_rules(rules: RuleSet) -> None:
    """A valid query is compiled alone and its detection is marked as the reader's own."""
    result = run_playground(
        rules,
        PlaygroundRequest(body="Drones crossed into the airspace of Poland.", query="poland"),
    )
    assert result["query"] == {"ok": True, "terms": ["poland"]}
    assert [d["rule_id"] for d in result["detections"]] == ["drones", "playground.query"]
    assert result["detections"][1]["adhoc"]


def test_adhoc_query_shows_late_matches_with_their_score(rules: RuleSet) -> None:
    """The reader's query fires on any match and shows its aboutness score and parts."""
    body = "Markets were calm. Shares rose. Bonds fell. Late on, Poland said little."
    result = run_playground(rules, PlaygroundRequest(title="Markets", body=body, query="poland"))
    [detection] = result["detections"]
    assert detection["score"] == 0.4
    assert detection["score_parts"][0]["sentence"] == 3


@pytest.mark.parametrize(
    ("query", "column"),
    [
        pytest.param("drone AND (", 12, id="ends-early"),
        pytest.param("drone NEAR airspace", 11, id="near-without-distance"),
        pytest.param("a OR regex:/(?=x)/", 6, id="regex-re2-refuses"),
    ],
)
def test_malformed_query_is_located(rules: RuleSet, query: str, column: int) -> None:
    """A malformed query comes back with its column and a caret under it; no article needed."""
    result = run_playground(rules, PlaygroundRequest(query=query))
    verdict = result["query"]
    assert verdict["ok"] is False
    assert verdict["column"] == column
    shown, caret = verdict["caret"].split("\n")
    assert shown == query
    assert caret.index("^") == column - 1
    assert result["article"] is None
    assert result["detections"] == []


def test_title_defaults_to_the_first_line(rules: RuleSet) -> None:
    """Without a headline, the body's first line is the title, as for rule examples."""
    result = run_playground(rules, PlaygroundRequest(body="First line\nrest"))
    assert result["article"]["title"] == "First line"
