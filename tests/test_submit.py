"""Submission of sweeps (launcher and `tinyxp sub`) through the fake submit commands of tests/fakebin."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import unittest
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

from tinyxp import cli
from tinyxp.jobs import jobscript, submit, task_source
from tinyxp.errors import OverrideError, SchedulerError
from tinyxp._files import read_yaml

from .support import run_process, run_script, script_env, temp_dir, write_files, write_project
from .test_scheduler import FAKEBIN, fake_env, read_lines

JOBS = """\
#!/bin/bash
#SBATCH --time=00:10:00
#SBATCH --mem=1G
module load python
export GREETING="hello there"
python train.py +sweep lr=0.1,0.2 \\
    '+msg=$(touch x)'
echo "after: $GREETING"
"""


def info(run_dir: str) -> dict:
    return read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))


def run_dirs(log_dir: str) -> list:
    if not os.path.isdir(log_dir):
        return []
    return [os.path.join(log_dir, n) for n in sorted(os.listdir(log_dir), key=lambda n: (len(n), n)) if n.isdigit()]


class ParseJobScriptTest(unittest.TestCase):
    def test_parts(self):
        script = jobscript.parse_job_script(JOBS, path="jobs.sh")
        self.assertEqual(script.scheduler, "slurm")
        self.assertEqual(script.shebang, "#!/bin/bash")
        self.assertEqual(script.directives, ["--time=00:10:00", "--mem=1G"])
        self.assertEqual(script.setup, ["module load python", 'export GREETING="hello there"'])
        self.assertEqual(script.after, ['echo "after: $GREETING"'])
        (command,) = script.commands
        self.assertEqual((command.line, command.command, command.args),
                         (6, ["python", "train.py"], ["+sweep", "lr=0.1,0.2", "+msg=$(touch x)"]))

    def test_python_lines(self):
        cases = [
            ("python3.11 -u train.py a=1", ["python3.11", "-u", "train.py"], ["a=1"]),
            ("CUDA_VISIBLE_DEVICES=0 python -m pkg.train a=1", ["CUDA_VISIBLE_DEVICES=0", "python", "-m", "pkg.train"], ["a=1"]),
            ("/opt/env/bin/python -W ignore train.py", ["/opt/env/bin/python", "-W", "ignore", "train.py"], []),
            ("srun --ntasks=1 -c 4 python3 train.py a=1", ["srun", "--ntasks=1", "-c", "4", "python3", "train.py"], ["a=1"]),
        ]
        for line, command, args in cases:
            with self.subTest(line):
                (parsed,) = jobscript.parse_job_script(f"#PBS -N x\n{line}\n").commands
                self.assertEqual((parsed.command, parsed.args), (command, args))

    def test_lines_that_run_no_script_are_shell_lines(self):
        script = jobscript.parse_job_script(
            "#SBATCH -n 1\npython -c 'import torch'\nsrun hostname\npython train.py a=1\npython3 -u -c 'print(1)'\n"
        )
        self.assertEqual(script.setup, ["python -c 'import torch'", "srun hostname"])
        self.assertEqual([c.command for c in script.commands], [["python", "train.py"]])
        self.assertEqual(script.after, ["python3 -u -c 'print(1)'"])

    def test_command_part_is_kept_as_written(self):
        (command,) = jobscript.parse_job_script("#SBATCH -n 1\n~/env/bin/python \"$HOME/p\"/train.py 'msg=$HOME' x=\\$y\n").commands
        self.assertEqual((command.command, command.args), (["~/env/bin/python", "$HOME/p/train.py"], ["msg=$HOME", "x=$y"]))
        self.assertEqual(command.text, '~/env/bin/python "$HOME/p"/train.py')

    def test_shell_expansion_in_an_override(self):
        reason = ("at submission: tinyxp reads the overrides before the job's shell runs (write the value, quote it "
                  "to keep it as it is, or read the environment in the config: ${env:NAME})")
        self.assert_error("#SBATCH -n 1\npython t.py +sweep lr=1,2 data=$DATA\n",
                          f"jobs.sh:2:27: Cannot expand 'data=$DATA' {reason}\n"
                          "    python t.py +sweep lr=1,2 data=$DATA\n                              ^^^^^^^^^^")
        self.assert_error("#SBATCH -n 1\npython t.py +sweep \\\n    \"seed=`date`\"\n",
                          f"jobs.sh:3:5: Cannot expand '\"seed=`date`\"' {reason}\n"
                          "        \"seed=`date`\"\n        ^^^^^^^^^^^^^")

    def test_braces_and_tildes_the_shell_would_expand(self):
        """bash reads msg={a,b} as two words and msg=~ as a home folder: refused, as other shell forms are."""
        braces = "as the shell would: it expands the braces into several words (quote the value to keep it as it is, or sweep with a comma: key=a,b)"
        tilde = ("as the shell would: it replaces that '~' with a home folder (quote it to keep '~', write null for null, "
                 "or read the environment in the config: ${env:HOME})")
        for word, reason in (("msg={a,b}", braces), ("s={1..3}", braces), ("x=[{a,b}]", braces), ("x={'a',\\b}", braces), ("msg=~", tilde), ("p=a:~/x", tilde)):
            with self.subTest(word=word):
                self.assert_error(f"#SBATCH -n 1\npython t.py {word}\n",
                                  f"jobs.sh:2:13: Cannot read {word!r} {reason}\n    python t.py {word}\n                {'^' * len(word)}")
        (command,) = jobscript.parse_job_script("#SBATCH -n 1\npython t.py 'msg={a,b}' \"m={a,b}\" msg='~' x={a:1} ~seed x=a~b x={a,b y={,\n").commands
        self.assertEqual(command.args, ["msg={a,b}", "m={a,b}", "msg=~", "x={a:1}", "~seed", "x=a~b", "x={a,b", "y={,"])
        with self.assertRaisesRegex(SchedulerError, "No closing quotation"):
            jobscript.parse_job_script("#SBATCH -n 1\npython t.py z={'a,b}\n")

    def test_shell_operator_in_a_python_line(self):
        self.assert_error("#SBATCH -n 1\npython t.py lr=1 >out.log\n",
                          "jobs.sh:2:18: Invalid override '>out.log': a python command line holds overrides only, "
                          "not the shell operator '>' (put that on a line of its own)\n"
                          "    python t.py lr=1 >out.log\n                     ^^^^^^^^")

    def test_each_directive_prefix(self):
        for prefix, name in (("#SBATCH", "slurm"), ("#OAR", "oar"), ("#PBS", "pbs"), ("#$", "sge"), ("#BSUB", "lsf")):
            with self.subTest(prefix):
                self.assertEqual(jobscript.parse_job_script(f"{prefix} -x 1\npython t.py\n").scheduler, name)

    def test_comments_are_left_out(self):
        script = jobscript.parse_job_script("#SBATCH -n 1\n#TODO tidy this\n# load\nmodule load x\npython t.py\n# end\n")
        self.assertEqual((script.setup, script.after), (["module load x"], []))

    def assert_error(self, text, message):
        with self.assertRaises(SchedulerError) as caught:
            jobscript.parse_job_script(text, path="jobs.sh")
        self.assertEqual(str(caught.exception), message)

    def test_no_python_command(self):
        self.assert_error("#!/bin/bash\n#SBATCH -n 1\necho hello\n",
                          "jobs.sh: Expected a python command line (python train.py ...), found none")

    def test_unknown_directive(self):
        self.assert_error(
            "#!/bin/bash\n#SBACTH --time=01:00:00\npython t.py\n",
            "jobs.sh:2:1: Unknown directive '#SBACTH'; did you mean '#SBATCH'? (expected one of: #SBATCH, #OAR, #PBS, #$, #BSUB)\n"
            "    #SBACTH --time=01:00:00\n    ^^^^^^^",
        )

    def test_mixed_directives(self):
        self.assert_error(
            "#!/bin/bash\n#SBATCH --time=01:00:00\n#PBS -l walltime=1:00:00\npython t.py\n",
            "jobs.sh:3:1: Cannot mix '#PBS' directives with the '#SBATCH' directives of line 2\n"
            "    #PBS -l walltime=1:00:00\n    ^^^^",
        )

    def test_continuation_at_end_of_file(self):
        self.assert_error(
            "#SBATCH -n 1\npython t.py a=1 \\\n",
            "jobs.sh:2:17: Expected a line after the continuation '\\', found the end of the file\n"
            "    python t.py a=1 \\\n                    ^",
        )

    def test_unclosed_quote(self):
        self.assert_error(
            "#SBATCH -n 1\npython t.py 'a=1\n",
            "jobs.sh:2:1: Cannot split the command into words: No closing quotation\n"
            "    python t.py 'a=1\n    ^^^^^^^^^^^^^^^^",
        )


class SubCommandTest(unittest.TestCase):
    """`tinyxp sub` in-process, in a temporary project, with fake submit commands."""

    def setUp(self):
        self.root = temp_dir(self)
        write_project(self.root)
        old = os.getcwd()
        os.chdir(self.root)
        self.addCleanup(os.chdir, old)
        self.log_dir = os.path.join(self.root, "logs")

    def sub(self, text, *args, env=None):
        write_files(self.root, {"jobs.sh": text})
        self.calls = fake_env(self, **(env or {}))
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = cli.main(["sub", *args, "jobs.sh"])
        return status, out.getvalue(), err.getvalue()

    def test_one_job_per_setting(self):
        status, out, err = self.sub(JOBS)
        self.assertEqual((status, err), (0, ""))
        dirs = run_dirs(self.log_dir)
        self.assertEqual(out, "".join(f"Submitted run {i + 1} as slurm job {1000 + i}: {d}\n" for i, d in enumerate(dirs)))
        self.assertEqual(read_lines(self.calls), [f"sbatch --parsable {d}/script.sh" for d in dirs])
        for i, run_dir in enumerate(dirs):
            record = info(run_dir)
            self.assertEqual(record["status"], "PENDING")
            self.assertEqual(record["scheduler"], {"name": "slurm", "job_id": str(1000 + i), "array_job_id": None,
                                                   "array_task_id": None})
            self.assertEqual(record["overrides"], [f"lr={0.1 * (i + 1):g}", "+msg='$(touch x)'"])
            script = read_lines(os.path.join(run_dir, "script.sh"))
            self.assertEqual(script[:6], [
                "#!/bin/bash", "#SBATCH --job-name=train", f"#SBATCH --output={run_dir}/stdout.log",
                f"#SBATCH --error={run_dir}/stderr.log", "#SBATCH --time=00:10:00", "#SBATCH --mem=1G",
            ])
            self.assertEqual(script[7], "export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends")
        self.assertEqual(script[8:], [
                f"export TINYXP_RUN_DIR={run_dir}", f"cd {self.root}", "module load python", 'export GREETING="hello there"',
                f"python train.py lr={0.1 * (i + 1):g} '+msg='\"'\"'$(touch x)'\"'\"'' xp.run_id={i + 1} "
                f"xp.log_dir={self.log_dir} xp.scheduler=null",
                'echo "after: $GREETING"',
            ])

    def test_runs_lists_pending_runs(self):
        self.sub(JOBS)
        out = io.StringIO()
        with redirect_stdout(out):
            status = cli.main(["runs", "logs", "-c", "id,status,config.lr,info.scheduler.job_id"])
        self.assertEqual(status, 0)
        self.assertEqual(out.getvalue().splitlines(), [
            "id  status   config.lr  info.scheduler.job_id",
            " 1  PENDING        0.1                   1000",
            " 2  PENDING        0.2                   1001",
        ])

    def test_dry_run_submits_nothing(self):
        status, out, err = self.sub(JOBS, "--dry-run")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(run_dirs(self.log_dir), [])
        self.assertFalse(os.path.exists(self.calls))
        folder = os.path.join(self.log_dir, ".tinyxp", "dry-run")
        self.assertEqual(sorted(os.listdir(folder)), ["1.sh", "2.sh"])
        with open(os.path.join(folder, "2.sh")) as file:
            self.assertIn(f"# {folder}/2.sh\n{file.read()}", out)
        self.assertTrue(out.endswith("Dry run: wrote 2 job scripts; nothing was submitted\n"))

    def test_array_with_throttle(self):
        status, out, err = self.sub(JOBS.replace("lr=0.1,0.2", "lr=0.1,0.2,0.3 xp.max_parallel=2"), "--array")
        self.assertEqual((status, err), (0, ""))
        dirs = run_dirs(self.log_dir)
        jobs_dir = os.path.join(self.log_dir, ".tinyxp", "jobs")
        self.assertEqual(read_lines(self.calls), [f"scontrol show config", f"sbatch --parsable {jobs_dir}/array-1.sh"])
        script = read_lines(os.path.join(jobs_dir, "array-1.sh"))
        self.assertIn("#SBATCH --array=0-2%2", script)
        self.assertIn(f"#SBATCH --output={jobs_dir}/%A_%a.out", script)
        for i, run_dir in enumerate(dirs):
            self.assertEqual(os.readlink(os.path.join(run_dir, "script.sh")), "../.tinyxp/jobs/array-1.sh")
            self.assertEqual(info(run_dir)["scheduler"],
                             {"name": "slurm", "job_id": f"1001_{i}", "array_job_id": "1001", "array_task_id": i})

    def test_array_larger_than_the_limit_is_chunked(self):
        status, _, err = self.sub(JOBS.replace("lr=0.1,0.2", "lr=range(5)"), "--array", env={"TINYXP_FAKE_MAX_ARRAY": "2"})
        self.assertEqual((status, err), (0, ""))
        jobs_dir = os.path.join(self.log_dir, ".tinyxp", "jobs")
        self.assertEqual(read_lines(self.calls), ["scontrol show config"] + [
            f"sbatch --parsable {jobs_dir}/array-{first}.sh" for first in (1, 3, 5)])
        arrays = [[line for line in read_lines(os.path.join(jobs_dir, f"array-{n}.sh")) if "--array" in line] for n in (1, 3, 5)]
        self.assertEqual(arrays, [["#SBATCH --array=0-1"], ["#SBATCH --array=0-1"], ["#SBATCH --array=0-0"]])
        jobs = [info(d)["scheduler"]["job_id"] for d in run_dirs(self.log_dir)]
        self.assertEqual(jobs, ["1001_0", "1001_1", "1002_0", "1002_1", "1003_0"])

    def test_other_schedulers(self):
        cases = {
            "#OAR -l walltime=1:00:00": ("oar", ["1000", "1001"], "oarsub -S {}"),
            "#PBS -l walltime=01:00:00": ("pbs", ["1000.pbs-server.example.org", "1001.pbs-server.example.org"], "qsub {}"),
            "#$ -l h_rt=01:00:00": ("sge", ["1000", "1001"], "qsub -terse {}"),
            "#BSUB -W 60": ("lsf", ["1000", "1001"], "bsub "),
        }
        for directive, (name, job_ids, call) in cases.items():
            with self.subTest(name):
                for run_dir in run_dirs(self.log_dir):
                    import shutil

                    shutil.rmtree(run_dir)
                status, _, err = self.sub(f"{directive}\npython train.py +sweep lr=0.1,0.2\n")
                self.assertEqual((status, err), (0, ""))
                dirs = run_dirs(self.log_dir)
                self.assertEqual([info(d)["scheduler"]["job_id"] for d in dirs], job_ids)
                self.assertEqual([c for c in read_lines(self.calls) if not c.startswith("stdin:")],
                                 [call.format(os.path.join(d, "script.sh")) for d in dirs])

    def test_oar_array_records_each_task_job(self):
        status, _, err = self.sub("#OAR -l walltime=1:00:00\npython train.py +sweep lr=0.1,0.2,0.3\n", "--array")
        self.assertEqual((status, err), (0, ""))
        jobs = [info(d)["scheduler"] for d in run_dirs(self.log_dir)]
        self.assertEqual(jobs, [{"name": "oar", "job_id": str(100000 + i), "array_job_id": "100000", "array_task_id": i + 1}
                                for i in range(3)])

    def test_torque_for_pbs_directives(self):
        status, _, err = self.sub("#PBS -l walltime=01:00:00\npython train.py +sweep lr=0.1,0.2\n", "--array", "--scheduler", "torque")
        self.assertEqual((status, err), (0, ""))
        jobs = [info(d)["scheduler"]["job_id"] for d in run_dirs(self.log_dir)]
        self.assertEqual(jobs, ["1000[0].pbs-server.example.org", "1000[1].pbs-server.example.org"])
        self.assertIn("#PBS -t 0-1", read_lines(os.path.join(self.log_dir, ".tinyxp", "jobs", "array-1.sh")))

    def test_failure_half_way(self):
        status, out, err = self.sub(JOBS.replace("lr=0.1,0.2", "lr=0.1,0.2,0.3"), env={"TINYXP_FAKE_FAIL_AT": "2"})
        dirs = run_dirs(self.log_dir)
        self.assertEqual(status, 2)
        self.assertEqual(out, "")
        self.assertEqual(err, (
            f"tinyxp: error: Cannot submit job 2 of 3: Cannot submit '{dirs[1]}/script.sh': sbatch exited with status 1:\n"
            "    sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified\n"
            "Submitted before the failure: run 1 (job 1000)\n"
            "Not submitted, marked FAILED: runs 2, 3\n"
        ))
        self.assertEqual([info(d)["status"] for d in dirs], ["PENDING", "FAILED", "FAILED"])
        self.assertEqual(info(dirs[2])["error"]["type"], "SchedulerError")
        self.assertEqual(info(dirs[2])["scheduler"]["job_id"], None)

    def test_interrupted_half_way(self):
        write_files(self.root, {"jobs.sh": JOBS.replace("lr=0.1,0.2", "lr=0.1,0.2,0.3")})
        fake_env(self)
        calls = []

        def submit_script(scheduler, path, after=()):
            calls.append(path)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return {"job_id": str(1000 + len(calls) - 1), "array_job_id": None, "job_ids": []}

        with mock.patch("tinyxp.jobs.submit.submit_script", submit_script), self.assertRaises(SchedulerError) as caught:
            jobscript.submit_job_script("jobs.sh", out=lambda text: None)
        self.assertEqual(str(caught.exception), (
            "Cannot submit job 2 of 3: interrupted (Ctrl-C)\n"
            "Submitted before the failure: run 1 (job 1000)\n"
            "Not submitted, marked FAILED: runs 2, 3"
        ))
        self.assertEqual([info(d)["status"] for d in run_dirs(self.log_dir)], ["PENDING", "FAILED", "FAILED"])
        self.assertEqual(info(run_dirs(self.log_dir)[1])["error"]["message"], "Not submitted: interrupted (Ctrl-C)")

    def test_submit_command_not_found(self):
        write_files(self.root, {"jobs.sh": JOBS})
        err = io.StringIO()
        with mock.patch.dict(os.environ, {"PATH": temp_dir(self)}), redirect_stderr(err):
            status = cli.main(["sub", "jobs.sh"])
        self.assertEqual(status, 2)
        self.assertEqual(err.getvalue(), (
            "tinyxp: error: Cannot submit to slurm: 'sbatch' is not on PATH (it comes with the Debian/Ubuntu package "
            "slurm-client, or the cluster's SLURM module; submit from a machine of the cluster, or load its module)\n"
        ))
        self.assertFalse(os.path.exists(self.log_dir))  # nothing made, nothing submitted

    def test_scheduler_commands_missing_from_the_launcher(self):
        # one message naming the command and its package, exit 2, no run directory
        for scheduler, command, package in (("oar", "oarsub", "oar-user"), ("sge", "qsub", "gridengine-client")):
            with self.subTest(scheduler):
                script = write_project(self.root)
                done = run_script(script, [f"xp.scheduler={scheduler}"], env={"PATH": temp_dir(self)})
                self.assertEqual(done.returncode, 2)
                self.assertIn(f"Cannot submit to {scheduler}: '{command}' is not on PATH (it comes with the "
                              f"Debian/Ubuntu package {package};", done.stderr)
                self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
                self.assertFalse(os.path.exists(self.log_dir))

    def test_bad_script_exits_2_without_traceback(self):
        status, out, err = self.sub("#!/bin/bash\necho nothing to run\n")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "tinyxp: error: jobs.sh: Expected a python command line (python train.py ...), found none\n")

    def test_bad_override_names_the_line(self):
        with self.assertRaises(OverrideError) as caught:
            write_files(self.root, {"jobs.sh": "#SBATCH -n 1\npython train.py lr=0.1,0.2\n"})
            fake_env(self)
            jobscript.submit_job_script("jobs.sh")
        self.assertEqual(str(caught.exception), "jobs.sh:2: Cannot run a sweep without +sweep: 'lr=0.1,0.2' describes 2 runs; "
                                                "add +sweep (or -m) to run them all")
        self.assertEqual(run_dirs(self.log_dir), [])

    def test_python_of_the_job_is_written_as_in_the_script(self):
        status, _, err = self.sub('#SBATCH -n 1\n~/env/bin/python "$PROJECT"/train.py +sweep lr=0.1,0.2\n',
                                  env={"PROJECT": self.root})
        self.assertEqual((status, err), (0, ""))
        for i, run_dir in enumerate(run_dirs(self.log_dir)):
            self.assertEqual(read_lines(os.path.join(run_dir, "script.sh"))[-1],
                             f'~/env/bin/python "$PROJECT"/train.py lr={0.1 * (i + 1):g} xp.run_id={i + 1} '
                             f"xp.log_dir={self.log_dir} xp.scheduler=null")
            self.assertEqual(info(run_dir)["script"], os.path.join(self.root, "train.py"))
        self.assertEqual(read_yaml(os.path.join(run_dirs(self.log_dir)[1], "metadata", "config.yaml"))["lr"], 0.2)

    def test_configs_are_written_at_submission(self):
        status, _, err = self.sub(JOBS)
        self.assertEqual((status, err), (0, ""))
        configs = [read_yaml(os.path.join(d, "metadata", "config.yaml")) for d in run_dirs(self.log_dir)]
        self.assertEqual(configs, [{"seed": 0, "lr": lr, "epochs": 3, "msg": "$(touch x)"} for lr in (0.1, 0.2)])

    def test_unknown_key_names_the_line_and_submits_nothing(self):
        status, out, err = self.sub("#SBATCH -n 1\n\npython train.py +sweep lr=0.1,0.2 nosuchkey=1\n")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "tinyxp: error: jobs.sh:3: Unknown key 'nosuchkey' (+nosuchkey=VALUE adds a new key)\n"
                              "    nosuchkey=1\n    ^^^^^^^^^\n")
        self.assertEqual((run_dirs(self.log_dir), os.path.exists(self.calls)), ([], False))

    def test_unknown_setting_names_the_line(self):
        status, out, err = self.sub("#SBATCH -n 1\npython train.py xp.requeu=true\n")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "tinyxp: error: jobs.sh:2: Unknown tinyxp setting 'requeu'; did you mean 'requeue'?\n"
                              "    xp.requeu=true\n       ^^^^^^\n")
        self.assertEqual((run_dirs(self.log_dir), os.path.exists(self.calls)), ([], False))

    def test_config_that_composes_only_in_the_job_is_left_to_the_job(self):
        write_files(self.root, {"configs/config.yaml": "data: ${env:TINYXP_TEST_UNSET_VARIABLE}\n"})
        status, _, err = self.sub("#SBATCH -n 1\nexport TINYXP_TEST_UNSET_VARIABLE=/data\npython train.py\n")
        self.assertEqual((status, err), (0, ""))
        (run_dir,) = run_dirs(self.log_dir)
        self.assertEqual(info(run_dir)["status"], "PENDING")
        self.assertIn("export TINYXP_TEST_UNSET_VARIABLE=/data", read_lines(os.path.join(run_dir, "script.sh")))
        self.assertFalse(os.path.exists(os.path.join(run_dir, "metadata", "config.yaml")))

    def test_directives_that_would_move_the_logs_are_left_out(self):
        status, _, err = self.sub("#SBATCH --output=slurm-%j.out\n#SBATCH -e err.log\n#SBATCH --array=0-3\n"
                                  "#SBATCH --mem=1G\npython train.py\n")
        self.assertEqual(status, 0)
        reason = "(a job's output goes to its run directory; arrays come from --array or xp.array)"
        self.assertEqual(err.splitlines(), [
            f"tinyxp: warning: jobs.sh: left out '--output=slurm-%j.out': tinyxp sets --output itself {reason}",
            f"tinyxp: warning: jobs.sh: left out '-e err.log': tinyxp sets -e itself {reason}",
            f"tinyxp: warning: jobs.sh: left out '--array=0-3': tinyxp sets --array itself {reason}",
        ])
        (run_dir,) = run_dirs(self.log_dir)
        script = read_lines(os.path.join(run_dir, "script.sh"))
        self.assertEqual([line for line in script if line.startswith("#SBATCH")], [
            "#SBATCH --job-name=train", f"#SBATCH --output={run_dir}/stdout.log", f"#SBATCH --error={run_dir}/stderr.log",
            "#SBATCH --mem=1G",
        ])

    def test_a_script_that_is_not_there_is_warned_about(self):
        status, out, err = self.sub("#SBATCH -n 1\npython trian.py\npython -m train\n", "--dry-run")
        self.assertEqual(status, 0)
        self.assertEqual(err, f"tinyxp: warning: jobs.sh:2: no script 'trian.py' in {self.root}, where the jobs start: "
                              "they will fail unless a setup line creates it or changes folder\n")
        self.assertTrue(out.endswith("Dry run: wrote 2 job scripts; nothing was submitted\n"), out)
        self.assertEqual((run_dirs(self.log_dir), os.path.exists(self.calls)), ([], False))
        commands = [line.split(" xp.run_id=")[0] for line in out.splitlines() if line.startswith("python ")]
        self.assertEqual(commands, ["python trian.py", "python -m train"])

    def test_jobs_need_logging(self):
        status, _, err = self.sub("#SBATCH -n 1\npython train.py xp.logging=false\n")
        self.assertEqual(status, 2)
        self.assertEqual(err, "tinyxp: error: jobs.sh:2: Cannot submit jobs with xp.logging=false: each job records "
                              "its status and output in its own run directory (drop xp.logging=false)\n")
        self.assertEqual((run_dirs(self.log_dir), os.path.exists(self.calls)), ([], False))

    def test_job_that_stops_on_bad_input_fails_its_run(self):
        write_files(self.root, {"configs/config.yaml": "data: ${env:TINYXP_TEST_UNSET_VARIABLE}\n"})
        status, _, err = self.sub(f"#SBATCH -n 1\n{sys.executable} train.py\n")
        self.assertEqual((status, err), (0, ""))
        (run_dir,) = run_dirs(self.log_dir)
        job = run_process(["bash", os.path.join(run_dir, "script.sh")], env=script_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(job.returncode, 2)
        record = info(run_dir)
        config = os.path.join(self.root, "configs", "config.yaml")
        message = (f"{config}:1:1: Cannot resolve '${{env:TINYXP_TEST_UNSET_VARIABLE}}' in 'data': environment variable "
                   "'TINYXP_TEST_UNSET_VARIABLE' is not set and has no default\n"
                   "    data: ${env:TINYXP_TEST_UNSET_VARIABLE}\n    ^^^^")
        self.assertEqual((record["status"], record["error"]), ("FAILED", {"type": "ConfigError", "message": message}))
        self.assertEqual((job.stdout, job.stderr), ("", f"error: {message}\n"))

    def test_no_directive_needs_scheduler(self):
        status, _, err = self.sub("python train.py\n")
        self.assertEqual((status, err), (2, "tinyxp: error: jobs.sh: Cannot tell the scheduler: the script has no directive; pass --scheduler\n"))
        self.assertEqual(run_dirs(self.log_dir), [])
        status, _, err = self.sub("python train.py\n", "--scheduler", "sge")
        self.assertEqual((status, err), (0, ""))
        (run_dir,) = run_dirs(self.log_dir)
        self.assertEqual((info(run_dir)["status"], info(run_dir)["scheduler"]["name"]), ("PENDING", "sge"))
        self.assertEqual(read_lines(os.path.join(run_dir, "script.sh"))[1], "#$ -N train")


class SubTaskSettingsTest(unittest.TestCase):
    """`tinyxp sub` composes from the decorator's config_path and config_name, read without importing the script."""

    SCRIPT = (
        "import tinyxp\nimport not_installed_xyz  # never imported by tinyxp sub\n\n"
        "@tinyxp.launch({args})\ndef train(ctx):\n    pass\n"
    )

    def setUp(self):
        self.root = temp_dir(self)
        old = os.getcwd()
        os.chdir(self.root)
        self.addCleanup(os.chdir, old)
        write_files(self.root, {
            "conf/config.yaml": "lr: 0.1\n",
            "conf/mnist.yaml": "lr: 0.3\nwidth: 8\n",
            "conf/tinyxp.yaml": "log_dir: runs\n",
            "pkg/__init__.py": "",
        })

    def sub(self, args, line, *options):
        write_files(self.root, {"train.py": self.SCRIPT.format(args=args), "pkg/train.py": self.SCRIPT.format(args=args),
                                "jobs.sh": f"#SBATCH -n 1\n{line}\n"})
        self.calls = fake_env(self)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = cli.main(["sub", *options, "jobs.sh"])
        return status, out.getvalue(), err.getvalue()

    def test_a_typo_fails_the_dry_run(self):
        status, _, err = self.sub('config_path="conf"', "python train.py lrr=0.2", "--dry-run")
        self.assertEqual(status, 2)
        self.assertEqual(err, "tinyxp: error: jobs.sh:2: Unknown key 'lrr'; did you mean 'lr'? (+lrr=VALUE adds a new key)\n"
                              "    lrr=0.2\n    ^^^\n")
        self.assertFalse(os.path.exists(os.path.join(self.root, "runs")))

    def test_runs_land_where_the_launcher_puts_them(self):
        status, _, err = self.sub('"conf"', "python train.py lr=0.2")
        self.assertEqual((status, err), (0, ""))
        (run_dir,) = run_dirs(os.path.join(self.root, "runs"))
        self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "config.yaml")), {"lr": 0.2})
        self.assertFalse(os.path.exists(os.path.join(self.root, "logs")))

    def test_config_name_and_a_module(self):
        for args, line in [('config_path="conf", config_name="mnist"', "python train.py width=2"),
                           ('config_path="../conf", config_name="mnist.yaml"', "python -m pkg.train width=2")]:
            with self.subTest(line=line):
                shutil.rmtree(os.path.join(self.root, "runs"), ignore_errors=True)
                status, _, err = self.sub(args, line)
                self.assertEqual((status, err), (0, ""))
                (run_dir,) = run_dirs(os.path.join(self.root, "runs"))
                self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "config.yaml")), {"lr": 0.3, "width": 2})

    def test_config_options_on_the_python_line(self):
        write_files(self.root, {"other/mnist.yaml": "depth: 3\n"})
        for args, line, expected in [('config_path="conf"', "python train.py -cn mnist width=2", {"lr": 0.3, "width": 2}),
                                     ('config_path="conf", config_name="mnist"', "python train.py --config-path other depth=4",
                                      {"depth": 4}),
                                     ('"conf"', "python train.py --config-name=mnist.yaml -cd other", {"lr": 0.3, "width": 8})]:
            with self.subTest(line=line):
                shutil.rmtree(os.path.join(self.root, "runs"), ignore_errors=True)
                shutil.rmtree(os.path.join(self.root, "logs"), ignore_errors=True)
                status, _, err = self.sub(args, line)
                self.assertEqual((status, err), (0, ""))
                log_dir = os.path.join(self.root, "logs" if "other" in line and "-cd" not in line else "runs")
                (run_dir,) = run_dirs(log_dir)
                self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "config.yaml")), expected)

    def test_settings_that_cannot_be_read_statically_are_warned_about(self):
        status, _, err = self.sub('config_path=os.path.join("conf")', "python train.py", "--dry-run")
        self.assertEqual(status, 0)
        self.assertEqual(err, "tinyxp: warning: jobs.sh:2: cannot read config_path= of @launch at "
                              f"{os.path.join(self.root, 'train.py')}:4 without running it (write a string there); using the default\n")


class TaskSourceTest(unittest.TestCase):
    def config(self, text):
        folder = temp_dir(self)
        write_files(folder, {"train.py": text})
        warnings = []
        found = task_source.task_config(os.path.join(folder, "train.py"), warn=warnings.append)
        return os.path.relpath(found, folder), [w.replace(folder + os.sep, "") for w in warnings]

    def test_forms(self):
        cases = {
            "from tinyxp import launch\n@launch('c')\ndef f(ctx): pass\n": "c",
            "@tinyxp.launch(config_path=None, seed_fn=print)\ndef f(ctx): pass\n": "configs",
            "@other\n@tinyxp.launch(config_name='x.json')\ndef f(ctx): pass\n": os.path.join("configs", "x.json"),
            "@tinyxp.launch(config_name='x')\ndef f(ctx): pass\n": os.path.join("configs", "x.yaml"),
            "class A:\n    @tinyxp.launch('k')\n    def f(self): pass\n": "k",
            "@functools.lru_cache\ndef f(ctx): pass\n": "configs",  # not a call of launch
            "print('no task')\n": "configs",
        }
        for text, expected in cases.items():
            with self.subTest(text=text):
                self.assertEqual(self.config(text), (expected, []))

    def test_warnings(self):
        self.assertEqual(self.config("def f(:\n"), ("configs", ["cannot read train.py:1: invalid syntax; composing from configs/ beside it"]))
        self.assertEqual(self.config("@tinyxp.launch(config_name=NAME)\ndef f(ctx): pass\n"), ("configs", [
            "cannot read config_name= of @launch at train.py:1 without running it (write a string there); using the default"]))

    def test_missing_script_and_a_json_option(self):
        folder = temp_dir(self)
        write_files(folder, {"train.py": "@tinyxp.launch(config_name='x')\ndef f(ctx): pass\n", "configs/x.json": "{}"})
        self.assertEqual(task_source.task_config(os.path.join(folder, "nope.py"), warn=print), os.path.join(folder, "configs"))
        self.assertEqual(task_source.task_config(os.path.join(folder, "train.py"), warn=print),
                         os.path.join(folder, "configs", "x.json"))
        self.assertEqual(task_source.script_file("pkg.mod", folder, module=True), os.path.join(folder, "pkg", "mod", "__main__.py"))


@unittest.skipUnless(shutil.which("git"), "git is not installed")
class SubGitTest(unittest.TestCase):
    """`tinyxp sub` in a git repository: info.git of PENDING runs, xp.snapshot=true."""

    def setUp(self):
        from .test_git import GIT_ENV, git

        self.git = git
        patcher = mock.patch.dict(os.environ, GIT_ENV)
        patcher.start()
        self.addCleanup(patcher.stop)
        os.environ.pop("TINYXP_IN_SNAPSHOT", None)
        self.root = os.path.realpath(temp_dir(self))
        write_project(self.root, files={".gitignore": "logs/\n"})
        git(self.root, "init", "--quiet", "--initial-branch=main")
        old = os.getcwd()
        os.chdir(self.root)
        self.addCleanup(os.chdir, old)
        self.log_dir = os.path.join(self.root, "logs")

    def commit(self, files):
        write_files(self.root, files)
        self.git(self.root, "add", "--all")
        self.git(self.root, "commit", "--quiet", "-m", "work")
        return self.git(self.root, "rev-parse", "HEAD").strip()

    def sub(self, *args):
        self.calls = fake_env(self)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = cli.main(["sub", *args, "jobs.sh"])
        return status, out.getvalue(), err.getvalue()

    def run_job(self, run_dir):
        """The job as PBS or SGE start it: without the environment of the submission."""
        job = run_process(["bash", os.path.join(run_dir, "script.sh")], env=script_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(job.returncode, 0, job.stderr)
        return info(run_dir)

    def test_pending_runs_record_the_code_at_submission(self):
        commit = self.commit({"jobs.sh": f"#PBS -N x\n{sys.executable} train.py +sweep lr=0.1,0.2\n"})
        write_files(self.root, {"notes.txt": "not committed\n"})
        status, _, err = self.sub()
        self.assertEqual((status, err), (0, ""))
        for run_dir in run_dirs(self.log_dir):
            self.assertEqual(info(run_dir)["git"], {
                "commit": commit, "branch": "main", "dirty": True, "changed": ["notes.txt"], "n_changed": 1,
                "root": self.root,
            })

    def test_snapshot_taken_once_at_submission(self):
        import platform

        commit = self.commit({"jobs.sh": f"#PBS -N x\n{sys.executable} train.py +sweep lr=0.1,0.2 xp.snapshot=true\n"})
        status, out, err = self.sub()
        self.assertEqual((status, err), (0, ""))
        snapshot = os.path.join(self.root, ".tinyxp", "snapshots", os.path.basename(self.root), commit)
        self.assertEqual(os.listdir(os.path.dirname(snapshot)), [commit])
        # the working tree changes after submission: the jobs still run the submitted code
        write_files(self.root, {"train.py": "raise SystemExit('the working tree ran, not the snapshot')\n"})
        for i, run_dir in enumerate(run_dirs(self.log_dir)):
            script = read_lines(os.path.join(run_dir, "script.sh"))
            self.assertIn(f"cd {snapshot}", script)
            self.assertEqual(sum(line.startswith("export TINYXP_IN_SNAPSHOT='{") for line in script), 1)
            self.assertEqual(script[-1], f"{sys.executable} {snapshot}/train.py lr={0.1 * (i + 1):g} xp.snapshot=false "
                                         f"xp.run_id={i + 1} xp.log_dir={self.log_dir} xp.scheduler=null")
            git_info = {"commit": commit, "branch": "main", "dirty": False, "changed": [], "n_changed": 0,
                        "root": self.root, "snapshot_dir": snapshot}
            pending = info(run_dir)
            self.assertEqual((pending["status"], pending["git"]), ("PENDING", git_info))
            self.assertEqual(pending["command"], f"cd {snapshot} && {sys.executable} {snapshot}/train.py "
                                                 f"lr={0.1 * (i + 1):g} xp.snapshot=false")
            done = self.run_job(run_dir)
            self.assertEqual(done["status"], "COMPLETE")
            self.assertEqual(done["work_dir"], snapshot)
            self.assertEqual({key: done["git"][key] for key in git_info}, git_info)
            with open(os.path.join(run_dir, "metadata", "requirements.txt"), encoding="utf-8") as file:
                self.assertEqual(file.readline(), f"# python {platform.python_version()} ({sys.executable}), written by tinyxp\n")

    def test_snapshot_with_uncommitted_changes_as_a_patch(self):
        commit = self.commit({"jobs.sh": f"#PBS -N x\n{sys.executable} train.py xp.snapshot=true xp.dirty=patch\n"})
        write_files(self.root, {"configs/config.yaml": "seed: 0\nlr: 0.5\nepochs: 3\n"})
        status, _, err = self.sub()
        self.assertEqual((status, err), (0, ""))
        (run_dir,) = run_dirs(self.log_dir)
        pending = info(run_dir)["git"]
        self.assertEqual((pending["commit"], pending["dirty"], pending["changed"]), (commit, True, ["configs/config.yaml"]))
        self.assertTrue(os.path.basename(pending["snapshot_dir"]).startswith(commit + "-"), pending["snapshot_dir"])
        self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "config.yaml"))["lr"], 0.5)
        self.git(self.root, "checkout", "--quiet", "--", "configs/config.yaml")  # the job runs the snapshot's
        done = self.run_job(run_dir)
        self.assertEqual((done["status"], done["git"]["dirty_mode"], done["git"]["patch"]),
                         ("COMPLETE", "patch", "metadata/uncommitted.patch"))
        self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "config.yaml"))["lr"], 0.5)

    def test_refused_changes_submit_nothing(self):
        self.commit({"jobs.sh": "#PBS -N x\npython train.py +sweep lr=0.1,0.2 xp.snapshot=true xp.dirty=error\n"})
        write_files(self.root, {"train.py": "print('changed')\n"})
        status, out, err = self.sub()
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, f"tinyxp: error: jobs.sh:2: Cannot take a snapshot of {self.root}: 1 uncommitted change "
                              "(commit them, or set xp.dirty to ignore, commit or patch):\n   M train.py\n")
        self.assertEqual((run_dirs(self.log_dir), os.path.exists(self.calls)), ([], False))

    def test_outside_a_repository(self):
        shutil.rmtree(os.path.join(self.root, ".git"))
        write_files(self.root, {"jobs.sh": "#PBS -N x\npython train.py xp.snapshot=true\n"})
        status, out, err = self.sub()
        self.assertEqual(err, f"tinyxp: error: jobs.sh:2: Cannot take a snapshot of {self.root}: it is not inside a git "
                              "repository (xp.snapshot=true needs one)\n")
        self.assertEqual((status, run_dirs(self.log_dir)), (2, []))

    def test_dry_run_takes_no_snapshot(self):
        self.commit({"jobs.sh": "#PBS -N x\npython train.py xp.snapshot=true\n"})
        status, out, err = self.sub("--dry-run")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out.splitlines()[0], "# jobs.sh:2: xp.snapshot=true: the jobs run from a snapshot taken at "
                                              "submission; a dry run takes none")
        self.assertFalse(os.path.exists(os.path.join(self.root, ".tinyxp", "snapshots")))


class LauncherTest(unittest.TestCase):
    """python train.py ... xp.scheduler=NAME in a subprocess, with the fake commands on PATH."""

    def setUp(self):
        self.root = temp_dir(self)
        self.script = write_project(self.root)
        self.log_dir = os.path.join(self.root, "logs")
        self.calls = os.path.join(self.root, "calls.log")
        self.env = {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": self.calls}

    def test_requeue_signal_the_scheduler_cannot_send(self):
        done = run_script(self.script, ["+sweep", "lr=0.1,0.2", "xp.scheduler=sge", "xp.requeue=true",
                                        "xp.requeue_signal=HUP"], env=self.env)
        self.assertEqual((done.returncode, done.stdout), (2, ""))
        self.assertEqual(done.stderr, "error: Invalid xp.requeue_signal 'HUP' for sge: it sends only USR1 or USR2 before "
                                      "a time limit (set xp.requeue_signal=USR2)\n")
        self.assertFalse(os.path.exists(self.log_dir))  # nothing made
        self.assertFalse(os.path.exists(self.calls))  # nothing submitted

    def test_sweep_becomes_pending_runs(self):
        done = run_script(self.script, ["+sweep", "lr=0.1,0.2", "xp.scheduler=slurm",
                                        "xp.scheduler_options=['--time=01:00:00']", "xp.setup=['module load x']"],
                          env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        dirs = run_dirs(self.log_dir)
        self.assertEqual(len(dirs), 2)
        for i, run_dir in enumerate(dirs):
            record = info(run_dir)
            self.assertEqual((record["status"], record["scheduler"]["job_id"]), ("PENDING", str(1000 + i)))
            self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "config.yaml"))["lr"], [0.1, 0.2][i])
            script = read_lines(os.path.join(run_dir, "script.sh"))
            self.assertIn("#SBATCH --time=01:00:00", script)
            self.assertIn("module load x", script)
            self.assertTrue(script[-1].endswith(f"xp.run_id={i + 1} xp.log_dir={self.log_dir} xp.scheduler=null"), script[-1])
            self.assertNotIn("xp.scheduler=slurm", script[-1])
        self.assertFalse(os.path.exists(os.path.join(self.root, "logs", "1", "metrics")))

    def test_tags_are_written_at_submission(self):
        done = run_script(self.script, ["+sweep", "lr=0.1,0.2", "xp.scheduler=slurm", "xp.tags=[baseline]"], env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        notes = [read_yaml(os.path.join(d, "metadata", "notes.yaml")) for d in run_dirs(self.log_dir)]
        self.assertEqual(notes, [{"tags": ["baseline"], "note": None}] * 2)

    @unittest.skipUnless(shutil.which("git"), "git is not installed")
    def test_snapshot_taken_once_and_recorded_by_jobs_without_the_submitting_environment(self):
        from .test_git import GIT_ENV, git

        git(self.root, "init", "--quiet")
        git(self.root, "add", "train.py", "configs")
        with mock.patch.dict(os.environ, GIT_ENV):
            git(self.root, "commit", "--quiet", "-m", "first")
            done = run_script(self.script, ["+sweep", "lr=0.1,0.2", "xp.scheduler=pbs", "xp.snapshot=true"],
                              env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        commit = git(self.root, "rev-parse", "HEAD").strip()
        snapshot = os.path.join(self.root, ".tinyxp", "snapshots", os.path.basename(self.root), commit)
        self.assertEqual(len(os.listdir(os.path.dirname(snapshot))), 1)
        for i, run_dir in enumerate(run_dirs(self.log_dir)):
            script = read_lines(os.path.join(run_dir, "script.sh"))
            self.assertIn(f"cd {snapshot}", script)
            self.assertEqual(sum(line.startswith("export TINYXP_IN_SNAPSHOT='{") for line in script), 1)
            self.assertEqual(script[-1], f"{sys.executable} {snapshot}/train.py lr={0.1 * (i + 1):g} xp.snapshot=false "
                                         f"xp.run_id={i + 1} xp.log_dir={self.log_dir} xp.scheduler=null")
            pending = info(run_dir)
            self.assertEqual((pending["status"], pending["git"]["commit"], pending["git"]["snapshot_dir"]),
                             ("PENDING", commit, snapshot))
            # the job, started as PBS starts it: without the environment of the submission
            job = run_process(["bash", os.path.join(run_dir, "script.sh")], env=script_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            self.assertEqual(job.returncode, 0, job.stderr)
            record = info(run_dir)
            self.assertEqual(record["status"], "COMPLETE")
            self.assertEqual((record["git"]["commit"], record["git"]["snapshot_dir"]), (commit, snapshot))

    def test_failed_requeue_is_one_clear_message(self):
        folder = temp_dir(self)
        write_files(folder, {"scontrol": "#!/bin/sh\necho 'scontrol: error: Invalid job id specified'\nexit 1\n"})
        os.chmod(os.path.join(folder, "scontrol"), 0o755)
        script = write_project(self.root, body="import os, signal\nos.kill(os.getpid(), signal.SIGUSR2)\n")
        done = run_script(script, ["xp.requeue=true"], env={"PATH": folder + os.pathsep + os.environ["PATH"],
                                                            "SLURM_JOB_ID": "9"})
        self.assertEqual(done.returncode, 128 + 12)
        self.assertEqual(done.stderr, "tinyxp: error: Cannot requeue SLURM job 9: scontrol exited with status 1:\n"
                                      "    scontrol: error: Invalid job id specified\n")
        record = info(run_dirs(self.log_dir)[0])
        self.assertEqual((record["status"], record["scheduler"]["job_id"]), ("INTERRUPTED", "9"))

    def test_unknown_scheduler(self):
        with self.assertRaises(SchedulerError) as caught:
            submit.submit_from_launcher(self.script, [[]], [{}], {"scheduler": "slrum", "log_dir": self.log_dir})
        self.assertEqual(
            str(caught.exception),
            "Unknown xp.scheduler 'slrum'; did you mean 'slurm'? (expected one of: slurm, oar, pbs, torque, sge, lsf)",
        )
        self.assertEqual(run_dirs(self.log_dir), [])

    def test_jobs_need_logging(self):
        done = run_script(self.script, ["xp.scheduler=slurm", "xp.logging=false"], env=self.env)
        self.assertEqual((done.returncode, done.stdout), (2, ""))
        self.assertEqual(done.stderr, "error: Cannot submit jobs with xp.logging=false: each job records its status "
                                      "and output in its own run directory (drop xp.logging=false)\n")
        self.assertEqual((run_dirs(self.log_dir), os.path.exists(self.calls)), ([], False))

    def test_scheduler_option_that_would_move_the_logs_is_left_out(self):
        done = run_script(self.script, ["xp.scheduler=slurm", "xp.scheduler_options=['--output=x.out', '--mem=1G']"],
                          env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, "tinyxp: warning: xp.scheduler_options: left out '--output=x.out': tinyxp sets "
                                      "--output itself (a job's output goes to its run directory; arrays come from "
                                      "--array or xp.array)\n")
        (run_dir,) = run_dirs(self.log_dir)
        script = read_lines(os.path.join(run_dir, "script.sh"))
        self.assertEqual(script[3:5], [f"#SBATCH --error={run_dir}/stderr.log", "#SBATCH --mem=1G"])

    def test_no_job_into_an_existing_run(self):
        os.makedirs(os.path.join(self.log_dir, "1"))
        done = run_script(self.script, ["xp.scheduler=slurm", "xp.run_id=1"], env=self.env)
        self.assertEqual((done.returncode, done.stdout), (2, ""))
        self.assertEqual(done.stderr, "error: Cannot submit a job into the existing run xp.run_id=1: every job gets a "
                                      "new run directory (omit xp.run_id, or submit that run's script.sh again)\n")
        self.assertEqual((run_dirs(self.log_dir), os.path.exists(self.calls)), ([os.path.join(self.log_dir, "1")], False))

    def test_script_that_cannot_be_written_leaves_no_run(self):
        with mock.patch.dict(os.environ, {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": self.calls}):
            with self.assertRaises(SchedulerError):
                submit.submit_from_launcher(self.script, [[], []], [{}, {}], {
                    "scheduler": "oar", "log_dir": self.log_dir, "array": True, "max_parallel": 2})
        self.assertEqual(run_dirs(self.log_dir), [])
        self.assertFalse(os.path.exists(self.calls))


if __name__ == "__main__":
    unittest.main()
