"""Submission cost per job on the real one-node schedulers the tests start (SLURM, OAR, SGE),
as a ratio to the bare submit command.

    python tests/bench/bench_real_submit.py [N]      # as root; N jobs each way (default 20)

For each scheduler whose test cluster starts (tests/slurm.py, oar.py, sge.py): N calls of
the bare submit command on an empty held job script, then `submit_sweep` of N settings
as separate held jobs (each: a run directory, info.yaml, the job script, the submit
command, the job id recorded). Every job is held, so nothing runs, and deleted at the
end. OAR refuses root's jobs: its part runs as the tests' OAR user with the system python.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.support import run_process  # noqa: E402  (every process bounded)

from tinyxp.config.overrides import parse_override  # noqa: E402
from tinyxp.jobs.submit import Submission, submit_sweep  # noqa: E402

HOLD = {"slurm": ("#SBATCH", ["--hold", "--time=00:05:00"]), "oar": ("#OAR", ["--hold", "-l core=1,walltime=0:05:00"]),
        "sge": ("#$", ["-h"])}
SUBMIT = {"slurm": ["sbatch", "--parsable"], "oar": ["oarsub", "-S"], "sge": ["qsub", "-terse"]}
DELETE = {"slurm": ["scancel"], "oar": ["oardel"], "sge": ["qdel"]}


def measure(scheduler: str, n: int, folder: str) -> dict:
    """Seconds for n bare submissions and for a sweep of n jobs, and every job id (to delete)."""
    prefix, options = HOLD[scheduler]
    script = os.path.join(folder, "empty.sh")
    with open(script, "w") as file:
        file.write("#!/bin/bash\n" + "".join(f"{prefix} {option}\n" for option in options) + "true\n")
    os.chmod(script, 0o755)
    env = {**os.environ, "PWD": folder}
    ids = []
    start = time.perf_counter()
    for _ in range(n):
        done = run_process([*SUBMIT[scheduler], script], cwd=folder, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        assert done.returncode == 0, done.stdout
        ids += re.findall(r"(\d+)", done.stdout.split("OAR_JOB_ID=")[-1])[:1]
    bare = time.perf_counter() - start
    sweep = Submission(
        scheduler=scheduler, log_dir=os.path.join(folder, "logs"), name="bench", command=[sys.executable, "train.py"],
        settings=[[parse_override(f"lr={1e-4 * (i + 1):g}"), parse_override("msg='a b'")] for i in range(n)],
        work_dir=folder, directives=options,
    )
    start = time.perf_counter()
    submitted = submit_sweep(sweep)
    tinyxp = time.perf_counter() - start
    assert len(submitted) == n
    return {"bare": bare, "tinyxp": tinyxp, "ids": ids + [str(s.job_id) for s in submitted]}


def measure_as_oar_user(n: int) -> dict:
    from tests import oar

    folder = tempfile.mkdtemp(prefix="tinyxp-bench-oar-")
    shutil.chown(folder, oar.USER)
    try:
        done = run_process(oar.as_user(["env", f"PYTHONPATH={ROOT}", f"PWD={folder}", "/usr/bin/python3", __file__,
                                        "--inner-oar", str(n), folder]),
                           cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    if sys.argv[1:2] == ["--inner-oar"]:
        print(json.dumps(measure("oar", int(sys.argv[2]), sys.argv[3])))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    from tests import oar, sge, slurm

    print(f"{n} held jobs each way; ratio = tinyxp's cost per job / the bare submit command's")
    for scheduler, module in (("slurm", slurm), ("oar", oar), ("sge", sge)):
        reason = module.ensure_cluster()
        if reason is not None:
            print(f"{scheduler:6} skipped: {reason}")
            continue
        if scheduler == "oar":
            result = measure_as_oar_user(n)
        else:
            folder = tempfile.mkdtemp(prefix=f"tinyxp-bench-{scheduler}-")
            try:
                result = measure(scheduler, n, folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        run_process([*DELETE[scheduler], *result["ids"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        bare, tinyxp = result["bare"] / n * 1e3, result["tinyxp"] / n * 1e3
        print(f"{scheduler:6} bare {SUBMIT[scheduler][0]:7} {bare:7.1f} ms per job   tinyxp {tinyxp:7.1f} ms per job   "
              f"{tinyxp / bare:5.2f} x")


if __name__ == "__main__":
    main()
