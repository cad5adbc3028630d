"""The dashboard's watch endpoints: check, backtest, save and delete watches, and one's receiver.

Analysts and admins only; each person edits their own watches and receiver,
and an admin may also edit anyone's watches (``?owner=NAME`` on the watch
endpoints: the pack stays the owner's, the audit event names the admin).
Writes go through the same publishers as the command line, audited with the
signed-in user and the client's address.

- ``GET /api/watches``: my watches, and whether I have a receiver (never its URL);
- ``POST /api/watches/check``: a draft's problems (field, message, column, caret);
- ``POST /api/watches/backtest``: ``{watch, days}``: what it would have fired on;
- ``POST /api/watches``: save a draft to my pack (publishes it);
- ``POST /api/watches/{name}/delete``: take a watch out of my pack;
- ``POST /api/watches/receiver``: ``{kind: email, address}`` or ``{kind: slack, url}``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final, Literal

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from alerts.config_admin import read_receivers, set_receiver
from schemas import ConfigError, Settings, WirewatchError
from schemas.rules import RuleSpec, pack_key
from schemas.users import Role
from streams.rule_admin import delete_pack, publish_packs, read_packs
from wirewatch.dashboard.auth import client_address, identity_of
from wirewatch.dashboard.state import DashboardState
from wirewatch.dashboard.watches import (
    PACK_NAME,
    WatchDraft,
    backtest,
    check_watch,
    id_prefix,
    watch_pack,
)
from wirewatch.identity.access import Identity
from wirewatch.identity.accounts import user_id

log = structlog.get_logger(__name__)

_ADDRESS: Final = re.compile(r"^[^@\s/?&#]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_SLACK: Final = re.compile(r"^(https://hooks\.slack\.com/services/|slack://)\S+$")


class BacktestRequest(BaseModel):
    """A draft and how many days of articles to run it over."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    watch: WatchDraft
    days: Annotated[int, Field(ge=1, le=90)] = 7


class ReceiverRequest(BaseModel):
    """Where my watches' alerts go: an email address, or a Slack incoming webhook (a secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["email", "slack"]
    address: Annotated[str, Field(max_length=254)] = ""
    url: Annotated[SecretStr, Field(max_length=1_000)] = SecretStr("")


def receiver_name(user_id: str) -> str:
    """The name of ``user_id``'s personal receiver."""
    return f"watch.{id_prefix(user_id)}"


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _rule_view(rule: RuleSpec, prefix: str) -> dict[str, Any]:
    view = rule.model_dump(mode="json", include={"id", "title", "category", "severity", "query"})
    view.update(
        name=rule.id.removeprefix(f"{prefix}."),
        where=rule.where or "",
        entities_any=list(rule.entities.any),
        entities_all=list(rule.entities.all),
        entities_none=list(rule.entities.none),
    )
    return view


class WatchApi:
    """The handlers; one instance per dashboard."""

    def __init__(self, settings: Settings, state: DashboardState) -> None:
        self.settings = settings
        self.state = state
        self._running: set[str] = set()

    def _analyst(self, request: web.Request) -> Identity:
        identity = identity_of(request)
        if not identity.may(Role.ANALYST):
            raise web.HTTPForbidden(
                text=json.dumps({"error": f"a {identity.role} cannot write watches"}),
                content_type="application/json",
            )
        return identity

    def _owner(self, request: web.Request, identity: Identity) -> str:
        """Whose watches the request is about: ``?owner=`` (admins only), else the user's own."""
        asked = request.query.get("owner", "").strip()
        if not asked or asked == identity.user_id:
            return identity.user_id
        if not identity.may(Role.ADMIN):
            raise web.HTTPForbidden(
                text=json.dumps({"error": "only an admin may edit another person's watches"}),
                content_type="application/json",
            )
        try:
            return user_id(asked)
        except ConfigError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": str(exc)}), content_type="application/json"
            ) from None

    async def _body(self, request: web.Request, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate(await request.json())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": f"the body is not JSON: {exc}"}),
                content_type="application/json",
            ) from None
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the watch is not valid", "problems": problems}),
                content_type="application/json",
            ) from None

    def _gazetteer(self) -> Any:
        return self.state.rules.gazetteer if self.state.rules else None

    async def mine(self, request: web.Request) -> web.Response:
        identity = self._analyst(request)
        owner = self._owner(request, identity)
        on_topic = await read_packs(self.settings)
        record = on_topic.records.get(pack_key(owner, PACK_NAME))
        prefix = id_prefix(owner)
        receiver = (await read_receivers(self.settings)).get(receiver_name(owner))
        return web.json_response(
            {
                "owner": owner,
                "watches": [_rule_view(r, prefix) for r in (record.rules if record else ())],
                "version": record.version if record else None,
                "receiver": (
                    {"kind": receiver.template, "updated_at": receiver.updated_at.isoformat()}
                    if receiver is not None
                    else None
                ),
                "email": self.settings.watch_email_url is not None,
                "max_days": self.settings.watch_backtest_max_days,
            }
        )

    async def check(self, request: web.Request) -> web.Response:
        identity = self._analyst(request)
        owner = self._owner(request, identity)
        draft = await self._body(request, WatchDraft)
        problems, warnings, _ = check_watch(draft, owner, self._gazetteer())
        return web.json_response(
            {
                "ok": not problems,
                "id": f"{id_prefix(owner)}.{draft.name}",
                "problems": [p.view() for p in problems],
                "warnings": warnings,
            }
        )

    async def backtest(self, request: web.Request) -> web.Response:
        identity = self._analyst(request)
        form = await self._body(request, BacktestRequest)
        problems, _, rules = check_watch(form.watch, identity.user_id, self._gazetteer())
        if rules is None:
            return _error(400, "the watch is not valid", problems=[p.view() for p in problems])
        if identity.user_id in self._running:
            return _error(429, "your previous backtest is still running")
        self._running.add(identity.user_id)
        try:
            found = await backtest(self.settings, rules, form.days)
        except WirewatchError as exc:
            return _error(502, f"the articles could not be read: {exc}")
        finally:
            self._running.discard(identity.user_id)
        log.info(
            "watch_backtested",
            user=identity.user_id,
            days=found.days,
            articles=found.articles,
            fired=found.fired,
            seconds=round(found.seconds, 2),
        )
        return web.json_response(found.view())

    async def save(self, request: web.Request) -> web.Response:
        identity = self._analyst(request)
        owner = self._owner(request, identity)
        draft = await self._body(request, WatchDraft)
        problems, _, rules = check_watch(draft, owner, self._gazetteer())
        if rules is None:
            return _error(400, "the watch is not valid", problems=[p.view() for p in problems])
        rule = draft.rule(owner)
        return await self._publish(request, identity.user_id, owner, rule, drop="")

    async def delete(self, request: web.Request) -> web.Response:
        identity = self._analyst(request)
        owner = self._owner(request, identity)
        rule_id = f"{id_prefix(owner)}.{request.match_info['name']}"
        return await self._publish(request, identity.user_id, owner, None, drop=rule_id)

    async def _publish(
        self, request: web.Request, user: str, owner: str, rule: RuleSpec | None, drop: str
    ) -> web.Response:
        """Publish ``owner``'s watch pack changed by ``user`` (the same person, or an admin)."""
        key = pack_key(owner, PACK_NAME)
        origin = client_address(request)
        try:
            on_topic = await read_packs(self.settings)
            current = on_topic.records.get(key)
            pack = watch_pack(current.pack() if current else None, owner, rule, drop)
            if not pack.rules:
                if current is not None:
                    await delete_pack(
                        self.settings, key, actor=user, via="dashboard", origin=origin
                    )
                return web.json_response({"watches": 0, "version": None})
            done = await publish_packs(
                self.settings,
                [pack],
                owner=owner,
                actor=user,
                via="dashboard",
                origin=origin,
                gazetteer=self._gazetteer(),
            )
        except ConfigError as exc:
            return _error(400, str(exc))
        except WirewatchError as exc:
            log.error("watch_not_published", user=user, error=str(exc))
            return _error(502, f"the watch could not be published: {exc}")
        record = (done.written or done.unchanged)[0]
        log.info("watch_published", user=user, pack=key, version=record.version)
        return web.json_response(
            {"watches": len(record.rules), "version": record.version}, status=201
        )

    async def receiver(self, request: web.Request) -> web.Response:
        identity = self._analyst(request)
        form = await self._body(request, ReceiverRequest)
        user = identity.user_id
        if form.kind == "email":
            base = self.settings.watch_email_url
            if base is None:
                return _error(400, "this dashboard sends no email (WIREWATCH_WATCH_EMAIL_URL)")
            if not _ADDRESS.match(form.address):
                return _error(400, "give one email address, like ana@example.org")
            url = base.get_secret_value()
            url += ("&" if "?" in url else "?") + f"to={form.address}"
        else:
            url = form.url.get_secret_value().strip()
            if not _SLACK.match(url):
                return _error(
                    400, "give a Slack incoming webhook (https://hooks.slack.com/services/...)"
                )
        try:
            await set_receiver(
                self.settings,
                receiver_name(user),
                [url],
                actor=user,
                via="dashboard",
                origin=client_address(request),
                owner=user,
                template="email" if form.kind == "email" else "slack",
            )
        except ConfigError as exc:
            return _error(400, str(exc))
        except WirewatchError as exc:
            return _error(502, f"the receiver could not be published: {exc}")
        log.info("watch_receiver_set", user=user, kind=form.kind)
        return web.json_response({"kind": form.kind}, status=201)


def install_watches(app: web.Application, settings: Settings, state: DashboardState) -> None:
    """Add the watch endpoints to the dashboard's application."""
    api = WatchApi(settings, state)
    app.router.add_get("/api/watches", api.mine)
    app.router.add_post("/api/watches/check", api.check)
    app.router.add_post("/api/watches/backtest", api.backtest)
    app.router.add_post("/api/watches/receiver", api.receiver)
    app.router.add_post("/api/watches", api.save)
    app.router.add_post("/api/watches/{name}/delete", api.delete)
