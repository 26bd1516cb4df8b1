"""Config files: reading YAML or JSON once per launch, the `# @package` header, the config folders.

A config is named as Hydra names it: its path under a config folder without the
extension (`db/mysql` is `configs/db/mysql.yaml` or `.json`). Several folders may be
searched (`--config-dir`), the first holding a config wins.
"""
from __future__ import annotations

import os

from .. import yaml
from ..yaml import MAX_NESTING
from .._values import config_type_name, copy_tree
from ..errors import ConfigError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

EXTENSIONS = (".yaml", ".json")

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
    return _load_text(path, read_text(path))


def _load_text(path: str, text: str) -> Any:
    key = (path, text)
    if key not in _PARSED:
        content = _load_json(text, path) if path.endswith(".json") else yaml.load(text, path=path)
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = content
    return copy_tree(_PARSED[key])


def read_text(path: str) -> str:
    """The text of a file; raises ConfigError naming it when it cannot be read."""
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
    import re  # only for .json config files

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
    return _mapping(load_file(path), path)


def _mapping(content: Any, path: str) -> dict[str, Any]:
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"Expected a mapping at the top of the file, got a {config_type_name(content)}", path=path)
    return content


def load_config_file(path: str) -> tuple[dict[str, Any], str | None, str]:
    """(mapping, package header or None, text) of a config file; raises as load_mapping."""
    text = read_text(path)
    return _mapping(_load_text(path, text), path), package_header(text, path), text


def is_header_line(stripped: str) -> bool:
    """Whether a stripped line is one of Hydra's header lines: '# @key value' (spaces allowed after '#')."""
    return stripped.startswith("#") and stripped[1:].lstrip().startswith("@")


def package_header(text: str, path: str) -> str | None:
    """The package of a `# @package NAME` line among the leading comment lines, or None.

    Raises ConfigError for a header without a package, with more than one word, or two
    package headers that disagree.
    """
    found: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not is_header_line(stripped):
            break
        if stripped:
            words = stripped.lstrip("#").split()
            if words[0] == "@package":
                pos, length = offset + line.index("@"), len(stripped.lstrip("# "))
                if len(words) != 2:
                    raise ConfigError("Expected '# @package PACKAGE' (one package: a dotted key or _global_)",
                                      source=text, pos=pos, length=length, path=path)
                if found is not None and found != words[1]:
                    raise ConfigError(f"Conflicting package headers {found!r} and {words[1]!r}: keep one",
                                      source=text, pos=pos, length=length, path=path)
                found = words[1]
        offset += len(line)
    return found


def find_config(dirs: Sequence[str], name: str) -> str | None:
    """The file of the config `name` (a path without extension) in the first folder holding it."""
    for folder in dirs:
        for extension in EXTENSIONS:
            path = os.path.join(folder, name + extension)
            if os.path.isfile(path):
                return path
        if name.endswith(EXTENSIONS) and os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def is_group(dirs: Sequence[str], group: str) -> bool:
    """Whether `group` (a path like db or model/backbone) is a folder in a config folder."""
    return bool(group) and any(os.path.isdir(os.path.join(folder, group)) for folder in dirs)


def group_options(dirs: Sequence[str], group: str) -> list[str]:
    """The options of a config group: the names of its .yaml and .json files, sorted."""
    names: set[str] = set()
    for folder in dirs:
        try:
            listed = os.listdir(os.path.join(folder, group))
        except OSError:
            continue
        names.update(os.path.splitext(n)[0] for n in listed if n.endswith(EXTENSIONS))
    return sorted(names)


def list_groups(dirs: Sequence[str], parent: str = "") -> list[str]:
    """Every config group under parent, nested ones as paths (model, model/backbone), sorted."""
    found: set[str] = set()
    for folder in dirs:
        try:
            entries = os.listdir(os.path.join(folder, parent))
        except OSError:
            continue
        for entry in entries:
            group = f"{parent}/{entry}" if parent else entry
            if os.path.isdir(os.path.join(folder, group)) and not entry.startswith((".", "__")):
                found.add(group)
    return sorted(found | {sub for group in found for sub in list_groups(dirs, group)})
