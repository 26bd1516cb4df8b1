"""Submission of sweeps as jobs: from the launcher (xp.scheduler) and from `tinyxp sub`.

Every setting gets a run directory, allocated and written (info.yaml PENDING,
script.sh) before anything is submitted; a job then runs the task with that setting
plus `xp.run_id=<id> xp.log_dir=<abs> xp.scheduler=null`, so it fills its own
directory. A submission that fails marks the runs it leaves unsubmitted FAILED and
raises SchedulerError naming the jobs already submitted.
"""
from __future__ import annotations

import os
import re
import shlex
import sys
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..config.settings import xp_setting
from ..errors import SchedulerError, suggest
from ..run.info import new_run_info
from .backends import JobSpec, ShellText, Task, get_backend, render_command, render_script

JOBS_DIR = os.path.join(".tinyxp", "jobs")  # in the log dir: array scripts and the scheduler's own logs
JOB_KEYS = ("xp.scheduler", "xp.run_id", "xp.log_dir")  # set by submission for the job itself
RE_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?$")
STEP_LAUNCHERS = ("srun",)  # a python line may start with `srun [options]`
RE_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
RE_DIRECTIVE = re.compile(r"^(?P<prefix>#[A-Z]{2,}|#\$)(\s|$)")


class Sweep(NamedTuple):
    """One python command to submit: its settings and how its jobs look."""

    scheduler: str
    log_dir: str
    name: str
    command: Sequence[str]  # everything before the overrides: [env..., python, options..., script]
    settings: Sequence[Sequence[str]]  # override tokens of each setting
    work_dir: str
    directives: Sequence[str] = ()
    setup: Sequence[str] = ()
    after: Sequence[str] = ()
    shebang: str = "#!/bin/bash"
    array: bool = False
    max_parallel: Optional[int] = None
    requeue: bool = False
    signal_grace: int = 120
    configs: Optional[Sequence[Any]] = None  # composed config of each setting
    script: Optional[str] = None  # the python script, when command does not end with it
    xp: Optional[Dict[str, Any]] = None  # the xp settings, written to xp.yaml (launcher)
    git: Optional[Dict[str, Any]] = None  # info.git at submission (git.start_recording's), for PENDING runs


class Submitted(NamedTuple):
    run_id: int
    run_dir: str
    job_id: Optional[str]
    script: str


def _without_job_keys(setting_tokens: Sequence[str], keys: Sequence[str] = JOB_KEYS) -> List[str]:
    from ..errors import OverrideError
    from ..config.overrides import parse_override

    keep = []
    for token in setting_tokens:
        try:
            key = parse_override(token).key
        except OverrideError:  # the job reports it, as the command line would
            key = None
        if key not in keys:
            keep.append(token)
    return keep


def job_tokens(setting_tokens: Sequence[str], run_id: int, log_dir: str) -> List[str]:
    """The setting's tokens for the job: its own run id and log dir, the scheduler off."""
    from ..config.overrides import make_override

    own = [make_override("set", "xp.run_id", run_id).text, make_override("set", "xp.log_dir", log_dir).text]
    return [*_without_job_keys(setting_tokens), *own, "xp.scheduler=null"]


def _to_plain(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return {str(k): _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    return obj


def _pending_info(sweep: Sweep, run_id: int, run_dir: str, tokens: Sequence[str]) -> Dict[str, Any]:
    script = sweep.script or sweep.command[-1]
    tokens = _without_job_keys(tokens)
    info = new_run_info(
        status="PENDING", run_id=run_id, run_dir=run_dir, log_dir=sweep.log_dir, overrides=tokens,
        command=f"cd {shlex.quote(sweep.work_dir)} && {render_command([*sweep.command, *tokens])}",
        work_dir=sweep.work_dir, script=os.path.abspath(os.path.join(sweep.work_dir, script)), submitted=time.time(),
    )
    if sweep.git:
        info["git"] = dict(sweep.git)
    info["scheduler"] = {"name": sweep.scheduler, "job_id": None, "array_job_id": None, "array_task_id": None}
    return info


def _chunks(items: Sequence[Any], size: int) -> List[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def prepare(sweep: Sweep, *, run_ids: Optional[Sequence[int]] = None, script_dir: Optional[str] = None) -> List[Tuple[List[Tuple[int, str]], str, str]]:
    """Write every run directory and job script of sweep; nothing is submitted.

    Returns one (runs, script path, script text) per job to submit, runs being the
    (run_id, run_dir) pairs it covers. With run_ids (a dry run) no run directory is
    allocated and the scripts go to script_dir. On an error the run directories made
    so far are removed.
    """
    from .._contract import METADATA_DIR
    from .._files import allocate_run_dir, ensure_log_dir, write_atomic, write_yaml

    get_backend(sweep.scheduler)  # an unknown scheduler fails before any run directory exists
    dry = run_ids is not None
    made: List[str] = []
    try:
        runs: List[Tuple[int, str]] = []
        for i, tokens in enumerate(sweep.settings):
            if dry:
                runs.append((run_ids[i], os.path.join(sweep.log_dir, str(run_ids[i]))))
                continue
            run_id, run_dir = allocate_run_dir(sweep.log_dir)
            made.append(run_dir)
            runs.append((run_id, run_dir))
            os.makedirs(os.path.join(run_dir, METADATA_DIR), exist_ok=True)
            if sweep.configs is not None:
                write_yaml(os.path.join(run_dir, METADATA_DIR, "config.yaml"), _to_plain(sweep.configs[i]))
            if sweep.xp is not None:
                write_yaml(os.path.join(run_dir, METADATA_DIR, "xp.yaml"), _to_plain(sweep.xp))
            write_yaml(os.path.join(run_dir, METADATA_DIR, "info.yaml"), _pending_info(sweep, run_id, run_dir, tokens))
        tasks = [
            Task(run_dir, [*sweep.command, *job_tokens(tokens, run_id, sweep.log_dir)])
            for (run_id, run_dir), tokens in zip(runs, sweep.settings)
        ]
        common = dict(
            scheduler=sweep.scheduler, name=sweep.name, work_dir=sweep.work_dir, directives=sweep.directives,
            setup=sweep.setup, after=sweep.after, requeue=sweep.requeue, signal_grace=sweep.signal_grace,
            shebang=sweep.shebang,
        )
        jobs = []
        if sweep.array:
            jobs_dir = script_dir or os.path.join(sweep.log_dir, JOBS_DIR)
            if not dry:
                ensure_log_dir(jobs_dir)  # SLURM fails a job silently when its log folder is missing
            from .backends import array_log_paths, max_array_size

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
                    tasks=[task], stdout=os.path.join(run_dir, "stdout.log"),
                    stderr=os.path.join(run_dir, "stderr.log"), **common,
                ))
                path = os.path.join(script_dir, f"{run_id}.sh") if dry else os.path.join(run_dir, "script.sh")
                jobs.append(([(run_id, run_dir)], path, text))
        for job_runs, path, text in jobs:
            if sweep.array and not dry:
                made.append(path)
            write_atomic(path, text)
            os.chmod(path, 0o755)  # oarsub -S runs the script itself
            if sweep.array and not dry:
                for _, run_dir in job_runs:
                    os.symlink(os.path.relpath(path, run_dir), os.path.join(run_dir, "script.sh"))
        return jobs
    except BaseException:
        import shutil

        for path in made:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)
        raise


def submit_sweep(sweep: Sweep) -> List[Submitted]:
    """Write and submit the jobs of sweep; returns one Submitted per run.

    Raises SchedulerError when a submission fails or is interrupted (Ctrl-C): the runs
    of that job and of every later job are marked FAILED (not submitted), and the
    message lists the jobs that were submitted.
    """
    from .._files import update_info
    from .backends import submit_script

    jobs = prepare(sweep)
    done: List[Submitted] = []
    for k, (runs, path, _) in enumerate(jobs):
        try:
            ids = submit_script(sweep.scheduler, path)
        except (SchedulerError, KeyboardInterrupt) as err:
            # Ctrl-C too: the runs left over must not stay PENDING, and the user must
            # learn which jobs went
            reason = err.message if isinstance(err, SchedulerError) else "interrupted (Ctrl-C)"
            unsubmitted = [run for job_runs, _, _ in jobs[k:] for run in job_runs]
            for run_id, run_dir in unsubmitted:
                update_info(run_dir, status="FAILED", error={"type": "SchedulerError", "message": f"Not submitted: {reason}"})
            raise SchedulerError(_failure_message(reason, done, unsubmitted, len(jobs), k)) from None
        for index, (run_id, run_dir) in enumerate(runs):
            job = _job_record(sweep, ids, index)
            update_info(run_dir, scheduler=job)
            done.append(Submitted(run_id, run_dir, job["job_id"], path))
    return done


def _job_record(sweep: Sweep, ids: Dict[str, Any], index: int) -> Dict[str, Any]:
    job_id = ids["job_id"]
    if not sweep.array:
        return {"name": sweep.scheduler, "job_id": job_id, "array_job_id": None, "array_task_id": None}
    backend = get_backend(sweep.scheduler)
    task_id = backend.first_index + index
    if sweep.scheduler == "oar":  # every OAR array task is a job of its own
        job_ids = ids["job_ids"]
        return {"name": "oar", "job_id": job_ids[index] if index < len(job_ids) else None,
                "array_job_id": ids["array_job_id"], "array_task_id": task_id}
    if sweep.scheduler in ("pbs", "torque") and "[]" in job_id:
        task_job = job_id.replace("[]", f"[{task_id}]")
    elif sweep.scheduler == "lsf":
        task_job = f"{job_id}[{task_id}]"
    elif sweep.scheduler == "sge":
        task_job = f"{job_id}.{task_id}"
    else:
        task_job = f"{job_id}_{task_id}"
    return {"name": sweep.scheduler, "job_id": task_job, "array_job_id": job_id, "array_task_id": task_id}


def _failure_message(reason: str, done: List[Submitted], unsubmitted: Sequence[Tuple[int, str]], n_jobs: int, k: int) -> str:
    lines = [f"Cannot submit job {k + 1} of {n_jobs}: {reason}"]
    if done:
        listed = ", ".join(f"run {s.run_id} (job {s.job_id})" for s in done)
        lines.append(f"Submitted before the failure: {listed}")
    else:
        lines.append("Nothing was submitted")
    ids = ", ".join(str(run_id) for run_id, _ in unsubmitted)
    lines.append(f"Not submitted, marked FAILED: run {ids}" if len(unsubmitted) == 1 else f"Not submitted, marked FAILED: runs {ids}")
    return "\n".join(lines)


def write_dry_run(sweep: Sweep, script_dir: str) -> List[Tuple[str, str]]:
    """Write sweep's job scripts to script_dir without allocating runs or submitting.

    Run ids are the ones the runs would get now. Returns (path, text) per job.
    """
    from .._contract import is_run_id

    try:
        names = os.listdir(sweep.log_dir)
    except OSError:
        names = []
    first = max((int(n) for n in names if is_run_id(n)), default=0) + 1
    jobs = prepare(sweep, run_ids=list(range(first, first + len(sweep.settings))), script_dir=script_dir)
    return [(path, text) for _, path, text in jobs]


def _print_submitted(submitted: Sequence[Submitted], scheduler: str, out: Any = print) -> None:
    for s in submitted:
        out(f"Submitted run {s.run_id} as {scheduler} job {s.job_id}: {s.run_dir}")


def _own_directives(scheduler: str, options: Sequence[str], where: str) -> List[str]:
    """options without those tinyxp sets itself (log paths, arrays), each left out with a warning."""
    from .backends import owned_option

    kept = []
    for option in options:
        name = owned_option(scheduler, option)
        if name is None:
            kept.append(option)
        else:
            print(f"tinyxp: warning: {where}: left out {option!r}: tinyxp sets {name} itself "
                  "(a job's output goes to its run directory; arrays come from --array or xp.array)", file=sys.stderr)
    return kept


def _check_submittable(xp: Any) -> None:
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


def _record_git(script: str, log_dir: str) -> Optional[Dict[str, Any]]:
    """info.git for the PENDING runs of a script submitted now (None outside a repository)."""
    from ..run.snapshot import start_recording

    return start_recording(os.path.dirname(os.path.abspath(script)), exclude=[log_dir])()


def _snapshot_setup(state: str) -> str:
    """The setup line passing a snapshot's state (JSON) to the job: only SLURM and LSF
    pass the submitting environment on, and the job records from it what the
    submission did (xp.dirty's choice, the patch)."""
    from .._contract import SNAPSHOT_ENV

    return f"export {SNAPSHOT_ENV}={shlex.quote(state)}"


def submit_from_launcher(script_path: str, settings: List[Sequence[Any]], configs: List[Any], xp: Any) -> int:
    """Submit one job per setting (or one array) instead of running the task.

    `settings` are the expanded override lists (overrides.expand_sweeps), `configs`
    the composed Config of each. Returns the exit status for the launcher. Raises
    SchedulerError for an unknown scheduler or a failed submission.
    """
    from ..config.overrides import setting_tokens

    from .._contract import SNAPSHOT_ENV

    scheduler = xp_setting(xp, "scheduler")
    get_backend(scheduler)
    _check_submittable(xp)
    python = xp_setting(xp, "python") or sys.executable
    script = os.path.abspath(script_path)
    log_dir = os.path.abspath(xp_setting(xp, "log_dir"))
    setup = list(xp_setting(xp, "setup") or [])
    if os.environ.get(SNAPSHOT_ENV):  # submitted from a snapshot (relaunch_in_snapshot): the job records it too
        setup.insert(0, _snapshot_setup(os.environ[SNAPSHOT_ENV]))
    sweep = Sweep(
        scheduler=scheduler,
        log_dir=log_dir,
        name=xp_setting(xp, "job_name") or os.path.splitext(os.path.basename(script))[0],
        command=[python, script],
        settings=[setting_tokens(s) for s in settings],
        work_dir=os.getcwd(),
        directives=_own_directives(scheduler, xp_setting(xp, "scheduler_options") or [], "xp.scheduler_options"),
        setup=setup,
        array=bool(xp_setting(xp, "array")),
        max_parallel=xp_setting(xp, "max_parallel"),
        requeue=bool(xp_setting(xp, "requeue")),
        signal_grace=int(xp_setting(xp, "signal_grace")),
        configs=configs,
        xp=_to_plain(xp),
        git=_record_git(script, log_dir),
    )
    _print_submitted(submit_sweep(sweep), scheduler)
    return 0


# --- `tinyxp sub`: a job script in the scheduler's own syntax ------------------------


class Command(NamedTuple):
    """A python command line of a job script: [env..., python, options..., script] and overrides."""

    line: int
    pos: int  # offset of the line in the script's text
    command: List[str]
    args: List[str]
    text: str = ""  # the command part as written (up to the script), kept as it is in the jobs


class JobScript(NamedTuple):
    scheduler: Optional[str]
    shebang: str
    directives: List[str]  # option text after the prefix, in order
    setup: List[str]  # lines before the first python command
    commands: List[Command]
    after: List[str]  # lines after the first python command that are not python commands


def _logical_lines(text: str, path: str) -> List[Tuple[int, List[Tuple[int, int]], str]]:
    """(line number, starts, text) of each line, `\\` continuations joined.

    starts maps the joined text back to the script: (index in text, offset in the
    script) where each physical line begins.
    """
    lines: List[Tuple[int, List[Tuple[int, int]], str]] = []
    pending: Optional[Tuple[int, List[Tuple[int, int]], str]] = None
    offset = 0
    raw_lines = text.split("\n")
    if raw_lines[-1] == "":
        raw_lines.pop()
    for number, raw in enumerate(raw_lines, start=1):
        line = raw.rstrip("\r")
        if pending is not None:
            pending[1].append((len(pending[2]), offset))
            pending = (pending[0], pending[1], pending[2] + line)
        else:
            pending = (number, [(0, offset)], line)
        offset += len(raw) + 1
        if line.endswith("\\") and not line.lstrip().startswith("#"):
            pending = (pending[0], pending[1], pending[2][:-1])
            continue
        lines.append(pending)
        pending = None
    if pending is not None:
        end = len(text.rstrip("\n")) - 1
        raise SchedulerError(
            "Expected a line after the continuation '\\', found the end of the file",
            source=text, pos=max(0, end), path=path,
        )
    return lines


def _script_pos(starts: List[Tuple[int, int]], index: int) -> int:
    """The offset in the script of index in a joined line (see _logical_lines)."""
    start, offset = max(pair for pair in starts if pair[0] <= index)
    return offset + index - start


def _shell_words(line: str) -> List[Tuple[str, int, int, Optional[int]]]:
    """The words of a shell line as the shell reads them: (word, start, end, special).

    special is the index of the first character the shell would act on in the word
    (`$` or a backquote outside single quotes, or an operator `;&|<>`), else None.
    Parentheses count as text: `seed=range(3)` reads as it would quoted. A `#` that
    starts a word starts a comment. Raises ValueError for an unclosed quote.
    """
    words = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in " \t":
            i += 1
            continue
        if line[i] == "#":
            break
        start, chars, special = i, [], None
        while i < n and line[i] not in " \t":
            char = line[i]
            if char == "'":
                end = line.find("'", i + 1)
                if end < 0:
                    raise ValueError("No closing quotation")
                chars.append(line[i + 1:end])
                i = end + 1
            elif char == '"':
                i += 1
                while i < n and line[i] != '"':
                    if line[i] == "\\" and i + 1 < n and line[i + 1] in '$`"\\':
                        i += 1
                    elif line[i] in "$`" and special is None:
                        special = i
                    chars.append(line[i])
                    i += 1
                if i >= n:
                    raise ValueError("No closing quotation")
                i += 1
            elif char == "\\":
                chars.append(line[i + 1:i + 2])
                i += 2
            else:
                if char in "$`;&|<>" and special is None:
                    special = i
                chars.append(char)
                i += 1
        words.append(("".join(chars), start, i, special))
    return words


def _is_python(word: str) -> bool:
    return bool(RE_PYTHON.match(os.path.basename(word)))


def _python_command(words: List[str]) -> Optional[Tuple[List[str], List[str]]]:
    """(command up to the script, overrides) when words run python on a script, else None.

    The words may start with VAR=value assignments and a job-step launcher (`srun
    [options]`); `python -c CODE` runs no script and is no command.
    """
    i = 0
    while i < len(words) and RE_ASSIGNMENT.match(words[i]):
        i += 1
    if i < len(words) and words[i] in STEP_LAUNCHERS:
        i = next((j for j in range(i + 1, len(words)) if _is_python(words[j])), len(words))
    if i >= len(words) or not _is_python(words[i]):
        return None
    i += 1
    while i < len(words) and words[i].startswith("-"):
        if words[i] == "-c":
            return None
        if words[i] == "-m":
            i += 1
            break
        i += 2 if words[i] in ("-W", "-X") else 1
    if i >= len(words):
        return None
    return words[:i + 1], words[i + 1:]


def parse_job_script(text: str, *, path: str = "<script>") -> JobScript:
    """Read a job script: shebang, directives, setup lines, python commands, lines after.

    Raises SchedulerError (with the file, line and a caret) for an unknown or mixed
    directive, a continuation at the end of the file, a python line that cannot be
    split into words, or a script without python command.
    """
    shebang = "#!/bin/bash"
    scheduler: Optional[str] = None
    first_prefix: Optional[Tuple[str, int]] = None
    directives: List[str] = []
    setup: List[str] = []
    commands: List[Command] = []
    after: List[str] = []
    from .backends import DIRECTIVE_PREFIXES

    for number, starts, line in _logical_lines(text, path):
        offset = starts[0][1]
        if number == 1 and line.startswith("#!"):
            shebang = line
            continue
        found = RE_DIRECTIVE.match(line)
        if found and not commands:
            prefix = found.group("prefix")
            name = DIRECTIVE_PREFIXES.get(prefix)
            if name is None:
                if not re.match(r"#[A-Z]+\s+-", line):
                    continue  # a comment that only looks like a directive
                raise SchedulerError(
                    f"Unknown directive {prefix!r}{suggest(prefix, DIRECTIVE_PREFIXES)} (expected one of: {', '.join(DIRECTIVE_PREFIXES)})",
                    source=text, pos=offset, length=len(prefix), path=path,
                )
            if scheduler is not None and scheduler != name:
                raise SchedulerError(
                    f"Cannot mix {prefix!r} directives with the {first_prefix[0]!r} directives of line {first_prefix[1]}",
                    source=text, pos=offset, length=len(prefix), path=path,
                )
            if scheduler is None:
                scheduler, first_prefix = name, (prefix, number)
            directives.append(line[len(prefix):].strip())
            continue
        stripped = line.strip()
        words = None
        if stripped and not stripped.startswith("#") and re.search(r"\bpython", stripped):
            try:
                words = _shell_words(line)
            except ValueError as err:
                raise SchedulerError(
                    f"Cannot split the command into words: {err}", source=text, pos=offset,
                    length=len(line), path=path,
                ) from None
        split = _python_command([word[0] for word in words]) if words else None
        if split is not None:
            n_command = len(split[0])
            for _, start, end, special in words[n_command:]:
                if special is not None:
                    raise SchedulerError(
                        _special_message(line[start:end], line[special]),
                        source=text, pos=_script_pos(starts, start), length=end - start, path=path,
                    )
            command_text = line[words[0][1]:words[n_command - 1][2]]
            commands.append(Command(number, offset, split[0], split[1], command_text))
        elif not stripped or stripped.startswith("#"):
            continue  # blank lines and comments stay in the user's script
        elif commands:
            after.append(line)
        else:
            setup.append(line)
    if not commands:
        raise SchedulerError(f"{path}: Expected a python command line (python train.py ...), found none")
    return JobScript(scheduler, shebang, directives, setup, commands, after)


def _special_message(word: str, char: str) -> str:
    if char in "$`":
        return (
            f"Cannot expand {word!r} at submission: tinyxp reads the overrides before the job's shell runs "
            "(write the value, quote it to keep it as it is, or read the environment in the config: ${env:NAME})"
        )
    return (
        f"Invalid override {word!r}: a python command line holds overrides only, "
        f"not the shell operator {char!r} (put that on a line of its own)"
    )


def _command_xp(config_dir: str, setting: Sequence[Any]) -> Dict[str, Any]:
    """The xp settings of a command's setting: defaults, configs/tinyxp.yaml, xp.* tokens."""
    from ..config.settings import compose_xp

    return dict(_to_plain(compose_xp(config_dir, setting)))


def _command_configs(config_dir: str, settings: Sequence[Sequence[Any]]) -> Optional[List[Any]]:
    """Each setting's composed config, for config.yaml at submission; None without configs/.

    A bad override raises OverrideError, as on the command line. A config that does not
    compose here (a `${env:...}` that the job's setup lines export, say) is left to the
    job, which writes config.yaml when it starts.
    """
    from ..config.compose import compose
    from ..errors import ConfigError

    if not os.path.isdir(config_dir):
        return None
    try:
        return [compose(config_dir, setting) for setting in settings]
    except ConfigError:
        return None


class _Job(NamedTuple):
    """How the jobs of a python line run: command part, script, working folder, setup lines, info.git."""

    command: List[str]
    script: str
    work_dir: str
    setup: List[str]
    git: Optional[Dict[str, Any]]


def _snapshot_job(command: Command, target: str, xp: Dict[str, Any], job: _Job) -> _Job:
    """job run from the snapshot of the line's script (xp.snapshot=true), taken now, once.

    The jobs run the snapshot's copy of the script (or `-m module` from the snapshot's
    copy of the working folder) there, and the setup lines pass them the snapshot's
    state, as relaunch_in_snapshot does. Raises GitError as git.prepare_snapshot does.
    """
    import json

    from ..run import snapshot

    script = os.path.abspath(os.path.join(job.work_dir, target))
    module = len(command.command) > 1 and command.command[-2] == "-m"
    plan = snapshot.prepare_snapshot(script, xp, argv=list(command.args))
    snap_script, work_dir = snapshot.snapshot_copies(plan, None if module else script, job.work_dir)
    if module:
        run, snap_script = job.command, os.path.join(work_dir, target)
    else:
        words = _shell_words(command.text)
        run = [ShellText(command.text[:words[-1][1]].rstrip()), snap_script]
    setup = [_snapshot_setup(json.dumps(plan)), *job.setup]
    return _Job(run, snap_script, work_dir, setup, snapshot.snapshot_git_info(plan))


def submit_job_script(
    path: str, *, scheduler: Optional[str] = None, array: bool = False, dry_run: bool = False,
    out: Any = print,
) -> int:
    """`tinyxp sub`: expand a job script's python commands and submit one job per setting.

    With array, each command's settings go as one job array (chunked to the cluster's
    limit); with dry_run the scripts are written to <log_dir>/.tinyxp/dry-run and
    printed, and nothing is submitted. Raises SchedulerError (bad script, failed
    submission) or OverrideError (bad override on a python line).
    """
    from ..errors import TinyxpError
    from ..config.overrides import expand_sweeps, parse_command_line, setting_tokens

    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as err:
        raise SchedulerError(f"Cannot read the job script {path!r}: {err.strerror or err}") from None
    script = parse_job_script(text, path=path)
    name = scheduler or script.scheduler
    if name is None:
        raise SchedulerError(f"{path}: Cannot tell the scheduler: the script has no directive; pass --scheduler")
    if scheduler == "torque" and script.scheduler == "pbs":
        name = "torque"
    elif scheduler is not None and script.scheduler is not None and scheduler != script.scheduler:
        raise SchedulerError(f"{path}: Cannot submit {script.scheduler} directives to --scheduler {scheduler}")
    get_backend(name)
    directives = _own_directives(name, script.directives, path)
    work_dir = os.getcwd()
    total = 0
    for command in script.commands:
        target = os.path.expanduser(os.path.expandvars(command.command[-1]))  # as the job's shell will
        config_dir = os.path.join(os.path.dirname(os.path.join(work_dir, target)), "configs")
        job = _Job([ShellText(command.text)], target, work_dir, list(script.setup), None)  # as written: `~/env/bin/python`, `$HOME/...` work
        if command.command[-2:-1] != ["-m"] and "$" not in target and not os.path.isfile(os.path.join(work_dir, target)):
            print(f"tinyxp: warning: {path}:{command.line}: no script {target!r} in {work_dir}, where the jobs start: "
                  "they will fail unless a setup line creates it or changes folder", file=sys.stderr)
        try:
            parsed = parse_command_line(command.args, prog=target)
            expanded = expand_sweeps(parsed.overrides, multirun=parsed.multirun)
            settings = [setting_tokens(s) for s in expanded]
            xp = _command_xp(config_dir, expanded[0])
            _check_submittable(xp)
            log_dir = os.path.abspath(os.path.join(work_dir, str(xp["log_dir"])))
            if xp.get("snapshot") and dry_run:
                out(f"# {path}:{command.line}: xp.snapshot=true: the jobs run from a snapshot taken at submission; a dry run takes none")
            elif xp.get("snapshot"):
                job = _snapshot_job(command, target, xp, job)
                config_dir = os.path.join(os.path.dirname(job.script), "configs")
                settings = [[*_without_job_keys(tokens, ("xp.snapshot",)), "xp.snapshot=false"] for tokens in settings]
            configs = _command_configs(config_dir, expanded)
        except TinyxpError as err:  # the same error, located at the python line
            raise type(err)(f"{path}:{command.line}: {err}") from None
        sweep = Sweep(
            scheduler=name,
            log_dir=log_dir,
            name=xp.get("job_name") or os.path.splitext(os.path.basename(target))[0],
            command=job.command,
            script=job.script,
            settings=settings,
            work_dir=job.work_dir,
            directives=directives,
            setup=job.setup,
            after=script.after,
            shebang=script.shebang,
            array=array or bool(xp.get("array")),
            max_parallel=xp.get("max_parallel"),
            requeue=bool(xp.get("requeue")),
            signal_grace=int(xp.get("signal_grace") or 120),
            configs=configs,
            git=job.git if job.git is not None else (None if dry_run else _record_git(os.path.join(work_dir, target), log_dir)),
        )
        if dry_run:
            folder = os.path.join(log_dir, ".tinyxp", "dry-run")
            from .._files import ensure_log_dir

            ensure_log_dir(folder)
            for script_path, script_text in write_dry_run(sweep, folder):
                out(f"# {script_path}\n{script_text}")
                total += 1
            continue
        submitted = submit_sweep(sweep)
        _print_submitted(submitted, name, out)
        total += len(submitted)
    if dry_run:
        out(f"Dry run: wrote {total} job script{'s' if total != 1 else ''}; nothing was submitted")
    return 0
