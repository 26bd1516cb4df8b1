"""The config of a run started again (xp.run_id): its stored config, the new overrides on top.

The stored config is the one the run last ran with (metadata/config.yaml), not the
defaults as they are today. Overrides the run was launched with apply again without
effect, so a requeued job's own command line changes nothing: `+key=VALUE` sets a key
that exists, `~key` of an absent key does nothing, and a group option the run chose at
its first launch is not loaded again.
"""
from __future__ import annotations

import os
import zlib

from .. import yaml
from .._values import iter_keys, lookup
from ..errors import ConfigError, TinyxpError
from .apply import apply_overrides
from .compose import Config, compose, find_primary
from .interpolate import resolve_interpolations
from .overrides import make_override

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from .overrides import Override


def compose_resumed(run_id: int, stored: dict[str, Any], config_path: str, setting: Sequence[Override],
                    launched_with: Sequence[str] = (), *, verb: str = "resume") -> Config:
    """stored with the setting's overrides applied (xp.* left to compose_xp).

    launched_with are the run's earlier override tokens: a group option among them is
    in stored already. Raises ConfigError naming the run and the key that no longer applies.
    """
    config = stored
    for override in setting:
        if override.key == "xp" or override.key.startswith("xp."):
            continue
        try:
            config = _apply_again(config, override, config_path, launched_with)
        except TinyxpError as err:
            raise ConfigError(f"Cannot {verb} run {run_id}: its stored config no longer takes "
                              f"{override.text!r}: {err.message}") from None
    if any(isinstance(o.value, str) and "${" in o.value for o in setting):
        try:
            config = resolve_interpolations(config)
        except TinyxpError as err:
            raise ConfigError(f"Cannot {verb} run {run_id}: {err.message}") from None
    return Config(config)


def _apply_again(config: dict[str, Any], override: Override, config_path: str, launched_with: Sequence[str]) -> dict[str, Any]:
    """config with one override applied the way a resume applies it."""
    key, kind = override.key, override.kind
    primary = _primary(config_path)
    is_group = primary is not None and "." not in key and os.path.isdir(os.path.join(os.path.dirname(primary), key))
    if is_group and kind != "delete" and isinstance(override.value, (str, int)):
        if override.text in launched_with:
            return config
        return {**config, key: _group_content(config_path, override)}
    exists = lookup(config, key.split("."))[0]
    if kind == "delete" and not exists:
        return config
    if kind == "add" and exists:
        override = make_override("force", key, override.value)
    return apply_overrides(config, [override])


def _group_content(config_path: str, override: Override) -> Any:
    """What the group option `override` chooses puts under the group's key, composed as at a first launch."""
    fresh = compose(config_path, [override], require_all=False)
    return lookup(fresh.to_dict(), override.key.split("/"))[1]


def _primary(config_path: str) -> str | None:
    """The primary config file, or None when it is gone (and with it the config groups)."""
    try:
        return find_primary(config_path)
    except ConfigError:
        return None


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{dotted key: {old, new}} for every leaf that differs; old or new is left out where the key is absent."""
    changes: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys([*iter_keys(before), *iter_keys(after)]):
        if any(key.startswith(f"{changed}.") for changed in changes):
            continue
        (had, old), (has, new) = lookup(before, key.split(".")), lookup(after, key.split("."))
        if (had, old) != (has, new) and not (isinstance(old, dict) and isinstance(new, dict)):
            changes[key] = {**({"old": old} if had else {}), **({"new": new} if has else {})}
    return changes



def config_hash(config: Any) -> str:
    """A short stable hash of a composed config (key order ignored), to find a setting's run again.

    CRC-32 and Adler-32 of its sorted YAML: zlib is loaded by every launch already, where
    hashlib would cost milliseconds; a match is confirmed against config.yaml itself.
    """
    data = yaml.dump(_sorted(config.to_dict() if hasattr(config, "to_dict") else config)).encode("utf-8")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def _sorted(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {key: _sorted(tree[key]) for key in sorted(tree, key=str)}
    if isinstance(tree, list):
        return [_sorted(value) for value in tree]
    return tree
