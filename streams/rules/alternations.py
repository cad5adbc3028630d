"""Alternations of words, factored by their leading characters for Python ``re``.

Python's ``re`` tries the alternatives of ``a|b|c`` one after the other at
each offset where it gets to the alternation, however many of them cannot
start with the character there. The extractors' context checks are
alternations of a hundred words or more (direction words, policy words, other
subjects), tried after every non-letter of a window: most of their time went
to rejecting alternatives one by one. :func:`factored` writes the same
alternation as a trie of its leading characters (``rose|rise|rises`` becomes
``r(?:ose|is(?:e|es))``), so one failed character rejects a whole branch.

The result matches exactly what the alternation matches, with the same
groups: the alternatives keep their order, and an alternative moves ahead
only past alternatives that start with a different mandatory character (they
cannot match where it does). An alternative without a mandatory first
character (empty, or starting with a class, a group, an optional or repeated
character) is a barrier nothing after it moves past.
"""

from __future__ import annotations

_SPECIAL = frozenset("[](){}.*+?^$|")
_QUANTIFIERS = frozenset("?*+{")


def alternatives(alternation: str) -> list[str]:
    """The top-level alternatives of a regular expression (``a|(?:b|c)|d`` -> three)."""
    found: list[str] = []
    depth, start, index = 0, 0, 0
    while index < len(alternation):
        char = alternation[index]
        if char == "\\":
            index += 1  # the escaped character is not syntax
        elif char == "[":  # a class: nothing inside is syntax; a leading ] is a member
            index += 2 if alternation[index + 1] == "^" else 1
            if alternation[index] == "]":
                index += 1
            while alternation[index] != "]":
                index += 2 if alternation[index] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            found.append(alternation[start:index])
            start = index + 1
        index += 1
    found.append(alternation[start:])
    return found


def _head(alternative: str) -> tuple[str, str] | None:
    """The mandatory first character of an alternative (as written) and the rest, or None."""
    if alternative.startswith("\\"):
        head = alternative[:2]
        if len(head) < 2 or head[1].isalnum():  # \d, \s, \w...: a class, not a character
            return None
    elif not alternative or alternative[0] in _SPECIAL:
        return None
    else:
        head = alternative[0]
    rest = alternative[len(head) :]
    if rest[:1] in _QUANTIFIERS:  # the character is optional or repeated
        return None
    return head, rest


def factored(alternation: str) -> str:
    """``alternation`` as a trie of leading characters, matching exactly the same (see the module docs)."""
    groups: list[tuple[str | None, list[str]]] = []
    open_groups: dict[str, list[str]] = {}  # groups that later alternatives may still join
    for alternative in alternatives(alternation):
        split = _head(alternative)
        if split is None:
            groups.append((None, [alternative]))
            open_groups.clear()
            continue
        head, rest = split
        rests = open_groups.get(head)
        if rests is None:
            rests = open_groups[head] = []
            groups.append((head, rests))
        rests.append(rest)
    parts = []
    for first, rests in groups:
        if first is None or len(rests) == 1:
            parts.append((first or "") + rests[0])
            continue
        inner = factored("|".join(rests))
        parts.append(first + (inner if len(alternatives(inner)) == 1 else f"(?:{inner})"))
    return "|".join(parts)
