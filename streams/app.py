"""The faust app of the stream workers: topics, tables, agents and web pages.

Built by :func:`create_app` from the settings (nothing here reads the
environment). Three agents, each a thin shell around a pure function:

- ``detect`` reads ``articles`` (raw bytes), calls :meth:`Detector.detect`,
  and sends a story request (the detections of an article a rule fired on,
  and its story features) to the one-partition ``<app>-story-requests``, for
  the page and for each teaser split off it;
- ``cluster``, run by whichever worker owns that partition (faust moves it
  when the worker fails), gives each article its story with
  :meth:`Clusterer.assign`, in the partition's order: it publishes the
  decision on ``<app>-stories`` and sends the detections keyed
  ``<rule id>|<group>`` to ``detections`` (:func:`streams.routes.route`),
  those of change rules keyed by figure series to the internal series topic,
  with the controls that move the aggregation state of stories it merged.
  Every worker follows the stories topic, so any of them can take over
  clustering with the same state; a new owner first writes a fence record and
  waits to read it back, so it has applied everything its predecessor published;
- ``compare`` reads the series topic, judges each detection against its
  series' history (kept in the table below, keyed ``series|<series>``) with
  :func:`streams.series.judge`, and sends those that hold to ``detections``
  keyed ``<rule id>|series:<series>``;
- ``aggregate`` reads ``detections``, folds each detection or control into its
  group's state (a table with a changelog, keyed by detection key) with
  :func:`streams.aggregate.decide` or :func:`~streams.aggregate.fold_control`
  (or, for a spike policy, :func:`streams.spikes.decide_spike`, keyed
  ``spike|<detection key>``), and sends alerts keyed by their idempotency key
  to ``alerts``.

Delivery is at least once. faust commits offsets every
``pipeline_commit_interval_s`` and flushes the producer first, so a record's
detections, alerts and state changes are on Kafka before its offset is
committed; a crash replays at most one interval, and the idempotency keys make
the replayed alerts recognisable. Each agent catches every error per record
and dead-letters it (faust acknowledges a record whose handler raised, faust
issue 527), runs with concurrency 1 (higher can commit past a record still in
flight, faust issue 606), and bounds every send with a deadline (aiokafka can
hang while the broker is down, aiokafka issue 1101). The app consumes through
:mod:`streams.transport`, whose seek after a rebalance also rewinds partitions
that have no committed offset yet.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import faust
import structlog
from prometheus_client import CONTENT_TYPE_LATEST

from schemas import Alert, DeadLetter, Detection, InvalidRecordError, Settings
from schemas.common import utcnow
from schemas.kafka import (
    TopicSpec,
    client_options,
    ensure_topics,
    pipeline_app_id,
    pipeline_topics,
    story_topics,
)
from schemas.rules import AlertPolicy, RuleSpec
from schemas.stories import (
    DETECTIONS_RECORD,
    STORY_RECORD,
    GroupControl,
    StoryFence,
    StoryRequest,
)
from streams.aggregate import (
    GroupState,
    decide,
    detection_key,
    fold_control,
    split_detection_key,
)
from streams.detect import Detector
from streams.follower import follow_topic
from streams.metrics import PipelineMetrics
from streams.routes import Routed, route
from streams.rulebook import RuleBook, RuleReport
from streams.rules import RuleSet
from streams.series import SeriesState, judge
from streams.spikes import SpikeRule, SpikeState, decide_spike
from streams.stories import Clusterer, ClusterOutcome
from streams.transport import use_rewinding_transport

log = structlog.get_logger(__name__)


DetectorFactory = Callable[[Settings, Callable[[], RuleSet]], Detector]
Stage = Literal["detect", "cluster", "aggregate"]
Folded = tuple[tuple[Alert, ...], bool, tuple[tuple[str, Detection | GroupControl], ...]]
"""What folding one record into its group gave: alerts, whether it was a replay, records to forward."""
app_id = pipeline_app_id


def series_topic(settings: Settings) -> TopicSpec:
    """Return the internal topic of change rules' detections, keyed by figure series."""
    return TopicSpec(f"{app_id(settings)}-series", settings.partitions, {})


def worker_topics(settings: Settings) -> list[TopicSpec]:
    """Return every topic a worker needs to exist before it starts consuming."""
    return [*pipeline_topics(settings), *story_topics(settings), series_topic(settings)]


def settle_heap() -> None:
    """Move what is alive now (the rule set above all) out of the cyclic collector's reach.

    A compiled rule set is tens of thousands of long-lived objects; every full
    collection would walk them again, a pause of 25-30 ms at 1,000 rules that
    lands on whichever article is in flight. Unfreezing first lets the
    collection free a replaced rule set before the survivors are frozen.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    options = client_options(settings)
    context = options.get("ssl_context")
    if settings.kafka_sasl_mechanism:
        return faust.SASLCredentials(
            username=options.get("sasl_plain_username"),
            password=options.get("sasl_plain_password"),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def create_app(settings: Settings, *, detector_factory: DetectorFactory = Detector) -> faust.App:
    """Return the pipeline's faust app, configured from ``settings``.

    Args:
        detector_factory: builds the per-worker :class:`Detector` (tests inject
            a failing one to check that engine errors are dead-lettered).
    """
    names = settings.topics
    app = faust.App(
        app_id(settings),
        broker=[f"kafka://{server}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=_credentials(settings),
        store="memory://",
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_commit_interval=settings.pipeline_commit_interval_s,
        broker_max_poll_records=settings.pipeline_max_poll_records,
        broker_session_timeout=settings.pipeline_session_timeout_s,
        broker_heartbeat_interval=settings.pipeline_session_timeout_s / 5,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.002,
        producer_request_timeout=settings.send_timeout_s,
        web_host=settings.web_host,
        web_port=settings.worker_web_port,
        web_in_thread=False,
    )
    use_rewinding_transport(app)
    metrics = PipelineMetrics()

    def on_install(rules: RuleSet) -> None:
        metrics.set_ruleset(rules.version, len(rules.rules))
        settle_heap()

    def on_report(report: RuleReport) -> None:
        metrics.set_rule_packs(len(report["packs"]), [f["pack"] for f in report["failing"]])

    rulebook = RuleBook(settings, on_install=on_install, on_report=on_report)
    detector = detector_factory(settings, lambda: rulebook.current)

    def policy_of(rule_id: str) -> AlertPolicy | None:
        spec = rulebook.current.rules.get(rule_id)
        return spec.alert if spec is not None else None

    def route_detections(placed: Sequence[Detection]) -> Routed:
        return route(rulebook.current, placed)

    clusterer = Clusterer.from_settings(settings, policy_of, route_detections)
    stories_caught_up = asyncio.Event()
    fence = _Fence()
    detect_seconds = metrics.processing.labels(stage="detect")
    cluster_seconds = metrics.processing.labels(stage="cluster")
    aggregate_seconds = metrics.processing.labels(stage="aggregate")
    timeout = settings.send_timeout_s

    def raw_topic(name: str) -> Any:
        return app.topic(name, key_type=bytes, value_type=bytes)

    articles = raw_topic(names.articles)
    detections = raw_topic(names.detections)
    alerts = raw_topic(names.alerts)
    dead_letters = raw_topic(names.articles_dlq)
    requests_spec, stories_spec = story_topics(settings)
    story_requests = raw_topic(requests_spec.name)
    stories = raw_topic(stories_spec.name)
    by_series = raw_topic(series_topic(settings).name)
    # One table holds every aggregation state, each kind under keys of its own:
    # a policy's groups as their detection keys, spike counts under "spike|",
    # figure series under "series|". Each table costs a changelog topic and its
    # recovery at every rebalance; one keeps a restarted worker's start short.
    windows = app.Table(
        "aggregate-windows",
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        default=None,
    )

    async def send(topic: Any, key: bytes, value: bytes) -> None:
        # Enqueue with a deadline; delivery is awaited when the offset is committed.
        async with asyncio.timeout(timeout):  # no task per send, unlike wait_for
            await topic.send(key=key, value=value)

    async def dead_letter(event: Any, stage: Stage, reason: str, error: str, origin: str) -> None:
        letter = DeadLetter.wrap(
            event.value,
            stage=stage,
            origin=origin,
            reason=reason,
            error=error,
            key=event.key.decode("utf-8", "replace") if event.key else None,
            max_payload=settings.max_message_bytes // 2,
        )
        metrics.dead_letters.labels(stage=stage, reason=reason).inc()
        try:
            sent: Awaitable[Any] = await asyncio.wait_for(
                dead_letters.send(
                    key=(letter.key or origin).encode(), value=letter.model_dump_json().encode()
                ),
                timeout,
            )
            await asyncio.wait_for(sent, timeout)
        except Exception as exc:
            # Losing a dead letter would drop a record without trace: stop instead,
            # so the record is processed again after the restart.
            log.critical("dead_letter_failed", origin=origin, error=str(exc))
            await app.crash(exc)
            raise
        log.warning("dead_lettered", stage=stage, origin=origin, reason=reason, error=error)

    @app.agent(articles, concurrency=1)
    async def detect(stream: Any) -> None:
        await rulebook.ready.wait()
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            origin = f"{message.topic}/{message.partition}@{message.offset}"
            metrics.articles.inc()
            try:
                record_time = datetime.fromtimestamp(message.timestamp, UTC)
                outcome = detector.detect(event.value, origin=origin, record_time=record_time)
                if outcome.repeat:
                    metrics.repeats.inc()
                for part in outcome.parts:  # the page, then teasers split off here
                    if part.request is not None:
                        await send(
                            story_requests,
                            part.article.id.encode(),
                            part.request.model_dump_json().encode(),
                        )
            except InvalidRecordError as exc:
                await dead_letter(event, "detect", exc.reason, str(exc), origin)
            except Exception as exc:
                await dead_letter(
                    event, "detect", "detect_error", f"{type(exc).__name__}: {exc}", origin
                )
            detect_seconds.observe(time.perf_counter() - started)

    @app.agent(by_series, concurrency=1)
    async def compare(stream: Any) -> None:
        await rulebook.ready.wait()
        async for event in stream.events():
            message = event.message
            origin = f"{message.topic}/{message.partition}@{message.offset}"
            try:
                series = (event.key or b"").decode("utf-8")
                found = Detection.model_validate_json(event.value)
                key = b"series|" + (event.key or b"")
                stored = windows.get(key)
                state = SeriesState.model_validate_json(stored) if stored else SeriesState()
                judged = judge(state, found, rulebook.current.condition(found.rule_id), series)
                if judged.state is not state:
                    windows[key] = judged.state.model_dump_json().encode()
                log.info(
                    "series_judged",
                    series=series,
                    rule_id=found.rule_id,
                    article_id=found.article_id,
                    passed=judged.detection is not None,
                )
                if judged.detection is not None:
                    passed = detection_key(found.rule_id, f"series:{series}")
                    await send(
                        detections, passed.encode(), judged.detection.model_dump_json().encode()
                    )
                    metrics.detections.labels(category=found.category).inc()
            except Exception as exc:
                # Judging a series is the first step of aggregation.
                await dead_letter(
                    event, "aggregate", "compare_error", f"{type(exc).__name__}: {exc}", origin
                )

    def count_group(
        key: bytes, record: Detection | GroupControl, spec: RuleSpec, group: str
    ) -> Folded:
        stored = windows.get(key)
        state = GroupState.model_validate_json(stored) if stored else GroupState()
        if isinstance(record, Detection):
            decision = decide(state, record, spec.alert, group=group)
        else:
            decision = fold_control(state, record, spec.alert, group=group)
        if not decision.replayed:
            windows[key] = decision.state.model_dump_json().encode()
        return decision.alerts, decision.replayed, decision.forward

    def count_spike(
        key: bytes, record: Detection | GroupControl, spec: RuleSpec, group: str
    ) -> Folded:
        if not isinstance(record, Detection):
            # Spikes count by category, entity or rule, never by story: no merge moves them.
            log.info("spike_control_ignored", rule_id=spec.id, group=group, type=record.type)
            return (), False, ()
        found = record
        key = b"spike|" + key
        stored = windows.get(key)
        state = SpikeState.model_validate_json(stored) if stored else SpikeState()
        rule = SpikeRule(
            spec.id,
            rulebook.current.version_of(spec.id),
            spec.title,
            spec.category,
            spec.severity,
            spec.tags,
        )
        decision = decide_spike(state, found, spec.alert, group=group, rule=rule)
        if not decision.replayed:
            windows[key] = decision.state.model_dump_json().encode()
        return decision.alerts, decision.replayed, ()

    async def on_assigned(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned = args[0] if args else kwargs.get("assigned", ())
        if any(tp.topic == requests_spec.name for tp in assigned):
            fence.needed = True

    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]  # faust types receivers as a union an async def does not match

    async def write_fence() -> None:
        """Write a fence to the stories topic and wait until the follower has read it back."""
        token = uuid.uuid4().hex
        fence.expect(token)
        sent = await asyncio.wait_for(
            stories.send(
                key=b"fence",
                value=StoryFence(token=token, at=utcnow()).model_dump_json().encode(),
            ),
            timeout,
        )
        await asyncio.wait_for(sent, timeout)
        await asyncio.wait_for(fence.seen.wait(), 4 * timeout)
        fence.needed = False
        log.info("stories_fenced", open_stories=len(clusterer.index))

    @app.agent(story_requests, concurrency=1)
    async def cluster(stream: Any) -> None:
        await rulebook.ready.wait()
        await stories_caught_up.wait()
        async for event in stream.events():
            if fence.needed:
                # Whatever the previous owner of this partition published is read
                # (and applied) before this worker decides anything.
                try:
                    await write_fence()
                except Exception as exc:
                    log.critical("stories_fence_failed", error=repr(exc))
                    await app.crash(exc)
                    raise
            started = time.perf_counter()
            message = event.message
            origin = f"{message.topic}/{message.partition}@{message.offset}"
            try:
                outcome = clusterer.assign(StoryRequest.model_validate_json(event.value))
                await publish(outcome)
            except Exception as exc:
                await dead_letter(
                    event, "cluster", "cluster_error", f"{type(exc).__name__}: {exc}", origin
                )
            cluster_seconds.observe(time.perf_counter() - started)

    async def publish(outcome: ClusterOutcome) -> None:
        """Send what clustering decided: the decision, the merge controls, the detections."""
        if outcome.assignment is not None:
            decision = outcome.assignment.decision
            # Published before the detections, so no alert names a story that a
            # worker taking over clustering does not know.
            await send(
                stories, decision.story_id.encode(), outcome.assignment.model_dump_json().encode()
            )
            metrics.story_decisions.labels(kind=decision.kind).inc()
            metrics.story_merges.inc(len(decision.merged))
            if decision.merged:
                log.info("stories_merged", into=decision.story_id, absorbed=decision.merged)
        for key, control in outcome.controls:
            await send(detections, key.encode(), control.model_dump_json().encode())
        for key, found in outcome.detections:
            await send(detections, key.encode(), found.model_dump_json().encode())
            metrics.detections.labels(category=found.category).inc()
        for series, found in outcome.series:
            await send(by_series, series.encode(), found.model_dump_json().encode())
        for story_id in outcome.full:
            metrics.stories_full.inc()
            log.warning(
                "story_full",
                story_id=story_id,
                articles=settings.story_max_articles,
                detail="the story absorbs no more articles; later reports open new stories",
            )
        metrics.stories_open.set(len(clusterer.index))

    @app.agent(detections, concurrency=1)
    async def aggregate(stream: Any) -> None:
        await rulebook.ready.wait()
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            origin = f"{message.topic}/{message.partition}@{message.offset}"
            try:
                rule_id, group = split_detection_key((event.key or b"").decode("utf-8"))
                record = DETECTIONS_RECORD.validate_json(event.value)
                spec = rulebook.current.rules.get(rule_id)
                if spec is None:
                    log.info("rule_gone", rule_id=rule_id, key=event.key)
                    continue
                fold = count_spike if spec.alert.policy == "spike" else count_group
                raised, replayed, forward = fold(event.key, record, spec, group)
                for key, onward in forward:
                    await send(detections, key.encode(), onward.model_dump_json().encode())
                for alert in raised:
                    await send(alerts, alert.key.encode(), alert.model_dump_json().encode())
                    metrics.alerts.labels(
                        policy=alert.policy, update=str(alert.is_update).lower()
                    ).inc()
                    log.info(
                        "alert_emitted",
                        alert_key=alert.key,
                        rule_id=rule_id,
                        story_id=alert.story_id,
                        replayed=replayed,
                        partition=message.partition,
                        offset=message.offset,
                    )
            except Exception as exc:
                await dead_letter(
                    event, "aggregate", "aggregate_error", f"{type(exc).__name__}: {exc}", origin
                )
            aggregate_seconds.observe(time.perf_counter() - started)

    @app.task  # type: ignore[untyped-decorator]  # faust's task decorator is untyped
    async def follow_rules() -> None:
        await rulebook.follow()

    @app.task  # type: ignore[untyped-decorator]  # faust's task decorator is untyped
    async def follow_stories() -> None:
        def on_record(record: Any) -> None:
            try:
                story = STORY_RECORD.validate_json(record.value)
            except ValueError as exc:
                log.warning("story_record_invalid", error=str(exc)[:500], offset=record.offset)
                return
            if isinstance(story, StoryFence):
                fence.read(story.token)
            clusterer.observe(story)

        # From the start of what retention kept: applying the records in order
        # (closing stories by record time as they go) rebuilds the state the
        # cluster agent had, whichever worker it ran on.
        await follow_topic(settings, stories_spec.name, on_record, caught_up=stories_caught_up)

    def lag() -> Mapping[tuple[str, int], int]:
        consumer: Any = app.consumer  # faust's Consumer; _read_offset is not on ConsumerT
        found: dict[tuple[str, int], int] = {}
        try:
            assigned = consumer.assignment()
        except Exception:  # the consumer is not started yet (or stopping): no figures
            return found
        for tp in assigned:
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: S112  # not fetched yet: no figure for this partition
                continue
            read = consumer._read_offset.get(tp)  # faust keeps the last offset read per partition
            if highwater is not None:
                found[(tp.topic, tp.partition)] = max(
                    0, highwater - (read + 1 if read is not None else 0)
                )
        return found

    metrics.watch_lag(lag)

    def is_ready() -> bool:
        return rulebook.ready.is_set() and stories_caught_up.is_set() and not app.rebalancing

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        ready = is_ready()
        report = rulebook.report
        body = {
            "ready": ready,
            "rules_version": report["version"],
            "rules": {
                "source": report["source"],
                "packs": {pack["pack"]: pack["version"] for pack in report["packs"]},
                "failing": report["failing"],
                "gazetteer": report["gazetteer"],
            },
            "stories_loaded": stories_caught_up.is_set(),
            "rebalancing": bool(app.rebalancing),
        }
        return web.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        return web.bytes(metrics.render(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    return app


class _Fence:
    """Whether the cluster agent must fence before its next decision, and the fence it waits for."""

    def __init__(self) -> None:
        self.needed = True
        self.seen = asyncio.Event()
        self._token: str | None = None

    def expect(self, token: str) -> None:
        """Wait for ``token`` from now on."""
        self._token = token
        self.seen.clear()

    def read(self, token: str) -> None:
        """The follower read a fence with ``token``."""
        if token == self._token:
            self.seen.set()


def run_worker(settings: Settings, app: faust.App | None = None) -> None:
    """Create the topics if needed, then run a worker until SIGTERM or SIGINT.

    faust does not create an agent's source topic (it logs "Ignoring missing
    topic" and never consumes), so the worker creates every topic first.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(ensure_topics(settings, worker_topics(settings)))
    app = app or create_app(settings)
    worker = faust.Worker(
        app,
        loop=loop,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    log.info(
        "worker_starting",
        app_id=app.conf.id,
        bootstrap=settings.bootstrap_servers,
        web=f"http://{settings.web_host}:{settings.worker_web_port}",
    )
    worker.execute_from_commandline()
