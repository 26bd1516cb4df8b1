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
from collections import namedtuple

from .._commands import NOT_FOUND, CommandNotRun
from .._commands import run_command as run_external
from .._contract import (
    ARRAY_ENV, ARRAY_JOB_ENVS, ARRAY_TASK_ENVS, DEFAULT_REQUEUE_SIGNAL, DEFAULT_SIGNAL_GRACE, JOB_ID_ENVS, RUN_DIR_ENV,
    TASK_JOB_IDS,
)
from ..errors import SchedulerError, suggest
from ..run.info import render_command

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

DEFAULT_MAX_ARRAY_SIZE = 1001  # SLURM's default MaxArraySize; used when the cluster does not say
PREEMPT_EXIT_CODE = 99  # OAR (-t idempotent), SGE and LSF (-Q 99) resubmit a job that exits with it
SHEBANG = "#!/bin/bash"
# Linux's numbers of the requeue signals, for OAR's --signal (the nodes' numbers, not this machine's)
SIGNAL_NUMBERS = {"HUP": 1, "USR1": 10, "USR2": 12, "TERM": 15}
# assignments (NAME=value, the value possibly quoted) at the start of a user's command line
RE_ASSIGNMENTS = re.compile(r"""(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"(?:[^"\\]|\\.)*"|\\.|[^\s'"\\])*\s+)*""")


Task = namedtuple("Task", "run_dir argv")
Task.__doc__ = "One run of a job: its run directory and the command (a sequence of words) that fills it."

JobSpec = namedtuple(
    "JobSpec",
    "scheduler name tasks work_dir stdout stderr directives setup after array max_parallel requeue signal_grace shebang "
    "requeue_signal",
    defaults=((), (), (), False, None, False, DEFAULT_SIGNAL_GRACE, SHEBANG, DEFAULT_REQUEUE_SIGNAL),
)
JobSpec.__doc__ = """Everything a job script holds; `render_script(spec)` is its text.

With `array` the tasks become one job array (task i runs tasks[i]) and stdout/stderr
are the scheduler's own log patterns; without it there is one task and stdout/stderr
are that run's stdout.log and stderr.log. directives are options in the scheduler's
syntax ("--time=01:00:00"); setup and after are shell lines before and after the
command (module load; the lines after a `tinyxp sub` script's python line).
"""


class Backend:
    """One scheduler's row: every fact tinyxp knows about it, set by keyword."""

    __slots__ = (
        "name", "prefix", "submit", "re_job_id", "job_id_env", "task_env", "array_job_env", "first_index",
        "array_logs", "directives", "owned", "stdin_script", "resubmits", "re_array_id",
        "task_job", "bracket_arrays", "asks_max_array", "depend", "signals", "package",
    )

    def __init__(
        self, *, name: str, prefix: str, submit: tuple[str, ...], re_job_id: re.Pattern[str], first_index: int,
        array_logs: tuple[str, str], directives: Callable[[JobSpec], list[str]], owned: tuple[str, ...],
        stdin_script: bool = False, resubmits: bool = False,
        re_array_id: re.Pattern[str] | None = None, task_job: str | None = "{job}_{task}", bracket_arrays: bool = False,
        asks_max_array: bool = False, depend: Callable[[Sequence[str]], list[str]],
        signals: tuple[str, ...] | None = None, package: str = "",
    ) -> None:
        self.name = name
        self.prefix = prefix  # directive prefix, e.g. "#SBATCH"
        self.submit = submit  # command before the script path
        self.re_job_id = re_job_id  # named groups: job_id (and cluster, array_id ...)
        self.job_id_env = JOB_ID_ENVS[name]  # environment variable of the job id inside a job
        self.task_env = ARRAY_TASK_ENVS[name]  # environment variables of the array index, first set wins
        self.array_job_env = ARRAY_JOB_ENVS[name]  # environment variables of the array's own id
        self.first_index = first_index  # first array index the scheduler accepts
        self.array_logs = array_logs  # stdout, stderr file names of array tasks (scheduler placeholders)
        self.directives = directives
        self.owned = owned  # options tinyxp sets itself (logs, arrays); a later directive would win
        self.stdin_script = stdin_script  # the script is read from standard input (bsub < script)
        self.resubmits = resubmits  # resubmits a job that exits with PREEMPT_EXIT_CODE
        self.re_array_id = re_array_id  # the array's own id in the submit output, when every task is a job
        self.task_job = task_job  # an array task's job id from the array's; None: every task is a job
        self.bracket_arrays = bracket_arrays  # an array id `N[]` names a task `N[index]`
        self.asks_max_array = asks_max_array  # the cluster tells its largest array (scontrol show config)
        self.depend = depend  # job ids -> submit options starting the job once they have all ended
        self.signals = signals  # the requeue signals it can send before the limit; None: any
        self.package = package  # where its commands come from, for the message when they are missing

    def __repr__(self) -> str:
        return f"Backend(name={self.name!r})"


def _q(value: Any) -> str:
    return shlex.quote(str(value))


def _slurm_directives(spec: JobSpec) -> list[str]:
    lines = [f"--job-name={_q(spec.name)}", f"--output={_q(spec.stdout)}", f"--error={_q(spec.stderr)}"]
    if spec.array:
        throttle = f"%{spec.max_parallel}" if spec.max_parallel else ""
        lines.append(f"--array=0-{len(spec.tasks) - 1}{throttle}")
    if spec.requeue:
        lines += ["--open-mode=append", f"--signal=B:{spec.requeue_signal}@{spec.signal_grace}", "--requeue"]
    return lines


def _oar_directives(spec: JobSpec) -> list[str]:
    lines = [f"-n {_q(spec.name)}", f"-O {_q(spec.stdout)}", f"-E {_q(spec.stderr)}"]
    if spec.array:
        if spec.max_parallel:
            raise SchedulerError(
                "Invalid xp.max_parallel for OAR: OAR arrays have no throttle; unset xp.max_parallel"
            )
        lines.append(f"--array {len(spec.tasks)}")
    if spec.requeue:
        lines += [f"--checkpoint {spec.signal_grace}", f"--signal {SIGNAL_NUMBERS[spec.requeue_signal]}", "-t idempotent"]
    return lines


def _pbs_directives(spec: JobSpec, *, array_option: str = "-J") -> list[str]:
    lines = [f"-N {_q(spec.name)}", f"-o {_q(spec.stdout)}", f"-e {_q(spec.stderr)}"]
    if spec.array:
        throttle = f"%{spec.max_parallel}" if spec.max_parallel else ""
        lines.append(f"{array_option} 0-{len(spec.tasks) - 1}{throttle}")
    if spec.requeue:
        lines.append("-r y")
    return lines


def _torque_directives(spec: JobSpec) -> list[str]:
    """PBS Pro's directives, but Torque spells job arrays -t where PBS Pro has -J."""
    return _pbs_directives(spec, array_option="-t")


def _sge_directives(spec: JobSpec) -> list[str]:
    lines = [f"-N {_q(spec.name)}", f"-o {_q(spec.stdout)}", f"-e {_q(spec.stderr)}", "-S /bin/bash"]
    if spec.array:
        lines.append(f"-t 1-{len(spec.tasks)}")
        if spec.max_parallel:
            lines.append(f"-tc {spec.max_parallel}")
    if spec.requeue:  # USR2 comes with -notify before a kill; USR1 at a soft limit the user sets (-l s_rt)
        lines += ["-notify", "-r y"] if spec.requeue_signal == "USR2" else ["-r y"]
    return lines


def _lsf_directives(spec: JobSpec) -> list[str]:
    name = _q(spec.name)
    if spec.array:  # the form LSF documents: -J "name[1-N]%M"
        throttle = f"%{spec.max_parallel}" if spec.max_parallel else ""
        name = '"{}[1-{}]{}"'.format(spec.name.replace('"', ""), len(spec.tasks), throttle)
    lines = [f"-J {name}", f"-o {_q(spec.stdout)}", f"-e {_q(spec.stderr)}"]
    if spec.requeue:
        minutes = max(1, -(-spec.signal_grace // 60))  # -wt is in minutes: round up
        lines += [f"-wa {spec.requeue_signal} -wt {minutes}", f'-Q "{PREEMPT_EXIT_CODE}"']
    return lines


def _pbs_depend(ids: Sequence[str]) -> list[str]:
    return ["-W", f"depend=afterany:{':'.join(ids)}"]


BACKENDS: dict[str, Backend] = {
    "slurm": Backend(
        name="slurm", prefix="#SBATCH", submit=("sbatch", "--parsable"),
        re_job_id=re.compile(r"^(?P<job_id>\d+)(?:;(?P<cluster>\S+))?\s*$", re.M), first_index=0,
        array_logs=("%A_%a.out", "%A_%a.err"), directives=_slurm_directives,
        owned=("-o", "--output", "-e", "--error", "-a", "--array"),
        asks_max_array=True, depend=lambda ids: [f"--dependency=afterany:{':'.join(ids)}"],
        package="the Debian/Ubuntu package slurm-client, or the cluster's SLURM module",
    ),
    "oar": Backend(
        name="oar", prefix="#OAR", submit=("oarsub", "-S"),
        re_job_id=re.compile(r"^OAR_JOB_ID=(?P<job_id>\d+)\s*$", re.M), first_index=1,
        array_logs=("%jobid%.out", "%jobid%.err"), directives=_oar_directives,
        owned=("-O", "--stdout", "-E", "--stderr", "--array", "--array-param-file"),
        re_array_id=re.compile(r"^OAR_ARRAY_ID=(?P<array_id>\d+)\s*$", re.M), resubmits=True, task_job=None,
        depend=lambda ids: [word for job in ids for word in ("-a", job)],
        package="the Debian/Ubuntu package oar-user",
    ),
    "pbs": Backend(
        name="pbs", prefix="#PBS", submit=("qsub",),
        re_job_id=re.compile(r"^(?P<job_id>\d+(?:\[\d*\])?(?:\.\S+)?)\s*$", re.M), first_index=0,
        array_logs=("^array_index^.out", "^array_index^.err"), directives=_pbs_directives,
        owned=("-o", "-e", "-j", "-J"), bracket_arrays=True, depend=_pbs_depend,
        package="the PBS Pro (OpenPBS) client commands",
    ),
    "torque": Backend(
        name="torque", prefix="#PBS", submit=("qsub",),
        re_job_id=re.compile(r"^(?P<job_id>\d+(?:\[\d*\])?(?:\.\S+)?)\s*$", re.M), first_index=0,
        array_logs=("", ""), directives=_torque_directives, owned=("-o", "-e", "-j", "-t"),
        bracket_arrays=True, depend=_pbs_depend, package="the Debian/Ubuntu package torque-client",
    ),
    "sge": Backend(
        name="sge", prefix="#$", submit=("qsub", "-terse"),
        re_job_id=re.compile(r"^(?P<job_id>\d+)(?:\.(?P<tasks>\d+-\d+:\d+))?\s*$", re.M), first_index=1,
        array_logs=("$JOB_ID.$TASK_ID.out", "$JOB_ID.$TASK_ID.err"), directives=_sge_directives,
        owned=("-o", "-e", "-j", "-t", "-tc"), resubmits=True, task_job=TASK_JOB_IDS["sge"], signals=("USR1", "USR2"),
        depend=lambda ids: ["-hold_jid", ",".join(job.split(".")[0] for job in ids)],  # a task N.i: its array N
        package="the Debian/Ubuntu package gridengine-client",
    ),
    "lsf": Backend(
        name="lsf", prefix="#BSUB", submit=("bsub",),
        re_job_id=re.compile(r"^Job <(?P<job_id>\d+)> is submitted", re.M), first_index=1,
        array_logs=("%J_%I.out", "%J_%I.err"), directives=_lsf_directives, owned=("-o", "-oo", "-e", "-eo"),
        stdin_script=True, resubmits=True, task_job=TASK_JOB_IDS["lsf"],
        depend=lambda ids: ["-w", " && ".join(f"ended({job})" for job in ids)],
        package="IBM Spectrum LSF (source the cluster's profile.lsf)",
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


def owned_option(scheduler: str, option: str) -> str | None:
    """The option a directive's text sets when tinyxp sets it itself (log paths, arrays), else None.

    Such a directive would override tinyxp's own (the later directive wins) and send a
    job's output out of its run directory.
    """
    words = option.split(None, 1)
    name = words[0].split("=", 1)[0] if words else ""
    return name if name in get_backend(scheduler).owned else None


def _task_cases(variable: str, first_index: int, values: Sequence[str], *, default: bool) -> list[str]:
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
    if spec.requeue:
        check_requeue_signal(spec.scheduler, spec.requeue_signal)
    lines = [spec.shebang]
    for option in [*backend.directives(spec), *spec.directives]:
        if "\n" in option or "\r" in option:  # the next line would run as a shell command
            raise SchedulerError(f"Invalid directive {option!r}: a directive cannot hold a line break")
        lines.append(f"{backend.prefix} {option}")
    lines += ["", "export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends"]
    variable = backend.task_env[0]
    if spec.array:
        # the scheduler's own log holds only what happens before this redirection
        run_dirs = [f'run_dir={_q(t.run_dir)}; export {RUN_DIR_ENV}="$run_dir"' for t in spec.tasks]
        lines += _task_cases(variable, backend.first_index, run_dirs, default=True)
        lines.append('exec >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log"')
        lines.append(f"export {ARRAY_ENV}=1  # an array task, whatever the scheduler's variables say")
    else:
        lines.append(f"export {RUN_DIR_ENV}={_q(spec.tasks[0].run_dir)}")  # the job's launcher knows its run
    lines.append(f"cd {_q(spec.work_dir)}")
    lines += spec.setup
    if spec.requeue:
        lines.append(_render_trap(spec.requeue_signal))
    commands = [_render_task(t.argv, spec.requeue_signal if spec.requeue else None) for t in spec.tasks]
    if spec.array:
        lines += _task_cases(variable, backend.first_index, commands, default=False)
    else:
        lines += commands
    if spec.requeue:
        lines += _render_wait(backend, spec.requeue_signal)
        if not spec.after:
            lines.append('exit "$status"')
    lines += spec.after
    return "\n".join(lines) + "\n"


def check_requeue_signal(scheduler: str, requeue_signal: str) -> None:
    """Raises SchedulerError when the scheduler cannot send requeue_signal before a time limit."""
    backend = get_backend(scheduler)
    if backend.signals is not None and requeue_signal not in backend.signals:
        raise SchedulerError(
            f"Invalid xp.requeue_signal {requeue_signal!r} for {backend.name}: it sends only "
            f"{' or '.join(backend.signals)} before a time limit (set xp.requeue_signal={backend.signals[-1]})"
        )


def _render_task(argv: Sequence[str], requeue_signal: str | None) -> str:
    """The line that runs a task: in the foreground, or with a requeue signal in the
    background, started with that signal ignored (TERM excepted: the task's own children
    must stop on it) so that one coming before python's handler is not fatal; tinyxp's
    handler replaces the ignore, and the wrapper sends the signal again."""
    command = render_command(argv)
    if requeue_signal is None:
        return command
    if requeue_signal == "TERM":
        return command + " &"
    found = RE_ASSIGNMENTS.match(command)
    start = found.end() if found else 0
    return f"(trap '' {requeue_signal}; {command[:start]}exec {command[start:]}) &"


def _render_trap(requeue_signal: str) -> str:
    # Set before python starts: a signal that came before the trap would end the batch
    # shell and leave python running without it. Until `child=$!` there is no child to
    # forward to: the wait loop sends it again.
    return f"trap 'preempted=1; kill -{requeue_signal} \"$child\" 2>/dev/null' {requeue_signal}"


def _render_wait(backend: Backend, requeue_signal: str) -> list[str]:
    # A batch shell runs no trap while a foreground child runs: python runs in the
    # background and the shell waits, so that the signal reaches python at once. After
    # a signal, it is sent again each second, five times: one that came before python
    # installed its handler (and was ignored) is handled then; tinyxp ignores repeats.
    lines = [
        "child=$!",
        "resent=0",
        'while kill -0 "$child" 2>/dev/null; do',
        '    if [ -n "${preempted:-}" ] && [ "$resent" -lt 5 ]; then',
        f'        sleep 1; kill -{requeue_signal} "$child" 2>/dev/null; resent=$((resent + 1))',
        '    else wait "$child"; fi',
        "done",
        'wait "$child"',
        "status=$?",
    ]
    if backend.resubmits:
        lines.append(f'if [ -n "${{preempted:-}}" ]; then exit {PREEMPT_EXIT_CODE}; fi  # resubmit')
    return lines


def array_log_paths(scheduler: str, folder: str) -> tuple[str, str]:
    """stdout and stderr paths (with the scheduler's placeholders) of array tasks in folder."""
    stdout, stderr = get_backend(scheduler).array_logs
    if not stdout:  # Torque names the files itself (<name>.o<id>-<index>) in a folder
        return folder + os.sep, folder + os.sep
    return os.path.join(folder, stdout), os.path.join(folder, stderr)


def run_command(argv: Sequence[str], *, stdin_path: str | None = None, timeout: float = 120) -> tuple[int, str]:
    """Run an external command (sbatch, oarsub, qsub, bsub, scontrol); (exit status, output).

    Standard output and error come back together, as a user would see them. PWD is
    set to the working folder (oarsub reads it, and fails with status 8 without it).
    Raises SchedulerError when the command is not found or does not finish in time.
    """
    try:
        status, output, _ = run_external(argv, stdin_path=stdin_path, timeout=timeout, merge_stderr=True,
                                         env={"PWD": os.getcwd()})
    except CommandNotRun as err:
        shown = argv[0] if err.why == NOT_FOUND else render_command(argv)
        raise SchedulerError(f"Cannot run {shown!r}: {err.reason}") from None
    return status, output.decode("utf-8", "replace")


def parse_job_id(scheduler: str, output: str) -> dict[str, Any]:
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
    if backend.re_array_id is not None:
        found = backend.re_array_id.search(output)
        array_id = found.group("array_id") if found else None
        return {"job_id": job_id, "array_job_id": array_id, "job_ids": [m.group("job_id") for m in matches]}
    return {"job_id": job_id, "array_job_id": array_id, "job_ids": [job_id]}


def task_job_id(backend: Backend, job_id: str, task_id: int) -> str:
    """The job id of task task_id of the array job_id (a backend with task_job)."""
    if backend.bracket_arrays and "[]" in job_id:
        return job_id.replace("[]", f"[{task_id}]")
    assert backend.task_job is not None
    return backend.task_job.format(job=job_id, task=task_id)


def indent_output(output: str) -> str:
    """A command's output, indented under the message that quotes it."""
    text = output.rstrip("\n") or "(no output)"
    return "\n".join("    " + line for line in text.split("\n"))


def check_commands(scheduler: str) -> None:
    """Raises SchedulerError when the scheduler's submit command is not on PATH, naming it
    and where it comes from: before any run directory is made."""
    import shutil

    backend = get_backend(scheduler)
    command = backend.submit[0]
    if shutil.which(command) is None:
        raise SchedulerError(
            f"Cannot submit to {scheduler}: {command!r} is not on PATH (it comes with {backend.package}; "
            "submit from a machine of the cluster, or load its module)"
        )


def submit_script(scheduler: str, script_path: str, *, after: Sequence[str] = ()) -> dict[str, Any]:
    """Submit a job script (to start once the jobs `after` have ended); returns parse_job_id's dict.

    Raises SchedulerError quoting the command's whole output when it fails.
    """
    backend = get_backend(scheduler)
    options = backend.depend(after) if after else []
    if backend.stdin_script:
        argv, stdin_path = [*backend.submit, *options], script_path
    else:
        argv, stdin_path = [*backend.submit, *options, script_path], None
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
    if not get_backend(scheduler).asks_max_array:
        return DEFAULT_MAX_ARRAY_SIZE
    try:
        status, output = run_command(["scontrol", "show", "config"], timeout=30)
    except SchedulerError:
        return DEFAULT_MAX_ARRAY_SIZE
    found = re.search(r"^MaxArraySize\s*=\s*(?P<size>\d+)", output, re.M)
    if status != 0 or not found:
        return DEFAULT_MAX_ARRAY_SIZE
    return max(1, int(found.group("size")))
