"""The index of a log directory: one entry per run, rebuilt only where files changed.

For each run the index keeps its flattened config and info, its tags and note, the
names of its metric columns and its artifacts. The index file
(`log_dir/.tinyxp/index.json`, JSON) remembers them with the (size, mtime_ns) of
metadata/info.yaml, metadata/config.yaml, each metrics file and metadata/notes.yaml, so
that a refresh re-reads only new and changed runs.

An ended run is checked with one stat, of its metadata/ folder: every change tinyxp
makes to a run replaces a file there (info.yaml on a resume, notes.yaml on a tag) or,
for a standalone Logger writing metrics or artifacts, touches the folder. Its stamp is
trusted once it is SETTLE_NS old: a change within the same tick of the file system's
clock would not move it. Live runs, and ended runs whose folder moved, have every file
checked.

Metric columns are learnt from the first and the last complete line of each
`metrics/<log_name>.jsonl` (the file is not parsed whole); a key that appears only in the
middle of a file becomes a column when that file's values are loaded.
"""
from __future__ import annotations

import json
import os
import sys
import time

from .._contract import (
    ARTIFACTS_DIR, CONFIG_FILE, INFO_FILE, LIVE_STATUSES, METADATA_DIR, METRIC_SUFFIX, METRICS_DIR, MLXP_METRIC_SUFFIX,
    NOTES_FILE, TMP_PREFIX, is_reserved_log_name, is_run_id,
)
from .._files import notes_values
from .._values import FIELD_TYPES, type_name
from ..errors import ReaderError, TinyxpError
from ..yaml import load as load_yaml
from .files import MAX_METADATA_BYTES, UnreadableFile, load_metadata, open_run_file, read_run_file
from .mlxp import from_mlxp
from .stored import Stored

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Iterable

PROGRESS_MIN_RUNS = 300
TAIL_BYTES = 4096
PEEK_BYTES = 4 * TAIL_BYTES
JSON_DECODE = json.JSONDecoder().decode
SETTLE_NS = 2_000_000_000  # a metadata/ folder changed more recently may change again unseen (same clock tick, skew)
LINKED_RUN_PROBLEM = "a symbolic link named like a run: not followed (runs are folders of the log folder)"


# -- building and refreshing ---------------------------------------------------------


def update_entries(log_dir: str, old: dict[str, Any], *, progress: bool,
                   stored: Stored | None = None) -> tuple[dict[str, Any], set[str], set[str]]:
    """(the entries of the runs of log_dir now, the names of those read again or removed,
    the names of those unchanged whose settled stamp was found or moved).

    Re-reads only new runs and runs whose files changed since `old`; shows a progress
    line on stderr when asked and there are many. An entry of `old` may be a run's position
    in `stored`: it stays one when its run is settled and unchanged. Raises ReaderError
    when log_dir cannot be listed.
    """
    entries: dict[str, Any] = {}
    restamped: set[str] = set()
    to_read: list[tuple[str, str, dict[str, list[int]] | None, dict[str, Any] | None]] = []
    new_links: list[str] = []
    try:
        names, links = run_names(log_dir)
    except OSError as err:  # no permission to list it, or removed since
        raise ReaderError(f"Cannot read log directory {log_dir!r}: {err.strerror}") from None
    lstat, metadata_folder = os.lstat, f"{os.sep}{METADATA_DIR}"
    prefix = log_dir + os.sep
    for name in names:
        entry = old.get(name)
        if type(entry) is int and name not in links:  # a run of the index file, not decoded
            assert stored is not None  # where the position is
            try:
                if stored.is_settled(entry, lstat(prefix + name + metadata_folder)):
                    entries[name] = entry  # the one stat of an ended run that did not change
                    continue
            except OSError:
                pass
        run_dir = prefix + name
        if name in links:  # it may lead out of the log folder, or to another run: reported, not listed
            entries[name] = {"stamps": [None, None, {}, None], "problems": [LINKED_RUN_PROBLEM]}
            previous = old.get(name)
            if type(previous) is int:
                assert stored is not None  # where the position is
                previous = stored.entry(previous)
            if previous != entries[name]:
                new_links.append(name)
            continue
        position = None
        if type(entry) is int:
            assert stored is not None  # where the position is
            position, entry = entry, stored.entry(entry, with_values=False)  # None when damaged: read again
        if entry is None:  # new: read_run takes the stamps of what it reads
            entries[name] = {}  # keeps the run id order
            to_read.append((name, run_dir, None, None))
            continue
        if entry.get("finished"):
            folder = file_stamp(f"{run_dir}/{METADATA_DIR}")
            if folder is not None and entry.get("settled") == folder and position is None:
                entries[name] = entry  # the one stat of an ended run that did not change
                continue
            # a finished run changes when resumed (info.yaml is rewritten first), tagged, or
            # when a post-hoc tinyxp.Logger(run) logs into it: stats of its files, and of
            # metrics/, whose time changes when a file is added, are cheaper than a folder scan
            metadata = f"{run_dir}/{METADATA_DIR}/"
            metrics_dir = f"{run_dir}/{METRICS_DIR}"
            stamps: list[Any] = [file_stamp(metadata + INFO_FILE), file_stamp(metadata + CONFIG_FILE),
                                 {log: metric_file_stamp(metrics_dir, log) for log in entry["stamps"][2]},
                                 file_stamp(metadata + NOTES_FILE)]
            unchanged = entry["stamps"] == stamps and entry.get("metrics_folder") == file_stamp(metrics_dir)
            metric_stamps: dict[str, list[int]] | None = None
            if unchanged and settled(folder) and entry.get("settled") != folder:
                entry = {**entry, "settled": folder}
                restamped.add(name)
        else:
            stamps = stat_run(run_dir)
            unchanged = entry["stamps"] == stamps
            metric_stamps = stamps[2]
        if unchanged and position is not None:  # its values too, then
            assert stored is not None  # where the position is
            full = stored.entry(position)
            entry = None if full is None else {**full, **entry}
        if unchanged and entry is not None:
            entries[name] = entry
            if not entry.get("finished") and "values" in entry:
                entry["artifacts"] = list_artifacts(run_dir)
        else:
            entries[name] = {}
            to_read.append((name, run_dir, metric_stamps, entry))
    show = progress and len(to_read) > PROGRESS_MIN_RUNS
    for count, (name, run_dir, metric_stamps, previous) in enumerate(to_read, 1):
        entries[name] = read_run(run_dir, metric_stamps, previous)
        if show and (count % 100 == 0 or count == len(to_read)):
            print(f"\rtinyxp: indexing runs {count}/{len(to_read)}", end="", file=sys.stderr, flush=True)
    if show:
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr, flush=True)
    changed = {name for name, _, _, _ in to_read}
    changed.update(new_links)
    changed.update(name for name in old if name not in entries)
    return entries, changed, restamped


# -- scanning ------------------------------------------------------------------------


def run_names(log_dir: str) -> tuple[list[str], set[str]]:
    """(the names of the run directories of log_dir in numeric order, those that are symbolic links).

    Run directories are named by integers, as the logger allocates them (ASCII digits,
    no leading zero); a symbolic link named so is listed too, never followed.
    """
    names, links = [], set()
    with os.scandir(log_dir) as entries:
        for entry in entries:
            name = entry.name
            if name.isdigit() and is_run_id(name):
                if entry.is_symlink():
                    links.add(name)
                    names.append(name)
                elif entry.is_dir(follow_symlinks=False):
                    names.append(name)
    names.sort(key=int)
    return names, links


def stat_run(run_dir: str) -> list[Any]:
    """[info stamp, config stamp, {log_name: stamp}, notes stamp] where a stamp is [size, mtime_ns] or None."""
    metadata = f"{run_dir}/{METADATA_DIR}/"
    return [file_stamp(metadata + INFO_FILE), file_stamp(metadata + CONFIG_FILE), stat_metrics(run_dir), file_stamp(metadata + NOTES_FILE)]


def stat_metrics(run_dir: str) -> dict[str, list[int]]:
    """{log_name: [size, mtime_ns]} of the run's metrics/*.jsonl files (MLXP's *.json for a run it wrote)."""
    metrics: dict[str, list[int]] = {}
    try:
        with os.scandir(f"{run_dir}/{METRICS_DIR}") as entries:
            for entry in entries:
                name = metric_log_name(entry.name)
                if name and (name not in metrics or entry.name.endswith(METRIC_SUFFIX)):
                    st = entry.stat(follow_symlinks=False)  # a link or a FIFO: reported when read
                    metrics[name] = [st.st_size, st.st_mtime_ns]
    except OSError:
        pass
    return metrics


def metric_names(run_dir: str) -> list[str]:
    """The log names of the run's metrics/*.jsonl (or MLXP's *.json) files, sorted."""
    try:
        return sorted({name for name in map(metric_log_name, os.listdir(f"{run_dir}/{METRICS_DIR}")) if name})
    except OSError:
        return []


def metric_log_name(file_name: str) -> str:
    """"train" for "train.jsonl" (or MLXP's "train.json"), "" for another file.

    A file named as the reader's own columns (metrics/info.jsonl, written before tinyxp
    refused such names) is "" too: it would shadow them.
    """
    for suffix in (METRIC_SUFFIX, MLXP_METRIC_SUFFIX):
        if file_name.endswith(suffix):
            name = file_name[:-len(suffix)]
            return "" if is_reserved_log_name(name) else name
    return ""


def metric_file_stamp(metrics_dir: str, log_name: str) -> list[int] | None:
    """file_stamp of metrics/<log_name>.jsonl, or of MLXP's .json when there is no such file."""
    return file_stamp(f"{metrics_dir}/{log_name}{METRIC_SUFFIX}") or file_stamp(f"{metrics_dir}/{log_name}{MLXP_METRIC_SUFFIX}")


def settled(stamp: list[int] | None) -> bool:
    """Whether a metadata/ folder's stamp is old enough to be trusted alone (SETTLE_NS)."""
    return stamp is not None and time.time_ns() - stamp[1] > SETTLE_NS


def file_stamp(path: str) -> list[int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def list_artifacts(run_dir: str) -> list[str]:
    """"<format>/<name>" of every artifact of a run, sorted; names may hold sub-folders (`pickle/ckpt/epoch3.pkl`)."""
    found: list[str] = []
    try:
        with os.scandir(os.path.join(run_dir, ARTIFACTS_DIR)) as formats:
            for fmt in formats:
                if fmt.is_dir(follow_symlinks=False) and not fmt.name.startswith("."):
                    found.extend(artifact_files(fmt.path, fmt.name + "/"))
    except OSError:
        pass
    found.sort()
    return found


def artifact_files(folder: str, prefix: str) -> list[str]:
    """prefix + the relative path of every file under folder, sub-folders included; files being written left out."""
    found: list[str] = []
    try:
        with os.scandir(folder) as items:
            for item in items:
                if item.is_symlink():  # not followed: it may lead out of the run
                    continue
                if item.is_dir(follow_symlinks=False):
                    if not item.name.startswith("."):
                        found.extend(artifact_files(item.path, f"{prefix}{item.name}/"))
                elif not item.name.startswith(TMP_PREFIX):
                    found.append(prefix + item.name)
    except OSError:  # removed while listed
        pass
    return found


def read_run(run_dir: str, metric_stamps: dict[str, list[int]] | None, old: dict[str, Any] | None) -> dict[str, Any]:
    """The index entry of one run: flattened values, metric columns, artifacts, problems.

    `metric_stamps` are the stamps of the metrics files when the caller has them (a
    changed run): the files whose stamp `old` already has are not read again. Every
    stamp comes from the open file (os.fstat), so it describes the content that was read.
    """
    stamps: list[Any] = [None, None, metric_stamps, None]
    problems: list[str] = []
    entry: dict[str, Any] = {"stamps": stamps, "problems": problems}
    folder = file_stamp(f"{run_dir}/{METADATA_DIR}")  # before the files: a change while they are read moves it
    values: dict[str, Any] = {}
    for index, part in enumerate(("info", "config")):
        try:
            data, st = load_metadata(run_dir, f"{part}.yaml")
            stamps[index] = [st.st_size, st.st_mtime_ns]
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
            problems.append(f"cannot read metadata/{part}.yaml: {reason(err)}")
            # its stamp now: read again when it changes, not on every refresh (a change
            # between the read and this stat only makes one more read)
            stamps[index] = file_stamp(f"{run_dir}/{METADATA_DIR}/{part}.yaml")
            continue
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"invalid metadata/{part}.yaml: expected a mapping, got {type_name(data)}")
            continue
        flatten_into(values, data, f"{part}.")
        if part == "info" and "info.logger.log_id" in values:
            from_mlxp(values)
        if part == "info" and "info.status" not in values:
            problems.append("invalid metadata/info.yaml: no status")
    # info.yaml is replaced whole, so one that cannot be read was damaged: the run is
    # listed with the rest (its id from the folder name, no status)
    values.setdefault("info.run_id", int(os.path.basename(run_dir)))
    values.update(read_notes(run_dir, stamps, problems))
    status = values.get("info.status")
    entry["finished"] = status not in LIVE_STATUSES
    if entry["finished"] and settled(folder):
        entry["settled"] = folder
    entry["values"] = values
    entry["metrics_folder"] = file_stamp(f"{run_dir}/{METRICS_DIR}")  # before it is listed: what is added later shows
    old_metrics = (old or {}).get("metrics", {})
    metrics = {}
    for log_name in sorted(metric_stamps) if metric_stamps is not None else metric_names(run_dir):
        previous = old_metrics.get(log_name)
        if metric_stamps is not None and previous is not None and previous.get("stamp") == metric_stamps[log_name]:
            metrics[log_name] = previous
            continue
        relative = f"{METRICS_DIR}/{log_name}{METRIC_SUFFIX}"
        try:
            stamp, keys, last, torn = peek_metric_file(run_dir, relative)
            if stamp is None:  # a run MLXP wrote
                relative = f"{METRICS_DIR}/{log_name}{MLXP_METRIC_SUFFIX}"
                stamp, keys, last, torn = peek_metric_file(run_dir, relative)
        except UnreadableFile as err:
            problems.append(f"cannot read {relative}: {err.reason}")
            continue
        if stamp is None:
            continue  # removed since the folder was listed
        metrics[log_name] = {"stamp": stamp, "keys": keys, "last": last}
        if torn and entry["finished"]:
            problems.append(f"metrics/{log_name}.jsonl: ignored a torn last line")
    stamps[2] = {log_name: meta["stamp"] for log_name, meta in metrics.items()}
    entry["metrics"] = metrics
    entry["artifacts"] = list_artifacts(run_dir)
    return entry


def read_notes(run_dir: str, stamps: list[Any], problems: list[str]) -> dict[str, Any]:
    """{"tags": [...], "note": str or None} from metadata/notes.yaml; its stamp goes in stamps[3]."""
    notes: Any = None
    try:
        raw, st = read_run_file(run_dir, f"{METADATA_DIR}/{NOTES_FILE}", limit=MAX_METADATA_BYTES)
        stamps[3] = [st.st_size, st.st_mtime_ns]
        notes = load_yaml(raw.decode("utf-8"))
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError, TinyxpError) as err:
        problems.append(f"cannot read metadata/{NOTES_FILE}: {reason(err)}")
    return notes_values(notes)


def peek_metric_file(run_dir: str, relative: str) -> tuple[list[int] | None, list[str], dict[str, Any], bool]:
    """(stamp, keys of the first and last complete lines, the last complete line, torn last line?)

    The stamp is [size, mtime_ns] as of the read, None when the file is gone. Reads the
    first line and the last TAIL_BYTES only: metric files of long runs are big. Raises
    UnreadableFile for a symbolic link or what is not a regular file.
    """
    try:
        fd, st = open_run_file(run_dir, relative)
        try:
            size = st.st_size
            head = os.read(fd, min(size, PEEK_BYTES))  # a small file whole, in one read
            cut = head.find(b"\n") + 1
            first = head[:cut] if cut else head
            if not cut and len(head) < size:  # a first line longer than PEEK_BYTES
                with os.fdopen(os.dup(fd), "rb") as file:
                    file.seek(0)
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
        return None, [], {}, False
    stamp = [size, st.st_mtime_ns]
    if not first.endswith(b"\n"):
        return stamp, [], {}, bool(first)
    torn = not tail.endswith(b"\n")
    tail = tail[tail.find(b"\n") + 1 : tail.rfind(b"\n") + 1]
    if tail:
        last_line: bytes | None = tail[:-1].rsplit(b"\n", 1)[-1]
    else:
        last_line = first if start + 1 == len(first) else None  # None: one very long line
    first_record = decode_record(first)
    last_record = first_record if last_line is first else decode_record(last_line)
    keys = list(dict.fromkeys([*first_record, *last_record]))
    return stamp, keys, last_record, torn


def decode_record(line: bytes | None) -> dict[str, Any]:
    """The JSON object on a line of a metrics file; {} for anything else."""
    try:
        record = JSON_DECODE(line.decode("utf-8")) if line else None
    except ValueError:  # UnicodeDecodeError included
        record = None
    return record if isinstance(record, dict) else {}


def flatten_into(out: dict[str, Any], mapping: dict[str, Any], prefix: str) -> None:
    """Add `prefix + dotted key` -> value for every leaf of mapping (non-empty dicts recurse)."""
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            flatten_into(out, value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value


def collect_fields(entries: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Column -> type name ("float", "int|str", "list[float]", "artifact") over all runs."""
    seen: set[tuple[str, type]] = set()  # (name, type): one set.add per value is the cheapest way through 10,000 runs
    metric_kinds: dict[str, set[str]] = {}
    artifacts: dict[str, None] = {}
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
    kinds: dict[str, set[str]] = {}
    for name, kind in seen:
        kinds.setdefault(name, set()).add(FIELD_TYPES.get(kind) or kind.__name__)
    fields = {name: "|".join(sorted(found)) for name, found in sorted(kinds.items(), key=field_order)}
    for name, found in sorted(metric_kinds.items()):
        fields[name] = f"list[{'|'.join(sorted(found)) or 'any'}]"
    for name in sorted(artifacts):
        fields[name] = "artifact"
    return fields


def field_order(item: tuple[str, Any]) -> tuple[int, str]:
    return (0 if item[0].startswith("config.") else 1, item[0])


def split_metric_column(column: str, metrics: dict[str, Any]) -> tuple[str | None, str]:
    """("train", "loss") for "train.loss" when the run has metrics/train.jsonl, else (None, "")."""
    for log_name in metrics:
        if column.startswith(log_name) and column[len(log_name) : len(log_name) + 1] == ".":
            return log_name, column[len(log_name) + 1 :]
    return None, ""


def first_line(err: BaseException) -> str:
    return str(err).split("\n", 1)[0]


def reason(err: BaseException) -> str:
    """Why a file of a run could not be read, for a problem line that names the file already."""
    return err.reason if isinstance(err, UnreadableFile) else first_line(err)
