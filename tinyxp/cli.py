"""The `tinyxp` command: `tinyxp runs`, `tinyxp show`, `tinyxp sub`, and (view/tidy.py) tag, note, rm, restore, gc.

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

from ._contract import INFO_FILE
from .errors import ReaderError, TinyxpError
from .read.status import DEFAULT_LOST_AFTER
from .view.options import add_log_dir_option
from .view.tidy import TIDY_COMMANDS

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Sequence

    from .read.frame import DataFrame
    from .read.reader import Reader

EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, the status of a program the signal ended


def add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log_dir", nargs="?", default="logs", help="the parent log directory (default: ./logs)")
    parser.add_argument("-q", "--query", default="", help="keep the runs matching this query, e.g. \"config.lr < 0.01 & info.status == 'COMPLETE'\"")
    parser.add_argument(
        "-c", "--columns", default=None,
        help="comma-separated columns, e.g. id,status,config.lr,last(train.loss) "
        "(default: id, status, the config keys that vary, the last value of each metric)",
    )
    parser.add_argument("--sort", default=None, metavar="KEY", help="sort by these comma-separated columns; -KEY or KEY:desc for descending")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")
    parser.add_argument("--wide", action="store_true", help="print every column and whole cells, however wide the terminal")
    add_reading_arguments(parser)


def add_scheduler_check_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-scheduler-check", dest="scheduler_check", action="store_false",
        help="do not ask the schedulers (squeue, oarstat, qstat, bjobs) about runs whose job ended without them recording it; "
        "by default such runs are marked INTERRUPTED (cancelled) or FAILED first",
    )


def settle_pending(log_dir: str, runs: Sequence[tuple[str, Mapping[str, Any]]]) -> bool:
    """Ask the schedulers (squeue, oarstat, qstat: those on PATH) about the runs among runs
    ((run dir, its values or row)) whose job may have ended without them recording it.

    Returns whether a run changed. Warnings (a scheduler failing) are printed, never raised.
    """
    import shutil

    from ._contract import SETTLE_COMMANDS, SETTLE_STATUSES

    candidates = []  # (run dir, scheduler) of the runs in a status their scheduler can be asked about
    live = {status for statuses in SETTLE_STATUSES.values() for status in statuses}
    for run_dir, values in runs:
        status = values.get("info.status")
        if status in live:  # most runs ended: their other values are not read
            name = _latest_scheduler(values)
            if status in SETTLE_STATUSES.get(name, ()):
                candidates.append((run_dir, name))
    askable = {name for name in {name for _, name in candidates} if shutil.which(SETTLE_COMMANDS[name])}  # once each
    run_dirs = [run_dir for run_dir, name in candidates if name in askable]
    if not run_dirs:
        return False
    from .jobs.settle import SchedulerWarning, settle_pending_runs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SchedulerWarning)
        settled = settle_pending_runs(log_dir, run_dirs=run_dirs)
    print_warnings(caught)
    return bool(settled)


def _latest_scheduler(values: Mapping[str, Any]) -> str:
    """The scheduler of a run's latest job: its own, or its pending launch's when submitted again."""
    launches = values.get("info.launches")
    last = launches[-1] if isinstance(launches, list) and launches and isinstance(launches[-1], dict) else {}
    return str(last.get("scheduler") or values.get("info.scheduler.name"))


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        print(f"tinyxp: warning: {warning.message}", file=sys.stderr)


def cmd_runs(args: argparse.Namespace) -> int:
    from .read.store import paused_gc

    with paused_gc():  # a full collection would walk the whole index for nothing (0.1 s at 10,000 runs)
        return print_runs(args)


def print_runs(args: argparse.Namespace) -> int:
    from .view.runs import default_columns, parse_sort
    from .view.table import print_rows, terminal_width, use_colour

    reader, df = read_runs(args)
    if not len(reader):
        print(f"tinyxp: no runs in {args.log_dir!r} (runs are folders named by integers)", file=sys.stderr)
        return 0
    every_run = None if args.query.strip() else df  # what default_columns looks at
    columns = default_columns(reader, every_run) if args.columns is None else parse_columns(args.columns)
    values = table_values(reader, df, columns, parse_sort(args.sort) if args.sort else [])
    width = None if args.wide else terminal_width(sys.stdout)
    print_rows(columns, values, args.format, width=width, colour=use_colour(sys.stdout))
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
        df = reader.filter()
        runs = [(row.run_dir, row) for row in df if isinstance(row, Row) and row.run_dir]
        if args.scheduler_check and settle_pending(reader.log_dir, runs):
            reader.refresh()
            df = reader.filter(args.query)
        elif args.query:
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
    add_reading_arguments(parser)


def cmd_show(args: argparse.Namespace) -> int:
    from .read.files import load_metadata
    from .view.runs import describe_run

    if args.scheduler_check:
        try:
            info, _ = load_metadata(args.run_dir, INFO_FILE)  # a FIFO or a link planted there is not followed
        except (OSError, UnicodeDecodeError, TinyxpError):  # describe_run says what is wrong
            info = None
        if isinstance(info, dict) and (isinstance(info.get("scheduler"), dict) or info.get("launches")):
            values = {"info.status": info.get("status"), "info.scheduler.name": (info.get("scheduler") or {}).get("name"),
                      "info.launches": info.get("launches")}
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
    parser.add_argument("--after", metavar="RUN_OR_JOB", type=_run_or_job,
                        help="start the jobs when this run's job (a run id of the log folder) or job:ID has ended")


def _run_or_job(text: str) -> int | str:
    """--after's value: a run id, or job:ID as it is."""
    if text.isdigit():
        return int(text)
    if not text.startswith("job:") or len(text) == 4:
        raise argparse.ArgumentTypeError(f"Expected a run id or job:ID, got {text!r}")
    return text


def cmd_sub(args: argparse.Namespace) -> int:
    from .jobs.jobscript import submit_job_script

    return submit_job_script(args.script, scheduler=args.scheduler, array=args.array, dry_run=args.dry_run,
                             after=args.after)


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="two run ids or more, e.g. 3 7 12")
    add_log_dir_option(parser)
    parser.add_argument("--all", action="store_true", help="show every key, not only those that differ")
    add_lost_after_argument(parser)


def cmd_compare(args: argparse.Namespace) -> int:
    from .read.reader import Reader
    from .view.compare import compare_runs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = Reader(args.log_dir, lost_after=args.lost_after)
    print_warnings(caught)
    print(compare_runs(reader, args.runs, show_all=args.all))
    return 0


def add_tail_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run id, e.g. 7")
    add_log_dir_option(parser)
    parser.add_argument("-n", "--lines", type=int, default=10, help="lines to show of each file (default: 10)")
    parser.add_argument("-f", "--follow", action="store_true", help="then print new lines until the run ends (Ctrl-C stops)")
    add_lost_after_argument(parser)


def cmd_tail(args: argparse.Namespace) -> int:
    from .view.tail import describe_tail, find_run_dir, follow, read_info

    run_dir = find_run_dir(args.log_dir, args.run)
    print(describe_tail(run_dir, lines=args.lines, lost_after=args.lost_after, scheduler=ask_scheduler(read_info(run_dir))))
    if args.follow:
        follow(run_dir, sys.stdout, lost_after=args.lost_after)
    return 0


def ask_scheduler(info: dict[str, Any]) -> str | None:
    """What squeue says about a PENDING run's SLURM job (None when not asked)."""
    import shutil

    job = info.get("scheduler")
    if info.get("status") != "PENDING" or not isinstance(job, dict) or job.get("name") != "slurm" or not shutil.which("squeue"):
        return None
    from .jobs.ended import SchedulerWarning, query_slurm_states

    job_id = str(job.get("job_id"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SchedulerWarning)
        states = query_slurm_states([job_id])
    if states is None:
        return f"squeue failed: {caught[0].message}" if caught else "squeue failed"
    return f"{states[job_id]} (squeue)" if job_id in states else "unknown to squeue: the job has ended"


def add_rerun_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="the run to start again: its id (in --log-dir) or its directory, e.g. 7 or logs/7")
    parser.add_argument("overrides", nargs="*", help="overrides on top of the run's config, e.g. lr=0.01")
    add_log_dir_option(parser)
    parser.add_argument("--scheduler", help="submit the new run to this scheduler instead of running it here")


def cmd_rerun(args: argparse.Namespace) -> int:
    from .run.rerun import rerun

    return rerun(args.run, args.log_dir, args.overrides, scheduler=args.scheduler)


def add_resubmit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log_dir", help="the parent log directory")
    parser.add_argument("-q", "--query", required=True, help="the runs to submit again, e.g. \"info.status in ['FAILED', 'LOST']\"")
    parser.add_argument("--scheduler", help="the scheduler (default: the one each run was submitted to)")
    add_reading_arguments(parser)


def cmd_resubmit(args: argparse.Namespace) -> int:
    from .jobs.resubmit import resubmit_runs
    from .read.row import Row

    _, df = read_runs(args)
    run_dirs = [row.run_dir for row in df if isinstance(row, Row) and row.run_dir]
    if not run_dirs:
        raise ReaderError(f"No run in {args.log_dir!r} matches the query {args.query!r}: nothing to resubmit")
    return resubmit_runs(run_dirs, scheduler=args.scheduler)


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    from .view.plot import add_plot_arguments as add

    add(parser)
    add_reading_arguments(parser)


def cmd_plot(args: argparse.Namespace) -> int:
    from .view.plot import plot_runs

    plot_runs(*read_runs(args), args, sys.stdout)
    return 0


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    from .view.report import add_report_arguments as add

    add(parser)
    add_reading_arguments(parser)


def cmd_report(args: argparse.Namespace) -> int:
    from .view.report import write_report

    reader, df = read_runs(args)
    write_report(reader, df, args)
    print(f"tinyxp: wrote {args.output} ({len(df)} runs)", file=sys.stderr)
    return 0


def add_reading_arguments(parser: argparse.ArgumentParser) -> None:
    """--lost-after and --no-scheduler-check: the options of every command that lists runs."""
    add_lost_after_argument(parser)
    add_scheduler_check_argument(parser)


def add_lost_after_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lost-after", type=float, default=DEFAULT_LOST_AFTER, metavar="SECONDS",
                        help=f"a RUNNING run silent this long reads as LOST (default: {DEFAULT_LOST_AFTER})")


# name -> (help, add_arguments, run)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "runs": ("list runs, one line each, optionally filtered by a query", add_runs_arguments, cmd_runs),
    "show": ("print one run's config, info and metric summaries", add_show_arguments, cmd_show),
    "compare": ("show runs side by side: what differs in config, code, host, status and metrics", add_compare_arguments, cmd_compare),
    "tail": ("a run's status, heartbeat, latest metrics and output; -f follows it", add_tail_arguments, cmd_tail),
    "plot": ("draw a metric of the runs in the terminal (or as SVG)", add_plot_arguments, cmd_plot),
    "report": ("write one self-contained HTML page of the runs: table, charts, differences", add_report_arguments, cmd_report),
    "sub": ("expand and submit a job script (SLURM, OAR, PBS, SGE, LSF)", add_sub_arguments, cmd_sub),
    **TIDY_COMMANDS,  # tag, note, rm, restore, gc
    "rerun": ("start a new run from a run's config and code, with overrides", add_rerun_arguments, cmd_rerun),
    "resubmit": ("submit the runs matching a query again, each job resuming its run", add_resubmit_arguments, cmd_resubmit),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the `tinyxp` command; given a command, only its arguments are added
    (the others' import plotting, reports and schedulers: 15 ms of `tinyxp runs`)."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="tinyxp", description="Experiment manager for HPC clusters.")
    parser.add_argument("--version", action="version", version=f"tinyxp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        if command in (None, name):
            add_arguments(subparser)
    return parser


def report_error(err: TinyxpError) -> int:
    """Print a tinyxp error as the command line shows it and return the exit status."""
    print(f"tinyxp: error: {err}", file=sys.stderr)
    return EXIT_BAD_INPUT


def join_option_values(argv: list[str]) -> list[str]:
    """`--sort -KEY` as `--sort=-KEY`: argparse takes a value starting with '-' for an option."""
    joined: list[str] = []
    for arg in argv:
        if joined and joined[-1] == "--sort" and arg.startswith("-"):
            joined[-1] = f"--sort={arg}"
        else:
            joined.append(arg)
    return joined


def main(argv: list[str] | None = None) -> int:
    """Run the `tinyxp` command; returns the exit status."""
    argv = join_option_values(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
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
