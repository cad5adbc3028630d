"""The dashboard's HTTP side: the page, its JSON API and the server-sent event stream.

Routes (all JSON unless said):

- ``GET /`` and ``/static/...``: the page (HTML, CSS, JS modules, no build step);
- ``GET /api/stream?category=&severity=&entity=&q=``: server-sent events: ``feed``
  (the filtered snapshot) and ``status`` on connect, then ``alert`` and ``status``;
- ``GET /api/alerts?...``, ``/api/status``, ``/api/stories/{story_id}``;
- ``POST /api/silences``, ``POST /api/silences/{id}/expire``: write to the silences topic
  (analysts and admins), with an event on the audit topic;
- ``GET /api/audit?actor=&action=&target=``: the newest audit events;
- ``POST /api/playground``: evaluate a pasted article and/or query;
- ``GET /healthz`` (the process answers) and ``/readyz`` (history read, rules in);
- ``/signin``, ``/api/session``, ``/api/signin``, ``/api/signout``: see
  :mod:`wirewatch.dashboard.auth`, whose middleware identifies every request.

The server binds 127.0.0.1 by default and guards its writes: a POST must be
JSON, carry its session's CSRF token and, when the browser names an origin,
come from this page (no other site can make an analyst's browser create a
silence), and a Host header that is not this server's is refused (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerts.silences import expired, new_silence
from schemas import ConfigError, Settings, WirewatchError
from schemas.audit import AuditAction, AuditEvent, AuditQuery, audit_event
from schemas.kafka import encode
from schemas.rules import parse_duration
from schemas.silences import Matcher, Silence
from wirewatch.dashboard.auth import Gate, client_address, identity_of
from wirewatch.dashboard.feed import AlertFilter
from wirewatch.dashboard.hub import Hub, sse_event
from wirewatch.dashboard.playground import PlaygroundRequest, run_playground
from wirewatch.dashboard.state import DashboardState

log = structlog.get_logger(__name__)

STATIC: Final = Path(__file__).parent / "static"
WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "::", ""})  # noqa: S104  # names, not a bind
LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_SILENCE: Final = timedelta(days=90)
HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

SilenceWriter = Callable[[Silence, AuditEvent], Awaitable[None]]
"""Writes a silence (new or expired) to the silences topic, then its audit event."""


class SilenceRequest(BaseModel):
    """A silence as the page's form posts it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    matchers: Annotated[list[Matcher], Field(min_length=1, max_length=20)]
    duration: Annotated[str, Field(min_length=1, max_length=20)]
    comment: Annotated[str, Field(min_length=1, max_length=1_000)]

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        length = parse_duration(value)
        if length <= timedelta(0) or length > MAX_SILENCE:
            raise ValueError("the duration must be more than 0 and at most 90 days")
        return value

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why the alerts are silenced")
        return value.strip()


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _validation_message(exc: ValidationError) -> str:
    """One line per problem: ``field.path: message``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'request'}: {err['msg']}" for err in exc.errors()
    )


def _host_guard(settings: Settings) -> Any:
    allowed = None if settings.web_host in WILDCARD_HOSTS else LOOPBACK_NAMES | {settings.web_host}

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if allowed is not None and (request.url.host or "").strip("[]") not in allowed:
            return _error(403, f"this server answers as {settings.web_host}, not {request.host}")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                return _error(403, "cross-origin writes are refused")
            if request.content_type != "application/json":
                return _error(415, "send JSON (Content-Type: application/json)")
        return await handler(request)

    return guard


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(HEADERS)
    if request.path.startswith("/static/") or request.path == "/":
        response.headers["Cache-Control"] = "no-cache"


class _Routes:
    def __init__(
        self,
        state: DashboardState,
        hub: Hub,
        gate: Gate,
        write_silence: SilenceWriter,
        heartbeat_s: float,
    ) -> None:
        self.state = state
        self.hub = hub
        self.gate = gate
        self.write_silence = write_silence
        self.heartbeat_s = heartbeat_s

    async def index(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, _: web.Request) -> web.Response:
        state = self.state
        body = {
            "ready": state.ready,
            "caught_up": state.caught_up,
            "rules_version": state.rules.version if state.rules else None,
        }
        return web.json_response(body, status=200 if state.ready else 503)

    async def alerts(self, request: web.Request) -> web.Response:
        try:
            where = AlertFilter.from_query(request.query)
            limit = min(max(int(request.query.get("limit", "200")), 1), 1_000)
        except (ConfigError, ValueError) as exc:
            return _error(400, str(exc))
        return web.json_response(self.state.alerts(where, limit))

    async def status(self, _: web.Request) -> web.Response:
        return web.json_response(self.state.status())

    async def story(self, request: web.Request) -> web.Response:
        story_id = request.match_info["story_id"]
        view = self.state.story(story_id)
        if view is None:
            return _error(404, f"no alert of story {story_id!r} is in the dashboard's memory")
        return web.json_response(view)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        try:
            where = AlertFilter.from_query(request.query)
        except ConfigError as exc:
            return _error(400, str(exc))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        # Subscribe before the snapshot: a story updated meanwhile is queued too
        # (and replaces its card on the page) rather than lost.
        subscription = self.hub.subscribe(where)
        try:
            await response.write(b"retry: 2000\n\n")
            await response.write(sse_event("feed", self.state.stories(where)))
            await response.write(sse_event("status", self.state.status()))
            while True:
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), self.heartbeat_s)
                except TimeoutError:
                    event = b": keep-alive\n\n"
                # A session revoked meanwhile (account disabled) gets nothing more.
                if event is None or not self.gate.still_valid(request):
                    break
                await response.write(event)
        except (ConnectionResetError, ConnectionError):
            pass  # the page went away
        finally:
            self.hub.unsubscribe(subscription)
        return response

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": f"the body is not JSON: {exc}"}),
                content_type="application/json",
            ) from None

    def _audit(
        self, request: web.Request, action: AuditAction, silence: Silence, before: Silence | None
    ) -> AuditEvent:
        return audit_event(
            action,
            f"silence:{silence.id}",
            actor=identity_of(request).user_id,
            via="dashboard",
            origin=client_address(request),
            before=before,
            after=silence,
        )

    async def create_silence(self, request: web.Request) -> web.Response:
        identity = identity_of(request)
        if not identity.may_add_silence():
            return _error(403, f"a {identity.role} cannot add silences; ask an analyst or admin")
        try:
            form = SilenceRequest.model_validate(await self._json(request))
        except ValidationError as exc:
            return _error(400, _validation_message(exc))
        try:
            silence = new_silence(
                form.matchers, parse_duration(form.duration), form.comment, identity.user_id
            )
            event = self._audit(request, "silence.added", silence, None)
            await self.write_silence(silence, event)
        except ConfigError as exc:
            return _error(400, str(exc))
        except WirewatchError as exc:
            log.error("silence_not_written", error=str(exc))
            return _error(502, f"the silence could not be written to Kafka: {exc}")
        self.state.on_silence(silence.id.encode(), encode(silence))
        self.state.on_audit(None, encode(event))
        log.info("silence_created", silence_id=silence.id, author=silence.created_by)
        return web.json_response(silence.model_dump(mode="json"), status=201)

    async def expire_silence(self, request: web.Request) -> web.Response:
        silence_id = request.match_info["silence_id"]
        found = {s.id: s for s in self.state.silences.all()}.get(silence_id)
        if found is None:
            return _error(404, f"no silence with id {silence_id!r}")
        identity = identity_of(request)
        if not identity.may_expire(found):
            return _error(
                403,
                f"a {identity.role} can expire only their own silences; this one is by "
                f"{found.created_by}",
            )
        ended = expired(found)
        event = self._audit(request, "silence.expired", ended, found)
        try:
            await self.write_silence(ended, event)
        except WirewatchError as exc:
            log.error("silence_not_written", error=str(exc))
            return _error(502, f"the expiry could not be written to Kafka: {exc}")
        self.state.on_silence(ended.id.encode(), encode(ended))
        self.state.on_audit(None, encode(event))
        log.info("silence_expired", silence_id=silence_id, by=identity.user_id)
        return web.json_response(ended.model_dump(mode="json"))

    async def audit(self, request: web.Request) -> web.Response:
        query = AuditQuery(
            actor=request.query.get("actor") or None,
            action=request.query.get("action") or None,
            target=request.query.get("target") or None,
        )
        try:
            limit = min(max(int(request.query.get("limit", "200")), 1), 1_000)
        except ValueError:
            return _error(400, "limit must be a whole number")
        return web.json_response(self.state.audit.view(query, limit))

    async def playground(self, request: web.Request) -> web.Response:
        try:
            form = PlaygroundRequest.model_validate(await self._json(request))
        except ValidationError as exc:
            return _error(400, _validation_message(exc))
        rules = self.state.rules
        if rules is None:
            return _error(503, "the rule set is not loaded yet; try again in a moment")
        loop = asyncio.get_running_loop()
        try:
            # A long article takes a while to match: keep the event streams flowing meanwhile.
            result = await loop.run_in_executor(None, run_playground, rules, form)
        except ValidationError as exc:  # the text does not make a valid article
            return _error(400, _validation_message(exc))
        return web.json_response(result)


def create_app(
    settings: Settings,
    state: DashboardState,
    hub: Hub,
    *,
    gate: Gate,
    write_silence: SilenceWriter,
    heartbeat_s: float = 15.0,
) -> web.Application:
    """Return the dashboard's aiohttp application.

    Args:
        gate: who may do what (its middleware runs after the Host and Origin checks).
        write_silence: writes a silence and its audit event (tests pass a fake).
        heartbeat_s: a comment line is sent on an idle event stream this often,
            so a page that went away is noticed.
    """
    app = web.Application(
        middlewares=[_host_guard(settings)],
        client_max_size=2 * settings.max_body_bytes + 65_536,
    )
    gate.install(app)
    routes = _Routes(state, hub, gate, write_silence, heartbeat_s)
    app.router.add_get("/", routes.index)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    app.router.add_get("/healthz", routes.healthz)
    app.router.add_get("/readyz", routes.readyz)
    app.router.add_get("/api/alerts", routes.alerts)
    app.router.add_get("/api/status", routes.status)
    app.router.add_get("/api/stories/{story_id}", routes.story)
    app.router.add_get("/api/stream", routes.stream)
    app.router.add_post("/api/silences", routes.create_silence)
    app.router.add_post("/api/silences/{silence_id}/expire", routes.expire_silence)
    app.router.add_post("/api/playground", routes.playground)
    app.router.add_get("/api/audit", routes.audit)
    app.on_response_prepare.append(_security_headers)

    async def end_streams(_: web.Application) -> None:
        hub.close()

    app.on_shutdown.append(end_streams)
    return app
