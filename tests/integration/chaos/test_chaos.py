"""The chaos harness in CI: the short form (scenarios 1, 2, 3 and 8 on 2,000 records), and proof
that it catches a broken build.

The full form (every scenario, 20,000 records or more) runs on demand:
``python benchmarks/chaos.py --articles 20000`` (see the README's "Fault tests").
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from schemas import Settings
from tests.chaos.harness import Options, run_scenario
from tests.chaos.report import failures
from tests.chaos.scenarios import SCENARIOS

SHORT_FORM = (1, 2, 3, 8)
ARTICLES = 2_000
BROKEN_WORKER = ("-m", "tests.chaos.broken_worker")


@pytest.fixture
def options(kafka_bootstrap: str, tmp_path: Path) -> Options:
    """Harness options on the session's broker, logs under the test's directory."""
    return Options(
        articles=ARTICLES,
        base=Settings(_env_file=None, kafka_bootstrap=kafka_bootstrap),  # type: ignore[call-arg]
        work_dir=tmp_path,
        say=print,
    )


@pytest.mark.slow
@pytest.mark.parametrize("number", SHORT_FORM, ids=[SCENARIOS[n].name for n in SHORT_FORM])
async def test_short_form_scenario_keeps_every_promise(number: int, options: Options) -> None:
    """No article or alert lost, no duplicate outside the send/ledger window, recovered in 60 s."""
    result = await run_scenario(SCENARIOS[number], options)
    assert result.verdict.passed, f"{failures([result])}\nlogs: {result.logs}"
    assert result.verdict.alerts_expected > 0
    assert result.verdict.produced == ARTICLES


@pytest.mark.slow
async def test_harness_fails_a_worker_that_acknowledges_before_processing(options: Options) -> None:
    """Workers that queue their work and acknowledge at once lose articles to SIGKILLs, and the
    checker says so.

    The same scenario with the real worker is the ``worker-kill`` case above, which passes.
    """
    broken = dataclasses.replace(options, worker_argv=BROKEN_WORKER)
    result = await run_scenario(SCENARIOS[2], broken)
    verdict = result.verdict
    assert not verdict.passed
    assert verdict.articles_lost > 0
    assert any(failure.endswith("articles lost") for failure in verdict.failures)
