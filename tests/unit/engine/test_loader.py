"""Loading rule packs: the minimal form, and errors located by file, rule, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import ConfigError
from streams.rules import RulePackError, load_pack_text, load_packs, ruleset_version
from streams.rules.loader import MAX_PACK_BYTES

MINIMAL = """\
rules:
  - id: drone-airspace-incursion
    title: Drone or aircraft violates a state's airspace
    category: airspace_violation
    severity: high
    query: '(drone* OR aircraft OR jet* OR balloon*) NEAR/12 (airspace OR "shot down" OR intercept*)'
"""


def test_minimal_pack_loads() -> None:
    """The minimal form from the issue loads with defaults for everything else."""
    pack = load_pack_text(MINIMAL, name="air")
    [rule] = pack.rules
    assert (pack.name, rule.id, rule.severity.value, rule.enabled) == (
        "air",
        "drone-airspace-incursion",
        "high",
        True,
    )


def test_directory_is_searched_recursively(tmp_path: Path) -> None:
    """A directory yields its *.yaml and *.yml packs, nested too, in path order; others are ignored."""
    (tmp_path / "nested").mkdir()
    (tmp_path / "b.yaml").write_text(MINIMAL.replace("drone-airspace-incursion", "b"))
    (tmp_path / "nested" / "a.yml").write_text(MINIMAL.replace("drone-airspace-incursion", "a"))
    (tmp_path / "notes.txt").write_text("not a pack")
    packs = load_packs(tmp_path)
    assert [p.name for p in packs] == ["b", "a"]
    assert packs[0].source == str(tmp_path / "b.yaml")
    assert ruleset_version(packs) == ruleset_version(load_packs([tmp_path]))


def test_seed_packs_load() -> None:
    """The project's default packs load without problems."""
    packs = load_packs(Path("seeds/rules"))
    assert {r.category for p in packs for r in p.rules} == {
        "airspace_violation",
        "commodity_price_move",
        "peace_talks",
        "sanctions",
        "military_offensive",
    }


BAD_QUERY = """\
rules:
  - id: broken
    title: Broken
    category: test
    severity: high
    query: '(drone OR jet NEAR/12 airspace'
"""

BAD_BLOCK_QUERY = """\
rules:
  - id: broken-block
    title: Broken
    category: test
    severity: high
    query: >
      (drone OR jet)
      NEAR/12 (airspace OR OR x)
"""


@pytest.mark.parametrize(
    ("text", "location", "fragments"),
    [
        (
            BAD_QUERY,
            "pack.yaml:6:13:",
            ["rule broken", "query", "missing ')'", "(column 1 of the query)"],
        ),
        (
            BAD_BLOCK_QUERY,
            "pack.yaml:8:28:",
            ["rule broken-block", "unexpected 'OR'", "(column 37 of the query)"],
        ),
        (
            MINIMAL.replace("severity: high", "severity: urgent"),
            "pack.yaml:5:15:",
            ["rule drone-airspace-incursion", "severity", "'info'"],
        ),
        (
            MINIMAL.replace("    query:", "    querry: x\n    query:"),
            "pack.yaml:6:13:",
            ["querry", "Extra inputs"],
        ),
        (
            MINIMAL.replace("id: drone-airspace-incursion", "id: Bad Id"),
            "pack.yaml:2:9:",
            ["rule Bad Id", "id"],
        ),
        ("rules: {}\n", "pack.yaml:1:1:", ["a mapping with a 'rules:' list"]),
        ("- just\n- a list\n", "pack.yaml:1:1:", ["a mapping with a 'rules:' list"]),
        ("rules: [\n", "pack.yaml:2:1:", ["invalid YAML"]),
        (MINIMAL + "extra: 1\n", "pack.yaml:7:8:", ["unknown key 'extra'"]),
        (
            "defaults: &d {severity: high}\n" + MINIMAL,
            "pack.yaml:1:11:",
            ["anchors and aliases"],
        ),
        (
            MINIMAL.replace("query: '", "query: 'regex:/(a)\\1/ OR "),
            "pack.yaml:6:13:",
            ["RE2 cannot compile"],
        ),
        (
            MINIMAL + "    where: abs(change_pct >= 2\n",
            "pack.yaml:7:12:",
            ["where:", "column 16"],
        ),
        (
            MINIMAL + "    where: spread > previous(extreme)\n",
            "pack.yaml:7:12:",
            ["where:", "column 19", "price or spread"],
        ),
        (
            MINIMAL + "    extract: [price]\n    where: spread - previous(spread) >= 2\n",
            "pack.yaml:8:12:",
            ["reads the history of spread", "add spread to extract"],
        ),
        (
            MINIMAL + "    where: change_pct_since(price, 24h) < -5\n"
            "    alert: {policy: threshold, group_by: entity}\n",
            "pack.yaml:8:42:",
            ["alert.group_by", "groups its detections by series"],
        ),
        (
            MINIMAL + "    entities: {any: [Russia]}\n",
            "pack.yaml:7:21:",
            ["'Russia' is not an entity id"],
        ),
        (
            MINIMAL + MINIMAL.split("rules:\n")[1],
            "pack.yaml: rule drone-airspace-incursion",
            ["already used in pack.yaml"],
        ),
    ],
)
def test_problems_are_located(text: str, location: str, fragments: list[str]) -> None:
    """Each problem names the file, line and column, the rule, and what is wrong."""
    with pytest.raises(RulePackError) as caught:
        load_pack_text(text, name="pack.yaml")
    [problem] = caught.value.problems
    assert problem.startswith(location), problem
    for fragment in fragments:
        assert fragment in problem, problem


def test_query_error_shows_a_caret_under_the_column() -> None:
    """A malformed query is shown with a caret under the faulty character."""
    with pytest.raises(RulePackError) as caught:
        load_pack_text(BAD_BLOCK_QUERY, name="pack.yaml")
    query_line, caret = caught.value.problems[0].split("\n")[1:3]
    assert query_line.strip().startswith("(drone OR jet) NEAR/12")
    assert query_line[caret.index("^") : caret.index("^") + 2] == "OR"


def test_all_problems_of_all_files_are_reported(tmp_path: Path) -> None:
    """Loading a directory reports every problem of every file at once."""
    (tmp_path / "a.yaml").write_text(BAD_QUERY)
    (tmp_path / "b.yaml").write_text(MINIMAL.replace("severity: high", "severity: urgent"))
    with pytest.raises(RulePackError) as caught:
        load_packs(tmp_path)
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("2 problems in the rule packs")
    assert isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        (lambda d: d / "missing.yaml", "no such rule pack"),
        (lambda d: d, "no rule packs"),
    ],
)
def test_missing_paths(tmp_path: Path, setup: object, fragment: str) -> None:
    """A missing file or an empty directory is a ConfigError saying so."""
    path = setup(tmp_path)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=fragment):
        load_packs(path)


def test_size_cap(tmp_path: Path) -> None:
    """Packs larger than the cap are refused before parsing."""
    big = tmp_path / "big.yaml"
    big.write_text(MINIMAL + "#" * MAX_PACK_BYTES)
    with pytest.raises(RulePackError, match="more than the"):
        load_packs(big)
    with pytest.raises(RulePackError, match="more than the"):
        load_pack_text(MINIMAL + "#" * MAX_PACK_BYTES, name="big")


def test_unsafe_yaml_is_refused() -> None:
    """Python object tags are not constructed (safe loading)."""
    with pytest.raises(RulePackError, match="invalid YAML"):
        load_pack_text("rules: !!python/object/apply:os.system ['true']\n", name="evil")
