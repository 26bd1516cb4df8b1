"""The maths of a line chart, for the terminal plot and the SVG charts alike.

Pure functions over points (x, y), where y is None for a gap (a value that is not a
finite number, or not positive on a log axis): smoothing, min/max bucket downsampling,
mean and spread bands over several curves, scales and nice ticks.
"""
from __future__ import annotations

import math

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, List, Optional, Sequence, Tuple

    Point = Tuple[float, Optional[float]]
    Points = List[Point]


def number(value: Any) -> float | None:
    """value as a finite float; None for strings, booleans, None, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the floats
        return None
    return value if math.isfinite(value) else None


def y_values(values: Sequence[Any]) -> list[float | None]:
    """The numbers of a metric column, None for a value that is not a finite number (a gap)."""
    # finite floats, by far the most common values, skip the call (v - v is NaN for NaN and infinities)
    return [v if type(v) is float and v - v == 0.0 else number(v) for v in values]


def x_values(xs: Sequence[Any]) -> list[float]:
    """The numbers of xs, with its position for an x that is not a finite number."""
    fx = [float(x) if type(x) is int and -1e300 < x < 1e300 else number(x) for x in xs]
    if None in fx:
        return [float(i) if x is None else x for i, x in enumerate(fx)]
    return fx  # type: ignore[return-value]  # no None in it


def smooth(points: Points, window: int) -> Points:
    """A trailing moving average over the last `window` numbers; gaps stay gaps."""
    if window <= 1:
        return points
    out: Points = []
    recent: list[float] = []
    total = 0.0
    for x, y in points:
        if y is None:
            out.append((x, None))
            continue
        recent.append(y)
        total += y
        if len(recent) > window:
            total -= recent.pop(0)
        out.append((x, total / len(recent)))
    return out


def downsample(points: Points, buckets: int) -> Points:
    """At most about 2 x buckets points: the first and last point and, in each of `buckets`
    runs of consecutive points, the lowest and the highest (in x order).

    This min/max bucket method keeps spikes that averaging would hide. A bucket holding
    a gap keeps one gap point, so a gap never disappears.
    """
    return [points[i] for i in downsample_indices([y for _, y in points], buckets)]


def downsample_indices(ys: Sequence[float | None], buckets: int) -> list[int]:
    """The indices of the points `downsample` keeps, given their y values."""
    if buckets < 1 or len(ys) <= 2 * buckets + 2:
        return list(range(len(ys)))
    gaps = None in ys
    size = (len(ys) - 2) / buckets
    kept = [0]
    for b in range(buckets):
        start, end = 1 + int(b * size), 1 + int((b + 1) * size)
        chunk = ys[start:end]
        if gaps and None in chunk:
            kept += bucket_with_gap(chunk, start)
            continue
        low, high = chunk.index(min(chunk)), chunk.index(max(chunk))  # type: ignore[type-var]  # no None here
        kept += (start + low,) if low == high else (start + min(low, high), start + max(low, high))
    kept.append(len(ys) - 1)
    return kept


def bucket_with_gap(chunk: Sequence[float | None], start: int) -> list[int]:
    """The indices (from start) of a bucket's first gap, lowest and highest number, in order."""
    picks = {chunk.index(None)}
    numbers = [(y, i) for i, y in enumerate(chunk) if y is not None]
    if numbers:
        picks.update((min(numbers)[1], max(numbers)[1]))
    return [start + i for i in sorted(picks)]


def band(curves: Sequence[Points], spread: str = "std") -> list[tuple[float, float, float, float]]:
    """(x, mean, low, high) at every x where a curve has a number, over the curves that have one.

    low and high are mean -/+ one (population) standard deviation, or the min and max
    with spread="minmax".
    """
    at: dict[float, list[float]] = {}
    for points in curves:
        for x, y in points:
            if y is not None:
                at.setdefault(x, []).append(y)
    out = []
    for x in sorted(at):
        ys = at[x]
        mean = sum(ys) / len(ys)
        if spread == "minmax":
            low, high = min(ys), max(ys)
        else:
            std = math.sqrt(sum((y - mean) ** 2 for y in ys) / len(ys))
            low, high = mean - std, mean + std
        out.append((x, mean, low, high))
    return out


def for_log(points: Points) -> Points:
    """Points with every y that is not positive turned into a gap (a log axis cannot show it)."""
    return [(x, y if y is not None and y > 0 else None) for x, y in points]


def extent(values: Sequence[float], log: bool = False) -> tuple[float, float]:
    """(low, high) of the values, widened when they are all equal; (0, 1) or (1, 10) for none."""
    if log:
        values = [v for v in values if v > 0]
    if not values:
        return (1.0, 10.0) if log else (0.0, 1.0)
    low, high = min(values), max(values)
    if low == high:
        if log:
            return low / 2, high * 2
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


class Scale:
    """Maps a domain [low, high] (linear or log10) onto pixels [start, end]."""

    def __init__(self, low: float, high: float, start: float, end: float, log: bool = False) -> None:
        self.log = log
        self.low, self.high = (math.log10(low), math.log10(high)) if log else (low, high)
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        if self.log:
            value = math.log10(value)
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def pixels(self, values: Sequence[float | None]) -> list[int]:
        """Whole pixels of many values at once (a None, or a value a log axis cannot show, maps to low)."""
        low, start, factor = self.low, self.start, (self.end - self.start) / (self.high - self.low)
        if self.log:
            logs = [math.log10(v) if v is not None and v > 0 else low for v in values]
        else:
            logs = [low if v is None else v for v in values]
        return [round(start + (v - low) * factor) for v in logs]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 x 10^k) covering [low, high], about `count` of them."""
    if high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10)), key=lambda s: abs((high - low) / s - count))
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def log_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Powers of ten in [low, high] (every k-th when there are many); nice ticks when none."""
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    if last < first:
        return nice_ticks(low, high, 3)
    every = max(1, math.ceil((last - first + 1) / count))
    return [10.0 ** k for k in range(first, last + 1, every)]


def ticks(low: float, high: float, log: bool = False, count: int = 5) -> list[float]:
    return log_ticks(low, high, count) if log else nice_ticks(low, high, count)


def format_tick(value: float) -> str:
    """A short label: 0.001, 2.5, 1e+06, 120."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.0e}" if value == float(f"{value:.0e}") else f"{value:.2g}"
    return f"{value:.6g}"
