"""The collector is kept off a rule set being built, and a long-lived one is frozen after."""

from __future__ import annotations

import gc

import pytest

from streams.rules.gc_pause import gc_paused


def test_a_successful_build_is_frozen_when_asked() -> None:
    """Inside, the collector is off; after, what was built is out of its sight and it is on again."""
    before = gc.get_freeze_count()
    with gc_paused(freeze=True):
        assert not gc.isenabled()
        built = [[n] for n in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(built)


def test_a_failed_or_short_lived_build_is_not_frozen() -> None:
    """An exception (its traceback is a cycle) or freeze=False leaves everything collectable."""
    before = gc.get_freeze_count()
    with pytest.raises(ValueError, match="bad pack"), gc_paused(freeze=True):
        raise ValueError("bad pack")
    with gc_paused(freeze=False):
        _ = [[n] for n in range(1_000)]
    assert gc.isenabled()
    # not ==: a frozen object can still be freed meanwhile (pytest.raises's pattern evicts
    # one from a full re cache), while a freeze would add every object alive
    assert gc.get_freeze_count() <= before


def test_a_collector_already_off_stays_off() -> None:
    """The block leaves the collector as it found it."""
    gc.disable()
    try:
        with gc_paused(freeze=False):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
