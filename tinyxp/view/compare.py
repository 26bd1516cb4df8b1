"""What `tinyxp compare` prints: runs side by side, by default only what differs.

Sections: config keys, group choices, code (commit, branch, dirty, patch, and `git diff
--stat` between the commits when the repository is on this machine), the run (status,
host, duration) and metric summaries with their difference from the first run.
"""
from __future__ import annotations

import hashlib
import os

from .._commands import CommandNotRun, run_command
from ..errors import ReaderError
from ..read.row import summarize
from ..read.text import format_cell, format_table
from .table import UNCUT
from .runs import COUNTERS

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from ..read.reader import Reader
    from ..read.row import Row

GIT_TIMEOUT = 10  # seconds for `git diff --stat`: a slow network file system must not hang the command
RUN_KEYS = ("info.status", "info.hostname", "info.duration_s", "info.start_time", "info.scheduler.job_id")
CODE_KEYS = ("info.git.commit", "info.git.branch", "info.git.dirty")


def compare_runs(reader: Reader, run_ids: Sequence[str], *, show_all: bool = False) -> str:
    """The text of `tinyxp compare`: one column per run, one table per section.

    Raises ReaderError for fewer than two runs, a run given twice or an unknown id.
    """
    if len(run_ids) < 2:
        raise ReaderError(f"Expected at least two runs to compare, got {len(run_ids)}: {' '.join(run_ids) or 'none'}")
    twice = next((run_id for i, run_id in enumerate(run_ids) if run_id in run_ids[:i]), None)
    if twice is not None:
        raise ReaderError(f"Expected different runs to compare, got run {twice} twice")
    rows = [reader.run(run_id) for run_id in run_ids]
    header = ["", *(f"run {row.run_id}" for row in rows)]
    sections = [
        ("config", static_lines(rows, sorted_keys(rows, "config."), show_all)),
        ("choices", static_lines(rows, sorted_keys(rows, "info.choices."), show_all)),
        ("code", static_lines(rows, CODE_KEYS, show_all) + patch_lines(rows, show_all)),
        ("run", static_lines(rows, RUN_KEYS, show_all)),
        ("metrics", metric_lines(reader, rows, show_all)),
    ]
    out = []
    for title, lines in sections:
        if lines:
            out.append(f"{title}:\n" + indent(format_table(header, lines)))
    diff = git_diff_stats(rows)
    if diff:
        out.append("git diff --stat:\n" + indent(diff))
    if not out:
        return f"Runs {', '.join(run_ids)} differ in nothing tinyxp recorded (--all shows everything)"
    return "\n".join(out)


def indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))


def sorted_keys(rows: Sequence[Row], prefix: str) -> list[str]:
    return sorted({key for row in rows for key in row.static if key.startswith(prefix)})


def differ(values: Sequence[Any]) -> bool:
    return any(value != values[0] or type(value) is not type(values[0]) for value in values)


def static_lines(rows: Sequence[Row], keys: Sequence[str], show_all: bool) -> list[list[str]]:
    lines = []
    for key in keys:
        values = [row.static.get(key) for row in rows]
        if (show_all and any(value is not None for value in values)) or differ(values):
            shown = [format_duration(value) for value in values] if key == "info.duration_s" else [format_cell(value, UNCUT) for value in values]
            lines.append([key.split(".", 1)[1] if key.startswith("info.") else key, *shown])
    return lines


def format_duration(seconds: Any) -> str:
    """12.5 -> '12.5s', 3725 -> '1h02m05s'; anything else as a cell."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds != seconds:
        return format_cell(seconds)
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def patch_lines(rows: Sequence[Row], show_all: bool) -> list[list[str]]:
    """The uncommitted changes each run kept (metadata/uncommitted.patch): lines and a short hash."""
    described = [describe_patch(row) for row in rows]
    return [["patch", *described]] if show_all or differ(described) else []


def describe_patch(row: Row) -> str:
    relative = row.static.get("info.git.patch")
    if not isinstance(relative, str) or row.run_dir is None:
        return "none"
    try:
        with open(os.path.join(row.run_dir, relative), "rb") as file:
            data = file.read()
    except OSError as err:
        return f"unreadable ({err.strerror})"
    lines = data.count(b"\n")
    return f"{lines} lines, sha {hashlib.sha256(data).hexdigest()[:8]}"


def metric_lines(reader: Reader, rows: Sequence[Row], show_all: bool) -> list[list[str]]:
    """last/min/max of every metric column, each after the first run's with its difference."""
    columns = list(dict.fromkeys(column for row in rows for column in row.metric_columns()))
    lines = []
    for column in columns:
        if column.rsplit(".", 1)[-1] in COUNTERS and not show_all:
            continue
        stats = [summarize(row[column]) if column in row.metric_columns() else {} for row in rows]
        for function in ("last", "min", "max"):
            values = [stat.get(function) for stat in stats]
            if show_all or differ(values):
                lines.append([f"{function}({column})", *(with_delta(value, values[0]) for value in values[:1]),
                              *(with_delta(value, values[0], True) for value in values[1:])])
    return lines


def with_delta(value: Any, first: Any, delta: bool = False) -> str:
    """The value, and after a later run's number its difference from the first run's: `0.5 (-0.1)`."""
    text = format_cell(value, UNCUT)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, first))
    if delta and numbers and value == value and first == first:
        return f"{text} ({value - first:+.3g})"
    return text


def git_diff_stats(rows: Sequence[Row]) -> str:
    """`git diff --stat` from the first run's commit to each other commit, where the repository is here."""
    first = rows[0].static.get("info.git.commit")
    root = rows[0].static.get("info.git.root")
    if not isinstance(first, str) or not isinstance(root, str) or not os.path.isdir(root):
        return ""
    parts = []
    for commit in dict.fromkeys(row.static.get("info.git.commit") for row in rows[1:]):
        if not isinstance(commit, str) or commit == first:
            continue
        title = f"{first[:12]}..{commit[:12]}"
        try:
            status, out, err = run_command(["git", "-C", root, "diff", "--stat", first, commit], timeout=GIT_TIMEOUT)
        except CommandNotRun as failure:
            parts.append(f"{title}: cannot run git: {failure.reason}")
            continue
        text = (out if status == 0 else err).decode(errors="replace").rstrip("\n")
        parts.append(f"{title}:" + ("" if status == 0 else f" git exited with status {status}") + "\n" + indent(text or "(no changes)"))
    return "\n".join(parts)
