"""Soak and chaos harness: run the real pipeline under faults and count what was lost or repeated.

For each chosen scenario: fresh topics on the local broker (started if it is
not running, and stopped again at the end if this run started it), two
``wirewatch worker`` processes, a ``wirewatch notifier``, and a webhook and an
SMTP server on loopback that record every alert they get. A fixed corpus of
generated articles is produced at a steady rate while the scenario injects its
faults; the expected alerts are computed offline by the engine (the oracle).
When the pipeline has drained, a checker reads the topics and the receivers.

Scenarios (issue 8):
  1 baseline        no faults
  2 worker-kill     SIGKILL one of two workers every 10 s, restart it 2 s later
  3 notifier-kill   SIGKILL the notifier 20 times
  4 broker-down     stop the broker for 30 s three times (SIGTERM, then SIGKILL)
  5 worker-pause    SIGSTOP a worker past the session timeout, then SIGCONT; twice
  6 worker-churn    add and remove a third worker every 15 s
  7 webhook-faults  the webhook fails (500), rate-limits (429) and hangs, 20 s each
  8 poison          1% poison records mixed in

A scenario passes when no article and no expected alert was lost, no
notification was repeated outside the one window the alerting design allows
(a notifier killed between a send and its ledger record; those are counted),
and lag was back to 0 with every alert delivered within 60 s of the last
fault. Prints progress while it runs and a table at the end; writes
benchmarks/results/chaos.json; exits 1 when any scenario fails.

  python benchmarks/chaos.py --scenarios 1,2,3,8 --articles 2000   # the CI short form
  python benchmarks/chaos.py --articles 20000                      # the full form
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The harness lives in tests/chaos, beside the helpers it shares with the tests.
sys.path.insert(0, str(ROOT))

from schemas import Settings  # noqa: E402
from tests.chaos.harness import Options, Result, run_scenario  # noqa: E402
from tests.chaos.report import document, failures, table  # noqa: E402
from tests.chaos.scenarios import SCENARIOS  # noqa: E402
from wirewatch.broker import LocalBroker  # noqa: E402

RESULTS = HERE / "results" / "chaos.json"


def _scenarios(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write numbers separated by commas") from None
    unknown = sorted(set(numbers) - set(SCENARIOS))
    if unknown or not numbers:
        raise argparse.ArgumentTypeError(f"scenarios are 1 to {len(SCENARIOS)}, not {unknown}")
    return numbers


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenarios",
        type=_scenarios,
        default=list(SCENARIOS),
        help="comma-separated scenario numbers (default: all eight)",
    )
    parser.add_argument(
        "--articles", type=int, default=2000, help="records in the corpus (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=8, help="corpus seed (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="stream workers (default 2)")
    parser.add_argument(
        "--json", type=Path, default=RESULTS, help=f"where to write the results ({RESULTS.name})"
    )
    parser.add_argument(
        "--logs",
        type=Path,
        default=None,
        help="directory for the processes' logs (default benchmarks/results/chaos-logs/<time>)",
    )
    parser.add_argument(
        "--keep-topics",
        action="store_true",
        help="leave the topics of passing scenarios too (a failing one always keeps its own)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen scenarios; 0 when every one passes, 1 when one fails, 2 on misuse."""
    args = parse(argv)
    settings = Settings()
    broker = LocalBroker(settings) if settings.uses_local_broker else None
    if broker is None and any(SCENARIOS[n].needs_local_broker for n in args.scenarios):
        print(
            "scenario 4 stops and starts the broker, so it needs the local one: "
            "unset WIREWATCH_KAFKA_BOOTSTRAP, or leave scenario 4 out",
            file=sys.stderr,
        )
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = args.logs or HERE / "results" / "chaos-logs" / stamp
    options = Options(
        articles=args.articles,
        base=settings,
        work_dir=logs,
        seed=args.seed,
        workers=args.workers,
        broker=broker,
        say=lambda line: print(line, file=sys.stderr, flush=True),
        keep_topics=args.keep_topics,
    )
    started_here = broker is not None and broker.pid() is None
    began = time.monotonic()
    results: list[Result] = []
    try:
        if broker is not None:
            seconds = broker.start()
            print(f"broker ready on {broker.bootstrap} ({seconds:.1f} s)", file=sys.stderr)
        for number in args.scenarios:
            results.append(asyncio.run(run_scenario(SCENARIOS[number], options)))
    finally:
        if started_here and broker is not None:
            broker.stop()
    command = shlex.join(["python", "benchmarks/chaos.py", *(argv or sys.argv[1:])])
    report = document(results, command, args.articles, time.monotonic() - began)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(table(results))
    if not report["passed"]:
        print(failures(results))
    print(f"{len(results)} scenarios in {report['seconds']:.0f} s; wrote {args.json}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
