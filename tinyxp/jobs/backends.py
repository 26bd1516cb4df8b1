"""Job scripts for SLURM, OAR, PBS Pro, Torque, SGE and LSF; submission; job ids.

A backend is a row of BACKENDS (its directive prefix, submit command, job-id regex,
array syntax, environment variables); `render_script` turns a JobSpec into the text
of a job script and is pure, so golden files pin it. Every external command
(sbatch, oarsub, qsub, bsub, scontrol, squeue) goes through `run_command`. What became
of queued jobs is settle.py's.
"""
from __future__ import annotations

import os
import re
import shlex
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Pattern, Sequence, Tuple

from .._contract import ARRAY_JOB_ENVS, ARRAY_TASK_ENVS, JOB_ID_ENVS
from ..errors import SchedulerError, suggest

DEFAULT_MAX_ARRAY_SIZE = 1001  # SLURM's default MaxArraySize; used when the cluster does not say
PREEMPT_EXIT_CODE = 99  # OAR (-t idempotent), SGE and LSF (-Q 99) resubmit a job that exits with it
SHEBANG = "#!/bin/bash"


class Task(NamedTuple):
    """One run of a job: its run directory and the command that fills it."""

    run_dir: str
    argv: Sequence[str]


class JobSpec(NamedTuple):
    """Everything a job script holds; `render_script(spec)` is its text.

    With `array` the tasks become one job array (task i runs tasks[i]) and
    stdout/stderr are the scheduler's own log patterns; without it there is one task
    and stdout/stderr are that run's stdout.log and stderr.log.
    """

    scheduler: str
    name: str
    tasks: Sequence[Task]
    work_dir: str
    stdout: str
    stderr: str
    directives: Sequence[str] = ()  # options in the scheduler's syntax, e.g. "--time=01:00:00"
    setup: Sequence[str] = ()  # shell lines before the command (module load, conda activate)
    after: Sequence[str] = ()  # shell lines after the command (from `tinyxp sub` scripts)
    array: bool = False
    max_parallel: Optional[int] = None
    requeue: bool = False
    signal_grace: int = 120
    shebang: str = SHEBANG


class Backend(NamedTuple):
    name: str
    prefix: str  # directive prefix, e.g. "#SBATCH"
    submit: Tuple[str, ...]  # command before the script path
    re_job_id: Pattern  # named groups: job_id (and cluster, array_id ...)
    job_id_env: str  # environment variable of the job id inside a job
    task_env: Tuple[str, ...]  # environment variables of the array index, first set wins
    array_job_env: Tuple[str, ...]  # environment variables of the array's own id
    first_index: int  # first array index the scheduler accepts
    array_logs: Tuple[str, str]  # stdout, stderr file names of array tasks (scheduler placeholders)
    directives: Callable[[JobSpec], List[str]]
    owned: Tuple[str, ...]  # options tinyxp sets itself (logs, arrays); a later directive would win
    stdin_script: bool = False  # the script is read from standard input (bsub < script)
    forward_signal: bool = False  # the preemption signal reaches only the batch shell


def _q(value: Any) -> str:
    return shlex.quote(str(value))


def _slurm_directives(spec: JobSpec) -> List[str]:
    lines = [f"--job-name={_q(spec.name)}", f"--output={_q(spec.stdout)}", f"--error={_q(spec.stderr)}"]
    if spec.array:
        throttle = f"%{spec.max_parallel}" if spec.max_parallel else ""
        lines.append(f"--array=0-{len(spec.tasks) - 1}{throttle}")
    if spec.requeue:
        lines += ["--open-mode=append", f"--signal=B:USR1@{spec.signal_grace}", "--requeue"]
    return lines


def _oar_directives(spec: JobSpec) -> List[str]:
    lines = [f"-n {_q(spec.name)}", f"-O {_q(spec.stdout)}", f"-E {_q(spec.stderr)}"]
    if spec.array:
        if spec.max_parallel:
            raise SchedulerError(
                "Invalid xp.max_parallel for OAR: OAR arrays have no throttle; unset xp.max_parallel"
            )
        lines.append(f"--array {len(spec.tasks)}")
    if spec.requeue:
        lines += [f"--checkpoint {spec.signal_grace}", "--signal 10", "-t idempotent"]
    return lines


def _pbs_directives(spec: JobSpec, *, array_option: str = "-J") -> List[str]:
    lines = [f"-N {_q(spec.name)}", f"-o {_q(spec.stdout)}", f"-e {_q(spec.stderr)}"]
    if spec.array:
        throttle = f"%{spec.max_parallel}" if spec.max_parallel else ""
        lines.append(f"{array_option} 0-{len(spec.tasks) - 1}{throttle}")
    if spec.requeue:
        lines.append("-r y")
    return lines


def _torque_directives(spec: JobSpec) -> List[str]:
    """PBS Pro's directives, but Torque spells job arrays -t where PBS Pro has -J."""
    return _pbs_directives(spec, array_option="-t")


def _sge_directives(spec: JobSpec) -> List[str]:
    lines = [f"-N {_q(spec.name)}", f"-o {_q(spec.stdout)}", f"-e {_q(spec.stderr)}", "-S /bin/bash"]
    if spec.array:
        lines.append(f"-t 1-{len(spec.tasks)}")
        if spec.max_parallel:
            lines.append(f"-tc {spec.max_parallel}")
    if spec.requeue:
        lines += ["-notify", "-r y"]
    return lines


def _lsf_directives(spec: JobSpec) -> List[str]:
    name = _q(spec.name)
    if spec.array:  # the form LSF documents: -J "name[1-N]%M"
        throttle = f"%{spec.max_parallel}" if spec.max_parallel else ""
        name = '"{}[1-{}]{}"'.format(spec.name.replace('"', ""), len(spec.tasks), throttle)
    lines = [f"-J {name}", f"-o {_q(spec.stdout)}", f"-e {_q(spec.stderr)}"]
    if spec.requeue:
        minutes = max(1, -(-spec.signal_grace // 60))  # -wt is in minutes: round up
        lines += [f"-wa USR1 -wt {minutes}", f'-Q "{PREEMPT_EXIT_CODE}"']
    return lines


BACKENDS: Dict[str, Backend] = {
    "slurm": Backend(
        "slurm", "#SBATCH", ("sbatch", "--parsable"),
        re.compile(r"^(?P<job_id>\d+)(?:;(?P<cluster>\S+))?\s*$", re.M),
        JOB_ID_ENVS["slurm"], ARRAY_TASK_ENVS["slurm"], ARRAY_JOB_ENVS["slurm"], 0,
        ("%A_%a.out", "%A_%a.err"), _slurm_directives, ("-o", "--output", "-e", "--error", "-a", "--array"),
        forward_signal=True,
    ),
    "oar": Backend(
        "oar", "#OAR", ("oarsub", "-S"),
        re.compile(r"^OAR_JOB_ID=(?P<job_id>\d+)\s*$", re.M),
        JOB_ID_ENVS["oar"], ARRAY_TASK_ENVS["oar"], ARRAY_JOB_ENVS["oar"], 1,
        ("%jobid%.out", "%jobid%.err"), _oar_directives,
        ("-O", "--stdout", "-E", "--stderr", "--array", "--array-param-file"), forward_signal=True,
    ),
    "pbs": Backend(
        "pbs", "#PBS", ("qsub",),
        re.compile(r"^(?P<job_id>\d+(?:\[\d*\])?(?:\.\S+)?)\s*$", re.M),
        JOB_ID_ENVS["pbs"], ARRAY_TASK_ENVS["pbs"], ARRAY_JOB_ENVS["pbs"], 0,
        ("^array_index^.out", "^array_index^.err"), _pbs_directives, ("-o", "-e", "-j", "-J"),
    ),
    "torque": Backend(
        "torque", "#PBS", ("qsub",),
        re.compile(r"^(?P<job_id>\d+(?:\[\d*\])?(?:\.\S+)?)\s*$", re.M),
        JOB_ID_ENVS["torque"], ARRAY_TASK_ENVS["torque"], ARRAY_JOB_ENVS["torque"], 0,
        ("", ""), _torque_directives, ("-o", "-e", "-j", "-t"),
    ),
    "sge": Backend(
        "sge", "#$", ("qsub", "-terse"),
        re.compile(r"^(?P<job_id>\d+)(?:\.(?P<tasks>\d+-\d+:\d+))?\s*$", re.M),
        JOB_ID_ENVS["sge"], ARRAY_TASK_ENVS["sge"], ARRAY_JOB_ENVS["sge"], 1,
        ("$JOB_ID.$TASK_ID.out", "$JOB_ID.$TASK_ID.err"), _sge_directives, ("-o", "-e", "-j", "-t", "-tc"),
    ),
    "lsf": Backend(
        "lsf", "#BSUB", ("bsub",),
        re.compile(r"^Job <(?P<job_id>\d+)> is submitted", re.M),
        JOB_ID_ENVS["lsf"], ARRAY_TASK_ENVS["lsf"], ARRAY_JOB_ENVS["lsf"], 1,
        ("%J_%I.out", "%J_%I.err"), _lsf_directives, ("-o", "-oo", "-e", "-eo"), stdin_script=True,
    ),
}

DIRECTIVE_PREFIXES = {"#SBATCH": "slurm", "#OAR": "oar", "#PBS": "pbs", "#$": "sge", "#BSUB": "lsf"}


def get_backend(name: Any) -> Backend:
    """The backend called name; raises SchedulerError listing the known ones."""
    backend = BACKENDS.get(name) if isinstance(name, str) else None
    if backend is None:
        raise SchedulerError(
            f"Unknown xp.scheduler {name!r}{suggest(str(name), BACKENDS)} (expected one of: {', '.join(BACKENDS)})"
        )
    return backend


def owned_option(scheduler: str, option: str) -> Optional[str]:
    """The option a directive's text sets when tinyxp sets it itself (log paths, arrays), else None.

    Such a directive would override tinyxp's own (the later directive wins) and send a
    job's output out of its run directory.
    """
    words = option.split(None, 1)
    name = words[0].split("=", 1)[0] if words else ""
    return name if name in get_backend(scheduler).owned else None


class ShellText(str):
    """Shell code written into a job script as it is: the command part of a user's own line."""


def render_command(argv: Sequence[str]) -> str:
    """argv as one shell line, every word quoted but ShellText."""
    return " ".join(word if isinstance(word, ShellText) else _q(word) for word in argv)


def _task_cases(variable: str, first_index: int, values: Sequence[str], *, default: bool) -> List[str]:
    lines = [f'case "${{{variable}}}" in']
    lines += [f"  {first_index + i}) {value} ;;" for i, value in enumerate(values)]
    if default:
        lines.append(f'  *) echo "tinyxp: no task ${{{variable}}} in this array" >&2; exit 1 ;;')
    lines.append("esac")
    return lines


def render_script(spec: JobSpec) -> str:
    """The text of the job script for spec (pure: the same spec gives the same text).

    Raises SchedulerError for an unknown scheduler or settings it cannot express.
    """
    backend = get_backend(spec.scheduler)
    if not spec.tasks:
        raise SchedulerError("Cannot write a job script without a task")
    if len(spec.tasks) > 1 and not spec.array:
        raise SchedulerError(f"Cannot run {len(spec.tasks)} tasks in one job without an array")
    lines = [spec.shebang]
    for option in [*backend.directives(spec), *spec.directives]:
        if "\n" in option or "\r" in option:  # the next line would run as a shell command
            raise SchedulerError(f"Invalid directive {option!r}: a directive cannot hold a line break")
        lines.append(f"{backend.prefix} {option}")
    lines.append("")
    variable = backend.task_env[0]
    if spec.array:
        # the scheduler's own log holds only what happens before this redirection
        lines += _task_cases(variable, backend.first_index, [f"run_dir={_q(t.run_dir)}" for t in spec.tasks], default=True)
        lines.append('exec >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log"')
    lines.append(f"cd {_q(spec.work_dir)}")
    lines += spec.setup
    background = " &" if spec.requeue else ""
    if spec.requeue:
        lines.append(_render_trap(backend))
    if spec.array:
        commands = [render_command(t.argv) + background for t in spec.tasks]
        lines += _task_cases(variable, backend.first_index, commands, default=False)
    else:
        lines.append(render_command(spec.tasks[0].argv) + background)
    if spec.requeue:
        lines += _render_wait(backend)
        if not spec.after:
            lines.append('exit "$status"')
    lines += spec.after
    return "\n".join(lines) + "\n"


def _render_trap(backend: Backend) -> str:
    # Set before python starts: a signal that came before the trap would end the batch
    # shell and leave python running without it.
    forward = ' kill -USR1 "$child" 2>/dev/null;' if backend.forward_signal else ""
    return f"trap 'preempted=1;{forward}' USR1"


def _render_wait(backend: Backend) -> List[str]:
    # A batch shell runs no trap while a foreground child runs: python runs in the
    # background and the shell waits, so that the signal reaches python at once.
    lines = [
        "child=$!",
        'while kill -0 "$child" 2>/dev/null; do wait "$child"; done',
        'wait "$child"',
        "status=$?",
    ]
    if backend.name in ("oar", "sge", "lsf"):
        lines.append(f'if [ -n "${{preempted:-}}" ]; then exit {PREEMPT_EXIT_CODE}; fi  # resubmit')
    return lines


def array_log_paths(scheduler: str, folder: str) -> Tuple[str, str]:
    """stdout and stderr paths (with the scheduler's placeholders) of array tasks in folder."""
    stdout, stderr = get_backend(scheduler).array_logs
    if not stdout:  # Torque names the files itself (<name>.o<id>-<index>) in a folder
        return folder + os.sep, folder + os.sep
    return os.path.join(folder, stdout), os.path.join(folder, stderr)


def run_command(argv: Sequence[str], *, stdin_path: Optional[str] = None, timeout: float = 120) -> Tuple[int, str]:
    """Run an external command (sbatch, oarsub, qsub, bsub, scontrol); (exit status, output).

    Standard output and error come back together, as a user would see them. Raises
    SchedulerError when the command is not found or does not finish in time.
    """
    from .._commands import NOT_FOUND, CommandNotRun
    from .._commands import run_command as run

    try:
        status, output, _ = run(argv, stdin_path=stdin_path, timeout=timeout, merge_stderr=True)
    except CommandNotRun as err:
        shown = argv[0] if err.why == NOT_FOUND else render_command(argv)
        raise SchedulerError(f"Cannot run {shown!r}: {err.reason}") from None
    return status, output.decode("utf-8", "replace")


def parse_job_id(scheduler: str, output: str) -> Dict[str, Any]:
    """The job id in a submit command's output: {job_id, array_job_id}.

    SLURM `N` or `N;cluster`; OAR every `OAR_JOB_ID=N` line and `OAR_ARRAY_ID=N`
    (admission-rule lines may come first); PBS/Torque the whole id with its server
    suffix; SGE `N` or `N.1-4:1`; LSF `Job <N> is submitted ...`. Raises
    SchedulerError quoting the output when no id is found.
    """
    backend = get_backend(scheduler)
    matches = list(backend.re_job_id.finditer(output))
    if not matches:
        raise SchedulerError(
            f"Cannot find a job id in the output of {backend.submit[0]}:\n{indent_output(output)}"
        )
    job_id = matches[0].group("job_id")
    array_id = None
    if scheduler == "oar":
        found = re.search(r"^OAR_ARRAY_ID=(?P<array_id>\d+)\s*$", output, re.M)
        array_id = found.group("array_id") if found else None
        return {"job_id": job_id, "array_job_id": array_id, "job_ids": [m.group("job_id") for m in matches]}
    return {"job_id": job_id, "array_job_id": array_id, "job_ids": [job_id]}


def indent_output(output: str) -> str:
    """A command's output, indented under the message that quotes it."""
    text = output.rstrip("\n") or "(no output)"
    return "\n".join("    " + line for line in text.split("\n"))


def submit_script(scheduler: str, script_path: str) -> Dict[str, Any]:
    """Submit a job script; returns parse_job_id's dict.

    Raises SchedulerError quoting the command's whole output when it fails.
    """
    backend = get_backend(scheduler)
    if backend.stdin_script:
        argv, stdin_path = list(backend.submit), script_path
    else:
        argv, stdin_path = [*backend.submit, script_path], None
    status, output = run_command(argv, stdin_path=stdin_path)
    if status != 0:
        raise SchedulerError(
            f"Cannot submit {script_path!r}: {backend.submit[0]} exited with status {status}:\n{indent_output(output)}"
        )
    try:
        return parse_job_id(scheduler, output)
    except SchedulerError:
        raise SchedulerError(
            f"Cannot find a job id in the output of {backend.submit[0]}, which exited with status 0 "
            f"(the job may be queued: check before submitting {script_path!r} again):\n{indent_output(output)}"
        ) from None


def max_array_size(scheduler: str) -> int:
    """The largest job array the cluster accepts: SLURM's MaxArraySize, else 1001."""
    if scheduler != "slurm":
        return DEFAULT_MAX_ARRAY_SIZE
    try:
        status, output = run_command(["scontrol", "show", "config"], timeout=30)
    except SchedulerError:
        return DEFAULT_MAX_ARRAY_SIZE
    found = re.search(r"^MaxArraySize\s*=\s*(?P<size>\d+)", output, re.M)
    if status != 0 or not found:
        return DEFAULT_MAX_ARRAY_SIZE
    return max(1, int(found.group("size")))
