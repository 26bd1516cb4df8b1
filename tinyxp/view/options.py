"""The options several `tinyxp` commands share: the log folder of the commands that take run
ids; those of `tinyxp plot` and `tinyxp report` (--by, --log-x/-y, --log, --smooth, --band),
and writing their output file whole or not at all."""
from __future__ import annotations

import gc
from contextlib import contextmanager

from .._contract import DEFAULT_LOG_DIR
from .._files import os_reason, write_atomic
from ..errors import ReaderError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import argparse
    from typing import Iterator


def add_log_dir_option(parser: argparse.ArgumentParser) -> None:
    """-d, -l or --log-dir: the log folder in which run ids are looked up."""
    parser.add_argument("-d", "-l", "--log-dir", default=DEFAULT_LOG_DIR,
                        help=f"the parent log directory of the runs (default: {DEFAULT_LOG_DIR})")


def add_chart_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", nargs="+", default=[], metavar="KEY",
                        help="one line per value of these config keys (e.g. optimizer.lr): the mean over the "
                        "other runs (seeds) and a band of one standard deviation")
    parser.add_argument("--band", choices=("std", "minmax"), default="std", help="the band around a group's mean (default: std)")
    parser.add_argument("--log-x", action="store_true", help="log scale on the x axis")
    parser.add_argument("--log-y", action="store_true", help="log scale on the y axis (values <= 0 leave gaps)")
    parser.add_argument("--log", action="append", default=[], metavar="METRIC", help="log y scale for this metric only (repeatable)")
    parser.add_argument("--smooth", type=int, default=1, metavar="W", help="trailing moving average over W logged values (default: 1, none)")


def check_smooth(window: int) -> None:
    if window < 1:
        raise ReaderError(f"Invalid --smooth {window}: expected a number of values, 1 or more")


def write_output(path: str, text: str, what: str) -> None:
    """Write text to path through a temporary file and a rename; raises ReaderError when it cannot."""
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as err:
        raise ReaderError(f"Cannot write the {what} to {path!r}: {os_reason(err)}") from None


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: the points of thousands of runs are many small
    tuples, which would trigger full collections over and over (about a third of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
