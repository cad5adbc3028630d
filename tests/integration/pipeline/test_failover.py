"""Two workers in one group: one is SIGKILLed mid-run, and no article's alert is lost."""

from __future__ import annotations

import re
import signal
import time
import uuid

import pytest

from tests.integration.pipeline.conftest import Pipeline, article, keyword_rule, pack_text
from tests.support.processes import Child

ARTICLES = 90


def assigned_partitions(worker: Child, topic: str) -> set[int]:
    """The partitions of ``topic`` the worker reports lag for, i.e. is assigned."""
    _, body = worker.get("/metrics")
    pattern = rf'wirewatch_consumer_lag\{{partition="(\d+)",topic="{re.escape(topic)}"\}}'
    return {int(p) for p in re.findall(pattern, body.decode())}


def distinct_article(n: int) -> dict[str, str]:
    """An article with a body of its own (no near-duplicates), matching the test rule."""
    words = " ".join(uuid.uuid4().hex[:8] for _ in range(24))
    return article(f"fo-{n}", f"Report {n}", f"report {words}", source=f"outlet-{n % 7}")


@pytest.mark.slow
def test_survivor_takes_over_and_no_alert_is_lost(pipeline: Pipeline) -> None:
    """SIGKILL one of two workers mid-run: every article still alerts, once per key."""
    pipeline.write_pack(pack_text(keyword_rule("report-rule", "report")))
    first, second = pipeline.worker("first"), pipeline.worker("second")
    first.wait_ready()
    second.wait_ready()
    topic = pipeline.settings.topics.articles
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mine, theirs = assigned_partitions(first, topic), assigned_partitions(second, topic)
        if (
            mine
            and theirs
            and not mine & theirs
            and len(mine | theirs) == pipeline.settings.partitions
        ):
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"partitions not shared:\n{first.log()}\n{second.log()}")

    records = [distinct_article(n) for n in range(ARTICLES)]
    pipeline.produce(records[: ARTICLES // 2])
    pipeline.alerts(lambda got: len(got) >= ARTICLES // 6)
    second.stop(signal.SIGKILL)
    pipeline.produce(records[ARTICLES // 2 :])

    wanted = {record["id"] for record in records}
    alerts = pipeline.alerts(
        lambda got: wanted <= {a.evidence[0].article_id for a in got}, timeout=90
    )
    keys_per_article: dict[str, set[str]] = {}
    for alert in alerts:
        keys_per_article.setdefault(alert.evidence[0].article_id, set()).add(alert.key)
    assert keys_per_article.keys() == wanted
    assert {a: k for a, k in keys_per_article.items() if len(k) > 1} == {}
    assert first.running()
