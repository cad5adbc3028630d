"""The rules commands and scan: exit codes, tables, JSON Lines and label scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.unit.engine.test_loader import BAD_QUERY, MINIMAL
from wirewatch.cli import main

PACK_WITH_EXAMPLES = (
    MINIMAL
    + """\
    examples:
      match:
        - Polish jets shot down two drones that entered the airspace.
      no_match:
        - The airport reopened its airspace to airlines.
"""
)

ARTICLES = [
    {
        "id": "a1",
        "source": "test",
        "title": "Drones over Poland",
        "body": "Polish jets shot down two drones that entered the airspace.",
    },
    {"id": "a2", "source": "test", "title": "Markets", "body": "Up 3%."},
    {"id": "a3", "source": "test", "title": "Balloon", "body": "A balloon drifted; nobody cared."},
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A JSON Lines file of three articles, one about drones in the airspace."""
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    return path


def _pack(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(text)
    return path


def test_check_valid_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rules check on a valid pack exits 0 and says how many rules are valid."""
    assert main(["rules", "check", str(_pack(tmp_path, MINIMAL))]) == 0
    assert "1 rules in 1 packs" in capsys.readouterr().out


def test_check_invalid_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rules check exits 1 and prints the located problem with its caret."""
    path = _pack(tmp_path, BAD_QUERY)
    assert main(["rules", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"error: {path}:6:13: rule broken: query: missing ')'" in err
    assert "^" in err
    assert "1 problem found" in err


def test_check_default_packs(capsys: pytest.CaptureFixture[str]) -> None:
    """With no PATH, rules check reads the configured rules path (seeds/rules)."""
    assert main(["rules", "check"]) == 0
    assert "packs at seeds/rules: valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("example", "code", "summary"),
    [
        ("- The airport reopened its airspace to airlines.", 0, "2 passed, 0 failed"),
        ("- Polish jets intercepted a balloon in the airspace.", 1, "1 passed, 1 failed"),
    ],
)
def test_test_runs_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], example: str, code: int, summary: str
) -> None:
    """rules test prints a pass/fail table and exits 1 when an example fails."""
    text = PACK_WITH_EXAMPLES.replace("- The airport reopened its airspace to airlines.", example)
    assert main(["rules", "test", str(_pack(tmp_path, text))]) == code
    out = capsys.readouterr().out
    assert summary in out
    assert ("FAIL" in out) is (code == 1)


def test_scan_table(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """scan prints the counts, then hits per rule and per category."""
    rules = _pack(tmp_path, MINIMAL)
    assert main(["scan", str(corpus), "--rules", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "3 articles scanned, 1 detections" in out
    assert "drone-airspace-incursion" in out
    assert "hits per category" in out


def test_scan_jsonl(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format jsonl prints one JSON object per detection on stdout, the summary on stderr."""
    rules = _pack(tmp_path, MINIMAL)
    assert main(["scan", str(corpus), "--rules", str(rules), "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    [line] = captured.out.splitlines()
    record = json.loads(line)
    assert record["article_id"] == "a1"
    assert record["rule_id"] == "drone-airspace-incursion"
    assert (record["category"], record["severity"]) == ("airspace_violation", "high")
    assert {s["text"] for s in record["spans"]} >= {"jets", "shot down", "airspace"}
    assert {e["id"] for e in record["entities"]} >= {"country:PL"}
    assert record["values"] == []
    assert record["score"] == sum(part["counted"] for part in record["score_parts"])
    assert {part["kind"] for part in record["score_parts"]} == {"evidence"}
    assert "3 articles scanned" in captured.err


def test_scan_with_labels(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--labels reports precision, recall and F1 per category, and the missed and false articles."""
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        '{"id": "a1", "labels": ["airspace_violation"]}\n'
        '{"id": "a2", "labels": []}\n'
        '{"id": "a3", "labels": ["airspace_violation"]}\n'
        '{"id": "zz", "labels": []}\n'
    )
    rules = _pack(tmp_path, MINIMAL)
    assert main(["scan", str(corpus), "--rules", str(rules), "--labels", str(labels)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "airspace_violation" in line and "1.00" in line)
    assert "0.50" in row  # precision 1.00, recall 0.50
    assert "missed airspace_violation: a3" in out
    assert "1 labelled articles were not in the input" in out
    assert "per language (every category summed)" in out
    assert "F1 per category and language" in out
    # a1 and a3 are identified as English, a2 has too few letters to tell
    assert re.search(r"│ en\s+│\s+2 │\s+1 │\s+0 │\s+1 │", out), out
    assert re.search(r"│ unknown\s+│\s+1 │\s+0 │\s+0 │\s+0 │", out), out


def test_rules_explain(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rules explain prints each test, each place of evidence and the verdict against min_score."""
    rules = _pack(tmp_path, MINIMAL)
    argv = ["rules", "explain", "drone-airspace-incursion", str(corpus), "--rules", str(rules)]
    assert main([*argv, "--id", "a1"]) == 0
    out = capsys.readouterr().out
    assert "drone-airspace-incursion on a1" in out
    assert "query: matched" in out
    assert "evidence" in out
    assert "fires" in out
    assert main([*argv, "--id", "a2"]) == 0
    assert "query: no match" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("rule", "article_id", "message"),
    [("nope", "a1", "no rule 'nope'"), ("drone-airspace-incursion", "zz", "no article 'zz'")],
)
def test_rules_explain_errors(
    tmp_path: Path,
    corpus: Path,
    capsys: pytest.CaptureFixture[str],
    rule: str,
    article_id: str,
    message: str,
) -> None:
    """An unknown rule or article is one error line and exit status 2."""
    rules = _pack(tmp_path, MINIMAL)
    argv = ["rules", "explain", rule, str(corpus), "--rules", str(rules), "--id", article_id]
    assert main(argv) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ")
    assert message in line


CHANGE_PACK = """\
rules:
  - id: urals-widens
    title: Urals discount widens by two dollars or more
    category: commodity_price_move
    severity: high
    query: Urals
    extract: [spread]
    where: spread - previous(spread) >= 2
"""


def test_scan_judges_change_rules_in_publication_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scan compares each figure with the reports read before it, and prints both figures."""
    reports = [("u1", "19.40", "09:00"), ("u2", "21.60", "12:00"), ("u3", "22.10", "15:00")]
    path = tmp_path / "urals.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": article_id,
                    "source": f"desk-{article_id}",
                    "title": "Urals discount",
                    "body": f"The discount on Urals crude to Brent was {value} dollars per barrel.",
                    "published_at": f"2026-11-10T{at}:00Z",
                }
            )
            + "\n"
            for article_id, value, at in reports
        )
    )
    pack = _pack(tmp_path, CHANGE_PACK)
    assert main(["scan", str(path), "--rules", str(pack), "--format", "jsonl"]) == 0
    [found] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert found["article_id"] == "u2"
    change = found["change"]
    assert (change["current"]["value"], change["reference"]["value"]) == (21.6, 19.4)
    assert change["reference"]["source"] == "desk-u1"


def test_scan_stories_says_why_articles_are_one_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scan --stories --format jsonl: one object per clustered article, with its story and why."""
    reports = [
        {
            "id": "r1",
            "source": "one.example",
            "title": "Drones shot down over Lublin",
            "body": "Polish F-16 jets shot down three drones over Lublin after 7 entered the "
            "airspace from Belarus, NATO said.",
        },
        {
            "id": "r2",
            "source": "two.example",
            "title": "Three drones downed in Lublin province",
            "body": "Seven Russian drones crossed into the airspace; Polish F-16s downed three "
            "over Lublin, with NATO jets in support.",
        },
    ]
    path = tmp_path / "reports.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in reports))
    pack = _pack(tmp_path, MINIMAL)
    assert main(["scan", str(path), "--rules", str(pack), "--stories", "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["article_id"], r["story_id"]) for r in lines] == [("r1", "r1"), ("r2", "r1")]
    assert lines[0]["why"].startswith("opened story r1")
    assert lines[1]["why"].startswith("joined story r1: score")
    assert lines[1]["decision"]["kind"] == "joined"
    assert "org:NATO" in lines[1]["decision"]["shared_entities"]


def test_scan_stories_table(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scan --stories prints a stories table after the hits."""
    assert main(["scan", str(corpus), "--rules", str(_pack(tmp_path, MINIMAL)), "--stories"]) == 0
    assert "stories: 1 articles in 1 stories" in capsys.readouterr().out
