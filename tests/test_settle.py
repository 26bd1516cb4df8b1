"""Runs whose job ended without them recording it (SLURM, OAR, SGE; PBS, Torque, LSF by fakes): settle_pending_runs, tinyxp runs/show."""
from __future__ import annotations

import contextlib
import io
import json
import os
import unittest
import warnings
from unittest import mock

from tinyxp import cli
from tinyxp.jobs import ended
from tinyxp._files import read_yaml, write_yaml
from tinyxp.jobs.settle import SchedulerWarning, settle_pending_runs

from .support import temp_dir, write_files
from .test_scheduler import fake_env, read_lines

CANCELLED = "job {} was cancelled before it started"


def make_run(log_dir: str, run_id: int, job_id, *, status: str = "PENDING", name: str = "slurm", logs: bool = False) -> str:
    run_dir = os.path.join(log_dir, str(run_id))
    os.makedirs(os.path.join(run_dir, "metadata"))
    write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), {
        "run_id": run_id, "run_dir": run_dir, "log_dir": log_dir, "status": status, "start_time": None, "end_time": None,
        "scheduler": {"name": name, "job_id": job_id, "array_job_id": None, "array_task_id": None},
    })
    write_yaml(os.path.join(run_dir, "metadata", "config.yaml"), {"lr": 0.1})
    if logs:  # SLURM creates them when the job starts
        for name in ("stdout.log", "stderr.log"):
            open(os.path.join(run_dir, name), "w").close()
    return run_dir


def info(log_dir: str, run_id: int) -> dict:
    return read_yaml(os.path.join(log_dir, str(run_id), "metadata", "info.yaml"))


def error_of(log_dir: str, run_id: int):
    record = info(log_dir, run_id)
    return record["status"], (record.get("error") or {}).get("message")


class SettleCase(unittest.TestCase):
    def setUp(self):
        self.log_dir = os.path.join(temp_dir(self), "logs")
        self.states = os.path.join(temp_dir(self), "states")

    def fake_squeue(self, lines, **extra):
        with open(self.states, "w") as file:
            file.write("".join(line + "\n" for line in lines))
        return fake_env(self, TINYXP_FAKE_SQUEUE=self.states, **extra)

    def settle(self, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            settled = settle_pending_runs(self.log_dir, **kwargs)
        return settled, [str(w.message) for w in caught if issubclass(w.category, SchedulerWarning)]


class SettleTest(SettleCase):

    def test_states(self):
        make_run(self.log_dir, 1, "101")  # cancelled while queued
        make_run(self.log_dir, 2, "102")  # gone from squeue, never started
        make_run(self.log_dir, 3, "103")  # running: its python writes RUNNING soon
        make_run(self.log_dir, 4, "104")  # still queued
        make_run(self.log_dir, 5, "80_1")  # an array task cancelled while queued
        make_run(self.log_dir, 6, "80_2")  # an array task still queued
        make_run(self.log_dir, 7, "107", logs=True)  # started, failed before python (a bad module load)
        make_run(self.log_dir, 8, "108", logs=True)  # started, then gone from squeue
        make_run(self.log_dir, 9, "109", logs=True)  # started, cancelled before python
        make_run(self.log_dir, 10, "110")  # timed out while its setup ran
        make_run(self.log_dir, 11, "111", status="COMPLETE")  # not PENDING: not asked about
        make_run(self.log_dir, 12, None)  # being submitted: no job id yet
        make_run(self.log_dir, 13, "113", name="pbs", status="RUNNING")  # PBS: only PENDING runs are asked about
        make_run(self.log_dir, 14, "80_3")  # scancel of a queued array task leaves no trace in its array
        log = self.fake_squeue(["101 CANCELLED", "103 RUNNING", "104 PENDING", "80_1 CANCELLED", "80_2 PENDING",
                                "107 FAILED", "109 CANCELLED", "110 TIMEOUT", "111 CANCELLED", "113 CANCELLED"])
        settled, warned = self.settle()
        self.assertEqual(warned, [])
        self.assertEqual(settled, [(1, "INTERRUPTED"), (2, "INTERRUPTED"), (5, "INTERRUPTED"), (7, "FAILED"),
                                   (8, "FAILED"), (9, "INTERRUPTED"), (10, "INTERRUPTED"), (14, "INTERRUPTED")])
        self.assertEqual(read_lines(log), ["squeue -h -r -t all -j 101,102,103,104,107,108,109,110,80_1,80_2,80_3 -o %i %T"])
        see = ": see its stdout.log and stderr.log"
        self.assertEqual(error_of(self.log_dir, 1), ("INTERRUPTED", CANCELLED.format(101)))
        self.assertEqual(error_of(self.log_dir, 2), (
            "INTERRUPTED", "job 102 ended before it started, most likely cancelled (SLURM no longer knows it)"))
        self.assertEqual(error_of(self.log_dir, 5), ("INTERRUPTED", CANCELLED.format("80_1")))
        self.assertEqual(error_of(self.log_dir, 14), ("INTERRUPTED", CANCELLED.format("80_3")))
        self.assertEqual(error_of(self.log_dir, 7), ("FAILED", "job 107 ended FAILED before its run started" + see))
        self.assertEqual(error_of(self.log_dir, 8), (
            "FAILED", "job 108 ended before its run started (SLURM no longer knows it)" + see))
        self.assertEqual(error_of(self.log_dir, 9), ("INTERRUPTED", "job 109 was cancelled before its run started" + see))
        self.assertEqual(error_of(self.log_dir, 10), ("INTERRUPTED", "job 110 ended TIMEOUT before its run started"))
        for run_id in (3, 4, 6, 12):
            self.assertEqual(error_of(self.log_dir, run_id), ("PENDING", None))
        self.assertEqual(error_of(self.log_dir, 13), ("RUNNING", None))
        self.assertEqual(error_of(self.log_dir, 11), ("COMPLETE", None))
        record = info(self.log_dir, 1)
        self.assertEqual(record["error"]["type"], "SchedulerError")
        self.assertRegex(record["end_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$")
        self.assertEqual(record["scheduler"]["job_id"], "101")  # the rest of info.yaml kept

    def test_one_unknown_job(self):
        # squeue asked for one id it does not know exits 1 with "Invalid job id specified"
        make_run(self.log_dir, 1, "101")
        self.fake_squeue([])
        self.assertEqual(self.settle(), ([(1, "INTERRUPTED")], []))

    def test_only_the_runs_given(self):
        make_run(self.log_dir, 1, "101")
        run_dir = make_run(self.log_dir, 2, "102")
        log = self.fake_squeue(["101 CANCELLED", "102 CANCELLED"])
        self.assertEqual(self.settle(run_dirs=[run_dir]), ([(2, "INTERRUPTED")], []))
        self.assertEqual(read_lines(log), ["squeue -h -r -t all -j 102 -o %i %T"])
        self.assertEqual(error_of(self.log_dir, 1), ("PENDING", None))

    def test_no_pending_run_asks_nothing(self):
        make_run(self.log_dir, 1, "101", status="RUNNING")
        log = self.fake_squeue(["101 CANCELLED"])
        self.assertEqual(self.settle(), ([], []))
        self.assertFalse(os.path.exists(log))
        self.assertEqual(settle_pending_runs(os.path.join(self.log_dir, "missing")), [])

    def test_squeue_failing_changes_nothing(self):
        make_run(self.log_dir, 1, "101")
        self.fake_squeue(["101 CANCELLED"], TINYXP_FAKE_FAIL_AT="1")
        self.assertEqual(self.settle(), ([], [
            "Cannot ask SLURM about PENDING runs: squeue exited with status 1:\n"
            "    squeue: error: Unable to contact slurm controller (connect failure)"]))
        self.assertEqual(error_of(self.log_dir, 1), ("PENDING", None))

    def test_squeue_missing_changes_nothing(self):
        make_run(self.log_dir, 1, "101")
        with mock.patch.dict(os.environ, {"PATH": temp_dir(self)}):
            self.assertEqual(self.settle(), ([], ["Cannot ask SLURM about PENDING runs: Cannot run 'squeue': command not found on PATH"]))
        self.assertEqual(error_of(self.log_dir, 1), ("PENDING", None))

    def test_a_run_that_started_meanwhile_is_kept(self):
        run_dir = make_run(self.log_dir, 1, "101")

        def started(job_ids):  # the job starts between the scan and squeue's answer
            write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), {"run_id": 1, "status": "RUNNING"})
            return {"101": "CANCELLED"}

        with mock.patch.object(ended, "query_slurm_states", started):
            self.assertEqual(self.settle(), ([], []))
        self.assertEqual(error_of(self.log_dir, 1), ("RUNNING", None))


QSTAT = """\
job-ID  prior   name       user         state submit/start at     queue                          slots ja-task-ID
-----------------------------------------------------------------------------------------------------------------
      6 0.50000 train      me           r     12/07/2026 23:51:42 all.q@vm                           1
      5 0.00000 train      me           hqw   12/07/2026 23:51:42                                    1
      7 0.00000 train      me           hqw   12/07/2026 23:51:42                                    1 1
      7 0.55000 train      me           r     12/07/2026 23:51:42 all.q@vm                           1 3
"""
KILLED = "jobnumber    {}\nfailed       100 : assumedly after job\nexit_status  137                  (Killed)\n"


class OtherSchedulersTest(SettleCase):
    """OAR and SGE: PENDING runs whose job was deleted while queued, RUNNING runs whose job
    was deleted while it ran (killed with SIGKILL, which the run cannot catch)."""

    def test_oar(self):
        make_run(self.log_dir, 1, "11", name="oar")  # oardel while queued
        make_run(self.log_dir, 2, "12", name="oar", status="RUNNING")  # oardel while running
        make_run(self.log_dir, 3, "13", name="oar")  # waiting
        make_run(self.log_dir, 4, "14", name="oar", status="RUNNING")  # running
        make_run(self.log_dir, 5, "15", name="oar", status="RUNNING")  # past its walltime
        make_run(self.log_dir, 6, "16", name="oar", logs=True)  # started, failed before python
        make_run(self.log_dir, 7, "17", name="oar")  # unknown to this OAR
        frag = [{"type": "FRAG_JOB_REQUEST"}, {"type": "SWITCH_INTO_ERROR_STATE"}]
        with open(self.states, "w") as file:
            json.dump({"11": {"state": "Error", "events": frag}, "12": {"state": "Error", "events": frag},
                       "13": {"state": "Waiting", "events": []}, "14": {"state": "Running", "events": []},
                       "15": {"state": "Error", "events": [{"type": "WALLTIME"}]},
                       "16": {"state": "Terminated", "events": []}}, file)
        log = fake_env(self, TINYXP_FAKE_OARSTAT=self.states)
        settled, warned = self.settle()
        self.assertEqual((settled, warned), ([(1, "INTERRUPTED"), (2, "INTERRUPTED"), (5, "INTERRUPTED"), (6, "FAILED")], []))
        self.assertEqual(read_lines(log), ["oarstat -J -f -j 11 -j 12 -j 13 -j 14 -j 15 -j 16 -j 17"])
        self.assertEqual(error_of(self.log_dir, 1), ("INTERRUPTED", CANCELLED.format(11)))
        self.assertEqual(error_of(self.log_dir, 2), ("INTERRUPTED", "job 12 was cancelled while its run ran (oardel): OAR "
                                                     "killed it with SIGKILL, which no process can catch"))
        self.assertEqual(error_of(self.log_dir, 5), ("INTERRUPTED", "job 15 reached its walltime without its run "
                                                     "recording an end: see its stdout.log and stderr.log"))
        self.assertEqual(error_of(self.log_dir, 6), ("FAILED", "job 16 ended Terminated before its run started: "
                                                     "see its stdout.log and stderr.log"))
        for run_id, status in ((3, "PENDING"), (4, "RUNNING"), (7, "PENDING")):
            self.assertEqual(error_of(self.log_dir, run_id), (status, None))

    def test_sge(self):
        make_run(self.log_dir, 1, "5", name="sge")  # queued
        make_run(self.log_dir, 2, "6", name="sge", status="RUNNING")  # running
        make_run(self.log_dir, 3, "7.2", name="sge")  # an array task deleted while queued: no accounting
        make_run(self.log_dir, 4, "7.3", name="sge", status="RUNNING")  # a running array task
        make_run(self.log_dir, 5, "8", name="sge", status="RUNNING")  # qdel while it ran
        make_run(self.log_dir, 6, "9", name="sge", status="RUNNING")  # ended, accounting not written yet
        make_run(self.log_dir, 7, "10.1", name="sge", logs=True)  # failed before python
        make_run(self.log_dir, 8, "11", name="sge", status="RUNNING")  # past h_rt
        accounting = temp_dir(self)
        write_files(accounting, {"8": KILLED.format(8), "10.1": "failed       0    \nexit_status  1\n",
                                 "11": "failed       37  : qmaster enforced h_rt, h_cpu, or h_vmem limit\nexit_status  137\n"})
        with open(self.states, "w") as file:
            file.write(QSTAT)
        log = fake_env(self, TINYXP_FAKE_QSTAT=self.states, TINYXP_FAKE_QACCT=accounting)
        settled, warned = self.settle()
        self.assertEqual((settled, warned), ([(3, "INTERRUPTED"), (5, "INTERRUPTED"), (7, "FAILED"), (8, "INTERRUPTED")], []))
        self.assertEqual(sorted(read_lines(log)), ["qacct -j 10 -t 1", "qacct -j 11", "qacct -j 7 -t 2", "qacct -j 8",
                                                   "qacct -j 9", "qstat -g d"])
        self.assertEqual(error_of(self.log_dir, 3), (
            "INTERRUPTED", "job 7.2 ended before it started, most likely cancelled (SGE no longer knows it)"))
        self.assertEqual(error_of(self.log_dir, 5), (
            "INTERRUPTED", "job 8 was cancelled while its run ran (qdel or a kill; qacct: failed 100, exit status 137): "
            "SGE killed it with SIGKILL, which no process can catch"))
        self.assertEqual(error_of(self.log_dir, 7), ("FAILED", "job 10.1 ended (qacct: failed 0, exit status 1) before "
                                                     "its run started: see its stdout.log and stderr.log"))
        self.assertIn("reached its time limit (qacct: failed 37, exit status 137)", error_of(self.log_dir, 8)[1])
        for run_id, status in ((1, "PENDING"), (2, "RUNNING"), (4, "RUNNING"), (6, "RUNNING")):
            self.assertEqual(error_of(self.log_dir, run_id), (status, None))

    def test_pbs_torque_lsf(self):
        # PBS, Torque and LSF have no real cluster in the tests: their answers as documented
        make_run(self.log_dir, 1, "21.srv", name="pbs")  # qdel while queued: finished, never started
        make_run(self.log_dir, 2, "22.srv", name="pbs", logs=True)  # started, ended before python
        make_run(self.log_dir, 3, "23[1].srv", name="pbs")  # queued array task
        make_run(self.log_dir, 4, "24.srv", name="torque")  # Torque: completed, never started
        make_run(self.log_dir, 5, "31", name="lsf")  # bkill while pending
        make_run(self.log_dir, 6, "32[2]", name="lsf")  # pending array task
        make_run(self.log_dir, 7, "33", name="lsf")  # unknown
        make_run(self.log_dir, 8, "34", name="lsf", logs=True)  # ran, ended DONE before python
        with open(self.states, "w") as file:
            file.write("Job Id: 21.srv\n    job_state = F\n    Exit_status = -3\nJob Id: 22.srv\n    job_state = F\n"
                       "    Exit_status = 1\nJob Id: 23[1].srv\n    job_state = Q\nJob Id: 24.srv\n    job_state = C\n")
        bjobs = os.path.join(temp_dir(self), "bjobs")
        with open(bjobs, "w") as file:
            file.write("31 0 EXIT\n32 2 PEND\n34 0 DONE\nJob <33> is not found\n")
        log = fake_env(self, TINYXP_FAKE_QSTAT=self.states, TINYXP_FAKE_BJOBS=bjobs)
        self.assertEqual(self.settle(), ([(1, "INTERRUPTED"), (2, "FAILED"), (4, "INTERRUPTED"), (5, "INTERRUPTED"),
                                          (8, "FAILED")], []))
        self.assertEqual(read_lines(log), ["bjobs -a -noheader -o jobid jobindex stat 31 32[2] 33 34",
                                           "qstat -x -f 21.srv 22.srv 23[1].srv", "qstat -f 24.srv"])
        self.assertEqual(error_of(self.log_dir, 1), ("INTERRUPTED", CANCELLED.format("21.srv")))
        self.assertEqual(error_of(self.log_dir, 2), ("FAILED", "job 22.srv ended (exit status 1) before its run started: "
                                                     "see its stdout.log and stderr.log"))
        self.assertEqual(error_of(self.log_dir, 5), ("INTERRUPTED", "job 31 ended EXIT (bkill, or a failure) before its "
                                                     "run started"))
        self.assertEqual(error_of(self.log_dir, 8)[0], "FAILED")
        for run_id in (3, 6, 7):
            self.assertEqual(error_of(self.log_dir, run_id), ("PENDING", None))

    def test_pbs_and_lsf_failing(self):
        make_run(self.log_dir, 1, "21.srv", name="pbs")
        make_run(self.log_dir, 2, "31", name="lsf")
        fake_env(self, TINYXP_FAKE_FAIL_AT="1", TINYXP_FAKE_QSTAT=self.states, TINYXP_FAKE_BJOBS=self.states)
        open(self.states, "w").close()
        self.assertEqual(self.settle(), ([], ["Cannot ask LSF about PENDING runs: bjobs exited with status 1:\n"
                                              "    LSF is down. Please wait ..."]))
        os.environ["TINYXP_FAKE_FAIL_AT"] = "4"  # bjobs is call 3, qstat call 4
        self.assertEqual(self.settle()[1], ["Cannot ask PBS about PENDING runs: qstat exited with status 1:\n"
                                            "    error: commlib error: got select error (Connection refused)"])

    def test_failing_scheduler_changes_nothing(self):
        make_run(self.log_dir, 1, "11", name="oar", status="RUNNING")
        make_run(self.log_dir, 2, "5", name="sge", status="RUNNING")
        open(self.states, "w").close()
        fake_env(self, TINYXP_FAKE_FAIL_AT="1", TINYXP_FAKE_QSTAT=self.states, TINYXP_FAKE_OARSTAT=self.states,
                 TINYXP_FAKE_QACCT=self.states)
        settled, warned = self.settle()
        self.assertEqual(settled, [])
        self.assertEqual(warned, ["Cannot ask OAR about its runs: oarstat exited with status 1:\n"
                                  "    DBI connect('dbname=oar;host=localhost','oar_ro',...) failed"])
        with mock.patch.object(ended, "run_command", return_value=(0, "not json")):
            self.assertEqual(self.settle()[1][0], "Cannot ask OAR about its runs: oarstat exited with status 0:\n    not json")
        with mock.patch.dict(os.environ, {"PATH": temp_dir(self)}):
            self.assertEqual(self.settle(), ([], [
                "Cannot ask OAR about its runs: Cannot run 'oarstat': command not found on PATH",
                "Cannot ask SGE about its runs: Cannot run 'qstat': command not found on PATH"]))
        self.assertEqual((error_of(self.log_dir, 1), error_of(self.log_dir, 2)), (("RUNNING", None), ("RUNNING", None)))


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        self.log_dir = os.path.join(temp_dir(self), "logs")
        self.states = os.path.join(temp_dir(self), "states")
        make_run(self.log_dir, 1, "101")
        make_run(self.log_dir, 2, "102")
        with open(self.states, "w") as file:
            file.write("101 CANCELLED\n102 PENDING\n")

    def main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(list(argv))
        return status, out.getvalue(), err.getvalue()

    def statuses(self, stdout):
        return [line.split(",")[1] for line in stdout.splitlines()[1:]]

    def test_runs_settles_first(self):
        log = fake_env(self, TINYXP_FAKE_SQUEUE=self.states)
        self.main("runs", self.log_dir, "--format=csv", "-c", "id,status")  # the index is built before
        status, out, err = self.main("runs", self.log_dir, "--format=csv", "-c", "id,status,info.error.message")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out.splitlines(), ["id,status,info.error.message", f"1,INTERRUPTED,{CANCELLED.format(101)}", "2,PENDING,"])
        self.assertEqual(read_lines(log), ["squeue -h -r -t all -j 101,102 -o %i %T", "squeue -h -r -t all -j 102 -o %i %T"])

    def test_no_scheduler_check(self):
        log = fake_env(self, TINYXP_FAKE_SQUEUE=self.states)
        status, out, err = self.main("runs", self.log_dir, "--format=csv", "-c", "id,status", "--no-scheduler-check")
        self.assertEqual((status, out.splitlines(), err), (0, ["id,status", "1,PENDING", "2,PENDING"], ""))
        status, out, err = self.main("show", os.path.join(self.log_dir, "1"), "--no-scheduler-check")
        self.assertIn("  status: PENDING\n", out)
        self.assertFalse(os.path.exists(log))

    def test_without_squeue_runs_says_nothing(self):
        with mock.patch("shutil.which", return_value=None):
            status, out, err = self.main("runs", self.log_dir, "--format=csv", "-c", "id,status")
        self.assertEqual((status, out.splitlines(), err), (0, ["id,status", "1,PENDING", "2,PENDING"], ""))

    def test_squeue_failing_is_a_warning(self):
        fake_env(self, TINYXP_FAKE_SQUEUE=self.states, TINYXP_FAKE_FAIL_AT="1")
        status, out, err = self.main("runs", self.log_dir, "--format=csv", "-c", "id,status")
        self.assertEqual((status, out.splitlines()), (0, ["id,status", "1,PENDING", "2,PENDING"]))
        self.assertEqual(err, "tinyxp: warning: Cannot ask SLURM about PENDING runs: squeue exited with status 1:\n"
                              "    squeue: error: Unable to contact slurm controller (connect failure)\n")

    def test_show_settles_its_run(self):
        log = fake_env(self, TINYXP_FAKE_SQUEUE=self.states)
        status, out, err = self.main("show", os.path.join(self.log_dir, "1"))
        self.assertEqual((status, err), (0, ""))
        self.assertIn("  status: INTERRUPTED\n", out)
        self.assertIn(f"    message: {CANCELLED.format(101)}\n", out)
        self.assertEqual(read_lines(log), ["squeue -h -r -t all -j 101 -o %i %T"])
        self.assertEqual(error_of(self.log_dir, 2), ("PENDING", None))


if __name__ == "__main__":
    unittest.main()
