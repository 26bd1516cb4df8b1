"""Against a real one-node SLURM (tests/slurm.py starts it): sweeps, arrays, scancel, preemption.

Skipped without sbatch or without root. The preemption test waits for SLURM to start
the requeued job again (about two minutes): it runs only with TINYXP_SLOW_TESTS=1.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
import time
import unittest

from . import jobs_support, slurm
from .jobs_support import BODY, CONFIG, PREEMPT_BODY, TIMEOUT, TRICKY, info, read, run_dirs, tinyxp_runs
from .support import run_process, run_script, script_env, temp_dir, wait_until, write_files, write_project

SLOW = os.environ.get("TINYXP_SLOW_TESTS") == "1"


def wait_for_status(run_dir: str, statuses, timeout: float = TIMEOUT) -> dict:
    """Poll a run's info.yaml until its status is one of statuses; returns the info."""
    return jobs_support.wait_for_status(run_dir, statuses, timeout, describe=show_job)


def wait_for_job_end(job_id: str, timeout: float = TIMEOUT) -> str:
    """Poll scontrol until the job has ended; returns its state (COMPLETED, FAILED, ...)."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = run_process(["scontrol", "show", "job", str(job_id)], stdout=subprocess.PIPE,
                            universal_newlines=True, timeout=30).stdout
        found = re.search(r"JobState=(\w+)", shown)
        if found and found.group(1) not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED"):
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout:g} s:\n{shown}")


def show_job(job_id) -> str:
    return run_process(["scontrol", "show", "job", str(job_id)], stdout=subprocess.PIPE, universal_newlines=True, timeout=30).stdout


def scancel(*args: str) -> None:
    run_process(["scancel", *args], check=True, timeout=30)


def mem_request(test: unittest.TestCase) -> str:
    """A --mem request the cluster's nodes can meet; skips the test when they declare no memory."""
    memory = slurm.real_memory_mb()
    if memory is None:
        test.skipTest("the SLURM nodes declare no RealMemory (sinfo -o %m shows 1): a --mem request cannot be met")
    return f"--mem={min(100, memory)}M"


@unittest.skipIf(slurm.ensure_cluster() is not None, f"no SLURM: {slurm.ensure_cluster()}")
class SlurmTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.marker = os.path.join(self.root, "marker")
        self.script = write_project(self.root, body=BODY, config=CONFIG)
        self.log_dir = os.path.join(self.root, "logs")
        self.submitted = []
        self.addCleanup(self.cancel)

    def cancel(self):
        for job in self.submitted:
            run_process(["scancel", str(job)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    def check_complete(self, expected_lrs, *, array=False, after=""):
        dirs = run_dirs(self.log_dir)
        self.assertEqual(len(dirs), len(expected_lrs))
        tricky = TRICKY.format(marker=self.marker)
        for run_dir, lr in zip(dirs, expected_lrs):
            done = wait_for_status(run_dir, ("COMPLETE", "FAILED"))
            self.assertEqual(done["status"], "COMPLETE", read(os.path.join(run_dir, "stderr.log")))
            job = done["scheduler"]
            self.assertEqual(wait_for_job_end(job["job_id"]), "COMPLETED")
            self.assertEqual(job["name"], "slurm")
            self.assertTrue(str(job["job_id"]).isdigit(), job)
            if array:
                self.assertIsNotNone(job["array_job_id"])
                self.assertIsInstance(job["array_task_id"], int)
            self.assertEqual(read(os.path.join(run_dir, "stdout.log")), f"lr {lr} msg {tricky}\n{after}")
            self.assertIn("to stderr\n", read(os.path.join(run_dir, "stderr.log")))
        self.assertFalse(os.path.exists(self.marker), "a value in a job executed a command")

    def submit_with_launcher(self, *args):
        done = run_script(self.script, ["+sweep", "lr=0.1,0.2,0.3", "msg=" + json.dumps(TRICKY.format(marker=self.marker)),
                                        "xp.scheduler=slurm", *args], cwd=self.root)
        self.assertEqual(done.returncode, 0, done.stderr)
        for run_dir in run_dirs(self.log_dir):
            self.submitted.append(info(run_dir)["scheduler"]["job_id"])
        return done

    def test_launcher_sweep_as_jobs(self):
        done = self.submit_with_launcher("xp.scheduler_options=['--time=00:05:00']")
        self.assertEqual(done.stdout.count("Submitted run"), 3)
        for run_dir in run_dirs(self.log_dir):
            self.assertIn(info(run_dir)["status"], ("PENDING", "RUNNING", "COMPLETE"))
        self.check_complete([0.1, 0.2, 0.3])

    def test_launcher_sweep_as_array_with_throttle(self):
        self.submit_with_launcher("xp.array=true", "xp.max_parallel=2")
        array_id = info(run_dirs(self.log_dir)[0])["scheduler"]["array_job_id"]
        self.assertIn("ArrayTaskThrottle=2", show_job(array_id))
        self.check_complete([0.1, 0.2, 0.3], array=True)

    def write_jobs_script(self, extra=""):
        tricky = TRICKY.format(marker=self.marker)
        jobs = os.path.join(self.root, "jobs.sh")
        self.mem = mem_request(self)  # what the node offers, not a fixed --mem=100M
        write_files(self.root, {"jobs.sh": f"""\
            #!/bin/bash
            #SBATCH --time=00:05:00
            #SBATCH {self.mem}
            export GREETING="hello there"
            {sys.executable} train.py +sweep lr=0.1,0.2 \\
                {shlex.quote("msg=" + json.dumps(tricky))} {extra}
            echo "after: $GREETING"
            """})
        return jobs

    def tinyxp_sub(self, *args):
        done = run_process([sys.executable, "-m", "tinyxp", "sub", *args, "jobs.sh"], cwd=self.root,
                           env=script_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        for run_dir in run_dirs(self.log_dir):
            self.submitted.append(info(run_dir)["scheduler"]["job_id"])
        return done

    def test_tinyxp_sub_as_jobs(self):
        self.write_jobs_script()
        done = self.tinyxp_sub()
        self.assertEqual(done.stdout.count("Submitted run"), 2)
        self.check_complete([0.1, 0.2], after="after: hello there\n")
        for run_dir in run_dirs(self.log_dir):
            self.assertIn(f"#SBATCH {self.mem}\n", read(os.path.join(run_dir, "script.sh")))

    def test_tinyxp_sub_as_array_with_throttle(self):
        self.write_jobs_script("xp.max_parallel=1")
        self.tinyxp_sub("--array")
        array_id = info(run_dirs(self.log_dir)[0])["scheduler"]["array_job_id"]
        self.assertIn("ArrayTaskThrottle=1", show_job(array_id))
        self.check_complete([0.1, 0.2], array=True, after="after: hello there\n")

    @unittest.skipUnless(shutil.which("git"), "git is not installed")
    def test_tinyxp_sub_from_a_snapshot_taken_at_submission(self):
        from unittest import mock

        from .test_git import GIT_ENV, git

        self.write_jobs_script("xp.snapshot=true")
        git(self.root, "init", "--quiet")
        git(self.root, "add", "train.py", "configs", "jobs.sh")
        with mock.patch.dict(os.environ, GIT_ENV):
            git(self.root, "commit", "--quiet", "-m", "first")
        commit = git(self.root, "rev-parse", "HEAD").strip()
        self.tinyxp_sub()
        # edited while the jobs wait: they run the code of the submission all the same
        write_files(self.root, {"train.py": "raise SystemExit('the working tree ran, not the snapshot')\n"})
        self.check_complete([0.1, 0.2], after="after: hello there\n")
        snapshot = os.path.join(os.path.realpath(self.root), ".tinyxp", "snapshots", os.path.basename(self.root), commit)
        for run_dir in run_dirs(self.log_dir):
            record = info(run_dir)
            self.assertEqual((record["git"]["commit"], record["git"]["snapshot_dir"], record["work_dir"]),
                             (commit, snapshot, snapshot))

    def test_scancel_ends_interrupted(self):
        done = run_script(self.script, ["xp.scheduler=slurm", "sleep=60"], cwd=self.root)
        self.assertEqual(done.returncode, 0, done.stderr)
        (run_dir,) = run_dirs(self.log_dir)
        job_id = info(run_dir)["scheduler"]["job_id"]
        self.submitted.append(job_id)
        wait_for_status(run_dir, ("RUNNING",))
        scancel(str(job_id))
        self.assertEqual(wait_for_status(run_dir, ("INTERRUPTED", "FAILED", "COMPLETE"))["status"], "INTERRUPTED")

    def tinyxp_runs_statuses(self):
        return tinyxp_runs(self.log_dir, self.root)

    def test_scancel_while_queued_ends_interrupted(self):
        self.submit_with_launcher("xp.scheduler_options=['--begin=now+3600']")  # held: they stay queued
        first = info(run_dirs(self.log_dir)[0])["scheduler"]["job_id"]
        scancel(str(first))
        self.assertEqual(self.tinyxp_runs_statuses(), [
            ("INTERRUPTED", f"job {first} was cancelled before it started"), ("PENDING", None), ("PENDING", None),
        ])

    def test_after_and_chain_make_slurm_dependencies(self):
        held = run_script(self.script, ["xp.scheduler=slurm", "xp.scheduler_options=['--begin=now+3600']"], cwd=self.root)
        self.assertEqual(held.returncode, 0, held.stderr)
        first = info(run_dirs(self.log_dir)[0])["scheduler"]["job_id"]
        self.submitted.append(first)
        done = run_script(self.script, ["xp.scheduler=slurm", "xp.after=1", "xp.chain=2"], cwd=self.root)
        self.assertEqual(done.returncode, 0, done.stderr)
        record = info(run_dirs(self.log_dir)[1])
        second, (third,) = record["scheduler"]["job_id"], record["chained_jobs"]
        self.submitted += [second, third]
        self.assertIn(f"Dependency=afterany:{first}", show_job(second))  # run 1 resolved to its job
        self.assertIn(f"Dependency=afterany:{second}", show_job(third))  # the chain's next segment
        self.assertIn("Reason=Dependency", show_job(second))

    def test_srun_ranks_make_one_run(self):
        write_project(self.root, body='ctx.logger.log_metrics({"rank": ctx.info.rank}, log_name="ranks", all_ranks=True)\n', config=CONFIG)
        write_files(self.root, {"ranks.sh": f"""\
            #!/bin/bash
            #SBATCH --ntasks=2 --time=00:05:00 --output={self.root}/ranks.out
            srun --ntasks=2 {sys.executable} train.py
            """})
        done = run_process(["sbatch", "--parsable", "ranks.sh"], cwd=self.root, env=script_env(),
                           stdout=subprocess.PIPE, universal_newlines=True, timeout=30)
        job_id = done.stdout.strip().split(";")[0]
        self.submitted.append(job_id)
        self.assertEqual(wait_for_job_end(job_id), "COMPLETED", read(os.path.join(self.root, "ranks.out")))
        (run_dir,) = run_dirs(self.log_dir)  # the two processes of one job step: one run
        record = info(run_dir)
        self.assertEqual((record["status"], record["ranks"]), ("COMPLETE", {"world_size": 2, "launcher": "slurm"}))
        self.assertEqual(read(os.path.join(run_dir, "metrics", "ranks.jsonl")), '{"rank": 0}\n')
        self.assertEqual(read(os.path.join(run_dir, "metrics", "ranks.rank1.jsonl")), '{"rank": 1}\n')

    def test_scancel_of_a_queued_array_task_ends_interrupted(self):
        self.submit_with_launcher("xp.array=true", "xp.scheduler_options=['--begin=now+3600']")
        second = info(run_dirs(self.log_dir)[1])["scheduler"]["job_id"]
        self.submitted.append(info(run_dirs(self.log_dir)[0])["scheduler"]["array_job_id"])  # the whole array at the end
        scancel(str(second))
        self.assertEqual(self.tinyxp_runs_statuses(), [
            ("PENDING", None), ("INTERRUPTED", f"job {second} was cancelled before it started"), ("PENDING", None),
        ])

    @unittest.skipUnless(SLOW, "slow (the requeued job restarts after about two minutes): set TINYXP_SLOW_TESTS=1")
    def test_preemption_checkpoints_requeues_and_resumes(self):
        script = write_project(self.root, body=PREEMPT_BODY, config=CONFIG)
        done = run_script(script, ["xp.scheduler=slurm", "xp.requeue=true", "xp.signal_grace=60"], cwd=self.root)
        self.assertEqual(done.returncode, 0, done.stderr)
        (run_dir,) = run_dirs(self.log_dir)
        job_id = info(run_dir)["scheduler"]["job_id"]
        self.submitted.append(job_id)
        self.assertIn("#SBATCH --signal=B:USR2@60\n", read(os.path.join(run_dir, "script.sh")))
        wait_for_status(run_dir, ("RUNNING",))
        stdout_log = os.path.join(run_dir, "stdout.log")
        wait_until(lambda: os.path.exists(stdout_log) and "attempt 1" in read(stdout_log),  # once its handler is registered
                   lambda: f"the task did not start: stdout.log holds {read(stdout_log) if os.path.exists(stdout_log) else None!r}",
                   timeout=TIMEOUT, interval=0.1)
        time.sleep(0.3)  # a few steps
        scancel("--signal=USR2", "--batch", str(job_id))
        interrupted = wait_for_status(run_dir, ("INTERRUPTED", "FAILED", "COMPLETE"))
        self.assertEqual(interrupted["status"], "INTERRUPTED")
        with open(os.path.join(run_dir, "artifacts", "pickle", "last.pkl"), "rb") as file:
            checkpoint = pickle.load(file)  # saved by the task's on_preempt handler
        self.assertEqual(checkpoint["attempts"], 1)
        self.assertGreater(checkpoint["step"], 0)
        final = wait_for_status(run_dir, ("COMPLETE", "FAILED"), timeout=300)
        self.assertEqual(final["status"], "COMPLETE", read(os.path.join(run_dir, "stderr.log")))
        self.assertEqual(final["restarts"], 1)
        self.assertEqual(final["scheduler"]["restarts"], 1)
        lines = read(os.path.join(run_dir, "stdout.log")).splitlines()
        self.assertEqual(lines[0], "attempt 1 from step 0")
        self.assertEqual(lines[1], f"attempt 2 from step {checkpoint['step']}")


class MemoryRequestTest(unittest.TestCase):
    """The --mem request of the job-script tests follows what the nodes declare (no cluster needed)."""

    def test_real_memory_of_the_default_partition(self):
        self.assertEqual(slurm.parse_real_memory("24105 debug*\n"), 24105)
        self.assertEqual(slurm.parse_real_memory("64000 gpu\n4000 debug*\n16000 debug*\n"), 4000)
        self.assertEqual(slurm.parse_real_memory("1 debug*\n"), None)  # RealMemory not configured
        self.assertEqual(slurm.parse_real_memory(""), None)

    def test_request_within_the_node_or_skip(self):
        from unittest import mock

        with mock.patch.object(slurm, "real_memory_mb", return_value=24105):
            self.assertEqual(mem_request(self), "--mem=100M")
        with mock.patch.object(slurm, "real_memory_mb", return_value=64):
            self.assertEqual(mem_request(self), "--mem=64M")
        with mock.patch.object(slurm, "real_memory_mb", return_value=None):
            with self.assertRaises(unittest.SkipTest) as caught:
                mem_request(self)
        self.assertIn("declare no RealMemory", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
