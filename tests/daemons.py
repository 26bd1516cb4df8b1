"""What tests/oar.py and tests/sge.py share to start a one-node cluster: commands with a
bound, daemons by pid file, and waits with a deadline."""
from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

# daemons start with this environment only: jobs would otherwise inherit the test's
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "HOME": "/root"}


class SetupError(RuntimeError):
    """A cluster could not be started; the message says which step and what it printed."""


def run(argv: List[str], *, timeout: float = 60, input: Optional[str] = None,
        env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a set-up command (output captured, bounded) in cwd (PWD set to it too: oarsub reads
    PWD); raises SetupError when check fails."""
    if cwd is not None:
        env = {**(env or os.environ), "PWD": cwd}
    try:
        done = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise SetupError(f"`{' '.join(argv)}` did not finish within {timeout:g} s") from None
    if check and done.returncode != 0:
        raise SetupError(f"`{' '.join(argv)}` exited with status {done.returncode}: {done.stdout.strip()[-2000:]}")
    return done


def start_daemon(argv: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 30) -> None:
    """Start a daemon that forks and detaches, in its own session, from /, with a clean environment."""
    try:
        done = subprocess.run(argv, cwd="/", env={**CLEAN_ENV, **(env or {})}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SetupError(f"`{' '.join(argv)}` did not return within {timeout:g} s") from None
    if done.returncode != 0:
        raise SetupError(f"`{' '.join(argv)}` exited with status {done.returncode}")


def pid_in(pid_file: str) -> Optional[int]:
    """The live, non-zombie process the pid file names, else None."""
    try:
        with open(pid_file) as file:
            pid = int(file.read().split()[0])
        with open(f"/proc/{pid}/stat") as file:
            state = file.read().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state == "Z" else pid


def stop_pid_file(pid_file: str, timeout: float = 20) -> None:
    """SIGTERM the process the pid file names and wait until it is gone (SIGKILL at the deadline)."""
    pid = pid_in(pid_file)
    if pid is None:
        return
    os.kill(pid, 15)
    deadline = time.monotonic() + timeout
    while pid_in(pid_file) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_in(pid_file) is not None:
        os.kill(pid, 9)


def wait_for(condition: Callable[[], bool], what: str, timeout: float, interval: float = 0.5) -> None:
    """Poll condition until true; SetupError naming what did not happen within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise SetupError(f"{what} within {timeout:g} s")


def edit_config(text: str, settings: Dict[str, str], *, separator: str) -> str:
    """text with each `KEY<separator>value` line of settings replaced (or added at the end)."""
    lines = text.splitlines()
    for key, value in settings.items():
        line = f"{key}{separator}{value}"
        found = [i for i, old in enumerate(lines) if (old.split(separator.strip() or None, 1) or [""])[0].strip().lstrip("#") == key]
        if found:
            lines[found[0]] = line
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def ensure_started(state: Dict[str, object], name: str, missing: Callable[[], Optional[str]],
                   start: Callable[[], None], stop_started: Callable[[], None]) -> Optional[str]:
    """Start a test cluster once per process (stopped at exit); None when ready, else why
    its tests skip: missing() (not installed), not root, or what failed at start-up."""
    if state["checked"]:
        return state["reason"]  # type: ignore[return-value]
    state["checked"] = True
    reason = missing()
    if reason is None and (not hasattr(os, "geteuid") or os.geteuid() != 0):
        reason = f"the test {name} cluster needs root to start its daemons"
    elif reason is None:
        try:
            start()
            atexit.register(stop_started)
        except (SetupError, OSError) as err:
            reason = f"cannot start the test {name} cluster: {err}"
    state["reason"] = reason
    return reason


def command_main(argv: List[str], module: str, ensure: Callable[[], Optional[str]], started: List[str],
                 describe: Callable[[], str], stop: Callable[[], None]) -> int:
    """`python -m tests.<module> start|stop`: start the test cluster and leave it running, or stop it."""
    command = argv[0] if argv else "start"
    if command == "start":
        reason = ensure()
        started.clear()  # leave it running
        print(reason or describe())
        return 1 if reason else 0
    if command == "stop":
        stop()
        return 0
    print(f"usage: python -m tests.{module} start|stop", file=sys.stderr)
    return 2
