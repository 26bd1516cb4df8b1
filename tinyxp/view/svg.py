"""A line chart as SVG text: axes with ticks, one path per curve, bands, a legend.

Built as strings by small functions over chart.py's maths. Coordinates are whole units
of a 1000-wide viewBox (finer than a screen pixel at the sizes the page shows), which
keeps a report with thousands of curves small.
"""
from __future__ import annotations

from html import escape

from .chart import Scale, extent, format_tick, ticks
from .curves import chart_points

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Sequence

    from .chart import Points
    from .curves import Curve

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
WIDTH, PLOT_HEIGHT = 1000, 400
LEFT, RIGHT, TOP, BOTTOM = 80, 20, 30, 40
LEGEND_ROW, LEGEND_COLUMNS, LEGEND_MAX = 20, 3, 24
MAX_POINTS = 24_000  # per chart, over all its curves: 500 runs keep about 48 points each
CSS = (".axis{fill:none;stroke:#444;stroke-width:1}.grid{stroke:#ddd;stroke-width:1}"
       ".line{fill:none;stroke-width:1.5;stroke-linecap:round}.band{stroke:none;fill-opacity:.18}.partial{stroke-dasharray:6 3}"
       "text{font:13px sans-serif;fill:#222}.title{font-weight:bold;font-size:15px}")


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def path_data(points: Points, x: Scale, y: Scale) -> str:
    """`M x,y L x,y ...` in whole units, a new M after each gap, repeated points dropped;
    a point alone between gaps is a dot (`h0` with round caps)."""
    parts: list[str] = []
    pen_up = True
    last = None
    for (_, py), here in zip(points, zip(x.pixels([p[0] for p in points]), y.pixels([p[1] for p in points]))):
        if py is None:
            if parts and parts[-1][0] == "M":
                parts.append("h0")
            pen_up = True
            continue
        if here == last and not pen_up:
            continue
        parts.append(f"{'M' if pen_up else 'L'}{here[0]},{here[1]}")
        pen_up, last = False, here
    if parts and parts[-1][0] == "M":
        parts.append("h0")
    return "".join(parts)


def band_data(spread: Sequence[tuple[float, float, float, float]], x: Scale, y: Scale) -> str:
    """A closed outline around low..high where log axes can show it, or '' when that leaves under 2 points."""
    rows = [(px, low, high) for px, _, low, high in spread if (not y.log or low > 0) and (not x.log or px > 0)]
    if len(rows) < 2:
        return ""
    upper = [f"{round(x(px))},{round(y(high))}" for px, _, high in rows]
    lower = [f"{round(x(px))},{round(y(low))}" for px, low, _ in reversed(rows)]
    return "M" + "L".join(upper + lower) + "Z"


def render_chart(title: str, curves: Sequence[Curve], *, log_x: bool = False, log_y: bool = False,
                 x_label: str = "step", standalone: bool = False) -> str:
    """The SVG of one chart; standalone adds the XML namespace and its own style."""
    series = chart_points(curves, log_x, log_y, max(8, MAX_POINTS // (2 * max(1, len(curves)))))
    xs = [px for points in series for px, py in points if py is not None]
    ys = [py for points in series for _, py in points if py is not None]
    for curve in curves:
        if curve.spread:
            ys += [v for _, _, low, high in curve.spread for v in (low, high)]
    x = Scale(*extent(xs, log_x), LEFT, WIDTH - RIGHT, log_x)
    y = Scale(*extent(ys, log_y), TOP + PLOT_HEIGHT, TOP, log_y)
    legend_rows = (min(len(curves), LEGEND_MAX) + LEGEND_COLUMNS - 1) // LEGEND_COLUMNS + (len(curves) > LEGEND_MAX)
    height = TOP + PLOT_HEIGHT + BOTTOM + legend_rows * LEGEND_ROW + 10
    head = f'<svg viewBox="0 0 {WIDTH} {height}" class="chart" role="img" aria-label="{escape(title)}"'
    out = [head + (' xmlns="http://www.w3.org/2000/svg" width="1000">' if standalone else ">")]
    if standalone:
        out.append(f"<style>{CSS}</style>")
    out.append(f'<text class="title" x="{LEFT}" y="18">{escape(title)}</text>')
    out += axes(x, y, log_x, log_y, x_label)
    for index, (curve, points) in enumerate(zip(curves, series)):
        if curve.spread:
            outline = band_data(curve.spread, x, y)
            if outline:
                out.append(f'<path class="band" fill="{color(index)}" d="{outline}"/>')
        out.append(line(index, curve, path_data(points, x, y)))
    out += legend(curves, TOP + PLOT_HEIGHT + BOTTOM)
    out.append("</svg>")
    return "\n".join(out)


def line(index: int, curve: Curve, data: str) -> str:
    classes = "line partial" if curve.partial else "line"
    note = f" ({curve.status})" if curve.partial else ""
    runs = " ".join(curve.runs)
    return (f'<path class="{classes}" stroke="{color(index)}" data-runs="{runs}" d="{data}">'
            f"<title>{escape(curve.label + note)}</title></path>")


def axes(x: Scale, y: Scale, log_x: bool, log_y: bool, x_label: str) -> list[str]:
    """Grid lines, tick labels and the two axes."""
    bottom, top = TOP + PLOT_HEIGHT, TOP
    out = []
    low, high = sorted((x.low, x.high))
    for value in ticks(10 ** low if log_x else low, 10 ** high if log_x else high, log_x, 8):
        px = round(x(value))
        out.append(f'<line class="grid" x1="{px}" x2="{px}" y1="{top}" y2="{bottom}"/>'
                   f'<text x="{px}" y="{bottom + 18}" text-anchor="middle">{format_tick(value)}</text>')
    low, high = sorted((y.low, y.high))
    for value in ticks(10 ** low if log_y else low, 10 ** high if log_y else high, log_y, 6):
        py = round(y(value))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py}" y2="{py}"/>'
                   f'<text x="{LEFT - 6}" y="{py + 4}" text-anchor="end">{format_tick(value)}</text>')
    out.append(f'<path class="axis" d="M{LEFT},{top}V{bottom}H{WIDTH - RIGHT}"/>')
    scale = " (log)" if log_x else ""
    out.append(f'<text x="{WIDTH - RIGHT}" y="{bottom + 34}" text-anchor="end">{escape(x_label)}{scale}</text>')
    if log_y:
        out.append(f'<text x="{LEFT - 6}" y="{top - 8}" text-anchor="end">log</text>')
    return out


def legend(curves: Sequence[Curve], top: int) -> list[str]:
    """A swatch and label per curve, in columns; past LEGEND_MAX a line says how many more."""
    out = []
    column_width = (WIDTH - LEFT) // LEGEND_COLUMNS
    for index, curve in enumerate(curves[:LEGEND_MAX]):
        row, column = divmod(index, LEGEND_COLUMNS)
        lx, ly = LEFT + column * column_width, top + row * LEGEND_ROW + 14
        dash = ' class="partial"' if curve.partial else ""
        note = f" ({curve.status})" if curve.partial else ""
        out.append(f'<g class="key"><line{dash} x1="{lx}" x2="{lx + 24}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color(index)}" stroke-width="3"/>'
                   f'<text x="{lx + 30}" y="{ly}">{escape(curve.label + note)}</text></g>')
    if len(curves) > LEGEND_MAX:
        ly = top + ((LEGEND_MAX + LEGEND_COLUMNS - 1) // LEGEND_COLUMNS) * LEGEND_ROW + 14
        out.append(f'<text x="{LEFT}" y="{ly}">and {len(curves) - LEGEND_MAX} more (hover a line for its name)</text>')
    return out
