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

A query is untrusted input, so everything about it is bounded (the limits
below, documented in the README): the parser recurses at most
:data:`MAX_DEPTH` levels, and so does everything that walks the tree it
returns. Each limit is a :class:`QuerySyntaxError` at the column that
passes it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from streams.rules.words import words

FIELDS: Final = ("title", "summary", "body")
MIN_PREFIX: Final = 3
MAX_DISTANCE: Final = 200
"""Most words a NEAR/n or ONEAR/n may allow between its operands."""
MAX_QUERY_CHARS: Final = 10_000
"""Longest query, in characters."""
MAX_TERM_CHARS: Final = 200
"""Longest word, phrase or regex pattern, in characters (a term is a key of the
automaton, whose C code recurses once per character when it frees the trie)."""
MAX_DEPTH: Final = 32
"""Most parentheses, NOTs and field scopes open at once."""
MAX_NEAR_NESTING: Final = 8
"""Most NEAR/ONEAR operators nested in one another (``a NEAR/1 b NEAR/1 c`` nests two)."""

# Spaces, then one token: a parenthesis, a phrase, a regex, a field name and its colon (the
# name in the third group), or a run of anything else: a word, an operator or NEAR/n, told
# apart by what the run says. One findall of this costs a third of a finditer over one
# named group per kind.
_TOKEN: Final = re.compile(
    r"""(\s*)(
    [()]
    | ~?["“”][^"“”]*["“”]?
    | regex:/(?:\\.|[^\\/])*/?
    | ([A-Za-z]+):(?=\S)
    | [^\s()"“”]+
    )""",
    re.VERBOSE | re.DOTALL,
)
_REGEX_TOKEN: Final = re.compile(r"regex:/((?:\\.|[^\\/])*)(/)?", re.DOTALL)
_QUOTES: Final = frozenset('"“”')
_NAMED_BY_TEXT: Final = frozenset(("(", ")", "AND", "OR", "NOT"))  # token kind = its text
_TERMS: Final = frozenset(("WORD", "PHRASE"))  # token kinds that make a term
_OR_ENDS: Final = frozenset(("OR", ")", "END"))  # token kinds that end an AND
_DISTANCE: Final = re.compile(r"[0-9]+")
_MINUS: Final = "-−–"  # hyphen-minus, minus sign, en dash


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


def near_nesting(node: Node) -> int:
    """How many NEAR/ONEAR operators are nested in one another in ``node`` (0: none)."""
    if isinstance(node, Near):
        return 1 + max(near_nesting(node.left), near_nesting(node.right))
    if isinstance(node, Or):
        return max(near_nesting(op) for op in node.operands)
    return 0


# --- the lexer ------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a frozen dataclass is four times slower to build
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "NEAR", "FIELD", "WORD", "PHRASE", "REGEX", "END"
    text: str
    column: int
    distance: int = 0
    ordered: bool = False
    stem: bool = False  # a phrase written ~"..."


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    end = 0  # where the previous token ends: only spaces lie between two tokens
    for spaces, text, field in _TOKEN.findall(query):
        column = end + len(spaces) + 1
        end = column - 1 + len(text)
        first = text[0]
        if text in _NAMED_BY_TEXT:
            tokens.append(_Token(text, text, column))
        elif first in _QUOTES or (first == "~" and text[1:2] in _QUOTES):
            stem = first == "~"
            inside = text[2:] if stem else text[1:]
            if not inside or inside[-1] not in _QUOTES:
                raise QuerySyntaxError("unterminated phrase: add the closing '\"'", query, column)
            tokens.append(_Token("PHRASE", inside[:-1], column, stem=stem))
        elif field:
            if field not in FIELDS:
                raise QuerySyntaxError(
                    f"unknown field {field!r}: use one of {', '.join(FIELDS)}", query, column
                )
            tokens.append(_Token("FIELD", field, column))
        elif text.startswith(("NEAR", "ONEAR")):
            tokens.append(_near(query, text, column))
        elif text.startswith("regex:/"):
            regex = _REGEX_TOKEN.match(text)
            assert regex is not None  # the token matched the same alternative of _TOKEN
            if regex.group(2) is None:
                raise QuerySyntaxError("unterminated regex: end it with '/'", query, column)
            tokens.append(_Token("REGEX", regex.group(1).replace("\\/", "/"), column))
        else:
            if text[-1] == ":" and text[:-1] in FIELDS:
                raise QuerySyntaxError(
                    f"{text} needs a word, a phrase or '(' right after the colon", query, column
                )
            tokens.append(_Token("WORD", text, column))
    tokens.append(_Token("END", "", len(query) + 1))
    return tokens


def _near(query: str, text: str, column: int) -> _Token:
    """The token of ``NEAR/n`` or ``ONEAR/n`` (``text``); any other form is refused."""
    name = "ONEAR" if text[0] == "O" else "NEAR"
    rest = text[len(name) :]
    if rest[:1] != "/":
        if rest:  # NEARBY, ONEARTH: words that start like the operator
            return _Token("WORD", text, column)
        raise QuerySyntaxError(
            f"{name} needs a distance in words: {name}/5", query, column + len(name)
        )
    digits = rest[1:]
    at = column + len(name) + 1
    if not _DISTANCE.fullmatch(digits):
        raise QuerySyntaxError(
            f"{name}/ needs a distance in words, a whole number written with 0-9: {name}/5",
            query,
            at,
        )
    # the length test first: int() of thousands of digits is slow, then refused
    if len(digits) > len(str(MAX_DISTANCE)) or int(digits) > MAX_DISTANCE:
        raise QuerySyntaxError(
            f"{name} distance {digits} is too large (at most {MAX_DISTANCE} words)", query, at
        )
    return _Token("NEAR", text, column, int(digits), name == "ONEAR")


# --- the parser -----------------------------------------------------------------


class _Parser:
    """Recursive descent; :meth:`enter` bounds the recursion at :data:`MAX_DEPTH`."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.pos = 0
        self.token = self.tokens[0]
        self.depth = 0

    def error(self, message: str, column: int | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, column or self.token.column)

    def advance(self) -> _Token:
        """Move past the current token and return it."""
        token = self.token
        self.pos += 1
        self.token = self.tokens[self.pos]
        return token

    def enter(self, token: _Token) -> None:
        """Open one level of nesting at ``token`` (a '(', a NOT or a field scope)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"the query nests more than {MAX_DEPTH} levels deep (parentheses, NOT and "
                "field scopes open at once)",
                token.column,
            )

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
        operands: list[Node] = []
        tokens = self.tokens
        while True:
            token = self.token
            if token.kind in _TERMS and tokens[self.pos + 1].kind in _OR_ENDS:
                # a lone word or phrase between ORs (a list of synonyms): straight to its term
                self.pos += 1
                self.token = tokens[self.pos]
                operands.append(self.term(token))
            else:
                operands.append(self.and_expr())
            if self.token.kind != "OR":
                return operands[0] if len(operands) == 1 else Or(tuple(operands))
            self.pos += 1
            self.token = tokens[self.pos]

    def and_expr(self) -> Node:
        operands: list[Node] = []
        tokens = self.tokens
        while True:
            token = self.token
            if token.kind in _TERMS and tokens[self.pos + 1].kind != "NEAR":
                # the most common operand, a lone word or phrase: straight to its term
                self.pos += 1
                self.token = tokens[self.pos]
                operands.append(self.term(token))
            else:
                operands.append(self.unary())
            kind = self.token.kind
            if kind in _OR_ENDS:
                return operands[0] if len(operands) == 1 else And(tuple(operands))
            if kind == "AND":
                self.pos += 1
                self.token = tokens[self.pos]

    def unary(self) -> Node:
        if self.token.kind != "NOT":
            return self.near()
        self.enter(self.advance())
        node = Not(self.unary())
        self.depth -= 1
        return node

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
            if near_nesting(node) > MAX_NEAR_NESTING:
                raise self.error(
                    f"more than {MAX_NEAR_NESTING} NEAR/ONEAR operators nested in one another "
                    "(a chain 'a NEAR/n b NEAR/n c' nests them too)",
                    operator.column,
                )
        return node

    def primary(self) -> Node:
        token = self.token
        if token.kind == "(":
            self.enter(self.advance())
            if self.token.kind == ")":
                raise self.error("empty parentheses")
            node = self.or_expr()
            if self.token.kind != ")":
                raise self.error("missing ')' to close the '(' opened", token.column)
            self.advance()
            self.depth -= 1
            return node
        if token.kind == "FIELD":
            self.enter(self.advance())
            if self.token.kind in ("FIELD", "END", ")", "AND", "OR", "NOT", "NEAR"):
                raise self.error(f"{token.text}: needs a word, a phrase or '(' after it")
            node = Scoped(token.text, self.primary())
            self.depth -= 1
            return node
        if token.kind in ("WORD", "PHRASE"):
            self.advance()
            return self.term(token)
        if token.kind == "REGEX":
            self.advance()
            if not token.text:
                raise self.error("empty regex", token.column)
            if len(token.text) > MAX_TERM_CHARS:
                raise self.error(
                    f"the regex is {len(token.text)} characters long; at most "
                    f"{MAX_TERM_CHARS} are allowed",
                    token.column,
                )
            return Regex(token.text, token.column)
        if token.kind == "END":
            raise self.error("the query ends too early: a word, a phrase or '(' is missing")
        if token.kind == ")":
            raise self.error("unexpected ')': a word, a phrase or '(' is missing before it")
        raise self.error(f"unexpected {token.text!r}: a word, a phrase or '(' is missing before it")

    def term(self, token: _Token) -> Term:
        phrase, text, stem = token.kind == "PHRASE", token.text, token.stem
        if not phrase and text.startswith("~"):
            text, stem = text[1:], True
        if stem and not text:
            raise self.error("'~' needs a word or a phrase right after it", token.column)
        if stem and text.endswith("*"):
            raise self.error("'~' (stems) and '*' (a prefix) cannot be combined", token.column)
        try:
            found, prefix = _term_words(text, phrase)
        except _TermProblem as problem:
            column = token.column + (1 if stem else 0) + problem.offset
            raise self.error(problem.message, column) from None
        source = f'"{text}"' if phrase else text
        return Term(found, prefix, source, token.column, stem)


class _TermProblem(Exception):
    """Why a word or phrase is refused; ``offset``: from its token's column."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


# Rule sets repeat their words a lot; a refused term raises, and is not cached.
@functools.lru_cache(maxsize=65_536)
def _term_words(text: str, phrase: bool) -> tuple[tuple[str, ...], bool]:
    """Return the folded words of a word or phrase token, and whether it ends with ``*``."""
    inside = 1 if phrase else 0  # the text of a phrase starts after its quote
    if len(text) > MAX_TERM_CHARS:
        raise _TermProblem(
            f"the {'phrase' if phrase else 'word'} is {len(text)} characters long; at "
            f"most {MAX_TERM_CHARS} are allowed"
        )
    if not phrase and text[0] in _MINUS and _is_word_char(text[1:2]):
        raise _TermProblem(
            f"{text!r}: a leading '{text[0]}' does not exclude a word here; write "
            f"NOT {text[1:]} (or quote it to search for it)"
        )
    prefix = text.endswith("*")
    body = text[:-1] if prefix else text
    star = body.find("*")
    if star >= 0:
        raise _TermProblem("a wildcard '*' may only end a word", inside + star)
    if prefix and body and not _is_word_char(body[-1]):
        raise _TermProblem(
            f"a wildcard '*' must follow a letter or digit, not {body[-1]!r}", inside + len(body)
        )
    found = query_words(body)
    if not found:
        raise _TermProblem(f"{text!r} has no letters or digits to match")
    if prefix and len(found[-1]) < MIN_PREFIX:
        raise _TermProblem(
            f"a wildcard needs at least {MIN_PREFIX} letters before '*'", inside + len(text) - 1
        )
    return found, prefix


def _is_word_char(char: str) -> bool:
    """True for a character words are made of (as :mod:`streams.rules.words` splits them)."""
    return char.isalnum() or char == "_"


def parse_query(query: str) -> Node:
    """Parse ``query`` into its syntax tree.

    Raises:
        QuerySyntaxError: the query is malformed or passes a limit; the error
            carries the column.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS} are allowed",
            query,
            MAX_QUERY_CHARS + 1,
        )
    return _Parser(query).parse()


def regexes_of(query: str, tree: Node) -> list[Regex]:
    """Return the regexes of ``tree``, the syntax tree of ``query`` (most queries have none)."""
    if "regex:/" not in query:
        return []
    return [leaf for leaf in terms_of(tree) if isinstance(leaf, Regex)]


def terms_of(node: Node) -> list[Term | Regex]:
    """Return the leaves of ``node`` (terms and regexes), left to right."""
    leaves: list[Term | Regex] = []
    stack: list[Node] = [node]
    while stack:
        top = stack.pop()
        if isinstance(top, Term | Regex):
            leaves.append(top)
        elif isinstance(top, And | Or):
            stack.extend(reversed(top.operands))
        elif isinstance(top, Not | Scoped):
            stack.append(top.operand)
        else:
            stack.extend((top.right, top.left))
    return leaves
