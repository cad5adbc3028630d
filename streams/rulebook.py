"""The rule set a worker uses now, and how it changes without a restart.

Rule packs are published, validated, on the compacted rules topic, one record
per owner and pack (:class:`~schemas.rules.PackRecord`); the rule set is the
union of the latest version of every pack (:mod:`streams.pack_union`). Every
worker follows that topic: at start it compiles the union of the packs on it
(or, when the topic holds none, the packs at ``settings.rules_path``), and
after each publication it compiles the new union off the event loop and
swaps it in with one assignment, so a record is always matched against one
whole rule set, never half of two. A pack whose new version fails to compile
is left at the version in force and reported (log, metric, ``/readyz``, the
dashboard's rule health); everyone else's packs still change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from aiokafka import ConsumerRecord

from schemas import Settings
from schemas.rules import RulePack
from streams.follower import follow_topic
from streams.gazetteer_files import GazetteerFiles
from streams.pack_union import Outcome, PackFailure, PackUnion, Plan, compile_plan
from streams.rules import Gazetteer, RuleSet, SizeLimits, check_sizes, load_packs

log = structlog.get_logger(__name__)

QUIET_S = 0.3
"""A publication of many packs is many records: a swap waits until none came for this long..."""
MOST_WAIT_S = 5.0
"""...but no longer than this after the first one."""

RuleReport = dict[str, Any]
"""Where the rule set comes from, the packs in force and the failing ones, as JSON data."""


def compile_packs(
    packs: Sequence[RulePack], gazetteer: Gazetteer | None, version: str | None = None
) -> RuleSet:
    """Compile ``packs`` with ``gazetteer`` (raises the engine's RulePackError)."""
    return RuleSet.compile(packs, gazetteer=gazetteer, version=version)


def rules_needing_entities(rules: RuleSet) -> list[str]:
    """Ids of the enabled rules that require entities: without a gazetteer they never fire."""
    return [
        spec.id
        for spec in rules.rules.values()
        if spec.enabled and (spec.entities.any or spec.entities.all)
    ]


class RuleBook:
    """Holds the current :class:`RuleSet` of a worker and swaps it atomically.

    ``ready`` is set once a first rule set is installed; agents wait for it.
    ``on_report`` is called with :attr:`report` after every change of the
    rules topic was dealt with.
    Every rule set is compiled with the gazetteer at ``settings.gazetteer_path``,
    read once at start, so entity conditions and figures bound to commodities
    work as they do in ``wirewatch scan``.
    """

    def __init__(
        self,
        settings: Settings,
        on_install: Callable[[RuleSet], None] | None = None,
        on_report: Callable[[RuleReport], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_install = on_install
        self._on_report = on_report
        self._current: RuleSet | None = None
        self._source = ""
        self._gazetteer: Gazetteer | None = None
        self._records: list[tuple[bytes | None, bytes | None, int]] = []
        self._arrived = asyncio.Event()
        self.union = PackUnion()
        self.gazetteers = GazetteerFiles()
        self.ready = asyncio.Event()
        self.caught_up = asyncio.Event()
        self.gazetteers_caught_up = asyncio.Event()

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
        self._records.append((record.key, record.value, record.offset))
        self._arrived.set()

    def on_gazetteer_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Take a record of the gazetteers topic (called by its follower, in order)."""
        self.gazetteers.take(record.key, record.value)
        self._arrived.set()

    async def follow(self) -> None:
        """Follow the rules and gazetteers topics and keep the rule set up to date, forever."""
        names = self._settings.topics
        await asyncio.gather(
            follow_topic(self._settings, names.rules, self.on_record, caught_up=self.caught_up),
            follow_topic(
                self._settings,
                names.gazetteers,
                self.on_gazetteer_record,
                caught_up=self.gazetteers_caught_up,
            ),
            self.run(),
        )

    @property
    def report(self) -> RuleReport:
        """Where the rule set in use comes from, its packs, and the packs that failed."""
        return {
            "source": self._source,
            "version": self._current.version if self._current else None,
            "packs": [entry.view() for entry in self.union.in_force.values()],
            "failing": [failure.view() for failure in self.union.failures.values()],
            "gazetteer": self.gazetteers.view(),
        }

    async def run(self) -> None:
        """Install the first rule set once both topics are read, then each change of either."""
        await self.caught_up.wait()
        await self.gazetteers_caught_up.wait()
        await self._rebuild()
        while True:
            await self._arrived.wait()
            await self._quiet()
            await self._rebuild()

    async def _quiet(self) -> None:
        """Wait until records stop arriving, so one publication makes one swap."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MOST_WAIT_S
        while loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), QUIET_S)
            except TimeoutError:
                return

    async def _rebuild(self) -> None:
        self._arrived.clear()
        records, self._records = self._records, []
        for key, value, offset in records:
            self.union.take(key, value, offset)
        recompile = await self._reload_gazetteer()
        if self.union.has_packs:
            await self._install_union(self.union.plan(), recompile)
        if (
            self._current is None
            or (not self.union.has_packs and self._source != "files")
            or (recompile and self._source == "files")
        ):
            await self._install_files()
        if self._on_report is not None:
            self._on_report(self.report)

    async def _reload_gazetteer(self) -> bool:
        """Load the gazetteer again if it changed; True when rules must be compiled with it."""
        if not self.gazetteers.changed:
            return False
        loop = asyncio.get_running_loop()
        path = self._settings.gazetteer_path
        self.gazetteers.snapshot()
        try:
            gazetteer = await loop.run_in_executor(None, self.gazetteers.load, path)
        except Exception as exc:  # a broken gazetteer must not stop the worker: keep the old one
            self.gazetteers.failed(str(exc))
            log.error("gazetteer_rejected", keeps=self.gazetteers.version, error=str(exc))
            return False
        self._gazetteer = gazetteer
        self.gazetteers.loaded(path)
        log.info("gazetteer_loaded", source=self.gazetteers.source, version=self.gazetteers.version)
        return self._current is not None

    async def _install_union(self, plan: Plan, recompile: bool = False) -> None:
        current = None if recompile else self._current
        if not plan.chosen:  # every pack refused: nothing of the topic to install
            self.union.apply(Outcome(None, (), plan.refused, plan.trial))
            return
        if current is not None and not plan.trial and current.version == plan.version:
            outcome = Outcome(current, plan.chosen, plan.refused, frozenset(plan.trial))
        else:
            loop = asyncio.get_running_loop()
            timeout = self._settings.rules_compile_timeout_s

            limits = SizeLimits.from_settings(self._settings)

            def build(packs: Sequence[RulePack], version: str) -> RuleSet:
                check_sizes(packs, limits)
                return compile_packs(packs, self._gazetteer, version)

            try:
                outcome = await asyncio.wait_for(
                    loop.run_in_executor(
                        None, compile_plan, plan, build, current.version if current else None
                    ),
                    timeout,
                )
            except TimeoutError:
                failures = [
                    PackFailure(
                        e.key, e.version, f"the rule set did not compile within {timeout:g} s"
                    )
                    for e in plan.chosen
                    if e.key in plan.trial
                ]
                outcome = Outcome(None, plan.chosen, tuple(failures), plan.trial)
        for failure in self.union.apply(outcome):
            log.error(
                "rule_pack_rejected",
                pack=failure.key,
                version=failure.version,
                error=failure.error,
                keeps=(kept.version if (kept := self.union.in_force.get(failure.key)) else None),
            )
        if outcome.rules is not None and outcome.rules is not self._current:
            self._source = "topic"
            self.install(outcome.rules, origin=f"rules topic, {len(outcome.chosen)} packs")

    async def _install_files(self) -> None:
        path = self._settings.rules_path
        loop = asyncio.get_running_loop()

        def build() -> RuleSet:
            packs = load_packs(path, limits=SizeLimits.from_settings(self._settings))
            return compile_packs(packs, self._gazetteer)

        rules = await asyncio.wait_for(
            loop.run_in_executor(None, build), self._settings.rules_compile_timeout_s
        )
        self.union.in_force = {}
        self._source = "files"
        self.install(rules, origin=str(path))
