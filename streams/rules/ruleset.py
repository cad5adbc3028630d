"""The compiled rule set: every enabled rule, matched against an article in one pass.

:meth:`RuleSet.compile` turns rule packs into one :class:`~streams.rules.matcher.Matcher`;
:meth:`RuleSet.evaluate` scans an article once, evaluates only the queries
whose terms occurred, then checks entity requirements and ``where``
conditions (computing entities and figures only for articles some query
matched), and explains every detection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from schemas import Article, ConfigError, Detection, EntityMention, ExtractedValue
from schemas.rules import EntityRequirement, RulePack, RuleSpec
from streams.rules.conditions import Condition, compile_condition
from streams.rules.entities import Gazetteer
from streams.rules.explain import Evidence, explain
from streams.rules.loader import (
    RulePackError,
    change_rule_problems,
    rule_version,
    ruleset_version,
)
from streams.rules.matcher import FIELD_BITS, Matcher, compile_regex
from streams.rules.numbers import extract_values
from streams.rules.query import Regex, parse_query, terms_of


@dataclass(frozen=True, slots=True)
class _Query:
    """One query of a rule: the rule's ``query`` (``language`` None) or one of ``queries``."""

    rule: int
    language: str | None


@dataclass(frozen=True, slots=True)
class _Rule:
    """A rule as compiled: its fields as a bit mask, its ``where`` parsed."""

    spec: RuleSpec
    version: str
    mask: int
    language: str | None
    condition: Condition | None
    kinds: frozenset[str]

    @property
    def needs_values(self) -> bool:
        """True when the rule's detections carry, or its condition reads, figures."""
        return bool(self.kinds) or self.condition is not None


class _Facts:
    """An article's entities and figures, computed once, and only if a rule asks."""

    def __init__(self, article: Article, gazetteer: Gazetteer | None) -> None:
        self.article = article
        self.gazetteer = gazetteer
        self._mentions: tuple[EntityMention, ...] | None = None
        self._ids: frozenset[str] = frozenset()
        self._values: tuple[ExtractedValue, ...] | None = None

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


def _requirement_met(requirement: EntityRequirement, ids: frozenset[str]) -> bool:
    """True when the entities ``ids`` satisfy a rule's ``entities: {any, all, none}``."""
    if requirement.any and ids.isdisjoint(requirement.any):
        return False
    if requirement.all and not ids.issuperset(requirement.all):
        return False
    return ids.isdisjoint(requirement.none)


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
        self._versions = {rule.spec.id: rule.version for rule in self._compiled}
        spikes: dict[str, list[str]] = {}
        for rule in self._compiled:
            policy = rule.spec.alert
            if policy.policy == "spike" and policy.group_by == "category":
                spikes.setdefault(rule.spec.category, []).append(rule.spec.id)
        self._category_spikes = {category: tuple(ids) for category, ids in spikes.items()}
        self._queries = tuple(queries)
        self._matcher = matcher

    @classmethod
    def compile(cls, packs: Sequence[RulePack], *, gazetteer: Gazetteer | None = None) -> RuleSet:
        """Compile the enabled rules of ``packs`` into one rule set.

        Args:
            packs: the rule packs, as loaded.
            gazetteer: finds the entities rules require and detections carry;
                without it, rules with ``entities: {any: ...}`` or ``all`` never fire.

        Raises:
            RulePackError: duplicate rule ids, or a query, regex or ``where``
                condition that does not compile.
        """
        rules: dict[str, RuleSpec] = {}
        problems: list[str] = []
        compiled: list[_Rule] = []
        queries: list[_Query] = []
        trees = []
        for pack in packs:
            for spec in pack.rules:
                if spec.id in rules:
                    problems.append(f"{pack.name}: rule {spec.id}: the id is used twice")
                    continue
                rules[spec.id] = spec
                if not spec.enabled:
                    continue
                mask = 0
                for text_field in spec.fields:
                    mask |= FIELD_BITS[text_field.value]
                for language, text in [(None, spec.query), *spec.queries.items()]:
                    name = f"queries.{language}" if language else "query"
                    try:
                        tree = parse_query(text)
                        for leaf in terms_of(tree):
                            if isinstance(leaf, Regex):
                                compile_regex(leaf.pattern)
                    except ValueError as exc:  # QuerySyntaxError, or a regex RE2 refuses
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
                        rule_version(spec),
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
            version=ruleset_version(packs),
            rules=rules,
            compiled=compiled,
            queries=queries,
            matcher=matcher,
            gazetteer=gazetteer,
        )

    def version_of(self, rule_id: str) -> str:
        """The version of an enabled rule (:func:`rule_version`); "" when unknown."""
        return self._versions.get(rule_id, "")

    def category_spikes(self, category: str) -> tuple[str, ...]:
        """The spike rules counting every article of ``category`` (``group_by: category``)."""
        return self._category_spikes.get(category, ())

    def condition(self, rule_id: str) -> Condition | None:
        """The compiled ``where`` of an enabled rule; None when it has none (or is unknown)."""
        return self._conditions.get(rule_id)

    def evaluate(
        self, article: Article, *, story_id: str | None = None, defer_history: bool = False
    ) -> list[Detection]:
        """Return the detections of every rule that fires on ``article``, in rule order.

        Args:
            article: the article to match.
            story_id: the story the article belongs to; defaults to the article id.
            defer_history: a rule whose ``where`` reads a series' history
                fires whenever the article reports a figure of that series,
                its condition left to the stage that holds the history (the
                stream workers, :mod:`streams.series`). Without it, the
                history is unknown and the rule fires when it may hold.
        """
        matcher = self._matcher
        scan = matcher.scan(article)
        language = primary_language(article.language)
        fired: dict[int, list[int]] = {}
        for index in matcher.candidates(scan):
            query = self._queries[index]
            if query.language is not None and query.language != language:
                continue
            rule = self._compiled[query.rule]
            if rule.language is not None and rule.language != language:
                continue
            if matcher.test(index, scan, rule.mask):
                fired.setdefault(query.rule, []).append(index)
        if not fired:
            return []
        facts = _Facts(article, self.gazetteer)
        detections = []
        for rule_index in sorted(fired):
            rule = self._compiled[rule_index]
            requirement = rule.spec.entities
            if (requirement.any or requirement.all or requirement.none) and not _requirement_met(
                requirement, facts.entity_ids
            ):
                continue
            values: tuple[ExtractedValue, ...] = ()
            if rule.needs_values:
                values = facts.values
                if rule.kinds:
                    values = tuple(v for v in values if v.kind in rule.kinds)
                condition = rule.condition
                if condition is not None and condition.level is not None and defer_history:
                    if not any(v.kind == condition.level and v.series for v in values):
                        continue
                elif condition is not None and not condition.matches(values):
                    continue
            occurrences = [
                occurrence
                for index in fired[rule_index]
                for occurrence in matcher.witness(index, scan, rule.mask)
            ]
            evidence = explain(scan, occurrences)
            detections.append(
                self._detection(article, rule, evidence, story_id, facts.mentions, values)
            )
        return detections

    def _detection(
        self,
        article: Article,
        rule: _Rule,
        evidence: Evidence,
        story_id: str | None,
        entities: tuple[EntityMention, ...],
        values: tuple[ExtractedValue, ...],
    ) -> Detection:
        spec = rule.spec
        return Detection(
            key=f"{article.id}/{spec.id}@{rule.version}",
            article_id=article.id,
            story_id=story_id or article.id,
            url=article.url,
            source=article.source,
            title=article.title,
            published_at=article.published_at,
            article_kind=article.kind,
            found_on=article.found_on,
            rule_id=spec.id,
            rule_version=rule.version,
            rule_title=spec.title,
            category=spec.category,
            severity=spec.severity,
            tags=spec.tags,
            spans=evidence.spans,
            snippet=evidence.snippet,
            snippet_highlights=evidence.highlights,
            entities=entities,
            values=values,
            score=evidence.score,
        )
