"""Writing and submitting 1,000 jobs with the fake sbatch of tests/fakebin: separate jobs vs one array.

    python tests/bench/bench_submit.py [N]

Baseline, measured in the same run: starting the fake sbatch N times with nothing
else (the cost a submission loop cannot avoid). Figures are printed as time per job
and as ratios against that baseline.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.support import run_process  # noqa: E402  (every process bounded, timed ones without polling)

from tinyxp.config.overrides import parse_override  # noqa: E402
from tinyxp.jobs.submit import Submission as Sweep, submit_sweep  # noqa: E402

FAKEBIN = os.path.join(ROOT, "tests", "fakebin")


def sweep(log_dir: str, n: int, *, array: bool) -> Sweep:
    return Sweep(
        scheduler="slurm", log_dir=log_dir, name="train", command=["python3", "train.py"],
        settings=[[parse_override(t) for t in (f"optimizer.lr={1e-4 * (i + 1):g}", f"seed={i % 5}", "msg='a b'")]
                  for i in range(n)],
        work_dir=ROOT, directives=["--time=01:00:00", "--gres=gpu:1"], setup=["module load python"],
        array=array, max_parallel=50 if array else None,
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    folder = tempfile.mkdtemp(prefix="tinyxp-bench-submit-")
    os.environ["PATH"] = FAKEBIN + os.pathsep + os.environ["PATH"]
    try:
        os.environ["TINYXP_FAKE_LOG"] = os.path.join(folder, "baseline.log")
        script = os.path.join(folder, "empty.sh")
        with open(script, "w") as file:
            file.write("#!/bin/bash\n")
        start = time.perf_counter()
        for _ in range(n):
            run_process(["sbatch", "--parsable", script], stdout=subprocess.PIPE, check=True, timeout=60)
        baseline = time.perf_counter() - start

        os.environ["TINYXP_FAKE_LOG"] = os.path.join(folder, "jobs.log")
        start = time.perf_counter()
        submitted = submit_sweep(sweep(os.path.join(folder, "jobs"), n, array=False))
        separate = time.perf_counter() - start
        assert len(submitted) == n

        os.environ["TINYXP_FAKE_LOG"] = os.path.join(folder, "array.log")
        start = time.perf_counter()
        submitted = submit_sweep(sweep(os.path.join(folder, "array"), n, array=True))
        array = time.perf_counter() - start
        assert len(submitted) == n
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"{n} jobs, fake sbatch (tests/fakebin)")
    print(f"baseline: fake sbatch alone       {baseline / n * 1e3:7.2f} ms per call")
    print(f"separate jobs: write + submit     {separate / n * 1e3:7.2f} ms per job   "
          f"{separate / baseline:5.2f} x baseline")
    print(f"one array (--array): all of it    {array / n * 1e3:7.2f} ms per job   "
          f"{array / baseline:5.2f} x baseline   {separate / array:5.1f} x faster than separate jobs")


if __name__ == "__main__":
    main()
