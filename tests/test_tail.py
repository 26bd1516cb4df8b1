"""`tinyxp tail`: status, heartbeat, the end of metrics and output, following, a PENDING job."""
from __future__ import annotations

import io
import os
import time
import unittest
from unittest import mock

from .bench import synth
from .support import temp_dir
from .test_cli_runs import run_cli
from .test_scheduler import fake_env
from tinyxp._files import write_yaml
from tinyxp.view import tail


def append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)


class TailTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        records = [{"step": i, "loss": 1 / (i + 1)} for i in range(20)]
        self.run_dir = synth.write_run(self.log_dir, 7, {"lr": 0.1}, metrics={"train": records}, status="RUNNING")
        append(os.path.join(self.run_dir, "stdout.log"), "".join(f"line {i}\n" for i in range(30)))
        append(os.path.join(self.run_dir, "stderr.log"), "")

    def set_info(self, **values: object) -> None:
        info = tail.read_info(self.run_dir)
        info.update(values)
        write_yaml(os.path.join(self.run_dir, "metadata", "info.yaml"), info)

    def test_status_heartbeat_and_the_end_of_each_file(self) -> None:
        status, out, err = run_cli("tail", "7", "-d", self.log_dir, "-n", "2")
        self.assertEqual((status, err), (0, ""))
        lines = out.split("\n")
        self.assertRegex(lines[0], r"^run 7  RUNNING  heartbeat \d+s ago  \(.*logs/7\)$")
        self.assertEqual(lines[1:], [
            "metrics/train.jsonl:", '  {"step": 18, "loss": 0.05263157894736842}', '  {"step": 19, "loss": 0.05}',
            "stdout.log:", "  line 28", "  line 29", "stderr.log: (empty)", "",
        ])

    def test_lost_and_failed_runs(self) -> None:
        old = time.time() - 3600
        for name in ("heartbeat", "metadata/info.yaml", "metrics/train.jsonl"):  # LOST: no recent write at all
            os.utime(os.path.join(self.run_dir, name), (old, old))
        self.assertIn("run 7  LOST  heartbeat 3600s ago", run_cli("tail", "7", "-d", self.log_dir)[1])
        self.set_info(status="FAILED", error={"type": "ValueError", "message": "bad value\nmore"})
        os.remove(os.path.join(self.run_dir, "heartbeat"))
        os.remove(os.path.join(self.run_dir, "stderr.log"))
        out = run_cli("tail", "7", "-d", self.log_dir, "-n", "0")[1]
        self.assertIn("run 7  FAILED  no heartbeat", out)
        self.assertTrue(out.endswith("metrics/train.jsonl:\nstdout.log:\nerror: bad value\n"), out)

    def test_a_pending_job_and_what_squeue_says(self) -> None:
        self.set_info(status="PENDING", scheduler={"name": "slurm", "job_id": "1234"})
        fake_env(self)
        self.assertIn("scheduler: slurm job 1234: PENDING (squeue)", run_cli("tail", "7", "-d", self.log_dir)[1])
        states = os.path.join(temp_dir(self), "states")
        append(states, "999 RUNNING\n")
        with mock.patch.dict(os.environ, {"TINYXP_FAKE_SQUEUE": states}):
            self.assertIn("scheduler: slurm job 1234: unknown to squeue: the job has ended", run_cli("tail", "7", "-d", self.log_dir)[1])
        with mock.patch.dict(os.environ, {"TINYXP_FAKE_FAIL_AT": "3"}):
            self.assertIn("scheduler: slurm job 1234: squeue failed: Cannot ask SLURM", run_cli("tail", "7", "-d", self.log_dir)[1])
        with mock.patch("shutil.which", return_value=None):
            self.assertIn("scheduler: slurm job 1234: not asked", run_cli("tail", "7", "-d", self.log_dir)[1])
        self.set_info(scheduler={"name": "oar", "job_id": "55"})
        self.assertIn("scheduler: oar job 55: not asked (only squeue is asked, when on PATH)", run_cli("tail", "7", "-d", self.log_dir)[1])

    def test_follow_prints_new_lines_until_the_run_ends(self) -> None:
        polls = []

        def sleep(seconds: float) -> None:
            polls.append(seconds)
            if len(polls) == 1:
                append(os.path.join(self.run_dir, "stdout.log"), "new line\npartial")
                os.makedirs(os.path.join(self.run_dir, "metrics"), exist_ok=True)
                append(os.path.join(self.run_dir, "metrics", "test.jsonl"), '{"acc": 0.9}\n')
            else:
                append(os.path.join(self.run_dir, "stdout.log"), " done\n")
                self.set_info(status="COMPLETE")

        out = io.StringIO()
        self.assertEqual(tail.follow(self.run_dir, out, lost_after=600, interval=0.5, sleep=sleep), "COMPLETE")
        self.assertEqual(out.getvalue().split("\n"), ['[test] {"acc": 0.9}', "[stdout] new line", "[stdout] partial done", "run 7 ended: COMPLETE", ""])
        self.assertEqual(polls, [0.5, 0.5])

    def test_follow_from_the_command_line_and_ctrl_c(self) -> None:
        self.set_info(status="COMPLETE")
        self.assertTrue(run_cli("tail", "7", "-d", self.log_dir, "-f", "-n", "0")[1].endswith("run 7 ended: COMPLETE\n"))
        with mock.patch("tinyxp.view.tail.follow", side_effect=KeyboardInterrupt):
            self.assertEqual(run_cli("tail", "7", "-d", self.log_dir, "-f")[0], 130)

    def test_long_files_and_unreadable_info(self) -> None:
        append(os.path.join(self.run_dir, "stdout.log"), "x" * (tail.TAIL_BYTES + 10) + "\nlast\n")
        self.assertEqual(tail.last_lines(os.path.join(self.run_dir, "stdout.log"), 5), ["last"])
        self.assertIsNone(tail.last_lines(os.path.join(self.run_dir, "nope.log"), 5))
        self.assertEqual(tail.new_lines(os.path.join(self.run_dir, "nope.log"), {}), [])
        self.assertEqual(tail.file_size(os.path.join(self.run_dir, "nope.log")), 0)
        append(os.path.join(self.run_dir, "metadata", "info.yaml"), "\t: [\n")
        self.assertEqual(tail.read_info(self.run_dir), {})
        self.assertIn("run 7  UNKNOWN", run_cli("tail", "7", "-d", self.log_dir)[1])

    def test_bad_input(self) -> None:
        os.mkdir(os.path.join(self.log_dir, "8"))
        for run, what in (("9", "does not exist"), ("8", "is not a run directory (no metadata/info.yaml)")):
            path = os.path.join(self.log_dir, run)
            self.assertEqual(run_cli("tail", run, "-d", self.log_dir), (2, "", f"tinyxp: error: Unknown run {run}: {path!r} {what}\n"))


if __name__ == "__main__":
    unittest.main()
