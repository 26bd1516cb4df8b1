"""Scanning run directories, and the index cache that makes the second scan cheap.

`Reader(log_dir)` lists the integer-named run directories of a log directory and keeps,
for each run, its flattened config and info, the names of its metric columns and its
artifacts. The index (`log_dir/.tinyxp/index.json`, JSON) remembers them with the
(size, mtime_ns) of metadata/info.yaml, metadata/config.yaml and each metrics file, so
that a refresh re-reads only new and changed runs.

Metric columns are learnt from the first and the last complete line of each
`metrics/<log_name>.jsonl` (the file is not parsed whole); a key that appears only in the
middle of a file becomes a column when that file's values are loaded.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import sys
import time
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..errors import ReaderError, TinyxpError, suggest
from .._values import FIELD_TYPES, type_name
from .frame import DataFrame
from .row import Row, summarize
from .._contract import is_run_id
from .._files import write_atomic
from ..yaml import load as load_yaml

INDEX_VERSION = 1
INDEX_NAME = "index.json"
LIVE_STATUSES = ("RUNNING", "PENDING")
PROGRESS_MIN_RUNS = 300
TAIL_BYTES = 4096
PEEK_BYTES = 4 * TAIL_BYTES
JSON_DECODE = json.JSONDecoder().decode
READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # no newline translation on Windows


class ReaderWarning(UserWarning):
    """Partial runs that were read in part, or an index that could not be written."""


class Reader:
    """The runs of one log directory, indexed: `len`, `fields`, `searchable`, `filter(query)`.

    `index_dir` is where the index goes when `log_dir` is not writable (default: a
    per-user cache folder); failing that it stays in memory. A RUNNING run whose
    heartbeat is older than `lost_after` seconds reads as status LOST. Raises
    ReaderError when `log_dir` is not a directory.
    """

    def __init__(self, log_dir: str, index_dir: Optional[str] = None, lost_after: float = 600, *, progress: Optional[bool] = None) -> None:
        if not os.path.isdir(log_dir):
            what = "is not a directory" if os.path.exists(log_dir) else "does not exist"
            raise ReaderError(f"Cannot read log directory {log_dir!r}: it {what}")
        self.log_dir = os.path.abspath(log_dir)
        self.lost_after = lost_after
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.index_paths = [os.path.join(self.log_dir, ".tinyxp", INDEX_NAME), fallback_index_path(self.log_dir, index_dir)]
        self.index_path: Optional[str] = None  # where the index was read or written; None: memory
        self.problems: List[Tuple[str, str]] = []
        self._dirty = False
        self._fields: Optional[Dict[str, str]] = None
        self._warned_memory = False
        self._entries: Dict[str, Dict[str, Any]] = self._load_index()
        self.refresh()

    # -- public surface --------------------------------------------------------------

    def __len__(self) -> int:
        return sum(1 for entry in self._entries.values() if "values" in entry)

    def __repr__(self) -> str:
        return f"Reader({self.log_dir!r}: {len(self)} runs)"

    @property
    def fields(self) -> Dict[str, str]:
        """Every column -> its type name: config.*, info.*, metric and artifact columns."""
        if self._fields is None:
            self._fields = collect_fields(self._entries.values())
        return self._fields

    @property
    def searchable(self) -> Dict[str, str]:
        """The config.* and info.* fields, which queries compare directly."""
        return {name: kind for name, kind in self.fields.items() if name.startswith(("config.", "info."))}

    @property
    def runs(self) -> DataFrame:
        """Every run, as a DataFrame (the same as `filter()`)."""
        return self.filter()

    def filter(self, query: Optional[str] = "") -> DataFrame:
        """The runs matching `query` (all runs when empty), in run id order.

        Raises QueryError for a syntax error, an unknown field or an impossible comparison.
        """
        rows = [self._row(run_id, entry) for run_id, entry in self._entries.items() if "values" in entry]
        if query and query.strip():
            from .query import compile_query

            predicate = compile_query(query, self.fields)
            rows = [row for row in rows if predicate(row.static, self._summarizer(row))]
            self._save_index()
        return DataFrame(rows)

    def summary(self, row: Row, function: str, column: str) -> Any:
        """last / min / max / count of a metric column of one run (None if it has none).

        Cached in the index for finished runs.
        """
        return self._summarizer(row)(function, column)

    def refresh(self) -> None:
        """Pick up new, changed and removed runs; re-read only what changed on disk."""
        old = self._entries
        entries: Dict[str, Dict[str, Any]] = {}
        to_read: List[Tuple[str, str, Optional[Dict[str, Any]]]] = []
        try:
            names = sorted_run_names(self.log_dir)
        except OSError as err:  # no permission to list it, or removed since
            raise ReaderError(f"Cannot read log directory {self.log_dir!r}: {err.strerror}") from None
        for name in names:
            run_dir = os.path.join(self.log_dir, name)
            entry = old.get(name)
            if entry is None:  # new: read_run takes the stamps of what it reads
                entries[name] = {}  # keeps the run id order
                to_read.append((name, run_dir, None))
                continue
            old_stamps = entry.get("stamps") or [None, None, {}]
            if entry.get("finished"):
                # a finished run's metrics and artifacts are final until info.yaml changes
                # (a resumed run rewrites it first): two stats instead of a folder scan
                metadata = f"{run_dir}/metadata/"
                unchanged = old_stamps[:2] == [file_stamp(metadata + "info.yaml"), file_stamp(metadata + "config.yaml")]
                metric_stamps = None
            else:
                stamps = stat_run(run_dir)
                unchanged = old_stamps == stamps
                metric_stamps = stamps[2]
            if unchanged:
                entries[name] = entry
                if not entry.get("finished") and "values" in entry:
                    entry["artifacts"] = list_artifacts(run_dir)
            else:
                entries[name] = {}
                to_read.append((name, run_dir, metric_stamps))
        progress = self.progress and len(to_read) > PROGRESS_MIN_RUNS
        for count, (name, run_dir, metric_stamps) in enumerate(to_read, 1):
            entries[name] = read_run(run_dir, metric_stamps, old.get(name))
            if progress and (count % 100 == 0 or count == len(to_read)):
                print(f"\rtinyxp: indexing runs {count}/{len(to_read)}", end="", file=sys.stderr, flush=True)
        if progress:
            print("\r" + " " * 40 + "\r", end="", file=sys.stderr, flush=True)
        if to_read or len(entries) != len(old):
            self._dirty = True
            self._fields = None
        self._entries = entries
        self._mark_lost()
        self.problems = [(os.path.join(self.log_dir, name), problem) for name, entry in entries.items() for problem in entry.get("problems", ())]
        if self.problems:
            lines = "\n".join(f"  {path}: {problem}" for path, problem in self.problems)
            warnings.warn(f"Read {len(self.problems)} partial run file(s) in part:\n{lines}", ReaderWarning, stacklevel=3)
        self._save_index()

    # -- rows and summaries ----------------------------------------------------------

    def _row(self, name: str, entry: Dict[str, Any]) -> Row:
        values = entry["values"]
        lost = entry.get("lost")
        if lost:
            values = dict(values)
            values["info.status"] = "LOST"
        metrics = {log: meta["keys"] for log, meta in entry["metrics"].items()}
        return Row(values, run_dir=os.path.join(self.log_dir, name), metrics=metrics, artifacts=entry["artifacts"], run_id=name)

    def _summarizer(self, row: Row) -> Callable[[str, str], Any]:
        entry = self._entries[row.run_id]

        def summary(function: str, column: str) -> Any:
            log_name, key = split_metric_column(column, entry["metrics"])
            if log_name is None:
                return None
            meta = entry["metrics"][log_name]
            cached = meta.get("summary", {}).get(key)
            if cached is None:
                last = meta.get("last", {})
                if function == "last" and key in last:
                    return last[key]
                values = row.get(column)
                if values is None:
                    return None
                cached = summarize(values)
                if entry.get("finished"):
                    meta.setdefault("summary", {})[key] = cached
                    self._dirty = True
            return cached.get(function)

        return summary

    def _mark_lost(self) -> None:
        now = time.time()
        for name, entry in self._entries.items():
            if entry.get("values", {}).get("info.status") == "RUNNING":
                entry["lost"] = is_lost(os.path.join(self.log_dir, name), self.lost_after, now)

    # -- the index file --------------------------------------------------------------

    def _load_index(self) -> Dict[str, Dict[str, Any]]:
        """The entries of the newest valid index among the candidate paths, or {}."""
        best: Tuple[float, Dict[str, Dict[str, Any]]] = (-1.0, {})
        self.index_path = None
        for path in self.index_paths:
            try:
                with open(path, "rb") as file:
                    data = json.loads(file.read())
                stamp = os.stat(path).st_mtime
            except (OSError, ValueError):
                continue  # absent or corrupt: rebuilt by refresh
            if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or data.get("log_dir") != self.log_dir:
                continue
            runs = data.get("runs")
            if isinstance(runs, dict) and stamp > best[0]:
                best = (stamp, {name: entry for name, entry in runs.items() if valid_entry(entry)})
                self.index_path = path
        return best[1]

    def _save_index(self) -> None:
        if not self._dirty:
            return
        data = {"version": INDEX_VERSION, "log_dir": self.log_dir, "runs": self._entries}
        text = json.dumps(data, separators=(",", ":"), check_circular=False)
        for path in self.index_paths:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                write_atomic(path, text)
            except OSError:
                continue
            self.index_path = path
            self._dirty = False
            return
        self.index_path = None
        if not self._warned_memory:
            self._warned_memory = True
            tried = ", ".join(repr(path) for path in self.index_paths)
            warnings.warn(f"Cannot write the run index to {tried}; keeping it in memory", ReaderWarning, stacklevel=3)


def valid_entry(entry: Any) -> bool:
    """Whether an index entry has the shape read_run gives (else the run is read again)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("stamps"), list) or len(entry["stamps"]) != 3:
        return False
    if "values" not in entry:
        return True
    metrics = entry.get("metrics")
    return (
        isinstance(entry["values"], dict)
        and isinstance(entry.get("artifacts"), list)
        and isinstance(metrics, dict)
        and all(isinstance(meta, dict) and isinstance(meta.get("keys"), list) for meta in metrics.values())
    )


# -- scanning ------------------------------------------------------------------------


def sorted_run_names(log_dir: str) -> List[str]:
    """The names of the run directories of log_dir (named by integers, as the logger
    allocates them: ASCII digits, no leading zero), in numeric order."""
    names = []
    with os.scandir(log_dir) as entries:
        for entry in entries:
            if is_run_id(entry.name) and entry.is_dir():
                names.append(entry.name)
    names.sort(key=int)
    return names


def stat_run(run_dir: str) -> List[Any]:
    """[info stamp, config stamp, {log_name: stamp}] where a stamp is [size, mtime_ns] or None."""
    metadata = f"{run_dir}/metadata/"
    return [file_stamp(metadata + "info.yaml"), file_stamp(metadata + "config.yaml"), stat_metrics(run_dir)]


def stat_metrics(run_dir: str) -> Dict[str, List[int]]:
    """{log_name: [size, mtime_ns]} of the run's metrics/*.jsonl files."""
    metrics: Dict[str, List[int]] = {}
    try:
        with os.scandir(f"{run_dir}/metrics") as entries:
            for entry in entries:
                if entry.name.endswith(".jsonl"):
                    st = entry.stat()
                    metrics[entry.name[:-6]] = [st.st_size, st.st_mtime_ns]
    except OSError:
        pass
    return metrics


def metric_names(run_dir: str) -> List[str]:
    """The log names of the run's metrics/*.jsonl files, sorted."""
    try:
        return sorted(name[:-6] for name in os.listdir(f"{run_dir}/metrics") if name.endswith(".jsonl"))
    except OSError:
        return []


def file_stamp(path: str) -> Optional[List[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def mtime(path: str) -> Optional[float]:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def list_artifacts(run_dir: str) -> List[str]:
    """"<format>/<name>" of every artifact of a run, sorted."""
    found = []
    root = os.path.join(run_dir, "artifacts")
    try:
        with os.scandir(root) as formats:
            for fmt in formats:
                if fmt.is_dir() and not fmt.name.startswith("."):
                    with os.scandir(fmt.path) as files:
                        found.extend(f"{fmt.name}/{f.name}" for f in files if not f.name.startswith(".tmp-"))
    except OSError:
        pass
    found.sort()
    return found


def read_run(run_dir: str, metric_stamps: Optional[Dict[str, List[int]]], old: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The index entry of one run: flattened values, metric columns, artifacts, problems.

    `metric_stamps` are the stamps of the metrics files when the caller has them (a
    changed run): the files whose stamp `old` already has are not read again. Every
    stamp comes from the open file (os.fstat), so it describes the content that was read.
    """
    stamps: List[Any] = [None, None, metric_stamps]
    problems: List[str] = []
    entry: Dict[str, Any] = {"stamps": stamps, "problems": problems}
    values: Dict[str, Any] = {}
    for index, part in enumerate(("info", "config")):
        path = f"{run_dir}/metadata/{part}.yaml"
        try:
            data, st = read_file(path)
            stamps[index] = [st.st_size, st.st_mtime_ns]
            data = load_yaml(data.decode("utf-8"), path=path)
        except FileNotFoundError:
            problems.append(f"missing metadata/{part}.yaml")
            if part == "info":
                # not a run yet (a launch writes info.yaml after config.yaml) or not one at
                # all: reported, not listed; the stamps say when to look again
                if metric_stamps is None:
                    stamps[2] = stat_metrics(run_dir)
                return entry
            continue
        except (OSError, UnicodeDecodeError, TinyxpError) as err:
            problems.append(f"cannot read metadata/{part}.yaml: {first_line(err)}")
            continue
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"invalid metadata/{part}.yaml: expected a mapping, got {type_name(data)}")
            continue
        flatten_into(values, data, f"{part}.")
        if part == "info" and "info.status" not in values:
            problems.append("invalid metadata/info.yaml: no status")
    # info.yaml is replaced whole, so one that cannot be read was damaged: the run is
    # listed with the rest (its id from the folder name, no status)
    values.setdefault("info.run_id", int(os.path.basename(run_dir)))
    status = values.get("info.status")
    entry["finished"] = status not in LIVE_STATUSES
    entry["values"] = values
    old_metrics = (old or {}).get("metrics", {})
    metrics = {}
    for log_name in sorted(metric_stamps) if metric_stamps is not None else metric_names(run_dir):
        previous = old_metrics.get(log_name)
        if metric_stamps is not None and previous is not None and previous.get("stamp") == metric_stamps[log_name]:
            metrics[log_name] = previous
            continue
        stamp, keys, last, torn = peek_metric_file(f"{run_dir}/metrics/{log_name}.jsonl")
        if stamp is None:
            continue  # removed since the folder was listed
        metrics[log_name] = {"stamp": stamp, "keys": keys, "last": last}
        if torn and entry["finished"]:
            problems.append(f"metrics/{log_name}.jsonl: ignored a torn last line")
    stamps[2] = {log_name: meta["stamp"] for log_name, meta in metrics.items()}
    entry["metrics"] = metrics
    entry["artifacts"] = list_artifacts(run_dir)
    return entry


def read_file(path: str) -> Tuple[bytes, os.stat_result]:
    """The bytes of a file and its os.fstat, with the fewest system calls (the reader
    opens thousands of small files); raises OSError like open()."""
    fd = os.open(path, READ_FLAGS)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        return os.read(fd, st.st_size), st
    finally:
        os.close(fd)


def peek_metric_file(path: str) -> Tuple[Optional[List[int]], List[str], Dict[str, Any], bool]:
    """(stamp, keys of the first and last complete lines, the last complete line, torn last line?)

    The stamp is [size, mtime_ns] as of the read, None when the file is gone. Reads the
    first line and the last TAIL_BYTES only: metric files of long runs are big.
    """
    try:
        fd = os.open(path, READ_FLAGS)
        try:
            st = os.fstat(fd)
            size = st.st_size
            head = os.read(fd, min(size, PEEK_BYTES))  # a small file whole, in one read
            cut = head.find(b"\n") + 1
            first = head[:cut] if cut else head
            if not cut and len(head) < size:  # a first line longer than PEEK_BYTES
                with open(path, "rb") as file:
                    first = file.readline()
            # the tail starts one byte early: a newline there means it starts at a line
            start = max(len(first), size - TAIL_BYTES) - 1
            if len(head) == size:
                tail = head[start:] if first else b""
            else:
                os.lseek(fd, start, os.SEEK_SET)
                tail = os.read(fd, size - start)
        finally:
            os.close(fd)
    except OSError:
        return file_stamp(path), [], {}, False
    stamp = [size, st.st_mtime_ns]
    if not first.endswith(b"\n"):
        return stamp, [], {}, bool(first)
    torn = not tail.endswith(b"\n")
    tail = tail[tail.find(b"\n") + 1 : tail.rfind(b"\n") + 1]
    if tail:
        last_line: Optional[bytes] = tail[:-1].rsplit(b"\n", 1)[-1]
    else:
        last_line = first if start + 1 == len(first) else None  # None: one very long line
    first_record = decode_record(first)
    last_record = first_record if last_line is first else decode_record(last_line)
    keys = list(dict.fromkeys([*first_record, *last_record]))
    return stamp, keys, last_record, torn


def decode_record(line: Optional[bytes]) -> Dict[str, Any]:
    """The JSON object on a line of a metrics file; {} for anything else."""
    try:
        record = JSON_DECODE(line.decode("utf-8")) if line else None
    except ValueError:  # UnicodeDecodeError included
        record = None
    return record if isinstance(record, dict) else {}


def flatten_into(out: Dict[str, Any], mapping: Dict[str, Any], prefix: str) -> None:
    """Add `prefix + dotted key` -> value for every leaf of mapping (non-empty dicts recurse)."""
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            flatten_into(out, value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value


def collect_fields(entries: Iterator[Dict[str, Any]]) -> Dict[str, str]:
    """Column -> type name ("float", "int|str", "list[float]", "artifact") over all runs."""
    seen = set()  # (name, type): one set.add per value is the cheapest way through 10,000 runs
    metric_kinds: Dict[str, set] = {}
    artifacts: Dict[str, None] = {}
    for entry in entries:
        if "values" not in entry:
            continue
        seen.update(zip(entry["values"], map(type, entry["values"].values())))
        for log_name, meta in entry["metrics"].items():
            last = meta.get("last", {})
            for key in meta["keys"]:
                found = metric_kinds.setdefault(f"{log_name}.{key}", set())
                if key in last:
                    found.add(type_name(last[key]))
        for artifact in entry["artifacts"]:
            artifacts[f"artifacts.{artifact}"] = None
    kinds: Dict[str, set] = {}
    for name, kind in seen:
        kinds.setdefault(name, set()).add(FIELD_TYPES.get(kind) or kind.__name__)
    fields = {name: "|".join(sorted(found)) for name, found in sorted(kinds.items(), key=field_order)}
    for name, found in sorted(metric_kinds.items()):
        fields[name] = f"list[{'|'.join(sorted(found)) or 'any'}]"
    for name in sorted(artifacts):
        fields[name] = "artifact"
    return fields


def field_order(item: Tuple[str, Any]) -> Tuple[int, str]:
    return (0 if item[0].startswith("config.") else 1, item[0])


def split_metric_column(column: str, metrics: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """("train", "loss") for "train.loss" when the run has metrics/train.jsonl, else (None, "")."""
    for log_name in metrics:
        if column.startswith(log_name) and column[len(log_name) : len(log_name) + 1] == ".":
            return log_name, column[len(log_name) + 1 :]
    return None, ""


def first_line(err: BaseException) -> str:
    return str(err).split("\n", 1)[0]


# -- where the index lives -----------------------------------------------------------


def fallback_index_path(log_dir: str, index_dir: Optional[str]) -> str:
    """The index path used when log_dir is not writable: index_dir or a per-user cache."""
    import hashlib

    if index_dir is None:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        index_dir = os.path.join(cache, "tinyxp", "index")
    digest = hashlib.sha1(log_dir.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(index_dir, f"index-{digest}.json")


# -- what `tinyxp runs` and `tinyxp show` print --------------------------------------

RE_SUMMARY_COLUMN = r"^(\w+)\((.+)\)$"
SHORT_NAMES = {"id": "info.run_id", "status": "info.status"}


def default_columns(reader: Reader) -> List[str]:
    """id, status, the config keys that vary across runs, last(...) of each metric column."""
    varying = reader.runs.diff("config.")
    metrics = [name for name, kind in reader.fields.items() if kind.startswith("list[")]
    return ["id", "status", *varying, *(f"last({name})" for name in metrics)]


def table_rows(reader: Reader, df: DataFrame, columns: List[str]) -> List[List[Any]]:
    """The value of each column for each row; columns may be `last(train.loss)` and the like.

    An artifact column gives the artifact's path. Raises ReaderError for an unknown
    column (with did-you-mean) or function, or a summary of a column that is not a metric.
    """
    import re

    from .frame import check_column
    from .row import Artifact
    from .query import SUMMARIES

    getters = []
    known = [*SHORT_NAMES, *reader.fields]
    metrics = [name for name, kind in reader.fields.items() if kind.startswith("list[")]
    for column in columns:
        match = re.match(RE_SUMMARY_COLUMN, column)
        if match:
            function, name = match.groups()
            if function not in SUMMARIES:
                raise ReaderError(f"Unknown function {function!r} in {column!r}: expected last, min, max or count{suggest(function, SUMMARIES)}")
            if name in reader.fields and name not in metrics:
                raise ReaderError(f"Cannot take {function}() of {name!r}: it is not a metric column")
            check_column(name, metrics, f" in {column!r} (a metric column)")
            getters.append(lambda row, f=function, n=name: reader.summary(row, f, n))
        else:
            check_column(column, known)
            name = SHORT_NAMES.get(column, column)
            getters.append(lambda row, n=name: row.get(n))
    rows = [[get(row) for get in getters] for row in df]
    reader._save_index()
    return [[value.path if isinstance(value, Artifact) else value for value in row] for row in rows]


def describe_run(run_dir: str, lost_after: float = 600) -> str:
    """The text `tinyxp show` prints: config, info and metric summaries of one run.

    Raises ReaderError when run_dir is not a run directory; a metadata file that cannot
    be read is named in its section, and the rest is shown.
    """
    from .row import read_metric_file
    from .text import format_cell, format_table
    from .._files import read_yaml
    from ..yaml import dump

    info_path = os.path.join(run_dir, "metadata", "info.yaml")
    if not os.path.isfile(info_path):
        what = "does not exist" if not os.path.exists(run_dir) else "is not a run directory (no metadata/info.yaml)"
        raise ReaderError(f"Cannot show {run_dir!r}: it {what}")
    sections = []
    for part in ("config", "info"):
        path = os.path.join(run_dir, "metadata", f"{part}.yaml")
        try:
            data = read_yaml(path)
        except FileNotFoundError:
            sections.append(f"{part}: (missing metadata/{part}.yaml)")
            continue
        except (OSError, UnicodeDecodeError, TinyxpError) as err:  # damaged: show the rest
            sections.append(f"{part}: (cannot read metadata/{part}.yaml: {first_line(err)})")
            continue
        if part == "info" and isinstance(data, dict) and data.get("status") == "RUNNING" and is_lost(run_dir, lost_after):
            data["status"] = "LOST"
        body = dump(data).rstrip("\n") if data else "{}"
        sections.append(f"{part}:\n" + "\n".join("  " + line for line in body.split("\n")))
    rows = []
    for log_name in metric_names(run_dir):
        path = os.path.join(run_dir, "metrics", f"{log_name}.jsonl")
        try:
            columns = read_metric_file(path)
        except OSError as err:
            raise ReaderError(f"Cannot read metrics file {path!r}: {err.strerror}") from None
        for key, values in columns.items():
            stats = summarize(values)
            rows.append([f"{log_name}.{key}", *(format_cell(stats[f]) for f in ("count", "last", "min", "max"))])
    if rows:
        table = format_table(["metric", "count", "last", "min", "max"], rows)
        sections.append("metrics:\n" + "\n".join("  " + line for line in table.split("\n")))
    else:
        sections.append("metrics: (none)")
    artifacts = list_artifacts(run_dir)
    if artifacts:
        sections.append("artifacts:\n" + "\n".join(f"  {a}" for a in artifacts))
    return "\n".join(sections)


def is_lost(run_dir: str, lost_after: float, now: Optional[float] = None) -> bool:
    """Whether a RUNNING run's heartbeat (or info.yaml without one) is older than lost_after."""
    seen = mtime(os.path.join(run_dir, "heartbeat"))
    if seen is None:
        seen = mtime(os.path.join(run_dir, "metadata", "info.yaml"))
    now = time.time() if now is None else now
    return seen is not None and now - seen > lost_after
