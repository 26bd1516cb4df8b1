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

# Valid fixtures on which YAML 1.1 (PyYAML) and tinyxp's YAML 1.2 core schema differ.
DIFFERS_FROM_PYYAML = {
    "booleans_any_case": "tRuE is a bool here, a string in YAML 1.1",
    "dash_values": "-.5 is a float here, a string in YAML 1.1",
    "dates_are_strings": "YAML 1.1 reads timestamps as dates",
    "floats_without_dot": "1e-3 is a float here, a string in YAML 1.1",
    "integers_leading_zero": "010 is ten here, octal eight in YAML 1.1",
    "integers_octal": "0o17 is an int here, a string in YAML 1.1",
    "numbers_with_underscores": "YAML 1.1 allows 1_000",
    "plain_keys_are_strings": "keys are always strings here",
    "sexagesimal_is_a_string": "YAML 1.1 reads 12:30 as base 60",
    "yes_no_on_off_are_strings": "YAML 1.1 reads yes/no/on/off as bools",
}

# Awkward strings for the round trips.
AWKWARD = [
    "", " ", "\n", "\n\n", " lead", "trail ", "a: b", "a #b", "#c", "a:", "'", '"', "''", "---",
    "...", "- x", "-", "[", "]", "{", "}", ",", "a,b", "null", "Null", "~", "True", "false",
    "1e3", "0x1f", "0o17", ".inf", "-.inf", ".nan", "12", "-3", "1.5", "10.", "é", "名前", "😀",
    "\\", "\t", "a\tb", "\r\n", "?", "? x", "&a", "*a", "!t", "|", ">", "%", "@", "`",
    "x=y", "range(3)", "a\\,b", "${a.b}", "???", "\x00", "\x85", "\u2028", "\ufeff",
    "line1\nline2", "line1\nline2\n", "trailing\n\n\n", "\nlead", "  indented\nx",
]


def read(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def fixtures(kind: str, ext: str):
    """(name, text, expected text) for each fixture of tests/data/yaml/<kind>."""
    folder = os.path.join(DATA, kind)
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".yaml"):
            name = entry[: -len(".yaml")]
            yield name, read(os.path.join(folder, entry)), read(os.path.join(folder, name + ext))


def pyyaml_safe_load(test: unittest.TestCase):
    """PyYAML's safe_load (with libyaml when it has it); skips the test without PyYAML.

    Our module is tinyxp.yaml; PyYAML's top-level module is also named yaml."""
    try:
        pyyaml = importlib.import_module("yaml")
    except ImportError:
        test.skipTest("PyYAML is not installed")
    loader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
    return lambda text: pyyaml.load(text, Loader=loader)


def random_string(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(AWKWARD)
    pieces = AWKWARD + ["a", "b", "x y", " ", ": ", " #"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))


def random_value(rng: random.Random, depth: int = 0):
    """A JSON-like value: nested dicts and lists of awkward scalars."""
    kind = rng.random()
    if depth < 4 and kind < 0.15:
        return {random_string(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if depth < 4 and kind < 0.3:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    kind = rng.random()
    if kind < 0.1:
        return None
    if kind < 0.2:
        return rng.random() < 0.5
    if kind < 0.35:
        return rng.randint(-10**20, 10**20) if rng.random() < 0.2 else rng.randint(-1000, 1000)
    if kind < 0.5:
        return rng.choice([
            rng.random(), rng.uniform(-1e20, 1e20), 1e-7, 1e16, 0.0, -0.0, 0.1,
            float("inf"), float("-inf"), float("nan"),
        ])
    return random_string(rng)


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


class CorpusTest(unittest.TestCase):
    def test_valid_fixtures(self):
        count = 0
        for name, text, expected in fixtures("valid", ".json"):
            count += 1
            with self.subTest(name=name):
                # Python's json reads NaN and Infinity, which the .json files use for .nan and .inf
                value = load(text, path=name + ".yaml")
                self.assertTrue(same(value, json.loads(expected)), value)
                self.assertTrue(same(load(dump(value)), value))
        self.assertGreaterEqual(count, 40)

    def test_invalid_fixtures(self):
        count = 0
        for name, text, expected in fixtures("invalid", ".err"):
            count += 1
            with self.subTest(name=name):
                with self.assertRaises(YAMLError) as cm:
                    load(text, path=name + ".yaml")
                self.assertEqual(str(cm.exception) + "\n", expected)
        self.assertGreaterEqual(count, 25)

    def test_same_as_pyyaml_where_yaml_1_1_agrees(self):
        safe_load = pyyaml_safe_load(self)
        compared = 0
        for name, text, _ in fixtures("valid", ".json"):
            if name in DIFFERS_FROM_PYYAML:
                continue
            compared += 1
            with self.subTest(name=name):
                self.assertTrue(same(load(text), safe_load(text)))
        self.assertGreaterEqual(compared, 40)


class RoundTripTest(unittest.TestCase):
    def test_pyyaml_reads_what_dump_writes(self):
        safe_load = pyyaml_safe_load(self)
        for seed in range(2000):
            value = random_value(random.Random(seed))
            text = dump(value)
            with self.subTest(seed=seed, text=text):
                self.assertTrue(same(safe_load(text), value))

    def test_dump_then_load(self):
        for seed in range(2500):
            value = random_value(random.Random(seed))
            text = dump(value)
            with self.subTest(seed=seed, text=text):
                self.assertTrue(same(load(text), value), load(text))

    def test_dump_value_then_load_value(self):
        for seed in range(2500):
            value = random_value(random.Random(seed))
            text = dump_value(value)
            with self.subTest(seed=seed, text=text):
                self.assertNotIn("\n", text)
                self.assertTrue(same(load_value(text), value), load_value(text))

    def test_awkward_strings(self):
        for text in AWKWARD:
            with self.subTest(text=text):
                self.assertEqual(load(dump(text)), text)
                self.assertEqual(load(dump({text: text})), {text: text})
                self.assertEqual(load(dump([[text], {"k": [text]}])), [[text], {"k": [text]}])
                self.assertEqual(load_value(dump_value(text)), text)
                self.assertEqual(load_value(dump_value({text: [text]})), {text: [text]})

    def test_dump_value_has_no_top_level_comma(self):
        for text in ["a,b", "1,2", "x, y"]:
            self.assertEqual(dump_value(text), repr(text))


class RobustnessTest(unittest.TestCase):
    PIECES = [
        "a", "1", "-", "- ", ":", ": ", "#", " #", " ", "\n", "\n  ", "\n- ", "\t", "'", '"',
        "\\", "[", "]", "{", "}", ",", "|", ">", "|-", ">+", "|2", "&a", "*a", "!t", "? ",
        "%", "---", "...", "\n---\n", "x: y", "\\x4", "é", ".inf", "~", "\r\n",
    ]

    def test_any_text_gives_a_value_or_a_yaml_error(self):
        for seed in range(3000):
            rng = random.Random(seed)
            text = "".join(rng.choice(self.PIECES) for _ in range(rng.randint(1, 30)))
            with self.subTest(text=text):
                for function in (load, load_value):
                    try:
                        value = function(text)
                    except YAMLError as err:
                        self.assertTrue(str(err))
                    else:
                        self.assertTrue(same(load(dump(value)), value))


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


class EdgeCaseTest(unittest.TestCase):
    def assertError(self, text: str, expected: str, *, value: bool = False) -> None:
        with self.assertRaises(YAMLError) as cm:
            load_value(text) if value else load(text, path="t.yaml")
        self.assertEqual(str(cm.exception), expected)

    def test_document_edges(self):
        self.assertEqual(load("\ufeffa: 1"), {"a": 1})
        self.assertEqual(load("a: 1\n# end"), {"a": 1})
        self.assertEqual(load("a: 1\n  \t"), {"a": 1})
        self.assertEqual(load("a: b"), {"a": "b"})
        self.assertEqual(load("a: 1\r\nb: 2\r\n"), {"a": 1, "b": 2})
        self.assertIsNone(load(""))
        self.assertIsNone(load("---\n"))
        self.assertEqual(load("a: 1\n...\n# done\n"), {"a": 1})

    def test_block_edges(self):
        self.assertEqual(load("-\n  a: 1\n-\n  - b\n"), [{"a": 1}, ["b"]])
        self.assertEqual(load("a: b\n  c"), {"a": "b c"})
        self.assertEqual(load("a: b\n  c # x\nd: 1"), {"a": "b c", "d": 1})
        self.assertEqual(load("a: |1\n  x\nb: 1"), {"a": " x\n", "b": 1})
        self.assertEqual(load("a: |\nb: 1"), {"a": "", "b": 1})
        self.assertEqual(load("a: |+\n\nb: 1"), {"a": "\n", "b": 1})
        self.assertEqual(load("- >\n  a\n  b\n\n\n  c\n"), ["a b\n\nc\n"])
        self.assertEqual(load("k:\n- 'a'\nm: x #c"), {"k": ["a"], "m": "x"})
        self.assertEqual(load("a: 1\n  \n# c\nb: 2  # c\n\n"), {"a": 1, "b": 2})
        self.assertError(
            "- 'a'\nb: 1\n",
            "t.yaml:2:1: Expected a sequence item '- ', found 'b: 1'\n    b: 1\n    ^^^^",
        )
        self.assertError(
            "a: 1\n\t\nb: 1\n\tc: 2\n",
            "t.yaml:4:1: Invalid tab in indentation; indent with spaces\n    \tc: 2\n    ^",
        )

    def test_text_after_document_end(self):
        self.assertError(
            "a: 1\n... x\n",
            "t.yaml:2:1: Cannot read several documents: found '...'\n    ... x\n    ^^^",
        )

    def test_block_errors(self):
        self.assertError(
            "  a: 1\nb: 2\n",
            "t.yaml:2:1: Bad indentation: expected column 3, found column 1\n    b: 2\n    ^",
        )
        self.assertError(
            "'a\n b': 1\n",
            "t.yaml:1:1: Expected 'key: value' in a mapping, found \"'a\"\n    'a\n    ^^",
        )
        self.assertError(
            "a: 1\n&x b: 2\n",
            "t.yaml:2:1: Invalid anchor '&x': anchors and aliases are not supported\n    &x b: 2\n    ^^",
        )
        self.assertError(
            "- [a]\n  b\n",
            "t.yaml:2:3: Bad indentation: expected column 1, found column 3\n      b\n      ^",
        )
        self.assertError(
            "foo\nbar: 1\n",
            "t.yaml:1:1: Expected 'key: value' in a mapping, found 'foo'\n    foo\n    ^^^",
        )

    def test_flow_edges(self):
        self.assertEqual(load_value("[a: , b]"), [{"a": None}, "b"])
        self.assertEqual(load_value("{a, b: , c: 1}"), {"a": None, "b": None, "c": 1})
        self.assertEqual(load_value('{"a":1}'), {"a": 1})
        self.assertEqual(load_value("{a:1}"), {"a:1": None})
        self.assertEqual(load_value("[a b, 'c' , \"d\"]"), ["a b", "c", "d"])
        self.assertEqual(load_value("[\n  1, # one\n  2\n]"), [1, 2])

    def test_flow_errors(self):
        self.assertError(
            "[- a]",
            "Cannot use a block sequence item '- ' inside a flow collection\n    [- a]\n     ^",
            value=True,
        )
        self.assertError("[a,", "Unclosed flow sequence: expected a closing ']'\n    [a,\n    ^", value=True)
        self.assertError("{a: 1,", "Unclosed flow mapping: expected a closing '}'\n    {a: 1,\n    ^", value=True)
        self.assertError("{,}", "Expected a key before ',' in a flow mapping\n    {,}\n     ^", value=True)
        self.assertError("[&a x]", "Invalid anchor '&a': anchors and aliases are not supported\n    [&a x]\n     ^^", value=True)
        self.assertError("[a] b", "Expected end of value after the flow sequence, found 'b'\n    [a] b\n        ^", value=True)
        self.assertError('"a" b', "Expected end of value after the quoted string, found 'b'\n    \"a\" b\n        ^", value=True)
        self.assertError('"\\u12"', "Invalid escape sequence '\\u12': expected 4 hex digits after '\\u'\n    \"\\u12\"\n     ^^^^", value=True)

    def test_flow_value_expected(self):
        self.assertError("{a: ]}", "Expected a value, found ']'\n    {a: ]}\n        ^", value=True)
        self.assertError("[a, |]", "Expected a value, found '|'\n    [a, |]\n        ^", value=True)
        self.assertError("[", "Unclosed flow sequence: expected a closing ']'\n    [\n    ^", value=True)

    def test_deep_nesting_is_an_error_not_a_crash(self):
        deep = "Cannot nest collections more than 100 levels deep"
        self.assertError("[" * 100000, f"{deep}\n    " + "[" * 100000 + "\n    " + " " * 100 + "^", value=True)
        self.assertError("{a: " * 101, f"{deep}\n    " + "{a: " * 101 + "\n    " + " " * 400 + "^", value=True)
        with self.assertRaises(YAMLError) as cm:
            load("a: " + "[" * 100000, path="deep.yaml")
        self.assertTrue(str(cm.exception).startswith(f"deep.yaml:1:103: {deep}\n"))
        nested: list = []
        for _ in range(99):
            nested = [nested]
        self.assertEqual(load_value("[" * 100 + "]" * 100), nested)
        self.assertEqual(load("- " * 99 + "[]\n"), nested)
        for depth in (250, 500):  # the depths that escaped as RecursionError
            self.assertRaises(YAMLError, load_value, "[" * depth + "]" * depth)

    def test_integers_of_more_than_1000_digits_are_an_error(self):
        self.assertEqual(load_value("9" * 1000), int("9" * 1000))
        self.assertEqual(load_value("1" * 5000 + ".5"), float("inf"))
        for text in ("1" * 5000, "0x" + "f" * 999):
            with self.subTest(text=text[:5]):
                with self.assertRaises(YAMLError) as cm:
                    load_value(text)
                self.assertEqual(str(cm.exception), f"Invalid integer {text[:12]}...: more than 1000 digits; quote it to keep a string")
        with self.assertRaises(YAMLError) as cm:
            load("a: " + "1" * 5000, path="n.yaml")
        self.assertTrue(str(cm.exception).startswith("n.yaml: Invalid integer 111111111111...: more than 1000 digits"))

    def test_block_nesting_limit_in_every_path(self):
        """100 nested collections read, 101 are an error at the 101st, whichever path reads them."""
        deep = "Cannot nest collections more than 100 levels deep"
        mappings = "".join("  " * i + f"k{i}:\n" for i in range(99)) + "  " * 99 + "v: 1\n"  # dump()'s shape
        self.assertEqual(len(str(load(mappings)).split("{")) - 1, 100)
        too_deep = "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n"
        with self.assertRaises(YAMLError) as cm:
            load(too_deep, path="c.yaml")
        self.assertTrue(str(cm.exception).startswith(f"c.yaml:101:201: {deep}\n"))
        for text in ("- " * 101 + "1\n", "a:\n" + "".join("  " * i + "- b:\n" for i in range(1, 60)), "- " * 100 + "[1]\n"):
            with self.subTest(text=text[:20]):
                self.assertRaises(YAMLError, load, text)
        for text in ("x: [" + "{a: " * 100, "x:\n  - " + "[" * 100):
            with self.subTest(text=text[:20]):
                with self.assertRaises(YAMLError) as cm:
                    load(text)
                self.assertIn(deep, str(cm.exception))

        cyclic: list = []
        cyclic.append(cyclic)
        for function in (dump, dump_value):
            with self.assertRaises(ValueError) as cm2:
                function(cyclic)
            self.assertEqual(str(cm2.exception), "Cannot dump a value that contains itself or nests too deeply")

    def test_key_without_space_after_colon(self):
        self.assertError(
            "a: 1\nb:2\n",
            "t.yaml:2:1: Expected 'key: value' in a mapping, found 'b:2'; put a space after ':'\n    b:2\n    ^^^",
        )

    def test_dump_escapes(self):
        for text in ["\U000e0001", "\x7f", "\u00ad", "\x1b\a\b\f\v\r\0"]:
            with self.subTest(text=text):
                self.assertEqual(load(dump(text)), text)
                self.assertEqual(load_value(dump_value(text)), text)
        self.assertEqual(dump_value("\U000e0001"), '"\\U000e0001"')
        self.assertEqual(dump_value("\x7f"), '"\\x7f"')

    def test_dump_block_literal(self):
        self.assertEqual(dump({"s": "a\nb\n"}), "s: |\n  a\n  b\n")
        self.assertEqual(dump(["a\nb"]), "- |-\n  a\n  b\n")
        self.assertEqual(dump({"k": ["x\n\n"]}), "k:\n  - |+\n    x\n\n")
        self.assertEqual(dump({"s": " a\nb"}), 's: " a\\nb"\n')

    def test_dump_quotes_yaml_1_1_ambiguities(self):
        self.assertEqual(
            dump({"a": "yes", "b": "2024-01-31", "c": "12:30", "d": "1_000", "e": "010", "f": "yesterday"}),
            "a: 'yes'\nb: '2024-01-31'\nc: '12:30'\nd: '1_000'\ne: '010'\nf: yesterday\n",
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
        with self.assertRaises(TypeError) as cm:
            dump({"a": {1, 2}})
        self.assertEqual(
            str(cm.exception),
            "Cannot dump {1, 2} of type set: expected dict, list, str, int, float, bool or None",
        )
        for function in (dump, dump_value):
            with self.assertRaises(TypeError) as cm:
                function({1: "a"})
            self.assertEqual(str(cm.exception), "Cannot dump the mapping key 1: keys must be strings")


if __name__ == "__main__":
    unittest.main()
