"""The command-line grammar: overrides, sweeps and +sweep, the command line, the expansion of sweeps.

    override := '~' key ('=' value)? | ('++' | '+')? key '=' value
    key      := NAME (('.' | '/') NAME)* ('@' NAME ('.' NAME)*)?
    value    := ('range' | 'choice') '(' elements ')' | random | elements
    elements := element (',' element)*
    range    := 'range(' number (',' number (',' number)?)? ')'
    random   := ('uniform' | 'loguniform' | 'randint') '(' number ',' number ')'
    element  := a YAML flow value, or nothing (null)

A value with more than one element is a sweep; a random one is sampled by search.py. Commas inside quotes or brackets, and a
comma after a backslash, do not separate elements. Each element is read with
yaml.load_value (the YAML 1.2 core schema, quoted scalars, flow [..] and {..}).
"""
from __future__ import annotations

from itertools import product

from .. import yaml
from .._values import nesting
from ..yaml import MAX_NESTING
from ..errors import OverrideError, YAMLError
from ._tokenizer import Tokenizer, split_elements

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from ._range import Range

KINDS = ("set", "add", "force", "delete")
PREFIXES = {"set": "", "add": "+", "force": "++", "delete": "~"}
INF = float("inf")
# the most runs a sweep may describe unless xp.max_runs says otherwise
DEFAULT_MAX_RUNS = 100_000


class _Fields:
    """Fields given in order of FIELDS, compared and shown as a dataclass would.

    Written by hand: dataclasses imports inspect, a few ms at every launch.
    """

    FIELDS: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        values = dict(zip(self.FIELDS, args), **kwargs)
        if len(args) + len(kwargs) != len(self.FIELDS) or set(values) != set(self.FIELDS):
            raise TypeError(f"{type(self).__name__}() takes the arguments {', '.join(self.FIELDS)}")
        for name in self.FIELDS:
            object.__setattr__(self, name, values[name])

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Fields) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self) -> Any:
        return (type(self), self._values())


class _Record(_Fields):
    """Fields that may be set again, unhashable like a dataclass."""

    __hash__ = None  # type: ignore[assignment]


class _FrozenRecord(_Fields):
    """Fields that cannot be set again, hashable like a frozen dataclass."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._values())


class Sweep(_FrozenRecord):
    """The values a swept key takes, in order: a tuple, or a lazy range (_range.Range)."""

    FIELDS = ("values",)
    values: tuple

    @property
    def size(self) -> int:
        """How many values, counted without making them: a range may have more than memory holds."""
        return getattr(self.values, "size", None) or len(self.values)


class Choice(Sweep):
    """The values of choice(...): a sweep, or in a random search (xp.trials) a value sampled from them."""


class Distribution(_FrozenRecord):
    """A value sampled in a random search: uniform, loguniform or randint between low and high."""

    FIELDS = ("name", "low", "high")
    name: str
    low: Any
    high: Any


RANDOM_FUNCTIONS = ("uniform", "loguniform", "randint")


class Override(_FrozenRecord):
    """One command-line override: kind is set, add (+), force (++) or delete (~)."""

    FIELDS = ("kind", "key", "value", "text")
    kind: str
    key: str
    value: Any
    text: str


# --- parsing --------------------------------------------------------------------------


def parse_override(text: str) -> Override:
    """override := '~' key ('=' value)? | ('++' | '+')? key '=' value

    `~key=value` deletes only when key holds value (a group: when value is its option).
    Raises OverrideError with the token and a caret under the problem.
    """
    tokenizer = Tokenizer(text)
    if tokenizer.check("TILDE"):
        tokenizer.read()
        key = _parse_key(tokenizer, after=" after '~'")
        if tokenizer.at_end():
            return Override("delete", key, None, text)
        if not tokenizer.check("EQUALS"):
            tokenizer.raise_syntax_error(
                f"Expected '=' or the end of the token after '~{key}', got {tokenizer.found()}", end=len(text)
            )
        tokenizer.read()
        return Override("delete", key, _parse_value(tokenizer), text)
    kind, after = "set", ""
    if tokenizer.check("PLUSPLUS"):
        kind, after = "force", " after '++'"
        tokenizer.read()
    elif tokenizer.check("PLUS"):
        kind, after = "add", " after '+'"
        tokenizer.read()
    key = _parse_key(tokenizer, after=after)
    if not tokenizer.check("EQUALS"):
        if tokenizer.at_end():
            tokenizer.raise_syntax_error(f"Expected '=' and a value after the key {key!r}")
        tokenizer.raise_syntax_error(f"Expected '=' after the key {key!r}, got {tokenizer.found()}")
    tokenizer.read()
    if tokenizer.check("EQUALS"):
        tokenizer.raise_syntax_error(
            f"Expected a value after '{key}=', got '=' (quote a value that starts with '=')"
        )
    value_start = tokenizer.position
    value = _parse_value(tokenizer)
    depth = key.count(".") + 1 + _nesting(value)
    if depth > MAX_NESTING:
        raise OverrideError(
            f"Cannot nest a value more than {MAX_NESTING} levels deep: the key {key!r} and its value nest {depth} deep",
            source=text, pos=value_start, length=len(text) - value_start,
        )
    return Override(kind, key, value, text)


def _nesting(value: Any) -> int:
    """How deep a value nests, or the deepest of a sweep's values (a range's are numbers)."""
    if isinstance(value, Sweep):
        return max(map(nesting, value.values), default=0) if isinstance(value.values, tuple) else 0
    return nesting(value)


def _parse_key(tokenizer: Tokenizer, *, after: str) -> str:
    """key := NAME (('.' | '/') NAME)* ('@' NAME ('.' NAME)*)?

    A '/' names a nested config group (db/mysql), '@' its package (db@backup).
    """
    key = tokenizer.expect("NAME", expected=f"a key name{after}").text
    while tokenizer.check("DOT") or tokenizer.check("SLASH"):
        separator = tokenizer.read().text
        key += separator + tokenizer.expect("NAME", expected=f"a key name after {separator!r}").text
    if tokenizer.check("AT"):
        tokenizer.read()
        key += "@" + tokenizer.expect("NAME", expected="a package after '@'").text
        while tokenizer.check("DOT"):
            tokenizer.read()
            key += "." + tokenizer.expect("NAME", expected="a key name after '.'").text
    return key


def _parse_value(tokenizer: Tokenizer) -> Any:
    """value := ('range' | 'choice') '(' elements ')' | elements"""
    source, start = tokenizer.source, tokenizer.position
    if tokenizer.check("FUNCTION"):
        function = tokenizer.read()
        spans, close = split_elements(source, tokenizer.position, closing=")")
        if close is None:
            tokenizer.raise_syntax_error(
                f"Expected ')' to close {function.text!r}", start=function.position + len(function.text) - 1
            )
        if close + 1 < len(source):
            tokenizer.raise_syntax_error(
                f"Expected the end of the token after ')', got {source[close + 1]!r}", start=close + 1, end=len(source)
            )
        name = function.text[:-1]
        if name == "range":
            return Sweep(_parse_range(source, function.position, spans))
        if name in RANDOM_FUNCTIONS:
            return _parse_random(source, name, function.position, spans)
        return Choice(tuple(_parse_element(source, s, e, in_sweep=True) for s, e in spans))
    spans, _ = split_elements(source, start)
    if len(spans) == 1:
        return _parse_element(source, start, len(source), in_sweep=False)
    return Sweep(tuple(_parse_element(source, s, e, in_sweep=True) for s, e in spans))


def _parse_element(source: str, start: int, end: int, *, in_sweep: bool) -> Any:
    """element := a YAML flow value, or nothing (null)

    Read with yaml.load_value; nothing is an error in a sweep.
    """
    raw = source[start:end]
    text = raw.strip()
    offset = start + len(raw) - len(raw.lstrip())
    if not text:
        if in_sweep:
            where = "before" if end < len(source) and source[end] == "," else "after"
            near = end if where == "before" else max(start - 1, 0)
            raise OverrideError(f"Expected a value {where} {source[near]!r}", source=source, pos=near)
        return None
    if text[0] not in "'\"[{":
        text = text.replace("\\,", ",")
    try:
        return yaml.load_value(text)
    except YAMLError as err:
        pos = offset + min(err.pos or 0, len(text) - 1)
        raise OverrideError(f"Invalid value {text!r}: {err.message}", source=source, pos=pos) from None


def _parse_range(source: str, start: int, spans: list[tuple[int, int]]) -> Range:
    """range := 'range(' number (',' number (',' number)?)? ')'

    range(stop), range(start, stop) or range(start, stop, step) of ints or floats.
    """
    whole = (start, spans[-1][1] + 1)
    if len(spans) > 3 or (len(spans) == 1 and not source[spans[0][0]:spans[0][1]].strip()):
        count = len(spans) if len(spans) > 1 else 0
        raise OverrideError(
            f"Expected range(stop), range(start, stop) or range(start, stop, step), got {count} arguments",
            source=source, pos=whole[0], length=whole[1] - whole[0],
        )
    numbers = []
    for s, e in spans:
        value = _parse_element(source, s, e, in_sweep=True)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value in (INF, -INF) or value != value:
            text = source[s:e].strip()
            raise OverrideError(
                f"Expected a finite number as argument of range(), got {text!r}",
                source=source, pos=s + len(source[s:e]) - len(source[s:e].lstrip()), length=len(text),
            )
        numbers.append(value)
    if len(numbers) == 1:
        numbers.insert(0, 0)
    if len(numbers) == 2:
        numbers.append(1)
    first, stop, step = numbers
    if step == 0:
        s, e = spans[2]
        raise OverrideError("Cannot use a step of 0 in range()", source=source, pos=s + len(source[s:e]) - len(source[s:e].lstrip()))
    from ._range import Range  # only for a range

    values = Range(first, stop, step)
    if not values.size:
        raise OverrideError(
            f"Cannot sweep over an empty range: {source[whole[0]:whole[1]]!r} has no values",
            source=source, pos=whole[0], length=whole[1] - whole[0],
        )
    return values


def _parse_random(source: str, name: str, start: int, spans: list[tuple[int, int]]) -> Distribution:
    """random := ('uniform' | 'loguniform' | 'randint') '(' number ',' number ')'

    low < high (low <= high for randint, whose bounds are integers and both included);
    loguniform's bounds are positive.
    """
    whole = (start, spans[-1][1] + 1)
    if len(spans) != 2:
        count = 0 if len(spans) == 1 and not source[spans[0][0]:spans[0][1]].strip() else len(spans)
        raise OverrideError(f"Expected {name}(low, high), got {count} argument{'' if count == 1 else 's'}",
                            source=source, pos=whole[0], length=whole[1] - whole[0])
    bounds = []
    for s, e in spans:
        value = _parse_element(source, s, e, in_sweep=True)
        text = source[s:e].strip()
        integer = isinstance(value, int) and not isinstance(value, bool)
        pos = s + len(source[s:e]) - len(source[s:e].lstrip())
        finite = isinstance(value, float) and value - value == 0  # not inf or nan, without importing math
        if not (integer or (finite and name != "randint")):
            kind = "an integer" if name == "randint" else "a finite number"
            raise OverrideError(f"Expected {kind} as argument of {name}(), got {text!r}", source=source, pos=pos, length=len(text))
        if name == "loguniform" and value <= 0:
            raise OverrideError(f"Invalid bound {text!r} of loguniform(): expected a positive number (its logarithm is sampled)",
                                source=source, pos=pos, length=len(text))
        bounds.append(value)
    low, high = bounds
    if high < low or (high == low and name != "randint"):
        relation = "<=" if name == "randint" else "<"
        raise OverrideError(f"Invalid bounds of {name}(): expected low {relation} high, got {low!r} and {high!r}",
                            source=source, pos=whole[0], length=whole[1] - whole[0])
    return Distribution(name, low, high)


# --- sweeps and settings --------------------------------------------------------------


def expand_sweeps(overrides: Sequence[Override], *, multirun: bool, max_runs: int = DEFAULT_MAX_RUNS) -> list[list[Override]]:
    """Every setting a sweep describes: the Cartesian product, the first swept key slowest.

    Without a sweep, one setting: the overrides as they are. The runs are counted before
    any is made: raises OverrideError for more than max_runs (xp.max_runs), naming each
    swept key and its count, and for a sweep when multirun is false, saying how many
    runs it describes.
    """
    swept = [o for o in overrides if isinstance(o.value, Sweep)]
    if not swept:
        return [list(overrides)]
    count = 1
    for override in swept:
        count *= override.value.size
    if count > max_runs:
        counts = ", ".join(f"{o.text!r} has {format_count(o.value.size)} values" for o in swept)
        raise OverrideError(
            f"Cannot expand a sweep of {format_count(count)} runs, more than xp.max_runs={max_runs}: {counts} "
            "(set xp.max_runs to allow more)"
        )
    if not multirun:
        tokens = " ".join(o.text for o in swept)
        raise OverrideError(
            f"Cannot run a sweep without +sweep: {tokens!r} describes {count} runs; "
            "add +sweep (or -m) to run them all"
        )
    choices = [
        [make_override(o.kind, o.key, v) for v in o.value.values] if isinstance(o.value, Sweep) else [o]
        for o in overrides
    ]
    return [list(setting) for setting in product(*choices)]


def format_count(count: int) -> str:
    """A count as a message shows it: digits, or 'about 10^N' past fifteen of them."""
    if count < 10**15:
        return str(count)
    return f"about 10^{int(count.bit_length() * 0.30103)}"  # str() refuses ints of over 4300 digits


def make_override(kind: str, key: str, value: Any) -> Override:
    """An Override whose text is the token that parses back to it."""
    return Override(kind, key, value, _token(kind, key, value))


def format_setting(setting: Sequence[Override]) -> str:
    """The setting as one line: 'optimizer.lr=0.01 seed=2'."""
    return " ".join(o.text for o in setting)


def setting_tokens(setting: Sequence[Override]) -> list[str]:
    """Command-line tokens (before shell quoting) that parse back to exactly this setting."""
    return [_token(o.kind, o.key, o.value) for o in setting]


def _token(kind: str, key: str, value: Any) -> str:
    if kind == "delete" and value is None:
        return f"~{key}"
    if isinstance(value, (Sweep, Distribution)):
        raise ValueError(f"Cannot write the sweep of {key!r} as a single token; expand_sweeps() first")
    prefix = f"{PREFIXES[kind]}{key}="
    token = prefix + yaml.dump_value(value)
    if isinstance(value, str) and not _reads_back(token, value):
        import json  # only for a string that needs quoting

        # a string that would read as a sweep, a range() or '=...': a double-quoted
        # scalar, whose escapes YAML shares with JSON
        token = prefix + json.dumps(value, ensure_ascii=False)
    return token


def _reads_back(token: str, value: Any) -> bool:
    try:
        parsed = parse_override(token).value
    except OverrideError:
        return False
    return type(parsed) is type(value) and parsed == value
