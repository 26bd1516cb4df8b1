"""The one seam in front of every external command: git, sbatch, oarsub, qsub, bsub, squeue.

Callers turn a CommandNotRun into their own typed error (GitError, SchedulerError), so
the message names what the user was doing; tests fake the commands on PATH.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Callable, Sequence

NOT_FOUND = "not found"
NO_FOLDER = "no folder"
TIMEOUT = "timeout"
OS_ERROR = "os error"


class CommandNotRun(Exception):
    """The command could not run to its end: `why` is one of the constants above, `reason` says it."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(why, detail)
        self.why = why
        self.detail = detail

    @property
    def reason(self) -> str:
        if self.why == NOT_FOUND:
            return "command not found on PATH"
        if self.why == NO_FOLDER:
            return "the folder does not exist"
        if self.why == TIMEOUT:
            return f"no answer after {self.detail} s"
        return self.detail


def on_path(program: str) -> bool:
    """Whether `program` is an executable file in a folder of PATH: shutil.which's answer
    on POSIX, without importing shutil (a launch in a git repository asks it for git)."""
    if os.name == "nt":  # pragma: no cover (PATHEXT, the current folder first)
        import shutil

        return shutil.which(program) is not None
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(folder or os.curdir, program)
        if os.access(path, os.F_OK | os.X_OK) and not os.path.isdir(path):
            return True
    return False


def run_command(
    argv: Sequence[str],
    *,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    stdin_path: str | None = None,
    timeout: float | None = None,
    merge_stderr: bool = False,
) -> tuple[int, bytes, bytes]:
    """Run argv to its end: (exit status, standard output, standard error).

    `env` adds variables to the environment. With merge_stderr, standard error comes
    back inside standard output, as a user would see them. Raises CommandNotRun when
    the program is missing, the folder does not exist, or it does not end in time.
    """
    if cwd is None and env is None and input is None and stdin_path is None and timeout is None and not merge_stderr:
        return start_command(argv)()
    import subprocess

    stdin_file = open(stdin_path, "rb") if stdin_path else None
    stdin = stdin_file or (None if input is not None else subprocess.DEVNULL)
    try:
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
            input=input,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise CommandNotRun(TIMEOUT, f"{timeout:g}") from None
    except OSError as err:
        if cwd is not None and not os.path.isdir(cwd):
            raise CommandNotRun(NO_FOLDER) from None
        if isinstance(err, FileNotFoundError):
            raise CommandNotRun(NOT_FOUND) from None
        raise CommandNotRun(OS_ERROR, err.strerror or str(err)) from None
    finally:
        if stdin_file is not None:
            stdin_file.close()
    return done.returncode, done.stdout, done.stderr or b""


def start_command(argv: Sequence[str]) -> Callable[[], tuple[int, bytes, bytes]]:
    """Start argv, standard input from /dev/null; the returned function waits for its end
    and gives run_command's answer. Raises CommandNotRun when the program cannot start.

    With os.posix_spawnp (POSIX), subprocess is not imported: with selectors, signal and
    threading, it would cost more than the command itself (git status at a launch). As
    subprocess would, SIGPIPE and SIGXFSZ are back to their default in the child (Python
    ignores them).
    """
    import select

    spawn = getattr(os, "posix_spawnp", None)
    if spawn is None or not hasattr(select, "poll"):  # pragma: no cover (Windows)
        return lambda: run_command(argv, input=b"")
    import signal

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
    defaults = [getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)]
    try:
        pid = spawn(argv[0], list(argv), os.environ, file_actions=actions, setsigdef=defaults)
    except OSError as err:
        for fd in (out_r, err_r):
            os.close(fd)
        if isinstance(err, FileNotFoundError):
            raise CommandNotRun(NOT_FOUND) from None
        raise CommandNotRun(OS_ERROR, err.strerror or str(err)) from None
    finally:
        os.close(out_w)
        os.close(err_w)
    return lambda: _wait(pid, out_r, err_r)


def _wait(pid: int, out_r: int, err_r: int) -> tuple[int, bytes, bytes]:
    """Read both outputs to their end, then the exit status (negative: killed by that signal)."""
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    _read_to_end(chunks)
    status = os.waitpid(pid, 0)[1]
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    return code, b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _read_to_end(chunks: dict[int, list[bytes]]) -> None:
    """Read each descriptor of chunks into its list until its end, then close it.

    poll rather than select where there is one: a process with many files open (a data
    loader's) gets descriptors beyond the 1024 that select takes.
    """
    import select

    pending = list(chunks)
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN)
    while pending:
        for fd, _ in poller.poll():
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                pending.remove(fd)
                poller.unregister(fd)
                os.close(fd)
