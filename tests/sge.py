"""A one-node Son of Grid Engine 8.1.9 for the tests: sge_qmaster and sge_execd on this machine.

`ensure_cluster()` starts it once per process when the Debian packages are installed
(gridengine-master gridengine-exec gridengine-client; .ci/run installs them) and we are
root, and returns None, or the reason the SGE tests must skip. A cluster already running
is reused and left running; one this process started is stopped when the process exits.

    python -m tests.sge start     # start it and leave it running
    python -m tests.sge stop      # stop the daemons the pid files name

What a fresh install needs: host_aliases making every loopback name one host (else
"access denied (client IP resolved to host name localhost ...)"), min_uid/min_gid 0 so
root may submit, a queue (all.q, shell_start_mode unix_behavior so `#!` lines count) and a
parallel environment smp, scheduling every second, daemons started with a clean
environment (jobs inherit the daemon's). qmaster and execd bind ports 6444 and 6445.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import sys
import tempfile
from typing import Dict, List, Optional

from .daemons import (
    SetupError, command_main, edit_config, ensure_started, pid_in, run, start_daemon, stop_pid_file, wait_for,
)

PACKAGES = "gridengine-master gridengine-exec gridengine-client"
SGE_ROOT = "/var/lib/gridengine"
SGE_CELL = "default"
COMMON = os.path.join(SGE_ROOT, SGE_CELL, "common")
SPOOL = "/var/spool/gridengine"
QMASTER_PID = os.path.join(SPOOL, "qmaster", "qmaster.pid")
ENV = {"SGE_ROOT": SGE_ROOT, "SGE_CELL": SGE_CELL}
START_TIMEOUT = 60.0
NOTIFY = "00:00:05"  # -notify: SIGUSR2 this long before the kill at h_rt (SGE's default: 60 s)

_state: Dict[str, object] = {"checked": False, "reason": None}
_started: List[str] = []


def execd_pid_file() -> str:
    """The execd's pid file: its spool folder is named as SGE resolves the host (maybe `localhost`)."""
    found = sorted(glob.glob(os.path.join(SPOOL, "execd", "*", "execd.pid")))
    return found[0] if found else os.path.join(SPOOL, "execd", socket.gethostname(), "execd.pid")


def host_aliases() -> str:
    """One line: this host, then every other name /etc/hosts gives a loopback address."""
    host = socket.gethostname()
    names = {"localhost"}
    with open("/etc/hosts") as file:
        for line in file:
            fields = line.split("#", 1)[0].split()
            if fields and (fields[0].startswith("127.") or fields[0] == "::1"):
                names.update(fields[1:])
    names.discard(host)
    return " ".join([host, *sorted(names)]) + "\n"


def _configure() -> None:
    host = socket.gethostname()
    folder = tempfile.mkdtemp(prefix="tinyxp-sge-")
    try:
        glob = os.path.join(folder, "global")
        text = "".join(line + "\n" for line in run(["qconf", "-sconf", "global"]).stdout.splitlines() if not line.startswith("#"))
        with open(glob, "w") as file:
            file.write(edit_config(text, {"min_uid": "0", "min_gid": "0", "load_report_time": "00:00:05"}, separator=" "))
        run(["sh", "-c", "cd \"$1\" && qconf -Mconf global", "sh", folder])  # the file must be named after the config
        sched = os.path.join(folder, "sched")
        with open(sched, "w") as file:
            file.write(edit_config(run(["qconf", "-ssconf"]).stdout, {
                "schedule_interval": "0:0:1", "flush_submit_sec": "1", "flush_finish_sec": "1"}, separator=" "))
        run(["qconf", "-Msconf", sched])
        if host not in run(["qconf", "-ss"], check=False).stdout.split():
            run(["qconf", "-as", host])
        if run(["qconf", "-sp", "smp"], check=False).returncode != 0:
            pe = os.path.join(folder, "smp")
            with open(pe, "w") as file:
                file.write("pe_name smp\nslots 9999\nuser_lists NONE\nxuser_lists NONE\nstart_proc_args NONE\n"
                           "stop_proc_args NONE\nallocation_rule $pe_slots\ncontrol_slaves TRUE\n"
                           "job_is_first_task TRUE\nurgency_slots min\naccounting_summary FALSE\nqsort_args NONE\n")
            run(["qconf", "-Ap", pe])
        queue = os.path.join(folder, "all.q")
        exists = run(["qconf", "-sq", "all.q"], check=False).returncode == 0
        with open(queue, "w") as file:
            file.write(edit_config(run(["qconf", "-sq", *(["all.q"] if exists else [])]).stdout, {
                "qname": "all.q", "hostlist": host, "slots": str(os.cpu_count() or 1), "pe_list": "smp",
                "shell": "/bin/bash", "shell_start_mode": "unix_behavior", "load_thresholds": "NONE",
                "notify": NOTIFY,
            }, separator=" "))
        run(["qconf", "-Mq" if exists else "-Aq", queue])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start() -> None:
    """Start sge_qmaster and sge_execd unless running, configured; wait until a job runs."""
    os.environ.update(ENV)
    if not os.path.exists(os.path.join(SPOOL, "spooldb", "sge")):
        raise SetupError(f"{SPOOL}/spooldb is not initialised: reinstall with debconf's "
                         "shared/gridengineconfig=true (as .ci/run preseeds it)")
    host = socket.gethostname()
    with open(os.path.join(COMMON, "act_qmaster"), "w") as file:
        file.write(host + "\n")
    aliases = os.path.join(COMMON, "host_aliases")
    wanted = host_aliases()
    if not os.path.exists(aliases) or open(aliases).read() != wanted:
        with open(aliases, "w") as file:
            file.write(wanted)
        stop_pid_file(QMASTER_PID)  # a running qmaster reads it only when it starts
    run(["chown", "-R", "sgeadmin:sgeadmin", COMMON])
    if pid_in(QMASTER_PID) is None:
        start_daemon(["/usr/sbin/sge_qmaster"], ENV)
        _started.append("qmaster")
    wait_for(lambda: run(["qconf", "-sh"], check=False).returncode == 0, "sge_qmaster did not answer", START_TIMEOUT)
    _configure()
    if pid_in(execd_pid_file()) is None:
        start_daemon(["/usr/sbin/sge_execd"], ENV)
        _started.append("execd")
    wait_for(lambda: run(["qsub", "-sync", "y", "-b", "y", "-j", "y", "-o", "/dev/null", "-N", "tinyxp_probe", "true"],
                         timeout=30, check=False).returncode == 0, "a probe job did not run", START_TIMEOUT, interval=1)


def stop(daemons: Optional[List[str]] = None) -> None:
    """Stop sge_execd and sge_qmaster (default both) by their pid files."""
    daemons = daemons or ["execd", "qmaster"]
    if "execd" in daemons:
        stop_pid_file(execd_pid_file())
    if "qmaster" in daemons:
        stop_pid_file(QMASTER_PID)


def _stop_started() -> None:
    if _started:
        run(["qdel", "-u", "root"], check=False)
        stop(list(_started))


def ensure_cluster() -> Optional[str]:
    """Start the test cluster once per process; None when ready, else why the tests skip."""
    return ensure_started(_state, "SGE", _missing, start, _stop_started)


def _missing() -> Optional[str]:
    if all(shutil.which(c) for c in ("qsub", "qacct")) and os.path.exists("/usr/lib/gridengine/sge_qmaster"):
        return None
    return f"SGE is not installed (apt-get install {PACKAGES}, with debconf preseeding as in .ci/run)"


def main(argv: List[str]) -> int:
    return command_main(argv, "sge", ensure_cluster, _started,
                        lambda: "SGE is up: " + run(["qstat", "-f"], check=False).stdout.strip(), stop)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
