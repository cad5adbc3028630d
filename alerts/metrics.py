"""The notifier's Prometheus metrics, in a registry of its own (one per notifier)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NotifierMetrics:
    """Counters per receiver: sent, failed, retried, silenced, grouped; and a few gauges.

    Labels carry receiver names only, never URLs.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter("wirewatch_notifier_alerts_consumed", "Alerts read.", registry=r)
        self.config_failing = Gauge(
            "wirewatch_notifier_config_failing",
            "1 while the routes or receivers published on their topics are refused (the "
            "configuration in use stays), else 0.",
            registry=r,
        )
        self.invalid = Counter(
            "wirewatch_notifier_alerts_invalid", "Records that were not alerts.", registry=r
        )
        self.sent = Counter(
            "wirewatch_notifier_notifications_sent",
            "Notifications delivered.",
            ["receiver"],
            registry=r,
        )
        self.alerts_delivered = Counter(
            "wirewatch_notifier_alerts_delivered",
            "Alerts delivered (alone, grouped or in a digest).",
            ["receiver"],
            registry=r,
        )
        self.failed = Counter(
            "wirewatch_notifier_notifications_failed",
            "Notifications that failed after the retry budget and were dead-lettered.",
            ["receiver"],
            registry=r,
        )
        self.retried = Counter(
            "wirewatch_notifier_retries", "Delivery attempts retried.", ["receiver"], registry=r
        )
        self.silenced = Counter(
            "wirewatch_notifier_alerts_silenced", "Alerts silenced.", ["receiver"], registry=r
        )
        self.inhibited = Counter(
            "wirewatch_notifier_alerts_inhibited",
            "Alerts muted by a firing alert (inhibit_rules).",
            ["receiver"],
            registry=r,
        )
        self.grouped = Counter(
            "wirewatch_notifier_alerts_grouped",
            "Alerts that joined a group already waiting.",
            ["receiver"],
            registry=r,
        )
        self.repeats = Counter(
            "wirewatch_notifier_alerts_repeat_suppressed",
            "Alerts not sent: story already notified within repeat_interval.",
            ["receiver"],
            registry=r,
        )
        self.duplicates = Counter(
            "wirewatch_notifier_alerts_already_recorded",
            "Alerts skipped: the ledger has their outcome, or a copy is already queued or sending.",
            ["receiver"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "wirewatch_notifier_dead_lettered", "Records written to alerts.dlq.", registry=r
        )
        self.pending = Gauge(
            "wirewatch_notifier_pending_alerts", "Alerts waiting in groups or digests.", registry=r
        )
        self.circuit_open = Gauge(
            "wirewatch_notifier_circuit_open",
            "1 while the receiver's circuit is open.",
            ["receiver"],
            registry=r,
        )
        self.latency = Histogram(
            "wirewatch_notifier_delivery_seconds",
            "Time from alert read to delivery, per notification.",
            ["receiver"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=r,
        )
