"""Continuing a sweep (xp.skip): settings with a run are skipped or resumed, the others start."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import unittest

import tinyxp
from tinyxp._files import read_yaml, write_yaml

from .support import (
    REPO_ROOT, finish, run_process, run_script, script_env, start_script, temp_dir, wait_for_line, write_project,
)

FAKEBIN = os.path.join(REPO_ROOT, "tests", "fakebin")

# fails for seed 1 at its first launch; holds seed 7 at its first launch until killed
TASK = """\
import time
if ctx.config.seed == 1 and not ctx.info.restarts and ctx.config.lr == 0.5:
    raise ValueError("seed 1 fails once")
if ctx.config.seed == 7 and not ctx.info.restarts and ctx.config.lr == 0.1:
    print("holding", ctx.info.run_id, flush=True)
    time.sleep(120)
print("ran", ctx.info.run_id, flush=True)
"""


def info_of(run_dir: str) -> dict:
    return read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))


class ContinueTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        self.script = write_project(self.root, body=TASK)

    def launch(self, *args: str, code: int = 0):
        result = run_script(self.script, list(args))
        self.assertEqual(result.returncode, code, result.stderr)
        return result

    def statuses(self) -> dict:
        return {int(name): info_of(os.path.join(self.logs, name))["status"] for name in os.listdir(self.logs) if name.isdigit()}

    def test_failed_runs_are_resumed_and_complete_ones_skipped(self):
        self.launch("+sweep", "seed=range(3)", "lr=0.5", code=1)
        self.assertEqual(self.statuses(), {1: "COMPLETE", 2: "FAILED", 3: "COMPLETE"})
        result = self.launch("+sweep", "seed=range(4)", "lr=0.5", "xp.skip=complete")
        self.assertIn("tinyxp: 2 done, 1 resumed, 1 new (xp.skip=complete)\n", result.stderr)
        self.assertEqual(result.stdout, "ran 2\nran 4\n")
        self.assertEqual(self.statuses(), {1: "COMPLETE", 2: "COMPLETE", 3: "COMPLETE", 4: "COMPLETE"})
        self.assertEqual([e["status"] for e in info_of(os.path.join(self.logs, "2"))["launches"]], ["FAILED", "COMPLETE"])
        result = self.launch("+sweep", "seed=range(4)", "lr=0.5", "xp.skip=complete")
        self.assertEqual((result.stdout, result.stderr), ("", "tinyxp: 4 done, 0 resumed, 0 new (xp.skip=complete)\n"))

    def test_with_a_scheduler_failed_runs_are_submitted_again_into_their_directories(self):
        self.launch("+sweep", "seed=range(3)", "lr=0.5", code=1)
        env = {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": os.path.join(self.root, "calls.log")}
        result = run_script(self.script, ["+sweep", "seed=range(4)", "lr=0.5", "xp.skip=complete", "xp.scheduler=slurm"], env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("tinyxp: 2 done, 1 resumed, 1 new (xp.skip=complete)\n", result.stderr)
        self.assertEqual(self.statuses(), {1: "COMPLETE", 2: "PENDING", 3: "COMPLETE", 4: "PENDING"})
        run_dir = os.path.join(self.logs, "2")
        info = info_of(run_dir)
        self.assertEqual([(e["status"], e["job_id"]) for e in info["launches"]], [("FAILED", None), ("PENDING", "1000")])
        self.assertEqual(info["scheduler"] if "scheduler" in info else None, None)
        with open(os.path.join(run_dir, "script.sh")) as file:
            command = shlex.split(file.read().splitlines()[-1])
        self.assertEqual(command[-3:], ["xp.run_id=2", f"xp.log_dir={self.logs}", "xp.scheduler=null"])
        self.assertNotIn("xp.skip=complete", command)
        job = run_process(command, env=script_env({"SLURM_JOB_ID": "1000"}), cwd=self.root,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual((job.returncode, job.stdout), (0, "ran 2\n"), job.stderr)
        info = info_of(run_dir)
        self.assertEqual((info["status"], info["restarts"]), ("COMPLETE", 1))
        self.assertEqual([(e["status"], e["job_id"]) for e in info["launches"]], [("FAILED", None), ("COMPLETE", "1000")])
        self.assertIn("submit_time", info["launches"][1])
        self.assertEqual(info["launches"][0]["error"], {"type": "ValueError", "message": "seed 1 fails once"})

    def test_a_resubmitted_run_joins_a_job_array_and_a_failed_submission_leaves_it_as_it_was(self):
        self.launch("+sweep", "seed=range(2)", "lr=0.5", code=1)
        run_dir = os.path.join(self.logs, "2")
        before = info_of(run_dir)
        env = {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": os.path.join(self.root, "calls.log")}
        sweep = ["+sweep", "seed=range(3)", "lr=0.5", "xp.skip=complete", "xp.array=true"]
        result = run_script(self.script, [*sweep, "xp.scheduler=oar", "xp.max_parallel=2"], env=env)
        self.assertEqual(result.returncode, 2)
        self.assertIn("Invalid xp.max_parallel for OAR", result.stderr)
        self.assertEqual(info_of(run_dir), before)
        self.assertEqual(sorted(self.statuses()), [1, 2])
        with open(os.path.join(run_dir, "script.sh"), "w") as file:
            file.write("#!/bin/sh\n")  # as if it had been submitted on its own before
        result = run_script(self.script, [*sweep, "xp.scheduler=slurm"], env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.islink(os.path.join(run_dir, "script.sh")))
        self.assertEqual(self.statuses(), {1: "COMPLETE", 2: "PENDING", 3: "PENDING"})

    def test_tinyxp_sub_continues_a_sweep(self):
        self.launch("+sweep", "seed=range(3)", "lr=0.5", code=1)
        with open(os.path.join(self.root, "jobs.sh"), "w") as file:
            file.write("#!/bin/bash\n#SBATCH --time=00:10:00\npython train.py +sweep seed=range(5) lr=0.5 xp.skip=complete\n")
        env = script_env({"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": os.path.join(self.root, "calls.log")})
        result = run_process([sys.executable, "-m", "tinyxp", "sub", "jobs.sh"], cwd=self.root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "tinyxp: 2 done, 1 resumed, 2 new (xp.skip=complete)\n")
        self.assertEqual(self.statuses(), {1: "COMPLETE", 2: "PENDING", 3: "COMPLETE", 4: "PENDING", 5: "PENDING"})
        self.assertEqual(result.stdout.count("Submitted run"), 3)
        with open(os.path.join(self.root, "jobs.sh"), "w") as file:
            file.write("#!/bin/bash\n#SBATCH --time=00:10:00\npython train.py +sweep seed=range(5) lr=0.5 xp.skip=complete\n")
        result = run_process([sys.executable, "-m", "tinyxp", "sub", "jobs.sh"], cwd=self.root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (0, "", "tinyxp: 5 done, 0 resumed, 0 new (xp.skip=complete)\n"))

    def tinyxp(self, *args: str, env=None):
        return run_process([sys.executable, "-m", "tinyxp", *args], cwd=self.root, env=script_env(env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)

    def fake_scheduler(self) -> dict:
        return {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": os.path.join(self.root, "calls.log")}

    def test_resubmit_a_local_run_needs_a_scheduler(self):
        self.launch("+sweep", "seed=range(3)", "lr=0.5", code=1)
        query = "info.status in ['FAILED', 'LOST']"
        result = self.tinyxp("resubmit", "logs", "-q", query)
        self.assertEqual((result.returncode, result.stderr),
                         (2, "tinyxp: error: Cannot resubmit run 2: it ran without a scheduler; pass --scheduler\n"))
        self.assertEqual(self.statuses()[2], "FAILED")
        result = self.tinyxp("resubmit", "logs", "-q", query, "--scheduler", "slurm", env=self.fake_scheduler())
        run_dir = os.path.join(self.logs, "2")
        self.assertEqual((result.returncode, result.stdout), (0, f"Submitted run 2 as slurm job 1000: {run_dir}\n"), result.stderr)
        info = info_of(run_dir)
        self.assertEqual([(e["status"], e["job_id"]) for e in info["launches"]], [("FAILED", None), ("PENDING", "1000")])
        with open(os.path.join(run_dir, "script.sh")) as file:
            command = file.read().splitlines()[-1]
        self.assertTrue(command.endswith(f"train.py seed=1 lr=0.5 xp.run_id=2 xp.log_dir={self.logs} xp.scheduler=null"), command)
        result = self.tinyxp("resubmit", "logs", "-q", query, "--scheduler", "slurm", env=self.fake_scheduler())
        self.assertEqual((result.returncode, result.stderr), (2, "tinyxp: error: No run in 'logs' matches the query "
                                                                 "\"info.status in ['FAILED', 'LOST']\": nothing to resubmit\n"))
        result = self.tinyxp("resubmit", "logs", "-q", "info.run_id == 2", "--scheduler", "slurm", env=self.fake_scheduler())
        self.assertEqual((result.returncode, result.stderr),
                         (2, "tinyxp: error: Cannot resubmit run 2: it is PENDING (wait for it to end)\n"))

    def test_a_failed_resubmission_marks_the_run_failed(self):
        env = self.fake_scheduler()
        result = run_script(self.script, ["seed=3", "xp.scheduler=slurm"], env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        run_dir = os.path.join(self.logs, "1")
        info = info_of(run_dir)
        info.update(status="INTERRUPTED")
        write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), info)
        result = self.tinyxp("resubmit", "logs", "-q", "info.run_id == 1", "--no-scheduler-check",
                             env={**env, "TINYXP_FAKE_FAIL_AT": "2"})
        self.assertEqual(result.returncode, 2)
        self.assertTrue(result.stderr.startswith(f"tinyxp: error: Cannot submit {run_dir + '/script.sh'!r}: sbatch exited"),
                        result.stderr)
        info = info_of(run_dir)
        self.assertEqual((info["status"], info["error"]["type"]), ("FAILED", "SchedulerError"))
        self.assertEqual([e["status"] for e in info["launches"]], ["INTERRUPTED", "PENDING"])
        os.remove(info["script"])
        result = self.tinyxp("resubmit", "logs", "-q", "info.run_id == 1", "--no-scheduler-check", "--scheduler", "oar", env=env)
        self.assertEqual((result.returncode, result.stderr),
                         (2, f"tinyxp: error: Cannot resubmit run 1: no script {info['script']!r}\n"))

    def test_resubmit_a_submitted_run_submits_its_own_script_again(self):
        env = self.fake_scheduler()
        result = run_script(self.script, ["+sweep", "seed=range(2)", "lr=0.5", "xp.scheduler=slurm"], env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        run_dir = os.path.join(self.logs, "2")
        info_path = os.path.join(run_dir, "metadata", "info.yaml")
        info = info_of(run_dir)
        info.update(status="FAILED", error={"type": "ValueError", "message": "boom"})  # as its job would leave it
        write_yaml(info_path, info)
        with open(os.path.join(run_dir, "script.sh")) as file:
            script = file.read()
        result = self.tinyxp("resubmit", "logs", "-q", "info.status == 'FAILED'", "--no-scheduler-check", env=env)
        self.assertEqual((result.returncode, result.stdout), (0, f"Submitted run 2 as slurm job 1002: {run_dir}\n"), result.stderr)
        with open(os.path.join(run_dir, "script.sh")) as file:
            self.assertEqual(file.read(), script)
        with open(env["TINYXP_FAKE_LOG"]) as file:
            self.assertEqual(file.read().splitlines()[-1], f"sbatch --parsable {run_dir}/script.sh")
        info = info_of(run_dir)
        self.assertEqual(info["scheduler"]["job_id"], "1001")
        self.assertEqual([(e["status"], e["job_id"]) for e in info["launches"]], [("FAILED", "1001"), ("PENDING", "1002")])

    def test_skip_existing_leaves_failed_runs_alone(self):
        self.launch("+sweep", "seed=range(2)", "lr=0.5", code=1)
        result = self.launch("+sweep", "seed=range(3)", "lr=0.5", "xp.skip=existing")
        self.assertEqual(result.stdout, "ran 3\n")
        self.assertIn("tinyxp: 2 done, 0 resumed, 1 new (xp.skip=existing)\n", result.stderr)
        self.assertEqual(self.statuses(), {1: "COMPLETE", 2: "FAILED", 3: "COMPLETE"})

    def test_a_run_of_another_script_or_config_is_not_a_match(self):
        self.launch("seed=4")
        other = os.path.join(self.root, "other.py")
        with open(self.script) as source, open(other, "w") as copy:
            copy.write(source.read())
        result = run_script(other, ["seed=4", "xp.skip=complete"])
        self.assertIn("tinyxp: 0 done, 0 resumed, 1 new", result.stderr)
        result = self.launch("seed=4", "+extra=1", "xp.skip=complete")
        self.assertIn("tinyxp: 0 done, 0 resumed, 1 new", result.stderr)
        self.assertEqual(len(os.listdir(self.logs)), 3)

    def test_bad_skip_settings(self):
        result = self.launch("xp.skip=done", code=2)
        self.assertEqual(result.stderr, "error: Invalid value 'done' for the tinyxp setting 'skip'; did you mean 'none'? "
                                        "(expected one of none, complete, existing)\n    xp.skip=done\n            ^^^^\n")
        result = self.launch("xp.skip=complete", "xp.run_id=1", code=2)
        self.assertEqual(result.stderr, "error: Cannot use xp.skip=complete with xp.run_id: xp.skip finds each setting's run itself\n")
        self.assertFalse(os.path.exists(self.logs))

    def test_a_sweep_killed_halfway_continues_with_exactly_the_missing_settings(self):
        sweep = ["+sweep", "seed=range(20)", "lr=0.1"]
        process = start_script(self.script, sweep, test=self)
        wait_for_line(process, "holding 8")
        process.send_signal(signal.SIGKILL)
        finish(process)
        self.assertEqual(sorted(self.statuses().items()), [(i, "COMPLETE") for i in range(1, 8)] + [(8, "RUNNING")])
        result = self.launch(*sweep, "xp.skip=complete")
        self.assertIn("tinyxp: 7 done, 1 resumed, 12 new (xp.skip=complete)\n", result.stderr)
        self.assertEqual(result.stdout.splitlines(), [f"ran {i}" for i in range(8, 21)])
        self.assertEqual(sorted(os.listdir(self.logs), key=int), [str(i) for i in range(1, 21)])
        reader = tinyxp.Reader(self.logs)
        runs = reader.filter("info.status == 'COMPLETE'")
        self.assertEqual(len(runs), 20)
        self.assertEqual(sorted(runs["config.seed"]), list(range(20)))
        self.assertEqual(len(set(runs["info.config_hash"])), 20)
        self.assertEqual([e["status"] for e in info_of(os.path.join(self.logs, "8"))["launches"]], ["LOST", "COMPLETE"])


class SettleResubmittedTest(unittest.TestCase):
    """A run submitted again is settled by the job of its pending launch, not its first job."""

    def test_the_pending_launch_job_is_asked_about(self):
        from tinyxp.jobs.settle import settle_pending_runs

        from .test_settle import make_run
        from .test_scheduler import fake_env

        log_dir = os.path.join(temp_dir(self), "logs")
        run_dir = make_run(log_dir, 1, "101")
        path = os.path.join(run_dir, "metadata", "info.yaml")
        info = read_yaml(path)
        info["launches"] = [{"job_id": "101", "status": "FAILED"}, {"scheduler": "slurm", "job_id": "201", "status": "PENDING"}]
        write_yaml(path, info)
        states = os.path.join(temp_dir(self), "states")
        for lines, settled in ((["101 CANCELLED", "201 PENDING"], []), (["101 CANCELLED", "201 CANCELLED"], [(1, "INTERRUPTED")])):
            with open(states, "w") as file:
                file.write("".join(line + "\n" for line in lines))
            fake_env(self, TINYXP_FAKE_SQUEUE=states)
            self.assertEqual(settle_pending_runs(log_dir), settled)
        self.assertEqual(read_yaml(path)["error"]["message"], "job 201 was cancelled before it started")


if __name__ == "__main__":
    unittest.main()
