"""The rule set a worker uses now, and how it changes without a restart.

Rule packs are published, validated, on the compacted rules topic as one
:class:`~schemas.rules.RuleSetMessage`. Every worker follows that topic: at
start it compiles the latest message (or, when the topic is empty, the packs
at ``settings.rules_path``), and on each new message it compiles the new set
off the event loop and swaps it in with one assignment, so a record is always
matched against one whole rule set, never half of two.
"""

from __future__ import annotations

import asyncio
import getpass
import socket
from collections.abc import Callable, Sequence

import structlog
from aiokafka import ConsumerRecord

from schemas import ConfigError, Settings
from schemas.audit import audit_event
from schemas.audit_log import Change, write_audited
from schemas.kafka import encode
from schemas.rules import RulePack, RuleSetMessage
from streams.rules import (
    Gazetteer,
    RuleSet,
    SizeLimits,
    check_sizes,
    load_gazetteer,
    load_packs,
    ruleset_version,
)

log = structlog.get_logger(__name__)

RULESET_KEY = b"ruleset"
"""The one key on the compacted rules topic: compaction keeps the latest set."""


def compile_packs(packs: Sequence[RulePack], gazetteer: Gazetteer | None) -> RuleSet:
    """Compile ``packs`` with ``gazetteer`` (raises the engine's RulePackError)."""
    return RuleSet.compile(packs, gazetteer=gazetteer)


def rules_needing_entities(rules: RuleSet) -> list[str]:
    """Ids of the enabled rules that require entities: without a gazetteer they never fire."""
    return [
        spec.id
        for spec in rules.rules.values()
        if spec.enabled and (spec.entities.any or spec.entities.all)
    ]


def ruleset_message(packs: Sequence[RulePack], published_by: str = "") -> RuleSetMessage:
    """Return the rules-topic message carrying ``packs``, versioned by their content."""
    return RuleSetMessage(
        version=ruleset_version(packs), packs=tuple(packs), published_by=published_by
    )


def ruleset_summary(message: RuleSetMessage) -> dict[str, object]:
    """What the audit trail records of a rule set: its version, packs and size, not its rules."""
    return {
        "version": message.version,
        "packs": [pack.name for pack in message.packs],
        "rules": sum(len(pack.rules) for pack in message.packs),
        "published_by": message.published_by,
    }


async def publish_ruleset(
    settings: Settings,
    message: RuleSetMessage,
    *,
    previous: RuleSetMessage | None = None,
    actor: str,
    origin: str,
) -> None:
    """Write ``message`` to the rules topic (created if missing), then its audit event.

    Args:
        previous: the rule set it replaces, for the audit event's ``before``.
        actor: who publishes (the login name); ``origin``: the host.

    Raises:
        ConfigError: the message is larger than ``settings.max_message_bytes``.
        DeliveryError: Kafka did not acknowledge it in time.
    """
    payload = encode(message)
    if len(payload) > settings.max_message_bytes:
        raise ConfigError(
            f"the rule set is {len(payload)} bytes, over WIREWATCH_MAX_MESSAGE_BYTES="
            f"{settings.max_message_bytes}; split rarely used packs out or raise the limit "
            "(and the broker's message.max.bytes)"
        )
    event = audit_event(
        "rules.published",
        f"rules:{RULESET_KEY.decode()}",
        actor=actor,
        via="cli",
        origin=origin,
        before=ruleset_summary(previous) if previous else None,
        after=ruleset_summary(message),
    )
    await write_audited(settings, [Change(settings.topics.rules, RULESET_KEY, payload)], event)


def publisher_name() -> str:
    """Return ``user@host``, recorded in the message as who published it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class RuleBook:
    """Holds the current :class:`RuleSet` of a worker and swaps it atomically.

    ``ready`` is set once a first rule set is installed; agents wait for it.
    Every rule set is compiled with the gazetteer at ``settings.gazetteer_path``,
    read once at start, so entity conditions and figures bound to commodities
    work as they do in ``wirewatch scan``.
    """

    def __init__(
        self, settings: Settings, on_install: Callable[[RuleSet], None] | None = None
    ) -> None:
        self._settings = settings
        self._on_install = on_install
        self._current: RuleSet | None = None
        self._gazetteer: Gazetteer | None = None
        self._latest: bytes | None = None
        self._pending: asyncio.Queue[bytes] = asyncio.Queue()
        self.ready = asyncio.Event()
        self.caught_up = asyncio.Event()

    @property
    def current(self) -> RuleSet:
        """The rule set in use now.

        Raises:
            RuntimeError: no rule set is installed yet (wait for ``ready``).
        """
        if self._current is None:
            raise RuntimeError("no rule set installed yet")
        return self._current

    def install(self, rules: RuleSet, origin: str) -> None:
        """Swap to ``rules`` (one assignment: a record sees the old or the new set)."""
        blind = rules_needing_entities(rules) if self._gazetteer is None else []
        if blind:
            log.error(
                "rules_cannot_fire",
                rules=blind,
                reason=f"they require entities, but there is no gazetteer at "
                f"{self._settings.gazetteer_path.resolve()}; set WIREWATCH_GAZETTEER_PATH",
            )
        previous = self._current.version if self._current else None
        self._current = rules
        if self._on_install is not None:
            self._on_install(rules)
        self.ready.set()
        log.info(
            "rules_installed",
            version=rules.version,
            previous=previous,
            rules=len(rules.rules),
            origin=origin,
        )

    def on_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Take a record of the rules topic (called by the follower, in order)."""
        if record.value is None:
            return
        if self.caught_up.is_set():
            self._pending.put_nowait(record.value)
        else:
            self._latest = record.value

    async def run(self) -> None:
        """Install the first rule set once the topic is read, then each newly published one."""
        loop = asyncio.get_running_loop()
        self._gazetteer = await loop.run_in_executor(
            None, load_gazetteer, self._settings.gazetteer_path
        )
        await self.caught_up.wait()
        if self._latest is not None:
            await self._install_message(self._latest)
        if self._current is None:
            await self._install_files()
        while True:
            await self._install_message(await self._pending.get())

    async def _install_files(self) -> None:
        path = self._settings.rules_path
        loop = asyncio.get_running_loop()

        def build() -> RuleSet:
            packs = load_packs(path, limits=SizeLimits.from_settings(self._settings))
            return compile_packs(packs, self._gazetteer)

        rules = await asyncio.wait_for(
            loop.run_in_executor(None, build), self._settings.rules_compile_timeout_s
        )
        self.install(rules, origin=str(path))

    async def _install_message(self, payload: bytes) -> None:
        loop = asyncio.get_running_loop()
        try:
            message = RuleSetMessage.model_validate_json(payload)

            def build() -> RuleSet:
                check_sizes(message.packs, SizeLimits.from_settings(self._settings))
                return compile_packs(message.packs, self._gazetteer)

            rules = await asyncio.wait_for(
                loop.run_in_executor(None, build), self._settings.rules_compile_timeout_s
            )
        except Exception as exc:  # a bad message must not stop the worker: keep the old set
            log.error("rules_rejected", error=str(exc), error_type=type(exc).__name__)
            return
        self.install(rules, origin=f"rules topic, published by {message.published_by or '?'}")
