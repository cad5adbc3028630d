"""The settings object: environment, prefix, topic names, secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas import Settings


def test_env_prefix_and_topic_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """WIREWATCH_ variables are read and the topic prefix applies to every topic."""
    monkeypatch.setenv("WIREWATCH_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("WIREWATCH_TOPIC_PREFIX", "prod.")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.bootstrap_servers == "kafka:9092"
    assert not settings.uses_local_broker
    assert settings.topics.articles == "prod.articles"
    assert settings.topics.articles_dlq == "prod.articles.dlq"


def test_local_broker_by_default(unit_settings: Settings) -> None:
    """Without a bootstrap address the local broker on 127.0.0.1 serves."""
    assert unit_settings.uses_local_broker
    assert unit_settings.bootstrap_servers == "127.0.0.1:19092"


def test_secret_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SASL password is a SecretStr: repr and dumps show stars."""
    monkeypatch.setenv("WIREWATCH_KAFKA_SASL_PASSWORD", "hunter2-secret")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in settings.model_dump_json()


def test_settings_are_frozen(unit_settings: Settings) -> None:
    """Settings cannot be changed after they are built."""
    with pytest.raises(ValidationError):
        unit_settings.partitions = 3  # type: ignore[misc]
