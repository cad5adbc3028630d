"""ensure_topics waits until the topics it created show in the metadata (a fake admin client)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import schemas.kafka
from schemas import BrokerError, Settings
from schemas.kafka import TopicSpec, ensure_topics


class _Admin:
    """Creates every topic at once, and shows them after ``hidden_for`` metadata requests."""

    def __init__(self, hidden_for: int) -> None:
        self.hidden_for = hidden_for
        self.described = 0

    def __call__(self, **options: Any) -> _Admin:
        return self

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def list_topics(self) -> list[str]:
        return []

    async def create_topics(self, topics: list[Any]) -> Any:
        return SimpleNamespace(topic_errors=[(t.name, 0, None) for t in topics])

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        self.described += 1
        visible = self.described > self.hidden_for
        return [
            {"topic": n, "error_code": 0 if visible else 3, "partitions": [0, 1] if visible else []}
            for n in names
        ]


@pytest.fixture
def specs() -> list[TopicSpec]:
    return [TopicSpec("a", 2, {}), TopicSpec("b", 2, {})]


async def test_waits_until_created_topics_are_visible(
    unit_settings: Settings, specs: list[TopicSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two metadata requests without the topics, then with them: it returns after the third."""
    admin = _Admin(hidden_for=2)
    monkeypatch.setattr(schemas.kafka, "AIOKafkaAdminClient", admin)
    assert await ensure_topics(unit_settings, specs) == ["a", "b"]
    assert admin.described == 3


async def test_topics_never_visible_is_a_broker_error(
    unit_settings: Settings, specs: list[TopicSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cluster that never shows its new topics fails with the topics named, not a hang."""
    monkeypatch.setattr(schemas.kafka, "AIOKafkaAdminClient", _Admin(hidden_for=10**9))
    settings = unit_settings.model_copy(update={"send_timeout_s": 0.2})
    with pytest.raises(BrokerError, match=r"\['a', 'b'\]"):
        await ensure_topics(settings, specs)
