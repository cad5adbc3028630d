"""Fixtures for integration tests: a real Kafka broker and per-test topics.

The broker is the configured cluster (``WIREWATCH_KAFKA_BOOTSTRAP``) or the
local one, started here when it is not running. A broker that cannot be
started fails the tests: they never skip, so CI cannot go green without Kafka.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas import Settings
from wirewatch.broker import LocalBroker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration as needing Kafka."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The bootstrap address of a running broker for the whole session."""
    settings = Settings()
    if not settings.uses_local_broker:
        yield settings.bootstrap_servers
        return
    broker = LocalBroker(settings)
    started_here = broker.pid() is None
    broker.start()  # raises BrokerError with the broker's log: a failure, never a skip
    yield broker.bootstrap
    if started_here:
        broker.stop()


@pytest.fixture
def kafka_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings on the session's broker with topic names unique to this test."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}.",
        partitions=3,
    )
