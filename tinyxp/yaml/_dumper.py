"""dump and dump_value: JSON-like values as YAML that load and load_value read back equal.

dump writes block style, dump_value one line for the command line. Both write a string
plain only when it reads back as itself, here and in YAML 1.1 (PyYAML, so MLXP and
Hydra's OmegaConf), and quote it otherwise.
"""
from __future__ import annotations

from collections.abc import Mapping

from . import _re
from ._re import YAML11_START
from ._scalars import MAX_NUMBER_DIGITS, NUMBER_START, WORDS, resolve_plain

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
# RE_WORD's characters: is_plain_in_block checks the common strings without a regex.
WORD_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_/")
WORD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=+-"
# The first characters _PLAIN_FIRST refuses ('-', '?' and ':' only before a space or the end).
NOT_PLAIN_FIRST = frozenset(" -?:,[]{}#&*!|>'\"%@`")
# What number_like_is_plain looks at: digits, the characters every number and date of
# RE_NUMBER and RE_YAML11 is written with, and the shape of a run's times.
DIGITS = frozenset("0123456789")
DIGITS_OR_UNDERSCORE = frozenset("0123456789_")
HEX_DIGITS = "0123456789abcdefABCDEF"
NUMBER_CHARS = "0123456789_+-.:eEbxoabcdefABCDEFTtZ \t"
TIME_SHAPE = "0000-00-00T00:00:00.000000+00:00"
# What RE_YAML11 matches among the strings that start with a letter, '<' or '='.
YAML11_WORDS = frozenset(["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "<<", "="])
# Keys and one-line strings as dump writes them, by text: a sweep writes the same keys
# and most of the same values in every run. Bounded: MAX_RENDERED texts, each short.
RENDERED: dict[str, str] = {}
MAX_RENDERED = 4096
MAX_RENDERED_LENGTH = 256


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
        key = (type(key) is str and RENDERED.get(key)) or dump_key(check_key(key))
        if type(value) is str:
            out.append(f"{prefix}{key}: {RENDERED.get(value) or dump_string(value, prefix)}\n")
        elif isinstance(value, SCALARS):
            out.append(f"{prefix}{key}: {dump_scalar(value, prefix)}\n")
        elif value and isinstance(value, (list, tuple)):
            out.append(f"{prefix}{key}:\n")
            dump_sequence(value, prefix + "  ", out)
        elif value and (type(value) is dict or isinstance(value, Mapping)):
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


def is_plain_in_block(text: str) -> bool:
    """can_be_plain(text, RE_BLOCK_SAFE), without a regex for the common strings.

    Words (RE_WORD), the other printable strings, and among those that start like a
    number the common ones (versions, run times, hashes) are decided here; the rest by
    can_be_plain's patterns.
    """
    first = text[:1]
    if first in WORD_FIRST and not text.strip(WORD_CHARS):  # RE_WORD matches
        return type(resolve_plain(text)) is str and text not in YAML11_WORDS
    if not text or not text.isprintable() or not block_safe(text):
        return False
    if first in NUMBER_START:  # a number, a date, a version, a hash
        plain = number_like_is_plain(text)
        return can_be_plain(text, RE_BLOCK_SAFE) if plain is None else plain
    return type(resolve_plain(text)) is str and text not in YAML11_WORDS


def number_like_is_plain(text: str) -> bool | None:
    """For a block-safe text starting with a digit, a sign or '.': whether neither RE_NUMBER
    nor RE_YAML11 matches it (nor is it a word like .inf), when that is plain to see; None
    when the patterns must say. The common cases: versions, run times, config hashes.
    """
    if text in WORDS:
        return False
    body = text[1:] if text[0] in "+-" else text
    if body[:1] not in DIGITS and (body[:1] != "." or body[1:2] not in DIGITS_OR_UNDERSCORE):
        return True  # every number and date of both patterns starts so
    if len(text) > MAX_NUMBER_DIGITS:
        return None  # a long integer is an error, which the patterns' path raises
    if text.strip(NUMBER_CHARS) or text.count(".") > 1:
        return True  # a character no number or date has, or two dots (a version)
    if is_run_time(text):
        return False  # a YAML 1.1 timestamp
    if text[0] in DIGITS and not text.strip(HEX_DIGITS):
        mantissa, e, exponent = text.lower().partition("e")
        if text.isdigit() or (e and mantissa.isdigit() and exponent.isdigit()):
            return False  # an integer or a float like 12e3
        return not (text.startswith("0b") and len(text) > 2 and not text[2:].strip("01"))  # YAML 1.1 binary
    return None


def is_run_time(text: str) -> bool:
    """Whether text has the shape of run/info.py's format_time (2026-12-08T10:20:30.123456+01:00)."""
    return len(text) == len(TIME_SHAPE) and all(
        (c in DIGITS) if shape == "0" else (c == shape or (shape == "+" and c == "-")) for c, shape in zip(text, TIME_SHAPE)
    )


def block_safe(text: str) -> bool:
    """RE_BLOCK_SAFE.match(text) for a non-empty printable text (so ' ' is its only space)."""
    first = text[0]
    if first in NOT_PLAIN_FIRST and (first not in "-?:" or text[1:2] in ("", " ")):
        return False
    return not (
        text.startswith(("---", "...")) or ": " in text or " #" in text or "  " in text or text[-1] in " :"
    )


def dump_key(key: str) -> str:
    return dump_string(key, "") if "\n" not in key else quote(key)


def dump_string(text: str, prefix: str) -> str:
    """A string on its line (or as a literal block); one-line results are kept in RENDERED."""
    if "\n" in text:
        literal = dump_literal(text, prefix + "  ")
        return literal if literal is not None else quote(text)
    rendered = text if is_plain_in_block(text) else quote(text)
    if len(RENDERED) < MAX_RENDERED and len(text) <= MAX_RENDERED_LENGTH:
        RENDERED[text] = rendered
    return rendered


def dump_scalar(obj: Any, prefix: str) -> str:
    """A scalar or an empty collection on one line (or a literal block for text)."""
    if isinstance(obj, str):
        return RENDERED.get(obj) or dump_string(obj, prefix)
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
