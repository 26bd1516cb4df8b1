"""One bad entry in a log folder never hangs, crashes or misleads the reader (issue 12, items 6, 7, 9).

What a group-writable log folder may hold: a FIFO or /dev/zero where a file should be,
a 200 MB info.yaml, symbolic links named like runs or planted inside a run, a damaged
index. Each is skipped and reported in one warning per listing; the other runs are
listed. The listings run in a subprocess with a timeout, since the fault was a hang.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest
import warnings

from tinyxp.read.files import MAX_METADATA_BYTES, UnreadableFile, load_metadata, read_run_file
from tinyxp.read.reader import Reader, ReaderWarning

from .bench import synth
from .index_files import read_index_file, write_index_file
from .support import REPO_ROOT, run_process, temp_dir

HAS_FIFO = hasattr(os, "mkfifo")
LINK = "it is a symbolic link, which tinyxp does not follow inside a run"


def tinyxp_command(*args: str):
    """`python -m tinyxp args` in a subprocess, killed (and the test failed) after 60 s."""
    return run_process([sys.executable, "-m", "tinyxp", *args], timeout=60, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)


def read_with_warnings(log_dir: str) -> tuple:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = Reader(log_dir, progress=False)
    return reader, [str(w.message) for w in caught if issubclass(w.category, ReaderWarning)]


class BadEntryTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.log_dir = os.path.join(self.root, "logs")
        synth.write_tree(self.log_dir, 3, n_lines=3)  # runs 1, 2, 3

    def path(self, *parts: str) -> str:
        return os.path.join(self.log_dir, *parts)

    def assertListed(self, ids: list, problems: dict, *, said_before: bool = False) -> None:
        """The runs listed, and {run id: problem} reported, in one warning (none when a listing said so before)."""
        reader, caught = read_with_warnings(self.log_dir)
        self.assertEqual(reader.runs["info.run_id"], ids)
        self.assertEqual(dict((os.path.basename(path), problem) for path, problem in reader.problems), problems)
        self.assertEqual(len(caught), 1 if problems and not said_before else 0, caught)

    @unittest.skipUnless(HAS_FIFO, "no FIFOs on this platform")
    def test_a_fifo_as_info_yaml_or_metrics_file_does_not_hang(self) -> None:
        os.remove(self.path("2", "metadata", "info.yaml"))
        os.mkfifo(self.path("2", "metadata", "info.yaml"))
        os.mkfifo(self.path("3", "metrics", "valid.jsonl"))
        for args in (("runs", self.log_dir), ("show", self.path("2")), ("show", self.path("3")), ("show", "--no-scheduler-check", self.path("2"))):
            with self.subTest(args=args):
                result = tinyxp_command(*args)
                self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("info: (cannot read metadata/info.yaml: it is not a regular file but a FIFO)", tinyxp_command("show", self.path("2")).stdout)
        self.assertIn("metrics/valid.jsonl: (cannot read: it is not a regular file but a FIFO)", tinyxp_command("show", self.path("3")).stdout)
        self.assertListed([1, 2, 3], {
            "2": "cannot read metadata/info.yaml: it is not a regular file but a FIFO",
            "3": "cannot read metrics/valid.jsonl: it is not a regular file but a FIFO",
        }, said_before=True)  # by the `tinyxp runs` above

    def test_links_named_like_runs_are_not_followed(self) -> None:
        other = os.path.join(self.root, "other")
        synth.write_tree(other, 1, n_lines=1)
        os.symlink(os.path.join(other, "1"), self.path("8"))  # another folder's run: would be listed twice as run 1
        os.symlink("9", self.path("9"))  # itself
        os.symlink(self.path("1"), self.path("10"))  # a run of this folder
        problem = "a symbolic link named like a run: not followed (runs are folders of the log folder)"
        self.assertListed([1, 2, 3], {"8": problem, "9": problem, "10": problem})
        result = tinyxp_command("runs", self.log_dir)  # the reader above said so already: not again
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        os.symlink("10", self.path("11"))  # a new link: said, alone
        result = tinyxp_command("runs", self.log_dir)
        self.assertEqual(result.stderr.count("warning"), 1, result.stderr)
        self.assertIn(f"{self.path('11')}: {problem}", result.stderr)
        self.assertNotIn(self.path("10") + ":", result.stderr)

    def test_large_and_endless_metadata_are_not_read(self) -> None:
        with open(self.path("1", "metadata", "info.yaml"), "ab") as file:
            file.truncate(200 * 1024 * 1024)  # sparse: no disk used
        os.remove(self.path("2", "metadata", "config.yaml"))
        os.symlink("/dev/zero", self.path("2", "metadata", "config.yaml"))
        self.assertListed([1, 2, 3], {
            "1": "cannot read metadata/info.yaml: it has 209,715,200 bytes, more than the 4,194,304 tinyxp reads",
            "2": f"cannot read metadata/config.yaml: {LINK}",
        })
        self.assertEqual(MAX_METADATA_BYTES, 4 * 1024 * 1024)
        result = tinyxp_command("show", self.path("1"))
        self.assertIn("info: (cannot read metadata/info.yaml: it has 209,715,200 bytes", result.stdout)

    @unittest.skipUnless(HAS_FIFO, "no FIFOs on this platform")
    def test_a_fifo_as_the_index_is_replaced(self) -> None:
        os.makedirs(self.path(".tinyxp"))
        os.mkfifo(self.path(".tinyxp", "index.json"))
        result = tinyxp_command("runs", self.log_dir, "-c", "id")
        self.assertEqual((result.returncode, result.stdout.split()), (0, ["id", "1", "2", "3"]), result.stderr)
        self.assertTrue(os.path.isfile(self.path(".tinyxp", "index.json")))

    def test_bad_entries_are_reported_in_one_warning_per_listing(self) -> None:
        os.symlink("5", self.path("5"))
        os.mkdir(self.path("6"))  # no metadata at all
        _, caught = read_with_warnings(self.log_dir)
        self.assertEqual(len(caught), 1, caught)
        self.assertTrue(caught[0].startswith("Read 2 partial run file(s) in part:\n"), caught[0])


class PlantedLinkTest(unittest.TestCase):
    """Symbolic links inside a run directory are never followed for reading (item 7, read side)."""

    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.log_dir = os.path.join(self.root, "logs")
        synth.write_tree(self.log_dir, 2, n_lines=3)
        self.outside = os.path.join(self.root, "outside")
        synth.write_run(self.outside, 1, {"secret": 42}, metrics={"train": [{"loss": 99}]})
        self.secret = os.path.join(self.outside, "1")

    def plant(self, run: str, relative: str, target: str) -> None:
        path = os.path.join(self.log_dir, run, relative)
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil

            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        os.symlink(target, path)

    def test_metadata_and_metric_links(self) -> None:
        self.plant("1", "metadata/config.yaml", os.path.join(self.secret, "metadata", "config.yaml"))
        self.plant("1", "metrics/train.jsonl", os.path.join(self.secret, "metrics", "train.jsonl"))
        self.plant("2", "metadata", os.path.join(self.secret, "metadata"))  # a whole folder
        reader, caught = read_with_warnings(self.log_dir)
        problems = dict((os.path.basename(path), problem) for path, problem in reader.problems if "config" in problem or "train" in problem)
        self.assertEqual(problems["1"], f"cannot read metrics/train.jsonl: {LINK}")
        self.assertNotIn("config.secret", reader.fields)
        self.assertNotIn(99, [v for row in reader.runs for v in (row.get("train.loss") or [])])
        self.assertEqual(len(caught), 1)
        shown = tinyxp_command("show", os.path.join(self.log_dir, "2")).stdout
        self.assertIn(f"config: (cannot read metadata/config.yaml: {LINK})", shown)
        self.assertNotIn("secret", shown)

    def test_read_run_file_refuses_links_at_every_level(self) -> None:
        run_dir = os.path.join(self.log_dir, "1")
        self.plant("1", "metrics", os.path.join(self.secret, "metrics"))
        with self.assertRaises(UnreadableFile) as caught:
            read_run_file(run_dir, "metrics/train.jsonl")
        self.assertEqual((str(caught.exception), caught.exception.reason), (f"Cannot read metrics/train.jsonl: {LINK}", LINK))
        with self.assertRaises(FileNotFoundError):
            read_run_file(os.path.join(self.log_dir, "2"), "metrics/absent.jsonl")
        with self.assertRaises(IsADirectoryError):
            read_run_file(run_dir, "metadata")
        data, st = read_run_file(run_dir, "metadata/info.yaml", size=5)
        self.assertEqual((len(data), st.st_size > 5), (5, True))
        info, _ = load_metadata(run_dir, "info.yaml")
        self.assertEqual(info["run_id"], 1)

    def test_in_process_reads_of_planted_files(self) -> None:
        import socket
        from unittest import mock

        from tinyxp.errors import ReaderError
        from tinyxp.view.runs import describe_run

        reader, _ = read_with_warnings(self.log_dir)
        row = reader.runs[0]
        self.plant("1", "metrics/train.jsonl", os.path.join(self.secret, "metrics", "train.jsonl"))
        with self.assertRaises(ReaderError) as caught:
            row["train.loss"]
        self.assertTrue(str(caught.exception).endswith(f"train.jsonl': {LINK}"), str(caught.exception))
        self.plant("1", "metadata/info.yaml", os.path.join(self.secret, "metadata", "info.yaml"))
        shown = describe_run(os.path.join(self.log_dir, "1"))
        self.assertIn(f"info: (cannot read metadata/info.yaml: {LINK})", shown)
        self.assertIn(f"  metrics/train.jsonl: (cannot read: {LINK})", shown)
        run_dir = os.path.join(self.log_dir, "2")
        if hasattr(socket, "AF_UNIX"):
            server = socket.socket(socket.AF_UNIX)
            self.addCleanup(server.close)
            server.bind(os.path.join(run_dir, "metrics", "live.jsonl"))
            with self.assertRaisesRegex(UnreadableFile, "it is not a regular file$"):
                read_run_file(run_dir, "metrics/live.jsonl")
        os.makedirs(os.path.join(run_dir, "artifacts", "text"))
        with open(os.path.join(run_dir, "artifacts", "text", "a.txt"), "w") as file:
            file.write("deep")
        self.assertEqual(read_run_file(run_dir, "artifacts/text/a.txt")[0], b"deep")
        with mock.patch("tinyxp.read.files.os.read", side_effect=[b"de", b""]):  # a file cut short while read
            self.assertEqual(read_run_file(run_dir, "artifacts/text/a.txt")[0], b"de")

    def test_a_heartbeat_link_does_not_keep_a_run_alive(self) -> None:
        from tinyxp.read.status import is_lost

        run_dir = os.path.join(self.log_dir, "1")
        old = 1_000_000_000
        os.utime(os.path.join(run_dir, "metadata", "info.yaml"), (old, old))
        for name in os.listdir(os.path.join(run_dir, "metrics")):  # LOST needs every write to be old
            os.utime(os.path.join(run_dir, "metrics", name), (old, old), follow_symlinks=False)
        os.remove(os.path.join(run_dir, "heartbeat"))
        os.symlink(os.path.join(self.secret, "metadata", "info.yaml"), os.path.join(run_dir, "heartbeat"))  # fresh target
        os.utime(os.path.join(run_dir, "heartbeat"), (old, old), follow_symlinks=False)
        self.assertTrue(is_lost(run_dir, 600))


class IndexEntryTest(unittest.TestCase):
    """A damaged index is never trusted: its runs are read again (item 9)."""

    def test_malformed_entries_are_read_again(self) -> None:
        log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(log_dir, 2, n_lines=3)
        reader, _ = read_with_warnings(log_dir)
        self.assertEqual(reader.summary(reader.runs[0], "max", "train.loss"), max(reader.runs[0]["train.loss"]))
        expected = [reader.summary(row, "min", "train.loss") for row in reader.runs]
        index_path = reader.index_path
        good = read_index_file(index_path)
        damages = {
            "summary a list": lambda e: e["metrics"]["train"].__setitem__("summary", []),
            "summary of a key a string": lambda e: e["metrics"]["train"].__setitem__("summary", {"loss": "x"}),
            "last a list": lambda e: e["metrics"]["train"].__setitem__("last", [1]),
            "stamp a string": lambda e: e["metrics"]["train"].__setitem__("stamp", "x"),
            "keys of numbers": lambda e: e["metrics"]["train"].__setitem__("keys", [1]),
            "problems a number": lambda e: e.__setitem__("problems", 3),
            "stamps of strings": lambda e: e.__setitem__("stamps", ["a", None, {}]),
            "metric stamps a list": lambda e: e.__setitem__("stamps", [None, None, []]),
            "artifacts of numbers": lambda e: e.__setitem__("artifacts", [1]),
        }
        for name, damage in damages.items():
            with self.subTest(damage=name):
                damaged = json.loads(json.dumps(good))
                damage(damaged["runs"]["1"])
                write_index_file(index_path, damaged)
                reader, _ = read_with_warnings(log_dir)
                self.assertEqual([reader.summary(row, "min", "train.loss") for row in reader.runs], expected)


class SnapshotTest(unittest.TestCase):
    """Within one Reader every value is as of its last refresh() (item 9)."""

    def test_last_agrees_with_itself_and_the_values(self) -> None:
        log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_run(log_dir, 1, {"seed": 0}, metrics={"train": [{"loss": 3}, {"loss": 2}]})
        reader, _ = read_with_warnings(log_dir)
        row = reader.runs[0]
        self.assertEqual(reader.summary(row, "last", "train.loss"), 2)
        with open(os.path.join(log_dir, "1", "metrics", "train.jsonl"), "a") as file:
            file.write('{"loss": 1}\n')  # a post-hoc Logger(run) on the finished run
        self.assertEqual(reader.summary(row, "min", "train.loss"), 2)
        self.assertEqual(reader.summary(row, "last", "train.loss"), 2)
        self.assertEqual(reader.runs[0]["train.loss"], [3, 2])
        self.assertEqual(reader.filter("last(train.loss) == 2")["info.run_id"], [1])
        reader.refresh()
        row = reader.runs[0]
        self.assertEqual((reader.summary(row, "last", "train.loss"), row["train.loss"]), (1, [3, 2, 1]))
        fresh, _ = read_with_warnings(log_dir)
        self.assertEqual(fresh.summary(fresh.runs[0], "min", "train.loss"), 1)


if __name__ == "__main__":
    unittest.main()
