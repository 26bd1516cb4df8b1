"""The YAML subset of tinyxp: load(text) and dump(obj), load_value and dump_value.

The language is DESIGN.md's "configuration language": block mappings and sequences by
indentation, flow [..] and {..}, plain, 'single' and "double" quoted scalars, block
scalars | and >, comments, an optional leading ---. Scalars resolve as YAML 1.2's core
schema. Anchors, aliases, tags, complex keys and several documents are refused.
"""
from __future__ import annotations

from ..errors import YAMLError
from ._dumper import dump, dump_value
from ._fast import NOT_FAST, load_fast
from ._parser import load, load_value, parse_document
from ._scalars import MAX_NESTING, MAX_NUMBER_DIGITS

# parse_document, load_fast and NOT_FAST are not public: tests/test_yaml_fast.py checks
# load_fast, the fast path for what dump() writes, against the full parser.
__all__ = ["load", "load_value", "dump", "dump_value", "YAMLError", "MAX_NESTING", "MAX_NUMBER_DIGITS"]
