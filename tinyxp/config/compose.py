"""Configuration: Config, file loading, config groups, merging, interpolation, ??? values.

A config folder holds the primary `config.yaml` (or `config.json`), an optional
`tinyxp.yaml` (the xp settings) and one folder per config group, one file per option.
compose() builds a run's config: the defaults list, then the command-line overrides,
then the ${...} interpolations, then the check that no ??? value is left.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping

from .. import yaml
from ..errors import ConfigError, OverrideError, suggest
from .overrides import Override, Sweep, apply_overrides, override_error, parse_override, suggest_key
from .._contract import SCHEDULERS
from .._values import config_type_name, copy_tree, lookup

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

# The tinyxp settings (the `xp` namespace) and their defaults. configs/tinyxp.yaml
# overrides them, `xp.NAME=VALUE` on the command line overrides both.
XP_DEFAULTS: Dict[str, Any] = {
    "log_dir": "./logs",          # parent of run directories (relative to the working directory)
    "logging": True,              # false: no run directory; ctx.logger is None
    "run_id": None,               # use this run id (resume into log_dir/<id>)
    "capture_output": False,      # tee stdout and stderr into the run directory
    "heartbeat_interval": 30,     # seconds between touches of <run>/heartbeat
    "snapshot": False,            # run from a git snapshot of the code
    "snapshot_dir": "./.tinyxp/snapshots",
    "dirty": "ask",               # ask|ignore|commit|patch|error
    "interactive": True,          # may prompt (only when stdin is a terminal)
    "scheduler": None,            # null|slurm|oar|pbs|torque|sge|lsf (scheduler.BACKENDS)
    "scheduler_options": [],      # directive options, e.g. ["--time=01:00:00"]
    "setup": [],                  # shell lines before python in job scripts
    "job_name": None,             # default: the script's name
    "python": None,               # python executable in job scripts (default: sys.executable)
    "array": False,               # submit a sweep as one job array
    "max_parallel": None,         # at most this many array tasks at once
    "requeue": False,             # ask for a signal before the time limit; checkpoint and requeue
    "signal_grace": 120,          # seconds before the time limit that the signal comes
}

# What each xp setting accepts: a kind checked by _matches, or a tuple of choices (None: null).
XP_TYPES: Dict[str, Any] = {
    "log_dir": "string",
    "logging": "boolean",
    "run_id": "integer or null",
    "capture_output": "boolean",
    "heartbeat_interval": "positive number",
    "snapshot": "boolean",
    "snapshot_dir": "string",
    "dirty": ("ask", "ignore", "commit", "patch", "error"),
    "interactive": "boolean",
    "scheduler": "scheduler name or null",  # choices: see _choices
    "scheduler_options": "list of strings",
    "setup": "list of strings",
    "job_name": "string or null",
    "python": "string or null",
    "array": "boolean",
    "max_parallel": "integer or null",
    "requeue": "boolean",
    "signal_grace": "positive number",
}

PATH_SETTINGS = ("log_dir", "snapshot_dir")  # ~ expanded
CONFIG_FILES = ("config.yaml", "config.json")
XP_FILE = "tinyxp.yaml"
DEFAULTS_KEY = "defaults"
SELF_ENTRY = "_self_"
MISSING = "???"
RE_INTERPOLATION = re.compile(r"\\?\$\{([^${}]*)\}")


class Config(MutableMapping):
    """A configuration: a mapping with attribute access (config.optimizer.lr).

    Nested mappings are Configs, also inside lists. Equal to a dict with the same
    content. to_dict() gives plain dicts and lists back.
    """

    def __init__(self, data: Optional[Mapping] = None, *, path: str = "") -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_data", {})
        for key, value in (data or {}).items():
            self[key] = value

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._data[key] = _wrap(value, self._child_path(key))

    def __delitem__(self, key: Any) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("_data")
        if data is None or name.startswith("__"):
            raise AttributeError(name)
        try:
            return data[name]
        except KeyError:
            raise AttributeError(self._unknown_key_message(name)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(self._unknown_key_message(name)) from None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == _unwrap(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Config({self.to_dict()!r})"

    def __dir__(self) -> List[str]:
        names = [k for k in self._data if isinstance(k, str) and k.isidentifier()]
        return sorted(set(super().__dir__()) | set(names))

    def __reduce__(self) -> Any:
        return (_config_from_state, (self.to_dict(), self._path))

    def to_dict(self) -> Dict[Any, Any]:
        """The content as plain dicts and lists."""
        return {k: _unwrap(v) for k, v in self._data.items()}

    def copy(self) -> Config:
        """A deep copy."""
        return Config(self.to_dict(), path=self._path)

    def _child_path(self, key: Any) -> str:
        return f"{self._path}.{key}" if self._path else str(key)

    def _unknown_key_message(self, name: str) -> str:
        keys = [str(k) for k in self._data]
        prefix = f"{self._path}." if self._path else ""
        hint = suggest(name, keys, prefix=prefix)
        if not hint:
            listed = ", ".join(repr(k) for k in keys[:20]) or "none"
            hint = f" (keys here: {listed})"
        return f"Unknown config key {prefix + name!r}{hint}"


def xp_setting(xp: Any, name: str) -> Any:
    """xp.<name> from a Config or a plain dict, its default when absent."""
    try:
        return xp[name]
    except (KeyError, TypeError):
        return getattr(xp, name, XP_DEFAULTS.get(name))


def _config_from_state(data: Dict[Any, Any], path: str) -> Config:
    return Config(data, path=path)


def _wrap(value: Any, path: str) -> Any:
    if isinstance(value, Mapping):
        return Config(value, path=path)
    if isinstance(value, (list, tuple)):
        return [_wrap(v, f"{path}.{i}") for i, v in enumerate(value)]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, Config):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unwrap(v) for v in value]
    return value


# --- files ----------------------------------------------------------------------------


def load_file(path: str) -> Any:
    """The content of a YAML or JSON (by extension) file.

    Raises ConfigError for a missing or unreadable file and a JSON syntax error or
    duplicate key, YAMLError (naming the file, line and column) for malformed YAML.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"Cannot find the config file {path!r}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"Cannot read {path!r}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise ConfigError(f"Cannot read {path!r}: {err.strerror}") from None
    if path.endswith(".json"):
        return _load_json(text, path)
    return yaml.load(text, path=path)


def _load_json(text: str, path: str) -> Any:
    import json

    def no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
        result: Dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ConfigError(f"Duplicate key {key!r} in a JSON object", path=path)
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as err:
        raise ConfigError(f"Invalid JSON: {err.msg}", source=text, pos=err.pos, path=path) from None


def _load_mapping(path: str) -> Dict[str, Any]:
    content = load_file(path)
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"Expected a mapping at the top of the file, got a {config_type_name(content)}", path=path)
    return content


def find_primary(config_path: str) -> str:
    """The primary config file: config_path itself, or config.yaml / config.json in it.

    Raises ConfigError naming the path looked for when there is none.
    """
    if os.path.isfile(config_path):
        return config_path
    if not os.path.isdir(config_path):
        raise ConfigError(f"Cannot find the config folder or file {config_path!r}")
    found = [os.path.join(config_path, name) for name in CONFIG_FILES if os.path.isfile(os.path.join(config_path, name))]
    if not found:
        raise ConfigError(f"Cannot find {' or '.join(CONFIG_FILES)} in the config folder {config_path!r}")
    if len(found) > 1:
        raise ConfigError(f"Cannot choose between {found[0]!r} and {found[1]!r}: keep one of them")
    return found[0]


# --- merging and interpolation --------------------------------------------------------


def merge(base: Dict[str, Any], other: Dict[str, Any]) -> Dict[str, Any]:
    """A new mapping: other merged into base; mappings merge recursively, the rest replaces."""
    result = dict(base)
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy_tree(value)
    return result


def find_missing(tree: Any, prefix: str = "") -> Iterator[str]:
    """The dotted keys whose value is ??? (required and not set), in order."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in items:
        dotted = f"{prefix}{key}"
        if isinstance(value, str) and value == MISSING:
            yield dotted
        else:
            yield from find_missing(value, dotted + ".")


def resolve_interpolations(tree: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of tree with every ${key.path}, ${env:VAR} and ${env:VAR,default} resolved.

    A value that is one whole ${key} keeps the referenced value's type; inside a longer
    string it is formatted in. \\${...} stays literal. Raises ConfigError for a
    dangling reference, a cycle, an unset variable or a malformed ${.
    """
    resolving: List[Tuple[str, ...]] = []
    resolved: Dict[Tuple[str, ...], Any] = {}

    def resolve_node(node: Any, path: Tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            return {k: resolve_node(v, path + (str(k),)) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve_node(v, path + (str(i),)) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            resolving.append(path)
            try:
                return interpolate(node, path)
            finally:
                resolving.pop()
        return node

    def resolve_reference(target: Tuple[str, ...], reference: str, path: Tuple[str, ...]) -> Any:
        if target in resolved:
            return resolved[target]
        if target in resolving:
            chain: List[str] = []
            for key in [".".join(p) for p in resolving[resolving.index(target):]] + [".".join(target)]:
                if not chain or chain[-1] != key:  # a string is on the stack as referenced and as resolved
                    chain.append(key)
            raise ConfigError(f"Cannot resolve {reference!r} in {'.'.join(path)!r}: interpolation cycle {' -> '.join(chain)}")
        found, node = lookup(tree, target)
        if not found:
            dotted = ".".join(target)
            raise ConfigError(
                f"Cannot resolve {reference!r} in {'.'.join(path)!r}: no key {dotted!r}{suggest_key(tree, dotted)}"
            )
        resolving.append(target)
        try:
            value = resolved[target] = resolve_node(node, target)
        finally:
            resolving.pop()
        return value

    def evaluate(body: str, reference: str, path: Tuple[str, ...]) -> Any:
        name, colon, argument = body.partition(":")
        if colon:
            if name.strip() != "env":
                raise ConfigError(f"Unknown resolver {name.strip()!r} in {reference!r} at {'.'.join(path)!r}: only 'env' exists")
            variable, comma, default = argument.partition(",")
            value = os.environ.get(variable.strip())
            if value is None:
                if not comma:
                    raise ConfigError(
                        f"Cannot resolve {reference!r} in {'.'.join(path)!r}: "
                        f"environment variable {variable.strip()!r} is not set and has no default"
                    )
                value = default.strip()
            return value
        parts = tuple(body.strip().split("."))
        if not all(parts):
            raise ConfigError(f"Invalid interpolation {reference!r} in {'.'.join(path)!r}: expected ${{key.path}} or ${{env:VAR}}")
        return resolve_reference(parts, reference, path)

    def interpolate(text: str, path: Tuple[str, ...]) -> Any:
        whole = RE_INTERPOLATION.fullmatch(text)
        if whole and not text.startswith("\\"):
            return copy_tree(evaluate(whole.group(1), text, path))
        pieces = []
        end = 0
        for match in RE_INTERPOLATION.finditer(text):
            pieces.append(_check_no_opening(text[end:match.start()], text, path))
            if match.group().startswith("\\"):
                pieces.append(match.group()[1:])
            else:
                pieces.append(_format(evaluate(match.group(1), match.group(), path)))
            end = match.end()
        pieces.append(_check_no_opening(text[end:], text, path))
        return "".join(pieces)

    return resolve_node(tree, ())


def _check_no_opening(piece: str, text: str, path: Tuple[str, ...]) -> str:
    if "${" in piece:
        raise ConfigError(f"Invalid interpolation in {'.'.join(path)!r}: expected '}}' to close '${{' in {text!r}")
    return piece


def _format(value: Any) -> str:
    if isinstance(value, str):
        return value
    return yaml.dump_value(value)


# --- composition ----------------------------------------------------------------------


def load_config(path: str, overrides: Sequence[str] = ()) -> Config:
    """The config in a folder (config.yaml or config.json) or file, with override tokens.

    Resolves groups and interpolations and checks ??? values. Raises ConfigError,
    YAMLError or OverrideError (a sweep is one here: use the launcher to sweep).
    """
    setting = [parse_override(token) for token in overrides]
    for override in setting:
        if isinstance(override.value, Sweep):
            raise override_error(
                f"Cannot sweep in load_config(): {override.text!r} describes {len(override.value.values)} values",
                override,
            )
    return compose(path, setting)


def compose(config_path: str, setting: Sequence[Override], *, require_all: bool = True) -> Config:
    """A run's config: the primary file, its defaults list of groups, the overrides.

    `GROUP=OPTION` overrides choose group options, `+GROUP=OPTION` adds a group and
    `~GROUP` drops it; the others set keys. Overrides of xp.* are left to compose_xp.
    With require_all, a ??? left unset is a ConfigError saying how to set it.
    """
    primary = find_primary(config_path)
    config_dir = os.path.dirname(primary)
    own = _load_mapping(primary)
    defaults = _parse_defaults(own.pop(DEFAULTS_KEY, None), primary)
    value_overrides = []
    for override in setting:
        if override.key == "xp" or override.key.startswith("xp."):
            continue
        if not _choose_group(defaults, override, config_dir):
            value_overrides.append(override)
    config: Dict[str, Any] = {}
    for group, option in defaults:
        if group == SELF_ENTRY:
            config = merge(config, own)
        elif option is not None:
            config = merge(config, {group: _load_option(config_dir, group, option, primary)})
    if not any(group == SELF_ENTRY for group, _ in defaults):
        config = merge(config, own)
    config = apply_overrides(config, value_overrides)
    if require_all:
        for key in find_missing(config):
            raise ConfigError(f"Missing required value {key!r}: set it with {key}=VALUE")
    return Config(resolve_interpolations(config))


def _parse_defaults(entries: Any, path: str) -> List[Tuple[str, Optional[str]]]:
    """The defaults list as (group, option) pairs; ('_self_', None) for the file's own keys."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"Expected a list after 'defaults:', got a {config_type_name(entries)}", path=path)
    result = []
    for entry in entries:
        if entry == SELF_ENTRY:
            result.append((SELF_ENTRY, None))
        elif isinstance(entry, dict) and len(entry) == 1:
            (group, option), = entry.items()
            result.append((str(group), _option_name(option, path)))
        else:
            raise ConfigError(
                f"Invalid entry {entry!r} in the defaults list: expected 'GROUP: OPTION' or '_self_'", path=path
            )
    return result


def _option_name(option: Any, path: str) -> Optional[str]:
    if option is None or isinstance(option, str):
        return option
    if isinstance(option, int) and not isinstance(option, bool):
        return str(option)
    raise ConfigError(f"Invalid option {option!r} in the defaults list: expected a file name", path=path)


def _choose_group(defaults: List[Tuple[str, Optional[str]]], override: Override, config_dir: str) -> bool:
    """Apply an override that chooses, adds or drops a config group; False for other overrides."""
    key, kind = override.key, override.kind
    listed = [group for group, _ in defaults]
    is_group = key in listed or (kind in ("add", "force") and "." not in key and os.path.isdir(os.path.join(config_dir, key)))
    if not is_group:
        return False
    if isinstance(override.value, Sweep):
        raise override_error(f"Cannot apply the sweep {override.text!r} to one config; expand it with +sweep", override)
    if kind == "delete":
        del defaults[listed.index(key)]
        return True
    if kind == "add" and key in listed:
        raise override_error(
            f"Cannot add the config group {key!r}: it is in the defaults list already (choose an option with {key}=OPTION)",
            override,
        )
    option = override.value
    if not (option is None or isinstance(option, str) or (isinstance(option, int) and not isinstance(option, bool))):
        raise override_error(f"Invalid option {option!r} for the config group {key!r}: expected a file name", override)
    option = None if option is None else str(option)
    if option is not None:
        options = group_options(config_dir, key)
        if option not in options:
            message = f"Unknown option {option!r} for the config group {key!r}"
            raise OverrideError(
                message + (suggest(option, options) or f" (options: {', '.join(options)})"),
                source=override.text, pos=len(override.text) - len(override.text.split("=", 1)[1]),
                length=len(override.text.split("=", 1)[1]),
            )
    if key in listed:
        defaults[listed.index(key)] = (key, option)
    else:
        defaults.append((key, option))
    return True


def group_options(config_dir: str, group: str) -> List[str]:
    """The options of a config group: the names of the .yaml and .json files in its folder."""
    try:
        names = os.listdir(os.path.join(config_dir, group))
    except OSError:
        return []
    return sorted({os.path.splitext(n)[0] for n in names if n.endswith((".yaml", ".json"))})


def _load_option(config_dir: str, group: str, option: str, primary: str) -> Dict[str, Any]:
    folder = os.path.join(config_dir, group)
    for extension in (".yaml", ".json"):
        path = os.path.join(folder, option + extension)
        if os.path.isfile(path):
            content = _load_mapping(path)
            if DEFAULTS_KEY in content:
                raise ConfigError("Cannot use a defaults list in a group option (only in the primary config)", path=path)
            return content
    if not os.path.isdir(folder):
        raise ConfigError(f"Cannot find the config group {group!r}: no folder {folder!r}", path=primary)
    options = group_options(config_dir, group)
    hint = suggest(option, options) or f" (options: {', '.join(options) or 'none'})"
    raise ConfigError(f"Unknown option {option!r} for the config group {group!r}{hint}", path=primary)


# --- the xp settings ------------------------------------------------------------------


def compose_xp(config_path: str, setting: Sequence[Override]) -> Config:
    """The tinyxp settings: XP_DEFAULTS, then configs/tinyxp.yaml, then xp.NAME=VALUE.

    Raises ConfigError for an unknown or invalid setting in tinyxp.yaml (with its line)
    and OverrideError for one on the command line, both with did-you-mean.
    """
    xp = copy_tree(XP_DEFAULTS)
    folder = config_path if os.path.isdir(config_path) else os.path.dirname(config_path)
    path = os.path.join(folder, XP_FILE)
    if os.path.isfile(path):
        for name, value in _load_mapping(path).items():
            problem = check_xp_value(name, value)
            if problem:
                raise ConfigError(problem, **_locate_key(path, name))
            xp[name] = value
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
        xp[name] = copy_tree(override.value)
    xp = resolve_interpolations(xp)
    for name, value in xp.items():
        problem = check_xp_value(name, value)
        if problem:
            raise ConfigError(f"{problem} (after interpolation)")
    for name in PATH_SETTINGS:  # the shell leaves ~ alone in xp.log_dir=~/logs and in tinyxp.yaml
        xp[name] = os.path.expanduser(xp[name])
    return Config(xp)


def _check_xp_override(override: Override, name: str) -> str:
    if override.kind == "delete":
        return f"Cannot delete the tinyxp setting {name!r}; set it with xp.{name}=VALUE"
    if override.kind == "add" and name in XP_DEFAULTS:
        return f"Cannot add the tinyxp setting {name!r}: it exists already (set it with xp.{name}=VALUE)"
    if isinstance(override.value, Sweep) and name in XP_DEFAULTS:
        return f"Cannot apply the sweep {override.text!r} to one run; expand it with +sweep"
    return check_xp_value(name, override.value)


def _xp_span(override: Override, name: str) -> Tuple[int, int]:
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
    if name not in XP_DEFAULTS:
        return f"Unknown tinyxp setting {name!r}" + (suggest(name, list(XP_DEFAULTS)) or f" (settings: {', '.join(XP_DEFAULTS)})")
    expected = XP_TYPES[name]
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


def _choices(expected: Any) -> Optional[Tuple[Any, ...]]:
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


def _locate_key(path: str, name: str) -> Dict[str, Any]:
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
