"""Job script writers (golden files), job-id parsing, submission through fake commands."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import unittest
from unittest import mock

from tinyxp.jobs import backends as scheduler
from tinyxp.run import job
from tinyxp.errors import SchedulerError
from tinyxp.jobs.backends import JobSpec, Task

from .support import finish, run_process, start_process, temp_dir, wait_for_line

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(HERE, "data", "golden")
FAKEBIN = os.path.join(HERE, "fakebin")
REGENERATE = "TINYXP_REGENERATE_GOLDEN"

TASKS = [
    Task("/logs/3", ["python3", "train.py", "lr=0.001", "msg='$(touch x)'", "xp.run_id=3"]),
    Task("/logs/4", ["python3", "train.py", "lr=0.0001", "msg=a b", "xp.run_id=4"]),
    Task("/logs 2/5", ["python3", "train.py", "lr=0.01", "msg=\"q\"", "xp.run_id=5"]),
]
OPTIONS = {
    "slurm": ["--time=01:00:00", "--gres=gpu:1"],
    "oar": ["-l nodes=1,walltime=1:00:00"],
    "pbs": ["-l select=1:ncpus=4", "-l walltime=01:00:00"],
    "torque": ["-l nodes=1:ppn=4,walltime=01:00:00"],
    "sge": ["-l h_rt=01:00:00", "-pe smp 4"],
    "lsf": ["-W 60", "-n 4"],
}


def golden_specs():
    """(golden file name, JobSpec) for every scheduler: one job, and an array with requeue."""
    for name in scheduler.BACKENDS:
        single = JobSpec(
            scheduler=name, name="train", tasks=TASKS[:1], work_dir="/work/my project",
            stdout="/logs/3/stdout.log", stderr="/logs/3/stderr.log", directives=OPTIONS[name],
            setup=["module load python/3.11", "source ~/venv/bin/activate"],
        )
        yield f"{name}-single.sh", single
        stdout, stderr = scheduler.array_log_paths(name, "/logs/.tinyxp/jobs")
        array = single._replace(
            tasks=TASKS, stdout=stdout, stderr=stderr, array=True, requeue=True, signal_grace=90,
            max_parallel=None if name == "oar" else 2, after=["echo done"] if name == "slurm" else [],
        )
        yield f"{name}-array-requeue.sh", array
    yield "slurm-requeue.sh", JobSpec(
        scheduler="slurm", name="train", tasks=TASKS[:1], work_dir="/work", stdout="/logs/3/stdout.log",
        stderr="/logs/3/stderr.log", requeue=True,
    )


def fake_env(test: unittest.TestCase, **extra: str) -> str:
    """Put tests/fakebin first on PATH for the test; returns the call log's path."""
    log = os.path.join(temp_dir(test), "calls.log")
    env = {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": log, **extra}
    patcher = mock.patch.dict(os.environ, env)
    patcher.start()
    test.addCleanup(patcher.stop)
    return log


def read_lines(path: str) -> list:
    with open(path, encoding="utf-8") as file:
        return file.read().splitlines()


# A child that exits 7 on SIGUSR2 once its handler is installed (after `delay` seconds), as
# tinyxp's run does; a bash child could not, since it cannot trap a signal it started with ignored.
CHILD = """\
import signal, sys, time
time.sleep({delay})
signal.signal(signal.SIGUSR2, lambda *_: (print("got USR2", flush=True), sys.exit({status})))
print("ready", flush=True)
time.sleep(60)
"""


def write_child(folder: str, *, delay: float = 0.0, status: int = 7) -> list:
    path = os.path.join(folder, "child.py")
    with open(path, "w") as file:
        file.write(CHILD.format(delay=delay, status=status))
    return [sys.executable, path]


def signal_until_it_ends(process, timeout: float = 30.0) -> tuple:
    """Send SIGUSR2 to a requeue wrapper until it ends; returns (the rest of stdout, exit status).

    The signal is sent again every two seconds: one that comes while the wrapper is
    starting its child (between fork and exec) reaches neither the wrapper's trap nor
    the child's. A scheduler's signal comes minutes after the start, past that window.
    """
    deadline = time.monotonic() + timeout
    while True:
        process.send_signal(signal.SIGUSR2)
        try:
            process.wait(timeout=2)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise AssertionError(f"the requeue wrapper did not end within {timeout:g} s of SIGUSR2") from None
    return finish(process, 10)[0], process.returncode


class GoldenTest(unittest.TestCase):
    def test_scripts_match_golden_files(self):
        for file_name, spec in golden_specs():
            with self.subTest(file_name):
                text = scheduler.render_script(spec)
                path = os.path.join(GOLDEN_DIR, file_name)
                if os.environ.get(REGENERATE):
                    os.makedirs(GOLDEN_DIR, exist_ok=True)
                    with open(path, "w", encoding="utf-8") as file:
                        file.write(text)
                with open(path, encoding="utf-8") as file:
                    expected = file.read()
                self.assertEqual(
                    text.splitlines(), expected.splitlines(),
                    f"{file_name} differs from the writer's output; if the change is intended, regenerate "
                    f"with: {REGENERATE}=1 python -m unittest tests.test_scheduler",
                )

    def test_scripts_are_valid_shell(self):
        for file_name, spec in golden_specs():
            with self.subTest(file_name):
                done = run_process(["bash", "-n"], input=scheduler.render_script(spec).encode(), stderr=subprocess.PIPE, timeout=30)
                self.assertEqual(done.returncode, 0, done.stderr.decode())

    def test_override_values_stay_data(self):
        # run the command part of a script with python replaced by printf: no command substitution happens
        folder = temp_dir(self)
        marker = os.path.join(folder, "x")
        argv = ["printf", "%s\\n", f"msg=$(touch {marker})", "a b", "`touch x`", "it's", '"q"', "$HOME"]
        spec = JobSpec(scheduler="slurm", name="t", tasks=[Task(folder, argv)], work_dir=folder,
                       stdout="o", stderr="e")
        done = run_process(["bash", "-c", scheduler.render_script(spec)], stdout=subprocess.PIPE, cwd=folder, timeout=30)
        self.assertEqual(done.stdout.decode().splitlines(), argv[2:])
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(os.listdir(folder), [])

    def test_array_task_picks_its_run_and_command(self):
        folder = temp_dir(self)
        runs = [os.path.join(folder, str(i)) for i in (7, 8)]
        for run in runs:
            os.mkdir(run)
        tasks = [Task(run, ["echo", f"task {run}"]) for run in runs]
        spec = JobSpec(scheduler="sge", name="t", tasks=tasks, work_dir=folder, stdout="o", stderr="e", array=True)
        script = scheduler.render_script(spec)
        done = run_process(["bash", "-c", script], env={**os.environ, "SGE_TASK_ID": "2"}, timeout=30)
        self.assertEqual(done.returncode, 0)
        self.assertEqual(read_lines(os.path.join(runs[1], "stdout.log")), [f"task {runs[1]}"])
        self.assertFalse(os.path.exists(os.path.join(runs[0], "stdout.log")))
        done = run_process(["bash", "-c", script], env={**os.environ, "SGE_TASK_ID": "9"}, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual((done.returncode, done.stderr.decode()), (1, "tinyxp: no task 9 in this array\n"))

    def test_requeue_script_forwards_the_signal_and_keeps_the_exit_status(self):
        folder = temp_dir(self)
        spec = JobSpec(scheduler="slurm", name="t", tasks=[Task(folder, write_child(folder))], work_dir=folder,
                       stdout="o", stderr="e", requeue=True)
        process = start_process(self, ["bash", "-c", scheduler.render_script(spec)], stdout=subprocess.PIPE,
                                universal_newlines=True)
        self.assertEqual(wait_for_line(process, "ready", timeout=30), "ready\n")
        # SIGUSR2, to the batch shell only, as --signal=B: does
        self.assertEqual(signal_until_it_ends(process), ("got USR2\n", 7))

    def test_oar_requeue_script_exits_99_after_the_signal(self):
        folder = temp_dir(self)
        spec = JobSpec(scheduler="oar", name="t", tasks=[Task(folder, write_child(folder, status=0))], work_dir=folder,
                       stdout="o", stderr="e", requeue=True)
        process = start_process(self, ["bash", "-c", scheduler.render_script(spec)], stdout=subprocess.PIPE,
                                universal_newlines=True)
        self.assertEqual(wait_for_line(process, "ready", timeout=30), "ready\n")
        self.assertEqual(signal_until_it_ends(process), ("got USR2\n", 99))

    def test_signal_before_the_child_has_its_handler_is_sent_again(self):
        # The signal comes just after the child started, before the wrapper knows its pid
        # and a second before the child installs its handler: the child starts with the
        # signal ignored, so it survives, and the wrapper sends it again until handled.
        folder = temp_dir(self)
        spec = JobSpec(scheduler="slurm", name="t", tasks=[Task(folder, write_child(folder, delay=1.0))],
                       work_dir=folder, stdout="o", stderr="e", requeue=True)
        script = scheduler.render_script(spec).replace("child=$!\n", "kill -USR2 $$\nchild=$!\n", 1)
        process = start_process(self, ["bash", "-c", script], stdout=subprocess.PIPE, universal_newlines=True)
        self.assertEqual((finish(process, timeout=60)[0], process.returncode), ("ready\ngot USR2\n", 7))

    def test_requeue_signal_the_scheduler_cannot_send(self):
        spec = JobSpec(scheduler="sge", name="t", tasks=TASKS[:1], work_dir="/", stdout="o", stderr="e", requeue=True,
                       requeue_signal="HUP")
        with self.assertRaises(SchedulerError) as caught:
            scheduler.render_script(spec)
        self.assertEqual(str(caught.exception), "Invalid xp.requeue_signal 'HUP' for sge: it sends only USR1 or USR2 "
                         "before a time limit (set xp.requeue_signal=USR2)")
        self.assertIn("#$ -notify\n", scheduler.render_script(spec._replace(requeue_signal="USR2")))
        self.assertNotIn("-notify", scheduler.render_script(spec._replace(requeue_signal="USR1")))  # -l s_rt is the user's

    def test_requeue_signal_in_each_directive(self):
        spec = JobSpec(scheduler="slurm", name="t", tasks=TASKS[:1], work_dir="/", stdout="o", stderr="e", requeue=True,
                       requeue_signal="HUP")
        self.assertIn("#SBATCH --signal=B:HUP@120\n", scheduler.render_script(spec))
        self.assertIn("#OAR --signal 1\n", scheduler.render_script(spec._replace(scheduler="oar")))
        self.assertIn("#BSUB -wa HUP -wt 2\n", scheduler.render_script(spec._replace(scheduler="lsf")))
        term = scheduler.render_script(spec._replace(requeue_signal="TERM"))
        self.assertIn("trap 'preempted=1; kill -TERM \"$child\" 2>/dev/null' TERM\n", term)
        self.assertNotIn("trap ''", term)  # the task's own children must stop on TERM

    def test_oar_refuses_a_throttle(self):
        spec = JobSpec(scheduler="oar", name="t", tasks=TASKS, work_dir="/", stdout="o", stderr="e", array=True,
                       max_parallel=2)
        with self.assertRaises(SchedulerError) as caught:
            scheduler.render_script(spec)
        self.assertEqual(str(caught.exception), "Invalid xp.max_parallel for OAR: OAR arrays have no throttle; unset xp.max_parallel")

    def test_directives_cannot_span_lines(self):
        spec = JobSpec(scheduler="slurm", name="t", tasks=TASKS[:1], work_dir="/", stdout="o", stderr="e")
        cases = [
            (spec._replace(name="a\ntouch x"), "Invalid directive \"--job-name='a\\ntouch x'\": a directive cannot hold a line break"),
            (spec._replace(directives=["--time=1\rtouch x"]), "Invalid directive '--time=1\\rtouch x': a directive cannot hold a line break"),
            (spec._replace(stdout="/logs\n/o"), "Invalid directive \"--output='/logs\\n/o'\": a directive cannot hold a line break"),
        ]
        for bad, message in cases:
            with self.subTest(message):
                with self.assertRaises(SchedulerError) as caught:
                    scheduler.render_script(bad)
                self.assertEqual(str(caught.exception), message)

    def test_owned_options_of_each_scheduler(self):
        cases = [("pbs", "-j oe", "-j"), ("pbs", "-l walltime=1:00:00", None), ("sge", "-tc 4", "-tc"),
                 ("lsf", "-oo out.%J", "-oo"), ("oar", "--stdout=x", "--stdout"), ("torque", "-t 1-4", "-t"),
                 ("slurm", "--output-format=x", None), ("slurm", "", None)]
        for name, option, owned in cases:
            with self.subTest(name=name, option=option):
                self.assertEqual(scheduler.owned_option(name, option), owned)

    def test_several_tasks_need_an_array(self):
        spec = JobSpec(scheduler="slurm", name="t", tasks=TASKS, work_dir="/", stdout="o", stderr="e")
        with self.assertRaises(SchedulerError) as caught:
            scheduler.render_script(spec)
        self.assertEqual(str(caught.exception), "Cannot run 3 tasks in one job without an array")

    def test_unknown_scheduler(self):
        with self.assertRaises(SchedulerError) as caught:
            scheduler.get_backend("slrum")
        self.assertEqual(
            str(caught.exception),
            "Unknown xp.scheduler 'slrum'; did you mean 'slurm'? (expected one of: slurm, oar, pbs, torque, sge, lsf)",
        )


class ParseJobIdTest(unittest.TestCase):
    CASES = [
        ("slurm", "4242\n", "4242", None),
        ("slurm", "4242;cluster-a\n", "4242", None),
        ("oar", "[ADMISSION RULE] Set default walltime to 7200.\nOAR_JOB_ID=17\n", "17", None),
        ("oar", "[ADMISSION RULE] x\nOAR_JOB_ID=17\nOAR_JOB_ID=18\nOAR_ARRAY_ID=17\n", "17", "17"),
        ("pbs", "1234.pbs-server.example.org\n", "1234.pbs-server.example.org", None),
        ("pbs", "1234[].pbs01\n", "1234[].pbs01", None),
        ("torque", "1098[].hostname\n", "1098[].hostname", None),
        ("sge", "77\n", "77", None),
        ("sge", "77.1-10:1\n", "77", None),
        ("lsf", "Job <5151> is submitted to queue <normal>.\n", "5151", None),
        ("lsf", "Warning: default project\nJob <5151> is submitted to default queue <normal>.\n", "5151", None),
    ]

    def test_job_ids(self):
        for name, output, job_id, array_id in self.CASES:
            with self.subTest(name=name, output=output):
                ids = scheduler.parse_job_id(name, output)
                self.assertEqual((ids["job_id"], ids["array_job_id"]), (job_id, array_id))

    def test_every_oar_job_id_is_kept(self):
        ids = scheduler.parse_job_id("oar", "OAR_JOB_ID=17\nOAR_JOB_ID=18\nOAR_ARRAY_ID=17\n")
        self.assertEqual(ids["job_ids"], ["17", "18"])

    def test_output_without_id_is_quoted(self):
        with self.assertRaises(SchedulerError) as caught:
            scheduler.parse_job_id("lsf", "Request aborted by esub.\nJob not submitted.\n")
        self.assertEqual(
            str(caught.exception),
            "Cannot find a job id in the output of bsub:\n    Request aborted by esub.\n    Job not submitted.",
        )


class SubmitScriptTest(unittest.TestCase):
    def write_script(self, spec: JobSpec) -> str:
        path = os.path.join(temp_dir(self), "job.sh")
        with open(path, "w", encoding="utf-8") as file:
            file.write(scheduler.render_script(spec))
        return path

    def test_each_scheduler_through_its_fake_command(self):
        expected = {
            "slurm": ("1000", ["sbatch --parsable {path}"]),
            "oar": ("1000", ["oarsub -S {path}"]),
            "pbs": ("1000.pbs-server.example.org", ["qsub {path}"]),
            "torque": ("1000.pbs-server.example.org", ["qsub {path}"]),
            "sge": ("1000", ["qsub -terse {path}"]),
            "lsf": ("1000", ["bsub ", "stdin: -J train"]),
        }
        for name, (job_id, calls) in expected.items():
            with self.subTest(name):
                log = fake_env(self)
                spec = JobSpec(scheduler=name, name="train", tasks=TASKS[:1], work_dir="/", stdout="o", stderr="e")
                path = self.write_script(spec)
                self.assertEqual(scheduler.submit_script(name, path)["job_id"], job_id)
                self.assertEqual(read_lines(log), [c.format(path=path) for c in calls])

    def test_arrays_through_fake_commands(self):
        expected = {"slurm": ("1000", None), "oar": ("100000", "100000"), "pbs": ("1000[].pbs-server.example.org", None),
                    "sge": ("1000", None), "lsf": ("1000", None)}
        for name, (job_id, array_id) in expected.items():
            with self.subTest(name):
                fake_env(self)
                spec = JobSpec(scheduler=name, name="train", tasks=TASKS, work_dir="/", stdout="o", stderr="e",
                               array=True)
                ids = scheduler.submit_script(name, self.write_script(spec))
                self.assertEqual((ids["job_id"], ids["array_job_id"]), (job_id, array_id))

    def test_failed_submission_quotes_the_whole_output(self):
        fake_env(self, TINYXP_FAKE_FAIL_AT="1")
        spec = JobSpec(scheduler="slurm", name="train", tasks=TASKS[:1], work_dir="/", stdout="o", stderr="e")
        path = self.write_script(spec)
        with self.assertRaises(SchedulerError) as caught:
            scheduler.submit_script("slurm", path)
        self.assertEqual(
            str(caught.exception),
            f"Cannot submit {path!r}: sbatch exited with status 1:\n"
            "    sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified",
        )

    def test_output_without_id_after_success(self):
        folder = temp_dir(self)
        with open(os.path.join(folder, "sbatch"), "w") as file:
            file.write("#!/bin/sh\necho 'Submitted batch job, id withheld'\n")
        os.chmod(os.path.join(folder, "sbatch"), 0o755)
        with mock.patch.dict(os.environ, {"PATH": folder + os.pathsep + os.environ["PATH"]}):
            with self.assertRaises(SchedulerError) as caught:
                scheduler.submit_script("slurm", "/jobs/job.sh")
        self.assertEqual(
            str(caught.exception),
            "Cannot find a job id in the output of sbatch, which exited with status 0 (the job may be queued: "
            "check before submitting '/jobs/job.sh' again):\n    Submitted batch job, id withheld",
        )

    def test_command_not_found(self):
        with mock.patch.dict(os.environ, {"PATH": temp_dir(self)}):
            with self.assertRaises(SchedulerError) as caught:
                scheduler.submit_script("pbs", "/no/job.sh")
        self.assertEqual(str(caught.exception), "Cannot run 'qsub': command not found on PATH")

    def test_max_array_size(self):
        fake_env(self, TINYXP_FAKE_MAX_ARRAY="40")
        self.assertEqual(scheduler.max_array_size("slurm"), 40)
        self.assertEqual(scheduler.max_array_size("pbs"), scheduler.DEFAULT_MAX_ARRAY_SIZE)

    def test_max_array_size_without_scontrol(self):
        with mock.patch.dict(os.environ, {"PATH": temp_dir(self)}):
            self.assertEqual(scheduler.max_array_size("slurm"), 1001)


class EnvironmentTest(unittest.TestCase):
    CASES = [
        ({}, None),
        ({"SLURM_JOB_ID": "12"}, {"name": "slurm", "job_id": "12", "array_job_id": None, "array_task_id": None}),
        ({"SLURM_JOB_ID": "15", "SLURM_ARRAY_JOB_ID": "12", "SLURM_ARRAY_TASK_ID": "3", "SLURM_RESTART_COUNT": "2"},
         {"name": "slurm", "job_id": "15", "array_job_id": "12", "array_task_id": 3, "restarts": 2}),
        ({"OAR_JOB_ID": "20", "OAR_ARRAY_ID": "19", "OAR_ARRAY_INDEX": "2"},
         {"name": "oar", "job_id": "20", "array_job_id": "19", "array_task_id": 2}),
        ({"PBS_JOBID": "7[1].srv", "PBS_ARRAY_ID": "7[].srv", "PBS_ARRAY_INDEX": "1"},
         {"name": "pbs", "job_id": "7[1].srv", "array_job_id": "7[].srv", "array_task_id": 1}),
        ({"PBS_JOBID": "8.srv", "PBS_ARRAYID": "4"},
         {"name": "torque", "job_id": "8.srv", "array_job_id": "8.srv", "array_task_id": 4}),
        ({"JOB_ID": "30", "SGE_TASK_ID": "undefined", "SGE_ROOT": "/opt/sge"},
         {"name": "sge", "job_id": "30", "array_job_id": None, "array_task_id": None}),
        ({"JOB_ID": "30"}, None),
        # an SGE or LSF array task is the job `N.i` or `N[i]` it was at submission, not the array N
        ({"JOB_ID": "31", "SGE_TASK_ID": "2", "SGE_ROOT": "/opt/sge"},
         {"name": "sge", "job_id": "31.2", "array_job_id": "31", "array_task_id": 2}),
        ({"LSB_JOBID": "40", "LSB_JOBINDEX": "0"}, {"name": "lsf", "job_id": "40", "array_job_id": None, "array_task_id": None}),
        ({"LSB_JOBID": "41", "LSB_JOBINDEX": "5"}, {"name": "lsf", "job_id": "41[5]", "array_job_id": "41", "array_task_id": 5}),
        # OAR sets its array variables in every job: a plain job is no array ...
        ({"OAR_JOB_ID": "21", "OAR_ARRAY_ID": "21", "OAR_ARRAY_INDEX": "1"},
         {"name": "oar", "job_id": "21", "array_job_id": None, "array_task_id": None}),
        # ... but the first task of an array tinyxp wrote is
        ({"OAR_JOB_ID": "21", "OAR_ARRAY_ID": "21", "OAR_ARRAY_INDEX": "1", "TINYXP_ARRAY": "1"},
         {"name": "oar", "job_id": "21", "array_job_id": "21", "array_task_id": 1}),
    ]

    def test_job_from_environment(self):
        for env, expected in self.CASES:
            with self.subTest(env=env):
                clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OAR_", "PBS_", "SGE_", "LSB_"))}
                clean.pop("JOB_ID", None)
                with mock.patch.dict(os.environ, {**clean, **env}, clear=True):
                    self.assertEqual(job.job_from_environment(), expected)

    def test_requeue_targets_the_array_task(self):
        log = fake_env(self)
        job.requeue_current_job({"name": "slurm", "job_id": "15", "array_job_id": "12", "array_task_id": 3})
        job.requeue_current_job({"name": "slurm", "job_id": "16", "array_job_id": None, "array_task_id": None})
        job.requeue_current_job({"name": "oar", "job_id": "20", "array_job_id": None, "array_task_id": None})
        self.assertEqual(read_lines(log), ["scontrol requeue 12_3", "scontrol requeue 16"])

    def test_failed_requeue(self):
        fake_env(self, TINYXP_FAKE_FAIL_AT="1")
        folder = temp_dir(self)
        with open(os.path.join(folder, "scontrol"), "w") as file:
            file.write("#!/bin/sh\necho 'scontrol: error: Invalid job id specified'\nexit 1\n")
        os.chmod(os.path.join(folder, "scontrol"), 0o755)
        with mock.patch.dict(os.environ, {"PATH": folder}):
            with self.assertRaises(SchedulerError) as caught:
                job.requeue_current_job({"name": "slurm", "job_id": "9", "array_job_id": None, "array_task_id": None})
        self.assertEqual(
            str(caught.exception),
            "Cannot requeue SLURM job 9: scontrol exited with status 1:\n    scontrol: error: Invalid job id specified",
        )


if __name__ == "__main__":
    unittest.main()
