"""What `tinyxp runs` and `tinyxp show` print: the columns of the runs table, one run's text."""
from __future__ import annotations

import os

from .._contract import INFO_FILE, METADATA_DIR
from .._files import read_notes
from ..errors import ReaderError, TinyxpError
from ..read.frame import check_column
from ..read.files import UnreadableFile, load_metadata
from ..read.index import list_artifacts, metric_names, reason
from ..read.query import SUMMARIES, Field, not_a_metric_message, parse_column, unknown_summary_message
from ..read.mlxp import metric_relative_path
from ..read.row import SHORT_NAMES, Artifact, read_metric_file, summarize
from ..read.status import DEFAULT_LOST_AFTER, is_lost, silence_allowed
from ..read.text import format_cell, format_table
from ..yaml import dump

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable

    from ..read.frame import DataFrame
    from ..read.reader import Reader


# metric keys that count progress rather than measure it: left out of the default columns
COUNTERS = frozenset(("epoch", "epochs", "step", "steps", "global_step", "iter", "iters", "iteration", "batch", "batch_idx", "it"))


def default_columns(reader: Reader, runs: DataFrame | None = None) -> list[str]:
    """id, status, tags (when a run has one), the config keys that vary across runs, last(...) of each metric but counters.

    `runs` is reader.runs when the caller has it already.
    """
    runs = reader.runs if runs is None else runs
    varying = runs.diff("config.")
    metrics = [name for name, kind in reader.fields.items() if kind.startswith("list[") and name.rsplit(".", 1)[-1] not in COUNTERS]
    tags = ["tags"] if any(row.get("tags") for row in runs) else []
    return ["id", "status", *tags, *varying, *(f"last({name})" for name in metrics)]


def parse_sort(text: str) -> list[str]:
    """The sort columns of --sort, `-KEY` for descending: `a,-b`, `b:desc` and `a:asc` are read.

    Raises ReaderError when there is none.
    """
    keys = []
    for key in text.split(","):
        key = key.strip()
        name, _, direction = key.rpartition(":")
        if direction in ("asc", "desc") and name:
            key = ("-" if direction == "desc" else "") + name
        if key.lstrip("-"):
            keys.append(key)
    if not keys:
        raise ReaderError(f"Expected at least one column name in --sort, got {text!r}")
    return keys


def table_rows(reader: Reader, df: DataFrame, columns: list[str]) -> list[list[Any]]:
    """The value of each column for each row; columns may be `last(train.loss)` and the like.

    An artifact column gives the artifact's path. Raises ReaderError for an unknown
    column (with did-you-mean) or function, or a summary of a column that is not a metric.
    """
    getters = [column_getter(reader, column) for column in columns]
    rows = [[get(row) for get in getters] for row in df]
    reader.save_index()  # the summaries cached while reading
    return [[value.path if isinstance(value, Artifact) else value for value in row] for row in rows]


def column_getter(reader: Reader, column: str) -> Callable[[Any], Any]:
    """The function giving a row's value of a table column; raises ReaderError for a bad column."""
    parsed = parse_column(column)
    if isinstance(parsed, Field):
        check_column(column, [*SHORT_NAMES, *reader.fields])
        name = SHORT_NAMES.get(column, column)
        return lambda row: row.get(name)
    function, name = parsed.function, parsed.name
    if function not in SUMMARIES:
        raise ReaderError(unknown_summary_message(function, f" in {column!r}"))
    metrics = [field for field, kind in reader.fields.items() if kind.startswith("list[")]
    if name in reader.fields and name not in metrics:
        raise ReaderError(not_a_metric_message(function, name))
    check_column(name, metrics, f" in {column!r} (a metric column)")
    return lambda row: reader.summary(row, function, name)


def describe_run(run_dir: str, lost_after: float = DEFAULT_LOST_AFTER) -> str:
    """The text `tinyxp show` prints: config, info, metric summaries, tags, note and artifacts of one run.

    Raises ReaderError when run_dir is not a run directory; a metadata file that cannot
    be read is named in its section, and the rest is shown.
    """
    info_path = os.path.join(run_dir, METADATA_DIR, INFO_FILE)
    if not os.path.lexists(info_path):
        what = "does not exist" if not os.path.exists(run_dir) else "is not a run directory (no metadata/info.yaml)"
        raise ReaderError(f"Cannot show {run_dir!r}: it {what}")
    sections = []
    for part in ("config", "info"):
        try:
            data, _ = load_metadata(run_dir, f"{part}.yaml")
        except FileNotFoundError:
            sections.append(f"{part}: (missing metadata/{part}.yaml)")
            continue
        except (OSError, UnicodeDecodeError, TinyxpError) as err:  # damaged: show the rest
            sections.append(f"{part}: (cannot read metadata/{part}.yaml: {reason(err)})")
            continue
        if part == "info" and isinstance(data, dict) and data.get("status") == "RUNNING":
            if is_lost(run_dir, silence_allowed(lost_after, data.get("heartbeat_interval"))):
                data["status"] = "LOST"
        body = dump(data).rstrip("\n") if data else "{}"
        sections.append(f"{part}:\n" + "\n".join("  " + line for line in body.split("\n")))
    rows, unreadable = [], []
    for log_name in metric_names(run_dir):
        relative = metric_relative_path(run_dir, log_name)
        try:
            columns = read_metric_file(run_dir, relative)
        except UnreadableFile as err:
            unreadable.append(f"  {relative}: (cannot read: {err.reason})")
            continue
        except OSError as err:
            raise ReaderError(f"Cannot read metrics file {os.path.join(run_dir, relative)!r}: {err.strerror}") from None
        for key, values in columns.items():
            stats = summarize(values)
            rows.append([f"{log_name}.{key}", *(format_cell(stats[f]) for f in ("count", "last", "min", "max"))])
    if rows:
        table = format_table(["metric", "count", "last", "min", "max"], rows)
        sections.append("metrics:\n" + "\n".join(["  " + line for line in table.split("\n")] + unreadable))
    else:
        sections.append("metrics: (none)" + "".join("\n" + line for line in unreadable))
    notes = read_notes(run_dir)
    if notes["tags"]:
        sections.append(f"tags: {', '.join(notes['tags'])}")
    if notes["note"] is not None:
        sections.append(f"note: {notes['note']}")
    artifacts = list_artifacts(run_dir)
    if artifacts:
        sections.append("artifacts:\n" + "\n".join(f"  {a}" for a in artifacts))
    return "\n".join(sections)
