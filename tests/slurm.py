"""A one-node SLURM cluster for the tests: munged, slurmctld and slurmd on this machine.

`ensure_cluster()` starts it once per process when `sbatch` is installed and we are
root, and returns None, or the reason the SLURM tests must skip. A cluster already
running (started by CI or an earlier process) is reused and left running; one this
process started is stopped when the process exits.

    python -m tests.slurm start     # start it and leave it running (for CI or by hand)
    python -m tests.slurm stop      # stop the daemons the pid files name

The configuration avoids what fails in containers: proctrack/linuxproc (the default
cgroup tracker makes jobs "complete" with no output and drains the node),
select/cons_tres with CR_Core (the default runs array tasks one at a time),
MpiDefault=none, and a NodeName with this machine's own CPUs and memory (slurmd -C).
batch_sched_delay=0 starts a job as soon as it is submitted (SLURM waits up to 3 s).
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

SLURM_CONF = "/etc/slurm/slurm.conf"
MARKER = "# written by tinyxp tests/slurm.py"
STATE_DIR = "/var/lib/slurm/slurmctld"
SPOOL_DIR = "/var/lib/slurm/slurmd"
LOG_DIR = "/var/log/slurm"
PID_FILES = {"slurmctld": "/run/slurmctld.pid", "slurmd": "/run/slurmd.pid"}
MUNGE_SOCKET_DIR = "/run/munge"
MUNGE_KEY = "/etc/munge/munge.key"
START_TIMEOUT = 30.0

_state = {"checked": False, "reason": None}
_started: List[str] = []


def _run(argv: List[str], timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout)


def _alive(pid_file: str) -> bool:
    try:
        with open(pid_file) as file:
            pid = int(file.read().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def node_line() -> str:
    """This machine as slurmd -C sees it: NodeName, CPUs, sockets, cores, RealMemory."""
    done = _run(["slurmd", "-C"])
    line = done.stdout.splitlines()[0] if done.stdout else ""
    if done.returncode != 0 or not line.startswith("NodeName="):
        raise RuntimeError(f"slurmd -C failed: {done.stdout}")
    return line


def parse_real_memory(sinfo_output: str) -> Optional[int]:
    """The smallest RealMemory (MB) among the default partition's nodes, from the lines of
    `sinfo -h -N -o "%m %P"` ("24105 debug*"); None when a node declares none (SLURM's
    default RealMemory is 1 MB) or there is no node."""
    nodes = [line.split() for line in sinfo_output.splitlines() if line.strip()]
    default = [fields for fields in nodes if len(fields) > 1 and fields[1].endswith("*")] or nodes
    try:
        memory = min(int(fields[0].rstrip("+")) for fields in default)
    except ValueError:  # no node, or not a number
        return None
    return memory if memory > 1 else None


def real_memory_mb() -> Optional[int]:
    """What the running cluster's nodes offer for --mem, in MB (see parse_real_memory)."""
    done = _run(["sinfo", "-h", "-N", "-o", "%m %P"])
    return parse_real_memory(done.stdout) if done.returncode == 0 else None


def config_text() -> str:
    """The slurm.conf of the test cluster."""
    host = socket.gethostname().split(".")[0]
    return "\n".join([
        MARKER,
        "ClusterName=tinyxp",
        f"SlurmctldHost={host}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "MpiDefault=none",
        "SchedulerType=sched/backfill",
        "SchedulerParameters=batch_sched_delay=0",  # start jobs at once, not 3 s later (29 s -> 9 s for test_slurm)
        f"StateSaveLocation={STATE_DIR}",
        f"SlurmdSpoolDir={SPOOL_DIR}",
        f"SlurmctldPidFile={PID_FILES['slurmctld']}",
        f"SlurmdPidFile={PID_FILES['slurmd']}",
        f"SlurmctldLogFile={LOG_DIR}/slurmctld.log",
        f"SlurmdLogFile={LOG_DIR}/slurmd.log",
        "ReturnToService=2",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none",
        "MinJobAge=600",  # finished jobs stay visible to scontrol/squeue (no accounting here)
        "KillWait=5",
        f"{node_line()} State=UNKNOWN",
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


def _start_munge() -> None:
    if _run(["sh", "-c", "munge -n | unmunge"]).returncode == 0:
        return
    os.makedirs(MUNGE_SOCKET_DIR, exist_ok=True)
    shutil.chown(MUNGE_SOCKET_DIR, "munge", "munge")
    if not os.path.exists(MUNGE_KEY):
        with open(MUNGE_KEY, "wb") as file:
            file.write(os.urandom(128))
        os.chmod(MUNGE_KEY, 0o400)
        shutil.chown(MUNGE_KEY, "munge", "munge")
    done = _run(["runuser", "-u", "munge", "--", "munged"])
    if done.returncode != 0:
        raise RuntimeError(f"munged failed to start: {done.stdout}")
    _started.append("munged")


def _wait_idle() -> None:
    deadline = time.monotonic() + START_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        done = _run(["sinfo", "-h", "-o", "%T"])
        state = done.stdout.strip()
        if done.returncode == 0 and state == "idle":
            return
        if "drain" in state or state.startswith("down"):  # left over from an earlier failure
            _run(["scontrol", "update", "NodeName=ALL", "State=RESUME"])
        time.sleep(0.2)
    raise RuntimeError(f"the SLURM node is not idle after {START_TIMEOUT:g} s (sinfo says {state!r})")


def start() -> None:
    """Start munged, slurmctld and slurmd unless running; wait until the node is idle."""
    if all(_alive(p) for p in PID_FILES.values()):
        _wait_idle()
        return
    if os.path.exists(SLURM_CONF):
        with open(SLURM_CONF) as file:
            if not file.read().startswith(MARKER):
                raise RuntimeError(f"{SLURM_CONF} exists and was not written by the tests: not touching it")
    os.makedirs(os.path.dirname(SLURM_CONF), exist_ok=True)
    for folder in (STATE_DIR, SPOOL_DIR, LOG_DIR):
        os.makedirs(folder, exist_ok=True)
    with open(SLURM_CONF, "w") as file:
        file.write(config_text())
    _start_munge()
    for daemon, argv in (("slurmctld", ["slurmctld", "-c"]), ("slurmd", ["slurmd"])):
        if _alive(PID_FILES[daemon]):
            continue
        done = _run(argv)
        if done.returncode != 0:
            raise RuntimeError(f"{daemon} failed to start: {done.stdout}")
        _started.append(daemon)
    _wait_idle()


def stop(daemons: Optional[List[str]] = None) -> None:
    """Stop the daemons (default: slurmd and slurmctld) their pid files name."""
    for daemon in daemons or ["slurmd", "slurmctld"]:
        pid_file = PID_FILES.get(daemon, "/run/munge/munged.pid")
        try:
            with open(pid_file) as file:
                os.kill(int(file.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass


def _stop_started() -> None:
    if "slurmctld" in _started or "slurmd" in _started:
        _run(["scancel", "--user=root"])
        stop([d for d in ("slurmd", "slurmctld", "munged") if d in _started])


def ensure_cluster() -> Optional[str]:
    """Start the test cluster once per process; None when ready, else why the tests skip."""
    if _state["checked"]:
        return _state["reason"]
    _state["checked"] = True
    if shutil.which("sbatch") is None or shutil.which("slurmctld") is None:
        reason = "SLURM is not installed (apt-get install slurm-wlm munge)"
    elif not hasattr(os, "geteuid") or os.geteuid() != 0:
        reason = "the test SLURM cluster needs root to start its daemons"
    else:
        try:
            start()
            atexit.register(_stop_started)
            reason = None
        except (RuntimeError, OSError, subprocess.SubprocessError) as err:
            reason = f"cannot start the test SLURM cluster: {err}"
    _state["reason"] = reason
    return reason


def main(argv: List[str]) -> int:
    command = argv[0] if argv else "start"
    if command == "start":
        reason = ensure_cluster()
        _started.clear()  # leave it running
        print(reason or "SLURM is up: " + _run(["sinfo"]).stdout.strip())
        return 1 if reason else 0
    if command == "stop":
        stop()
        return 0
    print("usage: python -m tests.slurm start|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
