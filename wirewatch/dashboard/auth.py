"""Sign-in for the dashboard: who each request is, whether it may go on, and CSRF.

Three ways in, decided per request by :class:`Gate`:

- a session cookie from signing in with a local account (``wirewatch users``);
- single sign-on: a trusted proxy's header names the user (see
  :mod:`wirewatch.identity.proxy`); the account of that name, if any, gives the
  role, else ``dashboard_proxy_role``;
- no account at all: everyone is the ``local`` admin, which is allowed only
  while the dashboard serves loopback (``serve`` refuses a wider bind).

Every visitor has a signed session cookie, signed in or not, carrying a CSRF
token; the page reads the token from a second, script-readable cookie and
sends it in ``X-CSRF-Token`` with every POST, sign-in included. A POST without
the token of its session is refused, in addition to the Origin and Host checks.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Annotated, Any, Final

import structlog
from aiohttp import hdrs, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas import Settings
from schemas.users import Role
from wirewatch.identity.access import LOCAL_USER, Identity
from wirewatch.identity.directory import UserDirectory
from wirewatch.identity.passwords import Passwords
from wirewatch.identity.proxy import TrustedProxy
from wirewatch.identity.sessions import Session, SessionSigner, anonymous_session, signed_in
from wirewatch.identity.throttle import SignInThrottle

log = structlog.get_logger(__name__)

SESSION_COOKIE: Final = "wirewatch_session"
CSRF_COOKIE: Final = "wirewatch_csrf"
CSRF_HEADER: Final = "X-CSRF-Token"
PUBLIC: Final = frozenset({"/healthz", "/readyz", "/signin", "/api/session", "/api/signin"})
"""Paths served to anyone (with ``/static/``): what the sign-in page needs, and probes."""
STATIC: Final = Path(__file__).parent / "static"
_IDENTITY: Final = web.RequestKey("identity", Identity)
_SESSION: Final = web.RequestKey("session", Session)
_NEW_COOKIE: Final = web.RequestKey("new_session_cookie", bool)


def is_loopback(host: str) -> bool:
    """Return True if binding ``host`` serves this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SignInRequest(BaseModel):
    """The sign-in form: a name and a password (never echoed back, never logged)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[str, Field(min_length=1, max_length=1024, repr=False)]


def _refuse(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def identity_of(request: web.Request) -> Identity:
    """The identity the gate found for a request it let through to a non-public route."""
    return request[_IDENTITY]


def _identity_or_none(request: web.Request) -> Identity | None:
    return request.get(_IDENTITY)


def _session_of(request: web.Request) -> Session:
    return request[_SESSION]


def client_address(request: web.Request) -> str:
    """The browser's address (through a trusted proxy, the one it forwarded)."""
    gate: Gate = request.app[GATE]
    return gate.proxy.client_address(request.headers, request.remote)


class Gate:
    """Identifies each request, refuses what it may not do, and keeps its session cookie."""

    def __init__(
        self,
        settings: Settings,
        users: UserDirectory,
        *,
        passwords: Passwords | None = None,
        throttle: SignInThrottle | None = None,
    ) -> None:
        key = settings.dashboard_secret_key
        if key is None:
            log.warning(
                "dashboard_session_key_random",
                hint="sessions end when this process restarts and are not accepted by other "
                "instances; set WIREWATCH_DASHBOARD_SECRET_KEY",
            )
        self.signer = SessionSigner(
            key.get_secret_value() if key else secrets.token_urlsafe(32),
            settings.dashboard_session_hours * 3600,
        )
        self.proxy = TrustedProxy(
            settings.dashboard_proxy_header, settings.dashboard_proxy_addresses
        )
        self.proxy_role = (
            None if settings.dashboard_proxy_role == "none" else Role(settings.dashboard_proxy_role)
        )
        self.users = users
        self.passwords = passwords or Passwords()
        self.throttle = throttle or SignInThrottle()
        self.loopback_only = is_loopback(settings.web_host)
        self.host = settings.web_host
        self.users_read = False
        """Set once the users topic is read to its end: until then nobody is let in."""
        self._signed_out: dict[str, float] = {}

    @property
    def open(self) -> bool:
        """True when nobody signs in: no account, no proxy, and only loopback served."""
        return (
            self.users_read
            and self.loopback_only
            and not self.proxy.enabled
            and not self.users.has_accounts
        )

    # --- who is it -----------------------------------------------------------

    def _session(self, request: web.Request) -> Session:
        session = self.signer.loads(request.cookies.get(SESSION_COOKIE))
        if session is not None and session.sid in self._signed_out:
            session = None
        if session is None:
            session = anonymous_session()
            request[_NEW_COOKIE] = True
        return session

    def _renew(self, request: web.Request, session: Session) -> None:
        request[_SESSION] = session
        request[_NEW_COOKIE] = True

    def identify(self, request: web.Request, session: Session) -> Identity | None:
        """Return who makes ``request`` now, renewing its session when that changed."""
        proxied = self.proxy.user(request.headers, request.remote)
        if proxied is not None:
            return self._proxy_identity(request, session, proxied)
        if session.kind == "password" and session.user_id is not None:
            user = self.users.get(session.user_id)
            if user is not None and session.valid_for(user) and user.can_sign_in:
                return Identity(user.id, user.role, "password")
        if session.kind != "anonymous":
            # Revoked (account disabled or changed), or a proxy session without its proxy.
            self._renew(request, anonymous_session())
        if self.open:
            return Identity(LOCAL_USER, Role.ADMIN, "local")
        return None

    def _proxy_identity(self, request: web.Request, session: Session, name: str) -> Identity | None:
        user = self.users.get(name)
        if user is not None and user.disabled:
            return None
        role = user.role if user is not None else self.proxy_role
        if role is None:
            return None
        epoch = user.session_epoch if user is not None else 0
        if not (session.kind == "proxy" and session.user_id == name and session.epoch == epoch):
            self._renew(request, signed_in("proxy", name, epoch))
        return Identity(name, role, "proxy")

    def still_valid(self, request: web.Request) -> bool:
        """Return True if the identity a long request (an event stream) began with still holds."""
        found = self.identify(request, _session_of(request))
        return found is not None and found == _identity_or_none(request)

    # --- the middleware and its cookies ----------------------------------------

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Identify the request, check its CSRF token if it writes, refuse the unsigned."""
        request[_NEW_COOKIE] = False
        session = self._session(request)
        request[_SESSION] = session
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        if writes and not session.csrf_matches(request.headers.get(CSRF_HEADER)):
            return _refuse(403, "this form is out of date (no valid CSRF token): reload the page")
        public = request.path in PUBLIC or request.path.startswith("/static/")
        if not self.users_read and not public:
            return _refuse(503, "the dashboard is reading its accounts; try again in a moment")
        identity = self.identify(request, session)
        if identity is not None:
            request[_IDENTITY] = identity
        elif not public:
            if request.path == "/":
                raise web.HTTPSeeOther("/signin")
            return _refuse(401, "sign in first (/signin)")
        return await handler(request)

    async def set_cookies(self, request: web.Request, response: web.StreamResponse) -> None:
        """Send the session cookie (HttpOnly) and its CSRF token when the session is new."""
        if not request.get(_NEW_COOKIE):
            return
        session = _session_of(request)
        secure = self.proxy.https(request.headers, request.remote, request.scheme)
        age = round(self.signer.max_age_s)
        # Headers, not response.set_cookie(): this runs after aiohttp has turned
        # the response's cookies into headers (and event streams set none before).
        cookies = SimpleCookie()
        cookies[SESSION_COOKIE] = self.signer.dumps(session)
        cookies[CSRF_COOKIE] = session.csrf
        for name, morsel in cookies.items():
            morsel.update({"path": "/", "samesite": "Lax", "max-age": str(age)})
            morsel["httponly"] = name == SESSION_COOKIE
            morsel["secure"] = secure
            response.headers.add(hdrs.SET_COOKIE, morsel.OutputString())

    # --- routes ----------------------------------------------------------------

    async def signin_page(self, request: web.Request) -> web.StreamResponse:
        """The sign-in page (the feed instead, for someone already in)."""
        if _identity_or_none(request) is not None:
            raise web.HTTPSeeOther("/")
        return web.FileResponse(STATIC / "signin.html")

    async def whoami(self, request: web.Request) -> web.Response:
        """Who the page's visitor is, what they may do, and how this dashboard signs people in."""
        identity = _identity_or_none(request)
        mode = "open" if self.open else ("proxy" if self.proxy.enabled else "accounts")
        body: dict[str, Any] = {"mode": mode, "host": self.host, "user": None}
        if identity is not None:
            body.update(
                user=identity.user_id,
                role=identity.role.value,
                via=identity.via,
                may={
                    "add_silence": identity.may_add_silence(),
                    "expire_any_silence": identity.may(Role.ADMIN),
                    "write_watches": identity.may(Role.ANALYST),
                    "admin": identity.may(Role.ADMIN),
                },
            )
        return web.json_response(body)

    async def signin(self, request: web.Request) -> web.Response:
        """Check a name and password; on success, a new session (new id, new CSRF token)."""
        try:
            form = SignInRequest.model_validate(await request.json())
        except (ValueError, ValidationError):
            return _refuse(400, "send {user, password} as JSON")
        name = form.user.strip().lower()
        address = client_address(request)
        wait = self.throttle.wait_s(name, address)
        if wait > 0:
            log.warning("signin_throttled", user=name, address=address)
            minutes = max(1, round(wait / 60))
            return _refuse(
                429,
                f"too many sign-in attempts; try again in {minutes} minute{'s' * (minutes > 1)}",
                **{"Retry-After": str(round(wait))},
            )
        user = self.users.get(name)
        usable = user if user is not None and user.can_sign_in else None
        ok = await self.passwords.verify_async(
            usable.password_hash if usable else None, form.password
        )
        self.throttle.attempted(name, address, succeeded=ok)
        if not ok or usable is None:
            log.warning("signin_failed", user=name, address=address)
            return _refuse(401, "wrong user name or password")
        self._renew(request, signed_in("password", usable.id, usable.session_epoch))
        log.info("signed_in", user=usable.id, role=usable.role.value, address=address)
        return web.json_response({"user": usable.id, "role": usable.role.value})

    async def signout(self, request: web.Request) -> web.Response:
        """End this session here (the cookie is replaced by an anonymous one)."""
        session = _session_of(request)
        now = time.monotonic()
        self._signed_out = {sid: t for sid, t in self._signed_out.items() if t > now}
        self._signed_out[session.sid] = now + self.signer.max_age_s
        self._renew(request, anonymous_session())
        identity = _identity_or_none(request)
        log.info("signed_out", user=identity.user_id if identity else None)
        return web.json_response({"signed_out": True})

    def install(self, app: web.Application) -> None:
        """Add the gate's middleware, cookie hook and routes to ``app``."""
        app[GATE] = self
        app.middlewares.append(self.middleware)
        app.on_response_prepare.append(self.set_cookies)
        app.router.add_get("/signin", self.signin_page)
        app.router.add_get("/api/session", self.whoami)
        app.router.add_post("/api/signin", self.signin)
        app.router.add_post("/api/signout", self.signout)


GATE: Final = web.AppKey("gate", Gate)
