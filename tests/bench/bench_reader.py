"""Benchmarks of the reading side, each figure a ratio against a baseline measured in the same run.

    python tests/bench/bench_reader.py            # 2,000 x 100 lines, then 10,000 runs
    python tests/bench/bench_reader.py --quick    # 200 and 1,000 runs, to try it out

    python tests/bench/bench_reader.py --mlxp-runs 2000   # MLXP on the full tree (about a minute)

Targets (issue 3): cold index <= 10x a plain loop reading the metadata files' bytes;
warm refresh <= 3x a plain os.scandir walk; groupby + aggregate of a metric column
<= 1.5x a plain json.loads loop over the same lines. MLXP 1.0.5's Reader is measured on
the same runs written in its own layout (synth.write_mlxp_tree), 200 of them by default:
it rewrites its whole database file for every run, so it slows down as the tree grows.
It runs in the interpreter that bench_launch.mlxp_python finds or installs it into (a
throwaway virtual environment); without it, that part is skipped with a note.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from statistics import mean
from typing import Callable, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench import synth  # noqa: E402
from tests.support import run_process  # noqa: E402  (every process bounded)
from tests.bench.bench_launch import mlxp_python  # noqa: E402
from tinyxp.read.reader import Reader  # noqa: E402

MLXP_READER = """\
import contextlib, io, sys, time
import mlxp
with contextlib.redirect_stdout(io.StringIO()):  # it prints while it builds its database
    start = time.perf_counter()
    reader = mlxp.Reader(sys.argv[1], refresh=True)
    seconds = time.perf_counter() - start
assert len(reader) == int(sys.argv[2]), len(reader)
print(seconds)
"""


def timed(function: Callable[[], object], repeat: int = 1) -> Tuple[float, object]:
    """(best wall time in seconds over `repeat` calls, the last result)."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        result = None  # kept alive, the previous result would slow the garbage collector
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def run_dirs(log_dir: str) -> list:
    return sorted((e.path for e in os.scandir(log_dir) if e.name.isdigit()), key=lambda p: int(os.path.basename(p)))


def read_metadata_bytes(log_dir: str) -> int:
    """The floor of a cold index: read info.yaml and config.yaml of every run, nothing else."""
    total = 0
    for run_dir in run_dirs(log_dir):
        for name in ("info.yaml", "config.yaml"):
            with open(os.path.join(run_dir, "metadata", name), "rb") as file:
                total += len(file.read())
    return total


def parse_metadata_yaml(log_dir: str) -> int:
    """What tinyxp.yaml.load alone costs on the same files (to find the bottleneck)."""
    from tinyxp.yaml import load

    count = 0
    for run_dir in run_dirs(log_dir):
        for name in ("info.yaml", "config.yaml"):
            with open(os.path.join(run_dir, "metadata", name), encoding="utf-8") as file:
                count += len(load(file.read()))
    return count


def cold_without_yaml(log_dir: str) -> float:
    """Seconds for a cold index where tinyxp.yaml.load returns documents parsed beforehand."""
    from unittest import mock

    from tinyxp.read import files as reader  # where run metadata is parsed
    from tinyxp import yaml

    parsed = {}
    for run_dir in run_dirs(log_dir):
        for name in ("info.yaml", "config.yaml"):
            path = os.path.join(run_dir, "metadata", name)
            with open(path, encoding="utf-8") as file:
                parsed[path] = yaml.load(file.read())
    with mock.patch.object(reader, "load_yaml", lambda text, path=None: parsed[path]):
        start = time.perf_counter()
        cold_reader(log_dir)
        return time.perf_counter() - start


def scandir_walk(path: str) -> int:
    """A plain recursive os.scandir walk: the floor of a warm refresh."""
    count = 0
    stack = [path]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                count += 1
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return count


def json_loads_loop(log_dir: str) -> int:
    """The floor of loading a metric column: json.loads every line of every train.jsonl."""
    count = 0
    for run_dir in run_dirs(log_dir):
        with open(os.path.join(run_dir, "metrics", "train.jsonl"), encoding="utf-8") as file:
            for line in file:
                count += len(json.loads(line))
    return count


def cold_reader(log_dir: str) -> Reader:
    shutil.rmtree(os.path.join(log_dir, ".tinyxp"), ignore_errors=True)
    return Reader(log_dir, progress=False)


def final_mean(curves: list) -> float:
    return mean(curve[-1] for curve in curves)


def report(name: str, seconds: float, baseline: float, target: str = "") -> None:
    ratio = seconds / baseline if baseline else float("inf")
    print(f"{name:<48} {seconds * 1000:9.1f} ms  {ratio:7.2f}x baseline ({baseline * 1000:.1f} ms){'  target ' + target if target else ''}")


def bench_tree(n_runs: int, n_lines: int, *, full: bool, mlxp_runs: int = 0) -> None:
    root = tempfile.mkdtemp(prefix="tinyxp-bench-")
    log_dir = os.path.join(root, "logs")
    try:
        start = time.perf_counter()
        synth.write_tree(log_dir, n_runs, n_lines)
        print(f"\n{n_runs} runs x {n_lines} metric lines (written in {time.perf_counter() - start:.1f} s)")
        read_metadata_bytes(log_dir)  # warm the page cache for both sides alike
        floor, _ = timed(lambda: read_metadata_bytes(log_dir), 3)
        cold, reader = timed(lambda: cold_reader(log_dir), 3)
        report("cold index", cold, floor, "<= 10x")
        yaml_time, _ = timed(lambda: parse_metadata_yaml(log_dir), 2)
        report("  tinyxp.yaml.load alone, same files", yaml_time, floor)
        without_yaml = min(cold_without_yaml(log_dir) for _ in range(2))
        report("  cold index, YAML parsing replaced by a lookup", without_yaml, floor)
        walk, _ = timed(lambda: scandir_walk(log_dir), 3)
        warm, reader = timed(lambda: Reader(log_dir, progress=False), 3)
        report("warm refresh (unchanged tree)", warm, walk, "<= 3x")
        query = "config.optimizer.lr in [0.1, 0.01] & config.model.name == 'mlp' & info.status == 'COMPLETE' | config.seed == 3"
        filtering, df = timed(lambda: reader.filter(query), 3)
        report(f"compound query ({len(df)} of {len(reader)} runs)", filtering, walk)
        summary_query = "last(train.loss) < 0.5 & min(train.loss) < 0.4"
        first, _ = timed(lambda: Reader(log_dir, progress=False).filter(summary_query), 1)
        cached, _ = timed(lambda: Reader(log_dir, progress=False).filter(summary_query), 3)
        report("summary query, first (reads metric files)", first, walk)
        report("summary query, cached in the index (+ refresh)", cached, walk)
        if full:
            loads, _ = timed(lambda: json_loads_loop(log_dir), 3)

            def group_and_aggregate() -> object:
                groups = Reader(log_dir, progress=False).filter().groupby(["config.model.name", "config.optimizer.lr"])
                return groups.aggregate((final_mean, "train.loss"))

            aggregate, result = timed(group_and_aggregate, 3)
            report("groupby + aggregate of train.loss (+ refresh)", aggregate, loads, "<= 1.5x")
        if mlxp_runs:
            bench_mlxp(root, mlxp_runs, n_lines, cold / n_runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_mlxp(root: str, n_runs: int, n_lines: int, tinyxp_per_run: float) -> None:
    """MLXP 1.0.5's Reader on n_runs runs in its layout, against tinyxp's cold index per run."""
    python = mlxp_python()  # prints why when it cannot
    if python is None:
        return
    mlxp_dir = os.path.join(root, "mlxp-logs")
    synth.write_mlxp_tree(mlxp_dir, n_runs, n_lines)
    try:
        out = run_process([python, "-c", MLXP_READER, mlxp_dir, str(n_runs)], cwd=root, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=900)
    except (OSError, subprocess.CalledProcessError, AssertionError) as err:  # AssertionError: timed out
        print(f"note: MLXP Reader not measured: {getattr(err, 'stderr', '') or err}")
        return
    seconds = float(out.stdout.split()[-1])
    # tinyxp's cold index of a tree of the same size, for a like-for-like figure
    same_size = os.path.join(root, "same-size")
    synth.write_tree(same_size, n_runs, n_lines)
    cold, _ = timed(lambda: cold_reader(same_size), 3)
    print(f"MLXP 1.0.5 Reader, {n_runs} runs in its layout: {seconds:.2f} s, {seconds / n_runs * 1000:.2f} ms per run")
    print(f"  tinyxp cold index, {n_runs} runs: {cold * 1000:.1f} ms, {cold / n_runs * 1000:.3f} ms per run:"
          f" {seconds / cold:.0f}x faster than MLXP")
    print(f"  tinyxp cold index per run on the larger tree ({tinyxp_per_run * 1000:.3f} ms):"
          f" {seconds / n_runs / tinyxp_per_run:.0f}x faster per run than MLXP on {n_runs} runs")


def main() -> None:
    quick = "--quick" in sys.argv
    mlxp_runs = int(sys.argv[sys.argv.index("--mlxp-runs") + 1]) if "--mlxp-runs" in sys.argv else 50 if quick else 200
    warnings.simplefilter("ignore")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; best of a few runs, page cache warm")
    bench_tree(200 if quick else 2000, 100, full=True, mlxp_runs=mlxp_runs)
    bench_tree(1000 if quick else 10000, 20, full=False)


if __name__ == "__main__":
    main()
