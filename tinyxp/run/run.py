"""The life of one run in this process: its directory, its info.yaml, its end.

Run.execute takes one setting from its start to its final status, in four steps a
reader can follow: open (or resume) the run directory and write the RUNNING info,
watch the run (heartbeat, output capture, signal handlers), call the task, record the
end (COMPLETE, FAILED or INTERRUPTED, with its end time and duration).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

from .._contract import CONFIG_FILE, INFO_FILE, METADATA_DIR, SNAPSHOT_ENV, TRACEBACK_FILE, XP_FILE
from .._files import allocate_run_dir, os_reason, read_run_yaml, update_notes, write_atomic, write_yaml
from ..config.compose import Config
from ..config.resume import changed_keys, config_hash
from ..config.overrides import setting_tokens
from ..errors import ConfigError, LoggerError
from .history import finish_fields
from .info import format_time, new_run_info, shell_command, write_final_info
from .lifecycle import (
    Capture, Heartbeat, Preempted, heartbeat, install_signal_handlers, interrupt_task, requeue_after,
    restore_signal_handlers,
)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, NoReturn

    from .logger import Logger
    from .ranks import Rank


class Context:
    """What the task receives: config, info, logger (None with xp.logging=false), xp."""

    def __init__(self, config: Config, info: Config, logger: Logger | None, xp: Config) -> None:
        self.config = config
        self.info = info
        self.logger = logger
        self.xp = xp
        self._preempt_handlers: list[Callable[[], Any]] = []

    @property
    def mlxp(self) -> Config:
        """ctx.xp by its MLXP name, for tasks ported from MLXP."""
        return self.xp

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

    __slots__ = ("setting", "config", "xp", "label", "choices", "config_args", "resume_id")

    def __init__(self, setting: list[Any], config: Config, xp: Config, label: str, *,
                 choices: dict[str, Any] | None = None, config_args: list[str] | None = None) -> None:
        self.setting = setting
        self.config = config
        self.xp = xp
        self.label = label
        self.choices = choices or {}            # config group -> option (info.choices)
        self.config_args = config_args or []    # --config-name and the like, for the command
        self.resume_id: int | None = None  # the run xp.skip resumes for this setting


def parse_run_id(value: Any) -> int:
    """xp.run_id as an int; raises ConfigError unless it is a positive integer."""
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        raise ConfigError(f"Invalid xp.run_id {value!r}: expected a positive integer")
    return int(value)


class Run:
    """One run of the task: its directory, info.yaml, heartbeat, signals and captured output."""

    def __init__(
        self, plan: Plan, *, script: str, seed_fn: Any, recorder: Any, job: Any, progress: str | None,
        rank: Rank | None = None,
    ) -> None:
        self.plan = plan
        self.rank = rank
        self.attached = rank is not None and rank.rank > 0  # another rank's run: rank 0 records it
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
        self.starting = False
        self.status: str | None = None  # the final status, once written
        self.stop_signal: int | None = None  # the signal that stopped the process, if one did
        self.preempting = False
        self.interrupted = False
        self.finishing = False
        self.pending_signal: int | None = None
        self.info: dict[str, Any] = {}
        self.info_lock = threading.Lock()
        self.closed = False
        self.created_dir: str | None = None  # the run directory this start created, removed if the start fails
        self.git_pending = False
        self.resumed = False

    @property
    def heartbeat_interval(self) -> float:
        return float(self.plan.xp.heartbeat_interval)

    def execute(self, task: Callable[[Context], Any]) -> Any:
        """Run the task once and record how it ended; returns its value, re-raises its exception.

        A preemption signal ends the process with SystemExit(128 + signal number).
        """
        start, clock = time.time(), time.monotonic()
        ctx = self._start(start)
        final: dict[str, Any] = {}
        try:
            self._watch()
            self._deliver_pending_signal()
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

    def _start(self, start: float) -> Context:
        """Open the run, its signal handlers installed first: a signal meanwhile waits.

        A signal that arrives while the run directory and its info are written is held
        until they are whole, then stops the run (INTERRUPTED, _deliver_pending_signal);
        when the start fails, it is sent again to this process once the previous
        handlers are back.
        """
        self.starting = True
        self.previous_handlers = install_signal_handlers(self._handle_signal, self.plan.xp.requeue_signal)
        try:
            ctx = self._open(start)
        except BaseException:
            restore_signal_handlers(self.previous_handlers)
            if self.pending_signal is not None:
                os.kill(os.getpid(), self.pending_signal)
            raise
        return ctx

    def _deliver_pending_signal(self) -> None:
        """Let signals through (inside execute's try); one that came while the run was opened stops it now."""
        self.starting = False
        if self.pending_signal is not None:
            signum, self.pending_signal = self.pending_signal, None
            self._handle_signal(signum, None)

    def _open(self, start: float) -> Context:
        """The task's Context, after opening the run directory (xp.logging) and writing its info."""
        xp = self.plan.xp
        info = self._new_info(start)
        if xp.logging:
            from .logger import Logger  # json and the artifact formats: only for the runs that log

            try:
                info = self._attach(start) if self.attached else self._open_run_dir(info)
            except BaseException as err:
                self._abandon_start(err)
            self.logger = Logger(info["run_dir"], rank=self.rank.rank if self.rank else 0, live=True)
        if self.progress and not self.attached:
            print(f"{self.progress} -> {self.shown_dir}", file=sys.stderr)
        elif self.run_dir and not self.attached and _is_terminal(sys.stderr):  # a pipe or a job's log keeps only the task's output
            print(f"tinyxp: run {info['run_id']} -> {self.shown_dir}", file=sys.stderr)
        self.ctx = Context(self.plan.config, Config({**info, "rank": self.rank.rank if self.rank else 0}), self.logger, xp)
        return self.ctx

    def _attach(self, start: float) -> dict[str, Any]:
        """Another rank's info: that of the run rank 0 created (xp.run_id, or its rendezvous file)."""
        from .ranks import find_run

        assert self.rank is not None
        log_dir = os.path.abspath(self.plan.xp.log_dir)
        run_id = self.plan.xp.run_id
        run_id = parse_run_id(run_id) if run_id is not None else find_run(log_dir, self.rank, started=start)
        run_dir = os.path.join(log_dir, str(run_id))
        self.run_dir = run_dir
        self.shown_dir = os.path.normpath(os.path.join(self.plan.xp.log_dir, str(run_id)))
        return dict(read_run_yaml(run_dir, os.path.join(run_dir, METADATA_DIR, INFO_FILE)) or {}, run_id=run_id, run_dir=run_dir)

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
            command=shell_command(work_dir, [sys.executable, shown_script, *self.plan.config_args, *tokens]),
            work_dir=work_dir,
            script=self.script,
            start=start,
        )
        if self.plan.choices:
            info["choices"] = dict(self.plan.choices)
        info["heartbeat_interval"] = self.plan.xp.heartbeat_interval  # the reader's LOST allows a few of them
        if self.job:
            info["scheduler"] = self.job
        info["last_launch_time"] = info["start_time"]
        if self.plan.xp.logging:
            info["config_hash"] = config_hash(self.plan.config)
        if self.plan.xp.rerun_of is not None:
            info["rerun_of"] = parse_run_id(self.plan.xp.rerun_of)
        if self.rank:
            info["ranks"] = self.rank.record()
        return info

    def _open_run_dir(self, info: dict[str, Any]) -> dict[str, Any]:
        """Allocate (or reopen with xp.run_id) the run directory and write its metadata."""
        xp = self.plan.xp
        if xp.run_id is None and self.plan.resume_id is None:
            run_id, run_dir = allocate_run_dir(xp.log_dir)
            self.created_dir = run_dir
            os.mkdir(os.path.join(run_dir, METADATA_DIR))
            return self._write_metadata(run_id, run_dir, info)
        from .resume import launch_lock  # fcntl: only for a resume

        run_id = parse_run_id(xp.run_id if xp.run_id is not None else self.plan.resume_id)
        run_dir = os.path.join(info["log_dir"], str(run_id))
        os.makedirs(os.path.join(run_dir, METADATA_DIR), exist_ok=True)
        with launch_lock(run_dir):  # read, check and rewrite info.yaml as one step among resuming processes
            return self._write_metadata(run_id, run_dir, self._resume(run_id, run_dir, info))

    def _write_metadata(self, run_id: int, run_dir: str, info: dict[str, Any]) -> dict[str, Any]:
        xp = self.plan.xp
        self.run_dir = run_dir
        self.shown_dir = os.path.normpath(os.path.join(xp.log_dir, str(run_id)))
        info.update(run_id=run_id, run_dir=run_dir)
        metadata = os.path.join(run_dir, METADATA_DIR)
        write_yaml(os.path.join(metadata, CONFIG_FILE), self.plan.config.to_dict())
        write_yaml(os.path.join(metadata, XP_FILE), xp.to_dict())
        if xp.tags:
            update_notes(run_dir, add=xp.tags)
        if os.environ.get(SNAPSHOT_ENV):
            from .snapshot import snapshot_info_for_run  # git: only for a run from a snapshot

            self.snapshot_git = snapshot_info_for_run(run_dir)
        early_git = self._git_info(wait=False)  # HEAD at once; the dirty state once `git status` answers
        if early_git is not None:
            self._set_git(info, early_git)
        self.git_pending = early_git is not None and "dirty" not in early_git
        self.info = info
        self._write_info()
        if self.rank:
            from .ranks import publish_run

            publish_run(info["log_dir"], self.rank, run_id)
        return info

    def _abandon_start(self, err: BaseException) -> NoReturn:
        """Remove the run directory this start created (nothing half-made stays); an OSError becomes a LoggerError."""
        if self.created_dir is not None:
            import shutil  # only when a start fails

            shutil.rmtree(self.created_dir, ignore_errors=True)
            self.run_dir = None
        if isinstance(err, OSError):
            where = self.run_dir if self.created_dir is None and self.run_dir else os.path.abspath(self.plan.xp.log_dir)
            raise LoggerError(f"Cannot start a run in {where!r}: {os_reason(err)}") from None
        raise err

    def _resume(self, run_id: int, run_dir: str, info: dict[str, Any]) -> dict[str, Any]:
        """The info of a run started again with xp.run_id: its record, with this launch in its history.

        A PENDING run (submitted, starting for the first time) is started as a new run,
        keeping what its submission recorded. Raises LoggerError when the run is alive
        (unless xp.force=true).
        """
        from .history import resumed_info
        from .resume import check_not_alive, print_changes, read_stored

        old = read_stored(run_id, run_dir, INFO_FILE)
        if not isinstance(old, dict) or (old.get("status") == "PENDING" and not old.get("launches")):
            return {**(old if isinstance(old, dict) else {}), **info, "restarts": 0}
        check_not_alive(run_id, run_dir, old, self.job, force=bool(self.plan.xp.force))
        stored = read_stored(run_id, run_dir, CONFIG_FILE)
        changed = changed_keys(stored, self.plan.config.to_dict()) if isinstance(stored, dict) else {}
        if changed:
            print_changes(run_id, changed)
        self.resumed = True
        return resumed_info(old, info, changed=changed, run_dir=run_dir)

    def _set_git(self, info: dict[str, Any], git: dict[str, Any]) -> None:
        """info.git, or for a resumed run (whose first launch's git stays) its latest launch's git."""
        if self.resumed and info.get("launches"):
            info["launches"][-1]["git"] = git
        else:
            info["git"] = git

    def _write_info(self, *, final: bool = False, **fields: Any) -> None:
        """Set fields of info.yaml and rewrite it; the heartbeat thread writes too, hence the lock."""
        with self.info_lock:
            if self.closed:  # the final status is written: a late heartbeat thread changes nothing
                return
            self.info.update(fields)
            path = os.path.join(str(self.run_dir), METADATA_DIR, INFO_FILE)
            if final:
                self.closed = True
                write_final_info(path, self.info)
            else:
                write_yaml(path, self.info)

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
                with self.info_lock:
                    self._set_git(self.info, git)
                self._write_info()
        except Exception as err:  # never kill the run for its bookkeeping
            print(f"tinyxp: warning: cannot record git state: {err}", file=sys.stderr)

    # ------------------------------------------------------------------ watch and run

    def _watch(self) -> None:
        """Start the heartbeat and the output capture (logged runs)."""
        if self.run_dir and not self.attached:
            self.heartbeat = heartbeat()
            self.heartbeat.follow(self)
            if self.plan.xp.capture_output:
                self.capture = Capture(self.run_dir)

    def _handle_signal(self, signum: int, frame: Any) -> None:
        if self.starting or self.finishing:  # held until the run's files are whole
            if self.pending_signal is None:
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
        self.stop_signal = signum or signal.SIGINT
        self._finish(final, clock)
        self._after_interrupt(signum)

    def _after_interrupt(self, signum: int | None) -> None:
        if self.attached:  # rank 0 asks for the job's requeue, once
            return
        requeue_after(signum, requeue=bool(self.plan.xp.requeue), requeue_signal=self.plan.xp.requeue_signal, job=self.job)

    def _record_exception(self, final: dict[str, Any], err: BaseException) -> None:
        """FAILED with the error and its traceback, or COMPLETE for sys.exit(0)."""
        if isinstance(err, SystemExit) and not err.code:
            final["status"] = "COMPLETE"
            return
        import traceback  # only when a run fails

        final.update(status="FAILED", error={"type": type(err).__name__, "message": str(err)})
        if self.run_dir and not self.attached:
            text = traceback.format_exc()
            path = os.path.join(self.run_dir, METADATA_DIR, TRACEBACK_FILE)
            try:
                write_atomic(path, text)
            except OSError as write_error:  # a full disk: info.yaml still gets the error
                print(f"tinyxp: warning: cannot save the traceback to {path}: {os_reason(write_error)}", file=sys.stderr)
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
            self.stop_signal = signum
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
        self.status = final.setdefault("status", "FAILED")  # FAILED: a BaseException we could not classify
        if self.run_dir is None or self.attached:
            return
        final.update(end_time=format_time(end), duration_s=round(duration, 6))
        git = self._git_info()
        if git is not None:
            with self.info_lock:
                self._set_git(self.info, git)
        self._write_info(final=True, **finish_fields(self.info, final))


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
