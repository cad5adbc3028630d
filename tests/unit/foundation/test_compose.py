"""docker-compose.yml, validated offline (no Docker engine on these machines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from schemas import Settings
from wirewatch.cli import cli

ROOT = Path(__file__).resolve().parents[3]


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _app_services() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, svc)
        for name, svc in _compose()["services"].items()
        if svc.get("image") != _compose()["services"]["kafka"]["image"]
    ]


def _resolve(argv: list[str]) -> click.Command:
    command: click.Command = cli
    for word in argv:
        if word.startswith("-") or not isinstance(command, click.Group):
            break
        sub = command.commands.get(word)
        assert sub is not None, f"`wirewatch {' '.join(argv)}`: no command {word!r}"
        command = sub
    assert not isinstance(command, click.Group), (
        f"`wirewatch {' '.join(argv)}` names a group, not a command"
    )
    return command


def test_kafka_is_official_kraft_image() -> None:
    """The broker is the official apache/kafka image in KRaft mode, with a health check."""
    kafka = _compose()["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "healthcheck" in kafka


@pytest.mark.parametrize(("name", "service"), _app_services(), ids=[n for n, _ in _app_services()])
def test_app_service_runs_a_real_wirewatch_command(name: str, service: dict[str, Any]) -> None:
    """Every app service uses the Wirewatch image and runs a command the CLI has."""
    assert service["build"] == "."
    _resolve(service["command"])


def test_environment_names_are_settings() -> None:
    """Every WIREWATCH_ variable in the compose file and .env.example is a real setting."""
    fields = {f"WIREWATCH_{name.upper()}" for name in Settings.model_fields}
    used: set[str] = set()
    for _, service in _app_services():
        used |= {k for k in service.get("environment", {}) if k.startswith("WIREWATCH_")}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("WIREWATCH_"):
            used.add(line.split("=", 1)[0])
    assert used, "no WIREWATCH_ variables found"
    assert used <= fields, f"unknown settings: {sorted(used - fields)}"


def test_dockerfile_entrypoint_is_wirewatch() -> None:
    """The one app image runs the wirewatch command, so compose commands are its arguments."""
    assert 'ENTRYPOINT ["wirewatch"]' in (ROOT / "Dockerfile").read_text()
