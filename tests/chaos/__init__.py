"""The soak-and-chaos harness: real processes, injected faults, and a checker.

Run it with ``python benchmarks/chaos.py`` (``--help`` explains); the short
form runs in CI as ``tests/integration/chaos``. Modules:

- :mod:`~tests.chaos.corpus`: the generated corpus, its rules, and the oracle;
- :mod:`~tests.chaos.receivers`: what the webhook and SMTP receivers got, as alert pairs;
- :mod:`~tests.chaos.supervise`: children kept running, and the faults done to them;
- :mod:`~tests.chaos.scenarios`: the eight fault schedules;
- :mod:`~tests.chaos.checker`: observations and the pass criteria;
- :mod:`~tests.chaos.harness`: one scenario from start to verdict.
"""
