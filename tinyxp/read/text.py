"""Values as text: cells of an aligned table or a CSV file, for the frames and for view/.

The frames need it for their repr, and read/ cannot import view/, so it lives here.
"""
from __future__ import annotations

import json

from .row import NOT_LOADED

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

MAX_CELL_WIDTH = 24


def format_cell(value: Any, width: int = MAX_CELL_WIDTH) -> str:
    """A short text for a table cell: floats with 6 significant digits, long lists counted."""
    kind = type(value)
    if kind is float:
        return f"{value:.6g}"
    if (kind is int or kind is str) and value is not NOT_LOADED:  # the usual cells, without the checks below
        text = str(value)
        return text if len(text) <= width else text[: width - 1] + "…"
    if value is NOT_LOADED:
        return NOT_LOADED
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        text = f"[{len(value)} values]"
    elif isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def csv_cell(value: Any) -> str:
    """A CSV cell: lists and mappings as JSON text, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def format_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, width: int | None = None, paint: Callable[[int, str], str] | None = None,
) -> str:
    """An aligned text table (numbers right-aligned); columns past `width` are dropped with a note.

    paint(column index, aligned cell) may decorate the body's cells (colours).
    """
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    keep = len(columns)
    if width is not None:
        total = 0
        for i, w in enumerate(widths):
            total += w + 2
            if total > width and i > 0:
                keep = i
                break
    numeric = [all(is_number_text(r[i]) for r in rows if r[i] not in ("", "…")) for i in range(keep)]

    def line(cells: Sequence[str], paint: Callable[[int, str], str] | None = None) -> str:
        aligned = [cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i]) for i, cell in enumerate(cells[:keep])]
        return "  ".join(aligned if paint is None else [paint(i, cell) for i, cell in enumerate(aligned)]).rstrip()

    lines = [line(columns), *(line(r, paint) for r in rows)]
    if keep < len(columns):
        lines.append(f"({len(columns) - keep} more column(s): {', '.join(columns[keep:])})")
    return "\n".join(lines)


def is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
