"""Every run directory ends with a final status: signals at start-up, a full disk, sys.exit
in a sweep, Ctrl-C in a sweep."""
from __future__ import annotations

import io
import os
import random
import signal
import time
import unittest
import unittest.mock

from tinyxp._files import read_yaml
from tinyxp.errors import LoggerError

from .support import finish, load_script, start_script, task_script, temp_dir, wait_for_line, wait_until, write_files

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


RETURNING_TASK = """\
import tinyxp

@tinyxp.launch()
def train(ctx):
    return ctx.info.run_id
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
        previous = signal.signal(signal.SIGUSR1, lambda signum, frame: received.append(signum))
        self.addCleanup(signal.signal, signal.SIGUSR1, previous)

        def fail_to_open(run, start):
            os.kill(os.getpid(), signal.SIGUSR1)  # held by the run, which is starting
            self.assertEqual(received, [])
            raise LoggerError("cannot open")

        with unittest.mock.patch("tinyxp.run.run.Run._open", fail_to_open), self.assertRaises(LoggerError):
            self.train([f"xp.log_dir={self.logs}"])
        self.assertEqual(received, [signal.SIGUSR1])

    def test_a_signal_between_two_runs_stops_the_sweep(self):
        from tinyxp.run.sweep import Sweep

        class Signalling:
            def __init__(self, plan, progress):
                self.plan = plan

            def execute(self, task):
                os.kill(os.getpid(), signal.SIGTERM)  # after the run: the sweep's handler has it
                return 1

        plans = [unittest.mock.Mock(label=f"seed={seed}") for seed in range(3)]
        with self.assertRaises(SystemExit) as caught:
            Sweep(plans).run(Signalling, None)
        self.assertEqual(caught.exception.code, 128 + signal.SIGTERM)
        self.assertEqual(self.stderr.getvalue(), (
            "sweep: stopped by SIGTERM: 3 runs, 1 complete, 0 failed, 0 interrupted, 2 not started\n"
            "  NOT STARTED seed=1\n  NOT STARTED seed=2\n"
        ))


if __name__ == "__main__":
    unittest.main()
