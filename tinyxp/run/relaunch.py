"""Running the script again from its snapshot (xp.snapshot=true), in a child process.

Imported only when a launch relaunches, hence json and subprocess at the top.

The child runs with TINYXP_IN_SNAPSHOT set to the state prepare_snapshot returned, and
receives the signals a scheduler sends to this process.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

from .._contract import SNAPSHOT_ENV
from ..config.settings import xp_setting
from ..config.overrides import parse_override
from ..errors import TinyxpError
from .git import inside
from .snapshot import prepare_snapshot, snapshot_copies, snapshot_copy

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

# signals a scheduler sends to preempt or time out a job: the child must receive them
FORWARDED_SIGNALS = ("SIGTERM", "SIGUSR1", "SIGUSR2", "SIGHUP")
# the settings the parent gives the child itself
REPLACED_SETTINGS = ("xp.snapshot", "xp.log_dir")


def relaunch_in_snapshot(script_path: str, argv: list[str], xp: Any) -> int:
    """Take or reuse the snapshot for xp.snapshot=true and rerun the script from it.

    Handles uncommitted changes as xp.dirty says, then runs `python <snapshot copy of
    the script> <argv> xp.snapshot=false xp.log_dir=<absolute>` (or `python -m <module>`
    when the command line was) from the snapshot's copy of the working folder, with
    PYTHONPATH entries inside the repository moved to the snapshot, and returns the
    child process's exit status. Raises GitError (not a repository, no commit, git
    failing, refused changes) and ConfigError (an unknown xp.dirty).
    """
    script_path = os.path.abspath(script_path)
    log_dir = os.path.abspath(os.path.expanduser(str(xp_setting(xp, "log_dir"))))
    plan = prepare_snapshot(script_path, xp, argv=argv)
    root, snapshot = plan["root"], plan["snapshot_dir"]
    entry, module = _entry_point(script_path, argv, root)
    snap_entry, cwd = snapshot_copies(plan, entry, os.getcwd())
    assert snap_entry is not None  # the copy of an entry that is not None
    env = dict(os.environ)
    env[SNAPSHOT_ENV] = json.dumps(plan)
    python_path = [snapshot_copy(path, root, snapshot) for path in env.get("PYTHONPATH", "").split(os.pathsep) if path]
    if module is None:
        command = [sys.executable, snap_entry]
    else:
        command = [sys.executable, "-m", module]
        # the folder the module's name starts from, so that it is imported from the snapshot
        top = snap_entry
        for _ in module.split("."):
            top = os.path.dirname(top)
        python_path.insert(0, top)
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(python_path)
    command += [token for token in argv if not _is_replaced(token)]
    command += ["xp.snapshot=false", "xp.log_dir=" + quote_value(log_dir)]
    return run_child(command, cwd, env)


def _entry_point(script_path: str, argv: list[str], root: str) -> tuple[str, str | None]:
    """(file, module name or None) to run again: what the command line ran, else the task's file.

    A run from the command line (argv is the process's own) starts again as it was
    started: `python -m package.train`, or the script that imported the task from
    another file, when they are in the repository.
    """
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if not main_file or list(argv) != sys.argv[1:]:
        return script_path, None
    main_file = os.path.abspath(main_file)
    if not inside(main_file, root):
        return script_path, None
    spec = getattr(main, "__spec__", None)
    return main_file, (spec.name if spec is not None and spec.name else None)


def quote_value(text: str) -> str:
    """`text` as an override value that reads back as that string (YAML single quotes)."""
    if re.match(r"^[A-Za-z0-9_./~-]+$", text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _is_replaced(token: str) -> bool:
    """Whether token sets one of REPLACED_SETTINGS (a deletion stays: it is the user's)."""
    try:
        override = parse_override(token)
    except TinyxpError:
        return False
    return override.kind != "delete" and override.key in REPLACED_SETTINGS


def run_child(command: list[str], cwd: str, env: dict[str, str]) -> int:
    """Run `command` to its end, passing on the signals a scheduler sends; its exit status."""
    proc = subprocess.Popen(command, cwd=cwd, env=env)

    def forward(signum: int, frame: Any) -> None:
        try:
            proc.send_signal(signum)
        except OSError:
            pass

    previous = {}
    try:
        try:
            for name in FORWARDED_SIGNALS:
                if hasattr(signal, name):
                    previous[getattr(signal, name)] = signal.signal(getattr(signal, name), forward)
            # Ctrl-C reaches the child from the terminal: wait for it to stop cleanly
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:
            pass  # not the main thread: signals cannot be handled here
        returncode = proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - returncode if returncode < 0 else returncode
