"""The dashboard's alert feed: filters, bounded history, order, repeats and stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas import ConfigError, EntityMention, Evidence, Severity
from tests.unit.alerts.factories import make_alert
from tests.unit.dashboard.conftest import level
from wirewatch.dashboard.feed import AlertFilter, Feed, FeedEntry, story_view

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    """A creation time ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


RUSSIA = EntityMention(id="country:RU", kind="country", name="Russia")


@pytest.mark.parametrize(
    ("query", "passes"),
    [
        pytest.param({}, True, id="empty"),
        pytest.param({"category": "sanctions"}, True, id="category"),
        pytest.param({"category": "oil"}, False, id="other-category"),
        pytest.param({"severity": "medium"}, True, id="below-high"),
        pytest.param({"severity": "HIGH"}, True, id="same-severity-any-case"),
        pytest.param({"severity": "critical"}, False, id="above"),
        pytest.param({"entity": "country:ru"}, True, id="entity-id-any-case"),
        pytest.param({"entity": "Russia"}, True, id="entity-name"),
        pytest.param({"entity": "Ukraine"}, False, id="absent-entity"),
        pytest.param({"q": "CRUDE brent"}, True, id="words-any-case"),
        pytest.param({"q": "crude gold"}, False, id="one-word-missing"),
        pytest.param({"q": "news.example.org"}, True, id="source"),
        pytest.param({"q": "energy"}, True, id="tag"),
        pytest.param({"category": "sanctions", "q": "ministers", "entity": "russia"}, True),
    ],
)
def test_filter(query: dict[str, str], passes: bool) -> None:
    """Each filter keeps exactly the alerts it names; all given conditions must hold."""
    alert = make_alert(entities=(RUSSIA,))
    assert AlertFilter.from_query(query).matches(FeedEntry.of(alert)) is passes


@pytest.mark.parametrize(
    "query", [{"severity": "urgent"}, {"q": "x" * 201}], ids=["severity", "too-long"]
)
def test_filter_refuses_nonsense(query: dict[str, str]) -> None:
    """An unknown severity or an overlong value is an error a person can act on."""
    with pytest.raises(ConfigError):
        AlertFilter.from_query(query)


def test_newest_first_whatever_the_arrival_order() -> None:
    """Alerts from several partitions arrive out of order; the feed lists them newest first."""
    feed = Feed(10)
    for minutes in (5, 1, 9, 3):
        feed.add(make_alert(key=f"k{minutes}", created_at=at(minutes)))
    assert [e.alert.key for e in feed.newest()] == ["k9", "k5", "k3", "k1"]


def test_history_is_bounded_and_keeps_the_newest() -> None:
    """Past its capacity the feed drops the oldest alert, and refuses one older than all it keeps."""
    feed = Feed(3)
    for minutes in range(5):
        feed.add(make_alert(key=f"k{minutes}", created_at=at(minutes)))
    assert len(feed) == 3
    assert feed.story_count == 3
    assert [e.alert.key for e in feed.newest()] == ["k4", "k3", "k2"]
    assert feed.add(make_alert(key="old", created_at=at(-10))) is None
    assert feed.add(make_alert(key="k0", created_at=at(0))) is None
    assert len(feed) == 3


def test_a_replayed_alert_is_shown_once() -> None:
    """The same alert key (a replay after a crash) does not enter the feed twice."""
    feed = Feed(10)
    first = make_alert(key="same", created_at=at(1))
    assert feed.add(first) is not None
    assert feed.add(first.model_copy(update={"created_at": at(2)})) is None
    assert len(feed) == 1


def test_filtered_newest() -> None:
    """newest() yields only what passes the filter."""
    feed = Feed(10)
    feed.add(make_alert(key="a", category="sanctions", created_at=at(1)))
    feed.add(make_alert(key="b", category="oil", severity=Severity.LOW, created_at=at(2)))
    where = AlertFilter.from_query({"category": "oil"})
    assert [e.alert.key for e in feed.newest(where)] == ["b"]


def test_story_gathers_articles_sources_and_figures() -> None:
    """A story lists each article once, oldest first, its sources, and each figure once."""
    spread = level("spread", 19.4, commodity="commodity:urals", benchmark="commodity:brent")

    def evidence(article: str, hours: int | None, source: str) -> Evidence:
        published = T0 + timedelta(hours=hours) if hours is not None else None
        return Evidence(article_id=article, source=source, title=article, published_at=published)

    first = make_alert(
        key="a1",
        story_id="s",
        created_at=at(1),
        evidence=(evidence("late", 2, "B"), evidence("early", 1, "A")),
        values=(spread,),
    )
    update = make_alert(
        key="a2",
        story_id="s",
        created_at=at(2),
        is_update=True,
        evidence=(evidence("undated", None, "C"), evidence("early", 1, "A")),
        values=(spread,),
    )
    feed = Feed(10)
    for alert in (first, update, make_alert(key="other", story_id="t")):
        feed.add(alert)
    alerts = feed.story({"s"})
    assert [a.key for a in alerts] == ["a2", "a1"]
    view = story_view("s", alerts)
    assert [a["article_id"] for a in view["articles"]] == ["early", "late", "undated"]
    assert view["sources"] == ["A", "B", "C"]
    assert len(view["values"]) == 1
    assert view["names"]["commodity:brent"] == "Brent"


def test_alert_view_leaves_entity_spans_out() -> None:
    """The JSON sent to the page carries entities without their spans, and the headline."""
    entity = RUSSIA.model_copy(
        update={"spans": (level("price", 1.0).span,)}  # any span will do
    )
    entry = FeedEntry.of(make_alert(entities=(entity,)))
    assert "spans" not in entry.view["entities"][0]
    assert entry.view["headline"] == entry.alert.evidence[0].title


def test_facets_list_categories_and_frequent_entities() -> None:
    """Facets offer the categories present and the entities, most frequent first."""
    feed = Feed(10)
    feed.add(make_alert(key="a", category="oil", entities=(RUSSIA,)))
    feed.add(make_alert(key="b", category="gas", entities=(RUSSIA,)))
    facets = feed.facets()
    assert facets["categories"] == ["gas", "oil"]
    assert facets["entities"][0] == {"id": "country:RU", "name": "Russia", "count": 2}


def test_a_story_is_one_card_with_every_rule_and_its_updates() -> None:
    """Three rules on one article and a later article: one card, each rule once, the later one an update."""
    from wirewatch.dashboard.feed import story_card

    def evidence(article: str, hours: int, source: str) -> Evidence:
        return Evidence(
            article_id=article,
            source=source,
            title=f"Report {article}",
            published_at=T0 + timedelta(hours=hours),
            snippet=f"snippet {article}",
        )

    feed = Feed(20)
    for n, category in enumerate(("airspace_violation", "military_offensive", "peace_talks")):
        feed.add(
            make_alert(
                key=f"k{n}",
                story_id="s",
                rule_id=f"rule-{n}",
                category=category,
                severity=Severity.LOW if n else Severity.HIGH,
                created_at=at(1),
                evidence=(evidence("a1", 1, "Desk A"),),
            )
        )
    feed.add(
        make_alert(
            key="k3",
            story_id="s",
            rule_id="rule-0",
            category="airspace_violation",
            created_at=at(30),
            evidence=(evidence("a2", 2, "Desk B"), evidence("a1", 1, "Desk A")),
        )
    )
    feed.add(make_alert(key="other", story_id="t", category="oil", created_at=at(5)))
    [story, other] = list(feed.stories())
    assert [e.alert.story_id for e in other] == ["t"]
    card = story_card(story)
    assert card["categories"] == ["airspace_violation", "military_offensive", "peace_talks"]
    assert [(a["rule_id"], a["update"]) for a in card["alerts"]] == [
        ("rule-0", False),
        ("rule-1", False),
        ("rule-2", False),
        ("rule-0", True),
    ]
    assert card["updates"] == 1
    assert card["severity"] == "high"
    assert [s["source"] for s in card["sources"]] == ["Desk A", "Desk B"]
    assert (card["article_count"], card["source_count"]) == (2, 2)
    assert card["snippet"] == "snippet a2"
    assert card["updated_at"] == at(30).isoformat()
    oil = AlertFilter.from_query({"category": "peace_talks"})
    assert [entries[0].alert.story_id for entries in feed.stories(oil)] == ["s"]
    assert feed.story_count == 2
