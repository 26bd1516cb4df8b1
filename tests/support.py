"""Helpers shared by the tests: temporary folders, small projects, scripts in subprocesses."""
from __future__ import annotations

import heapq
import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from typing import Any, Callable, Dict, List, Optional, Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every process a test starts and every wait it does has a bound (test_suite_hygiene checks
# the calls): a hung child fails its test with a message instead of hanging the suite.
PROCESS_TIMEOUT = 120.0  # seconds for a process to finish
WAIT_TIMEOUT = 60.0  # seconds for a condition, a line of output or a thread

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


def silence_run(run_dir: str, seconds: float = 3600) -> None:
    """Make a run look silent for `seconds`: its heartbeat, info.yaml and metric files all that old (LOST)."""
    when = time.time() - seconds
    paths = [os.path.join(run_dir, "heartbeat"), os.path.join(run_dir, "metadata", "info.yaml")]
    metrics = os.path.join(run_dir, "metrics")
    if os.path.isdir(metrics):
        paths += [os.path.join(metrics, name) for name in os.listdir(metrics)]
    for path in paths:
        if os.path.lexists(path):
            os.utime(path, (when, when), follow_symlinks=False)


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


class _Watchdog:
    """One thread that kills the processes whose deadline has passed.

    Popen.wait(timeout)/communicate(timeout) poll with sleeps up to 50 ms, which would add
    that much to every process a test or a benchmark times; a process watched here is
    waited for without a timeout and killed (with its process group) at its deadline.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._due: List[list] = []  # a heap of [deadline, sequence, process, state]
        self._sequence = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def watch(self, process: subprocess.Popen, timeout: float) -> list:
        entry = [time.monotonic() + timeout, next(self._sequence), process, "watched"]
        with self._condition:
            heapq.heappush(self._due, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tests-watchdog", daemon=True)
                self._thread.start()
            self._condition.notify()
        return entry

    def cancel(self, entry: list) -> bool:
        """Stop watching; True when the deadline had passed and the process was killed."""
        with self._condition:
            if entry[3] == "killed":
                return True
            entry[3] = "cancelled"
            return False

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._due and self._due[0][3] == "cancelled":
                    heapq.heappop(self._due)
                if not self._due:
                    self._condition.wait()  # hygiene: this daemon thread idles until a process is watched
                    continue
                left = self._due[0][0] - time.monotonic()
                if left > 0:
                    self._condition.wait(left)
                    continue
                entry = heapq.heappop(self._due)
                entry[3] = "killed"
                kill_process(entry[2])


_watchdog = _Watchdog()


def kill_process(process: subprocess.Popen) -> None:
    """Kill a process that is still running, and its process group when it leads one.

    The group is killed even when its leader has ended: a child left behind (a job
    script's python) would hold the pipes open, and reading them would never end."""
    try:
        if hasattr(os, "killpg") and getattr(process, "leads_group", False):
            os.killpg(process.pid, signal.SIGKILL)  # started by start_process: its children too
        elif process.returncode is None:
            process.kill()
    except OSError:  # ended meanwhile
        pass


def _shown(argv: Any) -> str:
    if isinstance(argv, (list, tuple)):
        return " ".join(shlex.quote(str(arg)) for arg in argv)
    return str(argv)


def _output(*streams: Any) -> str:
    text = ""
    for name, stream in zip(("stdout", "stderr"), streams):
        if stream:
            stream = stream.decode(errors="replace") if isinstance(stream, bytes) else stream
            text += f"\n{name}:\n{stream[-2000:]}"
    return text or " (no output)"


def run_process(
    argv: Sequence[str], *, timeout: float = PROCESS_TIMEOUT, input: Any = None, check: bool = False, **options: Any
) -> subprocess.CompletedProcess:
    """subprocess.run(argv, **options), in its own process group, bounded by timeout.

    A process still running at the deadline is killed with its children, and the test
    fails with an AssertionError naming the command and showing what it printed.
    """
    if input is not None:
        options["stdin"] = subprocess.PIPE
    with subprocess.Popen(argv, start_new_session=True, **options) as process:
        process.leads_group = True  # type: ignore[attr-defined]
        entry = _watchdog.watch(process, timeout)
        try:
            stdout, stderr = process.communicate(input)  # hygiene: bounded, the watchdog kills it at the deadline
        except BaseException:
            kill_process(process)
            raise
        finally:
            killed = _watchdog.cancel(entry)
    if killed:
        raise AssertionError(f"`{_shown(argv)}` did not finish within {timeout:g} s: killed{_output(stdout, stderr)}")
    done = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    if check:
        done.check_returncode()
    return done


def start_process(test: unittest.TestCase, argv: Sequence[str], **options: Any) -> subprocess.Popen:
    """subprocess.Popen(argv, **options) in its own process group; when the test ends it is
    killed (with its children) if still running, waited for and its pipes closed."""
    process = subprocess.Popen(argv, start_new_session=True, **options)
    process.leads_group = True  # type: ignore[attr-defined]
    test.addCleanup(stop_process, process)
    return process


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Kill the process (and its group) if it is still running; wait for it; close its pipes."""
    kill_process(process)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # unkillable (stuck in the kernel): nothing more to do
        pass
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass


def finish(process: subprocess.Popen, timeout: float = WAIT_TIMEOUT) -> tuple:
    """The rest of the process's output, (stdout, stderr) (None where not piped or closed), once it
    has ended; at the deadline it is killed and the test fails, showing its output.

    Reads through the pipes' file objects, so a line already read by wait_for_line is not
    read again and what it buffered is not lost."""
    entry = _watchdog.watch(process, timeout)
    errors: List[Any] = []
    reader = None
    try:
        if process.stderr is not None and not process.stderr.closed:
            reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)  # hygiene: bounded, as below
            reader.start()
        stdout = None
        if process.stdout is not None and not process.stdout.closed:
            stdout = process.stdout.read()  # hygiene: bounded, the watchdog kills the process at the deadline
        if reader is not None:
            reader.join(timeout + 10)
        process.wait()  # hygiene: bounded, the watchdog kills it at the deadline
    finally:
        killed = _watchdog.cancel(entry)
    stderr = errors[0] if errors else None
    if killed:
        raise AssertionError(f"`{_shown(process.args)}` did not end within {timeout:g} s: killed{_output(stdout, stderr)}")
    return stdout, stderr


def wait_until(condition: Callable[[], Any], message: Any, *, timeout: float = WAIT_TIMEOUT, interval: float = 0.05) -> Any:
    """Call condition() until it returns a true value, which is returned; after timeout
    seconds the test fails with message (a string, or a function giving one)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message() if callable(message) else message} (waited {timeout:g} s)")
        time.sleep(interval)


def join_thread(thread: threading.Thread, timeout: float = WAIT_TIMEOUT) -> None:
    """thread.join(timeout); the test fails if the thread is still running after it."""
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"thread {thread.name} still running after {timeout:g} s")


def wait_event(event: threading.Event, what: str, timeout: float = WAIT_TIMEOUT) -> None:
    """event.wait(timeout); the test fails with `what` if the event is not set by then."""
    if not event.wait(timeout):
        raise AssertionError(f"{what}: not after {timeout:g} s")


def _script_process(script: str, args: Sequence[str], cwd: Optional[str], env: Optional[Dict[str, str]]) -> dict:
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
    args: Sequence[str] = (),
    *,
    cwd: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
    timeout: float = PROCESS_TIMEOUT,
) -> subprocess.CompletedProcess:
    """Run `python script args` in cwd (default: the script's folder); text output captured.

    Bounded by timeout, as run_process is."""
    options = _script_process(script, args, cwd, env)
    return run_process(options.pop("args"), timeout=timeout, **options)


def start_script(
    script: str,
    args: Sequence[str] = (),
    *,
    cwd: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
    test: Optional[unittest.TestCase] = None,
) -> subprocess.Popen:
    """Start `python script args` without waiting; stdout and stderr are text pipes.

    With `test`, it is stopped (as start_process does) when the test ends; without, the
    caller must stop_process it."""
    options = _script_process(script, args, cwd, env)
    if test is not None:
        return start_process(test, options.pop("args"), **options)
    process = subprocess.Popen(start_new_session=True, **options)
    process.leads_group = True  # type: ignore[attr-defined]
    return process


def wait_for_line(process: subprocess.Popen, prefix: str, timeout: float = WAIT_TIMEOUT) -> str:
    """Read the process's stdout until a line starts with prefix; returns that line.

    If no such line comes within timeout seconds, the process is killed and the test fails."""
    entry = _watchdog.watch(process, timeout)
    try:
        for line in process.stdout:  # hygiene: bounded, the watchdog kills the process at the deadline
            if line.startswith(prefix):
                return line
    finally:
        killed = _watchdog.cancel(entry)
    if killed:
        raise AssertionError(f"no line starting with {prefix!r} within {timeout:g} s: killed the process")
    try:
        _, stderr = finish(process, 10)
    except AssertionError as err:
        stderr = str(err)
    raise AssertionError(f"the process ended without printing {prefix!r}: {stderr}")


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
