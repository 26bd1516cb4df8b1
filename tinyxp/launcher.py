"""@launch: parse the command line, plan every setting, then run each here, or hand them to a snapshot or to jobs.

    @tinyxp.launch(config_path="configs", seed_fn=None)
    def train(ctx): ...

`train()` reads sys.argv[1:]; `train(["lr=0.1"])` does the same from Python. Every
setting of a sweep is composed and validated before the first run starts; then each
run lives as run/run.py says: a directory (docs/format.md), a RUNNING info.yaml, a
heartbeat, signal handlers, and an end COMPLETE, FAILED or INTERRUPTED.
"""
from __future__ import annotations

import functools
import os
import sys
import time

from . import yaml
from ._contract import (
    INFO_FILE, JOB_ID_ENVS, LOCAL_SCHEDULER, METADATA_DIR, RANK_ENVS, RUN_DIR_ENV, SNAPSHOT_ENV, SNAPSHOT_MARKER,
)
from ._files import ensure_log_dir, find_above, read_yaml, update_info
from .config import compose, overrides, search, settings
from .config.command_line import CONFIG_OPTIONS, parse_command_line
from .errors import ConfigError, LoggerError, TinyxpError
from .run.info import format_time, no_git
from .run.run import Context, Plan, Run, parse_run_id

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from concurrent.futures import Executor
    from typing import Any, Callable

    from .config.compose import Config
    from .run.ranks import Rank

__all__ = ["Context", "launch"]

EXIT_BAD_INPUT = 2


def launch(
    config_path: str = "configs", seed_fn: Callable[[Any], Any] | None = None, *,
    seeding_function: Callable[[Any], Any] | None = None, config_name: str | None = None,
    executor: Executor | None = None,
):
    """Decorator turning task(ctx) into a program configured from the command line.

    config_path is relative to the folder of the file that defines the task;
    config_name names the primary config in it (default: config.yaml or config.json).
    The command line's --config-name/-cn, --config-path/-cp and --config-dir/-cd
    replace them. seeding_function is MLXP's name of seed_fn (give one of them). With
    executor (any concurrent.futures.Executor) every setting runs as its own process
    through it, as with xp.scheduler=local. The
    decorated function takes an optional list of arguments (default: sys.argv[1:]).
    A single run returns the task's value and re-raises its exception after recording
    it; a sweep returns the list of values (None for a failed run) and raises
    SystemExit(1) after its summary when a run failed. Bad input raises a TinyxpError
    from Python, and from the command line prints `error: <message>` and exits 2.
    """

    if seeding_function is not None:
        if seed_fn is not None:
            raise TypeError("launch() takes seed_fn or its MLXP name seeding_function, not both")
        seed_fn = seeding_function

    def decorate(task: Callable[[Context], Any]) -> Callable[..., Any]:
        script = os.path.abspath(task.__code__.co_filename)
        config_dir = os.path.join(os.path.dirname(script), config_path)

        @functools.wraps(task)
        def main(argv: list[str] | None = None) -> Any:
            from_cli = argv is None
            args = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
            try:
                plans, multirun = _plan(script, config_dir, seed_fn, args, config_name)
                if plans is None:  # --cfg
                    return None
                plans = _continue_sweep(script, plans)
                if not plans:  # every setting has its run already
                    return [] if multirun else None
                rank = _rank()
                runner = _runner(task, script, seed_fn, plans)
                status = _delegate(script, args, plans, executor, runner)
            except TinyxpError as err:
                _fail_submitted_run(err)
                if not from_cli:
                    raise
                print(f"error: {err}", file=sys.stderr)
                raise SystemExit(EXIT_BAD_INPUT) from None
            if status is not None:
                if from_cli and status:
                    raise SystemExit(status)
                return status
            try:
                return _run_all(task, script, seed_fn, plans, multirun, rank)
            except TinyxpError as err:  # bad input to tinyxp from the task, e.g. a metric that is not JSON
                if not from_cli:
                    raise
                where = _task_location(err)
                print(f"error: {where + ': ' if where else ''}{err}", file=sys.stderr)
                raise SystemExit(EXIT_BAD_INPUT) from None

        return main

    return decorate


def _plan(script: str, config_dir: str, seed_fn: Any, args: list[str], config_name: str | None = None):
    """Compose and validate every setting; (None, _) after printing them for --cfg."""

    def config_help(options: dict[str, str]) -> str:
        source = config_source(script, config_dir, config_name, options)
        return compose.describe(source[0], [], config_name=source[1], extra_dirs=source[2])

    command_line = parse_command_line(args, prog=os.path.basename(script), config_help=config_help)
    config_dir, config_name, extra_dirs = config_source(script, config_dir, config_name, command_line.config_options)
    expanded = search.expand_command_line(command_line, config_dir)
    plans = []
    xp_by_overrides: dict[tuple[str, ...], Config] = {}  # a sweep's settings mostly share their xp.* overrides
    for setting in expanded:
        xp_overrides = tuple(o.text for o in setting if o.key == "xp" or o.key.startswith("xp."))
        xp = xp_by_overrides.get(xp_overrides)
        if xp is None:
            xp = xp_by_overrides[xp_overrides] = settings.compose_xp(config_dir, setting)
        resumed = _resumed_config(config_dir, setting, xp)
        if resumed is not None:  # a resume or a rerun: the run's stored config (its info keeps its choices)
            config, choices = resumed, None
        else:
            config, choices = compose.compose_run(config_dir, setting, require_all=not command_line.show_config,
                                                  config_name=config_name, extra_dirs=extra_dirs)
        if seed_fn is not None and "seed" not in config:
            raise ConfigError(
                "Cannot call seed_fn: the config has no 'seed' key "
                "(add 'seed: 0' to the config file or '+seed=0' to the command line)"
            )
        plans.append(Plan(setting, config, xp, overrides.format_setting(setting) or "(defaults)", choices=choices,
                          config_args=_config_args(command_line.config_options)))
    if command_line.show_config:
        for index, plan in enumerate(plans, 1):
            if len(plans) > 1:
                print(f"# [{index}/{len(plans)}] {plan.label}")
            print(_dump(plan.config), end="")
        return None, False
    return plans, command_line.multirun


def config_source(script: str, config_dir: str, config_name: str | None,
                  options: dict[str, str]) -> tuple[str, str | None, list[str]]:
    """(config folder, primary config name, more folders) from the decorator and -cp, -cn, -cd.

    Raises ConfigError for a --config-dir that is not a folder.
    """
    if "config_path" in options:
        config_dir = os.path.join(os.path.dirname(script), options["config_path"])
    extra = options.get("config_dir")
    if extra is not None and not os.path.isdir(extra):
        raise ConfigError(f"Cannot find the folder {os.path.abspath(extra)!r} given by --config-dir")
    return config_dir, options.get("config_name", config_name), [] if extra is None else [os.path.abspath(extra)]


def _config_args(options: dict[str, str]) -> list[str]:
    """The command-line options that choose the same configs again, for a run's command."""
    args = []
    for name in CONFIG_OPTIONS:
        if name in options:
            value = options[name]
            args += [f"--{name.replace('_', '-')}", os.path.abspath(value) if name == "config_dir" else value]
    return args


def _continue_sweep(script: str, plans: list[Plan]) -> list[Plan]:
    """With xp.skip, the plans that still need to run: those with a run to skip left out,
    those with a run to resume given its id (run/existing.py); prints one summary line."""
    xp = plans[0].xp
    if xp.skip == "none" or not xp.logging or (xp.snapshot and not os.environ.get(SNAPSHOT_ENV)):
        return plans  # (the launch from the snapshot continues the sweep)
    from .run.existing import continue_settings  # only to continue a sweep

    decided, line = continue_settings(xp.log_dir, script, xp.skip, [plan.config for plan in plans])
    print(line, file=sys.stderr)
    kept = []
    for plan, what in zip(plans, decided):
        if what is not False:
            plan.resume_id = what
            kept.append(plan)
    return kept


def _resumed_config(config_dir: str, setting: list[Any], xp: Config) -> Config | None:
    """With xp.run_id or xp.rerun_of, a run's stored config and the setting's overrides (None: compose a new one)."""
    if not xp.logging or (xp.run_id is None and xp.rerun_of is None):
        return None
    from .run.resume import rerun_config, resumed_config  # only for a resume or a rerun

    if xp.run_id is not None:
        if xp.skip != "none":
            raise ConfigError(f"Cannot use xp.skip={xp.skip} with xp.run_id: xp.skip finds each setting's run itself")
        config = resumed_config(parse_run_id(xp.run_id), xp.log_dir, config_dir, setting, allow_changes=bool(xp.allow_changes))
        if config is not None or xp.rerun_of is None:
            return config
    return rerun_config(parse_run_id(xp.rerun_of), xp.log_dir, config_dir, setting)


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


def _fail_submitted_run(err: TinyxpError) -> None:
    """A submitted run whose job stops on bad input before the run starts ends FAILED.

    Without this the run would stay PENDING, waiting for a job that has ended.
    """
    run_dir = os.environ.get(RUN_DIR_ENV)
    if not run_dir:
        return
    try:
        if (read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE)) or {}).get("status") == "PENDING":
            update_info(run_dir, status="FAILED", end_time=format_time(time.time()),
                        error={"type": type(err).__name__, "message": str(err)})
    except (OSError, TinyxpError):  # no such run: the message printed is all there is to say
        pass


def _dump(config: Config) -> str:
    return yaml.dump(config.to_dict())


def _delegate(
    script: str, args: list[str], plans: list[Plan], executor: Executor | None, runner: Callable[[Any], Any],
) -> int | None:
    """Exit status when the runs happen elsewhere (a git snapshot, processes, a scheduler); else None."""
    xp = plans[0].xp
    in_processes = xp.scheduler == LOCAL_SCHEDULER or (executor is not None and not xp.scheduler)
    settings.check_max_parallel(xp, len(plans), processes=in_processes)
    if xp.snapshot and not os.environ.get(SNAPSHOT_ENV):
        from .run import relaunch  # subprocess and json: only for xp.snapshot=true

        return relaunch.relaunch_in_snapshot(script, args, xp)
    if in_processes and not os.environ.get(RUN_DIR_ENV):
        from .jobs import local  # threads and subprocesses: only for a sweep run as processes

        failures = local.run_local_sweep(script, [p.setting for p in plans], [p.label for p in plans], xp,
                                         executor=executor, runner=runner)
        from .run.sweep import EXIT_SWEEP_FAILED, processes_summary

        print(processes_summary(len(plans), failures), file=sys.stderr)
        if failures:
            raise SystemExit(EXIT_SWEEP_FAILED)
        return 0
    if xp.scheduler:
        from .jobs import submit  # the schedulers' tables: only for xp.scheduler

        return submit.submit_from_launcher(script, [p.setting for p in plans], [p.config for p in plans], xp,
                                           config_args=plans[0].config_args, resume_ids=[p.resume_id for p in plans])
    given = [o.text for o in plans[0].setting if o.key in ("xp.after", "xp.chain")]
    if given and not os.environ.get(RUN_DIR_ENV):
        raise ConfigError(f"Invalid {given[0]!r} for a run in this process: it orders scheduler jobs (set xp.scheduler)")
    _check_run_dirs(plans)
    return None


def _check_run_dirs(plans: list[Plan]) -> None:
    """Make sure every log directory is writable and every resumed run exists, before any run."""
    checked = set()
    resumed: dict[str, str] = {}
    for plan in plans:
        if not plan.xp.logging:
            continue
        log_dir = os.path.abspath(plan.xp.log_dir)
        if log_dir not in checked:
            ensure_log_dir(log_dir)
            checked.add(log_dir)
        if plan.xp.run_id is None:
            continue
        run_dir = os.path.join(log_dir, str(parse_run_id(plan.xp.run_id)))
        if not os.path.isdir(run_dir):
            raise LoggerError(f"Cannot resume run {plan.xp.run_id!r}: no directory {run_dir!r} (omit xp.run_id to start a new run)")
        if run_dir in resumed:
            raise ConfigError(f"Invalid sweep: runs {resumed[run_dir]!r} and {plan.label!r} would both resume into {run_dir!r}")
        resumed[run_dir] = plan.label


def _git_recorder(script_dir: str, log_dir: str) -> Callable[..., dict[str, Any] | None]:
    """What records the code a run uses: git's state, or the snapshot's the run comes from.

    Outside a git working tree and a snapshot there is nothing to record, and the git
    and snapshot modules (and the command seam) are not imported: a launch stays cheaper.
    """
    if not os.environ.get(SNAPSHOT_ENV) and find_above(script_dir, (".git", SNAPSHOT_MARKER)) is None:
        return no_git
    from .run.snapshot import start_recording

    return start_recording(script_dir, exclude=[log_dir])


def _scheduler_job() -> dict[str, Any] | None:
    """The scheduler job this process runs in; outside one, run/job.py is not even imported."""
    if not any(os.environ.get(name) for name in JOB_ID_ENVS.values()):
        return None
    from .run.job import job_from_environment

    return job_from_environment()


def _runner(task: Callable[[Context], Any], script: str, seed_fn: Any, plans: list[Plan]) -> Callable[[Any], Any]:
    """What runs one run of a local sweep in a process forked from this one, as its job would."""

    def run_in_this_process(run: Any) -> Any:
        from .jobs.submit import job_setting

        plan = plans[run.index]
        log_dir = os.path.dirname(run.run_dir)
        xp = compose.Config({**plan.xp.to_dict(), "run_id": run.run_id, "log_dir": log_dir, "scheduler": None})
        own = Plan(job_setting(plan.setting, run.run_id, log_dir), plan.config, xp, plan.label)
        recorder = _git_recorder(os.path.dirname(script), log_dir)
        return Run(own, script=script, seed_fn=seed_fn, recorder=recorder, job=_scheduler_job(), progress=None).execute(task)

    return run_in_this_process


def _rank() -> Rank | None:
    """This process's rank in a multi-process job; outside one, run/ranks.py is not even imported."""
    if not any(os.environ.get(name) for names in RANK_ENVS.values() for name in names):
        return None
    from .run.ranks import rank_from_environment

    return rank_from_environment()


def _run_all(
    task: Callable[[Context], Any], script: str, seed_fn: Any, plans: list[Plan], multirun: bool, rank: Rank | None,
) -> Any:
    recorder = _git_recorder(os.path.dirname(script), plans[0].xp.log_dir) if any(p.xp.logging for p in plans) else no_git
    job = _scheduler_job()
    if not multirun:
        return Run(plans[0], script=script, seed_fn=seed_fn, recorder=recorder, job=job, progress=None,
                   rank=rank and rank.for_setting(0)).execute(task)
    from .run.sweep import Sweep  # only for a sweep

    numbers = {id(plan): index for index, plan in enumerate(plans, 1)}  # a rank's rendezvous is per setting
    return Sweep(plans).run(lambda plan, progress: Run(
        plan, script=script, seed_fn=seed_fn, recorder=recorder, job=job, progress=progress,
        rank=rank and rank.for_setting(numbers[id(plan)]),
    ), task)
