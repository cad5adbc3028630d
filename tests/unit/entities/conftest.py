"""Fixtures of the entity, number, condition and pack tests: the shipped gazetteer and packs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from schemas import Article
from streams.rules import RuleSet, load_packs
from streams.rules.entities import Gazetteer

SEEDS = Path(__file__).resolve().parents[3] / "seeds" / "entities"


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    """The gazetteer shipped in ``seeds/entities``."""
    return Gazetteer.load(SEEDS)


@pytest.fixture(scope="session")
def ruleset(gazetteer: Gazetteer) -> RuleSet:
    """The shipped packs compiled with the shipped gazetteer."""
    return RuleSet.compile(load_packs(SEEDS.parent / "rules"), gazetteer=gazetteer)


@pytest.fixture
def article() -> Callable[..., Article]:
    """Build an article from a body (and optionally a title)."""

    def make(body: str, title: str = "A headline", **fields: object) -> Article:
        return Article(id="a-1", source="example.org", title=title, body=body, **fields)  # type: ignore[arg-type]

    return make
