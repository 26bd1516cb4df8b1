"""What each scheduler says of jobs: alive, or how they ended (squeue; oarstat; qstat and qacct; bjobs).

A query takes {job id: run dir} and returns {job id: (kind, detail)} for the jobs it
has an answer for, kind being "alive", "cancelled", "interrupted", "failed" or "gone"
(no longer listed, with no record of how it ended); detail says how ("ended TIMEOUT").
It returns None, with a SchedulerWarning, when the scheduler cannot be asked.
"""
from __future__ import annotations

import os
import re
import warnings

from .._contract import STDERR_FILE, STDOUT_FILE
from ..errors import SchedulerError
from .backends import indent_output, run_command

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Callable, Dict, Optional, Tuple

    Answer = Optional[Dict[str, Tuple[str, Optional[str]]]]

# squeue's %T states of a job that has ended (any other state is a job still alive:
# PENDING, CONFIGURING, RUNNING, COMPLETING, SUSPENDED, REQUEUED, SPECIAL_EXIT ...)
SLURM_INTERRUPTED_STATES = ("CANCELLED", "PREEMPTED", "TIMEOUT", "DEADLINE")
SLURM_FAILED_STATES = ("BOOT_FAIL", "COMPLETED", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY")
RE_INVALID_JOB_ID = re.compile(r"Invalid job id specified")  # squeue's answer when it knows none of the ids
OAR_ENDED_STATES = ("Terminated", "Error")
SGE_KILLED = "100"  # qacct's `failed` of a job killed (qdel): "100 : assumedly after job"
SGE_LIMIT = "37"  # qacct's `failed` of a job that reached h_rt: "37 : qmaster enforced h_rt ... limit"


class SchedulerWarning(UserWarning):
    """The scheduler could not be asked about runs; nothing was changed."""


def started(run_dir: str) -> bool:
    """Whether the job of a run has started: schedulers create its stdout.log and stderr.log then."""
    return any(os.path.exists(os.path.join(run_dir, name)) for name in (STDOUT_FILE, STDERR_FILE))


def _ask(argv: list[str], what: str) -> tuple[int, str] | None:
    try:
        return run_command(argv, timeout=30)
    except SchedulerError as err:
        warnings.warn(f"Cannot ask {what}: {err.message}", SchedulerWarning, stacklevel=4)
        return None


def _failed(argv: list[str], what: str, status: int, output: str) -> None:
    warnings.warn(f"Cannot ask {what}: {argv[0]} exited with status {status}:\n{indent_output(output)}",
                  SchedulerWarning, stacklevel=4)


def query_slurm_states(job_ids: list[str]) -> dict[str, str] | None:
    """job id -> squeue's state (%T) of the jobs SLURM still knows; None when squeue fails.

    Array tasks are asked for and reported as `<array id>_<index>` (squeue -r). A job
    missing from the answer has ended longer ago than MinJobAge (300 s by default).
    """
    argv = ["squeue", "-h", "-r", "-t", "all", "-j", ",".join(job_ids), "-o", "%i %T"]
    done = _ask(argv, "SLURM about PENDING runs")
    if done is None:
        return None
    status, output = done
    if status != 0:
        if RE_INVALID_JOB_ID.search(output):  # one id asked for, and SLURM no longer knows it
            return {}
        _failed(argv, "SLURM about PENDING runs", status, output)
        return None
    return dict(line.split() for line in output.splitlines() if len(line.split()) == 2)


def query_slurm(jobs: dict[str, str]) -> Answer:
    states = query_slurm_states(sorted(jobs))
    if states is None:
        return None
    arrays = {job_id.split("_")[0] for job_id in states if "_" in job_id}
    answer: dict[str, tuple[str, str | None]] = {}
    for job_id, run_dir in jobs.items():
        state = states.get(job_id)
        if state is None:
            # scancel of a queued array task drops it from its array without a trace
            alive_array = "_" in job_id and job_id.split("_")[0] in arrays
            answer[job_id] = ("cancelled", None) if alive_array and not started(run_dir) else ("gone", None)
        elif state == "CANCELLED":
            answer[job_id] = ("cancelled", None)
        elif state in SLURM_INTERRUPTED_STATES:
            answer[job_id] = ("interrupted", f"ended {state}")
        elif state in SLURM_FAILED_STATES:
            answer[job_id] = ("failed", f"ended {state}")
        else:
            answer[job_id] = ("alive", None)
    return answer


def query_oar(jobs: dict[str, str]) -> Answer:
    """One `oarstat -J -fj ID -j ID ...`: a job in Error with a FRAG_JOB_REQUEST event was
    deleted (oardel), with WALLTIME it reached its walltime; OAR keeps every job."""
    import json  # only to read oarstat

    argv = ["oarstat", "-J", "-f"] + [word for job_id in sorted(jobs) for word in ("-j", job_id)]
    done = _ask(argv, "OAR about its runs")
    if done is None:
        return None
    status, output = done
    try:
        found = json.loads(output) if output.strip() else {}
    except ValueError:
        found = None
    if status != 0 or not isinstance(found, dict):
        _failed(argv, "OAR about its runs", status, output)
        return None
    answer: dict[str, tuple[str, str | None]] = {}
    for job_id, job in found.items():
        state = job.get("state") if isinstance(job, dict) else None
        events = [event.get("type") for event in job.get("events") or [] if isinstance(event, dict)] if state else []
        if state not in OAR_ENDED_STATES:
            answer[str(job_id)] = ("alive", None)
        elif "FRAG_JOB_REQUEST" in events:
            answer[str(job_id)] = ("cancelled", "oardel")
        elif "WALLTIME" in events:
            answer[str(job_id)] = ("interrupted", "reached its walltime")
        else:
            answer[str(job_id)] = ("failed", f"ended {state}")
    return answer


def query_sge(jobs: dict[str, str]) -> Answer:
    """`qstat -g d` once (every array task on a line), then `qacct -j N [-t i]` for each job
    it no longer lists (accounting comes about 15 s after a job ends; a job deleted while
    queued has none)."""
    argv = ["qstat", "-g", "d"]
    done = _ask(argv, "SGE about its runs")
    if done is None:
        return None
    status, output = done
    if status != 0:
        _failed(argv, "SGE about its runs", status, output)
        return None
    alive = set()
    for line in output.splitlines():
        words = line.split()
        if len(words) < 8 or not words[0].isdigit():
            continue
        fixed = 8 + ("@" in words[7])  # id prior name user state date time [queue] slots
        alive.add(words[0] + (f".{words[fixed]}" if len(words) > fixed else ""))
    answer: dict[str, tuple[str, str | None]] = {}
    for job_id in jobs:
        answer[job_id] = ("alive", None) if job_id in alive else _sge_accounting(job_id)
    return answer


def _sge_accounting(job_id: str) -> tuple[str, str | None]:
    job, _, task = job_id.partition(".")
    done = _ask(["qacct", "-j", job, *(["-t", task] if task else [])], "SGE's accounting")
    fields = dict(line.split(None, 1) for line in (done[1] if done and done[0] == 0 else "").splitlines() if " " in line.strip())
    failed, exit_status = fields.get("failed", "").split(":")[0].strip(), fields.get("exit_status", "").split()[:1]
    if not failed:
        return "gone", None
    shown = f"qacct: failed {failed}, exit status {exit_status[0] if exit_status else '?'}"
    if failed == SGE_KILLED:
        return "cancelled", f"qdel or a kill; {shown}"
    if failed == SGE_LIMIT:
        return "interrupted", f"reached its time limit ({shown})"
    return "failed", f"ended ({shown})"


def query_pbs(jobs: dict[str, str], *, history: bool = True) -> Answer:
    """`qstat [-x] -f ID ...` (PBS Pro needs -x for finished jobs; Torque shows them as C
    for a while): a job finished (F, C) that never started was deleted while queued."""
    argv = ["qstat", *(["-x"] if history else []), "-f", *sorted(jobs)]
    done = _ask(argv, "PBS about PENDING runs")
    if done is None:
        return None
    answer: dict[str, tuple[str, str | None]] = {}
    for block in re.split(r"^Job Id:\s*", done[1], flags=re.M)[1:]:
        job_id = block.split(None, 1)[0]
        state = re.search(r"^\s*job_state\s*=\s*(\S+)", block, re.M)
        code = re.search(r"^\s*[Ee]xit_status\s*=\s*(\S+)", block, re.M)
        if state is None or state.group(1) not in ("F", "C"):
            answer[job_id] = ("alive", None)
        elif not started(jobs.get(job_id, "")):
            answer[job_id] = ("cancelled", None)
        else:
            answer[job_id] = ("failed", f"ended (exit status {code.group(1) if code else '?'})")
    if done[0] != 0 and not answer:
        _failed(argv, "PBS about PENDING runs", *done)
        return None
    return answer


def query_torque(jobs: dict[str, str]) -> Answer:
    return query_pbs(jobs, history=False)


def query_lsf(jobs: dict[str, str]) -> Answer:
    """`bjobs -a -noheader -o "jobid jobindex stat" ID ...`: DONE or EXIT (bkill, or a failure)."""
    argv = ["bjobs", "-a", "-noheader", "-o", "jobid jobindex stat", *sorted(jobs)]
    done = _ask(argv, "LSF about PENDING runs")
    if done is None:
        return None
    answer: dict[str, tuple[str, str | None]] = {}
    for line in done[1].splitlines():
        words = line.split()
        if len(words) != 3 or not words[0].isdigit():
            continue  # "Job <N> is not found"
        job_id = words[0] if words[1] == "0" else f"{words[0]}[{words[1]}]"
        if words[2] == "EXIT":
            answer[job_id] = ("interrupted", "ended EXIT (bkill, or a failure)")
        elif words[2] == "DONE":
            answer[job_id] = ("failed", "ended DONE")
        else:
            answer[job_id] = ("alive", None)
    if done[0] != 0 and not answer and "is not found" not in done[1]:
        _failed(argv, "LSF about PENDING runs", *done)
        return None
    return answer


QUERIES: dict[str, Callable[[dict[str, str]], Answer]] = {"slurm": query_slurm, "oar": query_oar, "sge": query_sge, "pbs": query_pbs, "torque": query_torque,
           "lsf": query_lsf}
