"""The analyst query language: a parser from text to a small syntax tree.

The grammar is the Boolean syntax of media-monitoring tools, lowest
precedence first::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*           adjacent operands are ANDed
    unary    := "NOT" unary | near
    near     := primary (("NEAR/n" | "ONEAR/n") primary)*
    primary  := "(" or_expr ")" | FIELD ":" primary | ["~"] WORD | ["~"] "PHRASE" | regex:/RE2/

Operators are upper case; lower-case ``and``/``or``/``not``/``near`` are words.
Words and phrases are folded (case and diacritics) and split into words the
way article text is, so ``F-16`` is the phrase ``f 16`` and ``Kyiv's`` is
``kyiv s``. A trailing ``*`` makes the last word a prefix; a leading ``~``
matches words by their stems in the article's language. Parsing never
evaluates anything; :mod:`streams.rules.matcher` compiles the tree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from streams.rules.words import words

FIELDS: Final = ("title", "summary", "body")
MIN_PREFIX: Final = 3
MAX_DISTANCE: Final = 200

_OPERATOR: Final = re.compile(r"(O?NEAR)(?:/(\d+))?$")
_FIELD_PREFIX: Final = re.compile(r"([A-Za-z]+):")


class QuerySyntaxError(ValueError):
    """A query that does not parse; ``column`` is 1-based into the query text."""

    def __init__(self, message: str, query: str, column: int) -> None:
        self.message = message
        self.query = query
        self.column = column
        super().__init__(f"{message} (column {column})")

    def caret(self, width: int = 100) -> str:
        """Return the query on one line (cut to ``width`` around the fault) and a caret under it."""
        line = self.query.replace("\n", " ").replace("\t", " ")
        start = max(0, min(self.column - 1 - width // 2, len(line) - width))
        shown = line[start : start + width]
        return f"{shown}\n{' ' * (self.column - 1 - start)}^"


def query_words(text: str) -> tuple[str, ...]:
    """Split ``text`` into folded words exactly as the matcher splits article text."""
    return tuple(words(unicodedata.normalize("NFC", text)))


# --- the syntax tree -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """Consecutive words (one word, or a phrase); ``prefix``: the last word is a prefix.

    ``stem``: each word matches any word sharing its stem in the article's
    language (``~київ``; :mod:`streams.rules.stems`).
    """

    words: tuple[str, ...]
    prefix: bool
    source: str
    column: int
    stem: bool = False


@dataclass(frozen=True, slots=True)
class Regex:
    """A ``regex:/.../`` term: an RE2 pattern searched in the folded field text."""

    pattern: str
    column: int


@dataclass(frozen=True, slots=True)
class And:
    """Every operand matches."""

    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one operand matches."""

    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The operand does not match."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides occur within ``distance`` words; ``ordered``: left before right."""

    left: Node
    right: Node
    distance: int
    ordered: bool


@dataclass(frozen=True, slots=True)
class Scoped:
    """The operand, matched only in one article field."""

    field: str
    operand: Node


Node = Term | Regex | And | Or | Not | Near | Scoped


def is_positional(node: Node) -> bool:
    """True when ``node`` yields word positions, so it can be an operand of NEAR."""
    if isinstance(node, Term | Regex | Near):
        return True
    if isinstance(node, Or):
        return all(is_positional(op) for op in node.operands)
    return False


# --- the lexer ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "NEAR", "FIELD", "WORD", "PHRASE", "REGEX", "END"
    text: str
    column: int
    distance: int = 0
    ordered: bool = False


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        column = i + 1
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, column))
            i += 1
        elif char in '"“”':
            end = _closing_quote(query, i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated phrase: add the closing '\"'", query, column)
            tokens.append(_Token("PHRASE", query[i + 1 : end], column))
            i = end + 1
        elif query.startswith("regex:/", i):
            end = _closing_slash(query, i + 7)
            if end < 0:
                raise QuerySyntaxError("unterminated regex: end it with '/'", query, column)
            tokens.append(_Token("REGEX", query[i + 7 : end].replace("\\/", "/"), column))
            i = end + 1
        else:
            field = _FIELD_PREFIX.match(query, i)
            if (
                field
                and field.group(1) in FIELDS
                and (field.end() == n or query[field.end()].isspace())
            ):
                raise QuerySyntaxError(
                    f"{field.group()} needs a word, a phrase or '(' right after the colon",
                    query,
                    column,
                )
            if field and field.end() < n and not query[field.end()].isspace():
                name = field.group(1)
                if name not in FIELDS:
                    raise QuerySyntaxError(
                        f"unknown field {name!r}: use one of {', '.join(FIELDS)}", query, column
                    )
                tokens.append(_Token("FIELD", name, column))
                i = field.end()
                continue
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"“”':
                j += 1
            tokens.append(_word_or_operator(query, query[i:j], column))
            i = j
    tokens.append(_Token("END", "", n + 1))
    return tokens


def _closing_quote(query: str, start: int) -> int:
    for j in range(start, len(query)):
        if query[j] in '"“”':
            return j
    return -1


def _closing_slash(query: str, start: int) -> int:
    j = start
    while j < len(query):
        if query[j] == "\\":
            j += 2
            continue
        if query[j] == "/":
            return j
        j += 1
    return -1


def _word_or_operator(query: str, text: str, column: int) -> _Token:
    if text in ("AND", "OR", "NOT"):
        return _Token(text, text, column)
    operator = _OPERATOR.match(text)
    if operator:
        name, distance = operator.groups()
        if distance is None:
            raise QuerySyntaxError(
                f"{name} needs a distance in words: {name}/5", query, column + len(name)
            )
        if int(distance) > MAX_DISTANCE:
            raise QuerySyntaxError(
                f"{name} distance {distance} is too large (at most {MAX_DISTANCE} words)",
                query,
                column + len(name) + 1,
            )
        return _Token("NEAR", text, column, int(distance), name == "ONEAR")
    return _Token("WORD", text, column)


# --- the parser -----------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.pos = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def error(self, message: str, column: int | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, column or self.token.column)

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if self.token.kind == "END":
            raise self.error("the query is empty")
        node = self.or_expr()
        if self.token.kind == ")":
            raise self.error("unbalanced ')': no '(' opens it")
        if self.token.kind != "END":
            raise self.error(f"unexpected {self.token.text!r}")
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.token.kind == "OR":
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.unary()]
        while self.token.kind not in ("OR", ")", "END"):
            if self.token.kind == "AND":
                self.advance()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        if self.token.kind == "NOT":
            self.advance()
            return Not(self.unary())
        return self.near()

    def near(self) -> Node:
        start = self.token.column
        node = self.primary()
        while self.token.kind == "NEAR":
            operator = self.advance()
            right_column = self.token.column
            right = self.primary()
            for side, column in ((node, start), (right, right_column)):
                if not is_positional(side):
                    raise self.error(
                        f"{operator.text} needs words, phrases or OR-groups of them on both "
                        "sides, not AND, NOT or a field scope (put a field scope around the "
                        "whole NEAR)",
                        column,
                    )
            node = Near(node, right, operator.distance, operator.ordered)
        return node

    def primary(self) -> Node:
        token = self.token
        if token.kind == "(":
            self.advance()
            if self.token.kind == ")":
                raise self.error("empty parentheses")
            node = self.or_expr()
            if self.token.kind != ")":
                raise self.error("missing ')' to close the '(' opened", token.column)
            self.advance()
            return node
        if token.kind == "FIELD":
            self.advance()
            if self.token.kind in ("FIELD", "END", ")", "AND", "OR", "NOT", "NEAR"):
                raise self.error(f"{token.text}: needs a word, a phrase or '(' after it")
            return Scoped(token.text, self.primary())
        if token.kind == "WORD" and token.text == "~":
            phrase = self.tokens[self.pos + 1]
            if phrase.kind == "PHRASE" and phrase.column == token.column + 1:
                self.pos += 2
                return self.term(phrase, stem=True)
        if token.kind in ("WORD", "PHRASE"):
            self.advance()
            return self.term(token)
        if token.kind == "REGEX":
            self.advance()
            if not token.text:
                raise self.error("empty regex", token.column)
            return Regex(token.text, token.column)
        if token.kind == "END":
            raise self.error("the query ends too early: a word, a phrase or '(' is missing")
        if token.kind == ")":
            raise self.error("unexpected ')': a word, a phrase or '(' is missing before it")
        raise self.error(f"unexpected {token.text!r}: a word, a phrase or '(' is missing before it")

    def term(self, token: _Token, *, stem: bool = False) -> Term:
        text = token.text
        column = token.column + (1 if token.kind == "PHRASE" else 0)
        if token.kind == "WORD" and text.startswith("~"):
            text, stem, column = text[1:], True, column + 1
        prefix = text.endswith("*")
        if stem and prefix:
            raise self.error("'~' (stems) and '*' (a prefix) cannot be combined", token.column)
        body = text[:-1] if prefix else text
        star = body.find("*")
        if star >= 0:
            raise self.error("a wildcard '*' may only end a word", column + star)
        words = query_words(body)
        if not words:
            raise self.error(f"{token.text!r} has no letters or digits to match", token.column)
        if prefix and len(words[-1]) < MIN_PREFIX:
            raise self.error(
                f"a wildcard needs at least {MIN_PREFIX} letters before '*'",
                column + len(text) - 1,
            )
        source = f'"{text}"' if token.kind == "PHRASE" else text
        return Term(words, prefix, source, token.column, stem)


def parse_query(query: str) -> Node:
    """Parse ``query`` into its syntax tree.

    Raises:
        QuerySyntaxError: the query is malformed; the error carries the column.
    """
    return _Parser(query).parse()


def terms_of(node: Node) -> list[Term | Regex]:
    """Return the leaves of ``node`` (terms and regexes), left to right."""
    if isinstance(node, Term | Regex):
        return [node]
    if isinstance(node, And | Or):
        return [leaf for op in node.operands for leaf in terms_of(op)]
    if isinstance(node, Not | Scoped):
        return terms_of(node.operand)
    return terms_of(node.left) + terms_of(node.right)
