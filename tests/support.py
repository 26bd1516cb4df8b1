"""Helpers shared by the tests: temporary folders, small projects, scripts in subprocesses."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from typing import Dict, List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A task that logs a few metrics; {body} is indented into the function.
TRAIN_SCRIPT = '''\
import sys
import tinyxp

@tinyxp.launch(config_path="configs")
def train(ctx):
    for step in range(3):
        ctx.logger.log_metrics({{"step": step, "loss": 1.0 / (step + 1)}})
{body}

if __name__ == "__main__":
    train()
'''

# A script whose task is `body` alone, with the decorator's arguments `launch_args`.
TASK_SCRIPT = """\
import tinyxp

@tinyxp.launch({launch_args})
def train(ctx):
{body}

train()
"""


def task_script(body: str, launch_args: str = "") -> str:
    """The text of a script whose task runs body (dedented, then indented into the function)."""
    return TASK_SCRIPT.format(launch_args=launch_args, body=textwrap.indent(textwrap.dedent(body), "    "))


CONFIG_YAML = """\
seed: 0
lr: 0.1
epochs: 3
"""


def temp_dir(test: unittest.TestCase) -> str:
    """A fresh temporary folder, removed when the test ends (even if made read-only)."""
    path = tempfile.mkdtemp(prefix="tinyxp-test-")

    def remove() -> None:
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                try:
                    os.chmod(os.path.join(root, name), 0o700)
                except OSError:
                    pass
        shutil.rmtree(path, ignore_errors=True)

    test.addCleanup(remove)
    return path


def write_files(root: str, files: Dict[str, str]) -> None:
    """Write {relative path: text} under root (text dedented), creating folders."""
    for relative, text in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            file.write(textwrap.dedent(text))


def write_project(
    root: str,
    *,
    body: str = "",
    script: Optional[str] = None,
    config: str = CONFIG_YAML,
    files: Optional[Dict[str, str]] = None,
) -> str:
    """Write train.py and configs/config.yaml (plus files) under root; returns the script path.

    `body` is extra code at the end of the task (4-space indented lines), `script`
    replaces the whole script.
    """
    if script is None:
        script = TRAIN_SCRIPT.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    write_files(root, {"train.py": script, "configs/config.yaml": config, **(files or {})})
    return os.path.join(root, "train.py")


def script_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment for a script run in a subprocess: the repository on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
    env.pop("TINYXP_IN_SNAPSHOT", None)
    env.update(extra or {})
    return env


def _script_process(script: str, args: List[str], cwd: Optional[str], env: Optional[Dict[str, str]]) -> dict:
    """The arguments of subprocess.run/Popen for `python script args`, text output piped."""
    return dict(
        args=[sys.executable, script, *args],
        cwd=cwd or os.path.dirname(script),
        env=script_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )


def run_script(
    script: str,
    args: List[str] = (),
    *,
    cwd: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """Run `python script args` in cwd (default: the script's folder); text output captured."""
    return subprocess.run(**_script_process(script, args, cwd, env), timeout=timeout)


def start_script(
    script: str, args: List[str] = (), *, cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None
) -> subprocess.Popen:
    """Start `python script args` without waiting; stdout and stderr are text pipes."""
    return subprocess.Popen(**_script_process(script, args, cwd, env))


def wait_for_line(process: subprocess.Popen, prefix: str) -> str:
    """Read the process's stdout until a line starts with prefix; returns that line."""
    for line in process.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the process ended without printing {prefix!r}: {process.stderr.read()}")


def read_jsonl(path: str) -> List[dict]:
    """The records of a metrics file, each line parsed (a torn last line is an error here)."""
    import json

    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def load_script(path: str, name: str = "tinyxp_test_script"):
    """Import a script written by write_project as a module (its `train` runs in-process)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
