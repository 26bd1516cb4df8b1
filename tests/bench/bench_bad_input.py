"""Trials of the bad inputs of issue 12 (items 5, 6, 7, 8, 9), against any checkout of tinyxp.

    python tests/bench/bench_bad_input.py                   # this checkout
    python tests/bench/bench_bad_input.py --root /old/tree  # another one (before a fix)

Each trial runs in its own process, with 1 GB of address space and 30 seconds at most,
so that a fault (a hang, memory exhausted, a RecursionError traceback) counts as a
failure instead of harming the machine. A trial passes when tinyxp answers with its own
typed error or the right result. Prints one table row per kind: trials and failures.
docs/reliability.md has the figures.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MEMORY = 1 << 30
SECONDS = 30

# each check prints OK when tinyxp behaved; {arg} is the trial's argument
PRELUDE = "import sys, os, json\nfrom tinyxp.errors import TinyxpError\n"
CHECKS: Dict[str, Tuple[str, List[str]]] = {
    "sweep counted before made": ("""
from tinyxp.config.command_line import parse_command_line
from tinyxp.config.overrides import expand_sweeps
try:
    expand_sweeps(parse_command_line([{arg!r}, "+sweep"]).overrides, multirun=True)
except TinyxpError:
    print("OK")
""", ["seed=range(1e308)", "seed=range(30000000)", "x=range(0, 1, 1e-300)"]),
    "interpolation bounded (1 KB, 10 wide, 8 deep)": ("""
from tinyxp import load_config
folder = sys.argv[1]
levels = {arg}
with open(os.path.join(folder, "config.yaml"), "w") as f:
    f.write("l0: lol\\n" + "".join(f'l{{i}}: "{{"${{l%d}}" % (i - 1) * 10}}"\\n' for i in range(1, levels + 1)))
try:
    load_config(folder)
except TinyxpError:
    print("OK")
""", ["8"]),
    "deep config (YAML, JSON) 250-500": ("""
from tinyxp import load_config
kind, depth = {arg!r}.split()
depth = int(depth)
folder = sys.argv[1]
if kind == "yaml":
    text = "".join("  " * i + f"k{{i}}:\\n" for i in range(depth)) + "  " * depth + "v: 1\\n"
else:
    text = '{{"a": ' + "[" * depth + "]" * depth + "}}"
with open(os.path.join(folder, "config." + kind), "w") as f:
    f.write(text)
try:
    load_config(folder)
except TinyxpError:
    print("OK")
""", ["yaml 250", "yaml 500", "json 250", "json 500"]),
    "deep override value 250-400": ("""
from tinyxp import load_config
folder = sys.argv[1]
with open(os.path.join(folder, "config.yaml"), "w") as f:
    f.write("a: 1\\n")
depth = {arg}
try:
    load_config(folder, ["+x=" + "[" * depth + "]" * depth])
    load_config(folder, ["+" + ".".join(["k"] * depth) + "=1"])
except TinyxpError:
    print("OK")
""", ["250", "400"]),
    "deep query 500": ("""
from tinyxp.read.query import parse
try:
    parse({arg!r} * 500 + "config.a == 1" + ")" * ({arg!r} == "(") * 500)
except TinyxpError:
    print("OK")
""", ["(", "not ", "~"]),
    "bad entry in a log folder (runs, show)": ("""
import subprocess, shutil
from tests.bench import synth
folder = sys.argv[1]
logs = os.path.join(folder, "logs")
synth.write_tree(logs, 3, n_lines=3)
kind = {arg!r}
target = os.path.join(logs, "2")
if kind == "fifo info.yaml":
    os.remove(os.path.join(target, "metadata", "info.yaml")); os.mkfifo(os.path.join(target, "metadata", "info.yaml"))
elif kind == "fifo metrics":
    os.mkfifo(os.path.join(target, "metrics", "extra.jsonl"))
elif kind == "self link":
    os.symlink("7", os.path.join(logs, "7")); target = os.path.join(logs, "1")
elif kind == "/dev/zero":
    os.remove(os.path.join(target, "metadata", "config.yaml")); os.symlink("/dev/zero", os.path.join(target, "metadata", "config.yaml"))
elif kind == "200 MB info.yaml":
    with open(os.path.join(target, "metadata", "info.yaml"), "ab") as f: f.truncate(200 << 20)
elif kind == "link to another folder's run":
    synth.write_tree(os.path.join(folder, "other"), 1, n_lines=1)
    os.symlink(os.path.join(folder, "other", "1"), os.path.join(logs, "9")); target = os.path.join(logs, "1")
ok = True
for args in (["runs", logs, "-c", "id"], ["show", target]):
    done = subprocess.run([sys.executable, "-m", "tinyxp", *args], capture_output=True, text=True, timeout=20)
    ok = ok and done.returncode == 0 and "Traceback" not in done.stderr
    if args[0] == "runs":
        ids = done.stdout.split()[1:]
        ok = ok and len(ids) == len(set(ids))
print("OK" if ok else "FAIL " + done.stderr[-300:])
""", ["fifo info.yaml", "fifo metrics", "self link", "/dev/zero", "200 MB info.yaml", "link to another folder's run"]),
    "link planted inside a run (read side)": ("""
import subprocess
from tests.bench import synth
folder = sys.argv[1]
logs = os.path.join(folder, "logs")
synth.write_tree(logs, 1, n_lines=3)
synth.write_run(os.path.join(folder, "outside"), 1, {{"secret": 4242}}, metrics={{"train": [{{"loss": 4242}}]}})
secret = os.path.join(folder, "outside", "1")
relative = {arg!r}
path = os.path.join(logs, "1", relative)
if os.path.isdir(path):
    import shutil; shutil.rmtree(path)
elif os.path.exists(path):
    os.remove(path)
os.symlink(os.path.join(secret, relative), path)
out = ""
for args in (["runs", logs, "-c", "id,config.secret"], ["show", os.path.join(logs, "1")]):
    done = subprocess.run([sys.executable, "-m", "tinyxp", *args], capture_output=True, text=True, timeout=20)
    out += done.stdout
print("FAIL" if "4242" in out else "OK")
""", ["metadata/config.yaml", "metadata", "metrics/test.jsonl", "metrics"]),
    "malformed index entry": ("""
import warnings
warnings.simplefilter("ignore")
from tests.bench import synth
from tinyxp.read.reader import Reader
logs = os.path.join(sys.argv[1], "logs")
synth.write_tree(logs, 2, n_lines=3)
reader = Reader(logs)
path = reader.index_path
data = json.load(open(path))
meta = data["runs"]["1"]["metrics"]["test"]
where, value = {arg!r}
if where == "summary": meta["summary"] = value
elif where == "last": meta["last"] = value
elif where == "stamp": meta["stamp"] = value
else: data["runs"]["1"]["problems"] = value
json.dump(data, open(path, "w"))
try:
    reader = Reader(logs)
    [reader.summary(row, "min", "test.loss") for row in reader.runs]
    print("OK")
except TinyxpError:
    print("OK")
""", [("summary", []), ("summary", {"loss": "x"}), ("last", [1]), ("stamp", "x"), ("problems", 3)]),
    "metrics logged after the end": ("""
import warnings
warnings.simplefilter("ignore")
from tests.bench import synth
from tinyxp.read.reader import Reader
logs = os.path.join(sys.argv[1], "logs")
synth.write_run(logs, 1, {{"seed": 0}}, metrics={{"train": [{{"loss": 3}}, {{"loss": 2}}]}})
reader = Reader(logs)
row = reader.runs[0]
first = reader.summary(row, "last", "train.loss")
with open(os.path.join(logs, "1", "metrics", "train.jsonl"), "a") as f:
    f.write('{{"loss": 1}}\\n')
if {arg!r} == "new Reader":
    fresh = Reader(logs)
    print("OK" if fresh.summary(fresh.runs[0], "last", "train.loss") == 1 else "FAIL")
else:
    values = [reader.summary(row, "max", "train.loss"), reader.summary(row, "last", "train.loss")]
    print("OK" if values[1] == first == reader.runs[0]["train.loss"][-1] else f"FAIL {{first}} {{values}}")
""", ["new Reader", "one Reader"]),
    "tinyxp sub reads words as bash": ("""
from tinyxp.jobs.jobscript import parse_job_script
try:
    parse_job_script("#SBATCH -n 1\\npython t.py " + {arg!r} + "\\n")
except TinyxpError:
    print("OK")
""", ["msg={a,b}", "msg=~"]),
}


def limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    os.setsid()


def trial(root: str, code: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="tinyxp-bad-input-") as folder:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, REPO]), PYTHONDONTWRITEBYTECODE="1")
        try:
            done = subprocess.run([sys.executable, "-c", PRELUDE + code, folder], env=env, cwd=root, capture_output=True,
                                  text=True, timeout=SECONDS, preexec_fn=limit)
        except subprocess.TimeoutExpired:
            return False
    return done.stdout.strip() == "OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=REPO, help="the checkout whose tinyxp is tried (default: this one)")
    parser.add_argument("--repeat", type=int, default=3, help="trials of each input (default: 3)")
    args = parser.parse_args()
    print(f"{'fault':50} trials failures   ({os.path.abspath(args.root)})")
    for name, (code, arguments) in CHECKS.items():
        trials = [argument for argument in arguments for _ in range(args.repeat)]
        failures = sum(not trial(args.root, code.format(arg=argument)) for argument in trials)
        print(f"{name:50} {len(trials):6} {failures:8}")


if __name__ == "__main__":
    main()
