"""Silence matchers, parsing from the command line, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from alerts.silences import SilenceSet, expired, new_silence, parse_matcher
from schemas import ConfigError, Silence
from schemas.patterns import MAX_PATTERN_CHARS
from tests.unit.alerts.factories import make_alert

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "silenced"),
    [
        ("category=sanctions", True),
        ("category=oil", False),
        ("category!=oil", True),
        ("severity=high", True),
        ("rule_id=~sanctions\\..*", True),
        ("rule_id=~crude", False),
        ("tag=market", True),
        ("entity=commodity:brent", True),
        ("entity!=commodity:brent", False),
        ("receiver=desk", True),
        ("receiver=other", False),
    ],
)
def test_matchers(text: str, silenced: bool) -> None:
    """Each matcher form holds or not for a sanctions alert to receiver `desk`."""
    silences = SilenceSet()
    silences.put(new_silence([parse_matcher(text)], timedelta(hours=2), "test", "me", NOW))
    assert (
        silences.silencing(make_alert(), "desk", NOW + timedelta(minutes=1)) is not None
    ) is silenced


def test_expiry() -> None:
    """A silence stops silencing when it ends or is expired."""
    silence = new_silence([parse_matcher("category=sanctions")], timedelta(hours=1), "c", "me", NOW)
    silences = SilenceSet()
    silences.put(silence)
    assert silences.silencing(make_alert(), "desk", NOW + timedelta(minutes=59))
    assert not silences.silencing(make_alert(), "desk", NOW + timedelta(minutes=60))
    silences.put(expired(silence, NOW + timedelta(minutes=5)))
    assert not silences.silencing(make_alert(), "desk", NOW + timedelta(minutes=6))


@pytest.mark.parametrize("text", ["category", "colour=red", "=x", "rule_id=~(", "category = "])
def test_bad_matchers(text: str) -> None:
    """A malformed --match is a ConfigError that says how to write one."""
    with pytest.raises(ConfigError, match="--match"):
        parse_matcher(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rule_id=~oil(?=\\.crude)", "RE2"),  # look-ahead
        ("story_id=~(a)\\1", "RE2"),  # back-reference
        ("tag=~(?<!x)y", "RE2"),  # look-behind
        (f"tag=~{'a' * (MAX_PATTERN_CHARS + 1)}", f"at most {MAX_PATTERN_CHARS:,}"),
    ],
)
def test_patterns_re2_refuses_are_refused_at_creation(text: str, message: str) -> None:
    """A regex RE2 cannot run in linear time, or an overlong one, is an error when the silence is made."""
    with pytest.raises(ConfigError, match=message):
        parse_matcher(text)


@pytest.mark.timeout(10)
def test_nested_quantifier_cannot_stall_the_notifier() -> None:
    """`(a+)+` against 100,000 a's and a b answers at once (Python's re would run for ages)."""
    silences = SilenceSet()
    silences.put(
        new_silence([parse_matcher("story_id=~(a+)+")], timedelta(hours=1), "c", "me", NOW)
    )
    later = NOW + timedelta(minutes=1)
    assert silences.silencing(make_alert(story_id="a" * 100_000 + "b"), "desk", later) is None
    assert silences.silencing(make_alert(story_id="a" * 100_000), "desk", later) is not None


def test_stored_silence_with_a_refused_pattern_is_not_read() -> None:
    """A silence on the topic whose regex RE2 refuses (written before RE2) fails validation, so
    the notifier logs it as unreadable and never applies it."""
    stored = new_silence([parse_matcher("tag=x")], timedelta(hours=1), "c", "me", NOW)
    raw = stored.model_dump_json().replace('"op":"=","value":"x"', '"op":"=~","value":"(?=x)x"')
    with pytest.raises(ValidationError, match="RE2"):
        Silence.model_validate_json(raw)


@pytest.mark.parametrize(
    ("duration", "comment", "message"),
    [(timedelta(0), "c", "positive"), (timedelta(hours=1), " ", "comment")],
)
def test_bad_silence(duration: timedelta, comment: str, message: str) -> None:
    """A silence needs a positive duration and a comment."""
    with pytest.raises(ConfigError, match=message):
        new_silence([parse_matcher("category=x")], duration, comment, "me")


@given(st.from_regex(r"[A-Za-z0-9:._-]{1,20}", fullmatch=True))
def test_equality_matcher_round_trip(value: str) -> None:
    """Any plain value parses back into an equality matcher on that value."""
    matcher = parse_matcher(f"story_id={value}")
    assert (matcher.name, matcher.op, matcher.value) == ("story_id", "=", value)
