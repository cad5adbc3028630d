"""The labels of an alert: what routes, silences and ``group_by`` can name."""

from __future__ import annotations

from schemas import Alert

Labels = dict[str, frozenset[str]]

GROUP_LABELS = ("category", "severity", "rule_id", "story_id", "policy")
"""Single-valued labels a route may ``group_by``; ``...`` groups every alert alone."""


def alert_labels(alert: Alert, receiver: str | None = None) -> Labels:
    """Return the alert's labels; ``tag`` and ``entity`` hold every tag and entity id."""
    labels: Labels = {
        "category": frozenset({alert.category}),
        "severity": frozenset({alert.severity.value}),
        "rule_id": frozenset({alert.rule_id}),
        "story_id": frozenset({alert.story_id}),
        "policy": frozenset({alert.policy}),
        "tag": frozenset(alert.tags),
        "entity": frozenset(entity.id for entity in alert.entities),
    }
    if receiver is not None:
        labels["receiver"] = frozenset({receiver})
    return labels


def group_values(alert: Alert, group_by: tuple[str, ...]) -> tuple[str, ...]:
    """Return the values of ``group_by`` for ``alert``: the part of its group key."""
    if group_by == ("...",):
        return (alert.key,)
    labels = alert_labels(alert)
    return tuple(next(iter(labels[name])) for name in group_by)
