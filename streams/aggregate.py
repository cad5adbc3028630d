"""Aggregation: when the detections of a rule become an :class:`~schemas.Alert`.

Pure functions over plain data. The agent keeps one :class:`GroupState` per
detection key (``<rule id>|<group>``) in a faust table, so the state of a group
lives on the partition its detections are keyed to, is saved in the table's
changelog, and moves with that partition on a rebalance.

Time is the detections' own ``detected_at``, never the clock at aggregation,
so a replay after a crash takes the same decisions and yields the same
idempotency keys.

Counting is by story and by source, not by copy: a near-verbatim copy
(``copy_of``) counts as the article it copies and as that article's source,
so a wire reprint on two domains is one source for corroboration and one
article for a threshold.

When clustering merges story B into story A, each story-grouped rule's state
moves from ``R|story:B`` to ``R|story:A`` through two control records on the
detections topic (:func:`fold_control`): ``story_merge`` marks B's group as
moved and sends its state on as a ``group_transfer``, which A's group folds
in. What B counted counts once in A, and an alert B sent is A's alert: it is
not sent again, only updated on a material change. Both steps are replay-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas import (
    Alert,
    Detection,
    EntityMention,
    Evidence,
    ExtractedValue,
    FigureChange,
)
from schemas.detections import RuleHeader
from schemas.rules import AlertPolicy
from schemas.stories import GroupControl

MAX_MEMBERS = 30
"""Detections kept per group (more when a threshold needs more): bounds the state."""
MAX_EVIDENCE = 10
"""Articles quoted in one alert, the most recent ones."""
MAX_EMITTED = 10
"""Alerts remembered per group, to re-send the same one when its trigger is replayed."""


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Member(_State):
    """One article's detection inside a group: its evidence and what it extracted."""

    evidence: Evidence
    at: datetime
    entities: tuple[EntityMention, ...] = ()
    values: tuple[ExtractedValue, ...] = ()
    copy_of: str | None = None
    copy_of_source: str | None = None
    change: FigureChange | None = None
    """A change rule's comparison of the member's figure with its series' history."""

    @property
    def report(self) -> str:
        """The text this member stands for: its own article, or the one it copies."""
        return self.copy_of or self.evidence.article_id

    @property
    def outlet(self) -> str:
        """The source this member counts as: its own, or that of the text it copies."""
        return (self.copy_of_source or self.evidence.source).casefold()


class EmittedAlert(_State):
    """An alert this group sent, and the article whose detection triggered it."""

    trigger: str
    alert: Alert


class GroupState(_State):
    """What aggregation remembers about one rule and one story or entity.

    ``absorbed`` lists the groups whose state was folded into this one;
    ``moved_to`` is set once this group's story was absorbed into another:
    what still arrives here is passed on to that group.
    """

    members: tuple[Member, ...] = ()
    window_key: str | None = None
    window_start: datetime | None = None
    alerted_at: datetime | None = None
    alerted_sources: int = 0
    alerted_values: tuple[str, ...] = ()
    updates: int = 0
    emitted: tuple[EmittedAlert, ...] = ()
    rule: RuleHeader | None = None
    absorbed: tuple[str, ...] = ()
    moved_to: str | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome of one record: the group's new state, the alerts to send, and what to pass on.

    ``replayed`` is true when the detection's article (or the transferred
    group) was already counted (a replay or a repeat); its alerts are then
    the ones it triggered before. ``forward`` holds records to send to the
    detections topic, keyed, for another group.
    """

    state: GroupState
    alerts: tuple[Alert, ...]
    replayed: bool = False
    forward: tuple[tuple[str, Detection | GroupControl], ...] = ()


def group_keys(detection: Detection, policy: AlertPolicy) -> list[str]:
    """Return the groups a detection counts in: its story, or each of its entities.

    Only a threshold or spike policy groups by anything but the story: by every
    entity (``entity``), by entities of one kind (``entity:<kind>``) or by the
    commodities its figures are bound to (``commodity``); a spike also by its
    rule (``rule``) or category (``category:<name>``). A detection with no
    such entity falls back to its story.
    """
    groups: set[str] = set()
    counted = policy.policy in ("threshold", "spike")
    if policy.policy == "spike" and policy.group_by in ("rule", "category"):
        return ["rule" if policy.group_by == "rule" else f"category:{detection.category}"]
    if counted and policy.group_by == "commodity":
        groups = {f"entity:{value.commodity}" for value in detection.values if value.commodity}
    elif counted and policy.group_by.startswith("entity"):
        _, _, kind = policy.group_by.partition(":")
        groups = {
            f"entity:{entity.id}"
            for entity in detection.entities
            if not kind or entity.kind == kind
        }
    return sorted(groups) if groups else [f"story:{detection.story_id}"]


def detection_key(rule_id: str, group: str) -> str:
    """Return the Kafka key of a detection: its rule and group, so state is co-partitioned."""
    return f"{rule_id}|{group}"


def split_detection_key(key: str) -> tuple[str, str]:
    """Return ``(rule_id, group)`` from a detection key.

    Raises:
        ValueError: the key is not ``<rule id>|<group>``.
    """
    rule_id, sep, group = key.partition("|")
    if not sep or not rule_id or not group:
        raise ValueError(f"{key!r} is not a detection key (<rule id>|<group>)")
    return rule_id, group


def alert_key(rule: RuleHeader, group: str, window_start: datetime) -> str:
    """Return the idempotency key ``rule_id@rule_version/group/window``."""
    window = window_start.strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{rule.rule_id}@{rule.rule_version}/{group}/{window}"


def decide(state: GroupState, detection: Detection, policy: AlertPolicy, *, group: str) -> Decision:
    """Fold ``detection`` into ``state`` and return the alerts ``policy`` calls for.

    - immediate: the first detection of the group alerts;
    - threshold: ``count`` distinct reports (a copy is its original's report)
      ``within`` the window alert;
    - corroboration: ``sources`` distinct sources (a copy counts as its
      original's source) ``within`` the window alert.

    After an alert the group is in cooldown for ``renotify_after``: another
    detection alerts again only on a material change (an extracted figure not
    seen before, or more distinct sources), as an update whose key extends the
    first alert's key. Once the cooldown has passed, a fresh alert opens a new
    window with a new key.
    """
    now = detection.detected_at
    article_id = detection.article_id
    if any(member.evidence.article_id == article_id for member in state.members):
        replays = tuple(e.alert for e in state.emitted if e.trigger == article_id)
        return Decision(state, replays, replayed=True)
    if state.moved_to is not None:
        moved = detection.model_copy(update={"story_id": _story_of(state.moved_to)})
        return Decision(
            state, (), forward=((detection_key(detection.rule_id, state.moved_to), moved),)
        )
    rule = detection.rule_header()
    state = state.model_copy(update={"rule": rule})
    state = _keep(state, [*state.members, _member(detection)], now, policy)
    return _evaluate(state, now, policy, group, detection.story_id, trigger=article_id)


def fold_control(
    state: GroupState, control: GroupControl, policy: AlertPolicy, *, group: str
) -> Decision:
    """Apply a story-merge control record to the group ``group`` (its state ``state``).

    - ``story_merge`` (to the absorbed story's group): the group is marked as
      moved to ``control.into_group`` and its state is passed on there as a
      ``group_transfer``; a replayed merge passes the same state on again.
    - ``group_transfer`` (to the absorbing story's group): the transferred
      members and alerts are folded in (each group once), then the policy is
      applied as for a detection at ``control.at``: two stories of one source
      each may now corroborate each other. A group that has itself moved on
      passes the transfer on.
    """
    if control.type == "story_merge":
        moved = (
            state
            if state.moved_to is not None
            else state.model_copy(update={"moved_to": control.into_group})
        )
        transfer = GroupControl(
            type="group_transfer",
            rule_id=control.rule_id,
            from_group=control.from_group,
            into_group=moved.moved_to or control.into_group,
            at=control.at,
            state=state.model_copy(update={"moved_to": None}).model_dump_json(),
        )
        return Decision(
            moved,
            (),
            replayed=state.moved_to is not None,
            forward=((detection_key(control.rule_id, transfer.into_group), transfer),),
        )
    if state.moved_to is not None:
        onward = control.model_copy(update={"into_group": state.moved_to})
        return Decision(
            state, (), forward=((detection_key(control.rule_id, state.moved_to), onward),)
        )
    trigger = f"merge:{control.from_group}"
    if control.from_group in state.absorbed:
        replays = tuple(e.alert for e in state.emitted if e.trigger == trigger)
        return Decision(state, replays, replayed=True)
    other = GroupState.model_validate_json(control.state or "{}")
    known = {m.evidence.article_id for m in state.members}
    members = sorted(
        [*state.members, *(m for m in other.members if m.evidence.article_id not in known)],
        key=lambda m: m.at,
    )
    update: dict[str, object] = {
        "rule": state.rule or other.rule,
        "absorbed": (*state.absorbed, control.from_group, *other.absorbed)[-MAX_EMITTED:],
        "emitted": (*state.emitted, *other.emitted)[-MAX_EMITTED:],
    }
    if state.alerted_at is None and other.alerted_at is not None:
        # the absorbed story's alert is this story's alert now: updates extend its key
        update.update(
            window_key=other.window_key,
            window_start=other.window_start,
            alerted_at=other.alerted_at,
            alerted_sources=other.alerted_sources,
            alerted_values=other.alerted_values,
            updates=other.updates,
        )
    elif state.alerted_at is not None and other.alerted_at is not None:
        # both were notified: together they covered every source and figure known
        update.update(
            alerted_sources=_source_count(members),
            alerted_values=tuple(sorted({*state.alerted_values, *other.alerted_values})),
        )
    state = _keep(state.model_copy(update=update), members, control.at, policy)
    if state.rule is None:
        return Decision(state, ())
    return _evaluate(state, control.at, policy, group, _story_of(group), trigger=trigger)


def _story_of(group: str) -> str:
    return group.removeprefix("story:")


def _keep(
    state: GroupState, members: list[Member], now: datetime, policy: AlertPolicy
) -> GroupState:
    """``state`` with ``members`` (cut to the window and the bound) and its emitted alerts aged out."""
    keep_for = max(policy.within, policy.renotify_after)
    members = [m for m in members if now - m.at < keep_for]
    members = members[-max(MAX_MEMBERS, policy.count) :]
    emitted = tuple(e for e in state.emitted if _age(now, e.alert.window_start) < keep_for)
    return state.model_copy(update={"members": tuple(members), "emitted": emitted})


def _evaluate(
    state: GroupState,
    now: datetime,
    policy: AlertPolicy,
    group: str,
    story_id: str,
    *,
    trigger: str,
) -> Decision:
    """Apply ``policy`` to ``state`` at ``now``: a fresh alert, an update, or nothing."""
    rule = state.rule
    assert rule is not None  # set by every caller that gets here
    members = list(state.members)
    recent = [m for m in members if now - m.at < policy.within]
    if not _qualifies(policy, recent):
        return Decision(state, ())

    window = _cooling_window(state, now, policy)
    if window is None:
        start = now if policy.policy == "immediate" else min(m.at for m in recent)
        key = alert_key(rule, group, start)
        chosen = [m for m in members if m.at >= start]
        alert = _alert(rule, story_id, policy, key, start, chosen, is_update=False)
        state = state.model_copy(
            update={
                "window_key": key,
                "window_start": start,
                "alerted_at": now,
                "updates": 0,
            }
        )
    else:
        window_key, start = window
        chosen = [m for m in members if m.at >= start]
        new_values = set(_value_prints(chosen)) - set(state.alerted_values)
        more_sources = _source_count(chosen) > state.alerted_sources
        if not new_values and not more_sources:
            return Decision(state, ())
        updates = state.updates + 1
        key = f"{window_key}/update-{updates}"
        alert = _alert(rule, story_id, policy, key, start, chosen, is_update=True)
        state = state.model_copy(update={"updates": updates})

    state = state.model_copy(
        update={
            "alerted_sources": _source_count(chosen),
            "alerted_values": tuple(sorted(set(_value_prints(chosen)))),
            "emitted": (*state.emitted, EmittedAlert(trigger=trigger, alert=alert))[-MAX_EMITTED:],
        }
    )
    return Decision(state, (alert,))


def _cooling_window(
    state: GroupState, now: datetime, policy: AlertPolicy
) -> tuple[str, datetime] | None:
    """Return the key and start of the last alert's window while its cooldown runs."""
    if state.alerted_at is None or state.window_key is None or state.window_start is None:
        return None
    if now - state.alerted_at >= policy.renotify_after:
        return None
    return state.window_key, state.window_start


def _age(now: datetime, then: datetime | None) -> timedelta:
    return now - then if then is not None else timedelta(0)


def _qualifies(policy: AlertPolicy, recent: Sequence[Member]) -> bool:
    if policy.policy == "threshold":
        return len({m.report for m in recent}) >= policy.count
    if policy.policy == "corroboration":
        return _source_count(recent) >= policy.sources
    return True


def _member(detection: Detection) -> Member:
    return Member(
        evidence=Evidence(
            article_id=detection.article_id,
            url=detection.url,
            source=detection.source,
            title=detection.title,
            published_at=detection.published_at,
            kind=detection.article_kind,
            found_on=detection.found_on,
            snippet=detection.snippet,
            snippet_highlights=detection.snippet_highlights,
        ),
        at=detection.detected_at,
        entities=detection.entities,
        values=detection.values,
        copy_of=detection.copy_of,
        copy_of_source=detection.copy_of_source,
        change=detection.change,
    )


def _source_count(members: Iterable[Member]) -> int:
    return len({m.outlet for m in members})


def _value_print(value: ExtractedValue) -> str:
    return value.model_dump_json(exclude={"span"})


def _value_prints(members: Iterable[Member]) -> list[str]:
    return [_value_print(v) for m in members for v in m.values]


def _alert(
    rule: RuleHeader,
    story_id: str,
    policy: AlertPolicy,
    key: str,
    start: datetime,
    members: Sequence[Member],
    *,
    is_update: bool,
) -> Alert:
    entities: dict[str, EntityMention] = {}
    values: dict[str, ExtractedValue] = {}
    for member in members:
        for entity in member.entities:
            entities.setdefault(entity.id, entity)
        for value in member.values:
            values.setdefault(_value_print(value), value)
    return Alert(
        **dict(rule.rule_header()),
        key=key,
        story_id=story_id,
        policy=policy.policy,
        window_start=start,
        evidence=tuple(m.evidence for m in members[-MAX_EVIDENCE:]),
        entities=tuple(entities.values()),
        values=tuple(values.values()),
        article_count=len({m.evidence.article_id for m in members}),
        source_count=max(1, _source_count(members)),
        is_update=is_update,
        change=next((m.change for m in reversed(members) if m.change is not None), None),
    )
