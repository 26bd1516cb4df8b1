"""The processes of a local sweep, forked from the launching one (POSIX).

A forked process starts with the script imported and every setting composed: it pays
no interpreter start, no import and no config parsing, so a sweep of short runs as
processes costs little more than one run after another. Each process is its own process
group (the terminal's Ctrl-C reaches the sweep, which passes it on once) and writes its
output, C libraries' included, to its run directory's stdout.log and stderr.log.
"""
from __future__ import annotations

import os
import signal
import sys
import time

from .._contract import GPU_ENV, RUN_DIR_ENV, STDERR_FILE, STDOUT_FILE

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator, Protocol, TypeVar

    class HasRunDir(Protocol):
        """What a forked process needs of its run (local.LocalRun)."""

        run_dir: str

    Run = TypeVar("Run", bound=HasRunDir)

EXIT_INTERRUPTED = 130


def fork_all(runs: list[Run], slots: list[str | None], runner: Callable[[Run], Any]) -> Iterator[tuple[Run, int]]:
    """Run each run in a forked process, len(slots) at a time; yields (run, exit status) as each ends.

    A process killed by a signal has the negative signal number as its status. The
    processes still running when the caller stops (Ctrl-C) are in `running`.
    """
    waiting = list(runs)
    free = list(slots)
    while waiting or running:
        while waiting and free:
            _fork(waiting.pop(0), free.pop(0), runner)
        pid, status = os.wait()
        if pid not in running:  # a child of the script's own
            continue
        run, slot = running.pop(pid)
        free.append(slot)
        yield run, _exit_status(status)


running: dict[int, tuple[Any, str | None]] = {}  # pid -> (run, slot) of the processes not waited for


def stop_forked(timeout: float) -> None:
    """SIGINT to every running process; SIGKILL to those not ended timeout seconds later."""
    for pid in running:
        _signal(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        for pid in list(running):
            if os.waitpid(pid, os.WNOHANG)[0]:
                del running[pid]
        time.sleep(0.02)
    for pid in list(running):
        _signal(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        del running[pid]


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # ended, not yet waited for
        pass


def _exit_status(status: int) -> int:
    """os.waitstatus_to_exitcode, which Python 3.8 lacks."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _fork(run: Run, slot: str | None, runner: Callable[[Run], Any]) -> int:
    """Start run in a forked process, in `running`; its pid. The process never returns from here.

    Ctrl-C waits while the process forks: the parent records its pid before it can stop
    it, and the process cannot leave here by a KeyboardInterrupt into the parent's code.
    """
    sys.stdout.flush()  # else what the parent buffered would be written by every child too
    sys.stderr.flush()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    pid = os.fork()
    if pid:
        running[pid] = (run, slot)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return pid
    status = 1
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _redirect_output(run.run_dir)
        os.environ[RUN_DIR_ENV] = run.run_dir
        if slot is not None:
            os.environ[GPU_ENV] = slot
        runner(run)
        status = 0
    except SystemExit as err:
        status = err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    except BaseException:
        import traceback

        traceback.print_exc()  # as Python does for an uncaught exception (the run recorded it too)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)  # never the parent's atexit handlers, nor its `finally` blocks
    return 0  # not reached


def _redirect_output(run_dir: str) -> None:
    """File descriptors 1 and 2 (and so sys.stdout and sys.stderr) to the run's logs; 0 from
    /dev/null (a process group that is not the terminal's would be stopped reading it)."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, name in ((1, STDOUT_FILE), (2, STDERR_FILE)):
        log = os.open(os.path.join(run_dir, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        os.dup2(log, fd)
        os.close(log)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a line appears in stdout.log when printed, as on a terminal
        reconfigure(line_buffering=True)
