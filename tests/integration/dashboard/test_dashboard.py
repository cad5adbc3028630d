"""The dashboard in headless Chromium, served beside a real worker and notifier on the broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Locator, Page, expect

from schemas import Settings
from schemas.fetch_state import FetchState
from schemas.kafka import encode, make_producer
from tests.integration.dashboard.conftest import PHONE, Console, Monitor, open_page
from tests.integration.pipeline.conftest import article, wait_for

SECONDS = 1_000  # Playwright timeouts are in milliseconds


def unique(word: str) -> str:
    """A word no other test's article contains, to find this test's cards."""
    return f"{word}{uuid.uuid4().hex[:6]}"


def card(page: Page, marker: str) -> Locator:
    """The feed card whose text contains ``marker``."""
    return page.locator("#alerts > li", has_text=marker)


def test_article_appears_live_with_highlighted_evidence(
    page: Page, monitor: Monitor, console: Console
) -> None:
    """An article produced to Kafka shows up in the open page within seconds, evidence marked."""
    town = unique("Zelva")
    headline = f"Drones crossed into the airspace over {town}"
    began = time.monotonic()
    monitor.produce(
        article(
            f"drones-{town}",
            headline,
            f"Two drones entered Polish airspace near {town} overnight, the army said.",
            source="Baltic Observer",
        )
    )
    alert = card(page, headline)
    expect(alert).to_be_visible(timeout=20 * SECONDS)
    seen_after = time.monotonic() - began
    marks = alert.locator(".snippet mark").all_inner_texts()
    assert {"drones", "airspace"} <= {m.lower() for m in marks}, marks
    expect(alert.locator(".badge.sev")).to_have_text("high")
    expect(alert.locator(".badge.category")).to_have_text("airspace")
    expect(alert.locator(".rule code")).to_have_text("dash-drones")
    expect(alert.locator(".corroboration")).to_have_text("1 article from 1 source")
    expect(alert.locator(".sources")).to_contain_text("Baltic Observer")
    expect(page.locator("#rules-table")).to_contain_text("dash-drones")
    monitor.screenshot(page, "desk-feed")
    assert seen_after < 15, f"the alert took {seen_after:.1f} s to appear"

    alert.get_by_role("button", name="Story").focus()
    page.keyboard.press("Enter")
    story = page.locator("#story")
    expect(story).to_be_visible()
    expect(story.locator("table.articles")).to_contain_text("Baltic Observer")
    expect(story.locator("table.articles mark").first).to_be_visible()
    monitor.screenshot(page, "desk-story")
    page.keyboard.press("Escape")
    expect(story).to_be_hidden()


def test_one_card_per_story_with_every_rule_and_its_updates(
    page: Page, monitor: Monitor, console: Console
) -> None:
    """Two rules on one article make one card; another outlet's report updates it in place."""
    town = unique("Hrubieszow")
    # Worded apart from the other tests' drone reports: this module's tests share one
    # pipeline, and a report that shares only general words with one of theirs can join it.
    body = (
        f"A drone flew into the airspace above {town} before dawn and hit a pipeline, "
        "where engineers found a leak, the regional governor said on Tuesday."
    )
    monitor.produce(article(f"both-{town}", f"Drones and a leak near {town}", body, "Wire A"))
    story = card(page, town)
    expect(story).to_have_count(1, timeout=20 * SECONDS)
    expect(story.locator(".rule")).to_have_count(2, timeout=10 * SECONDS)
    # in the order their alerts arrived, which two rules firing on one article do not fix
    assert sorted(story.locator(".rule code").all_inner_texts()) == ["dash-drones", "dash-leak"]
    categories = story.locator(".alert-meta .badge.category")
    expect(categories).to_have_count(2)
    assert sorted(categories.all_inner_texts()) == ["airspace", "energy"]
    expect(story.locator(".corroboration")).to_have_text("1 article from 1 source")

    # In its own words: a near-verbatim copy would count as Wire A's report (one source).
    rewrite = (
        f"A pipeline near {town} is leaking after drones crossed into the airspace in the night "
        "and hit it, the governor of the region told reporters."
    )
    monitor.produce(article(f"other-{town}", f"Drones hit a pipeline by {town}", rewrite, "Wire B"))
    expect(story.locator(".alert-meta .badge.update")).to_be_visible(timeout=20 * SECONDS)
    expect(story).to_have_count(1)
    expect(story.locator(".corroboration")).to_have_text("2 articles from 2 sources")
    expect(story.locator("ol.sources li")).to_have_count(2)
    expect(story.locator(".rule .badge.update").first).to_be_visible()
    monitor.screenshot(page, "desk-story-card")


def test_an_alert_from_a_teaser_links_the_page_it_was_read_on(
    page: Page, monitor: Monitor, console: Console
) -> None:
    """A teaser closing a page alerts on its own card, which names and links the page."""
    port = unique("Gdynia")
    body = (
        f"The harbour master of {port} reopened the northern basin on Monday.\n"
        f"Pipeline leak closes the {port} oil terminal\nFerry timetables change next week"
    )
    record = article(f"page-{port}", f"Harbour reopens at {port}", body, "Coast Post")
    record["url"] = f"https://coast.example/{port}"
    monitor.produce(record)
    teaser = card(page, f"Pipeline leak closes the {port}")
    expect(teaser).to_be_visible(timeout=20 * SECONDS)
    note = teaser.locator(".teaser-note")
    expect(note).to_contain_text(f"teaser read on Harbour reopens at {port}")
    expect(note.get_by_role("link")).to_have_attribute("href", f"https://coast.example/{port}")
    monitor.screenshot(page, "desk-teaser")


def test_filters_narrow_the_feed(page: Page, monitor: Monitor, console: Console) -> None:
    """The category and text filters keep only the stories with a matching alert, and survive a reload."""
    # Two names: one shared rare name would make the two reports one story.
    field, oilfield = unique("Orlen"), unique("Plock")
    monitor.produce(
        article(
            f"leak-{oilfield}",
            f"Pipeline leak at the {oilfield} field",
            "A pipeline leak was found.",
        ),
        article(
            f"drones-{field}",
            f"Drones over {field}",
            f"Drones violated the airspace of {field} in the early morning.",
        ),
    )
    expect(card(page, f"Pipeline leak at the {oilfield}")).to_be_visible(timeout=20 * SECONDS)
    expect(card(page, f"Drones over {field}")).to_be_visible(timeout=20 * SECONDS)

    filters = page.get_by_role("search", name="Filter alerts")
    filters.get_by_label("Category").select_option("energy")
    expect(card(page, f"Drones over {field}")).to_have_count(0)
    expect(card(page, f"Pipeline leak at the {oilfield}")).to_be_visible()
    cards = page.locator("#alerts > li").all()
    assert cards
    for shown in cards:  # a story passes when one of its alerts does; it shows all its categories
        assert "energy" in shown.locator(".alert-meta .badge.category").all_inner_texts()
    assert "category=energy" in page.url

    filters.get_by_label("Category").select_option("")
    filters.get_by_label("Text").fill(f"drones {field}")
    expect(card(page, f"Drones over {field}")).to_be_visible()
    expect(page.locator("#alerts > li")).to_have_count(1)
    monitor.screenshot(page, "desk-filtered")

    page.reload()
    expect(filters.get_by_label("Text")).to_have_value(f"drones {field}")
    expect(page.locator("#alerts > li")).to_have_count(1)


def test_silence_made_on_the_page_suppresses_the_next_alert(
    page: Page, monitor: Monitor, console: Console
) -> None:
    """The notifier delivers a quarry alert, then records the next one as silenced, not sent."""
    first = unique("Kamyk")
    monitor.produce(
        article(f"q-{first}", f"Quarry wall collapses at {first}", "A quarry collapse at dawn.")
    )
    expect(card(page, first)).to_be_visible(timeout=20 * SECONDS)
    assert wait_for(lambda: monitor.deliveries("dash-quarry") == 1, 30), monitor.logs()

    form = page.locator("#silence-form")
    form.get_by_label("Label").select_option("rule_id")
    form.get_by_label("Condition").select_option("=")
    form.get_by_label("Value").fill("dash-quarry")
    form.get_by_label("For").fill("1h")
    form.get_by_label("Why").fill("known quarry story, desk informed")
    form.get_by_role("button", name="Create silence").click()
    expect(page.locator("#silence-message")).to_contain_text("created")
    active = page.locator("#silence-list li.silence.active")
    expect(active).to_contain_text("rule_id=dash-quarry", timeout=10 * SECONDS)

    second = unique("Skala")
    monitor.produce(
        article(
            f"q-{second}",
            f"Second quarry collapse near {second}",
            # enough words of its own to be another story than the first collapse
            f"Rescuers reached the {second} site after the slope collapsed into the quarry pit; "
            "three excavators and a conveyor belt were buried under the rubble, the mine "
            "operator said.",
        )
    )
    expect(card(page, second)).to_be_visible(timeout=20 * SECONDS)
    silenced = 'wirewatch_notifier_alerts_silenced_total{receiver="file"}'
    assert wait_for(lambda: monitor.notifier_metric(silenced) == 1, 30), monitor.logs()
    assert monitor.deliveries("dash-quarry") == 1
    monitor.screenshot(page, "desk-silenced")

    active.get_by_role("button", name="Expire now").click()
    expect(page.locator("#silence-list li.silence.active")).to_have_count(0)
    expect(page.locator("#silence-list")).to_contain_text("1 expired")


def test_playground_highlights_matches_and_locates_errors(
    page: Page, monitor: Monitor, console: Console
) -> None:
    """A pasted article shows the rule that fires with its matches marked; a bad query its column."""
    # This dashboard has no account: the page says it serves loopback only.
    expect(page.locator("#open-mode")).to_contain_text(
        "No accounts: this dashboard serves 127.0.0.1"
    )
    play = page.locator("#playground")
    play.get_by_label("Headline").fill("Air defences on alert")
    play.get_by_label("Article text").fill(
        "Three drones crossed into Lithuanian airspace before dawn, officials said."
    )
    play.get_by_label("Query (optional)").fill("lithuanian NEAR/3 airspace")
    play.get_by_role("button", name="Run the rules").click()
    result = page.locator("#playground-result")
    expect(result.locator(".summary")).to_contain_text("2 rules fired")
    expect(result).to_contain_text("dash-drones")
    expect(result).to_contain_text("your query")
    marks = {m.lower() for m in result.locator(".preview mark").all_inner_texts()}
    assert {"drones", "airspace", "lithuanian"} <= marks, marks
    play.scroll_into_view_if_needed()
    monitor.screenshot(page, "desk-playground")

    play.get_by_label("Query (optional)").fill("drone AND (")
    play.get_by_role("button", name="Run the rules").click()
    error = result.locator(".error")
    expect(error).to_contain_text("column 12")
    caret = result.locator("pre.caret").inner_text().split("\n")
    assert caret[0] == "drone AND ("
    assert caret[1].index("^") == 11


def test_sources_panel_shows_each_sources_health(
    page: Page, monitor: Monitor, console: Console
) -> None:
    """States on the fetch state topic fill the Sources panel, the alerting source first."""
    now = datetime.now(UTC)
    calm = FetchState(
        source_id="calm-gazette",
        name="Calm Gazette",
        url="https://calm.example/rss",
        interval_s=300,
        last_status="not_modified",
        last_fetch_at=now,
        last_new_item_at=now - timedelta(hours=1),
        first_fetch_at=now - timedelta(days=2),
        items_total=48,
    )
    down = FetchState(
        source_id="down-daily",
        name="Down Daily",
        url="https://down.example/rss",
        interval_s=300,
        last_status="failed",
        last_error="HTTP 503 Service Unavailable",
        failures=9,
        health_alert="source-health/down-daily/failing/x",
    )
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write_states(monitor.pipeline.settings, [calm, down])).result()
    rows = page.locator("#sources-table tbody tr")
    expect(rows).to_have_count(2, timeout=20 * SECONDS)
    expect(rows.first).to_contain_text("Down Daily")
    expect(rows.first).to_contain_text("failed, alerting")
    expect(rows.first).to_contain_text("HTTP 503")
    expect(rows.nth(1)).to_contain_text("Calm Gazette")
    expect(rows.nth(1).locator("td.num")).to_have_text("24")
    expect(page.locator("#sources-summary")).to_contain_text("2 sources")
    page.locator("#sources").scroll_into_view_if_needed()
    monitor.screenshot(page, "desk-sources")


async def write_states(settings: Settings, states: list[FetchState]) -> None:
    """Write fetch states as a fetcher does (keyed by source id)."""
    producer = make_producer(settings)
    await producer.start()
    try:
        for state in states:
            await producer.send_and_wait(
                settings.topics.fetch_state, encode(state), key=state.source_id.encode()
            )
    finally:
        await producer.stop()


def test_keyboard_and_phone(
    browser: Browser, page: Page, monitor: Monitor, console: Console
) -> None:
    """The skip link leads the keyboard to the feed's filters; a phone sees one column, no sideways scroll."""
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    category = page.get_by_role("search", name="Filter alerts").get_by_label("Category")
    expect(category).to_be_focused()
    outline = category.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "the focused control shows no focus ring"

    phone = open_page(browser, monitor, console, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        expect(phone.locator("#alerts > li").first).to_be_visible()
        widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"sideways scroll on a phone: {widths}"
        monitor.screenshot(phone, "phone-feed")
        phone.locator("#playground").scroll_into_view_if_needed()
        monitor.screenshot(phone, "phone-playground")
    finally:
        phone.context.close()
