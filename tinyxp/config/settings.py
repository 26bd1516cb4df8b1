"""The tinyxp settings (the `xp` namespace): one table of names, defaults and accepted values.

XP_DEFAULTS, then configs/tinyxp.yaml, then `xp.NAME=VALUE` on the command line.
check_xp_value is the one check of every setting, wherever the value comes from.
"""
from __future__ import annotations

import os
import re

from .._contract import DEFAULT_REQUEUE_SIGNAL, DEFAULT_SIGNAL_GRACE, REQUEUE_SIGNALS, SCHEDULERS
from .._values import copy_tree
from ..errors import ConfigError, OverrideError, suggest
from .apply import override_error
from .compose import Config, load_mapping
from .interpolate import resolve_interpolations
from .overrides import Sweep

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from .overrides import Override

SETTINGS_FILE = "tinyxp.yaml"  # in the config folder, beside config.yaml

# name: (default, what it accepts). What it accepts is a kind checked by _matches, or a
# tuple of choices (None: null).
XP_SETTINGS: dict[str, tuple[Any, Any]] = {
    # parent of run directories (relative to the working directory)
    "log_dir": ("./logs", "string"),
    # false: no run directory; ctx.logger is None
    "logging": (True, "boolean"),
    # use this run id (resume into log_dir/<id>)
    "run_id": (None, "integer or null"),
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
    # null or one of _contract.SCHEDULERS (choices: see _choices)
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
    # at most this many array tasks at once
    "max_parallel": (None, "integer or null"),
    # ask for a signal before the time limit; checkpoint and requeue
    "requeue": (False, "boolean"),
    # seconds before the time limit that the signal comes
    "signal_grace": (DEFAULT_SIGNAL_GRACE, "positive number"),
    # the signal that asks a run to checkpoint and requeue (also handled outside jobs)
    "requeue_signal": (DEFAULT_REQUEUE_SIGNAL, REQUEUE_SIGNALS),
}
XP_DEFAULTS: dict[str, Any] = {name: default for name, (default, _) in XP_SETTINGS.items()}
PATH_SETTINGS = ("log_dir", "snapshot_dir")  # ~ expanded


def xp_setting(xp: Any, name: str) -> Any:
    """xp.<name> from a Config or a plain dict, its default when absent."""
    try:
        return xp[name]
    except (KeyError, TypeError):
        return getattr(xp, name, XP_DEFAULTS.get(name))


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
    return f"Invalid value {value!r} for the tinyxp setting {name!r}: expected a {expected}"


def _choices(expected: Any) -> tuple[Any, ...] | None:
    """The values a choice-valued setting accepts (None for null), else None."""
    if isinstance(expected, tuple):
        return expected
    if expected == "scheduler name or null":
        return (None, *SCHEDULERS)
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
        return value is None or (isinstance(value, str) and value in SCHEDULERS)
    if expected == "integer or null":
        return value is None or is_int
    if expected == "positive number":
        return (is_int or isinstance(value, float)) and value > 0
    assert expected == "list of strings", expected
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _locate_key(path: str, name: str) -> dict[str, Any]:
    """ConfigError arguments pointing at a top-level key of a YAML file (just the path if not found)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return {"path": path}
    match = re.search(rf"^(['\"]?){re.escape(name)}\1[ \t]*:", text, re.MULTILINE)
    if match is None:
        return {"path": path}
    return {"path": path, "source": text, "pos": match.start(), "length": len(match.group()) - 1}
