"""Tests of tinyxp.yaml: the fixture corpus, round trips, errors, and PyYAML agreement."""
from __future__ import annotations

import importlib
import json
import math
import os
import random
import unittest

from tinyxp.errors import YAMLError
from tinyxp.yaml import dump, dump_value, load, load_value

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "yaml")


def same(a, b) -> bool:
    """Equality that also holds for nan, and tells 1 from 1.0 and True."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


class LoadTest(unittest.TestCase):
    def test_block_collections(self):
        text = "a: 1\nb:\n  c: [1, 2]\n  d:\n  - x\n  - y: 2\n    z: 3\ne:\n"
        self.assertEqual(
            load(text),
            {"a": 1, "b": {"c": [1, 2], "d": ["x", {"y": 2, "z": 3}]}, "e": None},
        )

    def test_scalars_resolve_as_core_schema(self):
        cases = {
            "~": None, "null": None, "NULL": None, "": None, "true": True, "TrUe": True,
            "False": False, "12": 12, "-3": -3, "+4": 4, "0x1f": 31, "0o17": 15, "010": 10,
            "1.5": 1.5, "1e-3": 0.001, "10.": 10.0, ".5": 0.5, "-.inf": -math.inf,
            ".Inf": math.inf, "yes": "yes", "off": "off", "1_000": "1_000", "0X1F": "0X1F",
            "-0x1f": "-0x1f", "nul": "nul", "None": "None", "1e3x": "1e3x", ".": ".",
        }
        for text, expected in cases.items():
            with self.subTest(text=text):
                self.assertTrue(same(load_value(text), expected), load_value(text))
                self.assertTrue(same(load(f"k: {text}\n")["k"], expected))
        self.assertTrue(math.isnan(load_value(".nan")))

    def test_load_value_takes_plain_scalars_whole(self):
        self.assertEqual(load_value("a: b"), "a: b")
        self.assertEqual(load_value("x #y"), "x #y")
        self.assertEqual(load_value("/a/b:c"), "/a/b:c")
        self.assertEqual(load_value("  1e-3 "), 0.001)
        self.assertIsNone(load_value(""))
        self.assertEqual(load_value("[a, b]"), ["a", "b"])
        self.assertEqual(load_value("{lr: 1, m: 0.9}"), {"lr": 1, "m": 0.9})
        self.assertEqual(load_value("'a string'"), "a string")
        self.assertEqual(load_value('"x\\ty"'), "x\ty")
        self.assertEqual(load_value("[1, [2, {a: [3]}], {}]"), [1, [2, {"a": [3]}], {}])

    def test_load_value_errors(self):
        with self.assertRaises(YAMLError) as cm:
            load_value("[a, b")
        self.assertEqual(str(cm.exception), "Unclosed flow sequence: expected a closing ']'\n    [a, b\n    ^")
        with self.assertRaises(YAMLError) as cm:
            load_value("'abc")
        self.assertEqual(str(cm.exception), "Unclosed single-quoted string: expected a closing \"'\"\n    'abc\n    ^")
        with self.assertRaises(YAMLError) as cm:
            load_value("[a] b")
        self.assertEqual(
            str(cm.exception),
            "Expected end of value after the flow sequence, found 'b'\n    [a] b\n        ^",
        )

    def test_error_names_path_line_and_column(self):
        with self.assertRaises(YAMLError) as cm:
            load("a: 1\nb: &x 2\n", path="config.yaml")
        err = cm.exception
        self.assertEqual((err.path, err.line, err.col), ("config.yaml", 2, 4))
        self.assertEqual(
            str(err),
            "config.yaml:2:4: Invalid anchor '&x': anchors and aliases are not supported\n"
            "    b: &x 2\n"
            "       ^^",
        )


class DumpTest(unittest.TestCase):
    def test_dump_block_style(self):
        obj = {"a": 1, "b": {"c": [1, 2.5], "d": "x y"}, "e": [], "f": [{"g": None, "h": True}]}
        self.assertEqual(
            dump(obj),
            "a: 1\nb:\n  c:\n    - 1\n    - 2.5\n  d: x y\ne: []\nf:\n  - g: null\n    h: true\n",
        )

    def test_dump_quotes_strings_that_read_back_otherwise(self):
        for text in ["1e3", "true", "null", "~", "", " a", "a ", "a: b", "a #b", "- x", "[", "0x1f", ".inf"]:
            with self.subTest(text=text):
                self.assertEqual(load(dump({"k": text})), {"k": text})
                self.assertEqual(load_value(dump_value(text)), text)

    def test_dump_value_one_line(self):
        self.assertEqual(dump_value({"lr": 1e-5, "tags": ["a", "b,c"]}), "{lr: 1.0e-05, tags: [a, 'b,c']}")
        self.assertEqual(dump_value("it's"), '"it\'s"')
        self.assertEqual(dump_value("a\nb"), '"a\\nb"')
        self.assertEqual(dump_value(float("-inf")), "-.inf")

    def test_dump_refuses_other_types(self):
        with self.assertRaises(TypeError):
            dump({"a": object()})
        with self.assertRaises(TypeError):
            dump({1: "a"})


if __name__ == "__main__":
    unittest.main()
