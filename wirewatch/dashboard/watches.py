"""Watches: rules analysts write in the dashboard, test on past articles, and own.

A watch is one rule of its author's pack ``<user>/watches`` on the rules
topic, published through :func:`streams.rule_admin.publish_packs` like any
pack (validated, versioned, audited). Its id starts with the author's name,
so analysts never collide, and it carries the tag ``watch:<user>``, which
routes its alerts to the author's own receiver (a personal receiver on the
receivers topic; see :mod:`alerts.live_config`).

- :func:`check_watch` validates a draft as ``rules check`` does, with errors
  located by field and, for queries and ``where``, by column;
- :func:`backtest` runs it over the articles of the last days read back from
  the articles topic, bounded in days, articles and seconds;
- :func:`watch_pack` puts a watch into (or takes it out of) its author's pack.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from aiokafka import TopicPartition
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas import Article, ConfigError, Detection, Settings
from schemas.kafka import make_consumer
from schemas.live_config import watch_tag
from schemas.rules import RulePack, RuleSpec
from streams.rules import Gazetteer, QuerySyntaxError, RulePackError, RuleSet
from streams.rules.conditions import compile_condition
from wirewatch.dashboard.playground import query_terms

PACK_NAME: Final = "watches"
"""Every analyst's watches are their pack of this name."""
MAX_HITS: Final = 50
"""Most hits a backtest shows (it counts them all)."""
_NOT_ID: Final = re.compile(r"[^a-z0-9_.-]+")


def id_prefix(user_id: str) -> str:
    """The prefix of ``user_id``'s watch ids: the name, cut to what a rule id allows."""
    return _NOT_ID.sub("-", user_id.lower()).strip("-.")[:40] or "user"


class WatchDraft(BaseModel):
    """A watch as the page's form posts it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    title: Annotated[str, Field(min_length=1, max_length=300)]
    category: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]
    severity: Literal["info", "low", "medium", "high", "critical"] = "medium"
    query: Annotated[str, Field(min_length=1, max_length=10_000)]
    entities_any: Annotated[list[str], Field(max_length=50)] = []
    entities_all: Annotated[list[str], Field(max_length=50)] = []
    entities_none: Annotated[list[str], Field(max_length=50)] = []
    where: Annotated[str, Field(max_length=2_000)] = ""

    def rule(self, user_id: str) -> RuleSpec:
        """The rule this draft makes for ``user_id`` (raises ValidationError)."""
        where = self.where.strip() or None
        return RuleSpec.model_validate(
            {
                "id": f"{id_prefix(user_id)}.{self.name}",
                "title": self.title,
                "category": self.category,
                "severity": self.severity,
                "query": self.query,
                "tags": [watch_tag(user_id)],
                "entities": {
                    "any": self.entities_any,
                    "all": self.entities_all,
                    "none": self.entities_none,
                },
                "extract": ["price", "spread", "change_pct", "extreme"] if where else [],
                "where": where,
            }
        )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a draft: the field, what, and where in it (column and caret)."""

    field: str
    message: str
    column: int | None = None
    caret: str | None = None

    def view(self) -> dict[str, Any]:
        """As JSON data."""
        return {
            "field": self.field,
            "message": self.message,
            "column": self.column,
            "caret": self.caret,
        }


def check_watch(
    draft: WatchDraft, user_id: str, gazetteer: Gazetteer | None
) -> tuple[list[Problem], list[str], RuleSet | None]:
    """Validate a draft as ``rules check`` would; return (problems, warnings, its one-rule set)."""
    problems: list[Problem] = []
    try:
        query_terms(draft.query)
    except QuerySyntaxError as exc:
        problems.append(Problem("query", exc.message, exc.column, exc.caret()))
    if draft.where.strip():
        try:
            compile_condition(draft.where, origin="where")
        except ConfigError as exc:
            problems.append(Problem("where", str(exc)))
    warnings = []
    for kind in ("any", "all", "none"):
        for entity in getattr(draft, f"entities_{kind}"):
            if gazetteer is not None and entity not in gazetteer:
                warnings.append(f"entities {kind}: {entity} is not in the gazetteer")
    if problems:
        return problems, warnings, None
    try:
        rule = draft.rule(user_id)
        rules = RuleSet.compile(
            [RulePack(name=f"{user_id}/{PACK_NAME}", rules=(rule,))], gazetteer=gazetteer
        )
    except ValidationError as exc:
        return [Problem(str(e["loc"][0]), e["msg"]) for e in exc.errors()], warnings, None
    except RulePackError as exc:
        return [Problem("query", p) for p in exc.problems], warnings, None
    return [], warnings, rules


def watch_pack(
    existing: RulePack | None, user_id: str, rule: RuleSpec | None, drop: str = ""
) -> RulePack:
    """Return ``user_id``'s watch pack with ``rule`` added or replaced, or the rule ``drop`` removed."""
    rules = [
        r for r in (existing.rules if existing else ()) if r.id not in {drop, rule and rule.id}
    ]
    if rule is not None:
        rules.append(rule)
    return RulePack(name=PACK_NAME, source=f"dashboard:{user_id}", rules=tuple(rules))


@dataclass
class Backtest:
    """What a backtest read and found."""

    days: int
    articles: int = 0
    fired: int = 0
    hits: list[dict[str, Any]] | None = None
    stopped: str | None = None
    seconds: float = 0.0

    def view(self) -> dict[str, Any]:
        """As JSON data."""
        return {
            "days": self.days,
            "articles": self.articles,
            "fired": self.fired,
            "hits": self.hits or [],
            "stopped": self.stopped,
            "seconds": round(self.seconds, 2),
        }


def _hit(detection: Detection, article: Article) -> dict[str, Any]:
    view = detection.model_dump(
        mode="json",
        include={"snippet", "snippet_highlights", "spans", "entities", "values", "score"},
    )
    view.update(
        article_id=article.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published_at=article.published_at.isoformat() if article.published_at else None,
    )
    return view


def evaluate_batch(
    rules: RuleSet, values: Sequence[bytes], seen: set[str], found: Backtest
) -> None:
    """Evaluate the watch on a batch of article records (off the event loop)."""
    for value in values:
        try:
            article = Article.model_validate_json(value)
        except ValidationError:
            continue  # the workers dead-letter it; a backtest just skips it
        if article.id in seen:
            continue
        seen.add(article.id)
        found.articles += 1
        for detection in rules.evaluate(article):
            found.fired += 1
            if found.hits is not None and len(found.hits) < MAX_HITS:
                found.hits.append(_hit(detection, article))


async def backtest(settings: Settings, rules: RuleSet, days: int) -> Backtest:
    """Run a watch over the articles of the last ``days`` days on the articles topic.

    Bounded: at most ``watch_backtest_max_days`` days, ``..._max_articles``
    articles and ``..._timeout_s`` seconds; ``stopped`` says which bound
    ended it early. Repeats of an article id count once.
    """
    days = min(days, settings.watch_backtest_max_days)
    found = Backtest(days=days, hits=[])
    started = time.monotonic()
    deadline = started + settings.watch_backtest_timeout_s
    consumer = make_consumer(settings, group_id=None, client_id="wirewatch-backtest")
    await asyncio.wait_for(consumer.start(), settings.send_timeout_s)
    loop = asyncio.get_running_loop()
    seen: set[str] = set()
    try:
        topic = settings.topics.articles
        cluster = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        if not tps:
            return found
        consumer.assign(tps)
        since_ms = int((time.time() - days * 86_400) * 1000)
        starts = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
        ends = await consumer.end_offsets(tps)
        waiting = set()
        for tp in tps:
            start = starts.get(tp)
            if start is not None and start.offset < ends[tp]:
                consumer.seek(tp, start.offset)
                waiting.add(tp)
        while waiting:
            if time.monotonic() > deadline:
                found.stopped = f"time: {settings.watch_backtest_timeout_s:g} s"
                break
            if found.articles >= settings.watch_backtest_max_articles:
                found.stopped = f"articles: {settings.watch_backtest_max_articles:,}"
                break
            batches = await consumer.getmany(*waiting, timeout_ms=200, max_records=500)
            for tp, records in batches.items():
                values = [r.value for r in records if r.offset < ends[tp] and r.value]
                await loop.run_in_executor(None, evaluate_batch, rules, values, seen, found)
            for tp in list(waiting):
                if await consumer.position(tp) >= ends[tp]:
                    waiting.discard(tp)
    finally:
        await asyncio.wait_for(consumer.stop(), settings.send_timeout_s)
        found.seconds = time.monotonic() - started
    return found
