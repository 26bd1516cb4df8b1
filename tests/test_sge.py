"""Against a real one-node Son of Grid Engine 8.1.9 (tests/sge.py starts it): jobs, arrays,
qdel while running and while queued, the -notify signal before h_rt reaching on_preempt.

Skipped without the Debian packages or without root.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import unittest

from . import sge
from .jobs_support import (
    BODY, CONFIG, PREEMPT_BODY, TIMEOUT, TRICKY, info, read, run_dirs, tinyxp_runs, wait_for_status,
)
from .support import REPO_ROOT, run_process, run_script, temp_dir, write_project

SETUP = "xp.setup=" + json.dumps([f"export PYTHONPATH={REPO_ROOT}"])  # SGE starts a job without our environment


def qstat(job_id: str) -> str:
    return run_process(["qstat", "-j", job_id.split(".")[0]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=30).stdout


@unittest.skipIf(sge.ensure_cluster() is not None, f"no SGE: {sge.ensure_cluster()}")
class SgeTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.marker = os.path.join(self.root, "marker")
        self.script = write_project(self.root, body=BODY, config=CONFIG)
        self.log_dir = os.path.join(self.root, "logs")
        self.submitted = []
        self.addCleanup(self.cancel)

    def cancel(self):
        for job in self.submitted:
            run_process(["qdel", str(job)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    def submit(self, *args, sweep=True):
        tricky = "msg=" + json.dumps(TRICKY.format(marker=self.marker))
        done = run_script(self.script, [*(["+sweep", "lr=0.1,0.2,0.3", tricky] if sweep else []),
                                        "xp.scheduler=sge", SETUP, *args], cwd=self.root)
        self.assertEqual(done.returncode, 0, done.stderr)
        for run_dir in run_dirs(self.log_dir):
            job = info(run_dir)["scheduler"]
            self.submitted.append(job["array_job_id"] or job["job_id"])
        return done

    def wait(self, run_dir, statuses, timeout=TIMEOUT, settle=False):
        return wait_for_status(run_dir, statuses, timeout, describe=qstat,
                               settle=(lambda: tinyxp_runs(self.log_dir, self.root, "id,status")) if settle else None)

    def check_complete(self, *, array=False):
        tricky = TRICKY.format(marker=self.marker)
        dirs = run_dirs(self.log_dir)
        self.assertEqual(len(dirs), 3)
        for index, (run_dir, lr) in enumerate(zip(dirs, [0.1, 0.2, 0.3])):
            submitted = info(run_dir)["scheduler"]
            done = self.wait(run_dir, ("COMPLETE", "FAILED"))
            self.assertEqual(done["status"], "COMPLETE", read(os.path.join(run_dir, "stderr.log")))
            job = done["scheduler"]
            self.assertEqual(job["name"], "sge")
            self.assertEqual(job["job_id"], submitted["job_id"])  # as at submission, also for an array task
            if array:
                self.assertEqual((job["job_id"], job["array_task_id"]), (f"{job['array_job_id']}.{index + 1}", index + 1))
            else:
                self.assertTrue(job["job_id"].isdigit(), job)
                self.assertIsNone(job["array_job_id"])
            self.assertEqual(read(os.path.join(run_dir, "stdout.log")), f"lr {lr} msg {tricky}\n")
            self.assertIn("to stderr\n", read(os.path.join(run_dir, "stderr.log")))
        self.assertFalse(os.path.exists(self.marker), "a value in a job executed a command")

    def test_sweep_as_jobs(self):
        self.assertEqual(self.submit().stdout.count("Submitted run"), 3)
        self.check_complete()

    def test_sweep_as_array_with_throttle(self):
        self.submit("xp.array=true", "xp.max_parallel=2")
        self.assertIn("#$ -tc 2\n", read(os.path.join(run_dirs(self.log_dir)[0], "script.sh")))
        self.check_complete(array=True)

    def test_qdel_while_running_ends_interrupted(self):
        # qdel kills with SIGKILL: the run cannot record it; `tinyxp runs` does, from qacct
        self.submit("sleep=60", sweep=False)
        (run_dir,) = run_dirs(self.log_dir)
        job_id = self.wait(run_dir, ("RUNNING",))["scheduler"]["job_id"]
        run_process(["qdel", job_id], check=True, stdout=subprocess.DEVNULL, timeout=30)
        done = self.wait(run_dir, ("INTERRUPTED", "FAILED", "COMPLETE"), timeout=90, settle=True)  # qacct lags ~15 s
        self.assertEqual(done["status"], "INTERRUPTED")
        self.assertTrue(done["error"]["message"].startswith(f"job {job_id} was cancelled while its run ran (qdel or a kill; "
                                                            "qacct: failed 100, exit status 137)"), done["error"])

    def test_qdel_while_queued_is_settled(self):
        self.submit("xp.scheduler_options=['-h']")  # held: they stay queued
        first = info(run_dirs(self.log_dir)[0])["scheduler"]["job_id"]
        run_process(["qdel", first], check=True, stdout=subprocess.DEVNULL, timeout=30)
        self.assertEqual(tinyxp_runs(self.log_dir, self.root), [
            ("INTERRUPTED", f"job {first} ended before it started, most likely cancelled (SGE no longer knows it)"),
            ("PENDING", None), ("PENDING", None),
        ])

    def test_after_and_chain_hold_jobs(self):
        self.submit("xp.scheduler_options=['-h']", sweep=False)  # held: it stays queued
        first = info(run_dirs(self.log_dir)[0])["scheduler"]["job_id"]
        done = run_script(self.script, ["xp.scheduler=sge", SETUP, "xp.after=1", "xp.chain=2"], cwd=self.root)
        self.assertEqual(done.returncode, 0, done.stderr)
        record = info(run_dirs(self.log_dir)[1])
        second, (third,) = record["scheduler"]["job_id"], record["chained_jobs"]
        self.submitted += [second, third]
        for job, predecessor in ((second, first), (third, second)):  # run 1 resolved to its job; the chain's next segment
            shown = run_process(["qstat", "-j", job], stdout=subprocess.PIPE, universal_newlines=True, timeout=30).stdout
            self.assertRegex(shown, rf"jid_predecessor_list[^:]*:\s*{predecessor}\b")

    def preempt(self, *args):
        """Submit a task that checkpoints in on_preempt; wait until it is INTERRUPTED; (run dir, checkpoint)."""
        script = write_project(self.root, body=PREEMPT_BODY, config=CONFIG)
        done = run_script(script, ["xp.scheduler=sge", SETUP, "xp.requeue=true", *args], cwd=self.root)
        self.assertEqual(done.returncode, 0, done.stderr)
        (run_dir,) = run_dirs(self.log_dir)
        self.submitted.append(info(run_dir)["scheduler"]["job_id"])
        self.assertEqual(self.wait(run_dir, ("INTERRUPTED", "FAILED", "COMPLETE"))["status"], "INTERRUPTED")
        with open(os.path.join(run_dir, "artifacts", "pickle", "last.pkl"), "rb") as file:
            checkpoint = pickle.load(file)  # saved by the task's on_preempt handler
        self.assertEqual(checkpoint["attempts"], 1)
        self.assertGreater(checkpoint["step"], 0)
        return run_dir, checkpoint

    def test_notify_before_h_rt_reaches_on_preempt(self):
        # -notify: SIGUSR2 (xp.requeue_signal's default) sge.NOTIFY before the kill at h_rt.
        # SGE does not run again a job that reached h_rt (qacct: failed 37), whatever it exits with.
        run_dir, _ = self.preempt("xp.scheduler_options=['-l h_rt=0:0:12']")
        self.assertIn("#$ -notify\n", read(os.path.join(run_dir, "script.sh")))

    def test_soft_limit_reaches_on_preempt_and_requeues(self):
        # -l s_rt: SIGUSR1 at the soft limit, well before h_rt; the script exits 99 and SGE
        # runs the job again, into the same run
        run_dir, checkpoint = self.preempt("xp.requeue_signal=USR1", "xp.scheduler_options=['-l s_rt=0:0:8,h_rt=0:1:0']")
        self.assertNotIn("-notify", read(os.path.join(run_dir, "script.sh")))
        final = self.wait(run_dir, ("COMPLETE", "FAILED"), timeout=90)
        self.assertEqual(final["status"], "COMPLETE", read(os.path.join(run_dir, "stderr.log")))
        self.assertEqual(final["restarts"], 1)
        lines = read(os.path.join(run_dir, "stdout.log")).splitlines()
        self.assertEqual(lines[:2], ["attempt 1 from step 0", f"attempt 2 from step {checkpoint['step']}"])

if __name__ == "__main__":
    unittest.main()
