"""`tinyxp compare`: runs side by side, what differs, git diff --stat, and bad input."""
from __future__ import annotations

import os
import shutil
import subprocess
import unittest
from unittest import mock

from .bench import synth
from .support import run_process, temp_dir
from .test_cli_runs import run_cli
from tinyxp._commands import CommandNotRun
from tinyxp.view.compare import format_duration, with_delta

HAVE_GIT = shutil.which("git") is not None
ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def git(cwd: str, *args: str) -> str:
    result = run_process(["git", *args], cwd=cwd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env={**os.environ, **ENV})
    return result.stdout.decode().strip()


class CompareTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.log_dir = os.path.join(self.root, "logs")
        loss = [{"epoch": 0, "loss": 1.0}, {"epoch": 1, "loss": 0.5}]
        synth.write_run(self.log_dir, 3, {"lr": 0.1, "seed": 0}, metrics={"train": loss},
                        info={"duration_s": 3725, "choices": {"model": "mlp"}})
        synth.write_run(self.log_dir, 7, {"lr": 0.01, "seed": 0}, metrics={"train": [{"epoch": 0, "loss": 1.0}, {"epoch": 1, "loss": 0.25}]},
                        status="FAILED", info={"hostname": "node-2", "choices": {"model": "cnn"}})

    def compare(self, *argv: str) -> tuple:
        return run_cli("compare", "-d", self.log_dir, *argv)

    def test_only_what_differs(self) -> None:
        status, out, err = self.compare("3", "7")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out.split("\n"), [
            "config:",
            "             run 3  run 7",
            "  config.lr    0.1   0.01",
            "choices:",
            "                 run 3  run 7",
            "  choices.model  mlp    cnn",
            "run:",
            "              run 3     run 7",
            "  status      COMPLETE  FAILED",
            "  hostname    node-1    node-2",
            "  duration_s  1h02m05s  12.5s",
            "metrics:",
            "                    run 3  run 7",
            "  last(train.loss)    0.5  0.25 (-0.25)",
            "  min(train.loss)     0.5  0.25 (-0.25)",
            "",
        ])

    def test_all_shows_equal_keys_and_counters(self) -> None:
        out = self.compare("3", "7", "--all")[1]
        for line in ("  config.seed      0      0", "  patch  none   none", "  last(train.epoch)      1  1 (+0)"):
            self.assertIn(line, out.split("\n"))

    def test_the_same_run_twice_or_identical_runs(self) -> None:
        synth.write_run(self.log_dir, 8, {"lr": 0.1, "seed": 0}, info={"duration_s": 3725, "choices": {"model": "mlp"}},
                        metrics={"train": [{"epoch": 0, "loss": 1.0}, {"epoch": 1, "loss": 0.5}]})
        self.assertEqual(self.compare("3", "8")[1], "Runs 3, 8 differ in nothing tinyxp recorded (--all shows everything)\n")

    def test_patch_and_metrics_only_some_runs_have(self) -> None:
        run_dir = synth.write_run(self.log_dir, 9, {"lr": 0.1, "seed": 0}, info={"git": {"commit": "a" * 40, "dirty": True, "patch": "metadata/uncommitted.patch"}})
        with open(os.path.join(run_dir, "metadata", "uncommitted.patch"), "w") as file:
            file.write("-a\n+b\n")
        out = self.compare("3", "9")[1].split("\n")
        self.assertIn("  patch       none   2 lines, sha be5a3929", out)
        self.assertIn("  git.dirty          true", out)
        self.assertIn("  last(train.loss)    0.5", out)
        os.chmod(os.path.join(run_dir, "metadata"), 0o300)
        try:
            if not os.access(os.path.join(run_dir, "metadata", "uncommitted.patch"), os.R_OK):
                self.assertIn("unreadable (Permission denied)", self.compare("3", "9")[1])
        finally:
            os.chmod(os.path.join(run_dir, "metadata"), 0o700)

    def test_bad_input(self) -> None:
        cases = {
            ("3",): "Expected at least two runs to compare, got 1: 3",
            ("3", "3"): "Expected different runs to compare, got run 3 twice",
            ("3", "12"): f"Unknown run 12 in {self.log_dir!r}: runs here are 3, 7",
        }
        for argv, message in cases.items():
            with self.subTest(argv=argv):
                self.assertEqual(self.compare(*argv), (2, "", f"tinyxp: error: {message}\n"))
        missing = os.path.join(self.root, "nope")
        self.assertEqual(run_cli("compare", "-d", missing, "1", "2"), (2, "", f"tinyxp: error: Cannot read log directory {missing!r}: it does not exist\n"))

    def test_helpers(self) -> None:
        self.assertEqual([format_duration(s) for s in (12.5, 61, 7200, None, float("nan"))], ["12.5s", "1m01s", "2h00m00s", "", "nan"])
        self.assertEqual((with_delta(2, 1, True), with_delta("a", 1, True), with_delta(float("nan"), 1.0, True)), ("2 (+1)", "a", "nan"))

    @unittest.skipUnless(HAVE_GIT, "git is not installed")
    def test_git_diff_stat_between_commits(self) -> None:
        repo = os.path.join(self.root, "repo")
        os.mkdir(repo)
        git(repo, "init", "-q")
        with open(os.path.join(repo, "train.py"), "w") as file:
            file.write("a\n")
        git(repo, "add", "train.py")
        git(repo, "commit", "-q", "-m", "one")
        first = git(repo, "rev-parse", "HEAD")
        with open(os.path.join(repo, "train.py"), "a") as file:
            file.write("b\nc\n")
        git(repo, "commit", "-q", "-am", "two")
        second = git(repo, "rev-parse", "HEAD")
        for run_id, commit in ((11, first), (12, second), (13, "f" * 40)):
            synth.write_run(self.log_dir, run_id, {"lr": 0.1}, info={"git": {"commit": commit, "root": repo, "dirty": False}})
        out = self.compare("11", "12", "13")[1]
        self.assertIn(f"git diff --stat:\n  {first[:12]}..{second[:12]}:\n     train.py | 2 ++\n", out)
        self.assertIn(f"  {first[:12]}..ffffffffffff: git exited with status 128\n    fatal:", out)
        with mock.patch("tinyxp.view.compare.run_command", side_effect=CommandNotRun("timeout", "10")):
            self.assertIn(f"  {first[:12]}..{second[:12]}: cannot run git: no answer after 10 s", self.compare("11", "12")[1])
        shutil.rmtree(repo)
        self.assertNotIn("git diff", self.compare("11", "12")[1])


if __name__ == "__main__":
    unittest.main()
