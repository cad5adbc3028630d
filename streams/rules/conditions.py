"""The ``where:`` language: small, safe conditions over extracted figures.

A hand-written tokenizer and recursive-descent parser; nothing is ever
evaluated by Python. Grammar (lowest precedence first)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [ ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") sum
                      | "is" ["not"] "null"
                      | ["not"] "in" "(" literal ("," literal)* ")" ]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := number | string | "null" | variable | function "(" sum ("," sum)* ")"
                | "previous" "(" level ")" | "change_pct_since" "(" level "," duration ")"
                | "(" condition ")"
    level      := "price" | "spread"
    duration   := number ("s" | "m" | "h" | "d" | "w")       (24h, 90m, 7d)

Keywords are case-insensitive; strings use single or double quotes.

Semantics. The figures of an article are grouped by the commodity they are
bound to (figures bound to no commodity form one group of their own). Each
group gives one record per combination of its figures: ``price``,
``spread``, ``change_pct`` and ``extreme`` take the value of one price, one
spread, one percent move and one extreme of that commodity (null when it has
none). The condition is true when *any* record satisfies it. So
``commodity is not null and abs(change_pct) >= 2`` means "some commodity moved
by 2% or more".

Variables: ``price``, ``spread``, ``change_pct`` (signed: negative for falls)
are numbers; ``extreme`` ("one-year high"), ``currency`` ("USD"), ``unit``
("bbl"), ``commodity`` and ``benchmark`` (entity ids: ``commodity:urals``),
``direction`` ("up"/"down") are strings. ``currency`` and ``unit`` come from
the price, else the spread; ``direction`` from the percent move, else the
extreme; ``benchmark`` from the spread. Compared with a string, ``commodity``
and ``benchmark`` accept the short form too: ``commodity in ("urals", "brent")``.

Nulls: arithmetic and ``abs`` on null give null; ``min``/``max`` ignore
nulls; a comparison with a null is false (so is ``not`` of it true). String
comparisons ignore case. Functions: ``abs(x)``, ``min(x, y, ...)``,
``max(x, y, ...)``.

History. A figure of kind price or spread bound to a commodity belongs to a
*series*: that commodity's price (or its spread to that benchmark) in that
currency and unit (:attr:`~schemas.detections.ExtractedValue.series`).
``previous(spread)`` is the value last reported in the series before this
article; ``change_pct_since(price, 24h)`` is the percent change of the price
from the last value reported at least 24 hours earlier (null when there is
none, or it was 0). Both need the series' history, which only the stream
workers hold (:mod:`streams.series`): there the condition is evaluated with a
:class:`History`. Without one (the detect stage, ``rules test``, the
playground) a history function is *unknown*, and so is whatever depends on
it (three-valued logic: ``false and unknown`` is false, ``true or unknown``
is true); :meth:`Condition.matches` then counts "maybe" as a match. A
condition may follow one kind of level (price or spread), at most 7 days back.

Mistakes (an unknown variable, a missing parenthesis, comparing a string with
a number, ``previous(extreme)``) are :class:`~schemas.errors.ConfigError`
naming the column, with a caret under it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Literal, Protocol

from schemas.detections import ExtractedValue
from schemas.errors import ConfigError
from schemas.rules import parse_duration

Scalar = float | str | None
Type = Literal["number", "string", "null", "bool"]
Record = dict[str, Scalar]

VARIABLES: dict[str, Type] = {
    "price": "number",
    "spread": "number",
    "change_pct": "number",
    "extreme": "string",
    "currency": "string",
    "unit": "string",
    "commodity": "string",
    "benchmark": "string",
    "direction": "string",
}
_ENTITY_VARIABLES = frozenset({"commodity", "benchmark"})
LEVELS: Final = ("price", "spread")
"""The figures with a history: levels reported over time (a percent move is not one)."""
HISTORY_FUNCTIONS: Final = ("previous", "change_pct_since")
MAX_HISTORY_S: Final = 7 * 86400.0
"""How far back ``change_pct_since`` may look: what the workers keep of a series."""
_KEYWORDS = frozenset({"and", "or", "not", "is", "null", "in"})
_MAX_LENGTH = 2_000
# A record per combination of a commodity's figures; a pathological article
# with dozens of figures for one commodity is capped, not exploded.
_MAX_RECORDS = 256


class _Unknown:
    """The value of a history function where no history is known, and of what depends on it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
Value = Scalar | bool | _Unknown


class History(Protocol):
    """A figure series' past, as of the article being judged (see :mod:`streams.series`)."""

    def previous(self, series: str) -> float | None:
        """The value last reported in ``series`` before this article; None if none."""

    def since(self, series: str, seconds: float) -> float | None:
        """The value last reported in ``series`` at least ``seconds`` before this article."""


class _Kind(Enum):
    NUMBER = "number"
    DURATION = "duration"
    STRING = "string"
    NAME = "name"
    OP = "operator"
    END = "end of condition"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    position: int


_OPERATORS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">", "(", ")", ",", "+", "-", "*", "/")


def _tokenize(text: str, origin: str) -> list[_Token]:
    """Split a condition into tokens; raise on a character that starts none."""
    tokens: list[_Token] = []
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char.isspace():
            i += 1
        elif char.isdigit() or (char == "." and i + 1 < size and text[i + 1].isdigit()):
            j = i
            while j < size and text[j].isdigit():
                j += 1
            if j < size and text[j] == ".":
                j += 1
                while j < size and text[j].isdigit():
                    j += 1
            if j < size and text[j] in "smhdw" and not _continues_name(text, j + 1):
                tokens.append(_Token(_Kind.DURATION, text[i : j + 1], i))
                i = j + 1
                continue
            if j < size and (text[j].isalpha() or text[j] == "_"):
                raise _error(text, j, "a number must not run into a name", origin)
            tokens.append(_Token(_Kind.NUMBER, text[i:j], i))
            i = j
        elif char.isalpha() or char == "_":
            j = i
            while j < size and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(_Token(_Kind.NAME, text[i:j], i))
            i = j
        elif char in "'\"":
            j = text.find(char, i + 1)
            if j < 0:
                raise _error(text, i, "this string is not closed", origin)
            tokens.append(_Token(_Kind.STRING, text[i + 1 : j], i))
            i = j + 1
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
            if operator is None:
                raise _error(text, i, f"unexpected character {char!r}", origin)
            tokens.append(_Token(_Kind.OP, operator, i))
            i += len(operator)
    tokens.append(_Token(_Kind.END, "", size))
    return tokens


def _continues_name(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isalnum() or text[index] == "_")


def _error(text: str, position: int, message: str, origin: str) -> ConfigError:
    """A ConfigError pointing at ``position`` of ``text`` with a caret line."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    line_number = text.count("\n", 0, position) + 1
    column = position - line_start + 1
    where = f"{origin}: " if origin else ""
    at = f"line {line_number}, column {column}" if "\n" in text.strip() else f"column {column}"
    return ConfigError(
        f"{where}where condition, {at}: {message}\n    {line}\n    {' ' * (column - 1)}^"
    )


# Expression nodes. Each knows its static type and evaluates on one record;
# ``history`` is None where no series history is known (values are UNKNOWN).


class _Node:
    type: Type

    def evaluate(self, record: Record, history: History | None) -> Value:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Literal(_Node):
    value: Scalar
    type: Type

    def evaluate(self, record: Record, history: History | None) -> Value:
        return self.value


@dataclass(frozen=True, slots=True)
class _Variable(_Node):
    name: str
    type: Type

    def evaluate(self, record: Record, history: History | None) -> Value:
        return record.get(self.name)


@dataclass(frozen=True, slots=True)
class _HistoryCall(_Node):
    """``previous(level)`` or ``change_pct_since(level, duration)`` of the record's figure."""

    function: str
    level: str
    seconds: float = 0.0
    type: Type = "number"

    def evaluate(self, record: Record, history: History | None) -> Value:
        series = record.get(f"{self.level}@series")
        current = _number(record.get(self.level))
        if not isinstance(series, str) or current is None:
            return None  # no figure of the level here: no series to look back on
        if history is None:
            return UNKNOWN
        if self.function == "previous":
            return history.previous(series)
        then = history.since(series, self.seconds)
        return None if not then else (current - then) / abs(then) * 100


@dataclass(frozen=True, slots=True)
class _Negate(_Node):
    operand: _Node
    type: Type = "number"

    def evaluate(self, record: Record, history: History | None) -> Value:
        found = self.operand.evaluate(record, history)
        if found is UNKNOWN:
            return UNKNOWN
        value = _number(found)
        return None if value is None else -value


_ARITHMETIC: dict[str, Callable[[float, float], float | None]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else None,
}


@dataclass(frozen=True, slots=True)
class _Arithmetic(_Node):
    operator: str
    left: _Node
    right: _Node
    type: Type = "number"

    def evaluate(self, record: Record, history: History | None) -> Value:
        left_value = self.left.evaluate(record, history)
        right_value = self.right.evaluate(record, history)
        if left_value is None or right_value is None:
            return None  # null whatever the other side, known or not
        if left_value is UNKNOWN or right_value is UNKNOWN:
            return UNKNOWN
        left, right = _number(left_value), _number(right_value)
        if left is None or right is None:
            return None
        return _ARITHMETIC[self.operator](left, right)


@dataclass(frozen=True, slots=True)
class _Call(_Node):
    function: str
    arguments: tuple[_Node, ...]
    type: Type = "number"

    def evaluate(self, record: Record, history: History | None) -> Value:
        found = [argument.evaluate(record, history) for argument in self.arguments]
        if self.function == "abs" and found[0] is None:
            return None
        if any(value is UNKNOWN for value in found):
            return UNKNOWN  # min and max ignore nulls, but not what may be a number
        values = [number for value in found if (number := _number(value)) is not None]
        if self.function == "abs":
            return abs(values[0]) if values else None
        if not values:
            return None
        return min(values) if self.function == "min" else max(values)


_COMPARE: dict[str, Callable[[float | str, float | str], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,  # type: ignore[operator]  # operands share a type, checked at parse
    "<=": lambda a, b: a <= b,  # type: ignore[operator]  # idem
    ">": lambda a, b: a > b,  # type: ignore[operator]  # idem
    ">=": lambda a, b: a >= b,  # type: ignore[operator]  # idem
}


def _number(value: Value) -> float | None:
    """The value as a number, or None (null, a string, a truth value or unknown)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _comparable(value: Value) -> float | str | None:
    if isinstance(value, str):
        return value.casefold()
    return _number(value)


@dataclass(frozen=True, slots=True)
class _Compare(_Node):
    operator: str
    left: _Node
    right: _Node
    type: Type = "bool"

    def evaluate(self, record: Record, history: History | None) -> Value:
        left_value = self.left.evaluate(record, history)
        right_value = self.right.evaluate(record, history)
        if left_value is None or right_value is None:
            return False  # a comparison with null is false, known or not
        if left_value is UNKNOWN or right_value is UNKNOWN:
            return UNKNOWN
        left, right = _comparable(left_value), _comparable(right_value)
        if left is None or right is None:
            return False
        return _COMPARE[self.operator](left, right)


@dataclass(frozen=True, slots=True)
class _IsNull(_Node):
    operand: _Node
    negated: bool
    type: Type = "bool"

    def evaluate(self, record: Record, history: History | None) -> Value:
        value = self.operand.evaluate(record, history)
        if value is UNKNOWN:
            return UNKNOWN
        return (value is None) != self.negated


@dataclass(frozen=True, slots=True)
class _In(_Node):
    operand: _Node
    choices: frozenset[float | str]
    negated: bool
    type: Type = "bool"

    def evaluate(self, record: Record, history: History | None) -> Value:
        found = self.operand.evaluate(record, history)
        if found is UNKNOWN:
            return UNKNOWN
        value = _comparable(found)
        if value is None:
            return False
        return (value in self.choices) != self.negated


@dataclass(frozen=True, slots=True)
class _Not(_Node):
    operand: _Node
    type: Type = "bool"

    def evaluate(self, record: Record, history: History | None) -> Value:
        value = self.operand.evaluate(record, history)
        return UNKNOWN if value is UNKNOWN else not value


@dataclass(frozen=True, slots=True)
class _Logic(_Node):
    operator: Literal["and", "or"]
    operands: tuple[_Node, ...]
    type: Type = "bool"

    def evaluate(self, record: Record, history: History | None) -> Value:
        # Kleene logic: a deciding operand wins over an unknown one.
        deciding = self.operator == "or"
        unknown = False
        for operand in self.operands:
            value = operand.evaluate(record, history)
            if value is UNKNOWN:
                unknown = True
            elif bool(value) is deciding:
                return deciding
        return UNKNOWN if unknown else not deciding


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str, origin: str) -> None:
        self.text = text
        self.origin = origin
        self.tokens = _tokenize(text, origin)
        self.index = 0
        self.level: str | None = None
        """The level (price or spread) whose history the condition reads, once one is read."""

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, message: str, token: _Token | None = None) -> ConfigError:
        return _error(self.text, (token or self.token).position, message, self.origin)

    def keyword(self, word: str) -> bool:
        """Consume the keyword ``word`` if it is next."""
        if self.token.kind is _Kind.NAME and self.token.text.lower() == word:
            self.index += 1
            return True
        return False

    def operator(self, *operators: str) -> str | None:
        """Consume one of ``operators`` if it is next; return it."""
        if self.token.kind is _Kind.OP and self.token.text in operators:
            self.index += 1
            return self.token_before.text
        return None

    @property
    def token_before(self) -> _Token:
        return self.tokens[self.index - 1]

    def expect(self, operator: str, what: str) -> None:
        if not self.operator(operator):
            raise self.fail(f"expected {what}, found {self.describe()}")

    def describe(self) -> str:
        token = self.token
        return "the end of the condition" if token.kind is _Kind.END else repr(token.text)

    def at_end(self) -> bool:
        return self.token.kind is _Kind.END

    def parse(self) -> _Node:
        if self.at_end():
            raise self.fail("the condition is empty")
        node = self.condition()
        if not self.at_end():
            raise self.fail(f"expected 'and', 'or' or the end, found {self.describe()}")
        return node

    def condition(self) -> _Node:
        return self.disjunction()

    def disjunction(self) -> _Node:
        operands = [self.conjunction()]
        while self.keyword("or"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else _Logic("or", tuple(operands))

    def conjunction(self) -> _Node:
        operands = [self.negation()]
        while self.keyword("and"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else _Logic("and", tuple(operands))

    def negation(self) -> _Node:
        if self.keyword("not"):
            return _Not(self.negation())
        return self.comparison()

    def comparison(self) -> _Node:
        start = self.token
        left = self.sum()
        if self.keyword("is"):
            negated = self.keyword("not")
            if not self.keyword("null"):
                raise self.fail(f"expected 'null' after 'is', found {self.describe()}")
            return _IsNull(left, negated)
        negated = False
        if self.keyword("not"):
            negated = True
            if not (self.token.kind is _Kind.NAME and self.token.text.lower() == "in"):
                raise self.fail(
                    "expected 'in' after 'not' here (write 'not (a = b)' to negate)",
                    self.token_before,
                )
        if self.keyword("in"):
            return _In(left, self.choices(left), negated)
        operator = self.operator("=", "==", "!=", "<>", "<", "<=", ">", ">=")
        if operator is None:
            if left.type != "bool":
                raise self.fail(
                    "expected a comparison (=, !=, <, <=, >, >=, is null, in), found "
                    + self.describe(),
                )
            return left
        operator = {"==": "=", "<>": "!="}.get(operator, operator)
        right_token = self.token
        right = self.sum()
        left, right = _entity_literals(left, right)
        self.check_types(operator, left, right, start, right_token)
        return _Compare(operator, left, right)

    def check_types(
        self, operator: str, left: _Node, right: _Node, start: _Token, right_token: _Token
    ) -> None:
        types = {left.type, right.type} - {"null"}
        if "bool" in types:
            raise self.fail("a condition cannot be compared; use and/or/not", start)
        if len(types) > 1:
            raise self.fail(f"cannot compare a {left.type} with a {right.type}", right_token)
        if "null" in (left.type, right.type):
            raise self.fail("a comparison with null is never true; write 'is null'", start)
        if types == {"string"} and operator not in ("=", "!="):
            raise self.fail(f"strings can only be compared with = or !=, not {operator}", start)

    def choices(self, left: _Node) -> frozenset[float | str]:
        self.expect("(", "'(' after 'in'")
        values: list[float | str] = []
        while True:
            token = self.token
            node = self.unary()
            if not isinstance(node, _Literal) or node.value is None:
                raise self.fail("'in (...)' takes numbers or strings only", token)
            if node.type != left.type:
                raise self.fail(f"this is a {node.type}, but the left side is a {left.type}", token)
            value = node.value
            if isinstance(left, _Variable) and left.name in _ENTITY_VARIABLES:
                value = _entity_id(str(value))
            values.append(value.casefold() if isinstance(value, str) else value)
            if not self.operator(","):
                break
        self.expect(")", "',' or ')' to close the list")
        return frozenset(values)

    def sum(self) -> _Node:
        node = self.product()
        while operator := self.operator("+", "-"):
            node = _Arithmetic(operator, self.number(node), self.number(self.product()))
        return node

    def product(self) -> _Node:
        node = self.unary()
        while operator := self.operator("*", "/"):
            node = _Arithmetic(operator, self.number(node), self.number(self.unary()))
        return node

    def number(self, node: _Node) -> _Node:
        if node.type not in ("number", "null"):
            raise self.fail(f"arithmetic needs numbers, this is a {node.type}", self.token_before)
        return node

    def unary(self) -> _Node:
        if self.operator("-"):
            operand = self.unary()
            if isinstance(operand, _Literal) and isinstance(operand.value, float):
                return _Literal(-operand.value, "number")
            return _Negate(self.number(operand))
        return self.primary()

    def primary(self) -> _Node:
        token = self.token
        if token.kind is _Kind.NUMBER:
            self.index += 1
            return _Literal(float(token.text), "number")
        if token.kind is _Kind.STRING:
            self.index += 1
            return _Literal(token.text, "string")
        if self.operator("("):
            node = self.condition()
            self.expect(")", "')'")
            return node
        if token.kind is _Kind.NAME:
            return self.name(token)
        if token.kind is _Kind.DURATION:
            raise self.fail(
                "a duration is only allowed as the second argument of change_pct_since(price, 24h)"
            )
        raise self.fail(f"expected a value, a variable or '(', found {self.describe()}")

    def name(self, token: _Token) -> _Node:
        word = token.text.lower()
        self.index += 1
        if word == "null":
            return _Literal(None, "null")
        if word in _KEYWORDS:
            raise self.fail(f"expected a value, found the keyword {word!r}", token)
        if self.operator("("):
            if word in HISTORY_FUNCTIONS:
                return self.history_call(word, token)
            return self.call(word, token)
        if word not in VARIABLES:
            known = ", ".join(VARIABLES)
            raise self.fail(f"unknown variable {token.text!r}; known: {known}", token)
        return _Variable(word, VARIABLES[word])

    def history_call(self, function: str, token: _Token) -> _Node:
        """``previous(level)`` or ``change_pct_since(level, duration)``, the '(' consumed."""
        argument = self.token
        if argument.kind is not _Kind.NAME or argument.text.lower() not in LEVELS:
            raise self.fail(
                f"{function}() takes a level reported over time: price or spread, "
                f"found {self.describe()}"
            )
        level = argument.text.lower()
        if self.level is not None and level != self.level:
            raise self.fail(
                f"a condition can follow one series: it already reads the history of {self.level}",
                argument,
            )
        self.level = level
        self.index += 1
        seconds = 0.0
        if function == "change_pct_since":
            self.expect(",", "',' and a duration such as 24h")
            duration = self.token
            if duration.kind is not _Kind.DURATION:
                raise self.fail(f"expected a duration such as 24h or 7d, found {self.describe()}")
            seconds = parse_duration(duration.text).total_seconds()
            if not 0 < seconds <= MAX_HISTORY_S:
                raise self.fail("the duration must be more than 0 and at most 7d", duration)
            self.index += 1
        self.expect(")", "')'")
        return _HistoryCall(function, level, seconds)

    def call(self, function: str, token: _Token) -> _Node:
        if function not in ("abs", "min", "max"):
            raise self.fail(
                f"unknown function {token.text!r}; known: abs, min, max, "
                + ", ".join(HISTORY_FUNCTIONS),
                token,
            )
        arguments = [self.number(self.sum())]
        while self.operator(","):
            arguments.append(self.number(self.sum()))
        self.expect(")", "',' or ')'")
        if function == "abs" and len(arguments) != 1:
            raise self.fail("abs() takes exactly one argument", token)
        return _Call(function, tuple(arguments))


def _entity_id(value: str) -> str:
    """``urals`` -> ``commodity:urals``; an id with a kind stays as it is."""
    return value if ":" in value else f"commodity:{value}"


def _entity_literals(left: _Node, right: _Node) -> tuple[_Node, _Node]:
    """Let ``commodity = "urals"`` mean ``commodity = "commodity:urals"``."""

    def fix(variable: _Node, other: _Node) -> _Node:
        if (
            isinstance(variable, _Variable)
            and variable.name in _ENTITY_VARIABLES
            and isinstance(other, _Literal)
            and isinstance(other.value, str)
        ):
            return _Literal(_entity_id(other.value), "string")
        return other

    return fix(right, left), fix(left, right)


@dataclass(frozen=True)
class Condition:
    """A compiled ``where:`` condition; build it with :func:`compile_condition`.

    ``level`` is the level (price or spread) whose history the condition
    reads with ``previous()`` or ``change_pct_since()``, else None.
    """

    text: str
    origin: str = ""
    level: str | None = None
    _root: _Node = field(repr=False, compare=False, default=_Literal(True, "bool"))

    def matches(self, values: Sequence[ExtractedValue]) -> bool:
        """True when some commodity's record of figures satisfies the condition.

        Without history, a record for which the answer depends on the
        history (unknown) counts as a match: it may be one.
        """
        for record in records(values):
            value = self._root.evaluate(record, None)
            if value is True or value is UNKNOWN:
                return True
        return False

    def first_match(self, values: Sequence[ExtractedValue], history: History) -> Record | None:
        """The first record that satisfies the condition given ``history``; None if none does."""
        for record in records(values):
            if self._root.evaluate(record, history) is True:
                return record
        return None


def compile_condition(text: str, *, origin: str = "") -> Condition:
    """Parse and type-check a ``where:`` condition.

    Args:
        text: the condition, as written in the rule.
        origin: where it comes from (``"pack.yaml: rule x"``), for error messages.

    Raises:
        ConfigError: the condition is malformed; the message names the column
            and shows a caret under it.
    """
    if len(text) > _MAX_LENGTH:
        raise ConfigError(
            f"{origin + ': ' if origin else ''}where condition is {len(text)} characters; "
            f"the limit is {_MAX_LENGTH}"
        )
    parser = _Parser(text, origin)
    root = parser.parse()
    if root.type != "bool":
        raise _error(
            text, 0, "the condition must be a test (a comparison, 'is null', 'in')", origin
        )
    return Condition(text=text, origin=origin, level=parser.level, _root=root)


def records(values: Sequence[ExtractedValue]) -> Iterator[Record]:
    """The records a condition is tested on: per commodity, per combination of figures."""
    groups: dict[str | None, dict[str, list[ExtractedValue]]] = {}
    for value in values:
        groups.setdefault(value.commodity, {}).setdefault(value.kind, []).append(value)
    for commodity, kinds in groups.items():
        combinations = itertools.product(
            kinds.get("price", [None]),
            kinds.get("spread", [None]),
            kinds.get("change_pct", [None]),
            kinds.get("extreme", [None]),
        )
        for price, spread, change, extreme in itertools.islice(combinations, _MAX_RECORDS):
            money = price or spread
            moved = change or extreme
            yield {
                "commodity": commodity,
                "price": price.value if price else None,
                "spread": spread.value if spread else None,
                "price@series": price.series if price else None,
                "spread@series": spread.series if spread else None,
                "change_pct": change.value if change else None,
                "extreme": extreme.extreme if extreme else None,
                "currency": money.currency if money else None,
                "unit": money.unit if money else None,
                "benchmark": spread.benchmark if spread else None,
                "direction": moved.direction if moved else None,
            }
