"""Git through subprocess: the state of the code a run records as info.git.

`start_recording(script_dir)` (through snapshot.start_recording, at the start of every
logged run) reads HEAD from the .git files and starts `git status` at once (start_git), a
background thread reading its answer. Every git command goes through `run_git` or `start_git`.
Snapshots of the code (xp.snapshot) are in snapshot.py. The modules that spawn
(threading) are imported in the functions that need them: importing this
module must cost a run nothing.
"""
from __future__ import annotations

import os
import re
import sys

from .._commands import NO_FOLDER, NOT_FOUND, CommandNotRun, on_path, run_command, start_command
from .._files import find_above
from ..errors import GitError
from .info import no_git, render_command

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence, Tuple

    Change = Tuple[str, str]  # (status code as `git status --short` shows it, path)

MAX_CHANGED = 50  # paths kept in info.git.changed; n_changed has the full count
RE_OBJECT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
# --no-optional-locks: many jobs starting at once must not fight over index.lock
STATUS_ARGS = ["--no-optional-locks", "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal"]


def run_git(
    args: list[str], cwd: str, *, env: dict[str, str] | None = None, raw: bool = False, stdin_text: str | None = None,
    success: tuple[int, ...] = (0,),
) -> Any:
    """Run `git <args>` in `cwd`; return its standard output (str, or bytes when `raw`).

    `env` adds variables to the environment; `stdin_text` is written to git's standard input.
    Raises GitError naming the repository, the command and git's own output when git
    is missing or the command fails (exits with a status not in `success`).
    """
    try:
        _check_folder(cwd)
        # -C rather than cwd: without a folder, an environment or an input, the seam
        # starts git without importing subprocess (a launch in a repository runs git status)
        status, stdout, stderr = run_command(
            ["git", "-C", cwd, *args], env=env, input=None if stdin_text is None else stdin_text.encode("utf-8")
        )
    except CommandNotRun as err:
        raise _not_run(args, cwd, err) from None
    return _output(args, cwd, status, stdout, stderr, raw=raw, success=success)


def start_git(args: list[str], cwd: str) -> Callable[[], str]:
    """Start `git <args>` in `cwd` now; the returned function waits for it and gives
    run_git's answer (raising GitError as run_git does). Raises GitError when git cannot start."""
    try:
        _check_folder(cwd)
        wait = start_command(["git", "-C", cwd, *args])
    except CommandNotRun as err:
        raise _not_run(args, cwd, err) from None
    return lambda: _output(args, cwd, *wait())


def _check_folder(cwd: str) -> None:
    if not os.path.isdir(cwd):
        raise CommandNotRun(NO_FOLDER)


def _not_run(args: list[str], cwd: str, err: CommandNotRun) -> GitError:
    reason = "git is not installed (not found on PATH)" if err.why == NOT_FOUND else err.reason
    return GitError(f"Cannot run `{render_command(['git', *args])}` in {cwd}: {reason}")


def _output(
    args: list[str], cwd: str, status: int, stdout: bytes, stderr: bytes, *, raw: bool = False, success: tuple[int, ...] = (0,),
) -> Any:
    if status not in success:
        output = (stderr.strip() or stdout.strip()).decode("utf-8", "replace")
        raise GitError(
            f"Cannot run `{render_command(['git', *args])}` in {cwd}: " + (output or f"git exited with status {status}")
        )
    return stdout if raw else stdout.decode("utf-8", "replace")


def find_work_tree(path: str) -> str | None:
    """The top folder of the git working tree holding `path`, or None; runs no git."""
    return find_above(path, (".git",))


def find_git_dir(root: str) -> str:
    """The .git folder of a working tree (a `gitdir:` file for worktrees and submodules)."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    with open(dot_git, encoding="utf-8") as file:
        text = file.read().strip()
    if not text.startswith("gitdir:"):
        raise ValueError(f"unexpected content in {dot_git}")
    return os.path.normpath(os.path.join(root, text[len("gitdir:"):].strip()))


def read_head(root: str) -> tuple[str | None, str | None]:
    """(commit, branch) of HEAD read from the .git files, without running git.

    commit is None before the first commit, branch None when HEAD is detached.
    Raises OSError or ValueError when the files are not laid out as expected.
    """
    git_dir = find_git_dir(root)
    with open(os.path.join(git_dir, "HEAD"), encoding="utf-8") as file:
        head = file.read().strip()
    if not head.startswith("ref: "):
        if not RE_OBJECT_ID.match(head):
            raise ValueError(f"unexpected HEAD {head!r}")
        return head, None
    ref = head[len("ref: "):]
    branch = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else ref
    common = git_dir
    if os.path.exists(os.path.join(git_dir, "commondir")):
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as file:
            common = os.path.normpath(os.path.join(git_dir, file.read().strip()))
    commit: str | None
    try:
        with open(os.path.join(common, ref), encoding="utf-8") as file:
            commit = file.read().strip()
    except FileNotFoundError:
        commit = _read_packed_ref(common, ref)
    if commit is not None and not RE_OBJECT_ID.match(commit):
        raise ValueError(f"unexpected content in {ref}")
    return commit, branch


def _read_packed_ref(common: str, ref: str) -> str | None:
    try:
        with open(os.path.join(common, "packed-refs"), encoding="utf-8") as file:
            for line in file:
                if line.rstrip("\n").endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except FileNotFoundError:
        pass
    return None


def parse_status(text: str) -> dict[str, Any]:
    """commit, branch and changes from `git status --porcelain=v2 --branch -z` output.

    Changes are (code, path) pairs; code is the two-letter code of `git status --short`
    with blanks removed ('M', 'A', 'D', 'R', 'MM', '??', ...).
    """
    commit: str | None = None
    branch: str | None = None
    changes: list[Change] = []
    fields = text.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid "):]
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry[len("# branch.head "):]
            branch = None if head == "(detached)" else head
        elif entry.startswith("1 "):
            changes.append((entry[2:4].replace(".", ""), entry.split(" ", 8)[8]))
        elif entry.startswith("2 "):
            changes.append((entry[2:4].replace(".", ""), entry.split(" ", 9)[9]))
            i += 1  # the path it was renamed or copied from
        elif entry.startswith("u "):
            changes.append(("U", entry.split(" ", 10)[10]))
        elif entry.startswith("? "):
            changes.append(("??", entry[2:]))
    return {"commit": commit, "branch": branch, "changes": changes}


def git_info(root: str, commit: str | None, branch: str | None, changes: list[Change]) -> dict[str, Any]:
    """The mapping stored as info.git."""
    info: dict[str, Any] = {"commit": commit, "branch": branch}
    if branch is None:
        info["detached"] = True
    info["dirty"] = bool(changes)
    info["changed"] = [path for _, path in changes[:MAX_CHANGED]]
    info["n_changed"] = len(changes)
    info["root"] = root
    return info


def drop_dirty_state(info: dict[str, Any]) -> dict[str, Any]:
    """info.git without dirty, changed and n_changed, when they are not known."""
    for key in ("dirty", "changed", "n_changed"):
        info.pop(key, None)
    return info


def start_recording(script_dir: str, *, exclude: Sequence[str] = ()) -> Callable[..., dict[str, Any] | None]:
    """Start recording the git state of the repository holding `script_dir`.

    `exclude` lists folders whose files are not changes (the log folder, when it is
    inside the repository).

    HEAD is read from the .git files at once; `git status` starts at once, and a
    background thread reads its answer. The returned function gives the mapping to store as info.git (None
    outside a repository or without git), waiting for `git status`; called with
    wait=False it returns at once, without dirty and changed while status runs.
    When `git status` fails, it gives HEAD without them (None if HEAD could not be
    read either), with a warning the first time.
    """
    root = find_work_tree(script_dir)
    if root is None:
        return no_git
    if not on_path("git"):
        return no_git
    try:
        head: dict[str, Any] | None = drop_dirty_state(git_info(root, *read_head(root), []))
    except (OSError, ValueError):
        head = None  # a layout this reader does not know: git status will say
    import threading  # only inside a repository

    result: dict[str, Any] = {}
    thread: threading.Thread | None = None
    try:  # started here rather than in the thread, which may wait for the GIL
        wait_status = start_git(STATUS_ARGS + ["--", "."] + exclusions(root, exclude), root)
    except GitError as err:
        result["error"] = err
    else:

        def run_status() -> None:
            try:
                result["status"] = parse_status(wait_status())
            except GitError as err:
                result["error"] = err

        thread = threading.Thread(target=run_status, name="tinyxp-git-status", daemon=True)
        thread.start()

    def get(wait: bool = True) -> dict[str, Any] | None:
        if thread is not None:
            if not wait and thread.is_alive():
                return None if head is None else dict(head)
            thread.join()
        if "error" in result:  # a git too old, a repository git refuses to read (safe.directory)
            if not result.get("warned"):
                result["warned"] = True
                warn(f"{'info.git not recorded' if head is None else 'info.git lacks the dirty state'}: {result['error']}")
            return None if head is None else dict(head)
        status = result["status"]
        return git_info(root, status["commit"], status["branch"], status["changes"])

    return get


def exclusions(root: str, folders: Sequence[str]) -> list[str]:
    """Pathspecs leaving out the folders inside `root`."""
    specs = []
    for folder in folders:
        relative = os.path.relpath(os.path.abspath(folder), root)
        if relative != os.curdir and inside(folder, root):
            specs.append(":(exclude,literal)" + relative.replace(os.sep, "/"))
    return specs


def drop_ignored(root: str, pathspec: list[str]) -> list[str]:
    """The exclusions of pathspec (as exclusions() writes them) that git does not ignore already.

    `git add` refuses to name an ignored path even to leave it out ("The following paths
    are ignored", exit 1), and leaves an ignored folder out by itself.
    """
    if not pathspec:
        return pathspec
    paths = [spec.split(")", 1)[1] for spec in pathspec]
    # status 1: none of the paths is ignored
    ignored = run_git(["check-ignore", "-z", "--stdin"], root, stdin_text="\0".join(paths) + "\0", success=(0, 1))
    return [spec for spec, path in zip(pathspec, paths) if path not in ignored.split("\0")]


def inside(path: str, root: str) -> bool:
    """Whether path is root or inside it."""
    relative = os.path.relpath(os.path.abspath(path), root)
    return relative != os.pardir and not relative.startswith(os.pardir + os.sep)


def warn(message: str) -> None:
    """Print `tinyxp: warning: <message>` on stderr."""
    print(f"tinyxp: warning: {message}", file=sys.stderr)
