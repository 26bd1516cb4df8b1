"""The command-line grammar: overrides, sweeps and +sweep, the command line, the expansion of sweeps.

    override := '~' key | ('++' | '+')? key '=' value
    key      := NAME ('.' NAME)*
    value    := ('range' | 'choice') '(' elements ')' | elements
    elements := element (',' element)*
    range    := 'range(' number (',' number (',' number)?)? ')'
    element  := a YAML flow value, or nothing (null)

A value with more than one element is a sweep. Commas inside quotes or brackets, and a
comma after a backslash, do not separate elements. Each element is read with
yaml.load_value (the YAML 1.2 core schema, quoted scalars, flow [..] and {..}).
"""
from __future__ import annotations

from itertools import product

from .. import yaml
from .._values import nesting
from ..yaml import MAX_NESTING
from ..errors import OverrideError, TinyxpError, YAMLError
from ._tokenizer import Tokenizer, split_elements

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

    from ._range import Range

KINDS = ("set", "add", "force", "delete")
PREFIXES = {"set": "", "add": "+", "force": "++", "delete": "~"}
SWEEP_TOKEN = "+sweep"
INF = float("inf")
# the most runs a sweep may describe unless xp.max_runs says otherwise
DEFAULT_MAX_RUNS = 100_000

GRAMMAR_HELP = """\
overrides:
  key=VALUE           set an existing key             optimizer.lr=0.01
  +key=VALUE          add a key that does not exist   +data.augment=true
  ++key=VALUE         add or set a key                ++seed=3
  ~key                delete a key                    ~scheduler
  GROUP=OPTION        choose a config group option    model=vit
  xp.NAME=VALUE       a tinyxp setting                xp.log_dir=runs

  VALUE is YAML: 0.1, 1e-3, true, null, 'a string', [1, 2], {a: 1}

sweeps (every combination is run; the first swept key varies slowest):
  +sweep, -m          allow a sweep                   +sweep lr=1e-3,1e-4 seed=range(3)
  a,b,c               comma-separated values          model=resnet,vit
  range([a, ]b[, s])  numbers from a (0) below b      seed=range(1, 4)
                      by step s (1), ints or floats   lr=range(0.1, 0.4, 0.1)
  choice(a, b)        the listed values               opt=choice(sgd, adam)
  'a,b' or a\\,b       not a sweep: one string         msg='a,b'
"""


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


class Override(_FrozenRecord):
    """One command-line override: kind is set, add (+), force (++) or delete (~)."""

    FIELDS = ("kind", "key", "value", "text")
    kind: str
    key: str
    value: Any
    text: str


class CommandLine(_Record):
    """What parse_command_line found: the overrides and the flags."""

    FIELDS = ("overrides", "multirun", "show_config")
    overrides: list[Override]
    multirun: bool
    show_config: bool



# --- parsing --------------------------------------------------------------------------


def parse_override(text: str) -> Override:
    """override := '~' key | ('++' | '+')? key '=' value

    Raises OverrideError with the token and a caret under the problem.
    """
    tokenizer = Tokenizer(text)
    if tokenizer.check("TILDE"):
        tokenizer.read()
        key = _parse_key(tokenizer, after=" after '~'")
        if not tokenizer.at_end():
            tokenizer.raise_syntax_error(
                f"Expected the end of the token after '~{key}', got {tokenizer.found()} (a deletion takes no value)",
                end=len(text),
            )
        return Override("delete", key, None, text)
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
    """key := NAME ('.' NAME)*"""
    names = [tokenizer.expect("NAME", expected=f"a key name{after}").text]
    while tokenizer.check("DOT"):
        tokenizer.read()
        names.append(tokenizer.expect("NAME", expected="a key name after '.'").text)
    return ".".join(names)


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
        return Sweep(tuple(_parse_element(source, s, e, in_sweep=True) for s, e in spans))
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


# --- the command line -----------------------------------------------------------------


def parse_command_line(args: Sequence[str], *, prog: str = "train.py", config_help: Callable[[], str] | None = None) -> CommandLine:
    """Parse a launched script's arguments: the override tokens, +sweep, -m, --cfg, --help.

    --help prints the usage, the override grammar and config_help() (the composed
    config), then raises SystemExit(0). Raises OverrideError for a bad token or a key
    given twice.
    """
    args = list(args)
    if any(arg.startswith("-") for arg in args):
        namespace = _build_parser(prog, config_help).parse_intermixed_args(args)
        tokens, multirun, show_config = namespace.overrides, namespace.multirun, namespace.cfg
    else:  # argparse (a few ms to import) would hand every token back as it is
        tokens, multirun, show_config = args, False, False
    overrides: list[Override] = []
    seen: dict[str, Override] = {}
    for token in tokens:
        if token == SWEEP_TOKEN:
            multirun = True
            continue
        override = parse_override(token)
        if override.key in seen:
            raise OverrideError(
                f"Cannot override {override.key!r} twice (also in {seen[override.key].text!r})",
                source=token, pos=len(PREFIXES[override.kind]), length=len(override.key),
            )
        seen[override.key] = override
        overrides.append(override)
    return CommandLine(overrides, multirun, show_config)


def _build_parser(prog: str, config_help: Callable[[], str] | None) -> Any:
    import argparse  # only for options: a few ms to import

    class HelpAction(argparse.Action):
        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
            parser.print_help()
            if config_help is not None:
                try:
                    text = f"# the composed config\n{config_help()}"
                except TinyxpError as err:
                    text = f"# Cannot compose the config:\n{err}"
                print(f"\n{text.rstrip()}")
            parser.exit()

    parser = argparse.ArgumentParser(
        prog=prog, add_help=False, epilog=GRAMMAR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="key=VALUE, +key=VALUE, ++key=VALUE, ~key, +sweep")
    parser.add_argument("-h", "--help", action=HelpAction, nargs=0, default=argparse.SUPPRESS,
                        help="show this help, the override grammar and the config, and exit")
    parser.add_argument("-m", "--multirun", action="store_true", help="run every combination of the swept values (same as +sweep)")
    parser.add_argument("--cfg", action="store_true", help="print the composed config and exit")
    return parser


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
    if kind == "delete":
        return f"~{key}"
    if isinstance(value, Sweep):
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
