"""The README's commands work as written: its runnable shell blocks, run against the test broker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import Settings

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
RUNNABLE = re.compile(r"<!-- runnable -->\n```sh\n(.*?)```", re.S)
TWO_COMMANDS = re.compile(r"## Two commands.*?```sh\n(.*?)```", re.S)


def commands(block: str) -> list[str]:
    """The command lines of a shell block, without trailing comments."""
    lines = (line.split("  #")[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def runnable() -> list[str]:
    """Every command of a block marked runnable, and the demo of the two commands at the top.

    The other top command, ./scripts/test, is the one running this test.
    """
    found = [cmd for block in RUNNABLE.findall(README) for cmd in commands(block)]
    top = TWO_COMMANDS.search(README)
    assert top, "the README lost its two commands"
    found += [cmd for cmd in commands(top.group(1)) if not cmd.startswith("./scripts/test")]
    return found


def test_the_readme_marks_its_commands() -> None:
    """The README has runnable blocks, and the demo is among what gets run."""
    assert "./scripts/demo" in runnable()
    assert len(runnable()) >= 6


@pytest.mark.parametrize("command", runnable())
def test_readme_command_works_as_written(
    command: str, kafka_settings: Settings, tmp_path: Path
) -> None:
    """Each command exits 0 from the repository root, in the installed environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        WIREWATCH_KAFKA_BOOTSTRAP=kafka_settings.bootstrap_servers,
        WIREWATCH_TOPIC_PREFIX=kafka_settings.topic_prefix,
        WIREWATCH_DEMO_DIR=str(tmp_path / "demo"),
    )
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
