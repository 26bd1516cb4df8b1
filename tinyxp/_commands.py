"""The one seam in front of every external command: git, sbatch, oarsub, qsub, bsub, squeue.

Callers turn a CommandNotRun into their own typed error (GitError, SchedulerError), so
the message names what the user was doing; tests fake the commands on PATH.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Sequence

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
