"""The checker's pass criteria, one way of failing each, on plain data."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.chaos.checker import DeadArticle, Observed, judge
from tests.chaos.corpus import Expectation, ExpectedAlert
from tests.chaos.receivers import Received

KEY_1 = "chaos-w1@v/story:ca-000001/w"
KEY_2 = "chaos-w2@v/story:ca-000002/w"
EXPECTATION = Expectation(
    articles=frozenset({"ca-000001", "ca-000002", "ca-000003"}),
    poison=1,
    alerts={
        KEY_1: ExpectedAlert(KEY_1, "chaos-w1", "ca-000001"),
        KEY_2: ExpectedAlert(KEY_2, "chaos-w2", "ca-000002"),
    },
)
PAIR_1 = ("chaos-w1", "ca-000001")
PAIR_2 = ("chaos-w2", "ca-000002")
KEYS = {PAIR_1: KEY_1, PAIR_2: KEY_2, ("chaos-w3", "ca-000003"): "chaos-w3@v/story:ca-000003/w"}


def received(
    receiver: str, at: float, *pairs: tuple[str, str], keys: frozenset[str] | None = None
) -> Received:
    """A notification listing ``pairs``, carrying their keys unless ``keys`` says otherwise."""
    carried = frozenset(KEYS[pair] for pair in pairs) if keys is None else keys
    return Received(receiver, at, frozenset(pairs), carried)


CLEAN = Observed(
    detected=frozenset(EXPECTATION.articles),
    dead_articles=(DeadArticle("articles/0@7", "poison-7", "invalid_json"),),
    emitted=frozenset({KEY_1, KEY_2}),
    dead_alerts=frozenset(),
    ledger={
        (KEY_1, "hook"): 10.1,
        (KEY_2, "hook"): 11.1,
        (KEY_1, "mail"): 12.1,
        (KEY_2, "mail"): 12.1,
    },
    received=(
        received("hook", 10.0, PAIR_1),
        received("hook", 11.0, PAIR_2),
        received("mail", 12.0, PAIR_1, PAIR_2),
    ),
    receivers=("hook", "mail"),
    poison_origins=frozenset({"articles/0@7"}),
    notifier_deaths=(),
    recovered_s=5.0,
    produced=4,
)


def test_a_clean_run_passes() -> None:
    """Everything processed, delivered once, recovered in time: no failure, figures add up."""
    verdict = judge(EXPECTATION, CLEAN)
    assert verdict.failures == ()
    assert (verdict.processed, verdict.articles_lost, verdict.alerts_delivered) == (4, 0, 2)
    assert verdict.delivered_per_receiver == {"hook": 2, "mail": 2}


def with_(**changes: Any) -> Observed:
    return dataclasses.replace(CLEAN, **changes)


@pytest.mark.parametrize(
    ("observed", "failure"),
    [
        (with_(detected=frozenset({"ca-000001", "ca-000002"})), "1 articles lost"),
        (
            with_(
                detected=frozenset({"ca-000001", "ca-000002"}),
                dead_articles=(
                    *CLEAN.dead_articles,
                    DeadArticle("articles/1@3", "ca-000003", "detect_error"),
                ),
            ),
            "1 valid articles dead-lettered",
        ),
        (with_(dead_articles=()), "1 poison records not on articles.dlq"),
        (with_(received=CLEAN.received[1:]), "1 expected alerts undelivered"),
        (with_(dead_alerts=frozenset({KEY_2})), "1 expected alerts dead-lettered by the notifier"),
        (
            with_(received=(*CLEAN.received, received("hook", 13.0, ("chaos-w3", "ca-000003")))),
            "1 unexpected alerts delivered",
        ),
        (with_(emitted=frozenset({KEY_1, KEY_2, "other"})), "1 unexpected alert keys emitted"),
        (with_(emitted=frozenset({KEY_1})), "1 expected alert keys never emitted"),
        (
            with_(received=(*CLEAN.received, received("hook", 20.0, PAIR_1))),
            "1 duplicate notifications outside the send/ledger window",
        ),
        (
            with_(
                received=(
                    *CLEAN.received[:2],
                    received("mail", 12.0, PAIR_1, PAIR_2, keys=frozenset({KEY_1})),
                )
            ),
            "1 notifications whose alert keys differ from the alerts they list",
        ),
        (with_(recovered_s=None), "did not recover (lag 0 and every alert delivered)"),
        (with_(recovered_s=75.0), "recovered in 75 s, over 60 s"),
    ],
)
def test_each_criterion_fails_the_run(observed: Observed, failure: str) -> None:
    """Each broken promise is named, and only it."""
    assert judge(EXPECTATION, observed).failures == (failure,)


def test_duplicate_after_a_notifier_death_before_its_record_is_in_the_window() -> None:
    """Sent, notifier killed before the ledger record, sent again after restart: counted, allowed."""
    observed = with_(
        received=(*CLEAN.received, received("hook", 20.0, PAIR_1)),
        ledger={**CLEAN.ledger, (KEY_1, "hook"): 20.1},
        notifier_deaths=(10.05,),
    )
    verdict = judge(EXPECTATION, observed)
    assert verdict.failures == ()
    assert (verdict.duplicates, verdict.duplicates_in_window) == (1, 1)


def test_duplicate_of_a_pair_recorded_before_the_death_is_not_in_the_window() -> None:
    """The ledger held the outcome before the notifier died: sending again is a bug."""
    observed = with_(
        received=(*CLEAN.received, received("hook", 20.0, PAIR_1)),
        notifier_deaths=(15.0,),
    )
    verdict = judge(EXPECTATION, observed)
    assert verdict.failures == ("1 duplicate notifications outside the send/ledger window",)
    assert (verdict.duplicates, verdict.duplicates_in_window) == (1, 0)


def test_first_copy_noted_just_after_the_kill_is_in_the_window() -> None:
    """The webhook runs on the harness's loop: a send made before a kill can be noted just after it."""
    observed = with_(
        received=(*CLEAN.received, received("hook", 20.0, PAIR_1)),
        ledger={**CLEAN.ledger, (KEY_1, "hook"): 20.1},
        notifier_deaths=(9.5,),
    )
    assert judge(EXPECTATION, observed).failures == ()


def test_receiver_drops_repeats_by_the_keys_they_carry() -> None:
    """A repeat after a notifier death carries the key the receiver already had: droppable, so
    nothing is left, and the repeat is still counted as in the window."""
    observed = with_(
        received=(*CLEAN.received, received("mail", 20.0, PAIR_1)),
        ledger={**CLEAN.ledger, (KEY_1, "mail"): 20.1},
        notifier_deaths=(15.0,),
    )
    verdict = judge(EXPECTATION, observed)
    assert verdict.failures == ()
    assert (verdict.duplicates_in_window, verdict.repeats_left_by_key) == (1, 0)


@pytest.mark.parametrize(
    ("first_keys", "repeat_keys"),
    [(frozenset(), frozenset({KEY_1})), (frozenset({KEY_1}), frozenset())],
    ids=["first-copy-without-key", "repeat-without-key"],
)
def test_repeat_a_receiver_cannot_recognise_fails(
    first_keys: frozenset[str], repeat_keys: frozenset[str]
) -> None:
    """A repeat is droppable only when both copies carry the alert's key."""
    observed = with_(
        received=(
            received("hook", 10.0, PAIR_1, keys=first_keys),
            CLEAN.received[1],
            CLEAN.received[2],
            received("hook", 20.0, PAIR_1, keys=repeat_keys),
        ),
        ledger={**CLEAN.ledger, (KEY_1, "hook"): 20.1},
        notifier_deaths=(15.0,),
    )
    verdict = judge(EXPECTATION, observed)
    assert verdict.repeats_left_by_key == 1
    assert "1 repeated alerts a receiver cannot drop by key" in verdict.failures
