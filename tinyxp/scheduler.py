"""Job script writers for SLURM, OAR, PBS/Torque, SGE, LSF; submission; job ids. (Stub: issue 5.)

The launcher calls job_from_environment() and requeue_current_job(); keep their signatures.
"""
from __future__ import annotations

from typing import Any, Dict, Optional


def job_from_environment() -> Optional[Dict[str, Any]]:
    """The scheduler job this process runs in, for info.scheduler (None outside a job).

    Keys: name, job_id, array_job_id, array_task_id (and restarts when known).
    """
    return None


def requeue_current_job(job: Dict[str, Any]) -> None:
    """Ask the scheduler to requeue the job this process runs in (xp.requeue=true)."""
    raise NotImplementedError("requeue is not implemented yet")
