"""Helpers shared by the integration tests and the chaos harness (``tests/chaos``).

Loopback servers that record what the notifier delivers, and subprocesses of
Wirewatch's own commands. Nothing here is a fixture: the conftest files wrap
these in fixtures, and the harness, which runs outside pytest, uses them directly.
"""
