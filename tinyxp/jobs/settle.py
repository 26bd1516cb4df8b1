"""Runs whose job ended without them recording it: settled when runs are read.

A job cancelled, preempted or failed before python started leaves its run PENDING; a
job that OAR or SGE deletes while it runs is killed with SIGKILL, which no process can
catch, and leaves its run RUNNING. `settle_pending_runs` asks each scheduler once
about such runs (ended.py) and writes what became of each.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from .._contract import INFO_FILE, METADATA_DIR, SETTLE_STATUSES
from .._files import read_yaml, update_info
from ..errors import TinyxpError
from ..run.history import is_resubmitted
from .ended import QUERIES, SchedulerWarning, started  # noqa: F401 (SchedulerWarning: cli's)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

LABELS = {"slurm": "SLURM", "oar": "OAR", "sge": "SGE", "pbs": "PBS", "torque": "Torque", "lsf": "LSF"}


def _live_runs(log_dir: str, run_dirs: Sequence[str] | None) -> dict[str, dict[str, tuple[str, str]]]:
    """scheduler -> {job id: (run dir, status)} of the runs to ask about (info.yaml read as bytes first)."""
    if run_dirs is None:
        try:
            names = os.listdir(log_dir)
        except OSError:
            return {}
        run_dirs = [os.path.join(log_dir, name) for name in names if name.isdigit()]
    jobs: dict[str, dict[str, tuple[str, str]]] = {}
    for run_dir in run_dirs:
        path = os.path.join(run_dir, METADATA_DIR, INFO_FILE)
        try:
            with open(path, "rb") as file:
                text = file.read()
            if b"PENDING" not in text and b"RUNNING" not in text:  # most runs: no YAML parsing
                continue
            info = read_yaml(path)
        except (OSError, TinyxpError):
            continue
        job = info.get("scheduler") if isinstance(info, dict) else None
        if isinstance(info, dict) and is_resubmitted(info):  # submitted again: the job of its pending launch
            job = {"name": info["launches"][-1].get("scheduler"), "job_id": info["launches"][-1].get("job_id")}
        if not isinstance(job, dict) or not job.get("job_id"):
            continue
        status = info.get("status")
        if status in SETTLE_STATUSES.get(str(job.get("name")), ()):
            jobs.setdefault(str(job["name"]), {})[str(job["job_id"])] = (run_dir, status)
    return jobs


def _fields(scheduler: str, job_id: str, answer: tuple[str, str | None], run_dir: str, status: str) -> dict[str, Any] | None:
    """The info.yaml fields of a run whose job ended as answer says, or None to leave it."""
    kind, detail = answer
    if kind == "alive":
        return None
    label = LABELS[scheduler]
    if status == "RUNNING":
        if kind == "gone":
            return None  # its accounting may not be written yet: ask again later
        if kind == "cancelled":
            message = (f"job {job_id} was cancelled while its run ran ({detail}): {label} killed it with SIGKILL, "
                       "which no process can catch")
        else:
            message = f"job {job_id} {detail} without its run recording an end: see its stdout.log and stderr.log"
        return _ended("INTERRUPTED" if kind != "failed" else "FAILED", message)
    begun = started(run_dir)
    see = ": see its stdout.log and stderr.log" if begun else ""
    if kind == "cancelled":
        return _ended("INTERRUPTED", f"job {job_id} was cancelled before {'its run' if begun else 'it'} started{see}")
    if kind in ("interrupted", "failed"):
        return _ended("INTERRUPTED" if kind == "interrupted" else "FAILED", f"job {job_id} {detail} before its run started{see}")
    if begun:
        return _ended("FAILED", f"job {job_id} ended before its run started ({label} no longer knows it){see}")
    return _ended("INTERRUPTED", f"job {job_id} ended before it started, most likely cancelled ({label} no longer knows it)")


def _ended(status: str, message: str) -> dict[str, Any]:
    return {"status": status, "error": {"type": "SchedulerError", "message": message}}


def settle_pending_runs(log_dir: str, *, run_dirs: Sequence[str] | None = None) -> list[tuple[int, str]]:
    """Mark the runs whose job ended without them recording it; [(run id, new status)].

    Looks at the runs in log_dir (or at run_dirs only): PENDING runs of SLURM, OAR and SGE
    jobs, and RUNNING runs of OAR and SGE jobs, and asks each scheduler once (ended.py). A
    job cancelled (scancel, oardel, qdel), preempted or out of time makes its run
    INTERRUPTED, one that failed makes it FAILED; a job the scheduler no longer knows
    makes a PENDING run INTERRUPTED when it never started (no stdout.log/stderr.log),
    else FAILED. Jobs still alive are left alone, and so is a run whose info.yaml no
    longer has the status it had. When a scheduler cannot be asked, its runs stay as they
    are and a SchedulerWarning says why; it never raises.
    """
    settled = []
    for scheduler, jobs in sorted(_live_runs(log_dir, run_dirs).items()):
        answers = QUERIES[scheduler]({job_id: run_dir for job_id, (run_dir, _) in jobs.items()})
        for job_id, (run_dir, status) in jobs.items():
            answer = (answers or {}).get(job_id)
            fields = None if answer is None else _fields(scheduler, job_id, answer, run_dir, status)
            if fields is not None and _write(run_dir, status, fields):
                settled.append((_run_id(run_dir), fields["status"]))
    return sorted(settled)


def _write(run_dir: str, status: str, fields: dict[str, Any]) -> bool:
    try:
        # read again: a job that started (or ended) meanwhile has written its own status, which stays
        info = read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE))
        if not isinstance(info, dict) or info.get("status") != status:
            return False
        update_info(run_dir, end_time=datetime.now(timezone.utc).isoformat(), **fields)
    except (OSError, TinyxpError):
        return False
    return True


def _run_id(run_dir: str) -> int:
    return int(os.path.basename(run_dir))
