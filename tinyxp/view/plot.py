"""A line chart as terminal text: Unicode braille dots (2 x 4 per character), or plain
ASCII marks when the output cannot show Unicode; ANSI colours only when asked."""
from __future__ import annotations

import os
import shutil
import sys

from ..errors import ReaderError
from .chart import Scale, extent, format_tick, ticks
from .curves import chart_points

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import argparse
    from typing import IO, Sequence

    from ..read.frame import DataFrame
    from ..read.reader import Reader
    from .curves import Curve

MIN_WIDTH = 40
BRAILLE = 0x2800
DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row in cell][column in cell]
MARKS = "*+ox#@%&=~"
ANSI = (34, 33, 32, 31, 35, 36, 94, 93, 92, 91)
LEGEND_MAX = 12
COERCED = ("C.UTF-8", "C.utf8", "UTF-8")  # what Python sets LC_CTYPE to in a C locale


class Canvas:
    """A grid of character cells, each holding dots (braille) or one mark, and the curve that drew last."""

    def __init__(self, columns: int, rows: int, unicode: bool) -> None:
        self.unicode = unicode
        self.dx, self.dy = (2, 4) if unicode else (1, 1)
        self.columns, self.rows = columns, rows
        self.bits = [[0] * columns for _ in range(rows)]
        self.owner = [[-1] * columns for _ in range(rows)]

    def segment(self, a: tuple[int, int], b: tuple[int, int], curve: int) -> None:
        """Set the dots on the straight line from a to b (both included)."""
        steps = max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1)
        dx, dy, bits, owner = self.dx, self.dy, self.bits, self.owner
        step_x, step_y = (b[0] - a[0]) / steps, (b[1] - a[1]) / steps
        for i in range(steps + 1):
            x, y = round(a[0] + step_x * i), round(a[1] + step_y * i)
            column, row = x // dx, y // dy  # inside: the scales map the data onto the canvas
            bits[row][column] |= DOT_BITS[y % dy][x % dx] if self.unicode else 1
            owner[row][column] = curve

    def cell(self, row: int, column: int, color: bool) -> str:
        bits, owner = self.bits[row][column], self.owner[row][column]
        if not bits:
            return " "
        text = chr(BRAILLE + bits) if self.unicode else MARKS[owner % len(MARKS)]
        return f"\x1b[{ANSI[owner % len(ANSI)]}m{text}\x1b[0m" if color else text


def render_plot(title: str, curves: Sequence[Curve], *, width: int, height: int = 16, unicode: bool = True,
                color: bool = False, log_x: bool = False, log_y: bool = False, x_label: str = "step") -> str:
    """The chart as lines of text at most `width` characters wide (escape codes aside).

    Raises ReaderError when width is under MIN_WIDTH columns.
    """
    if width < MIN_WIDTH:
        raise ReaderError(f"Cannot draw a chart in {width} columns: it needs at least {MIN_WIDTH} (widen the terminal or set COLUMNS)")
    probe = Canvas(1, 1, unicode)
    series = chart_points(curves, log_x, log_y, width * probe.dx)
    xs = [x for points in series for x, y in points if y is not None]
    ys = [y for points in series for _, y in points if y is not None]
    y_low, y_high = extent(ys, log_y)
    y_ticks = ticks(y_low, y_high, log_y, max(3, height // 3))
    labels = {tick: format_tick(tick) for tick in y_ticks}
    margin = max(len(label) for label in labels.values()) + 1
    canvas = Canvas(width - margin - 1, height, unicode)
    x = Scale(*extent(xs, log_x), 0, canvas.columns * canvas.dx - 1, log_x)
    y = Scale(y_low, y_high, height * canvas.dy - 1, 0, log_y)
    for index, points in enumerate(series):
        previous = None
        for (_, py), here in zip(points, zip(x.pixels([p[0] for p in points]), y.pixels([p[1] for p in points]))):
            if py is None:
                previous = None
                continue
            canvas.segment(previous or here, here, index)
            previous = here
    tick_rows = {round(y(tick)) // canvas.dy: labels[tick] for tick in y_ticks}
    scale = " (log y)" if log_y else ""
    lines = [title + scale]
    for row in range(height):
        axis = ("┤" if unicode else "+") if row in tick_rows else ("│" if unicode else "|")
        lines.append(tick_rows.get(row, "").rjust(margin - 1) + " " + axis + "".join(canvas.cell(row, c, color) for c in range(canvas.columns)))
    lines += x_axis(x, canvas, margin, log_x, unicode, x_label + (" (log)" if log_x else ""))
    lines += legend(curves, width, unicode, color)
    return "\n".join(line.rstrip() for line in lines)


def x_axis(x: Scale, canvas: Canvas, margin: int, log: bool, unicode: bool, x_label: str) -> list[str]:
    """The x axis with a mark under each tick, and the tick labels under it where they fit."""
    axis = list(("─" if unicode else "-") * canvas.columns)
    under = [" "] * (canvas.columns + margin + 1)
    low, high = (10 ** x.low, 10 ** x.high) if log else (x.low, x.high)
    for tick in ticks(low, high, log, max(2, canvas.columns // 12)):
        column = round(x(tick)) // canvas.dx  # ticks lie within the data's extent
        axis[column] = "┬" if unicode else "+"
        label = format_tick(tick)
        start = margin + 1 + column - len(label) // 2
        if start + len(label) <= len(under) and all(c == " " for c in under[max(0, start - 1): start + len(label) + 1]):
            under[start: start + len(label)] = label
    corner = "└" if unicode else "+"
    labels = "".join(under).rstrip()
    if len(labels) + len(x_label) + 2 <= len(under):
        labels += "  " + x_label
    return [" " * margin + corner + "".join(axis), labels]


def legend(curves: Sequence[Curve], width: int, unicode: bool, color: bool) -> list[str]:
    """Entries `━ run 3` packed into lines of at most width; past LEGEND_MAX, how many more."""
    entries = []
    for index, curve in enumerate(curves[:LEGEND_MAX]):
        mark = "━━" if unicode else MARKS[index % len(MARKS)] * 2
        if color:
            mark = f"\x1b[{ANSI[index % len(ANSI)]}m{mark}\x1b[0m"
        note = f" ({curve.status})" if curve.partial else ""
        entries.append((mark, f" {curve.label}{note}"))
    if len(curves) > LEGEND_MAX:
        entries.append(("", f"and {len(curves) - LEGEND_MAX} more"))
    lines, current, used = [], "", 0
    for mark, text in entries:
        size = (2 if mark else 0) + len(text) + 2
        if used and used + size > width:
            lines.append(current)
            current, used = "", 0
        current += mark + text + "  "
        used += size
    return lines + [current] if current else lines


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    from .options import add_chart_arguments

    parser.add_argument("log_dir", help="the parent log directory")
    parser.add_argument("metric", help="the metric column to draw, e.g. train.loss")
    parser.add_argument("-q", "--query", default="", help="keep the runs matching this query")
    parser.add_argument("--svg", default=None, metavar="PATH", help="write the chart as a standalone SVG file instead")
    parser.add_argument("--height", type=int, default=16, metavar="ROWS", help="rows of the chart (default: 16)")
    add_chart_arguments(parser)


def plot_runs(reader: Reader, df: DataFrame, args: argparse.Namespace, out: IO[str]) -> None:
    """Print the chart of args.metric over df's runs to out, or write it as SVG to args.svg.

    Raises ReaderError for no runs, an unknown metric or --by key, a terminal under
    MIN_WIDTH columns, or an SVG path that cannot be written.
    """
    from .curves import check_metrics, curves_of, resolve_keys
    from .options import check_smooth, paused_gc, write_output

    check_smooth(args.smooth)
    width = shutil.get_terminal_size().columns
    if args.svg is None and width < MIN_WIDTH:
        render_plot("", [], width=width)  # raises: say so before reading any metric
    if not len(df):
        raise ReaderError("Cannot plot: no runs match the query" if args.query.strip() else f"Cannot plot: no runs in {args.log_dir!r}")
    check_metrics([args.metric], df)
    by = resolve_keys(args.by, list(reader.fields))
    with paused_gc():
        curves = curves_of(df, args.metric, by, window=args.smooth, spread=args.band)
    log_y = args.log_y or args.metric in args.log
    if args.svg is not None:
        from .svg import render_chart

        write_output(args.svg, render_chart(args.metric, curves, log_x=args.log_x, log_y=log_y, standalone=True), "chart")
        print(f"tinyxp: wrote {args.svg}", file=sys.stderr)
        return
    color = out.isatty() and not os.environ.get("NO_COLOR")
    print(render_plot(args.metric, curves, width=width, height=max(4, args.height), unicode=speaks_utf8(out),
                      color=color, log_x=args.log_x, log_y=log_y), file=out)


def speaks_utf8(out: IO[str]) -> bool:
    """Whether out encodes UTF-8 and the locale (LC_ALL, LC_CTYPE or LANG, the first set) is a UTF-8 one."""
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    names = [os.environ.get(name, "") for name in ("LC_ALL", "LC_CTYPE", "LANG")]
    if not names[0] and names[1] in COERCED and names[2] in ("", "C", "POSIX"):
        return False  # Python itself set LC_CTYPE (PEP 538) because the locale was C: the terminal may not be UTF-8
    locale = next((name for name in names if name), "")
    return encoding == "utf8" and "utf8" in locale.lower().replace("-", "")
