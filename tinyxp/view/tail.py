"""What `tinyxp tail` prints: a run's status, heartbeat age, latest metric lines and output.

`follow` then prints what is appended to those files until the run ends. It polls
(files on a shared file system give no change events) once a second by default.
"""
from __future__ import annotations

import os
import time

from .._contract import HEARTBEAT_FILE, INFO_FILE, LIVE_STATUSES, METADATA_DIR, STDERR_FILE, STDOUT_FILE
from .._files import read_yaml
from ..errors import ReaderError, TinyxpError
from ..read.index import first_line, metric_names
from ..read.mlxp import metric_path
from ..read.status import LOST, is_lost, mtime

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import IO, Any, Callable

TAIL_BYTES = 1 << 16  # enough for the last lines of any file worth tailing
POLL_INTERVAL = 1.0


def find_run_dir(log_dir: str, run: str) -> str:
    """The folder of run id `run` in log_dir; raises ReaderError when it is not a run."""
    run_dir = os.path.join(log_dir, run)
    if not os.path.isfile(os.path.join(run_dir, METADATA_DIR, INFO_FILE)):
        what = "is not a run directory (no metadata/info.yaml)" if os.path.isdir(run_dir) else "does not exist"
        raise ReaderError(f"Unknown run {run}: {run_dir!r} {what}")
    return run_dir


def read_info(run_dir: str) -> dict[str, Any]:
    """The run's info.yaml; an unreadable one reads as {} (a run being rewritten, or damaged)."""
    try:
        info = read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE))
    except (OSError, UnicodeDecodeError, TinyxpError):
        return {}
    return info if isinstance(info, dict) else {}


def run_status(run_dir: str, info: dict[str, Any], lost_after: float) -> str:
    status = str(info.get("status", "UNKNOWN"))
    return LOST if status == "RUNNING" and is_lost(run_dir, lost_after) else status


def heartbeat_age(run_dir: str, now: float | None = None) -> str:
    seen = mtime(os.path.join(run_dir, HEARTBEAT_FILE))
    if seen is None:
        return "no heartbeat"
    age = max(0.0, (time.time() if now is None else now) - seen)
    return f"heartbeat {age:.0f}s ago"


def last_lines(path: str, count: int) -> list[str] | None:
    """The last `count` whole lines of a file (None when it does not exist)."""
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - TAIL_BYTES))
            data = file.read()
    except OSError:
        return None
    lines = data[: data.rfind(b"\n") + 1].decode(errors="replace").splitlines()
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first may be cut
    return lines[-count:] if count > 0 else []


def followed_files(run_dir: str) -> dict[str, str]:
    """label -> path of the files tail shows: each metrics file, then stdout and stderr."""
    files = {name: metric_path(run_dir, name) for name in metric_names(run_dir)}
    files["stdout"] = os.path.join(run_dir, STDOUT_FILE)
    files["stderr"] = os.path.join(run_dir, STDERR_FILE)
    return files


def describe_tail(run_dir: str, *, lines: int = 10, lost_after: float, scheduler: str | None = None) -> str:
    """The text of `tinyxp tail`: status line, scheduler line for a queued job, then each file's end.

    `scheduler` is what the scheduler said about a PENDING job, when asked.
    """
    info = read_info(run_dir)
    status = run_status(run_dir, info, lost_after)
    out = [f"run {os.path.basename(run_dir)}  {status}  {heartbeat_age(run_dir)}  ({run_dir})"]
    if status == "PENDING":
        out.append(describe_job(info, scheduler))
    for path in followed_files(run_dir).values():
        found = last_lines(path, lines)
        if found is None:
            continue
        name = os.path.relpath(path, run_dir)
        out.append(f"{name}:" if file_size(path) else f"{name}: (empty)")
        out.extend("  " + line for line in found)
    if status == "FAILED" and info.get("error"):
        error = info["error"]
        out.append(f"error: {first_line(error.get('message', error)) if isinstance(error, dict) else error}")
    return "\n".join(out)


def describe_job(info: dict[str, Any], scheduler: str | None) -> str:
    job = info.get("scheduler")
    if not isinstance(job, dict):
        job = {}
    name, job_id = job.get("name", "unknown scheduler"), job.get("job_id", "unknown")
    said = scheduler if scheduler is not None else "not asked (only squeue is asked, when on PATH)"
    return f"scheduler: {name} job {job_id}: {said}"


def follow(run_dir: str, out: IO[str], *, lost_after: float, interval: float = POLL_INTERVAL,
           sleep: Callable[[float], None] = time.sleep) -> str:
    """Print the lines appended to the run's files until the run is no longer RUNNING or PENDING.

    Returns the final status. Ctrl-C stops it (KeyboardInterrupt, handled by the command).
    """
    offsets = {path: file_size(path) for path in followed_files(run_dir).values()}
    while True:
        status = run_status(run_dir, read_info(run_dir), lost_after)
        for label, path in followed_files(run_dir).items():  # a metrics file may appear
            for line in new_lines(path, offsets):
                print(f"[{label}] {line}", file=out)
        out.flush()
        if status not in LIVE_STATUSES:
            print(f"run {os.path.basename(run_dir)} ended: {status}", file=out)
            return status
        sleep(interval)


def file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def new_lines(path: str, offsets: dict[str, int]) -> list[str]:
    """The whole lines written to path since offsets[path]; moves the offset past them."""
    start = offsets.get(path, 0)
    try:
        with open(path, "rb") as file:
            file.seek(start)
            data = file.read()
    except OSError:
        return []
    whole = data[: data.rfind(b"\n") + 1]
    offsets[path] = start + len(whole)
    return whole.decode(errors="replace").splitlines()
