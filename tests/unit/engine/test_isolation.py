"""The engine is pure: importing it pulls in no Kafka or stream-processing library."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_engine_imports_no_kafka_client() -> None:
    """`import streams.rules` (and its submodules) leaves faust and aiokafka unimported."""
    code = (
        "import sys\n"
        "import streams.rules, streams.rules.examples, streams.rules.backtest\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'faust', 'aiokafka', 'mode'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
