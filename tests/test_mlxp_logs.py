"""tinyxp.Reader and `tinyxp runs` read a log folder that MLXP 1.0.5 wrote, beside tinyxp's own runs.

The folder is built as MLXP 1.0.5's DefaultLogger writes it: metadata/{config,info,mlxp}.yaml
dumped by PyYAML (sorted keys, block style), metrics/<log_name>.json with one json.dump
per line, metrics/.keys/<log_name>.yaml, artifacts/Checkpoint/<name>.pkl.
"""
from __future__ import annotations

import io
import json
import os
import unittest
from contextlib import redirect_stdout

import tinyxp
from tinyxp import cli

from .support import task_script, temp_dir, run_script, write_files

INFO = {
    "current_file_path": "/home/u/proj/main.py",
    "end_date": "07/12/2026",
    "end_time": "23:31:10",
    "executable": "/usr/bin/python3",
    "hostname": "node1",
    "logger": {"artifacts_dir": "{run}/artifacts", "log_dir": "{run}", "log_id": 0,
               "metadata_dir": "{run}/metadata", "metrics_dir": "{run}/metrics"},
    "process_id": 4242,
    "start_date": "07/12/2026",
    "start_time": "23:30:05",
    "status": "COMPLETE",
    "work_dir": "/home/u/proj",
}
# what PyYAML's yaml.dump(INFO) writes (the times quoted: YAML 1.1 reads 23:30:05 as a number)
INFO_YAML = """\
current_file_path: /home/u/proj/main.py
end_date: 07/12/2026
end_time: '23:31:10'
executable: /usr/bin/python3
hostname: node1
logger:
  artifacts_dir: {run}/artifacts
  log_dir: {run}
  log_id: {log_id}
  metadata_dir: {run}/metadata
  metrics_dir: {run}/metrics
process_id: 4242
start_date: 07/12/2026
start_time: '23:30:05'
status: {status}
work_dir: /home/u/proj
"""
CONFIG = {"model": {"num_units": 100}, "optimizer": {"lr": 0.001}, "seed": 0, "tags": ["a", "b"]}
CONFIG_YAML = """\
model:
  num_units: 100
optimizer:
  lr: {lr}
seed: 0
tags:
- a
- b
"""
MLXP_YAML = """\
as_ConfigDict: true
interactive_mode: true
logger:
  forced_log_id: -1
  log_streams_to_file: false
  name: mlxp.DefaultLogger
  parent_log_dir: ./logs
resolve: true
use_logger: true
use_scheduler: false
use_version_manager: false
"""


def write_mlxp_run(log_dir, log_id, *, lr, status="COMPLETE", losses=(1.0, 0.5)):
    """One run directory as MLXP 1.0.5 leaves it."""
    run = os.path.join(log_dir, str(log_id))
    lines = "".join(json.dumps({"loss": loss, "epoch": i}) + os.linesep for i, loss in enumerate(losses))
    write_files(run, {
        "metadata/info.yaml": INFO_YAML.format(run=run, log_id=log_id, status=status),
        "metadata/config.yaml": CONFIG_YAML.format(lr=lr),
        "metadata/mlxp.yaml": MLXP_YAML,
        "metrics/train.json": lines,
        "metrics/.keys/train.yaml": "epoch: ''\nloss: ''\n",
        "artifacts/Checkpoint/checkpoint.pkl": "",
    })
    return run


class MlxpFolderTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        write_mlxp_run(self.logs, 1, lr=0.001)
        write_mlxp_run(self.logs, 2, lr=0.01, status="STARTING", losses=())
        # a tinyxp run beside them, in the same folder
        write_files(self.root, {"train.py": task_script(
            "ctx.logger.log_metrics({'loss': 0.25, 'epoch': 0}, log_name='train')", 'config_path="configs"'),
            "configs/config.yaml": "optimizer:\n  lr: 0.1\nseed: 0\n"})
        result = run_script(os.path.join(self.root, "train.py"))
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_reader_reads_them_beside_tinyxp_runs(self):
        reader = tinyxp.Reader(self.logs)
        self.assertEqual(len(reader), 3)
        rows = reader.filter()
        self.assertEqual([row["info.run_id"] for row in rows], [1, 2, 3])
        first = rows[0]
        self.assertEqual(first["info.logger.log_id"], 1)
        self.assertEqual((first["info.start_time"], first["info.end_time"]), ("2026-12-07T23:30:05", "2026-12-07T23:31:10"))
        self.assertEqual(first["info.start_date"], "07/12/2026")
        self.assertEqual(first["config.tags"], ["a", "b"])
        self.assertEqual((first["train.loss"], first["train.epoch"]), ([1.0, 0.5], [0, 1]))
        self.assertEqual(first.get("artifacts.Checkpoint/checkpoint.pkl").path,
                         os.path.join(self.logs, "1", "artifacts", "Checkpoint", "checkpoint.pkl"))
        self.assertEqual(rows[2]["train.loss"], [0.25])
        self.assertNotIn("mlxp.use_logger", reader.fields)
        self.assertEqual(reader.fields["train.loss"], "list[float]")

    def test_queries_cover_old_and_new_runs(self):
        reader = tinyxp.Reader(self.logs)
        ids = lambda query: [row["info.run_id"] for row in reader.filter(query)]
        self.assertEqual(ids("config.optimizer.lr <= 0.01"), [1, 2])
        self.assertEqual(ids("info.status == 'COMPLETE'"), [1, 3])
        self.assertEqual(ids("info.status == 'PENDING'"), [2])  # MLXP's STARTING
        self.assertEqual(ids("info.logger.log_id == 2"), [2])
        self.assertEqual(ids("info.start_time > '2026-12-07'"), [1, 2, 3])

    def test_tinyxp_runs_lists_and_shows_them(self):
        out = io.StringIO()
        with redirect_stdout(out):
            status = cli.main(["runs", self.logs, "-c", "id,status,config.optimizer.lr"])
        self.assertEqual(status, 0)
        self.assertEqual(out.getvalue().splitlines(), [
            "id  status    config.optimizer.lr",
            " 1  COMPLETE                0.001",
            " 2  PENDING                  0.01",
            " 3  COMPLETE                  0.1",
        ])

    def test_tinyxp_show_summarises_its_metrics(self):
        out = io.StringIO()
        with redirect_stdout(out):
            status = cli.main(["show", os.path.join(self.logs, "1")])
        self.assertEqual(status, 0)
        text = out.getvalue()
        self.assertIn("  train.loss       2   0.5  0.5    1", text)
        self.assertIn("  Checkpoint/checkpoint.pkl", text)

    def test_the_files_are_what_pyyaml_writes(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML is not installed: the literal files above stand for its output")
        run = os.path.join(self.logs, "1")
        info = json.loads(json.dumps(INFO).replace("{run}", run))
        info["logger"]["log_id"] = 1
        with open(os.path.join(run, "metadata", "info.yaml")) as file:
            self.assertEqual(file.read(), yaml.dump(info))
        with open(os.path.join(run, "metadata", "config.yaml")) as file:
            self.assertEqual(file.read(), yaml.dump(CONFIG))


if __name__ == "__main__":
    unittest.main()
