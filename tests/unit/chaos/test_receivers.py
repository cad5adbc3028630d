"""Reading the alerts back from what the receivers got, for every template."""

from __future__ import annotations

import email.message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from alerts.grouping import Notification, Pending
from alerts.routing import Route
from alerts.templates import KINDS, Templates
from schemas import Alert, Evidence
from tests.chaos.corpus import RULE_TITLE
from tests.chaos.receivers import from_smtp, from_webhook, keys_in, pairs_in
from tests.support.servers import Collector, SmtpServer, Webhook
from tests.unit.alerts.factories import make_alert

ROUTE = Route("root", "desk", ("rule_id",), 0, 300, 3600)


def corpus_alert(rule_id: str, article_id: str) -> Alert:
    """An alert like the pipeline makes from the chaos corpus."""
    return make_alert(
        rule_id=rule_id,
        rule_title=RULE_TITLE.format(rule_id=rule_id),
        evidence=(
            Evidence(
                article_id=article_id,
                source="outlet-3",
                title=f"{article_id} zatoka mirepo",
                snippet="zatoka chaosmark3 mirepo",
                snippet_highlights=((7, 17),),
            ),
        ),
    )


def render(kind: str, *alerts: Alert) -> str:
    items = tuple(Pending(a, "desk", ROUTE, ("p", i), 0) for i, a in enumerate(alerts))
    rendered = Templates().render(kind, Notification("desk", items))
    return f"{rendered.title}\n{rendered.body}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("count", [1, 3])
def test_every_template_gives_back_its_alerts(kind: str, count: int) -> None:
    """One alert or a group: each (rule, article) pair is found once, and nothing else."""
    pairs = {(f"chaos-w{n}", f"ca-{n:06d}") for n in range(count)}
    alerts = [corpus_alert(rule, article) for rule, article in sorted(pairs)]
    assert pairs_in(render(kind, *alerts)) == pairs


@pytest.mark.parametrize("kind", ["text", "email"])
def test_text_and_email_end_with_their_alert_keys(kind: str) -> None:
    """The text and email templates end with one `alert key:` line per alert."""
    alerts = [corpus_alert(f"chaos-w{n}", f"ca-{n:06d}") for n in range(3)]
    assert keys_in(render(kind, *alerts)) == {alert.key for alert in alerts}


def test_text_without_rule_title_lists_nothing() -> None:
    """An article id alone (a digest line, a title) is not an alert."""
    assert pairs_in("[HIGH] ca-000001 zatoka\nca-000002") == frozenset()


def test_webhook_payloads_are_read_with_their_times() -> None:
    """apprise json:// payloads (title and message, alert keys) become received notifications."""
    hook = Webhook(port=1)
    hook.accepted["hook"] = [
        {
            "title": "[HIGH] ca-000001 zatoka",
            "message": render("text", corpus_alert("chaos-w1", "ca-000001")),
            "alert_keys": ["k1"],
        },
        {
            "title": "[HIGH] ca-000002 zatoka",
            "message": render("text", corpus_alert("chaos-w2", "ca-000002")),
        },
    ]
    hook.accepted_at = [10.0, 11.0]
    received = from_webhook(hook, "hook", "hook")
    assert [(r.at, set(r.pairs), set(r.keys)) for r in received] == [
        (10.0, {("chaos-w1", "ca-000001")}, {"k1"}),
        (11.0, {("chaos-w2", "ca-000002")}, set()),
    ]
    assert [r.pairs for r in from_webhook(hook, "hook", "hook", start=1)] == [received[1].pairs]


def test_email_is_read_from_one_part() -> None:
    """An email with a text and an HTML part lists its alert once, and its key, from the HTML part."""
    alert = corpus_alert("chaos-w4", "ca-000004")
    html = render("email", alert)
    message = MIMEMultipart("alternative")
    message.attach(MIMEText("Chaos watch chaos-w9 ca-000009", "plain"))
    message.attach(MIMEText(html, "html"))
    collected = Collector()
    collected.messages.append(email.message_from_bytes(message.as_bytes()))
    collected.received_at.append(5.0)
    (received,) = from_smtp(SmtpServer(port=1, handler=collected), "mail")
    assert received.pairs == {("chaos-w4", "ca-000004")}
    assert received.keys == {alert.key}
    assert received.at == 5.0
