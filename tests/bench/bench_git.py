"""Benchmark tinyxp.run.git and tinyxp.run.snapshot on a repository of 2,000 files.

Run from the repository root: `python tests/bench/bench_git.py [--launch-only]`. Each figure is shown in
milliseconds and as a ratio against a baseline measured in the same run:

- recording info.git: start_recording (what a launch waits for) and the whole record
  (start_recording then waiting for git status), against starting `git --version`;
- creating a snapshot, against `git clone` of the same repository (what MLXP does);
- reusing an existing snapshot (prepare_snapshot: git status, then the folder exists),
  against starting `git --version`;
- what recording adds to a whole launch: a trivial @tinyxp.launch script run in the
  repository, against the same script outside any repository.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.support import run_process  # noqa: E402  (every process bounded, timed ones without polling)

from tinyxp.run import git as tgit  # noqa: E402
from tinyxp.run import snapshot as tsnap  # noqa: E402

N_FILES = 2000
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def make_repository(root: str) -> str:
    """A repository of N_FILES small Python files in 40 folders, one commit."""
    os.makedirs(root)
    run_process(["git", "init", "--quiet", root], check=True, timeout=60)
    for i in range(N_FILES):
        folder = os.path.join(root, f"pkg{i % 40:02}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"mod{i:04}.py"), "w") as file:
            file.write(f"VALUE = {i}\n" * 20)
    with open(os.path.join(root, "train.py"), "w") as file:
        file.write("print('train')\n")
    run_process(["git", "add", "--all"], cwd=root, check=True, timeout=300)
    run_process(["git", "commit", "--quiet", "--message", "bench"], cwd=root, check=True, timeout=300)
    run_process(["git", "status", "--porcelain"], cwd=root, check=True, stdout=subprocess.DEVNULL, timeout=300)  # warm the index
    return root


def median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def show(label: str, value: float, baseline_label: str, baseline: float) -> None:
    print(f"{label:<44} {value:8.1f} ms   {value / baseline:6.2f} x {baseline_label}")


TASK = """\
import os, time
import tinyxp

@tinyxp.launch()
def task(ctx):
    with open(os.environ["STARTED"], "w") as file:
        file.write(repr(time.time()))

task()
"""


def write_task(folder: str) -> str:
    os.makedirs(os.path.join(folder, "configs"), exist_ok=True)
    with open(os.path.join(folder, "configs", "config.yaml"), "w") as file:
        file.write("seed: 0\n")
    with open(os.path.join(folder, "task.py"), "w") as file:
        file.write(TASK)
    return os.path.join(folder, "task.py")


def launch_ms(tmp: str, root: str, reps: int = 25) -> None:
    """A whole launch in the repository (info.git recorded) against one outside any repository.

    Alternated, so that the load of a shared machine hits both alike; what recording adds
    is the median (min-max) of the differences of consecutive pairs.
    """
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
               PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # compiled once, as on a user's machine
    env["STARTED"] = os.path.join(tmp, "started")
    scripts = {"inside": write_task(root), "outside": write_task(os.path.join(tmp, "outside"))}
    to_task: dict = {"inside": [], "outside": []}
    whole: dict = {"inside": [], "outside": []}
    for i in range(reps + 1):
        for where, script in scripts.items():
            start = time.time()
            run_process([sys.executable, script, "xp.log_dir=" + os.path.join(tmp, "logs-" + where)], env=env, check=True)
            end = time.time()
            if i:  # the first compiles tinyxp
                with open(env["STARTED"]) as file:
                    to_task[where].append((float(file.read()) - start) * 1000)
                whole[where].append((end - start) * 1000)
    for label, times in (("to the task's start", to_task), ("to its end (git status awaited)", whole)):
        inside, outside = statistics.median(times["inside"]), statistics.median(times["outside"])
        adds = [a - b for a, b in zip(times["inside"], times["outside"])]
        print(f"baseline: a launch outside a repository, {label}: {outside:.1f} ms")
        show("  the same in the repository", inside, "outside", outside)
        print(f"{'  so recording adds':<44} {statistics.median(adds):8.1f} ms (min-max {min(adds):.1f} to {max(adds):.1f},"
              f" {reps} pairs)")


def main() -> None:
    os.environ.update(GIT_ENV)
    tmp = tempfile.mkdtemp(prefix="tinyxp-bench-")
    try:
        root = make_repository(os.path.join(tmp, "proj"))
        script = os.path.join(root, "train.py")
        commit = run_process(["git", "rev-parse", "HEAD"], cwd=root, check=True, stdout=subprocess.PIPE, timeout=60).stdout.decode().strip()
        print(f"repository of {N_FILES} files; python {sys.version.split()[0]}; {run_process(['git', '--version'], check=True, stdout=subprocess.PIPE, timeout=60).stdout.decode().strip()}")
        if "--launch-only" in sys.argv[1:]:  # without the snapshots' heavy writing before it
            launch_ms(tmp, root)
            return

        spawn = median_ms(lambda: run_process(["git", "--version"], stdout=subprocess.DEVNULL, timeout=60), 20)
        print(f"{'baseline: start `git --version`':<44} {spawn:8.1f} ms")
        recorders = []
        start_only = median_ms(lambda: recorders.append(tgit.start_recording(root)), 20)
        for get in recorders:
            get()
        whole = median_ms(lambda: tgit.start_recording(root)(), 20)
        show("recording: start_recording (launch waits)", start_only, "git --version", spawn)
        show("recording: start_recording + git status", whole, "git --version", spawn)

        counter = iter(range(1000))

        def clone() -> None:
            run_process(["git", "clone", "--quiet", root, os.path.join(tmp, f"clone{next(counter)}")], check=True, timeout=300)

        def snapshot() -> None:
            tsnap.take_snapshot(root, commit, os.path.join(tmp, "snaps", str(next(counter))))

        # alternated, so that a change in the machine's load hits both alike
        clones, snapshots = [], []
        for _ in range(5):
            clones.append(median_ms(clone, 1))
            snapshots.append(median_ms(snapshot, 1))
        cloned = statistics.median(clones)
        print(f"{'baseline: git clone (MLXP)':<44} {cloned:8.1f} ms")
        show("snapshot: create (read-tree + checkout-index)", statistics.median(snapshots), "git clone", cloned)

        xp = {"snapshot_dir": os.path.join(tmp, "snaps"), "dirty": "error", "interactive": False, "log_dir": os.path.join(tmp, "logs")}
        tsnap.prepare_snapshot(script, xp)
        show("snapshot: reuse (git status + exists)", median_ms(lambda: tsnap.prepare_snapshot(script, xp), 10), "git --version", spawn)
        launch_ms(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
