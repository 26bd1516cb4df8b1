"""Resuming a run (xp.run_id): its stored config, its launch history, live runs and concurrent resumes."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import unittest

from tinyxp._files import read_yaml, write_yaml
from tinyxp.config.overrides import parse_override
from tinyxp.config.resume import changed_keys, compose_resumed, config_hash
from tinyxp.errors import ConfigError
from tinyxp.run.existing import decide, find_runs
from tinyxp.run.resume import is_alive, launch_lock

from .support import (
    REPO_ROOT, finish, run_process, run_script, script_env, start_script, temp_dir, wait_for_line, wait_until, write_project,
)

CONFIG = "seed: 0\nlr: 0.1\nepochs: 10\n"

# waits for the file `go` beside the script before it ends
WAITING = """\
import os, time
go = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go")
print("started", os.getpid(), flush=True)
for _ in range(6000):
    if os.path.exists(go):
        break
    time.sleep(0.01)
"""


def info_of(run_dir: str) -> dict:
    return read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))


def config_of(run_dir: str) -> dict:
    return read_yaml(os.path.join(run_dir, "metadata", "config.yaml"))


def snapshot_files(folder: str) -> dict:
    """{relative path: bytes} of every file under folder."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, folder)] = file.read()
    return found


class ResumeTestCase(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.logs = os.path.join(self.root, "logs")
        self.run_dir = os.path.join(self.logs, "1")

    def project(self, **options) -> str:
        options.setdefault("config", CONFIG)
        return write_project(self.root, **options)

    def launch(self, script: str, *args: str, code: int = 0, env=None):
        result = run_script(script, list(args), env=env)
        self.assertEqual(result.returncode, code, result.stderr)
        return result


class RecordTest(ResumeTestCase):
    def test_resume_starts_from_the_stored_config_and_keeps_the_first_launch(self):
        script = self.project()
        self.launch(script, "lr=0.01", "seed=1")
        first = info_of(self.run_dir)
        result = self.launch(script, "xp.run_id=1", "epochs=15", "xp.allow_changes=true")
        self.assertEqual(result.stderr, "tinyxp: resuming run 1 with a changed config: epochs: 10 -> 15\n")
        self.assertEqual(config_of(self.run_dir), {"seed": 1, "lr": 0.01, "epochs": 15})
        info = info_of(self.run_dir)
        for key in ("start_time", "argv", "overrides", "command", "hostname", "pid"):
            self.assertEqual(info[key], first[key], key)
        self.assertEqual((info["status"], info["restarts"]), ("COMPLETE", 1))
        launches = info["launches"]
        self.assertEqual([e["status"] for e in launches], ["COMPLETE", "COMPLETE"])
        self.assertEqual((launches[0]["time"], launches[0]["end_time"]), (first["start_time"], first["end_time"]))
        self.assertEqual(launches[0]["duration_s"], first["duration_s"])
        self.assertEqual(launches[1]["changed"], {"epochs": {"old": 10, "new": 15}})
        self.assertEqual(launches[1]["overrides"], ["xp.run_id=1", "epochs=15", "xp.allow_changes=true"])
        self.assertEqual(launches[1]["host"], socket.gethostname())
        self.assertEqual(info["last_launch_time"], launches[1]["time"])
        self.assertEqual(info["end_time"], launches[1]["end_time"])
        self.assertAlmostEqual(info["duration_s"], launches[0]["duration_s"] + launches[1]["duration_s"], places=5)
        self.assertNotIn("changed", launches[0])

    def test_resume_without_overrides_changes_nothing_and_needs_no_token(self):
        script = self.project()
        self.launch(script, "lr=0.01", "+extra=1")
        config = config_of(self.run_dir)
        result = self.launch(script, "xp.run_id=1")
        self.assertEqual(result.stderr, "")
        result = self.launch(script, "xp.run_id=1", "lr=0.01", "+extra=1", "~gone")  # a requeued job's command
        self.assertEqual(result.stderr, "")
        self.assertEqual(config_of(self.run_dir), config)
        info = info_of(self.run_dir)
        self.assertEqual((info["restarts"], len(info["launches"])), (2, 3))
        self.assertEqual([e.get("changed") for e in info["launches"]], [None, None, None])

    def test_a_group_option_is_not_loaded_again_unless_another_is_chosen(self):
        script = self.project(config="defaults:\n  - model: a\nseed: 0\n",
                              files={"configs/model/a.yaml": "depth: 1\n", "configs/model/b.yaml": "depth: 2\n"})
        self.launch(script, "model=b")
        with open(os.path.join(self.root, "configs", "model", "b.yaml"), "w") as file:
            file.write("depth: 3\n")
        self.launch(script, "xp.run_id=1", "model=b")
        self.assertEqual(config_of(self.run_dir)["model"], {"depth": 2})
        result = self.launch(script, "xp.run_id=1", "model=a", code=2)
        self.assertEqual(result.stderr, "error: Cannot resume run 1 with a changed config (model.depth: 2 -> 1): "
                                        "add xp.allow_changes=true to record the change in its launch history\n")
        self.launch(script, "xp.run_id=1", "model=a", "xp.allow_changes=true")
        self.assertEqual(config_of(self.run_dir)["model"], {"depth": 1})

    def test_a_changed_key_without_the_token_is_refused_and_changes_nothing(self):
        script = self.project()
        self.launch(script)
        before = snapshot_files(self.logs)
        result = self.launch(script, "xp.run_id=1", "lr=0.5", "+extra=1", code=2)
        self.assertEqual(result.stderr, "error: Cannot resume run 1 with a changed config (lr: 0.1 -> 0.5, extra: (absent) -> 1): "
                                        "add xp.allow_changes=true to record the change in its launch history\n")
        self.assertEqual(snapshot_files(self.logs), before)

    def test_a_stored_config_that_no_longer_composes_names_the_run_and_the_key(self):
        script = self.project()
        self.launch(script)
        before = snapshot_files(self.logs)
        result = self.launch(script, "xp.run_id=1", "lrr=0.5", code=2)
        self.assertEqual(result.stderr, "error: Cannot resume run 1: its stored config no longer takes 'lrr=0.5': "
                                        "Unknown key 'lrr'; did you mean 'lr'? (+lrr=VALUE adds a new key)\n")
        result = self.launch(script, "xp.run_id=1", "lr.x=1", code=2)
        self.assertEqual(result.stderr, "error: Cannot resume run 1: its stored config no longer takes 'lr.x=1': "
                                        "Cannot set 'lr.x': 'lr' is a number, not a mapping\n")
        self.assertEqual(snapshot_files(self.logs), before)
        config_path = os.path.join(self.run_dir, "metadata", "config.yaml")
        with open(config_path, "w") as file:
            file.write("lr: [1\n")
        result = self.launch(script, "xp.run_id=1", code=2)
        self.assertTrue(result.stderr.startswith(f"error: Cannot resume run 1: cannot read {config_path!r}: {config_path}:1:"),
                        result.stderr)

    def test_a_removed_group_option_names_the_run(self):
        script = self.project(config="defaults:\n  - model: a\nseed: 0\n", files={"configs/model/a.yaml": "depth: 1\n"})
        self.launch(script)
        result = self.launch(script, "xp.run_id=1", "model=zz", "xp.allow_changes=true", code=2)
        self.assertTrue(result.stderr.startswith("error: Cannot resume run 1: its stored config no longer takes 'model=zz': "
                                                 "Unknown option 'zz' for the config group 'model'"), result.stderr)

    def test_a_killed_launch_reads_lost_in_the_history(self):
        script = self.project(body=WAITING)
        process = start_script(script, [], test=self)
        wait_for_line(process, "started")
        process.send_signal(signal.SIGKILL)
        finish(process)
        self.assertEqual(info_of(self.run_dir)["status"], "RUNNING")
        with open(os.path.join(self.root, "go"), "w"):
            pass
        self.launch(script, "xp.run_id=1")
        info = info_of(self.run_dir)
        self.assertEqual([e["status"] for e in info["launches"]], ["LOST", "COMPLETE"])
        self.assertIn("end_time", info["launches"][0])
        self.assertEqual(info["duration_s"], info["launches"][1]["duration_s"])

    def test_the_history_shows_in_tinyxp_show_and_the_reader(self):
        script = self.project()
        self.launch(script)
        self.launch(script, "xp.run_id=1", "epochs=2", "xp.allow_changes=true")
        shown = run_process([sys.executable, "-m", "tinyxp", "show", self.run_dir], env=script_env(), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("  launches:\n", shown.stdout)
        self.assertIn("      changed:\n        epochs:\n          old: 10\n          new: 2\n", shown.stdout)
        import tinyxp

        row = tinyxp.Reader(self.logs).filter("info.restarts == 1")[0]
        info = info_of(self.run_dir)
        self.assertEqual((row["info.duration_s"], row["info.last_launch_time"]), (info["duration_s"], info["last_launch_time"]))


class LiveRunTest(ResumeTestCase):
    def start_waiting(self, *args: str, env=None):
        script = self.project(body=WAITING)
        process = start_script(script, list(args), env=env, test=self)
        pid = int(wait_for_line(process, "started").split()[1])
        return script, process, pid

    def release(self, *processes):
        with open(os.path.join(self.root, "go"), "w"):
            pass
        return [finish(p) for p in processes]

    def test_a_live_run_is_refused_unless_forced(self):
        script, process, pid = self.start_waiting()
        before = info_of(self.run_dir)
        result = self.launch(script, "xp.run_id=1", code=2)
        self.assertEqual(result.stderr, f"error: Cannot resume run 1: it is running (pid {pid} on {socket.gethostname()}); "
                                        "wait for it to end, or add xp.force=true if that process is gone\n")
        self.assertEqual(info_of(self.run_dir), before)
        self.release(process)
        self.assertEqual(process.returncode, 0)

    def test_xp_force_resumes_a_run_that_looks_alive(self):
        script, process, _ = self.start_waiting()
        with open(os.path.join(self.root, "go"), "w"):
            pass
        self.launch(script, "xp.run_id=1", "xp.force=true")
        finish(process)
        self.assertEqual(info_of(self.run_dir)["restarts"], 1)

    def test_a_requeued_job_resumes_its_own_earlier_launch(self):
        env = script_env({"SLURM_JOB_ID": "77"})
        script, process, _ = self.start_waiting(env=env)
        requeued = start_script(script, ["xp.run_id=1"], env=env, test=self)  # the same job: its earlier life is over
        wait_for_line(requeued, "started")
        process.send_signal(signal.SIGKILL)  # as SLURM does before it requeues
        self.release(process, requeued)
        self.assertEqual(requeued.returncode, 0)
        info = info_of(self.run_dir)
        self.assertEqual([(e["job_id"], e["status"]) for e in info["launches"]], [("77", "LOST"), ("77", "COMPLETE")])

    def test_eight_simultaneous_resumes_give_one_winner(self):
        script = self.project(body=WAITING)
        with open(os.path.join(self.root, "go"), "w"):
            pass
        self.launch(script)
        os.remove(os.path.join(self.root, "go"))
        processes = [start_script(script, ["xp.run_id=1"], test=self) for _ in range(8)]
        wait_until(lambda: sum(p.poll() is not None for p in processes) >= 7, "seven resumes refused", timeout=120)
        outputs = self.release(*processes)
        codes = sorted(p.returncode for p in processes)
        self.assertEqual(codes, [0] + [2] * 7, outputs)
        for process, (_, stderr) in zip(processes, outputs):
            if process.returncode == 2:
                self.assertRegex(stderr, r"^error: Cannot resume run 1: it is running \(pid \d+ on ")
        info = info_of(self.run_dir)
        self.assertEqual((info["status"], info["restarts"], len(info["launches"])), ("COMPLETE", 1, 2))
        self.assertEqual([e["status"] for e in info["launches"]], ["COMPLETE", "COMPLETE"])


class UnitTest(unittest.TestCase):
    """The pieces in-process: composing from a stored config, changed keys, the hash, the alive check."""

    def setUp(self):
        self.root = temp_dir(self)
        write_project(self.root, config=CONFIG)
        self.configs = os.path.join(self.root, "configs")

    def test_interpolations_in_new_overrides_resolve_against_the_stored_config(self):
        setting = [parse_override("lr=${seed}")]
        config = compose_resumed(3, {"seed": 4, "lr": 0.1}, self.configs, setting)
        self.assertEqual(config.to_dict(), {"seed": 4, "lr": 4})
        with self.assertRaises(ConfigError) as caught:
            compose_resumed(3, {"seed": 4, "lr": 0.1}, self.configs, [parse_override("lr=${nope}")])
        self.assertTrue(str(caught.exception).startswith("Cannot resume run 3: "), str(caught.exception))

    def test_without_a_config_folder_overrides_still_apply(self):
        gone = os.path.join(self.root, "gone")
        config = compose_resumed(3, {"model": {"depth": 1}}, gone, [parse_override("model.depth=2")])
        self.assertEqual(config.to_dict(), {"model": {"depth": 2}})
        with self.assertRaises(ConfigError) as caught:  # no group folder any more: a value, checked as any override
            compose_resumed(3, {"model": {"depth": 1}}, gone, [parse_override("model=b")])
        self.assertEqual(str(caught.exception), "Cannot resume run 3: its stored config no longer takes 'model=b': "
                         "Cannot replace the dict at 'model' with the string 'b' (to force it: ++model=b)")

    def test_changed_keys_and_the_hash(self):
        before = {"a": 1, "b": {"c": 2, "d": [1]}}
        after = {"b": {"d": [2], "c": 2}, "a": 1, "e": None}
        self.assertEqual(changed_keys(before, after), {"b.d": {"old": [1], "new": [2]}, "e": {"new": None}})
        self.assertEqual(config_hash(before), config_hash({"b": {"d": [1], "c": 2}, "a": 1}))
        self.assertNotEqual(config_hash(before), config_hash(after))
        self.assertRegex(config_hash(before), r"^[0-9a-f]{16}$")
        self.assertEqual(config_hash({"seed": 0}), "32b0e4f40c670236")  # stable across processes and versions
        self.assertEqual(changed_keys({"a": {"x": 1}}, {"a": 2}), {"a": {"old": {"x": 1}, "new": 2}})

    def test_a_run_on_another_host_is_alive_while_its_heartbeat_is_fresh(self):
        run_dir = os.path.join(self.root, "logs", "1")
        os.makedirs(os.path.join(run_dir, "metadata"))
        info = {"status": "RUNNING", "hostname": "elsewhere", "pid": 1, "scheduler": None}
        self.assertFalse(is_alive(run_dir, info, None))  # no sign of life at all
        write_yaml(os.path.join(run_dir, "metadata", "info.yaml"), info)
        self.assertTrue(is_alive(run_dir, info, None))
        write_yaml(os.path.join(run_dir, "metadata", "xp.yaml"), {"heartbeat_interval": 1})
        old = time.time() - 60
        os.utime(os.path.join(run_dir, "metadata", "info.yaml"), (old, old))
        self.assertFalse(is_alive(run_dir, info, None))
        write_yaml(os.path.join(run_dir, "metadata", "xp.yaml"), {"heartbeat_interval": 100})
        self.assertTrue(is_alive(run_dir, info, None))

    def test_a_process_of_another_user_counts_as_alive(self):
        run_dir = os.path.join(self.root, "logs", "1")
        info = {"status": "RUNNING", "hostname": socket.gethostname(), "pid": 1}
        self.assertEqual(is_alive(run_dir, info, None), os.getpid() != 1)  # pid 1 (init) exists, owned by root

    def test_the_lock_holds_nothing_where_it_cannot_be_taken(self):
        with launch_lock(os.path.join(self.root, "no such run")) as lock:
            self.assertIsNone(lock.fd)

    def test_find_runs_passes_over_what_it_cannot_read(self):
        logs = os.path.join(self.root, "logs")
        self.assertEqual(find_runs(logs, "train.py", {"abc": {"seed": 0}}), {})
        for run_id, info in ((1, {"status": "FAILED", "script": "/x/train.py", "config_hash": "abc"}),
                             (2, {"status": "COMPLETE", "script": "/x/train.py", "config_hash": "abc"}),
                             (3, {"status": "FAILED", "script": "/x/train.py", "config_hash": "abc"}),
                             (4, {"status": "COMPLETE", "script": "/x/other.py", "config_hash": "abc"})):
            os.makedirs(os.path.join(logs, str(run_id), "metadata"))
            write_yaml(os.path.join(logs, str(run_id), "metadata", "info.yaml"), info)
        os.makedirs(os.path.join(logs, "5", "metadata"))
        with open(os.path.join(logs, "5", "metadata", "info.yaml"), "w") as file:
            file.write("config_hash: abc\n  bad: [\n")
        for run_id in range(1, 6):
            write_yaml(os.path.join(logs, str(run_id), "metadata", "config.yaml"), {"seed": 0})
        write_yaml(os.path.join(logs, "3", "metadata", "config.yaml"), {"seed": 1})  # the same hash, another config
        found = find_runs(logs, "train.py", {"abc": {"seed": 0}})
        self.assertEqual(found["abc"][0], os.path.join(logs, "2"))  # COMPLETE counts before FAILED
        os.remove(os.path.join(logs, "2", "metadata", "config.yaml"))
        self.assertEqual(find_runs(logs, "train.py", {"abc": {"seed": 0}})["abc"][0], os.path.join(logs, "1"))
        self.assertEqual(decide("complete", found["abc"]), "done")
        self.assertEqual(decide("complete", (os.path.join(logs, "1"), {"status": "INTERRUPTED"})), "resumed")
        self.assertEqual(decide("existing", (os.path.join(logs, "1"), {"status": "FAILED"})), "done")
        self.assertEqual(decide("none", found["abc"]), "new")


if __name__ == "__main__":
    unittest.main()
