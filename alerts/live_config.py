"""The notifier's routes and receiver URLs, reloaded from their topics while it runs.

At start the notifier has the routes file (``WIREWATCH_ROUTES_PATH``) and the
receiver URLs of the settings. :class:`LiveConfig` takes the records of the
``routes`` and ``receivers`` topics as they come: a published route tree
replaces the file's, a published receiver's URLs replace the settings' URLs
of that name. :meth:`LiveConfig.build` checks the result exactly as at start
(schema, every routed receiver declared and given a URL); the notifier swaps
to it only when it is whole, else keeps what it has and reports why.

Receiver URLs on the topic are Fernet tokens (AES-CBC with HMAC-SHA256) made
with ``WIREWATCH_RECEIVERS_KEY``, unless they were published in plain text on
purpose; a token that does not open with the notifier's key is an error
naming the receiver, never showing the token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr, ValidationError

from alerts.receivers import Receiver, resolve_receivers
from alerts.routing import ReceiverSpec, RoutesFile, RouteSpec, RoutingTable, parse_routes
from schemas import ConfigError, Settings
from schemas.live_config import ROUTES_KEY, ReceiverRecord, RoutesRecord, watch_tag

KEY_HELP = (
    "set WIREWATCH_RECEIVERS_KEY to a key made with `wirewatch receivers key` "
    "(the same on every notifier)"
)


def receivers_box(settings: Settings) -> Fernet | None:
    """The cipher of receiver URLs, from ``WIREWATCH_RECEIVERS_KEY`` (None when unset).

    Raises:
        ConfigError: the key is not a Fernet key.
    """
    key = settings.receivers_key
    if key is None:
        return None
    try:
        return Fernet(key.get_secret_value().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ConfigError(
            "WIREWATCH_RECEIVERS_KEY is not a Fernet key (32 url-safe base64-encoded bytes); "
            "make one with `wirewatch receivers key`"
        ) from None


def seal(
    name: str,
    urls: Sequence[str],
    box: Fernet | None,
    actor: str,
    *,
    plaintext: bool = False,
    owner: str | None = None,
    template: Literal["email", "slack", "text"] | None = None,
) -> ReceiverRecord:
    """Return the record of receiver ``name``: its URLs encrypted with ``box``.

    ``owner`` and ``template`` make it a personal receiver (see :class:`ReceiverRecord`).

    Raises:
        ConfigError: there is no key and plain text was not asked for.
    """
    if box is None and not plaintext:
        raise ConfigError(
            f"refusing to put receiver {name}'s URLs on Kafka unencrypted: {KEY_HELP}, or say "
            "--plaintext if topic ACLs alone protect the receivers topic"
        )
    sealed = tuple(box.encrypt(url.encode()).decode() for url in urls) if box else tuple(urls)
    return ReceiverRecord(
        name=name,
        urls=sealed,
        encrypted=box is not None,
        updated_by=actor,
        owner=owner,
        template=template,
    )


def open_urls(record: ReceiverRecord, box: Fernet | None) -> list[SecretStr]:
    """Return a receiver record's URLs.

    Raises:
        ConfigError: they are encrypted and ``box`` cannot open them (the message names the receiver).
    """
    if not record.encrypted:
        return [SecretStr(url) for url in record.urls]
    if box is None:
        raise ConfigError(f"receiver {record.name}: its URLs are encrypted: {KEY_HELP}")
    try:
        return [SecretStr(box.decrypt(url.encode()).decode()) for url in record.urls]
    except (InvalidToken, UnicodeDecodeError):
        raise ConfigError(
            f"receiver {record.name}: its URLs do not open with WIREWATCH_RECEIVERS_KEY "
            "(a different key, or a damaged record)"
        ) from None


@dataclass(frozen=True)
class Config:
    """A complete notifier configuration: the route tree and every receiver with its URLs."""

    routes: RoutingTable
    receivers: dict[str, Receiver]
    routes_origin: str


class LiveConfig:
    """The records of the routes and receivers topics, and the configuration they make.

    ``changed`` is set by every record and cleared by :meth:`build`;
    ``error`` is why the last build failed (None when it worked).
    """

    def __init__(self, settings: Settings, file_routes: RoutingTable) -> None:
        self._settings = settings
        self._file_routes = file_routes
        self._box = receivers_box(settings)
        self.routes: RoutesRecord | None = None
        self.receivers: dict[str, ReceiverRecord] = {}
        self.unreadable: dict[str, str] = {}
        self.changed = False
        self.error: str | None = None

    @property
    def published(self) -> bool:
        """True when either topic holds something (else the files and settings stand)."""
        return self.routes is not None or bool(self.receivers) or bool(self.unreadable)

    def take_routes(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the routes topic."""
        if (key or b"").decode("utf-8", "replace") != ROUTES_KEY:
            return
        self.changed = True
        self.unreadable.pop(ROUTES_KEY, None)
        if value is None:
            self.routes = None
            return
        try:
            self.routes = RoutesRecord.model_validate_json(value)
        except ValidationError as exc:
            self.unreadable[ROUTES_KEY] = f"unreadable record: {exc.error_count()} errors"

    def take_receiver(self, key: bytes | None, value: bytes | None) -> None:
        """Take a record of the receivers topic (a tombstone removes the receiver)."""
        name = (key or b"").decode("utf-8", "replace")
        self.changed = True
        self.unreadable.pop(f"receiver {name}", None)
        if value is None:
            self.receivers.pop(name, None)
            return
        try:
            self.receivers[name] = ReceiverRecord.model_validate_json(value)
        except ValidationError as exc:  # the message of a URL error could hold the URL
            self.unreadable[f"receiver {name}"] = f"unreadable record: {exc.error_count()} errors"

    def build(self) -> Config:
        """Return the configuration the records make.

        Raises:
            ConfigError: a record is unreadable, the routes do not check, a URL
                does not open, or a routed receiver has no URL.
        """
        self.changed = False
        if self.unreadable:
            raise ConfigError("; ".join(f"{k}: {v}" for k, v in sorted(self.unreadable.items())))
        routes = self._file_routes
        origin = str(self._settings.routes_path)
        if self.routes is not None:
            origin = f"routes topic, version {self.routes.version}"
            routes = parse_routes(self.routes.text, origin)
        personal = [r for r in self.receivers.values() if r.owner is not None]
        if personal:
            routes = with_personal_routes(routes, personal, origin)
        published = {name: open_urls(r, self._box) for name, r in self.receivers.items()}
        receivers = resolve_receivers(self._settings, routes.receivers, published)
        return Config(routes, receivers, origin)


def with_personal_routes(
    table: RoutingTable, personal: Sequence[ReceiverRecord], origin: str
) -> RoutingTable:
    """Return ``table`` with a first route per personal receiver: its owner's watches, at once.

    Each matches the tag the dashboard puts on its owner's watches and says
    ``continue``, so the routes file still decides where else the alerts go.
    """
    spec = table.spec
    receivers = {**spec.receivers}
    routes = []
    for record in sorted(personal, key=lambda r: r.name):
        assert record.owner is not None
        receivers[record.name] = ReceiverSpec(template=record.template or "text")
        routes.append(
            RouteSpec.model_validate(
                {
                    "receiver": record.name,
                    "match": {"tags": [watch_tag(record.owner)]},
                    "continue": True,
                    "group_by": ["story_id"],
                    "group_wait": "0s",
                }
            )
        )
    root = spec.route.model_copy(update={"routes": (*routes, *spec.route.routes)})
    return RoutingTable(RoutesFile(receivers=receivers, route=root), origin)
