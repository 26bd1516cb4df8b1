"""The `tinyxp` command: `tinyxp runs`, `tinyxp show`, `tinyxp sub`.

Every subcommand is a function `cmd_<name>(args) -> int` registered in COMMANDS with
the function that adds its arguments. A TinyxpError is printed without a traceback and
the command exits with status 2. Each subcommand imports what it needs where it runs, so
that `tinyxp sub` does not load the reader, nor `tinyxp runs` the job backends.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from ._contract import INFO_FILE, METADATA_DIR
from .errors import ReaderError, TinyxpError
from .read.status import DEFAULT_LOST_AFTER

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable

    from .read.frame import DataFrame
    from .read.reader import Reader

EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, the status of a program the signal ended


def add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log_dir", help="the parent log directory")
    parser.add_argument("-q", "--query", default="", help="keep the runs matching this query, e.g. \"config.lr < 0.01 & info.status == 'COMPLETE'\"")
    parser.add_argument(
        "-c", "--columns", default=None,
        help="comma-separated columns, e.g. id,status,config.lr,last(train.loss) "
        "(default: id, status, the config keys that vary, the last value of each metric)",
    )
    parser.add_argument("--sort", default=None, metavar="KEY", help="sort by this column; --sort=-KEY for descending")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")
    parser.add_argument("--lost-after", type=float, default=DEFAULT_LOST_AFTER, metavar="SECONDS",
                        help=f"a RUNNING run silent this long reads as LOST (default: {DEFAULT_LOST_AFTER})")
    add_scheduler_check_argument(parser)


def add_scheduler_check_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-scheduler-check", dest="scheduler_check", action="store_false",
        help="do not ask the schedulers (squeue, oarstat, qstat, bjobs) about runs whose job ended without them recording it; "
        "by default such runs are marked INTERRUPTED (cancelled) or FAILED first",
    )


def settle_pending(log_dir: str, runs: list[tuple[str, dict[str, object]]]) -> bool:
    """Ask the schedulers (squeue, oarstat, qstat: those on PATH) about the runs among runs
    ((run dir, its info.* values)) whose job may have ended without them recording it.

    Returns whether a run changed. Warnings (a scheduler failing) are printed, never raised.
    """
    import shutil

    from ._contract import SETTLE_COMMANDS, SETTLE_STATUSES

    run_dirs = [run_dir for run_dir, values in runs
                if values.get("info.status") in SETTLE_STATUSES.get(str(values.get("info.scheduler.name")), ())
                and shutil.which(SETTLE_COMMANDS[str(values.get("info.scheduler.name"))])]
    if not run_dirs:
        return False
    from .jobs.settle import SchedulerWarning, settle_pending_runs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SchedulerWarning)
        settled = settle_pending_runs(log_dir, run_dirs=run_dirs)
    print_warnings(caught)
    return bool(settled)


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        print(f"tinyxp: warning: {warning.message}", file=sys.stderr)


def cmd_runs(args: argparse.Namespace) -> int:
    from .view.runs import default_columns
    from .view.table import print_rows

    reader, df = read_runs(args)
    if not len(reader):
        print(f"tinyxp: no runs in {args.log_dir!r} (runs are folders named by integers)", file=sys.stderr)
        return 0
    columns = default_columns(reader) if args.columns is None else parse_columns(args.columns)
    values = table_values(reader, df, columns, [args.sort] if args.sort else [])
    print_rows(columns, values, args.format)
    if not values:
        print("tinyxp: no runs match the query", file=sys.stderr)
    return 0


def read_runs(args: argparse.Namespace) -> tuple[Reader, DataFrame]:
    """The Reader of args.log_dir (PENDING runs settled first) and the runs matching args.query."""
    from .read.reader import Reader, ReaderWarning
    from .read.row import Row

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReaderWarning)
        reader = Reader(args.log_dir, lost_after=args.lost_after)
        runs = [(row.run_dir, row.static) for row in reader.filter() if isinstance(row, Row) and row.run_dir]
        if args.scheduler_check and settle_pending(reader.log_dir, runs):
            reader.refresh()
        df = reader.filter(args.query)
    print_warnings(caught)
    return reader, df


def parse_columns(text: str) -> list[str]:
    """The column names of --columns; raises ReaderError when there is none."""
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise ReaderError(f"Expected at least one column name in --columns, got {text!r}")
    return columns


def table_values(reader: Reader, df: DataFrame, columns: list[str], sort: list[str]) -> list[list[Any]]:
    """The values of columns for each run of df, sorted by the sort columns (which may be others)."""
    from .read.frame import sort_rows
    from .view.runs import table_rows

    wanted = columns + [key.lstrip("-") for key in sort if key.lstrip("-") not in columns]
    values = table_rows(reader, df, wanted)
    if sort:
        position = {name: index for index, name in enumerate(wanted)}
        values = sort_rows(values, sort, lambda row, key: row[position[key]], False)
    return [row[: len(columns)] for row in values]


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="one run directory, e.g. logs/7")
    parser.add_argument("--lost-after", type=float, default=DEFAULT_LOST_AFTER, metavar="SECONDS",
                        help=f"a RUNNING run silent this long reads as LOST (default: {DEFAULT_LOST_AFTER})")
    add_scheduler_check_argument(parser)


def cmd_show(args: argparse.Namespace) -> int:
    from ._files import read_yaml
    from .view.runs import describe_run

    if args.scheduler_check:
        try:
            info = read_yaml(os.path.join(args.run_dir, METADATA_DIR, INFO_FILE))
        except (OSError, TinyxpError):  # describe_run says what is wrong
            info = None
        if isinstance(info, dict) and isinstance(info.get("scheduler"), dict):
            values = {"info.status": info.get("status"), "info.scheduler.name": info["scheduler"].get("name")}
            run_dir = os.path.abspath(args.run_dir)
            settle_pending(os.path.dirname(run_dir), [(run_dir, values)])
    print(describe_run(args.run_dir, lost_after=args.lost_after))
    return 0


def add_sub_arguments(parser: argparse.ArgumentParser) -> None:
    from .jobs.backends import BACKENDS

    parser.add_argument("script", help="a job script in the scheduler's own syntax (#SBATCH, #OAR, #PBS, #$, #BSUB)")
    parser.add_argument("--dry-run", action="store_true", help="write and print the job scripts, submit nothing")
    parser.add_argument("--array", action="store_true", help="submit each command's settings as one job array")
    parser.add_argument("--scheduler", choices=sorted(BACKENDS),
                        help="the scheduler, when the script has no directive (or torque for #PBS)")


def cmd_sub(args: argparse.Namespace) -> int:
    from .jobs.jobscript import submit_job_script

    return submit_job_script(args.script, scheduler=args.scheduler, array=args.array, dry_run=args.dry_run)


# name -> (help, add_arguments, run)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "runs": ("list runs, one line each, optionally filtered by a query", add_runs_arguments, cmd_runs),
    "show": ("print one run's config, info and metric summaries", add_show_arguments, cmd_show),
    "sub": ("expand and submit a job script (SLURM, OAR, PBS, SGE, LSF)", add_sub_arguments, cmd_sub),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `tinyxp` command."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="tinyxp", description="Experiment manager for HPC clusters.")
    parser.add_argument("--version", action="version", version=f"tinyxp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text, description=help_text))
    return parser


def report_error(err: TinyxpError) -> int:
    """Print a tinyxp error as the command line shows it and return the exit status."""
    print(f"tinyxp: error: {err}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Run the `tinyxp` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status = COMMANDS[args.command][2](args)
        sys.stdout.flush()  # a closed pipe shows here rather than at exit
        return status
    except TinyxpError as err:
        return report_error(err)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `tinyxp runs logs | head`: the reader left; stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return EXIT_BROKEN_PIPE
