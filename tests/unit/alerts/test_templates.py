"""The shipped templates render every kind readably, escaped, with highlights and figures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.grouping import Notification, Pending
from alerts.routing import Route
from alerts.templates import KINDS, Templates
from alerts.views import highlight_segments
from schemas import Alert, Evidence
from tests.unit.alerts.factories import make_alert

ROUTE = Route("root", "desk", ("category",), 0, 300, 3600)


def notification(*alerts: Alert, kind: str = "group", window_s: float = 0) -> Notification:
    items = tuple(Pending(a, "desk", ROUTE, ("p", i), 0) for i, a in enumerate(alerts))
    return Notification("desk", items, kind=kind, window_s=window_s)


HIGHLIGHT = {"slack": "*sanctions*", "email": "<mark>sanctions</mark>", "text": "[sanctions]"}


@pytest.mark.parametrize("kind", KINDS)
def test_single_alert_renders_everything(kind: str) -> None:
    """One alert shows severity, category, headline, highlight, entities, figures, sources, links."""
    alert = make_alert(is_update=True)
    rendered = Templates().render(kind, notification(alert))
    assert rendered.title == f"[HIGH] Update: {alert.headline}"
    body = rendered.body
    for expected in (
        "HIGH",
        "sanctions",
        alert.headline,
        HIGHLIGHT[kind],
        "Brent",
        "change +3.1 %",
        "Sources:",
        "2 (2 articles)",
        alert.evidence[0].url or "",
    ):
        assert expected in body, (kind, expected, body)
    assert "update" in body.lower()
    assert "{{" not in body
    assert "{%" not in body


@pytest.mark.parametrize("kind", KINDS)
def test_group_lists_every_story(kind: str) -> None:
    """A group of alerts on five stories is titled with the count and lists each headline."""
    alerts = [make_alert() for _ in range(5)]
    rendered = Templates().render(kind, notification(*alerts))
    assert rendered.title == "[HIGH] 5 stories: sanctions"
    for alert in alerts:
        assert alert.headline in rendered.body


@pytest.mark.parametrize("kind", KINDS)
def test_digest(kind: str) -> None:
    """A digest says how many alerts in which window and links each one."""
    alerts = [make_alert() for _ in range(37)]
    rendered = Templates().render(kind, notification(*alerts, kind="digest", window_s=600))
    assert rendered.title == "Digest: 37 more alerts in the last 10 minutes"
    assert "37 more alerts in the last 10 minutes" in rendered.body
    assert all((a.evidence[0].url or "") in rendered.body for a in alerts)


def test_html_is_escaped() -> None:
    """Article text cannot inject HTML into the email, nor links into Slack."""
    evil = make_alert(
        evidence=(
            Evidence(
                article_id="a",
                source="s",
                title="<script>alert(1)</script>",
                snippet="<b>bold</b> & co",
                snippet_highlights=((0, 3),),
            ),
        )
    )
    email = Templates().render("email", notification(evil)).body
    assert "<script>" not in email
    assert "&lt;script&gt;" in email
    assert "<mark>&lt;b&gt;</mark>" in email
    slack = Templates().render("slack", notification(evil)).body
    assert "<script>" not in slack
    assert "&lt;script&gt;" in slack


def test_sandbox_blocks_unsafe_templates(tmp_path: object) -> None:
    """A template reaching for Python internals fails in the sandbox."""
    from pathlib import Path

    from jinja2.exceptions import SecurityError

    directory = Path(str(tmp_path))
    (directory / "title.txt.j2").write_text("{{ alerts.__class__.__mro__[1].__subclasses__() }}")
    (directory / "text.txt.j2").write_text("x")
    with pytest.raises(SecurityError):
        Templates(directory).render("text", notification(make_alert()))


@pytest.mark.parametrize(
    ("snippet", "spans", "expected"),
    [
        ("abcdef", ((1, 3),), [("a", False), ("bc", True), ("def", False)]),
        ("abcdef", ((0, 6),), [("abcdef", True)]),
        ("abcdef", ((4, 99), (1, 2)), [("a", False), ("b", True), ("cd", False), ("ef", True)]),
        ("abcdef", ((1, 4), (2, 5)), [("a", False), ("bcd", True), ("e", True), ("f", False)]),
        ("abc", ((2, 1),), [("abc", False)]),
        ("", ((0, 1),), []),
    ],
)
def test_highlight_segments(
    snippet: str, spans: tuple[tuple[int, int], ...], expected: list[tuple[str, bool]]
) -> None:
    """Highlights split the snippet; out-of-range, reversed and overlapping spans are clipped."""
    assert list(highlight_segments(snippet, spans)) == expected


@given(
    st.text(max_size=40),
    st.lists(st.tuples(st.integers(-5, 50), st.integers(-5, 50)), max_size=6),
)
def test_highlight_segments_keep_text(snippet: str, spans: list[tuple[int, int]]) -> None:
    """Whatever the spans, the pieces join back into the snippet."""
    pieces = highlight_segments(snippet, tuple((max(0, a), max(0, b)) for a, b in spans))
    assert "".join(text for text, _ in pieces) == snippet


@pytest.mark.parametrize("kind", KINDS)
def test_an_alert_from_a_teaser_says_so_and_links_the_page(kind: str) -> None:
    """A teaser's alert names the page the headline was read on, with its link."""
    from schemas.articles import PageRef

    teaser = Evidence(
        article_id="teaser-1",
        url="https://wire.example/page",
        source="Wire",
        title="Urals discount hits a one-year high",
        kind="teaser",
        found_on=PageRef(id="page", url="https://wire.example/page", title="Talks resume"),
    )
    body = Templates().render(kind, notification(make_alert(evidence=(teaser,)))).body
    assert "teaser" in body.lower()
    assert "Talks resume" in body
    assert "https://wire.example/page" in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_alert_shows_both_figures_with_sources_and_times(kind: str) -> None:
    """A change rule's alert shows this report and the one before, who said them, when, and the move."""
    from datetime import UTC, datetime

    from schemas import FigureChange, FigurePoint

    change = FigureChange(
        series="spread|commodity:urals|commodity:brent|USD|bbl",
        level="spread",
        commodity="commodity:urals",
        benchmark="commodity:brent",
        currency="USD",
        unit="bbl",
        current=FigurePoint(
            value=21.6, at=datetime(2026, 11, 11, 8, 0, tzinfo=UTC), article_id="b", source="Desk B"
        ),
        reference=FigurePoint(
            value=19.4,
            at=datetime(2026, 11, 10, 9, 30, tzinfo=UTC),
            article_id="a",
            source="Desk A",
            url="https://a.example/1",
        ),
        delta=2.2,
        change_pct=11.34,
    )
    body = Templates().render(kind, notification(make_alert(change=change))).body
    for expected in (
        "urals vs brent spread",
        "21.6 USD/bbl",
        "Desk B",
        "2026-11-11 08:00 UTC",
        "19.4 USD/bbl",
        "Desk A",
        "2026-11-10 09:30 UTC",
        "+2.20 USD/bbl (+11.3 %)",
    ):
        assert expected in body, (kind, expected, body)


@pytest.mark.parametrize("kind", KINDS)
def test_a_spike_alert_shows_count_baseline_ratio_and_top_stories(kind: str) -> None:
    """A spike alert says how many articles against how many usually, the ratio and the stories."""
    from schemas.alerts import SpikeFigures, StoryCount

    spike = SpikeFigures(
        key="entity:country:PL",
        window_s=3600,
        current=12,
        baseline=1.5,
        ratio=8.0,
        sources=4,
        reference="week",
        slots=3,
        top_stories=(
            StoryCount(story_id="s1", title="Drones over Rzeszow", articles=7, sources=3),
            StoryCount(
                story_id="s2",
                title="Warsaw summons envoy",
                url="https://x/2",
                articles=5,
                sources=2,
            ),
        ),
    )
    body = Templates().render(kind, notification(make_alert(policy="spike", spike=spike))).body
    for expected in (
        "12 articles in the last 60 minutes on entity:country:PL",
        "usually 1.5 at this hour of the week (3 weeks back)",
        "x8",
        "4 sources",
        "Drones over Rzeszow",
        "7 articles, 3 sources",
        "Warsaw summons envoy",
    ):
        assert expected in body, (kind, expected, body)


def on_story(category: str, rule: str, minutes: int, **fields: object) -> Alert:
    """An alert of rule ``rule`` on story s1, its article published at 09:``minutes``."""
    from datetime import UTC, datetime

    return make_alert(
        story_id="s1",
        category=category,
        rule_id=rule,
        rule_title=f"Rule {rule}",
        evidence=(
            Evidence(
                article_id=f"a{minutes}",
                source=f"Desk {minutes}",
                title=f"Report {minutes}",
                url=f"https://news.example/{minutes}",
                published_at=datetime(2026, 11, 10, 9, minutes, tzinfo=UTC),
            ),
        ),
        **fields,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_one_story_is_one_card_with_every_rule(kind: str) -> None:
    """Three rules firing on one story make one story listing each rule, category and source."""
    alerts = [
        on_story("airspace_violation", "drones", 5),
        on_story("military_offensive", "offensive", 5),
        on_story("peace_talks", "talks", 30, is_update=True),
    ]
    rendered = Templates().render(kind, notification(*alerts))
    body = rendered.body
    assert rendered.title == f"[HIGH] Update: {alerts[0].headline}"
    assert body.count(alerts[0].headline) == 2  # the headline, and its article among the sources
    for expected in ("Rule drones", "Rule offensive", "Rule talks", "airspace_violation"):
        assert expected in body, (kind, expected, body)
    assert "military_offensive" in body
    assert "peace_talks" in body
    assert body.index("Desk 5") < body.index("Desk 30")
    assert "2026-11-10 09:05 UTC" in body
    assert "update" in body.lower()


@pytest.mark.parametrize("kind", KINDS)
def test_a_story_the_receiver_knows_is_an_update(kind: str) -> None:
    """A new rule on a story already notified to the receiver is shown as an update of it."""
    from dataclasses import replace

    alert = on_story("sanctions", "visa", 5)
    fresh = Templates().render(kind, notification(alert))
    known = Templates().render(kind, replace(notification(alert), known_stories=frozenset({"s1"})))
    assert not fresh.title.startswith("[HIGH] Update:")
    assert known.title == f"[HIGH] Update: {alert.headline}"
