"""Running the ``examples`` of rules: the texts each rule must and must not match.

An example is matched as an article whose title is the example's first line
and whose body is the whole text, so field-scoped queries (``title:(...)``)
can be exercised too. A rule with per-language ``queries`` is tried in its
base language (English) and in each of those languages; a ``match`` example
passes when the rule fires in any of them, a ``no_match`` when it fires in
none. Disabled rules are tested too: a rule should be right before it is
switched on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas import Article
from schemas.rules import RulePack, RuleSpec
from streams.rules.entities import Gazetteer
from streams.rules.ruleset import RuleSet


@dataclass(frozen=True, slots=True)
class ExampleResult:
    """One example of one rule, and whether the rule behaved as the example says."""

    pack: str
    rule_id: str
    expected: bool
    text: str
    fired: bool

    @property
    def passed(self) -> bool:
        """True when the rule fired exactly when the example says it should."""
        return self.fired == self.expected


def example_article(text: str, *, rule_id: str, number: int, language: str) -> Article:
    """Build the article an example text stands for (first line = title, all = body)."""
    title = text.strip().split("\n", 1)[0][:2_000] or "example"
    return Article(
        id=f"example/{rule_id}/{number}/{language}",
        source="rules-test",
        title=title,
        body=text,
        language=language,
    )


def example_languages(rule: RuleSpec) -> list[str]:
    """The article languages a rule's examples are tried in."""
    if rule.language:
        return [rule.language]
    return ["en", *(lang for lang in rule.queries if lang != "en")]


def run_examples(
    packs: Sequence[RulePack], *, gazetteer: Gazetteer | None = None
) -> list[ExampleResult]:
    """Run every example of every rule of ``packs``, in pack and rule order.

    Raises:
        RulePackError: the packs do not compile.
    """
    enabled = [
        pack.model_copy(
            update={
                "rules": tuple(rule.model_copy(update={"enabled": True}) for rule in pack.rules)
            }
        )
        for pack in packs
    ]
    ruleset = RuleSet.compile(enabled, gazetteer=gazetteer)
    results = []
    for pack in packs:
        for rule in pack.rules:
            cases = [(True, t) for t in rule.examples.match]
            cases += [(False, t) for t in rule.examples.no_match]
            for number, (expected, text) in enumerate(cases):
                fired = any(
                    rule.id in {d.rule_id for d in ruleset.evaluate(article)}
                    for article in (
                        example_article(text, rule_id=rule.id, number=number, language=lang)
                        for lang in example_languages(rule)
                    )
                )
                results.append(ExampleResult(pack.name, rule.id, expected, text, fired))
    return results
