"""Fuzzing the three languages tinyxp reads: YAML, the override grammar and the query language.

    python -m tests.bench.fuzz --seconds 600          # ten minutes, from seed 0
    python -m tests.bench.fuzz --seconds 60 --seed 7  # another sequence of inputs

Random inputs, built from each language's own pieces (brackets, quotes, indicators,
keywords, deep nesting, huge numbers) and from mutations of valid documents, go through
yaml.load and load_value, parse_command_line and expand_sweeps, interpolation, and
parse and compile_query. Any exception that is not a TinyxpError is a fault: the input
that raised it is printed with its traceback. tests/test_fuzz.py runs a few thousand
inputs with a fixed seed in CI; this module runs as long as asked.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
import traceback
from typing import Callable, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tinyxp import yaml  # noqa: E402
from tinyxp.config.interpolate import resolve_interpolations  # noqa: E402
from tinyxp.config.command_line import parse_command_line  # noqa: E402
from tinyxp.config.overrides import expand_sweeps  # noqa: E402
from tinyxp.errors import TinyxpError  # noqa: E402
from tinyxp.read.query import compile_query  # noqa: E402

YAML_PIECES = [
    "a", "b", "key", "0", "1", "-1", "1e3", "0x1f", "0o7", ".5", ".inf", "-.inf", ".nan", "true", "null", "~", "yes",
    ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "#", " #", "'", '"', "''", "\\", "\\n", "\\u12", "\\x4",
    "|", ">", "|-", ">+", "|2", "&a", "*a", "!!str", "?", "%", "@", "`", "---", "...", " ", "  ", "\t", "\n", "\n  ", "\n- ",
    "${a}", "${", "}", "${env:HOME}", "${.a}", "é", "\u2028", "\ufeff", "\r\n", "9" * 1200, "9" * 4400, "1" * 40,
]
OVERRIDE_PIECES = [
    "a", "b", "lr", "seed", "xp", ".", "=", "+", "++", "~", ",", " ", "\\,", "'", '"', "[", "]", "{", "}", ":",
    "range(", "choice(", ")", "0", "1", "3", "-2", "1e308", "1e-300", "0.1", "inf", ".nan", "true", "null", "x" * 5,
    "9" * 1200, "9" * 4400, "${a}", "xp.max_runs=", "xp.log_dir=", "=~", "+sweep",
]
QUERY_PIECES = [
    "config.a", "config.b", "info.status", "train.loss", "last(", "min(", "count(", "max(", ")", "(", "not ", "~", "!",
    " & ", " | ", " and ", " or ", " in ", " not in ", "[", "]", ",", "==", "!=", "<", "<=", ">", ">=", "=", "1", "-2.5",
    "1e9", "'x'", '"y"', "'", '"', "true", "null", "None", "\\", " ", "_", "7" * 1200, "7" * 4400, "config.a == 1",
]
VALID_YAML = [
    "a: 1\nb:\n  c: [1, 2, {d: e}]\n  f: 'g'\n",
    "- a\n- b: 1\n  c: 2\n- [x, y]\n",
    "s: |\n  line\n  more\nt: >-\n  folded\n  text\n",
    "x: ${a}\na: 1\nb: \"${x}-${a}\"\n",
    "---\nk: \"esc \\u00e9 \\t\"\nl: 'it''s'\n",
]
FIELDS = {"config.a": "int", "config.b": "str", "info.status": "str", "train.loss": "list[float]"}


def glue(rng: random.Random, pieces: List[str], most: int) -> str:
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, most)))


def nested(rng: random.Random, opening: str, closing: str, inner: str) -> str:
    depth = rng.choice([1, 5, 99, 100, 101, 250, 500, 3000])
    return opening * depth + inner + closing * rng.choice([0, depth, depth // 2])


def mutate(rng: random.Random, text: str, pieces: List[str]) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(chars))
        action = rng.random()
        if action < 0.4:
            chars[at:at] = list(rng.choice(pieces))
        elif action < 0.7 and chars:
            del chars[at : at + rng.randint(1, 3)]
        elif chars:
            chars[min(at, len(chars) - 1)] = rng.choice("-:[]{},#'\"|> \n\t~&*!?")
    return "".join(chars)


def yaml_input(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.4:
        return glue(rng, YAML_PIECES, 30)
    if choice < 0.7:
        return mutate(rng, rng.choice(VALID_YAML), YAML_PIECES)
    if choice < 0.85:
        return "a: " + nested(rng, rng.choice("[{"), "]", "1")
    return "".join("  " * i + "k:\n" for i in range(rng.choice([3, 99, 100, 101, 300]))) + rng.choice(["  v: 1\n", "- x\n", ""])


def override_tokens(rng: random.Random) -> List[str]:
    tokens = []
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.5:
            tokens.append(glue(rng, OVERRIDE_PIECES, 12))
        elif choice < 0.7:
            tokens.append(f"{rng.choice(['', '+', '++'])}k={rng.choice(['range', 'choice'])}({glue(rng, OVERRIDE_PIECES, 6)})")
        elif choice < 0.85:
            tokens.append("+x=" + nested(rng, rng.choice("[{"), rng.choice("]}"), "a"))
        else:
            tokens.append("+" + ".".join(["k"] * rng.choice([2, 100, 101, 400])) + "=1")
    return [token.lstrip("-") for token in tokens]  # a leading '-' is an option, for argparse


def query_input(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.6:
        return glue(rng, QUERY_PIECES, 20)
    if choice < 0.8:
        return nested(rng, rng.choice(["(", "not ", "~"]), ")", "config.a == 1")
    return "config.a in " + nested(rng, "[", "]", "1")


def check_yaml(text: str) -> None:
    try:
        value = yaml.load(text, path="fuzz.yaml")
    except TinyxpError:
        value = None
    if isinstance(value, dict):
        resolve_interpolations(value)
    yaml.load_value(text)


def check_overrides(tokens: List[str]) -> None:
    line = parse_command_line(tokens)
    expand_sweeps(line.overrides, multirun=True, max_runs=1000)


def check_query(text: str) -> None:
    predicate = compile_query(text, FIELDS)
    predicate({"config.a": 1, "config.b": "x", "info.status": "COMPLETE"}, lambda function, column: 0.5)


def cases(rng: random.Random) -> List[Tuple[str, Callable[[], None], str]]:
    """One input of each language: (language, the check to run, the input as shown)."""
    text, tokens, query = yaml_input(rng), override_tokens(rng), query_input(rng)
    return [
        ("yaml", lambda: check_yaml(text), repr(text)),
        ("overrides", lambda: check_overrides(tokens), repr(tokens)),
        ("query", lambda: check_query(query), repr(query)),
    ]


def fuzz(seed: int, *, count: Optional[int] = None, seconds: Optional[float] = None) -> Tuple[int, List[str]]:
    """(inputs tried, faults): each fault the language, the input and its traceback."""
    rng = random.Random(seed)
    faults: List[str] = []
    tried = 0
    deadline = time.monotonic() + seconds if seconds is not None else None
    while (count is None or tried < count) and (deadline is None or time.monotonic() < deadline):
        for language, check, shown in cases(rng):
            tried += 1
            try:
                check()
            except TinyxpError:
                pass
            except Exception:  # noqa: BLE001 - a fault is anything else
                faults.append(f"{language} {shown[:300]}\n{traceback.format_exc(limit=-3)}")
    return tried, faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (default: 60)")
    parser.add_argument("--seed", type=int, default=0, help="the first input's seed (default: 0)")
    args = parser.parse_args()
    start = time.monotonic()
    tried, faults = fuzz(args.seed, seconds=args.seconds)
    for fault in faults[:20]:
        print(fault, file=sys.stderr)
    print(f"{tried} inputs in {time.monotonic() - start:.0f} s, {len(faults)} faults")
    raise SystemExit(1 if faults else 0)


if __name__ == "__main__":
    main()
