"""Retries with backoff and jitter, 429 waits, the circuit breaker, the retry budget."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from alerts.delivery import Attempt, CircuitBreaker, Deliverer, JsonlTransport, make_transport
from alerts.metrics import NotifierMetrics
from alerts.templates import Rendered
from schemas import ConfigError, Settings

RENDERED = Rendered(title="t", body="b", body_format="text")


class ScriptedTransport:
    """Answers attempts from a script; records when each attempt happened."""

    label = "fake://****"

    def __init__(self, script: list[Attempt], clock: FakeClock) -> None:
        self._script = list(script)
        self._clock = clock
        self.times: list[float] = []

    async def send(self, rendered: Rendered, receiver: str, keys: Sequence[str]) -> Attempt:
        self.times.append(self._clock.now)
        return self._script.pop(0) if self._script else Attempt(ok=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "notify_backoff_s": 1.0,
        "notify_backoff_max_s": 8.0,
        "notify_max_attempts": 6,
        "notify_retry_budget_s": 600.0,
        "notify_rate_limited_wait_s": 30.0,
        "circuit_failures": 100,
        "circuit_reset_s": 60.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def deliverer(s: Settings, transport: ScriptedTransport, clock: FakeClock) -> Deliverer:
    return Deliverer(
        s,
        {"desk": [transport]},
        NotifierMetrics(),
        clock=clock,
        sleep=clock.sleep,
        jitter=lambda: 0.5,
    )


FAIL = Attempt(ok=False, detail="error=500")


async def test_exponential_backoff() -> None:
    """Failed attempts are retried after 1, 2, 4, 8, 8 s (capped), then succeed."""
    clock = FakeClock()
    transport = ScriptedTransport([FAIL] * 5, clock)
    outcome = await deliverer(settings(), transport, clock).deliver("desk", RENDERED, ["k"])
    assert outcome.ok
    assert outcome.attempts == 6
    assert transport.times == [0, 1, 3, 7, 15, 23]


async def test_rate_limited_waits_longer() -> None:
    """A 429 waits the configured floor, or the receiver's Retry-After (even a short one)."""
    clock = FakeClock()
    transport = ScriptedTransport(
        [Attempt(ok=False, rate_limited=True), Attempt(ok=False, rate_limited=True, retry_after=5)],
        clock,
    )
    await deliverer(settings(), transport, clock).deliver("desk", RENDERED, ["k"])
    assert transport.times == [0, 30, 35]


async def test_retry_after_is_a_floor_on_any_failure() -> None:
    """A Retry-After (a 503's, say) delays the retry past the backoff; a shorter one does not
    shorten the backoff."""
    clock = FakeClock()
    transport = ScriptedTransport(
        [Attempt(ok=False, retry_after=12.5), Attempt(ok=False, retry_after=0.0)], clock
    )
    await deliverer(settings(), transport, clock).deliver("desk", RENDERED, ["k"])
    assert transport.times == [0, 12.5, 14.5]


async def test_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    """A Retry-After past the retry budget ends the delivery now, saying why, rather than
    retrying sooner than the receiver asked."""
    clock = FakeClock()
    transport = ScriptedTransport([Attempt(ok=False, rate_limited=True, retry_after=3600)], clock)
    outcome = await deliverer(settings(), transport, clock).deliver("desk", RENDERED, ["k"])
    assert not outcome.ok
    assert transport.times == [0]
    assert "retry after 3600 s, beyond the retry budget of 600 s" in outcome.detail


async def test_attempts_exhausted() -> None:
    """After notify_max_attempts failures the outcome is a failure with the last reason."""
    clock = FakeClock()
    transport = ScriptedTransport([FAIL] * 10, clock)
    outcome = await deliverer(settings(notify_max_attempts=3), transport, clock).deliver(
        "desk", RENDERED, ["k"]
    )
    assert not outcome.ok
    assert outcome.attempts == 3
    assert "error=500" in outcome.detail


async def test_budget_exhausted() -> None:
    """No retry is scheduled past the retry budget."""
    clock = FakeClock()
    transport = ScriptedTransport([FAIL] * 10, clock)
    outcome = await deliverer(settings(notify_retry_budget_s=5), transport, clock).deliver(
        "desk", RENDERED, ["k"]
    )
    assert not outcome.ok
    assert transport.times == [0, 1, 3]


async def test_circuit_opens_and_half_opens() -> None:
    """After circuit_failures failures, attempts wait for circuit_reset_s, then one trial goes."""
    clock = FakeClock()
    transport = ScriptedTransport([FAIL] * 2, clock)
    d = deliverer(settings(circuit_failures=2, circuit_reset_s=60), transport, clock)
    outcome = await d.deliver("desk", RENDERED, ["k"])
    assert outcome.ok
    assert transport.times == [0, 1, 61]
    assert not d.breaker("desk").is_open


def test_breaker_states() -> None:
    """The breaker opens at the threshold, reports its wait, and closes on success."""
    breaker = CircuitBreaker(threshold=2, reset_s=10)
    breaker.failure(0)
    assert not breaker.is_open
    breaker.failure(1)
    assert breaker.is_open
    assert breaker.wait_s(5) == 6
    assert breaker.wait_s(20) == 0
    breaker.success()
    assert not breaker.is_open


@pytest.mark.parametrize("url", ["notascheme://x", "jsonl://relative/path.jsonl"])
def test_bad_urls(url: str) -> None:
    """An unusable receiver URL is a ConfigError that does not repeat the URL."""
    with pytest.raises(ConfigError) as info:
        make_transport(url, 1.0, ThreadPoolExecutor(1))
    assert "notascheme" not in str(info.value)


async def test_jsonl_transport(tmp_path: object) -> None:
    """The file receiver appends one JSON line per notification with keys, receiver, title, body."""
    import json
    from pathlib import Path

    path = Path(str(tmp_path)) / "out.jsonl"
    transport = JsonlTransport(f"jsonl://{path}")
    assert (await transport.send(RENDERED, "desk", ["k1", "k2"])).ok
    assert (await transport.send(RENDERED, "desk", ["k3"])).ok
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["alert_keys"] for line in lines] == [["k1", "k2"], ["k3"]]
    assert lines[0]["receiver"] == "desk"
    assert lines[0]["title"] == "t"
    assert lines[0]["body"] == "b"


@pytest.mark.parametrize(
    "url",
    ["mailto://user:pass@127.0.0.1:2525?from=ww@example.org", "slack://T1JJ3T3L2/A1BRTD4JD/TIi"],
)
def test_apprise_does_not_pace_sends_inside_a_pool_thread(url: str) -> None:
    """apprise's own pause between sends (5.5 s for email) is off: it held a thread per send."""
    transport = make_transport(url, 1.0, ThreadPoolExecutor(1))
    servers = list(transport._apprise)  # type: ignore[attr-defined]
    assert servers
    assert all(server.request_rate_per_sec == 0 for server in servers)
