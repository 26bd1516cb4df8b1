"""The defaults list, as Hydra 1.3 builds it: which configs a run merges, in which order, at which package.

Each config may start with a defaults list. Its entries (Hydra's names):

    - _self_                 this config's own keys (last when not listed)
    - base                   another config, by path relative to this config's folder
    - db: mysql              a config group and its option (db/mysql.yaml), under `db`
    - db@backup: mysql       the same option under the package `backup`
    - optional db: mysql     no error when db/mysql.yaml does not exist
    - override db: pg        change the option another config chose for db
    - db: null               no option for db

Group paths are relative to the folder of the config that lists them (`/db` is
absolute), so `- backbone: resnet` in model/vit.yaml is the group model/backbone,
under the package `model.backbone`. A `# @package P` header puts a config's keys
under P from the root (`_global_`: at the root). The tree is expanded as Hydra does,
the last entry of each list first, so that an `override` in a later config (say
+experiment=x) changes a group listed earlier. build() returns the configs in merge
order and the group choices (Hydra's hydra.runtime.choices).
"""
from __future__ import annotations

from .._values import config_type_name
from ..errors import ConfigError, OverrideError, suggest
from .files import find_config, group_options, is_group, list_groups, load_config_file, read_text
from .overrides import Override

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Tuple

    Node = Tuple["Entry", Optional[List[Any]]]
    Choices = Dict[str, Optional[str]]

SELF = "_self_"
GLOBAL = "_global_"
HYDRA = "hydra"  # Hydra's own config groups (hydra/launcher...), which tinyxp has no use for
MISSING = "???"


class Entry:
    """One entry of a defaults list: a config group and its option, a config, or _self_."""

    __slots__ = ("group", "path", "value", "package", "optional", "override", "external",
                 "parent_dir", "parent_package", "header", "deleted", "listed_in", "token")

    def __init__(self, *, group: str | None = None, path: str | None = None, value: str | None = None,
                 package: str | None = None, optional: bool = False, override: bool = False,
                 external: bool = False, listed_in: str = "", token: Override | None = None) -> None:
        self.group = group            # set for a group entry
        self.path = path              # set for a config entry (and _self_)
        self.value = value            # the option of a group entry
        self.package = package        # from group@package or config@package
        self.optional = optional
        self.override = override
        self.external = external      # +group=option on the command line
        self.parent_dir = ""
        self.parent_package = ""
        self.header: str | None = None
        self.deleted = False
        self.listed_in = listed_in    # the file whose defaults list holds the entry, for errors
        self.token = token            # the command-line override that added it (external)

    @property
    def is_self(self) -> bool:
        return self.path == SELF

    def set_parent(self, parent_dir: str, parent_package: str) -> None:
        self.parent_dir, self.parent_package = parent_dir, parent_package
        if self.package is not None and "_group_" in self.package:
            self.package = f"{GLOBAL}.{self.package.replace('_group_', self.default_package())}"

    def relative_group(self) -> str:
        text = (self.group if self.group is not None else self.path or "").lstrip("/")
        return text if self.group is not None else text.rpartition("/")[0]

    def group_path(self) -> str:
        relative = self.relative_group()
        absolute = (self.group if self.group is not None else self.path or "").startswith("/")
        if absolute or not self.parent_dir:
            return relative
        return f"{self.parent_dir}/{relative}" if relative else self.parent_dir

    def name(self) -> str | None:
        return self.value if self.group is not None else (self.path or "").rpartition("/")[2]

    def config_path(self) -> str:
        if self.group is not None:
            return f"{self.group_path()}/{self.value}"
        path = (self.path or "").lstrip("/")
        return path if (self.path or "").startswith("/") or not self.parent_dir else f"{self.parent_dir}/{path}"

    def default_package(self) -> str:
        return self.group_path().replace("/", ".")

    def final_package(self, *, use_header: bool = True) -> str:
        package = self.package if self.package is not None or not use_header else self.header
        if package is None:
            package = self.relative_group().replace("/", ".")
        joined = ".".join(p for p in (self.parent_package, package) if p)
        cut = joined.rfind(GLOBAL)
        return joined if cut < 0 else joined[cut + len(GLOBAL) + 1:]

    def override_key(self) -> str:
        """How the command line names this group: db, model/backbone, db@backup."""
        final = self.final_package(use_header=False)
        if final == self.default_package():
            return self.group_path()
        return f"{self.group_path()}@{final or GLOBAL}"


class Result:
    """The outcome of build(): (file, content, package) in merge order, and the choices."""

    __slots__ = ("configs", "choices")

    def __init__(self, configs: list[tuple[str, dict[str, Any], str]], choices: Choices) -> None:
        self.configs = configs
        self.choices = choices


def build(dirs: Sequence[str], config_name: str, group_overrides: Sequence[Override]) -> Result:
    """The configs to merge for config_name with the command line's group overrides.

    Raises ConfigError for a missing primary config, an unknown group or option, a
    cycle, two _self_, an override of a group nowhere in the defaults lists; and
    OverrideError (a caret under the token) for a command-line override that matches nothing.
    """
    state = _State(dirs, group_overrides)
    root = Entry(path=config_name)
    if find_config(dirs, config_name) is None:
        looked = " or ".join(repr(f"{d}/{config_name}.yaml") for d in dirs)
        raise ConfigError(f"Cannot find the primary config {config_name!r}: no file {looked}")
    tree = state.expand(root, [], is_root=True)
    configs: list[tuple[str, dict[str, Any], str]] = []
    _walk((root, tree), configs, state)
    state.check_all_used()
    return Result(configs, state.choices)


def _walk(node: Node, out: list[tuple[str, dict[str, Any], str]], state: _State) -> None:
    entry, children = node
    if not children:
        if not entry.deleted and entry.name() is not None:
            out.append((*state.loaded[entry.config_path()], entry.final_package()))
        return
    for child in children:
        if isinstance(child, Entry):  # _self_
            out.append((*state.loaded[entry.config_path()], entry.final_package()))
        else:
            _walk(child, out, state)


class _State:
    """What one build shares across the tree: the command line's choices, appends, deletions."""

    def __init__(self, dirs: Sequence[str], group_overrides: Sequence[Override]) -> None:
        self.dirs = dirs
        self.loaded: dict[str, tuple[str, dict[str, Any]]] = {}  # config path -> (file, its keys but defaults)
        self.choices: Choices = {}
        self.choosers: dict[str, Entry] = {}
        self.chosen: dict[str, tuple[str | None, Any]] = {}   # override key -> (option, where from)
        self.used: set[str] = set()
        self.appends: list[Entry] = []
        self.deletions: dict[str, Override] = {}
        for override in group_overrides:
            self.add_command_line(override)

    def add_command_line(self, override: Override) -> None:
        group, _, package = override.key.partition("@")
        if override.kind == "force":
            raise _token_error(
                f"Cannot force-add the config group {group!r} with '++': "
                f"add it with +{override.key}=OPTION or choose its option with {override.key}=OPTION", override)
        option = _option_name(override.value)
        if option is _INVALID:
            raise _token_error(f"Invalid option {override.value!r} for the config group {group!r}: expected a file name", override)
        if override.kind == "delete":
            self.deletions[override.key] = Override("delete", override.key, option, override.text)
            return
        if option is not None and option not in group_options(self.dirs, group):
            raise _unknown_option(self.dirs, group, option, override=override)
        if override.kind == "add":
            self.appends.append(Entry(group=group, value=option, package=package or None, external=True, token=override))
        else:
            self.chosen[override.key] = (option, override)

    def expand(self, entry: Entry, ancestors: list[str], *, is_root: bool = False) -> list[Any] | None:
        """The children of entry's config (None for a leaf), as Hydra's _create_defaults_tree_impl."""
        content, entry.header, path = self.load(entry)
        key = entry.override_key() if entry.group is not None else None
        if key is not None and key in self.deletions and self.deletions[key].value in (None, entry.name()):
            self.used.add(key)
            entry.deleted = True
            return None
        if key is not None:
            self.known_choice(entry, key)
        if entry.name() is None:
            return None
        if entry.value == MISSING:
            options = ", ".join(group_options(self.dirs, entry.group_path()))
            raise ConfigError(f"Missing option for the config group {key!r}: choose one with {key}=OPTION (options: {options})",
                              **_located(entry.listed_in, entry.group or ""))
        if path is None:
            if not entry.optional:
                self.not_found(entry)
            entry.deleted = True
            return None
        if path in ancestors:
            chain = " -> ".join(ancestors[ancestors.index(path):] + [path])
            raise ConfigError(f"Cannot compose a cycle of defaults lists: {chain}", path=path)
        entries = parse_defaults(content.pop("defaults", None), path)
        self.loaded[entry.config_path()] = (path, content)
        if entries or (is_root and self.appends):
            _add_self(entries, path)
        if is_root:
            entries.extend(self.appends)
        self.register_overrides(entries, entry, path)
        children: list[Any] = []
        for child in reversed(entries):
            if child.is_self:
                children.append(child)
            elif not child.override:
                child.set_parent(entry.group_path(), entry.final_package())
                chosen = self.chosen.get(child.override_key()) if child.group is not None else None
                if chosen is not None:
                    child.value = chosen[0]
                    self.used.add(child.override_key())
                children.append((child, self.expand(child, ancestors + [path])))
        children.reverse()
        return children or None

    def load(self, entry: Entry) -> tuple[dict[str, Any], str | None, str | None]:
        """(content, header, file) of entry's config; ({}, None, None) when there is none (or no option)."""
        path = None if entry.name() is None or entry.value == MISSING else find_config(self.dirs, entry.config_path())
        if path is None:
            return {}, None, None
        content, header, _ = load_config_file(path)
        if header is not None and header != GLOBAL and not header.startswith(GLOBAL + "."):
            header = f"{GLOBAL}.{header}"  # a header is absolute
        return content, header, path

    def not_found(self, entry: Entry) -> None:
        if entry.group is not None:
            raise _unknown_option(self.dirs, entry.group_path(), entry.value or "", listed_in=entry.listed_in)
        raise ConfigError(f"Cannot find the config {entry.config_path()!r} listed in the defaults list",
                          **_located(entry.listed_in, entry.path or ""))

    def known_choice(self, entry: Entry, key: str) -> None:
        first = self.choosers.setdefault(key, entry)
        added = None if first is entry else first.token or entry.token
        if added is not None:
            raise _token_error(f"Cannot add the config group {key!r}: it is in the defaults list already "
                               f"(choose an option with {key}=OPTION)", added)
        if key in self.choices and self.choices[key] != entry.name():
            raise ConfigError(
                f"Cannot choose {entry.name()!r} for the config group {key!r}: {self.choices[key]!r} is chosen "
                f"already (to replace it, write 'override {key}: {entry.name()}')", **_located(entry.listed_in, entry.group or key))
        self.choices[key] = entry.name()

    def register_overrides(self, entries: list[Entry], parent: Entry, path: str) -> None:
        """Record the `override` entries of a list (the first recorded wins: the command line's)."""
        seen: Entry | None = None
        for child in entries:
            if child.is_self:
                continue
            child.set_parent(parent.group_path(), parent.final_package())
            if child.group is not None and child.group_path().partition("/")[0] == HYDRA:
                raise ConfigError(
                    f"Cannot use the config group {child.group_path()!r}: tinyxp has no Hydra runtime config (its run "
                    "directory, logging and launcher are xp settings: docs/configuration.md); remove this entry",
                    **_located(path, child.group or ""))
            if seen is not None and not (child.override or child.external):
                raise ConfigError(
                    f"Expected 'override {seen.override_key()}: {seen.value}' after every other entry of the "
                    f"defaults list: it comes before {child.group or child.path!r}", **_located(path, "override"))
            if child.override:
                seen = child
                key = child.override_key()
                if key not in self.chosen:
                    self.chosen[key] = (child.value, path)

    def check_all_used(self) -> None:
        for key, (option, where) in self.chosen.items():
            if key not in self.used:
                groups = ", ".join(sorted(self.choices)) or "none"
                message = f"Cannot override the config group {key!r}: it is in no defaults list (groups listed: {groups})"
                if isinstance(where, str):
                    raise ConfigError(message, **_located(where, key.rpartition("/")[2]))
                raise _token_error(f"{message}; add it with +{key}={option}", where)
        for key, override in self.deletions.items():
            if key in self.choices:
                raise _token_error(f"Cannot delete the config group {key!r} with the option {override.value!r}: "
                                   f"its option is {self.choices[key]!r}", override)
            if key not in self.used:
                raise _token_error(f"Cannot delete the config group {key!r}: it is in no defaults list", override)


def _add_self(entries: list[Entry], path: str) -> None:
    selves = [e for e in entries if e.is_self]
    if len(selves) > 1:
        raise ConfigError("Cannot list '_self_' twice in a defaults list", **_located(path, SELF, second=True))
    if not selves and (not entries or any(not e.override for e in entries)):
        entries.append(Entry(path=SELF))


def parse_defaults(entries: Any, path: str) -> list[Entry]:
    """The entries of a defaults list; raises ConfigError for one Hydra would not read."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"Expected a list after 'defaults:', got a {config_type_name(entries)}", path=path)
    return [_parse_entry(item, path) for item in entries]


def _parse_entry(item: Any, path: str) -> Entry:
    if isinstance(item, str):
        name, _, package = item.partition("@")
        if name == SELF and package:
            raise ConfigError(f"Invalid entry {item!r} in the defaults list: '_self_' takes no package", path=path)
        return Entry(path=name, package=package or None, listed_in=path)
    if not (isinstance(item, dict) and len(item) == 1):
        raise ConfigError(
            f"Invalid entry {item!r} in the defaults list: expected 'GROUP: OPTION', a config name or '_self_'", path=path)
    (key, value), = item.items()
    *keywords, group_package = str(key).split()
    unknown = [k for k in keywords if k not in ("optional", "override")]
    if unknown or not group_package:
        raise ConfigError(f"Invalid entry {key!r} in the defaults list: expected [optional] [override] GROUP[@PACKAGE]", path=path)
    option = _option_name(value)
    if isinstance(value, list):
        raise ConfigError(f"Cannot use a list of options for {key!r}: tinyxp chooses one option per group", path=path)
    if option is _INVALID or (isinstance(option, str) and "${" in option):
        raise ConfigError(f"Invalid option {value!r} for {key!r} in the defaults list: expected a file name", path=path)
    group, _, package = group_package.partition("@")
    return Entry(group=group, value=option, package=package or None, optional="optional" in keywords,
                 override="override" in keywords, listed_in=path)


_INVALID = "\0"


def _option_name(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _INVALID


def _unknown_option(dirs: Sequence[str], group: str, option: str, *, override: Override | None = None,
                    listed_in: str = "") -> Exception:
    options = group_options(dirs, group)
    if not options and not is_group(dirs, group):
        groups = list_groups(dirs)
        hint = suggest(group, groups) or ""
        message = f"Unknown config group {group!r}{hint} (groups: {', '.join(groups) or 'none'})"
    else:
        hint = suggest(option, options)
        message = f"Unknown option {option!r} for the config group {group!r}{hint} (options: {', '.join(options) or 'none'})"
    if override is None:
        return ConfigError(message, **_located(listed_in, group))
    value = override.text.split("=", 1)[1]
    return OverrideError(message, source=override.text, pos=len(override.text) - len(value), length=len(value))


def _located(path: str, needle: str, *, second: bool = False) -> dict[str, Any]:
    """ConfigError arguments pointing at needle's first (or second) place in the file, a file read already."""
    text = read_text(path)
    pos = text.find(needle, max(text.find("defaults"), 0))
    if second:
        pos = text.find(needle, pos + 1)
    return {"path": path} if pos < 0 else {"path": path, "source": text, "pos": pos, "length": len(needle)}


def _token_error(message: str, override: Override) -> OverrideError:
    from .apply import override_error  # only on this error path

    return override_error(message, override)
