"""The one info.yaml schema: the fields of a new run's info, the one time format, and how
a command is written for a shell (info.command, job scripts, error messages).

The launcher writes a RUNNING run's info at its start and jobs/submit.py a PENDING
run's at submission; both build it here (docs/format.md describes the fields).
"""
from __future__ import annotations

import os
import sys
import time

from .. import __version__
from .._files import is_disk_full, os_reason, overwrite_in_place, write_yaml

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

SHORT_ERROR = 200  # characters of an error message kept when a full disk leaves no room for all of it


def format_time(timestamp: float) -> str:
    """ISO 8601 local time with microseconds and UTC offset, without importing datetime."""
    local = time.localtime(timestamp)
    offset = local.tm_gmtoff or 0
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    micros = int((timestamp % 1) * 1_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', local)}.{micros:06d}{sign}{hours:02d}:{minutes:02d}"


def new_run_info(
    *,
    status: str,
    run_id: int | None,
    run_dir: str | None,
    log_dir: str | None,
    overrides: Sequence[str],
    command: str,
    work_dir: str,
    script: str,
    start: float | None = None,
    submitted: float | None = None,
) -> dict[str, Any]:
    """The info.yaml of a run that starts now (start) or was submitted now (submitted).

    A started run also records the process it runs in (pid, python).
    """
    info: dict[str, Any] = {"run_id": run_id, "run_dir": run_dir, "log_dir": log_dir, "status": status}
    if submitted is not None:
        info["submit_time"] = format_time(submitted)
    info.update(
        start_time=None if start is None else format_time(start),
        end_time=None,
        duration_s=None,
        hostname=hostname(),
        user=user(),
    )
    if start is not None:
        info["pid"] = os.getpid()
        info["python"] = {"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]}
    info.update(
        argv=list(sys.argv),
        overrides=list(overrides),
        command=command,
        work_dir=work_dir,
        script=script,
        tinyxp_version=__version__,
        restarts=0,
    )
    return info


def no_git(wait: bool = True) -> None:
    """The recorder of a run with no git state to record (its info has no `git`)."""
    return None


class ShellText(str):
    """Shell code written into a command line as it is: the command part of a user's own job-script line."""


# The characters shlex.quote leaves a word unquoted with (\w in ASCII, and @%+=:,./-)
SHELL_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-"


def quote(word: str) -> str:
    """shlex.quote(word), without importing shlex and re: every launch quotes its command."""
    if not word:
        return "''"
    if not word.strip(SHELL_SAFE):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def render_command(argv: Sequence[str]) -> str:
    """argv as one shell line, every word quoted where needed, but ShellText as it is."""
    return " ".join(word if isinstance(word, ShellText) else quote(str(word)) for word in argv)


def shell_command(work_dir: str, words: Sequence[str]) -> str:
    """A shell line that reproduces one run: cd <work_dir> && <words>, every word quoted."""
    return f"cd {render_command([work_dir])} && {render_command(words)}"


def hostname() -> str:
    """The machine's name, without importing socket where os.uname answers."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows only

    return socket.gethostname()


def user() -> str | None:
    """The login name as getpass.getuser finds it, without importing getpass; None when unknown."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        found = os.environ.get(name)
        if found:
            return found
    if not hasattr(os, "getuid"):  # pragma: no cover (Windows: no password database)
        return None
    uid = os.getuid()
    if uid not in _PASSWD_NAMES:  # asked once per process: a sweep's runs all ask
        try:
            import pwd  # only when no variable names the user

            _PASSWD_NAMES[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            _PASSWD_NAMES[uid] = None
    return _PASSWD_NAMES[uid]


_PASSWD_NAMES: dict[int, str | None] = {}


def write_final_info(path: str, info: dict[str, Any]) -> None:
    """Write a run's final info.yaml; on a full disk over the old file's own blocks; else warn, never raise.

    The final status must reach the disk even when the disk is full (the atomic write
    needs a new file): the RUNNING info.yaml holds blocks enough for it, and an error
    message too long to fit is cut to SHORT_ERROR characters.
    """
    try:
        write_yaml(path, info)
        return
    except OSError as err:
        error = err
    if is_disk_full(error):
        from .. import yaml

        for shown in (info, _short_error(info)):
            try:
                if overwrite_in_place(path, yaml.dump(shown).encode("utf-8")):
                    return
            except OSError as err:
                error = err
                break
    print(f"tinyxp: warning: cannot record the final status ({info.get('status')}) in {path}: {os_reason(error)}",
          file=sys.stderr)


def _short_error(info: dict[str, Any]) -> dict[str, Any]:
    """info with its error message cut to SHORT_ERROR characters."""
    error = info.get("error")
    if not isinstance(error, dict) or len(str(error.get("message"))) <= SHORT_ERROR:
        return info
    return {**info, "error": {**error, "message": str(error["message"])[:SHORT_ERROR] + "..."}}
