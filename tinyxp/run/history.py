"""The launch history of a run started more than once (xp.run_id, a requeue, xp.skip).

info.yaml keeps its first launch's record (start_time, hostname, pid, argv, overrides,
command, scheduler) as it was. A run's first resume adds `launches`: one entry for the
first launch, then one per later launch (time, host, pid, argv, overrides, the keys it
changed with old and new values, job_id, and how it ended: status, end_time,
duration_s, error). The top-level status, end_time and error are the latest launch's;
duration_s is the total over all launches; last_launch_time the time of the latest.
docs/format.md describes the fields.
"""
from __future__ import annotations

import os

from .._contract import HEARTBEAT_FILE, INFO_FILE, METADATA_DIR, TRACEBACK_FILE
from .info import format_time

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

OUTCOME_KEYS = ("status", "end_time", "duration_s", "error")
LOST = "LOST"  # the outcome of a launch that ended without writing its status (SIGKILL, node lost)


def first_launch(info: dict[str, Any]) -> dict[str, Any]:
    """The history entry of a run's first launch, from its top-level fields."""
    job = info.get("scheduler") or {}
    return {
        "time": info.get("start_time"), "host": info.get("hostname"), "pid": info.get("pid"),
        "argv": info.get("argv"), "overrides": info.get("overrides"), "job_id": job.get("job_id"),
    }


def _launches(info: dict[str, Any]) -> list[dict[str, Any]]:
    """A copy of the run's launch history; of a run launched once, its first launch's entry."""
    return [dict(entry) for entry in info.get("launches") or [first_launch(info)]]


def resumed_info(old: dict[str, Any], new: dict[str, Any], *, changed: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """The info.yaml of a run launched again: old's record, its last launch closed, a new launch opened.

    new is the info a first launch would write now; only its launch fields are kept.
    """
    launches = _launches(old)
    pending = launches.pop() if is_resubmitted(old) else None
    if pending is None:
        _close(launches[-1], old, run_dir)
        _keep_traceback(run_dir, len(launches))
    entry = {
        "time": new["start_time"], "host": new["hostname"], "pid": new["pid"], "argv": new["argv"],
        "overrides": new["overrides"], "job_id": (new.get("scheduler") or {}).get("job_id"),
    }
    if pending is not None:
        entry = {"submit_time": pending.get("submit_time"), **entry, "job_id": entry["job_id"] or pending.get("job_id")}
    if changed:
        entry["changed"] = changed
    entry["status"] = "RUNNING"
    launches.append(entry)
    info = {key: value for key, value in old.items() if key != "error"}
    info.update(
        status="RUNNING", end_time=None, duration_s=total_duration(launches), last_launch_time=new["start_time"],
        restarts=int(old.get("restarts") or 0) + 1, launches=launches,
    )
    if new.get("scheduler") and new["scheduler"].get("job_id") == (old.get("scheduler") or {}).get("job_id"):
        info["scheduler"] = new["scheduler"]  # the same job, requeued: its restart count moves on
    if new.get("config_hash"):
        info["config_hash"] = new["config_hash"]
    return info


def is_resubmitted(info: dict[str, Any]) -> bool:
    """Whether info is of a run submitted again (xp.skip with a scheduler) whose job has not started."""
    launches = info.get("launches") or [{}]
    return info.get("status") == "PENDING" and launches[-1].get("status") == "PENDING"


def resubmitted_info(old: dict[str, Any], run_dir: str, now: float) -> dict[str, Any]:
    """The info.yaml of a run submitted again: PENDING, its last launch closed, a pending launch opened."""
    launches = _launches(old)
    _close(launches[-1], old, run_dir)
    _keep_traceback(run_dir, len(launches))
    launches.append({"submit_time": format_time(now), "job_id": None, "status": "PENDING"})
    info = {key: value for key, value in old.items() if key != "error"}
    info.update(status="PENDING", end_time=None, launches=launches)
    return info


def with_launch_fields(info: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The info fields that set fields in the latest launch's history entry."""
    launches = [*info["launches"][:-1], {**info["launches"][-1], **fields}]
    return {"launches": launches}


def _close(entry: dict[str, Any], old: dict[str, Any], run_dir: str) -> None:
    """Record in entry how the launch it describes ended, unless it says so already."""
    if entry.get("status") not in (None, "RUNNING", "PENDING"):
        return
    if old.get("status") == "RUNNING":  # it never wrote its end: judged by its last sign of life
        entry["status"] = LOST
        seen = last_seen(run_dir)
        if seen is not None:
            entry["end_time"] = format_time(seen)
    else:
        entry.update({key: old[key] for key in OUTCOME_KEYS if old.get(key) is not None})


def _keep_traceback(run_dir: str, number: int) -> None:
    """The previous launch's traceback.txt becomes traceback.<launch number>.txt."""
    metadata = os.path.join(run_dir, METADATA_DIR)
    stem, extension = os.path.splitext(TRACEBACK_FILE)
    try:
        os.replace(os.path.join(metadata, TRACEBACK_FILE), os.path.join(metadata, f"{stem}.{number}{extension}"))
    except FileNotFoundError:
        pass


def total_duration(launches: list[dict[str, Any]]) -> float:
    """The sum of the launches' known durations in seconds."""
    return round(sum(e["duration_s"] for e in launches if isinstance(e.get("duration_s"), (int, float))), 6)


def finish_fields(info: dict[str, Any], final: dict[str, Any]) -> dict[str, Any]:
    """The fields a launch writes at its end: final, with the launch history closed and the total duration."""
    launches = info.get("launches")
    if not launches:
        return final
    entry = dict(launches[-1])
    entry.update({key: final[key] for key in OUTCOME_KEYS if key in final})
    launches = [*launches[:-1], entry]
    return {**final, "launches": launches, "duration_s": total_duration(launches)}


def last_seen(run_dir: str) -> float | None:
    """The latest time a run showed it was alive: its heartbeat, else its info.yaml."""
    times = []
    for path in (os.path.join(run_dir, HEARTBEAT_FILE), os.path.join(run_dir, METADATA_DIR, INFO_FILE)):
        try:
            times.append(os.stat(path).st_mtime)
        except OSError:
            pass
    return max(times) if times else None
