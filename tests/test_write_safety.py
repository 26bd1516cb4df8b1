"""What a run writes stays whole and stays inside its run directory: concurrent metric
writers, symlinks planted in a run directory, temporary files left by a kill, long names."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
import unittest.mock

from tinyxp.errors import LoggerError
from tinyxp.run.logger import Logger

from .support import (
    REPO_ROOT, finish, run_process, run_script, script_env, start_process, temp_dir, wait_for_line, write_project,
)

FAKEBIN = os.path.join(REPO_ROOT, "tests", "fakebin")

# Opens a Logger, logs one line, closes it: n times (every open runs the torn-line repair).
REOPENING_WRITER = """\
import sys

from tinyxp.run.logger import Logger

run_dir, me, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
padding = "x" * max(0, size - 40)
for i in range(n):
    with Logger(run_dir) as logger:
        logger.log_metrics({"w": me, "i": i, "p": padding})
"""

WRITERS = 4


def metric_keys(path: str) -> set:
    """(writer, index) of every whole line of a metrics file; torn and empty lines are skipped."""
    found = set()
    with open(path, "rb") as file:
        for line in file.read().split(b"\n"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            found.add((record["w"], record["i"]))
    return found


class ConcurrentWritersTest(unittest.TestCase):
    """Before 0.x the torn-line repair truncated lines another process had just appended."""

    def lost_lines(self, size: int, per_writer: int) -> int:
        run_dir = os.path.join(temp_dir(self), "run")
        processes = [
            start_process(self, [sys.executable, "-c", REOPENING_WRITER, run_dir, str(w), str(per_writer), str(size)],
                          env=script_env())
            for w in range(WRITERS)
        ]
        for process in processes:
            finish(process)
            self.assertEqual(process.returncode, 0)
        found = metric_keys(os.path.join(run_dir, "metrics", "train.jsonl"))
        return WRITERS * per_writer - len(found)

    def test_no_line_lost_with_small_lines(self):
        self.assertEqual(self.lost_lines(90, 1500), 0)

    def test_no_line_lost_with_256_kib_lines(self):
        self.assertEqual(self.lost_lines(256 * 1024, 60), 0)


PLANTED = "outside: kept\n"


class PlantedSymlinkTest(unittest.TestCase):
    """A link planted in a run directory (a group-writable log folder) is never followed."""

    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        self.outside = os.path.join(self.root, "outside")
        os.makedirs(self.outside)
        self.target = os.path.join(self.outside, "target.yaml")
        with open(self.target, "w") as file:
            file.write(PLANTED)
        self.script = write_project(self.root, body="print('ran', ctx.info.restarts)")

    def launch(self, *args):
        return run_script(self.script, [*args])

    def plant(self, relative: str, target: str) -> None:
        path = os.path.join(self.logs, "1", relative)
        if os.path.lexists(path):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def assert_outside_untouched(self):
        with open(self.target) as file:
            self.assertEqual(file.read(), PLANTED)
        self.assertEqual(os.listdir(self.outside), ["target.yaml"])

    def assert_refused(self, result, what: str):
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, rf"^error: .*{what}\n$")
        self.assertNotIn("Traceback", result.stderr)
        self.assert_outside_untouched()

    def test_a_linked_metric_file(self):
        self.assertEqual(self.launch().returncode, 0)
        self.plant("metrics/train.jsonl", self.target)
        self.assert_refused(self.launch("xp.run_id=1"), r"metrics/train.jsonl': it is a symbolic link.*")

    def test_a_torn_linked_metric_file_is_not_truncated(self):
        with open(self.target, "w") as file:
            file.write("no newline at the end")
        run_dir = os.path.join(self.logs, "1")
        os.makedirs(os.path.join(run_dir, "metrics"))
        os.symlink(self.target, os.path.join(run_dir, "metrics", "train.jsonl"))
        with self.assertRaisesRegex(LoggerError, "it is a symbolic link"):
            Logger(run_dir).log_metrics({"step": 1})
        with open(self.target) as file:
            self.assertEqual(file.read(), "no newline at the end")

    def test_a_linked_metrics_folder(self):
        self.assertEqual(self.launch().returncode, 0)
        self.plant("metrics", self.outside)
        self.assert_refused(self.launch("xp.run_id=1"), r"/metrics': it is a symbolic link, and tinyxp follows no link inside a run directory")

    def test_a_linked_artifact_folder(self):
        run_dir = os.path.join(self.logs, "1")
        os.makedirs(os.path.join(run_dir, "artifacts"))
        os.symlink(self.outside, os.path.join(run_dir, "artifacts", "pickle"))
        with self.assertRaisesRegex(LoggerError, "/pickle': it is a symbolic link, "):
            Logger(run_dir).log_checkpoint({"epoch": 1})
        with self.assertRaisesRegex(LoggerError, "/pickle': it is a symbolic link, "):
            Logger(run_dir).load_checkpoint()
        self.assert_outside_untouched()

    def test_a_linked_info_yaml_is_not_merged(self):
        self.assertEqual(self.launch().returncode, 0)
        self.plant("metadata/info.yaml", self.target)
        self.assert_refused(self.launch("xp.run_id=1"), r"info.yaml': it is a symbolic link.*")
        self.assertTrue(os.path.islink(os.path.join(self.logs, "1", "metadata", "info.yaml")))

    def test_a_linked_metadata_folder(self):
        self.assertEqual(self.launch().returncode, 0)
        self.plant("metadata", self.outside)
        self.assert_refused(self.launch("xp.run_id=1"), r"/metadata': it is a symbolic link, .*")
        self.plant("metadata", os.path.join(self.outside, "missing"))
        self.assert_refused(self.launch("xp.run_id=1"), r"/metadata': it is a symbolic link, .*")

    def test_a_linked_stdout_log(self):
        self.assertEqual(self.launch().returncode, 0)
        self.plant("stdout.log", self.target)
        self.assert_refused(self.launch("xp.run_id=1", "xp.capture_output=true"), r"stdout.log': it is a symbolic link.*")
        from tinyxp._files import read_yaml

        self.assertEqual(read_yaml(os.path.join(self.logs, "1", "metadata", "info.yaml"))["status"], "FAILED")

    def test_a_linked_heartbeat_is_replaced_not_followed(self):
        from tinyxp.run.lifecycle import _touch

        run_dir = os.path.join(self.logs, "1")
        os.makedirs(run_dir)
        heartbeat = os.path.join(run_dir, "heartbeat")
        os.utime(self.target, (1, 1))
        os.symlink(self.target, heartbeat)
        _touch(heartbeat)
        self.assertFalse(os.path.islink(heartbeat))
        self.assertTrue(os.path.isfile(heartbeat))
        self.assertEqual(os.stat(self.target).st_mtime, 1)
        dangling = os.path.join(self.outside, "created")
        os.remove(heartbeat)
        os.symlink(dangling, heartbeat)
        _touch(heartbeat)
        self.assertFalse(os.path.exists(dangling))
        self.assert_outside_untouched()
        shutil.rmtree(run_dir)
        _touch(heartbeat)  # the run directory is gone: nothing to keep alive, no error
        self.assertFalse(os.path.exists(run_dir))


SLOW_CHECKPOINT = """\
import sys, time
from tinyxp.run.logger import Logger

class Slow:
    def __reduce__(self):  # called after the bytes before it are written: killed here
        print("writing", flush=True)
        time.sleep(60)

Logger(sys.argv[1]).log_checkpoint({"blob": b"x" * (1 << 20), "slow": Slow()})
"""


class CheckpointTemporariesTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.run_dir = os.path.join(self.root, "run")
        self.folder = os.path.join(self.run_dir, "artifacts", "pickle")

    def writer(self):
        process = start_process(self, [sys.executable, "-c", SLOW_CHECKPOINT, self.run_dir], env=script_env(),
                                stdout=subprocess.PIPE, universal_newlines=True)
        wait_for_line(process, "writing")
        return process

    def temporaries(self) -> list:
        return sorted(name for name in os.listdir(self.folder) if name.startswith(".tmp-"))

    def test_temporaries_of_killed_writers_are_removed_on_the_next_write(self):
        for _ in range(5):
            process = self.writer()
            process.send_signal(signal.SIGKILL)
            finish(process)
        live = self.writer()  # still writing: its temporary stays
        self.assertEqual(len(self.temporaries()), 6)
        a_while_ago = time.time() - 3600
        for name in self.temporaries():
            os.utime(os.path.join(self.folder, name), (a_while_ago, a_while_ago))
        Logger(self.run_dir).log_checkpoint({"epoch": 1})
        self.assertEqual(len(self.temporaries()), 1)
        self.assertIn(f".tmp-{live.pid}-", self.temporaries()[0])
        self.assertEqual(Logger(self.run_dir).load_checkpoint(), {"epoch": 1})

    def test_a_recent_temporary_stays(self):
        process = self.writer()
        process.send_signal(signal.SIGKILL)
        finish(process)
        Logger(self.run_dir).log_checkpoint({"epoch": 1})
        self.assertEqual(len(self.temporaries()), 1)  # its writer may be on another machine, starting

    def test_odd_entries_are_left_alone(self):
        from tinyxp._files import remove_stale_temporaries

        remove_stale_temporaries(os.path.join(self.root, "missing"))  # nothing to list: nothing done
        os.makedirs(self.folder)
        outside = os.path.join(self.root, "outside.pkl")
        with open(outside, "w") as file:
            file.write("kept")
        os.symlink(outside, os.path.join(self.folder, ".tmp-1-0-link"))
        os.mkdir(os.path.join(self.folder, ".tmp-1-1-folder"))
        remove_stale_temporaries(self.folder)
        self.assertEqual(self.temporaries(), [".tmp-1-0-link", ".tmp-1-1-folder"])

    def test_without_working_locks_nothing_is_taken_for_stale(self):
        import fcntl

        with unittest.mock.patch.object(fcntl, "flock", side_effect=OSError(errno.ENOLCK, "No locks available")):
            Logger(self.run_dir).log_checkpoint({"epoch": 1})  # written all the same
            path = os.path.join(self.folder, ".tmp-1-0-x.pkl")
            with open(path, "w"):
                pass
            os.utime(path, (1, 1))
            Logger(self.run_dir).log_checkpoint({"epoch": 2})
        self.assertEqual(self.temporaries(), [".tmp-1-0-x.pkl"])
        self.assertEqual(Logger(self.run_dir).load_checkpoint(), {"epoch": 2})


class NameTest(unittest.TestCase):
    def setUp(self):
        self.logger = Logger(temp_dir(self))

    def test_a_name_too_long_for_the_file_system_is_a_logger_error(self):
        for length in (252, 300):
            with self.assertRaisesRegex(LoggerError, rf"^Invalid artifact name 'n{{10}}...': {length + 4} bytes with "
                                                     r"its extension, more than the 255 a file name may have$"):
                self.logger.log_artifact(1, "n" * length)
        with self.assertRaisesRegex(LoggerError, r"^Invalid metric log name 'l{10}...': 306 bytes"):
            self.logger.log_metrics({"a": 1}, log_name="l" * 300)

    def test_the_longest_names_work(self):
        path = self.logger.log_artifact(1, "n" * 251)
        self.assertEqual(os.path.basename(path), "n" * 251 + ".pkl")
        self.assertEqual(self.logger.load_artifact("n" * 251), 1)
        self.logger.log_metrics({"a": 1}, log_name="l" * 249)

    def test_temporary_file_names_are_refused(self):
        for call in (lambda: self.logger.log_artifact(1, ".tmp-x"), lambda: self.logger.log_metrics({"a": 1}, log_name=".tmp-x")):
            with self.assertRaisesRegex(LoggerError, r"^Invalid (artifact|metric log) name '.tmp-x': a name starting "
                                                     r"with '.tmp-' is a temporary file of tinyxp$"):
                call()


class ScriptModeTest(unittest.TestCase):
    def test_script_sh_follows_the_umask(self):
        root = temp_dir(self)
        script = write_project(root)
        env = script_env({"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": os.path.join(root, "calls")})
        for umask, mode in ((0o077, 0o700), (0o022, 0o755), (0o027, 0o750)):
            previous = os.umask(umask)
            try:
                done = run_process([sys.executable, script, "xp.scheduler=slurm"], cwd=root, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            finally:
                os.umask(previous)
            self.assertEqual(done.returncode, 0, done.stderr)
            newest = max((name for name in os.listdir(os.path.join(root, "logs")) if name.isdigit()), key=int)
            self.assertEqual(oct(os.stat(os.path.join(root, "logs", newest, "script.sh")).st_mode & 0o777), oct(mode))


if __name__ == "__main__":
    unittest.main()
