"""Keeping Python's cyclic garbage collector off a rule set: while it is built, and after.

Loading and compiling 10,000 rules allocates a few hundred thousand small
objects that live as long as the rule set. The collector would walk them
again and again: at each allocation threshold crossed during the build (the
older generations' collections walk everything allocated so far), in the
first collections after it, and in every full collection for as long as the
set lives. None of it finds garbage: a rule set forms no reference cycles,
and reference counting frees it when it is replaced. So the collector is
disabled while rules are loaded and compiled and, when a large rule set has
been loaded or compiled, every object then alive is frozen (:func:`gc.freeze`:
kept out of all future collections). Loading and compiling 10,000 rules took
1.8 s of CPU with the collector on and 0.8 to 0.9 s this way (counting the
collections that follow). The packs a load returns live as long as the rule
set compiled from them (it keeps their rules), so a large load is frozen too:
the collection that followed it walked all of them, 0.04 s at 10,000 rules.

Freezing is for a rule set that lives long: it also freezes the cycles that
were garbage at that moment (the collector ran shortly before, so they are
few), and a thread that runs meanwhile (a worker's event loop while the next
rule set compiles) goes without cyclic collection for that time. A failed
build does not freeze: the traceback of its exception is a cycle the
collector must still free.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

LONG_LIVED_RULES: Final = 1_000
"""Rules from which a rule set is taken to live long (a worker's, a scan's) and what builds
it is frozen; a small one (the dashboard's playground) is built per request."""


@dataclass(slots=True)
class Pause:
    """What :func:`gc_paused` yields: the block may still decide whether to freeze."""

    freeze: bool


@contextmanager
def gc_paused(*, freeze: bool) -> Iterator[Pause]:
    """Disable the cyclic collector for the block; if ``freeze``, freeze what exists after it.

    Only a block that succeeds freezes; it can set the yielded
    :class:`Pause`'s ``freeze`` when it knows more (how many rules it loaded).
    Without freezing, the first collection after the block still walks what
    it built, once: right for what does not live long.
    """
    enabled = gc.isenabled()
    gc.disable()
    pause = Pause(freeze)
    try:
        yield pause
        if pause.freeze:
            gc.freeze()
    finally:
        if enabled:
            gc.enable()
