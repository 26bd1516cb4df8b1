"""Benchmarks of launching and logging, each a ratio against a baseline measured in the same run.

    python tests/bench/bench_launch.py [--quick]

1. `python -c "import tinyxp"` against `python -c pass` (target: at most 2x).
2. one logged run of a trivial task (`python train.py`, 10 metrics, in a temporary
   folder outside any git repository) against `python -c pass` (target: at most 3x).
3. a 100-run in-process sweep of a trivial task: tinyxp's overhead per run (target:
   at most 10 ms).
   Then where a bare-interpreter run spends its import time: the modules it imports
   beyond `python -S -c pass`, by their own `-X importtime`, heaviest first.
4. log_metrics throughput, every record handed to the OS, against a plain
   `f.write(json.dumps(d) + "\\n"); f.flush()` loop (the floor) and against MLXP 1.0.5's
   DefaultLogger.log_metrics, when MLXP is importable or installable into a throwaway
   virtual environment (target: at least 4x MLXP).

Every figure is the median of several repetitions.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)
from tests.support import run_process  # noqa: E402  (every process bounded, timed ones without polling)

MLXP_VENV = "/tmp/mlxp-venv"

TRIVIAL_SCRIPT = """\
import tinyxp

@tinyxp.launch(config_path="configs")
def train(ctx):
    for step in range(10):
        ctx.logger.log_metrics({"step": step, "loss": 1.0 / (step + 1)})

if __name__ == "__main__":
    train()
"""

RECORD = {"step": 0, "loss": 0.123456789, "accuracy": 0.9, "lr": 0.001}

MLXP_SNIPPET = """\
import sys, tempfile, time
from mlxp.logger import DefaultLogger
n = int(sys.argv[1])
logger = DefaultLogger(tempfile.mkdtemp(prefix="bench-mlxp-"), forced_log_id=-1)
record = {"step": 0, "loss": 0.123456789, "accuracy": 0.9, "lr": 0.001}
start = time.perf_counter()
for i in range(n):
    record["step"] = i
    logger.log_metrics(record, log_name="train")
print(n / (time.perf_counter() - start))
"""


def env_with_repo(cache_dir: str) -> dict:
    """The repository on PYTHONPATH, and bytecode cached (in cache_dir) as a user's install has it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def time_commands(commands: dict, *, cwd: str, reps: int) -> dict:
    """Median wall time of each command, the commands interleaved in every repetition.

    One warm-up round first, not counted: it writes the bytecode cache.
    """
    times = {name: [] for name in commands}
    env = env_with_repo(os.path.join(cwd, ".pycache"))
    for name, argv in commands.items():
        run_process(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(reps):
        for name, argv in commands.items():
            start = time.perf_counter()
            run_process(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def write_trivial_project(root: str) -> str:
    os.makedirs(os.path.join(root, "configs"))
    with open(os.path.join(root, "configs", "config.yaml"), "w") as file:
        file.write("seed: 0\nlr: 0.1\n")
    script = os.path.join(root, "train.py")
    with open(script, "w") as file:
        file.write(TRIVIAL_SCRIPT)
    return script


def bench_startup(root: str, reps: int) -> None:
    script = write_trivial_project(root)
    in_git = run_process(["git", "rev-parse"], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    if in_git.returncode == 0:
        print(f"note: {root} is inside a git repository; the launch figure includes recording git")
    medians = time_commands(
        {
            "pass": [sys.executable, "-c", "pass"],
            "import": [sys.executable, "-c", "import tinyxp"],
            "run": [sys.executable, script],
            # without site: a bare interpreter, where tinyxp's own imports weigh more
            "pass -S": [sys.executable, "-S", "-c", "pass"],
            "import -S": [sys.executable, "-S", "-c", "import tinyxp"],
            "run -S": [sys.executable, "-S", script],
        },
        cwd=root,
        reps=reps,
    )
    for suffix, flag in (("", ""), (" -S", "-S ")):
        base = medians["pass" + suffix]
        imported, run = medians["import" + suffix], medians["run" + suffix]
        print(f"{f'python {flag}-c pass:':32}{base * 1000:7.1f} ms   (baseline)")
        print(f"{f'python {flag}-c {chr(39)}import tinyxp{chr(39)}:':32}{imported * 1000:7.1f} ms   {imported / base:5.2f}x  {'(target <= 2x)' if not flag else '(no target: information)'}")
        print(f"{f'python {flag}train.py (1 run):':32}{run * 1000:7.1f} ms   {run / base:5.2f}x  {'(target <= 3x)' if not flag else '(no target: information)'}")


def bench_imports(root: str, reps: int, top: int = 10) -> None:
    """The modules `python -S train.py` imports beyond `python -S -c pass`, by their own
    (self) `-X importtime`, heaviest first; medians of reps runs."""
    script = os.path.join(root, "train.py")
    env = env_with_repo(os.path.join(root, ".pycache"))

    def self_times(argv: list) -> dict:
        err = run_process([sys.executable, "-S", "-X", "importtime", *argv], cwd=root, env=env, check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True).stderr
        times = {}
        for line in err.splitlines():
            fields = line[len("import time:"):].split("|")
            if line.startswith("import time:") and len(fields) == 3 and fields[0].strip().isdigit():
                times[fields[2].strip()] = int(fields[0]) / 1000
        return times

    at_start = set(self_times(["-c", "pass"]))
    runs = [self_times([script]) for _ in range(reps)]
    names = set().union(*runs) - at_start
    medians = {name: statistics.median(run.get(name, 0.0) for run in runs) for name in names}
    heaviest = sorted(medians.items(), key=lambda item: -item[1])[:top]
    print(f"  python -S train.py imports {len(names)} modules more than -c pass, {sum(medians.values()):.1f} ms "
          "under -X importtime (which slows them); heaviest, own time in ms:")
    print("    " + ", ".join(f"{name} {ms:.1f}" for name, ms in heaviest))


def bench_sweep(root: str, reps: int, runs: int = 100) -> None:
    sys.path.insert(0, REPO_ROOT)
    import importlib.util

    script = write_trivial_project(os.path.join(root, "sweep"))
    spec = importlib.util.spec_from_file_location("bench_trivial_train", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    task = module.train.__wrapped__

    class FakeLogger:
        def log_metrics(self, metrics, log_name="train"):
            pass

    class FakeContext:
        logger = FakeLogger()

    # the task's own cost, without tinyxp, is subtracted
    start = time.perf_counter()
    for _ in range(runs):
        task(FakeContext())
    task_time = (time.perf_counter() - start) / runs

    per_run, floors = [], []
    for rep in range(reps):  # interleaved with the floor: the machine's load changes
        floors.append(file_system_floor(os.path.join(root, f"floor-{rep}"), runs))
        log_dir = os.path.join(root, f"sweep-logs-{rep}")
        stderr, sys.stderr = sys.stderr, io.StringIO()
        try:
            start = time.perf_counter()
            module.train(["+sweep", f"seed=range({runs})", f"xp.log_dir={log_dir}"])
            per_run.append((time.perf_counter() - start) / runs - task_time)
        finally:
            sys.stderr = stderr
    overhead, disk = statistics.median(per_run), statistics.median(floors)
    print(f"in-process sweep of {runs} runs: {overhead * 1000:7.2f} ms of tinyxp overhead per run (target <= 10 ms)")
    print(f"  the same folders and files created by hand: {disk * 1000:7.2f} ms per run (the file system's share)")


def file_system_floor(root: str, runs: int) -> float:
    """Per run: the 3 folders and 5 files a trivial logged run creates, without tinyxp."""
    os.makedirs(root)
    start = time.perf_counter()
    for run_id in range(1, runs + 1):
        run_dir = os.path.join(root, str(run_id))
        os.mkdir(run_dir)
        for folder in ("metadata", "metrics"):
            os.mkdir(os.path.join(run_dir, folder))
        for name in ("config.yaml", "xp.yaml", "info.yaml", "info.yaml"):
            path = os.path.join(run_dir, "metadata", name)
            with open(path + ".tmp", "w") as file:
                file.write("key: value\n" * 10)
            os.replace(path + ".tmp", path)
        with open(os.path.join(run_dir, "metrics", "train.jsonl"), "a") as file:
            for step in range(10):
                file.write(json.dumps({"step": step, "loss": 0.5}) + "\n")
                file.flush()
    return (time.perf_counter() - start) / runs


def throughput_tinyxp(root: str, n: int) -> float:
    from tinyxp.run.logger import Logger

    logger = Logger(os.path.join(root, "tinyxp-run"))
    record = dict(RECORD)
    start = time.perf_counter()
    for i in range(n):
        record["step"] = i
        logger.log_metrics(record, log_name="train")
    elapsed = time.perf_counter() - start
    logger.close()
    return n / elapsed


def throughput_floor(root: str, n: int) -> float:
    record = dict(RECORD)
    with open(os.path.join(root, "floor.jsonl"), "a") as file:
        start = time.perf_counter()
        for i in range(n):
            record["step"] = i
            file.write(json.dumps(record) + "\n")
            file.flush()
        return n / (time.perf_counter() - start)


def mlxp_python() -> str | None:
    """A Python with MLXP 1.0.5, installing it into a throwaway venv if needed; None if impossible."""
    try:
        import mlxp  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    python = os.path.join(MLXP_VENV, "bin", "python")
    check = [python, "-c", "import mlxp.logger"]
    if os.path.exists(python) and run_process(check, stderr=subprocess.DEVNULL, timeout=120).returncode == 0:
        return python
    try:
        run_process([sys.executable, "-m", "venv", MLXP_VENV], check=True, stdout=subprocess.DEVNULL, timeout=300)
        run_process([python, "-m", "pip", "install", "-q", "mlxp==1.0.5"], check=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    except (OSError, subprocess.CalledProcessError, AssertionError) as err:  # AssertionError: timed out
        print(f"note: MLXP comparison skipped: cannot install mlxp==1.0.5 into {MLXP_VENV}: {err}")
        return None
    return python


def throughput_mlxp(python: str, n: int) -> float:
    out = run_process([python, "-c", MLXP_SNIPPET, str(n)], check=True, stdout=subprocess.PIPE, universal_newlines=True, timeout=600)
    return float(out.stdout.strip().splitlines()[-1])


def bench_throughput(root: str, reps: int, n: int) -> None:
    """Each repetition measures the floor, tinyxp and MLXP back to back; ratios are medians of
    the per-repetition ratios, so that a change of load on a shared machine hits all three alike."""
    python = mlxp_python()
    tinyxp_rates, floor_rates, mlxp_rates = [], [], []
    for rep in range(reps):
        folder = os.path.join(root, f"throughput-{rep}")
        os.makedirs(folder)
        floor_rates.append(throughput_floor(folder, n))
        tinyxp_rates.append(throughput_tinyxp(folder, n))
        if python is not None:
            mlxp_rates.append(throughput_mlxp(python, n))
    tinyxp_rate, floor_rate = statistics.median(tinyxp_rates), statistics.median(floor_rates)
    to_floor = statistics.median(t / f for t, f in zip(tinyxp_rates, floor_rates))
    print(f"log_metrics, tinyxp:                {tinyxp_rate:10,.0f} records/s")
    print(f"plain write+flush loop (floor):     {floor_rate:10,.0f} records/s   tinyxp at {to_floor:4.2f}x the floor")
    if mlxp_rates:
        to_mlxp = statistics.median(t / m for t, m in zip(tinyxp_rates, mlxp_rates))
        print(f"MLXP 1.0.5 DefaultLogger:           {statistics.median(mlxp_rates):10,.0f} records/s   "
              f"tinyxp at {to_mlxp:4.2f}x MLXP (target >= 4x)")


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    root = tempfile.mkdtemp(prefix="tinyxp-bench-")
    try:
        print(f"Python {sys.version.split()[0]} on {sys.platform}; medians of repetitions\n")
        bench_startup(os.path.join(root, "startup"), reps=5 if quick else 15)
        bench_imports(os.path.join(root, "startup"), reps=3 if quick else 5)
        bench_sweep(root, reps=3 if quick else 5)
        bench_throughput(root, reps=3, n=20_000 if quick else 100_000)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
