"""Reader: the runs of one log directory, kept in an index (read.index), as DataFrames."""
from __future__ import annotations

import os
import sys
import warnings
from itertools import compress, repeat

from .._contract import NOTES_COLUMNS, TINYXP_DIR
from ..errors import ReaderError
from .frame import DataFrame
from .index import collect_fields, read_run, split_metric_column, update_entries
from .query_tree import Field, operands
from .row import NOT_LOADED, SHORT_NAMES, LazyRows, Row, StoredRow, summarize, with_short_names
from .status import DEFAULT_LOST_AFTER, LOST, mark_lost
from .store import INDEX_NAME, fallback_index_path, load_index, paused_gc, save_index
from .stored import DAMAGED, HAS_PROBLEMS, HAS_VALUES

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence


def describe_ids(names: list[str]) -> str:
    """Run ids as short text: `1-4, 7` (none: `none`)."""
    spans: list[list[int]] = []
    for value in sorted(int(name) for name in names):
        if spans and value == spans[-1][1] + 1:
            spans[-1][1] = value
        else:
            spans.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans) or "none"


def values_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The values of an index entry as its row has them: a lost run's status is LOST."""
    if entry.get("lost"):
        return {**entry["values"], "info.status": LOST}
    return entry["values"]


class ReaderWarning(UserWarning):
    """Partial runs that were read in part, or an index that could not be written."""


class Reader:
    """The runs of one log directory, indexed: `len`, `fields`, `searchable`, `filter(query)`.

    `index_dir` is where the index goes when `log_dir` is not writable (default: a
    per-user cache folder); failing that it stays in memory. A RUNNING run whose
    heartbeat is older than `lost_after` seconds reads as status LOST. Raises
    ReaderError when `log_dir` is not a directory.
    """

    def __init__(self, log_dir: str, index_dir: str | None = None, lost_after: float = DEFAULT_LOST_AFTER, *, progress: bool | None = None) -> None:
        if not os.path.isdir(log_dir):
            what = "is not a directory" if os.path.exists(log_dir) else "does not exist"
            raise ReaderError(f"Cannot read log directory {log_dir!r}: it {what}")
        self.log_dir = os.path.abspath(log_dir)
        self.lost_after = lost_after
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.index_paths = [os.path.join(self.log_dir, TINYXP_DIR, INDEX_NAME), fallback_index_path(self.log_dir, index_dir)]
        with paused_gc():
            loaded = load_index(self.index_paths, self.log_dir)
        if loaded.newer is not None:  # left as it is for the newer tinyxp: this one keeps its own index elsewhere
            path, version = loaded.newer
            self.index_paths.remove(path)
            warnings.warn(f"The run index {path!r} was written by a newer tinyxp (index version {version}): left as it is; "
                          f"this tinyxp keeps its own in {self.index_paths[0]!r}", ReaderWarning, stacklevel=2)
        self.index_path = loaded.path  # where the index was read or written; None: memory
        self._entries: dict[str, Any] = loaded.entries  # run id -> entry, or its position in self._stored, not decoded yet
        self._stored = loaded.stored
        self._view = loaded.view  # what this Reader saw of its index file and journal (store.View)
        self.problems: list[tuple[str, str]] = []
        self._dirty = False
        self._changed: set[str] | None = set()  # the entries to append to the journal; None: write the whole index
        self._restamped: set[str] = set()  # the entries whose settled stamp alone changed
        self._fields = loaded.fields
        self._fields_saved = loaded.fields is not None
        self._warned_memory = False
        self._warned_damaged = False
        self._listed_ids: list[str] | None = None  # the runs listed, as of the last refresh
        self._compiled_for: dict[str, str] | None = None  # the fields the queries below were checked against
        self._queries: dict[tuple[str, bool], tuple[list[str], Any, bool, Any]] = {}
        if loaded.damaged is not None:
            self._warn_damaged(loaded.damaged)
        self.refresh()

    # -- public surface --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._listed())

    def __repr__(self) -> str:
        return f"Reader({self.log_dir!r}: {len(self)} runs)"

    @property
    def fields(self) -> dict[str, str]:
        """Every column -> its type name: config.*, info.*, metric and artifact columns."""
        if self._fields is None:
            self._fields = collect_fields(self._decoded().values())  # saved with the index at the next save_index
        return self._fields

    @property
    def searchable(self) -> dict[str, str]:
        """The config.* and info.* fields, tags and note: what queries compare directly."""
        return {name: kind for name, kind in self.fields.items() if name.startswith(("config.", "info.")) or name in NOTES_COLUMNS}

    @property
    def runs(self) -> DataFrame:
        """Every run, as a DataFrame (the same as `filter()`)."""
        return self.filter()

    def filter(self, query: str | None = "") -> DataFrame:
        """The runs matching `query` (all runs when empty), in run id order.

        Raises QueryError for a syntax error, an unknown field or an impossible comparison.
        """
        with paused_gc():  # thousands of rows: see store.paused_gc
            return self._filter(query)

    def _filter(self, query: str | None) -> DataFrame:
        if not (query and query.strip()):
            return DataFrame(LazyRows([(name, self._entries[name]) for name in self._listed()], self._row))
        self.fields  # first: collecting them may decode every run
        columns = self._stored is not None and int in set(map(type, self._entries.values()))  # runs not decoded: read by column
        keys, scan, positional, predicate = self._compiled(query, columns)
        if scan is not None:  # no summary: no need to know the run tested, one comprehension for all
            matches = scan(*self._tested(keys, positional, columns), None)
        else:
            current = [""]  # the run being tested: no closure made per run

            def summary(function: str, column: str) -> Any:
                return self._summary(current[0], self._light_entry(current[0]), function, column)

            matches = []
            for current[0], values in zip(*self._tested(keys, False, columns)):
                if predicate(values, summary):
                    matches.append(current[0])
        self.save_index()
        return DataFrame(LazyRows([(name, self._entries[name]) for name in matches], self._row))

    def _compiled(self, query: str, columns: bool) -> tuple[list[str], Any, bool, Any]:
        """(the keys the query compares, its scan, whether the scan reads tuples, its predicate when it has
        no scan: one with a summary), made once per query and fields. Raises QueryError."""
        fields = self.fields
        if self._compiled_for is not fields:
            self._compiled_for, self._queries = fields, {}
        found = self._queries.get((query, columns))
        if found is None:
            from .query import compile_query, compile_scan, parse  # the query language: only when a query is given

            with_short = with_short_names(fields)
            aliases = {short: long for short, long in SHORT_NAMES.items() if long in fields and short not in fields}
            compared = operands(parse(query))
            keys = list(dict.fromkeys(aliases.get(o.name, o.name) for o in compared if isinstance(o, Field)))
            if all(isinstance(o, Field) for o in compared):
                scan, positional = compile_scan(query, with_short, aliases, keys if columns else None)
                found = (keys, scan, positional, None)
            else:
                found = (keys, None, False, compile_query(query, with_short, aliases))
            self._queries[(query, columns)] = found
        return found

    def _tested(self, keys: list[str], positional: bool, columns: bool) -> tuple[list[str], list[Any]]:
        """(the listed runs, their values a query tests): tuples of the values of keys (None
        for one a run lacks) when positional, else mappings; read from the index's columns for
        the runs not decoded (when `columns`: there are some), as they are for the others."""
        names = self._listed()
        stored: list[Any] = []
        if columns and self._stored is not None:
            values = [self._stored.column(key) for key in keys]
            if None in values:  # a damaged line: every run is decoded, or read again
                self._decoded()
            elif positional:
                stored = list(zip(*values)) if keys else [()] * len(self._stored.ids)
            else:
                stored = list(map(dict, map(zip, repeat(keys), zip(*values)))) if keys else [{}] * len(self._stored.ids)
        entries = map(self._entries.__getitem__, names)
        if positional:
            return names, [stored[entry] if type(entry) is int else tuple(map(values_of(entry).get, keys)) for entry in entries]
        return names, [stored[entry] if type(entry) is int else entry["values"] if "lost" not in entry else values_of(entry) for entry in entries]

    def _listed(self) -> list[str]:
        """The ids of the runs listed (those with values), found once per refresh."""
        if self._listed_ids is None:
            self._listed_ids = [name for name, entry in self._entries.items() if self._is_listed(entry)]
        return self._listed_ids

    def _is_listed(self, entry: Any) -> bool:
        """Whether a run's entry (or its position in the index file) is of a run with values."""
        if type(entry) is int:
            assert self._stored is not None  # where the position is
            return bool(self._stored.flags[entry] & HAS_VALUES)
        return "values" in entry

    def run(self, run_id: int | str) -> Row:
        """The run with this id; raises ReaderError for an id that is not a run here."""
        name = str(run_id)
        entry = self._entries.get(name)
        if entry is None or not self._is_listed(entry):
            known = self._listed()
            raise ReaderError(f"Unknown run {name} in {self.log_dir!r}: runs here are {describe_ids(known)}")
        return self._row(name, self._entry(name))

    def summary(self, row: Row, function: str, column: str) -> Any:
        """last / min / max / count of a metric column of one run (None if it has none).

        Cached in the index for finished runs.
        """
        name = row.run_id
        assert name is not None  # a row of this Reader has its run id
        return self._summary(name, self._light_entry(name), function, column, row)

    def refresh(self) -> None:
        """Pick up new, changed and removed runs; re-read only what changed on disk."""
        with paused_gc():
            entries, changed, restamped = update_entries(self.log_dir, self._entries, progress=self.progress, stored=self._stored)
        if changed:
            self._fields, self._fields_saved = None, False
        if changed or restamped:
            self._dirty = True
            self._restamped |= restamped
            if self._changed is not None:
                self._changed |= changed
        self._entries = entries
        self._shapes: dict[str, tuple[dict[str, Any], tuple[str, dict[str, list[str]], dict[str, int]]]] = {}
        self._listed_ids = None
        self._light: dict[str, dict[str, Any]] = {}  # runs not decoded: their entries without values, as rows and summaries read them
        mark_lost(entries, self.log_dir, self.lost_after)
        stored = self._stored
        with_problems = set(compress(stored.ids, map(HAS_PROBLEMS.__and__, stored.flags))) if stored is not None else set()
        with_problems.update(name for name, entry in entries.items() if type(entry) is dict and entry.get("problems"))
        self.problems = [(os.path.join(self.log_dir, name), problem) for name in entries if name in with_problems
                         for problem in self._entry(name).get("problems", ())]
        # said once: when first seen or changed, not on every listing (self.problems keeps them all)
        news = [(os.path.join(self.log_dir, name), problem) for name in sorted(changed & entries.keys(), key=int)
                for problem in entries[name].get("problems", ())]
        if news:
            lines = "\n".join(f"  {path}: {problem}" for path, problem in news)
            warnings.warn(f"Read {len(news)} partial run file(s) in part:\n{lines}", ReaderWarning, stacklevel=3)
        self.save_index()

    # -- rows and summaries ----------------------------------------------------------

    def _entry(self, name: str) -> dict[str, Any]:
        """The entry of a run, decoded from the index file on first use (read again from its files when damaged there)."""
        entry = self._entries[name]
        if type(entry) is int:
            assert self._stored is not None  # where the position is
            light = self._light.pop(name, None)
            values = self._stored.values_at(entry) if light is not None else None
            entry = self._stored.entry(entry) if light is None else None if values is None else {**light, "values": values}
            if entry is None:
                self._warn_damaged(self.index_path)
                with paused_gc():
                    entry = read_run(os.path.join(self.log_dir, name), None, None)
                self._dirty = True
                self._changed = None  # the index file is damaged: written whole at the next save
                self._listed_ids = None  # read again, the run may have no values now
            self._entries[name] = entry
        return entry

    # what a StoredRow asks of the run it stands for: the index file as this Reader read it

    def stored_value(self, name: str, position: int, column: str) -> Any:
        """A config or info value of a run, from its column of the index; NOT_LOADED when it has none."""
        assert self._stored is not None  # where the position is
        value = self._stored.value(position, column)
        return values_of(self._stored_entry(name, position)).get(column, NOT_LOADED) if value is DAMAGED else value

    def stored_keys(self, name: str, position: int) -> list[str]:
        assert self._stored is not None  # where the position is
        return self._stored.keys_at(position)

    def stored_values(self, name: str, position: int) -> dict[str, Any]:
        return values_of(self._stored_entry(name, position))

    def stored_parts(self, name: str, position: int) -> tuple[dict[str, list[str]], Sequence[str], dict[str, int]]:
        """(metric keys by log name, artifacts, metric file sizes) of a run, its values left undecoded."""
        assert self._stored is not None  # where the position is
        entry = self._stored.entry(position, with_values=False) or self._stored_entry(name, position)
        _, metrics, sizes = self._row_shape(name, entry)
        return metrics, entry["artifacts"], sizes

    def _stored_entry(self, name: str, position: int) -> dict[str, Any]:
        """The entry the index file holds at position (the run's entry now, while not refreshed since)."""
        current = self._entries.get(name)
        if type(current) is int and current == position:
            return self._entry(name)  # decoded once for the Reader and its rows
        assert self._stored is not None  # where the position is
        entry = self._stored.entry(position)
        if entry is None:
            self._warn_damaged(self.index_path)
            entry = read_run(os.path.join(self.log_dir, name), None, None)
        return entry

    def _light_entry(self, name: str) -> dict[str, Any]:
        """The entry of a run without its values while it is not decoded (the values take every column)."""
        entry = self._entries[name]
        if type(entry) is not int:
            return entry
        light = self._light.get(name)
        if light is None:
            assert self._stored is not None  # where the position is
            light = self._stored.entry(entry, with_values=False)
            if light is None:  # damaged: read again
                return self._entry(name)
            self._light[name] = light
        return light

    def _decoded(self) -> dict[str, dict[str, Any]]:
        """Every entry, decoded."""
        with paused_gc():
            for name, entry in self._entries.items():
                if type(entry) is int:
                    self._entry(name)
        return self._entries

    def _row(self, name: str, entry: Any) -> Row:
        if type(entry) is int:  # the run's entry is decoded when the row is first read
            return StoredRow(f"{self.log_dir}{os.sep}{name}", name, entry, self)
        run_dir, metrics, sizes = self._row_shape(name, entry)
        return Row(values_of(entry), run_dir, metrics, entry["artifacts"], name, sizes)

    def _row_shape(self, name: str, entry: dict[str, Any]) -> tuple[str, dict[str, list[str]], dict[str, int]]:
        """(run folder, metric keys by log name, metric file sizes): the same for every row of the entry."""
        cached = self._shapes.get(name)
        if cached is None or cached[0] is not entry:
            metrics, sizes = {}, {}
            for log, meta in entry["metrics"].items():
                metrics[log], sizes[log] = meta["keys"], meta["stamp"][0]
            cached = self._shapes[name] = (entry, (f"{self.log_dir}{os.sep}{name}", metrics, sizes))
        return cached[1]

    def _summary(self, name: str, entry: dict[str, Any], function: str, column: str, row: Row | None = None) -> Any:
        """function (last, min, max, count) of a metric column of the run; its row is made only to read a metrics file.

        `entry` may be the run's light entry (_light_entry): its values are not needed.
        """
        log_name, key = split_metric_column(column, entry["metrics"])
        if log_name is None:
            return None
        meta = entry["metrics"][log_name]
        cached = meta.get("summary", {}).get(key)
        if cached is None:
            last = meta.get("last", {})
            if function == "last" and key in last:
                return last[key]
            values = (row or self._row(name, self._entries[name])).get(column)
            if values is None:
                return None
            cached = summarize(values)
            if entry.get("finished"):
                meta.setdefault("summary", {})[key] = cached
                self._entry(name)  # a light entry (no values) becomes whole, this summary in: the journal takes it
                self._dirty = True
                if self._changed is not None:
                    self._changed.add(name)
        return cached.get(function)

    # -- the index file --------------------------------------------------------------

    def _warn_damaged(self, path: str | None) -> None:
        """Say once that the index file is damaged: what it held is read again from the run folders."""
        if not self._warned_damaged:
            self._warned_damaged = True
            warnings.warn(f"The run index {path!r} is damaged: the runs it held are read again from their folders, and it is "
                          "written anew", ReaderWarning, stacklevel=4)

    def save_index(self) -> None:
        """Write the index if it changed (new runs, summaries cached by `summary`, fields found); else do nothing."""
        if not self._dirty and (self._fields_saved or self._fields is None):
            return
        with paused_gc():
            self.index_path, self._view = save_index(self.index_paths, self.log_dir, self._entries, self._changed, self._restamped,
                                                     self.index_path, self._fields, self._stored, self._decoded, self._view)
        if self.index_path is not None:
            self._dirty = False
            self._changed, self._restamped = set(), set()
            self._fields_saved = self._fields is not None
            return
        self._changed = None  # when a folder becomes writable again, all of it
        if not self._warned_memory:
            self._warned_memory = True
            tried = ", ".join(repr(path) for path in self.index_paths)
            warnings.warn(f"Cannot write the run index to {tried}; keeping it in memory", ReaderWarning, stacklevel=3)
