"""The scheduler job this process runs in: its ids for info.scheduler, and asking for a requeue."""
from __future__ import annotations

import os

from .._commands import CommandNotRun, run_command
from .._contract import (
    ARRAY_ENV, ARRAY_JOB_ENVS, ARRAY_TASK_ENVS, ARRAY_VARIABLES_ALWAYS, JOB_DETECTION_ORDER, JOB_EXCLUDED_ENVS,
    JOB_ID_ENVS, JOB_REQUIRED_ENVS, NO_ARRAY_TASK, RESTART_COUNT_ENVS, TASK_JOB_IDS,
)
from ..errors import SchedulerError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any


def job_from_environment() -> dict[str, Any] | None:
    """The scheduler job this process runs in, for info.scheduler (None outside a job).

    Keys: name, job_id, array_job_id, array_task_id (and restarts when known). An array
    task's job_id is its own (SGE `N.i`, LSF `N[i]`), as at submission.
    """
    env = os.environ
    for name in JOB_DETECTION_ORDER:
        job_id = env.get(JOB_ID_ENVS[name])
        if not job_id:
            continue
        if name in JOB_REQUIRED_ENVS and not any(v in env for v in JOB_REQUIRED_ENVS[name]):
            continue
        if any(v in env for v in JOB_EXCLUDED_ENVS.get(name, ())):
            continue
        task = next((env[v] for v in ARRAY_TASK_ENVS[name] if v in env), None)
        task_id = int(task) if task and task.isdigit() else None
        if task_id is not None and task_id == NO_ARRAY_TASK.get(name):
            task_id = None
        array_job_id = next((env[v] for v in ARRAY_JOB_ENVS[name] if v in env), None)
        if name in ARRAY_VARIABLES_ALWAYS and (array_job_id, task_id) == (job_id, 1) and not env.get(ARRAY_ENV):
            task_id = None  # OAR's values for a job that is no array
        if task_id is None:
            array_job_id = None
        elif name in TASK_JOB_IDS and array_job_id:
            job_id = TASK_JOB_IDS[name].format(job=array_job_id, task=task_id)  # the task, not its array
        job = {"name": name, "job_id": job_id, "array_job_id": array_job_id, "array_task_id": task_id}
        restarts = env.get(RESTART_COUNT_ENVS[name]) if name in RESTART_COUNT_ENVS else None
        if restarts and restarts.isdigit():
            job["restarts"] = int(restarts)
        return job
    return None


def requeue_current_job(job: dict[str, Any]) -> None:
    """Ask the scheduler to requeue the job this process runs in (xp.requeue=true).

    SLURM: `scontrol requeue` of this job (for an array task `<array id>_<index>`, since
    the array id alone would requeue every task). OAR, SGE and LSF resubmit the job
    themselves: the job script exits with status 99 after a preemption signal. PBS and
    Torque have nothing a job can ask for; the run stays INTERRUPTED. Raises
    SchedulerError when scontrol fails.
    """
    if job.get("name") != "slurm":
        return
    if job.get("array_job_id") and job.get("array_task_id") is not None:
        target = f"{job['array_job_id']}_{job['array_task_id']}"
    else:
        target = str(job["job_id"])
    try:
        status, output, _ = run_command(["scontrol", "requeue", target], timeout=60, merge_stderr=True)
    except CommandNotRun as err:
        raise SchedulerError(f"Cannot requeue SLURM job {target}: {err.reason}") from None
    if status != 0:
        shown = "\n".join("    " + line for line in output.decode("utf-8", "replace").rstrip("\n").split("\n"))
        raise SchedulerError(f"Cannot requeue SLURM job {target}: scontrol exited with status {status}:\n{shown}")
