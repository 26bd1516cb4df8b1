"""@launch and Context: the life of a run, from the command line to its final status.

    @tinyxp.launch(config_path="configs", seed_fn=None)
    def train(ctx): ...

`train()` reads sys.argv[1:]; `train(["lr=0.1"])` does the same from Python. Every
setting of a sweep is composed and validated before the first run starts; then each
run gets a directory (docs/format.md), a RUNNING info.yaml, a heartbeat, signal
handlers, and ends COMPLETE, FAILED or INTERRUPTED with its end time and duration.
"""
from __future__ import annotations

import os
import sys
import threading
import time

from ._contract import JOB_ID_ENVS, SNAPSHOT_ENV, SNAPSHOT_MARKER
from .errors import ConfigError, LoggerError, TinyxpError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    from .config.compose import Config
    from .run.logger import Logger

EXIT_BAD_INPUT = 2
EXIT_SWEEP_FAILED = 1
PREEMPT_SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1")


class Context:
    """What the task receives: config, info, logger (None with xp.logging=false), xp."""

    def __init__(self, config: Config, info: Config, logger: Optional[Logger], xp: Config) -> None:
        self.config = config
        self.info = info
        self.logger = logger
        self.xp = xp
        self._preempt_handlers: List[Callable[[], Any]] = []

    def on_preempt(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Call fn() when SIGTERM, SIGINT or SIGUSR1 arrives, before the run stops.

        Typically saves a checkpoint. Returns fn, so it also works as a decorator.
        """
        self._preempt_handlers.append(fn)
        return fn

    def __repr__(self) -> str:
        return f"Context(run_id={self.info.get('run_id')!r}, run_dir={self.info.get('run_dir')!r})"


class _Preempted(BaseException):
    """Raised in the task by SIGTERM or SIGUSR1; a BaseException so `except Exception` lets it pass."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Plan:
    """One setting of the command line with its composed config and xp settings."""

    __slots__ = ("setting", "config", "xp", "label")

    def __init__(self, setting: List[Any], config: Config, xp: Config, label: str) -> None:
        self.setting = setting
        self.config = config
        self.xp = xp
        self.label = label


def launch(config_path: str = "configs", seed_fn: Optional[Callable[[Any], Any]] = None):
    """Decorator turning task(ctx) into a program configured from the command line.

    config_path is relative to the folder of the file that defines the task. The
    decorated function takes an optional list of arguments (default: sys.argv[1:]).
    A single run returns the task's value and re-raises its exception after recording
    it; a sweep returns the list of values (None for a failed run) and raises
    SystemExit(1) after its summary when a run failed. Bad input raises a TinyxpError
    from Python, and from the command line prints `error: <message>` and exits 2.
    """
    import functools

    def decorate(task: Callable[[Context], Any]) -> Callable[..., Any]:
        script = os.path.abspath(task.__code__.co_filename)
        config_dir = os.path.join(os.path.dirname(script), config_path)

        @functools.wraps(task)
        def main(argv: Optional[List[str]] = None) -> Any:
            from_cli = argv is None
            args = sys.argv[1:] if from_cli else [str(arg) for arg in argv]
            try:
                plans, multirun = _plan(script, config_dir, seed_fn, args)
                if plans is None:  # --cfg
                    return None
                status = _delegate(script, args, plans)
            except TinyxpError as err:
                _fail_submitted_run(args, err)
                if not from_cli:
                    raise
                print(f"error: {err}", file=sys.stderr)
                raise SystemExit(EXIT_BAD_INPUT) from None
            if status is not None:
                if from_cli and status:
                    raise SystemExit(status)
                return status
            try:
                return _run_all(task, script, seed_fn, plans, multirun)
            except TinyxpError as err:  # bad input to tinyxp from the task, e.g. a metric that is not JSON
                if not from_cli:
                    raise
                where = _task_location(err)
                print(f"error: {where + ': ' if where else ''}{err}", file=sys.stderr)
                raise SystemExit(EXIT_BAD_INPUT) from None

        return main

    return decorate


def _plan(script: str, config_dir: str, seed_fn: Any, args: List[str]):
    """Compose and validate every setting; (None, _) after printing them for --cfg."""
    from .config import compose as config_module
    from .config import overrides

    def config_help() -> str:
        return _dump(config_module.compose(config_dir, [], require_all=False))

    command_line = overrides.parse_command_line(args, prog=os.path.basename(script), config_help=config_help)
    settings = overrides.expand_sweeps(command_line.overrides, multirun=command_line.multirun)
    plans = []
    for setting in settings:
        xp = config_module.compose_xp(config_dir, setting)
        config = config_module.compose(config_dir, setting, require_all=not command_line.show_config)
        if seed_fn is not None and "seed" not in config:
            raise ConfigError(
                "Cannot call seed_fn: the config has no 'seed' key "
                "(add 'seed: 0' to the config file or '+seed=0' to the command line)"
            )
        plans.append(_Plan(setting, config, xp, overrides.format_setting(setting) or "(defaults)"))
    if command_line.show_config:
        for index, plan in enumerate(plans, 1):
            if len(plans) > 1:
                print(f"# [{index}/{len(plans)}] {plan.label}")
            print(_dump(plan.config), end="")
        return None, False
    return plans, command_line.multirun


def _task_location(err: BaseException) -> str:
    """'train.py:13' for the innermost frame of err's traceback outside tinyxp, or ''."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    where = ""
    frame = err.__traceback__
    while frame is not None:
        filename = frame.tb_frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(package):
            relative = os.path.relpath(filename)
            where = f"{filename if relative.startswith('..') else relative}:{frame.tb_lineno}"
        frame = frame.tb_next
    return where


def _fail_submitted_run(args: List[str], err: TinyxpError) -> None:
    """A submitted run whose job stops on bad input before the run starts ends FAILED.

    Its job runs with xp.run_id and xp.log_dir (submit.job_tokens); without this the
    run would stay PENDING, waiting for a job that has ended.
    """
    from .config.overrides import parse_override

    found: Dict[str, Any] = {}
    for token in args:
        try:
            override = parse_override(token)
        except TinyxpError:
            continue
        if override.key in ("xp.run_id", "xp.log_dir"):
            found[override.key] = override.value
    if len(found) < 2:
        return
    from ._contract import INFO_FILE, METADATA_DIR
    from ._files import read_yaml, update_info

    run_dir = os.path.join(str(found["xp.log_dir"]), str(found["xp.run_id"]))
    try:
        if (read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE)) or {}).get("status") == "PENDING":
            update_info(run_dir, status="FAILED", end_time=format_time(time.time()),
                        error={"type": type(err).__name__, "message": str(err)})
    except (OSError, TinyxpError):  # no such run: the message printed is all there is to say
        pass


def _dump(config: Config) -> str:
    from . import yaml

    return yaml.dump(config.to_dict())


def _delegate(script: str, args: List[str], plans: List[_Plan]) -> Optional[int]:
    """Exit status when the runs happen elsewhere (a git snapshot, a scheduler); else None."""
    xp = plans[0].xp
    if xp.snapshot and not os.environ.get(SNAPSHOT_ENV):
        from .run import relaunch

        return relaunch.relaunch_in_snapshot(script, args, xp)
    if xp.scheduler:
        from .jobs import submit

        return submit.submit_from_launcher(script, [p.setting for p in plans], [p.config for p in plans], xp)
    _check_run_dirs(plans)
    return None


def _check_run_dirs(plans: List[_Plan]) -> None:
    """Make sure every log directory is writable and every resumed run exists, before any run."""
    from ._files import ensure_log_dir

    checked = set()
    resumed: Dict[str, str] = {}
    for plan in plans:
        if not plan.xp.logging:
            continue
        log_dir = os.path.abspath(plan.xp.log_dir)
        if log_dir not in checked:
            ensure_log_dir(log_dir)
            checked.add(log_dir)
        if plan.xp.run_id is None:
            continue
        run_dir = os.path.join(log_dir, str(_run_id(plan.xp.run_id)))
        if not os.path.isdir(run_dir):
            raise LoggerError(f"Cannot resume run {plan.xp.run_id!r}: no directory {run_dir!r} (omit xp.run_id to start a new run)")
        if run_dir in resumed:
            raise ConfigError(f"Invalid sweep: runs {resumed[run_dir]!r} and {plan.label!r} would both resume into {run_dir!r}")
        resumed[run_dir] = plan.label


def _run_id(value: Any) -> int:
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        raise ConfigError(f"Invalid xp.run_id {value!r}: expected a positive integer")
    return int(value)


def _run_all(task: Callable[[Context], Any], script: str, seed_fn: Any, plans: List[_Plan], multirun: bool) -> Any:
    if any(plan.xp.logging for plan in plans):
        recorder = _start_git_recording(os.path.dirname(script), plans[0].xp.log_dir)
    else:
        recorder = _no_git
    job = _job_from_environment()
    if not multirun:
        return _run_one(task, plans[0], script=script, seed_fn=seed_fn, recorder=recorder, job=job)
    import traceback

    results: List[Any] = []
    failures = []
    for index, plan in enumerate(plans, 1):
        progress = f"[{index}/{len(plans)}] {plan.label}"
        run = _Run(plan, script=script, seed_fn=seed_fn, recorder=recorder, job=job, progress=progress)
        try:
            results.append(run.execute(task))
        except (Exception, SystemExit) as err:
            if run.interrupted:  # the whole sweep is being stopped
                raise
            traceback.print_exc()
            failures.append((plan, run.shown_dir, err))
            results.append(None)
    _print_summary(len(plans), failures)
    if failures:
        raise SystemExit(EXIT_SWEEP_FAILED)
    return results


def _no_git(wait: bool = True) -> None:
    return None


def _start_git_recording(script_dir: str, log_dir: str) -> Callable[..., Optional[Dict[str, Any]]]:
    """git.start_recording(script_dir), without importing git outside a repository.

    Outside a repository and a snapshot, importing git (and the shutil and typing it
    needs) would cost a run several ms to learn that there is nothing to record.
    """
    if "tinyxp.run.git" not in sys.modules and not os.environ.get(SNAPSHOT_ENV) and not _in_work_tree(script_dir):
        return _no_git
    from .run import snapshot

    return snapshot.start_recording(script_dir, exclude=[log_dir])


def _in_work_tree(path: str) -> bool:
    """Whether a .git entry or a snapshot's description is in path or above it, without importing git.

    git.find_work_tree's test; a snapshot kept outside any repository has no .git.
    """
    path = os.path.abspath(path)
    while not (os.path.exists(os.path.join(path, ".git")) or os.path.exists(os.path.join(path, SNAPSHOT_MARKER))):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return True


def _job_from_environment() -> Optional[Dict[str, Any]]:
    """scheduler.job_from_environment(), without importing scheduler outside a job.

    Its module builds NamedTuples (a few ms); no job is known without one of JOB_ID_ENVS.
    """
    if "tinyxp.run.job" not in sys.modules and not any(os.environ.get(name) for name in JOB_ID_ENVS.values()):
        return None
    from .run import job

    return job.job_from_environment()


def _print_summary(total: int, failures: List[Any]) -> None:
    lines = [f"sweep: {total} runs, {total - len(failures)} complete, {len(failures)} failed"]
    for plan, shown_dir, err in failures:
        lines.append(f"  FAILED {plan.label} -> {shown_dir}: {type(err).__name__}: {err}")
    print("\n".join(lines), file=sys.stderr)


def _run_one(task: Callable[[Context], Any], plan: _Plan, **options: Any) -> Any:
    return _Run(plan, progress=None, **options).execute(task)


class _Run:
    """One run of the task: its directory, info.yaml, heartbeat, signals and captured output."""

    def __init__(self, plan: _Plan, *, script: str, seed_fn: Any, recorder: Any, job: Any, progress: Optional[str]) -> None:
        self.plan = plan
        self.script = script
        self.seed_fn = seed_fn
        self.recorder = recorder
        self.job = job
        self.progress = progress
        self.run_dir: Optional[str] = None
        self.shown_dir = "(not logged)"
        self.snapshot_git: Optional[Dict[str, Any]] = None
        self.preempting = False
        self.interrupted = False
        self.finishing = False
        self.pending_signal: Optional[int] = None
        self.info: Dict[str, Any] = {}
        self.info_lock = threading.Lock()
        self.closed = False
        self.git_pending = False

    def execute(self, task: Callable[[Context], Any]) -> Any:
        from .config.compose import Config

        xp = self.plan.xp
        start, clock = time.time(), time.monotonic()
        info = self._base_info(start)
        logger = None
        if xp.logging:
            from .run.logger import Logger

            info = self._open_run_dir(info)
            logger = Logger(self.run_dir)
        if self.progress:
            print(f"{self.progress} -> {self.shown_dir}", file=sys.stderr)
        ctx = Context(self.plan.config, Config(info), logger, xp)
        heartbeat = self._start_heartbeat() if self.run_dir else None
        tees = self._start_capture() if self.run_dir and xp.capture_output else None
        previous_handlers = self._install_signal_handlers(ctx)
        final: Dict[str, Any] = {}
        try:
            if self.seed_fn is not None:
                self.seed_fn(self.plan.config["seed"])
            result = task(ctx)
            final["status"] = "COMPLETE"
            return result
        except (_Preempted, KeyboardInterrupt) as err:
            final["status"] = "INTERRUPTED"
            self.interrupted = self.finishing = True
            self._finish(final, start, clock, heartbeat, tees, logger)
            self._after_interrupt(getattr(err, "signum", None))
            if isinstance(err, _Preempted):
                raise SystemExit(128 + err.signum) from None
            raise
        except BaseException as err:
            if isinstance(err, SystemExit) and not err.code:
                final["status"] = "COMPLETE"
                raise
            import traceback

            final.update(status="FAILED", error={"type": type(err).__name__, "message": str(err)})
            if self.run_dir:
                from ._contract import METADATA_DIR
                from ._files import write_atomic

                text = traceback.format_exc()
                write_atomic(os.path.join(self.run_dir, METADATA_DIR, "traceback.txt"), text)
                if tees is not None:  # Python prints it after the capture ends: keep it in stderr.log too
                    tees[1][1].write(text)
            raise
        finally:
            if not self.finishing:
                self.finishing = True
                self._finish(final, start, clock, heartbeat, tees, logger)
            _restore_signal_handlers(previous_handlers)
            if self.pending_signal is not None:  # arrived while the final status was written
                signum, self.pending_signal = self.pending_signal, None
                self.interrupted = True
                self._after_interrupt(signum)
                raise SystemExit(128 + signum)

    def _base_info(self, start: float) -> Dict[str, Any]:
        from . import __version__
        from .config.overrides import setting_tokens

        work_dir = os.getcwd()
        tokens = setting_tokens(self.plan.setting)
        info: Dict[str, Any] = {
            "run_id": None,
            "run_dir": None,
            "log_dir": os.path.abspath(self.plan.xp.log_dir) if self.plan.xp.logging else None,
            "status": "RUNNING",
            "start_time": format_time(start),
            "end_time": None,
            "duration_s": None,
            "hostname": _hostname(),
            "user": _user(),
            "pid": os.getpid(),
            "python": {"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]},
            "argv": list(sys.argv),
            "overrides": tokens,
            "command": _command(work_dir, self.script, tokens),
            "work_dir": work_dir,
            "script": self.script,
            "tinyxp_version": __version__,
            "restarts": 0,
        }
        if self.job:
            info["scheduler"] = self.job
        return info

    def _open_run_dir(self, info: Dict[str, Any]) -> Dict[str, Any]:
        """Allocate (or reopen with xp.run_id) the run directory and write its metadata."""
        from ._contract import INFO_FILE, METADATA_DIR
        from ._files import allocate_run_dir, read_yaml, write_yaml

        xp = self.plan.xp
        if xp.run_id is None:
            run_id, run_dir = allocate_run_dir(xp.log_dir)
            os.mkdir(os.path.join(run_dir, METADATA_DIR))
        else:
            run_id = _run_id(xp.run_id)
            run_dir = os.path.join(info["log_dir"], str(run_id))
            os.makedirs(os.path.join(run_dir, METADATA_DIR), exist_ok=True)
            try:
                old = read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE)) or {}
            except FileNotFoundError:
                old = {}
            restarts = old.get("restarts", 0)
            if old and old.get("status") != "PENDING":  # a PENDING run (submitted) starts for the first time
                restarts += 1
            old.pop("error", None)
            try:  # the previous failure's traceback goes with its error (a COMPLETE run has none)
                os.remove(os.path.join(run_dir, METADATA_DIR, "traceback.txt"))
            except FileNotFoundError:
                pass
            info = {**old, **info, "restarts": restarts}
            _warn_config_changes(run_id, os.path.join(run_dir, METADATA_DIR, "config.yaml"), self.plan.config.to_dict())
        self.run_dir = run_dir
        self.shown_dir = os.path.normpath(os.path.join(xp.log_dir, str(run_id)))
        info.update(run_id=run_id, run_dir=run_dir)
        metadata = os.path.join(run_dir, METADATA_DIR)
        write_yaml(os.path.join(metadata, "config.yaml"), self.plan.config.to_dict())
        write_yaml(os.path.join(metadata, "xp.yaml"), xp.to_dict())
        if os.environ.get(SNAPSHOT_ENV):  # else None, without importing git
            from .run import snapshot

            self.snapshot_git = snapshot.snapshot_info_for_run(run_dir)
        early_git = self._git_info(wait=False)  # HEAD at once; the dirty state once `git status` answers
        if early_git is not None:
            info["git"] = early_git
        self.git_pending = early_git is not None and "dirty" not in early_git
        self.info = info
        self._write_info()
        return info

    def _write_info(self, *, final: bool = False, **fields: Any) -> None:
        """Set fields of info.yaml and rewrite it; the heartbeat thread writes too, hence the lock."""
        from ._contract import INFO_FILE, METADATA_DIR
        from ._files import write_yaml

        with self.info_lock:
            if self.closed:  # the final status is written: a late heartbeat thread changes nothing
                return
            self.info.update(fields)
            write_yaml(os.path.join(self.run_dir, METADATA_DIR, INFO_FILE), self.info)
            self.closed = final

    def _git_info(self, *, wait: bool = True) -> Optional[Dict[str, Any]]:
        git = self.recorder(wait=wait)
        if git is None and not self.snapshot_git:
            return None
        return {**(git or {}), **(self.snapshot_git or {})}

    def _start_heartbeat(self) -> "_Heartbeat":
        """Let the process's heartbeat thread follow this run (see _Heartbeat)."""
        global _heartbeat
        if _heartbeat is None:
            _heartbeat = _Heartbeat()
        _heartbeat.follow(self)
        return _heartbeat

    def record_git(self) -> None:
        """In the heartbeat thread: write info.git as soon as `git status` has answered."""
        try:
            git = self._git_info()
            if git is not None:
                self._write_info(git=git)
        except Exception as err:  # never kill the run for its bookkeeping
            print(f"tinyxp: warning: cannot record git state: {err}", file=sys.stderr)

    def _start_capture(self):
        streams = (sys.stdout, sys.stderr)
        files = [open(os.path.join(self.run_dir, name), "a", encoding="utf-8", buffering=1) for name in ("stdout.log", "stderr.log")]
        sys.stdout, sys.stderr = _Tee(streams[0], files[0]), _Tee(streams[1], files[1])
        return streams, files

    def _install_signal_handlers(self, ctx: Context) -> Dict[int, Any]:
        import signal

        def handle(signum: int, frame: Any) -> None:
            if self.finishing:
                self.pending_signal = signum
                return
            if self.preempting:
                return
            self.preempting = True
            for fn in ctx._preempt_handlers:
                try:
                    fn()
                except Exception as err:
                    print(f"tinyxp: warning: on_preempt handler {fn!r} failed: {type(err).__name__}: {err}", file=sys.stderr)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise _Preempted(signum)

        previous = {}
        for name in PREEMPT_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                previous[signum] = signal.signal(signum, handle)
            except ValueError:  # not the main thread: signals stay with their owner
                break
        return previous

    def _after_interrupt(self, signum: Optional[int]) -> None:
        import signal

        if signum != getattr(signal, "SIGUSR1", None) or not self.plan.xp.requeue:
            return
        if not self.job:
            print("tinyxp: warning: xp.requeue is set but this process is not a scheduler job", file=sys.stderr)
            return
        from .run.job import requeue_current_job

        try:
            requeue_current_job(self.job)
        except TinyxpError as err:  # the run is INTERRUPTED already: say why it will not come back
            print(f"tinyxp: error: {err}", file=sys.stderr)

    def _finish(self, final: Dict[str, Any], start: float, clock: float, heartbeat: Any, tees: Any, logger: Any) -> None:
        """Stop the heartbeat and the capture, then write the final status."""
        end, duration = time.time(), time.monotonic() - clock
        if heartbeat is not None:
            heartbeat.follow(None)
        if tees is not None:
            streams, files = tees
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = streams
            for file in files:
                file.close()
        if logger is not None:
            logger.close()
        if self.run_dir is None:
            return
        final.setdefault("status", "FAILED")  # a BaseException we could not classify
        final.update(end_time=format_time(end), duration_s=round(duration, 6))
        git = self._git_info()
        if git is not None:
            final["git"] = git
        self._write_info(final=True, **final)


def _warn_config_changes(run_id: int, path: str, config: Dict[str, Any]) -> None:
    """Warn on stderr when a resumed run's config differs from the one it last ran with."""
    from ._files import read_yaml
    from ._values import iter_keys, lookup

    try:
        previous = read_yaml(path)
    except (OSError, TinyxpError):
        return
    if not isinstance(previous, dict) or previous == config:
        return
    changes: List[str] = []
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


def _shown_value(config: Dict[str, Any], key: str) -> str:
    from . import yaml
    from ._values import lookup

    found, value = lookup(config, key.split("."))
    return yaml.dump_value(value) if found else "(absent)"


class _Heartbeat:
    """The process's one heartbeat thread (a daemon), following the current run.

    It records the run's git state when `git status` was still running at the start,
    then touches <run>/heartbeat every xp.heartbeat_interval seconds; the file appears
    at the first beat (until then info.yaml, just written, is as fresh). One thread
    serves all runs of a sweep, and is woken only when there is something to do: a
    thread switch per run would cost more than the run's own bookkeeping.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._run: Optional[_Run] = None
        self._idle = True
        threading.Thread(target=self._loop, name="tinyxp-heartbeat", daemon=True).start()

    def follow(self, run: Optional[_Run]) -> None:
        """Beat for run from now on (None: for no run); the previous run gets no more beats."""
        with self._changed:
            self._run = run
            if run is not None and (self._idle or run.git_pending):
                self._changed.notify()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while self._run is None:
                    self._idle = True
                    self._changed.wait()
                self._idle = False
                run = self._run
            if run.git_pending:
                run.record_git()
            path = os.path.join(run.run_dir, "heartbeat")
            interval = float(run.plan.xp.heartbeat_interval)
            while True:
                with self._changed:
                    if self._run is run:
                        self._changed.wait(interval)
                    if self._run is not run:
                        break
                _touch(path)


_heartbeat: Optional[_Heartbeat] = None


class _Tee:
    """A text stream writing to the console stream and to a log file."""

    def __init__(self, stream: Any, file: Any) -> None:
        self._stream = stream
        self._file = file

    def write(self, text: str) -> int:
        self._file.write(text)
        return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._file.flush()
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, ... of the console
        return getattr(self._stream, name)


def _restore_signal_handlers(previous: Dict[int, Any]) -> None:
    if not previous:
        return
    import signal

    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _touch(path: str) -> None:
    try:
        try:
            os.utime(path)
        except FileNotFoundError:
            with open(path, "a"):
                pass
    except OSError:  # the run directory was removed under us: nothing to keep alive
        pass


def format_time(timestamp: float) -> str:
    """ISO 8601 local time with microseconds and UTC offset, without importing datetime."""
    local = time.localtime(timestamp)
    offset = local.tm_gmtoff or 0
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    micros = int((timestamp % 1) * 1_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', local)}.{micros:06d}{sign}{hours:02d}:{minutes:02d}"


def _hostname() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _user() -> Optional[str]:
    """The login name as getpass.getuser finds it, without importing getpass."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        user = os.environ.get(name)
        if user:
            return user
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return None


def _command(work_dir: str, script: str, tokens: List[str]) -> str:
    """A shell command that reproduces one run: cd <work_dir> && <python> <script> <tokens>."""
    relative = os.path.relpath(script, work_dir)
    shown = script if relative.startswith("..") else relative
    words = [sys.executable, shown, *tokens]
    from shlex import quote

    return f"cd {quote(work_dir)} && {' '.join(quote(word) for word in words)}"
