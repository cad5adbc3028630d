"""Source health as alerts: a source failing too long, or quiet for much longer than usual.

A pure decision over a source's state and the time. When a source starts
to be unhealthy an ``Alert`` of category ``source_health`` is raised; when it
recovers, a resolving alert (an update, severity info, tag ``resolved``)
clears it. Both go through the normal notifier and route tree. Each has an
idempotency key made of the source, the problem and when it began, so a
replay after a crash is recognised downstream.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ingest.schedule import usual_gap
from ingest.source_list import SourceSpec
from schemas import Alert, Evidence, Settings, Severity
from schemas.fetch_state import FetchState

RULE_ID = "source-health"
CATEGORY = "source_health"


def problem_of(state: FetchState, settings: Settings, now: datetime) -> tuple[str, datetime] | None:
    """``("failing" | "quiet", since when)`` when the source is unhealthy, else None."""
    if state.failing_since is not None:
        if (now - state.failing_since).total_seconds() >= settings.fetch_failing_alert_s:
            return "failing", state.failing_since
        return None
    gap = usual_gap(state.new_item_times)
    last = state.last_new_item_at
    if gap is None or last is None:
        return None
    limit = max(settings.fetch_quiet_min_s, settings.fetch_quiet_factor * gap)
    if (now - last).total_seconds() > limit:
        return "quiet", last
    return None


def check_health(
    state: FetchState, source: SourceSpec, settings: Settings, now: datetime
) -> tuple[FetchState, Alert | None]:
    """The state with its open health alert updated, and the alert to send (raise or clear), if any."""
    problem = problem_of(state, settings, now)
    if problem is not None and state.health_alert is None:
        kind, since = problem
        key = f"{RULE_ID}/{source.id}/{kind}/{since.isoformat()}"
        alert = _alert(source, state, key, kind, since, now)
        return state.model_copy(update={"health_alert": key}), alert
    if problem is None and state.health_alert is not None:
        key = f"{state.health_alert}/resolved"
        alert = _alert(source, state, key, "resolved", now, now)
        return state.model_copy(update={"health_alert": None}), alert
    return state, None


def _alert(
    source: SourceSpec, state: FetchState, key: str, kind: str, since: datetime, now: datetime
) -> Alert:
    span = _span(now - since)
    if kind == "failing":
        title = f"{source.name} has failed for {span}: {state.last_error or state.last_status}"
        severity = Severity.MEDIUM
    elif kind == "quiet":
        title = f"{source.name} has published nothing new for {span}, much longer than usual"
        severity = Severity.LOW
    else:
        title = f"{source.name} has recovered"
        severity = Severity.INFO
    return Alert(
        key=key,
        rule_id=RULE_ID,
        rule_version="1",
        rule_title="Source health",
        category=CATEGORY,
        severity=severity,
        tags=(CATEGORY, kind, *source.tags),
        story_id=f"source:{source.id}",
        window_start=since,
        evidence=(
            Evidence(
                article_id=f"source:{source.id}",
                url=source.url,
                source=source.name,
                title=title,
                published_at=since,
                snippet=(state.last_error or "") if kind == "failing" else "",
            ),
        ),
        is_update=kind == "resolved",
        created_at=now,
    )


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
