"""Fixtures of the fetcher's integration tests: the broker, a loopback news site, commands."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas import Article, Settings
from tests.support.news_site import NewsSite, serve_site
from tests.support.processes import ROOT, settings_env, wirewatch_argv
from tests.support.topics import read_to_end


@pytest.fixture
def fetch_settings(kafka_settings: Settings) -> Settings:
    """Settings on the test broker that allow loopback (the tests' sites) and do not pause."""
    return kafka_settings.model_copy(
        update={
            "fetch_allow_networks": [ipaddress.ip_network("127.0.0.0/8")],
            "fetch_host_delay_s": 0.0,
            "fetch_extract_workers": 0,
            "fetch_total_timeout_s": 10.0,
        }
    )


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    """A news site on 127.0.0.1."""
    async with serve_site() as running:
        yield running


@dataclass
class Done:
    """A finished command: exit status and output."""

    code: int
    stdout: str
    stderr: str


async def run_wirewatch(settings: Settings, *args: str, limit_s: float = 120) -> Done:
    """Run ``wirewatch ARGS`` in a subprocess configured by ``settings`` (the event loop keeps serving)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")},
        **settings_env(settings),
    }
    env["WIREWATCH_LOG_LEVEL"] = "WARNING"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *wirewatch_argv(args[0]),
        *args[1:],
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), limit_s)
    assert process.returncode is not None
    return Done(process.returncode, out.decode(), err.decode())


async def articles_of(settings: Settings) -> list[Article]:
    """Every article on the articles topic, in offset order per partition."""
    records = await read_to_end(settings, settings.topics.articles)
    return [Article.model_validate_json(r.value) for r in records if r.value is not None]


def write_sources(path: Path, text: str) -> Path:
    """Write a sources file and return its path."""
    path.write_text(text)
    return path
