"""Tests of tinyxp.launcher: real launches in subprocesses and in-process calls."""
from __future__ import annotations

import io
import os
import re
import shlex
import signal
import subprocess
import sys
import unittest

import tinyxp
from tinyxp.errors import ConfigError, LoggerError, OverrideError
from tinyxp._contract import RUN_DIR_ENV
from tinyxp._files import read_yaml, write_yaml

from .support import (
    REPO_ROOT,
    finish,
    load_script,
    read_jsonl,
    run_process,
    run_script,
    start_script,
    task_script,
    temp_dir,
    wait_for_line,
    write_project,
)

INFO_FIELDS = {
    "run_id", "run_dir", "log_dir", "status", "start_time", "end_time", "duration_s", "hostname", "user",
    "pid", "python", "argv", "overrides", "command", "work_dir", "script", "tinyxp_version", "restarts",
}
RE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")


def info_of(run_dir: str) -> dict:
    return read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))


class LaunchTestCase(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")

    def project(self, **options) -> str:
        return write_project(self.root, **options)

    def run_dir(self, run_id: int) -> str:
        return os.path.join(self.logs, str(run_id))

    def assert_bad_input(self, result, message: str):
        """Exit 2, one line `error: <message>`, and no run directory created."""
        self.assertEqual((result.returncode, result.stderr), (2, f"error: {message}\n"), result.stderr)
        self.assertFalse(os.path.exists(self.logs))


class SingleRunTest(LaunchTestCase):
    def test_complete_run_writes_the_run_directory(self):
        script = self.project(body='print("run", ctx.info.run_id, ctx.config.lr, ctx.xp.log_dir)')
        result = run_script(script, ["lr=0.5"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "run 1 0.5 ./logs\n")
        self.assertEqual(result.stderr, "")
        run_dir = self.run_dir(1)
        self.assertEqual(sorted(os.listdir(run_dir)), ["metadata", "metrics"])  # heartbeat: after 30 s
        self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "metadata"))), ["config.yaml", "info.yaml", "xp.yaml"])
        self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "config.yaml")), {"seed": 0, "lr": 0.5, "epochs": 3})
        self.assertEqual(read_yaml(os.path.join(run_dir, "metadata", "xp.yaml"))["log_dir"], "./logs")
        self.assertEqual(
            read_jsonl(os.path.join(run_dir, "metrics", "train.jsonl")),
            [{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}, {"step": 2, "loss": 1 / 3}],
        )
        info = info_of(run_dir)
        self.assertLessEqual(INFO_FIELDS, set(info))
        self.assertEqual(info["status"], "COMPLETE")
        self.assertEqual((info["run_id"], info["run_dir"], info["log_dir"]), (1, run_dir, self.logs))
        self.assertRegex(info["start_time"], RE_TIME)
        self.assertRegex(info["end_time"], RE_TIME)
        self.assertGreaterEqual(info["end_time"], info["start_time"])
        self.assertIsInstance(info["duration_s"], float)
        self.assertEqual(info["overrides"], ["lr=0.5"])
        self.assertEqual(info["work_dir"], os.path.realpath(self.root))
        self.assertEqual(info["script"], os.path.realpath(script))
        self.assertEqual(info["command"], f"cd {shlex.quote(info['work_dir'])} && {shlex.quote(sys.executable)} train.py lr=0.5")
        self.assertEqual(info["python"], {"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]})
        self.assertEqual((info["restarts"], info["tinyxp_version"]), (0, "0.1.0"))
        self.assertNotIn("error", info)

    def test_failed_run_records_the_error_and_reraises(self):
        script = self.project(body='raise ValueError("bad batch")')
        result = run_script(script)
        self.assertEqual(result.returncode, 1)
        self.assertIn("Traceback (most recent call last)", result.stderr)
        self.assertTrue(result.stderr.endswith("ValueError: bad batch\n"), result.stderr)
        info = info_of(self.run_dir(1))
        self.assertEqual(info["status"], "FAILED")
        self.assertEqual(info["error"], {"type": "ValueError", "message": "bad batch"})
        self.assertIsNotNone(info["end_time"])
        with open(os.path.join(self.run_dir(1), "metadata", "traceback.txt")) as file:
            traceback_text = file.read()
        self.assertTrue(traceback_text.startswith("Traceback (most recent call last)"))
        self.assertTrue(traceback_text.endswith("ValueError: bad batch\n"))

    def test_seed_fn_receives_the_seed(self):
        script = self.project(script=task_script("print('task')", "seed_fn=lambda seed: print('seeded', seed)"))
        result = run_script(script, ["seed=7"])
        self.assertEqual((result.returncode, result.stdout), (0, "seeded 7\ntask\n"), result.stderr)

    def test_mlxp_names_seeding_function_and_ctx_mlxp(self):
        body = "print(ctx.mlxp is ctx.xp, ctx.mlxp.log_dir)"
        script = self.project(script=task_script(body, "seeding_function=lambda seed: print('seeded', seed)"))
        result = run_script(script, ["seed=7", "xp.log_dir=elsewhere"])
        self.assertEqual((result.returncode, result.stdout), (0, "seeded 7\nTrue elsewhere\n"), result.stderr)
        with self.assertRaises(TypeError) as caught:
            tinyxp.launch(seed_fn=print, seeding_function=print)
        self.assertEqual(str(caught.exception), "launch() takes seed_fn or its MLXP name seeding_function, not both")

    def test_tags_at_launch_and_from_the_task(self):
        script = self.project(body='print(ctx.logger.tag("diverged", "baseline"))')
        result = run_script(script, ["xp.tags=[baseline,lr-0.1]"])
        self.assertEqual((result.returncode, result.stdout), (0, "['baseline', 'lr-0.1', 'diverged']\n"), result.stderr)
        self.assertEqual(read_yaml(os.path.join(self.run_dir(1), "metadata", "notes.yaml")),
                         {"tags": ["baseline", "lr-0.1", "diverged"], "note": None})
        result = run_script(script, ["xp.run_id=1", "xp.tags=[again]"])  # a resume adds its own
        self.assertEqual(read_yaml(os.path.join(self.run_dir(1), "metadata", "notes.yaml"))["tags"],
                         ["baseline", "lr-0.1", "diverged", "again"])

    def test_without_logging_there_is_no_run_directory(self):
        script = self.project(script=task_script("print(ctx.logger, ctx.info.run_id)"))
        result = run_script(script, ["xp.logging=false"])
        self.assertEqual((result.returncode, result.stdout), (0, "None None\n"), result.stderr)
        self.assertFalse(os.path.exists(self.logs))

    def test_cfg_prints_the_config_and_creates_nothing(self):
        script = self.project(body='print("ran")')
        result = run_script(script, ["lr=0.25", "--cfg"])
        self.assertEqual((result.returncode, result.stdout), (0, "seed: 0\nlr: 0.25\nepochs: 3\n"), result.stderr)
        self.assertFalse(os.path.exists(self.logs))

    def test_help_shows_the_config(self):
        result = run_script(self.project(), ["--help"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("usage: train.py"), result.stdout)
        self.assertIn("seed: 0\nlr: 0.1\nepochs: 3\n", result.stdout)


class GitInfoTest(LaunchTestCase):
    def test_run_in_a_repository_records_the_commit(self):
        import shutil

        if shutil.which("git") is None:
            self.skipTest("git is not installed")
        script = self.project()
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
        for command in (["init", "-q"], ["add", "train.py", "configs"], ["commit", "-qm", "first"]):
            run_process(git + command, cwd=self.root, check=True, timeout=30)
        head = run_process(["git", "rev-parse", "HEAD"], cwd=self.root, check=True, stdout=subprocess.PIPE,
                           universal_newlines=True, timeout=30).stdout.strip()
        result = run_script(script)
        self.assertEqual(result.returncode, 0, result.stderr)
        git_info = info_of(self.run_dir(1))["git"]
        self.assertEqual((git_info["commit"], git_info["dirty"]), (head, False))


class BadInputTest(LaunchTestCase):
    def test_unknown_override_key(self):
        self.assert_bad_input(
            run_script(self.project(), ["lrr=0.1"]),
            "Unknown key 'lrr'; did you mean 'lr'? (+lrr=VALUE adds a new key)\n    lrr=0.1\n    ^^^",
        )

    def test_override_of_another_type(self):
        self.assert_bad_input(
            run_script(self.project(), ["lr=abc"]),
            "Cannot replace the number at 'lr' with the string 'abc' (to force it: ++lr=abc)\n    lr=abc\n       ^^^",
        )

    def test_bad_input_from_the_task(self):
        # line 8 of the script is the first line of the body
        cases = {
            'ctx.logger.log_metrics({"model": object()})':
                "Invalid metric 'model': value of type object is not JSON-serialisable",
            'ctx.logger.log_metrics({"loss": 1}, log_name="eval/val")':
                "Invalid metric log name 'eval/val': expected a plain file name, without '/' or '..'",
            'ctx.logger.log_artifact(1, "../escape")':
                "Invalid artifact name '../escape': expected names separated by '/' (`ckpt/epoch3`), without '..', '.' or empty parts",
            "ctx.logger.load_checkpoint()":
                "Cannot load checkpoint 'last': no file {run_dir!r}",
        }
        for run_id, (body, message) in enumerate(cases.items(), 1):
            with self.subTest(body=body):
                result = run_script(self.project(body=body))
                run_dir = self.run_dir(run_id)
                message = message.format(run_dir=os.path.join(run_dir, "artifacts", "pickle", "last.pkl"))
                self.assertEqual((result.returncode, result.stderr), (2, f"error: train.py:8: {message}\n"))
                info = info_of(run_dir)
                self.assertEqual((info["status"], info["error"]["message"]), ("FAILED", message))
                with open(os.path.join(run_dir, "metadata", "traceback.txt"), encoding="utf-8") as file:
                    traceback = file.read()
                self.assertTrue(traceback.startswith("Traceback (most recent call last):\n"), traceback)
                self.assertTrue(traceback.endswith(f"{info['error']['type']}: {message}\n"), traceback)
                self.assertFalse(os.path.exists(os.path.join(run_dir, "artifacts", "pickle", "escape.pkl")))

    def test_unset_required_value(self):
        result = run_script(self.project(config="seed: 0\ndata: ???\n"))
        self.assert_bad_input(result, "Missing required value 'data': set it with data=VALUE")

    def test_missing_seed_with_seed_fn(self):
        script = self.project(config="lr: 0.1\n", script=task_script("print('task')", "seed_fn=print"))
        self.assert_bad_input(
            run_script(script),
            "Cannot call seed_fn: the config has no 'seed' key "
            "(add 'seed: 0' to the config file or '+seed=0' to the command line)",
        )

    def test_log_dir_that_cannot_be_written(self):
        # chmod does not stop root (CI runs tests as root): put the log dir under a file
        blocker = os.path.join(self.root, "blocker")
        open(blocker, "w").close()
        log_dir = os.path.join(blocker, "logs")
        self.assert_bad_input(
            run_script(self.project(), [f"xp.log_dir={log_dir}"]),
            f"Cannot create the log directory {log_dir!r}: Not a directory",
        )

    def test_resume_of_a_run_that_does_not_exist(self):
        os.mkdir(self.logs)
        result = run_script(self.project(), ["xp.run_id=4"])
        self.assertEqual(
            (result.returncode, result.stderr),
            (2, f"error: Cannot resume run 4: no directory {os.path.join(self.logs, '4')!r} (omit xp.run_id to start a new run)\n"),
        )
        self.assertEqual(os.listdir(self.logs), [])

    def test_tag_that_queries_cannot_name(self):
        result = run_script(self.project(), ["xp.tags=[ok,'two words']"])
        self.assert_bad_input(result, "Invalid value ['ok', 'two words'] for the tinyxp setting 'tags': expected a list of tags "
                              "(each a letter or _, then letters, digits or _ - . : + / @)\n    xp.tags=[ok,'two words']\n            ^^^^^^^^^^^^^^^^")
        script = self.project(body='ctx.logger.tag("a,b")')
        result = run_script(script)
        self.assertEqual(result.stderr, "error: train.py:8: Invalid tag 'a,b': expected a letter or _, then letters, digits or "
                         "_ - . : + / @, so that queries and command lines can name it\n")
        self.assertFalse(os.path.exists(os.path.join(self.run_dir(1), "metadata", "notes.yaml")))

    def test_sweep_without_plus_sweep(self):
        result = run_script(self.project(), ["lr=0.1,0.2"])
        self.assert_bad_input(
            result, "Cannot run a sweep without +sweep: 'lr=0.1,0.2' describes 2 runs; add +sweep (or -m) to run them all"
        )

    def test_bad_input_in_a_submitted_job_fails_its_pending_run(self):
        run_dir = self.run_dir(3)
        os.makedirs(os.path.join(run_dir, "metadata"))
        write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), {"run_id": 3, "status": "PENDING", "end_time": None})
        result = run_script(self.project(), ["lrr=0.1"], env={RUN_DIR_ENV: run_dir})
        message = "Unknown key 'lrr'; did you mean 'lr'? (+lrr=VALUE adds a new key)\n    lrr=0.1\n    ^^^"
        self.assertEqual((result.returncode, result.stderr), (2, f"error: {message}\n"))
        record = info_of(run_dir)
        self.assertEqual((record["status"], record["error"]), ("FAILED", {"type": "OverrideError", "message": message}))
        self.assertRegex(record["end_time"], RE_TIME)
        self.assertEqual(os.listdir(self.logs), ["3"])

    def test_bad_input_leaves_a_run_that_is_not_pending_alone(self):
        run_dir = self.run_dir(3)
        os.makedirs(os.path.join(run_dir, "metadata"))
        write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), {"run_id": 3, "status": "COMPLETE"})
        result = run_script(self.project(), ["lrr=0.1"], env={RUN_DIR_ENV: run_dir})
        self.assertEqual(result.returncode, 2)
        self.assertEqual(info_of(run_dir), {"run_id": 3, "status": "COMPLETE"})


class SweepTest(LaunchTestCase):
    def test_every_run_is_attempted_and_failures_are_summarised(self):
        script = self.project(body='if ctx.config.lr > 0.5:\n    raise ValueError(f"lr {ctx.config.lr} too large")')
        result = run_script(script, ["+sweep", "lr=0.1,0.9,0.2", "seed=range(2)"])
        self.assertEqual(result.returncode, 1)
        progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
        self.assertEqual(progress, [
            "[1/6] lr=0.1 seed=0 -> logs/1",
            "[2/6] lr=0.1 seed=1 -> logs/2",
            "[3/6] lr=0.9 seed=0 -> logs/3",
            "[4/6] lr=0.9 seed=1 -> logs/4",
            "[5/6] lr=0.2 seed=0 -> logs/5",
            "[6/6] lr=0.2 seed=1 -> logs/6",
        ])
        self.assertTrue(result.stderr.endswith(
            "sweep: 6 runs, 4 complete, 2 failed\n"
            "  FAILED lr=0.9 seed=0 -> logs/3: ValueError: lr 0.9 too large\n"
            "  FAILED lr=0.9 seed=1 -> logs/4: ValueError: lr 0.9 too large\n"
        ), result.stderr)
        statuses = [info_of(self.run_dir(i))["status"] for i in range(1, 7)]
        self.assertEqual(statuses, ["COMPLETE", "COMPLETE", "FAILED", "FAILED", "COMPLETE", "COMPLETE"])
        self.assertEqual(info_of(self.run_dir(4))["overrides"], ["lr=0.9", "seed=1"])

    def test_successful_sweep_exits_zero_with_a_summary(self):
        result = run_script(self.project(), ["+sweep", "seed=0,1"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "[1/2] seed=0 -> logs/1\n[2/2] seed=1 -> logs/2\nsweep: 2 runs, 2 complete, 0 failed\n")


class InProcessTest(LaunchTestCase):
    def setUp(self):
        super().setUp()
        script = self.project(body='if ctx.config.lr > 0.5:\n    raise ValueError("too large")\nreturn ctx.info.run_id * 10')
        self.train = load_script(script).train
        self.log_dir_token = f"xp.log_dir={self.logs}"
        stderr, sys.stderr = sys.stderr, io.StringIO()  # progress lines and summaries
        self.addCleanup(setattr, sys, "stderr", stderr)

    def test_single_run_returns_the_task_value(self):
        self.assertEqual(self.train([self.log_dir_token]), 10)
        self.assertEqual(self.train([self.log_dir_token, "lr=0.2"]), 20)
        self.assertEqual(info_of(self.run_dir(2))["status"], "COMPLETE")

    def test_single_run_failure_raises(self):
        with self.assertRaisesRegex(ValueError, "^too large$"):
            self.train([self.log_dir_token, "lr=0.9"])
        self.assertEqual(info_of(self.run_dir(1))["status"], "FAILED")

    def test_sweep_returns_the_values(self):
        self.assertEqual(self.train([self.log_dir_token, "+sweep", "lr=0.1,0.2,0.3"]), [10, 20, 30])

    def test_sweep_composes_the_settings_once_per_distinct_xp_overrides(self):
        from unittest import mock

        from tinyxp.config import settings

        with mock.patch.object(settings, "compose_xp", wraps=settings.compose_xp) as compose_xp:
            self.train([self.log_dir_token, "+sweep", "lr=0.1,0.2,0.3", "xp.heartbeat_interval=10,20"])
        self.assertEqual(compose_xp.call_count, 1 + 2)  # xp.max_runs, read before the sweep is expanded; then 2 of 6
        self.assertEqual([read_yaml(os.path.join(self.run_dir(i), "metadata", "xp.yaml"))["heartbeat_interval"]
                          for i in range(1, 7)], [10, 20, 10, 20, 10, 20])

    def test_sweep_with_a_failure_raises_system_exit(self):
        with self.assertRaises(SystemExit) as caught:
            self.train([self.log_dir_token, "+sweep", "lr=0.1,0.9"])
        self.assertEqual(caught.exception.code, 1)
        self.assertEqual([info_of(self.run_dir(i))["status"] for i in (1, 2)], ["COMPLETE", "FAILED"])

    def test_scheduler_gets_every_composed_setting_and_nothing_runs(self):
        from unittest import mock

        with mock.patch("tinyxp.jobs.submit.submit_from_launcher", return_value=0) as submit:
            status = self.train([self.log_dir_token, "+sweep", "lr=0.1,0.2", "xp.scheduler=slurm"])
        self.assertEqual(status, 0)
        script, settings, configs, xp = submit.call_args[0]
        self.assertEqual(os.path.basename(script), "train.py")
        self.assertEqual([config["lr"] for config in configs], [0.1, 0.2])
        self.assertEqual(len(settings), 2)
        self.assertEqual(xp.scheduler, "slurm")
        self.assertFalse(os.path.exists(self.logs))

    def test_snapshot_relaunches_instead_of_running(self):
        from unittest import mock

        environ = {k: v for k, v in os.environ.items() if k != "TINYXP_IN_SNAPSHOT"}
        with mock.patch.dict(os.environ, environ, clear=True), \
                mock.patch("tinyxp.run.relaunch.relaunch_in_snapshot", return_value=3) as relaunch:
            self.assertEqual(self.train([self.log_dir_token, "xp.snapshot=true"]), 3)
        self.assertEqual(relaunch.call_args[0][1], [self.log_dir_token, "xp.snapshot=true"])
        self.assertFalse(os.path.exists(self.logs))

    def test_bad_input_raises_the_typed_error(self):
        with self.assertRaises(OverrideError):
            self.train(["lr=0.1,0.2"])
        blocker = os.path.join(self.root, "blocker")
        open(blocker, "w").close()
        with self.assertRaises(LoggerError):
            self.train([f"xp.log_dir={blocker}/logs"])
        with self.assertRaises(ConfigError):
            self.train([self.log_dir_token, "xp.run_id=0"])


class ResumeTest(LaunchTestCase):
    def test_resume_keeps_metrics_and_checkpoints(self):
        script = self.project(body=(
            "try:\n"
            "    state = ctx.logger.load_checkpoint()\n"
            "except tinyxp.NoCheckpoint:\n"
            "    state = 0\n"
            "ctx.logger.log_checkpoint(state + 1)\n"
            "print('state', state, 'restarts', ctx.info.restarts)\n"
        ))
        self.assertEqual(run_script(script).stdout, "state 0 restarts 0\n")
        result = run_script(script, ["xp.run_id=1", "lr=0.3", "xp.allow_changes=true"])
        self.assertEqual((result.returncode, result.stdout), (0, "state 1 restarts 1\n"), result.stderr)
        self.assertEqual(result.stderr, "tinyxp: resuming run 1 with a changed config: lr: 0.1 -> 0.3\n")
        self.assertEqual(os.listdir(self.logs), ["1"])
        info = info_of(self.run_dir(1))
        self.assertEqual((info["status"], info["restarts"], info["overrides"]), ("COMPLETE", 1, []))
        self.assertEqual(info["launches"][1]["overrides"], ["xp.run_id=1", "lr=0.3", "xp.allow_changes=true"])
        self.assertEqual(read_yaml(os.path.join(self.run_dir(1), "metadata", "config.yaml"))["lr"], 0.3)
        self.assertEqual(len(read_jsonl(os.path.join(self.run_dir(1), "metrics", "train.jsonl"))), 6)

    def test_resume_of_a_failed_run_keeps_its_error_and_traceback_in_the_history(self):
        script = self.project(body='if ctx.config.lr > 0.2:\n    raise ValueError("lr too large")')
        self.assertEqual(run_script(script, ["lr=0.5"]).returncode, 1)
        metadata = os.path.join(self.run_dir(1), "metadata")
        self.assertIn("traceback.txt", os.listdir(metadata))
        result = run_script(script, ["xp.run_id=1", "lr=0.1", "xp.allow_changes=true"])
        self.assertEqual(result.returncode, 0, result.stderr)
        info = info_of(self.run_dir(1))
        self.assertEqual((info["status"], info["restarts"]), ("COMPLETE", 1))
        self.assertNotIn("error", info)
        self.assertEqual(info["launches"][0]["error"], {"type": "ValueError", "message": "lr too large"})
        self.assertEqual(sorted(os.listdir(metadata)),
                         [".launch.lock", "config.yaml", "info.yaml", "traceback.1.txt", "xp.yaml"])

    def test_resume_with_the_same_config_says_nothing_and_changes_are_listed(self):
        script = self.project(config="seed: 0\nopt: {lr: 0.1, name: sgd}\nlayers: [1, 2]\n")
        self.assertEqual(run_script(script, ["seed=1"]).returncode, 0)
        result = run_script(script, ["xp.run_id=1", "seed=1"])
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        result = run_script(script, ["xp.run_id=1", "opt={lr: 0.2}", "~layers", "+extra={a: 1}", "xp.allow_changes=true"])
        self.assertEqual(result.stderr, (
            "tinyxp: resuming run 1 with a changed config: "
            "opt.lr: 0.1 -> 0.2, opt.name: sgd -> (absent), layers: [1, 2] -> (absent), extra: (absent) -> {a: 1}\n"
        ))


class CaptureAndHeartbeatTest(LaunchTestCase):
    def test_capture_output_tees_into_the_run_directory(self):
        script = self.project(body='print("to stdout")\nprint("to stderr", file=sys.stderr)')
        result = run_script(script, ["xp.capture_output=true"])
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "to stdout\n", "to stderr\n"))
        for name, text in (("stdout.log", "to stdout\n"), ("stderr.log", "to stderr\n")):
            with open(os.path.join(self.run_dir(1), name)) as file:
                self.assertEqual(file.read(), text)

    def test_capture_output_keeps_the_traceback_of_a_failure(self):
        script = self.project(body='print("before")\nraise KeyError("gone")')
        result = run_script(script, ["xp.capture_output=true"])
        self.assertEqual((result.returncode, result.stdout), (1, "before\n"))
        with open(os.path.join(self.run_dir(1), "stderr.log")) as file:
            captured = file.read()
        self.assertTrue(captured.startswith("Traceback (most recent call last)"), captured)
        self.assertTrue(captured.endswith("KeyError: 'gone'\n"), captured)
        self.assertTrue(result.stderr.endswith("KeyError: 'gone'\n"), result.stderr)

    def test_heartbeat_is_touched_while_the_run_is_alive(self):
        script = self.project(body=(
            "import os, time\n"
            "path = os.path.join(ctx.logger.run_dir, 'heartbeat')\n"
            "for _ in range(2000):  # the file appears at the first beat\n"
            "    if os.path.exists(path):\n"
            "        break\n"
            "    time.sleep(0.005)\n"
            "first = os.stat(path).st_mtime_ns\n"
            "for _ in range(2000):\n"
            "    time.sleep(0.005)\n"
            "    if os.stat(path).st_mtime_ns != first:\n"
            "        print('touched')\n"
            "        break\n"
        ))
        result = run_script(script, ["xp.heartbeat_interval=0.02"])
        self.assertEqual((result.returncode, result.stdout), (0, "touched\n"), result.stderr)


SLEEPER = """\
import sys, time
import tinyxp

@tinyxp.launch()
def train(ctx):
    ctx.on_preempt(lambda: ctx.logger.log_checkpoint({"saved": "on preempt"}))
    ctx.logger.log_metrics({"step": 0})
    print("started", flush=True)
    time.sleep(60)

train()
"""


class SignalTest(LaunchTestCase):
    def interrupt(self, signum):
        process = start_script(self.project(script=SLEEPER), test=self)
        wait_for_line(process, "started")
        process.send_signal(signum)
        stdout, stderr = finish(process)
        self.assertEqual(stdout, "")
        info = info_of(self.run_dir(1))
        self.assertEqual(info["status"], "INTERRUPTED")
        self.assertRegex(info["end_time"], RE_TIME)
        self.assertIsInstance(info["duration_s"], float)
        from tinyxp.run.logger import Logger

        self.assertEqual(Logger(self.run_dir(1)).load_checkpoint(), {"saved": "on preempt"})
        return process.returncode, stderr

    def test_sigterm_leaves_status_interrupted(self):
        self.assertEqual(self.interrupt(signal.SIGTERM), (128 + signal.SIGTERM, ""))

    def test_sigint_leaves_status_interrupted(self):
        # as Python itself on Ctrl-C: the KeyboardInterrupt traceback, then killed by SIGINT
        status, stderr = self.interrupt(signal.SIGINT)
        self.assertEqual(status, -signal.SIGINT, stderr)
        self.assertTrue(stderr.startswith("Traceback (most recent call last):\n"), stderr)
        self.assertTrue(stderr.endswith("\nKeyboardInterrupt\n"), stderr)

    def test_requeue_signal_leaves_status_interrupted(self):
        self.assertEqual(self.interrupt(signal.SIGUSR2), (128 + signal.SIGUSR2, ""))  # xp.requeue_signal's default


QUICKSTART = os.path.join(REPO_ROOT, "examples", "quickstart", "train.py")


@unittest.skipUnless(os.path.exists(QUICKSTART), "the quickstart example is not next to the tests (a vendored copy)")
class QuickstartTest(LaunchTestCase):
    def run_quickstart(self, *args):
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # runs from the repository without installing anything
        env.pop("TINYXP_IN_SNAPSHOT", None)
        result = subprocess.run([sys.executable, QUICKSTART, *args], cwd=self.root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def metrics(self, run_id, log_name):
        return read_jsonl(os.path.join(self.run_dir(run_id), "metrics", f"{log_name}.jsonl"))

    def test_sweep_is_deterministic_and_resumes_from_its_checkpoint(self):
        result = self.run_quickstart("+sweep", "optimizer.lr=0.1,0.01", "seed=range(2)", "epochs=3", "model=poly")
        self.assertIn("[4/4] optimizer.lr=0.01 seed=1 epochs=3 model=poly -> logs/4\n", result.stderr)
        self.assertEqual([info_of(self.run_dir(i))["status"] for i in range(1, 5)], ["COMPLETE"] * 4)
        self.assertEqual([r["epoch"] for r in self.metrics(1, "train")], [1, 2, 3])
        self.assertEqual(len(self.metrics(1, "test")), 3)
        self.run_quickstart("optimizer.lr=0.1", "seed=0", "epochs=5", "model=poly")  # logs/5, from scratch
        self.assertEqual(self.metrics(5, "train")[:3], self.metrics(1, "train"))
        resumed = self.run_quickstart("xp.run_id=1", "epochs=5", "xp.allow_changes=true")
        self.assertIn("run 1: resuming after epoch 3", resumed.stdout)
        self.assertEqual(self.metrics(1, "train"), self.metrics(5, "train"))
        self.assertEqual(self.metrics(1, "test"), self.metrics(5, "test"))
        self.assertEqual(info_of(self.run_dir(1))["restarts"], 1)


REQUEUED = """\
import time
import tinyxp
from tinyxp.run import job

job.requeue_current_job = lambda job: print("requeue", job["job_id"], flush=True)

@tinyxp.launch()
def train(ctx):
    print("started", flush=True)
    time.sleep(60)

train()
"""


class RequeueTest(LaunchTestCase):
    def test_requeue_signal_with_requeue_asks_the_scheduler(self):
        # a SLURM job as the environment says it; scontrol is replaced by a print
        env = {"SLURM_JOB_ID": "42", "SLURM_ARRAY_TASK_ID": "", "SLURM_ARRAY_JOB_ID": "", "SLURM_RESTART_COUNT": ""}
        process = start_script(self.project(script=REQUEUED), ["xp.requeue=true", "xp.requeue_signal=HUP"], env=env,
                               test=self)
        wait_for_line(process, "started")
        process.send_signal(signal.SIGHUP)
        self.assertEqual(finish(process), ("requeue 42\n", ""))
        self.assertEqual(process.returncode, 128 + signal.SIGHUP)
        info = info_of(self.run_dir(1))
        self.assertEqual((info["status"], info["scheduler"]["job_id"]), ("INTERRUPTED", "42"))


class ConcurrencyTest(LaunchTestCase):
    def test_32_processes_get_32_distinct_complete_runs(self):
        script = self.project()
        processes = [
            start_script(script, test=self) for _ in range(32)
        ]
        for process in processes:
            _, stderr = finish(process, 300)
            self.assertEqual(process.returncode, 0, stderr)
        self.assertEqual(sorted(os.listdir(self.logs), key=int), [str(i) for i in range(1, 33)])
        pids = set()
        for run_id in range(1, 33):
            info = info_of(self.run_dir(run_id))
            self.assertEqual((info["status"], info["run_id"]), ("COMPLETE", run_id))
            pids.add(info["pid"])
            self.assertEqual(len(read_jsonl(os.path.join(self.run_dir(run_id), "metrics", "train.jsonl"))), 3)
        self.assertEqual(len(pids), 32)


if __name__ == "__main__":
    unittest.main()
