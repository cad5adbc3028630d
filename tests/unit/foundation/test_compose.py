"""docker-compose.yml, validated offline (no Docker engine on these machines)."""

from __future__ import annotations

import json
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
    """The services built from the Wirewatch image (not Kafka, not Mailpit)."""
    return [(name, svc) for name, svc in _compose()["services"].items() if "build" in svc]


def _dotenv() -> dict[str, str]:
    """The variables .env.example sets, as docker compose reads them (no quotes, no comments)."""
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.startswith("WIREWATCH_")
    )
    return dict(pairs)


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
    used |= set(_dotenv())
    assert used, "no WIREWATCH_ variables found"
    assert used <= fields, f"unknown settings: {sorted(used - fields)}"


def test_dockerfile_entrypoint_is_wirewatch() -> None:
    """The one app image runs the wirewatch command, so compose commands are its arguments."""
    assert 'ENTRYPOINT ["wirewatch"]' in (ROOT / "Dockerfile").read_text()


def test_services_run_what_the_demo_runs() -> None:
    """Rules, workers, the notifier and the seed producer are the demo's own commands."""
    commands = {" ".join(service["command"][:2]) for _, service in _app_services()}
    assert {
        "topics create",
        "rules publish",
        "worker",
        "fetcher",
        "notifier",
        "produce seeds/articles",
    } <= {
        command if command.split()[0] in {"topics", "rules", "produce"} else command.split()[0]
        for command in commands
    }


def test_worker_scales_and_long_runners_have_health_checks() -> None:
    """The worker has no fixed name or host port (so --scale works); servers check health."""
    services = _compose()["services"]
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    for name in ("kafka", "worker", "fetcher", "notifier", "dashboard"):
        assert "healthcheck" in services[name], name
    assert "ports" not in services["fetcher"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")


def test_example_receivers_cover_the_example_routes(tmp_path: Path) -> None:
    """The notifier would start with .env.example: every receiver of seeds/routes.yaml has a URL."""
    from alerts.receivers import resolve_receivers
    from alerts.routing import load_routes

    env = _dotenv()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        receivers=json.loads(env["WIREWATCH_RECEIVERS"]),
        local_broker_home=tmp_path,
    )
    routes = load_routes(ROOT / "seeds" / "routes.yaml")
    receivers = resolve_receivers(settings, routes.receivers)
    assert set(receivers) == set(routes.receivers)
