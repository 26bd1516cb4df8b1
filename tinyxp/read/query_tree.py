"""The syntax tree of a query (read/query.py parses and compiles it): tokens and nodes.

Or, And and Not combine comparisons: Compare (operand op literal), In (operand in a
list), Has (literal in a list field, `'baseline' in tags`); an operand is a Field or a
Summary (`last(train.loss)`).
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Union

    Operand = Union["Field", "Summary"]
    Node = Union["Or", "And", "Not", "Compare", "In", "Has"]


class Token:
    """A token of a query: its kind (a query.TOKEN_RULES name, IN, END...), its text and offset."""

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
