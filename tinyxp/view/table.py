"""The runs table as `tinyxp runs --format` prints it: an aligned table, CSV or JSON.

json and csv are imported where they are used: one format needs each.
"""
from __future__ import annotations

import math
import sys

from ..read.text import csv_cell, format_cell, format_table

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import IO, Any, Sequence


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], format: str, *, out: IO[str] | None = None) -> None:
    """Print rows of values under their column names as a table, csv or json.

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
        print(format_table(columns, [[format_cell(value) for value in row] for row in rows]), file=out)


def json_cell(value: Any) -> Any:
    """The value with NaN and infinities (nested too) as None, for strict JSON output."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [json_cell(item) for item in value]
    if isinstance(value, dict):
        return {key: json_cell(item) for key, item in value.items()}
    return value
