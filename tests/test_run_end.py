"""Every run directory ends with a final status: signals at start-up, a full disk, sys.exit
in a sweep, Ctrl-C in a sweep."""
from __future__ import annotations

import errno
import io
import os
import random
import shutil
import signal
import subprocess
import time
import unittest
import unittest.mock

from tinyxp._files import overwrite_in_place, read_yaml
from tinyxp.errors import ConfigError, LoggerError
from tinyxp.run import info as info_module
from tinyxp.run import run as run_module

from .support import finish, load_script, run_process, run_script, start_script, task_script, temp_dir, wait_for_line, wait_until, write_files

SLEEPING_TASK = task_script("import time\ntime.sleep(30)")
FINAL_STATUSES = ("COMPLETE", "FAILED", "INTERRUPTED")


def run_dirs(log_dir: str) -> list:
    try:
        return [os.path.join(log_dir, name) for name in os.listdir(log_dir) if name.isdigit()]
    except FileNotFoundError:
        return []


def status_of(run_dir: str) -> str:
    """The status in a run's info.yaml, or 'no info.yaml'."""
    try:
        return read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))["status"]
    except FileNotFoundError:
        return "no info.yaml"


class StartUpSignalTest(unittest.TestCase):
    """A signal that arrives while the run directory is being written leaves a final status."""

    TRIALS = 30

    def test_signals_just_after_the_run_directory_appears(self):
        root = temp_dir(self)
        write_files(root, {"train.py": SLEEPING_TASK, "configs/config.yaml": "seed: 0\n"})
        chooser = random.Random(12)
        outcomes = []
        for trial in range(self.TRIALS):
            log_dir = os.path.join(root, f"logs{trial}")
            signum = (signal.SIGTERM, signal.SIGINT)[trial % 2]
            process = start_script(os.path.join(root, "train.py"), [f"xp.log_dir={log_dir}"], test=self)
            wait_until(lambda: run_dirs(log_dir) or process.poll() is not None, "no run directory", interval=0.0005)
            time.sleep(chooser.uniform(0, 0.004))  # hygiene: a few ms at most
            process.send_signal(signum)
            finish(process)
            self.assertTrue(run_dirs(log_dir) or process.returncode < 0, process.returncode)  # never a bad-input exit
            outcomes += [(signum, status_of(d)) for d in run_dirs(log_dir)]
        bad = [(signal.Signals(signum).name, status) for signum, status in outcomes if status not in FINAL_STATUSES]
        self.assertEqual(bad, [], f"{len(bad)} of {self.TRIALS} runs without a final status")


SWEEP_TASK = """\
import sys, time
import tinyxp

@tinyxp.launch()
def train(ctx):
    print("started", ctx.config.seed, flush=True)
    if ctx.config.seed == {sleeper}:
        time.sleep(30)
    if ctx.config.seed == 1:
        sys.exit(0)
    if ctx.config.seed == 2:
        sys.exit(3)

train()
"""


class SweepEndTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")

    def start(self, sleeper: int, seeds: str):
        write_files(self.root, {"train.py": SWEEP_TASK.format(sleeper=sleeper), "configs/config.yaml": "seed: 0\n"})
        return start_script(os.path.join(self.root, "train.py"), ["+sweep", f"seed={seeds}"], test=self)

    def statuses(self) -> list:
        return [status_of(os.path.join(self.logs, str(i))) for i in range(1, len(run_dirs(self.logs)) + 1)]

    def test_sys_exit_0_counts_as_complete(self):
        process = self.start(-1, "0,1,2")
        stdout, stderr = finish(process)
        self.assertEqual(process.returncode, 1, stderr)
        self.assertEqual(self.statuses(), ["COMPLETE", "COMPLETE", "FAILED"])
        self.assertTrue(stderr.endswith("sweep: 3 runs, 2 complete, 1 failed\n  FAILED seed=2 -> logs/3: SystemExit: 3\n"), stderr)

    def test_ctrl_c_stops_with_a_summary_and_exit_130(self):
        process = self.start(1, "0,1,2,3")
        wait_for_line(process, "started 1")
        process.send_signal(signal.SIGINT)
        stdout, stderr = finish(process)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertNotIn("Traceback", stderr)
        self.assertTrue(stderr.endswith(
            "sweep: stopped by SIGINT: 4 runs, 1 complete, 0 failed, 1 interrupted, 2 not started\n"
            "  INTERRUPTED seed=1 -> logs/2\n"
            "  NOT STARTED seed=2\n"
            "  NOT STARTED seed=3\n"
        ), stderr)
        self.assertEqual(self.statuses(), ["COMPLETE", "INTERRUPTED"])

    def test_sigterm_stops_with_exit_143(self):
        process = self.start(0, "0,1")
        wait_for_line(process, "started 0")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = finish(process)
        self.assertEqual(process.returncode, 143, stderr)
        self.assertTrue(stderr.endswith(
            "sweep: stopped by SIGTERM: 2 runs, 0 complete, 0 failed, 1 interrupted, 1 not started\n"
            "  INTERRUPTED seed=0 -> logs/1\n  NOT STARTED seed=1\n"
        ), stderr)


FILLING_TASK = """\
import os
import tinyxp

@tinyxp.launch()
def train(ctx):
    ctx.logger.log_metrics({"step": 1})
    fd = os.open(os.path.join(ctx.xp.log_dir, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as err:
        print("full:", err.strerror, flush=True)
    if ctx.config.fail:
        raise ValueError("after the disk filled")

train()
"""


def mount_tmpfs(test: unittest.TestCase, kib: int) -> str:
    """A tmpfs of kib KiB mounted for the test (root only); the test is skipped where mounting is refused."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        test.skipTest("mounting a small tmpfs needs root and mount(8)")
    point = temp_dir(test)
    result = run_process(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tinyxp-test", point],
                         timeout=30, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if result.returncode:
        test.skipTest(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    test.addCleanup(run_process, ["umount", "-l", point], timeout=30)
    return point


def fill(path: str) -> None:
    """Write to path until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"x" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


class FullDiskTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        write_files(self.root, {"train.py": FILLING_TASK, "configs/config.yaml": "seed: 0\nfail: false\n"})
        self.logs = mount_tmpfs(self, 512)

    def launch(self, *args):
        return run_script(os.path.join(self.root, "train.py"), [f"xp.log_dir={self.logs}", *args], timeout=60)

    def test_a_disk_that_fills_during_the_run_still_gets_the_final_status(self):
        for fail, status in ((False, "COMPLETE"), (True, "FAILED")):
            os.makedirs(self.logs, exist_ok=True)
            result = self.launch(f"fail={str(fail).lower()}")
            self.assertIn("full: No space left on device", result.stdout, result.stderr)
            info = read_yaml(os.path.join(run_dirs(self.logs)[0], "metadata", "info.yaml"))
            self.assertEqual(info["status"], status, result.stderr)
            self.assertIn("end_time", info)
            if fail:
                self.assertEqual(info["error"], {"type": "ValueError", "message": "after the disk filled"})
                self.assertEqual(result.returncode, 1)
            else:
                self.assertEqual(result.returncode, 0, result.stderr)
            for name in os.listdir(self.logs):
                run_process(["rm", "-rf", os.path.join(self.logs, name)], timeout=30)

    def test_a_full_disk_at_launch_is_one_error_and_leaves_no_directory(self):
        fill(os.path.join(self.logs, "filler"))
        result = self.launch()
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, r"^error: .*No space left on device\n$")
        self.assertEqual(run_dirs(self.logs), [])


RETURNING_TASK = """\
import tinyxp

@tinyxp.launch()
def train(ctx):
    return ctx.info.run_id
"""


RAISING_TASK = """\
import tinyxp

@tinyxp.launch()
def train(ctx):
    if ctx.config.message != "ok":
        raise ValueError(ctx.config.message)
"""


class Terminal(io.StringIO):
    def isatty(self):
        return True


class InProcessTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        write_files(self.root, {"train.py": RETURNING_TASK, "configs/config.yaml": "seed: 0\n"})
        self.train = load_script(os.path.join(self.root, "train.py")).train
        self.stderr = Terminal()
        patcher = unittest.mock.patch("sys.stderr", self.stderr)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_a_single_run_names_its_directory_on_a_terminal(self):
        self.assertEqual(self.train([f"xp.log_dir={self.logs}"]), 1)
        self.assertEqual(self.stderr.getvalue(), f"tinyxp: run 1 -> {os.path.join(self.logs, '1')}\n")

    def test_a_signal_while_a_run_fails_to_start_is_sent_again(self):
        received = []
        previous = signal.signal(signal.SIGUSR2, lambda signum, frame: received.append(signum))
        self.addCleanup(signal.signal, signal.SIGUSR2, previous)

        def fail_to_open(run, start):
            os.kill(os.getpid(), signal.SIGUSR2)  # held by the run, which is starting
            self.assertEqual(received, [])
            raise LoggerError("cannot open")

        with unittest.mock.patch("tinyxp.run.run.Run._open", fail_to_open), self.assertRaises(LoggerError):
            self.train([f"xp.log_dir={self.logs}"])
        self.assertEqual(received, [signal.SIGUSR2])

    def test_a_sweep_stops_at_a_run_that_cannot_start(self):
        real_open = run_module.Run._open_run_dir
        calls = []

        def full_at_the_second(run, info):
            calls.append(run)
            if len(calls) == 2:
                os.makedirs(os.path.join(self.logs, "2"))
                run.created_dir = os.path.join(self.logs, "2")
                raise DISK_FULL
            return real_open(run, info)

        with unittest.mock.patch.object(run_module.Run, "_open_run_dir", full_at_the_second):
            with self.assertRaisesRegex(LoggerError, "^Cannot start a run in '.*logs': No space left on device$"):
                self.train([f"xp.log_dir={self.logs}", "+sweep", "seed=0,1,2"])
        self.assertEqual(len(calls), 2)
        self.assertEqual(sorted(os.listdir(self.logs)), ["1"])

    def test_a_signal_between_two_runs_stops_the_sweep(self):
        from tinyxp.run.sweep import Sweep

        class Signalling:
            def __init__(self, plan, progress):
                self.plan = plan

            def execute(self, task):
                os.kill(os.getpid(), signal.SIGTERM)  # after the run: the sweep's handler has it
                return 1

        plans = [unittest.mock.Mock(label=f"seed={seed}", xp=unittest.mock.Mock(requeue_signal="USR2")) for seed in range(3)]
        with self.assertRaises(SystemExit) as caught:
            Sweep(plans).run(Signalling, None)
        self.assertEqual(caught.exception.code, 128 + signal.SIGTERM)
        self.assertEqual(self.stderr.getvalue(), (
            "sweep: stopped by SIGTERM: 3 runs, 1 complete, 0 failed, 0 interrupted, 2 not started\n"
            "  NOT STARTED seed=1\n  NOT STARTED seed=2\n"
        ))



DISK_FULL = OSError(errno.ENOSPC, "No space left on device")


class FinalInfoFallbackTest(unittest.TestCase):
    """The final info.yaml on a full disk, without needing a small disk (any user, any system)."""

    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        write_files(self.root, {"train.py": RAISING_TASK, "configs/config.yaml": "message: ok\n"})
        self.train = load_script(os.path.join(self.root, "train.py")).train
        patcher = unittest.mock.patch("sys.stderr", io.StringIO())
        self.stderr = patcher.start()
        self.addCleanup(patcher.stop)
        real_write_yaml = info_module.write_yaml

        def refuse_final_info(path, obj):  # a full disk from the end of the task on
            if path.endswith("info.yaml") and obj.get("status") != "RUNNING":
                raise DISK_FULL
            real_write_yaml(path, obj)

        patcher = unittest.mock.patch.object(info_module, "write_yaml", refuse_final_info)
        patcher.start()
        self.addCleanup(patcher.stop)

    def info(self):
        return read_yaml(os.path.join(self.logs, "1", "metadata", "info.yaml"))

    def test_the_final_status_is_written_over_the_old_file(self):
        self.train([f"xp.log_dir={self.logs}"])
        self.assertEqual(self.info()["status"], "COMPLETE")
        self.assertEqual(self.stderr.getvalue(), "")

    def test_a_long_error_message_is_cut_to_fit(self):
        with unittest.mock.patch.object(info_module, "overwrite_in_place", side_effect=[False, True]) as overwrite:
            with self.assertRaises(ValueError):
                self.train([f"xp.log_dir={self.logs}", f"message={'m' * 300}"])
        written = overwrite.call_args[0][1].decode()
        self.assertIn("message: " + "m" * 200 + "...\n", written)

    def test_when_nothing_fits_a_warning_says_so(self):
        with unittest.mock.patch.object(info_module, "overwrite_in_place", return_value=False):
            self.train([f"xp.log_dir={self.logs}"])
        self.assertEqual(self.info()["status"], "RUNNING")
        self.assertRegex(self.stderr.getvalue(), r"^tinyxp: warning: cannot record the final status \(COMPLETE\) in "
                                                 r".*info.yaml: No space left on device\n$")

    def test_a_failing_overwrite_is_a_warning(self):
        with unittest.mock.patch.object(info_module, "overwrite_in_place", side_effect=DISK_FULL):
            self.train([f"xp.log_dir={self.logs}"])
        self.assertIn("cannot record the final status (COMPLETE)", self.stderr.getvalue())

    def test_a_start_that_fails_removes_the_new_directory(self):
        with unittest.mock.patch.object(run_module.Run, "_git_info", side_effect=ConfigError("no git")):
            with self.assertRaisesRegex(ConfigError, "^no git$"):
                self.train([f"xp.log_dir={self.logs}"])
        self.assertEqual(os.listdir(self.logs), [])

    def test_a_resume_that_cannot_write_keeps_the_run(self):
        self.train([f"xp.log_dir={self.logs}"])
        with unittest.mock.patch.object(run_module, "write_yaml", side_effect=DISK_FULL):
            with self.assertRaisesRegex(LoggerError, r"^Cannot start a run in '.*1': No space left on device$"):
                self.train([f"xp.log_dir={self.logs}", "xp.run_id=1"])
        self.assertEqual(self.info()["status"], "COMPLETE")


class OverwriteInPlaceTest(unittest.TestCase):
    def setUp(self):
        self.path = os.path.join(temp_dir(self), "info.yaml")
        with open(self.path, "wb") as file:
            file.write(b"a" * 1000)

    def content(self):
        with open(self.path, "rb") as file:
            return file.read()

    def test_shorter_or_longer_within_the_blocks_held(self):
        self.assertTrue(overwrite_in_place(self.path, b"b" * 10))
        self.assertEqual(self.content(), b"b" * 10)
        if os.stat(self.path).st_blocks * 512 >= 1200:
            self.assertTrue(overwrite_in_place(self.path, b"c" * 1200))
            self.assertEqual(self.content(), b"c" * 1200)

    def test_what_does_not_fit_is_not_written(self):
        self.assertFalse(overwrite_in_place(self.path, b"b" * (os.stat(self.path).st_blocks * 512 + 1)))
        self.assertEqual(self.content(), b"a" * 1000)

    def test_a_write_failing_half_way_puts_the_old_content_back(self):
        real_write = os.write
        calls = []

        def half_then_full(fd, data):
            calls.append(len(data))
            if len(calls) == 1:
                return real_write(fd, bytes(data[:5]))
            if len(calls) == 2:
                raise DISK_FULL
            return real_write(fd, data)

        with unittest.mock.patch("os.write", half_then_full), self.assertRaises(OSError):
            overwrite_in_place(self.path, b"b" * 10)
        self.assertEqual(self.content(), b"a" * 1000)


if __name__ == "__main__":
    unittest.main()
