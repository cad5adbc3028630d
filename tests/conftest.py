"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import Article, Settings
from wirewatch import logs


@pytest.fixture(autouse=True, scope="session")
def _uncached_loggers() -> None:
    """Commands run in-process configure logging; no logger may stay bound to that configuration."""
    logs.CACHE_LOGGERS = False


@pytest.fixture
def unit_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings that ignore the developer's environment and .env file."""
    for name in list(os.environ):
        if name.startswith("WIREWATCH_"):
            monkeypatch.delenv(name)
    return Settings(_env_file=None, local_broker_home=tmp_path / "kafka")  # type: ignore[call-arg]


@pytest.fixture
def make_article() -> Callable[..., Article]:
    """Factory of valid articles: ``make_article(body="...", title="...")``."""
    counter = iter(range(1_000_000))

    def make(**fields: Any) -> Article:
        n = next(counter)
        values: dict[str, Any] = {
            "id": f"article-{n}",
            "url": f"https://news.example.org/{n}",
            "source": "example.org",
            "title": "A headline",
            "body": "A body.",
            "published_at": datetime(2026, 11, 10, 9, 30, tzinfo=UTC),
        }
        values.update(fields)
        return Article(**values)

    return make
