"""Tests of xp.scheduler=local and @launch(executor=...): a sweep as separate processes."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import unittest
from unittest import mock

from tinyxp._files import read_yaml
from tinyxp.config.settings import check_max_parallel, parse_gpu_list
from tinyxp.errors import ConfigError
from tinyxp.jobs import gpus, local

from .support import (
    REPO_ROOT, finish, read_jsonl, run_process, script_env, start_process, temp_dir, wait_until, write_project,
)

# the task records the GPUs it was given; lr=0.3 fails; a file `block` holds every run until removed
BODY = """\
import os, time
ctx.logger.log_metrics({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid()}, log_name="env")
print("output of", ctx.config.lr)
os.write(1, b"written by C\\n")
while os.path.exists(os.path.join(os.path.dirname(__file__), "block")):
    time.sleep(0.05)
if ctx.config.lr == 0.3:
    raise ValueError("bad lr")
"""

FAKE_NVIDIA_SMI = """#!/bin/sh
i=0
while [ "$i" -lt "${FAKE_GPUS:-0}" ]; do echo "GPU $i: Fake GPU (UUID: GPU-$i)"; i=$((i + 1)); done
"""


def status_of(run_dir: str) -> str:
    return (read_yaml(os.path.join(run_dir, "metadata", "info.yaml")) or {}).get("status")


class LocalSweepTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        self.script = write_project(self.root, body=BODY)
        bin_dir = os.path.join(self.root, "bin")
        os.mkdir(bin_dir)
        fake = os.path.join(bin_dir, "nvidia-smi")
        with open(fake, "w") as file:
            file.write(FAKE_NVIDIA_SMI)
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
        self.env = script_env({"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")})
        self.env.pop("CUDA_VISIBLE_DEVICES", None)
        for name in ("SLURM_JOB_ID", "RANK", "WORLD_SIZE", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK"):
            self.env.pop(name, None)

    def argv(self, *args: str) -> list:
        return [sys.executable, self.script, *args]

    def run_sweep(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return run_process(self.argv(*args), cwd=self.root, env={**self.env, **env}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)

    def run_dir(self, run_id: int) -> str:
        return os.path.join(self.logs, str(run_id))

    def gpus_of(self, run_id: int) -> str:
        return read_jsonl(os.path.join(self.run_dir(run_id), "metrics", "env.jsonl"))[0]["gpus"]

    def assert_bad_input(self, result, message: str) -> None:
        self.assertEqual((result.returncode, result.stderr), (2, f"error: {message}\n"))
        self.assertFalse(os.path.exists(self.logs))

    def test_sweep_runs_as_processes_with_progress_summary_and_status(self):
        result = self.run_sweep("+sweep", "lr=0.1,0.2,0.3,0.4", "xp.scheduler=local", "xp.max_parallel=2")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual([status_of(self.run_dir(i)) for i in (1, 2, 3, 4)], ["COMPLETE", "COMPLETE", "FAILED", "COMPLETE"])
        progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
        self.assertEqual(sorted(line.split()[0] for line in progress), ["[1/4]", "[2/4]", "[3/4]", "[4/4]"])
        self.assertIn("FAILED lr=0.3 xp.scheduler=local xp.max_parallel=2 -> logs/3 (", result.stderr)
        self.assertIn("sweep: 4 runs, 3 complete, 1 failed\n  FAILED lr=0.3 xp.scheduler=local xp.max_parallel=2 "
                      "-> logs/3: ValueError: bad lr (output: logs/3/stderr.log)\n", result.stderr)
        with open(os.path.join(self.run_dir(2), "stdout.log")) as file:
            self.assertEqual(file.read(), "output of 0.2\nwritten by C\n")
        with open(os.path.join(self.run_dir(3), "stderr.log")) as file:
            self.assertIn("ValueError: bad lr", file.read())
        pids = {read_jsonl(os.path.join(self.run_dir(i), "metrics", "env.jsonl"))[0]["pid"] for i in (1, 2, 3, 4)}
        self.assertEqual(len(pids), 4)  # a process each
        self.assertEqual(self.gpus_of(1), None)  # no GPU here: no assignment
        info = read_yaml(os.path.join(self.run_dir(1), "metadata", "info.yaml"))
        self.assertEqual(info["scheduler"]["name"], "local")

    def test_all_complete_exits_0(self):
        result = self.run_sweep("+sweep", "lr=0.1,0.2", "xp.scheduler=local")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("sweep: 2 runs, 2 complete, 0 failed\n", result.stderr)

    def test_each_process_gets_its_own_gpus(self):
        result = self.run_sweep("+sweep", "lr=0.1,0.2,0.4", "xp.scheduler=local", "xp.max_parallel=2", FAKE_GPUS="4")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLessEqual({self.gpus_of(i) for i in (1, 2, 3)}, {"0,1", "2,3"})
        result = self.run_sweep("+sweep", "lr=0.1,0.2", "xp.scheduler=local", "xp.gpus=[1,3]", FAKE_GPUS="4")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual({self.gpus_of(4), self.gpus_of(5)}, {"1", "3"})

    def test_inside_an_allocation_its_gpus_and_job_are_used(self):
        result = self.run_sweep("+sweep", "lr=0.1,0.2", "xp.scheduler=local", FAKE_GPUS="4",
                                CUDA_VISIBLE_DEVICES="5,7", SLURM_JOB_ID="4242")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual({self.gpus_of(1), self.gpus_of(2)}, {"5", "7"})
        info = read_yaml(os.path.join(self.run_dir(1), "metadata", "info.yaml"))
        self.assertEqual((info["scheduler"]["name"], info["scheduler"]["job_id"]), ("slurm", "4242"))

    def test_bad_input_exits_2_and_creates_nothing(self):
        sweep = ("+sweep", "lr=0.1,0.2", "xp.scheduler=local")
        self.assert_bad_input(self.run_sweep(*sweep, "xp.gpus=[0,5]", FAKE_GPUS="2"),
                              "Invalid xp.gpus [0, 5]: no GPU 5 here (GPUs 0, 1, from nvidia-smi -L); "
                              "set xp.gpus=auto or xp.gpus=null")
        self.assert_bad_input(self.run_sweep(*sweep, "xp.gpus=0", CUDA_VISIBLE_DEVICES=""),
                              "Invalid xp.gpus 0: no GPU 0 here (no GPU, from CUDA_VISIBLE_DEVICES=''); "
                              "set xp.gpus=auto or xp.gpus=null")
        self.assert_bad_input(self.run_sweep(*sweep, "xp.max_parallel=3", FAKE_GPUS="2"),
                              "Invalid xp.max_parallel 3: only 2 GPU(s) to give each process its own (xp.gpus=auto); "
                              "lower xp.max_parallel, or set xp.gpus=null to share them")
        result = self.run_sweep(*sweep, "xp.max_parallel=0")
        self.assertEqual(result.returncode, 2)
        self.assertTrue(result.stderr.startswith(
            "error: Invalid value 0 for the tinyxp setting 'max_parallel': expected a positive integer or null"))
        self.assertFalse(os.path.exists(self.logs))
        self.assert_bad_input(self.run_sweep(*sweep, "xp.logging=false"),
                              "Cannot run a local sweep with xp.logging=false: each process records its status and "
                              "output in its own run directory (drop xp.logging=false)")
        self.assert_bad_input(self.run_sweep(*sweep, "xp.chain=2"),
                              "Cannot use xp.chain with xp.scheduler=local: it is for scheduler jobs")
        self.assert_bad_input(self.run_sweep("+sweep", "lr=0.1,0.2", "xp.max_parallel=2"),
                              "Invalid xp.max_parallel 2 for 2 runs one after another in this process: it limits the "
                              "processes of xp.scheduler=local and the tasks of a job array (xp.array=true); drop it "
                              "or set one of those")

    def test_ctrl_c_stops_the_workers_and_marks_their_runs_interrupted(self):
        open(os.path.join(self.root, "block"), "w").close()
        process = start_process(self, self.argv("+sweep", "lr=0.1,0.2,0.4", "xp.scheduler=local", "xp.max_parallel=2"),
                                cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True)
        wait_until(lambda: all(os.path.exists(os.path.join(self.run_dir(i), "metrics", "env.jsonl")) for i in (1, 2)),
                   "two runs started")
        process.send_signal(signal.SIGINT)
        _, stderr = finish(process)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertIn("sweep interrupted: 3 runs in logs\n", stderr)
        self.assertEqual([status_of(self.run_dir(i)) for i in (1, 2, 3)], ["INTERRUPTED"] * 3)
        for i in (1, 2):  # the processes stopped themselves: their end is recorded by the run
            info = read_yaml(os.path.join(self.run_dir(i), "metadata", "info.yaml"))
            self.assertIsNotNone(info["duration_s"])

    def test_an_executor_runs_the_sweep(self):
        script = write_project(self.root, script=EXECUTOR_SCRIPT)
        result = run_process([sys.executable, script, "+sweep", "lr=0.1,0.2,0.3"], cwd=self.root, env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual([status_of(self.run_dir(i)) for i in (1, 2, 3)], ["COMPLETE", "COMPLETE", "FAILED"])
        self.assertIn("sweep: 3 runs, 2 complete, 1 failed\n", result.stderr)
        self.assertEqual(read_yaml(os.path.join(self.run_dir(1), "metadata", "info.yaml"))["pid"] != os.getpid(), True)

    def test_a_thread_pool_starts_a_python_per_run_with_its_gpus(self):
        script = write_project(self.root, script=EXECUTOR_SCRIPT)
        result = run_process([sys.executable, script, "+sweep", "lr=0.1,0.2", "xp.gpus=[1,3]"], cwd=self.root,
                             env={**self.env, "THREADS": "1", "FAKE_GPUS": "4"}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual({self.gpus_of(1), self.gpus_of(2)}, {"1", "3"})
        info = read_yaml(os.path.join(self.run_dir(1), "metadata", "info.yaml"))
        self.assertEqual(info["argv"][1:], ["lr=0.1", "xp.gpus=[1, 3]", "xp.run_id=1", f"xp.log_dir={self.logs}", "xp.scheduler=null"])

    def test_ctrl_c_stops_an_executors_processes(self):
        script = write_project(self.root, script=EXECUTOR_SCRIPT)
        open(os.path.join(self.root, "block"), "w").close()
        process = start_process(self, [sys.executable, script, "+sweep", "lr=0.1,0.2,0.4"], cwd=self.root,
                                env={**self.env, "THREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True)
        wait_until(lambda: all(os.path.exists(os.path.join(self.run_dir(i), "metrics", "env.jsonl")) for i in (1, 2)),
                   "two runs started")
        process.send_signal(signal.SIGINT)
        _, stderr = finish(process)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertEqual([status_of(self.run_dir(i)) for i in (1, 2, 3)], ["INTERRUPTED"] * 3)

    def test_a_task_that_exits_with_a_status(self):
        script = write_project(self.root, body="raise SystemExit(ctx.config.lr > 0.15 and 3)\n")
        result = self.run_sweep("+sweep", "lr=0.1,0.2", "xp.scheduler=local")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual([status_of(self.run_dir(i)) for i in (1, 2)], ["COMPLETE", "FAILED"])
        self.assertIn("FAILED lr=0.2 xp.scheduler=local -> logs/2: SystemExit: 3", result.stderr)


EXECUTOR_SCRIPT = """\
import os, time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
import tinyxp

POOL = ThreadPoolExecutor(2) if os.environ.get("THREADS") else ProcessPoolExecutor(2)

@tinyxp.launch(config_path="configs", executor=POOL)
def train(ctx):
    ctx.logger.log_metrics({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid()}, log_name="env")
    while os.path.exists(os.path.join(os.path.dirname(__file__), "block")):
        time.sleep(0.05)
    if ctx.config.lr == 0.3:
        raise ValueError("bad lr")

if __name__ == "__main__":
    train()
"""


class GpuSlotsTest(unittest.TestCase):
    def slots(self, setting, max_parallel, found):
        with mock.patch.object(gpus, "visible_gpus", return_value=(found, "test")):
            return gpus.gpu_slots(setting, max_parallel)

    def test_shares(self):
        self.assertEqual(self.slots(None, 3, ["0"]), (3, [None]))
        self.assertEqual(self.slots("auto", None, []), (None, [None]))
        self.assertEqual(self.slots("auto", None, ["0", "1"]), (2, ["0", "1"]))
        self.assertEqual(self.slots("auto", 2, ["0", "1", "2", "3", "4"]), (2, ["0,1", "2,3"]))
        self.assertEqual(self.slots("1,2", 1, ["0", "1", "2"]), (1, ["1,2"]))

    def test_visible_gpus(self):
        with mock.patch.dict(os.environ, {"CUDA_VISIBLE_DEVICES": "2, 3"}):
            self.assertEqual(gpus.visible_gpus(), (["2", "3"], "CUDA_VISIBLE_DEVICES='2, 3'"))
        with mock.patch.dict(os.environ, {"PATH": temp_dir(self)}):
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            self.assertEqual(gpus.visible_gpus(), ([], "nvidia-smi -L: command not found on PATH"))
        with mock.patch.object(gpus, "run_command", return_value=(9, b"", b"")), mock.patch.dict(os.environ, {}):
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            self.assertEqual(gpus.visible_gpus(), ([], "nvidia-smi -L exited with status 9"))

    def test_gpu_lists(self):
        self.assertEqual(parse_gpu_list([0, 2]), ["0", "2"])
        self.assertEqual(parse_gpu_list("0, 2"), ["0", "2"])
        self.assertEqual(parse_gpu_list(3), ["3"])
        for bad in ([], "a", [True], [-1], "0,,1", 1.5):
            self.assertIsNone(parse_gpu_list(bad), bad)

    def test_a_comma_in_xp_gpus_lists_gpus(self):
        from tinyxp.config.command_line import parse_command_line
        from tinyxp.config.search import expand_command_line

        config_dir = os.path.dirname(write_project(temp_dir(self)))
        for tokens, gpus in ((["xp.gpus=0,1"], [0, 1]), (["+sweep", "xp.gpus=2,3", "lr=1,2"], [2, 3]),
                             (["xp.gpus=auto"], "auto")):
            settings = expand_command_line(parse_command_line(tokens), os.path.join(config_dir, "configs"))
            self.assertEqual([[o.value for o in s if o.key == "xp.gpus"] for s in settings], [[gpus]] * len(settings))
        self.assertEqual(len(settings), 1)

    def test_max_parallel_checks(self):
        check_max_parallel({"max_parallel": 2}, 3, processes=True)
        check_max_parallel({"max_parallel": 2, "array": True, "scheduler": "slurm"}, 3, processes=False)
        check_max_parallel({"max_parallel": 2}, 1, processes=False)
        with self.assertRaises(ConfigError) as caught:
            check_max_parallel({"max_parallel": 2, "scheduler": "sge"}, 3, processes=False)
        self.assertTrue(str(caught.exception).startswith("Invalid xp.max_parallel 2 for 3 separate sge jobs"))


class LocalInternalsTest(unittest.TestCase):
    """What the sweeps above rarely meet: processes that end without a word, a stop, odd platforms."""

    def setUp(self):
        self.root = temp_dir(self)
        self.run_dir = os.path.join(self.root, "1")
        os.makedirs(os.path.join(self.run_dir, "metadata"))
        self.run = local.LocalRun(0, "lr=1", 1, self.run_dir, "logs/1", [sys.executable, "-c", "pass"])

    def set_info(self, **info) -> None:
        from tinyxp._files import write_yaml

        write_yaml(os.path.join(self.run_dir, "metadata", "info.yaml"), info)

    def future(self, result=None, error=None):
        from concurrent.futures import Future

        future = Future()
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
        return future

    def test_outcomes(self):
        self.set_info(status="RUNNING")
        status, why, shown = local._outcome(self.run, self.future(-9))
        self.assertEqual((status, shown), ("FAILED", ""))
        self.assertEqual(why, "LocalProcessError: the process ended without recording its end: exit status -9 "
                              "(output: logs/1/stderr.log)")
        self.set_info(status="COMPLETE", duration_s=2.0)
        self.assertEqual(local._outcome(self.run, self.future(1))[::2], ("FAILED", " (2.0 s)"))
        self.set_info(status="PENDING")
        status, why, _ = local._outcome(self.run, self.future(error=RuntimeError("pool broken")))
        self.assertEqual(status, "FAILED")
        self.assertIn("the process ended without recording its end: RuntimeError: pool broken", why)

    def test_run_process_starts_nothing_once_stopped(self):
        self.set_info(status="INTERRUPTED")
        self.assertIsNone(local.run_process(self.run.argv, self.root, {}, self.run_dir))
        self.set_info(status="PENDING")
        with mock.patch.object(local._Children, "stopping", True):
            self.assertIsNone(local.run_process(self.run.argv, self.root, {}, self.run_dir))
        self.assertEqual(local.run_process(self.run.argv, self.root, {}, self.run_dir), 0)

    def test_stop_signals_the_process_a_run_records(self):
        sleeper = start_process(self, [sys.executable, "-c", "import time; time.sleep(60)"])
        from tinyxp.run.info import hostname

        self.set_info(status="RUNNING", hostname=hostname(), pid=sleeper.pid)
        gone = local.LocalRun(1, "x", 2, os.path.join(self.root, "2"), "logs/2", [])
        local._stop([self.run, gone], fork=False)
        finish(sleeper)
        self.assertEqual(sleeper.returncode, -signal.SIGINT)
        self.assertEqual(status_of(self.run_dir), "INTERRUPTED")
        local._Children.stopping = False

    def test_interrupt_kills_what_does_not_stop(self):
        process = mock.Mock()
        process.wait.side_effect = [subprocess.TimeoutExpired("x", 1), 0]
        local._interrupt(process)
        process.send_signal.assert_called_once_with(signal.SIGINT)
        process.kill.assert_called_once_with()

    def test_a_forked_process_that_ignores_sigint_is_killed(self):
        from tinyxp.jobs import forked

        def stubborn(run):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            time.sleep(30)

        pid = forked._fork(self.run, None, stubborn)
        self.assertEqual(forked.running, {pid: (self.run, None)})
        time.sleep(0.2)  # the process ignores SIGINT by now
        forked.stop_forked(0.3)
        self.assertEqual(forked.running, {})
        with self.assertRaises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        self.assertEqual(forked._exit_status(0x0300), 3)

    def test_platform_fallbacks(self):
        with mock.patch.object(local.os, "sched_getaffinity", side_effect=AttributeError, create=True):
            self.assertEqual(local._cpu_count(), os.cpu_count() or 1)
        self.assertIsNone(local._on_sigterm(None))
        with mock.patch.object(local.signal, "signal", side_effect=ValueError):
            self.assertIsNone(local._on_sigterm(local._raise_interrupt))
        with self.assertRaises(KeyboardInterrupt):
            local._raise_interrupt(signal.SIGTERM, None)
        with self.assertRaises(ConfigError):
            local.check_local({"logging": True, "run_id": 3})


if __name__ == "__main__":
    unittest.main()
