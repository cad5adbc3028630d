"""Grouping on the wire, and silences: honoured by the notifier, managed by the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.silence_admin import read_silences, write_silence
from alerts.silences import new_silence, parse_matcher
from schemas import Settings
from schemas.audit import audit_event
from schemas.silences import Silence
from tests.integration.alerts.conftest import (
    counter,
    notifier_settings,
    produce,
    running_notifier,
    wait_until,
    write_routes,
)
from tests.support.servers import Webhook
from tests.unit.alerts.factories import make_alert
from wirewatch.cli import main


async def save(settings: Settings, silence: Silence) -> None:
    """Write ``silence`` (and its audit event) as the command line does."""
    event = audit_event("silence.added", f"silence:{silence.id}", actor="test", via="cli")
    await write_silence(settings, silence, event)


def hook_routes(tmp_path: Path, group_wait: str) -> Path:
    return write_routes(
        tmp_path / "routes.yaml",
        {"hook": {"template": "text"}},
        {"receiver": "hook", "group_by": ["category"], "group_wait": group_wait},
    )


async def test_fifty_alerts_within_group_wait_make_one_notification(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """50 alerts of one group within group_wait produce one notification listing all 50."""
    settings = notifier_settings(
        kafka_settings, hook_routes(tmp_path, "3s"), {"hook": [webhook.url("hook")]}
    )
    alerts = [make_alert() for _ in range(50)]
    async with running_notifier(settings) as notifier:
        await produce(settings, alerts)
        await wait_until(lambda: len(webhook.accepted.get("hook", [])) >= 1, what="the group")
        await wait_until(
            lambda: (
                counter(notifier, "wirewatch_notifier_alerts_delivered_total", receiver="hook")
                == 50
            ),
            what="50 alerts recorded",
        )
        grouped = counter(notifier, "wirewatch_notifier_alerts_grouped_total", receiver="hook")
        records = [notifier.recorded(a.key, "hook") for a in alerts]
    (payload,) = webhook.accepted["hook"]
    assert payload["title"] == "[HIGH] 50 stories: sanctions"
    assert all(a.headline in payload["message"] for a in alerts)
    assert grouped == 49
    assert {r.status for r in records if r} == {"delivered"}
    assert len({r.notification_id for r in records if r}) == 1


async def test_silence_suppresses_and_records(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """A silenced alert is not sent but recorded as silenced; others pass."""
    settings = notifier_settings(
        kafka_settings, hook_routes(tmp_path, "0s"), {"hook": [webhook.url("hook")]}
    )
    silence = new_silence(
        [parse_matcher("category=sanctions")], timedelta(hours=2), "known story", "test"
    )
    await save(settings, silence)
    silenced = [make_alert() for _ in range(3)]
    passing = make_alert(category="oil")
    async with running_notifier(settings) as notifier:
        await produce(settings, [*silenced, passing])
        await wait_until(lambda: len(webhook.accepted.get("hook", [])) == 1, what="the oil alert")
        await wait_until(
            lambda: (
                counter(notifier, "wirewatch_notifier_alerts_silenced_total", receiver="hook") == 3
            ),
            what="3 silenced",
        )
        records = [notifier.recorded(a.key, "hook") for a in silenced]
    assert all(r is not None and r.status == "silenced" and silence.id in r.detail for r in records)
    assert "oil" in webhook.accepted["hook"][0]["message"]


def test_silence_commands(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`silence add`, `list` and `expire` round-trip through the compacted topic."""
    monkeypatch.setenv("WIREWATCH_KAFKA_BOOTSTRAP", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("WIREWATCH_TOPIC_PREFIX", kafka_settings.topic_prefix)
    assert (
        main(
            [
                "silence",
                "add",
                "--match",
                "category=sanctions",
                "--match",
                "severity=high",
                "--for",
                "2h",
                "--comment",
                "known story",
                "--author",
                "ana",
            ]
        )
        == 0
    )
    silence_id = capsys.readouterr().out.split()[0]
    assert main(["silence", "list"]) == 0
    listed = capsys.readouterr().out
    assert silence_id in listed
    assert "category=sanctions severity=high" in listed
    assert "by ana: known story" in listed
    assert main(["silence", "expire", silence_id]) == 0
    assert main(["silence", "list"]) == 0
    assert "no active silences" in capsys.readouterr().out
    assert main(["silence", "list", "--all"]) == 0
    assert "expired" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["silence", "add", "--match", "colour=red", "--for", "1h", "--comment", "x"], "--match"),
        (["silence", "add", "--match", "category=x", "--for", "soon", "--comment", "x"], "--for"),
        (
            ["silence", "add", "--match", "rule_id=~(a)\\1", "--for", "1h", "--comment", "x"],
            "RE2",
        ),
        (["silence", "expire", "nosuchid"], "no silence with id"),
    ],
)
def test_silence_command_mistakes(
    kafka_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    """User mistakes end in one `error:` line with what to do, not a traceback."""
    monkeypatch.setenv("WIREWATCH_KAFKA_BOOTSTRAP", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("WIREWATCH_TOPIC_PREFIX", kafka_settings.topic_prefix)
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:")
    assert message in err
    assert "Traceback" not in err


async def test_read_silences_sees_latest_version(kafka_settings: Settings) -> None:
    """Reading the compacted topic yields each silence once, in its latest version."""
    silence = new_silence([parse_matcher("tag=market")], timedelta(hours=1), "c", "me")
    await save(kafka_settings, silence)
    await save(kafka_settings, silence.model_copy(update={"comment": "changed"}))
    (found,) = await read_silences(kafka_settings)
    assert found.comment == "changed"


async def test_one_story_makes_one_notification_with_every_rule(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """Three rules of three categories on one story: one notification, one story, three rules."""
    settings = notifier_settings(
        kafka_settings, hook_routes(tmp_path, "2s"), {"hook": [webhook.url("hook")]}
    )
    story = [
        make_alert(story_id="s1", category=category, rule_id=f"rule-{category}", rule_title=title)
        for category, title in (
            ("airspace_violation", "Drones over Poland"),
            ("military_offensive", "Offensive near Pokrovsk"),
            ("peace_talks", "Kremlin offers talks"),
        )
    ]
    async with running_notifier(settings) as notifier:
        await produce(settings, story)
        await wait_until(
            lambda: all(notifier.recorded(a.key, "hook") for a in story), what="three records"
        )
        records = [notifier.recorded(a.key, "hook") for a in story]
    (payload,) = webhook.accepted["hook"]
    assert payload["title"] == f"[HIGH] {story[0].headline}"
    for title in ("Drones over Poland", "Offensive near Pokrovsk", "Kremlin offers talks"):
        assert title in payload["message"]
    assert {r.status for r in records if r} == {"delivered"}
    assert len({r.notification_id for r in records if r}) == 1
