"""`tinyxp sub`: a job script in the scheduler's own syntax, its python lines expanded into jobs.

parse_job_script reads the directives, setup lines, python command lines and the lines
after them; submit_job_script expands each python line's sweeps and submits one job per
setting (or one array) through submit.py.
"""
from __future__ import annotations

import os
import re
import sys
from collections import namedtuple

from .._contract import DEFAULT_REQUEUE_SIGNAL, DEFAULT_SIGNAL_GRACE, TINYXP_DIR
from .._files import ensure_log_dir
from ..config.compose import compose
from ..config.settings import check_max_parallel, compose_xp
from ..config.command_line import parse_command_line
from ..config.overrides import make_override
from ..config.search import expand_command_line
from ..errors import ConfigError, SchedulerError, TinyxpError, suggest
from ..run.info import ShellText
from .backends import DIRECTIVE_PREFIXES, check_commands, get_backend
from .task_source import script_file, task_config, with_command_line
from .submit import (
    Submission, chain_setup, check_submittable, own_directives, print_submitted, record_git, resolve_after,
    snapshot_setup, submit_sweep, to_plain, without_job_keys, write_dry_run,
)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

RE_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?$")
STEP_LAUNCHERS = ("srun",)  # a python line may start with `srun [options]`
RE_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
RE_DIRECTIVE = re.compile(r"^(?P<prefix>#[A-Z]{2,}|#\$)(\s|$)")



Command = namedtuple("Command", "line pos command args text", defaults=("",))
Command.__doc__ = """A python command line of a job script: its line number, its offset in the script, the
command [env..., python, options..., script], the overrides, and the command part as
written (up to the script), kept as it is in the jobs."""

JobScript = namedtuple("JobScript", "scheduler shebang directives setup commands after")
JobScript.__doc__ = """A parsed job script: the scheduler its directives name (or None), the shebang, the
directives' option text in order, the lines before the first python command, the python
commands, and the lines after the first python command that are not python commands."""


def _logical_lines(text: str, path: str) -> list[tuple[int, list[tuple[int, int]], str]]:
    """(line number, starts, text) of each line, `\\` continuations joined.

    starts maps the joined text back to the script: (index in text, offset in the
    script) where each physical line begins.
    """
    lines: list[tuple[int, list[tuple[int, int]], str]] = []
    pending: tuple[int, list[tuple[int, int]], str] | None = None
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


def _script_pos(starts: list[tuple[int, int]], index: int) -> int:
    """The offset in the script of index in a joined line (see _logical_lines)."""
    start, offset = max(pair for pair in starts if pair[0] <= index)
    return offset + index - start


def _shell_words(line: str) -> list[tuple[str, int, int, int | None]]:
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
                if special is None and (char in "$`;&|<>" or _expands(line, start, i)):
                    special = i
                chars.append(char)
                i += 1
        words.append(("".join(chars), start, i, special))
    return words


def _expands(line: str, start: int, i: int) -> bool:
    """Whether bash expands the unquoted line[i] of the word starting at start: a tilde
    after the '=' or a ':' of `key=~/x` (a home folder), or the '{' of `{a,b}` / `{1..3}`
    (several words)."""
    if line[i] == "~":
        return i > start and line[i - 1] in "=:" and "=" in line[start:i]
    if line[i] != "{":
        return False
    depth, separated, j = 0, False, i
    while j < len(line) and line[j] not in " \t":
        char = line[j]
        if char in "'\"\\":  # quoted text inside the braces is text; it does not stop them
            end = j + 1 if char == "\\" else line.find(char, j + 1)
            if end < 0:
                return False
            j = end + 1
            continue
        depth += (char == "{") - (char == "}")
        separated = separated or (depth == 1 and (char == "," or line.startswith("..", j)))
        if depth == 0:
            return separated
        j += 1
    return False


def _is_python(word: str) -> bool:
    return bool(RE_PYTHON.match(os.path.basename(word)))


def _python_command(words: list[str]) -> tuple[list[str], list[str]] | None:
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
    scheduler: str | None = None
    first_prefix = ("", 0)  # the first directive's prefix and line
    directives: list[str] = []
    setup: list[str] = []
    commands: list[Command] = []
    after: list[str] = []

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
        if split is not None and words:
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
    if char == "{":
        return (
            f"Cannot read {word!r} as the shell would: it expands the braces into several words "
            "(quote the value to keep it as it is, or sweep with a comma: key=a,b)"
        )
    if char == "~":
        return (
            f"Cannot read {word!r} as the shell would: it replaces that '~' with a home folder "
            "(quote it to keep '~', write null for null, or read the environment in the config: ${env:HOME})"
        )
    if char in "$`":
        return (
            f"Cannot expand {word!r} at submission: tinyxp reads the overrides before the job's shell runs "
            "(write the value, quote it to keep it as it is, or read the environment in the config: ${env:NAME})"
        )
    return (
        f"Invalid override {word!r}: a python command line holds overrides only, "
        f"not the shell operator {char!r} (put that on a line of its own)"
    )


def _command_xp(config_dir: str, setting: Sequence[Any]) -> dict[str, Any]:
    """The xp settings of a command's setting: defaults, configs/tinyxp.yaml, xp.* tokens."""
    return dict(to_plain(compose_xp(config_dir, setting)))


def _continue(xp: dict[str, Any], target: str, log_dir: str, settings: list[Any], configs: list[Any] | None):
    """(settings, configs, resume ids or None) still to submit with xp.skip (run/existing.py)."""
    if xp.get("skip", "none") == "none":
        return settings, configs, None
    if configs is None:
        raise SchedulerError(f"Cannot use xp.skip={xp['skip']}: the config of {target!r} does not compose here")
    from ..run.existing import continue_settings

    decided, line = continue_settings(log_dir, target, xp["skip"], configs)
    print(line, file=sys.stderr)
    kept = [i for i, what in enumerate(decided) if what is not False]
    resume_ids = [decided[i] for i in kept]
    return ([settings[i] for i in kept], [configs[i] for i in kept],
            resume_ids if any(i is not None for i in resume_ids) else None)


def _command_configs(config_dir: str, settings: Sequence[Sequence[Any]]) -> list[Any] | None:
    """Each setting's composed config, for config.yaml at submission; None without a config folder.

    A bad override raises OverrideError, as on the command line. A config that does not
    compose here (a `${env:...}` that the job's setup lines export, say) is left to the
    job, which writes config.yaml when it starts.
    """
    if not os.path.exists(config_dir):
        return None
    try:
        return [compose(config_dir, setting) for setting in settings]
    except ConfigError:
        return None


# how the jobs of a python line run: command part, script, working folder, setup lines, info.git
_Job = namedtuple("_Job", "command script work_dir setup git")


def _snapshot_job(command: Command, target: str, xp: dict[str, Any], job: _Job) -> _Job:
    """job run from the snapshot of the line's script (xp.snapshot=true), taken now, once.

    The jobs run the snapshot's copy of the script (or `-m module` from the snapshot's
    copy of the working folder) there, and the setup lines pass them the snapshot's
    state, as relaunch_in_snapshot does. Raises GitError as snapshot.prepare_snapshot does.
    """
    import json  # json and git only for snapshots

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
    setup = [snapshot_setup(json.dumps(plan)), *job.setup]
    return _Job(run, snap_script, work_dir, setup, snapshot.snapshot_git_info(plan))


def submit_job_script(
    path: str, *, scheduler: str | None = None, array: bool = False, dry_run: bool = False,
    after: int | str | None = None, out: Any = print,
) -> int:
    """`tinyxp sub`: expand a job script's python commands and submit one job per setting.

    With array, each command's settings go as one job array (chunked to the cluster's
    limit); with dry_run the scripts are written to <log_dir>/.tinyxp/dry-run and
    printed, and nothing is submitted. after (a run id or job:ID) makes the jobs wait for
    that run's job, as xp.after does. Raises SchedulerError (bad script, failed
    submission, unknown after) or OverrideError (bad override on a python line).
    """
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
    if not dry_run:
        check_commands(name)
    directives = own_directives(name, script.directives, path)
    work_dir = os.getcwd()
    total = 0
    for command in script.commands:
        target = os.path.expanduser(os.path.expandvars(command.command[-1]))  # as the job's shell will
        module = command.command[-2:-1] == ["-m"]
        source = script_file(target, work_dir, module=module)
        config_dir = task_config(source, warn=lambda message: print(
            f"tinyxp: warning: {path}:{command.line}: {message}", file=sys.stderr))
        job = _Job([ShellText(command.text)], target, work_dir, list(script.setup), None)  # as written: `~/env/bin/python`, `$HOME/...` work
        if not module and "$" not in target and not os.path.isfile(os.path.join(work_dir, target)):
            print(f"tinyxp: warning: {path}:{command.line}: no script {target!r} in {work_dir}, where the jobs start: "
                  "they will fail unless a setup line creates it or changes folder", file=sys.stderr)
        try:
            parsed = parse_command_line(command.args, prog=target)
            if parsed.config_options:  # -cn, -cp on the python line (-cd: only the job reads that folder)
                config_dir = with_command_line(source, config_dir, parsed.config_options)
            expanded = expand_command_line(parsed, config_dir)
            settings = expanded
            xp = _command_xp(config_dir, expanded[0])
            check_submittable(xp)
            if not array:
                check_max_parallel({**xp, "scheduler": name}, len(expanded), processes=False)
            log_dir = os.path.abspath(os.path.join(work_dir, str(xp["log_dir"])))
            if xp.get("snapshot") and dry_run:
                out(f"# {path}:{command.line}: xp.snapshot=true: the jobs run from a snapshot taken at submission; a dry run takes none")
            elif xp.get("snapshot"):
                job = _snapshot_job(command, target, xp, job)
                snapshot_source = script_file(target, job.work_dir, module=True) if module else job.script
                config_dir = os.path.join(os.path.dirname(snapshot_source), os.path.relpath(config_dir, os.path.dirname(source)))
                no_snapshot = make_override("set", "xp.snapshot", False)
                settings = [[*without_job_keys(setting, ("xp.snapshot",)), no_snapshot] for setting in settings]
            configs = _command_configs(config_dir, expanded)
            settings, configs, resume_ids = _continue(xp, target, log_dir, settings, configs)
        except TinyxpError as err:  # the same error, located at the python line
            raise type(err)(f"{path}:{command.line}: {err}") from None
        if not settings:  # every setting has its run already
            continue
        after_jobs = resolve_after(after if after is not None else xp.get("after"), name, log_dir)
        chain = int(xp.get("chain") or 1)
        sweep = Submission(
            scheduler=name,
            log_dir=log_dir,
            name=xp.get("job_name") or os.path.splitext(os.path.basename(target))[0],
            command=job.command,
            script=job.script,
            settings=settings,
            work_dir=job.work_dir,
            directives=directives,
            setup=[*job.setup, chain_setup()] if chain > 1 else job.setup,
            after=script.after,
            after_jobs=after_jobs,
            chain=chain,
            shebang=script.shebang,
            array=array or bool(xp.get("array")),
            max_parallel=xp.get("max_parallel"),
            requeue=bool(xp.get("requeue")),
            signal_grace=int(xp.get("signal_grace") or DEFAULT_SIGNAL_GRACE),
            requeue_signal=xp.get("requeue_signal") or DEFAULT_REQUEUE_SIGNAL,
            configs=configs,
            git=job.git if job.git is not None else (None if dry_run else record_git(os.path.join(work_dir, target), log_dir)),
            resume_ids=resume_ids,
        )
        if dry_run:
            folder = os.path.join(log_dir, TINYXP_DIR, "dry-run")
            ensure_log_dir(folder)
            for script_path, script_text in write_dry_run(sweep, folder):
                out(f"# {script_path}\n{script_text}")
                total += 1
            continue
        submitted = submit_sweep(sweep)
        print_submitted(submitted, name, out)
        total += len(submitted)
    if dry_run:
        out(f"Dry run: wrote {total} job script{'s' if total != 1 else ''}; nothing was submitted")
    return 0
