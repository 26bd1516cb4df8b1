"""Queued runs whose job ended: PENDING SLURM runs whose job never started python.

A job cancelled, preempted or failed before python started leaves its run PENDING;
`settle_pending_runs` asks squeue once about them and writes what became of each.
"""
from __future__ import annotations

import os
import re
import warnings
from datetime import datetime, timezone

from .._contract import INFO_FILE, METADATA_DIR, STDERR_FILE, STDOUT_FILE
from .._files import read_yaml, update_info
from ..errors import SchedulerError, TinyxpError
from ..run.history import is_resubmitted
from .backends import indent_output, run_command

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

# squeue's %T states of a job that has ended (any other state is a job still alive:
# PENDING, CONFIGURING, RUNNING, COMPLETING, SUSPENDED, REQUEUED, SPECIAL_EXIT ...)
SLURM_INTERRUPTED_STATES = ("CANCELLED", "PREEMPTED", "TIMEOUT", "DEADLINE")
SLURM_FAILED_STATES = ("BOOT_FAIL", "COMPLETED", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY")
RE_INVALID_JOB_ID = re.compile(r"Invalid job id specified")  # squeue's answer when it knows none of the ids


class SchedulerWarning(UserWarning):
    """The scheduler could not be asked about PENDING runs; nothing was changed."""


def _pending_slurm_runs(log_dir: str, run_dirs: Sequence[str] | None) -> dict[str, str]:
    """job id -> run dir of the PENDING runs submitted to SLURM (info.yaml read as bytes first)."""
    if run_dirs is None:
        try:
            names = os.listdir(log_dir)
        except OSError:
            return {}
        run_dirs = [os.path.join(log_dir, name) for name in names if name.isdigit()]
    jobs: dict[str, str] = {}
    for run_dir in run_dirs:
        path = os.path.join(run_dir, METADATA_DIR, INFO_FILE)
        try:
            with open(path, "rb") as file:
                if b"PENDING" not in file.read():  # most runs: no YAML parsing
                    continue
            info = read_yaml(path)
        except (OSError, TinyxpError):
            continue
        if not isinstance(info, dict) or info.get("status") != "PENDING":
            continue
        job = info.get("scheduler")
        if is_resubmitted(info):  # submitted again: the job of its pending launch
            job = {"name": info["launches"][-1].get("scheduler"), "job_id": info["launches"][-1].get("job_id")}
        if isinstance(job, dict) and job.get("name") == "slurm" and job.get("job_id"):
            jobs[str(job["job_id"])] = run_dir
    return jobs


def query_slurm_states(job_ids: Sequence[str]) -> dict[str, str] | None:
    """job id -> squeue's state (%T) of the jobs SLURM still knows; None when squeue fails.

    Array tasks are asked for and reported as `<array id>_<index>` (squeue -r). A job
    missing from the answer has ended longer ago than MinJobAge (300 s by default).
    """
    argv = ["squeue", "-h", "-r", "-t", "all", "-j", ",".join(job_ids), "-o", "%i %T"]
    try:
        status, output = run_command(argv, timeout=30)
    except SchedulerError as err:
        warnings.warn(f"Cannot ask SLURM about PENDING runs: {err.message}", SchedulerWarning, stacklevel=3)
        return None
    if status != 0:
        if RE_INVALID_JOB_ID.search(output):  # one id asked for, and SLURM no longer knows it
            return {}
        warnings.warn(f"Cannot ask SLURM about PENDING runs: squeue exited with status {status}:\n{indent_output(output)}",
                      SchedulerWarning, stacklevel=3)
        return None
    states = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) == 2:
            states[words[0]] = words[1]
    return states


def _ended_job_fields(job_id: str, state: str | None, run_dir: str, *, array_alive: bool) -> dict[str, Any] | None:
    """The info.yaml fields of a PENDING run whose job ended in state (None: unknown), or None if alive."""
    # SLURM creates a job's stdout.log and stderr.log when the job starts
    started = any(os.path.exists(os.path.join(run_dir, name)) for name in (STDOUT_FILE, STDERR_FILE))
    if state is None and array_alive and not started:
        state = "CANCELLED"  # scancel of a queued array task drops it from its array without a trace
    see = ": see its stdout.log and stderr.log" if started else ""
    if state == "CANCELLED":
        what = "its run" if started else "it"
        status, message = "INTERRUPTED", f"job {job_id} was cancelled before {what} started{see}"
    elif state in SLURM_INTERRUPTED_STATES:
        status, message = "INTERRUPTED", f"job {job_id} ended {state} before its run started{see}"
    elif state in SLURM_FAILED_STATES:
        status, message = "FAILED", f"job {job_id} ended {state} before its run started{see}"
    elif state is not None:
        return None  # still queued, running, or another live state
    elif started:
        status, message = "FAILED", f"job {job_id} ended before its run started (SLURM no longer knows it){see}"
    else:
        status = "INTERRUPTED"
        message = f"job {job_id} ended before it started, most likely cancelled (SLURM no longer knows it)"
    return {"status": status, "error": {"type": "SchedulerError", "message": message}}


def settle_pending_runs(log_dir: str, *, run_dirs: Sequence[str] | None = None) -> list[tuple[int, str]]:
    """Mark the PENDING SLURM runs whose job ended before python started; [(run id, new status)].

    Looks at the runs in log_dir (or at run_dirs only) and asks squeue once for all
    their jobs. A job CANCELLED (or PREEMPTED, TIMEOUT, DEADLINE) makes its run
    INTERRUPTED, and so does a queued array task missing from its array (scancel'ed); FAILED, NODE_FAIL, BOOT_FAIL, OUT_OF_MEMORY or COMPLETED makes it FAILED;
    a job SLURM no longer knows makes it INTERRUPTED when it never started (no
    stdout.log/stderr.log), else FAILED. Jobs still alive are left alone, and so is a run
    whose info.yaml no longer says PENDING. When squeue is missing or fails, nothing
    changes and a SchedulerWarning says why; it never raises.
    """
    jobs = _pending_slurm_runs(log_dir, run_dirs)
    if not jobs:
        return []
    states = query_slurm_states(sorted(jobs))
    if states is None:
        return []
    arrays = {job_id.split("_")[0] for job_id in states if "_" in job_id}
    settled = []
    for job_id, run_dir in jobs.items():
        array_alive = "_" in job_id and job_id.split("_")[0] in arrays
        fields = _ended_job_fields(job_id, states.get(job_id), run_dir, array_alive=array_alive)
        if fields is None:
            continue
        try:
            # read again: a job that started meanwhile has written RUNNING, which stays
            info = read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE))
            if not isinstance(info, dict) or info.get("status") != "PENDING":
                continue
            update_info(run_dir, end_time=datetime.now(timezone.utc).isoformat(), **fields)
        except (OSError, TinyxpError):
            continue
        run_id = info.get("run_id")
        settled.append((run_id if isinstance(run_id, int) else int(os.path.basename(run_dir)), fields["status"]))
    return sorted(settled)
