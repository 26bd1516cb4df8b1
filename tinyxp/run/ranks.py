"""The rank of this process in a multi-process job (torchrun, srun -n N, mpirun), and how ranks share one run.

Rank 0 creates the run and owns its status and metadata; it writes the run's id to a
rendezvous file named after the job, <log_dir>/.tinyxp/ranks/<job>-<setting>, atomically.
The other ranks wait for that file and attach to the run: their logger writes nothing
unless asked (log_metrics(..., all_ranks=True)).
"""
from __future__ import annotations

import os
import re
import time

from .._contract import (
    INFO_FILE, LOCAL_RANK_ENVS, METADATA_DIR, RANK_ENVS, RANK_JOB_ENVS, RANK_MAY_BE_ALONE, RANKS_DIR, TINYXP_DIR,
    is_run_id,
)
from .._files import read_yaml, write_atomic
from ..errors import ConfigError, LoggerError, TinyxpError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

RENDEZVOUS_TIMEOUT = 300.0  # seconds a rank waits for rank 0's run (rank 0 may start last, or record git first)
RENDEZVOUS_FRESH = 120.0  # a rendezvous file older than this at a rank's start is a previous job's
RENDEZVOUS_SAME_START = 10.0  # a file written this close to a rank's start is its job's, even if the run has ended
RE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class Rank:
    """This process's place in a multi-process job: rank, world_size, local_rank, launcher, job key."""

    __slots__ = ("rank", "world_size", "local_rank", "launcher", "key")

    def __init__(self, rank: int, world_size: int, local_rank: int, launcher: str, key: str) -> None:
        self.rank = rank
        self.world_size = world_size
        self.local_rank = local_rank
        self.launcher = launcher
        self.key = key

    def for_setting(self, index: int) -> Rank:
        """The same rank, for the index-th setting of a sweep (each has its own rendezvous)."""
        return Rank(self.rank, self.world_size, self.local_rank, self.launcher, f"{self.key}-{index}")

    def record(self) -> dict[str, Any]:
        """What info.yaml says of the ranks (written by rank 0)."""
        return {"world_size": self.world_size, "launcher": self.launcher}


def rank_from_environment(env: Any = None) -> Rank | None:
    """The rank of this process, or None when it is the only one.

    Raises ConfigError when the variables contradict each other (RANK without
    WORLD_SIZE, a rank that is not below the world size).
    """
    env = os.environ if env is None else env
    for launcher, (rank_name, size_name) in RANK_ENVS.items():
        rank_text, size_text = env.get(rank_name), env.get(size_name)
        if rank_text is None and size_text is None:
            continue
        if size_text is None and launcher in RANK_MAY_BE_ALONE:
            continue
        if rank_text is None or size_text is None:
            given, missing = (rank_name, size_name) if size_text is None else (size_name, rank_name)
            raise ConfigError(f"Inconsistent rank environment: {given}={env[given]!r} is set but {missing} is not "
                              f"(set both, as {launcher} does, or neither)")
        rank, size = _integer(rank_name, rank_text), _integer(size_name, size_text)
        if size < 1 or rank >= size:
            raise ConfigError(f"Inconsistent rank environment: {rank_name}={rank_text!r} with {size_name}={size_text!r} "
                              "(expected 0 <= rank < world size)")
        if size == 1:
            return None
        local = env.get(LOCAL_RANK_ENVS[launcher], "")
        key = "-".join([launcher, *(env[name] for name in RANK_JOB_ENVS[launcher] if env.get(name))])
        return Rank(rank, size, int(local) if local.isdigit() else 0, launcher, RE_UNSAFE.sub("_", key))
    return None


def _integer(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise ConfigError(f"Inconsistent rank environment: {name}={text!r} is not a number")
    return int(text)


def rendezvous_path(log_dir: str, rank: Rank) -> str:
    return os.path.join(log_dir, TINYXP_DIR, RANKS_DIR, rank.key)


def publish_run(log_dir: str, rank: Rank, run_id: int) -> None:
    """Rank 0: tell the other ranks which run is theirs."""
    path = rendezvous_path(log_dir, rank)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, f"{run_id}\n")


def find_run(log_dir: str, rank: Rank, *, started: float, timeout: float = RENDEZVOUS_TIMEOUT) -> int:
    """Another rank: the id of the run rank 0 created, once its rendezvous file is there.

    Raises LoggerError when none comes within timeout seconds.
    """
    path = rendezvous_path(log_dir, rank)
    deadline = time.monotonic() + timeout
    while True:
        run_id = _published_run(log_dir, path, started)
        if run_id is not None:
            return run_id
        if time.monotonic() >= deadline:
            raise LoggerError(
                f"Cannot find the run of rank 0: no run in {path!r} after {timeout:g} s "
                f"(rank {rank.rank} of {rank.world_size}; does rank 0 use the same xp.log_dir?)"
            )
        time.sleep(0.05)


def _published_run(log_dir: str, path: str, started: float) -> int | None:
    """The run id in the rendezvous file if it is this job's: written about when this rank
    started, or not long before and naming a run that is still RUNNING."""
    try:
        written = os.stat(path).st_mtime
        if written < started - RENDEZVOUS_FRESH:
            return None
        with open(path, encoding="utf-8") as file:
            text = file.read().strip()
    except OSError:
        return None
    if not is_run_id(text):
        return None
    if written >= started - RENDEZVOUS_SAME_START:
        return int(text)
    try:
        info = read_yaml(os.path.join(log_dir, text, METADATA_DIR, INFO_FILE)) or {}
    except (OSError, TinyxpError):
        return None
    return int(text) if info.get("status") == "RUNNING" else None
