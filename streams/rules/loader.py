"""Loading rule packs from YAML: safe, size-capped, and with errors that point at the line.

A pack is a YAML mapping with a ``rules:`` list (and optionally a ``name:``).
YAML anchors and aliases are refused (they let a small file expand into a
huge one), and so is anything but plain data. Every problem is reported as
``file:line:column: rule <id>: <what is wrong>``; a malformed query also
shows the query with a caret under the faulty column.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from schemas import ConfigError
from schemas.rules import RulePack, RuleSpec
from streams.rules.conditions import compile_condition
from streams.rules.matcher import compile_regex
from streams.rules.query import QuerySyntaxError, Regex, parse_query, terms_of

MAX_PACK_BYTES: Final = 1_000_000
PACK_SUFFIXES: Final = (".yaml", ".yml")
_ENTITY_ID: Final = re.compile(r"^[a-z_]+:\S+$")
_PACK_KEYS: Final = frozenset({"name", "rules"})
# What decides whether and how a rule fires; editing a title, examples or the
# alert policy keeps the rule's version (and so its detections' keys).
_VERSIONED_FIELDS: Final = (
    "id",
    "category",
    "severity",
    "query",
    "queries",
    "fields",
    "language",
    "entities",
    "extract",
    "where",
    "min_score",
)


class RulePackError(ConfigError):
    """One or more rule packs are invalid; ``problems`` holds one located message each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = (
            "1 problem in the rule packs" if count == 1 else f"{count} problems in the rule packs"
        )
        super().__init__(heading + ":\n" + "\n".join(self.problems))


class _Problem(Exception):
    """One located problem found while loading a pack (collected, then raised together)."""


class _PackLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors and aliases."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (&name, *name) are not allowed in rule packs",
                problem_mark=mark,
            )
        return super().compose_node(parent, index)


def rule_version(rule: RuleSpec) -> str:
    """Return a short hash of what decides whether and how ``rule`` fires."""
    content = rule.model_dump(mode="json", include=set(_VERSIONED_FIELDS))
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def ruleset_version(packs: Sequence[RulePack]) -> str:
    """Return a stable hash of the packs' names and rules (not where they were read from)."""
    content = [
        {"name": pack.name, "rules": [rule.model_dump(mode="json") for rule in pack.rules]}
        for pack in packs
    ]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def pack_files(paths: Path | Sequence[Path]) -> list[Path]:
    """Return the pack files at ``paths``: files as given, directories searched recursively.

    Raises:
        ConfigError: a path does not exist, or a directory holds no pack.
    """
    found: list[Path] = []
    for path in [paths] if isinstance(paths, Path) else paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in PACK_SUFFIXES and p.is_file())
            if not files:
                raise ConfigError(f"{path}: no rule packs (*.yaml, *.yml) in this directory")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such rule pack file or directory")
    return found


def load_packs(paths: Path | Sequence[Path]) -> list[RulePack]:
    """Load every rule pack at ``paths`` (a file or a directory, searched recursively).

    Raises:
        RulePackError: any pack is invalid; every problem of every file is listed.
    """
    problems: list[str] = []
    packs: list[RulePack] = []
    for path in pack_files(paths):
        try:
            size = path.stat().st_size
            if size > MAX_PACK_BYTES:
                problems.append(f"{path}: {size} bytes, more than the {MAX_PACK_BYTES} allowed")
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        pack, found = _load(text, name=path.stem, source=str(path))
        problems.extend(found)
        if pack is not None:
            packs.append(pack)
    problems.extend(_duplicates(packs))
    if problems:
        raise RulePackError(problems)
    return packs


def load_pack_text(text: str, *, name: str) -> RulePack:
    """Load one pack from YAML ``text``; ``name`` names it in errors.

    Raises:
        RulePackError: the pack is invalid.
    """
    size = len(text.encode())
    if size > MAX_PACK_BYTES:
        raise RulePackError([f"{name}: {size} bytes, more than the {MAX_PACK_BYTES} allowed"])
    pack, problems = _load(text, name=name, source=name)
    problems.extend(_duplicates([pack] if pack else []))
    if problems or pack is None:
        raise RulePackError(problems)
    return pack


def _duplicates(packs: Iterable[RulePack]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for pack in packs:
        for rule in pack.rules:
            if rule.id in seen:
                problems.append(
                    f"{pack.source or pack.name}: rule {rule.id}: the id is already used in {seen[rule.id]}"
                )
            else:
                seen[rule.id] = pack.source or pack.name
    return problems


def _load(text: str, *, name: str, source: str) -> tuple[RulePack | None, list[str]]:
    loader = _PackLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        return None, [f"{where}: invalid YAML: {exc.problem or exc.context}"]
    except yaml.YAMLError as exc:
        return None, [f"{source}: invalid YAML: {exc}"]
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return None, [f"{source}:1:1: a rule pack is a mapping with a 'rules:' list"]
    assert isinstance(root, yaml.MappingNode)
    problems = [
        f"{_where(source, root, (key,))}: unknown key {key!r} (expected: name, rules)"
        for key in data
        if key not in _PACK_KEYS
    ]
    rules: list[RuleSpec] = []
    lines = text.splitlines()
    for index, raw in enumerate(data["rules"]):
        try:
            rules.append(_rule(raw, root, index, source, lines))
        except _Problem as exc:
            problems.extend(exc.args)
    pack_name = data.get("name", name)
    if not isinstance(pack_name, str) or not pack_name:
        problems.append(f"{_where(source, root, ('name',))}: name must be a non-empty string")
    if problems:
        return None, problems
    return RulePack(name=pack_name, source=source, rules=tuple(rules)), []


def _rule(raw: object, root: yaml.Node, index: int, source: str, lines: list[str]) -> RuleSpec:
    path: tuple[str | int, ...] = ("rules", index)
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    label = f"rule {rule_id}" if isinstance(rule_id, str) else f"rule #{index + 1}"
    if not isinstance(raw, dict):
        raise _Problem(
            f"{_where(source, root, path)}: {label}: a rule is a mapping (id, title, ...)"
        )
    try:
        rule = RuleSpec.model_validate(raw)
    except ValidationError as exc:
        raise _Problem(
            *(
                f"{_where(source, root, path + tuple(err['loc']))}: {label}: "
                f"{'.'.join(str(p) for p in err['loc']) or 'rule'}: {err['msg']}"
                for err in exc.errors()
            )
        ) from None
    problems: list[str] = []
    queries: list[tuple[tuple[str | int, ...], str]] = [(("query",), rule.query)]
    queries.extend((("queries", lang), text) for lang, text in rule.queries.items())
    for key, text in queries:
        node = _node_at(root, path + key)
        name = ".".join(str(k) for k in key)
        try:
            tree = parse_query(text)
        except QuerySyntaxError as exc:
            line, column = _locate(node, lines, exc.column - 1)
            problems.append(
                f"{source}:{line}:{column}: {label}: {name}: {exc.message} "
                f"(column {exc.column} of the query)\n{_indent(exc.caret())}"
            )
            continue
        for leaf in terms_of(tree):
            if isinstance(leaf, Regex):
                try:
                    compile_regex(leaf.pattern)
                except ValueError as exc:
                    line, column = _locate(node, lines, leaf.column - 1)
                    problems.append(f"{source}:{line}:{column}: {label}: {name}: {exc}")
    if rule.where is not None:
        try:
            condition = compile_condition(rule.where)
        except ConfigError as exc:
            first, _, rest = str(exc).partition("\n")
            problems.append(
                f"{_where(source, root, (*path, 'where'))}: {label}: where: {first}"
                + (f"\n{_indent(rest)}" if rest else "")
            )
        else:
            problems.extend(
                f"{_where(source, root, (*path, *key))}: {label}: {message}"
                for key, message in change_rule_problems(rule, condition.level)
            )
    for kind in ("any", "all", "none"):
        for entity in getattr(rule.entities, kind):
            if not _ENTITY_ID.match(entity):
                problems.append(
                    f"{_where(source, root, (*path, 'entities', kind))}: {label}: entities.{kind}: "
                    f"{entity!r} is not an entity id like country:RU or commodity:brent"
                )
    if problems:
        raise _Problem(*problems)
    return rule


def change_rule_problems(rule: RuleSpec, level: str | None) -> list[tuple[tuple[str, ...], str]]:
    """Why a rule whose ``where`` reads the history of ``level`` cannot work as written.

    Returns (path of the offending key in the rule, message) pairs; none when
    ``level`` is None (no history read) or the rule is fine. A change rule's
    detections are compared with their series where its history lives, so
    they are grouped by series, and the rule must extract that level.
    """
    if level is None:
        return []
    problems: list[tuple[tuple[str, ...], str]] = []
    if rule.alert.policy == "spike":
        return [
            (
                ("alert", "policy"),
                f"alert.policy: a rule reading the history of {level} (previous, "
                "change_pct_since) cannot count a spike; use another policy",
            )
        ]
    if rule.extract and level not in rule.extract:
        problems.append(
            (
                ("where",),
                f"where: reads the history of {level}, which the rule does not extract: "
                f"add {level} to extract",
            )
        )
    if rule.alert.group_by != "story":
        problems.append(
            (
                ("alert", "group_by"),
                f"alert.group_by: a rule reading the history of {level} (previous, "
                "change_pct_since) groups its detections by series; remove group_by",
            )
        )
    return problems


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _node_at(root: yaml.Node, path: Sequence[str | int]) -> yaml.Node:
    """Return the deepest node of ``root`` along ``path`` (mapping keys, list indexes)."""
    node = root
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                    node = value
                    break
            else:
                return node
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            node = node.value[step]
        else:
            return node
    return node


def _where(source: str, root: yaml.Node, path: Sequence[str | int]) -> str:
    mark = _node_at(root, path).start_mark
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _locate(node: yaml.Node, lines: list[str], offset: int) -> tuple[int, int]:
    """Return the 1-based file line and column of character ``offset`` of a scalar's value.

    Exact for one-line scalars and for folded or literal blocks; multi-line
    plain or quoted scalars are walked line by line the same way.
    """
    mark = node.start_mark
    style = getattr(node, "style", None)
    if style in (">", "|"):
        line_index, first_column = mark.line + 1, None
    else:
        line_index, first_column = mark.line, mark.column + (1 if style in ("'", '"') else 0)
    while line_index < len(lines):
        raw = lines[line_index]
        start = first_column if first_column is not None else len(raw) - len(raw.lstrip())
        content = raw[start:].rstrip()
        if offset <= len(content) or line_index + 1 >= len(lines):
            return line_index + 1, start + offset + 1
        offset -= len(content) + 1
        line_index, first_column = line_index + 1, None
    return mark.line + 1, mark.column + 1
