"""Where the detections of an article go once it has its story.

Pure, like the rest of the decisions: :func:`route` keys each detection for
the aggregate agent (``<rule id>|<group>``, :func:`streams.aggregate.group_keys`),
except those of change rules, which first go to their figure series'
partition to be judged against its history (:mod:`streams.series`); and it
adds the article once for each spike rule counting its whole category.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas import Detection
from streams.aggregate import detection_key, group_keys
from streams.rules import RuleSet
from streams.series import series_keys


@dataclass(frozen=True)
class Routed:
    """Keyed detections: ``detections`` for the detections topic, ``series`` for the series topic."""

    detections: list[tuple[str, Detection]] = field(default_factory=list)
    series: list[tuple[str, Detection]] = field(default_factory=list)


def route(rules: RuleSet, detections: Sequence[Detection]) -> Routed:
    """Key ``detections`` (already placed in their story) by where ``rules`` says they go.

    A detection of a rule that is gone is left out.
    """
    keyed: list[tuple[str, Detection]] = []
    by_series: list[tuple[str, Detection]] = []
    for detection in detections:
        spec = rules.rules.get(detection.rule_id)
        if spec is None:
            continue
        condition = rules.condition(detection.rule_id)
        if condition is not None and condition.level is not None:
            by_series.extend((s, detection) for s in series_keys(detection, condition.level))
            continue
        for group in group_keys(detection, spec.alert):
            keyed.append((detection_key(detection.rule_id, group), detection))
    keyed.extend(_category_spike_counts(rules, keyed))
    return Routed(keyed, by_series)


def _category_spike_counts(
    rules: RuleSet, keyed: list[tuple[str, Detection]]
) -> list[tuple[str, Detection]]:
    """The article once for each spike rule counting its category that did not fire on it itself.

    A spike ``group_by: category`` counts every article any rule of its
    category fired on; the detection is the first of that category.
    """
    fired = {detection.rule_id for _, detection in keyed}
    first: dict[str, Detection] = {}
    for _, detection in keyed:
        first.setdefault(detection.category, detection)
    return [
        (detection_key(spike, f"category:{category}"), detection)
        for category, detection in first.items()
        for spike in rules.category_spikes(category)
        if spike not in fired
    ]
