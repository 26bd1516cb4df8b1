"""The curves of one metric over the selected runs: one per run, or one per --by group.

What `tinyxp plot` and `tinyxp report` share: which metrics the runs have, checking the
metric and --by names (did-you-mean), a run's points (x from the log's own step or
epoch column when it has one per value), grouping with a mean and a spread band.
"""
from __future__ import annotations

from ..errors import ReaderError, suggest
from ..read.frame import hashable
from ..read.index import split_metric_column
from ..read.row import Row
from .chart import band, downsample, downsample_indices, for_log, smooth, x_values, y_values

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Tuple

    from ..read.frame import DataFrame
    from .chart import Points

    Series = Tuple[List[float], List[Optional[float]]]
    # (run id, metric) -> its (xs, ys); (run id, " x" + log name) -> (the x of that log's lines, [])
    PointCache = Dict[Tuple[Optional[str], str], Series]

# columns that count rather than measure: the x axis when present, never charted by default
COUNTERS = ("step", "epoch", "iteration", "iter")
PARTIAL_STATUSES = ("RUNNING", "PENDING", "LOST")  # a curve that may still grow, or stopped short


class Curve:
    """One line of a chart: a label, its points, the band around it (groups), its runs.

    The points may be given as columns (xs, ys) instead: a chart then downsamples them
    without making a pair of every value first.
    """

    def __init__(self, label: str, points: Points | None = None, *, columns: Series | None = None, runs: Sequence[str] = (),
                 status: str = "", spread: list[tuple[float, float, float, float]] | None = None) -> None:
        self.label = label
        self._points = points
        self.columns = columns
        self.runs = list(runs)
        self.status = status
        self.spread = spread

    @property
    def points(self) -> Points:
        if self._points is None:
            self._points = list(zip(*self.columns)) if self.columns else []
        return self._points

    @property
    def partial(self) -> bool:
        return self.status in PARTIAL_STATUSES


def run_metrics(df: DataFrame, *, load: bool = False) -> list[str]:
    """The metric columns of the rows of df, in first-seen order.

    The index knows the keys of each metric file's first and last lines; load=True reads
    the files for the keys that only lines in between have.
    """
    seen: dict[str, None] = {}
    for row in df:
        if isinstance(row, Row):
            if load:
                for log_name in row._metrics:
                    row.metric_file(log_name)
            seen.update(dict.fromkeys(row.metric_columns()))
    return list(seen)


def default_metrics(available: Sequence[str]) -> list[str]:
    """The metrics to chart when none is named: every one but counters (epoch, step)."""
    return [name for name in available if name.rpartition(".")[2] not in COUNTERS] or list(available)


def check_metrics(metrics: Sequence[str], df: DataFrame) -> None:
    """Raise ReaderError for a metric no selected run has, with did-you-mean."""
    available = run_metrics(df)
    if all(metric in available for metric in metrics):
        return
    available = run_metrics(df, load=True)
    for metric in metrics:
        if metric not in available:
            hint = suggest(metric, available) or (f"; they have {', '.join(map(repr, available))}" if available else "; they have none")
            raise ReaderError(f"Unknown metric {metric!r}: no selected run has it{hint}")


def resolve_keys(keys: Sequence[str], fields: Sequence[str]) -> list[str]:
    """The --by keys as columns: `lr` or `optimizer.lr` may stand for `config.optimizer.lr`.

    Raises ReaderError for a key that is not a config or info field, with did-you-mean.
    """
    resolved = []
    searchable = [name for name in fields if name.startswith(("config.", "info."))]
    for key in keys:
        if key in searchable:
            resolved.append(key)
        elif f"config.{key}" in searchable:
            resolved.append(f"config.{key}")
        else:
            ends = [name for name in searchable if name.endswith("." + key)]
            if len(ends) == 1:
                resolved.append(ends[0])
                continue
            hint = suggest(key, searchable) or suggest(f"config.{key}", searchable)
            raise ReaderError(f"Unknown --by key {key!r}: not a config or info field of these runs{hint}")
    return resolved


def run_points(row: Row, metric: str, window: int = 1, cache: PointCache | None = None) -> Points:
    """The points of one run's metric, smoothed: x from its log's step/epoch column when it has one per value."""
    return smooth(list(zip(*run_series(row, metric, cache))), window)


def run_series(row: Row, metric: str, cache: PointCache | None = None) -> Series:
    """(xs, ys) of one run's metric; cache keeps them, for a report that needs them twice."""
    key = (row.run_id, metric)
    series = cache.get(key) if cache is not None else None
    if series is None:
        series = raw_series(row, metric, {} if cache is None else cache)
        if cache is not None:
            cache[key] = series
    return series


def raw_series(row: Row, metric: str, cache: PointCache) -> Series:
    values = row.get(metric)
    if not isinstance(values, list):
        return [], []
    ys = y_values(values)
    log_name, key = split_metric_column(metric, row._metrics)
    if log_name is None or key in COUNTERS:
        return x_values(range(len(ys))), ys
    x_key = (row.run_id, " x" + log_name)
    series = cache.get(x_key)
    if series is None or len(series[0]) != len(values):
        columns = row.metric_file(log_name)
        column = next((columns[c] for c in COUNTERS if len(columns.get(c, ())) == len(values)), range(len(ys)))
        series = cache[x_key] = (x_values(column), [])
    return series[0], ys


def short_key(key: str) -> str:
    return key[len("config."):] if key.startswith("config.") else key


def run_curves(df: DataFrame, metric: str, *, window: int = 1, cache: PointCache | None = None) -> list[Curve]:
    """One curve per run that has the metric, labelled `run ID`."""
    curves = []
    for row in df:
        if isinstance(row, Row):
            xs, ys = run_series(row, metric, cache)
            if ys:
                status = str(row.get("info.status") or "")
                points = smooth(list(zip(xs, ys)), window) if window > 1 else None
                curves.append(Curve(f"run {row.run_id}", points, columns=(xs, ys), runs=[str(row.run_id)], status=status))
    return curves


def group_curves(df: DataFrame, metric: str, by: Sequence[str], *, window: int = 1, spread: str = "std",
                 cache: PointCache | None = None) -> list[Curve]:
    """One curve per value of the `by` keys: the mean over its runs, with a band (std or minmax)."""
    groups: dict[Any, list[tuple[Row, Points]]] = {}
    labels: dict[Any, str] = {}
    for row in df:
        if not isinstance(row, Row):
            continue
        points = run_points(row, metric, window, cache)
        if not points:
            continue
        values = tuple(row.get(key) for key in by)
        group = tuple(hashable(v) for v in values)
        labels.setdefault(group, ", ".join(f"{short_key(k)}={v}" for k, v in zip(by, values)))
        groups.setdefault(group, []).append((row, points))
    curves = []
    for group, members in groups.items():
        stats = band([points for _, points in members], spread)
        statuses = [str(row.get("info.status") or "") for row, _ in members]
        status = next((s for s in ("RUNNING", "LOST") if s in statuses), "")
        label = f"{labels[group]} ({len(members)} run{'s' if len(members) > 1 else ''})"
        curves.append(Curve(label, [(x, m) for x, m, _, _ in stats], runs=[str(row.run_id) for row, _ in members],
                            status=status, spread=stats))
    return curves


def curves_of(df: DataFrame, metric: str, by: Sequence[str] = (), *, window: int = 1, spread: str = "std",
              cache: PointCache | None = None) -> list[Curve]:
    """The curves of metric: per run, or per group of the `by` keys."""
    if by:
        return group_curves(df, metric, by, window=window, spread=spread, cache=cache)
    return run_curves(df, metric, window=window, cache=cache)


def chart_points(curves: Sequence[Curve], log_x: bool, log_y: bool, buckets: int) -> list[Points]:
    """Each curve's points, with what a log axis cannot show as gaps (y) or left out (x),
    downsampled to at most about 2 x buckets points."""
    out = []
    for curve in curves:
        if curve._points is None and curve.columns and not log_x and not log_y:
            xs, ys = curve.columns
            out.append([(xs[i], ys[i]) for i in downsample_indices(ys, buckets)])
            continue
        points = for_log(curve.points) if log_y else curve.points
        if log_x:
            points = [(x, y) for x, y in points if x > 0]
        out.append(downsample(points, buckets))
    return out
