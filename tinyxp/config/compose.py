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
from .._values import copy_tree, iter_keys
from ..errors import ConfigError, TinyxpError, suggest
from .apply import apply_overrides, override_error
from .defaults import build
from .files import group_options, is_group, list_groups, load_file, load_mapping  # noqa: F401 (re-exported)
from .interpolate import resolve_interpolations
from .overrides import Sweep, parse_override

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, Optional, Sequence

    from .overrides import Override

    Choices = Dict[str, Optional[str]]

CONFIG_FILES = ("config.yaml", "config.json")
HYDRA_KEY = "hydra"  # Hydra's runtime node: in a config file, settings tinyxp would silently ignore
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


# --- the primary config ---------------------------------------------------------------


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


def load_config(path: str, overrides: Sequence[str] = (), *, config_name: str | None = None) -> Config:
    """The config in a folder (config.yaml or config.json, or config_name) or file, with override tokens.

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
    return compose(path, setting, config_name=config_name)


def compose(config_path: str, setting: Sequence[Override], *, require_all: bool = True,
            config_name: str | None = None, extra_dirs: Sequence[str] = ()) -> Config:
    """A run's config: the primary config, its defaults list (defaults.py), the overrides.

    `GROUP=OPTION` overrides choose group options, `+GROUP=OPTION` adds a group and
    `~GROUP` drops it; the others set keys. Overrides of xp.* are left to compose_xp.
    With require_all, a ??? left unset is a ConfigError saying how to set it.
    """
    return compose_run(config_path, setting, require_all=require_all, config_name=config_name, extra_dirs=extra_dirs)[0]


def compose_run(config_path: str, setting: Sequence[Override], *, require_all: bool = True,
                config_name: str | None = None, extra_dirs: Sequence[str] = ()) -> tuple[Config, Choices]:
    """compose() and the option chosen for each config group (Hydra's hydra.runtime.choices)."""
    dirs, name = config_source(config_path, config_name, extra_dirs)
    group_overrides, value_overrides = [], []
    for override in setting:
        if override.key == "xp" or override.key.startswith("xp."):
            continue
        if is_group(dirs, override.key.partition("@")[0]) and not isinstance(override.value, dict):
            if isinstance(override.value, Sweep):
                raise override_error(f"Cannot apply the sweep {override.text!r} to one config; expand it with +sweep", override)
            group_overrides.append(override)
        else:
            value_overrides.append(override)
    result = build(dirs, name, group_overrides)
    config: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path, content, package in result.configs:
        placed = content
        for part in reversed(package.split(".") if package else []):
            placed = {part: placed}
        if HYDRA_KEY in placed:
            raise ConfigError(f"Cannot use the key {HYDRA_KEY!r}: tinyxp has no Hydra runtime node; its run directory, "
                              "logging and launcher are xp settings (tinyxp.yaml, docs/configuration.md)", path=path)
        origins.update((key, path) for key in iter_keys(placed))
        config = merge(config, placed)
    config = apply_overrides(config, value_overrides)
    if require_all:
        for key in find_missing(config):
            raise ConfigError(f"Missing required value {key!r}: set it with {key}=VALUE")
    return Config(resolve_interpolations(config, origins)), result.choices


def config_source(config_path: str, config_name: str | None, extra_dirs: Sequence[str] = ()) -> tuple[list[str], str]:
    """The config folders to search and the primary config's name.

    config_path is a folder, or a config file (its folder, its name). Raises
    ConfigError naming what was looked for.
    """
    if config_name is None:
        primary = find_primary(config_path)
        folder, name = os.path.split(primary)
        return [folder, *extra_dirs], os.path.splitext(name)[0]
    if not os.path.isdir(config_path):
        raise ConfigError(f"Cannot find the config folder {config_path!r}")
    return [config_path, *extra_dirs], config_name


def describe(config_path: str, setting: Sequence[Override], *, config_name: str | None = None,
             extra_dirs: Sequence[str] = ()) -> str:
    """--help's text: each config group with its options (the chosen one starred), then the config.

    Raises ConfigError when there is no primary config; a config that does not compose
    is shown as the error instead.
    """
    dirs, _ = config_source(config_path, config_name, extra_dirs)
    try:
        config, choices = compose_run(config_path, setting, require_all=False, config_name=config_name, extra_dirs=extra_dirs)
        composed = f"# the composed config\n{yaml.dump(config.to_dict())}"
    except TinyxpError as err:
        choices, composed = {}, f"# Cannot compose the config:\n{err}\n"
    lines = ["# config groups: choose an option with GROUP=OPTION, add a group with +GROUP=OPTION (* chosen)"]
    for group in list_groups(dirs):
        options = group_options(dirs, group)
        if options:
            lines.append(f"#   {group}: {', '.join('*' + o if choices.get(group) == o else o for o in options)}")
    if len(lines) == 1:
        lines = ["# config groups: none"]
    return "\n".join(lines) + "\n\n" + composed
