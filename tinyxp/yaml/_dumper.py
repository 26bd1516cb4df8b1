"""dump and dump_value: JSON-like values as YAML that load and load_value read back equal.

dump writes block style, dump_value one line for the command line. Both write a string
plain only when it reads back as itself, here and in YAML 1.1 (PyYAML, so MLXP and
Hydra's OmegaConf), and quote it otherwise.
"""
from __future__ import annotations

from collections.abc import Mapping

from . import _re
from ._re import YAML11_START
from ._scalars import resolve_plain

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import re
    from typing import Any

# The patterns, assigned here rather than imported by name: CPython 3.11 and later
# compile `NAME.match(...)` on an imported NAME as an attribute load and a call, which
# made the general parser and dump() 5 to 10% slower than a method call on a global.
RE_BLOCK_SAFE = _re.RE_BLOCK_SAFE
RE_NEEDS_ESCAPE = _re.RE_NEEDS_ESCAPE
RE_VALUE_SAFE = _re.RE_VALUE_SAFE
RE_WORD = _re.RE_WORD
RE_YAML11 = _re.RE_YAML11

# How a double-quoted scalar writes the characters that have a short escape.
DUMP_ESCAPES = {
    "\0": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v",
    "\f": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\",
}
# What dump writes on the line of its key or item (with empty collections).
SCALARS = (str, int, float, type(None))


def dump(obj: Any) -> str:
    """Write a JSON-like value as block-style YAML that load() reads back equal.

    Raises TypeError for values other than dict (string keys), list, tuple, str, int,
    float, bool and None.
    """
    out: list[str] = []
    try:
        if isinstance(obj, Mapping) and obj:
            dump_mapping(obj, "", out)
        elif isinstance(obj, (list, tuple)) and obj:
            dump_sequence(obj, "", out)
    except RecursionError:
        raise ValueError("Cannot dump a value that contains itself or nests too deeply") from None
    if not out:
        out.append(dump_scalar(obj, ""))
        out.append("\n")
    return "".join(out)


def dump_value(obj: Any) -> str:
    """Write a JSON-like value on one line, in a form that load_value() reads back equal.

    Strings are quoted whenever their plain form would read back as something else or
    would hold a comma, bracket, quote, backslash or parenthesis (the override grammar
    gives those a meaning). Raises TypeError like dump().
    """
    try:
        return dump_flow(obj)
    except RecursionError:
        raise ValueError("Cannot dump a value that contains itself or nests too deeply") from None


def check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"Cannot dump the mapping key {key!r}: keys must be strings")
    return key


def dump_flow(obj: Any) -> str:
    if isinstance(obj, str):
        return obj if can_be_plain(obj, RE_VALUE_SAFE) else quote(obj)
    if isinstance(obj, Mapping):
        items = (f"{dump_flow(check_key(key))}: {dump_flow(value)}" for key, value in obj.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(dump_flow(item) for item in obj) + "]"
    return dump_scalar(obj, "")


def dump_mapping(obj: Mapping, prefix: str, out: list[str]) -> None:
    for key, value in obj.items():
        key = dump_key(check_key(key))
        if isinstance(value, SCALARS):
            out.append(f"{prefix}{key}: {dump_scalar(value, prefix)}\n")
        elif value and isinstance(value, (list, tuple)):
            out.append(f"{prefix}{key}:\n")
            dump_sequence(value, prefix + "  ", out)
        elif value and isinstance(value, Mapping):
            out.append(f"{prefix}{key}:\n")
            dump_mapping(value, prefix + "  ", out)
        else:
            out.append(f"{prefix}{key}: {dump_scalar(value, prefix)}\n")


def dump_sequence(obj: Any, prefix: str, out: list[str]) -> None:
    for item in obj:
        if isinstance(item, SCALARS) or not (item and isinstance(item, (list, tuple, Mapping))):
            out.append(f"{prefix}- {dump_scalar(item, prefix)}\n")
            continue
        # compact form: the first line of the nested block goes after the '- '
        inner: list[str] = []
        if isinstance(item, (list, tuple)):
            dump_sequence(item, prefix + "  ", inner)
        else:
            dump_mapping(item, prefix + "  ", inner)
        out.append(f"{prefix}- {inner[0][len(prefix) + 2:]}")
        out.extend(inner[1:])


def can_be_plain(text: str, safe: re.Pattern[str]) -> bool:
    """Whether `text` written plain reads back as itself, here and in YAML 1.1."""
    return (
        (RE_WORD.match(text) is not None or (safe.match(text) is not None and text.isprintable()))
        and type(resolve_plain(text)) is str
        and not (text[0] in YAML11_START and RE_YAML11.match(text))
    )


def dump_key(key: str) -> str:
    return key if can_be_plain(key, RE_BLOCK_SAFE) else quote(key)


def dump_scalar(obj: Any, prefix: str) -> str:
    """A scalar or an empty collection on one line (or a literal block for text)."""
    if isinstance(obj, str):
        if can_be_plain(obj, RE_BLOCK_SAFE):
            return obj
        if "\n" in obj:
            literal = dump_literal(obj, prefix + "  ")
            if literal is not None:
                return literal
        return quote(obj)
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        return dump_float(obj)
    if isinstance(obj, Mapping) and not obj:
        return "{}"
    if isinstance(obj, (list, tuple)) and not obj:
        return "[]"
    raise TypeError(
        f"Cannot dump {obj!r} of type {type(obj).__name__}: expected dict, list, str, int, float, bool or None"
    )


def dump_float(x: float) -> str:
    if x != x:
        return ".nan"
    if x in (float("inf"), float("-inf")):
        return ".inf" if x > 0 else "-.inf"
    text = float.__repr__(x)
    if "e" in text and "." not in text:
        # 1.0e-05 rather than 1e-05, so that YAML 1.1 readers (PyYAML) see a float too
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def dump_literal(text: str, prefix: str) -> str | None:
    """`text` as a literal block scalar `|`, or None when it would not read back equal."""
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    first = next((line for line in lines if line), None)
    if first is None or first[0] == " ":
        return None
    for line in lines:
        if line and (not line.isprintable() or line[-1] == " "):
            return None
    trailing = len(text) - len(text.rstrip("\n"))
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    return f"|{chomp}\n" + "\n".join(prefix + line if line else "" for line in lines)


def quote(text: str) -> str:
    """`text` in single quotes when it is printable, else in double quotes with escapes."""
    if "'" not in text and text.isprintable():
        return f"'{text}'"
    return '"' + RE_NEEDS_ESCAPE.sub(escape_char, text) + '"'


def escape_char(m: re.Match[str]) -> str:
    c = m.group()
    if c in DUMP_ESCAPES:
        return DUMP_ESCAPES[c]
    if c.isprintable():
        return c
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
