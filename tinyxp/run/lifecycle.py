"""What surrounds a run while its task works: signal handlers, the heartbeat thread, the output capture."""
from __future__ import annotations

import os
import signal
import sys
import threading

from .._contract import HEARTBEAT_FILE, STDERR_FILE, STDOUT_FILE
from .._files import NOFOLLOW, open_in_run
from ..errors import TinyxpError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import IO, Any, Callable, Protocol

    class Followed(Protocol):
        """What the heartbeat thread needs of a run."""

        run_dir: str | None
        git_pending: bool
        @property
        def heartbeat_interval(self) -> float: ...

        def record_git(self) -> None: ...

PREEMPT_SIGNALS = ("SIGTERM", "SIGINT")  # and the run's xp.requeue_signal


class Preempted(BaseException):
    """Raised in the task by SIGTERM or the requeue signal; a BaseException so `except Exception` lets it pass."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def install_signal_handlers(handle: Callable[[int, Any], None], requeue_signal: str) -> dict[int, Any]:
    """Make handle receive PREEMPT_SIGNALS and SIG<requeue_signal>; returns the previous
    handlers (none outside the main thread)."""
    previous = {}
    for name in (*PREEMPT_SIGNALS, "SIG" + requeue_signal):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, handle)
        except ValueError:  # not the main thread: signals stay with their owner
            break
    return previous


def restore_signal_handlers(previous: dict[int, Any]) -> None:
    """Put back the handlers install_signal_handlers replaced."""
    if not previous:
        return
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def interrupt_task(signum: int) -> None:
    """Stop the task where it is: KeyboardInterrupt for SIGINT, else Preempted."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Preempted(signum)


def requeue_after(signum: int | None, *, requeue: bool, requeue_signal: str, job: dict[str, Any] | None) -> None:
    """After SIG<requeue_signal> with xp.requeue=true, ask the scheduler to run the job again."""
    if signum is None or signum != getattr(signal, "SIG" + requeue_signal, None) or not requeue:
        return
    if not job:
        print("tinyxp: warning: xp.requeue is set but this process is not a scheduler job", file=sys.stderr)
        return
    from .job import requeue_current_job  # spawns scontrol: only after a preemption

    try:
        requeue_current_job(job)
    except TinyxpError as err:  # the run is INTERRUPTED already: say why it will not come back
        print(f"tinyxp: error: {err}", file=sys.stderr)


class Capture:
    """The process's stdout and stderr, also written to stdout.log and stderr.log of a run."""

    def __init__(self, run_dir: str) -> None:
        self.streams = (sys.stdout, sys.stderr)
        self.files: list[IO[str]] = []
        try:
            for name in (STDOUT_FILE, STDERR_FILE):
                fd = open_in_run(run_dir, os.path.join(run_dir, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                self.files.append(os.fdopen(fd, "a", encoding="utf-8", buffering=1))
        except BaseException:
            for file in self.files:
                file.close()
            raise
        sys.stdout, sys.stderr = _Tee(self.streams[0], self.files[0]), _Tee(self.streams[1], self.files[1])

    def write_stderr_log(self, text: str) -> None:
        """Write to stderr.log only (what Python prints after the capture ends)."""
        self.files[1].write(text)

    def stop(self) -> None:
        """Flush, give the process its own streams back, close the log files."""
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = self.streams
        for file in self.files:
            file.close()


class _Tee:
    """A text stream writing to the console stream and to a log file."""

    def __init__(self, stream: Any, file: Any) -> None:
        self._stream = stream
        self._file = file

    def write(self, text: str) -> int:
        self._file.write(text)
        return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._file.flush()
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, ... of the console
        return getattr(self._stream, name)


class Heartbeat:
    """The process's one heartbeat thread (a daemon), following the current run.

    It records the run's git state when `git status` was still running at the start,
    then touches <run>/heartbeat every xp.heartbeat_interval seconds; the file appears
    at the first beat (until then info.yaml, just written, is as fresh). One thread
    serves all runs of a sweep, and is woken only when there is something to do: a
    thread switch per run would cost more than the run's own bookkeeping.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._run: Followed | None = None
        self._idle = True
        threading.Thread(target=self._loop, name="tinyxp-heartbeat", daemon=True).start()

    def follow(self, run: Followed | None) -> None:
        """Beat for run from now on (None: for no run); the previous run gets no more beats."""
        with self._changed:
            self._run = run
            if run is not None and (self._idle or run.git_pending):
                self._changed.notify()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while self._run is None:
                    self._idle = True
                    self._changed.wait()
                self._idle = False
                run = self._run
            if run.git_pending:
                run.record_git()
            self._beat(run, os.path.join(str(run.run_dir), HEARTBEAT_FILE))

    def _beat(self, run: Followed, path: str) -> None:
        """Touch path every interval while run is the one followed."""
        interval = run.heartbeat_interval
        while True:
            with self._changed:
                if self._run is run:
                    self._changed.wait(interval)
                if self._run is not run:
                    return
            _touch(path)


_heartbeat: Heartbeat | None = None


def heartbeat() -> Heartbeat:
    """The process's heartbeat thread, started at the first call."""
    global _heartbeat
    if _heartbeat is None:
        _heartbeat = Heartbeat()
    return _heartbeat


def _touch(path: str) -> None:
    """Update path's time, creating it; a symbolic link there (never tinyxp's) is replaced, not followed."""
    try:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | NOFOLLOW, 0o666)
        except OSError:
            if not os.path.islink(path):
                raise
            os.unlink(path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.utime(fd if os.utime in os.supports_fd else path)
        finally:
            os.close(fd)
    except OSError:  # the run directory was removed under us: nothing to keep alive
        pass
