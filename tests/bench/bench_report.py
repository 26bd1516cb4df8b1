"""Benchmarks of `tinyxp report` and `tinyxp plot`, each figure the median (min-max) of REPS runs, as a ratio.

    python tests/bench/bench_report.py            # the sizes of issue 11
    python tests/bench/bench_report.py --quick    # smaller trees, to try it out

Targets (issue 11): `tinyxp report` on 2,000 runs x 100 lines x 2 metrics <= 2x reading
the same metric files with one json.loads per line; the page of 500 runs x 3 metrics x
1,000 steps under 2 MB, and usable in headless Chromium in under 2 s (the page's own
clock: navigation start to the end of its script after layout); `tinyxp plot` of 200
runs under 0.5 s, as a command (interpreter start included).
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from statistics import median
from typing import Callable, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench import synth  # noqa: E402
from tests.support import REPO_ROOT, run_process, script_env  # noqa: E402  (every process bounded)
from tinyxp.cli import main as tinyxp_main  # noqa: E402

REPS = 5


def times(function: Callable[[], object], reps: int = REPS, clock: Callable[[], float] = time.perf_counter) -> List[float]:
    out = []
    for _ in range(reps):
        start = clock()
        function()
        out.append(clock() - start)
    return out


def show(name: str, seconds: List[float], baseline: List[float] | None = None, target: str = "", unit: float = 1.0) -> None:
    """One line: median (min-max) in ms, and the ratio of medians to the baseline or to a target in seconds."""
    text = f"{name:<52} {median(seconds) * 1000:8.1f} ms ({min(seconds) * 1000:.1f}-{max(seconds) * 1000:.1f})"
    if baseline:
        text += f"  {median(seconds) / median(baseline):5.2f}x baseline ({median(baseline) * 1000:.1f} ms)"
    if target:
        text += f"  target {target}"
    print(text)


def json_loads_loop(log_dir: str) -> int:
    """The baseline: every metrics file read line by line, one json.loads per line."""
    count = 0
    for entry in os.scandir(log_dir):
        if entry.name.isdigit():
            with open(os.path.join(entry.path, "metrics", "train.jsonl"), encoding="utf-8") as file:
                for line in file:
                    count += len(json.loads(line))
    return count


def quiet(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = tinyxp_main(list(argv))
    assert status == 0, argv


def bench_report(root: str, n_runs: int) -> None:
    log_dir = os.path.join(root, "report-logs")
    synth.write_tree(log_dir, n_runs, 100)
    out = os.path.join(root, "report.html")
    print(f"\n{n_runs} runs x 100 lines x 2 metrics (train.loss, train.acc)")
    json_loads_loop(log_dir)  # warm the page cache for both sides alike
    argv = ("report", log_dir, "-m", "train.loss", "train.acc", "-o", out, "--no-scheduler-check")
    for clock in (time.perf_counter, time.process_time):  # CPU time: less at the mercy of a busy machine
        baseline, cold, warm = [], [], []
        for _ in range(REPS):  # interleaved, so that a busy moment of the machine weighs on both sides
            baseline += times(lambda: json_loads_loop(log_dir), 1, clock)
            shutil.rmtree(os.path.join(log_dir, ".tinyxp"), ignore_errors=True)
            cold += times(lambda: quiet(*argv), 1, clock)
            warm += times(lambda: quiet(*argv), 1, clock)
        what = "wall" if clock is time.perf_counter else "CPU"
        show(f"tinyxp report, cold index ({what})", cold, baseline)
        show(f"tinyxp report, index warm ({what})", warm, baseline, "<= 2x")
    print(f"  page: {os.path.getsize(out) / 1e6:.2f} MB")


def write_long_runs(log_dir: str, n_runs: int, n_steps: int) -> None:
    """n_runs runs of n_steps lines of 3 metrics (loss, acc, grad_norm) and a step counter."""
    for index, (config, _) in enumerate(synth.settings(n_runs, 2)):
        scale = 1 + index % 7
        records = [{"step": s, "loss": round(scale / (s + 1) + 0.01 * math.sin(s + index), 6),
                    "acc": round(1 - 1 / (s + 2), 6), "grad_norm": round(scale * math.exp(-s / 300), 6)} for s in range(n_steps)]
        synth.write_run(log_dir, index + 1, config, metrics={"train": records})


def bench_page(root: str, n_runs: int) -> None:
    log_dir = os.path.join(root, "page-logs")
    write_long_runs(log_dir, n_runs, 1000)
    out = os.path.join(root, "page.html")
    quiet("report", log_dir, "-o", out, "--no-scheduler-check")
    print(f"\n{n_runs} runs x 1,000 steps x 3 metrics: page {os.path.getsize(out) / 1e6:.2f} MB (target < 2 MB)")
    if not shutil.which("chromium"):
        print("note: page open time not measured: no chromium (apt-get install chromium)")
        return
    blank = os.path.join(root, "blank.html")
    with open(blank, "w", encoding="utf-8") as file:
        file.write("<!DOCTYPE html><html><body><script>document.body.offsetHeight;"
                   "document.body.setAttribute('data-ready',Math.round(performance.now()))</script></body></html>")
    opened, empty, wall = [], [], []
    for _ in range(REPS):
        for page, into in ((blank, empty), (out, opened)):
            start = time.perf_counter()
            done = run_process(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={root}/profile",
                                "--dump-dom", "file://" + page], timeout=120, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True)
            if page == out:
                wall.append(time.perf_counter() - start)
            into.append(int(re.search(r'data-ready="(\d+)"', done.stdout).group(1)) / 1000)
    show("page usable in Chromium (its clock)", opened, empty, "< 2 s")
    show("  chromium --dump-dom, whole process", wall)


def bench_plot(root: str, n_runs: int) -> None:
    log_dir = os.path.join(root, "plot-logs")
    synth.write_tree(log_dir, n_runs, 100)
    env = script_env({"COLUMNS": "100"})
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's installed tinyxp has its bytecode cached
    argv = [sys.executable, "-m", "tinyxp", "plot", log_dir, "train.loss", "--no-scheduler-check"]

    def command(args: List[str]) -> Callable[[], object]:
        return lambda: run_process(args, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)

    command(argv)()  # the index, once
    print(f"\n{n_runs} runs x 100 lines")
    startup = times(command([sys.executable, "-c", "pass"]))
    show("tinyxp plot train.loss (a command, index warm)", times(command(argv)), startup, "< 0.5 s")
    show("tinyxp plot --by optimizer.lr", times(command(argv + ["--by", "optimizer.lr"])), startup, "< 0.5 s")


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; median (min-max) of {REPS}, page cache warm")
    root = tempfile.mkdtemp(prefix="tinyxp-bench-")
    try:
        bench_report(root, 200 if quick else 2000)
        bench_page(root, 50 if quick else 500)
        bench_plot(root, 200)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
