"""Applying parsed overrides to a config tree (plain dicts and lists), with did-you-mean."""
from __future__ import annotations

from .._values import config_type_name, copy_tree, iter_keys, lookup
from ..errors import OverrideError, suggest
from .overrides import Sweep

MISSING = "???"  # a required value, which any type may fill (compose.MISSING)

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

    from .overrides import Override


def key_span(override: Override) -> tuple[int, int]:
    """Where the key is in the override's text, for a caret under it."""
    start = override.text.find(override.key)
    return (start, len(override.key)) if start >= 0 else (0, len(override.text))


def override_error(message: str, override: Override) -> OverrideError:
    """An OverrideError showing the token with a caret under its key."""
    pos, length = key_span(override)
    return OverrideError(message, source=override.text, pos=pos, length=length)


def apply_overrides(config: dict[str, Any], setting: Sequence[Override]) -> dict[str, Any]:
    """A copy of config with the overrides applied in order.

    Raises OverrideError for an unknown key (with did-you-mean), `+key` for a key that
    exists, `~key` for one that does not, a key under a scalar, a sweep, or a value
    whose type cannot replace the one in the config (`++key` forces it).
    """
    result = copy_tree(config)
    for override in setting:
        _apply_override(result, override)
    return result


def _apply_override(config: dict[str, Any], override: Override) -> None:
    key, kind = override.key, override.kind
    if isinstance(override.value, Sweep):
        raise override_error(
            f"Cannot apply the sweep {override.text!r} to one config; expand it with +sweep", override
        )
    *parents, leaf = key.split(".")
    node = _parent_node(config, override, parents)
    exists = _child(node, leaf) is not _MISSING
    if kind in ("set", "delete") and not exists:
        raise override_error(_unknown_key_message(config, key, kind), override)
    if kind == "add" and exists:
        raise override_error(
            f"Cannot add {key!r}: the key exists already (set it with {key}=VALUE or ++{key}=VALUE)", override
        )
    if kind == "delete" and override.value is not None and _child(node, leaf) != override.value:
        raise override_error(f"Cannot delete {key!r}: its value is {_child(node, leaf)!r}, not {override.value!r}", override)
    if kind == "set":
        _check_type(_child(node, leaf), override)
    if isinstance(node, list):
        if not exists:
            raise override_error(f"Cannot add {key!r}: {'.'.join(parents)!r} is a list", override)
        index = int(leaf)
        if kind == "delete":
            del node[index]
        else:
            node[index] = copy_tree(override.value)
    elif kind == "delete":
        del node[leaf]
    else:
        node[leaf] = copy_tree(override.value)


def _check_type(old: Any, override: Override) -> None:
    """Raise OverrideError when override's value cannot replace old (a string for a number, ...).

    null replaces anything and anything replaces null or ???; an int replaces a float
    and the other way; any scalar replaces a string (lr=1 where the config says
    'auto'); an interpolation ${...} on either side is left to resolve.
    """
    new = override.value
    if new is None or old is None or old == MISSING or _is_interpolation(old) or _is_interpolation(new):
        return
    old_type, new_type = config_type_name(old), config_type_name(new)
    if old_type == new_type or (old_type == "string" and new_type in ("number", "boolean")):
        return
    value_text = override.text.split("=", 1)[1]
    force = f"++{override.key}={value_text}"
    if old_type == "string":
        hint = f"quote it to keep it a string: {override.key}={_quoted(value_text)}, or force it: {force}"
    else:
        hint = f"to force it: {force}"
    start = len(override.text) - len(value_text)
    raise OverrideError(
        f"Cannot replace the {old_type} at {override.key!r} with the {new_type} {new!r} ({hint})",
        source=override.text, pos=start, length=max(1, len(value_text)),
    )


def _is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _quoted(text: str) -> str:
    return f"'{text}'" if "'" not in text else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parent_node(config: dict[str, Any], override: Override, parents: list[str]) -> Any:
    """The mapping or list the override's last key part is in; +key and ++key create mappings."""
    key, kind = override.key, override.kind
    node: Any = config
    for depth, part in enumerate(parents):
        child = _child(node, part)
        if child is _MISSING:
            if kind in ("set", "delete"):
                raise override_error(_unknown_key_message(config, key, kind), override)
            child = node[part] = {}
        elif not isinstance(child, (dict, list)):
            parent = ".".join(parents[: depth + 1])
            raise override_error(f"Cannot set {key!r}: {parent!r} is a {config_type_name(child)}, not a mapping", override)
        node = child
    return node


_MISSING = object()


def _child(node: Any, part: str) -> Any:
    found, value = lookup(node, [part])
    return value if found else _MISSING


def _unknown_key_message(config: dict[str, Any], key: str, kind: str) -> str:
    hint = suggest_key(config, key)
    if kind == "delete":
        return f"Cannot delete {key!r}: unknown key{hint}"
    return f"Unknown key {key!r}{hint} (+{key}=VALUE adds a new key)"


def suggest_key(config: dict[str, Any], key: str) -> str:
    """Did-you-mean for a dotted key: its siblings when the parent exists, else keys as deep."""
    parent, _, leaf = key.rpartition(".")
    found, node = lookup(config, parent.split(".")) if parent else (True, config)
    if found and isinstance(node, dict):
        hint = suggest(leaf, [str(k) for k in node], prefix=f"{parent}." if parent else "")
        if hint or not parent:
            return hint
    # the parent is misspelt too: keys as deep whose every part is close
    from difflib import SequenceMatcher  # only on this error path

    parts = key.split(".")
    scored = []
    for candidate in iter_keys(config):
        ratios = [SequenceMatcher(None, a, b).ratio() for a, b in zip(parts, candidate.split("."))]
        if candidate.count(".") == len(parts) - 1 and min(ratios) >= 0.6:
            scored.append((-sum(ratios), candidate))
    return suggest(key, [c for _, c in sorted(scored)[:3]], cutoff=0)
