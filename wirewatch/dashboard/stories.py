"""Why articles are one story: the cluster agent's decisions, as the dashboard read them.

Pure data: :class:`StoryDecisions` keeps the newest decisions of the stories
topic by article id (bounded), and which stories were absorbed into which, so
the story view can say why each article is in its story and show the alerts
sent under an absorbed story's id with the story that absorbed it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from schemas.stories import StoryAssignment
from streams.stories.explain import describe

CAPACITY = 20_000
"""Decisions kept (the newest): far more than the articles behind the alerts in the feed."""


class StoryDecisions:
    """The newest story decisions by article id, and the absorbed stories by absorbing story."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._by_article: OrderedDict[str, StoryAssignment] = OrderedDict()
        self._absorbed: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_article)

    def add(self, assignment: StoryAssignment) -> None:
        """Remember one decision (a later decision for the same article replaces it)."""
        article_id = assignment.features.article_id
        self._by_article.pop(article_id, None)
        self._by_article[article_id] = assignment
        for absorbed in assignment.decision.merged:
            self._absorbed[absorbed] = assignment.decision.story_id
        for mapping in (self._by_article, self._absorbed):
            while len(mapping) > self.capacity:
                mapping.popitem(last=False)

    def stories_within(self, story_id: str) -> set[str]:
        """``story_id`` and every story absorbed into it, directly or not."""
        found = {story_id}
        grew = True
        while grew:
            more = {absorbed for absorbed, into in self._absorbed.items() if into in found}
            grew = not more <= found
            found |= more
        return found

    def why(self, article_id: str) -> dict[str, Any] | None:
        """The decision for ``article_id`` as the page shows it, or None if not read."""
        assignment = self._by_article.get(article_id)
        if assignment is None:
            return None
        decision = assignment.decision
        return {
            "article_id": article_id,
            "kind": decision.kind,
            "story_id": decision.story_id,
            "text": describe(decision),
            "decision": decision.model_dump(mode="json", exclude_defaults=True),
        }
