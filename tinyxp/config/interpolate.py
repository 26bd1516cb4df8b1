"""Interpolation as OmegaConf spells it: ${key.path}, ${.sibling}, ${..uncle}, and resolvers.

    ${optimizer.lr}            the value at that key (absolute)
    ${.lr} ${..seed}           relative to the mapping holding the value, one more dot per level up
    ${env:VAR} ${env:VAR,d}    an environment variable (tinyxp's spelling, kept)
    ${oc.env:VAR,default}      the same, OmegaConf's spelling (default null gives null)
    ${oc.select:key,default}   the value at key, or default when there is none
    ${oc.decode:text}          text read as a YAML value ('5' -> 5, '[1, 2]' -> a list)
    \\${...}                    literal, not interpolated

Interpolations nest (`${oc.decode:${oc.env:N}}`). Errors name the key and, when the
value came from a config file, the file and line.
"""
from __future__ import annotations

import os

from .. import yaml
from .._values import copy_tree, lookup, nesting
from ..errors import ConfigError, YAMLError
from ..yaml import MAX_NESTING
from .apply import suggest_key

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, List, Tuple, Union

    Path = Tuple[str, ...]
    Pieces = List[Union[str, Tuple[str, str]]]  # literal text, or (body, ${body} as written)

RESOLVERS = ("env", "oc.env", "oc.select", "oc.decode")
HYDRA_RESOLVERS = {  # Hydra's, which tinyxp leaves out: what to write instead
    "hydra": "tinyxp has no Hydra runtime node: a run's directory is ctx.info.run_dir, set xp.log_dir for where runs go",
    "now": "tinyxp has no 'now' resolver: a run's start time is in info.yaml (ctx.info.start_time)",
}
# How many characters (each list item and mapping entry counting one) interpolation may
# make in one config: a few references to references, ten wide and eight deep, would
# otherwise make 10^8 copies from a 1 KB file (docs/configuration.md)
MAX_INTERPOLATED_SIZE = 1_000_000


def resolve_interpolations(tree: dict[str, Any], origins: dict[str, str] | None = None) -> dict[str, Any]:
    """A copy of tree with every ${...} resolved.

    A value that is one whole ${...} keeps the referenced value's type; inside a longer
    string it is formatted in. origins maps dotted keys to the file each came from, for
    errors. Raises ConfigError for a dangling reference, a cycle, an unset variable,
    an unknown resolver or a malformed ${, and for values that would nest more than
    MAX_NESTING deep or make more than MAX_INTERPOLATED_SIZE characters.
    """
    return _Resolver(tree, origins or {}).resolve_node(tree, ())


class _Resolver:
    """One resolution of a tree: the strings being resolved (to find cycles) and those done."""

    def __init__(self, tree: dict[str, Any], origins: dict[str, str]) -> None:
        self.tree = tree
        self.origins = origins
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
        pieces = self.split(text, path)
        if len(pieces) == 1 and isinstance(pieces[0], tuple):
            return self.copy(self.evaluate(*pieces[0], path), text, path)
        made = "".join(p if isinstance(p, str) else _format(self.evaluate(*p, path)) for p in pieces)
        self.count(len(made), text, path)
        return made

    def count(self, size: int, reference: str, path: Path) -> None:
        """Count what interpolation makes; raises ConfigError past MAX_INTERPOLATED_SIZE."""
        self.made += size
        if self.made > MAX_INTERPOLATED_SIZE:
            raise self.error(
                f"Cannot resolve {reference!r} in {_dotted(path)!r}: interpolation would make more than "
                f"{MAX_INTERPOLATED_SIZE:,} characters (references repeated inside references?)", path
            )

    def copy(self, value: Any, reference: str, path: Path) -> Any:
        """A copy of a referenced value at path, counted; raises ConfigError when too big or deep."""
        if len(path) + nesting(value) > MAX_NESTING:
            raise self.error(
                f"Cannot resolve {reference!r} in {_dotted(path)!r}: the value would nest more than {MAX_NESTING} levels deep",
                path,
            )
        if isinstance(value, (dict, list)):
            self.count(_size(value), reference, path)
            return copy_tree(value)
        return value

    def split(self, text: str, path: Path) -> Pieces:
        """The literal text and the ${...} of text, each ${ matched with its } across nesting."""
        pieces: Pieces = []
        literal, i = "", 0
        while i < len(text):
            if text.startswith("\\${", i):
                literal += "${"
                i += 3
            elif text.startswith("${", i):
                end = _closing(text, i + 2)
                if end < 0:
                    raise self.error(f"Invalid interpolation in {_dotted(path)!r}: expected '}}' to close '${{' in {text!r}", path)
                if literal:
                    pieces.append(literal)
                literal = ""
                pieces.append((text[i + 2:end - 1], text[i:end]))
                i = end
            else:
                literal += text[i]
                i += 1
        if literal or not pieces:
            pieces.append(literal)
        return pieces

    def evaluate(self, body: str, reference: str, path: Path) -> Any:
        if "${" in body:  # an inner interpolation, resolved first into the text
            body = "".join(p if isinstance(p, str) else _format(self.evaluate(*p, path)) for p in self.split(body, path))
        name, colon, argument = body.partition(":")
        name = name.strip()
        if colon:
            if name not in RESOLVERS:
                hint = HYDRA_RESOLVERS.get(name, f"resolvers: {', '.join(RESOLVERS)}")
                raise self.error(f"Unknown resolver {name!r} in {reference!r} at {_dotted(path)!r} ({hint})", path)
            return self.call(name, argument, reference, path)
        target = self.target(body.strip(), reference, path)
        return self.resolve_reference(target, reference, path)

    def target(self, key: str, reference: str, path: Path) -> Path:
        """The absolute path of a key: a.b, or .a and ..a relative to the mapping holding path."""
        dots = len(key) - len(key.lstrip("."))
        parts = tuple(key[dots:].split(".")) if key[dots:] else ()
        if not all(parts) or (not parts and not dots) or dots > len(path):
            raise self.error(f"Invalid interpolation {reference!r} in {_dotted(path)!r}: expected ${{key.path}}, "
                             "${.sibling} or ${resolver:argument}", path)
        return (path[:len(path) - dots] if dots else ()) + parts

    def call(self, name: str, argument: str, reference: str, path: Path) -> Any:
        if name == "oc.decode":
            return self.decode(argument.strip(), reference, path)
        first, comma, default = _split_argument(argument)
        if name == "oc.select":
            found, value = self.select(self.target(first, reference, path))
            return value if found else (_read_default(default) if comma else None)
        value = os.environ.get(first)
        if value is not None:
            return value
        if not comma:
            raise self.error(f"Cannot resolve {reference!r} in {_dotted(path)!r}: "
                             f"environment variable {first!r} is not set and has no default", path)
        if name == "env":
            return default
        decoded = _read_default(default)
        return None if decoded is None else default

    def decode(self, text: str, reference: str, path: Path) -> Any:
        try:
            return yaml.load_value(_unquote(text)) if text else None
        except YAMLError as err:
            raise self.error(f"Cannot decode {text!r} in {reference!r} at {_dotted(path)!r}: {err.message}", path) from None

    def select(self, target: Path) -> tuple[bool, Any]:
        found, node = lookup(self.tree, target)
        if not found or node == "???":
            return False, None
        return True, self.resolve_reference(target, "", target)

    def resolve_reference(self, target: Path, reference: str, path: Path) -> Any:
        if target in self.resolved:
            return self.resolved[target]
        if target in self.resolving:
            chain = self.cycle(target)
            raise self.error(f"Cannot resolve {reference!r} in {_dotted(path)!r}: interpolation cycle {' -> '.join(chain)}", path)
        if len(self.resolving) >= 2 * MAX_NESTING:  # each reference stacks its string and its target
            raise self.error(f"Cannot resolve {reference!r} in {_dotted(path)!r}: more than {MAX_NESTING} references, "
                             "each to the next", path)
        found, node = lookup(self.tree, target)
        if not found:
            dotted = _dotted(target)
            raise self.error(
                f"Cannot resolve {reference!r} in {_dotted(path)!r}: no key {dotted!r}{suggest_key(self.tree, dotted)}", path
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
        for key in [_dotted(p) for p in self.resolving[self.resolving.index(target):]] + [_dotted(target)]:
            if not chain or chain[-1] != key:  # a string is on the stack as referenced and as resolved
                chain.append(key)
        return chain

    def error(self, message: str, path: Path) -> ConfigError:
        """A ConfigError at the line of the file the key at path came from, when known."""
        file = self.origins.get(_dotted(path))
        if file is None:
            return ConfigError(message)
        from .files import read_text  # only on this error path

        text = read_text(file)  # read already: it was composed
        import re

        start, length = -1, 1
        for part in (p for p in path if not p.isdigit()):  # each key after its parent's; a package's keys are absent
            match = re.compile(rf"^[ \t-]*(['\"]?){re.escape(part)}\1[ \t]*:", re.MULTILINE).search(text, start + 1)
            if match is not None:
                start = match.start() + len(match.group()) - len(match.group().lstrip(" \t-"))
                length = len(part)
        if start < 0:
            return ConfigError(message, path=file)
        return ConfigError(message, path=file, source=text, pos=start, length=length)


def _closing(text: str, start: int) -> int:
    """The index after the '}' closing the ${ before start (skipping nested ${} and quotes), or -1."""
    depth, end = 1, start
    while end < len(text):
        if text.startswith("${", end):
            depth, end = depth + 1, end + 2
            continue
        if text[end] in "'\"":
            close = text.find(text[end], end + 1)
            end = len(text) if close < 0 else close + 1
            continue
        depth -= text[end] == "}"
        end += 1
        if not depth:
            return end
    return -1


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


def _dotted(path: Path) -> str:
    return ".".join(path)


def _split_argument(argument: str) -> tuple[str, str, str]:
    """'VAR,default' -> ('VAR', ',', 'default'); the default may be quoted and hold commas."""
    first, comma, default = argument.partition(",")
    return first.strip(), comma, _unquote(default.strip())


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _read_default(text: str) -> Any:
    try:
        return yaml.load_value(text) if text else ""
    except YAMLError:
        return text


def _format(value: Any) -> str:
    if isinstance(value, str):
        return value
    return yaml.dump_value(value)
