"""The compiled rule set: every enabled rule, matched against an article in one pass.

:meth:`RuleSet.compile` turns rule packs into one :class:`~streams.rules.matcher.Matcher`;
:meth:`RuleSet.evaluate` scans an article once, evaluates only the queries
whose terms occurred, then checks entity requirements and ``where``
conditions (computing entities and figures only for articles some query
matched), scores how much the article is about each matched rule's event
(:mod:`streams.rules.aboutness`), and explains every detection that reaches
its rule's ``min_score``. :meth:`RuleSet.judge` tells the whole story for one
rule, whether it fires or not.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple

from schemas import (
    Article,
    ConfigError,
    Detection,
    EntityMention,
    ExtractedValue,
    ScorePart,
    Span,
    TextField,
)
from schemas.rules import EntityRequirement, RulePack, RuleSpec
from streams.rules import aboutness
from streams.rules.conditions import Condition, compile_condition
from streams.rules.entities import Gazetteer
from streams.rules.explain import Evidence, evidence_spans, explain
from streams.rules.gc_pause import LONG_LIVED_RULES, gc_paused
from streams.rules.loader import (
    LoadedPacks,
    RulePackError,
    change_rule_problems,
    rule_version,
    ruleset_version,
)
from streams.rules.matcher import FIELD_BITS, ArticleScan, Matcher, Occurrence, compile_regex
from streams.rules.numbers import extract_values
from streams.rules.query import parse_query, regexes_of

_validate_detection: Final = Detection.__pydantic_validator__.validate_python


@dataclass(frozen=True, slots=True)
class _Query:
    """One query of a rule: the rule's ``query`` (``language`` None) or one of ``queries``."""

    rule: int
    language: str | None


@dataclass(frozen=True)
class _Rule:
    """A rule as compiled: its fields as a bit mask, its ``where`` parsed."""

    spec: RuleSpec
    mask: int
    language: str | None
    condition: Condition | None
    kinds: frozenset[str]

    @functools.cached_property
    def version(self) -> str:
        """The rule's :func:`rule_version`, hashed when a first detection needs it."""
        return rule_version(self.spec)

    # cached: read for every detection
    @functools.cached_property
    def needs_values(self) -> bool:
        """True when the rule's detections carry, or its condition reads, figures."""
        return bool(self.kinds) or self.condition is not None

    @functools.cached_property
    def needs_entities(self) -> bool:
        """True when the rule's ``entities`` names any entity (required or refused)."""
        requirement = self.spec.entities
        return bool(requirement.any or requirement.all or requirement.none)


class Verdict(NamedTuple):
    """Whether and why one rule fires on one article.

    ``matched``: a query of the rule matched in the article's language and the
    rule's fields. ``entities_met`` and ``condition_met`` are None when the
    rule requires no entities or has no ``where``. ``spans``, ``score`` and
    ``parts`` are the evidence and its aboutness score.

    A named tuple, immutable like a frozen dataclass: one is built for every
    detection, and a frozen dataclass's ``__init__`` costs five times as much.
    """

    rule_id: str
    matched: bool
    entities_met: bool | None
    condition_met: bool | None
    values: tuple[ExtractedValue, ...]
    spans: tuple[Span, ...]
    score: float
    parts: tuple[ScorePart, ...]
    min_score: float

    @property
    def fires(self) -> bool:
        """True when every test passed and the score reached the rule's ``min_score``."""
        return (
            self.matched
            and self.entities_met is not False
            and self.condition_met is not False
            and self.score >= self.min_score
        )


class ArticleFacts:
    """An article's entities, figures and body sentences, computed once, and only if asked.

    ``spans`` are the evidence spans made for the article's detections so far
    (:func:`~streams.rules.explain.evidence_spans`).
    """

    def __init__(self, article: Article, gazetteer: Gazetteer | None) -> None:
        self.article = article
        self.gazetteer = gazetteer
        self.spans: dict[Occurrence, Span] = {}
        self._mentions: tuple[EntityMention, ...] | None = None
        self._ids: frozenset[str] = frozenset()
        self._values: tuple[ExtractedValue, ...] | None = None
        self._body_starts: list[int] | None = None

    @property
    def mentions(self) -> tuple[EntityMention, ...]:
        if self._mentions is None:
            found = self.gazetteer.mentions(self.article) if self.gazetteer else ()
            self._mentions = found
            self._ids = frozenset(m.id for m in found)
        return self._mentions

    @property
    def entity_ids(self) -> frozenset[str]:
        _ = self.mentions
        return self._ids

    @property
    def values(self) -> tuple[ExtractedValue, ...]:
        if self._values is None:
            self._values = extract_values(self.article, self.mentions)
        return self._values

    @property
    def body_starts(self) -> list[int]:
        if self._body_starts is None:
            self._body_starts = aboutness.sentence_starts(self.article.body)
        return self._body_starts


def _requirement_met(requirement: EntityRequirement, ids: frozenset[str]) -> bool:
    """True when the entities ``ids`` satisfy a rule's ``entities: {any, all, none}``."""
    if requirement.any and ids.isdisjoint(requirement.any):
        return False
    if requirement.all and not ids.issuperset(requirement.all):
        return False
    return ids.isdisjoint(requirement.none)


def _applies(query: _Query, rule: _Rule, language: str | None) -> bool:
    """True when a query of a rule applies to an article in ``language``."""
    return query.language in (None, language) and rule.language in (None, language)


def primary_language(tag: str | None) -> str | None:
    """Return the primary subtag of a language tag: ``"uk-UA"`` -> ``"uk"``."""
    return tag.split("-")[0].lower() if tag else None


class RuleSet:
    """Rules compiled for matching; build with :meth:`compile`, then :meth:`evaluate`.

    Attributes:
        version: the content hash of the packs (:func:`ruleset_version`).
        rules: every rule by id, disabled ones included (they never fire).
    """

    def __init__(
        self,
        *,
        version: str,
        rules: Mapping[str, RuleSpec],
        compiled: Sequence[_Rule],
        queries: Sequence[_Query],
        matcher: Matcher,
        gazetteer: Gazetteer | None,
    ) -> None:
        self.version = version
        self.rules: Mapping[str, RuleSpec] = MappingProxyType(dict(rules))
        self.gazetteer = gazetteer
        self._compiled = tuple(compiled)
        self._conditions = {
            rule.spec.id: rule.condition for rule in self._compiled if rule.condition is not None
        }
        # the rules by id; a rule's version is hashed when first asked for, not here
        self._by_id = {rule.spec.id: rule for rule in self._compiled}
        spikes: dict[str, list[str]] = {}
        for rule in self._compiled:
            policy = rule.spec.alert
            if policy.policy == "spike" and policy.group_by == "category":
                spikes.setdefault(rule.spec.category, []).append(rule.spec.id)
        self._category_spikes = {category: tuple(ids) for category, ids in spikes.items()}
        self._queries = tuple(queries)
        self._matcher = matcher

    @classmethod
    def compile(
        cls,
        packs: Sequence[RulePack],
        *,
        gazetteer: Gazetteer | None = None,
        version: str | None = None,
    ) -> RuleSet:
        """Compile the enabled rules of ``packs`` into one rule set.

        Args:
            packs: the rule packs; when they are the :class:`LoadedPacks` of
                :func:`load_packs`, their queries are not parsed again.
            gazetteer: finds the entities rules require and detections carry;
                without it, rules with ``entities: {any: ...}`` or ``all`` never fire.
            version: the set's version when the caller knows it (the union of
                published packs); else the packs' content hash, which costs a
                serialisation of every rule.

        Raises:
            RulePackError: duplicate rule ids, or a query, regex or ``where``
                condition that does not compile.
        """
        with gc_paused(freeze=sum(len(pack.rules) for pack in packs) >= LONG_LIVED_RULES):
            return cls._compile(packs, gazetteer, version)

    @classmethod
    def _compile(
        cls, packs: Sequence[RulePack], gazetteer: Gazetteer | None, version: str | None
    ) -> RuleSet:
        rules: dict[str, RuleSpec] = {}
        problems: list[str] = []
        compiled: list[_Rule] = []
        queries: list[_Query] = []
        trees = []
        parsed = packs.trees if isinstance(packs, LoadedPacks) else {}
        masks: dict[tuple[TextField, ...], int] = {}  # rules share a few ``fields`` tuples
        for pack in packs:
            for spec in pack.rules:
                if spec.id in rules:
                    problems.append(f"{pack.name}: rule {spec.id}: the id is used twice")
                    continue
                rules[spec.id] = spec
                if not spec.enabled:
                    continue
                mask = masks.get(spec.fields)
                if mask is None:
                    mask = 0
                    for text_field in spec.fields:
                        mask |= FIELD_BITS[text_field.value]
                    masks[spec.fields] = mask
                for language, text in [(None, spec.query), *spec.queries.items()]:
                    tree = parsed.get(text)
                    if tree is None:
                        try:
                            tree = parse_query(text)
                            for leaf in regexes_of(text, tree):
                                compile_regex(leaf.pattern)
                        except ValueError as exc:  # QuerySyntaxError, or a regex RE2 refuses
                            name = f"queries.{language}" if language else "query"
                            problems.append(f"{pack.name}: rule {spec.id}: {name}: {exc}")
                            continue
                    trees.append(tree)
                    queries.append(_Query(len(compiled), primary_language(language)))
                condition = None
                if spec.where is not None:
                    try:
                        condition = compile_condition(spec.where, origin=f"rule {spec.id}")
                    except ConfigError as exc:
                        problems.append(f"{pack.name}: rule {spec.id}: where: {exc}")
                    else:
                        problems.extend(
                            f"{pack.name}: rule {spec.id}: {message}"
                            for _, message in change_rule_problems(spec, condition.level)
                        )
                compiled.append(
                    _Rule(
                        spec,
                        mask,
                        primary_language(spec.language),
                        condition,
                        frozenset(spec.extract),
                    )
                )
        if problems:
            raise RulePackError(problems)
        matcher = Matcher.build(trees)
        return cls(
            version=version or ruleset_version(packs),
            rules=rules,
            compiled=compiled,
            queries=queries,
            matcher=matcher,
            gazetteer=gazetteer,
        )

    def version_of(self, rule_id: str) -> str:
        """The version of an enabled rule (:func:`rule_version`); "" when unknown."""
        rule = self._by_id.get(rule_id)
        return rule.version if rule is not None else ""

    def category_spikes(self, category: str) -> tuple[str, ...]:
        """The spike rules counting every article of ``category`` (``group_by: category``)."""
        return self._category_spikes.get(category, ())

    def condition(self, rule_id: str) -> Condition | None:
        """The compiled ``where`` of an enabled rule; None when it has none (or is unknown)."""
        return self._conditions.get(rule_id)

    def evaluate(
        self,
        article: Article,
        *,
        story_id: str | None = None,
        facts: ArticleFacts | None = None,
        defer_history: bool = False,
    ) -> list[Detection]:
        """Return the detections of every rule that fires on ``article``, in rule order.

        Args:
            article: the article to match.
            story_id: the story the article belongs to; defaults to the article id.
            facts: the article's facts, to read them afterwards (story clustering
                uses the entities and figures the rules computed).
            defer_history: a rule whose ``where`` reads a series' history
                fires whenever the article reports a figure of that series,
                its condition left to the stage that holds the history (the
                stream workers, :mod:`streams.series`). Without it, the
                history is unknown and the rule fires when it may hold.
        """
        scan = self._matcher.scan(article)
        fired = self._fired(scan)
        if not fired:
            return []
        return self._explained(scan, fired, story_id, facts, defer_history=defer_history)

    def _explained(
        self,
        scan: ArticleScan,
        fired: dict[int, list[int]],
        story_id: str | None,
        facts: ArticleFacts | None,
        *,
        defer_history: bool,
    ) -> list[Detection]:
        """Judge the rules whose queries matched (:meth:`_fired`) and explain those that fire.

        The second half of :meth:`evaluate`, apart so that ``benchmarks/matcher.py`` can time it.
        """
        article = scan.article
        facts = facts if facts is not None else ArticleFacts(article, self.gazetteer)
        detections = []
        for rule_index in sorted(fired):
            verdict = self._judge(
                rule_index,
                fired[rule_index],
                scan,
                facts,
                thorough=False,
                defer_history=defer_history,
            )
            if verdict is not None and verdict.fires:
                rule = self._compiled[rule_index]
                evidence = explain(scan, verdict.spans)
                detections.append(
                    self._detection(article, rule, verdict, evidence, story_id, facts.mentions)
                )
        return detections

    def _fired(self, scan: ArticleScan) -> dict[int, list[int]]:
        """Return the rules whose queries match a scanned article: rule -> its queries that do."""
        matcher = self._matcher
        language = primary_language(scan.article.language)
        fired: dict[int, list[int]] = {}
        for index in matcher.candidates(scan):
            query = self._queries[index]
            rule = self._compiled[query.rule]
            if _applies(query, rule, language) and matcher.test(index, scan, rule.mask):
                fired.setdefault(query.rule, []).append(index)
        return fired

    def judge(self, article: Article, rule_id: str) -> Verdict:
        """Tell whether and why rule ``rule_id`` fires on ``article``, every test run.

        Raises:
            ConfigError: no rule has that id, or the rule is disabled.
        """
        spec = self.rules.get(rule_id)
        if spec is None:
            raise ConfigError(f"no rule {rule_id!r} in rule set {self.version}")
        rule_index = next(
            (i for i, rule in enumerate(self._compiled) if rule.spec.id == rule_id), None
        )
        if rule_index is None:
            raise ConfigError(f"rule {rule_id!r} is disabled (enabled: false)")
        rule = self._compiled[rule_index]
        scan = self._matcher.scan(article)
        language = primary_language(article.language)
        indexes = [
            index
            for index, query in enumerate(self._queries)
            if query.rule == rule_index
            and _applies(query, rule, language)
            and self._matcher.test(index, scan, rule.mask)
        ]
        verdict = self._judge(
            rule_index, indexes, scan, ArticleFacts(article, self.gazetteer), thorough=True
        )
        assert verdict is not None  # thorough judging always returns one
        return verdict

    def _judge(
        self,
        rule_index: int,
        indexes: Sequence[int],
        scan: ArticleScan,
        facts: ArticleFacts,
        *,
        thorough: bool,
        defer_history: bool = False,
    ) -> Verdict | None:
        """Run a rule's tests after its queries ``indexes`` matched.

        Not ``thorough``: None as soon as a test fails (the hot path), and the
        score only for rules that passed them. ``defer_history``: as for
        :meth:`evaluate`.
        """
        rule = self._compiled[rule_index]
        requirement = rule.spec.entities
        entities_met = None
        if rule.needs_entities:
            entities_met = _requirement_met(requirement, facts.entity_ids)
            if not entities_met and not thorough:
                return None
        values: tuple[ExtractedValue, ...] = ()
        condition_met = None
        if rule.needs_values:
            values = facts.values
            if rule.kinds:
                values = tuple(v for v in values if v.kind in rule.kinds)
            condition = rule.condition
            if condition is not None:
                if defer_history and condition.level is not None:
                    condition_met = any(v.kind == condition.level and v.series for v in values)
                else:
                    condition_met = condition.matches(values)
                if not condition_met and not thorough:
                    return None
        witness, mask = self._matcher.witness, rule.mask
        occurrences = (
            witness(indexes[0], scan, mask)  # most rules have one query
            if len(indexes) == 1
            else [occurrence for index in indexes for occurrence in witness(index, scan, mask)]
        )
        spans = evidence_spans(scan, occurrences, facts.spans)
        score: float = 0.0
        parts: tuple[ScorePart, ...] = ()
        if indexes:
            score, parts = aboutness.score(
                spans,
                facts.body_starts,
                figures=bool(rule.kinds and values),
                entities=bool(entities_met and (requirement.any or requirement.all)),
            )
        return Verdict(
            rule.spec.id,
            bool(indexes),
            entities_met,
            condition_met,
            values,
            spans,
            score,
            parts,
            rule.spec.min_score,
        )

    def _detection(
        self,
        article: Article,
        rule: _Rule,
        verdict: Verdict,
        evidence: Evidence,
        story_id: str | None,
        entities: tuple[EntityMention, ...],
    ) -> Detection:
        spec = rule.spec
        # validated from a dict in pydantic's core, as Detection(...) does after binding its
        # keyword arguments: one is built per detection, and that binding cost a microsecond
        detection: Detection = _validate_detection(
            {
                "key": f"{article.id}/{spec.id}@{rule.version}",
                "article_id": article.id,
                "story_id": story_id or article.id,
                "url": article.url,
                "source": article.source,
                "title": article.title,
                "published_at": article.published_at,
                "article_kind": article.kind,
                "found_on": article.found_on,
                "rule_id": spec.id,
                "rule_version": rule.version,
                "rule_title": spec.title,
                "category": spec.category,
                "severity": spec.severity,
                "tags": spec.tags,
                "spans": verdict.spans,
                "snippet": evidence.snippet,
                "snippet_highlights": evidence.highlights,
                "entities": entities,
                "values": verdict.values,
                "score": verdict.score,
                "score_parts": verdict.parts,
            }
        )
        return detection
