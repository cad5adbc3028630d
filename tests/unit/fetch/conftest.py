"""Fixtures of the fetcher's tests: settings allowing loopback, a news site, a poller."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from ingest.http_client import HttpClient
from ingest.page_text import Extractor
from ingest.poll import Poller
from ingest.source_list import SourceSpec
from schemas import Settings
from schemas.fetch_state import FetchState
from tests.support.news_site import NewsSite, serve_site

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


@pytest.fixture
def fetch_settings(unit_settings: Settings) -> Settings:
    """Settings that allow the loopback network (the tests' sites) and do not pause between requests."""
    return unit_settings.model_copy(
        update={
            "fetch_allow_networks": LOOPBACK,
            "fetch_host_delay_s": 0.0,
            "fetch_total_timeout_s": 5.0,
            "fetch_read_timeout_s": 2.0,
            "fetch_max_bytes": 2_000_000,
            "fetch_max_decompressed_bytes": 4_000_000,
        }
    )


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    """A news site on 127.0.0.1 whose pages the test sets."""
    async with serve_site() as running:
        yield running


@pytest.fixture
async def poller(fetch_settings: Settings) -> AsyncIterator[Poller]:
    """A poller with its HTTP client and an in-process extractor."""
    async with HttpClient(fetch_settings) as client, Extractor(0) as extractor:
        yield Poller(fetch_settings, client, extractor)


def source(url: str, **fields: object) -> SourceSpec:
    """A source of ``url`` (a feed unless ``kind`` says otherwise)."""
    return SourceSpec.model_validate({"id": "s1", "name": "Test Ledger", "url": url, **fields})


def fresh_state(spec: SourceSpec) -> FetchState:
    """The state of a source never polled."""
    return FetchState(source_id=spec.id, url=spec.url, interval_s=300.0)
