"""The life of one run in this process: its directory, its info.yaml, its end.

Run.execute takes one setting from its start to its final status, in four steps a
reader can follow: open (or resume) the run directory and write the RUNNING info,
watch the run (heartbeat, output capture, signal handlers), call the task, record the
end (COMPLETE, FAILED or INTERRUPTED, with its end time and duration).
"""
from __future__ import annotations

import os
import sys
import threading
import time

from .. import yaml
from .._contract import CONFIG_FILE, INFO_FILE, METADATA_DIR, SNAPSHOT_ENV, TRACEBACK_FILE, XP_FILE
from .._files import allocate_run_dir, read_yaml, write_atomic, write_yaml
from .._values import iter_keys, lookup
from ..config.compose import Config
from ..config.overrides import setting_tokens
from ..errors import ConfigError, TinyxpError
from .info import format_time, new_run_info, shell_command
from .lifecycle import (
    Capture, Heartbeat, Preempted, heartbeat, install_signal_handlers, interrupt_task, requeue_after,
    restore_signal_handlers,
)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable

    from .logger import Logger


class Context:
    """What the task receives: config, info, logger (None with xp.logging=false), xp."""

    def __init__(self, config: Config, info: Config, logger: Logger | None, xp: Config) -> None:
        self.config = config
        self.info = info
        self.logger = logger
        self.xp = xp
        self._preempt_handlers: list[Callable[[], Any]] = []

    def on_preempt(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Call fn() when SIGTERM, SIGINT or xp.requeue_signal (SIGUSR2) arrives, before the run stops.

        Typically saves a checkpoint. Returns fn, so it also works as a decorator.
        """
        self._preempt_handlers.append(fn)
        return fn

    def __repr__(self) -> str:
        return f"Context(run_id={self.info.get('run_id')!r}, run_dir={self.info.get('run_dir')!r})"


class Plan:
    """One setting of the command line with its composed config and xp settings."""

    __slots__ = ("setting", "config", "xp", "label")

    def __init__(self, setting: list[Any], config: Config, xp: Config, label: str) -> None:
        self.setting = setting
        self.config = config
        self.xp = xp
        self.label = label


def parse_run_id(value: Any) -> int:
    """xp.run_id as an int; raises ConfigError unless it is a positive integer."""
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        raise ConfigError(f"Invalid xp.run_id {value!r}: expected a positive integer")
    return int(value)


class Run:
    """One run of the task: its directory, info.yaml, heartbeat, signals and captured output."""

    def __init__(self, plan: Plan, *, script: str, seed_fn: Any, recorder: Any, job: Any, progress: str | None) -> None:
        self.plan = plan
        self.script = script
        self.seed_fn = seed_fn
        self.recorder = recorder
        self.job = job
        self.progress = progress
        self.run_dir: str | None = None
        self.shown_dir = "(not logged)"
        self.snapshot_git: dict[str, Any] | None = None
        self.ctx: Context | None = None
        self.logger: Logger | None = None
        self.heartbeat: Heartbeat | None = None
        self.capture: Capture | None = None
        self.previous_handlers: dict[int, Any] = {}
        self.preempting = False
        self.interrupted = False
        self.finishing = False
        self.pending_signal: int | None = None
        self.info: dict[str, Any] = {}
        self.info_lock = threading.Lock()
        self.closed = False
        self.git_pending = False

    @property
    def heartbeat_interval(self) -> float:
        return float(self.plan.xp.heartbeat_interval)

    def execute(self, task: Callable[[Context], Any]) -> Any:
        """Run the task once and record how it ended; returns its value, re-raises its exception.

        A preemption signal ends the process with SystemExit(128 + signal number).
        """
        start, clock = time.time(), time.monotonic()
        ctx = self._open(start)
        self._watch()
        final: dict[str, Any] = {}
        try:
            result = self._call(task, ctx)
            final["status"] = "COMPLETE"
            return result
        except (Preempted, KeyboardInterrupt) as err:
            self._stop_interrupted(final, clock, getattr(err, "signum", None))
            if isinstance(err, Preempted):
                raise SystemExit(128 + err.signum) from None
            raise
        except BaseException as err:
            self._record_exception(final, err)
            raise
        finally:
            self._end(final, clock)

    # ------------------------------------------------------------------ open or resume

    def _open(self, start: float) -> Context:
        """The task's Context, after opening the run directory (xp.logging) and writing its info."""
        xp = self.plan.xp
        info = self._new_info(start)
        if xp.logging:
            from .logger import Logger  # json and the artifact formats: only for the runs that log

            info = self._open_run_dir(info)
            self.logger = Logger(info["run_dir"])
        if self.progress:
            print(f"{self.progress} -> {self.shown_dir}", file=sys.stderr)
        self.ctx = Context(self.plan.config, Config(info), self.logger, xp)
        return self.ctx

    def _new_info(self, start: float) -> dict[str, Any]:
        work_dir = os.getcwd()
        tokens = setting_tokens(self.plan.setting)
        relative = os.path.relpath(self.script, work_dir)
        shown_script = self.script if relative.startswith("..") else relative
        info = new_run_info(
            status="RUNNING",
            run_id=None,
            run_dir=None,
            log_dir=os.path.abspath(self.plan.xp.log_dir) if self.plan.xp.logging else None,
            overrides=tokens,
            command=shell_command(work_dir, [sys.executable, shown_script, *tokens]),
            work_dir=work_dir,
            script=self.script,
            start=start,
        )
        if self.job:
            info["scheduler"] = self.job
        return info

    def _open_run_dir(self, info: dict[str, Any]) -> dict[str, Any]:
        """Allocate (or reopen with xp.run_id) the run directory and write its metadata."""
        xp = self.plan.xp
        if xp.run_id is None:
            run_id, run_dir = allocate_run_dir(xp.log_dir)
            os.mkdir(os.path.join(run_dir, METADATA_DIR))
        else:
            run_id = parse_run_id(xp.run_id)
            run_dir = os.path.join(info["log_dir"], str(run_id))
            info = self._resume(run_id, run_dir, info)
        self.run_dir = run_dir
        self.shown_dir = os.path.normpath(os.path.join(xp.log_dir, str(run_id)))
        info.update(run_id=run_id, run_dir=run_dir)
        metadata = os.path.join(run_dir, METADATA_DIR)
        write_yaml(os.path.join(metadata, CONFIG_FILE), self.plan.config.to_dict())
        write_yaml(os.path.join(metadata, XP_FILE), xp.to_dict())
        if os.environ.get(SNAPSHOT_ENV):
            from .snapshot import snapshot_info_for_run  # git: only for a run from a snapshot

            self.snapshot_git = snapshot_info_for_run(run_dir)
        early_git = self._git_info(wait=False)  # HEAD at once; the dirty state once `git status` answers
        if early_git is not None:
            info["git"] = early_git
        self.git_pending = early_git is not None and "dirty" not in early_git
        self.info = info
        self._write_info()
        return info

    def _resume(self, run_id: int, run_dir: str, info: dict[str, Any]) -> dict[str, Any]:
        """The info of a run started again with xp.run_id: its previous info, updated."""
        metadata = os.path.join(run_dir, METADATA_DIR)
        os.makedirs(metadata, exist_ok=True)
        try:
            old = read_yaml(os.path.join(metadata, INFO_FILE)) or {}
        except FileNotFoundError:
            old = {}
        restarts = old.get("restarts", 0)
        if old and old.get("status") != "PENDING":  # a PENDING run (submitted) starts for the first time
            restarts += 1
        old.pop("error", None)
        try:  # the previous failure's traceback goes with its error (a COMPLETE run has none)
            os.remove(os.path.join(metadata, TRACEBACK_FILE))
        except FileNotFoundError:
            pass
        _warn_config_changes(run_id, os.path.join(metadata, CONFIG_FILE), self.plan.config.to_dict())
        return {**old, **info, "restarts": restarts}

    def _write_info(self, *, final: bool = False, **fields: Any) -> None:
        """Set fields of info.yaml and rewrite it; the heartbeat thread writes too, hence the lock."""
        with self.info_lock:
            if self.closed:  # the final status is written: a late heartbeat thread changes nothing
                return
            self.info.update(fields)
            write_yaml(os.path.join(str(self.run_dir), METADATA_DIR, INFO_FILE), self.info)
            self.closed = final

    def _git_info(self, *, wait: bool = True) -> dict[str, Any] | None:
        git = self.recorder(wait=wait)
        if git is None and not self.snapshot_git:
            return None
        return {**(git or {}), **(self.snapshot_git or {})}

    def record_git(self) -> None:
        """In the heartbeat thread: write info.git as soon as `git status` has answered."""
        try:
            git = self._git_info()
            if git is not None:
                self._write_info(git=git)
        except Exception as err:  # never kill the run for its bookkeeping
            print(f"tinyxp: warning: cannot record git state: {err}", file=sys.stderr)

    # ------------------------------------------------------------------ watch and run

    def _watch(self) -> None:
        """Start the heartbeat and the output capture (logged runs), install the signal handlers."""
        if self.run_dir:
            self.heartbeat = heartbeat()
            self.heartbeat.follow(self)
            if self.plan.xp.capture_output:
                self.capture = Capture(self.run_dir)
        self.previous_handlers = install_signal_handlers(self._handle_signal, self.plan.xp.requeue_signal)

    def _handle_signal(self, signum: int, frame: Any) -> None:
        if self.finishing:
            self.pending_signal = signum
            return
        if self.preempting:
            return
        self.preempting = True
        for fn in self.ctx._preempt_handlers if self.ctx else ():
            try:
                fn()
            except Exception as err:
                print(f"tinyxp: warning: on_preempt handler {fn!r} failed: {type(err).__name__}: {err}", file=sys.stderr)
        interrupt_task(signum)

    def _call(self, task: Callable[[Context], Any], ctx: Context) -> Any:
        if self.seed_fn is not None:
            self.seed_fn(self.plan.config["seed"])
        return task(ctx)

    # ------------------------------------------------------------------ record the end

    def _stop_interrupted(self, final: dict[str, Any], clock: float, signum: int | None) -> None:
        """Record INTERRUPTED at once, then ask for a requeue when the signal and xp.requeue say so."""
        final["status"] = "INTERRUPTED"
        self.interrupted = self.finishing = True
        self._finish(final, clock)
        self._after_interrupt(signum)

    def _after_interrupt(self, signum: int | None) -> None:
        requeue_after(signum, requeue=bool(self.plan.xp.requeue), requeue_signal=self.plan.xp.requeue_signal, job=self.job)

    def _record_exception(self, final: dict[str, Any], err: BaseException) -> None:
        """FAILED with the error and its traceback, or COMPLETE for sys.exit(0)."""
        if isinstance(err, SystemExit) and not err.code:
            final["status"] = "COMPLETE"
            return
        import traceback  # only when a run fails

        final.update(status="FAILED", error={"type": type(err).__name__, "message": str(err)})
        if self.run_dir:
            text = traceback.format_exc()
            write_atomic(os.path.join(self.run_dir, METADATA_DIR, TRACEBACK_FILE), text)
            if self.capture is not None:  # Python prints it after the capture ends: keep it in stderr.log too
                self.capture.write_stderr_log(text)

    def _end(self, final: dict[str, Any], clock: float) -> None:
        """Write the final status unless done, restore the signal handlers, honour a late signal."""
        if not self.finishing:
            self.finishing = True
            self._finish(final, clock)
        restore_signal_handlers(self.previous_handlers)
        if self.pending_signal is not None:  # arrived while the final status was written
            signum, self.pending_signal = self.pending_signal, None
            self.interrupted = True
            self._after_interrupt(signum)
            raise SystemExit(128 + signum)

    def _finish(self, final: dict[str, Any], clock: float) -> None:
        """Stop the heartbeat and the capture, then write the final status."""
        end, duration = time.time(), time.monotonic() - clock
        if self.heartbeat is not None:
            self.heartbeat.follow(None)
        if self.capture is not None:
            self.capture.stop()
        if self.logger is not None:
            self.logger.close()
        if self.run_dir is None:
            return
        final.setdefault("status", "FAILED")  # a BaseException we could not classify
        final.update(end_time=format_time(end), duration_s=round(duration, 6))
        git = self._git_info()
        if git is not None:
            final["git"] = git
        self._write_info(final=True, **final)


def _warn_config_changes(run_id: int, path: str, config: dict[str, Any]) -> None:
    """Warn on stderr when a resumed run's config differs from the one it last ran with."""
    try:
        previous = read_yaml(path)
    except (OSError, TinyxpError):
        return
    if not isinstance(previous, dict) or previous == config:
        return
    changes: list[str] = []
    for key in dict.fromkeys([*iter_keys(previous), *iter_keys(config)]):
        if any(key.startswith(f"{changed}.") for changed in changes):
            continue
        (had, before), (has, after) = lookup(previous, key.split(".")), lookup(config, key.split("."))
        if (had, before) != (has, after) and not (isinstance(before, dict) and isinstance(after, dict)):
            changes.append(key)
    shown = ", ".join(
        f"{key}: {_shown_value(previous, key)} -> {_shown_value(config, key)}" for key in changes
    )
    print(f"tinyxp: warning: resuming run {run_id} with a config that differs from its last launch: {shown}",
          file=sys.stderr)


def _shown_value(config: dict[str, Any], key: str) -> str:
    found, value = lookup(config, key.split("."))
    return yaml.dump_value(value) if found else "(absent)"
