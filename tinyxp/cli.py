"""The `tinyxp` command: `tinyxp runs`, `tinyxp show`, `tinyxp sub`.

Every subcommand is a function `cmd_<name>(args) -> int` registered in COMMANDS with
the function that adds its arguments. A TinyxpError is printed without a traceback and
the command exits with status 2.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Dict, List, Optional, Tuple

from .errors import TinyxpError

EXIT_BAD_INPUT = 2


def add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log_dir", help="the parent log directory")


def cmd_runs(args: argparse.Namespace) -> int:
    raise TinyxpError("`tinyxp runs` is not implemented yet")


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="one run directory")


def cmd_show(args: argparse.Namespace) -> int:
    raise TinyxpError("`tinyxp show` is not implemented yet")


def add_sub_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", help="a job script in the scheduler's own syntax")


def cmd_sub(args: argparse.Namespace) -> int:
    raise TinyxpError("`tinyxp sub` is not implemented yet")


# name -> (help, add_arguments, run)
COMMANDS: Dict[str, Tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
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


def main(argv: Optional[List[str]] = None) -> int:
    """Run the `tinyxp` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except TinyxpError as err:
        return report_error(err)
    except KeyboardInterrupt:
        return 130
