"""Nested dict/list helpers, and the names of value types in fields and messages."""
from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

# the type of a reader field, as `reader.fields` and query errors name it
FIELD_TYPES = {type(None): "null", bool: "bool", int: "int", float: "float", str: "str", list: "list", tuple: "list", dict: "dict"}
# the type of a config value, as configuration errors name it
CONFIG_TYPES = {type(None): "null", bool: "boolean", int: "number", float: "number", str: "string", list: "list"}


def type_name(value: Any) -> str:
    """The type name a field reports: null, bool, int, float, str, list or dict."""
    return FIELD_TYPES.get(type(value)) or type(value).__name__


def config_type_name(value: Any) -> str:
    """The type name a configuration error uses: null, boolean, number, string, list, dict."""
    return CONFIG_TYPES.get(type(value)) or type(value).__name__


def iter_keys(tree: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted key of the nested mappings in tree, parents before children."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            dotted = f"{prefix}{key}"
            yield dotted
            yield from iter_keys(value, dotted + ".")


def lookup(tree: Any, parts: Sequence[str]) -> tuple[bool, Any]:
    """(True, value) at the dotted path in nested dicts and lists, or (False, None)."""
    node = tree
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def copy_tree(tree: Any) -> Any:
    """A copy of nested dicts and lists; other values are shared."""
    if isinstance(tree, dict):
        return {k: copy_tree(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [copy_tree(v) for v in tree]
    return tree


def nesting(tree: Any) -> int:
    """How many dicts and lists are nested in tree, counted without recursion (0 for a scalar)."""
    deepest = 0
    level = [tree]
    while True:
        level = [node for node in level if isinstance(node, (dict, list))]
        if not level:
            return deepest
        deepest += 1
        level = [child for node in level for child in (node.values() if isinstance(node, dict) else node)]
