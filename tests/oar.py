"""A one-node OAR 2.5.9 for the tests: PostgreSQL, OAR's sshd and Almighty on this machine.

`ensure_cluster()` starts it once per process when the Debian packages are installed
(postgresql oar-server oar-server-pgsql oar-node oar-user oar-user-pgsql; .ci/run
installs them) and we are root, and returns None, or the reason the OAR tests must
skip. A cluster already running is reused and left running; one this process started
is stopped when the process exits.

    python -m tests.oar start     # start it and leave it running
    python -m tests.oar stop      # stop Almighty and OAR's sshd by their pid files

OAR refuses jobs from root (admission rule 2): jobs are submitted by USER, an ordinary
user made here, with `runuser -u USER --` from a folder that user can write. Jobs start
with BASH_ENV=~oar/.batch_job_bashrc, which sources the user's ~/.bashrc: kept inert,
since a ~/.bashrc that runs `pyenv init` re-sources itself in every bash of the job (a
fork bomb). Also needed on a fresh install: database passwords (empty ones break
oar-database), no cpuset job manager, core/cpu/host resources, scheduling every second,
and Almighty bound to 127.0.0.1 (it binds 0.0.0.0:6666 and has no setting for it).
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import sys
from typing import Dict, List, Optional

from .daemons import (
    SetupError, command_main, edit_config, ensure_started, pid_in, run, start_daemon, stop_pid_file, wait_for,
)

PACKAGES = "postgresql oar-server oar-server-pgsql oar-node oar-user oar-user-pgsql"
USER = "tinyxp-oar"
CONF = "/etc/oar/oar.conf"
ALMIGHTY = "/usr/lib/oar/Almighty"
SERVER_PID = "/var/run/oar-server.pid"
SSHD_PID = "/var/run/oar-node_sshd.pid"
START_TIMEOUT = 60.0
PROBE_DIR = "/tmp/tinyxp-oar-probe"

_state: Dict[str, object] = {"checked": False, "reason": None}
_started: List[str] = []


def as_user(argv: List[str]) -> List[str]:
    """argv run as the submitting user (OAR refuses root's jobs)."""
    return ["runuser", "-u", USER, "--", *argv]


def _postgres() -> str:
    """Start the first PostgreSQL cluster unless online; returns its port."""
    line = run(["pg_lsclusters", "-h"]).stdout.split("\n")[0].split()
    if not line:
        run(["pg_createcluster", "15", "main"])
        line = run(["pg_lsclusters", "-h"]).stdout.split("\n")[0].split()
    version, name, port, status = line[:4]
    if status != "online":
        run(["pg_ctlcluster", version, name, "start"])
        _started.append(f"postgresql {version} {name}")
    wait_for(lambda: run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", port], check=False).returncode == 0,
             "PostgreSQL did not accept connections", START_TIMEOUT)
    return port


def _configure(port: str) -> None:
    with open(CONF) as file:
        text = file.read()
    text = edit_config(text, {
        "DB_BASE_PASSWD": '"oar_pw"', "DB_BASE_PASSWD_RO": '"oar_ro_pw"', "DB_PORT": f'"{port}"',
        "DB_HOSTNAME": '"127.0.0.1"', "SERVER_HOSTNAME": '"localhost"', "SCHEDULER_MIN_TIME_BETWEEN_2_CALLS": "1",
    }, separator="=")
    text = re.sub(r"^JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD=", "#\\g<0>", text, flags=re.M)  # no cpusets
    with open(CONF, "w") as file:
        file.write(text)
    with open(ALMIGHTY) as file:
        almighty = file.read()
    loopback = almighty.replace("IO::Socket::INET->new(LocalPort=>", 'IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort=>')
    if loopback != almighty:
        with open(ALMIGHTY, "w") as file:
            file.write(loopback)
        stop_pid_file(SERVER_PID)  # restarted below, bound to loopback
    home = pwd.getpwnam("oar").pw_dir
    with open(os.path.join(home, ".batch_job_bashrc"), "w") as file:
        file.write("# kept inert by tinyxp's tests/oar.py: sourcing ~/.bashrc here can recurse (pyenv init)\n")


def _database(port: str) -> None:
    def psql(*args: str) -> str:
        return run(["runuser", "-u", "postgres", "--", "psql", "-p", port, "-qAtX", *args]).stdout.strip()

    if psql("-c", "select 1 from pg_roles where rolname='oar'") == "1":  # passwords as in oar.conf
        psql("-c", "ALTER ROLE oar PASSWORD 'oar_pw'", "-c", "ALTER ROLE oar_ro PASSWORD 'oar_ro_pw'")
    if run(["oar-database", "--check"], check=False).returncode == 0:
        return
    if psql("-c", "select 1 from pg_database where datname='oar'") == "1":
        run(["oar-database", "--drop", "--db-is-local", "-y"], check=False)
    run(["oar-database", "--create", "--db-is-local", "-y"], timeout=120)


def _resources() -> None:
    properties = run(["oarproperty", "-l"]).stdout.split()
    for name in ("cpu", "core"):
        if name not in properties:
            run(["oarproperty", "-a", name])
    if "host" not in properties:
        run(["oarproperty", "-a", "host", "-c"])
    host = socket.gethostname()
    if host in run(["oarnodes", "-s"], check=False).stdout.split():
        return
    for core in range(os.cpu_count() or 1):
        run(["oarnodesetting", "-a", "-h", host, "-p", f"host={host}", "-p", "cpu=1", "-p", f"core={core + 1}",
             "-p", f"cpuset={core}"])


def submit_probe() -> bool:
    """Submit a job as USER and wait until OAR says it ran."""
    done = run(as_user(["oarsub", "-l", "core=1,walltime=0:02:00", "-n", "tinyxp_probe", "true"]), cwd=PROBE_DIR,
               check=False)
    found = re.search(r"^OAR_JOB_ID=(\d+)", done.stdout, re.M)
    if not found:
        raise SetupError(f"oarsub of a probe job failed: {done.stdout.strip()}")
    states: List[str] = []

    def ended() -> bool:
        words = run(["oarstat", "-s", "-j", found.group(1)], check=False).stdout.split()
        states[:] = words[1:2]
        return bool(states) and states[0] in ("Terminated", "Error")

    wait_for(ended, f"probe job {found.group(1)} did not end", START_TIMEOUT)
    return states == ["Terminated"]


def start() -> None:
    """Start PostgreSQL, OAR's sshd and Almighty unless running, configured; wait until a job runs."""
    port = _postgres()
    _configure(port)
    _database(port)
    _resources()
    if pid_in(SSHD_PID) is None:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        start_daemon(["/usr/sbin/sshd", "-f", "/etc/oar/sshd_config", "-o", f"PidFile={SSHD_PID}",
                      "-o", "ListenAddress=127.0.0.1"])
        _started.append("sshd")
    if pid_in(SERVER_PID) is None:
        start_daemon(["/usr/sbin/oar-server"])
        _started.append("almighty")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        run(["useradd", "-m", "-s", "/bin/bash", USER])
    os.makedirs(PROBE_DIR, exist_ok=True)
    shutil.chown(PROBE_DIR, USER)
    if not submit_probe():  # its output goes to the folder it is submitted from
        raise SetupError("the probe job ended in Error: " + run(["tail", "-5", "/var/log/oar.log"], check=False).stdout)


def stop(daemons: Optional[List[str]] = None) -> None:
    """Stop Almighty and OAR's sshd (default both) by their pid files, and a PostgreSQL started here."""
    daemons = daemons or ["almighty", "sshd"]
    if "almighty" in daemons:
        stop_pid_file(SERVER_PID)
    if "sshd" in daemons:
        stop_pid_file(SSHD_PID)
    for daemon in daemons:
        if daemon.startswith("postgresql "):
            run(["pg_ctlcluster", *daemon.split()[1:], "stop"], check=False)


def _stop_started() -> None:
    if _started:
        jobs = re.findall(r"^(\d+)\s", run(["oarstat", "-u", USER], check=False).stdout, re.M)
        if jobs:
            run(["oardel", *jobs], check=False)
        stop(list(_started))


def ensure_cluster() -> Optional[str]:
    """Start the test cluster once per process; None when ready, else why the tests skip."""
    return ensure_started(_state, "OAR", _missing, start, _stop_started)


def _missing() -> Optional[str]:
    if all(shutil.which(c) for c in ("oarsub", "oarstat", "oardel", "pg_ctlcluster")) and os.path.exists(ALMIGHTY):
        return None
    return f"OAR is not installed (apt-get install {PACKAGES})"


def main(argv: List[str]) -> int:
    return command_main(argv, "oar", ensure_cluster, _started,
                        lambda: "OAR is up: " + run(["oarnodes", "-s"], check=False).stdout.strip(), stop)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
