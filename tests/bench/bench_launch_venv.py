"""One logged run against `python -c pass`, both in a clean virtual environment (issue 13, item 9).

    python tests/bench/bench_launch_venv.py [--reps 15]

The system interpreter may run site `.pth` files at start-up (this machine's triples
`python -c pass`), which flatters a ratio; here both sides run in a fresh
`python -m venv --without-pip` (no `.pth` file in its site-packages), with the repository
on PYTHONPATH, bytecode cached (PYTHONDONTWRITEBYTECODE unset), outside any git
repository, the commands interleaved. Median and min-max of the per-repetition ratios.
Target: at most 2x.
"""
from __future__ import annotations

import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench.bench_launch import env_with_repo, write_trivial_project  # noqa: E402
from tests.support import run_process  # noqa: E402


def clock(argv: list, cwd: str, env: dict) -> float:
    start = time.perf_counter()
    run_process(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 15
    root = tempfile.mkdtemp(prefix="tinyxp-bench-venv-")
    try:
        venv = os.path.join(root, "venv")
        run_process([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=300)
        python = os.path.join(venv, "bin", "python")
        pth = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "*.pth"))
        script = write_trivial_project(os.path.join(root, "project"))
        cwd = os.path.dirname(script)
        env = env_with_repo(os.path.join(root, ".pycache"))
        commands = {"pass": [python, "-c", "pass"], "import": [python, "-c", "import tinyxp"], "run": [python, script]}
        for argv in commands.values():  # warm-up: bytecode cache, page cache
            clock(argv, cwd, env)
        times: dict = {name: [] for name in commands}
        for _ in range(reps):
            for name, argv in commands.items():
                times[name].append(clock(argv, cwd, env))
        print(f"python {sys.version.split()[0]}, clean venv ({len(pth)} .pth files), {reps} repetitions, interleaved;"
              f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        base = times["pass"]
        print(f"  python -c pass            {statistics.median(base) * 1000:6.1f} ms (min-max {min(base) * 1000:.1f}-{max(base) * 1000:.1f})")
        for name, target in (("import", ""), ("run", "  target <= 2x")):
            ratios = [a / b for a, b in zip(times[name], base)]
            print(f"  {name:<25} {statistics.median(times[name]) * 1000:6.1f} ms  {statistics.median(ratios):5.2f}x"
                  f" (min-max {min(ratios):.2f}-{max(ratios):.2f}){target}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
