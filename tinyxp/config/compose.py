"""Composition: a config folder's files, the defaults list, config groups, merging, ??? values.

A config folder holds the primary `config.yaml` (or `config.json`), an optional
`tinyxp.yaml` (the xp settings, see settings.py) and one folder per config group, one
file per option. compose() builds a run's config: the defaults list, then the
command-line overrides, then the ${...} interpolations, then the check that no ???
value is left.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from .. import yaml
from .._values import config_type_name, copy_tree
from ..yaml import MAX_NESTING
from ..errors import ConfigError, OverrideError, suggest
from .apply import apply_overrides, override_error
from .interpolate import resolve_interpolations
from .overrides import Sweep, parse_override

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

    from .overrides import Override

CONFIG_FILES = ("config.yaml", "config.json")
DEFAULTS_KEY = "defaults"
SELF_ENTRY = "_self_"
MISSING = "???"


class Config(MutableMapping):
    """A configuration: a mapping with attribute access (config.optimizer.lr).

    Nested mappings are Configs, also inside lists. Equal to a dict with the same
    content. to_dict() gives plain dicts and lists back.
    """

    def __init__(self, data: Mapping | None = None, *, path: str = "") -> None:
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

    def __dir__(self) -> list[str]:
        names = [k for k in self._data if isinstance(k, str) and k.isidentifier()]
        return sorted(set(super().__dir__()) | set(names))

    def __reduce__(self) -> Any:
        return (_config_from_state, (self.to_dict(), self._path))

    def to_dict(self) -> dict[Any, Any]:
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


def _config_from_state(data: dict[Any, Any], path: str) -> Config:
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


# (path, text) -> parsed content. Every run of a sweep composes the same files again:
# they are read again (cheap) but parsed once per launch. Keyed by the text, so an
# edited file is never served stale, whatever the file system's timestamps.
_PARSED: dict[tuple[str, str], Any] = {}
_PARSED_LIMIT = 64


def load_file(path: str) -> Any:
    """The content of a YAML or JSON (by extension) file.

    Raises ConfigError for a missing or unreadable file and a JSON syntax error or
    duplicate key, YAMLError (naming the file, line and column) for malformed YAML.
    """
    text = _read_text(path)
    key = (path, text)
    if key not in _PARSED:
        content = _load_json(text, path) if path.endswith(".json") else yaml.load(text, path=path)
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = content
    return copy_tree(_PARSED[key])


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise ConfigError(f"Cannot find the config file {path!r}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"Cannot read {path!r}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise ConfigError(f"Cannot read {path!r}: {err.strerror}") from None


def _load_json(text: str, path: str) -> Any:
    import json  # only for .json config files: a few ms to import

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ConfigError(f"Duplicate key {key!r} in a JSON object", path=path)
            result[key] = value
        return result

    _check_json_nesting(text, path)
    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as err:
        raise ConfigError(f"Invalid JSON: {err.msg}", source=text, pos=err.pos, path=path) from None


def _check_json_nesting(text: str, path: str) -> None:
    """Raises ConfigError at the first bracket nested deeper than MAX_NESTING, as YAML does."""
    import re

    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise ConfigError(f"Cannot nest collections more than {MAX_NESTING} levels deep", source=text, pos=match.start(), path=path)
        elif bracket in "]}":
            depth -= 1


def load_mapping(path: str) -> dict[str, Any]:
    """The mapping at the top of a config file ({} for an empty file); raises ConfigError otherwise."""
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


# --- merging --------------------------------------------------------------------------


def merge(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
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
                f"Cannot sweep in load_config(): {override.text!r} describes {override.value.size} values",
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
    own = load_mapping(primary)
    defaults = _parse_defaults(own.pop(DEFAULTS_KEY, None), primary)
    value_overrides = []
    for override in setting:
        if override.key == "xp" or override.key.startswith("xp."):
            continue
        if not _choose_group(defaults, override, config_dir):
            value_overrides.append(override)
    config: dict[str, Any] = {}
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


def _parse_defaults(entries: Any, path: str) -> list[tuple[str, str | None]]:
    """The defaults list as (group, option) pairs; ('_self_', None) for the file's own keys."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"Expected a list after 'defaults:', got a {config_type_name(entries)}", path=path)
    result: list[tuple[str, str | None]] = []
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


def _option_name(option: Any, path: str) -> str | None:
    if option is None or isinstance(option, str):
        return option
    if isinstance(option, int) and not isinstance(option, bool):
        return str(option)
    raise ConfigError(f"Invalid option {option!r} in the defaults list: expected a file name", path=path)


def _choose_group(defaults: list[tuple[str, str | None]], override: Override, config_dir: str) -> bool:
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


def group_options(config_dir: str, group: str) -> list[str]:
    """The options of a config group: the names of the .yaml and .json files in its folder."""
    try:
        names = os.listdir(os.path.join(config_dir, group))
    except OSError:
        return []
    return sorted({os.path.splitext(n)[0] for n in names if n.endswith((".yaml", ".json"))})


def _load_option(config_dir: str, group: str, option: str, primary: str) -> dict[str, Any]:
    folder = os.path.join(config_dir, group)
    for extension in (".yaml", ".json"):
        path = os.path.join(folder, option + extension)
        if os.path.isfile(path):
            content = load_mapping(path)
            if DEFAULTS_KEY in content:
                raise ConfigError("Cannot use a defaults list in a group option (only in the primary config)", path=path)
            return content
    if not os.path.isdir(folder):
        raise ConfigError(f"Cannot find the config group {group!r}: no folder {folder!r}", path=primary)
    options = group_options(config_dir, group)
    hint = suggest(option, options) or f" (options: {', '.join(options) or 'none'})"
    raise ConfigError(f"Unknown option {option!r} for the config group {group!r}{hint}", path=primary)
