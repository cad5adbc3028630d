"""The labelled story set (``tests/data/stories``) and how story tests score clustering on it.

Each line of ``articles.jsonl`` is an article record with two labels the
pipeline never sees: ``event`` (which event it reports) and, for reports of an
event that shares entities with another one, ``near`` (that other event).
The unit tests cluster the set offline; the integration test sends it through
a worker; both with the default packs plus the set's own corroboration rule.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas import Settings
from streams.offline import Offline
from streams.rules import RuleSet, load_gazetteer, load_packs

ROOT = Path(__file__).resolve().parents[2]
STORY_SET = ROOT / "tests" / "data" / "stories" / "articles.jsonl"
STORY_RULES = ROOT / "tests" / "data" / "stories" / "rules"
CORROBORATION_RULE = "story-corroboration"


@dataclass(frozen=True)
class Labelled:
    """One article of the set: the record as a producer sends it, and its labels."""

    record: dict[str, Any]
    event: str
    near: str | None

    @property
    def id(self) -> str:
        """The article id."""
        return str(self.record["id"])

    @property
    def published_at(self) -> datetime:
        """When the article was published."""
        return datetime.fromisoformat(self.record["published_at"])


def load_story_set() -> list[Labelled]:
    """Return the set in publication order (the order a live feed would bring it)."""
    items = []
    for line in STORY_SET.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        event = record.pop("event")
        near = record.pop("near", None)
        items.append(Labelled(record, event, near))
    return sorted(items, key=lambda item: (item.published_at, item.id))


def story_rules() -> RuleSet:
    """The default packs plus the set's corroboration rule, with the default gazetteer."""
    packs = [*load_packs(ROOT / "seeds" / "rules"), *load_packs(STORY_RULES)]
    return RuleSet.compile(packs, gazetteer=load_gazetteer(ROOT / "seeds" / "entities"))


def cluster_offline(
    items: Iterable[Labelled], settings: Settings, record_times: Mapping[str, datetime]
) -> dict[str, str]:
    """Cluster the articles in the given order as the cluster agent would; return id -> story id.

    Args:
        record_times: each article's Kafka record time (clustering's clock).
    """
    rules = story_rules()
    offline = Offline(settings, lambda: rules)
    stories: dict[str, str] = {}
    for item in items:
        processed = offline.process(
            json.dumps(item.record).encode(), origin=item.id, record_time=record_times[item.id]
        )
        assert processed.page is not None, f"no rule fired on {item.id}"
        assignment = processed.page.assignment
        assert assignment is not None
        for absorbed in assignment.decision.merged:
            for article_id, story_id in stories.items():
                if story_id == absorbed:
                    stories[article_id] = assignment.decision.story_id
        stories[item.id] = assignment.decision.story_id
    return stories


def pairwise(events: Mapping[str, str], stories: Mapping[str, str]) -> tuple[float, float]:
    """Pairwise precision and recall of "same story" against "same event"."""
    together = apart_wrongly = together_wrongly = 0
    for a, b in itertools.combinations(sorted(events), 2):
        same_event = events[a] == events[b]
        same_story = stories[a] == stories[b]
        together += same_event and same_story
        together_wrongly += same_story and not same_event
        apart_wrongly += same_event and not same_story
    precision = together / (together + together_wrongly) if together + together_wrongly else 1.0
    recall = together / (together + apart_wrongly) if together + apart_wrongly else 1.0
    return precision, recall
