"""xp.scheduler=local and @launch(executor=...): a sweep as separate processes.

Every run directory is written first (info.yaml PENDING), as for a scheduler; then each
setting runs in a process of its own, at most xp.max_parallel at a time, its output in
its run directory's stdout.log and stderr.log, with its own GPUs (xp.gpus), filling its
run as a job does (`xp.run_id=<id> xp.scheduler=null`). The processes are forked from
this one (forked.py); with an executor (any concurrent.futures.Executor: a thread or
process pool, Dask's, Ray's), or where there is no fork, each is a new python started
by the executor's workers through the module-level run_process. Ctrl-C (or SIGTERM)
stops the processes with SIGINT and marks their runs INTERRUPTED.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from .._contract import GPU_ENV, INFO_FILE, LIVE_STATUSES, METADATA_DIR, RUN_DIR_ENV, STDERR_FILE, STDOUT_FILE
from .._files import read_yaml, update_info
from ..config.settings import xp_setting
from ..errors import ConfigError, TinyxpError
from ..run.info import format_time
from .forked import fork_all, stop_forked
from .gpus import gpu_slots
from .submit import Submission, job_tokens, prepare_runs

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from concurrent.futures import Executor, Future
    from typing import Any, Callable, Iterator, Sequence

STOP_TIMEOUT = 60  # seconds the processes get to record INTERRUPTED after SIGINT, before SIGKILL
EXIT_INTERRUPTED = 130  # as a shell reports a process stopped by Ctrl-C


class LocalRun:
    """One setting of a local sweep: its run and the command that fills it."""

    __slots__ = ("index", "label", "run_id", "run_dir", "shown_dir", "argv")

    def __init__(self, index: int, label: str, run_id: int, run_dir: str, shown_dir: str, argv: list[str]) -> None:
        self.index = index  # in the sweep's settings
        self.label = label
        self.run_id = run_id
        self.run_dir = run_dir
        self.shown_dir = shown_dir
        self.argv = argv


def check_local(xp: Any) -> None:
    """Raises ConfigError for settings a local sweep cannot honour."""
    if not xp_setting(xp, "logging"):
        raise ConfigError("Cannot run a local sweep with xp.logging=false: each process records its status "
                          "and output in its own run directory (drop xp.logging=false)")
    for name in ("run_id", "after"):
        if xp_setting(xp, name) is not None:
            raise ConfigError(f"Cannot use xp.{name} with xp.scheduler=local: it is for scheduler jobs")
    if xp_setting(xp, "chain") != 1:
        raise ConfigError("Cannot use xp.chain with xp.scheduler=local: it is for scheduler jobs")


def run_local_sweep(
    script: str, settings: Sequence[Any], labels: Sequence[str], xp: Any, *, executor: Executor | None = None,
    runner: Callable[[LocalRun], Any] | None = None,
) -> list[tuple[str, str, str]]:
    """Run each setting as its own process; returns the failures as (label, run dir, why).

    runner(run) runs one run in this process: with it, and without an executor, the
    processes are forked from this one (where os.fork exists); else each is a new
    python, started by the executor (by default a thread pool). Prints a progress line
    per finished run on stderr. Raises ConfigError for bad settings before any run
    directory is made, and SystemExit(130) after Ctrl-C.
    """
    check_local(xp)
    _Children.stopping = False  # a sweep stopped earlier in this interpreter stops no other
    gpus = xp_setting(xp, "gpus")
    if executor is not None and gpus == "auto":
        gpus = None  # the executor's workers may be other machines: this one's GPUs say nothing
    max_parallel, slots = gpu_slots(gpus, xp_setting(xp, "max_parallel"))
    if max_parallel is None:
        max_parallel = len(settings) if executor is not None else _cpu_count()
    if slots == [None]:
        slots = [None] * max_parallel
    runs = _prepare(script, settings, labels, xp)
    fork = executor is None and runner is not None and hasattr(os, "fork")
    pool = None if fork else executor or ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="tinyxp-local")
    previous = _on_sigterm(_raise_interrupt)
    try:
        if pool is None:
            assert runner is not None
            ended = fork_all(runs, slots, runner)
        else:
            ended = _submit_all(pool, runs, slots)
        return _report(ended, len(runs))
    except KeyboardInterrupt:
        _stop(runs, fork=pool is None)
        print(f"sweep interrupted: {len(runs)} runs in {os.path.dirname(runs[0].shown_dir) or '.'}", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        _on_sigterm(previous)
        if pool is not None and executor is None:
            pool.shutdown(wait=False)


def _report(ended: Iterator[tuple[LocalRun, Any]], total: int) -> list[tuple[str, str, str]]:
    """A progress line per run as it ends; the failures."""
    failures = []
    for finished, (run, result) in enumerate(ended, 1):
        status, why, duration = _outcome(run, result)
        print(f"[{finished}/{total}] {status} {run.label} -> {run.shown_dir}{duration}", file=sys.stderr)
        if status != "COMPLETE":
            failures.append((run.label, run.shown_dir, why))
    return failures


def _prepare(script: str, settings: Sequence[Any], labels: Sequence[str], xp: Any) -> list[LocalRun]:
    """Allocate every run directory with its PENDING info, before any process starts.

    Each process writes its config.yaml and xp.yaml itself when it starts, soon after.
    """
    log_dir = os.path.abspath(xp_setting(xp, "log_dir"))
    python = xp_setting(xp, "python") or sys.executable
    sweep = Submission(
        scheduler="local", log_dir=log_dir, name="", command=[python, script], settings=[list(s) for s in settings],
        work_dir=os.getcwd(),
    )
    runs = []
    for index, ((run_id, run_dir), setting, label) in enumerate(zip(prepare_runs(sweep), settings, labels)):
        shown = os.path.normpath(os.path.join(xp_setting(xp, "log_dir"), str(run_id)))
        runs.append(LocalRun(index, label, run_id, run_dir, shown, [python, script, *job_tokens(setting, run_id, log_dir)]))
    return runs


def _submit_all(pool: Executor, runs: list[LocalRun], slots: list[str | None]) -> Iterator[tuple[LocalRun, Any]]:
    """Keep len(slots) runs submitted to pool until all have ended; yields (run, its future) as each ends."""
    waiting = list(runs)
    free = list(slots)
    going: dict[Future[Any], tuple[LocalRun, str | None]] = {}
    env = {"PYTHONUNBUFFERED": "1"}
    while waiting or going:
        while waiting and free:
            run, slot = waiting.pop(0), free.pop(0)
            run_env = dict(env, **{RUN_DIR_ENV: run.run_dir}, **({GPU_ENV: slot} if slot is not None else {}))
            going[pool.submit(run_process, run.argv, os.getcwd(), run_env, run.run_dir)] = (run, slot)
        try:
            done, _ = wait(list(going), return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:
            for future in going:  # those not started yet never start
                future.cancel()
            raise
        for future in done:
            run, slot = going.pop(future)
            free.append(slot)
            yield run, future


def _outcome(run: LocalRun, result: Any) -> tuple[str, str, str]:
    """The run's final status, why unless COMPLETE, and its duration as shown; a process that
    could not say is FAILED here. result: the exit status, or the executor's future of it."""
    try:
        code = result.result() if hasattr(result, "result") else result
        why = f"exit status {code}"
    except Exception as err:  # the executor could not run it (a broken pool, a lost worker)
        code, why = None, f"{type(err).__name__}: {err}"
    info = _info(run.run_dir)
    status = info.get("status")
    if status in LIVE_STATUSES or status is None:
        status = "FAILED"
        info["error"] = {"type": "LocalProcessError", "message": f"the process ended without recording its end: {why}"}
        update_info(run.run_dir, status=status, end_time=format_time(time.time()), error=info["error"])
    elif status == "COMPLETE" and code not in (0, None):
        status = "FAILED"  # recorded COMPLETE, then the process failed (an atexit hook, a crash at exit)
    error = info.get("error")
    if isinstance(error, dict) and error.get("type"):
        why = f"{error['type']}: {error.get('message', '')}"
    duration = info.get("duration_s")
    shown = f" ({duration:.1f} s)" if isinstance(duration, (int, float)) else ""
    return status, why + f" (output: {os.path.join(run.shown_dir, STDERR_FILE)})", shown


def _info(run_dir: str) -> dict[str, Any]:
    try:
        return read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE)) or {}
    except (OSError, TinyxpError):
        return {}


class _Children:
    """The processes this interpreter's workers started, so that Ctrl-C reaches each once."""

    lock = threading.Lock()
    running: set[subprocess.Popen[bytes]] = set()
    stopping = False


def run_process(argv: list[str], cwd: str, env: dict[str, str], run_dir: str) -> int | None:
    """Run one setting's process, its output appended to run_dir's logs; its exit status.

    Module-level, so that a process pool can pickle it. None when the sweep was
    stopped before it started (its run is no longer PENDING: an executor's worker learns
    it so). Ctrl-C in this worker stops the process with SIGINT.
    """
    if _info(run_dir).get("status") != "PENDING":
        return None
    with open(os.path.join(run_dir, STDOUT_FILE), "ab") as out, open(os.path.join(run_dir, STDERR_FILE), "ab") as err:
        with _Children.lock:
            if _Children.stopping:
                return None
            # its own session: the terminal's Ctrl-C reaches it once, through us
            process = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err, start_new_session=True)
            _Children.running.add(process)
        try:
            return process.wait()
        except KeyboardInterrupt:  # a process pool's worker got the terminal's Ctrl-C
            _interrupt(process)
            raise
        finally:
            with _Children.lock:
                _Children.running.discard(process)


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    """SIGINT, then SIGKILL if the process has not ended STOP_TIMEOUT seconds later."""
    try:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _stop(runs: list[LocalRun], *, fork: bool) -> None:
    """Stop the running processes and mark every run still live INTERRUPTED."""
    if fork:
        stop_forked(STOP_TIMEOUT)
    with _Children.lock:
        _Children.stopping = True
        running = list(_Children.running)
    for process in running:
        process.send_signal(signal.SIGINT)
    for pid in _pids_of_live_runs(runs):  # processes an executor's workers started here
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            pass
    for process in running:
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
    now = format_time(time.time())
    for run in runs:
        if _info(run.run_dir).get("status") in LIVE_STATUSES:
            update_info(run.run_dir, status="INTERRUPTED", end_time=now)


def _pids_of_live_runs(runs: list[LocalRun]) -> list[int]:
    from ..run.info import hostname

    here = hostname()
    with _Children.lock:
        ours = {p.pid for p in _Children.running}
    pids = []
    for run in runs:
        info = _info(run.run_dir)
        if info.get("status") == "RUNNING" and info.get("hostname") == here and isinstance(info.get("pid"), int):
            if info["pid"] not in ours and info["pid"] != os.getpid():
                pids.append(info["pid"])
    return pids


def _cpu_count() -> int:
    """The CPUs this process may run on (a SLURM allocation's, not the whole node's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _on_sigterm(handler: Any) -> Any:
    """Install handler for SIGTERM (a scheduler ending the allocation); the previous one, or None off the main thread."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None
