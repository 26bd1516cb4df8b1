"""The tinyxp settings (the `xp` namespace): one table of names, defaults and accepted values.

XP_DEFAULTS, then configs/tinyxp.yaml, then `xp.NAME=VALUE` on the command line.
check_xp_value is the one check of every setting, wherever the value comes from.
"""
from __future__ import annotations

import os

from .._contract import (
    DEFAULT_LOG_DIR, DEFAULT_REQUEUE_SIGNAL, DEFAULT_SIGNAL_GRACE, LOCAL_SCHEDULER, REQUEUE_SIGNALS, SCHEDULERS, TAG_RULE, is_tag,
)
from .._values import copy_tree
from ..errors import ConfigError, OverrideError, suggest
from ..yaml._re import lazy_compile
from .apply import override_error
from .compose import Config, load_mapping
from .interpolate import resolve_interpolations
from .overrides import DEFAULT_MAX_RUNS, Sweep

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from .overrides import Override

SETTINGS_FILE = "tinyxp.yaml"  # in the config folder, beside config.yaml

# name: (default, what it accepts). What it accepts is a kind checked by _matches, or a
# tuple of choices (None: null).
XP_SETTINGS: dict[str, tuple[Any, Any]] = {
    # parent of run directories (relative to the working directory)
    "log_dir": (DEFAULT_LOG_DIR, "string"),
    # false: no run directory; ctx.logger is None
    "logging": (True, "boolean"),
    # use this run id (resume into log_dir/<id>)
    "run_id": (None, "integer or null"),
    # tags of the run, in metadata/notes.yaml (as `tinyxp tag`)
    "tags": ([], "list of tags"),
    # a new run from this run's stored config (set by tinyxp rerun)
    "rerun_of": (None, "integer or null"),
    # a resume may change config keys (recorded in the launch history)
    "allow_changes": (False, "boolean"),
    # resume a run that looks alive
    "force": (False, "boolean"),
    # settings of a sweep that already have a run: skipped or resumed (see continuing a sweep)
    "skip": ("none", ("none", "complete", "existing")),
    # tee stdout and stderr into the run directory
    "capture_output": (False, "boolean"),
    # seconds between touches of <run>/heartbeat
    "heartbeat_interval": (30, "positive number"),
    # run from a git snapshot of the code
    "snapshot": (False, "boolean"),
    "snapshot_dir": ("./.tinyxp/snapshots", "string"),
    # what a snapshot does with uncommitted changes
    "dirty": ("ask", ("ask", "ignore", "commit", "patch", "error")),
    # may prompt (only when stdin is a terminal)
    "interactive": (True, "boolean"),
    # null, local (processes on this machine) or one of _contract.SCHEDULERS (choices: see _choices)
    "scheduler": (None, "scheduler name or null"),
    # directive options, e.g. ["--time=01:00:00"]
    "scheduler_options": ([], "list of strings"),
    # shell lines before python in job scripts
    "setup": ([], "list of strings"),
    # default: the script's name
    "job_name": (None, "string or null"),
    # python executable in job scripts (default: sys.executable)
    "python": (None, "string or null"),
    # submit a sweep as one job array
    "array": (False, "boolean"),
    # at most this many array tasks (xp.array) or local processes (xp.scheduler=local) at once
    "max_parallel": (None, "positive integer or null"),
    # xp.scheduler=local: the GPUs shared out among the processes (auto: those nvidia-smi -L lists)
    "gpus": ("auto", "GPU list, auto or null"),
    # start the jobs after this run (its id) or job (job:ID) ends
    "after": (None, "run id, job:ID or null"),
    # submit each run as this many jobs, each resuming the run after the previous one ends
    "chain": (1, "positive integer"),
    # ask for a signal before the time limit; checkpoint and requeue
    "requeue": (False, "boolean"),
    # seconds before the time limit that the signal comes
    "signal_grace": (DEFAULT_SIGNAL_GRACE, "positive number"),
    # the sweep +sweep runs, beside the command line's: {key: "1e-3,1e-4", seed: "range(3)"}
    "sweep": ({}, "mapping"),
    # how many samples a random search draws (lr=loguniform(1e-5,1e-1)); null: no random search
    "trials": (None, "positive integer or null"),
    # the random search's seed: the same seed draws the same samples
    "search_seed": (0, "integer"),
    # the most runs a sweep may describe: counted before any is made
    "max_runs": (DEFAULT_MAX_RUNS, "positive integer"),
    # the signal that asks a run to checkpoint and requeue (also handled outside jobs)
    "requeue_signal": (DEFAULT_REQUEUE_SIGNAL, REQUEUE_SIGNALS),
}
XP_DEFAULTS: dict[str, Any] = {name: default for name, (default, _) in XP_SETTINGS.items()}
PATH_SETTINGS = ("log_dir", "snapshot_dir")  # ~ expanded


RE_JOB_REF = lazy_compile(r"job:[\w.\[\]-]+\Z")  # xp.after=job:ID: a scheduler's job id, safe on a command line


def parse_gpu_list(value: Any) -> list[str] | None:
    """xp.gpus as a list of GPU indices ([0, 2], "0,2", 3), or None when it is not one."""
    if isinstance(value, str):
        value = [int(part) if part.strip().isdigit() else part for part in value.split(",")]
    elif not isinstance(value, list):
        value = [value]
    if not value or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return None
    return [str(v) for v in value]


def xp_setting(xp: Any, name: str) -> Any:
    """xp.<name> from a Config or a plain dict, its default when absent."""
    try:
        return xp[name]
    except (KeyError, TypeError):
        return getattr(xp, name, XP_DEFAULTS.get(name))


def check_max_parallel(xp: Any, runs: int, *, processes: bool) -> None:
    """Raises ConfigError when xp.max_parallel would limit nothing: a sweep run one setting
    after another in this process, or as separate jobs (it limits the processes of
    xp.scheduler=local and the tasks of a job array)."""
    limit = xp_setting(xp, "max_parallel")
    if limit is None or runs < 2 or processes or xp_setting(xp, "array"):
        return
    scheduler = xp_setting(xp, "scheduler")
    where = f"separate {scheduler} jobs" if scheduler else "runs one after another in this process"
    raise ConfigError(
        f"Invalid xp.max_parallel {limit} for {runs} {where}: it limits the processes of "
        "xp.scheduler=local and the tasks of a job array (xp.array=true); drop it or set one of those"
    )


def compose_xp(config_path: str, setting: Sequence[Override]) -> Config:
    """The tinyxp settings: XP_DEFAULTS, then configs/tinyxp.yaml, then xp.NAME=VALUE.

    Raises ConfigError for an unknown or invalid setting in tinyxp.yaml (with its line)
    and OverrideError for one on the command line, both with did-you-mean.
    """
    xp = copy_tree(XP_DEFAULTS)
    xp.update(_file_settings(config_path))
    xp.update(_command_line_settings(setting))
    xp = resolve_interpolations(xp)
    for name, value in xp.items():
        problem = check_xp_value(name, value)
        if problem:
            raise ConfigError(f"{problem} (after interpolation)")
    for name in PATH_SETTINGS:  # the shell leaves ~ alone in xp.log_dir=~/logs and in tinyxp.yaml
        xp[name] = os.path.expanduser(xp[name])
    return Config(xp)


def max_runs(config_path: str, overrides: Sequence[Override]) -> int:
    """xp.max_runs for a command line, read before its sweeps are expanded.

    The settings are composed without the swept overrides (which expand_sweeps counts);
    the default when nothing is swept. Raises as compose_xp does.
    """
    fixed = [o for o in overrides if not isinstance(o.value, Sweep)]
    if len(fixed) == len(overrides):
        return DEFAULT_MAX_RUNS
    return int(compose_xp(config_path, fixed).max_runs)


def _file_settings(config_path: str) -> dict[str, Any]:
    """The checked settings of configs/tinyxp.yaml; none when there is no such file."""
    folder = config_path if os.path.isdir(config_path) else os.path.dirname(config_path)
    path = os.path.join(folder, SETTINGS_FILE)
    if not os.path.isfile(path):
        return {}
    settings = load_mapping(path)
    for name, value in settings.items():
        problem = check_xp_value(name, value)
        if problem:
            raise ConfigError(problem, **_locate_key(path, name))
    return settings


def _command_line_settings(setting: Sequence[Override]) -> dict[str, Any]:
    """The checked xp.NAME=VALUE overrides of a setting, by name."""
    settings = {}
    for override in setting:
        if override.key == "xp":
            raise override_error("Cannot set the tinyxp settings as a whole; set each one with xp.NAME=VALUE", override)
        if not override.key.startswith("xp."):
            continue
        name = override.key[3:]
        problem = _check_xp_override(override, name)
        if problem:
            pos, length = _xp_span(override, name)
            raise OverrideError(problem, source=override.text, pos=pos, length=length)
        settings[name] = copy_tree(override.value)
    return settings


def _check_xp_override(override: Override, name: str) -> str:
    if override.kind == "delete":
        return f"Cannot delete the tinyxp setting {name!r}; set it with xp.{name}=VALUE"
    if override.kind == "add" and name in XP_DEFAULTS:
        return f"Cannot add the tinyxp setting {name!r}: it exists already (set it with xp.{name}=VALUE)"
    if isinstance(override.value, Sweep) and name in XP_DEFAULTS:
        return f"Cannot apply the sweep {override.text!r} to one run; expand it with +sweep"
    return check_xp_value(name, override.value)


def _xp_span(override: Override, name: str) -> tuple[int, int]:
    if name not in XP_DEFAULTS or override.kind in ("delete", "add"):
        start = override.text.find(override.key)
        return start + 3, len(name)
    start = override.text.find("=") + 1
    return start, max(1, len(override.text) - start)


def check_xp_value(name: str, value: Any) -> str:
    """Why value is not acceptable for the xp setting name, or '' when it is.

    The one check of every xp setting: the settings read from files and the command
    line, and git.prepare_snapshot's xp.dirty when called from Python.
    """
    if name not in XP_SETTINGS:
        return f"Unknown tinyxp setting {name!r}" + (suggest(name, list(XP_SETTINGS)) or f" (settings: {', '.join(XP_SETTINGS)})")
    _, expected = XP_SETTINGS[name]
    if isinstance(value, str) and "${" in value:
        return ""  # checked after interpolation would need a second pass; env values are strings
    if _matches(expected, value):
        return ""
    choices = _choices(expected)
    if choices is not None:
        names = [c for c in choices if c is not None]
        hint = suggest(value, names) if isinstance(value, str) else ""
        listed = ", ".join("null" if c is None else c for c in choices)
        return f"Invalid value {value!r} for the tinyxp setting {name!r}{hint} (expected one of {listed})"
    rule = f" (each {TAG_RULE})" if expected == "list of tags" else ""
    return f"Invalid value {value!r} for the tinyxp setting {name!r}: expected a {expected}{rule}"


def _choices(expected: Any) -> tuple[Any, ...] | None:
    """The values a choice-valued setting accepts (None for null), else None."""
    if isinstance(expected, tuple):
        return expected
    if expected == "scheduler name or null":
        return (None, LOCAL_SCHEDULER, *SCHEDULERS)
    return None


def _matches(expected: Any, value: Any) -> bool:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(expected, tuple):
        return value in expected and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "string or null":
        return value is None or isinstance(value, str)
    if expected == "scheduler name or null":
        return value is None or (isinstance(value, str) and value in (LOCAL_SCHEDULER, *SCHEDULERS))
    if expected == "GPU list, auto or null":
        return value is None or value == "auto" or parse_gpu_list(value) is not None
    if expected == "run id, job:ID or null":
        return value is None or (is_int and value > 0) or (isinstance(value, str) and RE_JOB_REF.match(value) is not None)
    if expected == "positive integer":
        return is_int and value > 0
    if expected == "integer or null":
        return value is None or is_int
    if expected == "positive integer or null":
        return value is None or (is_int and value > 0)
    if expected == "integer":
        return is_int
    if expected == "mapping":
        return isinstance(value, dict)
    if expected == "positive number":
        return (is_int or isinstance(value, float)) and value > 0
    if expected == "list of tags":
        return isinstance(value, list) and all(is_tag(v) for v in value)
    assert expected == "list of strings", expected
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _locate_key(path: str, name: str) -> dict[str, Any]:
    """ConfigError arguments pointing at a top-level key of a YAML file (just the path if not found)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return {"path": path}
    import re  # only to point at a bad setting

    match = re.search(rf"^(['\"]?){re.escape(name)}\1[ \t]*:", text, re.MULTILINE)
    if match is None:
        return {"path": path}
    return {"path": path, "source": text, "pos": match.start(), "length": len(match.group()) - 1}
