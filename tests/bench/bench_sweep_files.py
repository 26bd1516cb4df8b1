"""A 100-run in-process sweep against writing the same run files by hand (issue 13, item 9).

    python tests/bench/bench_sweep_files.py [--reps 7] [--runs 100]

tinyxp: `train(["+sweep", "seed=range(100)", ...])` of a trivial task (10 log_metrics
calls a run), in this process, after one warm-up sweep (imports done, files cached).
The floor: a plain-Python loop creating the same folders and files with the same bytes,
taken from the warm-up sweep's runs before the clock starts (precomputed strings): per
run the run folder, metadata/ and metrics/, config.yaml, xp.yaml and info.yaml written
to a temporary file and moved into place (as tinyxp does, so that a reader never sees
half a file), info.yaml once more at the end (the final status), and the metric lines
appended one at a time, each flushed. Both write into fresh folders of the same
file system (the page cache is warm from the warm-up; nothing is synced to disk), and
alternate in every repetition so that a change of load hits both alike. Printed: the
median and min-max of the per-repetition ratios. Target: at most 1.5x.
"""
from __future__ import annotations

import importlib.util
import io
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench.bench_launch import write_trivial_project  # noqa: E402

METADATA = ("config.yaml", "xp.yaml", "info.yaml")


def load_task(root: str):
    script = write_trivial_project(os.path.join(root, "project"))
    spec = importlib.util.spec_from_file_location("bench_sweep_train", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.train


def sweep(train, log_dir: str, runs: int) -> float:
    stderr, sys.stderr = sys.stderr, io.StringIO()  # the sweep's progress lines
    try:
        start = time.perf_counter()
        train(["+sweep", f"seed=range({runs})", f"xp.log_dir={log_dir}"])
        return time.perf_counter() - start
    finally:
        sys.stderr = stderr


def read_runs(log_dir: str, runs: int) -> list:
    """What each run of a sweep wrote: the metadata files' text and the metric lines."""
    contents = []
    for run_id in range(1, runs + 1):
        metadata = os.path.join(log_dir, str(run_id), "metadata")
        texts = {}
        for name in METADATA:
            with open(os.path.join(metadata, name), encoding="utf-8") as file:
                texts[name] = file.read()
        with open(os.path.join(log_dir, str(run_id), "metrics", "train.jsonl"), encoding="utf-8") as file:
            contents.append((texts, file.readlines()))
    return contents


def write_atomic(path: str, text: str) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(path + ".tmp", path)


def by_hand(log_dir: str, contents: list) -> float:
    os.makedirs(log_dir)
    start = time.perf_counter()
    for run_id, (texts, lines) in enumerate(contents, 1):
        run_dir = os.path.join(log_dir, str(run_id))
        os.mkdir(run_dir)
        metadata = os.path.join(run_dir, "metadata")
        os.mkdir(metadata)
        for name in METADATA:
            write_atomic(os.path.join(metadata, name), texts[name])
        os.mkdir(os.path.join(run_dir, "metrics"))
        with open(os.path.join(run_dir, "metrics", "train.jsonl"), "a", encoding="utf-8") as file:
            for line in lines:
                file.write(line)
                file.flush()
        write_atomic(os.path.join(metadata, "info.yaml"), texts["info.yaml"])
    return time.perf_counter() - start


def main() -> None:
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 7
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 100
    root = tempfile.mkdtemp(prefix="tinyxp-bench-sweep-")
    try:
        train = load_task(root)
        sweep(train, os.path.join(root, "warm-up"), runs)
        contents = read_runs(os.path.join(root, "warm-up"), runs)
        tinyxp_times, floor_times = [], []
        for rep in range(reps):
            if rep % 2:  # alternated: neither always comes first
                tinyxp_times.append(sweep(train, os.path.join(root, f"tinyxp-{rep}"), runs))
                floor_times.append(by_hand(os.path.join(root, f"floor-{rep}"), contents))
            else:
                floor_times.append(by_hand(os.path.join(root, f"floor-{rep}"), contents))
                tinyxp_times.append(sweep(train, os.path.join(root, f"tinyxp-{rep}"), runs))
        ratios = [t / f for t, f in zip(tinyxp_times, floor_times)]
        print(f"python {sys.version.split()[0]}; {runs}-run in-process sweep, {reps} repetitions, alternated; "
              f"load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        for label, times in (("tinyxp sweep", tinyxp_times), ("the same files by hand", floor_times)):
            print(f"  {label:<24} {statistics.median(times) / runs * 1000:6.2f} ms a run"
                  f" (min-max {min(times) / runs * 1000:.2f}-{max(times) / runs * 1000:.2f})")
        print(f"  ratio {statistics.median(ratios):.2f}x (min-max {min(ratios):.2f}-{max(ratios):.2f})  target <= 1.5x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
