"""What a run writes stays whole and stays inside its run directory: concurrent metric
writers, symlinks planted in a run directory, temporary files left by a kill, long names."""
from __future__ import annotations

import json
import os
import sys
import unittest

from .support import finish, start_process, script_env, temp_dir

# Opens a Logger, logs one line, closes it: n times (every open runs the torn-line repair).
REOPENING_WRITER = """\
import sys

from tinyxp.run.logger import Logger

run_dir, me, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
padding = "x" * max(0, size - 40)
for i in range(n):
    with Logger(run_dir) as logger:
        logger.log_metrics({"w": me, "i": i, "p": padding})
"""

WRITERS = 4


def metric_keys(path: str) -> set:
    """(writer, index) of every whole line of a metrics file; torn and empty lines are skipped."""
    found = set()
    with open(path, "rb") as file:
        for line in file.read().split(b"\n"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            found.add((record["w"], record["i"]))
    return found


class ConcurrentWritersTest(unittest.TestCase):
    """Before 0.x the torn-line repair truncated lines another process had just appended."""

    def lost_lines(self, size: int, per_writer: int) -> int:
        run_dir = os.path.join(temp_dir(self), "run")
        processes = [
            start_process(self, [sys.executable, "-c", REOPENING_WRITER, run_dir, str(w), str(per_writer), str(size)],
                          env=script_env())
            for w in range(WRITERS)
        ]
        for process in processes:
            finish(process)
            self.assertEqual(process.returncode, 0)
        found = metric_keys(os.path.join(run_dir, "metrics", "train.jsonl"))
        return WRITERS * per_writer - len(found)

    def test_no_line_lost_with_small_lines(self):
        self.assertEqual(self.lost_lines(90, 1500), 0)

    def test_no_line_lost_with_256_kib_lines(self):
        self.assertEqual(self.lost_lines(256 * 1024, 60), 0)


if __name__ == "__main__":
    unittest.main()
