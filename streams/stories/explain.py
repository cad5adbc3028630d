"""A story decision in words, for ``wirewatch scan --stories`` and logs."""

from __future__ import annotations

from schemas.stories import Similarity, StoryDecision


def describe(decision: StoryDecision) -> str:
    """Return why the article is in its story (or why the best other story was refused), in one line.

    >>> from schemas.stories import StoryDecision
    >>> describe(StoryDecision(kind="opened", story_id="a1"))
    'opened story a1: no open story shares its entities, numbers, figures or rare words'
    """
    if decision.kind == "copy":
        return (
            f"copy of {decision.copy_of} (openings {decision.copy_similarity:.0%} alike), "
            f"story {decision.story_id}"
        )
    if decision.candidate is None:
        return (
            f"opened story {decision.story_id}: no open story shares its entities, numbers, "
            "figures or rare words"
        )
    evidence = _evidence(decision)
    if decision.kind == "joined":
        merged = f"; merged {', '.join(decision.merged)} into it" if decision.merged else ""
        via = "" if decision.candidate == decision.story_id else f" (via {decision.candidate})"
        return f"joined story {decision.story_id}{via}: {evidence}{merged}"
    return (
        f"opened story {decision.story_id}: closest story {decision.candidate} refused, "
        f"{decision.refused}; {evidence}"
    )


def _evidence(decision: StoryDecision) -> str:
    parts = []
    if decision.similarity is not None:
        parts.append(_scores(decision.similarity, decision.threshold))
    for label, items in (
        ("entities", decision.shared_entities),
        ("numbers", decision.shared_numbers),
        ("figures", decision.shared_figures),
        ("words", decision.shared_terms),
    ):
        if items:
            parts.append(f"{label} {', '.join(items)}")
    if decision.conflicts:
        parts.append(f"disagreeing {'; '.join(decision.conflicts)}")
    if decision.gap_h is not None:
        parts.append(f"{decision.gap_h:g} h apart")
    return "; ".join(parts)


def _scores(similarity: Similarity, threshold: float | None) -> str:
    terms = "other language" if similarity.terms is None else f"{similarity.terms:.2f}"
    needed = f" (needs {threshold:.2f})" if threshold is not None else ""
    return (
        f"score {similarity.score:.2f}{needed}: words {terms}, entities {similarity.entities:.2f}, "
        f"numbers {similarity.numbers:.2f}, categories {similarity.categories:.2f}, "
        f"time {similarity.time:.2f}, specific {similarity.specific:g}"
    )
