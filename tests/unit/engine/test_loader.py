"""Loading rule packs: the minimal form, and errors located by file, rule, line and column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schemas import ConfigError, Settings
from streams.rules import (
    RulePackError,
    RuleSet,
    SizeLimits,
    check_sizes,
    load_pack_text,
    load_packs,
    loader,
    query,
    ruleset,
    ruleset_version,
)
from streams.rules.loader import DEFAULT_LIMITS, pack_size

MAX_PACK_BYTES = DEFAULT_LIMITS.pack_bytes

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
        # issue 16, item 10: libyaml's parser, and still no aliases, merge keys or tags
        (
            MINIMAL.replace("category: airspace_violation", "category: &c airspace_violation"),
            "pack.yaml:4:15:",
            ["anchors and aliases"],
        ),
        (
            "x: &a [1]\n" + MINIMAL.replace("severity: high", "severity: high\n    tags: *a"),
            "pack.yaml:1:4:",
            ["anchors and aliases"],
        ),
        (
            "rules:\n  - <<: {id: a, title: A, category: test, severity: high}\n    query: x\n",
            "pack.yaml:2:5:",
            ["merge keys '<<' are not allowed"],
        ),
        (MINIMAL.replace("severity: high", "severity: !!str high"), "pack.yaml:5:15:", ["tags"]),
        (MINIMAL.replace("rules:", "rules: !custom"), "pack.yaml:1:8:", ["tags"]),
        (
            MINIMAL.replace("severity: high", "severity: high\n    severity: low"),
            "pack.yaml:6:5:",
            ["duplicate key 'severity'"],
        ),
        (MINIMAL + "---\n" + MINIMAL, "pack.yaml:7:1:", ["one YAML document"]),
        ("{[a]: b}\n", "pack.yaml:1:2:", ["a mapping key must be a plain value"]),
        # libyaml's parser refuses nesting deeper than 1,000; up to that, the walk and the
        # nodes composed to locate a problem stay within the stack
        ("rules: " + "[" * 2_000 + "]" * 2_000 + "\n", "pack.yaml:1:1007:", ["nesting depth"]),
        (
            MINIMAL + "    tags: " + "[" * 990 + "x" + "]" * 990 + "\n",
            "pack.yaml:7:12:",
            ["tags.0: Input should be a valid string"],
        ),
        # issue 16, item 5: with no field to search, NOT football fired on football
        (MINIMAL + "    fields: []\n", "pack.yaml:7:13:", ["fields", "at least 1 item"]),
        # issue 16, item 1: a 600 KB word used to pass, then crash the process
        (
            MINIMAL.replace("query: '", "query: '" + "x" * 600_000 + " OR "),
            "pack.yaml:6:10013:",
            ["the query is 600092 characters long; at most 10000"],
        ),
        (
            MINIMAL.replace("query: '", "query: '" + "x" * 5_000 + " OR "),
            "pack.yaml:6:13:",
            ["the word is 5000 characters long; at most 200"],
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
    with pytest.raises(RulePackError, match="WIREWATCH_RULES_MAX_PACK_BYTES"):
        load_packs(big)
    with pytest.raises(RulePackError, match="more than the"):
        load_pack_text(MINIMAL + "#" * MAX_PACK_BYTES, name="big")


def test_size_limits_come_from_the_settings(tmp_path: Path, unit_settings: Settings) -> None:
    """Each pack and the packs together are held to the settings' limits, each named."""
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(MINIMAL.replace("drone-airspace-incursion", name))
    size = (tmp_path / "a.yaml").stat().st_size
    limits = SizeLimits.from_settings(
        unit_settings.model_copy(update={"rules_max_pack_bytes": size})
    )
    assert len(load_packs(tmp_path, limits=limits)) == 2
    with pytest.raises(RulePackError, match="WIREWATCH_RULES_MAX_PACK_BYTES") as caught:
        load_packs(tmp_path, limits=SizeLimits(pack_bytes=size - 10, set_bytes=10 * size))
    assert len(caught.value.problems) == 2
    with pytest.raises(RulePackError, match=r"the rule set \(2 packs at .*MAX_SET_BYTES"):
        load_packs(tmp_path, limits=SizeLimits(pack_bytes=size, set_bytes=2 * size - 10))


def test_packs_from_the_rules_topic_are_held_to_the_limits() -> None:
    """Packs that arrive as models are measured as their JSON, one by one and together."""
    pack = load_pack_text(MINIMAL, name="air")
    size = pack_size(pack)
    check_sizes([pack, pack], SizeLimits(pack_bytes=size, set_bytes=2 * size))
    with pytest.raises(RulePackError, match="MAX_PACK_BYTES"):
        check_sizes([pack], SizeLimits(pack_bytes=size - 1, set_bytes=2 * size))
    with pytest.raises(RulePackError, match=r"the rule set \(2 packs\).*MAX_SET_BYTES"):
        check_sizes([pack, pack], SizeLimits(pack_bytes=size, set_bytes=2 * size - 1))


def test_each_query_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading then compiling parses every query once (it used to be twice)."""
    (tmp_path / "a.yaml").write_text(MINIMAL)
    parsed: list[str] = []
    real = query.parse_query

    def counting(text: str) -> query.Node:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(loader, "parse_query", counting)
    monkeypatch.setattr(ruleset, "parse_query", counting)
    packs = load_packs(tmp_path)
    RuleSet.compile(packs)
    assert len(parsed) == 1
    RuleSet.compile(list(packs))  # plain packs (as from the rules topic) are parsed
    assert len(parsed) == 2


def test_a_huge_term_is_refused_not_a_crash(tmp_path: Path) -> None:
    """`rules check` on a 600 KB word exits 1 with a located error (it segfaulted, issue 16)."""
    pack = tmp_path / "huge.yaml"
    pack.write_text(MINIMAL.replace("query: '", "query: '" + "x" * 600_000 + " OR "))
    command = "from wirewatch.cli import main; raise SystemExit(main())"
    done = subprocess.run(
        [sys.executable, "-c", command, "rules", "check", str(pack)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "the query is 600092 characters long" in done.stderr


def test_unsafe_yaml_is_refused() -> None:
    """Python object tags are not constructed (safe loading)."""
    with pytest.raises(RulePackError, match="invalid YAML"):
        load_pack_text("rules: !!python/object/apply:os.system ['true']\n", name="evil")
