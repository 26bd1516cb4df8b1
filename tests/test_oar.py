"""Against a real one-node OAR 2.5.9 (tests/oar.py starts it): jobs, arrays, oardel while
running and while queued, the --checkpoint signal reaching on_preempt.

OAR refuses root's jobs: every launch runs as the ordinary user tests/oar.py makes, from
a project folder that user owns, with the system python (/usr/bin/python3). Skipped
without the Debian packages, without root, or when that user cannot read this checkout.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import unittest

from . import oar
from .jobs_support import (
    BODY, CONFIG, PREEMPT_BODY, TIMEOUT, TRICKY, info, read, run_dirs, tinyxp_runs, wait_for_status,
)
from .support import REPO_ROOT, run_process, temp_dir, write_project

PYTHON = "/usr/bin/python3"  # the submitting user cannot run a python under /root
SETUP = "xp.setup=" + json.dumps([f"export PYTHONPATH={REPO_ROOT}"])  # OAR starts a job without our environment
RESOURCES = "-l core=1,walltime=0:05:00"


def why_skip():
    reason = oar.ensure_cluster()
    if reason is None and not os.path.exists(PYTHON):
        reason = f"{PYTHON} is missing: the OAR jobs' user needs a python of its own"
    elif reason is None and run_process(oar.as_user(["test", "-r", os.path.join(REPO_ROOT, "tinyxp", "__init__.py")]),
                                        timeout=30).returncode != 0:
        reason = f"the user {oar.USER} cannot read {REPO_ROOT}, which its jobs import tinyxp from"
    return reason


def oarstat(job_id: str) -> str:
    return run_process(["oarstat", "-fj", job_id], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=30).stdout


def give_to_user(folder: str) -> None:
    for root, dirs, files in os.walk(folder):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            shutil.chown(name, oar.USER)


SKIP = why_skip()


@unittest.skipIf(SKIP is not None, f"no OAR: {SKIP}")
class OarTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.marker = os.path.join(self.root, "marker")
        self.script = write_project(self.root, body=BODY, config=CONFIG)
        self.log_dir = os.path.join(self.root, "logs")
        self.submitted = []
        self.addCleanup(self.cancel)

    def cancel(self):
        if self.submitted:
            run_process(["oardel", *map(str, self.submitted)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    def launch(self, script, *args):
        """Run the launcher as the OAR user, from the project folder (which that user then owns)."""
        give_to_user(self.root)
        env = ["env", f"PYTHONPATH={REPO_ROOT}", f"PWD={self.root}", "PYTHONDONTWRITEBYTECODE=1"]
        done = run_process(oar.as_user([*env, PYTHON, script, "xp.scheduler=oar", SETUP, *args]), cwd=self.root,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.submitted += [info(run_dir)["scheduler"]["job_id"] for run_dir in run_dirs(self.log_dir)]
        return done

    def submit(self, *args, options=(RESOURCES,)):
        tricky = "msg=" + json.dumps(TRICKY.format(marker=self.marker))
        return self.launch(self.script, "+sweep", "lr=0.1,0.2,0.3", tricky,
                           f"xp.scheduler_options={json.dumps(list(options))}", *args)

    def wait(self, run_dir, statuses, timeout=TIMEOUT, settle=False):
        return wait_for_status(run_dir, statuses, timeout, describe=oarstat,
                               settle=(lambda: tinyxp_runs(self.log_dir, self.root, "id,status")) if settle else None)

    def check_complete(self, *, array=False):
        tricky = TRICKY.format(marker=self.marker)
        dirs = run_dirs(self.log_dir)
        self.assertEqual(len(dirs), 3)
        first = info(dirs[0])["scheduler"]["job_id"]
        for index, (run_dir, lr) in enumerate(zip(dirs, [0.1, 0.2, 0.3])):
            submitted = info(run_dir)["scheduler"]
            done = self.wait(run_dir, ("COMPLETE", "FAILED"))
            self.assertEqual(done["status"], "COMPLETE", read(os.path.join(run_dir, "stderr.log")))
            job = done["scheduler"]
            self.assertEqual((job["name"], job["job_id"]), ("oar", submitted["job_id"]))
            if array:  # every task a job of its own, the array named after the first
                self.assertEqual((job["array_job_id"], job["array_task_id"]), (first, index + 1))
            else:  # OAR sets OAR_ARRAY_ID and OAR_ARRAY_INDEX=1 in a plain job too
                self.assertEqual((job["array_job_id"], job["array_task_id"]), (None, None))
            self.assertEqual(read(os.path.join(run_dir, "stdout.log")), f"lr {lr} msg {tricky}\n")
            self.assertIn("to stderr\n", read(os.path.join(run_dir, "stderr.log")))
        self.assertFalse(os.path.exists(self.marker), "a value in a job executed a command")

    def test_sweep_as_jobs(self):
        self.assertEqual(self.submit().stdout.count("Submitted run"), 3)
        self.check_complete()

    def test_sweep_as_array(self):
        self.submit("xp.array=true")
        self.assertIn("#OAR --array 3\n", read(os.path.join(run_dirs(self.log_dir)[0], "script.sh")))
        self.check_complete(array=True)

    def test_oardel_while_running_ends_interrupted(self):
        # oardel kills with SIGKILL: the run cannot record it; `tinyxp runs` does, from oarstat
        self.launch(self.script, "sleep=60", f"xp.scheduler_options={json.dumps([RESOURCES])}")
        (run_dir,) = run_dirs(self.log_dir)
        job_id = self.wait(run_dir, ("RUNNING",))["scheduler"]["job_id"]
        run_process(["oardel", job_id], check=True, stdout=subprocess.DEVNULL, timeout=30)
        done = self.wait(run_dir, ("INTERRUPTED", "FAILED", "COMPLETE"), settle=True)
        self.assertEqual((done["status"], done["error"]["message"]), (
            "INTERRUPTED", f"job {job_id} was cancelled while its run ran (oardel): OAR killed it with SIGKILL, "
                           "which no process can catch"))

    def test_oardel_while_queued_is_settled(self):
        self.submit(options=(RESOURCES, "--hold"))  # held: they stay queued
        first = info(run_dirs(self.log_dir)[0])["scheduler"]["job_id"]
        run_process(["oardel", first], check=True, stdout=subprocess.DEVNULL, timeout=30)
        self.wait(run_dirs(self.log_dir)[0], ("INTERRUPTED", "FAILED"), settle=True)  # oardel takes a moment
        self.assertEqual(tinyxp_runs(self.log_dir, self.root), [
            ("INTERRUPTED", f"job {first} was cancelled before it started"), ("PENDING", None), ("PENDING", None),
        ])

    def test_after_and_chain_make_oar_dependencies(self):
        self.launch(self.script, f"xp.scheduler_options={json.dumps([RESOURCES, '--hold'])}")  # held: it stays queued
        first = info(run_dirs(self.log_dir)[0])["scheduler"]["job_id"]
        self.launch(self.script, f"xp.scheduler_options={json.dumps([RESOURCES])}", "xp.after=1", "xp.chain=2")
        record = info(run_dirs(self.log_dir)[1])
        second, (third,) = record["scheduler"]["job_id"], record["chained_jobs"]
        self.submitted.append(third)
        for job, predecessor in ((second, first), (third, second)):  # run 1 resolved to its job; the chain's next segment
            shown = run_process(["oarstat", "-fj", str(job)], stdout=subprocess.PIPE, universal_newlines=True, timeout=30).stdout
            self.assertRegex(shown, rf"dependencies = {predecessor}\b")

    def test_checkpoint_signal_reaches_on_preempt(self):
        # --checkpoint 40 --signal 12: SIGUSR2 40 s before the walltime (OAR checks about
        # every 10 s). OAR resubmits the idempotent job only when it ran more than 60 s.
        script = write_project(self.root, body=PREEMPT_BODY, config=CONFIG)
        self.launch(script, "xp.requeue=true", "xp.signal_grace=40",
                    "xp.scheduler_options=['-l core=1,walltime=0:01:00']")
        (run_dir,) = run_dirs(self.log_dir)
        self.assertIn("#OAR --checkpoint 40\n#OAR --signal 12\n", read(os.path.join(run_dir, "script.sh")))
        done = self.wait(run_dir, ("INTERRUPTED", "FAILED", "COMPLETE"), timeout=90)
        self.assertEqual(done["status"], "INTERRUPTED", read(os.path.join(run_dir, "stderr.log")))
        with open(os.path.join(run_dir, "artifacts", "pickle", "last.pkl"), "rb") as file:
            checkpoint = pickle.load(file)  # saved by the task's on_preempt handler
        self.assertEqual(checkpoint["attempts"], 1)
        self.assertGreater(checkpoint["step"], 0)


if __name__ == "__main__":
    unittest.main()
