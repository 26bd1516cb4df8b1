"""The parser of tinyxp's YAML subset, in tomli's shape.

There is no parser object: each `parse_*` function takes the text and a position and
returns the position after what it read and the value. Block-level functions return
the position of the next significant character (the first one of the next line that is
not blank or a comment), or len(src) at the end of the document. Mapping keys are
always strings: `1: a` reads as {"1": "a"}.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import YAMLError
from ._re import (
    RE_BLOCK_HEADER,
    RE_COLON,
    RE_COMMENT,
    RE_DOUBLE,
    RE_ENTRY,
    RE_FLOAT,
    RE_FLOW_PLAIN,
    RE_FLOW_SPACE,
    RE_HEX,
    RE_INT,
    RE_ITEM,
    RE_KEY,
    RE_LINE_END,
    RE_NEXT,
    RE_OCT,
    RE_SIMPLE_LINES,
    RE_SINGLE,
    RE_SPACES,
    RE_TOKEN,
)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import re
    from typing import Any, Dict, List, Optional, Tuple

Pos = int

NUMBER_START = frozenset("0123456789+-.")
# How the values parse_simple does not take as they are start: quotes, {} and [], and
# the plain scalars that may be something else than a string
SPECIAL_START = frozenset("'\"{[0123456789+-.~nNtTfF")
LINE_START_SPECIAL = frozenset(" \t#\n-.")
# The plain scalars that are not strings and not written with digits, as the core schema
# spells them (true and false may also be in any other case)
WORDS: Dict[str, Any] = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
for _sign, _value in (("", 1), ("+", 1), ("-", -1)):
    for _inf in (".inf", ".Inf", ".INF"):
        WORDS[_sign + _inf] = _value * float("inf")
ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
INDICATORS = {
    "&": "Invalid anchor {!r}: anchors and aliases are not supported",
    "*": "Invalid alias {!r}: anchors and aliases are not supported",
    "!": "Invalid tag {!r}: tags are not supported",
    "%": "Invalid directive {!r}: directives are not supported",
    "@": "Invalid character {!r}: '@' is reserved; quote the value",
    "`": "Invalid character {!r}: '`' is reserved; quote the value",
}


def load(text: str, path: Optional[str] = None) -> Any:
    """Parse a YAML-subset document; raises YAMLError naming path, line and column."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    value = parse_simple(text)
    if value is not NOT_SIMPLE:
        return value
    try:
        return parse_document(text)
    except YAMLError as err:
        err.path = path
        raise
    except RecursionError:
        # one Python frame per level of nesting: a document nested thousands deep is
        # refused rather than crashing the reader
        raise YAMLError("Cannot read collections nested this deeply", path=path) from None


def load_value(text: str) -> Any:
    """Parse one command-line value: a scalar (core schema) or a flow [..] / {..}.

    A plain scalar is taken whole (`a: b` and `x #y` are strings); an empty value is
    None. Raises YAMLError for unclosed quotes or brackets and text after them.
    """
    pos = RE_FLOW_SPACE.match(text).end() if text[:1] in " \t\n" else 0
    c = text[pos : pos + 1]
    if c == "[" or c == "{":
        try:
            pos, value = parse_flow_node(text, pos)
        except RecursionError:
            raise YAMLError("Cannot read collections nested this deeply", source=text, pos=pos) from None
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


# --- errors -------------------------------------------------------------------------


def error(src: str, pos: Pos, message: str, length: int = 1) -> YAMLError:
    return YAMLError(message, source=src, pos=pos, length=length)


def column(src: str, pos: Pos) -> int:
    """0-based column of pos."""
    return pos - src.rfind("\n", 0, pos) - 1


def line_of(src: str, pos: Pos) -> int:
    return src.count("\n", 0, pos) + 1


def rest_of_line(src: str, pos: Pos) -> str:
    end = src.find("\n", pos)
    return src[pos:] if end < 0 else src[pos:end]


def token_at(src: str, pos: Pos) -> str:
    """The word at pos, for messages: up to the next space or flow indicator."""
    m = RE_TOKEN.match(src, pos)
    return m.group() if m else src[pos : pos + 1]


def indicator_error(src: str, pos: Pos) -> YAMLError:
    """The error for a value starting with a construct outside the subset."""
    c = src[pos]
    if c == "?":
        return error(src, pos, "Invalid complex key '?': complex keys are not supported")
    token = token_at(src, pos)
    return error(src, pos, INDICATORS[c].format(token), len(token))


def is_indicator(src: str, pos: Pos) -> bool:
    c = src[pos]
    return c in INDICATORS or (c == "?" and src[pos + 1 : pos + 2] in ("", " ", "\t", "\n"))


def is_dash(src: str, pos: Pos) -> bool:
    """Whether pos starts a block sequence item: '-' then a space or the line end."""
    return src[pos] == "-" and src[pos + 1 : pos + 2] in (" ", "\n", "", "\t")


def is_marker(src: str, pos: Pos) -> bool:
    """Whether pos (at column 0) starts a document marker '---' or '...'."""
    return src.startswith(("---", "..."), pos) and src[pos + 3 : pos + 4] in (" ", "\t", "\n", "")


# --- lines and documents ------------------------------------------------------------


def skip_lines(src: str, pos: Pos) -> Pos:
    """From the start of a line, the position of the next significant character.

    Raises YAMLError for a tab in the indentation and for a second document.
    """
    c = src[pos : pos + 1]
    if c not in LINE_START_SPECIAL:
        return pos  # the common case of a line at column 0: no regex
    m = RE_NEXT.match(src, pos)
    pos = m.end()
    if pos >= len(src):
        return pos
    c = src[pos]
    if c == "\t" or c == "#":
        rest = rest_of_line(src, pos)
        if rest.strip(" \t")[:1] in ("", "#"):
            return len(src)  # a blank or comment last line without a line break
        raise error(src, pos, "Invalid tab in indentation; indent with spaces")
    if m.start(1) == pos and (c == "-" or c == ".") and is_marker(src, pos):
        end = RE_LINE_END.match(src, pos + 3) if c == "." else None
        if end is not None and skip_lines(src, end.end()) >= len(src):
            return len(src)  # '...' ends the document; only blank lines may follow
        raise error(src, pos, f"Cannot read several documents: found {src[pos:pos + 3]!r}", 3)
    return pos


def line_after(src: str, m: "re.Match[str]", spaces: str) -> Tuple[Pos, int]:
    """After a RE_ENTRY or RE_ITEM match: the next significant position and its column
    (-1 at the end), as skip_lines would find them."""
    pos = m.end()
    if pos >= len(src):
        return pos, -1
    c = src[pos]
    if c == "\t" or c == "#" or (not spaces and (c == "-" or c == ".")):
        pos = skip_lines(src, pos - len(spaces))  # a tab, a last comment, a marker?
        return pos, (column(src, pos) if pos < len(src) else -1)
    return pos, len(spaces)


def parse_document(src: str) -> Any:
    """document := ['---'] [node]"""
    pos = skip_lines_first(src)
    if pos >= len(src):
        return None
    col = column(src, pos)
    pos, value = parse_block_node(src, pos, col, -1)
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
            m = RE_LINE_END.match(src, pos + 3)
            if m is None:
                raise error(src, pos + 4, "Expected a line break after '---'; start the document on the next line")
            return skip_lines(src, m.end())
    return skip_lines(src, 0)


# --- the shape dump() writes -------------------------------------------------------

NOT_SIMPLE = object()


def parse_simple(src: str) -> Any:
    """The value of a document in the shape dump() writes, or NOT_SIMPLE.

    The reader loads the metadata of thousands of runs: once RE_SIMPLE_LINES has checked
    every line, the lines are read with string methods alone. Anything else (comments,
    flow collections, block scalars, a scalar over several lines, `key:` with a sequence
    at its own column or nothing nested, every mistake) is NOT_SIMPLE, left to
    parse_document, which also gives the errors.
    """
    if not src or RE_SIMPLE_LINES.match(src).end() != len(src):
        return NOT_SIMPLE
    top: Dict[str, Any] = {}
    stack: List[Tuple[int, Any]] = []  # the enclosing collections, with their columns
    col, current, in_list = -1, top, False  # the innermost collection
    opened: Any = (top, "")  # (collection, key or index) whose collection comes next
    for line in src[:-1].split("\n"):
        text = line.lstrip(" ")
        indent = len(line) - len(text)
        while True:  # once for each '- ' that opens a collection on its line, then once more
            if text[0] == "-" and text[1] == " ":
                key = None
                text = text[2:]
                # `- - x` and `- key: value` open a collection, whose first line this is
                opens = text[:2] == "- " or (text[0] not in "'\"" and (": " in text or text[-1] == ":"))
            else:
                key, colon, text = text.partition(": ")
                opens = not colon
                if opens:
                    key = key[:-1]  # `key:` at the end of its line
            if indent != col or opened is not None:
                if indent > col and opened is not None:
                    stack.append((col, current))
                    collection, slot = opened
                    collection[slot] = current = [] if key is None else {}
                    col, opened = indent, None
                elif indent < col and opened is None:
                    while indent < col:
                        col, current = stack.pop()
                    if indent != col:
                        return NOT_SIMPLE
                else:
                    return NOT_SIMPLE
                in_list = type(current) is list
            if opens:
                value = None
            else:
                c = text[0]
                if c not in SPECIAL_START:
                    value = text
                elif c == "'" or c == '"':
                    value = text[1:-1]
                elif c == "{" or c == "[":
                    value = {} if c == "{" else []
                else:
                    value = resolve_plain(text)
            if in_list:
                if key is not None:
                    return NOT_SIMPLE
                current.append(value)
                if opens:
                    opened = (current, len(current) - 1)
                    indent += 2
                    continue
            else:
                if key is None or key in current:
                    return NOT_SIMPLE
                current[key] = value
                if opens:
                    opened = (current, key)
            break
    return NOT_SIMPLE if opened is not None else top[""]


# --- block collections --------------------------------------------------------------


def parse_block_node(src: str, pos: Pos, col: int, indent: int) -> Tuple[Pos, Any]:
    """node := sequence | mapping | value, starting at pos (column col > indent)."""
    c = src[pos]
    if c == "-" and is_dash(src, pos):
        return parse_block_sequence(src, pos, col)
    if c == '"' or c == "'":
        end, _ = parse_quoted(src, pos)
        if RE_COLON.match(src, end):
            return parse_block_mapping(src, pos, col)
    else:
        # a key needs a ':'; looking for one first spares the regex on most values
        eol = src.find("\n", pos)
        if src.find(":", pos, eol if eol >= 0 else len(src)) >= 0 and RE_KEY.match(src, pos):
            return parse_block_mapping(src, pos, col)
    return parse_value(src, pos, indent)


def parse_block_mapping(src: str, pos: Pos, indent: int) -> Tuple[Pos, Dict[str, Any]]:
    """mapping := (key ':' [value | nested node])+, every key at column `indent`."""
    result: Dict[str, Any] = {}
    key_pos: Dict[str, Pos] = {}
    n = len(src)
    while True:
        m = RE_ENTRY.match(src, pos)
        if m is not None:
            key, text, spaces = m.groups()
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
            pos, result[key] = parse_nested(src, vpos, indent, in_mapping=True)
        else:
            pos, result[key] = parse_value(src, vpos, indent)
        if sibling_column(src, pos, indent) < indent:
            return pos, result


def parse_nested(src: str, pos: Pos, indent: int, *, in_mapping: bool) -> Tuple[Pos, Any]:
    """The value of a key or item with nothing after its indicator (pos is at the line
    end or a comment): the node indented more on the next lines, a sequence at the
    key's own column, or None."""
    eol = src.find("\n", pos)
    pos = len(src) if eol < 0 else skip_lines(src, eol + 1)
    if pos < len(src):
        col = column(src, pos)
        if col > indent:
            return parse_block_node(src, pos, col, indent)
        if in_mapping and col == indent and is_dash(src, pos):
            return parse_block_sequence(src, pos, col, in_mapping=True)
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


def bad_indentation(src: str, pos: Pos, indent: int) -> YAMLError:
    found = column(src, pos) + 1
    return error(src, pos, f"Bad indentation: expected column {indent + 1}, found column {found}")


def duplicate_error(src: str, pos: Pos, end: Pos, key: str, first: Pos) -> YAMLError:
    message = f"Duplicate key {key!r} (first defined on line {line_of(src, first)})"
    return error(src, pos, message, end - pos)


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
    src: str, pos: Pos, indent: int, in_mapping: bool = False
) -> Tuple[Pos, List[Any]]:
    """sequence := ('-' [node])+, every '-' at column `indent`."""
    items: List[Any] = []
    n = len(src)
    while True:
        m = RE_ITEM.match(src, pos)
        if m is not None:
            nxt, col = line_after(src, m, m.group(2))
            if col <= indent:
                items.append(resolve_plain(m.group(1)))
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
            pos, value = parse_nested(src, p, indent, in_mapping=False)
        else:
            pos, value = parse_block_node(src, p, indent + p - pos, indent)
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


def parse_value(src: str, pos: Pos, indent: int) -> Tuple[Pos, Any]:
    """value := flow | quoted | block scalar | plain, then the end of the line.

    `indent` is the column of the enclosing block collection: continuation lines of a
    plain scalar and the content of a block scalar must be indented more.
    """
    c = src[pos]
    if c == "[" or c == "{":
        end, value = parse_flow_node(src, pos)
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


def parse_plain(src: str, pos: Pos, indent: int) -> Tuple[Pos, Any]:
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


def resolve_plain(text: str) -> Any:
    """The value of a plain scalar under the YAML 1.2 core schema."""
    value = WORDS.get(text, text)
    if value is not text:
        return value
    c = text[0]
    if c in NUMBER_START:
        if RE_INT.match(text):
            return int(text)
        if RE_FLOAT.match(text):
            return float(text)
        if c == "0" and RE_HEX.match(text):
            return int(text[2:], 16)
        if c == "0" and RE_OCT.match(text):
            return int(text[2:], 8)
    elif c in "tTfF" and len(text) in (4, 5):
        lower = text.lower()
        if lower == "true":
            return True
        if lower == "false":
            return False
    return text


# --- quoted scalars -----------------------------------------------------------------


def parse_quoted(src: str, pos: Pos) -> Tuple[Pos, str]:
    """quoted := "'" (char | "''")* "'" | '"' (char | escape)* '"'"""
    if src[pos] == "'":
        m = RE_SINGLE.match(src, pos)
        if m is None:
            raise error(src, pos, "Unclosed single-quoted string: expected a closing \"'\"")
        text = m.group(1)
        if "''" in text:
            text = text.replace("''", "'")
        if "\n" in text:
            text = fold_lines(text)
        return m.end(), text
    m = RE_DOUBLE.match(src, pos)
    if m is None:
        raise error(src, pos, "Unclosed double-quoted string: expected a closing '\"'")
    text = m.group(1)
    if "\\" in text or "\n" in text:
        text = unescape(src, pos + 1, text)
    return m.end(), text


def fold_lines(text: str) -> str:
    """Fold the line breaks of a multi-line quoted scalar: one break is a space."""
    lines = text.split("\n")
    out = [lines[0].rstrip(" \t")]
    breaks = 0
    for i, line in enumerate(lines[1:], 1):
        line = line.strip(" \t") if i < len(lines) - 1 else line.lstrip(" \t")
        if not line and i < len(lines) - 1:
            breaks += 1
            continue
        out.append("\n" * breaks if breaks else " ")
        out.append(line)
        breaks = 0
    return "".join(out)


def unescape(src: str, start: Pos, text: str) -> str:
    """The value of a double-quoted scalar's text (at src[start:]): escapes and folding."""
    out: List[str] = []
    i = 0
    while True:
        j = text.find("\\", i)
        k = text.find("\n", i)
        if j < 0 and k < 0:
            out.append(text[i:])
            return "".join(out)
        if k >= 0 and (j < 0 or k < j):
            out.append(text[i:k].rstrip(" \t"))
            i, breaks = skip_breaks(text, k)
            out.append("\n" * (breaks - 1) if breaks > 1 else " ")
            continue
        out.append(text[i:j])
        c = text[j + 1 : j + 2]
        if c == "\n":
            i, breaks = skip_breaks(text, j + 1)
            out.append("\n" * (breaks - 1))
        elif c in ESCAPES:
            out.append(ESCAPES[c])
            i = j + 2
        elif c in HEX_ESCAPES:
            width = HEX_ESCAPES[c]
            digits = text[j + 2 : j + 2 + width]
            if len(digits) < width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                bad = text[j : j + 2 + width]
                message = f"Invalid escape sequence '{bad}': expected {width} hex digits after '\\{c}'"
                raise error(src, start + j, message, len(bad))
            out.append(chr(int(digits, 16)))
            i = j + 2 + width
        else:
            message = f"Invalid escape sequence '{text[j:j + 2]}' in a double-quoted string"
            raise error(src, start + j, message, 2)


def skip_breaks(text: str, k: int) -> Tuple[int, int]:
    """From the line break at k: the position after the following blank lines and the
    indentation, and how many line breaks there were."""
    breaks = 0
    i = k
    while i < len(text) and text[i] == "\n":
        breaks += 1
        i += 1
        while i < len(text) and text[i] in " \t":
            i += 1
    return i, breaks


# --- block scalars ------------------------------------------------------------------


def parse_block_scalar(src: str, pos: Pos, indent: int) -> Tuple[Pos, str]:
    """block scalar := ('|' | '>') [digit] ['-' | '+'] line break, indented lines."""
    m = RE_BLOCK_HEADER.match(src, pos)
    if m is None:
        token = rest_of_line(src, pos).strip()
        message = (
            f"Invalid block scalar header {token!r}: expected '|' or '>', then an optional"
            " indentation digit and '-' or '+'"
        )
        raise error(src, pos, message, len(token))
    folded = src[pos] == ">"
    digit = m.group(1) or m.group(4)
    chomp = m.group(2) or m.group(3)
    content = max(indent, 0) + int(digit) if digit else -1
    n = len(src)
    p = m.end()
    lines: List[Optional[str]] = []  # None for an empty line
    ends_with_break = m.group().endswith("\n")
    while p < n:
        eol = src.find("\n", p)
        if eol < 0:
            eol = n
        line = src[p:eol]
        body = line.lstrip(" ")
        spaces = len(line) - len(body)
        if not body and (content < 0 or spaces <= content):
            lines.append(None)
        else:
            if content < 0:
                if spaces <= indent:
                    break
                content = spaces
            elif spaces < content:
                break
            lines.append(line[content:])
        ends_with_break = eol < n
        p = eol + 1
    p = min(p, n)
    last = len(lines) - 1
    while last >= 0 and lines[last] is None:
        last -= 1
    chunks: List[str] = []
    pending = 0
    previous: Optional[str] = None
    for line in lines[: last + 1]:
        if line is None:
            pending += 1
            continue
        if previous is None:
            chunks.append("\n" * pending)
        elif folded and previous[:1] not in (" ", "\t") and line[:1] not in (" ", "\t"):
            chunks.append("\n" * pending if pending else " ")
        else:
            chunks.append("\n" * (pending + 1))
        chunks.append(line)
        pending = 0
        previous = line
    trailing = len(lines) - last - 1  # empty lines after the last content line
    breaks = trailing + (1 if last >= 0 else 0) - (0 if ends_with_break else 1)
    if chomp == "+":
        chunks.append("\n" * max(breaks, 0))
    elif chomp != "-" and last >= 0 and breaks > 0:
        chunks.append("\n")
    return skip_lines(src, p), "".join(chunks)


# --- flow collections ---------------------------------------------------------------


def parse_flow_node(src: str, pos: Pos) -> Tuple[Pos, Any]:
    """flow node := flow sequence | flow mapping | quoted | plain"""
    c = src[pos] if pos < len(src) else ""
    if c == "[":
        return parse_flow_sequence(src, pos)
    if c == "{":
        return parse_flow_mapping(src, pos)
    pos, text, plain = parse_flow_scalar(src, pos)
    return pos, resolve_plain(text) if plain else text


def parse_flow_scalar(src: str, pos: Pos) -> Tuple[Pos, str, bool]:
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


def parse_flow_sequence(src: str, pos: Pos) -> Tuple[Pos, List[Any]]:
    """flow sequence := '[' [flow node (',' flow node)* [',']] ']'"""
    start = pos
    items: List[Any] = []
    pos = RE_FLOW_SPACE.match(src, pos + 1).end()
    while True:
        c = src[pos] if pos < len(src) else ""
        if c == "]":
            return pos + 1, items
        if not c:
            raise flow_error(src, start, pos, "sequence", "]")
        if c == "{" or c == "[":
            pos, item = parse_flow_node(src, pos)
        else:
            pos, text, plain = parse_flow_scalar(src, pos)
            pos = RE_FLOW_SPACE.match(src, pos).end()
            after = src[pos + 1 : pos + 2]
            if src[pos : pos + 1] == ":" and (not plain or after in (" ", "\t", "\n", ",", "]", "")):
                # a single-pair mapping: [a: 1] is [{a: 1}]
                pos = RE_FLOW_SPACE.match(src, pos + 1).end()
                value = None
                if src[pos : pos + 1] not in (",", "]", ""):
                    pos, value = parse_flow_node(src, pos)
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


def parse_flow_mapping(src: str, pos: Pos) -> Tuple[Pos, Dict[str, Any]]:
    """flow mapping := '{' [key [':' [flow node]] (',' ...)* [',']] '}'"""
    start = pos
    result: Dict[str, Any] = {}
    key_pos: Dict[str, Pos] = {}
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
                pos, value = parse_flow_node(src, pos)
                pos = RE_FLOW_SPACE.match(src, pos).end()
        result[key] = value
        c = src[pos] if pos < len(src) else ""
        if c == ",":
            pos = RE_FLOW_SPACE.match(src, pos + 1).end()
        elif c != "}":
            raise flow_error(src, start, pos, "mapping", "}")
