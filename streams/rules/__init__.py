"""The detection engine: turns an ``Article`` into ``Detection``s.

Pure Python: importing this package must not import faust or aiokafka.

- :func:`load_packs` / :func:`load_pack_text` read rule packs from YAML within
  :class:`SizeLimits`; :func:`check_sizes` holds packs from the rules topic to them;
- :meth:`RuleSet.compile` compiles them, :meth:`RuleSet.evaluate` matches an article;
- :func:`ruleset_version` is the packs' content hash;
- :func:`load_gazetteer` reads the entities rules can require and detections carry.
"""

from streams.rules.entities import Gazetteer, load_gazetteer
from streams.rules.loader import (
    LoadedPacks,
    RulePackError,
    SizeLimits,
    check_sizes,
    load_pack_text,
    load_packs,
    rule_version,
    ruleset_version,
)
from streams.rules.query import QuerySyntaxError, parse_query
from streams.rules.ruleset import RuleSet

__all__ = [
    "Gazetteer",
    "LoadedPacks",
    "QuerySyntaxError",
    "RulePackError",
    "RuleSet",
    "SizeLimits",
    "check_sizes",
    "load_gazetteer",
    "load_pack_text",
    "load_packs",
    "parse_query",
    "rule_version",
    "ruleset_version",
]
