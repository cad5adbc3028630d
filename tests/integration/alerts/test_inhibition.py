"""Inhibition with the real notifier: a firing alert mutes related ones, recorded in the ledger."""

from __future__ import annotations

from pathlib import Path

import yaml

from schemas import Settings, Severity
from schemas.common import utcnow
from schemas.kafka import encode, ensure_topics, make_producer, story_topics
from schemas.stories import StoryAssignment, StoryDecision, StoryFeatures
from tests.integration.alerts.conftest import (
    counter,
    notifier_settings,
    produce,
    running_notifier,
    wait_until,
)
from tests.support.servers import Webhook
from tests.unit.alerts.factories import make_alert


def routes(tmp_path: Path) -> Path:
    """One webhook receiver; offensives mute peace-talks alerts of their story for 6 hours."""
    path = tmp_path / "routes.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "receivers": {"hook": {"template": "text"}},
                "route": {"receiver": "hook", "group_by": ["story_id"], "group_wait": "1s"},
                "inhibit_rules": [
                    {
                        "source_matchers": ["category=military_offensive"],
                        "target_matchers": ["category=peace_talks"],
                        "equal": ["story_id"],
                        "for": "6h",
                    }
                ],
            }
        )
    )
    return path


async def test_a_firing_offensive_mutes_talks_on_its_story_even_after_a_restart(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """The muted alert is recorded as inhibited, naming its source; a restarted notifier recalls it."""
    settings = notifier_settings(kafka_settings, routes(tmp_path), {"hook": [webhook.url("hook")]})
    offensive = make_alert(category="military_offensive", severity=Severity.HIGH, story_id="s1")
    talks = make_alert(category="peace_talks", story_id="s1")
    elsewhere = make_alert(category="peace_talks", story_id="s2")
    async with running_notifier(settings) as notifier:
        # Together: the talks alert waits in the story's group when the source arrives.
        await produce(settings, [talks, offensive, elsewhere])
        await wait_until(
            lambda: all(notifier.recorded(a.key, "hook") for a in (offensive, talks, elsewhere)),
            what="three ledger records",
        )
        outcomes = {a.key: notifier.recorded(a.key, "hook") for a in (offensive, talks, elsewhere)}
        muted = counter(notifier, "wirewatch_notifier_alerts_inhibited_total", receiver="hook")
    assert {k: r.status for k, r in outcomes.items() if r} == {
        offensive.key: "delivered",
        talks.key: "inhibited",
        elsewhere.key: "delivered",
    }
    record = outcomes[talks.key]
    assert record is not None
    assert offensive.key in record.detail
    assert muted == 1
    sent = "\n".join(p["message"] for p in webhook.accepted["hook"])
    assert offensive.headline in sent
    assert elsewhere.headline in sent
    assert talks.headline not in sent

    later = make_alert(category="peace_talks", story_id="s1")
    async with running_notifier(settings) as restarted:
        await produce(settings, [later])
        await wait_until(lambda: restarted.recorded(later.key, "hook") is not None, what="a record")
        again = restarted.recorded(later.key, "hook")
    assert again is not None
    assert again.status == "inhibited"
    assert offensive.key in again.detail


async def test_a_source_moves_with_its_story_when_stories_merge(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """An offensive on story m1, then m1 merged into m2 on the stories topic: m2's talks alert is muted."""
    settings = notifier_settings(kafka_settings, routes(tmp_path), {"hook": [webhook.url("hook")]})
    offensive = make_alert(category="military_offensive", severity=Severity.HIGH, story_id="m1")
    talks = make_alert(category="peace_talks", story_id="m2")
    at = utcnow()
    bridge = StoryAssignment(
        features=StoryFeatures(article_id="x1", source="s", event_at=at, record_at=at),
        decision=StoryDecision(kind="joined", story_id="m2", candidate="m2", merged=("m1",)),
    )
    stories = story_topics(settings)[1]
    await ensure_topics(settings, [stories])
    producer = make_producer(settings, "test-stories")
    await producer.start()
    try:
        await (await producer.send(stories.name, encode(bridge), key=b"x1"))
    finally:
        await producer.stop()
    async with running_notifier(settings) as notifier:
        await produce(settings, [offensive, talks])
        await wait_until(
            lambda: all(notifier.recorded(a.key, "hook") for a in (offensive, talks)),
            what="two ledger records",
        )
        record = notifier.recorded(talks.key, "hook")
    assert record is not None
    assert record.status == "inhibited"
    assert offensive.key in record.detail
