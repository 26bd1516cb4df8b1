"""Starting an existing run again (xp.run_id): its stored config, the check that it is not alive, the lock.

A resume composes from the run's metadata/config.yaml (config/resume.py), refuses to
change a key unless xp.allow_changes=true, refuses a run that is alive unless
xp.force=true, and holds the run's launch lock while it reads and rewrites info.yaml,
so that of several processes resuming one run at once exactly one proceeds.
"""
from __future__ import annotations

import os
import sys
import time

from .._contract import CONFIG_FILE, INFO_FILE, LAUNCH_LOCK_FILE, METADATA_DIR, XP_FILE
from .._files import read_run_yaml, read_yaml
from ..config.resume import changed_keys, compose_resumed
from ..errors import ConfigError, LoggerError, TinyxpError
from .history import last_seen
from .info import hostname

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from ..config.compose import Config
    from ..config.overrides import Override

# a run whose heartbeat is younger than this many heartbeat intervals (plus the slack) is alive
ALIVE_INTERVALS = 2
ALIVE_SLACK_S = 10.0


def run_dir_of(log_dir: str, run_id: int, *, setting: str = "xp.run_id") -> str:
    """log_dir/<run_id>; raises LoggerError when there is no such directory."""
    run_dir = os.path.join(os.path.abspath(log_dir), str(run_id))
    if not os.path.isdir(run_dir):
        verb = "resume" if setting == "xp.run_id" else "rerun"
        raise LoggerError(f"Cannot {verb} run {run_id}: no directory {run_dir!r} (omit {setting} to start a new run)")
    return run_dir


def read_stored(run_id: int, run_dir: str, name: str) -> Any:
    """metadata/<name> of a run, None when absent; raises ConfigError when it cannot be read."""
    path = os.path.join(run_dir, METADATA_DIR, name)
    try:
        return read_run_yaml(run_dir, path)  # a link planted in the run is refused, not followed
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, TinyxpError) as err:
        raise ConfigError(f"Cannot resume run {run_id}: cannot read {path!r}: {err}") from None


def resumed_config(run_id: int, log_dir: str, config_path: str, setting: Sequence[Override],
                   *, allow_changes: bool) -> Config | None:
    """The config run run_id starts again with: its stored config plus the setting's overrides.

    None when the run has never started (PENDING) or has no stored config: it is
    composed as a new run's. Raises LoggerError (no such run), ConfigError (the stored
    config cannot be read, an override no longer applies, a key changes without
    xp.allow_changes=true).
    """
    run_dir = run_dir_of(log_dir, run_id)
    info = read_stored(run_id, run_dir, INFO_FILE)
    stored = read_stored(run_id, run_dir, CONFIG_FILE)
    first_start = isinstance(info, dict) and info.get("status") == "PENDING" and not info.get("launches")
    if not isinstance(info, dict) or first_start or not isinstance(stored, dict):
        return None
    launched_with = [token for entry in [info, *(info.get("launches") or ())] for token in entry.get("overrides") or ()]
    config = compose_resumed(run_id, stored, config_path, setting, launched_with)
    changed = changed_keys(stored, config.to_dict())
    if changed and not allow_changes:
        raise ConfigError(f"Cannot resume run {run_id} with a changed config ({describe_changes(changed)}): "
                          "add xp.allow_changes=true to record the change in its launch history")
    return config


def rerun_config(run_id: int, log_dir: str, config_path: str, setting: Sequence[Override]) -> Config:
    """The config of a new run from run run_id's stored config plus the setting's overrides (xp.rerun_of).

    Raises LoggerError (no such run) or ConfigError (no stored config, an override no longer applies).
    """
    run_dir = run_dir_of(log_dir, run_id, setting="xp.rerun_of")
    info = read_stored(run_id, run_dir, INFO_FILE)
    stored = read_stored(run_id, run_dir, CONFIG_FILE)
    if not isinstance(stored, dict):
        raise ConfigError(f"Cannot rerun run {run_id}: it has no stored config (metadata/{CONFIG_FILE})")
    launched = info if isinstance(info, dict) else {}
    launched_with = [token for entry in [launched, *(launched.get("launches") or ())] for token in entry.get("overrides") or ()]
    return compose_resumed(run_id, stored, config_path, setting, launched_with, verb="rerun")


def describe_changes(changed: dict[str, dict[str, Any]]) -> str:
    """'lr: 0.1 -> 0.3, extra: (absent) -> 1'."""
    from .. import yaml

    def shown(change: dict[str, Any], side: str) -> str:
        return yaml.dump_value(change[side]) if side in change else "(absent)"

    return ", ".join(f"{key}: {shown(c, 'old')} -> {shown(c, 'new')}" for key, c in changed.items())


class launch_lock:
    """Holds <run>/metadata/.launch.lock (flock) while a launch reads and rewrites info.yaml.

    Where locks are not available (no fcntl, a file system refusing them) it holds
    nothing and the alive check alone guards the run.
    """

    def __init__(self, run_dir: str) -> None:
        self.path = os.path.join(run_dir, METADATA_DIR, LAUNCH_LOCK_FILE)
        self.fd: int | None = None

    def __enter__(self) -> launch_lock:
        try:
            import fcntl  # Unix only

            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            self._close()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._close()

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the file releases the lock
            self.fd = None


def check_not_alive(run_id: int, run_dir: str, info: dict[str, Any], job: dict[str, Any] | None, *, force: bool) -> None:
    """Raises LoggerError when the run is RUNNING in a process still alive, unless force."""
    if force or info.get("status") != "RUNNING" or not is_alive(run_dir, info, job):
        return
    last = (info.get("launches") or [{}])[-1]
    host, pid = last.get("host", info.get("hostname")), last.get("pid", info.get("pid"))
    raise LoggerError(
        f"Cannot resume run {run_id}: it is running (pid {pid} on {host}); wait for it to end, "
        "or add xp.force=true if that process is gone"
    )


def is_alive(run_dir: str, info: dict[str, Any], job: dict[str, Any] | None) -> bool:
    """Whether the process of a RUNNING run's latest launch still runs.

    On this host: whether its pid exists. Elsewhere: whether its heartbeat is fresh
    for its own xp.heartbeat_interval. A launch in the same scheduler job as this
    process is a requeued job's earlier life: never alive.
    """
    launches = info.get("launches") or []
    last = launches[-1] if launches else {
        "host": info.get("hostname"), "pid": info.get("pid"), "job_id": (info.get("scheduler") or {}).get("job_id"),
    }
    if job and last.get("job_id") and str(last["job_id"]) == str(job.get("job_id")):
        return False
    pid = last.get("pid")
    if last.get("host") == hostname() and isinstance(pid, int) and os.name == "posix":
        return pid != os.getpid() and _pid_exists(pid)
    seen = last_seen(run_dir)
    return seen is not None and time.time() - seen <= _heartbeat_interval(run_dir) * ALIVE_INTERVALS + ALIVE_SLACK_S


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _heartbeat_interval(run_dir: str) -> float:
    try:
        xp = read_yaml(os.path.join(run_dir, METADATA_DIR, XP_FILE))
        return float(xp["heartbeat_interval"])
    except (OSError, TinyxpError, TypeError, KeyError, ValueError):
        return 30.0


def print_changes(run_id: int, changed: dict[str, dict[str, Any]]) -> None:
    print(f"tinyxp: resuming run {run_id} with a changed config: {describe_changes(changed)}", file=sys.stderr)
