"""The parser of tinyxp's YAML subset, in tomli's shape: load and load_value.

There is no parser object: each `parse_*` function takes the text and a position and
returns the position after what it read and the value. Block-level functions return
the position of the next significant character (the first one of the next line that is
not blank or a comment), or len(src) at the end of the document. Mapping keys are
always strings: `1: a` reads as {"1": "a"}.

This module holds the documents: load, which tries the fast path of _fast.py first,
and parse_document with the block structure (mappings and sequences by indentation,
values on one line). The scalars are in _scalars.py, the flow collections in _flow.py.
"""
from __future__ import annotations

from ..errors import YAMLError
from . import _re
from ._fast import NOT_FAST, load_fast
from ._flow import parse_flow_node
from ._scalars import (
    column,
    duplicate_error,
    error,
    indicator_error,
    is_dash,
    is_indicator,
    MAX_NESTING,
    is_marker,
    nesting_error,
    parse_block_scalar,
    parse_quoted,
    resolve_plain,
    rest_of_line,
    skip_lines,
)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import re
    from typing import Any

    from ._scalars import Pos

# The patterns, assigned here rather than imported by name: CPython 3.11 and later
# compile `NAME.match(...)` on an imported NAME as an attribute load and a call, which
# made the general parser and dump() 5 to 10% slower than a method call on a global.
RE_COLON = _re.RE_COLON
RE_COMMENT = _re.RE_COMMENT
RE_FLOW_SPACE = _re.RE_FLOW_SPACE
RE_KEY = _re.RE_KEY
RE_LINE = _re.RE_LINE
RE_LINE_END = _re.RE_LINE_END
RE_NEXT = _re.RE_NEXT
RE_SPACES = _re.RE_SPACES


def load(text: str, path: str | None = None) -> Any:
    """Parse a YAML-subset document; raises YAMLError naming path, line and column."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    value = load_fast(text)
    if value is not NOT_FAST:
        return value
    try:
        return parse_document(text)
    except YAMLError as err:
        err.path = path
        raise


def load_value(text: str) -> Any:
    """Parse one command-line value: a scalar (core schema) or a flow [..] / {..}.

    A plain scalar is taken whole (`a: b` and `x #y` are strings); an empty value is
    None. Raises YAMLError for unclosed quotes or brackets and text after them.
    """
    pos = RE_FLOW_SPACE.match(text).end() if text[:1] in " \t\n" else 0
    c = text[pos : pos + 1]
    if c == "[" or c == "{":
        pos, value = parse_flow_node(text, pos, 0)
        what = "flow sequence" if c == "[" else "flow mapping"
    elif c == '"' or c == "'":
        pos, value = parse_quoted(text, pos)
        what = "quoted string"
    else:
        return resolve_plain(text.strip(" \t\n"))
    pos = RE_FLOW_SPACE.match(text, pos).end()
    if pos < len(text):
        raise error(text, pos, f"Expected end of value after the {what}, found {text[pos:]!r}")
    return value


# --- documents ----------------------------------------------------------------------


def parse_document(src: str) -> Any:
    """document := ['---'] [node]"""
    pos = skip_lines_first(src)
    if pos >= len(src):
        return None
    col = column(src, pos)
    pos, value = parse_block_node(src, pos, col, -1, 0)
    if pos < len(src):
        raise bad_indentation(src, pos, col)
    return value


def skip_lines_first(src: str) -> Pos:
    """Skip blank lines, comments and one leading '---'; refuse directives."""
    m = RE_NEXT.match(src)
    pos = m.end()
    if pos < len(src) and m.start(1) == pos:
        if src[pos] == "%":
            raise indicator_error(src, pos)
        if src.startswith("---", pos) and is_marker(src, pos):
            end = RE_LINE_END.match(src, pos + 3)
            if end is None:
                raise error(src, pos + 4, "Expected a line break after '---'; start the document on the next line")
            return skip_lines(src, end.end())
    return skip_lines(src, 0)


def line_after(src: str, m: re.Match[str], spaces: str) -> tuple[Pos, int]:
    """After a RE_LINE match: the next significant position and its column
    (-1 at the end), as skip_lines would find them."""
    pos = m.end()
    if pos >= len(src):
        return pos, -1
    c = src[pos]
    if c == "\t" or c == "#" or (not spaces and (c == "-" or c == ".")):
        pos = skip_lines(src, pos - len(spaces))  # a tab, a last comment, a marker?
        return pos, (column(src, pos) if pos < len(src) else -1)
    return pos, len(spaces)


def bad_indentation(src: str, pos: Pos, indent: int) -> YAMLError:
    found = column(src, pos) + 1
    return error(src, pos, f"Bad indentation: expected column {indent + 1}, found column {found}")


# --- block collections --------------------------------------------------------------


def parse_block_node(src: str, pos: Pos, col: int, indent: int, depth: int) -> tuple[Pos, Any]:
    """node := sequence | mapping | value, starting at pos (column col > indent).

    `depth` counts the collections around the node: one more than MAX_NESTING is refused.
    """
    c = src[pos]
    if c == "-" and is_dash(src, pos):
        return parse_block_sequence(src, pos, col, depth + 1)
    if c == '"' or c == "'":
        end, _ = parse_quoted(src, pos)
        if RE_COLON.match(src, end):
            return parse_block_mapping(src, pos, col, depth + 1)
    else:
        # a key needs a ':'; looking for one first spares the regex on most values
        eol = src.find("\n", pos)
        if src.find(":", pos, eol if eol >= 0 else len(src)) >= 0 and RE_KEY.match(src, pos):
            return parse_block_mapping(src, pos, col, depth + 1)
    return parse_value(src, pos, indent, depth)


def parse_block_mapping(src: str, pos: Pos, indent: int, depth: int) -> tuple[Pos, dict[str, Any]]:
    """mapping := (key ':' [value | nested node])+, every key at column `indent`."""
    if depth > MAX_NESTING:
        raise nesting_error(src, pos)
    result: dict[str, Any] = {}
    key_pos: dict[str, Pos] = {}
    n = len(src)
    while True:
        m = RE_LINE.match(src, pos)
        if m is not None:
            key, text, spaces = m.groups()
            if key is not None:  # not an item `- value`, which the general path refuses
                nxt, col = line_after(src, m, spaces)
                if col <= indent and key not in result:
                    key_pos[key] = pos
                    result[key] = resolve_plain(text)
                    if col < indent:
                        return nxt, result
                    pos = nxt
                    continue
            # a continuation line, a duplicate: the general path below says what to do
        c = src[pos]
        if c == '"' or c == "'":
            end, key = parse_quoted(src, pos)
            m = RE_COLON.match(src, end)
            if m is None or "\n" in src[pos:end]:
                raise key_error(src, pos)
            key_end = end
        else:
            m = RE_KEY.match(src, pos)
            if m is None:
                raise key_error(src, pos)
            key = m.group(1)
            key_end = m.end(1)
        if key in result:
            raise duplicate_error(src, pos, key_end, key, key_pos[key])
        key_pos[key] = pos
        vpos = m.end()
        c = src[vpos] if vpos < n else "\n"
        if c == "\n" or c == "#":
            pos, result[key] = parse_nested(src, vpos, indent, depth, in_mapping=True)
        else:
            pos, result[key] = parse_value(src, vpos, indent, depth)
        if sibling_column(src, pos, indent) < indent:
            return pos, result


def parse_nested(src: str, pos: Pos, indent: int, depth: int, *, in_mapping: bool) -> tuple[Pos, Any]:
    """The value of a key or item with nothing after its indicator (pos is at the line
    end or a comment): the node indented more on the next lines, a sequence at the
    key's own column, or None."""
    eol = src.find("\n", pos)
    pos = len(src) if eol < 0 else skip_lines(src, eol + 1)
    if pos < len(src):
        col = column(src, pos)
        if col > indent:
            return parse_block_node(src, pos, col, indent, depth)
        if in_mapping and col == indent and is_dash(src, pos):
            return parse_block_sequence(src, pos, col, depth + 1, in_mapping=True)
    return pos, None


def sibling_column(src: str, pos: Pos, indent: int) -> int:
    """The column of the line after an entry of a collection at `indent` (-1 at the
    end); raises YAMLError when it is indented more."""
    if pos >= len(src):
        return -1
    col = column(src, pos)
    if col > indent:
        raise bad_indentation(src, pos, indent)
    return col


def key_error(src: str, pos: Pos) -> YAMLError:
    """The error for a line of a mapping that is not `key: value`."""
    if is_dash(src, pos):
        return error(src, pos, "Expected a mapping key, found a sequence item '- '")
    if is_indicator(src, pos):
        return indicator_error(src, pos)
    text = rest_of_line(src, pos)
    cut = RE_COMMENT.search(text)
    text = (text[: cut.start()] if cut else text).rstrip(" \t")
    hint = "; put a space after ':'" if ":" in text else ""
    return error(src, pos, f"Expected 'key: value' in a mapping, found {text!r}{hint}", len(text))


def parse_block_sequence(
    src: str, pos: Pos, indent: int, depth: int, in_mapping: bool = False
) -> tuple[Pos, list[Any]]:
    """sequence := ('-' [node])+, every '-' at column `indent`."""
    if depth > MAX_NESTING:
        raise nesting_error(src, pos)
    items: list[Any] = []
    n = len(src)
    while True:
        m = RE_LINE.match(src, pos)  # pos is at a '-': an item `- value` or None
        if m is not None:
            nxt, col = line_after(src, m, m.group(3))
            if col <= indent:
                items.append(resolve_plain(m.group(2)))
                if col < indent:
                    return nxt, items
                pos = nxt
                if is_dash(src, pos):
                    continue
                if in_mapping:
                    return pos, items
                raise item_error(src, pos)
            # a continuation line: the general path below says what to do
        p = RE_SPACES.match(src, pos + 1).end()
        c = src[p] if p < n else "\n"
        if c == "\n" or c == "#":
            pos, value = parse_nested(src, p, indent, depth, in_mapping=False)
        else:
            pos, value = parse_block_node(src, p, indent + p - pos, indent, depth)
        items.append(value)
        if sibling_column(src, pos, indent) < indent:
            return pos, items
        if not is_dash(src, pos):
            if in_mapping:
                return pos, items
            raise item_error(src, pos)


def item_error(src: str, pos: Pos) -> YAMLError:
    """The error for a line of a sequence that is not an item."""
    text = rest_of_line(src, pos)
    return error(src, pos, f"Expected a sequence item '- ', found {text!r}", len(text))


# --- values on one line -------------------------------------------------------------


def parse_value(src: str, pos: Pos, indent: int, depth: int) -> tuple[Pos, Any]:
    """value := flow | quoted | block scalar | plain, then the end of the line.

    `indent` is the column of the enclosing block collection: continuation lines of a
    plain scalar and the content of a block scalar must be indented more.
    """
    c = src[pos]
    if c == "[" or c == "{":
        end, value = parse_flow_node(src, pos, depth)
        what = "flow sequence" if c == "[" else "flow mapping"
    elif c == '"' or c == "'":
        end, value = parse_quoted(src, pos)
        what = "quoted string"
    elif c == "|" or c == ">":
        return parse_block_scalar(src, pos, indent)
    elif c == "-" and is_dash(src, pos):
        raise error(src, pos, "Cannot start a sequence on the line of its key; put '- ' on the next line")
    elif is_indicator(src, pos):
        raise indicator_error(src, pos)
    elif c == "]" or c == "}" or c == ",":
        raise error(src, pos, f"Invalid {c!r} at the start of a plain value; quote the value")
    else:
        return parse_plain(src, pos, indent)
    m = RE_LINE_END.match(src, end)
    if m is None:
        end = RE_SPACES.match(src, end).end()
        token = rest_of_line(src, end).rstrip()
        raise error(src, end, f"Expected the end of the line after the {what}, found {token!r}", len(token))
    return skip_lines(src, m.end()), value


def parse_plain(src: str, pos: Pos, indent: int) -> tuple[Pos, Any]:
    """plain := text up to ' #' or the line end, folded with more indented lines."""
    n = len(src)
    eol = src.find("\n", pos)
    if eol < 0:
        eol = n
    text = src[pos:eol]
    commented = False
    if "#" in text:
        cut = RE_COMMENT.search(text)
        if cut:
            text = text[: cut.start()]
            commented = True
    text = text.rstrip(" \t")
    if ": " in text or ":\t" in text or text[-1:] == ":":
        raise plain_error(src, pos, text)
    nxt = skip_lines(src, eol + 1) if eol < n else n
    if nxt < n and column(src, nxt) > indent:
        parts = [text]
        while nxt < n:
            col = column(src, nxt)
            if col <= indent:
                break
            between = src[eol + 1 : nxt - col]
            if commented or "#" in between:
                raise bad_indentation(src, nxt, indent)
            breaks = between.count("\n")
            eol = src.find("\n", nxt)
            if eol < 0:
                eol = n
            line = src[nxt:eol]
            cut = RE_COMMENT.search(line)
            if cut:
                line = line[: cut.start()]
                commented = True
            line = line.rstrip(" \t")
            if ": " in line or ":\t" in line or line.endswith(":") or is_dash(src, nxt):
                if indent < 0:
                    raise key_error(src, pos)  # a first line that lacks its ':'
                raise bad_indentation(src, nxt, indent)
            parts.append("\n" * breaks if breaks else " ")
            parts.append(line)
            nxt = skip_lines(src, eol + 1) if eol < n else n
        return nxt, "".join(parts)
    return nxt, resolve_plain(text)


def plain_error(src: str, pos: Pos, text: str) -> YAMLError:
    """The error for a plain value holding ': ', which only a nested mapping may."""
    return error(src, pos, f"Invalid ': ' in the plain value {text!r}; quote the value", len(text))
