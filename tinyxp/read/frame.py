"""DataFrame and GroupedDataFrame: runs as rows, lazy metric columns, grouping, export.

The rows are `Row`s of a Reader (read.row) or plain dicts made by `aggregate` or `map`.
A map is MLXP's tuple `(function, columns[, output names])`: the function is applied to
each column separately; the default output name is `<function name>.<column>`.

csv, html, pandas and the query language are imported where they are used: few calls need them.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping

from .._values import type_name
from ..errors import ReaderError
from . import frame_ops
from .frame_ops import apply_map, check_column, describe_group, function_name, hashable, normalize_maps, selection
from .row import NOT_LOADED, LazyRows, Row, ShortNames, StoredRow, is_metric, peek, record, summarize, with_short_names, with_values
from .text import csv_cell, format_cell, format_table

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Sequence, Tuple

    Map = Tuple[Any, ...]

MAX_REPR_ROWS = 20
CONTAINERS = (list, dict, tuple)  # values that frame_ops.hashable changes or compares item by item
MAX_REPR_WIDTH = 120


# -- sorting -------------------------------------------------------------------------


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders numbers, then strings, then anything else (as JSON text)."""
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))


def sort_rows(rows: list[Any], columns: Sequence[str], values: Callable[[Any, str], Any], reverse: bool) -> list[Any]:
    """Stable sort by several columns; a column name starting with '-' sorts descending.

    Missing values (None) and NaN go last whichever the direction.
    """
    for column in reversed(columns):
        descending = reverse
        if column.startswith("-"):
            column, descending = column[1:], not reverse
        present: list[Any] = []
        missing: list[Any] = []
        for row in rows:
            value = values(row, column)
            missing_value = value is None or (isinstance(value, float) and math.isnan(value))
            (missing if missing_value else present).append(row)
        present.sort(key=lambda row: sort_key(values(row, column)), reverse=descending)
        rows = present + missing
    return rows


def column_values(rows: Sequence[Mapping], column: str) -> list[Any]:
    """[row.get(column) for row in rows], a Row's static values read directly (the usual columns)."""
    values = []
    for row in rows:
        value = row.static_value(column) if isinstance(row, StoredRow) else row.static.get(column, NOT_LOADED) if isinstance(row, Row) else NOT_LOADED
        values.append(row.get(column) if value is NOT_LOADED else value)
    return values


def varies(values: list[Any]) -> bool:
    """Whether the values are not all the same, compared as group keys (frame_ops.hashable)."""
    kind = type(values[0]) if values else None
    if kind not in CONTAINERS:  # the usual case: no value to make hashable
        for value in values:
            if type(value) is not kind or value != values[0]:
                if type(value) not in CONTAINERS:
                    return True
                break
        else:
            return False
    keys = [hashable(value) for value in values]
    return any(key != keys[0] or type(key) is not type(keys[0]) for key in keys)


# -- DataFrame -----------------------------------------------------------------------


class DataFrame:
    """Rows (runs, or the results of aggregate/map) and their columns.

    `len(df)`, iteration over rows, `df[i]` a row, `df[i:j]` a DataFrame, `df["col"]` a
    column as a list (None where a row lacks it), `keys()` the column names.
    """

    def __init__(self, rows: Iterable[Mapping] = ()) -> None:
        self._rows: Sequence[Mapping] = rows if isinstance(rows, LazyRows) else list(rows)
        self._keys: list[str] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Mapping]:
        return iter(self._rows)

    def __getitem__(self, item: int | slice | str) -> Any:
        if isinstance(item, str):
            if self._rows:  # an empty frame has no columns to check against
                check_column(item, self.keys())
            return [row.get(item) for row in self._rows]
        if isinstance(item, slice):
            return DataFrame(self._rows[item])
        return self._rows[item]

    def keys(self) -> list[str]:
        """Every column any row has, in first-seen order."""
        if self._keys is None:
            seen: dict[str, None] = {}
            for row in self._rows:
                for key in row.keys():
                    seen[key] = None
            self._keys = list(seen)
        return self._keys

    @property
    def rows(self) -> list[Mapping]:
        return list(self._rows)

    def diff(self, prefix: str = "config.") -> list[str]:
        """The columns starting with prefix whose values are not the same in every row."""
        return [key for key in self.keys() if key.startswith(prefix) and varies(column_values(self._rows, key))]

    def groupby(self, keys: str | Sequence[str]) -> GroupedDataFrame:
        """Group rows by the values of `keys`; raises ReaderError for a column no row has."""
        by = [keys] if isinstance(keys, str) else list(keys)
        if not by:
            raise ReaderError("Expected at least one column to group by")
        known = self.keys()
        for column in by:
            check_column(column, known, " to group by")
        groups: dict[tuple[Any, ...], list[Mapping]] = {}
        for row in self._rows:
            groups.setdefault(tuple(hashable(row.get(column)) for column in by), []).append(row)
        ordered = sorted(groups, key=lambda key: [(value is None, sort_key(value)) for value in key])
        return GroupedDataFrame({key: DataFrame(groups[key]) for key in ordered}, by)

    def aggregate(self, maps: Map | Sequence[Map]) -> DataFrame:
        """One row: each map's function applied to the list of its column's values."""
        return DataFrame([self._aggregate_row(maps, {}, "")])

    def _aggregate_row(self, maps: Map | Sequence[Map], head: dict[str, Any], where: str) -> dict[str, Any]:
        row = dict(head)
        for function, column, name in normalize_maps(maps, self.keys()):
            values = [r.get(column) for r in self._rows]
            first = next((r for r, value in zip(self._rows, values) if value is not None), None)
            hint = ""
            if isinstance(first, Row) and column in first.metric_columns():
                hint = f" (each value is one run's list of {column}: reduce the lists first, e.g. with map)"
            row[name] = apply_map(function, column, values, where, hint)
        return row

    def map(self, maps: Map | Sequence[Map]) -> DataFrame:
        """Each row with new columns: each map's function applied to that row's value."""
        normalized = normalize_maps(maps, self.keys())
        rows = []
        for index, row in enumerate(self._rows):
            where = f" in row {index}" + (f" (run {row.run_id})" if isinstance(row, Row) and row.run_id else "")
            rows.append(with_values(row, {name: apply_map(function, column, row.get(column), where) for function, column, name in normalized}))
        return DataFrame(rows)

    def apply(self, maps: Map | Sequence[Map], map_type: str = "Pointwise") -> DataFrame:
        """MLXP's apply: "Pointwise" is map; "Rowwise" calls f(a, b) with each row's values of
        the map's columns; "Columnwise" applies f to each column's list of values and
        "Generic" calls f(list of a, list of b), each giving one value per row (as
        transform) or one value (as aggregate). Raises ReaderError.
        """
        if map_type == "Pointwise":
            return self.map(maps)
        if map_type == "Rowwise":
            return DataFrame(frame_ops.rowwise(self._rows, maps, self.keys()))
        if map_type == "Columnwise":
            maps = [(function, (column,), name) for function, column, name in normalize_maps(maps, self.keys())]
        elif map_type != "Generic":
            raise ReaderError(f"Unknown map_type {map_type!r}: expected one of {', '.join(frame_ops.MAP_TYPES)}")
        return DataFrame(frame_ops.generic(self._rows, maps, self.keys()))

    def transform(self, maps: Map | Sequence[Map]) -> DataFrame:
        """Each row with new columns: each map's function applied to the list of its column's
        values, returning one value per row (e.g. ranks). Raises ReaderError."""
        return DataFrame(frame_ops.transform(self._rows, maps, self.keys()))

    def merge(self, other: DataFrame) -> DataFrame:
        """Each row with the columns of other's row at the same place (see frame_ops.merge)."""
        return DataFrame(frame_ops.merge(self._rows, list(other)))

    def filter(self, how: str | Map | Callable[[Mapping], bool], bygroups: str | Sequence[str] | None = None) -> DataFrame:
        """The rows kept by a query string, a predicate on rows, or a map (function, column).

        A map's function gets the column's values and returns an index, indices or a
        boolean mask (e.g. argmin); with `bygroups`, within each group of rows sharing
        those columns' values. Raises QueryError or ReaderError.
        """
        if bygroups is not None:
            if not isinstance(how, tuple):
                raise ReaderError(f"Invalid filter {how!r} with bygroups: expected a map (function, column)")
            return DataFrame(frame_ops.filter_in_groups(self._rows, how, bygroups, self.keys()))
        if isinstance(how, str):
            return DataFrame(self._query(how))
        if isinstance(how, tuple):
            (function, column, _), *rest = normalize_maps(how, self.keys())
            if rest:
                raise ReaderError(f"Invalid filter map {how!r}: expected one column")
            result = apply_map(function, column, self[column], "")
            return DataFrame(self._rows[i] for i in selection(result, len(self._rows), function_name(function)))
        if callable(how):
            return DataFrame(row for row in self._rows if how(row))
        raise ReaderError(f"Invalid filter {how!r}: expected a query string, a function of a row or a map (function, column)")

    def _query(self, query: str) -> list[Mapping]:
        from .query import compile_query  # the query language's patterns: only when a query is given

        if not query.strip():
            return list(self._rows)
        kinds: dict[str, set[str]] = {}
        for row in self._rows:
            for key in row.keys():
                if key.startswith("artifacts."):
                    kind = "artifact"
                else:
                    kind = "list[any]" if is_metric(row, key) else type_name(peek(row, key))
                kinds.setdefault(key, set()).add(kind)
        predicate = compile_query(query, with_short_names({key: "|".join(sorted(found)) for key, found in kinds.items()}))
        kept = []
        for row in self._rows:
            values = ShortNames(row.static if isinstance(row, Row) else row)

            def summary(function: str, column: str, row: Mapping = row) -> Any:
                values = row.get(column)
                return None if values is None else summarize(values)[function]

            if predicate(values, summary):
                kept.append(row)
        return kept

    def sort(self, by: str | Sequence[str], reverse: bool = False) -> DataFrame:
        """Rows ordered by columns ("-col" for descending); missing values last."""
        columns = [by] if isinstance(by, str) else list(by)
        known = self.keys()
        for column in columns:
            check_column(column.lstrip("-"), known, " to sort by")
        return DataFrame(sort_rows(list(self._rows), columns, lambda row, column: row.get(column), reverse))

    # -- export ----------------------------------------------------------------------

    def to_records(self, lazy: bool = True) -> list[dict[str, Any]]:
        """A list of plain dicts with every column of every row (see Row.record for lazy)."""
        return [record(row, lazy=lazy) for row in self._rows]

    def to_csv(self, path: str, lazy: bool = True) -> None:
        """Write a CSV file; list and mapping values are written as JSON text, None as empty."""
        import csv

        records = self.to_records(lazy=lazy)
        columns = list(dict.fromkeys(key for r in records for key in r))
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(columns)
            for r in records:
                writer.writerow([csv_cell(r.get(column)) for column in columns])

    def to_pandas(self, lazy: bool = True) -> Any:
        """A pandas.DataFrame (metric columns as lists); raises ReaderError without pandas."""
        try:
            import pandas
        except ImportError:
            raise ReaderError("pandas is not installed: pip install pandas, or use to_csv / to_records") from None
        records = self.to_records(lazy=lazy)
        columns = list(dict.fromkeys(key for r in records for key in r))
        return pandas.DataFrame.from_records(records, columns=columns)

    # -- display ---------------------------------------------------------------------

    def display_columns(self) -> list[str]:
        """The columns a repr shows: id and status, varying config, other loaded values."""
        keys = self.keys()
        varying = set(self.diff("config.")) if len(self._rows) > 1 else None
        shown = []
        for key in keys:
            if key.startswith("info."):
                if key in ("info.run_id", "info.status"):
                    shown.append(key)
            elif key.startswith("config."):
                if varying is None or key in varying:
                    shown.append(key)
            elif not key.startswith("artifacts.") and any(peek(row, key) is not NOT_LOADED for row in self._rows[:50]):
                shown.append(key)
        return shown

    def __repr__(self) -> str:
        columns = self.display_columns()
        head = f"DataFrame: {len(self._rows)} row(s) x {len(self.keys())} column(s)"
        if not self._rows:
            return head
        return head + "\n" + format_table(columns, self._display_rows(columns), width=MAX_REPR_WIDTH)

    def _display_rows(self, columns: Sequence[str]) -> list[list[str]]:
        rows = self._rows
        if len(rows) > MAX_REPR_ROWS:
            half = MAX_REPR_ROWS // 2
            cells = [[format_cell(peek(row, c)) for c in columns] for row in rows[:half]]
            cells.append(["…" for _ in columns])
            return cells + [[format_cell(peek(row, c)) for c in columns] for row in rows[-half:]]
        return [[format_cell(peek(row, c)) for c in columns] for row in rows]

    def _repr_html_(self) -> str:
        import html

        columns = self.display_columns()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>" for cells in self._display_rows(columns))
        return f"<p>{len(self._rows)} row(s) x {len(self.keys())} column(s)</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"



# -- GroupedDataFrame ----------------------------------------------------------------


class GroupedDataFrame(Mapping):
    """A mapping from key tuples (values of the `by` columns) to DataFrames."""

    def __init__(self, groups: dict[tuple[Any, ...], DataFrame], by: Sequence[str]) -> None:
        self._groups = dict(groups)
        self.by = list(by)

    def __getitem__(self, key: Any) -> DataFrame:
        return self._groups[self._key(key)]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def _key(self, key: Any) -> tuple[Any, ...]:
        return key if isinstance(key, tuple) else (key,)

    def keys(self) -> list[tuple[Any, ...]]:  # type: ignore[override]
        return list(self._groups)

    def items(self) -> list[tuple[tuple[Any, ...], DataFrame]]:  # type: ignore[override]
        return list(self._groups.items())

    def values(self) -> list[DataFrame]:  # type: ignore[override]
        return list(self._groups.values())

    def select(self, keys: Iterable[Any]) -> GroupedDataFrame:
        """The groups with these keys, in this frame's order; raises ReaderError for an unknown key."""
        wanted = {self._key(key) for key in keys}
        unknown = sorted((key for key in wanted if key not in self._groups), key=repr)
        if unknown:
            raise ReaderError(f"Unknown group {unknown[0]!r} (grouped by {', '.join(self.by)}): {len(self._groups)} group(s) exist")
        return GroupedDataFrame({key: df for key, df in self._groups.items() if key in wanted}, self.by)

    def ungroup(self) -> DataFrame:
        """All rows of all groups in one DataFrame, group by group."""
        return DataFrame(row for df in self._groups.values() for row in df)

    def aggregate(self, maps: Map | Sequence[Map]) -> GroupedDataFrame:
        """Each group reduced to one row: the group's key columns and each map's result.

        Raises ReaderError naming the group and column when a function raises.
        """
        out = {}
        for key, df in self._groups.items():
            head = dict(zip(self.by, key))
            out[key] = DataFrame([df._aggregate_row(maps, head, f" in group ({describe_group(self.by, key)})")])
        return GroupedDataFrame(out, self.by)

    def map(self, maps: Map | Sequence[Map]) -> GroupedDataFrame:
        """Every group's rows with new columns (see DataFrame.map)."""
        return GroupedDataFrame({key: df.map(maps) for key, df in self._groups.items()}, self.by)

    def apply(self, maps: Map | Sequence[Map], map_type: str = "Pointwise") -> GroupedDataFrame:
        """Every group's DataFrame.apply (a reducing map gives each group one row)."""
        return GroupedDataFrame({key: df.apply(maps, map_type) for key, df in self._groups.items()}, self.by)

    def transform(self, maps: Map | Sequence[Map]) -> GroupedDataFrame:
        """Every group's DataFrame.transform: the functions see one group's values at a time."""
        return GroupedDataFrame({key: df.transform(maps) for key, df in self._groups.items()}, self.by)

    def groupby(self, keys: str | Sequence[str]) -> GroupedDataFrame:
        """Each group grouped further: the groups of both, keyed (this frame's key..., keys' values...)."""
        more = [keys] if isinstance(keys, str) else list(keys)
        again = [key for key in more if key in self.by]
        if again:
            raise ReaderError(f"Cannot group by {again[0]!r} again: the frame is grouped by {', '.join(self.by)}")
        return self.ungroup().groupby([*self.by, *more])

    def group_value(self, key: tuple[Any, ...], column: str) -> Any:
        """A group's value of a column: its key component, its one row's value, or the list."""
        if column in self.by:
            return key[self.by.index(column)]
        values = self._groups[key][column]
        return values[0] if len(values) == 1 else values

    def filter(self, how: Map | Callable[[DataFrame], bool], bygroups: Sequence[str] | None = None) -> GroupedDataFrame:
        """The groups kept by a map (function, column) or a predicate on each group's DataFrame.

        With a map, the function gets the column's value for each group (within each set of
        groups sharing the `bygroups` columns' values, or all groups) and returns an
        index, indices or a boolean mask of the groups to keep (e.g. argmin).
        """
        if callable(how) and not isinstance(how, tuple):
            return GroupedDataFrame({key: df for key, df in self._groups.items() if how(df)}, self.by)
        known = list(dict.fromkeys([*self.by, *self.ungroup().keys()]))
        (function, column, _), *rest = normalize_maps(how, known)
        if rest:
            raise ReaderError(f"Invalid filter map {how!r}: expected one column")
        if isinstance(bygroups, str):
            bygroups = [bygroups]
        for name in bygroups or ():
            check_column(name, known, " in bygroups")
        parts: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        for key in self._groups:
            parts.setdefault(tuple(hashable(self.group_value(key, name)) for name in bygroups or ()), []).append(key)
        kept: set[tuple[Any, ...]] = set()
        for part, keys in parts.items():
            where = f" in groups ({describe_group(bygroups or (), part)})" if bygroups else ""
            result = apply_map(function, column, [self.group_value(key, column) for key in keys], where)
            kept.update(keys[i] for i in selection(result, len(keys), function_name(function)))
        return GroupedDataFrame({key: df for key, df in self._groups.items() if key in kept}, self.by)

    def sort(self, by: str | Sequence[str] | None = None, reverse: bool = False) -> GroupedDataFrame:
        """Groups ordered by their key (by=None) or by group values of columns ("-col" descending)."""
        if by is None:
            columns = list(self.by)
        else:
            columns = [by] if isinstance(by, str) else list(by)
        known = list(dict.fromkeys([*self.by, *self.ungroup().keys()]))
        for column in columns:
            check_column(column.lstrip("-"), known, " to sort by")
        keys = sort_rows(list(self._groups), columns, lambda key, column: self.group_value(key, column), reverse)
        return GroupedDataFrame({key: self._groups[key] for key in keys}, self.by)

    def to_records(self, lazy: bool = True) -> list[dict[str, Any]]:
        return self.ungroup().to_records(lazy=lazy)

    def to_csv(self, path: str, lazy: bool = True) -> None:
        self.ungroup().to_csv(path, lazy=lazy)

    def to_pandas(self, lazy: bool = True) -> Any:
        return self.ungroup().to_pandas(lazy=lazy)

    def __repr__(self) -> str:
        head = f"GroupedDataFrame: {len(self._groups)} group(s) by {', '.join(self.by)}"
        if not self._groups:
            return head
        if all(len(df) == 1 for df in self._groups.values()):
            df = self.ungroup()
            columns = [*self.by, *(c for c in df.display_columns() if c not in self.by)]
            return head + "\n" + format_table(columns, df._display_rows(columns), width=MAX_REPR_WIDTH)
        counts = DataFrame({**dict(zip(self.by, key)), "rows": len(df)} for key, df in self._groups.items())
        columns = [*self.by, "rows"]
        return head + "\n" + format_table(columns, counts._display_rows(columns), width=MAX_REPR_WIDTH)

    def _repr_html_(self) -> str:
        import html

        head = f"<p>{len(self._groups)} group(s) by {html.escape(', '.join(self.by))}</p>"
        if all(len(df) == 1 for df in self._groups.values()):
            return head + self.ungroup()._repr_html_()
        return head + DataFrame({**dict(zip(self.by, key)), "rows": len(df)} for key, df in self._groups.items())._repr_html_()
