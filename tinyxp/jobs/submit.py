"""Submission of sweeps as jobs, from the launcher (xp.scheduler); jobscript.py reads `tinyxp sub`'s scripts.

Every setting gets a run directory, allocated and written (info.yaml PENDING,
script.sh) before anything is submitted; a job then runs the task with that setting
plus `xp.run_id=<id> xp.log_dir=<abs> xp.scheduler=null`, so it fills its own
directory. A submission that fails marks the runs it leaves unsubmitted FAILED and
raises SchedulerError naming the jobs already submitted.
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from collections import namedtuple

from .._contract import (
    CONFIG_FILE, DEFAULT_REQUEUE_SIGNAL, DEFAULT_SIGNAL_GRACE, INFO_FILE, METADATA_DIR, RUN_DIR_ENV, SCRIPT_FILE, SNAPSHOT_ENV,
    STDERR_FILE, STDOUT_FILE,
    TINYXP_DIR, XP_FILE,
)
from .._files import (
    allocate_run_dir, ensure_log_dir, make_executable, next_free_run_id, read_yaml, update_info, update_notes, write_atomic,
    write_yaml,
)
from ..config.resume import config_hash
from ..config.settings import xp_setting
from ..config.overrides import make_override, setting_tokens
from ..errors import SchedulerError, TinyxpError
from ..run.info import new_run_info, shell_command
from .backends import (
    JobSpec, Task, array_log_paths, check_commands, check_requeue_signal, get_backend, max_array_size, owned_option, render_script,
    submit_script, task_job_id,
)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from ..config.overrides import Override

JOBS_DIR = os.path.join(TINYXP_DIR, "jobs")  # in the log dir: array scripts and the scheduler's own logs
JOB_KEYS = ("xp.scheduler", "xp.run_id", "xp.log_dir", "xp.skip", "xp.after", "xp.chain")  # submission's own: the job gets none of them


Submission = namedtuple(
    "Submission",
    "scheduler log_dir name command settings work_dir directives setup after shebang array max_parallel requeue "
    "signal_grace configs script xp git resume_ids after_jobs chain requeue_signal",
    defaults=((), (), (), "#!/bin/bash", False, None, False, DEFAULT_SIGNAL_GRACE, None, None, None, None, None, (), 1,
              DEFAULT_REQUEUE_SIGNAL),
)
Submission.__doc__ = """A batch of runs to submit: one python command, its settings and how its jobs look.

command is everything before the overrides ([env..., python, options..., script]);
settings the parsed overrides (Override) of each setting; configs the composed config of each;
script the python script when command does not end with it; xp the xp settings written
to xp.yaml (launcher); git info.git at submission, for the PENDING runs; resume_ids per
setting the id of its existing run to submit again (xp.skip), or None for a new run;
after_jobs the job ids the jobs wait for (xp.after); chain the number of jobs per job
script, each starting when the previous has ended (xp.chain).
"""

Submitted = namedtuple("Submitted", "run_id run_dir job_id script chained", defaults=((),))


def without_job_keys(setting: Sequence[Override], keys: Sequence[str] = JOB_KEYS) -> list[Override]:
    """The setting without the overrides of keys (by default those submission sets for the job)."""
    return [override for override in setting if override.key not in keys]


def job_setting(setting: Sequence[Override], run_id: int, log_dir: str) -> list[Override]:
    """The setting of the job: its own run id and log dir, the scheduler off."""
    own = [make_override("set", "xp.run_id", run_id), make_override("set", "xp.log_dir", log_dir),
           make_override("set", "xp.scheduler", None)]
    return [*without_job_keys(setting), *own]


def job_tokens(setting: Sequence[Override], run_id: int, log_dir: str) -> list[str]:
    """The setting's tokens for the job (job_setting's)."""
    return setting_tokens(job_setting(setting, run_id, log_dir))


def to_plain(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def _pending_info(sweep: Submission, run_id: int, run_dir: str, setting: Sequence[Override]) -> dict[str, Any]:
    script = sweep.script or sweep.command[-1]
    tokens = setting_tokens(without_job_keys(setting))
    info = new_run_info(
        status="PENDING", run_id=run_id, run_dir=run_dir, log_dir=sweep.log_dir, overrides=tokens,
        command=shell_command(sweep.work_dir, [*sweep.command, *tokens]),
        work_dir=sweep.work_dir, script=os.path.abspath(os.path.join(sweep.work_dir, script)), submitted=time.time(),
    )
    if sweep.git:
        info["git"] = dict(sweep.git)
    info["scheduler"] = {"name": sweep.scheduler, "job_id": None, "array_job_id": None, "array_task_id": None}
    return info


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def prepare_runs(sweep: Submission, made: list[str] | None = None,
                 resubmitted: list[tuple[str, dict[str, Any]]] | None = None) -> list[tuple[int, str]]:
    """Write the run directory of every setting of sweep (info.yaml PENDING): a new one, or
    with sweep.resume_ids an existing run's, submitted again (its earlier launches kept).

    Returns their (run_id, run_dir) pairs. The new run directories are appended to made
    and the existing runs, with their info before, to resubmitted; without those lists
    (the local scheduler) an error undoes what was written itself.
    """
    undo_here = made is None
    made = [] if made is None else made
    resubmitted = [] if resubmitted is None else resubmitted
    runs: list[tuple[int, str]] = []
    try:
        for i, setting in enumerate(sweep.settings):
            existing = sweep.resume_ids[i] if sweep.resume_ids else None
            if existing is not None:
                runs.append((existing, _resubmit(sweep, existing, resubmitted)))
                continue
            run_id, run_dir = allocate_run_dir(sweep.log_dir)
            made.append(run_dir)
            runs.append((run_id, run_dir))
            os.makedirs(os.path.join(run_dir, METADATA_DIR), exist_ok=True)
            if sweep.configs is not None:
                write_yaml(os.path.join(run_dir, METADATA_DIR, CONFIG_FILE), to_plain(sweep.configs[i]))
            if sweep.xp is not None:
                write_yaml(os.path.join(run_dir, METADATA_DIR, XP_FILE), to_plain(sweep.xp))
                if xp_setting(sweep.xp, "tags"):  # shown while PENDING; the job adds them again, harmlessly
                    update_notes(run_dir, add=xp_setting(sweep.xp, "tags"))
            info = _pending_info(sweep, run_id, run_dir, setting)
            if sweep.configs is not None:  # to find the setting's run again (xp.skip)
                info["config_hash"] = config_hash(sweep.configs[i])
            write_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE), info)
    except BaseException:
        if undo_here:
            _undo(made, resubmitted)
        raise
    return runs


def _undo(made: Sequence[str], resubmitted: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Remove the run directories and scripts a failed preparation made; give resubmitted runs their info back."""
    import shutil  # only to clean up after a failure

    for run_dir, before in resubmitted:
        write_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE), before)
    for path in made:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.unlink(path)


def prepare(sweep: Submission, *, run_ids: Sequence[int] | None = None, script_dir: str | None = None) -> list[tuple[list[tuple[int, str]], str, str]]:
    """Write every run directory and job script of sweep; nothing is submitted.

    Returns one (runs, script path, script text) per job to submit, runs being the
    (run_id, run_dir) pairs it covers. With run_ids (a dry run) no run directory is
    allocated and the scripts go to script_dir. On an error the run directories made
    so far are removed.
    """
    get_backend(sweep.scheduler)  # an unknown scheduler fails before any run directory exists
    if sweep.requeue:
        check_requeue_signal(sweep.scheduler, sweep.requeue_signal)
    dry = run_ids is not None
    made: list[str] = []
    resubmitted: list[tuple[str, dict[str, Any]]] = []  # (run dir, its info before) of the existing runs
    try:
        if run_ids is not None:
            runs = [(run_id, os.path.join(sweep.log_dir, str(run_id))) for run_id in run_ids[:len(sweep.settings)]]
        else:
            runs = prepare_runs(sweep, made, resubmitted)
        tasks = [
            Task(run_dir, [*sweep.command, *job_tokens(setting, run_id, sweep.log_dir)])
            for (run_id, run_dir), setting in zip(runs, sweep.settings)
        ]
        common = dict(
            scheduler=sweep.scheduler, name=sweep.name, work_dir=sweep.work_dir, directives=sweep.directives,
            setup=sweep.setup, after=sweep.after, requeue=sweep.requeue, signal_grace=sweep.signal_grace,
            shebang=sweep.shebang, requeue_signal=sweep.requeue_signal,
        )
        jobs = []
        if sweep.array:
            jobs_dir = script_dir or os.path.join(sweep.log_dir, JOBS_DIR)
            if not dry:
                ensure_log_dir(jobs_dir)  # SLURM fails a job silently when its log folder is missing
            stdout, stderr = array_log_paths(sweep.scheduler, os.path.join(sweep.log_dir, JOBS_DIR))
            size = max_array_size(sweep.scheduler)
            for chunk_runs, chunk_tasks in zip(_chunks(runs, size), _chunks(tasks, size)):
                text = render_script(JobSpec(
                    tasks=chunk_tasks, stdout=stdout, stderr=stderr, array=True,
                    max_parallel=sweep.max_parallel, **common,
                ))
                path = os.path.join(jobs_dir, f"array-{chunk_runs[0][0]}.sh")
                jobs.append((list(chunk_runs), path, text))
        else:
            for (run_id, run_dir), task in zip(runs, tasks):
                text = render_script(JobSpec(
                    tasks=[task], stdout=os.path.join(run_dir, STDOUT_FILE),
                    stderr=os.path.join(run_dir, STDERR_FILE), **common,
                ))
                path = os.path.join(script_dir, f"{run_id}.sh") if dry and script_dir else os.path.join(run_dir, SCRIPT_FILE)
                jobs.append(([(run_id, run_dir)], path, text))
        for job_runs, path, text in jobs:
            if sweep.array and not dry:
                made.append(path)
            write_atomic(path, text)
            make_executable(path)  # oarsub -S runs the script itself
            if sweep.array and not dry:
                for _, run_dir in job_runs:
                    if os.path.lexists(os.path.join(run_dir, SCRIPT_FILE)):  # a run submitted again
                        os.unlink(os.path.join(run_dir, SCRIPT_FILE))
                    os.symlink(os.path.relpath(path, run_dir), os.path.join(run_dir, SCRIPT_FILE))
        return jobs
    except BaseException:
        _undo(made, resubmitted)
        raise


def _resubmit(sweep: Submission, run_id: int, resubmitted: list[tuple[str, dict[str, Any]]]) -> str:
    """Mark an existing run PENDING again, its earlier launches kept in its history; its run dir."""
    from ..run.history import resubmitted_info

    run_dir = os.path.join(sweep.log_dir, str(run_id))
    path = os.path.join(run_dir, METADATA_DIR, INFO_FILE)
    before = read_yaml(path)
    resubmitted.append((run_dir, before))
    write_yaml(path, resubmitted_info(before, run_dir, time.time()))
    return run_dir


def record_job(run_dir: str, job: dict[str, Any], chained: Sequence[str] = ()) -> None:
    """info.scheduler of a new run (and info.chained_jobs, xp.chain's later jobs); for a run
    submitted again, the job id of its pending launch."""
    from ..run.history import is_resubmitted, with_launch_fields

    info = read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE))
    chain = {"chained_jobs": list(chained)} if chained else {}
    if is_resubmitted(info):
        update_info(run_dir, **with_launch_fields(info, scheduler=job["name"], job_id=job["job_id"]), **chain)
    else:
        update_info(run_dir, scheduler=job, **chain)


def submit_sweep(sweep: Submission) -> list[Submitted]:
    """Write and submit the jobs of sweep; returns one Submitted per run.

    Raises SchedulerError when a submission fails or is interrupted (Ctrl-C): the runs
    of that job and of every later job are marked FAILED (not submitted), and the
    message lists the jobs that were submitted.
    """
    jobs = prepare(sweep)
    done: list[Submitted] = []
    for k, (runs, path, _) in enumerate(jobs):
        try:
            ids = submit_script(sweep.scheduler, path, after=sweep.after_jobs)
        except (SchedulerError, KeyboardInterrupt) as err:
            # Ctrl-C too: the runs left over must not stay PENDING, and the user must
            # learn which jobs went
            reason = err.message if isinstance(err, SchedulerError) else "interrupted (Ctrl-C)"
            unsubmitted = [run for job_runs, _, _ in jobs[k:] for run in job_runs]
            for run_id, run_dir in unsubmitted:
                update_info(run_dir, status="FAILED", error={"type": "SchedulerError", "message": f"Not submitted: {reason}"})
            raise SchedulerError(_failure_message(reason, done, unsubmitted, len(jobs), k)) from None
        chained = _submit_chain(sweep, path, ids)
        for index, (run_id, run_dir) in enumerate(runs):
            job = _job_record(sweep, ids, index)
            record_job(run_dir, job, chained)
            done.append(Submitted(run_id, run_dir, job["job_id"], path, chained))
    return done


def _submit_chain(sweep: Submission, path: str, ids: dict[str, Any]) -> list[str]:
    """Submit path again sweep.chain - 1 times, each job after the previous; their job ids.

    Raises SchedulerError naming the jobs queued already when one cannot be submitted.
    """
    chained: list[str] = []
    previous = list(ids["job_ids"])
    for segment in range(2, sweep.chain + 1):
        try:
            more = submit_script(sweep.scheduler, path, after=previous)
        except SchedulerError as err:
            queued = ", ".join([ids["job_id"], *chained])
            raise SchedulerError(f"Cannot submit job {segment} of xp.chain={sweep.chain}: {err.message}\n"
                                 f"Queued already: job {queued} (cancel them, or submit the rest with xp.after)") from None
        chained.append(more["job_id"])
        previous = list(more["job_ids"])
    return chained


def _job_record(sweep: Submission, ids: dict[str, Any], index: int) -> dict[str, Any]:
    job_id = ids["job_id"]
    if not sweep.array:
        return {"name": sweep.scheduler, "job_id": job_id, "array_job_id": None, "array_task_id": None}
    backend = get_backend(sweep.scheduler)
    task_id = backend.first_index + index
    if backend.task_job is None:  # every OAR array task is a job of its own
        job_ids = ids["job_ids"]
        return {"name": sweep.scheduler, "job_id": job_ids[index] if index < len(job_ids) else None,
                "array_job_id": ids["array_job_id"], "array_task_id": task_id}
    task_job = task_job_id(backend, job_id, task_id)
    return {"name": sweep.scheduler, "job_id": task_job, "array_job_id": job_id, "array_task_id": task_id}


def _failure_message(reason: str, done: list[Submitted], unsubmitted: Sequence[tuple[int, str]], n_jobs: int, k: int) -> str:
    lines = [f"Cannot submit job {k + 1} of {n_jobs}: {reason}"]
    if done:
        listed = ", ".join(f"run {s.run_id} (job {s.job_id})" for s in done)
        lines.append(f"Submitted before the failure: {listed}")
    else:
        lines.append("Nothing was submitted")
    ids = ", ".join(str(run_id) for run_id, _ in unsubmitted)
    lines.append(f"Not submitted, marked FAILED: run {ids}" if len(unsubmitted) == 1 else f"Not submitted, marked FAILED: runs {ids}")
    return "\n".join(lines)


def write_dry_run(sweep: Submission, script_dir: str) -> list[tuple[str, str]]:
    """Write sweep's job scripts to script_dir without allocating runs or submitting.

    Run ids are the ones the runs would get now. Returns (path, text) per job.
    """
    try:
        first = next_free_run_id(sweep.log_dir)
    except OSError:
        first = 1
    jobs = prepare(sweep, run_ids=list(range(first, first + len(sweep.settings))), script_dir=script_dir)
    return [(path, text) for _, path, text in jobs]


def print_submitted(submitted: Sequence[Submitted], scheduler: str, out: Any = print) -> None:
    for s in submitted:
        then = f", then {', '.join(s.chained)}" if s.chained else ""
        out(f"Submitted run {s.run_id} as {scheduler} job {s.job_id}{then}: {s.run_dir}")


def resolve_after(value: Any, scheduler: str, log_dir: str) -> tuple[str, ...]:
    """The job ids that xp.after (or `tinyxp sub --after`) names: a run of log_dir, or job:ID.

    A run's job is its last chained job, or its own. Raises SchedulerError for a run
    that does not exist or has no job of this scheduler (nothing is written).
    """
    if value is None:
        return ()
    if isinstance(value, str) and value.startswith("job:"):
        return (value[4:],)
    run_dir = os.path.join(log_dir, str(value))
    try:
        info = read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE)) or {}
    except (OSError, TinyxpError):
        raise SchedulerError(
            f"Unknown run {value} for xp.after: no run {run_dir!r} (a job id is written xp.after=job:ID)"
        ) from None
    job = info.get("scheduler")
    job = job if isinstance(job, dict) else {}
    chained = info.get("chained_jobs") or []
    job_id = chained[-1] if chained else job.get("job_id")
    if not job_id or job.get("name") != scheduler:
        ran = f"a {job.get('name')} job" if job.get("name") else "no scheduler job"
        raise SchedulerError(f"Cannot start after run {value}: it ran as {ran}, not a {scheduler} job with an id "
                             "(a job id is written xp.after=job:ID)")
    return (str(job_id),)


def chain_setup() -> str:
    """The setup line by which a chained job whose run is COMPLETE already ends at once."""
    info = f'"${RUN_DIR_ENV}/{METADATA_DIR}/{INFO_FILE}"'
    return f"if grep -qx 'status: COMPLETE' {info}; then echo 'tinyxp: the run is COMPLETE: nothing left to chain'; exit 0; fi"


def own_directives(scheduler: str, options: Sequence[str], where: str) -> list[str]:
    """options without those tinyxp sets itself (log paths, arrays), each left out with a warning."""
    kept = []
    for option in options:
        name = owned_option(scheduler, option)
        if name is None:
            kept.append(option)
        else:
            print(f"tinyxp: warning: {where}: left out {option!r}: tinyxp sets {name} itself "
                  "(a job's output goes to its run directory; arrays come from --array or xp.array)", file=sys.stderr)
    return kept


def check_submittable(xp: Any) -> None:
    """Raises SchedulerError for xp settings a submitted job cannot honour."""
    if not xp_setting(xp, "logging"):  # else the job could never leave PENDING
        raise SchedulerError(
            "Cannot submit jobs with xp.logging=false: each job records its status and output "
            "in its own run directory (drop xp.logging=false)"
        )
    run_id = xp_setting(xp, "run_id")
    if run_id is not None:
        raise SchedulerError(
            f"Cannot submit a job into the existing run xp.run_id={run_id}: every job gets a new run "
            "directory (omit xp.run_id, or submit that run's script.sh again)"
        )


def record_git(script: str, log_dir: str) -> dict[str, Any] | None:
    """info.git for the PENDING runs of a script submitted now (None outside a repository)."""
    from ..run.snapshot import start_recording  # git only when submitting

    return start_recording(os.path.dirname(os.path.abspath(script)), exclude=[log_dir])()


def snapshot_setup(state: str) -> str:
    """The setup line passing a snapshot's state (JSON) to the job: only SLURM and LSF
    pass the submitting environment on, and the job records from it what the
    submission did (xp.dirty's choice, the patch)."""
    return f"export {SNAPSHOT_ENV}={shlex.quote(state)}"


def submit_from_launcher(script_path: str, settings: list[Sequence[Override]], configs: list[Any], xp: Any,
                         *, config_args: Sequence[str] = (), resume_ids: Sequence[int | None] | None = None) -> int:
    """Submit one job per setting (or one array) instead of running the task.

    `settings` are the expanded override lists (overrides.expand_sweeps), `configs`
    the composed Config of each, `config_args` the script's -cn/-cp/-cd options,
    resume_ids the existing run each setting goes into again (xp.skip), None for a new
    run. Returns the exit status for the launcher. Raises
    SchedulerError for an unknown scheduler or a failed submission.
    """
    scheduler = xp_setting(xp, "scheduler")
    check_commands(scheduler)
    check_submittable(xp)
    python = xp_setting(xp, "python") or sys.executable
    script = os.path.abspath(script_path)
    log_dir = os.path.abspath(xp_setting(xp, "log_dir"))
    setup = list(xp_setting(xp, "setup") or [])
    if os.environ.get(SNAPSHOT_ENV):  # submitted from a snapshot (relaunch_in_snapshot): the job records it too
        setup.insert(0, snapshot_setup(os.environ[SNAPSHOT_ENV]))
    chain = int(xp_setting(xp, "chain"))
    if chain > 1:
        setup.append(chain_setup())
    after_jobs = resolve_after(xp_setting(xp, "after"), scheduler, log_dir)
    sweep = Submission(
        scheduler=scheduler,
        log_dir=log_dir,
        name=xp_setting(xp, "job_name") or os.path.splitext(os.path.basename(script))[0],
        command=[python, script, *config_args],
        script=script,
        settings=[list(setting) for setting in settings],
        work_dir=os.getcwd(),
        directives=own_directives(scheduler, xp_setting(xp, "scheduler_options") or [], "xp.scheduler_options"),
        setup=setup,
        array=bool(xp_setting(xp, "array")),
        max_parallel=xp_setting(xp, "max_parallel"),
        requeue=bool(xp_setting(xp, "requeue")),
        signal_grace=int(xp_setting(xp, "signal_grace")),
        requeue_signal=xp_setting(xp, "requeue_signal"),
        configs=configs,
        xp=to_plain(xp),
        git=record_git(script, log_dir),
        resume_ids=list(resume_ids) if resume_ids and any(i is not None for i in resume_ids) else None,
        after_jobs=after_jobs,
        chain=chain,
    )
    print_submitted(submit_sweep(sweep), scheduler)
    return 0
