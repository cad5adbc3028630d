"""Change rules on the real broker: a figure compared with its series' history, across a restart."""

from __future__ import annotations

import signal

from tests.integration.pipeline.conftest import Pipeline, article, pack_text, wait_for

RULE = {
    "id": "urals-widens",
    "title": "Urals discount widens by two dollars or more",
    "category": "commodity_price_move",
    "severity": "high",
    "query": "Urals",
    "extract": ["spread"],
    "where": "spread - previous(spread) >= 2",
}


def report(article_id: str, value: str, source: str) -> dict[str, str]:
    """An article reporting the Urals discount to Brent."""
    body = f"The discount on Urals crude to Brent was {value} dollars per barrel at Primorsk."
    return article(article_id, "Urals discount", body, source)


def test_a_change_rule_compares_with_the_last_report_even_after_a_crash(
    pipeline: Pipeline,
) -> None:
    """The series' history survives a SIGKILL (changelog): the next report is compared with it."""
    pipeline.write_pack(pack_text(RULE))
    first = pipeline.worker("w1")
    first.wait_ready()
    pipeline.produce([report("u1", "19.40", "Energy Ledger")])
    assert wait_for(lambda: '"series_judged"' in first.log(), timeout=30), first.log()
    pipeline.produce([report("u2", "20.10", "Baltic Wire")])
    assert wait_for(lambda: first.log().count('"series_judged"') >= 2, timeout=30), first.log()
    first.stop(signal.SIGKILL)
    second = pipeline.worker("w2")
    second.wait_ready()
    pipeline.produce([report("u3", "22.30", "Harbour Courier")])
    [alert] = pipeline.alerts(lambda got: len(got) >= 1)
    assert alert.rule_id == "urals-widens"
    assert alert.evidence[0].article_id == "u3"
    assert alert.key.startswith("urals-widens@")
    assert "/series:spread|commodity:urals|commodity:brent|USD|bbl/" in alert.key
    change = alert.change
    assert change is not None
    assert (change.current.value, change.current.source) == (22.3, "Harbour Courier")
    assert change.reference is not None
    assert (change.reference.value, change.reference.source) == (20.1, "Baltic Wire")
