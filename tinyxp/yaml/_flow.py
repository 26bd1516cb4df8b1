"""Flow collections: [..] and {..}, nested, on one line or several."""
from __future__ import annotations

from . import _re
from ._scalars import (
    MAX_NESTING,
    duplicate_error,
    error,
    indicator_error,
    is_dash,
    is_indicator,
    line_of,
    nesting_error,
    parse_quoted,
    resolve_plain,
    token_at,
)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

    from ..errors import YAMLError
    from ._scalars import Pos

# The patterns, assigned here rather than imported by name: CPython 3.11 and later
# compile `NAME.match(...)` on an imported NAME as an attribute load and a call, which
# made the general parser and dump() 5 to 10% slower than a method call on a global.
RE_FLOW_PLAIN = _re.RE_FLOW_PLAIN
RE_FLOW_SPACE = _re.RE_FLOW_SPACE


def parse_flow_node(src: str, pos: Pos, depth: int) -> tuple[Pos, Any]:
    """flow node := flow sequence | flow mapping | quoted | plain

    `depth` counts the collections around the node: one more than MAX_NESTING is refused.
    """
    c = src[pos] if pos < len(src) else ""
    if c == "[":
        return parse_flow_sequence(src, pos, depth + 1)
    if c == "{":
        return parse_flow_mapping(src, pos, depth + 1)
    pos, text, plain = parse_flow_scalar(src, pos)
    return pos, resolve_plain(text) if plain else text


def parse_flow_scalar(src: str, pos: Pos) -> tuple[Pos, str, bool]:
    """The text of a quoted or plain scalar in a flow collection, and whether plain."""
    c = src[pos] if pos < len(src) else ""
    if c == '"' or c == "'":
        pos, text = parse_quoted(src, pos)
        return pos, text, False
    m = RE_FLOW_PLAIN.match(src, pos)
    if m is None:
        if c and is_indicator(src, pos):
            raise indicator_error(src, pos)
        if c == "-" and is_dash(src, pos):
            raise error(src, pos, "Cannot use a block sequence item '- ' inside a flow collection")
        found = repr(c) if c else "the end of the text"
        raise error(src, pos, f"Expected a value, found {found}")
    return m.end(), m.group(), True


def parse_flow_sequence(src: str, pos: Pos, depth: int) -> tuple[Pos, list[Any]]:
    """flow sequence := '[' [flow node (',' flow node)* [',']] ']'"""
    if depth > MAX_NESTING:
        raise nesting_error(src, pos)
    start = pos
    items: list[Any] = []
    pos = RE_FLOW_SPACE.match(src, pos + 1).end()
    while True:
        c = src[pos] if pos < len(src) else ""
        if c == "]":
            return pos + 1, items
        if not c:
            raise flow_error(src, start, pos, "sequence", "]")
        if c == "{" or c == "[":
            pos, item = parse_flow_node(src, pos, depth)
        else:
            pos, text, plain = parse_flow_scalar(src, pos)
            pos = RE_FLOW_SPACE.match(src, pos).end()
            after = src[pos + 1 : pos + 2]
            if src[pos : pos + 1] == ":" and (not plain or after in (" ", "\t", "\n", ",", "]", "")):
                # a single-pair mapping: [a: 1] is [{a: 1}]
                pos = RE_FLOW_SPACE.match(src, pos + 1).end()
                value = None
                if src[pos : pos + 1] not in (",", "]", ""):
                    pos, value = parse_flow_node(src, pos, depth)
                item = {text: value}
            else:
                item = resolve_plain(text) if plain else text
        items.append(item)
        pos = RE_FLOW_SPACE.match(src, pos).end()
        c = src[pos] if pos < len(src) else ""
        if c == ",":
            pos = RE_FLOW_SPACE.match(src, pos + 1).end()
            if src[pos : pos + 1] == ",":
                raise error(src, pos, "Expected a value before ',' in a flow sequence")
        elif c != "]":
            raise flow_error(src, start, pos, "sequence", "]")


def flow_error(src: str, start: Pos, pos: Pos, what: str, close: str) -> YAMLError:
    """The error for what follows an item of a flow collection opened at start."""
    if pos >= len(src):
        return error(src, start, f"Unclosed flow {what}: expected a closing {close!r}")
    token = token_at(src, pos)
    if "\n" in src[start:pos]:
        # most likely the bracket was left open and the next line was read as an item
        message = f"Unclosed flow {what}: expected ',' or {close!r} before {token!r} on line {line_of(src, pos)}"
        return error(src, start, message)
    return error(src, pos, f"Expected ',' or {close!r} in a flow {what}, found {token!r}", len(token))


def parse_flow_mapping(src: str, pos: Pos, depth: int) -> tuple[Pos, dict[str, Any]]:
    """flow mapping := '{' [key [':' [flow node]] (',' ...)* [',']] '}'"""
    if depth > MAX_NESTING:
        raise nesting_error(src, pos)
    start = pos
    result: dict[str, Any] = {}
    key_pos: dict[str, Pos] = {}
    pos = RE_FLOW_SPACE.match(src, pos + 1).end()
    while True:
        c = src[pos] if pos < len(src) else ""
        if c == "}":
            return pos + 1, result
        if not c:
            raise flow_error(src, start, pos, "mapping", "}")
        if c == ",":
            raise error(src, pos, "Expected a key before ',' in a flow mapping")
        if c == "[" or c == "{":
            raise error(src, pos, "Invalid mapping key: a key cannot be a flow collection")
        key_start = pos
        pos, key, _ = parse_flow_scalar(src, pos)
        if key in result:
            raise duplicate_error(src, key_start, pos, key, key_pos[key])
        key_pos[key] = key_start
        pos = RE_FLOW_SPACE.match(src, pos).end()
        value = None
        if src[pos : pos + 1] == ":":
            pos = RE_FLOW_SPACE.match(src, pos + 1).end()
            if src[pos : pos + 1] not in (",", "}", ""):
                pos, value = parse_flow_node(src, pos, depth)
                pos = RE_FLOW_SPACE.match(src, pos).end()
        result[key] = value
        c = src[pos] if pos < len(src) else ""
        if c == ",":
            pos = RE_FLOW_SPACE.match(src, pos + 1).end()
        elif c != "}":
            raise flow_error(src, start, pos, "mapping", "}")
