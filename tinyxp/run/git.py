"""Git through subprocess: recording the code's state, snapshots.

The launcher calls three functions:

- `start_recording(script_dir)` at the start of every run, for info.git;
- `relaunch_in_snapshot(script_path, argv, xp)` with xp.snapshot=true: take or reuse a
  snapshot of the code and run the script again from it, in a child process;
- `snapshot_info_for_run(run_dir)` in that child, once the run directory exists.

The parent tells the child what it recorded through the environment variable
TINYXP_IN_SNAPSHOT (JSON). A snapshot also describes itself in its top folder
(SNAPSHOT_MARKER), for the runs started there without that variable: a job whose
scheduler does not pass on the environment, a run reproduced by hand. Every git command
goes through `run_git`.
"""
from __future__ import annotations

import functools
import os
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..config.settings import xp_setting
from .._contract import SNAPSHOT_ENV, SNAPSHOT_MARKER
from ..errors import ConfigError, GitError

MAX_CHANGED = 50  # paths kept in info.git.changed; n_changed has the full count
PATCH_NAME = "uncommitted.patch"
REQUIREMENTS_NAME = "requirements.txt"
RE_OBJECT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
RE_SNAPSHOT_OVERRIDE = re.compile(r"^\+{0,2}xp\.(snapshot|log_dir)=")
# --no-optional-locks: many jobs starting at once must not fight over index.lock
STATUS_ARGS = ["--no-optional-locks", "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal"]
# signals a scheduler sends to preempt or time out a job: the child must receive them
FORWARDED_SIGNALS = ("SIGTERM", "SIGUSR1", "SIGUSR2", "SIGHUP")

Change = Tuple[str, str]  # (status code as `git status --short` shows it, path)


def run_git(args: List[str], cwd: str, *, env: Optional[Dict[str, str]] = None, raw: bool = False, stdin_text: Optional[str] = None) -> Any:
    """Run `git <args>` in `cwd`; return its standard output (str, or bytes when `raw`).

    `env` adds variables to the environment; `stdin_text` is written to git's standard input.
    Raises GitError naming the repository, the command and git's own output when git
    is missing or the command fails.
    """
    from .._commands import NOT_FOUND, CommandNotRun, render_command, run_command

    command = ["git", *args]
    try:
        status, stdout, stderr = run_command(
            command, cwd=cwd, env=env, input=None if stdin_text is None else stdin_text.encode("utf-8")
        )
    except CommandNotRun as err:
        reason = "git is not installed (not found on PATH)" if err.why == NOT_FOUND else err.reason
        raise GitError(f"Cannot run `{render_command(command)}` in {cwd}: {reason}") from None
    if status != 0:
        output = (stderr.strip() or stdout.strip()).decode("utf-8", "replace")
        raise GitError(
            f"Cannot run `{render_command(command)}` in {cwd}: " + (output or f"git exited with status {status}")
        )
    return stdout if raw else stdout.decode("utf-8", "replace")


# ---------------------------------------------------------------------------- recording


def find_work_tree(path: str) -> Optional[str]:
    """The top folder of the git working tree holding `path`, or None; runs no git."""
    path = os.path.abspath(path)
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _git_dir(root: str) -> str:
    """The .git folder of a working tree (a `gitdir:` file for worktrees and submodules)."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    with open(dot_git, encoding="utf-8") as file:
        text = file.read().strip()
    if not text.startswith("gitdir:"):
        raise ValueError(f"unexpected content in {dot_git}")
    return os.path.normpath(os.path.join(root, text[len("gitdir:"):].strip()))


def read_head(root: str) -> Tuple[Optional[str], Optional[str]]:
    """(commit, branch) of HEAD read from the .git files, without running git.

    commit is None before the first commit, branch None when HEAD is detached.
    Raises OSError or ValueError when the files are not laid out as expected.
    """
    git_dir = _git_dir(root)
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
    try:
        with open(os.path.join(common, ref), encoding="utf-8") as file:
            commit = file.read().strip()
    except FileNotFoundError:
        commit = _read_packed_ref(common, ref)
    if commit is not None and not RE_OBJECT_ID.match(commit):
        raise ValueError(f"unexpected content in {ref}")
    return commit, branch


def _read_packed_ref(common: str, ref: str) -> Optional[str]:
    try:
        with open(os.path.join(common, "packed-refs"), encoding="utf-8") as file:
            for line in file:
                if line.rstrip("\n").endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except FileNotFoundError:
        pass
    return None


def parse_status(text: str) -> Dict[str, Any]:
    """commit, branch and changes from `git status --porcelain=v2 --branch -z` output.

    Changes are (code, path) pairs; code is the two-letter code of `git status --short`
    with blanks removed ('M', 'A', 'D', 'R', 'MM', '??', ...).
    """
    commit: Optional[str] = None
    branch: Optional[str] = None
    changes: List[Change] = []
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


def git_info(root: str, commit: Optional[str], branch: Optional[str], changes: List[Change]) -> Dict[str, Any]:
    """The mapping stored as info.git."""
    info: Dict[str, Any] = {"commit": commit, "branch": branch}
    if branch is None:
        info["detached"] = True
    info["dirty"] = bool(changes)
    info["changed"] = [path for _, path in changes[:MAX_CHANGED]]
    info["n_changed"] = len(changes)
    info["root"] = root
    return info


def _drop_dirty_state(info: Dict[str, Any]) -> Dict[str, Any]:
    """info.git without dirty, changed and n_changed, when they are not known."""
    for key in ("dirty", "changed", "n_changed"):
        info.pop(key, None)
    return info


def start_recording(script_dir: str, *, exclude: Sequence[str] = ()) -> Callable[..., Optional[Dict[str, Any]]]:
    """Start recording the git state of the repository holding `script_dir`.

    `exclude` lists folders whose files are not changes (the log folder, when it is
    inside the repository).

    HEAD is read from the .git files at once; `git status` runs in a background
    thread. The returned function gives the mapping to store as info.git (None
    outside a repository or without git), waiting for `git status`; called with
    wait=False it returns at once, without dirty and changed while status runs.
    When `git status` fails, it gives HEAD without them (None if HEAD could not be
    read either), with a warning the first time.
    In a run started from a snapshot, it returns what the parent process recorded.
    """
    inherited = os.environ.get(SNAPSHOT_ENV)
    if not inherited:
        inherited = read_snapshot_marker(script_dir)
        if inherited:  # the rest of the run, and its own child processes, see what a relaunch passes
            os.environ[SNAPSHOT_ENV] = inherited
    if inherited:
        info = snapshot_git_info(load_snapshot_env(inherited))
        return lambda wait=True: dict(info)
    import shutil

    root = find_work_tree(script_dir)
    if root is None or shutil.which("git") is None:
        return lambda wait=True: None
    try:
        head: Optional[Dict[str, Any]] = _drop_dirty_state(git_info(root, *read_head(root), []))
    except (OSError, ValueError):
        head = None  # a layout this reader does not know: git status will say
    import threading

    result: Dict[str, Any] = {}

    def run_status() -> None:
        try:
            result["status"] = parse_status(run_git(STATUS_ARGS + ["--", "."] + _exclusions(root, exclude), root))
        except GitError as err:
            result["error"] = err

    thread = threading.Thread(target=run_status, name="tinyxp-git-status", daemon=True)
    thread.start()

    def get(wait: bool = True) -> Optional[Dict[str, Any]]:
        if not wait and thread.is_alive():
            return None if head is None else dict(head)
        thread.join()
        if "error" in result:  # a git too old, a repository git refuses to read (safe.directory)
            if not result.get("warned"):
                result["warned"] = True
                _warn(f"{'info.git not recorded' if head is None else 'info.git lacks the dirty state'}: {result['error']}")
            return None if head is None else dict(head)
        status = result["status"]
        return git_info(root, status["commit"], status["branch"], status["changes"])

    return get


def snapshot_git_info(state: Dict[str, Any]) -> Dict[str, Any]:
    """The info.git of a run from a snapshot, given the snapshot's state (prepare_snapshot's)."""
    info = git_info(state["root"], state["commit"], state["branch"], [])
    info.update({key: state[key] for key in ("dirty", "changed", "n_changed", "snapshot_dir") if key in state})
    if "dirty" not in state:  # not known from a snapshot's own description
        _drop_dirty_state(info)
    return info


# ---------------------------------------------------------------------------- snapshots


def read_snapshot_marker(path: str) -> Optional[str]:
    """The description of the snapshot holding `path` (JSON, as TINYXP_IN_SNAPSHOT), or None.

    Looks for SNAPSHOT_MARKER in `path` and above it, up to a git working tree.
    """
    path = os.path.abspath(path)
    while True:
        marker = os.path.join(path, SNAPSHOT_MARKER)
        if os.path.isfile(marker):
            import json

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


def load_snapshot_env(text: str) -> Dict[str, Any]:
    """The state the parent process passed in TINYXP_IN_SNAPSHOT; raises GitError if malformed."""
    import json

    try:
        state = json.loads(text)
    except ValueError as err:
        raise GitError(f"Invalid {SNAPSHOT_ENV} environment variable: {err}") from None
    missing = [key for key in ("commit", "branch", "root", "snapshot_dir") if not isinstance(state, dict) or key not in state]
    if missing:
        raise GitError(f"Invalid {SNAPSHOT_ENV} environment variable: missing {', '.join(missing)}")
    return state


def snapshot_info_for_run(run_dir: str) -> Optional[Dict[str, Any]]:
    """In a run started from a snapshot, fill the run directory's snapshot files.

    Writes metadata/requirements.txt, and metadata/uncommitted.patch for
    xp.dirty=patch, and returns the fields to merge into info.git (None when not run
    from a snapshot). Raises GitError when the patch cannot be copied.
    """
    text = os.environ.get(SNAPSHOT_ENV)
    if not text:
        return None
    from .._files import write_atomic

    state = load_snapshot_env(text)
    metadata = os.path.join(run_dir, "metadata")
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
        info["patch"] = os.path.join("metadata", PATCH_NAME)
    return info


@functools.lru_cache(maxsize=None)  # once per process: a sweep writes it for every run
def render_requirements() -> str:
    """The installed distributions as requirements.txt lines, `name==version`, sorted."""
    import platform
    from importlib import metadata

    found: Dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name.lower(), f"{name}=={dist.version}")
    lines = [f"# python {platform.python_version()} ({sys.executable}), written by tinyxp"]
    lines += sorted(found.values(), key=str.lower)
    return "\n".join(lines) + "\n"


def relaunch_in_snapshot(script_path: str, argv: List[str], xp: Any) -> int:
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
    import json

    env = dict(os.environ)
    env[SNAPSHOT_ENV] = json.dumps(plan)
    python_path = [_snapshot_copy(path, root, snapshot) for path in env.get("PYTHONPATH", "").split(os.pathsep) if path]
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
    command += [token for token in argv if not RE_SNAPSHOT_OVERRIDE.match(token)]
    command += ["xp.snapshot=false", "xp.log_dir=" + _quote_value(log_dir)]
    return run_child(command, cwd, env)


def snapshot_copies(plan: Dict[str, Any], entry: Optional[str], work_dir: str) -> Tuple[Optional[str], str]:
    """The snapshot's copies of the file entry and of the working folder work_dir.

    plan is prepare_snapshot's. The folder is created when git does not track it (an
    empty one). Raises GitError when entry is inside the repository but not in the
    snapshot. entry None gives None.
    """
    root, snapshot = plan["root"], plan["snapshot_dir"]
    snap_entry = None if entry is None else _snapshot_copy(entry, root, snapshot)
    if snap_entry is not None and not os.path.isfile(snap_entry):
        raise GitError(
            f"Cannot run from the snapshot of {root}: {os.path.relpath(entry, root)!r} is not in "
            f"commit {plan['commit'][:12]} (commit it, or use xp.dirty=patch)"
        )
    cwd = _snapshot_copy(work_dir, root, snapshot)
    os.makedirs(cwd, exist_ok=True)
    return snap_entry, cwd


def _entry_point(script_path: str, argv: List[str], root: str) -> Tuple[str, Optional[str]]:
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
    if not _inside(main_file, root):
        return script_path, None
    spec = getattr(main, "__spec__", None)
    return main_file, (spec.name if spec is not None and spec.name else None)


def _inside(path: str, root: str) -> bool:
    relative = os.path.relpath(os.path.abspath(path), root)
    return relative != os.pardir and not relative.startswith(os.pardir + os.sep)


def _snapshot_copy(path: str, root: str, snapshot: str) -> str:
    """The snapshot's copy of `path` when it is inside the repository `root`, else `path`."""
    path = os.path.abspath(path)
    if not _inside(path, root):
        return path
    return os.path.normpath(os.path.join(snapshot, os.path.relpath(path, root)))


def _quote_value(text: str) -> str:
    """`text` as an override value that reads back as that string (YAML single quotes)."""
    if re.match(r"^[A-Za-z0-9_./~-]+$", text):
        return text
    return "'" + text.replace("'", "''") + "'"


def prepare_snapshot(script_path: str, xp: Any, *, argv: Optional[List[str]] = None) -> Dict[str, Any]:
    """Deal with uncommitted changes as xp.dirty says, then create or reuse the snapshot.

    The log folder xp.log_dir and the snapshot folder are left out of the dirty check and
    of a patch (another launch may be writing a snapshot there at this very moment).
    Returns the state passed to the child: commit, branch, dirty, changed, n_changed,
    root, snapshot_dir, dirty_mode, patch (the saved patch file or None), auto_commit.
    Raises GitError and ConfigError as relaunch_in_snapshot does.
    """
    from ..config.settings import check_xp_value

    mode = xp_setting(xp, "dirty")
    problem = check_xp_value("dirty", mode)
    if problem:
        raise ConfigError(problem)
    directory = os.path.dirname(os.path.abspath(script_path))
    root = find_work_tree(directory)
    if root is None:
        raise GitError(f"Cannot take a snapshot of {directory}: it is not inside a git repository (xp.snapshot=true needs one)")
    snapshot_root = _snapshot_root(root, xp)
    pathspec = _exclusions(root, [os.path.expanduser(str(xp_setting(xp, "log_dir"))), snapshot_root])
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
            mode = _ask(root, changes, xp)
        if mode == "error":
            raise GitError(
                f"Cannot take a snapshot of {root}: {_count(len(changes), 'uncommitted change')}"
                f" (commit them, or set xp.dirty to ignore, commit or patch):\n{_listing(changes)}"
            )
        if mode == "ignore":
            _warn(f"running commit {commit[:12]} of {root} without {_count(len(changes), 'uncommitted change')}:\n{_listing(changes)}")
        elif mode == "commit":
            commit = _commit_changes(root, changes, script_path, argv or [])
            treeish = name = commit
            left = [change for change in changes if change[0] == "??"]  # what the new commit does not hold
            plan.update(git_info(root, commit, status["branch"], left), auto_commit=True)
        elif mode == "patch":
            treeish, patch = capture_working_tree(root, commit, pathspec)
            import hashlib

            name = f"{commit}-{hashlib.sha256(patch).hexdigest()[:12]}"
            from .._files import write_atomic

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


def _exclusions(root: str, folders: Sequence[str]) -> List[str]:
    """Pathspecs leaving out the folders inside `root`."""
    specs = []
    for folder in folders:
        relative = os.path.relpath(os.path.abspath(folder), root)
        if relative != os.curdir and _inside(folder, root):
            specs.append(":(exclude,literal)" + relative.replace(os.sep, "/"))
    return specs


def _snapshot_root(root: str, xp: Any) -> str:
    """xp.snapshot_dir, relative to the repository root."""
    return os.path.normpath(os.path.join(root, os.path.expanduser(str(xp_setting(xp, "snapshot_dir")))))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _listing(changes: List[Change]) -> str:
    lines = [f"  {code:>2} {path}" for code, path in changes[:MAX_CHANGED]]
    if len(changes) > MAX_CHANGED:
        lines.append(f"  ... and {len(changes) - MAX_CHANGED} more")
    return "\n".join(lines)


def _warn(message: str) -> None:
    print(f"tinyxp: warning: {message}", file=sys.stderr)


def _ask(root: str, changes: List[Change], xp: Any) -> str:
    """The user's choice for uncommitted changes, or 'error' when no one can be asked."""
    if not xp_setting(xp, "interactive") or not sys.stdin or not sys.stdin.isatty():
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


def _commit_changes(root: str, changes: List[Change], script_path: str, argv: List[str]) -> str:
    """Commit the tracked changes (xp.dirty=commit) and return the new commit."""
    tracked = [change for change in changes if change[0] != "??"]
    untracked = [change for change in changes if change[0] == "??"]
    if untracked:
        _warn(f"{_count(len(untracked), 'untracked path')} left out of the commit and the snapshot:\n{_listing(untracked)}")
    if tracked:
        from datetime import datetime

        run = " ".join([os.path.relpath(script_path, root), *argv])
        message = f"tinyxp: automatic commit before the run `{run}`\n\nMade by tinyxp (xp.dirty=commit) on {datetime.now().astimezone().isoformat(timespec='seconds')}."
        run_git(["commit", "--all", "--quiet", "--file=-"], root, stdin_text=message)  # a short command in an error
    return run_git(["rev-parse", "HEAD"], root).strip()


def capture_working_tree(root: str, commit: str, pathspec: List[str]) -> Tuple[str, bytes]:
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
            shutil.copy2(os.path.join(_git_dir(root), "index"), env["GIT_INDEX_FILE"])
        except (OSError, ValueError):
            run_git(["read-tree", commit], root, env=env)
        run_git(["add", "--all", "--", "."] + pathspec, root, env=env)
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
        from .._files import write_atomic

        try:
            write_atomic(ignore, b"# snapshots written by tinyxp: not part of the repository\n*\n")
        except OSError:
            pass


def take_snapshot(root: str, treeish: str, destination: str, *, about: Optional[Dict[str, Any]] = None) -> str:
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
            import json

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
            _warn(f"submodule {path!r} of {repo} is not checked out: its folder in the snapshot is empty")
            os.makedirs(os.path.join(destination, path), exist_ok=True)
            continue
        export_tree(submodule, commit, os.path.join(destination, path), scratch)


def run_child(command: List[str], cwd: str, env: Dict[str, str]) -> int:
    """Run `command` to its end, passing on the signals a scheduler sends; its exit status."""
    import signal
    import subprocess

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
