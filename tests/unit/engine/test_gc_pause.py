"""The collector is kept off a rule set being built, and a long-lived one is frozen after."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from streams.rules import load_packs
from streams.rules.gc_pause import LONG_LIVED_RULES, gc_paused


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


def test_the_block_can_decide_to_freeze() -> None:
    """A block that learns it built something long-lived (a large load) freezes it."""
    before = gc.get_freeze_count()
    with gc_paused(freeze=False) as pause:
        built = [[n] for n in range(1_000)]
        pause.freeze = True
    assert gc.get_freeze_count() >= before + len(built)


def test_a_large_load_is_frozen_a_small_one_is_not(tmp_path: Path) -> None:
    """The packs of a load of LONG_LIVED_RULES rules live as long as their rule set: frozen."""
    rule = "  - {{id: r{n}, title: R, category: test, severity: low, query: drone}}\n"
    small, large = tmp_path / "small", tmp_path / "large"
    for directory, count in ((small, 10), (large, LONG_LIVED_RULES)):
        directory.mkdir()
        text = "rules:\n" + "".join(rule.format(n=n) for n in range(count))
        (directory / "pack.yaml").write_text(text)
    large_packs = load_packs(large)
    small_packs = load_packs(small)
    # the collector's generations; a frozen object is in none of them
    collectable = {id(thing) for thing in gc.get_objects()}
    assert id(large_packs[0].rules[0]) not in collectable
    assert id(small_packs[0].rules[0]) in collectable
