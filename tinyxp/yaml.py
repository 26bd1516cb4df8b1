"""The YAML subset of tinyxp: load(text) and dump(obj). (Stub: being written.)"""
from __future__ import annotations

from typing import Any, Optional


def load(text: str, path: Optional[str] = None) -> Any:
    """Parse a YAML-subset document; raises YAMLError naming path, line and column."""
    raise NotImplementedError


def load_value(text: str) -> Any:
    """Parse one command-line value: a scalar (core schema) or a flow [..] / {..}."""
    raise NotImplementedError


def dump(obj: Any) -> str:
    """Write a JSON-like value as block-style YAML that load() reads back equal."""
    raise NotImplementedError


def dump_value(obj: Any) -> str:
    """Write a JSON-like value on one line, in a form that load_value() reads back equal."""
    raise NotImplementedError
