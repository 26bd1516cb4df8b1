"""Tests of rank-aware launches: the processes of one torchrun, srun -n N or mpirun job share one run."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import unittest

from tinyxp._contract import LOCAL_RANK_ENVS, RANK_ENVS, RANK_JOB_ENVS
from tinyxp._files import read_yaml, write_yaml
from tinyxp.errors import ConfigError, LoggerError
from tinyxp.run import ranks
from tinyxp.run.logger import Logger

from .support import finish, read_jsonl, run_process, script_env, start_process, temp_dir, wait_until, write_project

BODY = """\
import os, time
ctx.logger.log_metrics({"rank": ctx.info.rank}, log_name="grads", all_ranks=True)
ctx.logger.log_checkpoint({"rank": ctx.info.rank})
ctx.logger.tag("ranked")
print("rank", ctx.info.rank, "run", ctx.info.run_id, flush=True)
"""

RANK_NAMES = [name for names in (*RANK_ENVS.values(), *RANK_JOB_ENVS.values()) for name in names]


def clean_env(extra: dict) -> dict:
    """The scripts' environment without any rank variable of the machine running the tests, plus extra."""
    env = script_env()
    for name in (*RANK_NAMES, *LOCAL_RANK_ENVS.values()):
        env.pop(name, None)
    env.update(extra)
    return env


def torchrun_env(rank: int, world_size: int = 4) -> dict:
    return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
            "TORCHELASTIC_RUN_ID": "test-job", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


class RankedLaunchTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        self.script = write_project(self.root, body=BODY)

    def start(self, env: dict, *args: str) -> subprocess.Popen:
        return start_process(self, [sys.executable, self.script, *args], cwd=self.root, env=clean_env(env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)

    def finish_all(self, processes: list) -> list:
        outputs = []
        for process in processes:
            stdout, stderr = finish(process)
            self.assertEqual(process.returncode, 0, stderr)
            outputs.append(stdout)
        return outputs

    def test_four_ranks_make_one_run_with_one_status(self):
        outputs = self.finish_all([self.start(torchrun_env(rank)) for rank in range(4)])
        self.assertEqual(sorted(outputs), [f"rank {r} run 1\n" for r in range(4)])
        self.assertEqual(sorted(n for n in os.listdir(self.logs) if not n.startswith(".")), ["1"])
        info = read_yaml(os.path.join(self.logs, "1", "metadata", "info.yaml"))
        self.assertEqual(info["status"], "COMPLETE")
        self.assertEqual(info["ranks"], {"world_size": 4, "launcher": "torchrun"})
        metrics = os.path.join(self.logs, "1", "metrics")
        self.assertEqual(sorted(os.listdir(metrics)),
                         ["grads.jsonl", "grads.rank1.jsonl", "grads.rank2.jsonl", "grads.rank3.jsonl", "train.jsonl"])
        self.assertEqual(len(read_jsonl(os.path.join(metrics, "train.jsonl"))), 3)  # rank 0's alone
        self.assertEqual(read_jsonl(os.path.join(metrics, "grads.rank2.jsonl")), [{"rank": 2}])
        checkpoint = os.path.join(self.logs, "1", "artifacts", "pickle")
        self.assertEqual(os.listdir(checkpoint), ["last.pkl"])
        import pickle

        with open(os.path.join(checkpoint, "last.pkl"), "rb") as file:
            self.assertEqual(pickle.load(file), {"rank": 0})

    def test_rank_0_may_start_last_and_a_sweep_has_a_run_per_setting(self):
        env = {"SLURM_PROCID": "1", "SLURM_STEP_NUM_TASKS": "2", "SLURM_JOB_ID": "77", "SLURM_STEP_ID": "0",
               "SLURM_LOCALID": "1"}
        other = self.start(env, "+sweep", "lr=0.1,0.2")
        time.sleep(0.3)  # rank 1 waits for rank 0's run
        first = self.start(dict(env, SLURM_PROCID="0", SLURM_LOCALID="0"), "+sweep", "lr=0.1,0.2")
        outputs = self.finish_all([first, other])
        self.assertEqual(outputs, ["rank 0 run 1\nrank 0 run 2\n", "rank 1 run 1\nrank 1 run 2\n"])
        for run_id in ("1", "2"):
            info = read_yaml(os.path.join(self.logs, run_id, "metadata", "info.yaml"))
            self.assertEqual((info["status"], info["ranks"]["launcher"]), ("COMPLETE", "slurm"))

    def test_inconsistent_rank_environment_exits_2_and_creates_nothing(self):
        cases = [
            ({"RANK": "1"}, "Inconsistent rank environment: RANK='1' is set but WORLD_SIZE is not "
                            "(set both, as torchrun does, or neither)"),
            ({"OMPI_COMM_WORLD_SIZE": "2"}, "Inconsistent rank environment: OMPI_COMM_WORLD_SIZE='2' is set but "
                                            "OMPI_COMM_WORLD_RANK is not (set both, as mpi does, or neither)"),
            ({"RANK": "4", "WORLD_SIZE": "4"}, "Inconsistent rank environment: RANK='4' with WORLD_SIZE='4' "
                                               "(expected 0 <= rank < world size)"),
            ({"RANK": "one", "WORLD_SIZE": "4"}, "Inconsistent rank environment: RANK='one' is not a number"),
        ]
        for env, message in cases:
            with self.subTest(env=env):
                result = run_process([sys.executable, self.script], cwd=self.root, env=clean_env(env),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
                self.assertEqual((result.returncode, result.stderr), (2, f"error: {message}\n"))
                self.assertFalse(os.path.exists(self.logs))


class RankDetectionTest(unittest.TestCase):
    def test_launchers(self):
        rank = ranks.rank_from_environment(torchrun_env(2))
        self.assertEqual((rank.rank, rank.world_size, rank.local_rank, rank.launcher, rank.key),
                         (2, 4, 2, "torchrun", "torchrun-test-job-127.0.0.1-29500"))
        mpi = ranks.rank_from_environment({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
                                           "OMPI_MCA_orte_hnp_uri": "123.0;tcp://10.0.0.1:4000"})
        self.assertEqual((mpi.rank, mpi.local_rank, mpi.key), (1, 0, "mpi-123.0_tcp_10.0.0.1_4000"))
        self.assertEqual(mpi.for_setting(3).key, "mpi-123.0_tcp_10.0.0.1_4000-3")
        # a batch script has SLURM_PROCID without a step's task count; one process is no multi-process job
        self.assertIsNone(ranks.rank_from_environment({"SLURM_PROCID": "0", "SLURM_JOB_ID": "5"}))
        self.assertIsNone(ranks.rank_from_environment({"RANK": "0", "WORLD_SIZE": "1"}))
        self.assertIsNone(ranks.rank_from_environment({}))
        with self.assertRaises(ConfigError):
            ranks.rank_from_environment({"RANK": "0", "WORLD_SIZE": "0"})


class RendezvousTest(unittest.TestCase):
    def setUp(self):
        self.logs = temp_dir(self)
        self.rank = ranks.Rank(1, 2, 1, "torchrun", "job")

    def write_run(self, run_id: int, status: str) -> None:
        os.makedirs(os.path.join(self.logs, str(run_id), "metadata"), exist_ok=True)
        write_yaml(os.path.join(self.logs, str(run_id), "metadata", "info.yaml"), {"status": status})

    def test_a_previous_jobs_file_is_not_taken(self):
        self.write_run(3, "COMPLETE")
        ranks.publish_run(self.logs, self.rank, 3)
        path = ranks.rendezvous_path(self.logs, self.rank)
        now = time.time()
        self.assertEqual(ranks.find_run(self.logs, self.rank, started=now, timeout=0), 3)  # written just now
        os.utime(path, (now - 60, now - 60))  # a while ago: taken only while its run is RUNNING
        with self.assertRaises(LoggerError) as caught:
            ranks.find_run(self.logs, self.rank, started=now, timeout=0.1)
        self.assertEqual(str(caught.exception), f"Cannot find the run of rank 0: no run in {path!r} after 0.1 s "
                                                "(rank 1 of 2; does rank 0 use the same xp.log_dir?)")
        self.write_run(3, "RUNNING")
        self.assertEqual(ranks.find_run(self.logs, self.rank, started=now, timeout=0), 3)
        os.utime(path, (now - 600, now - 600))  # a previous job's
        with self.assertRaises(LoggerError):
            ranks.find_run(self.logs, self.rank, started=now, timeout=0)

    def test_unreadable_files_are_waited_past(self):
        path = ranks.rendezvous_path(self.logs, self.rank)
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as file:
            file.write("not a run\n")
        self.assertIsNone(ranks._published_run(self.logs, path, time.time() + 60))
        with open(path, "w") as file:
            file.write("9\n")
        self.assertIsNone(ranks._published_run(self.logs, path, time.time() + 60))  # old, and no run 9

    def test_other_ranks_logger_writes_only_what_is_asked(self):
        logger = Logger(self.logs, rank=2)
        logger.log_metrics({"a": 1})
        self.assertEqual(logger.tag("x"), ["x"])
        path = logger.log_artifact([1], "preds")
        self.assertFalse(os.path.exists(path))
        logger.log_metrics({"a": 1}, log_name="train", all_ranks=True)
        logger.close()
        self.assertEqual(os.listdir(os.path.join(self.logs, "metrics")), ["train.rank2.jsonl"])
        self.assertFalse(os.path.exists(os.path.join(self.logs, "metadata")))


if __name__ == "__main__":
    unittest.main()
