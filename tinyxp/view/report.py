"""`tinyxp report`: one HTML page of the selected runs (table, charts, differences).

The page is built from what read/ gives (rows, metric columns) and written whole
through a temporary file: a report path that cannot be written leaves nothing behind.
"""
from __future__ import annotations

import os
import time
from datetime import datetime
from html import escape

from ..read.row import Row
from ..read.text import format_cell
from .curves import check_metrics, curves_of, default_metrics, resolve_keys, run_metrics, run_series
from .options import check_smooth, paused_gc, write_output
from .page import cell, render_page, runs_table, simple_table
from .svg import MAX_POINTS, render_chart

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import argparse
    from typing import Any, Sequence

    from ..read.frame import DataFrame
    from ..read.reader import Reader
    from .curves import PointCache

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".svg": "image/svg+xml", ".webp": "image/webp"}
EMBED_BYTES = 1_000_000  # images embedded in the page, in all; later ones are linked


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    from .options import add_chart_arguments

    parser.add_argument("log_dir", help="the parent log directory")
    parser.add_argument("-q", "--query", default="", help="keep the runs matching this query")
    parser.add_argument("-m", "--metric", nargs="+", default=[], dest="metrics", metavar="METRIC",
                        help="chart these metric columns, e.g. train.loss (default: every metric but epoch/step counters)")
    parser.add_argument("-o", "--output", default="report.html", help="the HTML file to write (default: report.html)")
    add_chart_arguments(parser)


def write_report(reader: Reader, df: DataFrame, args: argparse.Namespace) -> str:
    """Build the report of df's runs as args say and write it to args.output; returns the page.

    Raises ReaderError for an unknown metric or --by key, a bad --smooth, or an output
    that cannot be written (nothing is written then).
    """
    check_smooth(args.smooth)
    with paused_gc():
        return build_report(reader, df, args)


def build_report(reader: Reader, df: DataFrame, args: argparse.Namespace) -> str:
    rows = [row for row in df if isinstance(row, Row)]
    title = f"tinyxp report: {reader.log_dir}"
    if not rows:
        what = f"match the query {args.query!r}" if args.query.strip() else "are in this log directory"
        page = render_page(title, generated(args.query, 0), [("Runs", f'<p class="empty">No runs {escape(what)}.</p>')])
        write_output(args.output, page, "report")
        return page
    check_metrics(args.metrics, df)
    metrics = args.metrics or default_metrics(run_metrics(df, load=True))
    by = resolve_keys(args.by, list(reader.fields))
    cache: PointCache = {}
    varying = df.diff("config.")
    here = os.path.dirname(os.path.abspath(args.output))  # links are relative to the page
    sections = [("Runs", runs_section(rows, varying, metrics, here, cache))]
    sections.append(("Charts", charts_section(df, metrics, by, args, cache)))
    sections.append(("Differences between runs", differences_section(rows, varying)))
    images = images_section(rows, here)
    if images:
        sections.append(("Images", images))
    page = render_page(title, generated(args.query, len(rows)), sections)
    write_output(args.output, page, "report")
    return page


def generated(query: str, count: int) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    selection = f" matching <code>{escape(query)}</code>" if query.strip() else ""
    return f"{count} run{'s' if count != 1 else ''}{selection}; written {escape(when)}."


def runs_section(rows: Sequence[Row], varying: Sequence[str], metrics: Sequence[str], here: str, cache: PointCache) -> str:
    """The runs table: id (a link to the run folder), status, duration, tags, varying config keys, metric summaries."""
    tags = any(row.get("tags") for row in rows)
    columns = ["id", "status", "duration", *(["tags"] if tags else []), *(k[len("config."):] for k in varying)]
    for metric in metrics:
        columns += [f"last({metric})", f"min({metric})"]
    now = time.time()
    table_rows = []
    for row in rows:
        link = escape(os.path.relpath(row.run_dir or "", here))
        status = str(row.get("info.status") or "")
        seconds = duration(row, now)
        cells = [cell(f'<a href="{link}/">{escape(str(row.run_id))}</a>', str(row.run_id), number=True),
                 cell(escape(status), css=f"s-{escape(status)}"),
                 cell(format_duration(seconds), "" if seconds is None else f"{seconds:.0f}", number=True)]
        if tags:
            cells.append(cell(escape(", ".join(map(str, row.get("tags") or [])))))
        cells += [value_cell(row.get(key)) for key in varying]
        for metric in metrics:
            values = row.get(metric)
            numbers = [y for y in run_series(row, metric, cache)[1] if y is not None]
            cells += [value_cell(values[-1] if values else None), value_cell(min(numbers) if numbers else None)]
        table_rows.append((str(row.run_id), cells))
    return runs_table(columns, table_rows)


def value_cell(value: Any) -> str:
    if type(value) is float:  # the most common cell, written directly; a number's text needs no escaping
        return f'<td data-v="{value!r}" class="n">{value:.6g}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return cell(format_cell(value), repr(value), number=True)
    return cell(escape(format_cell(value, 60)))


def duration(row: Row, now: float) -> float | None:
    """duration_s, or for a run still going the time since it started."""
    seconds = row.get("info.duration_s")
    if isinstance(seconds, (int, float)):
        return float(seconds)
    start = row.get("info.start_time")
    if row.get("info.status") == "RUNNING" and isinstance(start, str):
        try:
            return now - datetime.fromisoformat(start).timestamp()
        except ValueError:
            return None
    return None


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def charts_section(df: DataFrame, metrics: Sequence[str], by: Sequence[str], args: argparse.Namespace, cache: PointCache) -> str:
    """One SVG chart per metric, and a line saying how curves were reduced."""
    charts = []
    for metric in metrics:
        curves = curves_of(df, metric, by, window=args.smooth, spread=args.band, cache=cache)
        log_y = args.log_y or metric in args.log
        charts.append(f'<div class="figure" data-metric="{escape(metric)}">'
                      + render_chart(metric, curves, log_x=args.log_x, log_y=log_y) + "</div>")
    how = [f"Each chart keeps at most about {MAX_POINTS:,} points: a curve longer than its share is downsampled "
           "by min/max buckets (the lowest and highest value of each run of consecutive points)."]
    if by:
        spread = "one standard deviation" if args.band == "std" else "the min and max"
        how.append(f"Lines are means over the runs of each group of {escape(', '.join(by))}; the band shows {spread}.")
    if args.smooth > 1:
        how.append(f"Values are smoothed by a trailing mean over {args.smooth} values.")
    how.append("The x axis is the log's own step, epoch or iteration column when it has one value per point, else the point's position.")
    how.append("Dashed lines are runs still RUNNING or LOST; values that are not finite numbers are gaps.")
    return f'<p class="note">{" ".join(how)}</p>\n' + "\n".join(charts)


def differences_section(rows: Sequence[Row], varying: Sequence[str]) -> str:
    """The config keys whose values differ, with the runs holding each value; the code each run ran."""
    config_rows = []
    for key in varying:
        holders: dict[str, list[str]] = {}
        for row in rows:
            holders.setdefault(format_cell(row.get(key, None), 60), []).append(str(row.run_id))
        for value, runs in holders.items():
            config_rows.append([escape(key[len("config."):]), escape(value), escape(compact(runs))])
    config = simple_table(["config key", "value", "runs"], config_rows) if config_rows else "<p>Every run has the same config.</p>"
    code: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        commit = str(row.get("info.git.commit") or "")
        dirty = format_cell(row.get("info.git.dirty")) if commit else ""
        patch = row.get("info.git.patch")
        code.setdefault((commit, dirty, "yes" if patch else ""), []).append(str(row.run_id))
    code_rows = [[escape(commit[:12] or "(not in git)"), escape(dirty), escape(patch), escape(compact(runs))]
                 for (commit, dirty, patch), runs in code.items()]
    return ("<h3>Config</h3>" + config + "<h3>Code</h3>"
            + simple_table(["commit", "dirty", "patch (metadata/uncommitted.patch)", "runs"], code_rows))


def compact(ids: Sequence[str]) -> str:
    """'1-4, 7' for runs 1, 2, 3, 4, 7."""
    numbers = sorted(int(i) for i in ids if i.isdigit())
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def images_section(rows: Sequence[Row], here: str) -> str:
    """The image artifacts of the runs (.png, .jpg, .gif, .svg, .webp), embedded while they fit
    in EMBED_BYTES, linked (relative to the page) after that; '' when there is none."""
    import base64

    figures = []
    budget = EMBED_BYTES
    linked = 0
    for row in rows:
        for column in row.keys():
            kind = IMAGE_TYPES.get(os.path.splitext(column)[1].lower()) if column.startswith("artifacts.") else None
            if kind is None:
                continue
            path = row[column].path
            data = read_within(path, budget)
            if data is None:  # too big for the page, or unreadable: a link does what it can
                source = escape(os.path.relpath(path, here))
                linked += 1
            else:
                source = f"data:{kind};base64," + base64.b64encode(data).decode("ascii")
                budget -= len(data)
            name = escape(column[len("artifacts."):])
            figures.append(f'<figure><img src="{source}" alt="{name}"><figcaption>run {escape(str(row.run_id))}: {name}</figcaption></figure>')
    if not figures:
        return ""
    note = f'<p class="note">{linked} image(s) past {EMBED_BYTES // 1_000_000} MB are linked, not embedded.</p>' if linked else ""
    return note + '<div class="images">' + "".join(figures) + "</div>"


def read_within(path: str, budget: int) -> bytes | None:
    """The bytes of the file when it has at most budget of them; None when larger or unreadable."""
    try:
        if os.path.getsize(path) > budget:
            return None
        with open(path, "rb") as file:
            return file.read(budget + 1)
    except OSError:
        return None
