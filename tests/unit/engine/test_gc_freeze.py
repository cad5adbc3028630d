"""The collector is kept off a rule set being built, and off what a successful build left."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.rules.gc_freeze import frozen_for_gc


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    """Each test starts and ends with nothing frozen and the collector on."""
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def test_a_successful_build_is_frozen() -> None:
    """Inside, the collector is off; after, what was built is out of its sight and it is on again."""
    with frozen_for_gc():
        assert not gc.isenabled()
        built = [[n] for n in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)


def test_a_failed_build_is_not_frozen() -> None:
    """An exception (its traceback is a cycle) leaves everything collectable."""
    with pytest.raises(ValueError, match="bad pack"), frozen_for_gc():
        raise ValueError("bad pack")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_already_off_stays_off() -> None:
    """The block leaves the collector as it found it."""
    gc.disable()
    with frozen_for_gc():
        pass
    assert not gc.isenabled()
