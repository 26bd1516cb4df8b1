"""What the tests against real schedulers share (test_slurm, test_oar, test_sge): the task,
the hostile value, polling a run's status, `tinyxp runs` statuses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

from tinyxp._files import read_yaml

from .support import run_process, script_env

TIMEOUT = 60.0
TRICKY = "$(touch {marker}) `touch {marker}` \"q\" it's  two  spaces"

CONFIG = "lr: 0.1\nmsg: hi\nsleep: 0\n"
BODY = """\
import time
print("lr", ctx.config.lr, "msg", ctx.config.msg, flush=True)
print("to stderr", file=sys.stderr, flush=True)
time.sleep(float(ctx.config.sleep))
"""
PREEMPT_BODY = """\
import time
state = {"step": 0, "attempts": 0}
try:
    state = ctx.logger.load_checkpoint("last")
except tinyxp.NoCheckpoint:
    pass
state["attempts"] += 1
ctx.on_preempt(lambda: ctx.logger.log_checkpoint(state, name="last"))
print("attempt", state["attempts"], "from step", state["step"], flush=True)
if state["attempts"] == 1:
    for _ in range(3000):  # until the preemption signal comes
        state["step"] += 1
        time.sleep(0.1)
    raise RuntimeError("no preemption signal came")
"""


def info(run_dir: str) -> dict:
    return read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))


def read(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def run_dirs(log_dir: str) -> List[str]:
    return [os.path.join(log_dir, n) for n in sorted(os.listdir(log_dir), key=lambda n: (len(n), n)) if n.isdigit()]


def wait_for_status(run_dir: str, statuses: Sequence[str], timeout: float = TIMEOUT,
                    describe: Optional[Callable[[str], str]] = None, settle: Optional[Callable[[], object]] = None) -> dict:
    """Poll a run's info.yaml until its status is one of statuses; returns the info.

    settle, when given, runs before each look (`tinyxp runs`, which settles ended jobs);
    describe(job id) adds what the scheduler says of the job to the failure message."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if settle is not None:
            settle()
        try:
            last = info(run_dir)
        except Exception:  # between the job's writes; try again
            last = None
        if last and last.get("status") in statuses:
            return last
        time.sleep(0.5 if settle else 0.2)
    job = last and (last.get("scheduler") or {}).get("job_id")
    shown = describe(str(job)) if describe else ""
    raise AssertionError(f"{run_dir} did not reach {statuses} in {timeout:g} s: {last}\n{shown}")


def tinyxp_runs(log_dir: str, cwd: str, columns: str = "id,status,info.error.message") -> List[Tuple[str, Optional[str]]]:
    """(status, info.error.message) of each run, as `tinyxp runs` shows them (settling ended jobs first)."""
    done = run_process([sys.executable, "-m", "tinyxp", "runs", log_dir, "--format=json", "-c", columns],
                       cwd=cwd, env=script_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if (done.returncode, done.stderr) != (0, ""):
        raise AssertionError(f"tinyxp runs failed: {done.returncode} {done.stderr}")
    return [(row["status"], row.get("info.error.message")) for row in json.loads(done.stdout)]
