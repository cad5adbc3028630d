"""Factories shared by the engine's tests: rules, packs and compiled rule sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.rules import RulePack, RuleSpec
from streams.rules import RuleSet
from streams.rules.entities import Gazetteer


def make_rule(query: str = "drone", **fields: Any) -> RuleSpec:
    """A valid rule with ``query``; any other field can be given."""
    values: dict[str, Any] = {
        "id": "test-rule",
        "title": "Test rule",
        "category": "test",
        "severity": "high",
        "query": query,
    }
    values.update(fields)
    return RuleSpec(**values)


def compile_rules(*rules: RuleSpec, gazetteer: Gazetteer | None = None) -> RuleSet:
    """One pack of ``rules``, compiled."""
    return RuleSet.compile([RulePack(name="test", rules=rules)], gazetteer=gazetteer)


@pytest.fixture
def small_gazetteer() -> Gazetteer:
    """A few countries and commodities, enough for entity requirements and figures."""
    entries = [
        {"id": "country:RU", "name": "Russia", "kind": "country", "aliases": ["Russia", "Russian"]},
        {"id": "country:PL", "name": "Poland", "kind": "country", "aliases": ["Poland", "Polish"]},
        {"id": "commodity:brent", "name": "Brent", "kind": "commodity", "aliases": ["Brent"]},
        {"id": "commodity:urals", "name": "Urals", "kind": "commodity", "aliases": ["Urals"]},
    ]
    return Gazetteer.from_entries(("test", entry) for entry in entries)


@pytest.fixture
def matches(make_article: Callable[..., Any]) -> Callable[..., bool]:
    """``matches(query, title=..., body=...)``: does a one-rule set fire on that article?"""

    def check(query: str, **article: Any) -> bool:
        rules = compile_rules(make_rule(query))
        return bool(rules.evaluate(make_article(**article)))

    return check
