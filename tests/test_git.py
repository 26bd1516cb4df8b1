"""Tests of tinyxp.run.git with real repositories made in temporary folders."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

from tinyxp.run import git as tgit
from tinyxp.run import relaunch as trelaunch
from tinyxp.run import snapshot as tsnap
from tinyxp.errors import ConfigError, GitError

from .support import finish, run_process, start_process, wait_event, wait_for_line, wait_until

MAIN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_GIT = shutil.which("git") is not None
# CI machines have no git identity; the user's own configuration must not leak in
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Tinyxp Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Tinyxp Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
UNICODE_NAME = "données d'été.txt"
_environ = mock.patch.dict(os.environ, GIT_ENV)


def setUpModule() -> None:
    _environ.start()
    os.environ.pop(tsnap.SNAPSHOT_ENV, None)


def tearDownModule() -> None:
    _environ.stop()


def git(cwd: str, *args: str) -> str:
    return run_process(["git", *args], cwd=cwd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60).stdout.decode()


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def read(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def requirements_header() -> str:
    """The first line of metadata/requirements.txt written by this interpreter."""
    import platform

    return f"# python {platform.python_version()} ({sys.executable}), written by tinyxp"


def list_files(folder: str) -> list:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames:
            found.append(os.path.relpath(os.path.join(dirpath, name), folder).replace(os.sep, "/"))
    return sorted(found)


@unittest.skipUnless(HAVE_GIT, "git is not installed")
class RepoTestCase(unittest.TestCase):
    """A temporary folder, and a repository `proj` made in it on demand."""

    def setUp(self) -> None:
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="tinyxp-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.root = os.path.join(self.tmp, "proj")

    def make_repo(self, files: dict = None, *, root: str = None, commit: bool = True) -> str:
        root = root or self.root
        os.makedirs(root, exist_ok=True)
        git(root, "init", "--quiet", "--initial-branch=main")
        files = {"train.py": "print('hello')\n", "lib/model.py": "DEPTH = 1\n"} if files is None else files
        for name, text in files.items():
            write(os.path.join(root, name), text)
        if commit:
            git(root, "add", "--all")
            git(root, "commit", "--quiet", "--message", "first")
        return root

    def head(self, root: str = None) -> str:
        return git(root or self.root, "rev-parse", "HEAD").strip()

    def xp(self, **settings) -> dict:
        xp = {"snapshot_dir": "./.tinyxp/snapshots", "dirty": "error", "interactive": False,
              "log_dir": os.path.join(self.tmp, "logs")}
        xp.update(settings)
        return xp

    def snapshot(self, **settings) -> dict:
        """prepare_snapshot for proj/train.py, with stderr captured into self.stderr."""
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            try:
                return tsnap.prepare_snapshot(os.path.join(self.root, "train.py"), self.xp(**settings))
            finally:
                self.stderr = stderr.getvalue()

    def assert_no_leftovers(self, folder: str) -> None:
        if os.path.isdir(folder):
            self.assertEqual([name for name in os.listdir(folder) if name.startswith(".tmp-")], [])


class RunGitTest(RepoTestCase):
    def test_output(self):
        self.make_repo()
        self.assertEqual(tgit.run_git(["rev-parse", "HEAD"], self.root).strip(), self.head())
        self.assertIsInstance(tgit.run_git(["rev-parse", "HEAD"], self.root, raw=True), bytes)

    def test_failure_names_repository_command_and_git_output(self):
        self.make_repo()
        with self.assertRaises(GitError) as caught:
            tgit.run_git(["rev-parse", "--verify", "no such"], self.root)
        self.assertEqual(str(caught.exception), f"Cannot run `git rev-parse --verify 'no such'` in {self.root}: fatal: Needed a single revision")

    def test_git_not_installed(self):
        self.make_repo()
        with mock.patch.dict(os.environ, {"PATH": self.tmp}):
            with self.assertRaises(GitError) as caught:
                tgit.run_git(["status"], self.root)
        self.assertEqual(str(caught.exception), f"Cannot run `git status` in {self.root}: git is not installed (not found on PATH)")

    def test_missing_folder(self):
        missing = os.path.join(self.tmp, "missing")
        with self.assertRaises(GitError) as caught:
            tgit.run_git(["status"], missing)
        self.assertEqual(str(caught.exception), f"Cannot run `git status` in {missing}: the folder does not exist")

    def test_start_git(self):
        self.make_repo()
        wait = tgit.start_git(["rev-parse", "HEAD"], self.root)
        self.assertEqual(wait().strip(), self.head())
        failing = tgit.start_git(["rev-parse", "--verify", "no such"], self.root)
        with self.assertRaises(GitError) as caught:
            failing()
        self.assertEqual(str(caught.exception), f"Cannot run `git rev-parse --verify 'no such'` in {self.root}: fatal: Needed a single revision")
        missing = os.path.join(self.tmp, "missing")
        with self.assertRaises(GitError) as caught:
            tgit.start_git(["status"], missing)
        self.assertEqual(str(caught.exception), f"Cannot run `git status` in {missing}: the folder does not exist")


class RecordingTest(RepoTestCase):
    def record(self, directory: str = None, **kwargs):
        return tsnap.start_recording(directory or self.root)(**kwargs)

    def test_not_a_repository(self):
        self.assertIsNone(self.record(self.tmp))

    def test_git_not_installed(self):
        self.make_repo()
        with mock.patch.dict(os.environ, {"PATH": self.tmp}):
            self.assertIsNone(self.record())

    def test_clean(self):
        self.make_repo()
        self.assertEqual(
            self.record(os.path.join(self.root, "lib")),
            {"commit": self.head(), "branch": "main", "dirty": False, "changed": [], "n_changed": 0, "root": self.root},
        )

    def test_no_commit_yet(self):
        self.make_repo({"a.py": ""}, commit=False)
        self.assertEqual(
            self.record(),
            {"commit": None, "branch": "main", "dirty": True, "changed": ["a.py"], "n_changed": 1, "root": self.root},
        )

    def test_detached_head(self):
        self.make_repo()
        git(self.root, "checkout", "--quiet", "--detach")
        info = self.record()
        self.assertEqual((info["commit"], info["branch"], info["detached"]), (self.head(), None, True))

    def test_dirty_and_untracked_with_spaces_and_unicode(self):
        self.make_repo({"train.py": "", "gone.py": "", "old name.py": ""})
        write(os.path.join(self.root, "train.py"), "changed\n")
        os.remove(os.path.join(self.root, "gone.py"))
        git(self.root, "mv", "old name.py", "new name.py")
        write(os.path.join(self.root, UNICODE_NAME), "")
        write(os.path.join(self.root, "new dir", "x.py"), "")
        info = self.record()
        self.assertTrue(info["dirty"])
        self.assertEqual(sorted(info["changed"]), sorted(["train.py", "gone.py", "new name.py", UNICODE_NAME, "new dir/"]))
        self.assertEqual(info["n_changed"], 5)

    def test_excluded_folder(self):
        self.make_repo()
        write(os.path.join(self.root, "logs", "1", "info.yaml"), "")
        info = tsnap.start_recording(self.root, exclude=[os.path.join(self.root, "logs"), self.tmp])()
        self.assertEqual((info["dirty"], info["changed"]), (False, []))

    def test_merge_conflict(self):
        self.make_repo({"a.txt": "base\n"})
        git(self.root, "checkout", "--quiet", "-b", "other")
        write(os.path.join(self.root, "a.txt"), "other\n")
        git(self.root, "commit", "--quiet", "--all", "--message", "other")
        git(self.root, "checkout", "--quiet", "main")
        write(os.path.join(self.root, "a.txt"), "main\n")
        git(self.root, "commit", "--quiet", "--all", "--message", "main")
        with self.assertRaises(subprocess.CalledProcessError):
            git(self.root, "merge", "other")
        self.assertEqual(tgit.parse_status(tgit.run_git(tgit.STATUS_ARGS, self.root))["changes"], [("U", "a.txt")])
        self.assertEqual(self.record()["changed"], ["a.txt"])

    def test_broken_repository_is_not_recorded(self):
        write(os.path.join(self.root, ".git"), "gitdir: ../nowhere\n")
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertIsNone(self.record())
        self.assertTrue(stderr.getvalue().startswith("tinyxp: warning: info.git not recorded: Cannot run `git "), stderr.getvalue())
        self.assertTrue(stderr.getvalue().endswith(f"fatal: not a git repository: {self.root}/../nowhere\n"), stderr.getvalue())

    def test_git_status_failing_warns_once(self):
        self.make_repo()
        failure = GitError(f"Cannot run `git status` in {self.root}: fatal: detected dubious ownership in repository")

        def answer():
            raise failure

        # git status fails when it answers, or cannot start at all
        for start_git in (mock.Mock(return_value=answer), mock.Mock(side_effect=failure)):
            with self.subTest(start_git=start_git), mock.patch.object(tgit, "start_git", start_git):
                get = tsnap.start_recording(self.root)
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr):
                    head = {"commit": self.head(), "branch": "main", "root": self.root}  # read from the files
                    self.assertEqual((get(), get(), get(wait=False)), (head, head, head))
                self.assertEqual(stderr.getvalue(), f"tinyxp: warning: info.git lacks the dirty state: {failure}\n")

    def test_changed_is_capped(self):
        self.make_repo()
        for i in range(tgit.MAX_CHANGED + 10):
            write(os.path.join(self.root, f"new{i:03}.txt"), "")
        info = self.record()
        self.assertEqual((len(info["changed"]), info["n_changed"]), (tgit.MAX_CHANGED, tgit.MAX_CHANGED + 10))

    def test_without_waiting(self):
        import threading

        self.make_repo()
        release = threading.Event()
        real_start_git = tgit.start_git

        def slow_start_git(*args, **kwargs):
            wait = real_start_git(*args, **kwargs)

            def slow():
                wait_event(release, "the test never released git status")
                return wait()

            return slow

        with mock.patch.object(tgit, "start_git", slow_start_git):
            get = tsnap.start_recording(self.root)
            self.assertEqual(get(wait=False), {"commit": self.head(), "branch": "main", "root": self.root})
            release.set()
            self.assertEqual(get()["dirty"], False)
            self.assertEqual(get(wait=False)["dirty"], False)

    def test_read_head_packed_refs_and_worktree(self):
        self.make_repo()
        git(self.root, "pack-refs", "--all")
        self.assertEqual(tgit.read_head(self.root), (self.head(), "main"))
        other = os.path.join(self.tmp, "other")
        git(self.root, "worktree", "add", "--quiet", "-b", "side", other)
        self.assertEqual(tgit.read_head(other), (self.head(), "side"))
        self.assertEqual(self.record(other)["branch"], "side")

    def test_inherited_in_snapshot(self):
        state = {"commit": "a" * 40, "branch": "main", "dirty": False, "changed": [], "n_changed": 0,
                 "root": "/src/proj", "snapshot_dir": "/snap/proj/" + "a" * 40}
        with mock.patch.dict(os.environ, {tsnap.SNAPSHOT_ENV: json.dumps(state)}):
            self.assertEqual(self.record(self.tmp), state)


class RecordingInSnapshotTest(RepoTestCase):
    """A run started in a snapshot without TINYXP_IN_SNAPSHOT (a job whose scheduler drops the environment)."""

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(os.environ.pop, tsnap.SNAPSHOT_ENV, None)

    def test_recorded_from_the_snapshot_not_the_repository(self):
        self.make_repo()
        snapshot = tsnap.prepare_snapshot(os.path.join(self.root, "train.py"), self.xp())["snapshot_dir"]
        write(os.path.join(self.root, "train.py"), "edited after the launch\n")
        git(self.root, "commit", "--quiet", "--all", "--message", "second")
        info = tsnap.start_recording(os.path.join(snapshot, "lib"))()
        first = git(self.root, "rev-parse", "HEAD^").strip()
        self.assertEqual(info, {"commit": first, "branch": "main", "root": self.root, "snapshot_dir": snapshot})
        # the run directory gets what a relaunch gives it
        run_dir = os.path.join(self.tmp, "logs", "1")
        self.assertEqual(tsnap.snapshot_info_for_run(run_dir), {"commit": first, "branch": "main", "root": self.root, "snapshot_dir": snapshot})
        self.assertEqual(os.listdir(os.path.join(run_dir, "metadata")), ["requirements.txt"])

    def test_moved_patch_snapshot(self):
        self.make_repo()
        write(os.path.join(self.root, "train.py"), "print('changed')\n")
        plan = tsnap.prepare_snapshot(os.path.join(self.root, "train.py"), self.xp(dirty="patch", snapshot_dir=os.path.join(self.tmp, "snaps")))
        moved = os.path.join(self.tmp, "moved")
        os.rename(plan["snapshot_dir"], moved)
        self.assertEqual(tsnap.start_recording(moved)(), {
            "commit": self.head(), "branch": "main", "dirty": True, "changed": ["train.py"], "n_changed": 1,
            "root": self.root, "snapshot_dir": moved,
        })
        info = tsnap.snapshot_info_for_run(os.path.join(self.tmp, "run"))
        self.assertEqual((info["dirty_mode"], info["patch"]), ("patch", os.path.join("metadata", "uncommitted.patch")))
        self.assertIn("+print('changed')", read(os.path.join(self.tmp, "run", "metadata", "uncommitted.patch")))

    def test_a_marker_tinyxp_did_not_write_is_ignored(self):
        for text in ("{", "[1, 2]", '{"commit": "' + "a" * 40 + '"}'):
            with self.subTest(text=text):
                write(os.path.join(self.tmp, "code", tsnap.SNAPSHOT_MARKER), text)
                self.assertIsNone(tsnap.start_recording(os.path.join(self.tmp, "code"))())
                self.assertNotIn(tsnap.SNAPSHOT_ENV, os.environ)

    def test_the_search_stops_at_a_working_tree(self):
        write(os.path.join(self.tmp, tsnap.SNAPSHOT_MARKER), json.dumps({"commit": "a" * 40, "branch": "main", "root": "/x"}))
        self.make_repo()
        self.assertIsNone(tsnap.read_snapshot_marker(os.path.join(self.root, "lib")))
        self.assertEqual(json.loads(tsnap.read_snapshot_marker(self.tmp))["snapshot_dir"], self.tmp)


class SnapshotTest(RepoTestCase):
    def snapshots(self) -> str:
        return os.path.join(self.root, ".tinyxp", "snapshots", "proj")

    def test_not_a_repository(self):
        write(os.path.join(self.root, "train.py"), "")
        with self.assertRaises(GitError) as caught:
            self.snapshot()
        self.assertEqual(str(caught.exception), f"Cannot take a snapshot of {self.root}: it is not inside a git repository (xp.snapshot=true needs one)")

    def test_git_not_installed(self):
        self.make_repo()
        with mock.patch.dict(os.environ, {"PATH": self.tmp}):
            with self.assertRaisesRegex(GitError, r"^Cannot run `git .*status.*` in .*: git is not installed \(not found on PATH\)$"):
                self.snapshot()

    def test_no_commit_yet(self):
        self.make_repo(commit=False)
        with self.assertRaises(GitError) as caught:
            self.snapshot(dirty="ignore")
        self.assertEqual(str(caught.exception), f"Cannot take a snapshot of {self.root}: the repository has no commit yet")

    def test_clean(self):
        self.make_repo()
        plan = self.snapshot()
        commit = self.head()
        self.assertEqual(plan["snapshot_dir"], os.path.join(self.snapshots(), commit))
        self.assertEqual(list_files(plan["snapshot_dir"]), [tsnap.SNAPSHOT_MARKER, "lib/model.py", "train.py"])
        self.assertEqual(read(os.path.join(plan["snapshot_dir"], "lib", "model.py")), "DEPTH = 1\n")
        self.assertEqual(
            {key: plan[key] for key in ("commit", "branch", "dirty", "changed", "n_changed", "root", "dirty_mode", "patch")},
            {"commit": commit, "branch": "main", "dirty": False, "changed": [], "n_changed": 0, "root": self.root,
             "dirty_mode": "error", "patch": None},
        )
        self.assert_no_leftovers(self.snapshots())
        # the snapshot folder inside the repository does not make it dirty
        self.assertEqual(git(self.root, "status", "--porcelain"), "")

    def test_snapshot_describes_itself(self):
        self.make_repo()
        plan = self.snapshot()
        with open(os.path.join(plan["snapshot_dir"], tsnap.SNAPSHOT_MARKER), encoding="utf-8") as file:
            self.assertEqual(json.load(file), {"commit": self.head(), "branch": "main", "root": self.root})

    def test_patch_snapshot_describes_its_changes(self):
        self.make_repo()
        write(os.path.join(self.root, "train.py"), "print('changed')\n")
        plan = self.snapshot(dirty="patch")
        with open(os.path.join(plan["snapshot_dir"], tsnap.SNAPSHOT_MARKER), encoding="utf-8") as file:
            self.assertEqual(json.load(file), {
                "commit": self.head(), "branch": "main", "root": self.root, "dirty": True, "changed": ["train.py"],
                "n_changed": 1, "dirty_mode": "patch", "patch": plan["snapshot_dir"] + ".patch",
            })

    def test_existing_snapshot_is_reused(self):
        self.make_repo()
        first = self.snapshot()["snapshot_dir"]
        write(os.path.join(first, "marker"), "")
        self.assertEqual(self.snapshot()["snapshot_dir"], first)
        self.assertTrue(os.path.exists(os.path.join(first, "marker")))

    def test_snapshot_dir_absolute_and_home(self):
        self.make_repo()
        elsewhere = os.path.join(self.tmp, "snaps")
        self.assertEqual(self.snapshot(snapshot_dir=elsewhere)["snapshot_dir"], os.path.join(elsewhere, "proj", self.head()))
        with mock.patch.dict(os.environ, {"HOME": self.tmp}):
            self.assertEqual(self.snapshot(snapshot_dir="~/s")["snapshot_dir"], os.path.join(self.tmp, "s", "proj", self.head()))

    def test_detached_head(self):
        self.make_repo()
        git(self.root, "checkout", "--quiet", "--detach")
        plan = self.snapshot()
        self.assertEqual((plan["branch"], plan["detached"]), (None, True))
        self.assertEqual(plan["snapshot_dir"], os.path.join(self.snapshots(), self.head()))

    def test_snapshot_folder_cannot_be_written(self):
        self.make_repo()
        write(os.path.join(self.tmp, "a file"), "")
        folder = os.path.join(self.tmp, "a file", "snaps", "proj")
        with self.assertRaises(GitError) as caught:
            self.snapshot(snapshot_dir=os.path.join(self.tmp, "a file", "snaps"))
        self.assertEqual(str(caught.exception), f"Cannot create the snapshot folder {folder} for {self.root}: Not a directory")

    @unittest.skipIf(hasattr(os, "geteuid") and os.geteuid() == 0, "root writes in read-only folders")
    def test_read_only_snapshot_folder(self):
        self.make_repo()
        folder = os.path.join(self.tmp, "snaps", "proj")
        os.makedirs(folder)
        os.chmod(folder, 0o500)
        self.addCleanup(os.chmod, folder, 0o700)
        with self.assertRaises(GitError) as caught:
            self.snapshot(snapshot_dir=os.path.dirname(folder))
        self.assertEqual(str(caught.exception), f"Cannot write in the snapshot folder {folder} for {self.root}: Permission denied")
        self.assertEqual(os.listdir(folder), [])

    def test_lost_race_uses_the_winners_snapshot(self):
        self.make_repo()
        destination = os.path.join(self.snapshots(), self.head())
        real_export = tsnap.export_tree

        def export_while_another_process_wins(repo, treeish, tree, scratch):
            real_export(repo, treeish, tree, scratch)
            os.makedirs(os.path.join(destination, "winner"))

        with mock.patch.object(tsnap, "export_tree", export_while_another_process_wins):
            self.assertEqual(self.snapshot()["snapshot_dir"], destination)
        self.assertEqual(os.listdir(destination), ["winner"])
        self.assert_no_leftovers(self.snapshots())

    def test_snapshot_being_written_by_another_launch_is_not_a_change(self):
        self.make_repo()
        # another process's copy in progress, before its .gitignore exists
        write(os.path.join(self.snapshots(), ".tmp-abc", "tree", "train.py"), "")
        plan = self.snapshot(dirty="error")
        self.assertEqual((plan["dirty"], plan["changed"]), (False, []))

    def test_two_processes_at_once(self):
        self.make_repo({f"f{i}.py": f"x = {i}\n" for i in range(300)})
        code = (
            "import sys; from tinyxp.run import snapshot as git\n"
            "plan = git.prepare_snapshot(sys.argv[1], {'snapshot_dir': '.snaps', 'dirty': 'error', 'interactive': False, 'log_dir': 'logs'})\n"
            "print(plan['snapshot_dir'])\n"
        )
        env = dict(os.environ, PYTHONPATH=MAIN)
        procs = [start_process(self, [sys.executable, "-c", code, os.path.join(self.root, "train.py")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
        outputs = [finish(proc, 120) for proc in procs]
        self.assertEqual([proc.returncode for proc in procs], [0] * 4, outputs)
        destination = os.path.join(self.root, ".snaps", "proj", self.head())
        self.assertEqual({out.decode().strip() for out, _ in outputs}, {destination})
        self.assertEqual(len(list_files(destination)), 300 + 1)  # and the marker
        self.assert_no_leftovers(os.path.dirname(destination))

    def test_submodule_at_its_recorded_commit(self):
        library = self.make_repo({"lib.py": "VERSION = 1\n"}, root=os.path.join(self.tmp, "library"))
        self.make_repo({"train.py": ""})
        git(self.root, "-c", "protocol.file.allow=always", "submodule", "add", "--quiet", library, "vendor/library")
        git(self.root, "commit", "--quiet", "--message", "add the library")
        # the submodule's checkout moves on; the superproject still records version 1
        submodule = os.path.join(self.root, "vendor", "library")
        write(os.path.join(submodule, "lib.py"), "VERSION = 2\n")
        git(submodule, "commit", "--quiet", "--all", "--message", "two")
        plan = self.snapshot(dirty="ignore")
        self.assertEqual(list_files(plan["snapshot_dir"]), [".gitmodules", tsnap.SNAPSHOT_MARKER, "train.py", "vendor/library/lib.py"])
        self.assertEqual(read(os.path.join(plan["snapshot_dir"], "vendor", "library", "lib.py")), "VERSION = 1\n")

    def test_submodule_commit_missing_leaves_nothing_behind(self):
        library = self.make_repo({"lib.py": "VERSION = 1\n"}, root=os.path.join(self.tmp, "library"))
        self.make_repo({"train.py": ""})
        git(self.root, "-c", "protocol.file.allow=always", "submodule", "add", "--quiet", library, "vendor")
        missing = "1" * 40
        git(self.root, "update-index", "--cacheinfo", f"160000,{missing},vendor")
        git(self.root, "commit", "--quiet", "--message", "point at a commit the submodule lacks")
        with self.assertRaises(GitError) as caught:
            self.snapshot(dirty="ignore")
        self.assertRegex(str(caught.exception), rf"^Cannot run `git read-tree {missing}` in {os.path.join(self.root, 'vendor')}: fatal: ")
        self.assertEqual(os.listdir(self.snapshots()), [])

    def test_file_names_with_spaces_and_unicode(self):
        self.make_repo({"train.py": "", "my data/" + UNICODE_NAME: "été\n"})
        plan = self.snapshot()
        self.assertEqual(read(os.path.join(plan["snapshot_dir"], "my data", UNICODE_NAME)), "été\n")


class DirtyTest(RepoTestCase):
    def make_dirty(self) -> None:
        self.make_repo()
        write(os.path.join(self.root, "lib", "model.py"), "DEPTH = 2\n")
        write(os.path.join(self.root, "new file.py"), "NEW = True\n")

    def test_error(self):
        self.make_dirty()
        with self.assertRaises(GitError) as caught:
            self.snapshot(dirty="error")
        self.assertEqual(str(caught.exception), (
            f"Cannot take a snapshot of {self.root}: 2 uncommitted changes (commit them, or set xp.dirty to ignore, commit or patch):\n"
            "   M lib/model.py\n"
            "  ?? new file.py"
        ))
        self.assertFalse(os.path.exists(os.path.join(self.root, ".tinyxp")))

    def test_ask_without_a_terminal_is_error(self):
        self.make_dirty()
        with mock.patch.object(sys, "stdin", io.StringIO("c\n")):
            with self.assertRaisesRegex(GitError, r"2 uncommitted changes \(commit them"):
                self.snapshot(dirty="ask", interactive=True)

    def test_unknown_mode(self):
        self.make_repo()
        with self.assertRaises(ConfigError) as caught:
            self.snapshot(dirty="pach")
        self.assertEqual(str(caught.exception), "Invalid value 'pach' for the tinyxp setting 'dirty'; did you mean 'patch'? (expected one of ask, ignore, commit, patch, error)")

    def test_ignore(self):
        self.make_dirty()
        commit = self.head()
        plan = self.snapshot(dirty="ignore")
        self.assertEqual(plan["snapshot_dir"], os.path.join(self.root, ".tinyxp", "snapshots", "proj", commit))
        self.assertEqual(read(os.path.join(plan["snapshot_dir"], "lib", "model.py")), "DEPTH = 1\n")
        self.assertEqual((plan["dirty"], plan["changed"], plan["dirty_mode"]), (True, ["lib/model.py", "new file.py"], "ignore"))
        self.assertEqual(self.stderr, (
            f"tinyxp: warning: running commit {commit[:12]} of {self.root} without 2 uncommitted changes:\n"
            "   M lib/model.py\n"
            "  ?? new file.py\n"
        ))

    def test_commit(self):
        self.make_dirty()
        before = self.head()
        plan = self.snapshot(dirty="commit")
        after = self.head()
        self.assertNotEqual(before, after)
        self.assertEqual(git(self.root, "rev-parse", "HEAD^").strip(), before)
        self.assertEqual(git(self.root, "log", "-1", "--format=%s"), "tinyxp: automatic commit before the run `train.py`\n")
        self.assertEqual((plan["commit"], plan["auto_commit"]), (after, True))
        # what the new commit does not hold: the untracked file alone
        self.assertEqual((plan["dirty"], plan["changed"], plan["n_changed"]), (True, ["new file.py"], 1))
        self.assertEqual(read(os.path.join(plan["snapshot_dir"], "lib", "model.py")), "DEPTH = 2\n")
        # untracked files are not committed: a warning lists them
        self.assertEqual(git(self.root, "status", "--porcelain"), "?? \"new file.py\"\n")
        self.assertEqual(self.stderr, "tinyxp: warning: 1 untracked path left out of the commit and the snapshot:\n  ?? new file.py\n")

    def test_commit_without_a_git_identity(self):
        self.make_dirty()
        before = self.head()
        git(self.root, "config", "user.useConfigOnly", "true")  # no identity guessed from the host name
        with mock.patch.dict(os.environ):
            for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
                os.environ.pop(name, None)
            with self.assertRaises(GitError) as caught:
                self.snapshot(dirty="commit")
        message = str(caught.exception)
        self.assertTrue(message.startswith(f"Cannot run `git commit --all --quiet --file=-` in {self.root}: "), message)
        self.assertIn("Please tell me who you are", message)
        self.assertEqual((self.head(), git(self.root, "status", "--porcelain")), (before, ' M lib/model.py\n?? "new file.py"\n'))
        self.assertFalse(os.path.exists(os.path.join(self.root, ".tinyxp")))

    def test_commit_with_only_untracked_files(self):
        self.make_repo()
        write(os.path.join(self.root, "notes.txt"), "")
        before = self.head()
        plan = self.snapshot(dirty="commit")
        self.assertEqual((plan["commit"], self.head()), (before, before))

    def test_commit_with_only_tracked_changes_is_clean(self):
        self.make_repo()
        write(os.path.join(self.root, "train.py"), "print('changed')\n")
        plan = self.snapshot(dirty="commit")
        self.assertEqual((plan["commit"], plan["dirty"], plan["changed"], plan["n_changed"]), (self.head(), False, [], 0))

    def test_patch(self):
        self.make_dirty()
        os.remove(os.path.join(self.root, "train.py"))
        write(os.path.join(self.root, "data", UNICODE_NAME), "été\n")
        write(os.path.join(self.root, "logs", "1", "x"), "")  # the log folder is left out
        git(self.root, "add", "lib/model.py")  # a staged change, which must stay staged
        index_before = git(self.root, "diff", "--cached")
        status_before = git(self.root, "status", "--porcelain")
        commit = self.head()
        plan = self.snapshot(dirty="patch", log_dir=os.path.join(self.root, "logs"))
        self.assertRegex(os.path.basename(plan["snapshot_dir"]), rf"^{commit}-[0-9a-f]{{12}}$")
        self.assertEqual(list_files(plan["snapshot_dir"]), [tsnap.SNAPSHOT_MARKER, "data/" + UNICODE_NAME, "lib/model.py", "new file.py"])
        self.assertEqual(read(os.path.join(plan["snapshot_dir"], "lib", "model.py")), "DEPTH = 2\n")
        self.assertEqual(plan["patch"], plan["snapshot_dir"] + ".patch")
        # the user's index, working tree and history are as they were
        self.assertEqual((git(self.root, "diff", "--cached"), git(self.root, "status", "--porcelain")), (index_before, status_before))
        self.assertEqual(self.head(), commit)
        # the patch applied to the commit gives the snapshot back
        copy = os.path.join(self.tmp, "copy")
        git(self.root, "worktree", "add", "--quiet", "--detach", copy, commit)
        git(copy, "apply", plan["patch"])
        self.assertEqual(list_files(copy), [".git"] + list_files(plan["snapshot_dir"])[1:])
        # the same changes give the same snapshot; other changes another one
        self.assertEqual(self.snapshot(dirty="patch", log_dir=os.path.join(self.root, "logs"))["snapshot_dir"], plan["snapshot_dir"])
        write(os.path.join(self.root, "new file.py"), "NEW = False\n")
        self.assertNotEqual(self.snapshot(dirty="patch")["snapshot_dir"], plan["snapshot_dir"])

    def test_patch_with_ignored_log_and_snapshot_folders(self):
        # what every user has: `git add` refused to name an ignored folder even to leave it out
        self.make_repo({"train.py": "print('hello')\n", ".gitignore": "exp/logs/\n.tinyxp/\n"})
        write(os.path.join(self.root, "train.py"), "print('changed')\n")
        write(os.path.join(self.root, "exp", "logs", "1", "metadata", "info.yaml"), "")
        write(os.path.join(self.root, ".tinyxp", "snapshots", "old", "train.py"), "")
        plan = self.snapshot(dirty="patch", log_dir=os.path.join(self.root, "exp", "logs"))
        self.assertEqual((plan["dirty"], plan["changed"]), (True, ["train.py"]))
        self.assertEqual(list_files(plan["snapshot_dir"]), [".gitignore", tsnap.SNAPSHOT_MARKER, "train.py"])
        self.assertIn("+print('changed')", read(plan["patch"]))
        # a log folder that is not ignored is still left out
        write(os.path.join(self.root, "logs", "1", "x"), "")
        plan = self.snapshot(dirty="patch", log_dir=os.path.join(self.root, "logs"))
        self.assertEqual(list_files(plan["snapshot_dir"]), [".gitignore", tsnap.SNAPSHOT_MARKER, "train.py"])

    def test_log_folder_inside_the_repository_is_not_a_change(self):
        self.make_repo()
        write(os.path.join(self.root, "logs", "1", "metadata", "info.yaml"), "")
        plan = self.snapshot(dirty="error", log_dir=os.path.join(self.root, "logs"))
        self.assertEqual((plan["dirty"], plan["changed"]), (False, []))


@unittest.skipUnless(sys.platform != "win32", "pseudo-terminals need a POSIX system")
class AskTest(RepoTestCase):
    """xp.dirty=ask, answered through a pseudo-terminal."""

    DRIVER = textwrap.dedent("""\
        import sys
        from tinyxp.run import snapshot as git
        from tinyxp.errors import GitError
        xp = {"snapshot_dir": ".snaps", "dirty": "ask", "interactive": sys.argv[2:] != ["--not-interactive"], "log_dir": "logs"}
        try:
            plan = git.prepare_snapshot(sys.argv[1], xp)
        except GitError as err:
            print("ERROR", err)
        else:
            print("RESULT", plan["dirty_mode"], plan["commit"], plan["snapshot_dir"])
        """)

    def answer(self, *answers: str, options: tuple = ()) -> str:
        """Run the driver on a terminal, type each answer at a prompt in turn; returns all it printed."""
        import pty
        import select

        driver = os.path.join(self.tmp, "driver.py")
        write(driver, self.DRIVER)
        master, slave = pty.openpty()
        proc = start_process(self, [sys.executable, driver, os.path.join(self.root, "train.py"), *options], cwd=self.root,
                             stdin=slave, stdout=slave, stderr=slave, env=dict(os.environ, PYTHONPATH=MAIN))
        os.close(slave)
        output = b""
        pending = list(answers)
        try:
            while True:
                ready, _, _ = select.select([master], [], [], 60)
                if not ready:
                    self.fail(f"the driver stopped answering; it printed {output.decode()!r}")
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the terminal's other end is closed
                    break
                if not chunk:
                    break
                output += chunk
                if pending and output.count(b"or [a]bort? ") > len(answers) - len(pending):
                    os.write(master, pending.pop(0).encode())
        finally:
            os.close(master)
            proc.wait(timeout=60)
        return output.decode().replace("\r\n", "\n")

    def make_dirty(self) -> None:
        self.make_repo()
        write(os.path.join(self.root, "lib", "model.py"), "DEPTH = 2\n")

    def test_prompt_shows_the_changes(self):
        self.make_dirty()
        output = self.answer("i\n")
        self.assertIn(f"tinyxp: {self.root} has 1 uncommitted change:\n   M lib/model.py\n", output)
        self.assertIn("[c]ommit them and run, run with them as a [p]atch (no commit), [i]gnore them (run the last commit), or [a]bort? ", output)

    def test_commit(self):
        self.make_dirty()
        before = self.head()
        output = self.answer("c\n")
        self.assertNotEqual(self.head(), before)
        self.assertIn(f"RESULT commit {self.head()} ", output)

    def test_patch(self):
        self.make_dirty()
        output = self.answer("p\n")
        self.assertRegex(output, rf"RESULT patch {self.head()} .*/{self.head()}-[0-9a-f]{{12}}\n")

    def test_ignore(self):
        self.make_dirty()
        output = self.answer("ignore\n")
        self.assertIn(f"RESULT ignore {self.head()} {os.path.join(self.root, '.snaps', 'proj', self.head())}\n", output)

    def test_abort(self):
        self.make_dirty()
        output = self.answer("a\n")
        self.assertIn(f"ERROR Cannot take a snapshot of {self.root}: aborted at the prompt about uncommitted changes\n", output)
        self.assertFalse(os.path.exists(os.path.join(self.root, ".snaps")))

    def test_unclear_answer_asks_again(self):
        self.make_dirty()
        before = self.head()
        output = self.answer("yes\n", "\n", "a\n")
        prompt = "[c]ommit them and run, run with them as a [p]atch (no commit), [i]gnore them (run the last commit), or [a]bort? "
        self.assertEqual(output, (
            f"tinyxp: {self.root} has 1 uncommitted change:\n   M lib/model.py\n"
            f"{prompt}yes\n{prompt}\n{prompt}a\n"  # the terminal echoes each answer
            f"ERROR Cannot take a snapshot of {self.root}: aborted at the prompt about uncommitted changes\n"
        ))
        self.assertEqual(self.head(), before)
        self.assertFalse(os.path.exists(os.path.join(self.root, ".snaps")))

    def test_not_interactive_on_a_terminal_is_error(self):
        self.make_dirty()
        output = self.answer(options=("--not-interactive",))
        self.assertEqual(output, (
            f"ERROR Cannot take a snapshot of {self.root}: 1 uncommitted change (commit them, or set xp.dirty to ignore, commit or patch):\n"
            "   M lib/model.py\n"
        ))

    def test_end_of_input_aborts(self):
        self.make_dirty()
        output = self.answer("\x04")  # Ctrl-D
        self.assertIn(f"ERROR Cannot take a snapshot of {self.root}: aborted at the prompt about uncommitted changes\n", output)


class RelaunchTest(RepoTestCase):
    SCRIPT = textwrap.dedent("""\
        import json, os, sys
        with open(os.environ["RESULT"], "w") as file:
            json.dump({"file": __file__, "cwd": os.getcwd(), "argv": sys.argv[1:],
                       "state": json.loads(os.environ["TINYXP_IN_SNAPSHOT"])}, file)
        sys.exit(int(os.environ.get("EXIT", "0")))
        """)

    def relaunch(self, argv, cwd=None, **settings):
        result = os.path.join(self.tmp, "result.json")
        with mock.patch.dict(os.environ, {"RESULT": result}):
            with contextlib.redirect_stderr(io.StringIO()):
                previous = os.getcwd()
                os.chdir(cwd or self.root)
                try:
                    status = trelaunch.relaunch_in_snapshot(os.path.join(self.root, "exp", "train.py"), argv, self.xp(**settings))
                finally:
                    os.chdir(previous)
        with open(result) as file:
            return status, json.load(file)

    def test_runs_from_the_snapshot(self):
        self.make_repo({"exp/train.py": self.SCRIPT})
        status, seen = self.relaunch(["lr=0.1", "xp.snapshot=true", "xp.log_dir=elsewhere"], cwd=os.path.join(self.root, "exp"))
        snapshot = os.path.join(self.root, ".tinyxp", "snapshots", "proj", self.head())
        self.assertEqual(status, 0)
        self.assertEqual(seen["file"], os.path.join(snapshot, "exp", "train.py"))
        self.assertEqual(seen["cwd"], os.path.join(snapshot, "exp"))
        self.assertEqual(seen["argv"], ["lr=0.1", "xp.snapshot=false", "xp.log_dir=" + os.path.join(self.tmp, "logs")])
        self.assertEqual((seen["state"]["commit"], seen["state"]["snapshot_dir"], seen["state"]["root"]), (self.head(), snapshot, self.root))

    def test_exit_status_and_quoted_log_dir(self):
        self.make_repo({"exp/train.py": self.SCRIPT})
        with mock.patch.dict(os.environ, {"EXIT": "3"}):
            status, seen = self.relaunch([], log_dir=os.path.join(self.tmp, "my logs, v1"))
        self.assertEqual(status, 3)
        self.assertEqual(seen["argv"], ["xp.snapshot=false", "xp.log_dir='" + os.path.join(self.tmp, "my logs, v1") + "'"])

    def test_working_folder_outside_the_repository(self):
        self.make_repo({"exp/train.py": self.SCRIPT})
        self.assertEqual(self.relaunch([], cwd=self.tmp)[1]["cwd"], self.tmp)

    def test_script_not_in_the_commit(self):
        self.make_repo({"README": ""})
        write(os.path.join(self.root, "exp", "train.py"), self.SCRIPT)
        with self.assertRaises(GitError) as caught:
            self.relaunch([], dirty="ignore")
        self.assertEqual(str(caught.exception), (
            f"Cannot run from the snapshot of {self.root}: 'exp/train.py' is not in commit {self.head()[:12]}"
            " (commit it, or use xp.dirty=patch)"
        ))

    def test_signal_exit_status(self):
        self.make_repo({"exp/train.py": "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n"})
        with contextlib.redirect_stderr(io.StringIO()):
            status = trelaunch.relaunch_in_snapshot(os.path.join(self.root, "exp", "train.py"), [], self.xp())
        self.assertEqual(status, 128 + 15)


class RelaunchEntryTest(RepoTestCase):
    """The child starts as the command line did: `python -m`, another entry script, PYTHONPATH."""

    TASK = textwrap.dedent("""\
        import os, sys
        from tinyxp.run import relaunch as git
        if os.environ.get("TINYXP_IN_SNAPSHOT"):
            from pkg.helpers import VALUE
            import mylib
            print("child", __name__, __file__, VALUE, mylib.__file__, sys.argv[1:])
        elif __name__ == "__main__":
            sys.exit(git.relaunch_in_snapshot(__file__, sys.argv[1:], {"snapshot_dir": ".snaps", "dirty": "error", "interactive": False, "log_dir": "logs"}))
        """)
    RUN = textwrap.dedent("""\
        import os, sys
        from tinyxp.run import relaunch as git
        import pkg.train
        if not os.environ.get("TINYXP_IN_SNAPSHOT"):
            sys.exit(git.relaunch_in_snapshot(pkg.train.__file__, sys.argv[1:], {"snapshot_dir": ".snaps", "dirty": "error", "interactive": False, "log_dir": "logs"}))
        """)

    def setUp(self) -> None:
        super().setUp()
        self.make_repo({"pkg/__init__.py": "", "pkg/helpers.py": "VALUE = 1\n", "pkg/train.py": self.TASK,
                        "src/mylib.py": "", "run.py": self.RUN})
        self.snapshot_dir = os.path.join(self.root, ".snaps", "proj", self.head())

    def run_python(self, *args: str) -> str:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([MAIN, os.path.join(self.root, "src")]))
        result = run_process([sys.executable, *args, "lr=1"], cwd=self.root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_module(self):
        self.assertEqual(self.run_python("-m", "pkg.train"), (
            f"child __main__ {os.path.join(self.snapshot_dir, 'pkg', 'train.py')} 1 {os.path.join(self.snapshot_dir, 'src', 'mylib.py')}"
            f" ['lr=1', 'xp.snapshot=false', 'xp.log_dir={os.path.join(self.root, 'logs')}']\n"
        ))

    def test_entry_script_importing_the_task(self):
        self.assertEqual(self.run_python("run.py"), (
            f"child pkg.train {os.path.join(self.snapshot_dir, 'pkg', 'train.py')} 1 {os.path.join(self.snapshot_dir, 'src', 'mylib.py')}"
            f" ['lr=1', 'xp.snapshot=false', 'xp.log_dir={os.path.join(self.root, 'logs')}']\n"
        ))


class SignalForwardingTest(RepoTestCase):
    CHILD = textwrap.dedent("""\
        import signal, sys, time
        def stop(signum, frame):
            print("child got", signal.Signals(signum).name, flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, stop)
        print("READY", flush=True)
        time.sleep(60)
        """)
    PARENT = textwrap.dedent("""\
        import sys
        from tinyxp.run import relaunch as git
        xp = {"snapshot_dir": ".snaps", "dirty": "error", "interactive": False, "log_dir": "logs"}
        sys.exit(git.relaunch_in_snapshot(sys.argv[1], [], xp))
        """)

    def test_sigterm_reaches_the_child(self):
        import signal

        self.make_repo({"exp/train.py": self.CHILD})
        parent = os.path.join(self.tmp, "parent.py")
        write(parent, self.PARENT)
        proc = start_process(self, [sys.executable, parent, os.path.join(self.root, "exp", "train.py")], cwd=self.root,
                             stdout=subprocess.PIPE, universal_newlines=True, env=dict(os.environ, PYTHONPATH=MAIN))
        self.assertEqual(wait_for_line(proc, "READY"), "READY\n")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(finish(proc), ("child got SIGTERM\n", None))
        self.assertEqual(proc.returncode, 7)


class SnapshotInfoForRunTest(RepoTestCase):
    def test_not_in_a_snapshot(self):
        self.assertIsNone(tsnap.snapshot_info_for_run(self.tmp))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "metadata")))

    def test_files_written(self):
        patch = os.path.join(self.tmp, "abc.patch")
        write(patch, "diff --git a/x b/x\n")
        state = {"commit": "a" * 40, "branch": "main", "dirty": True, "changed": ["x"], "n_changed": 1, "root": "/src/proj",
                 "snapshot_dir": "/snap", "dirty_mode": "patch", "patch": patch}
        run_dir = os.path.join(self.tmp, "logs", "1")
        with mock.patch.dict(os.environ, {tsnap.SNAPSHOT_ENV: json.dumps(state)}):
            info = tsnap.snapshot_info_for_run(run_dir)
        self.assertEqual(info, {"commit": "a" * 40, "branch": "main", "dirty": True, "changed": ["x"], "n_changed": 1,
                                "root": "/src/proj", "snapshot_dir": "/snap", "dirty_mode": "patch",
                                "patch": os.path.join("metadata", "uncommitted.patch")})
        self.assertEqual(read(os.path.join(run_dir, "metadata", "uncommitted.patch")), "diff --git a/x b/x\n")
        lines = read(os.path.join(run_dir, "metadata", "requirements.txt")).splitlines()
        self.assertEqual(lines[0], requirements_header())
        self.assertTrue(all("==" in line for line in lines[1:]), lines)
        self.assertEqual(lines[1:], sorted(lines[1:], key=str.lower))
        self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "metadata"))), ["requirements.txt", "uncommitted.patch"])

    def test_patch_file_missing(self):
        missing = os.path.join(self.tmp, "gone.patch")
        state = {"commit": "a" * 40, "branch": "main", "root": "/src/proj", "snapshot_dir": "/snap", "patch": missing}
        with mock.patch.dict(os.environ, {tsnap.SNAPSHOT_ENV: json.dumps(state)}):
            with self.assertRaises(GitError) as caught:
                tsnap.snapshot_info_for_run(os.path.join(self.tmp, "run"))
        self.assertEqual(str(caught.exception), f"Cannot read the uncommitted changes of /src/proj from {missing}: No such file or directory")

    def test_malformed_environment_variable(self):
        for text, message in [
            ("{", "Invalid TINYXP_IN_SNAPSHOT environment variable: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            ('{"commit": "a"}', "Invalid TINYXP_IN_SNAPSHOT environment variable: missing branch, root, snapshot_dir"),
        ]:
            with self.subTest(text=text), mock.patch.dict(os.environ, {tsnap.SNAPSHOT_ENV: text}):
                with self.assertRaises(GitError) as caught:
                    tsnap.snapshot_info_for_run(self.tmp)
                self.assertEqual(str(caught.exception), message)


class EarlyRecordTest(RepoTestCase):
    """A launch does not wait for `git status`: info.git is written without it, then with it."""

    def test_info_git_before_and_after_git_status_answers(self):
        import threading

        from tinyxp._files import read_yaml

        from . import support

        script = support.write_project(self.root, body="    HOOK(ctx)\n")
        self.make_repo({})
        write(os.path.join(self.root, "notes.txt"), "")
        module = support.load_script(script, "tinyxp_test_git_early")
        release = threading.Event()
        real_start_git = tgit.start_git

        def held_start_git(args, *rest, **options):
            wait = real_start_git(args, *rest, **options)

            def held():
                wait_event(release, "the task never released git status")
                return wait()

            return held

        seen = []

        def hook(ctx):
            info_path = os.path.join(ctx.info.run_dir, "metadata", "info.yaml")
            seen.append(read_yaml(info_path)["git"])
            release.set()

            def whole_record():  # once the heartbeat thread has written it
                git_info = read_yaml(info_path)["git"]
                return git_info if "dirty" in git_info else None

            seen.append(wait_until(whole_record, lambda: f"info.git never got the dirty state: {read_yaml(info_path)['git']}",
                                   interval=0.01))

        module.HOOK = hook
        with mock.patch.object(tgit, "start_git", held_start_git):
            module.train(["xp.log_dir=" + os.path.join(self.root, "logs")])
        self.assertEqual(seen, [
            {"commit": self.head(), "branch": "main", "root": self.root},
            {"commit": self.head(), "branch": "main", "dirty": True, "changed": ["notes.txt"], "n_changed": 1, "root": self.root},
        ])


class EndToEndTest(RepoTestCase):
    """Scripts using @tinyxp.launch run in a subprocess from a temporary repository."""

    BODY = """\
        import os
        from lib.model import DEPTH
        ctx.logger.log_metrics({"file": __file__, "cwd": os.getcwd(), "depth": DEPTH}, log_name="where")
        """

    def setUp(self) -> None:
        super().setUp()
        from . import support

        self.support = support
        script = support.write_project(self.root, body=self.BODY, files={"lib/__init__.py": "", "lib/model.py": "DEPTH = 1\n"})
        self.make_repo({})
        self.script = script

    def run_train(self, *args: str) -> subprocess.CompletedProcess:
        result = self.support.run_script(self.script, list(args), cwd=self.root)
        return result

    def run_record(self, run_id: int):
        from tinyxp import yaml

        run_dir = os.path.join(self.root, "logs", str(run_id))
        (where,) = self.support.read_jsonl(os.path.join(run_dir, "metrics", "where.jsonl"))
        return where, yaml.load(read(os.path.join(run_dir, "metadata", "info.yaml"))), run_dir

    def test_runs_from_the_snapshot_and_records_it(self):
        result = self.run_train("xp.snapshot=true", "lr=0.5")
        self.assertEqual(result.returncode, 0, result.stderr)
        snapshot = os.path.join(self.root, ".tinyxp", "snapshots", "proj", self.head())
        where, info, run_dir = self.run_record(1)
        self.assertEqual((where["file"], where["cwd"], where["depth"]), (os.path.join(snapshot, "train.py"), snapshot, 1))
        self.assertEqual(info["work_dir"], snapshot)
        self.assertEqual(
            {key: info["git"][key] for key in ("commit", "branch", "dirty", "root", "snapshot_dir")},
            {"commit": self.head(), "branch": "main", "dirty": False, "root": self.root, "snapshot_dir": snapshot},
        )
        self.assertEqual(read(os.path.join(run_dir, "metadata", "requirements.txt")).splitlines()[0], requirements_header())
        self.assertFalse(os.path.exists(os.path.join(run_dir, "metadata", "uncommitted.patch")))

    def test_job_started_in_the_snapshot_without_the_variable(self):
        # a job script whose scheduler does not pass on the environment, or info.command run by hand
        snapshots = os.path.join(self.tmp, "snaps")  # outside the repository: no .git above the snapshot
        self.assertEqual(self.run_train("xp.snapshot=true", "xp.snapshot_dir=" + snapshots).returncode, 0)
        first = self.head()
        write(os.path.join(self.root, "lib", "model.py"), "DEPTH = 2\n")
        git(self.root, "commit", "--quiet", "--all", "--message", "edited while the job waits")
        snapshot = os.path.join(snapshots, "proj", first)
        result = self.support.run_script(os.path.join(snapshot, "train.py"), ["xp.log_dir=" + os.path.join(self.root, "logs")], cwd=snapshot)
        self.assertEqual(result.returncode, 0, result.stderr)
        where, info, run_dir = self.run_record(2)
        self.assertEqual(where["depth"], 1)
        self.assertEqual(info["git"], {"commit": first, "branch": "main", "root": self.root, "snapshot_dir": snapshot})
        self.assertEqual(read(os.path.join(run_dir, "metadata", "requirements.txt")).splitlines()[0], requirements_header())

    def test_later_edits_do_not_change_a_run_of_the_same_commit(self):
        self.assertEqual(self.run_train("xp.snapshot=true").returncode, 0)
        write(os.path.join(self.root, "lib", "model.py"), "DEPTH = 2\n")
        result = self.run_train("xp.snapshot=true", "xp.dirty=ignore")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("tinyxp: warning: running commit", result.stderr)
        where, info, _ = self.run_record(2)
        self.assertEqual(where["depth"], 1)
        self.assertEqual((info["git"]["dirty"], info["git"]["changed"]), (True, ["lib/model.py"]))
        self.assertEqual(info["git"]["snapshot_dir"], self.run_record(1)[1]["git"]["snapshot_dir"])

    def test_patch_runs_the_working_tree(self):
        write(os.path.join(self.root, "lib", "model.py"), "DEPTH = 3\n")
        result = self.run_train("xp.snapshot=true", "xp.dirty=patch")
        self.assertEqual(result.returncode, 0, result.stderr)
        where, info, run_dir = self.run_record(1)
        self.assertEqual(where["depth"], 3)
        self.assertRegex(info["git"]["snapshot_dir"], rf"/{self.head()}-[0-9a-f]{{12}}$")
        self.assertEqual((info["git"]["patch"], info["git"]["dirty_mode"]), ("metadata/uncommitted.patch", "patch"))
        self.assertIn("+DEPTH = 3\n", read(os.path.join(run_dir, "metadata", "uncommitted.patch")))
        self.assertEqual(self.head(), git(self.root, "rev-parse", "HEAD").strip())

    def test_dirty_without_a_terminal_is_refused(self):
        write(os.path.join(self.root, "lib", "model.py"), "DEPTH = 2\n")
        result = self.run_train("xp.snapshot=true")
        self.assertEqual(result.returncode, 2)
        self.assertTrue(result.stderr.endswith(
            f"error: Cannot take a snapshot of {self.root}: 1 uncommitted change (commit them, or set xp.dirty to ignore, commit or patch):\n"
            "   M lib/model.py\n"
        ), result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "logs", "1")))

    def test_git_not_installed(self):
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        result = self.support.run_script(self.script, [], cwd=self.root, env={"PATH": empty})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("git", self.run_record(1)[1])
        result = self.support.run_script(self.script, ["xp.snapshot=true"], cwd=self.root, env={"PATH": empty})
        self.assertEqual(result.returncode, 2)
        self.assertIn("git is not installed (not found on PATH)\n", result.stderr)

    def test_recorded_without_snapshot(self):
        write(os.path.join(self.root, "notes.txt"), "")
        result = self.run_train()
        self.assertEqual(result.returncode, 0, result.stderr)
        where, info, _ = self.run_record(1)
        self.assertEqual(where["file"], self.script)
        self.assertEqual(
            {key: info["git"][key] for key in ("commit", "branch", "dirty", "changed", "n_changed", "root")},
            {"commit": self.head(), "branch": "main", "dirty": True, "changed": ["notes.txt"], "n_changed": 1, "root": self.root},
        )


if __name__ == "__main__":
    unittest.main()
