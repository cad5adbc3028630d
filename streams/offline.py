"""The pipeline's decisions in one process: what the agents do, without Kafka.

For the places that need them offline (the chaos harness's oracle, the demo
test, benchmarks, ``wirewatch scan --stories``): :class:`Offline` runs each
raw record through :class:`~streams.detect.Detector` and, when a rule fired,
through :class:`~streams.stories.Clusterer`, in the order given, as the single
cluster agent does; :class:`Aggregation` folds the keyed detections and merge
controls into alert decisions, passing forwarded records on at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas import Alert, Detection, Settings
from schemas.rules import AlertPolicy
from schemas.stories import GroupControl
from streams.aggregate import GroupState, decide, fold_control, split_detection_key
from streams.detect import Detector, Outcome
from streams.rules import RuleSet
from streams.stories import Clusterer, ClusterOutcome


@dataclass(frozen=True)
class Processed:
    """One record through detection and clustering: its page, then the teasers split off it.

    ``clustered`` holds the clustering of each part a rule fired on, in order.
    """

    outcome: Outcome
    clustered: tuple[ClusterOutcome, ...] = ()

    @property
    def page(self) -> ClusterOutcome | None:
        """The clustering of the record's page itself (None when no rule fired on it)."""
        return self.clustered[0] if self.outcome.request is not None else None

    @property
    def detections(self) -> list[tuple[str, Detection]]:
        """The keyed detections the cluster agent would send (none when no rule fired)."""
        return [pair for clustered in self.clustered for pair in clustered.detections]

    @property
    def records(self) -> list[tuple[str, Detection | GroupControl]]:
        """Every keyed record the cluster agent would send to the detections topic, in order."""
        return [
            pair
            for clustered in self.clustered
            for pair in (*clustered.controls, *clustered.detections)
        ]


class Offline:
    """A detector and a clusterer over one rule set (which may be swapped between records)."""

    def __init__(self, settings: Settings, rules: Callable[[], RuleSet]) -> None:
        self.detector = Detector(settings, rules)

        def policy_of(rule_id: str) -> AlertPolicy | None:
            spec = rules().rules.get(rule_id)
            return spec.alert if spec is not None else None

        self.clusterer = Clusterer.from_settings(settings, policy_of)

    def process(
        self, raw: bytes | None, *, origin: str, record_time: datetime | None = None
    ) -> Processed:
        """Detect, then cluster, one raw articles record.

        Raises:
            InvalidRecordError: the record is not a valid article.
        """
        outcome = self.detector.detect(raw, origin=origin, record_time=record_time)
        return Processed(
            outcome,
            tuple(
                self.clusterer.assign(part.request)
                for part in outcome.parts
                if part.request is not None
            ),
        )


class Aggregation:
    """Group states by detection key, folded as the aggregate agent folds them."""

    def __init__(self, rules: Callable[[], RuleSet]) -> None:
        self._rules = rules
        self.states: dict[str, GroupState] = {}

    def fold(self, records: Iterable[tuple[str, Detection | GroupControl]]) -> list[Alert]:
        """Fold keyed records (and whatever they forward) into the states; return the alerts."""
        queue = deque(records)
        alerts: list[Alert] = []
        while queue:
            key, record = queue.popleft()
            rule_id, group = split_detection_key(key)
            spec = self._rules().rules.get(rule_id)
            if spec is None:
                continue
            state = self.states.get(key, GroupState())
            if isinstance(record, Detection):
                decision = decide(state, record, spec.alert, group=group)
            else:
                decision = fold_control(state, record, spec.alert, group=group)
            if not decision.replayed:
                self.states[key] = decision.state
            alerts.extend(decision.alerts)
            queue.extend(decision.forward)
        return alerts
