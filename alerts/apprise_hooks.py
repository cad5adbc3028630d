"""What apprise does not let a caller reach: its HTTP responses, and per-notification fields.

``Apprise.notify`` reports success or failure and log lines; a plugin's HTTP
response stays inside the plugin (``requests.request(...)`` in its ``send``),
so a ``Retry-After`` header is lost, and a plugin object is built once per URL,
so nothing in it can differ from one notification to the next. Both are reached
here for the duration of one :func:`sending` block, on the thread that runs
``notify`` (apprise keeps its own per-call state in context variables the same
way, and copies the context into any thread it hands a call to):

- every response a ``requests`` session receives is recorded, through one
  wrapper around :meth:`requests.Session.send` installed once per process; it
  records nothing outside a :func:`sending` block and changes nothing;
- ``json://`` payloads gain ``alert_keys`` and ``notification_key`` fields
  (unless the URL reshapes apprise's payload) and an ``Idempotency-Key``
  header, through the plugin's own extra-field and extra-header mappings (what
  ``json://...?:field=value`` and ``?+Header=value`` fill), which
  :func:`key_service` replaces by mappings that read the current notification;
- an email's ``Message-ID`` is derived from the notification key: apprise's
  email plugin builds it with ``make_msgid`` looked up in its own module, and
  inside a :func:`sending` block that lookup answers with the derived id (a
  header supplied like the others would give the email two ``Message-ID``\\s).

The contract tests (``tests/integration/alerts/test_apprise_contract.py``) pin
each of these against real servers, so an apprise or requests release that
moves them fails there, not silently.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import functools
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import apprise.plugins.email.base as apprise_email
import requests
from apprise.plugins.custom_json import JSONPayloadField, NotifyJSON

from alerts.idempotency import message_id, notification_key

_STANDARD_FIELDS: Final = frozenset(
    value for name, value in vars(JSONPayloadField).items() if not name.startswith("_")
)
_MAX_RETRY_AFTER_CHARS: Final = 64


@dataclass(frozen=True)
class Reply:
    """One HTTP response a plugin received: its status, and the wait it asked for (seconds)."""

    status: int
    retry_after_s: float | None = None


@dataclass
class Sending:
    """The notification being sent on this thread, and the HTTP replies its plugin received."""

    alert_keys: tuple[str, ...]
    key: str
    replies: list[Reply] = field(default_factory=list)


_current: contextvars.ContextVar[Sending | None] = contextvars.ContextVar(
    "wirewatch_sending", default=None
)
_install_lock = threading.Lock()
_installed = False
_stdlib_make_msgid = email.utils.make_msgid


@contextlib.contextmanager
def sending(alert_keys: Sequence[str]) -> Iterator[Sending]:
    """Mark what the calling thread sends as the notification listing ``alert_keys``."""
    install()
    current = Sending(tuple(alert_keys), notification_key(alert_keys))
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def install() -> None:
    """Install the response recorder and the ``Message-ID`` hook, once per process."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if not _installed:
            requests.Session.send = _recording(requests.Session.send)  # type: ignore[method-assign]  # this is the hook
            apprise_email.make_msgid = _make_msgid  # type: ignore[attr-defined]  # the Message-ID hook
            _installed = True


def key_service(service: Any) -> None:
    """Make ``service`` (an apprise plugin object) carry each notification's keys, if it has
    fields for them (``json://``); every other plugin has them in the rendered text."""
    # apprise declares these attributes as dicts and only ever reads them as mappings.
    if isinstance(service, NotifyJSON):
        # A URL that renames or drops apprise's own fields (`?:message=text` for a
        # Slack-compatible endpoint) wants that exact shape: it is left alone.
        if not _STANDARD_FIELDS & set(service.payload_extras):
            service.payload_extras = _PerNotification(  # type: ignore[assignment]
                service.payload_extras,
                lambda now: {"alert_keys": list(now.alert_keys), "notification_key": now.key},
            )
        service.headers = _PerNotification(  # type: ignore[assignment]
            service.headers, lambda now: {"Idempotency-Key": now.key}
        )


class _PerNotification(Mapping[str, Any]):
    """A plugin's configured entries, plus those of the notification being sent on this thread."""

    def __init__(self, static: Mapping[str, Any], extra: Callable[[Sending], dict[str, Any]]):
        self._static = dict(static)
        self._extra = extra

    def _entries(self) -> dict[str, Any]:
        current = _current.get()
        return self._static if current is None else {**self._static, **self._extra(current)}

    def __getitem__(self, name: str) -> Any:
        return self._entries()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())


def _recording(send: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
    @functools.wraps(send)
    def recording_send(
        session: requests.Session, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        response = send(session, request, **kwargs)
        current = _current.get()
        if current is not None:
            current.replies.append(_reply(response))
        return response

    return recording_send


def _reply(response: requests.Response) -> Reply:
    status = response.status_code
    if status < 400:
        return Reply(status)
    header = response.headers.get("Retry-After")
    if header is None:
        return Reply(status)
    return Reply(status, retry_after_s(header, _sent_at(response.headers.get("Date"))))


def _sent_at(date: str | None) -> datetime:
    """The response's own time (so a clock difference does not skew a date), else ours."""
    when = _http_date(date) if date else None
    return when or datetime.now(UTC)


def retry_after_s(value: str, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` value asks for, or None if it is not one.

    Both forms of RFC 9110 are read: delay-seconds (ASCII digits only) and an
    HTTP date, counted from ``now`` (a date already past asks for 0 s).
    """
    text = value.strip()
    if not text or len(text) > _MAX_RETRY_AFTER_CHARS:
        return None
    if text.isascii() and text.isdigit():
        # Beyond 15 digits the wait outlasts any retry budget; int() of a long string is slow.
        return float(text) if len(text) <= 15 else math.inf
    when = _http_date(text)
    return None if when is None else max(0.0, (when - now).total_seconds())


def _http_date(text: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP dates are GMT; the asctime form parses without a zone.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _make_msgid(idstring: str | None = None, domain: str | None = None) -> str:
    current = _current.get()
    if current is None:
        return _stdlib_make_msgid(idstring, domain)
    return message_id(current.key, domain)
