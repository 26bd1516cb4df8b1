"""`tinyxp tag`, `note`, `rm`, `restore` and `gc`: what they change, what they refuse, what a crash leaves."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import unittest
from unittest import mock

from .bench import synth
from .support import REPO_ROOT, run_process, temp_dir
from tinyxp._files import allocate_run_dir, read_yaml
from tinyxp.cli import main


def run_cli(*argv: str, stdin: io.StringIO | None = None) -> tuple:
    """(exit status, stdout, stderr) of tinyxp.cli.main(argv), with stdin when given."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), mock.patch.object(sys, "stdin", stdin or io.StringIO()):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


class Terminal(io.StringIO):
    """Standard input that is a terminal, answering with its text."""

    def isatty(self) -> bool:
        return True


def tree_digest(folder: str) -> dict:
    """{relative path: (sha256 of the content, mtime_ns)} of every file and folder under folder
    (but the reader's index, which reading rewrites)."""
    found = {}
    for path, folders, files in os.walk(folder):
        if ".tinyxp" in folders:
            folders.remove(".tinyxp")
        for name in folders + files:
            full = os.path.join(path, name)
            content = b""
            if os.path.isfile(full):
                with open(full, "rb") as file:
                    content = file.read()
            found[os.path.relpath(full, folder)] = (hashlib.sha256(content).hexdigest(), os.stat(full).st_mtime_ns)
    return found


class TidyTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 5, n_lines=2)
        self.trash = os.path.join(self.log_dir, ".trash")

    def cli(self, *argv: str, stdin: io.StringIO | None = None) -> tuple:
        return run_cli(argv[0], "-l", self.log_dir, *argv[1:], stdin=stdin)

    def notes(self, run_id: int) -> dict:
        path = os.path.join(self.log_dir, str(run_id), "metadata", "notes.yaml")
        return read_yaml(path) if os.path.exists(path) else None

    def assert_error(self, result: tuple, message: str) -> None:
        self.assertEqual((result[0], result[2]), (2, f"tinyxp: error: {message}\n"))


class TagNoteTest(TidyTestCase):
    def test_tag_runs_by_id_and_by_query_then_remove(self) -> None:
        self.assertEqual(self.cli("tag", "1", "3", "baseline", "good"), (0, "1: baseline, good\n3: baseline, good\n", ""))
        status, out, _ = self.cli("tag", "-q", "config.model.name == 'cnn'", "cnn")
        self.assertEqual((status, out), (0, "2: cnn\n4: cnn\n"))
        self.assertEqual(self.notes(1), {"tags": ["baseline", "good"], "note": None})
        self.assertEqual(self.cli("tag", "--remove", "1", "3", "good")[1], "1: baseline\n3: baseline\n")
        self.assertEqual(self.cli("tag", "--remove", "2", "cnn")[1], "2: (no tags)\n")
        status, out, _ = run_cli("runs", self.log_dir, "-q", "'baseline' in tags", "-c", "id,tags")
        self.assertEqual(out, 'id  tags\n 1  ["baseline"]\n 3  ["baseline"]\n')
        self.assertEqual(run_cli("runs", self.log_dir)[1].split("\n")[0].split()[:3], ["id", "status", "tags"])
        self.assertIn("tags: baseline", run_cli("show", os.path.join(self.log_dir, "1"))[1].split("\n"))

    def test_a_run_that_cannot_be_written_or_is_not_one(self) -> None:
        path = os.path.join(self.log_dir, "1", "metadata", "notes.yaml")
        with mock.patch("tinyxp._files.write_atomic", side_effect=PermissionError(13, "Permission denied")):
            self.assert_error(self.cli("note", "1", "x"), f"Cannot write {path!r}: Permission denied")
        os.makedirs(os.path.join(self.log_dir, "6", "metadata"))  # not a run: no info.yaml
        status, _, err = self.cli("tag", "6", "x")
        self.assertEqual((status, err.splitlines()[-1]), (2, f"tinyxp: error: No run 6 in {self.log_dir!r}"))
        self.assertFalse(os.path.exists(os.path.join(self.log_dir, "6", "metadata", "notes.yaml")))

    def test_note(self) -> None:
        self.assertEqual(self.cli("note", "2", "5", "lr too high"), (0, "2: lr too high\n5: lr too high\n", ""))
        self.assertEqual(self.notes(2), {"tags": [], "note": "lr too high"})
        self.assertEqual(run_cli("runs", self.log_dir, "-q", "note == 'lr too high'", "-c", "id")[1], "id\n 2\n 5\n")
        self.assertIn("note: lr too high", run_cli("show", os.path.join(self.log_dir, "2"))[1].split("\n"))
        self.assertEqual(self.cli("note", "2", "")[1], "2: note removed\n")
        self.assertEqual(self.notes(2)["note"], None)

    def test_bad_input_changes_nothing(self) -> None:
        cases = {
            ("tag", "1", "a b"): "Invalid tag 'a b': expected a letter or _, then letters, digits or _ - . : + / @, "
            "so that queries and command lines can name it",
            ("tag", "1", "7up"): "Invalid tag '7up': expected a letter or _, then letters, digits or _ - . : + / @, "
            "so that queries and command lines can name it",
            ("tag", "1", "99", "x"): f"No run 99 in {self.log_dir!r}",
            ("tag", "1"): "Expected a tag after the run ids",
            ("tag", "x"): "Name the runs by id (e.g. 7 12) or select them with -q QUERY",
            ("tag", "-q", "config.seed == 99", "x"): f"No run in {self.log_dir!r} matches the query 'config.seed == 99'",
            ("note", "1", "lr", "too high"): "Expected one note after the run ids, got 2 words: quote the note, e.g. \"lr too high\"",
            ("note", "1"): "Expected the note after the run ids",
        }
        for argv, message in cases.items():
            with self.subTest(argv=argv):
                self.assert_error(self.cli(*argv), message)
                self.assertIsNone(self.notes(1))
        status, _, err = self.cli("tag", "-q", "config.sed == 1", "x")
        self.assertEqual((status, err.split("\n")[0]), (2, "tinyxp: error: Unknown field 'config.sed'; did you mean 'config.seed'?"))
        self.assert_error(run_cli("tag", "-l", self.log_dir + "-missing", "1", "x"),
                          f"Cannot read log directory {self.log_dir + '-missing'!r}: it does not exist")


class RmRestoreTest(TidyTestCase):
    def test_rm_then_restore_leaves_the_run_byte_identical(self) -> None:
        before = {run_id: tree_digest(os.path.join(self.log_dir, run_id)) for run_id in ("2", "4")}
        status, out, err = self.cli("rm", "2", "--yes", "-q", "config.model.name == 'cnn'")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out.split("\n")[-2], "Removed 2 run(s): 2 4")
        self.assertEqual(sorted(os.listdir(self.trash)), ["2", "4"])
        self.assertEqual(run_cli("runs", self.log_dir, "-c", "id")[1], "id\n 1\n 3\n 5\n")
        self.assertEqual(self.cli("restore", "2", "4"), (0, "Restored 2 run(s): 2 4\n", ""))
        self.assertEqual({run_id: tree_digest(os.path.join(self.log_dir, run_id)) for run_id in ("2", "4")}, before)
        self.assertEqual(os.listdir(self.trash), [])
        self.assertEqual(len(run_cli("runs", self.log_dir, "-c", "id")[1].split()), 6)

    def test_removed_ids_are_never_given_again(self) -> None:
        self.cli("rm", "5", "--yes")
        self.assertEqual(allocate_run_dir(self.log_dir)[0], 6)
        os.rmdir(os.path.join(self.log_dir, "6"))
        self.cli("rm", "4", "--yes")
        self.assertEqual(self.cli("gc", "--yes")[0], 0)  # the trash is emptied: the ids stay taken
        self.assertEqual(allocate_run_dir(self.log_dir)[0], 6)

    def test_dry_run_and_confirmation(self) -> None:
        status, out, _ = self.cli("rm", "1", "--dry-run")
        self.assertEqual((status, out.split("\n")[-2]), (0, "Nothing removed."))
        self.assertIn(f"Moving 1 run(s) to {self.trash} (tinyxp restore brings them back):\n      1  COMPLETE\n", out)
        self.assert_error(self.cli("rm", "1"), "Not removing 1 run(s) without a confirmation: standard input is not a terminal (pass --yes)")
        status, out, _ = self.cli("rm", "1", stdin=Terminal("n\n"))
        self.assertEqual((status, out.split("\n")[-2]), (1, "Remove 1 run(s)? [y/N] Nothing removed."))
        self.assertTrue(os.path.isdir(os.path.join(self.log_dir, "1")))
        self.assertEqual(self.cli("rm", "1", stdin=Terminal("y\n"))[0], 0)
        self.assertTrue(os.path.isdir(os.path.join(self.trash, "1")))

    def test_live_runs_need_force(self) -> None:
        synth.write_run(self.log_dir, 6, {}, status="RUNNING")
        synth.write_run(self.log_dir, 7, {}, status="PENDING")
        self.assert_error(self.cli("rm", "5", "6", "7", "--yes"),
                          "Cannot remove 2 live run(s) without --force: a job may still write there\n      6  RUNNING\n      7  PENDING")
        self.assertFalse(os.path.exists(self.trash))
        self.assertEqual(self.cli("rm", "5", "6", "7", "--yes", "--force")[0], 0)
        self.assertEqual(sorted(os.listdir(self.trash)), ["5", "6", "7"])

    def test_a_lost_run_and_a_broken_run_directory_are_removed_without_force(self) -> None:
        lost = synth.write_run(self.log_dir, 6, {}, status="RUNNING")
        for path in ("heartbeat", "metadata/info.yaml"):
            os.utime(os.path.join(lost, path), (0, 0))
        os.makedirs(os.path.join(self.log_dir, "7", "metadata"))  # no info.yaml: not a run the reader lists
        status, out, _ = self.cli("rm", "6", "7", "--yes")
        self.assertEqual(status, 0)
        self.assertIn("      6  LOST\n      7  (no status)\n", out)

    def test_bad_input_changes_nothing(self) -> None:
        os.makedirs(os.path.join(self.trash, "3"))
        cases = {
            ("rm", "1", "99", "--yes"): f"No run 99 in {self.log_dir!r}",
            ("rm", "1", "seven", "--yes"): "Invalid run id 'seven': expected a run's number, e.g. 7",
            ("rm", "--yes"): "Name the runs by id (e.g. 7 12) or select them with -q QUERY",
            ("rm", "-q", "config.seed == 99", "--yes"): f"No run in {self.log_dir!r} matches the query 'config.seed == 99'",
            ("rm", "1", "3", "--yes"): f"Cannot remove run 3: the trash holds a run 3 already ({self.trash})",
            ("restore", "2"): f"Run 2 is not in the trash of {self.log_dir!r}",
            ("restore", "3"): f"Cannot restore run 3: {os.path.join(self.log_dir, '3')} exists",
            ("restore",): f"Name the runs to restore, or pass --all; the trash of {self.log_dir!r} holds:\n      3  (no status)",
            ("restore", "--all"): f"Cannot restore run 3: {os.path.join(self.log_dir, '3')} exists",
        }
        before = tree_digest(self.log_dir)
        for argv, message in cases.items():
            with self.subTest(argv=argv):
                self.assert_error(self.cli(*argv), message)
                self.assertEqual(tree_digest(self.log_dir), before)

    def test_restore_all(self) -> None:
        self.assertEqual(self.cli("restore", "--all")[1], "The trash is empty: nothing to restore.\n")
        self.cli("rm", "1", "2", "--yes")
        self.assertEqual(self.cli("restore", "--all")[1], "Restored 2 run(s): 1 2\n")

    def test_a_failure_in_the_middle_leaves_each_run_whole(self) -> None:
        before = {name: tree_digest(os.path.join(self.log_dir, name)) for name in "12345"}
        rename = os.rename
        calls = []

        def fail_third(source: str, target: str) -> None:
            calls.append(source)
            if len(calls) == 3:
                raise OSError(28, "No space left on device")
            rename(source, target)

        with mock.patch.object(os, "rename", fail_third):
            result = self.cli("rm", "1", "2", "3", "4", "--yes")
        self.assert_error(result, "Cannot move run 3 to the trash: No space left on device; moved before it: 1 2")
        self.assertEqual(sorted(os.listdir(self.trash)), ["1", "2"])
        for name in "12345":
            place = os.path.join(self.trash if name in "12" else self.log_dir, name)
            self.assertEqual(tree_digest(place), before[name], name)

    def test_a_kill_in_the_middle_leaves_each_run_in_place_or_in_the_trash(self) -> None:
        before = {name: tree_digest(os.path.join(self.log_dir, name)) for name in "12345"}
        driver = textwrap.dedent(f"""\
            import os, signal, sys
            rename, calls = os.rename, []
            def rename_then_die(source, target):
                calls.append(source)
                if len(calls) == 4:
                    os.kill(os.getpid(), signal.SIGKILL)
                rename(source, target)
            os.rename = rename_then_die
            from tinyxp.cli import main
            main(["rm", "-l", {self.log_dir!r}, "1", "2", "3", "4", "5", "--yes"])
            """)
        result = run_process([sys.executable, "-c", driver], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, PYTHONPATH=REPO_ROOT), timeout=60)
        self.assertEqual(result.returncode, -9)
        self.assertEqual(sorted(os.listdir(self.trash)), ["1", "2", "3"])
        for name in "12345":
            place = os.path.join(self.trash if name in "123" else self.log_dir, name)
            self.assertEqual(tree_digest(place), before[name], name)


class GcTest(TidyTestCase):
    def snapshot(self, name: str, patch: bool = False) -> str:
        parent = os.path.join(os.path.dirname(self.log_dir), ".tinyxp", "snapshots", "proj")
        path = os.path.join(parent, name)
        os.makedirs(path)
        about = {"commit": name, "branch": "main", "root": "/proj"}
        if patch:
            about["patch"] = path + ".patch"
            with open(about["patch"], "w") as file:
                file.write("diff\n")
        with open(os.path.join(path, ".tinyxp-snapshot.json"), "w") as file:
            json.dump(about, file)
        return path

    def use(self, run_id: int, snapshot: str, status: str = "COMPLETE") -> None:
        run_dir = os.path.join(self.log_dir, str(run_id))
        info = read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))
        info.update(status=status, git={"commit": "abc", "snapshot_dir": snapshot})
        from tinyxp._files import write_yaml

        write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), info)

    def test_gc_deletes_the_trash_and_the_snapshots_only_removed_runs_used(self) -> None:
        only_removed, shared, pending, unknown = (self.snapshot("a", patch=True), self.snapshot("b"), self.snapshot("c"),
                                                  self.snapshot("d"))
        self.use(1, only_removed)
        self.use(2, shared)
        self.use(3, shared)
        self.use(4, pending, status="PENDING")
        self.assertEqual(self.cli("rm", "1", "2", "4", "--yes", "--force")[0], 0)
        status, out, _ = self.cli("gc", "--dry-run")
        self.assertEqual((status, out.split("\n")[-2]), (0, "Nothing deleted."))
        self.assertTrue(os.path.isdir(only_removed))
        status, out, err = self.cli("gc", "--yes")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out, (
            f"Keeping the snapshot {pending}: removed run 4 is PENDING and may need it\n"
            f"Deleting 3 run(s) from {self.trash} for good:\n      1  COMPLETE\n      2  COMPLETE\n      4  PENDING\n"
            f"Deleting 1 code snapshot(s) that only removed runs used:\n  {only_removed}\n"
            "Deleted 3 run(s) and 1 snapshot(s).\n"
        ))
        self.assertEqual(sorted(os.listdir(self.trash)), ["last_run_id"])
        self.assertEqual(sorted(os.listdir(os.path.dirname(only_removed))), ["b", "c", "d"])  # the patch file went too
        self.assertEqual(self.cli("gc", "--yes")[1], "Nothing to collect: the trash is empty.\n")
        self.assertTrue(all(os.path.isdir(path) for path in (shared, pending, unknown)))

    def test_a_second_gc_keeps_the_largest_id_and_cleans_what_a_killed_gc_left(self) -> None:
        bare = self.snapshot("e")
        os.remove(os.path.join(bare, ".tinyxp-snapshot.json"))  # not a patch snapshot, or an old one
        self.use(5, bare)
        self.cli("rm", "5", "--yes")
        self.assertEqual(self.cli("gc", "--yes")[1].split("\n")[-2], "Deleted 1 run(s) and 1 snapshot(s).")
        self.assertFalse(os.path.exists(bare))
        self.cli("rm", "2", "--yes")
        os.makedirs(os.path.join(self.trash, ".tmp-gc-3", "metadata"))
        self.assertEqual(self.cli("gc", "--yes")[0], 0)
        self.assertEqual(sorted(os.listdir(self.trash)), ["last_run_id"])
        with open(os.path.join(self.trash, "last_run_id")) as file:
            self.assertEqual(file.read(), "5\n")

    def test_a_run_that_cannot_be_deleted(self) -> None:
        self.cli("rm", "1", "--yes")
        with mock.patch.object(os, "rename", side_effect=PermissionError(13, "Permission denied")):
            self.assert_error(self.cli("gc", "--yes"), f"Cannot delete {os.path.join(self.trash, '1')}: Permission denied")
        self.assertTrue(os.path.isdir(os.path.join(self.trash, "1")))

    def test_gc_asks_first(self) -> None:
        self.cli("rm", "1", "--yes")
        self.assert_error(self.cli("gc"), "Not deleting without a confirmation: standard input is not a terminal (pass --yes)")
        self.assertEqual(self.cli("gc", stdin=Terminal("no\n"))[0], 1)
        self.assertEqual(os.listdir(self.trash), ["1"])
        self.assert_error(run_cli("gc", "-l", self.log_dir + "-missing"),
                          f"Cannot collect in {self.log_dir + '-missing'!r}: it is not a directory")


if __name__ == "__main__":
    unittest.main()
