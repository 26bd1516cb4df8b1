"""Interpolation: ${key.path}, ${env:VAR} and ${env:VAR,default} in config values."""
from __future__ import annotations

import os
import re

from .. import yaml
from .._values import copy_tree, lookup, nesting
from ..yaml import MAX_NESTING
from ..errors import ConfigError
from .apply import suggest_key

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Tuple

    Path = Tuple[str, ...]

RE_INTERPOLATION = re.compile(r"\\?\$\{([^${}]*)\}")
# How many characters (each list item and mapping entry counting one) interpolation may
# make in one config: a few references to references, ten wide and eight deep, would
# otherwise make 10^8 copies from a 1 KB file (docs/configuration.md)
MAX_INTERPOLATED_SIZE = 1_000_000


def resolve_interpolations(tree: dict[str, Any]) -> dict[str, Any]:
    """A copy of tree with every ${key.path}, ${env:VAR} and ${env:VAR,default} resolved.

    A value that is one whole ${key} keeps the referenced value's type; inside a longer
    string it is formatted in. \\${...} stays literal. Raises ConfigError for a
    dangling reference, a cycle, an unset variable or a malformed ${, and for values
    that would nest more than MAX_NESTING deep or make more than MAX_INTERPOLATED_SIZE
    characters.
    """
    return _Resolver(tree).resolve_node(tree, ())


class _Resolver:
    """One resolution of a tree: the strings being resolved (to find cycles) and those done."""

    def __init__(self, tree: dict[str, Any]) -> None:
        self.tree = tree
        self.resolving: list[Path] = []
        self.resolved: dict[Path, Any] = {}
        self.made = 0  # characters and entries made so far

    def resolve_node(self, node: Any, path: Path) -> Any:
        if isinstance(node, dict):
            return {k: self.resolve_node(v, path + (str(k),)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve_node(v, path + (str(i),)) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            self.resolving.append(path)
            try:
                return self.interpolate(node, path)
            finally:
                self.resolving.pop()
        return node

    def interpolate(self, text: str, path: Path) -> Any:
        whole = RE_INTERPOLATION.fullmatch(text)
        if whole and not text.startswith("\\"):
            return self.copy(self.evaluate(whole.group(1), text, path), text, path)
        pieces = []
        end = 0
        for match in RE_INTERPOLATION.finditer(text):
            pieces.append(_check_no_opening(text[end:match.start()], text, path))
            if match.group().startswith("\\"):
                pieces.append(match.group()[1:])
            else:
                pieces.append(_format(self.evaluate(match.group(1), match.group(), path)))
            end = match.end()
        pieces.append(_check_no_opening(text[end:], text, path))
        self.count(sum(map(len, pieces)), text, path)
        return "".join(pieces)

    def count(self, size: int, reference: str, path: Path) -> None:
        """Count what interpolation makes; raises ConfigError past MAX_INTERPOLATED_SIZE."""
        self.made += size
        if self.made > MAX_INTERPOLATED_SIZE:
            raise ConfigError(
                f"Cannot resolve {reference!r} in {'.'.join(path)!r}: interpolation would make more than "
                f"{MAX_INTERPOLATED_SIZE:,} characters (references repeated inside references?)"
            )

    def copy(self, value: Any, reference: str, path: Path) -> Any:
        """A copy of a referenced value at path, counted; raises ConfigError when too big or deep."""
        if len(path) + nesting(value) > MAX_NESTING:
            raise ConfigError(
                f"Cannot resolve {reference!r} in {'.'.join(path)!r}: the value would nest more than {MAX_NESTING} levels deep"
            )
        if isinstance(value, (dict, list)):
            self.count(_size(value), reference, path)
            return copy_tree(value)
        return value

    def evaluate(self, body: str, reference: str, path: Path) -> Any:
        name, colon, argument = body.partition(":")
        if colon:
            if name.strip() != "env":
                raise ConfigError(f"Unknown resolver {name.strip()!r} in {reference!r} at {'.'.join(path)!r}: only 'env' exists")
            return _environment_value(argument, reference, path)
        parts = tuple(body.strip().split("."))
        if not all(parts):
            raise ConfigError(f"Invalid interpolation {reference!r} in {'.'.join(path)!r}: expected ${{key.path}} or ${{env:VAR}}")
        return self.resolve_reference(parts, reference, path)

    def resolve_reference(self, target: Path, reference: str, path: Path) -> Any:
        if target in self.resolved:
            return self.resolved[target]
        if target in self.resolving:
            chain = self.cycle(target)
            raise ConfigError(f"Cannot resolve {reference!r} in {'.'.join(path)!r}: interpolation cycle {' -> '.join(chain)}")
        if len(self.resolving) >= 2 * MAX_NESTING:  # each reference stacks its string and its target
            raise ConfigError(f"Cannot resolve {reference!r} in {'.'.join(path)!r}: more than {MAX_NESTING} references, each to the next")
        found, node = lookup(self.tree, target)
        if not found:
            dotted = ".".join(target)
            raise ConfigError(
                f"Cannot resolve {reference!r} in {'.'.join(path)!r}: no key {dotted!r}{suggest_key(self.tree, dotted)}"
            )
        self.resolving.append(target)
        try:
            value = self.resolved[target] = self.resolve_node(node, target)
        finally:
            self.resolving.pop()
        return value

    def cycle(self, target: Path) -> list[str]:
        """The dotted keys of the cycle that reaches target again, each once in a row."""
        chain: list[str] = []
        for key in [".".join(p) for p in self.resolving[self.resolving.index(target):]] + [".".join(target)]:
            if not chain or chain[-1] != key:  # a string is on the stack as referenced and as resolved
                chain.append(key)
        return chain


def _environment_value(argument: str, reference: str, path: Path) -> str:
    """The value of ${env:VAR} or ${env:VAR,default}."""
    variable, comma, default = argument.partition(",")
    value = os.environ.get(variable.strip())
    if value is not None:
        return value
    if not comma:
        raise ConfigError(
            f"Cannot resolve {reference!r} in {'.'.join(path)!r}: "
            f"environment variable {variable.strip()!r} is not set and has no default"
        )
    return default.strip()


def _size(tree: Any) -> int:
    """The entries and string characters of nested dicts and lists, counted without recursion."""
    size = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            size += len(node) + sum(map(len, node))
            stack.extend(node.values())
        elif isinstance(node, list):
            size += len(node)
            stack.extend(node)
        elif isinstance(node, str):
            size += len(node)
    return size


def _check_no_opening(piece: str, text: str, path: Path) -> str:
    if "${" in piece:
        raise ConfigError(f"Invalid interpolation in {'.'.join(path)!r}: expected '}}' to close '${{' in {text!r}")
    return piece


def _format(value: Any) -> str:
    if isinstance(value, str):
        return value
    return yaml.dump_value(value)
