"""A checked query tree as one Python function: what runs once per run of a filter.

A predicate made of one closure per node costs a call per node and per run; written out
as one expression it runs at about the speed of the same test typed in Python. The
expression holds only names this module makes (`_0`, `_1`...) bound to the field names,
literals and per-node closures, and the operators `and`, `or`, `not`, `==`, `in`: no text
of the query is ever evaluated. Comparisons of a field with strings and numbers are
written out (one or two operations, the same answers as query.equal, which keeps
booleans, numbers and strings apart); every other node, and a subtree nested deeper than
MAX_DEPTH, is a call to its closure.

The function reads each field once with `v[name]`, the fastest lookup, and evaluates
the expression again with `v.get(name)` for a run that lacks one of the fields (KeyError).
A query of such comparisons only is also written as a function of the fields' values
(by_columns), for runs whose values are columns of the index (read.stored).
"""
from __future__ import annotations

from .query_tree import And, Compare, Field, In, Not, Or

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, List, Tuple

    from .query_tree import Node

    ByColumns = Tuple[List[str], Callable[[], Callable[..., bool]]]

MAX_DEPTH = 30  # of and/or/not written out: Python 3.8's parser stops at about 100 nested parentheses
NUMBER_TYPES = (int, float)
OPEN, CLOSE = "\x01", "\x02"  # around a field's bound name in the expression: v[...] or v.get(...)


def to_function(tree: Node, compile_node: Callable[[Node], Any], aliases: dict[str, str]) -> tuple[Any, ByColumns | None]:
    """(predicate(values, summary) for the tree, by_columns(...) of it); compile_node(node) gives a node's checked closure."""
    names: dict[str, Any] = {"__builtins__": {}, "type": type, "str": str, "NUMBER_TYPES": NUMBER_TYPES, "KeyError": KeyError}
    text = source(tree, compile_node, aliases, names, 0)
    slow = text.replace(OPEN, "v.get(").replace(CLOSE, ")")
    if OPEN not in text:
        return eval(f"lambda v, s: {slow}", names), None  # noqa: S307 - generated names only (module docstring)
    names["slow"] = compiled_later(slow, names)
    fast = text.replace(OPEN, "v[").replace(CLOSE, "]")
    exec(f"def predicate(v, s):\n try:\n  return {fast}\n except KeyError:\n  return slow(v, s)", names)  # noqa: S102 - the same
    return names["predicate"], by_columns(text, names)


def by_columns(text: str, names: dict[str, Any]) -> ByColumns | None:
    """(the keys the expression reads, a maker of its function of their values, in that order), when it reads
    fields only (no node's closure, which takes the values as a mapping); a missing value is None, as v.get gives."""
    if "(v, s)" in text:
        return None
    keys: dict[str, str] = {}  # key -> its parameter
    parts = text.split(OPEN)
    body = [parts[0]]
    for part in parts[1:]:
        bound, rest = part.split(CLOSE, 1)
        body.append(keys.setdefault(names[bound], f"c{len(keys)}") + rest)
    code = f"lambda {', '.join(keys.values())}: {''.join(body)}"
    return list(keys), lambda: eval(code, names)  # noqa: S307 - generated names only (module docstring)


def compiled_later(text: str, names: dict[str, Any]) -> Any:
    """predicate(v, s) of the expression, compiled when first called (a run lacking a field), then bound as `slow`."""

    def slow(v: Any, s: Any) -> Any:
        names["slow"] = eval(f"lambda v, s: {text}", names)  # noqa: S307 - generated names only (module docstring)
        return names["slow"](v, s)

    return slow


def source(tree: Node, compile_node: Callable[[Node], Any], aliases: dict[str, str], names: dict[str, Any], depth: int) -> str:
    if depth < MAX_DEPTH:
        if isinstance(tree, (Or, And)):
            joiner = " or " if isinstance(tree, Or) else " and "
            return "(" + joiner.join(source(part, compile_node, aliases, names, depth + 1) for part in tree.parts) + ")"
        if isinstance(tree, Not):
            return f"(not {source(tree.inner, compile_node, aliases, names, depth + 1)})"
    predicate = compile_node(tree)  # checks the node's types, raising QueryError
    return leaf_source(tree, aliases, names) or f"{bind(names, predicate)}(v, s)"


def leaf_source(tree: Node, aliases: dict[str, str], names: dict[str, Any]) -> str:
    """The expression of a comparison of a field with strings or numbers; "" for another node."""
    if isinstance(tree, Compare) and tree.op in ("==", "!=") and is_plain(tree.literal) and isinstance(tree.operand, Field):
        get = field(tree.operand, aliases, names)
        literal = bind(names, tree.literal)
        if isinstance(tree.literal, str):  # a string equals only that string
            same = f"{get} == {literal}"
        else:  # True == 1 in Python, not here
            same = f"((_v := {get}) == {literal} and _v is not True and _v is not False)"
        return same if tree.op == "==" else f"(not {same})"
    if isinstance(tree, In) and isinstance(tree.operand, Field) and tree.options and all(map(is_plain, tree.options)):
        strings = all(isinstance(option, str) for option in tree.options)
        if strings or not any(isinstance(option, str) for option in tree.options):
            get = field(tree.operand, aliases, names)
            kind = "type(_v := {get}) is str" if strings else "type(_v := {get}) in NUMBER_TYPES"
            found = f"({kind.format(get=get)} and _v in {bind(names, frozenset(tree.options))})"
            return f"(not {found})" if tree.negate else found
    return ""


def field(operand: Field, aliases: dict[str, str], names: dict[str, Any]) -> str:
    """The value of a field in the expression: its bound name between OPEN and CLOSE."""
    return OPEN + bind(names, aliases.get(operand.name, operand.name)) + CLOSE


def is_plain(literal: Any) -> bool:
    """A string or a number that is not a boolean: what the written-out comparisons handle."""
    return type(literal) in (str, int, float)


def bind(names: dict[str, Any], value: Any) -> str:
    name = f"_{len(names)}"
    names[name] = value
    return name
