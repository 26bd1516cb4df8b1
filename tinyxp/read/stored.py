"""The index file as loaded: a run's entry decoded on first use, its values by column.

Decoding every run's entry costs more than checking that the runs did not change, so
the index file keeps them apart (store.py writes it):

    line 0            {"version", "log_dir", "fields"?, "ids", "flags", "shape_of",
                       "settled_size", "settled_mtime" (one item a run each),
                       "shapes": [[key...]...], "columns": [key...], "sizes": [bytes of each line after]}
    1 line a column   the values of that key, one per run in "ids" order (null where a
                      run has no such key: its shape says which keys it has, in order)
    1 line a run      its entry without "values", in "ids" order

A refresh reads only line 0; a query reads and decodes the columns it names; a row
decodes its run's entry line and, once for all runs, every column. A run not decoded
yet is its position in the file (an int) where a decoded one is its entry (a dict).
Nothing is trusted: a line that does not decode to what it should makes the runs
concerned be read again from their files (`Reader` does that when `entry` or `column`
gives None).
"""
from __future__ import annotations

import json
import os
import weakref
from itertools import accumulate

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

NOT_LOADED = "…"  # no such value (a row's NOT_LOADED)
DAMAGED = object()  # a line of the file is not what line 0 says
HAS_VALUES = 1  # flags of a run in line 0
HAS_PROBLEMS = 2
FINISHED = 4
RUN_LISTS = ("ids", "flags", "shape_of", "settled_size", "settled_mtime")  # the keys of line 0 with an item a run
JSON_DECODE = json.JSONDecoder().decode
READ_CHUNK = 64 * 1024 * 1024
LINES_READ_ALONE = 256  # runs' lines read one by one; beyond, all of them at once
PREAD = getattr(os, "pread", None)
MAX_OPEN = 64  # index files a process keeps open (each Reader one) before reading the oldest whole
OPEN: list[weakref.ref[Stored]] = []
INT_ONLY = {int}
INT_OR_NONE = {int, type(None)}


class Stored:
    """The runs of one index file: their line 0 facts, their entries and columns decoded on demand.

    Line 0 gives the size of every other line: a column is read alone, the runs' lines at
    once when the first is needed, from the file as it was opened (a newer index file
    replaces it, never changes it).
    """

    def __init__(self, head: dict[str, Any], fd: int, offset: int) -> None:
        """From a line 0 that valid_head accepted, and the file open at fd, line 1 at offset."""
        self.ids: list[str] = head["ids"]
        self.flags: list[int] = head["flags"]
        self.shape_of: list[int] = head["shape_of"]
        self.settled_size: list[int | None] = head["settled_size"]
        self.settled_mtime: list[int | None] = head["settled_mtime"]
        self.shapes: list[list[str]] = head["shapes"]
        self.column_names: list[str] = head["columns"]
        self.fd: int | None = fd
        self.offset = offset  # where line 1 starts
        self.rest: bytes | None = None  # the lines after line 0, once read whole (too many files open)
        sizes = head["sizes"]
        starts = list(accumulate([offset, *sizes]))
        self.column_spans = {key: (starts[i], sizes[i]) for i, key in enumerate(self.column_names)}
        self.entry_spans = list(zip(starts[len(self.column_names) : -1], sizes[len(self.column_names) :]))
        self.entry_lines: list[bytes] | None = None
        self.lines_wanted = 0
        self.shape_sets: dict[int, frozenset[str]] = {}
        self.columns: dict[str, list[Any] | None] = {}
        self.values: list[dict[str, Any]] | None = None  # every run's values, made at once on first need
        keep_open(self)

    def is_settled(self, position: int, st: os.stat_result) -> bool:
        """Whether the run at position is an ended one whose metadata/ folder has this stat still."""
        return st.st_mtime_ns == self.settled_mtime[position] and st.st_size == self.settled_size[position] and bool(self.flags[position] & FINISHED)

    def read(self, offset: int, size: int) -> bytes:
        """size bytes of the file at offset (fewer when it is shorter than line 0 says: damaged)."""
        if self.rest is not None:
            return self.rest[offset - self.offset : offset - self.offset + size]
        if self.fd is None or size <= 0:
            return b""
        try:
            chunks = []
            while size > 0:
                chunk = read_at(self.fd, min(size, READ_CHUNK), offset)
                if not chunk:
                    break
                chunks.append(chunk)
                size -= len(chunk)
                offset += len(chunk)
        except OSError:
            return b""
        return b"".join(chunks)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def read_whole(self) -> None:
        """Read every line after line 0 into memory, and close the file."""
        if self.fd is not None:
            try:
                size = os.fstat(self.fd).st_size - self.offset
            except OSError:
                size = 0
            self.rest = self.read(self.offset, size)
            self.close()

    def __del__(self) -> None:
        self.close()

    def raw(self) -> tuple[dict[str, list[Any]], list[bytes]] | None:
        """(every column, every run's line as read) to copy the runs not decoded; None when a line is damaged."""
        columns = {key: self.column(key) for key in self.column_names}
        lines = self.read_entry_lines()
        if None in columns.values() or any(len(line) != size for line, (_, size) in zip(lines, self.entry_spans)):
            return None
        return columns, lines  # type: ignore[return-value]

    def read_entry_lines(self) -> list[bytes]:
        """The runs' lines, read at once on first need (a line shorter than its size: the file is damaged)."""
        if self.entry_lines is None:
            first = self.entry_spans[0][0] if self.entry_spans else 0
            raw = self.read(first, sum(size for _, size in self.entry_spans))
            self.entry_lines = [raw[start - first : start - first + size] for start, size in self.entry_spans]
        return self.entry_lines

    def value(self, position: int, key: str) -> Any:
        """The value of key of the run at position; NOT_LOADED when the run has no such key, DAMAGED when its column is."""
        shape = self.shape_of[position]
        if shape < 0 or key not in self.shape_set(shape):
            return NOT_LOADED
        column = self.column(key)
        return DAMAGED if column is None else column[position]

    def keys_at(self, position: int) -> list[str]:
        shape = self.shape_of[position]
        return list(self.shapes[shape]) if shape >= 0 else []

    def values_at(self, position: int) -> dict[str, Any] | None:
        """The values of the run at position ({} for a run without), None when a column is damaged."""
        values = self.all_values()
        return None if values is None else values[position]

    def shape_set(self, shape: int) -> frozenset[str]:
        found = self.shape_sets.get(shape)
        if found is None:
            found = self.shape_sets[shape] = frozenset(self.shapes[shape])
        return found

    def column(self, key: str) -> list[Any] | None:
        """The values of key, one per run (None where a run lacks it); None when its line is damaged."""
        if key in self.columns:
            return self.columns[key]
        span = self.column_spans.get(key)
        found: Any = [None] * len(self.ids) if span is None else decode_line(self.read(*span), span[1])
        if type(found) is not list or len(found) != len(self.ids):
            found = None
        self.columns[key] = found
        return found

    def entry(self, position: int, with_values: bool = True) -> dict[str, Any] | None:
        """The entry of the run at position, values included unless not with_values (they take
        every column: a run changed is read again without them); None when a line it needs is damaged."""
        start, size = self.entry_spans[position]
        self.lines_wanted += 1
        if self.entry_lines is None and self.lines_wanted <= LINES_READ_ALONE:  # a few runs changed: their lines alone
            line = self.read(start, size)
        else:
            line = self.read_entry_lines()[position]
        entry = decode_line(line, size)
        if type(entry) is not dict or "values" in entry:
            return None
        if self.shape_of[position] >= 0 and with_values:
            values = self.all_values()
            if values is None:
                return None
            entry["values"] = values[position]
        return entry if valid_entry(entry) else None

    def all_values(self) -> list[dict[str, Any]] | None:
        """The values of every run (an empty dict for a run without), or None when a column is damaged."""
        if self.values is None:
            columns = {key: self.column(key) for key in self.column_names}
            if None in columns.values():
                return None
            groups: dict[int, list[int]] = {}
            for position, shape in enumerate(self.shape_of):
                groups.setdefault(shape, []).append(position)
            values: list[dict[str, Any]] = [{}] * len(self.ids)
            for shape, positions in groups.items():
                if shape < 0:
                    continue
                keys = self.shapes[shape]
                # one zip per shape: the runs of a log folder mostly share their keys
                rows = zip(*[[column[p] for p in positions] for column in map(columns.__getitem__, keys)])  # type: ignore[index]
                for position, row in zip(positions, rows if keys else [()] * len(positions)):
                    values[position] = dict(zip(keys, row))
            self.values = values
        return self.values


def read_at(fd: int, size: int, offset: int) -> bytes:
    """os.pread where there is one: a process forked with this Reader shares its descriptor, not a position."""
    if PREAD is not None:
        return PREAD(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - platforms without pread (Windows)
    return os.read(fd, size)  # pragma: no cover


def keep_open(stored: Stored) -> None:
    """Note an index file kept open; beyond MAX_OPEN of them, the oldest is read whole and closed."""
    OPEN[:] = [ref for ref in OPEN if ref() is not None and ref().fd is not None]  # type: ignore[union-attr]
    OPEN.append(weakref.ref(stored))
    while len(OPEN) > MAX_OPEN:
        oldest = OPEN.pop(0)()
        if oldest is not None:
            oldest.read_whole()


def valid_head(head: Any) -> bool:
    """Whether line 0 has what Stored needs, of the types it needs (its lists of one item a run as long as "ids")."""
    lists = [head.get(key) for key in RUN_LISTS]
    shapes, columns, sizes = head.get("shapes"), head.get("columns"), head.get("sizes")
    if not all(type(items) is list for items in [*lists, shapes, sizes]) or not all_strings(columns) or not all(map(all_strings, shapes)):
        return False
    ids, flags, shape_of, settled_size, settled_mtime = lists
    if len(set(map(len, lists))) != 1 or len(sizes) != len(columns) + len(ids) or not all_strings(ids):
        return False
    if not set(map(type, flags + shape_of + sizes)) <= INT_ONLY or not set(map(type, settled_size + settled_mtime)) <= INT_OR_NONE:
        return False
    return not ids or (-1 <= min(shape_of) and max(shape_of) < len(shapes) and min(sizes) > 0)


def decode_line(line: bytes, size: int) -> Any:
    """The JSON value of a line read whole (size bytes, the last a newline); None for anything else."""
    return decode(line) if len(line) == size and line.endswith(b"\n") else None


def decode(line: bytes) -> Any:
    try:
        return JSON_DECODE(line.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError included
        return None


def valid_entry(entry: Any) -> bool:
    """Whether an index entry has the shape read_run gives (else the run is read again).

    The index file may have been damaged or edited: nothing in it is trusted unchecked.
    Its stamps are only checked for their shape here: update_entries keeps an entry only
    when they equal the stamps of the files now, which are valid.
    """
    if type(entry) is not dict or not stamps_shape(entry.get("stamps")) or not all_strings(entry.get("problems", [])):
        return False
    if "settled" in entry and not valid_stamp(entry["settled"]):
        return False
    if "values" not in entry:
        return True
    metrics = entry.get("metrics")
    return (
        isinstance(entry["values"], dict)
        and all_strings(entry.get("artifacts"))
        and isinstance(metrics, dict)
        and all(valid_metric(meta) for meta in metrics.values())
    )


def stamps_shape(stamps: Any) -> bool:
    return type(stamps) is list and len(stamps) == 4 and type(stamps[2]) is dict


def valid_stamp(stamp: Any) -> bool:
    return type(stamp) is list and len(stamp) == 2 and type(stamp[0]) is int and type(stamp[1]) is int


def valid_metric(meta: Any) -> bool:
    """{"stamp", "keys", "last", and "summary": {key: {"last", "min", "max", "count"}} once computed}."""
    if not isinstance(meta, dict) or not valid_stamp(meta.get("stamp")) or not all_strings(meta.get("keys")):
        return False
    summary = meta.get("summary", {})
    return isinstance(meta.get("last", {}), dict) and isinstance(summary, dict) and all(isinstance(s, dict) for s in summary.values())


def all_strings(items: Any) -> bool:
    return type(items) is list and (not items or set(map(type, items)) == STR_ONLY)


STR_ONLY = {str}
