"""Fixtures of the fetcher's integration tests: the broker, a loopback news site, commands."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas import Article, Settings
from tests.support.news_site import NewsSite, serve_site
from tests.support.processes import ROOT, Child, settings_env, wirewatch_argv
from tests.support.servers import free_port
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


class Fetchers:
    """Starts ``wirewatch fetcher`` processes on one set of test topics; kills them at the end."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.children: list[Child] = []

    def start(
        self, sources: Path, name: str = "fetcher", port: int | None = None, **extra: str
    ) -> Child:
        """Start a fetcher of ``sources`` (web server on ``port``) and wait until it is ready."""
        port = port or free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")},
            **settings_env(self.settings),
            "WIREWATCH_SOURCES_PATH": str(sources),
            "WIREWATCH_FETCH_WEB_PORT": str(port),
            "WIREWATCH_LOG_FORMAT": "json",
            **extra,
        }
        child = Child(
            name, env, self.tmp_path / f"{name}.log", port, argv=wirewatch_argv("fetcher")
        ).start()
        self.children.append(child)
        child.wait_ready(60)
        return child

    def stop_all(self) -> None:
        """SIGKILL what is left."""
        for child in self.children:
            if child.running():
                child.stop(signal.SIGKILL)


@pytest.fixture
def fetchers(fetch_settings: Settings, tmp_path: Path) -> Iterator[Fetchers]:
    """Fetcher processes for the test (a short session timeout: a killed one is noticed soon)."""
    settings = fetch_settings.model_copy(update={"fetch_session_timeout_s": 6.0})
    running = Fetchers(settings, tmp_path)
    yield running
    running.stop_all()


def read_articles(settings: Settings) -> list[Article]:
    """``articles_of`` from a test without an event loop."""
    return asyncio.run(articles_of(settings))


def wait_for(condition: Callable[[], bool], timeout: float = 60, every: float = 0.5) -> bool:
    """Poll ``condition()`` until it holds (True) or the deadline passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
