"""Loading rule packs from YAML: safe, size-capped, and with errors that point at the line.

A pack is a YAML mapping with a ``rules:`` list (and optionally a ``name:``).
It is read with libyaml's C parser into plain data (mappings, lists,
strings, numbers, booleans, null); anchors and aliases (they let a small
file expand into a huge one), merge keys, tags and duplicate keys are
refused, and so are packs and rule sets over their size limits
(:class:`SizeLimits`, from the settings). Every problem is reported as
``file:line:column: rule <id>: <what is wrong>``; a malformed query also
shows the query with a caret under the faulty column. The YAML nodes that
carry lines and columns are built only when there is a problem to locate.

Each query is parsed here, once: :func:`load_packs` returns the packs with
their syntax trees, which :meth:`~streams.rules.ruleset.RuleSet.compile`
uses instead of parsing again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from schemas import ConfigError, Settings
from schemas.rules import RulePack, RuleSpec
from streams.rules.conditions import compile_condition
from streams.rules.gc_pause import LONG_LIVED_RULES, gc_paused
from streams.rules.matcher import compile_regex
from streams.rules.query import Node, QuerySyntaxError, parse_query, regexes_of

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


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """Size caps of rule packs, in bytes: each pack, and every pack of a rule set together.

    A pack is counted as its YAML file, or, when it comes from the rules
    topic, as its JSON there.
    """

    pack_bytes: int
    set_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SizeLimits:
        """The limits ``WIREWATCH_RULES_MAX_PACK_BYTES`` and ``..._MAX_SET_BYTES`` set."""
        return cls(settings.rules_max_pack_bytes, settings.rules_max_set_bytes)


DEFAULT_LIMITS: Final = SizeLimits(
    Settings.model_fields["rules_max_pack_bytes"].default,
    Settings.model_fields["rules_max_set_bytes"].default,
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


class LoadedPacks(list[RulePack]):
    """Rule packs as :func:`load_packs` read them, with the syntax tree of each query.

    ``trees`` maps a query's text to its tree, so compiling does not parse
    it again; a plain list of packs compiles too, parsing its queries.
    """

    def __init__(
        self, packs: Iterable[RulePack] = (), trees: Mapping[str, Node] | None = None
    ) -> None:
        super().__init__(packs)
        self.trees: dict[str, Node] = dict(trees or {})


class _Problem(Exception):
    """One located problem found while loading a pack (collected, then raised together)."""


def rule_version(rule: RuleSpec) -> str:
    """Return a short hash of what decides whether and how ``rule`` fires."""
    content = rule.model_dump(mode="json", include=set(_VERSIONED_FIELDS))
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def ruleset_version(packs: Sequence[RulePack]) -> str:
    """Return a stable hash of the packs' names and rules (not where they were read from)."""
    digest = hashlib.sha256()
    for pack in packs:
        digest.update(pack.model_dump_json(exclude={"source"}).encode())
    return digest.hexdigest()[:16]


def pack_size(pack: RulePack) -> int:
    """Return the size of a pack that came as a model: its JSON on the rules topic, in bytes."""
    return len(pack.model_dump_json().encode())


def check_sizes(packs: Sequence[RulePack], limits: SizeLimits) -> None:
    """Refuse packs that arrived as models (the rules topic) over the size limits.

    Raises:
        RulePackError: a pack, or all of them together, is over its limit.
    """
    sizes = [(pack, pack_size(pack)) for pack in packs]
    problems = [
        _too_large(pack.source or pack.name, size, limits.pack_bytes, "PACK")
        for pack, size in sizes
        if size > limits.pack_bytes
    ]
    total = sum(size for _, size in sizes)
    if total > limits.set_bytes:
        problems.append(_too_large(f"the rule set ({len(packs)} packs)", total, limits.set_bytes))
    if problems:
        raise RulePackError(problems)


def _too_large(what: str, size: int, limit: int, kind: str = "SET") -> str:
    return (
        f"{what}: {size:,} bytes, more than the {limit:,} allowed "
        f"(WIREWATCH_RULES_MAX_{kind}_BYTES)"
    )


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


def load_packs(paths: Path | Sequence[Path], *, limits: SizeLimits = DEFAULT_LIMITS) -> LoadedPacks:
    """Load every rule pack at ``paths`` (a file or a directory, searched recursively).

    Raises:
        RulePackError: any pack is invalid, or the packs are over ``limits``;
            every problem of every file is listed.
    """
    problems: list[str] = []
    files = pack_files(paths)
    sizes: list[int] = []
    for path in files:
        try:
            sizes.append(path.stat().st_size)
        except OSError as exc:
            raise RulePackError([f"{path}: cannot read: {exc}"]) from None
    if sum(sizes) > limits.set_bytes:
        total = f"the rule set ({len(files)} packs at {', '.join(map(str, files[:3]))}"
        total += ", ...)" if len(files) > 3 else ")"
        raise RulePackError([_too_large(total, sum(sizes), limits.set_bytes)])
    packs = LoadedPacks()
    with gc_paused(freeze=False) as pause:
        for path, size in zip(files, sizes, strict=True):
            if size > limits.pack_bytes:
                problems.append(_too_large(str(path), size, limits.pack_bytes, "PACK"))
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: cannot read: {exc}")
                continue
            pack, found = _load(text, name=path.stem, source=str(path), trees=packs.trees)
            problems.extend(found)
            if pack is not None:
                packs.append(pack)
        problems.extend(_duplicates(packs))
        if problems:  # raised inside, so that nothing of a failed load is frozen
            raise RulePackError(problems)
        pause.freeze = sum(len(pack.rules) for pack in packs) >= LONG_LIVED_RULES
    return packs


def load_pack_text(text: str, *, name: str, limits: SizeLimits = DEFAULT_LIMITS) -> RulePack:
    """Load one pack from YAML ``text``; ``name`` names it in errors.

    Raises:
        RulePackError: the pack is invalid, or larger than ``limits.pack_bytes``.
    """
    size = len(text.encode())
    if size > limits.pack_bytes:
        raise RulePackError([_too_large(name, size, limits.pack_bytes, "PACK")])
    pack, problems = _load(text, name=name, source=name, trees={})
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


# --- YAML to plain data -----------------------------------------------------------

_STR_TAG: Final = "tag:yaml.org,2002:str"
_RESOLVER: Final = yaml.resolver.Resolver()
_UNSET: Final = object()


class _YamlProblem(Exception):
    """Something a rule pack may not contain, at the event ``at``."""

    def __init__(self, problem: str, at: yaml.Event) -> None:
        super().__init__(problem)
        self.problem = problem
        mark = at.start_mark
        self.line, self.column = (mark.line + 1, mark.column + 1) if mark else (1, 1)


_NO_ANCHORS: Final = "anchors and aliases (&name, *name) are not allowed in rule packs"
_NO_TAGS: Final = "tags (!!str, !name) are not allowed in rule packs"


def _plain_data(text: str) -> Any:
    """Build the data of a one-document YAML text from libyaml's parser events.

    Only plain data is built; no constructor of a tag ever runs. The events
    are walked here rather than composed into nodes by libyaml's C composer:
    that composer resolves each scalar in Python and makes a node with two
    marks of it, which costs as much as this whole walk, and it drops the
    anchors it has seen, so an anchor without an alias would pass.

    Raises:
        _YamlProblem: an anchor, alias, tag, merge key, duplicate key, a key
            that is a collection, or a second document.
        yaml.YAMLError: the text is not YAML.
    """
    root: Any = None
    documents = 0
    # the open collections, outer ones, each with the key awaiting its value; the
    # innermost in ``container`` and ``key`` (its list when it is one in ``items``)
    stack: list[tuple[Any, Any]] = []
    container: Any = None
    items: list[Any] | None = None
    key: Any = _UNSET
    resolvable = _RESOLVER.yaml_implicit_resolvers
    resolved: dict[str, Any] = {}  # plain scalars repeat (keys, true, 0.0); each is immutable
    parser = yaml.CSafeLoader(text)
    next_event = parser.get_event
    while True:
        event = next_event()
        value: Any
        if type(event) is yaml.ScalarEvent:
            value = event.value
            if event.anchor is not None or event.tag is not None:
                raise _YamlProblem(_NO_TAGS if event.anchor is None else _NO_ANCHORS, event)
            if event.implicit[0] and value[:1] in resolvable:
                known = resolved.get(value, _UNSET)
                if known is _UNSET:
                    known = resolved[value] = _scalar(event)
                value = known
        elif type(event) is yaml.MappingStartEvent or type(event) is yaml.SequenceStartEvent:
            if event.anchor is not None:
                raise _YamlProblem(_NO_ANCHORS, event)
            if event.tag is not None:
                raise _YamlProblem(_NO_TAGS, event)
            value = {} if type(event) is yaml.MappingStartEvent else []
        elif type(event) is yaml.MappingEndEvent or type(event) is yaml.SequenceEndEvent:
            container, key = stack.pop()
            items = container if type(container) is list else None
            continue
        elif type(event) is yaml.AliasEvent:
            raise _YamlProblem(_NO_ANCHORS, event)
        elif type(event) is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _YamlProblem("a rule pack is one YAML document ('---' starts another)", event)
            continue
        elif type(event) is yaml.StreamEndEvent:
            return root
        else:
            continue
        if items is not None:
            items.append(value)
        elif key is not _UNSET:
            container[key] = value
            key = _UNSET
        elif container is not None:
            if type(value) is dict or type(value) is list:
                raise _YamlProblem("a mapping key must be a plain value", event)
            if value in container:
                raise _YamlProblem(f"duplicate key {value!r}", event)
            key = value
            continue
        else:
            root = value
        if type(value) is dict or type(value) is list:
            stack.append((container, key))
            container, key = value, _UNSET
            items = value if type(value) is list else None


def _scalar(event: yaml.ScalarEvent) -> Any:
    """The value of a plain scalar that may be more than a string, resolved as PyYAML does."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
    if tag == _STR_TAG:
        return event.value
    construct = yaml.SafeLoader.yaml_constructors.get(tag)
    if tag == "tag:yaml.org,2002:merge" or construct is None:
        raise _YamlProblem(
            f"{event.value!r} is not a value here (merge keys '<<' are not allowed); quote it",
            event,
        )
    return construct(_SCALARS, yaml.ScalarNode(tag, event.value))


# builds booleans, numbers, null and timestamps from their scalar nodes (and nothing else)
_SCALARS: Final = yaml.constructor.SafeConstructor()


# --- packs and rules ----------------------------------------------------------------


class _Locator:
    """Says where a path of keys is in a pack's text; its YAML nodes are built on first use."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    @functools.cached_property
    def root(self) -> yaml.Node:
        # the text already loaded as plain data, so this cannot fail or expand
        root = yaml.compose(self.text, Loader=yaml.CSafeLoader)
        assert root is not None
        return root

    @functools.cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def __call__(self, path: Sequence[str | int]) -> str:
        """Return ``file:line:column`` of the node at ``path``."""
        mark = _node_at(self.root, path).start_mark
        return f"{self.source}:{mark.line + 1}:{mark.column + 1}"

    def within(self, path: Sequence[str | int], offset: int) -> str:
        """Return ``file:line:column`` of character ``offset`` of the scalar at ``path``."""
        line, column = _locate(_node_at(self.root, path), self.lines, offset)
        return f"{self.source}:{line}:{column}"


def _load(
    text: str, *, name: str, source: str, trees: dict[str, Node]
) -> tuple[RulePack | None, list[str]]:
    """Load one pack's text; the trees of its queries are added to ``trees``."""
    try:
        data = _plain_data(text)
    except _YamlProblem as exc:
        return None, [f"{source}:{exc.line}:{exc.column}: invalid YAML: {exc.problem}"]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        return None, [f"{where}: invalid YAML: {exc.problem or exc.context}"]
    except yaml.YAMLError as exc:
        return None, [f"{source}: invalid YAML: {exc}"]
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return None, [f"{source}:1:1: a rule pack is a mapping with a 'rules:' list"]
    locate = _Locator(text, source)
    problems = [
        f"{locate((key,))}: unknown key {key!r} (expected: name, rules)"
        for key in data
        if key not in _PACK_KEYS
    ]
    rules: list[RuleSpec] = []
    for index, raw in enumerate(data["rules"]):
        try:
            rules.append(_rule(raw, index, locate, trees))
        except _Problem as exc:
            problems.extend(exc.args)
    pack_name = data.get("name", name)
    if not isinstance(pack_name, str) or not pack_name:
        problems.append(f"{locate(('name',))}: name must be a non-empty string")
    if problems:
        return None, problems
    return RulePack(name=pack_name, source=source, rules=tuple(rules)), []


def _rule(raw: object, index: int, where: _Locator, trees: dict[str, Node]) -> RuleSpec:
    path: tuple[str | int, ...] = ("rules", index)
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    label = f"rule {rule_id}" if isinstance(rule_id, str) else f"rule #{index + 1}"
    if not isinstance(raw, dict):
        raise _Problem(f"{where(path)}: {label}: a rule is a mapping (id, title, ...)")
    try:
        rule = RuleSpec.model_validate(raw)
    except ValidationError as exc:
        raise _Problem(
            *(
                f"{where(path + tuple(err['loc']))}: {label}: "
                f"{'.'.join(str(p) for p in err['loc']) or 'rule'}: {err['msg']}"
                for err in exc.errors()
            )
        ) from None
    problems: list[str] = []
    queries: list[tuple[tuple[str | int, ...], str]] = [(("query",), rule.query)]
    queries.extend((("queries", lang), text) for lang, text in rule.queries.items())
    for key, text in queries:
        name = ".".join(str(k) for k in key)
        try:
            tree = trees[text] if text in trees else parse_query(text)
        except QuerySyntaxError as exc:
            problems.append(
                f"{where.within(path + key, exc.column - 1)}: {label}: {name}: {exc.message} "
                f"(column {exc.column} of the query)\n{_indent(exc.caret())}"
            )
            continue
        regex_problems = []
        for leaf in regexes_of(text, tree):
            try:
                compile_regex(leaf.pattern)
            except ValueError as exc:
                regex_problems.append(
                    f"{where.within(path + key, leaf.column - 1)}: {label}: {name}: {exc}"
                )
        problems.extend(regex_problems)
        if not regex_problems:
            trees[text] = tree
    if rule.where is not None:
        try:
            condition = compile_condition(rule.where)
        except ConfigError as exc:
            first, _, rest = str(exc).partition("\n")
            problems.append(
                f"{where((*path, 'where'))}: {label}: where: {first}"
                + (f"\n{_indent(rest)}" if rest else "")
            )
        else:
            problems.extend(
                f"{where((*path, *key))}: {label}: {message}"
                for key, message in change_rule_problems(rule, condition.level)
            )
    for kind in ("any", "all", "none"):
        for entity in getattr(rule.entities, kind):
            if not _ENTITY_ID.match(entity):
                problems.append(
                    f"{where((*path, 'entities', kind))}: {label}: entities.{kind}: "
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
