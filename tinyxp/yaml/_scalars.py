"""Scalars, and what the whole parser shares: positions, lines and errors.

The block parser (_parser.py) and the flow parser (_flow.py) both use these: where a
position is (column, line), where the next significant line starts (skip_lines), the
errors that point into the text, and the scalars: plain scalars resolved under the
YAML 1.2 core schema, quoted scalars, and block scalars.
"""
from __future__ import annotations

from ..errors import YAMLError
from . import _re

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

# The patterns, assigned here rather than imported by name: CPython 3.11 and later
# compile `NAME.match(...)` on an imported NAME as an attribute load and a call, which
# made the general parser and dump() 5 to 10% slower than a method call on a global.
RE_BLOCK_HEADER = _re.RE_BLOCK_HEADER
RE_DOUBLE = _re.RE_DOUBLE
RE_LINE_END = _re.RE_LINE_END
RE_NEXT = _re.RE_NEXT
RE_NUMBER = _re.RE_NUMBER
RE_SINGLE = _re.RE_SINGLE
RE_TOKEN = _re.RE_TOKEN

Pos = int

# How deep collections may nest in a config file, an override value, a query and what
# interpolation makes: deeper is an error, not a RecursionError (docs/configuration.md)
MAX_NESTING = 100
# How many characters an integer may have in YAML, an override or a query: Python
# refuses to convert (and to print) decimal integers of more than 4,300 digits
MAX_NUMBER_DIGITS = 1000

# The characters a number may start with: resolve_plain tries RE_NUMBER only on these.
NUMBER_START = frozenset("0123456789+-.")
# What may start a line that skip_lines must look into: indentation, a tab, a comment,
# a blank line, a document marker.
LINE_START_SPECIAL = frozenset(" \t#\n-.")
# The plain scalars that are not strings and not written with digits, as the core schema
# spells them (true and false may also be in any other case)
WORDS: dict[str, Any] = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
for _sign, _value in (("", 1), ("+", 1), ("-", -1)):
    for _inf in (".inf", ".Inf", ".INF"):
        WORDS[_sign + _inf] = _value * float("inf")
# The escapes of a double-quoted scalar, and how many hex digits follow \x, \u, \U.
ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
# The error for each indicator of a construct outside the subset.
INDICATORS = {
    "&": "Invalid anchor {!r}: anchors and aliases are not supported",
    "*": "Invalid alias {!r}: anchors and aliases are not supported",
    "!": "Invalid tag {!r}: tags are not supported",
    "%": "Invalid directive {!r}: directives are not supported",
    "@": "Invalid character {!r}: '@' is reserved; quote the value",
    "`": "Invalid character {!r}: '`' is reserved; quote the value",
}


# --- positions and errors -----------------------------------------------------------


def error(src: str, pos: Pos, message: str, length: int = 1) -> YAMLError:
    return YAMLError(message, source=src, pos=pos, length=length)


def nesting_error(src: str, pos: Pos) -> YAMLError:
    """The error for a collection nested one level deeper than MAX_NESTING."""
    return error(src, pos, f"Cannot nest collections more than {MAX_NESTING} levels deep")


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


def duplicate_error(src: str, pos: Pos, end: Pos, key: str, first: Pos) -> YAMLError:
    message = f"Duplicate key {key!r} (first defined on line {line_of(src, first)})"
    return error(src, pos, message, end - pos)


# --- lines --------------------------------------------------------------------------


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


# --- plain scalars ------------------------------------------------------------------


def resolve_plain(text: str) -> Any:
    """The value of a plain scalar under the YAML 1.2 core schema."""
    value = WORDS.get(text, text)
    if value is not text:
        return value
    c = text[0]
    if c in NUMBER_START:
        m = RE_NUMBER.match(text)
        if m is not None:
            kind = m.lastindex
            if len(text) > MAX_NUMBER_DIGITS and kind != 2:
                # Python refuses to convert longer decimal integers, and to print them
                raise YAMLError(f"Invalid integer {text[:12]}...: more than {MAX_NUMBER_DIGITS} digits; quote it to keep a string")
            if kind == 1:
                return int(text)
            if kind == 2:
                return float(text)
            return int(text[2:], 16 if kind == 3 else 8)  # 0x1f, 0o17
    elif c in "tTfF" and len(text) in (4, 5):
        lower = text.lower()
        if lower == "true":
            return True
        if lower == "false":
            return False
    return text


# --- quoted scalars -----------------------------------------------------------------


def parse_quoted(src: str, pos: Pos) -> tuple[Pos, str]:
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
    out: list[str] = []
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


def skip_breaks(text: str, k: int) -> tuple[int, int]:
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


def parse_block_scalar(src: str, pos: Pos, indent: int) -> tuple[Pos, str]:
    """block scalar := ('|' | '>') [digit] ['-' | '+'] line break, indented lines."""
    m = RE_BLOCK_HEADER.match(src, pos + 1)
    end = RE_LINE_END.match(src, m.end())
    if end is None:
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
    p = end.end()
    lines: list[str | None] = []  # None for an empty line
    ends_with_break = end.group().endswith("\n")
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
    chunks: list[str] = []
    pending = 0
    previous: str | None = None
    for text in lines[: last + 1]:
        if text is None:
            pending += 1
            continue
        if previous is None:
            chunks.append("\n" * pending)
        elif folded and previous[:1] not in (" ", "\t") and text[:1] not in (" ", "\t"):
            chunks.append("\n" * pending if pending else " ")
        else:
            chunks.append("\n" * (pending + 1))
        chunks.append(text)
        pending = 0
        previous = text
    trailing = len(lines) - last - 1  # empty lines after the last content line
    breaks = trailing + (1 if last >= 0 else 0) - (0 if ends_with_break else 1)
    if chomp == "+":
        chunks.append("\n" * max(breaks, 0))
    elif chomp != "-" and last >= 0 and breaks > 0:
        chunks.append("\n")
    return skip_lines(src, p), "".join(chunks)
