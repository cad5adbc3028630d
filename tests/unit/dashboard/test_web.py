"""The dashboard's routes, with aiohttp's test client and a fake silences topic."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from schemas import ConfigError, Settings
from schemas.audit import AuditEvent
from schemas.kafka import encode
from schemas.silences import Silence
from streams.rulebook import compile_packs
from streams.rules import load_pack_text
from tests.unit.alerts.factories import make_alert
from wirewatch.dashboard.auth import Gate
from wirewatch.dashboard.hub import Hub
from wirewatch.dashboard.server import serve
from wirewatch.dashboard.state import DashboardState
from wirewatch.dashboard.web import create_app
from wirewatch.identity.directory import UserDirectory

PACK = json.dumps(
    {
        "rules": [
            {
                "id": "drones",
                "title": "Drones",
                "category": "airspace",
                "severity": "high",
                "query": "drone*",
            }
        ]
    }
)


class Dashboard:
    """A dashboard app on a test server (no account: local mode), its state, what it wrote."""

    def __init__(self, client: TestClient, state: DashboardState, hub: Hub) -> None:
        self.client = client
        self.state = state
        self.hub = hub
        self.written: list[Silence] = []
        self.audited: list[AuditEvent] = []

    async def post(self, path: str, body: object, **headers: str) -> ClientResponse:
        """POST JSON with this client's CSRF token, as the page does."""
        return await self.client.post(path, json=body, headers={**csrf(self.client), **headers})


def csrf(client: TestClient) -> dict[str, str]:
    """The X-CSRF-Token header of the client's session (its cookie, as the page reads it)."""
    cookies = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    return {"X-CSRF-Token": cookies["wirewatch_csrf"].value}


@pytest.fixture
async def dash(unit_settings: Settings) -> AsyncIterator[Dashboard]:
    """The app over an empty state with one compiled rule, served on a free loopback port."""
    hub = Hub()
    state = DashboardState(unit_settings, on_new_alert=hub.publish_story)
    state.install_rules(compile_packs([load_pack_text(PACK, name="p")], None))
    state.set_caught_up("alerts", True)
    gate = Gate(unit_settings, UserDirectory())
    gate.users_read = True
    found: Dashboard | None = None

    async def write(silence: Silence, event: AuditEvent) -> None:
        assert found is not None
        found.written.append(silence)
        found.audited.append(event)

    app = create_app(unit_settings, state, hub, gate=gate, write_silence=write, heartbeat_s=0.2)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        found = Dashboard(client, state, hub)
        assert (await client.get("/api/session")).status == 200  # the session cookie
        yield found


def add_alert(dash: Dashboard, **fields: object) -> None:
    """Feed an alert through the alerts-topic handler, as the follower does."""
    alert = make_alert(**fields)
    dash.state.on_alert(alert.key.encode(), encode(alert))


async def test_page_and_security_headers(dash: Dashboard) -> None:
    """The page is served with a strict content security policy and no sniffing."""
    response = await dash.client.get("/")
    assert response.status == 200
    assert "<title>Wirewatch dashboard</title>" in await response.text()
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    script = await dash.client.get("/static/js/app.js")
    assert script.status == 200
    assert "javascript" in script.headers["Content-Type"]


async def test_alerts_are_filtered(dash: Dashboard) -> None:
    """/api/alerts applies the filter and says how many match and how many are kept."""
    add_alert(dash, category="oil")
    add_alert(dash, category="gas")
    body = await (await dash.client.get("/api/alerts", params={"category": "gas"})).json()
    assert body["matching"] == 1
    assert body["total"] == 2
    assert body["alerts"][0]["category"] == "gas"
    bad = await dash.client.get("/api/alerts", params={"severity": "urgent"})
    assert bad.status == 400
    assert "unknown severity" in (await bad.json())["error"]


async def test_readyz_and_story(dash: Dashboard) -> None:
    """/readyz reports readiness; a story is found by id, an unknown one is a 404."""
    assert (await dash.client.get("/readyz")).status == 200
    add_alert(dash, story_id="s1")
    story = await (await dash.client.get("/api/stories/s1")).json()
    assert story["story_id"] == "s1"
    assert story["series"] == []
    assert (await dash.client.get("/api/stories/nope")).status == 404


async def test_create_and_expire_a_silence(dash: Dashboard) -> None:
    """A silence posted by the page is written, shown at once, and can be expired."""
    response = await dash.post(
        "/api/silences",
        {
            "matchers": [{"name": "rule_id", "op": "=", "value": "drones"}],
            "duration": "2h",
            "comment": "known story",
        },
    )
    assert response.status == 201, await response.text()
    created = await response.json()
    assert dash.written[0].id == created["id"]
    assert dash.written[0].created_by == "local"
    (shown,) = dash.state.silence_views()
    assert shown["state"] == "active"
    expired = await dash.post(f"/api/silences/{created['id']}/expire", {})
    assert expired.status == 200
    assert dash.state.silence_views()[0]["state"] == "expired"
    assert len(dash.written) == 2
    assert [e.action for e in dash.audited] == ["silence.added", "silence.expired"]
    assert {e.actor for e in dash.audited} == {"local"}
    assert dash.audited[1].before is not None
    assert dash.audited[1].after is not None
    assert dash.audited[1].before["ends_at"] != dash.audited[1].after["ends_at"]
    trail = await (await dash.client.get("/api/audit", params={"action": "silence"})).json()
    assert [e["action"] for e in trail["events"]] == ["silence.expired", "silence.added"]
    missing = await dash.post("/api/silences/nope/expire", {})
    assert missing.status == 404


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"matchers": [], "duration": "1h", "comment": "c"}, "matchers"),
        (
            {"matchers": [{"name": "colour", "value": "x"}], "duration": "1h", "comment": "c"},
            "name",
        ),
        (
            {
                "matchers": [{"name": "tag", "op": "=~", "value": "("}],
                "duration": "1h",
                "comment": "c",
            },
            "regular expression",
        ),
        (
            {
                "matchers": [{"name": "rule_id", "op": "=~", "value": "oil(?!.*test)"}],
                "duration": "1h",
                "comment": "c",
            },
            "RE2",
        ),
        (
            {"matchers": [{"name": "tag", "value": "x"}], "duration": "soon", "comment": "c"},
            "duration",
        ),
        (
            {"matchers": [{"name": "tag", "value": "x"}], "duration": "100d", "comment": "c"},
            "90 days",
        ),
        ({"matchers": [{"name": "tag", "value": "x"}], "duration": "1h", "comment": "  "}, "why"),
    ],
)
async def test_invalid_silence_is_refused(
    dash: Dashboard, form: dict[str, object], message: str
) -> None:
    """An invalid silence is a 400 naming the problem, and nothing is written."""
    response = await dash.post("/api/silences", form)
    assert response.status == 400
    assert message in (await response.json())["error"]
    assert dash.written == []


async def test_writes_are_guarded(dash: Dashboard) -> None:
    """Cross-origin posts, non-JSON posts, posts without the CSRF token and foreign Hosts are refused."""
    form = {"matchers": [{"name": "tag", "value": "x"}], "duration": "1h", "comment": "c"}
    foreign = await dash.post("/api/silences", form, Origin="https://evil.example")
    assert foreign.status == 403
    plain = await dash.client.post("/api/silences", data="matchers=x", headers=csrf(dash.client))
    assert plain.status == 415
    tokenless = await dash.client.post("/api/silences", json=form)
    assert tokenless.status == 403
    assert "CSRF" in (await tokenless.json())["error"]
    forged = await dash.post("/api/silences", form, **{"X-CSRF-Token": "guessed"})
    assert forged.status == 403
    rebound = await dash.client.get("/api/status", headers={"Host": "evil.example:6068"})
    assert rebound.status == 403
    assert dash.written == []


async def test_playground_route(dash: Dashboard) -> None:
    """The playground answers with the detections and located query errors."""
    response = await dash.post("/api/playground", {"title": "Drones seen", "query": "drone AND ("})
    body = await response.json()
    assert response.status == 200
    assert [d["rule_id"] for d in body["detections"]] == ["drones"]
    assert body["query"]["ok"] is False
    assert body["query"]["column"] == 12
    unknown = await dash.post("/api/playground", {"text": "x"})
    assert unknown.status == 400


async def test_stream_sends_snapshot_status_then_live_stories(dash: Dashboard) -> None:
    """The stream starts with the filtered story cards and the status, then each updated story."""
    add_alert(dash, key="old", category="oil", story_id="s-old")
    response = await dash.client.get("/api/stream", params={"category": "oil"})
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events: list[tuple[str, dict[str, object]]] = []

    async def read_events(count: int) -> None:
        event = ""
        while len(events) < count:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))

    await asyncio.wait_for(read_events(2), 5)
    assert [name for name, _ in events] == ["feed", "status"]
    feed = events[0][1]
    assert isinstance(feed["stories"], list)
    assert [s["story_id"] for s in feed["stories"]] == ["s-old"]
    add_alert(dash, key="gas-1", category="gas", story_id="s-gas")
    add_alert(dash, key="oil-1", category="oil", story_id="s-oil")
    add_alert(dash, key="gas-2", category="gas", story_id="s-oil")
    await asyncio.wait_for(read_events(4), 5)
    assert [name for name, _ in events[2:]] == ["story", "story"]
    first, second = events[2][1], events[3][1]
    assert first["story_id"] == second["story_id"] == "s-oil"
    assert [a["key"] for a in second["alerts"]] == ["oil-1", "gas-2"]  # type: ignore[index]
    assert second["categories"] == ["oil", "gas"]
    assert len(dash.hub) == 1
    response.close()


def test_static_files_are_packaged() -> None:
    """Every file the page loads is in the package directory served at /static."""
    static = Path(__file__).resolve().parents[3] / "wirewatch" / "dashboard" / "static"
    index = (static / "index.html").read_text()
    for name in ("app.css", "favicon.svg", "js/app.js"):
        assert f"/static/{name}" in index
        assert (static / name).is_file()


async def test_a_taken_port_is_a_readable_error(unit_settings: Settings) -> None:
    """The port is bound before Kafka is contacted: a taken one is a ConfigError naming it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = unit_settings.model_copy(update={"dashboard_port": port})
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            await serve(settings, asyncio.Event())
