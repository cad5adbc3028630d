"""Rules and articles built to make the engine slow or wrong (issue 16): bounded work, right answers.

No timing here (benchmarks/matcher.py measures them); each test pins the
quantity that used to explode, so a regression fails fast instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas import Article
from streams.rules.explain import MAX_SPANS
from streams.rules.matcher import ALL_FIELDS, _NearEval
from tests.unit.engine.conftest import compile_rules, make_rule

CHAIN = "drone NEAR/10 drone NEAR/10 drone NEAR/10 drone NEAR/10 zzz"
FILLER = " ".join(f"filler{i}" for i in range(250))


@pytest.mark.parametrize("repeats", [500, 2_000])
def test_a_near_chain_over_a_repeated_word_keeps_a_few_positions_per_occurrence(
    make_article: Callable[..., Article], repeats: int
) -> None:
    """Issue 16, item 2: each NEAR of the chain keeps at most a few positions per occurrence.

    "zzz", 250 words, then "drone" repeated: every pair of nearby drones used
    to be kept at each level (2,000 repeats took over a minute and 1.7 GB).
    """
    rules = compile_rules(make_rule(CHAIN, min_score=0))
    article = make_article(title="Drones", body=f"zzz {FILLER} " + "drone " * repeats)
    assert rules.evaluate(article) == []
    matcher = rules._matcher
    chain = matcher.queries[0].evaluator
    assert isinstance(chain, _NearEval)
    scan = matcher.scan(article)
    drones = chain.left.spans(scan, ALL_FIELDS)  # the three NEARs of the drones
    assert 0 < len(drones) <= 2 * repeats


def test_a_near_chain_still_finds_its_match_in_a_repeated_word(
    make_article: Callable[..., Article],
) -> None:
    """The same chain fires when "zzz" follows the repeats, and its evidence stays small."""
    rules = compile_rules(make_rule(CHAIN, min_score=0))
    [detection] = rules.evaluate(make_article(body="drone " * 2_000 + "zzz"))
    words = {(span.text, span.start) for span in detection.spans}
    assert ("zzz", 12_000) in words
    assert len(words) <= 20


@pytest.mark.parametrize(
    "query", ["alpha NEAR/1 beta", "body:(alpha NEAR/1 beta)", "regex:/alpha/ NEAR/1 beta"]
)
def test_far_apart_blocks_of_two_words_do_not_pair_every_occurrence(
    make_article: Callable[..., Article], query: str
) -> None:
    """10,000 of one word, then 10,000 of another: no match, found without trying every pair."""
    body = "alpha " * 10_000 + "x x x " + "beta " * 10_000
    assert compile_rules(make_rule(query, min_score=0)).evaluate(make_article(body=body)) == []
    close = body.replace("x x x ", "")
    assert compile_rules(make_rule(query, min_score=0)).evaluate(make_article(body=close))


def test_a_detection_carries_at_most_fifty_spans(make_article: Callable[..., Article]) -> None:
    """A word matched 20,000 times gives 50 spans, the first ones, not a record larger than Kafka takes.

    Explaining it also used to compare every span with every other (minutes).
    """
    rules = compile_rules(make_rule("(alpha OR beta) NEAR/5 (alpha OR beta)", min_score=0))
    [detection] = rules.evaluate(make_article(title="Alpha beta", body="alpha beta " * 10_000))
    assert len(detection.spans) == MAX_SPANS
    assert [(s.field.value, s.start) for s in detection.spans[:3]] == [
        ("title", 0),
        ("title", 6),
        ("body", 0),
    ]
    assert len(detection.model_dump_json()) < 20_000
