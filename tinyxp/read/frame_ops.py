"""The operations of DataFrame and GroupedDataFrame over maps (MLXP's tuples), as rows and indices.

A map is `(function, columns[, output names])`. map, transform and aggregate apply the
function to each column separately; apply with map_type="Rowwise" calls it with one
value of each column (`(f, ("a", "b"))` calls f(a, b) on each row), "Generic" with the
list of each column's values. The functions here return rows or indices; frame.py wraps
them in frames, so that this module does not import it.
"""
from __future__ import annotations

import json
import operator

from ..errors import ReaderError, suggest
from .row import Row, with_values

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable, Iterator, Sequence, Tuple

    Map = Tuple[Any, ...]

MAP_TYPES = ("Pointwise", "Rowwise", "Columnwise", "Generic")


def function_name(function: Callable[..., Any]) -> str:
    return getattr(function, "__name__", None) or type(function).__name__


def map_items(maps: Map | Sequence[Map]) -> Iterator[tuple[Any, Callable[..., Any], list[str], list[str] | None]]:
    """(the map, its function, its columns, its output names or None) of one map or each of a list; raises ReaderError."""
    if isinstance(maps, tuple) and maps and callable(maps[0]):
        maps = [maps]
    for item in maps:
        if not isinstance(item, tuple) or len(item) not in (2, 3) or not callable(item[0]):
            raise ReaderError(f"Invalid map {item!r}: expected (function, columns[, output names])")
        columns = [item[1]] if isinstance(item[1], str) else list(item[1])
        names = None if len(item) == 2 else [item[2]] if isinstance(item[2], str) else list(item[2])
        yield item, item[0], columns, names


def normalize_maps(maps: Map | Sequence[Map], known: Sequence[str]) -> list[tuple[Callable[..., Any], str, str]]:
    """[(function, column, output name)] from one map or a list of maps; raises ReaderError."""
    normalized = []
    for item, function, columns, names in map_items(maps):
        if names is None:
            names = [f"{function_name(function)}.{column}" for column in columns]
        elif len(names) != len(columns):
            raise ReaderError(f"Invalid map {item!r}: {len(columns)} column(s) but {len(names)} output name(s)")
        for column, name in zip(columns, names):
            check_column(column, known)
            normalized.append((function, column, name))
    return normalized


def check_column(column: str, known: Sequence[str], doing: str = "") -> None:
    """Raise ReaderError naming an unknown column, with did-you-mean."""
    if column in known:
        return
    raise ReaderError(f"Unknown column {column!r}{doing}{suggest(column, known)}")


def selection(result: Any, count: int, what: str) -> list[int]:
    """Indices selected by a filter function's result: an index, indices, or a boolean mask."""
    if isinstance(result, (list, tuple)) or hasattr(result, "tolist"):
        items = result.tolist() if hasattr(result, "tolist") else list(result)
        if len(items) == count and all(isinstance(item, bool) for item in items):
            return [i for i, keep in enumerate(items) if keep]
        try:
            indices = [operator.index(item) for item in items]
        except TypeError:
            raise ReaderError(f"Invalid result of the filter function {what}: expected an index, indices or a boolean mask, got {result!r}") from None
    else:
        try:
            indices = [operator.index(result)]
        except TypeError:
            raise ReaderError(f"Invalid result of the filter function {what}: expected an index, indices or a boolean mask, got {result!r}") from None
    for index in indices:
        if not -count <= index < count:
            raise ReaderError(f"Invalid result of the filter function {what}: index {index} out of range for {count} value(s)")
    return sorted({index % count for index in indices})


def describe_group(by: Sequence[str], key: tuple[Any, ...]) -> str:
    return ", ".join(f"{column}={value!r}" for column, value in zip(by, key))


def apply_map(function: Callable[..., Any], column: str, values: Any, where: str, hint: str = "") -> Any:
    try:
        return function(values)
    except Exception as err:  # the user's function: report which group and column
        raise ReaderError(f"Cannot apply {function_name(function)!r} to column {column!r}{where}: {type(err).__name__}: {err}{hint}") from err


def hashable(value: Any) -> Any:
    """A group key component: lists become tuples, mappings become sorted JSON text."""
    if isinstance(value, list):
        return tuple(hashable(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value



# -- maps over several columns -------------------------------------------------------


def normalize_joint_maps(maps: Map | Sequence[Map], known: Sequence[str]) -> list[tuple[Callable[..., Any], list[str], list[str]]]:
    """[(function, its columns, output names)] from one map or a list of maps; raises ReaderError.

    The default output name is `<function name>(<column>,<column>)` (`<function name>.<column>` for one).
    """
    normalized = []
    for _, function, columns, names in map_items(maps):
        if names is None and len(columns) == 1:
            names = [f"{function_name(function)}.{columns[0]}"]
        elif names is None:
            names = [f"{function_name(function)}({','.join(columns)})"]
        for column in columns:
            check_column(column, known)
        normalized.append((function, columns, names))
    return normalized


def spread(result: Any, names: Sequence[str], function: Callable[..., Any], where: str) -> dict[str, Any]:
    """{name: value}: the result itself for one name, else a tuple or list of one value per name."""
    if len(names) == 1:
        return {names[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise ReaderError(f"Invalid result of {function_name(function)!r}{where}: expected {len(names)} values, one per output name {list(names)!r}, got {result!r}")
    return dict(zip(names, result))


def call(function: Callable[..., Any], columns: Sequence[str], arguments: Sequence[Any], where: str) -> Any:
    try:
        return function(*arguments)
    except Exception as err:  # the user's function: report where
        raise ReaderError(f"Cannot apply {function_name(function)!r} to columns {list(columns)!r}{where}: {type(err).__name__}: {err}") from err


def rowwise(rows: Sequence[Mapping], maps: Map | Sequence[Map], known: Sequence[str]) -> list[Mapping]:
    """Each row with new columns: each function called with that row's values of its columns."""
    normalized = normalize_joint_maps(maps, known)
    out = []
    for index, row in enumerate(rows):
        where = f" in row {index}" + (f" (run {row.run_id})" if isinstance(row, Row) and row.run_id else "")
        values: dict[str, Any] = {}
        for function, columns, names in normalized:
            result = call(function, columns, [row.get(column) for column in columns], where)
            values.update(spread(result, names, function, where))
        out.append(with_values(row, values))
    return out


def generic(rows: Sequence[Mapping], maps: Map | Sequence[Map], known: Sequence[str]) -> list[Mapping]:
    """Each function called with the list of each of its columns' values: one value per row
    (same length: a transform) or one value in all (a single-row result)."""
    columns_out: dict[str, Any] = {}
    reduced = None
    for function, columns, names in normalize_joint_maps(maps, known):
        result = call(function, columns, [[row.get(column) for row in rows] for column in columns], "")
        for name, values in spread(result, names, function, "").items():
            values = values.tolist() if hasattr(values, "tolist") else values  # numpy, without importing it
            per_row = isinstance(values, (list, tuple)) and len(values) == len(rows)
            if reduced is None:
                reduced = not per_row
            if reduced == per_row:
                raise ReaderError(f"Invalid result of {function_name(function)!r} for {name!r}: expected every map to give one value per row ({len(rows)}) or every map one value")
            columns_out[name] = values
    if reduced:
        return [columns_out]
    return [with_values(row, {name: values[index] for name, values in columns_out.items()}) for index, row in enumerate(rows)]


def transform(rows: Sequence[Mapping], maps: Map | Sequence[Map], known: Sequence[str]) -> list[Mapping]:
    """Each row with new columns: each function applied to a column's list of values, giving one value per row."""
    columns_out = {}
    for function, column, name in normalize_maps(maps, known):
        result = apply_map(function, column, [row.get(column) for row in rows], "")
        values = result.tolist() if hasattr(result, "tolist") else result
        if not isinstance(values, (list, tuple)) or len(values) != len(rows):
            got = f"{len(values)} values" if isinstance(values, (list, tuple)) else repr(values)
            raise ReaderError(f"Invalid result of {function_name(function)!r} on column {column!r}: expected {len(rows)} values, one per row, got {got}")
        columns_out[name] = values
    return [with_values(row, {name: values[index] for name, values in columns_out.items()}) for index, row in enumerate(rows)]


def merge(rows: Sequence[Mapping], others: Sequence[Mapping]) -> list[Mapping]:
    """Each row with the columns of the other frame's row at the same place (the other's values win).

    A run's metric and artifact columns are the run's own: only its values in memory
    (config, info and columns added by map) are merged. Raises ReaderError for frames
    of different lengths.
    """
    if len(rows) != len(others):
        raise ReaderError(f"Cannot merge a DataFrame of {len(others)} row(s) into one of {len(rows)}: expected the same number of rows")
    return [with_values(row, dict(other.static if isinstance(other, Row) else other)) for row, other in zip(rows, others)]


def filter_in_groups(rows: Sequence[Mapping], how: Map, bygroups: str | Sequence[str], known: Sequence[str]) -> list[Mapping]:
    """The rows a map (function, column) keeps within each group of rows sharing the bygroups columns' values."""
    by = [bygroups] if isinstance(bygroups, str) else list(bygroups)
    for name in by:
        check_column(name, known, " in bygroups")
    (function, column, _), *rest = normalize_maps(how, known)
    if rest:
        raise ReaderError(f"Invalid filter map {how!r}: expected one column")
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(tuple(hashable(row.get(name)) for name in by), []).append(index)
    kept: set[int] = set()
    for key, indices in groups.items():
        where = f" in group ({describe_group(by, key)})"
        result = apply_map(function, column, [rows[i].get(column) for i in indices], where)
        kept.update(indices[i] for i in selection(result, len(indices), function_name(function)))
    return [row for index, row in enumerate(rows) if index in kept]
