"""parse_simple: the fast path for documents in the shape dump() writes."""
from __future__ import annotations

from ._re import RE_SIMPLE_LINES
from ._scalars import resolve_plain

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

NOT_SIMPLE = object()
# How the values parse_simple does not take as they are start: quotes, {} and [], and
# the plain scalars that may be something else than a string
SPECIAL_START = frozenset("'\"{[0123456789+-.~nNtTfF")


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
    top: dict[str, Any] = {}
    stack: list[tuple[int, Any]] = []  # the enclosing collections, with their columns
    current: Any  # the innermost collection: a dict, or a list when in_list
    col, current, in_list = -1, top, False
    value: Any  # a scalar, {} or []
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
