"""The faults of docs/reliability.md#tested-faults, with more trials than the test suite runs.

    python tests/bench/bench_reliability.py [TREE]

TREE (default: this checkout) is the tinyxp source to try, e.g. an older commit
extracted with `git archive <commit> | tar -x -C /tmp/old`, to count the failures
before a fix. Prints one line per scenario: trials and failures. The disk-full
scenarios mount a 512 KiB tmpfs and need root (skipped otherwise).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ROOT
sys.path.insert(0, ROOT)
sys.path.insert(0, TREE)
from tests.support import finish, run_process, start_script, stop_process, wait_for_line, wait_until  # noqa: E402

ENV = {"PYTHONPATH": TREE}
FINAL = ("COMPLETE", "FAILED", "INTERRUPTED")

WRITER = """\
import sys
from tinyxp.run.logger import Logger

run_dir, me, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
padding = "x" * max(0, size - 40)
for i in range(n):
    with Logger(run_dir) as logger:
        logger.log_metrics({"w": me, "i": i, "p": padding})
"""
SLEEPER = "import time, tinyxp\n@tinyxp.launch()\ndef train(ctx):\n    time.sleep(30)\ntrain()\n"
FILLER = """\
import os, tinyxp

@tinyxp.launch()
def train(ctx):
    fd = os.open(os.path.join(ctx.xp.log_dir, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    if ctx.config.fail:
        raise ValueError("full")

train()
"""
EXITING = "import sys, tinyxp\n@tinyxp.launch()\ndef train(ctx):\n    if ctx.config.seed == 1:\n        sys.exit(0)\ntrain()\n"
SWEEP_SLEEPER = """\
import time, tinyxp

@tinyxp.launch()
def train(ctx):
    print("started", ctx.config.seed, flush=True)
    if ctx.config.seed == 1:
        time.sleep(30)

train()
"""
LOGGING = "import tinyxp\n@tinyxp.launch()\ndef train(ctx):\n    ctx.logger.log_metrics({'a': 1})\n    print('out')\ntrain()\n"
SLOW_CHECKPOINT = """\
import sys, time
from tinyxp.run.logger import Logger

class Slow:
    def __reduce__(self):
        print("writing", flush=True)
        time.sleep(60)

Logger(sys.argv[1]).log_checkpoint({"blob": b"x" * (1 << 20), "slow": Slow()})
"""


SCRATCH: list = []  # removed at the end


def scratch() -> str:
    SCRATCH.append(tempfile.mkdtemp(prefix="tinyxp-bench-reliability-"))
    return SCRATCH[-1]


def project(task: str, config: str = "seed: 0\n") -> str:
    root = scratch()
    os.makedirs(os.path.join(root, "configs"))
    for path, text in (("configs/config.yaml", config), ("train.py", task)):
        with open(os.path.join(root, path), "w") as file:
            file.write(text)
    return os.path.join(root, "train.py")


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=TREE)
    env.pop("TINYXP_IN_SNAPSHOT", None)
    return run_process([sys.executable, script, *args], cwd=os.path.dirname(script), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=120)


def run_dirs(log_dir: str) -> list:
    return [os.path.join(log_dir, n) for n in os.listdir(log_dir) if n.isdigit()] if os.path.isdir(log_dir) else []


def status(run_dir: str) -> str:
    from tinyxp._files import read_yaml

    try:
        return read_yaml(os.path.join(run_dir, "metadata", "info.yaml"))["status"]
    except FileNotFoundError:
        return "no info.yaml"


def concurrent_writers(size: int, per_writer: int, trials: int) -> tuple:
    script = project(WRITER)
    lost = 0
    for _ in range(trials):
        run_dir = os.path.join(scratch(), "run")
        processes = [start_script(script, [run_dir, str(w), str(per_writer), str(size)], env=ENV) for w in range(4)]
        for process in processes:
            finish(process, 300)
        found = set()
        with open(os.path.join(run_dir, "metrics", "train.jsonl"), "rb") as file:
            for line in file.read().split(b"\n"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                found.add((record["w"], record["i"]))
        lost += 4 * per_writer - len(found)
    return f"{trials * 4 * per_writer} lines", f"{lost} lost"


def start_up_signals(trials: int) -> tuple:
    script = project(SLEEPER)
    chooser = random.Random(12)
    bad = 0
    for trial in range(trials):
        log_dir = os.path.join(os.path.dirname(script), f"logs{trial}")
        process = start_script(script, [f"xp.log_dir={log_dir}"], env=ENV)
        wait_until(lambda: run_dirs(log_dir) or process.poll() is not None, "no run directory", interval=0.0005)
        time.sleep(chooser.uniform(0, 0.004))
        process.send_signal((signal.SIGTERM, signal.SIGINT)[trial % 2])
        finish(process)
        bad += sum(status(d) not in FINAL for d in run_dirs(log_dir))
    return f"{trials} launches", f"{bad} without a final status"


def tmpfs() -> str | None:
    point = scratch()
    done = run_process(["mount", "-t", "tmpfs", "-o", "size=512k", "tinyxp-bench", point], timeout=30,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return point if done.returncode == 0 else None


def umount(point: str) -> None:
    run_process(["umount", "-l", point], timeout=30)


def fill(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"x" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def disk_full_at_the_end(trials: int) -> tuple:
    script = project(FILLER, "seed: 0\nfail: false\n")
    bad = 0
    for trial in range(trials):
        point = tmpfs()
        if point is None:
            return "skipped", "cannot mount a tmpfs"
        run(script, f"xp.log_dir={point}", f"fail={'true' if trial % 2 else 'false'}")
        bad += status(os.path.join(point, "1")) not in FINAL
        umount(point)
    return f"{trials} runs", f"{bad} left RUNNING"


def disk_full_at_launch(trials: int) -> tuple:
    script = project(FILLER, "seed: 0\nfail: false\n")
    bad = 0
    for _ in range(trials):
        point = tmpfs()
        if point is None:
            return "skipped", "cannot mount a tmpfs"
        fill(os.path.join(point, "filler"))
        done = run(script, f"xp.log_dir={point}")
        bad += not (done.returncode == 2 and done.stderr.startswith("error: ") and "No space left" in done.stderr
                    and not run_dirs(point))
        umount(point)
    return f"{trials} launches", f"{bad} not one error with exit 2 and no directory"


def sweep_exit_0(trials: int) -> tuple:
    script = project(EXITING)
    bad = sum(run(script, "+sweep", "seed=0,1", f"xp.log_dir=logs{t}").returncode != 0 for t in range(trials))
    return f"{trials} sweeps", f"{bad} exit 1"


def sweep_ctrl_c(trials: int) -> tuple:
    script = project(SWEEP_SLEEPER)
    bad = 0
    for trial in range(trials):
        process = start_script(script, ["+sweep", "seed=0,1,2", f"xp.log_dir=logs{trial}"], env=ENV)
        wait_for_line(process, "started 1")
        process.send_signal(signal.SIGINT)
        _, stderr = finish(process)
        bad += not (process.returncode == 130 and "Traceback" not in stderr and "1 not started" in stderr)
    return f"{trials} sweeps", f"{bad} without a summary and exit 130"


def planted_links() -> tuple:
    from tinyxp.run.lifecycle import _touch
    from tinyxp.run.logger import Logger

    cases = ["metrics/train.jsonl", "metrics", "metadata/info.yaml", "metadata", "stdout.log", "heartbeat", "artifacts/pickle"]
    bad = 0
    for case in cases:
        script = project(LOGGING)
        root = os.path.dirname(script)
        outside = os.path.join(root, "outside")
        os.makedirs(outside)
        target = os.path.join(outside, "t.yaml")
        with open(target, "w") as file:
            file.write("outside: 1\n")
        os.utime(target, (1, 1))
        run(script)
        run_dir = os.path.join(root, "logs", "1")
        path = os.path.join(run_dir, case)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(outside if case in ("metrics", "metadata", "artifacts/pickle") else target, path)
        if case == "heartbeat":
            _touch(path)
        elif case == "artifacts/pickle":
            try:
                Logger(run_dir).log_checkpoint(1)
            except Exception:
                pass
        else:
            run(script, "xp.run_id=1", "xp.capture_output=true")
        with open(target) as file:
            followed = file.read() != "outside: 1\n" or os.stat(target).st_mtime != 1 or os.listdir(outside) != ["t.yaml"]
        info = os.path.join(run_dir, "metadata", "info.yaml")
        if case == "metadata/info.yaml" and not os.path.islink(info):
            with open(info) as file:
                followed = followed or "outside" in file.read()  # merged into the run's info
        bad += followed
    return f"{len(cases)} links", f"{bad} followed"


def stale_temporaries(kills: int) -> tuple:
    from tinyxp.run.logger import Logger

    script = project(SLOW_CHECKPOINT)
    run_dir = os.path.join(scratch(), "run")
    for _ in range(kills):
        process = start_script(script, [run_dir], env=ENV)
        wait_for_line(process, "writing")
        stop_process(process)
    folder = os.path.join(run_dir, "artifacts", "pickle")
    an_hour_ago = time.time() - 3600
    for name in os.listdir(folder):
        os.utime(os.path.join(folder, name), (an_hour_ago, an_hour_ago))
    Logger(run_dir).log_checkpoint(1)
    return f"{kills} kills", f"{sum(name.startswith('.tmp-') for name in os.listdir(folder))} left after the next write"


def long_and_hidden_names() -> tuple:
    from tinyxp.errors import TinyxpError
    from tinyxp.run.logger import Logger

    logger = Logger(scratch())
    bad = 0
    for name in ["n" * length for length in range(248, 262)] + [".tmp-x"]:
        try:
            logger.log_artifact(1, name)
            bad += name.startswith(".tmp-")
        except TinyxpError:
            pass
        except OSError:
            bad += 1
    return "15 names", f"{bad} raw OSError or hidden"


def script_mode() -> tuple:
    script = project(LOGGING)
    root = os.path.dirname(script)
    os.environ["PATH"] = os.path.join(ROOT, "tests", "fakebin") + os.pathsep + os.environ["PATH"]
    os.environ["TINYXP_FAKE_LOG"] = os.path.join(root, "calls")
    bad = 0
    for umask, mode in ((0o077, 0o700), (0o022, 0o755), (0o027, 0o750)):
        previous = os.umask(umask)
        try:
            run(script, "xp.scheduler=slurm", f"xp.log_dir=logs{umask}")
        finally:
            os.umask(previous)
        bad += os.stat(os.path.join(root, f"logs{umask}", "1", "script.sh")).st_mode & 0o777 != mode
    return "3 umasks", f"{bad} wrong modes"


def main() -> None:
    print(f"tinyxp from {TREE}")
    for name, measure in [
        ("4 writers reopening, 90-byte lines", lambda: concurrent_writers(90, 1500, 5)),
        ("4 writers reopening, 256 KiB lines", lambda: concurrent_writers(256 * 1024, 60, 5)),
        ("signals at start-up", lambda: start_up_signals(30)),
        ("disk full during the run", lambda: disk_full_at_the_end(10)),
        ("disk full at launch", lambda: disk_full_at_launch(10)),
        ("sys.exit(0) in a sweep", lambda: sweep_exit_0(5)),
        ("Ctrl-C in a sweep", lambda: sweep_ctrl_c(5)),
        ("links planted in a run directory", planted_links),
        ("checkpoint temporaries of killed writers", lambda: stale_temporaries(10)),
        ("artifact names of 248-261 bytes, .tmp-", long_and_hidden_names),
        ("script.sh mode and umask", script_mode),
    ]:
        try:
            trials, failures = measure()
        finally:
            for folder in SCRATCH:
                shutil.rmtree(folder, ignore_errors=True)
            SCRATCH.clear()
        print(f"{name:42} {trials:>14}  {failures}", flush=True)


if __name__ == "__main__":
    main()
