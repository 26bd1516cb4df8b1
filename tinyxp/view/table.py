"""The runs table as `tinyxp runs --format` prints it: an aligned table, CSV or JSON.

An aligned table fits a terminal's width: long cells are cut first, then the columns that
still do not fit are dropped with a note. Statuses are coloured on a terminal.
json and csv are imported where they are used: one format needs each.
"""
from __future__ import annotations

import math
import os
import sys

from ..read.text import csv_cell, format_cell, format_table

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import IO, Any, Sequence

MIN_WIDTH = 40  # a narrower terminal is laid out as this wide: the lines wrap, nothing is lost
UNCUT = 10**6
STATUS_COLOURS = {  # ANSI SGR codes
    "COMPLETE": "32", "RUNNING": "36", "PENDING": "33", "FAILED": "31", "INTERRUPTED": "35", "LOST": "1;31",
}


def print_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], format: str, *,
    out: IO[str] | None = None, width: int | None = None, colour: bool = False,
) -> None:
    """Print rows of values under their column names as a table, csv or json.

    A table fits `width` characters when given; `colour` paints the status column.
    An empty table prints nothing; CSV and JSON print the empty header or list.
    """
    out = sys.stdout if out is None else out
    if format == "json":
        import json

        print(json.dumps([dict(zip(columns, map(json_cell, row))) for row in rows], indent=2, default=str, allow_nan=False), file=out)
    elif format == "csv":
        import csv

        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([csv_cell(value) for value in row] for row in rows)
    elif rows:
        print(fit_table(columns, rows, width, colour), file=out)


def fit_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int | None, colour: bool = False) -> str:
    """The aligned table within width (None: any width), long cells cut only when needed."""
    cells = [[format_cell(value, UNCUT) for value in row] for row in rows]
    if width is not None:
        width = max(width, MIN_WIDTH)
        if table_width(columns, cells) > width:
            cells = [[format_cell(value) for value in row] for row in rows]
    keep = len(columns) if width is None else fitting_columns(columns, cells, width)
    paint = status_painter(list(columns)) if colour else None
    table = format_table(columns[:keep], [row[:keep] for row in cells], paint=paint)
    if keep < len(columns):
        table += f"\n({len(columns) - keep} more column(s) do not fit: {', '.join(columns[keep:])}; --wide shows them)"
    return table


def table_width(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> int:
    return sum(column_widths(columns, cells)) + 2 * (len(columns) - 1)


def column_widths(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(column), *(len(row[i]) for row in cells)]) for i, column in enumerate(columns)]


def fitting_columns(columns: Sequence[str], cells: Sequence[Sequence[str]], width: int) -> int:
    """How many leading columns fit in width (at least one)."""
    total = -2
    for index, column_width in enumerate(column_widths(columns, cells)):
        total += column_width + 2
        if total > width:
            return max(index, 1)
    return len(columns)


def status_painter(columns: list[str]) -> Any:
    """paint(column index, padded cell) colouring the statuses of the status column."""
    status_columns = {i for i, name in enumerate(columns) if name in ("status", "info.status")}

    def paint(index: int, cell: str) -> str:
        word = cell.strip()
        code = STATUS_COLOURS.get(word) if index in status_columns else None
        return cell.replace(word, f"\033[{code}m{word}\033[0m", 1) if code else cell

    return paint


def use_colour(out: IO[str]) -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    return out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def terminal_width(out: IO[str]) -> int | None:
    """The width to fit on a terminal ($COLUMNS first, as shutil reads it); None (any) for a pipe or file."""
    import shutil

    return shutil.get_terminal_size().columns if out.isatty() else None


def json_cell(value: Any) -> Any:
    """The value with NaN and infinities (nested too) as None, for strict JSON output."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [json_cell(item) for item in value]
    if isinstance(value, dict):
        return {key: json_cell(item) for key, item in value.items()}
    return value
