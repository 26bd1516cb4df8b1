"""The reader at scale (issue 13): every figure a ratio to its floor, measured in the same run.

    python tests/bench/bench_index.py                  # 1,000 / 10,000 / 50,000 runs x 100 metric lines
    python tests/bench/bench_index.py --sizes 1000 10000 --reps 5
    python tests/bench/bench_index.py --sizes 1000 100000 --lines 5 --index-only   # the 100k case: short metric files

Each figure is given as the median and min-max of `--reps` (>= 5) repetitions, each
repetition timing tinyxp and its floor back to back. Page cache: warm; every tree is read
once whole before timing, and the floors read the same files. Per-run costs at the largest
size over the smallest are the linearity figures.

Processes started by the benchmark (the first query, `tinyxp runs` and its floor) cache
their bytecode in a temporary folder (PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE unset),
as an installed package or a writable copy does, and each is started once before timing.

Floors: cold index, a plain loop reading every run's info.yaml and config.yaml; warm
Reader(), os.scandir of the log folder and one os.stat per run; after 1% of runs changed,
that plus reading and parsing the changed runs' metadata; compound query, the same
predicate in plain Python over the loaded values (for the first query in a process, its
first run in that process); groupby + aggregate, one json.loads per
metric file; `tinyxp runs`, a minimal process reading index.json and printing the same table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.bench import synth  # noqa: E402
from tests.support import run_process  # noqa: E402
from tinyxp import Logger, yaml  # noqa: E402
from tinyxp.read.index import SETTLE_NS  # noqa: E402
from tinyxp.read.reader import Reader  # noqa: E402

QUERY = "config.optimizer.lr in [0.1, 0.01] & config.model.name == 'mlp' & info.status == 'COMPLETE' | config.seed == 3"


def plain_predicate(v: dict) -> bool:
    return (v["config.optimizer.lr"] in (0.1, 0.01) and v["config.model.name"] == "mlp" and v["info.status"] == "COMPLETE") or v["config.seed"] == 3


FIRST_QUERY = """\
import sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
from tinyxp.read.reader import Reader
reader = Reader(sys.argv[2], progress=False)
start = time.perf_counter()
reader.filter(sys.argv[3])
tinyxp = time.perf_counter() - start
values = [row.static for row in reader.filter()]
def plain_predicate(v):
    return (v["config.optimizer.lr"] in (0.1, 0.01) and v["config.model.name"] == "mlp" and v["info.status"] == "COMPLETE") or v["config.seed"] == 3
start = time.perf_counter()
[v for v in values if plain_predicate(v)]
print(tinyxp, time.perf_counter() - start)
"""

READ_INDEX = """\
import json
def read_index(log_dir):
    # the index file as tinyxp writes it (tinyxp/read/stored.py): line 0, a line per column, a line per run
    with open(log_dir + "/.tinyxp/index.json", "rb") as f:
        head = json.loads(f.readline())
        lines = f.read().split(b"\\n")
    return head, dict(zip(head["columns"], lines)), lines[len(head["columns"]):-1]
"""

MEMORY = READ_INDEX + """\
import gc, sys, tracemalloc, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
if sys.argv[3] == "tinyxp":
    from tinyxp.read.reader import Reader
    tracemalloc.start()
    kept = Reader(sys.argv[2], progress=False)
    kept.filter()["config.seed"]  # every row read
else:  # the config and info values themselves, one dict per run
    head, columns, _ = read_index(sys.argv[2])
    tracemalloc.start()
    values = zip(*[json.loads(columns[key]) for key in head["columns"]])
    kept = [{key: value for key, value in zip(head["columns"], row) if value is not None} for row in values]
gc.collect()
print(tracemalloc.get_traced_memory()[0])
"""

MINIMAL_RUNS = READ_INDEX + """\
import sys
head, lines, entries = read_index(sys.argv[1])
columns = sys.argv[2:]
values = {c: json.loads(lines[c]) for c in ({"id": "info.run_id", "status": "info.status"}.get(c, c) for c in columns) if c in lines}
listed = [i for i, flags in enumerate(head["flags"]) if flags & 1]
metrics = {i: json.loads(entries[i])["metrics"] for i in listed} if any(c.startswith("last(") for c in columns) else {}
def cell(i, column):
    if column.startswith("last("):
        log, _, key = column[5:-1].partition(".")
        value = metrics[i].get(log, {}).get("last", {}).get(key)
    else:
        value = values[{"id": "info.run_id", "status": "info.status"}.get(column, column)][i]
    return "" if value is None else str(value)
table = [columns] + [[cell(i, c) for c in columns] for i in listed]
widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
sys.stdout.write("".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) + "\\n" for row in table))
"""


def child_env(root: str) -> Dict[str, str]:
    """The environment of the processes timed: bytecode cached under root, as after an install."""
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONPYCACHEPREFIX=os.path.join(root, "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def clock(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_dirs(log_dir: str) -> List[str]:
    return [entry.path for entry in os.scandir(log_dir) if entry.name.isdigit()]


def read_metadata(log_dir: str) -> None:
    for run_dir in run_dirs(log_dir):
        for name in ("info.yaml", "config.yaml"):
            with open(f"{run_dir}/metadata/{name}", "rb") as file:
                file.read()


def stat_runs(log_dir: str) -> None:
    with os.scandir(log_dir) as entries:
        for entry in entries:
            if entry.name.isdigit():
                os.stat(entry.path)


def loads_metric_files(log_dir: str) -> None:
    for run_dir in run_dirs(log_dir):
        with open(f"{run_dir}/metrics/train.jsonl", "rb") as file:
            json.loads(b"[" + file.read().rstrip(b"\n").replace(b"\n", b",") + b"]")


def change(log_dir: str, names: List[str], step: int) -> None:
    """Append a metric line to each of these ended runs, with a standalone Logger."""
    for name in names:
        with Logger(os.path.join(log_dir, name)) as logger:
            logger.log_metrics({"epoch": 1000 + step, "loss": 0.5, "acc": 0.5})


def reread(log_dir: str, names: List[str]) -> None:
    for name in names:
        for part in ("info.yaml", "config.yaml"):
            with open(os.path.join(log_dir, name, "metadata", part), encoding="utf-8") as file:
                yaml.load(file.read())


def ratios(pairs: List[tuple]) -> str:
    values = [a / b for a, b in pairs]
    return f"{statistics.median(values):6.2f}x (min-max {min(values):.2f}-{max(values):.2f})"


FIGURES = ("cold", "warm", "changed", "query", "groupby", "memory", "runs")


def bench_size(n_runs: int, n_lines: int, reps: int, root: str, results: Dict[str, Dict[int, float]], index_only: bool = False,
               only: tuple = FIGURES) -> None:
    log_dir = os.path.join(root, f"logs-{n_runs}")
    start = time.perf_counter()
    synth.write_tree(log_dir, n_runs, n_lines)
    time.sleep(SETTLE_NS / 1e9)  # runs that ended a while ago: an ended run is checked with one stat once its metadata/ is this old
    print(f"\n{n_runs:,} runs x {n_lines} metric lines (written in {time.perf_counter() - start:.0f} s); page cache warm")
    read_metadata(log_dir)
    loads_metric_files(log_dir)

    def record(name: str, pairs: List[tuple], target: str) -> None:
        results.setdefault(name, {})[n_runs] = statistics.median(a for a, _ in pairs) / n_runs
        floor = statistics.median(b for _, b in pairs)
        print(f"  {name:<34} {ratios(pairs)}  tinyxp {statistics.median(a for a, _ in pairs) * 1000:8.1f} ms,"
              f" floor {floor * 1000:7.1f} ms  target {target}")

    def cold() -> Reader:
        shutil.rmtree(os.path.join(log_dir, ".tinyxp"), ignore_errors=True)
        return Reader(log_dir, progress=False)

    if "cold" in only:
        pairs = []
        for _ in range(reps):
            pairs.append((clock(cold), clock(lambda: read_metadata(log_dir))))
        record("cold index", pairs, "<= 4x")
    Reader(log_dir, progress=False)  # the index, for the figures below
    if "warm" in only:
        pairs = [(clock(lambda: Reader(log_dir, progress=False)), clock(lambda: stat_runs(log_dir))) for _ in range(reps)]
        record("warm Reader()", pairs, "<= 2x")
    if "changed" in only:
        names = sorted(os.listdir(log_dir))
        changed = [name for name in names if name.isdigit()][:: 100]
        pairs = []
        for step in range(reps):
            change(log_dir, changed, step)
            tinyxp = clock(lambda: Reader(log_dir, progress=False))
            floor = clock(lambda: (stat_runs(log_dir), reread(log_dir, changed)))
            pairs.append((tinyxp, floor))
        record("after 1% of runs changed", pairs, "<= 2x")
    if "query" in only:
        measure_query(log_dir, reps, record, child_env(root))
    if index_only:
        shutil.rmtree(log_dir, ignore_errors=True)
        return
    if index_only:
        shutil.rmtree(log_dir, ignore_errors=True)
        return

    def aggregate(reader: Reader | None = None) -> object:
        groups = (reader or Reader(log_dir, progress=False)).filter().groupby(["config.model.name", "config.optimizer.lr"])
        return groups.aggregate((lambda curves: statistics.mean(c[-1] for c in curves), "train.loss"))

    if "groupby" in only:
        pairs = [(clock(aggregate), clock(lambda: loads_metric_files(log_dir))) for _ in range(reps)]
        record("groupby + aggregate of train.loss", pairs, "<= 1.5x")
        reader = Reader(log_dir, progress=False)  # what the figure above spends after Reader()
        pairs = [(clock(lambda: aggregate(reader)), clock(lambda: loads_metric_files(log_dir))) for _ in range(reps)]
        record("  the same on a Reader already made", pairs, "(a part)")
    if "memory" in only:
        measure_memory(log_dir, n_runs)
    if n_runs <= 20000 and "runs" in only:
        measure_runs_command(log_dir, reps, child_env(root))
    shutil.rmtree(log_dir, ignore_errors=True)


def measure_query(log_dir: str, reps: int, record: Callable[[str, List[tuple], str], None], env: Dict[str, str]) -> None:
    reader = Reader(log_dir, progress=False)
    values = [row.static for row in reader.filter()]
    reader.filter(QUERY)  # the first query in the process is the figure below
    pairs = [(clock(lambda: reader.filter(QUERY)), clock(lambda: [v for v in values if plain_predicate(v)])) for _ in range(reps)]
    record("compound query (warm process)", pairs, "<= 3x")
    pairs = []
    for rep in range(reps + 1):  # the first one writes the bytecode
        out = run_process([sys.executable, "-c", FIRST_QUERY, ROOT, log_dir, QUERY], check=True, stdout=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=900)
        if rep:  # the floor: the plain predicate's first run in the same process
            tinyxp, floor = map(float, out.stdout.split())
            pairs.append((tinyxp, floor))
    record("compound query, first in a process", pairs, "<= 3x")


def measure_memory(log_dir: str, n_runs: int) -> None:
    sizes = {}
    for side in ("tinyxp", "values"):
        out = run_process([sys.executable, "-c", MEMORY, ROOT, log_dir, side], check=True, stdout=subprocess.PIPE,
                          universal_newlines=True, timeout=900)
        sizes[side] = int(out.stdout)
    extra = (sizes["tinyxp"] - sizes["values"]) / n_runs / 1024
    print(f"  {'memory (Python objects kept)':<34} {sizes['tinyxp'] / n_runs / 1024:6.2f} KB a run, {extra:.2f} KB beyond the values"
          f" ({sizes['values'] / n_runs / 1024:.2f} KB)  target <= 3 KB beyond")


def measure_runs_command(log_dir: str, reps: int, env: Dict[str, str]) -> None:
    command = [sys.executable, "-m", "tinyxp", "runs", log_dir]
    header = run_process(command, check=True, stdout=subprocess.PIPE, universal_newlines=True, env=env, timeout=900).stdout.split("\n", 1)[0]
    minimal = [sys.executable, "-c", MINIMAL_RUNS, log_dir, *header.split()]
    run_process(minimal, check=True, stdout=subprocess.DEVNULL, env=env, timeout=900)  # its bytecode
    pairs = []
    for _ in range(reps):
        tinyxp = clock(lambda: run_process(command, check=True, stdout=subprocess.DEVNULL, env=env, timeout=900))
        floor = clock(lambda: run_process(minimal, check=True, stdout=subprocess.DEVNULL, env=env, timeout=900))
        pairs.append((tinyxp, floor))
    print(f"  {'`tinyxp runs` (a process)':<34} {ratios(pairs)}  target <= 1.3x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--index-only", action="store_true", help="the index and the query only (the 100k case)")
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated figures to measure (default: all of {','.join(FIGURES)})")
    args = parser.parse_args()
    only = tuple(args.only.split(","))
    unknown = set(only) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s) in --only: {', '.join(sorted(unknown))}")
    warnings.simplefilter("ignore")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
          f" median and min-max of {args.reps} repetitions")
    root = tempfile.mkdtemp(prefix="tinyxp-bench-index-")
    results: Dict[str, Dict[int, float]] = {}
    try:
        for n_runs in args.sizes:
            bench_size(n_runs, args.lines, args.reps, root, results, args.index_only, only)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if len(args.sizes) > 1:
        small, large = min(args.sizes), max(args.sizes)
        print(f"\nlinearity: per-run cost at {large:,} runs / at {small:,} (target <= 1.3)")
        for name, by_size in results.items():
            print(f"  {name:<34} {by_size[large] / by_size[small]:.2f}")


if __name__ == "__main__":
    main()
