"""A local parallel sweep (xp.scheduler=local) of N trivial runs, xp.max_parallel=P, against one run alone.

    python tests/bench/bench_local.py [N] [P] [REPS]

Baselines, measured in the same run: the wall time of one trivial run launched alone
(`python train.py lr=0.1`, a process of its own, as each run of the sweep is), and the
same N single runs started P at a time by a bare pool (threads and subprocess, nothing
of tinyxp's): what this machine's cores give right now. The ideal sweep takes N x one
run / P; the figures are the sweep's wall time as a ratio to that ideal (the issue asks
for at most 1.2 with N=64, P=2 on 2 cores) and to the bare pool (tinyxp's own cost; on a
machine busy with other work the bare pool is itself far from the ideal). Each figure is
the median (min-max) of REPS repetitions (default 5), alternated so that load changes
hit all three.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.support import run_process, script_env, write_project  # noqa: E402  (every process bounded)

TRIVIAL = """\
import tinyxp

@tinyxp.launch(config_path="configs")
def train(ctx):
    ctx.logger.log_metrics({"lr": ctx.config.lr})

if __name__ == "__main__":
    train()
"""


def timed(argv: list, cwd: str, env: dict) -> float:
    start = time.perf_counter()
    done = run_process(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()}")
    return elapsed


def bare_pool(argvs: list, parallel: int, cwd: str, env: dict) -> float:
    """The wall time of running argvs, parallel at a time, with nothing but a thread pool."""
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda argv: timed(argv, cwd, env), argvs))
    return time.perf_counter() - start


def shown(values: list) -> str:
    return f"{statistics.median(values):7.3f} s ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    parallel = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    folder = tempfile.mkdtemp(prefix="tinyxp-bench-local-")
    env = script_env({"PYTHONDONTWRITEBYTECODE": ""})
    env.pop("PYTHONDONTWRITEBYTECODE")  # launches as users see them: byte code cached
    try:
        script = write_project(folder, script=TRIVIAL)
        one_run = [sys.executable, script, "lr=0.1", "xp.log_dir=logs-one"]
        sweep = [sys.executable, script, "+sweep", f"lr=range({n})", "xp.scheduler=local",
                 f"xp.max_parallel={parallel}", "xp.gpus=null", "xp.log_dir=logs-sweep"]
        separate = [[sys.executable, script, f"lr={i}", "xp.log_dir=logs-bare"] for i in range(n)]
        timed(one_run, folder, env)  # warm the caches
        singles, sweeps, bares = [], [], []
        for _ in range(reps):
            singles += [timed(one_run, folder, env) for _ in range(3)]
            sweeps.append(timed(sweep, folder, env))
            bares.append(bare_pool(separate, parallel, folder, env))
            for logs in ("logs-sweep", "logs-bare"):
                shutil.rmtree(os.path.join(folder, logs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    one = statistics.median(singles)
    ideal = n * one / parallel
    ratios = [s / ideal for s in sweeps]
    to_bare = [s / b for s, b in zip(sweeps, bares)]
    print(f"{n} trivial runs, xp.max_parallel={parallel}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"one run alone (baseline)          {shown(singles)}")
    print(f"{n} single runs, bare pool of {parallel}     {shown(bares)}")
    print(f"sweep, xp.scheduler=local         {shown(sweeps)}")
    print(f"ideal: {n} x one run / {parallel}          {ideal:7.3f} s")
    print(f"ratio to the ideal                {statistics.median(ratios):7.2f}   ({min(ratios):.2f}-{max(ratios):.2f})")
    print(f"ratio to the bare pool            {statistics.median(to_bare):7.2f}   ({min(to_bare):.2f}-{max(to_bare):.2f})")


if __name__ == "__main__":
    main()
