"""The dashboard's admin endpoints: accounts, everyone's rule packs, and the route tree.

Admins only (anyone else gets 403, for reads too). Every write goes through
the functions behind ``wirewatch users``, ``rules delete`` and ``routes
publish``, with the same checks before anything is written, and is audited
with the signed-in admin as the actor and the client's address:

- ``GET /api/admin/users``; ``POST /api/admin/users`` ``{name, role, sso, password,
  password_again}``; ``POST /api/admin/users/{name}/role`` ``{role}``,
  ``.../disable``, ``.../enable``, ``.../password`` ``{password, password_again}``;
- ``GET /api/admin/packs``: the packs in force; ``POST /api/admin/packs/{owner}/{name}/delete``
  (a tombstone). Anyone's watches are edited through the watch endpoints with ``?owner=``;
- ``GET /api/admin/routes``: the route tree in force (the routes topic, else the file)
  and the receivers' names; ``POST /api/admin/routes`` ``{text}``: check and publish.

Passwords arrive as ``SecretStr``, are hashed off the event loop, and are
never echoed back, logged or put in an error; receivers' URLs are never sent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Annotated, Any, Final, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from alerts.config_admin import publish_routes, read_receivers, read_routes, routes_text_record
from alerts.receivers import receiver_urls
from schemas import ConfigError, Settings, WirewatchError
from schemas.audit import AuditAction
from schemas.users import Role
from streams.rule_admin import delete_pack, read_packs, record_summary
from wirewatch.dashboard.auth import Gate, client_address, identity_of
from wirewatch.dashboard.watches import PACK_NAME
from wirewatch.identity.access import Identity
from wirewatch.identity.accounts import add_user, change_user, user_id, user_row
from wirewatch.identity.passwords import check_new_password

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_ROUTES_TEXT: Final = 200_000
"""Characters of a route tree pasted into the page (a record is capped again on publishing)."""


class NewPassword(BaseModel):
    """A password typed twice (never echoed back, never logged)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    password: Annotated[SecretStr, Field(max_length=1024)] = SecretStr("")
    password_again: Annotated[SecretStr, Field(max_length=1024)] = SecretStr("")

    def checked(self) -> str:
        """The password, if both copies agree and it meets the rules.

        Raises:
            ConfigError: they differ, or what is wrong with it (never the password itself).
        """
        password = self.password.get_secret_value()
        if password != self.password_again.get_secret_value():
            raise ConfigError("the two passwords differ")
        check_new_password(password)
        return password


class NewUser(NewPassword):
    """An account as the Users panel's form posts it."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    sso: bool = False


class RoleChange(BaseModel):
    """A new role for an account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role


class RoutesText(BaseModel):
    """A route tree as YAML text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_ROUTES_TEXT)]


def _fail(status: int, message: str) -> web.HTTPException:
    exception = web.HTTPForbidden if status == 403 else web.HTTPBadRequest
    return exception(text=json.dumps({"error": message}), content_type="application/json")


class AdminApi:
    """The handlers; one instance per dashboard."""

    def __init__(self, settings: Settings, gate: Gate) -> None:
        self.settings = settings
        self.gate = gate

    def _admin(self, request: web.Request) -> Identity:
        identity = identity_of(request)
        if not identity.may(Role.ADMIN):
            raise _fail(403, f"a {identity.role} cannot manage accounts, rule packs or routes")
        return identity

    async def _body(self, request: web.Request, model: type[M]) -> M:
        try:
            return model.model_validate(await request.json())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _fail(400, f"the body is not JSON: {exc}") from None
        except ValidationError as exc:
            # msg and loc only: the input (a password) is never repeated.
            raise _fail(
                400,
                "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
                    for e in exc.errors()
                ),
            ) from None

    async def _kafka(self, what: str, call: Awaitable[T]) -> T:
        """Await a read or write of ``what``: a ConfigError is the admin's to fix (400), others 502."""
        try:
            return await call
        except ConfigError as exc:
            raise _fail(400, str(exc)) from None
        except WirewatchError as exc:
            log.error("admin_kafka_failed", what=what, error=str(exc))
            raise web.HTTPBadGateway(
                text=json.dumps({"error": f"{what}: Kafka did not answer: {exc}"}),
                content_type="application/json",
            ) from None

    # --- accounts --------------------------------------------------------------

    async def users(self, request: web.Request) -> web.Response:
        identity = self._admin(request)
        rows = [user_row(user) for user in self.gate.users.all()]
        return web.json_response({"users": rows, "me": identity.user_id})

    async def add_user(self, request: web.Request) -> web.Response:
        identity = self._admin(request)
        form = await self._body(request, NewUser)
        try:
            name = user_id(form.name)
            password_hash = (
                None if form.sso else await self.gate.passwords.hash_async(form.checked())
            )
        except ConfigError as exc:
            raise _fail(400, str(exc)) from None
        user = await self._kafka(
            "the account",
            add_user(
                self.settings,
                name,
                form.role,
                password_hash,
                actor=identity.user_id,
                origin=client_address(request),
                via="dashboard",
            ),
        )
        # This instance knows the account at once; the others when the users topic brings it.
        self.gate.users.put(user)
        log.info("user_added", user=user.id, role=user.role.value, by=identity.user_id)
        return web.json_response(user_row(user), status=201)

    async def _change(
        self, request: web.Request, action: AuditAction, **updates: Any
    ) -> web.Response:
        identity = self._admin(request)
        try:
            name = user_id(request.match_info["name"])
        except ConfigError as exc:
            raise _fail(400, str(exc)) from None
        if name == identity.user_id and ("role" in updates or "disabled" in updates):
            raise _fail(
                400,
                "you cannot change your own role or disable yourself here: ask another admin, "
                "or use `wirewatch users`",
            )
        user = await self._kafka(
            "the account",
            change_user(
                self.settings,
                name,
                action,
                actor=identity.user_id,
                origin=client_address(request),
                via="dashboard",
                **updates,
            ),
        )
        self.gate.users.put(user)  # its sessions end here now (a new session epoch)
        log.info("user_changed", user=user.id, action=action, by=identity.user_id)
        return web.json_response(user_row(user))

    async def set_role(self, request: web.Request) -> web.Response:
        self._admin(request)
        form = await self._body(request, RoleChange)
        return await self._change(request, "user.changed", role=form.role)

    async def disable(self, request: web.Request) -> web.Response:
        return await self._change(request, "user.disabled", disabled=True)

    async def enable(self, request: web.Request) -> web.Response:
        return await self._change(request, "user.enabled", disabled=False)

    async def set_password(self, request: web.Request) -> web.Response:
        self._admin(request)
        form = await self._body(request, NewPassword)
        try:
            password = form.checked()
        except ConfigError as exc:
            raise _fail(400, str(exc)) from None
        password_hash = await self.gate.passwords.hash_async(password)
        return await self._change(request, "user.password_set", password_hash=password_hash)

    # --- rule packs ------------------------------------------------------------

    async def packs(self, request: web.Request) -> web.Response:
        self._admin(request)
        on_topic = await self._kafka("the rule packs", read_packs(self.settings))
        rows = [
            {"key": key, **record_summary(record), "watches": record.name == PACK_NAME}
            for key, record in sorted(on_topic.records.items())
        ]
        return web.json_response({"packs": rows, "legacy": on_topic.legacy is not None})

    async def delete_pack(self, request: web.Request) -> web.Response:
        identity = self._admin(request)
        key = f"{request.match_info['owner']}/{request.match_info['name']}"
        gone = await self._kafka(
            "the deletion",
            delete_pack(
                self.settings,
                key,
                actor=identity.user_id,
                via="dashboard",
                origin=client_address(request),
            ),
        )
        log.info("rule_pack_deleted", pack=key, by=identity.user_id)
        return web.json_response(record_summary(gone))

    # --- routes ----------------------------------------------------------------

    async def routes(self, request: web.Request) -> web.Response:
        self._admin(request)
        record = await self._kafka("the routes", read_routes(self.settings))
        published = await self._kafka("the receivers", read_receivers(self.settings))
        if record is not None:
            body: dict[str, Any] = {
                "source": "topic",
                "text": record.text,
                "version": record.version,
                "published_by": record.published_by,
                "published_at": record.published_at.isoformat(),
            }
        else:
            path = self.settings.routes_path
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                text = ""
                log.warning("routes_file_unreadable", path=str(path), error=str(exc))
            body = {"source": "file", "path": str(path), "text": text}
        # Names, counts and whether sealed: never a URL.
        body["receivers"] = [
            {"name": name, "urls": len(r.urls), "encrypted": r.encrypted, "owner": r.owner}
            for name, r in sorted(published.items())
        ] + [
            {"name": name, "urls": len(urls), "encrypted": None, "owner": None}
            for name, urls in sorted(receiver_urls(self.settings).items())
            if name not in published
        ]
        return web.json_response(body)

    async def publish_routes(self, request: web.Request) -> web.Response:
        identity = self._admin(request)
        form = await self._body(request, RoutesText)
        try:
            record, table = routes_text_record(form.text, "the route tree", identity.user_id)
        except ConfigError as exc:
            raise _fail(400, str(exc)) from None
        changed = await self._kafka(
            "the routes",
            publish_routes(
                self.settings,
                record,
                table,
                actor=identity.user_id,
                via="dashboard",
                origin=client_address(request),
            ),
        )
        log.info("routes_published", version=record.version, changed=changed, by=identity.user_id)
        return web.json_response(
            {"version": record.version, "changed": changed, "receivers": sorted(table.receivers)},
            status=201 if changed else 200,
        )


def install_admin(app: web.Application, settings: Settings, gate: Gate) -> None:
    """Add the admin endpoints to the dashboard's application."""
    api = AdminApi(settings, gate)
    app.router.add_get("/api/admin/users", api.users)
    app.router.add_post("/api/admin/users", api.add_user)
    app.router.add_post("/api/admin/users/{name}/role", api.set_role)
    app.router.add_post("/api/admin/users/{name}/disable", api.disable)
    app.router.add_post("/api/admin/users/{name}/enable", api.enable)
    app.router.add_post("/api/admin/users/{name}/password", api.set_password)
    app.router.add_get("/api/admin/packs", api.packs)
    app.router.add_post("/api/admin/packs/{owner}/{name}/delete", api.delete_pack)
    app.router.add_get("/api/admin/routes", api.routes)
    app.router.add_post("/api/admin/routes", api.publish_routes)
