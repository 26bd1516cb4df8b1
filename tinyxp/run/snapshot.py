"""Snapshots of the code (xp.snapshot=true): taking them, and a run's view of the one it runs from.

A snapshot is a copy of a commit (and, for xp.dirty=patch, of the uncommitted changes)
in xp.snapshot_dir, made once and reused by every launch of the same code. The parent
process tells the child it runs there (relaunch.py) what it recorded through the
environment variable TINYXP_IN_SNAPSHOT (JSON). A snapshot also describes itself in its
top folder (SNAPSHOT_MARKER), for the runs started there without that variable: a job
whose scheduler does not pass on the environment, a run reproduced by hand. json,
shutil, tempfile and hashlib are imported in the functions that need them: a run that
is not from a snapshot imports none of them.
"""
from __future__ import annotations

import functools
import os
import sys

from .._contract import METADATA_DIR, SNAPSHOT_ENV, SNAPSHOT_MARKER
from .._files import write_atomic
from ..config.settings import check_xp_value, xp_setting
from ..errors import ConfigError, GitError
from . import git
from .git import MAX_CHANGED, STATUS_ARGS, drop_ignored, exclusions, find_work_tree, git_info, inside, parse_status, run_git, warn

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

    from .git import Change

PATCH_NAME = "uncommitted.patch"
REQUIREMENTS_NAME = "requirements.txt"


def start_recording(script_dir: str, *, exclude: Sequence[str] = ()) -> Callable[..., dict[str, Any] | None]:
    """git.start_recording, except in a run from a snapshot: what the parent process recorded.

    A run is from a snapshot when TINYXP_IN_SNAPSHOT is set, or when SNAPSHOT_MARKER is
    in script_dir or above it (a job whose scheduler does not pass on the environment);
    then the variable is set for the rest of the run and its own child processes.
    """
    inherited = os.environ.get(SNAPSHOT_ENV)
    if not inherited:
        inherited = read_snapshot_marker(script_dir)
        if inherited:
            os.environ[SNAPSHOT_ENV] = inherited
    if not inherited:
        return git.start_recording(script_dir, exclude=exclude)
    info = snapshot_git_info(load_snapshot_env(inherited))
    return lambda wait=True: dict(info)


def snapshot_git_info(state: dict[str, Any]) -> dict[str, Any]:
    """The info.git of a run from a snapshot, given the snapshot's state (prepare_snapshot's)."""
    info = git_info(state["root"], state["commit"], state["branch"], [])
    info.update({key: state[key] for key in ("dirty", "changed", "n_changed", "snapshot_dir") if key in state})
    if "dirty" not in state:  # not known from a snapshot's own description
        git.drop_dirty_state(info)
    return info


def read_snapshot_marker(path: str) -> str | None:
    """The description of the snapshot holding `path` (JSON, as TINYXP_IN_SNAPSHOT), or None.

    Looks for SNAPSHOT_MARKER in `path` and above it, up to a git working tree.
    """
    path = os.path.abspath(path)
    while True:
        marker = os.path.join(path, SNAPSHOT_MARKER)
        if os.path.isfile(marker):
            import json  # only where a marker is found

            try:
                with open(marker, encoding="utf-8") as file:
                    state = json.load(file)
            except (OSError, ValueError):
                return None  # not one tinyxp wrote: record nothing rather than something wrong
            if not isinstance(state, dict) or not all(key in state for key in ("commit", "branch", "root")):
                return None
            state["snapshot_dir"] = path  # where it is now, even if it was moved
            return json.dumps(state)
        parent = os.path.dirname(path)
        if parent == path or os.path.exists(os.path.join(path, ".git")):
            return None
        path = parent


def load_snapshot_env(text: str) -> dict[str, Any]:
    """The state the parent process passed in TINYXP_IN_SNAPSHOT; raises GitError if malformed."""
    import json  # only in a run from a snapshot

    try:
        state = json.loads(text)
    except ValueError as err:
        raise GitError(f"Invalid {SNAPSHOT_ENV} environment variable: {err}") from None
    missing = [key for key in ("commit", "branch", "root", "snapshot_dir") if not isinstance(state, dict) or key not in state]
    if missing:
        raise GitError(f"Invalid {SNAPSHOT_ENV} environment variable: missing {', '.join(missing)}")
    return state


def snapshot_info_for_run(run_dir: str) -> dict[str, Any] | None:
    """In a run started from a snapshot, fill the run directory's snapshot files.

    Writes metadata/requirements.txt, and metadata/uncommitted.patch for
    xp.dirty=patch, and returns the fields to merge into info.git (None when not run
    from a snapshot). Raises GitError when the patch cannot be copied.
    """
    text = os.environ.get(SNAPSHOT_ENV)
    if not text:
        return None
    state = load_snapshot_env(text)
    metadata = os.path.join(run_dir, METADATA_DIR)
    os.makedirs(metadata, exist_ok=True)
    write_atomic(os.path.join(metadata, REQUIREMENTS_NAME), render_requirements().encode("utf-8"))
    info = {key: state[key] for key in ("commit", "branch", "dirty", "changed", "n_changed", "root") if key in state}
    info["snapshot_dir"] = state["snapshot_dir"]
    if "dirty_mode" in state:
        info["dirty_mode"] = state["dirty_mode"]
    if state.get("auto_commit"):
        info["auto_commit"] = True
    if state.get("patch"):
        try:
            with open(state["patch"], "rb") as file:
                patch = file.read()
        except OSError as err:
            raise GitError(f"Cannot read the uncommitted changes of {state['root']} from {state['patch']}: {err.strerror}") from None
        write_atomic(os.path.join(metadata, PATCH_NAME), patch)
        info["patch"] = os.path.join(METADATA_DIR, PATCH_NAME)
    return info


@functools.lru_cache(maxsize=None)  # once per process: a sweep writes it for every run
def render_requirements() -> str:
    """The installed distributions as requirements.txt lines, `name==version`, sorted."""
    import platform
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name.lower(), f"{name}=={dist.version}")
    lines = [f"# python {platform.python_version()} ({sys.executable}), written by tinyxp"]
    lines += sorted(found.values(), key=str.lower)
    return "\n".join(lines) + "\n"


def prepare_snapshot(script_path: str, xp: Any, *, argv: list[str] | None = None) -> dict[str, Any]:
    """Deal with uncommitted changes as xp.dirty says, then create or reuse the snapshot.

    The log folder xp.log_dir and the snapshot folder are left out of the dirty check and
    of a patch (another launch may be writing a snapshot there at this very moment).
    Returns the state passed to the child: commit, branch, dirty, changed, n_changed,
    root, snapshot_dir, dirty_mode, patch (the saved patch file or None), auto_commit.
    Raises GitError and ConfigError as relaunch_in_snapshot does.
    """
    mode = xp_setting(xp, "dirty")
    problem = check_xp_value("dirty", mode)
    if problem:
        raise ConfigError(problem)
    directory = os.path.dirname(os.path.abspath(script_path))
    root = find_work_tree(directory)
    if root is None:
        raise GitError(f"Cannot take a snapshot of {directory}: it is not inside a git repository (xp.snapshot=true needs one)")
    snapshot_root = _snapshot_root(root, xp_setting(xp, "snapshot_dir"))
    pathspec = exclusions(root, [os.path.expanduser(str(xp_setting(xp, "log_dir"))), snapshot_root])
    status = parse_status(run_git(STATUS_ARGS + ["--", "."] + pathspec, root))
    commit, changes = status["commit"], status["changes"]
    if commit is None:
        raise GitError(f"Cannot take a snapshot of {root}: the repository has no commit yet")
    snapshot_parent = os.path.join(snapshot_root, os.path.basename(root))
    plan = git_info(root, commit, status["branch"], changes)
    plan.update(dirty_mode=mode, patch=None)
    treeish, name = commit, commit
    if changes:
        if mode == "ask":
            mode = _ask(root, changes, interactive=bool(xp_setting(xp, "interactive")))
        if mode == "error":
            raise GitError(
                f"Cannot take a snapshot of {root}: {_count(len(changes), 'uncommitted change')}"
                f" (commit them, or set xp.dirty to ignore, commit or patch):\n{_listing(changes)}"
            )
        if mode == "ignore":
            warn(f"running commit {commit[:12]} of {root} without {_count(len(changes), 'uncommitted change')}:\n{_listing(changes)}")
        elif mode == "commit":
            commit = _commit_changes(root, changes, script_path, argv or [])
            treeish = name = commit
            left = [change for change in changes if change[0] == "??"]  # what the new commit does not hold
            plan.update(git_info(root, commit, status["branch"], left), auto_commit=True)
        elif mode == "patch":
            treeish, patch = capture_working_tree(root, commit, pathspec)
            import hashlib  # only for xp.dirty=patch

            name = f"{commit}-{hashlib.sha256(patch).hexdigest()[:12]}"
            _make_snapshot_parent(root, snapshot_parent)
            plan["patch"] = os.path.join(snapshot_parent, name + ".patch")
            if not os.path.exists(plan["patch"]):
                write_atomic(plan["patch"], patch)
        plan["dirty_mode"] = mode
    about = {key: plan[key] for key in ("commit", "branch", "root")}
    if plan["patch"]:  # the snapshot holds exactly these changes
        about.update({key: plan[key] for key in ("dirty", "changed", "n_changed", "dirty_mode", "patch")})
    plan["snapshot_dir"] = take_snapshot(root, treeish, os.path.join(snapshot_parent, name), about=about)
    return plan


def _snapshot_root(root: str, snapshot_dir: Any) -> str:
    """xp.snapshot_dir, relative to the repository root."""
    return os.path.normpath(os.path.join(root, os.path.expanduser(str(snapshot_dir))))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _listing(changes: list[Change]) -> str:
    lines = [f"  {code:>2} {path}" for code, path in changes[:MAX_CHANGED]]
    if len(changes) > MAX_CHANGED:
        lines.append(f"  ... and {len(changes) - MAX_CHANGED} more")
    return "\n".join(lines)


def _ask(root: str, changes: list[Change], *, interactive: bool) -> str:
    """The user's choice for uncommitted changes, or 'error' when no one can be asked."""
    if not interactive or not sys.stdin or not sys.stdin.isatty():
        return "error"
    print(f"tinyxp: {root} has {_count(len(changes), 'uncommitted change')}:\n{_listing(changes)}", file=sys.stderr)
    choices = {"c": "commit", "p": "patch", "i": "ignore", "a": "abort"}
    while True:
        sys.stderr.write(
            "[c]ommit them and run, run with them as a [p]atch (no commit), "
            "[i]gnore them (run the last commit), or [a]bort? "
        )
        sys.stderr.flush()
        line = sys.stdin.readline()
        answer = line.strip().lower()
        if not line or answer in ("a", "abort"):
            raise GitError(f"Cannot take a snapshot of {root}: aborted at the prompt about uncommitted changes")
        for key, choice in choices.items():
            if answer in (key, choice):
                return choice


def _commit_changes(root: str, changes: list[Change], script_path: str, argv: list[str]) -> str:
    """Commit the tracked changes (xp.dirty=commit) and return the new commit."""
    tracked = [change for change in changes if change[0] != "??"]
    untracked = [change for change in changes if change[0] == "??"]
    if untracked:
        warn(f"{_count(len(untracked), 'untracked path')} left out of the commit and the snapshot:\n{_listing(untracked)}")
    if tracked:
        from datetime import datetime  # only for xp.dirty=commit

        run = " ".join([os.path.relpath(script_path, root), *argv])
        message = f"tinyxp: automatic commit before the run `{run}`\n\nMade by tinyxp (xp.dirty=commit) on {datetime.now().astimezone().isoformat(timespec='seconds')}."
        run_git(["commit", "--all", "--quiet", "--file=-"], root, stdin_text=message)  # a short command in an error
    return run_git(["rev-parse", "HEAD"], root).strip()


def capture_working_tree(root: str, commit: str, pathspec: list[str]) -> tuple[str, bytes]:
    """(tree id, patch against `commit`) of the working tree, untracked files included.

    Works on a copy of the index, so the user's index and history are not touched
    (the files' contents are stored as objects in the repository).
    """
    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="tinyxp-index-")
    try:
        env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        try:
            # copy2 keeps the index's mtime, which git compares with the files' to catch
            # changes made in the same instant as the last commit ("racy git")
            shutil.copy2(os.path.join(git.find_git_dir(root), "index"), env["GIT_INDEX_FILE"])
        except (OSError, ValueError):
            run_git(["read-tree", commit], root, env=env)
        run_git(["add", "--all", "--", "."] + drop_ignored(root, pathspec), root, env=env)
        tree = run_git(["write-tree"], root, env=env).strip()
        patch = run_git(
            ["diff", "--cached", "--binary", "--no-color", "--no-ext-diff", "--no-textconv",
             "--src-prefix=a/", "--dst-prefix=b/", commit],
            root,
            env=env,
            raw=True,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tree, patch


def _make_snapshot_parent(root: str, folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise GitError(f"Cannot create the snapshot folder {folder} for {root}: {err.strerror or err}") from None
    ignore = os.path.join(os.path.dirname(folder), ".gitignore")
    if not os.path.exists(ignore):
        # snapshots are often kept inside the repository: they must not make it dirty
        try:
            write_atomic(ignore, b"# snapshots written by tinyxp: not part of the repository\n*\n")
        except OSError:
            pass


def take_snapshot(root: str, treeish: str, destination: str, *, about: dict[str, Any] | None = None) -> str:
    """Create the snapshot of `treeish` at `destination`, or reuse it; returns destination.

    The copy is made in a temporary folder beside it and renamed into place, so a
    snapshot that exists is complete, and a process that loses the race to create it
    uses the winner's. `about`, when given, is written into it as SNAPSHOT_MARKER.
    Raises GitError, leaving nothing half-made behind.
    """
    if os.path.isdir(destination):
        return destination
    import shutil
    import tempfile

    parent = os.path.dirname(destination)
    _make_snapshot_parent(root, parent)
    try:
        scratch = tempfile.mkdtemp(prefix=f".tmp-{os.path.basename(destination)}-", dir=parent)
    except OSError as err:
        raise GitError(f"Cannot write in the snapshot folder {parent} for {root}: {err.strerror or err}") from None
    try:
        tree = os.path.join(scratch, "tree")
        export_tree(root, treeish, tree, scratch)
        if about is not None:
            import json  # only where a marker is found

            try:
                with open(os.path.join(tree, SNAPSHOT_MARKER), "w", encoding="utf-8") as file:
                    json.dump(about, file, indent=2, ensure_ascii=False)
            except OSError as err:
                raise GitError(f"Cannot write in the snapshot folder {parent} for {root}: {err.strerror or err}") from None
        try:
            os.rename(tree, destination)
        except OSError:
            if not os.path.isdir(destination):
                raise GitError(f"Cannot move the snapshot of {root} into {destination}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return destination


def export_tree(repo: str, treeish: str, destination: str, scratch: str) -> None:
    """Write the files of `treeish` into `destination`, submodules at their recorded commits.

    Uses a private index in `scratch` and `git checkout-index`, which applies the
    repository's filters as a checkout would, and is faster than a clone.
    """
    index = os.path.join(scratch, f"index-{len(os.listdir(scratch))}")
    env = {"GIT_INDEX_FILE": index}
    run_git(["read-tree", treeish], repo, env=env)
    os.makedirs(destination, exist_ok=True)
    run_git(["checkout-index", "--all", "--force", "--prefix=" + destination + os.sep], repo, env=env)
    if not os.path.exists(os.path.join(destination, ".gitmodules")):
        return
    for entry in run_git(["ls-files", "--stage", "-z"], repo, env=env).split("\0"):
        if not entry.startswith("160000 "):
            continue
        meta, path = entry.split("\t", 1)
        commit = meta.split(" ")[1]
        submodule = os.path.join(repo, path)
        if not os.path.exists(os.path.join(submodule, ".git")):
            warn(f"submodule {path!r} of {repo} is not checked out: its folder in the snapshot is empty")
            os.makedirs(os.path.join(destination, path), exist_ok=True)
            continue
        export_tree(submodule, commit, os.path.join(destination, path), scratch)


def snapshot_copies(plan: dict[str, Any], entry: str | None, work_dir: str) -> tuple[str | None, str]:
    """The snapshot's copies of the file entry and of the working folder work_dir.

    plan is prepare_snapshot's. The folder is created when git does not track it (an
    empty one). Raises GitError when entry is inside the repository but not in the
    snapshot. entry None gives None.
    """
    root, snapshot = plan["root"], plan["snapshot_dir"]
    snap_entry = None if entry is None else snapshot_copy(entry, root, snapshot)
    if entry is not None and snap_entry is not None and not os.path.isfile(snap_entry):
        raise GitError(
            f"Cannot run from the snapshot of {root}: {os.path.relpath(entry, root)!r} is not in "
            f"commit {plan['commit'][:12]} (commit it, or use xp.dirty=patch)"
        )
    cwd = snapshot_copy(work_dir, root, snapshot)
    os.makedirs(cwd, exist_ok=True)
    return snap_entry, cwd


def snapshot_copy(path: str, root: str, snapshot: str) -> str:
    """The snapshot's copy of `path` when it is inside the repository `root`, else `path`."""
    path = os.path.abspath(path)
    if not inside(path, root):
        return path
    return os.path.normpath(os.path.join(snapshot, os.path.relpath(path, root)))
