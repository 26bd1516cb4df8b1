"""Composition from the launcher: --config-name/-cn, -cp, -cd, config_name=, --help's groups, info.choices."""
from __future__ import annotations

import io
import os
import sys
import unittest
from unittest import mock

from tinyxp._files import read_yaml
from tinyxp.errors import ConfigError

from .support import load_script, run_script, temp_dir, write_project

SCRIPT = """\
import tinyxp

@tinyxp.launch(config_path="conf"{launch_args})
def train(ctx):
    return ctx.config.to_dict()

if __name__ == "__main__":
    train()
"""

FILES = {
    "conf/config.yaml": "defaults:\n  - model: small\n  - _self_\nseed: 0\n",
    "conf/mnist.yaml": "defaults:\n  - model: big\n  - optional local: default\n  - _self_\ndata: mnist\n",
    "conf/model/small.yaml": "width: 8\n",
    "conf/model/big.yaml": "defaults:\n  - backbone: resnet\nwidth: 64\n",
    "conf/model/backbone/resnet.yaml": "depth: 18\n",
    "conf/model/backbone/vit.yaml": "depth: 12\n",
    "conf/experiment/fast.yaml": "# @package _global_\ndefaults:\n  - override /model: big\nseed: 7\n",
    "other/config.yaml": "other: true\n",
    "more/local/default.yaml": "scratch: /tmp\n",
}


class ComposeLaunchTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        stderr, sys.stderr = sys.stderr, io.StringIO()
        self.addCleanup(setattr, sys, "stderr", stderr)

    def train(self, launch_args: str = ""):
        script = write_project(self.root, script=SCRIPT.format(launch_args=launch_args), files=FILES)
        return load_script(script).train

    def test_config_name_on_the_command_line(self) -> None:
        train = self.train()
        log = f"xp.log_dir={self.logs}"
        self.assertEqual(train([log]), {"model": {"width": 8}, "seed": 0})
        self.assertEqual(train(["--config-name", "mnist", log]),
                         {"model": {"backbone": {"depth": 18}, "width": 64}, "data": "mnist"})
        self.assertEqual(train(["-cn", "mnist", "model/backbone=vit", log])["model"]["backbone"], {"depth": 12})
        info = read_yaml(os.path.join(self.logs, "3", "metadata", "info.yaml"))
        self.assertEqual(info["choices"], {"model": "big", "model/backbone": "vit", "local": "default"})
        self.assertIn("--config-name mnist", info["command"])

    def test_config_name_in_the_decorator(self) -> None:
        train = self.train(', config_name="mnist"')
        self.assertEqual(train([f"xp.log_dir={self.logs}"])["data"], "mnist")
        self.assertEqual(train([f"xp.log_dir={self.logs}", "-cn", "config"])["seed"], 0)

    def test_config_path_and_dir(self) -> None:
        train = self.train()
        log = f"xp.log_dir={self.logs}"
        self.assertEqual(train(["-cp", "other", log]), {"other": True})
        more = os.path.join(self.root, "more")
        self.assertEqual(train(["-cn", "mnist", "--config-dir", more, log])["local"], {"scratch": "/tmp"})
        with self.assertRaises(ConfigError) as caught:
            train(["-cd", os.path.join(self.root, "nowhere"), log])
        self.assertEqual(str(caught.exception),
                         f"Cannot find the folder {os.path.join(self.root, 'nowhere')!r} given by --config-dir")

    def test_experiment_with_global_package(self) -> None:
        result = self.train()([f"xp.log_dir={self.logs}", "+experiment=fast"])
        self.assertEqual(result, {"model": {"backbone": {"depth": 18}, "width": 64}, "seed": 7})

    def test_scheduler_gets_the_config_options(self) -> None:
        train = self.train()
        with mock.patch("tinyxp.jobs.submit.submit_from_launcher", return_value=0) as submit:
            train([f"xp.log_dir={self.logs}", "-cn", "mnist", "xp.scheduler=slurm"])
        self.assertEqual(submit.call_args[1], {"config_args": ["--config-name", "mnist"], "resume_ids": [None]})

    def test_choices_are_queryable(self) -> None:
        import tinyxp

        train = self.train()
        for model in ("small", "big"):
            train([f"xp.log_dir={self.logs}", f"model={model}"])
        runs = tinyxp.Reader(self.logs).filter("info.choices.model == 'big'")
        self.assertEqual([row["info.run_id"] for row in runs], [2])


class ComposeLaunchCommandLineTest(unittest.TestCase):
    """In a subprocess: exit 2 and one line for a missing primary config; --help lists the groups."""

    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.script = write_project(self.root, script=SCRIPT.format(launch_args=""), files=FILES)

    def test_missing_config_name(self) -> None:
        result = run_script(self.script, ["--config-name=mnst"], cwd=self.root)
        looked = os.path.join(self.root, "conf", "mnst.yaml")
        self.assertEqual((result.returncode, result.stderr),
                         (2, f"error: Cannot find the primary config 'mnst': no file {looked!r}\n"))
        self.assertEqual(sorted(os.listdir(self.root)), ["conf", "configs", "more", "other", "train.py"])

    def test_help_lists_groups_and_options(self) -> None:
        result = run_script(self.script, ["--help", "-cn", "mnist"], cwd=self.root)
        self.assertEqual(result.returncode, 0, result.stderr)
        groups = result.stdout.split("# config groups")[1].split("\n\n")[0]
        self.assertEqual(groups, ": choose an option with GROUP=OPTION, add a group with +GROUP=OPTION (* chosen)\n"
                                 "#   experiment: fast\n#   model: *big, small\n#   model/backbone: *resnet, vit")
        self.assertIn("# the composed config\nmodel:\n  backbone:\n    depth: 18\n", result.stdout)


if __name__ == "__main__":
    unittest.main()
