"""`tinyxp rerun N [overrides]`: a new run from run N's config and code."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import unittest

from tinyxp._contract import SNAPSHOT_MARKER
from tinyxp._files import read_yaml, write_yaml

from .support import REPO_ROOT, run_process, run_script, script_env, temp_dir, write_project

FAKEBIN = os.path.join(REPO_ROOT, "tests", "fakebin")


def metadata(run_dir: str, name: str) -> dict:
    return read_yaml(os.path.join(run_dir, "metadata", name))


class RerunTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        self.script = write_project(self.root, body='print("ran", ctx.info.run_id, ctx.config.lr, flush=True)')
        done = run_script(self.script, ["lr=0.01", "seed=1"])
        self.assertEqual(done.returncode, 0, done.stderr)

    def tinyxp(self, *args: str, env=None):
        return run_process([sys.executable, "-m", "tinyxp", *args], cwd=self.root, env=script_env(env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)

    def test_rerun_starts_a_new_run_from_the_stored_config(self):
        with open(os.path.join(self.root, "configs", "config.yaml"), "w") as file:
            file.write("seed: 0\nlr: 0.5\nepochs: 3\n")  # the defaults moved on since run 1
        first = metadata(os.path.join(self.logs, "1"), "info.yaml")
        result = self.tinyxp("rerun", "1", "epochs=5")
        self.assertEqual((result.returncode, result.stdout), (0, "ran 2 0.01\n"), result.stderr)
        new = os.path.join(self.logs, "2")
        self.assertEqual(metadata(new, "config.yaml"), {"seed": 1, "lr": 0.01, "epochs": 5})
        self.assertEqual(metadata(new, "info.yaml")["rerun_of"], 1)
        self.assertEqual(metadata(os.path.join(self.logs, "1"), "info.yaml"), first)
        result = self.tinyxp("rerun", os.path.join("logs", "2"))
        self.assertEqual((result.returncode, result.stdout), (0, "ran 3 0.01\n"), result.stderr)
        self.assertEqual(metadata(os.path.join(self.logs, "3"), "config.yaml")["epochs"], 5)

    def test_rerun_of_a_missing_run_or_with_a_bad_override(self):
        result = self.tinyxp("rerun", "9")
        self.assertEqual((result.returncode, result.stderr),
                         (2, f"tinyxp: error: Cannot find run '9': no run directory {os.path.join(self.logs, '9')!r}\n"))
        result = self.tinyxp("rerun", "1", "lrr=1")
        self.assertEqual(result.returncode, 2)
        self.assertTrue(result.stderr.endswith(
            "error: Cannot rerun run 1: its stored config no longer takes 'lrr=1': "
            "Unknown key 'lrr'; did you mean 'lr'? (+lrr=VALUE adds a new key)\n"), result.stderr)
        self.assertEqual(os.listdir(self.logs), ["1"])
        os.remove(os.path.join(self.logs, "1", "metadata", "config.yaml"))
        result = self.tinyxp("rerun", "1")
        self.assertEqual(result.returncode, 2)
        self.assertTrue(result.stderr.endswith("error: Cannot rerun run 1: it has no stored config (metadata/config.yaml)\n"),
                        result.stderr)
        self.assertEqual(os.listdir(self.logs), ["1"])

    def test_rerun_uses_the_snapshot_of_the_run(self):
        snapshot = os.path.join(self.root, "snap")
        os.makedirs(snapshot)
        with open(os.path.join(snapshot, SNAPSHOT_MARKER), "w") as file:
            file.write("{}")
        shutil.copytree(os.path.join(self.root, "configs"), os.path.join(snapshot, "configs"))
        with open(self.script) as source, open(os.path.join(snapshot, "train.py"), "w") as copy:
            copy.write(source.read().replace('print("ran"', 'print("snapshot ran"'))
        info_path = os.path.join(self.logs, "1", "metadata", "info.yaml")
        info = read_yaml(info_path)
        info.update(script=os.path.join(snapshot, "train.py"), git={"snapshot_dir": snapshot})
        write_yaml(info_path, info)
        result = self.tinyxp("rerun", "1")
        self.assertEqual((result.returncode, result.stdout), (0, "snapshot ran 2 0.01\n"), result.stderr)
        self.assertIn("xp.snapshot=false", result.stderr)
        shutil.rmtree(snapshot)
        result = self.tinyxp("rerun", "1")
        self.assertEqual((result.returncode, result.stderr),
                         (2, f"tinyxp: error: Cannot rerun run 1: its snapshot {snapshot!r} is gone\n"))

    def test_rerun_with_a_scheduler_submits_the_new_run(self):
        calls = os.path.join(self.root, "calls.log")
        env = {"PATH": FAKEBIN + os.pathsep + os.environ["PATH"], "TINYXP_FAKE_LOG": calls}
        result = self.tinyxp("rerun", "1", "epochs=7", "--scheduler", "slurm", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        new = os.path.join(self.logs, "2")
        self.assertEqual(metadata(new, "info.yaml")["status"], "PENDING")
        self.assertEqual(metadata(new, "config.yaml"), {"seed": 1, "lr": 0.01, "epochs": 7})
        with open(os.path.join(new, "script.sh")) as file:
            command = file.read().splitlines()[-1]
        self.assertIn("epochs=7 xp.rerun_of=1", command)
        with open(os.path.join(self.root, "configs", "config.yaml"), "w") as file:
            file.write("seed: 0\nlr: 0.5\nepochs: 3\n")  # the defaults moved on before the job started
        job = run_process(shlex.split(command), cwd=self.root, env=script_env({"SLURM_JOB_ID": "1000"}),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual((job.returncode, job.stdout), (0, "ran 2 0.01\n"), job.stderr)
        info = metadata(new, "info.yaml")
        self.assertEqual((info["status"], info["rerun_of"], info["restarts"]), ("COMPLETE", 1, 0))
        self.assertEqual(metadata(new, "config.yaml"), {"seed": 1, "lr": 0.01, "epochs": 7})


if __name__ == "__main__":
    unittest.main()
