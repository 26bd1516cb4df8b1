"""`tinyxp rerun N [overrides...]`: a new run from run N's config and code.

The new run is launched as run N was (its python, script and working folder; the
script's copy in run N's snapshot when run N ran from one) with
`xp.rerun_of=N xp.log_dir=<run N's log folder>` and the overrides: the launcher then
composes from run N's stored config instead of the defaults (launcher._resumed_config),
and the new run's info.yaml records `rerun_of: N`. With a scheduler the launcher submits
the new run instead of running it.
"""
from __future__ import annotations

import os
import sys

from .._contract import INFO_FILE, SNAPSHOT_MARKER, is_run_id
from .._files import find_above
from ..errors import LoggerError
from .relaunch import quote_value
from .resume import read_stored

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence


def find_run(run: str, log_dir: str) -> tuple[int, str]:
    """(run id, run dir) of `7` (in log_dir) or `logs/7`; raises LoggerError when there is no such run."""
    path = run if not is_run_id(run) else os.path.join(log_dir, run)
    run_id = os.path.basename(os.path.normpath(path))
    if not is_run_id(run_id) or not os.path.isdir(path):
        raise LoggerError(f"Cannot find run {run!r}: no run directory {os.path.abspath(path)!r}")
    return int(run_id), os.path.abspath(path)


def rerun_command(run: str, log_dir: str, overrides: Sequence[str], *, scheduler: str | None = None) -> tuple[list[str], str]:
    """(the command launching a rerun of run, the folder to run it in).

    Raises LoggerError when the run, its info.yaml, its script or its snapshot is missing.
    """
    run_id, run_dir = find_run(run, log_dir)
    info: Any = read_stored(run_id, run_dir, INFO_FILE)
    if not isinstance(info, dict) or not info.get("script"):
        raise LoggerError(f"Cannot rerun run {run_id}: {run_dir!r} has no metadata/info.yaml naming its script")
    script, work_dir = str(info["script"]), str(info.get("work_dir") or os.path.dirname(str(info["script"])))
    snapshot = (info.get("git") or {}).get("snapshot_dir")
    if not os.path.isfile(script):
        where = f"its snapshot {snapshot!r} is gone" if snapshot else f"no script {script!r}"
        raise LoggerError(f"Cannot rerun run {run_id}: {where}")
    python = (info.get("python") or {}).get("executable")
    command = [python if python and os.path.isfile(python) else sys.executable, script, *overrides]
    command += [f"xp.rerun_of={run_id}", "xp.log_dir=" + quote_value(os.path.dirname(run_dir))]
    if find_above(os.path.dirname(script), (SNAPSHOT_MARKER,)) is not None:
        command.append("xp.snapshot=false")  # the code is run N's snapshot already
    if scheduler:
        command.append(f"xp.scheduler={scheduler}")
    return command, work_dir if os.path.isdir(work_dir) else os.path.dirname(script)


def rerun(run: str, log_dir: str, overrides: Sequence[str], *, scheduler: str | None = None) -> int:
    """Launch the rerun of run in a child process; its exit status."""
    from .relaunch import run_child

    command, work_dir = rerun_command(run, log_dir, overrides, scheduler=scheduler)
    print(f"tinyxp: rerun of run {find_run(run, log_dir)[0]}: {' '.join(command[1:])}", file=sys.stderr)
    return run_child(command, work_dir, dict(os.environ))
