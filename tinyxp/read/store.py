"""The index on disk: one file of every run's entry, and a journal of the entries changed since.

`index.json` holds the runs in the layout stored.py reads (a first line saying what
a refresh needs of each run, then the values by column, then a line per run);
`index.journal` beside it holds one `[run id, entry]` JSON line per entry read again
since (`[run id, null]` for a run removed), appended in one write. A refresh that
changed a few runs appends their lines instead of rewriting every run's entry; once the
journal outgrows a quarter of the index file, the next write folds it in (a new
index.json, replaced atomically, then the journal removed).

Nothing here is trusted: every entry is checked for the shape read_run gives and, by
the reader, against the (size, mtime_ns) of the files it came from, so a torn journal
line, lines two readers appended at once, a journal older or newer than the index, or
lines lost to a readers' race only make the runs concerned be read again.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
from contextlib import contextmanager

from ..errors import ReaderError
from .._files import write_atomic
from .files import NOFOLLOW, open_run_file, read_run_file
from .stored import FINISHED, HAS_PROBLEMS, HAS_VALUES, RUN_LISTS, Stored, decode, valid_entry, valid_head, valid_stamp

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

    # what a reader saw of its index: the index file's (size, mtime_ns), and how many bytes
    # of its journal (None: unknown, another reader wrote in between)
    View = Tuple[List[int], Optional[int]]

INDEX_VERSION = 3  # 3: line 0, a line per column, a line per run (stored.py); the journal is beside the file
INDEX_NAME = "index.json"
JOURNAL_SUFFIX = ".journal"
JOURNAL_MIN_BYTES = 256 * 1024  # below this the journal is not folded in, whatever the index's size
JOURNAL_SHARE = 0.25  # else, once it holds this share of the index file's bytes
JSON_DECODE = json.JSONDecoder().decode
ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode  # ASCII only: a character is a byte
HEAD_CHUNK = 256 * 1024
FIELDS_LINE = ""  # the run id of the journal line that holds the fields: no run is named so
SETTLED_LINE = "settled"  # [id, "settled", stamp]: a new settled stamp of an unchanged entry
SETTLED_WORD = f'"{SETTLED_LINE}"'.encode()
APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | NOFOLLOW


@contextmanager
def paused_gc() -> Iterator[None]:
    """Turn the cycle collector off while thousands of entries are made: they hold no
    cycles, and a collection walks every object alive (2-3x the time of a load).

    The first full collection of the process after a load still walks them once (about
    0.15 s at 10,000 runs): tinyxp's own calls keep the collector paused, so that this
    falls to whatever the program does next, if it allocates enough to trigger one.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # what was made is moved to the oldest generation at once: else the next young
        # collection would walk all of it (0.1 s for 10,000 runs), and again one older
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def journal_path(index_path: str) -> str:
    return os.path.splitext(index_path)[0] + JOURNAL_SUFFIX


class Loaded:
    """What load_index found: the index path, its runs and fields, and an index of a newer tinyxp.

    `entries` maps a run id to its entry, or to its position in the index file for a run
    that `stored` decodes on demand (the journal's entries are decoded already).
    """

    def __init__(self) -> None:
        self.path: str | None = None
        self.entries: dict[str, Any] = {}
        self.stored: Stored | None = None
        self.fields: dict[str, str] | None = None  # Reader.fields as of the entries, when saved with them
        self.newer: tuple[str, int] | None = None  # (path, version) of an index a newer tinyxp wrote
        self.damaged: str | None = None  # the path of an index file whose line 0 does not read back
        self.view: View | None = None  # what was read: see View


def load_index(paths: Iterable[str], log_dir: str) -> Loaded:
    """The newest valid index of log_dir among paths, with its journal applied."""
    loaded = Loaded()
    best = -1.0
    for path in paths:
        try:
            fd, st = open_run_file(os.path.dirname(path), os.path.basename(path))  # a FIFO would hang
        except (OSError, ReaderError):
            continue  # absent: built by refresh
        try:
            first = read_first_line(fd)
        except OSError:
            first = b""
        head = decode(first)
        stored = None
        if isinstance(head, dict) and head.get("log_dir") == log_dir:  # else another folder's, or damaged: rebuilt by refresh
            version = head.get("version")
            if type(version) is int and version > INDEX_VERSION and loaded.newer is None:
                loaded.newer = (path, version)
            if version == INDEX_VERSION and st.st_mtime > best:
                stored = stored_runs(head, fd, len(first) + 1)
                if stored is None:
                    loaded.damaged = path
        elif not isinstance(head, dict):
            loaded.damaged = path
        if stored is None:
            os.close(fd)
            continue
        if loaded.stored is not None:
            loaded.stored.close()
        best = st.st_mtime
        loaded.path, (loaded.stored, loaded.entries) = path, stored
        loaded.fields = head.get("fields") if valid_fields(head.get("fields")) else None
        stamp = [st.st_size, st.st_mtime_ns]
    if loaded.path is not None:
        apply_journal(journal_path(loaded.path), loaded, stamp)
    return loaded


def read_first_line(fd: int) -> bytes:
    """The first line of an open file, without its newline (b"" when it has none)."""
    chunks = []
    while True:
        chunk = os.read(fd, HEAD_CHUNK)
        end = chunk.find(b"\n")
        if end >= 0:
            chunks.append(chunk[:end])
            return b"".join(chunks)
        if not chunk:
            return b""
        chunks.append(chunk)


def stored_runs(head: dict[str, Any], fd: int, offset: int) -> tuple[Stored, dict[str, Any]] | None:
    """(the runs of an index file, each run id -> its position there) from its line 0; None when it is not what it should be.

    The lines after line 0 are read from fd, at offset, when first needed."""
    if not valid_head(head):
        return None
    return Stored(head, fd, offset), dict(zip(head["ids"], range(len(head["ids"]))))


def apply_journal(path: str, loaded: Loaded, index_stamp: list[int]) -> None:
    """Apply the lines of the journal at path to the loaded index, in order; a line that is not `[id, entry]` is skipped.

    A line `["", {"index": stamp, "at": offset, "fields": fields}]` gives the fields when
    it is the last line and was written by a reader whose view (View) was this index file
    and the journal up to the line's own start: no other reader's line came in between.
    """
    loaded.view = (index_stamp, 0)
    try:
        raw, _ = read_run_file(os.path.dirname(path), os.path.basename(path))
    except (OSError, ReaderError):
        return
    loaded.view = (index_stamp, len(raw))
    runs = loaded.entries
    lines = raw.split(b"\n")
    superseded = superseded_lines(lines)
    offset = 0
    for index, line in enumerate(lines):
        start, offset = offset, offset + len(line) + 1
        if index in superseded:  # a later line gives the same run's entry: not decoded
            loaded.fields = None
            continue
        try:
            name, entry, *settled = JSON_DECODE(line.decode("utf-8"))
        except (ValueError, TypeError, RecursionError):  # torn, damaged, or not a list
            continue
        if type(name) is not str:
            continue
        if entry == SETTLED_LINE and len(settled) == 1:
            settle(loaded, name, settled[0])
            continue
        if name == FIELDS_LINE:
            found = entry.get("fields") if isinstance(entry, dict) and entry.get("index") == index_stamp and entry.get("at") == start else None
            loaded.fields = found if valid_fields(found) else None
            continue
        loaded.fields = None  # the fields of the runs before this line
        if entry is not None and valid_entry(entry):
            runs[name] = entry
        else:  # removed, or damaged: read again
            runs.pop(name, None)


def superseded_lines(lines: list[bytes]) -> set[int]:
    """The indexes of the `[id, entry]` lines a later one of the same run replaces (lines
    that start `["<digits>",` and are not settled lines)."""
    latest: dict[bytes, int] = {}
    superseded = set()
    for index, line in enumerate(lines):
        if line.startswith(b'["'):
            end = line.find(b'"', 2)
            name = line[2:end]
            if name.isdigit() and not line[end + 1 : end + 16].lstrip(b", ").startswith(SETTLED_WORD):
                if name in latest:
                    superseded.add(latest[name])
                latest[name] = index
    return superseded


def settle(loaded: Loaded, name: str, stamp: Any) -> None:
    """Apply a line `[id, "settled", stamp]`: the run's entry is unchanged, its metadata/ folder has this stamp.

    Whichever entry the run has when the line is read may take it: a reader writes the
    line only when the files were as its entry says after the folder had that stamp, so
    an entry read later has files at least as new (a wrong stamp only makes the run checked again).
    """
    entry = loaded.entries.get(name)
    if not valid_stamp(stamp):
        return
    if type(entry) is int:
        assert loaded.stored is not None  # where the position is
        loaded.stored.settled_size[entry], loaded.stored.settled_mtime[entry] = stamp
    elif entry is not None:
        loaded.entries[name] = {**entry, "settled": stamp}


def valid_fields(fields: Any) -> bool:
    return isinstance(fields, dict) and all(type(kind) is str for kind in fields.values())


def save_index(paths: Iterable[str], log_dir: str, entries: dict[str, Any], changed: set[str] | None, restamped: set[str],
               loaded_from: str | None, fields: dict[str, str] | None, stored: Stored | None,
               decoded: Callable[[], dict[str, dict[str, Any]]], view: View | None) -> tuple[str | None, View | None]:
    """Write the index to the first of paths that can be written; that path, or None.

    With the names of the `changed` entries, and the index at loaded_from, these are
    appended to its journal while the journal stays small, and a short line for each
    entry `restamped` (only its settled stamp changed); else the whole index is written:
    the runs not decoded (their position in `stored`) are copied from it, or, when it
    is damaged, every run is decoded by decoded(). `fields`, when known, are saved after
    the entries (in the journal, when `view` says what the reader saw of it). Returns the
    path written and the reader's view of it now.
    """
    for path in paths:
        try:
            appended, new_view = (False, None) if changed is None or path != loaded_from else \
                append_journal(path, entries, changed, restamped, fields, view)
            if not appended:
                old = stored.raw() if stored is not None else None
                write_whole(path, log_dir, entries if old is not None else decoded(), fields, stored, old)
                st = os.stat(path)
                new_view = ([st.st_size, st.st_mtime_ns], 0)
        except OSError:
            continue
        return path, new_view
    return None, view


def write_whole(path: str, log_dir: str, entries: dict[str, Any], fields: dict[str, str] | None,
                stored: Stored | None = None, old: tuple[dict[str, list[Any]], list[bytes]] | None = None) -> None:
    """Write the index file in the layout stored.py reads, and remove its journal.

    An entry may be a run's position in `stored`, whose columns and entry lines are `old`.
    """
    shapes: dict[tuple[str, ...], int] = {}
    columns: dict[str, list[Any]] = {}
    head: dict[str, Any] = {"version": INDEX_VERSION, "log_dir": log_dir, **{key: [] for key in RUN_LISTS}}
    lines = []
    for position, (name, entry) in enumerate(entries.items()):
        if type(entry) is int:  # copied: its values column by column, its line as it is
            assert stored is not None and old is not None  # where the position is
            keys = stored.shapes[stored.shape_of[entry]] if stored.shape_of[entry] >= 0 else None
            items = None if keys is None else [(key, old[0][key][entry]) for key in keys]
            flags, settled = stored.flags[entry], [stored.settled_size[entry], stored.settled_mtime[entry]]
            lines.append(old[1][entry])
        else:
            values = entry.get("values")
            items = None if values is None else values.items()
            flags = (HAS_VALUES if values is not None else 0) | (HAS_PROBLEMS if entry.get("problems") else 0) | (FINISHED if entry.get("finished") else 0)
            settled = entry.get("settled") or [None, None]
            lines.append(ENCODE({key: value for key, value in entry.items() if key != "values"}).encode() + b"\n")  # ASCII
        shape = -1
        if items is not None:
            column_values = dict(items)
            shape = shapes.setdefault(tuple(column_values), len(shapes))
            for key, value in column_values.items():
                column = columns.get(key)
                if column is None:
                    column = columns[key] = [None] * len(entries)
                column[position] = value
        for key, item in zip(RUN_LISTS, (name, flags, shape, *settled)):
            head[key].append(item)
    lines[:0] = [ENCODE(column).encode() + b"\n" for column in columns.values()]
    head.update(shapes=list(shapes), columns=list(columns), sizes=list(map(len, lines)))
    if fields is not None:
        head["fields"] = fields
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, b"".join([ENCODE(head).encode(), b"\n", *lines]))
    try:
        os.unlink(journal_path(path))  # folded in
    except FileNotFoundError:
        pass


def append_journal(path: str, entries: dict[str, Any], changed: set[str], restamped: set[str], fields: dict[str, str] | None,
                   view: View | None) -> tuple[bool, View | None]:
    """Append the changed entries, the restamped ones' stamps (and the fields) to the journal of the index at path,
    in one write; (False when the journal would grow too big, the reader's view of it after the write)."""
    lines: list[list[Any]] = [[name, entries.get(name)] for name in sorted(changed)]
    lines += [[name, SETTLED_LINE, entries[name]["settled"]] for name in sorted(restamped - changed) if type(entries.get(name)) is dict]
    data = "".join(json.dumps(line, separators=(",", ":"), check_circular=False) + "\n" for line in lines).encode("utf-8")
    if fields is not None and view is not None and view[1] is not None:  # the fields of what this reader saw: valid if nothing came between
        data += (json.dumps([FIELDS_LINE, {"index": view[0], "at": view[1] + len(data), "fields": fields}],
                            separators=(",", ":"), check_circular=False) + "\n").encode("utf-8")
    if not data:
        return True, view
    st = os.stat(path)
    journal = journal_path(path)
    try:
        size = os.lstat(journal).st_size
    except FileNotFoundError:
        size = 0
    if size + len(data) > max(JOURNAL_MIN_BYTES, st.st_size * JOURNAL_SHARE):
        return False, view
    fd = os.open(journal, APPEND_FLAGS, 0o666)
    try:
        written = os.write(fd, data)  # one write: readers appending at once do not interleave their lines
        while written < len(data):  # pragma: no cover - a rare short write (full disk, signal); a torn line is skipped when read
            written += os.write(fd, data[written:])
        end = os.lseek(fd, 0, os.SEEK_CUR)  # where this write ended: O_APPEND put it after whatever was there
    finally:
        os.close(fd)
    if view is None:
        return True, None
    return True, (view[0], end if view[1] == end - len(data) else None)  # None: another reader wrote in between


def fallback_index_path(log_dir: str, index_dir: str | None) -> str:
    """The index path used when log_dir is not writable: index_dir or a per-user cache."""
    if index_dir is None:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        index_dir = os.path.join(cache, "tinyxp", "index")
    digest = hashlib.sha1(log_dir.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(index_dir, f"index-{digest}.json")
