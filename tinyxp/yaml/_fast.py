"""The fast path of load: a document in the shape dump() writes, read line by line.

The reader loads the config.yaml and info.yaml of thousands of runs, all written by
dump(): block mappings and sequences, `key: value` on one line, `key:` with the nested
collection indented on the next lines, items `- value` that may open a collection on
their own line (`- key: value`, `- - x`), strings quoted only when they must be or as
literal block scalars (`|-`), {} and [] for empty collections. load_fast reads that
shape with string methods and dict lookups; anything else (a comment, a tab, a flow
collection, a folded scalar, a scalar over several lines, a quoted key, every mistake)
is NOT_FAST and left to the general parser (_parser.py), which also gives the errors.
So the fast path never decides what a document means: it only reads, faster, the
documents whose meaning is plain, and tests/test_yaml_fast.py checks it against the
general parser.
"""
from __future__ import annotations

from ..errors import YAMLError
from . import _re
from ._scalars import MAX_NESTING, MAX_NUMBER_DIGITS, parse_block_scalar, parse_quoted, resolve_plain

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

NOT_FAST = object()

# What a line does, once read (LINES keeps it): a line is (indent, kind, key, value).
ENTRY = 0  # `key: value` in a mapping
ENTRY_NEW = 1  # `key: {}` or `key: []`: value is dict or list, called for a new one
OPEN = 2  # `key:`, the nested collection on the next lines
ITEM = 3  # `- value` in a sequence
ITEM_NEW = 4  # `- {}` or `- []`
OPEN_ITEMS = 5  # items that open collections on their line: `- key: value`, `- - x`;
# key is what they open ('{' a mapping, '[' a sequence), one per '- ' of the line but
# the last of `- - x`, and value the line's (kind, key, value) in the innermost one
# The kinds whose line starts with '- ': a collection opened by the line before is a list
ITEM_KINDS = (ITEM, ITEM_NEW, OPEN_ITEMS)
# The column of the collection after a `key:`, until its first line says which it is
OPENED = -2

# The lines already read, as read: a lab's runs share most of their lines (the same
# keys, the same settings, the same host), so most lines are read once per process. The
# values kept are str, int, float, bool or None, which the documents may then share.
LINES: dict[str, tuple[int, int, Any, Any]] = {}
MAX_LINES = 20000  # then LINES starts again, so that unique lines cannot fill memory
MAX_LINE_KEPT = 200  # characters: longer lines (a command, a message) are seldom seen twice

# The characters a plain scalar may start with when it is something else than a string
# (a number, a word like null or true), or when the value is not a plain scalar at all
# (quotes, flow collections, indicators): scalar() looks closer at those.
SPECIAL_START = frozenset("0123456789+-.~nNtTfF'\"{[]},#&*!|>%@`?: ")
# The characters a plain scalar may not start with ('-', '?' and ':' may when a
# non-space follows).
NOT_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")
DIGITS = frozenset("0123456789")
# The headers of the literal block scalars that dump() writes, which join_blocks reads
BLOCK_HEADERS = ("|", "|-", "|+")


def load_fast(text: str) -> Any:
    """The value of a document in the shape dump() writes, or NOT_FAST.

    `text` has no byte-order mark and no '\\r\\n' (load removes them).
    """
    if text[-1:] != "\n" or "\t" in text or "\r" in text:
        return NOT_FAST  # a tab may change what a line means
    lines = text.split("\n")
    lines.pop()  # after the last line break
    try:
        if "|" in text:
            joined = join_blocks(lines)
            if joined is None:
                return NOT_FAST
            lines = joined
        return read_lines(lines)
    except YAMLError:  # an integer too long: the general parser says where
        return NOT_FAST


def read_lines(lines: list[str]) -> Any:
    """The document made of these lines, or NOT_FAST."""
    holder: dict[str, Any] = {}
    stack: list[tuple[int, Any, bool]] = []  # the enclosing collections
    current: Any = holder  # the innermost collection, its column, whether a list
    col, in_list = OPENED, False
    opened: Any = (holder, "", -1)  # (collection, key or index, column) of a `key:` or `-`
    known = LINES.get
    for line in lines:
        read = known(line)
        if read is None:
            read = read_line(line)
            if read is None:
                return NOT_FAST
            if len(line) <= MAX_LINE_KEPT:
                if len(LINES) >= MAX_LINES:
                    LINES.clear()
                LINES[line] = read
        indent, kind, key, value = read
        if indent != col:
            if opened is not None:
                collection, slot, col = opened
                if indent <= col or len(stack) == MAX_NESTING:
                    return NOT_FAST  # `key:` and nothing nested, or too deep: the general parser says
                stack.append((col, current, in_list))
                in_list = kind in ITEM_KINDS
                collection[slot] = current = [] if in_list else {}
                col, opened = indent, None
            elif indent > col:
                return NOT_FAST  # a scalar over several lines, or bad indentation
            else:
                while indent < col:
                    col, current, in_list = stack.pop()
                if indent != col:
                    return NOT_FAST
        if kind == ENTRY:
            if in_list or key in current:
                return NOT_FAST  # a duplicate key is an error
            current[key] = value
        elif kind == ITEM:
            if not in_list:
                return NOT_FAST
            current.append(value)
        else:
            state = read_other(kind, key, value, current, col, in_list, stack)
            if state is None:
                return NOT_FAST
            current, col, in_list, opened = state
    return NOT_FAST if opened is not None else holder[""]


def read_other(kind: int, key: Any, value: Any, current: Any, col: int, in_list: bool, stack: list) -> Any:
    """What the lines of the other kinds do: (current, col, in_list, opened), or None."""
    if kind == OPEN_ITEMS:
        for opens in key:
            if not in_list or len(stack) == MAX_NESTING:
                return None
            stack.append((col, current, in_list))
            new: Any = [] if opens == "[" else {}
            current.append(new)
            col, current, in_list = col + 2, new, opens == "["
        kind, key, value = value
    opened = None
    if kind < ITEM:
        if in_list or key in current:
            return None
        if kind == OPEN:
            current[key] = None
            opened, col = (current, key, col), OPENED
        else:
            current[key] = value if kind == ENTRY else value()
    else:
        if not in_list:
            return None
        current.append(value if kind == ITEM else value())
    return current, col, in_list, opened


def read_line(line: str) -> tuple[int, int, Any, Any] | None:
    """What a line does (see LINES), or None when the fast path does not read it."""
    if line[:1] == " ":
        body = line.lstrip(" ")
        indent = len(line) - len(body)
    else:
        body, indent = line, 0
    if body[:2] == "- ":
        return read_items(body, indent)
    key, colon, text = body.partition(": ")
    if colon:
        if text[:1] not in SPECIAL_START and text[-1:] not in ": " and ": " not in text and " #" not in text:
            value, kind = text, ENTRY  # a plain string, the usual value (as in scalar)
        else:
            value = scalar(text)
            if value is NOT_FAST:
                return None
            kind = ENTRY if value is not dict and value is not list else ENTRY_NEW
    elif body[-1:] == ":":
        key, kind, value = key[:-1], OPEN, None
    else:
        return None  # a blank line, a scalar alone, a mistake
    if key.isidentifier() or is_plain_key(key):
        return indent, kind, key, value
    return None


def read_items(body: str, indent: int) -> tuple[int, int, Any, Any] | None:
    """What a line that starts with '- ' does, or None."""
    opens = ""
    body = body[2:]
    while body[:2] == "- ":
        opens += "["
        body = body[2:]
    if body[:1] in ("'", '"') or not (": " in body or body[-1:] == ":"):
        value = scalar(body)
        if value is NOT_FAST:
            return None
        read = (ITEM if value is not dict and value is not list else ITEM_NEW, None, value)
    else:
        line = read_line(body)  # the first line of a mapping
        if line is None or line[0] != 0:
            return None
        read = line[1:]
        opens += "{"
    return (indent, OPEN_ITEMS, opens, read) if opens else (indent, *read)


def scalar(text: str) -> Any:
    """The value of a scalar that fills the rest of a line, or NOT_FAST; dict or list
    for {} and [] (a new one for each document)."""
    if not text:
        return NOT_FAST
    c = text[0]
    if c not in SPECIAL_START:
        if text[-1] in ": " or ": " in text or " #" in text:
            return NOT_FAST  # an error, a space the general parser would strip, a comment
        return text
    if c == "'" or c == '"':
        if len(text) > 1 and text[-1] == c and c not in text[1:-1] and "\\" not in text:
            return text[1:-1]
        return quoted(text)
    if c in DIGITS and text.isascii():  # the usual numbers without a regular expression
        if text.isdigit():
            if len(text) <= MAX_NUMBER_DIGITS:  # else resolve_plain says why not
                return int(text)
        elif text.replace(".", "", 1).isdigit():
            return float(text)
    if text == "{}":
        return dict
    if text == "[]":
        return list
    if c in NOT_PLAIN_START and (c not in "-?:" or text[1:2] in ("", " ")):
        return NOT_FAST  # a flow collection, an indicator, '- ' or '? '
    if text[-1] in ": " or ": " in text or " #" in text:
        return NOT_FAST
    return resolve_plain(text)


def join_blocks(lines: list[str]) -> list[str] | None:
    """The lines, each literal block scalar that dump() writes (`key: |-` or `- |`, then
    its indented lines) made one line, with its value as a double-quoted scalar.

    parse_block_scalar reads the block, with the column of its collection: the value is
    the general parser's. None when the block does not end where its indented lines do."""
    joined: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        i += 1
        header = line[line.rfind(" ") + 1 :]
        if header not in BLOCK_HEADERS:
            joined.append(line)
            continue
        body = line.lstrip(" ")
        col = len(line) - len(body)  # of the collection that holds the block
        dashes = 0
        while body[:2] == "- ":
            body = body[2:]
            dashes += 1
        if body == header and dashes:
            col += 2 * dashes - 2  # an item: the column of its '- '
        elif body.partition(": ")[2] == header:
            col += 2 * dashes  # a key: its column
        else:
            joined.append(line)  # not a block scalar: read_line says what it is
            continue
        start, margin = i - 1, " " * (col + 1)
        while i < n and (not lines[i] or lines[i].startswith(margin)):
            i += 1
        src = "\n".join(lines[start:i]) + "\n"
        at = len(line) - len(header)
        end, value = parse_block_scalar(src, at, col)
        if end != len(src):
            return None  # the block ends earlier: the general parser says what follows
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        joined.append(f'{line[:at]}"{escaped}"')
    return joined


def quoted(text: str) -> Any:
    """A quoted scalar with escapes ('' or backslashes) that fills its line, or NOT_FAST."""
    try:
        end, value = parse_quoted(text, 0)
    except YAMLError:
        return NOT_FAST
    return value if end == len(text) else NOT_FAST


def is_plain_key(key: str) -> bool:
    """Whether the general parser reads `key: ` as this key (for keys that are not
    identifiers): RE_KEY says what a key is, and no document marker starts the line."""
    if not key or key.startswith(("---", "...")):
        return False
    m = _re.RE_KEY.match(key + ": ")
    return m is not None and m.group(1) == key
