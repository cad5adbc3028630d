"""Regular expressions a person supplies (silence matchers), compiled with RE2.

Python's ``re`` backtracks: ``(a+)+`` against 24 characters takes most of a
second and doubles with each one more, so anyone who may write a pattern could
stall the process that evaluates it. RE2 matches in time linear in the text
and refuses what it cannot do that way (back-references, look-around), so a
pattern is either refused when it is written or safe to run on anything.
"""

from __future__ import annotations

import functools
from typing import Final

import re2

MAX_PATTERN_CHARS: Final = 1_000
"""The longest pattern accepted: longer ones are refused, not compiled."""


def re2_options() -> re2.Options:
    """RE2 options for Wirewatch's patterns: a refused pattern is an exception, not a log line."""
    options = re2.Options()
    options.log_errors = False
    return options


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re2._Regexp:
    """Compile ``pattern`` with RE2; compiled patterns are cached, as every alert tests them.

    Raises:
        ValueError: the pattern is longer than :data:`MAX_PATTERN_CHARS`, or RE2
            refuses it; the message says why.
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(
            f"the regular expression is {len(pattern):,} characters long; "
            f"at most {MAX_PATTERN_CHARS:,} are accepted"
        )
    try:
        return re2.compile(pattern, re2_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"{pattern!r} is not a regular expression RE2 accepts ({reason}); RE2 runs in "
            "linear time, so it has no back-references or look-around"
        ) from None
