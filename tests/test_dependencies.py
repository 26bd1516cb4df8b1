"""Jobs that wait for others: xp.after, `tinyxp sub --after` and xp.chain, through the fake submit commands."""
from __future__ import annotations

import io
import os
import subprocess
import unittest
from contextlib import redirect_stderr, redirect_stdout

from tinyxp import cli
from tinyxp._files import write_yaml
from tinyxp.jobs import backends
from tinyxp.jobs.submit import chain_setup

from .support import run_process, run_script, temp_dir, write_files, write_project
from .test_scheduler import FAKEBIN, fake_env, read_lines
from .test_submit import info, run_dirs

SCRIPT = """\
#!/bin/bash
{directive}
python train.py +sweep lr=0.1,0.2
"""


class SubAfterTest(unittest.TestCase):
    """`tinyxp sub --after` in-process."""

    def setUp(self):
        self.root = temp_dir(self)
        write_project(self.root)
        old = os.getcwd()
        os.chdir(self.root)
        self.addCleanup(os.chdir, old)
        self.log_dir = os.path.join(self.root, "logs")

    def sub(self, *args, directive="#SBATCH --time=00:10:00", text=None):
        write_files(self.root, {"jobs.sh": text or SCRIPT.format(directive=directive)})
        self.calls = fake_env(self)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                status = cli.main(["sub", *args, "jobs.sh"])
            except SystemExit as exit:  # argparse
                status = exit.code
        return status, out.getvalue(), err.getvalue()

    def test_each_schedulers_dependency_option(self):
        cases = {
            "#SBATCH --time=00:10:00": "sbatch --parsable --dependency=afterany:777 {}",
            "#OAR -l walltime=1:00:00": "oarsub -S -a 777 {}",
            "#PBS -l walltime=01:00:00": "qsub -W depend=afterany:777 {}",
            "#$ -l h_rt=01:00:00": "qsub -terse -hold_jid 777 {}",
            "#BSUB -W 60": "bsub -w ended(777)",
        }
        for directive, call in cases.items():
            with self.subTest(directive):
                status, _, err = self.sub("--after", "job:777", directive=directive)
                self.assertEqual((status, err), (0, ""))
                dirs = run_dirs(self.log_dir)[-2:]
                calls = [c for c in read_lines(self.calls) if not c.startswith("stdin:")]
                self.assertEqual(calls, [call.format(os.path.join(d, "script.sh")) for d in dirs])

    def test_several_jobs(self):
        depend = {name: backend.depend(["1", "2.3"]) for name, backend in backends.BACKENDS.items()}
        self.assertEqual(depend, {
            "slurm": ["--dependency=afterany:1:2.3"], "oar": ["-a", "1", "-a", "2.3"],
            "pbs": ["-W", "depend=afterany:1:2.3"], "torque": ["-W", "depend=afterany:1:2.3"],
            "sge": ["-hold_jid", "1,2"], "lsf": ["-w", "ended(1) && ended(2.3)"],
        })

    def test_after_a_run_waits_for_its_job(self):
        self.sub()
        status, out, err = self.sub("--after", "2")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual([c.split(" /")[0] for c in read_lines(self.calls)], ["sbatch --parsable --dependency=afterany:1001"] * 2)
        self.assertEqual(len(run_dirs(self.log_dir)), 4)

    def test_an_unknown_run_or_a_run_without_a_job_submits_nothing(self):
        status, out, err = self.sub("--after", "9")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, f"tinyxp: error: Unknown run 9 for xp.after: no run {os.path.join(self.log_dir, '9')!r} "
                              "(a job id is written xp.after=job:ID)\n")
        self.assertEqual(run_dirs(self.log_dir), [])
        self.assertFalse(os.path.exists(self.calls))
        os.makedirs(os.path.join(self.log_dir, "3", "metadata"))
        write_yaml(os.path.join(self.log_dir, "3", "metadata", "info.yaml"), {"status": "COMPLETE"})
        status, out, err = self.sub("--after", "3")
        self.assertEqual(err, "tinyxp: error: Cannot start after run 3: it ran as no scheduler job, not a slurm job with an id "
                              "(a job id is written xp.after=job:ID)\n")
        self.assertEqual(len(run_dirs(self.log_dir)), 1)
        status, out, err = self.sub("--after", "later")
        self.assertEqual(status, 2)
        self.assertIn("argument --after: Expected a run id or job:ID, got 'later'", err)

    def test_max_parallel_without_an_array_submits_nothing(self):
        status, out, err = self.sub(text="#SBATCH -t 1\npython train.py +sweep lr=0.1,0.2 xp.max_parallel=2\n")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "tinyxp: error: jobs.sh:2: Invalid xp.max_parallel 2 for 2 separate slurm jobs: it limits "
                              "the processes of xp.scheduler=local and the tasks of a job array (xp.array=true); drop "
                              "it or set one of those\n")
        self.assertEqual(run_dirs(self.log_dir), [])
        status, _, err = self.sub("--array", text="#SBATCH -t 1\npython train.py +sweep lr=0.1,0.2 xp.max_parallel=2\n")
        self.assertEqual((status, err), (0, ""))

    def test_xp_after_on_the_python_line(self):
        status, _, err = self.sub(text="#SBATCH -t 1\npython train.py lr=0.1 xp.after=job:55\n")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(read_lines(self.calls)[0].split(" /")[0], "sbatch --parsable --dependency=afterany:55")
        self.assertNotIn("xp.after", read_lines(os.path.join(self.log_dir, "1", "script.sh"))[-1])


class ChainTest(unittest.TestCase):
    """python train.py ... xp.scheduler=slurm xp.chain=N in a subprocess."""

    def setUp(self):
        self.root = temp_dir(self)
        self.script = write_project(self.root)
        self.log_dir = os.path.join(self.root, "logs")
        self.calls = os.path.join(self.root, "calls.log")
        self.env = {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": self.calls}

    def launch(self, *args, **env):
        return run_script(self.script, list(args), env={**self.env, **env})

    def test_chain_queues_dependent_jobs_of_the_same_run(self):
        done = self.launch("lr=0.1", "xp.scheduler=slurm", "xp.chain=3")
        self.assertEqual(done.returncode, 0, done.stderr)
        run_dir = os.path.join(self.log_dir, "1")
        self.assertEqual(done.stdout, f"Submitted run 1 as slurm job 1000, then 1001, 1002: {run_dir}\n")
        script = os.path.join(run_dir, "script.sh")
        self.assertEqual(read_lines(self.calls), [
            f"sbatch --parsable {script}", f"sbatch --parsable --dependency=afterany:1000 {script}",
            f"sbatch --parsable --dependency=afterany:1001 {script}",
        ])
        record = info(run_dir)
        self.assertEqual((record["scheduler"]["job_id"], record["chained_jobs"]), ("1000", ["1001", "1002"]))
        lines = read_lines(script)
        self.assertIn(chain_setup(), lines)
        self.assertTrue(lines[-1].endswith("xp.run_id=1 xp.log_dir=" + self.log_dir + " xp.scheduler=null"), lines[-1])
        # a later run after this one waits for its last job
        done = self.launch("lr=0.2", "xp.scheduler=slurm", "xp.after=1", TINYXP_FAKE_FIRST_ID="2000")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(read_lines(self.calls)[-1],
                         f"sbatch --parsable --dependency=afterany:1002 {os.path.join(self.log_dir, '2', 'script.sh')}")

    def test_a_chained_job_of_a_complete_run_ends_at_once(self):
        run_dir = temp_dir(self)
        os.mkdir(os.path.join(run_dir, "metadata"))
        for status, expected in (("COMPLETE", "tinyxp: the run is COMPLETE: nothing left to chain\n"),
                                 ("INTERRUPTED", "resumed\n")):
            write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), {"run_id": 1, "status": status})
            done = run_process(["bash", "-c", chain_setup() + "\necho resumed"], env={"TINYXP_RUN_DIR": run_dir},
                               stdout=subprocess.PIPE, universal_newlines=True)
            self.assertEqual((done.returncode, done.stdout), (0, expected))

    def test_a_chained_job_that_cannot_be_submitted(self):
        done = self.launch("lr=0.1", "xp.scheduler=slurm", "xp.chain=3", TINYXP_FAKE_FAIL_AT="2")
        self.assertEqual(done.returncode, 2)
        script = os.path.join(self.log_dir, "1", "script.sh")
        self.assertTrue(done.stderr.startswith(
            f"error: Cannot submit job 2 of xp.chain=3: Cannot submit {script!r}: sbatch exited with status 1:\n"),
            done.stderr)
        self.assertTrue(done.stderr.endswith("Queued already: job 1000 (cancel them, or submit the rest with xp.after)\n"))

    def test_bad_input_submits_nothing(self):
        cases = [
            (("lr=0.1", "xp.scheduler=slurm", "xp.after=4"),
             f"error: Unknown run 4 for xp.after: no run {os.path.join(self.log_dir, '4')!r} "
             "(a job id is written xp.after=job:ID)\n"),
            (("lr=0.1", "xp.after=job:12"),
             "error: Invalid 'xp.after=job:12' for a run in this process: it orders scheduler jobs (set xp.scheduler)\n"),
            (("lr=0.1", "xp.chain=0"), None),
            (("lr=0.1", "xp.scheduler=slurm", "xp.after=job:1;rm"), None),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                done = self.launch(*args)
                self.assertEqual(done.returncode, 2, done.stderr)
                if message:
                    self.assertEqual(done.stderr, message)
                self.assertEqual(len(done.stderr.splitlines()[0:1]), 1)
                self.assertFalse(os.path.exists(self.calls))
                self.assertEqual(run_dirs(self.log_dir), [])


if __name__ == "__main__":
    unittest.main()
