"""`tinyxp resubmit -q QUERY`: submit existing runs again, each job resuming its own run.

A run submitted before (its own script.sh, to the same scheduler) is submitted with that
script as it is: its python line already names the run (xp.run_id). Any other run (run
here, or a task of a job array) gets a job script written from its info.yaml and
xp.yaml. Either way the run becomes PENDING with its earlier launch closed in its launch
history (run/history.py), and the pending launch records the new job id.
"""
from __future__ import annotations

import os
import sys
import time

from .._contract import INFO_FILE, METADATA_DIR, SCRIPT_FILE, XP_FILE
from .._files import read_yaml, update_info, write_yaml
from ..config.overrides import parse_override
from ..config.settings import xp_setting
from ..errors import SchedulerError, TinyxpError
from ..run.history import resubmitted_info
from ..run.resume import is_alive
from .backends import get_backend, submit_script
from .submit import Submission, Submitted, own_directives, print_submitted, record_job, submit_sweep

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence


def resubmit_runs(run_dirs: Sequence[str], *, scheduler: str | None = None, out: Any = print) -> int:
    """Submit each run again (see the module); returns the exit status.

    Every run is checked before any is submitted: raises SchedulerError for a PENDING or
    live RUNNING run, a run without a scheduler when none is given, an unknown scheduler,
    or a failed submission.
    """
    planned = [_plan(run_dir, scheduler) for run_dir in run_dirs]
    for run_dir, info, name, as_is in planned:
        if as_is:
            submitted = [_submit_as_is(run_dir, info, name)]
        else:
            submitted = submit_sweep(_submission(run_dir, info, name))
        print_submitted(submitted, name, out)
    return 0


def _plan(run_dir: str, scheduler: str | None) -> tuple[str, dict[str, Any], str, bool]:
    """(run dir, info, scheduler, whether its own script.sh is submitted as it is)."""
    info = _read(run_dir, INFO_FILE)
    run_id = info.get("run_id", os.path.basename(run_dir))
    status = info.get("status")
    if status == "PENDING" or (status == "RUNNING" and is_alive(run_dir, info, None)):
        raise SchedulerError(f"Cannot resubmit run {run_id}: it is {status} (wait for it to end)")
    own = (info.get("scheduler") or {}).get("name")
    name = scheduler or own
    if not name:
        raise SchedulerError(f"Cannot resubmit run {run_id}: it ran without a scheduler; pass --scheduler")
    get_backend(name)
    script = os.path.join(run_dir, SCRIPT_FILE)
    return run_dir, info, name, name == own and os.path.isfile(script) and not os.path.islink(script)


def _read(run_dir: str, name: str) -> dict[str, Any]:
    path = os.path.join(run_dir, METADATA_DIR, name)
    try:
        data = read_yaml(path)
    except FileNotFoundError:
        data = {}
    except (OSError, UnicodeDecodeError, TinyxpError) as err:
        raise SchedulerError(f"Cannot resubmit {run_dir!r}: cannot read {path!r}: {err}") from None
    return data if isinstance(data, dict) else {}


def _submit_as_is(run_dir: str, info: dict[str, Any], scheduler: str) -> Submitted:
    """Submit the run's own script.sh again; on failure the run ends FAILED (not submitted)."""
    path = os.path.join(run_dir, METADATA_DIR, INFO_FILE)
    write_yaml(path, resubmitted_info(info, run_dir, time.time()))
    script = os.path.join(run_dir, SCRIPT_FILE)
    try:
        ids = submit_script(scheduler, script)
    except SchedulerError as err:
        update_info(run_dir, status="FAILED", error={"type": "SchedulerError", "message": f"Not submitted: {err.message}"})
        raise
    record_job(run_dir, {"name": scheduler, "job_id": ids["job_id"]})
    return Submitted(info.get("run_id"), run_dir, ids["job_id"], script)


def _submission(run_dir: str, info: dict[str, Any], scheduler: str) -> Submission:
    """A one-job Submission resuming the run, from its info.yaml and xp.yaml."""
    xp = _read(run_dir, XP_FILE)
    script = str(info.get("script") or "")
    if not os.path.isfile(script):
        raise SchedulerError(f"Cannot resubmit run {info.get('run_id')}: no script {script!r}")
    python = (info.get("python") or {}).get("executable") or xp_setting(xp, "python") or sys.executable
    return Submission(
        scheduler=scheduler,
        log_dir=os.path.dirname(os.path.abspath(run_dir)),
        name=xp_setting(xp, "job_name") or os.path.splitext(os.path.basename(script))[0],
        command=[python, script],
        settings=[[parse_override(token) for token in info.get("overrides") or ()]],
        work_dir=str(info.get("work_dir") or os.path.dirname(script)),
        directives=own_directives(scheduler, xp_setting(xp, "scheduler_options") or [], f"{run_dir}/metadata/xp.yaml"),
        setup=list(xp_setting(xp, "setup") or []),
        requeue=bool(xp_setting(xp, "requeue")),
        signal_grace=int(xp_setting(xp, "signal_grace")),
        resume_ids=[int(os.path.basename(os.path.normpath(run_dir)))],
    )
