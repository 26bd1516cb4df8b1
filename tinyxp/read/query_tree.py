r"""The syntax tree of a query (read/query.py parses and compiles it): tokens and nodes.

Or, And and Not combine comparisons: Compare (operand op literal), In (operand in a
list), Has (literal in a list field, `'baseline' in tags`); an operand is a Field or a
Summary (`last(train.loss)`).

The tokenizer is written out by hand; the tokens, in the order they are tried, are
what these regular expressions match:

    SPACE \s+   OP ==|!=|<=|>=|<|>   AND &&?   OR \|\|?   NOT ~|!(?!=)   LPAREN \(   RPAREN \)
    LBRACKET \[   RBRACKET \]   COMMA ,   NUMBER [-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])
    STRING '(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"   NAME [A-Za-z_][\w\-]*(?:\.[\w\-/]+)*

Compiling that pattern cost the first query of every process half a millisecond, more
than the rest of its parsing; tests/test_query.py checks the tokenizer against it on
random text. A name that is a keyword (and, or, not, in) is that keyword's token.
"""
from __future__ import annotations

from ..errors import QueryError
from ..yaml import MAX_NESTING

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Union

    Operand = Union["Field", "Summary"]
    Node = Union["Or", "And", "Not", "Compare", "In", "Has"]


class Token:
    """A token of a query: its kind (OP, NAME, NUMBER, IN, END...), its text and offset."""

    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind: str, text: str, pos: int) -> None:
        self.kind = kind
        self.text = text
        self.pos = pos

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.text!r}, {self.pos})"


class Or:
    """parts joined by '|': any of them."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[Node]) -> None:
        self.parts = parts


class And:
    """parts joined by '&': all of them."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[Node]) -> None:
        self.parts = parts


class Not:
    """'~' or 'not' before a factor."""

    __slots__ = ("inner",)

    def __init__(self, inner: Node) -> None:
        self.inner = inner


class Compare:
    """operand op literal; token is the operator's."""

    __slots__ = ("op", "operand", "literal", "token")

    def __init__(self, op: str, operand: Operand, literal: Any, token: Token) -> None:
        self.op = op
        self.operand = operand
        self.literal = literal
        self.token = token


class In:
    """operand ['not'] in [options]; token is the 'in' keyword's."""

    __slots__ = ("negate", "operand", "options", "token")

    def __init__(self, negate: bool, operand: Operand, options: list[Any], token: Token) -> None:
        self.negate = negate
        self.operand = operand
        self.options = options
        self.token = token


class Has:
    """literal ['not'] in field: whether a list field (tags) holds the literal; token is the 'in' keyword's."""

    __slots__ = ("negate", "operand", "literal", "token")

    def __init__(self, negate: bool, operand: Field, literal: Any, token: Token) -> None:
        self.negate = negate
        self.operand = operand
        self.literal = literal
        self.token = token


class Field:
    """A field compared directly (config.lr, info.status); token is None outside a query."""

    __slots__ = ("name", "token")

    def __init__(self, name: str, token: Token | None = None) -> None:
        self.name = name
        self.token = token

    @property
    def text(self) -> str:
        return self.name


class Summary:
    """function(name): a summary of a metric column; the tokens are None outside a query."""

    __slots__ = ("function", "name", "function_token", "token")

    def __init__(self, function: str, name: str, function_token: Token | None = None, token: Token | None = None) -> None:
        self.function = function
        self.name = name
        self.function_token = function_token
        self.token = token

    @property
    def text(self) -> str:
        return f"{self.function}({self.name})"


def operands(tree: Node) -> list[Operand]:
    """The fields and metric summaries a query compares, in order of appearance."""
    if isinstance(tree, (Or, And)):
        return [operand for part in tree.parts for operand in operands(part)]
    if isinstance(tree, Not):
        return operands(tree.inner)
    return [tree.operand]


# -- tokens --------------------------------------------------------------------------

KEYWORDS = {"and", "or", "not", "in"}
PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", "[": "LBRACKET", "]": "RBRACKET", ",": "COMMA", "~": "NOT", "!": "NOT", "<": "OP", ">": "OP"}
NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


class Tokens:
    """The tokens of a query and a cursor over them: `check`, `expect`, `read`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items = tokenize(source)
        self.index = 0
        self.depth = 0  # the '(', 'not' and '[' around the next token: RecursionError past a thousand

    @property
    def next(self) -> Token:
        return self.items[self.index]

    def check(self, kind: str, *words: str) -> bool:
        token = self.next
        return token.kind == kind and (not words or token.text in words)

    def read(self) -> Token:
        token = self.items[self.index]
        self.index += 1
        if token.kind in ("LPAREN", "LBRACKET", "NOT"):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise QueryError(f"Cannot nest a query more than {MAX_NESTING} levels deep", source=self.source, pos=token.pos, length=len(token.text))
        elif token.kind in ("RPAREN", "RBRACKET"):
            self.depth -= 1
        return token

    def expect(self, kind: str, expected: str) -> Token:
        if not self.check(kind):
            raise self.error(f"Expected {expected}")
        return self.read()

    def error(self, message: str, token: Token | None = None) -> QueryError:
        token = token or self.next
        if token.kind == "END":
            message += ", got the end of the query"
        else:
            message += f", got {token.text!r}"
        return QueryError(message, source=self.source, pos=token.pos, length=max(1, len(token.text)))


def tokenize(source: str) -> list[Token]:
    """The tokens of source, ending with an END token; raises QueryError on a bad character."""
    tokens = []
    pos = 0
    while pos < len(source):
        if source[pos].isspace():  # what \s matches
            pos += 1
            continue
        kind, end = read_token(source, pos)
        if not kind:
            char = source[pos]
            if char in "'\"":
                raise QueryError(f"Expected a closing {char} for the string", source=source, pos=pos)
            if char == "=":
                raise QueryError("Invalid operator '=': compare with '=='", source=source, pos=pos)
            raise QueryError(f"Invalid character {char!r}", source=source, pos=pos)
        text = source[pos:end]
        if kind == "NAME" and text in KEYWORDS:
            kind = text.upper()
        tokens.append(Token(kind, text, pos))
        pos = end
    tokens.append(Token("END", "", len(source)))
    return tokens


def read_token(source: str, pos: int) -> tuple[str, int]:
    """(kind, end) of the token at pos, which is not a space; ("", pos) when none starts there."""
    char, pair = source[pos], source[pos : pos + 2]
    if pair in ("==", "!=", "<=", ">="):
        return "OP", pos + 2
    if char in "&|":
        return ("AND" if char == "&" else "OR"), pos + (2 if pair == char * 2 else 1)
    if char in PUNCTUATION:
        return PUNCTUATION[char], pos + 1
    if char in "'\"":
        kind, end = "STRING", string_end(source, pos)
    elif char in NAME_START:
        kind, end = "NAME", name_end(source, pos)
    else:
        kind, end = "NUMBER", number_end(source, pos)
    return (kind, end) if end > pos else ("", pos)


def number_end(source: str, pos: int) -> int:
    """The end of the number at pos; 0 when there is none, or when a letter, digit or '.' follows it."""
    end = pos + 1 if source[pos] in "+-" else pos
    if source[end : end + 1].isdecimal():
        end = skip(source, end, "_")
        if source[end : end + 1] == ".":
            end = skip(source, end + 1)
    elif source[end : end + 1] == "." and source[end + 1 : end + 2].isdecimal():
        end = skip(source, end + 1)
    else:
        return 0
    if source[end : end + 1] in ("e", "E"):
        digits = end + 2 if source[end + 1 : end + 2] in ("+", "-") else end + 1
        if source[digits : digits + 1].isdecimal():
            end = skip(source, digits)
    follower = source[end : end + 1]
    return 0 if follower and (is_word(follower) or follower == ".") else end


def skip(source: str, pos: int, more: str = "") -> int:
    """The end of the decimal digits (and characters of `more`) from pos."""
    while pos < len(source) and (source[pos].isdecimal() or source[pos] in more):
        pos += 1
    return pos


def string_end(source: str, pos: int) -> int:
    """The end of the quoted string at pos (a backslash escapes any character but a newline); pos when unclosed."""
    quote, end = source[pos], pos + 1
    while end < len(source):
        char = source[end]
        if char == quote:
            return end + 1
        if char == "\\":
            if source[end + 1 : end + 2] in ("", "\n"):
                return pos
            end += 1
        end += 1
    return pos


def name_end(source: str, pos: int) -> int:
    """The end of the name at pos: word characters and '-', then '.' parts that may also hold '/'."""
    end = pos + 1
    while end < len(source) and (is_word(source[end]) or source[end] == "-"):
        end += 1
    while source[end : end + 1] == "." and is_name_part(source[end + 1 : end + 2]):
        end += 2
        while end < len(source) and is_name_part(source[end]):
            end += 1
    return end


def is_word(char: str) -> bool:
    """What \\w matches (one character)."""
    return char.isalnum() or char == "_"


def is_name_part(char: str) -> bool:
    return char != "" and (is_word(char) or char in "-/")
