"""Check per-module coverage floors against coverage.py's JSON report (`coverage json`).

    python3 .ci/coverage_floors.py coverage.json \
        --floor 100 'yaml: tinyxp/yaml.py | tinyxp/yaml/*.py' 'query: tinyxp/query.py | tinyxp/read/query.py'

Each CONCEPT argument is `name: pattern | pattern ...`: the alternative names of one part of
the package (modules move; a concept keeps its floor wherever it lives). `--floor N` sets
the floor, in percent of lines and branches together (coverage's own measure), of the
concepts after it. Patterns are globs on paths relative to the current folder, matched one
path component at a time (`*` does not cross a `/`).

Fails (exit 1), naming each file under its floor with its percentage and its missing lines
and branches, and naming each concept none of whose patterns matches a measured file (a
module renamed without its floor following it, or not measured at all). Standard library only.
"""
from __future__ import annotations

import fnmatch
import json
import os
import sys
from typing import Dict, List, Tuple

USAGE = "usage: coverage_floors.py REPORT.json (--floor PERCENT | 'NAME: GLOB | GLOB ...')..."


def parse_args(argv: List[str]) -> Tuple[str, List[Tuple[float, str, List[str]]]]:
    """The report's path and the concepts as (floor, name, patterns)."""
    if not argv or argv[0].startswith("-"):
        raise SystemExit(USAGE)
    report, rest = argv[0], argv[1:]
    floor = None
    concepts = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--floor":
            if i + 1 >= len(rest):
                raise SystemExit("--floor needs a percentage\n" + USAGE)
            try:
                floor = float(rest[i + 1])
            except ValueError:
                raise SystemExit(f"--floor {rest[i + 1]!r}: not a number\n" + USAGE) from None
            i += 2
            continue
        name, colon, patterns = arg.partition(":")
        alternatives = [p.strip() for p in patterns.split("|") if p.strip()]
        if not colon or not name.strip() or not alternatives:
            raise SystemExit(f"{arg!r}: expected 'NAME: GLOB | GLOB ...'\n" + USAGE)
        if floor is None:
            raise SystemExit(f"{arg!r}: no --floor before it\n" + USAGE)
        concepts.append((floor, name.strip(), alternatives))
        i += 1
    if not concepts:
        raise SystemExit("no concept to check\n" + USAGE)
    return report, concepts


def relative(path: str) -> str:
    """A report's file name as a /-separated path relative to the current folder."""
    if os.path.isabs(path):
        path = os.path.relpath(path)
    return path.replace(os.sep, "/")


def matches(path: str, pattern: str) -> bool:
    """Whether the path matches the glob, component by component."""
    parts, globs = path.split("/"), pattern.strip("/").split("/")
    return len(parts) == len(globs) and all(fnmatch.fnmatchcase(p, g) for p, g in zip(parts, globs))


def ranges(numbers: List[int]) -> str:
    """1, 2, 3, 7 -> '1-3, 7'."""
    spans: List[List[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def branches(pairs: List[List[int]]) -> str:
    """[[12, 14], [20, -1]] -> '12->14, 20->exit'."""
    return ", ".join(f"{a}->{b if b > 0 else 'exit'}" for a, b in pairs)


def main(argv: List[str]) -> int:
    report, concepts = parse_args(argv)
    with open(report, encoding="utf-8") as file:
        files: Dict[str, dict] = {relative(name): data for name, data in json.load(file)["files"].items()}
    failures = 0
    for floor, name, alternatives in concepts:
        found = sorted(path for path in files if any(matches(path, p) for p in alternatives))
        if not found:
            print(f"FAIL {name}: no measured file matches {' | '.join(alternatives)}")
            failures += 1
            continue
        for path in found:
            summary = files[path]["summary"]
            percent = summary["percent_covered"]
            if percent >= floor:
                print(f"ok   {name}: {path} {percent:.1f}% (floor {floor:g}%)")
                continue
            failures += 1
            print(f"FAIL {name}: {path} {percent:.2f}% < floor {floor:g}%"
                  f" ({summary['missing_lines']} lines, {summary.get('missing_branches', 0)} branches missing)")
            missing_lines = files[path].get("missing_lines") or []
            missing_branches = files[path].get("missing_branches") or []
            if missing_lines:
                print(f"       missing lines: {ranges(missing_lines)}")
            if missing_branches:
                print(f"       missing branches: {branches(missing_branches)}")
    print(f"coverage floors: {'FAILED, ' + str(failures) + ' under floor or unmatched' if failures else 'all hold'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
