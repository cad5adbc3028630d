"""Breaking-news spikes: the articles on a key in the last window against the key's usual volume.

Like EMM's and GDELT's breaking-news detection, the last window (1 hour by
default) is compared with the past, and the past is read at the same hour of
the week: news volume follows the week (a Monday morning is not a Sunday
night). The baseline of a window ending at ``t`` is the mean count of the
windows ending at ``t`` minus one, two... weeks, over the policy's
``baseline`` (4 weeks); while less than a week of history is known, the same
window on the previous days (at most six). A past window counts only if the
key was already being counted then; with none, there is no baseline yet and
no spike. A spike needs ``ratio`` times the baseline (a baseline under one
article counts as one), at least ``count`` articles and ``sources`` distinct
sources.

Pure functions over plain data, like :mod:`streams.aggregate`, whose agent
keeps one :class:`SpikeState` per (rule, key) in a changelogged table. Time
is the detections' own ``detected_at``, so a replay decides the same way.

Counts are kept per :data:`BUCKET_S` (10 minutes), so a past window is
measured to within 10 minutes: news comes in bursts, and hourly counts spread
evenly over the hour would make last week's 8:05 briefing look small at 8:15.

Bounded: the state holds the 10-minute counts of the baseline's span (only
those with articles: at most 4,040 for the default 4-week baseline, 12,100
for the longest, 12 weeks; a pair of integers each) and the articles of the
current window, at most :data:`MAX_MEMBERS` (a busier window counts as that
many, which only understates a spike).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas import Alert, Detection, EntityMention, Evidence, Severity
from schemas.alerts import SpikeFigures, StoryCount
from schemas.rules import AlertPolicy

MAX_MEMBERS = 200
MAX_TOP_STORIES = 5
MAX_EMITTED = 10
MIN_BASELINE = 1.0
MAX_DAILY_SLOTS = 6
MAX_TITLE = 200
BUCKET_S = 600
_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpikeMember(_State):
    """One article of the current window."""

    article_id: str
    story_id: str
    source: str
    title: str
    url: str | None = None
    at: datetime


class SpikeEmitted(_State):
    """An alert this key sent, and the article whose detection triggered it."""

    trigger: str
    alert: Alert


class SpikeState(_State):
    """What a spike policy remembers about one key.

    ``buckets`` are (10-minute slot since the epoch, articles in it), oldest
    first, only slots with articles; ``since`` is when the key was first counted.
    """

    since: datetime | None = None
    buckets: tuple[tuple[int, int], ...] = ()
    members: tuple[SpikeMember, ...] = ()
    window_key: str | None = None
    alerted_at: datetime | None = None
    alerted_count: int = 0
    updates: int = 0
    emitted: tuple[SpikeEmitted, ...] = ()


@dataclass(frozen=True)
class SpikeRule:
    """The spike rule an alert is raised for (a category spike counts other rules' detections)."""

    rule_id: str
    rule_version: str
    title: str
    category: str
    severity: Severity
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpikeDecision:
    """The key's new state and the alerts to send; ``replayed``: the article was already counted."""

    state: SpikeState
    alerts: tuple[Alert, ...]
    replayed: bool = False


@dataclass(frozen=True)
class Baseline:
    """The usual count of a window: its mean over the ``slots`` past windows of ``reference``."""

    mean: float
    reference: str
    slots: int


def baseline(state: SpikeState, end: datetime, policy: AlertPolicy) -> Baseline | None:
    """The usual count of the window ending at ``end``; None while no past window is known."""
    if state.since is None:
        return None
    window = policy.within
    for reference, step, count in (
        ("week", _WEEK, int(policy.baseline / _WEEK)),
        ("day", _DAY, min(MAX_DAILY_SLOTS, int(policy.baseline / _DAY))),
    ):
        ends = [end - step * k for k in range(1, count + 1)]
        known = [e for e in ends if e - window >= state.since]
        if known:
            total = sum(_count(state.buckets, e - window, e) for e in known)
            return Baseline(total / len(known), reference, len(known))
    return None


def _count(buckets: Sequence[tuple[int, int]], start: datetime, end: datetime) -> float:
    """Articles in [start, end), each slot's count prorated by how much of it is inside."""
    first, last = start.timestamp(), end.timestamp()
    low_slot = int(first // BUCKET_S)
    index = bisect_left(buckets, (low_slot, -1))
    total = 0.0
    for slot, count in buckets[index:]:
        low, high = max(first, slot * BUCKET_S), min(last, (slot + 1) * BUCKET_S)
        if low >= last:
            break
        if high > low:
            total += count * (high - low) / BUCKET_S
    return total


def decide_spike(
    state: SpikeState, detection: Detection, policy: AlertPolicy, *, group: str, rule: SpikeRule
) -> SpikeDecision:
    """Count ``detection``'s article on the key ``group``; return the alerts a spike calls for.

    In cooldown (``renotify_after`` after an alert) the key alerts again only
    when its count has doubled since, as an update whose key extends the first.
    """
    now = detection.detected_at
    if any(m.article_id == detection.article_id for m in state.members):
        replays = tuple(e.alert for e in state.emitted if e.trigger == detection.article_id)
        return SpikeDecision(state, replays, replayed=True)
    state = _counted(state, detection, policy)
    members = [m for m in state.members if now - policy.within < m.at <= now]
    sources = len({m.source.casefold() for m in members})
    usual = baseline(state, now, policy)
    if usual is None or len(members) < policy.count or sources < policy.sources:
        return SpikeDecision(state, ())
    ratio = len(members) / max(usual.mean, MIN_BASELINE)
    if ratio < policy.ratio:
        return SpikeDecision(state, ())
    cooling = (
        state.alerted_at is not None
        and state.window_key is not None
        and now - state.alerted_at < policy.renotify_after
    )
    if cooling and len(members) < 2 * state.alerted_count:
        return SpikeDecision(state, ())
    start = min(m.at for m in members)
    if cooling:
        updates = state.updates + 1
        key = f"{state.window_key}/update-{updates}"
        state = state.model_copy(update={"updates": updates})
    else:
        window = start.strftime("%Y%m%dT%H%M%S.%fZ")
        key = f"{rule.rule_id}@{rule.rule_version}/{group}/{window}"
        state = state.model_copy(update={"window_key": key, "alerted_at": now, "updates": 0})
    figures = SpikeFigures(
        key=group,
        window_s=policy.within.total_seconds(),
        current=len(members),
        baseline=round(usual.mean, 3),
        ratio=round(ratio, 2),
        sources=sources,
        reference="week" if usual.reference == "week" else "day",
        slots=usual.slots,
        top_stories=_top_stories(members),
    )
    alert = _alert(rule, detection, key, start, members, figures, group, is_update=cooling)
    state = state.model_copy(
        update={
            "alerted_count": len(members),
            "emitted": (*state.emitted, SpikeEmitted(trigger=detection.article_id, alert=alert))[
                -MAX_EMITTED:
            ],
        }
    )
    return SpikeDecision(state, (alert,))


def _counted(state: SpikeState, detection: Detection, policy: AlertPolicy) -> SpikeState:
    """The state with the article counted in its slot and the window, older counts dropped."""
    now = detection.detected_at
    slot = int(now.timestamp() // BUCKET_S)
    horizon = int((now - policy.baseline - policy.within).timestamp() // BUCKET_S) - 1
    counts = {s: c for s, c in state.buckets if s >= horizon}
    counts[slot] = counts.get(slot, 0) + 1
    member = SpikeMember(
        article_id=detection.article_id,
        story_id=detection.story_id,
        source=detection.source,
        title=detection.title[:MAX_TITLE],
        url=detection.url,
        at=now,
    )
    members = [m for m in state.members if now - m.at < policy.within]
    members.append(member)
    members.sort(key=lambda m: (m.at, m.article_id))
    emitted = tuple(
        e
        for e in state.emitted
        if e.alert.window_start is None or now - e.alert.window_start < policy.renotify_after
    )
    return state.model_copy(
        update={
            "since": min(state.since, now) if state.since else now,
            "buckets": tuple(sorted(counts.items())),
            "members": tuple(members[-MAX_MEMBERS:]),
            "emitted": emitted,
        }
    )


def _top_stories(members: Sequence[SpikeMember]) -> tuple[StoryCount, ...]:
    """The stories with the most articles in the window (then the most sources)."""
    stories: dict[str, list[SpikeMember]] = {}
    for member in members:
        stories.setdefault(member.story_id, []).append(member)
    counts = [
        StoryCount(
            story_id=story_id,
            title=found[-1].title,
            url=found[-1].url,
            articles=len(found),
            sources=len({m.source.casefold() for m in found}),
        )
        for story_id, found in stories.items()
    ]
    counts.sort(key=lambda s: (-s.articles, -s.sources, s.story_id))
    return tuple(counts[:MAX_TOP_STORIES])


def _alert(
    rule: SpikeRule,
    detection: Detection,
    key: str,
    start: datetime,
    members: Sequence[SpikeMember],
    figures: SpikeFigures,
    group: str,
    *,
    is_update: bool,
) -> Alert:
    latest = {m.story_id: m for m in members}
    evidence = tuple(
        Evidence(
            article_id=latest[s.story_id].article_id,
            url=latest[s.story_id].url,
            source=latest[s.story_id].source,
            title=latest[s.story_id].title,
        )
        for s in figures.top_stories
    )
    return Alert(
        key=key,
        rule_id=rule.rule_id,
        rule_version=rule.rule_version,
        rule_title=rule.title,
        category=rule.category,
        severity=rule.severity,
        tags=rule.tags,
        story_id=figures.top_stories[0].story_id,
        policy="spike",
        window_start=start,
        evidence=evidence,
        entities=_entities(detection, group),
        article_count=len(members),
        source_count=max(1, figures.sources),
        is_update=is_update,
        spike=figures,
    )


def _entities(detection: Detection, group: str) -> tuple[EntityMention, ...]:
    """The key's entity for an entity spike (what routes and inhibitions match); else the trigger's."""
    kind, _, entity_id = group.partition(":")
    if kind == "entity":
        return tuple(e for e in detection.entities if e.id == entity_id)
    return detection.entities
