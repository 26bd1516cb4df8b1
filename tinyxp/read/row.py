"""One run as a row: values in memory, metric columns read on first access, artifacts.

`config.*` and `info.*` values are in memory, a metric column (`train.loss`) is read
from `metrics/train.jsonl` on first access (all of that file's columns at once), and an
artifact column (`artifacts.pickle/last.pkl`) is an `Artifact` whose `.load()` unpickles.
Rows made by `aggregate` or `map` are plain dicts; `peek`, `with_values` and `record`
take either.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence

from .._contract import METRIC_SUFFIX, METRICS_DIR, MLXP_METRIC_SUFFIX
from ..errors import ReaderError
from .files import UnreadableFile, read_run_file
from .stored import NOT_LOADED

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

SHORT_NAMES = {"id": "info.run_id", "status": "info.status"}  # in queries and table columns


def with_short_names(fields: dict[str, str]) -> dict[str, str]:
    """fields (name -> type name) with `id` and `status` added where their long names are."""
    short = {name: fields[long] for name, long in SHORT_NAMES.items() if long in fields and name not in fields}
    return {**fields, **short} if short else fields


class ShortNames(Mapping):
    """A row's values as a query reads them: `id` and `status` stand for their info.* names."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping) -> None:
        self._values = values

    def __getitem__(self, name: str) -> Any:
        if name in SHORT_NAMES and name not in self._values:
            name = SHORT_NAMES[name]
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


# -- values --------------------------------------------------------------------------

def read_metric_file(run_dir: str, relative: str, size: int | None = None) -> dict[str, list[Any]]:
    """key -> values in file order, from a run's JSON-lines metrics file ('metrics/train.jsonl').

    Reads the first `size` bytes when given (what the index saw); a torn last line is
    ignored, and so are lines that are not JSON objects (the file is only ever appended
    to whole lines, so these come from outside tinyxp). Raises OSError, and
    files.UnreadableFile for a symbolic link or what is not a regular file.
    """
    data, _ = read_run_file(run_dir, relative, size=size)
    data = data[: data.rfind(b"\n") + 1]
    try:
        # one json.loads over the whole file is several times faster than one per line
        records = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
    except (ValueError, RecursionError):
        records = []
        for line in data.splitlines():
            try:
                records.append(json.loads(line))
            except (ValueError, RecursionError):  # a line nested a thousand deep is not a record of log_metrics
                continue
    return records_to_columns(records)


def records_to_columns(records: list[Any]) -> dict[str, list[Any]]:
    """key -> its values in record order, over the records that are JSON objects."""
    first = records[0] if records else None
    # the usual file, objects with the same keys: one list per key at once. The first's
    # keys found in every record and as many keys in all: no record has another key
    if type(first) is dict:
        try:
            if sum(map(len, records)) == len(first) * len(records):
                return {key: [record[key] for record in records] for key in first}
        except (KeyError, TypeError):  # a record without one of the keys, or not an object (a number has no len())
            pass
    columns: dict[str, list[Any]] = {}
    for record in records:
        if isinstance(record, dict):
            for key, value in record.items():
                column = columns.get(key)
                if column is None:
                    columns[key] = [value]
                else:
                    column.append(value)
    return columns


def summarize(values: Sequence[Any]) -> dict[str, Any]:
    """{"last", "min", "max", "count"} of a metric column; min and max over its numbers."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v))]
    return {
        "last": values[-1] if values else None,
        "min": min(numbers) if numbers else None,
        "max": max(numbers) if numbers else None,
        "count": len(values),
    }


class Artifact:
    """A file under a run's artifacts/<format>/ folder; `.load()` reads it."""

    LOADERS: dict[str, Callable[[str], Any]] = {}

    def __init__(self, path: str, format: str, name: str) -> None:
        self.path = path
        self.format = format
        self.name = name

    def __repr__(self) -> str:
        return f"Artifact({self.format}/{self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artifact) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def load(self, loader: Callable[[str], Any] | None = None) -> Any:
        """The artifact's content: pickle, json, text, image (PNG bytes), numpy and npz (a dict
        of arrays) are known; else pass `loader(path)`."""
        if loader is not None:
            return loader(self.path)
        if self.format == "pickle":
            import pickle  # only for pickled artifacts

            with open(self.path, "rb") as file:
                return pickle.load(file)
        if self.format == "json":
            with open(self.path, encoding="utf-8") as file:
                return json.load(file)
        if self.format in ("text", "txt"):
            with open(self.path, encoding="utf-8") as file:
                return file.read()
        if self.format == "image":
            with open(self.path, "rb") as file:
                return file.read()
        if self.format == "numpy":
            import numpy  # only for numpy artifacts

            return numpy.load(self.path, allow_pickle=False)
        if self.format == "npz":
            import numpy

            with numpy.load(self.path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        raise ReaderError(f"Cannot load artifact format {self.format!r} of {self.path!r}: pass load(loader=function of the path)")


# -- rows ----------------------------------------------------------------------------


class Row(Mapping):
    """One run: static config/info values, lazy metric columns, artifact columns."""

    __slots__ = ("static", "run_dir", "run_id", "_metrics", "_artifacts", "_loaded", "_sizes")

    def __init__(
        self,
        static: dict[str, Any],
        run_dir: str | None = None,
        metrics: dict[str, list[str]] | None = None,
        artifacts: Sequence[str] = (),
        run_id: str | None = None,
        sizes: dict[str, int] | None = None,
        _loaded: dict[str, dict[str, list[Any]]] | None = None,
    ) -> None:
        self.static = static
        self.run_dir = run_dir
        self.run_id = run_id
        self._metrics = metrics or {}
        self._artifacts = artifacts
        self._sizes = sizes or {}  # log name -> the bytes of its file the index saw: read no more
        self._loaded = {} if _loaded is None else _loaded  # log name -> key -> values

    def __getitem__(self, column: str) -> Any:
        value = self.static_value(column)
        if value is not NOT_LOADED:
            return value
        if column.startswith("artifacts."):
            relative = column[len("artifacts.") :]
            if relative in self._artifacts:
                fmt, _, name = relative.partition("/")
                return Artifact(self._path("artifacts", fmt, name), fmt, name)
            raise KeyError(column)
        for log_name in self._metrics:
            if column.startswith(log_name) and column[len(log_name) : len(log_name) + 1] == ".":
                values = self.metric_file(log_name).get(column[len(log_name) + 1 :])
                if values is not None:
                    return values
        raise KeyError(column)

    def static_value(self, column: str) -> Any:
        """The config/info value of column; NOT_LOADED when the run has none."""
        return self.static.get(column, NOT_LOADED)

    def static_keys(self) -> list[str]:
        return list(self.static)

    def metric_file(self, log_name: str) -> dict[str, list[Any]]:
        """All columns of metrics/<log_name>.jsonl (or .json), read once (raises ReaderError if unreadable).

        Only the lines the index saw are read, so that every value of a Reader is as of its
        last refresh(): last(train.loss) is then row["train.loss"][-1].
        """
        loaded = self._loaded.get(log_name)
        if loaded is None:
            loaded = self._loaded[log_name] = self._read_metric_file(log_name)
        return loaded

    def _read_metric_file(self, log_name: str) -> dict[str, list[Any]]:
        run_dir, size = self._path(), self._sizes.get(log_name)
        path = f"{run_dir}/{METRICS_DIR}/{log_name}{METRIC_SUFFIX}"
        try:
            try:
                return read_metric_file(run_dir, f"{METRICS_DIR}/{log_name}{METRIC_SUFFIX}", size)
            except FileNotFoundError:  # a run MLXP wrote: metrics/<log_name>.json
                path = f"{run_dir}/{METRICS_DIR}/{log_name}{MLXP_METRIC_SUFFIX}"
                return read_metric_file(run_dir, f"{METRICS_DIR}/{log_name}{MLXP_METRIC_SUFFIX}", size)
        except OSError as err:
            raise ReaderError(f"Cannot read metrics file {path!r}: {err.strerror}") from None
        except UnreadableFile as err:
            raise ReaderError(f"Cannot read metrics file {path!r}: {err.reason}") from None

    def _path(self, *parts: str) -> str:
        assert self.run_dir is not None  # a row with metrics or artifacts has its run folder
        return os.path.join(self.run_dir, *parts)

    def metric_columns(self) -> list[str]:
        columns: list[str] = []
        for log_name, keys in self._metrics.items():
            loaded = self._loaded.get(log_name)
            columns.extend(f"{log_name}.{key}" for key in (keys if loaded is None else dict.fromkeys([*keys, *loaded])))
        return columns

    def keys(self) -> list[str]:  # type: ignore[override]
        return [*self.static_keys(), *self.metric_columns(), *(f"artifacts.{a}" for a in self._artifacts)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, column: object) -> bool:
        return (type(column) is str and self.static_value(column) is not NOT_LOADED) or column in self.keys()

    def __repr__(self) -> str:
        return f"Row({self.run_dir!r})" if self.run_dir else f"Row({self.static!r})"

    def peek(self, column: str) -> Any:
        """The value if it is in memory (no file is read); NOT_LOADED otherwise."""
        value = self.static_value(column)
        if value is not NOT_LOADED:
            return value
        for log_name, loaded in self._loaded.items():
            if column.startswith(log_name + "."):
                return loaded.get(column[len(log_name) + 1 :], NOT_LOADED)
        if column.startswith("artifacts."):
            return self.get(column, NOT_LOADED)
        return NOT_LOADED

    def is_loaded(self, column: str) -> bool:
        return self.peek(column) is not NOT_LOADED

    def with_values(self, values: dict[str, Any]) -> Row:
        """A row with more static columns, sharing this row's loaded metric files."""
        return Row({**self.static, **values}, run_dir=self.run_dir, metrics=self._metrics, artifacts=self._artifacts, run_id=self.run_id,
                   sizes=self._sizes, _loaded=self._loaded)

    def record(self, *, lazy: bool = True) -> dict[str, Any]:
        """A plain dict: static values, every metric column, artifact paths.

        Metric files not loaded yet are read; lazy=True reads them for this record only,
        lazy=False keeps them in the row as reading a column would. Raises ReaderError
        for a metrics file that cannot be read.
        """
        out = dict(self.static)
        for log_name in self._metrics:
            loaded = self._loaded.get(log_name)
            if loaded is None:
                loaded = self._read_metric_file(log_name) if lazy else self.metric_file(log_name)
            out.update((f"{log_name}.{key}", values) for key, values in loaded.items())
        for artifact in self._artifacts:
            out[f"artifacts.{artifact}"] = self._path("artifacts", artifact)
        return out


class StoredRow(Row):
    """A row of a run of the index file, as its Reader (`source`) read it, decoded on demand.

    A config or info value is read from its column of the index (`source.stored_value`),
    the names of the run's values from the index too (`source.stored_keys`), so that a
    table of a few columns decodes no more. The other slots are empty until first read,
    which is when Python calls __getattr__: `static` from `source.stored_values`, the
    metric and artifact names from `source.stored_parts`.
    """

    __slots__ = ("_position", "_source")

    def __init__(self, run_dir: str, run_id: str, position: int, source: Any) -> None:  # noqa: super().__init__ would decode
        self.run_dir = run_dir
        self.run_id = run_id
        self._position = position
        self._source = source
        self._loaded = {}

    def __getattr__(self, name: str) -> Any:
        if name == "static":
            self.static = self._source.stored_values(self.run_id, self._position)
        elif name in ("_metrics", "_artifacts", "_sizes"):
            self._metrics, self._artifacts, self._sizes = self._source.stored_parts(self.run_id, self._position)
        else:
            raise AttributeError(name)
        return getattr(self, name)

    def static_value(self, column: str) -> Any:
        return self._source.stored_value(self.run_id, self._position, column)

    def static_keys(self) -> list[str]:
        return self._source.stored_keys(self.run_id, self._position)


class LazyRows(Sequence):
    """The rows of a DataFrame, each made when first read: `make(name, entry)` for the runs
    of a Reader as its last refresh left them (a query's result is often never read whole)."""

    def __init__(self, runs: list[tuple[str, Any]], make: Callable[[str, Any], Row]) -> None:
        self._runs = runs
        self._make = make
        self._rows: list[Row | None] = [None] * len(runs)

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._runs)))]
        row = self._rows[index]
        if row is None:
            row = self._rows[index] = self._make(*self._runs[index])
        return row

    def __iter__(self) -> Iterator[Row]:
        if None in self._rows:
            self._rows = [row if row is not None else self._make(*run) for row, run in zip(self._rows, self._runs)]
        return iter(self._rows)  # type: ignore[arg-type]


def peek(row: Mapping, column: str) -> Any:
    return row.peek(column) if isinstance(row, Row) else row.get(column)


def with_values(row: Mapping, values: dict[str, Any]) -> Mapping:
    return row.with_values(values) if isinstance(row, Row) else {**row, **values}


def record(row: Mapping, *, lazy: bool = True) -> dict[str, Any]:
    if isinstance(row, Row):
        return row.record(lazy=lazy)
    return {key: (value.path if isinstance(value, Artifact) else value) for key, value in row.items()}


def is_metric(row: Mapping, key: str) -> bool:
    return isinstance(row, Row) and key not in row.static and not key.startswith("artifacts.")
