"""load_fast, the fast path of load for what dump() writes, against the general parser.

The property: for every text, load_fast gives NOT_FAST or exactly what parse_document
gives (values and types), and NOT_FAST whenever parse_document raises, so that load
still gives the general parser's error.
"""
from __future__ import annotations

import random
import unittest
from unittest import mock

from tinyxp.errors import YAMLError
from tinyxp.yaml import MAX_NESTING, NOT_FAST, _fast, dump, load, load_fast, parse_document

from .test_yaml import fixtures, random_value, same

# Scalars as run metadata holds them, and strings that read back as something else
SCALARS = [
    "a", "b c", "a:b", "a#b", "x=y", "/p/q", "cd /w && python t.py a=1", "é", "名前", "-3", "1.5",
    "1e-3", "1e3", "0x1f", "0x10", "0o17", "-.5", ".inf", "-.inf", ".nan", "10.", "~", "True", "FALSE",
    "null", "yes", "no", "on", "2026-01-01", "2026-11-26T06:51:01.123456+00:00", "12:30", "it's",
    'say "hi"', "back\\slash", "tab\tx", "a: b", "a #b", " lead", "trail ", "line1\nline2", "-", "- x",
    "?", "? x", ":x", "-x", "?x", "[]", "{}", "[1]", "&a", "*a", "!t", "%p", "@", "`", "|", ">",
    "---", "...", "--- x", "... x", "\x85", "\xa0", "\u2028", "\x0b", "\x00",
    "x\n", "a\n\nb\n", "Traceback:\n  line 1\nError: boom", "\n\nlead", "tail\n\n\n", "a\n  b\n c", "k: |\n  v",
    1, -7, 0, 10**30, 0.25, 1e-7, 1e16, -0.0, float("inf"), float("-inf"), float("nan"),
    True, False, None, {}, [],
]
KEYS = ["a", "k.e-y", "x_1", "name", "lr", "é", "a b", "a:b", "-x", "?x", "1", "null", "true", "", " k",
        "k ", "a: b", "a #b", "#a", "'q'", "--- x", "... x", "...", "\xa0k", "a:\xa0b", "a\xa0#b"]
# What is inserted into dumped texts: each makes a line mean something else, or nothing
EDITS = [" ", "  ", "- ", ":", ": ", "#", " #c", "\n", "\t", "'", '"', "\\", "[", "{", "{}", "[]",
         "-", "? ", "&a", "\n  ", "|", "|-\n  ", "---", "...", "\xa0", "\x0b", "\u2028", "~", "1"]


def random_metadata(rng: random.Random, depth: int = 0):
    """A nested value of SCALARS under KEYS: mostly the shape of run metadata."""
    kind = rng.random()
    if depth < 5 and kind < 0.3:
        return {rng.choice(KEYS) + str(rng.randrange(3)): random_metadata(rng, depth + 1) for _ in range(rng.randrange(5))}
    if depth < 5 and kind < 0.5:
        return [random_metadata(rng, depth + 1) for _ in range(rng.randrange(4))]
    return rng.choice(SCALARS)


def edited(rng: random.Random, text: str) -> str:
    """text with one or two characters removed or EDITS inserted."""
    chars = list(text)
    for _ in range(rng.randint(1, 2)):
        at = rng.randrange(len(chars) + 1)
        if rng.random() < 0.3 and at < len(chars):
            del chars[at]
        else:
            chars.insert(at, rng.choice(EDITS))
    return "".join(chars)


class FastPathTest(unittest.TestCase):
    def assert_agrees(self, text: str) -> bool:
        """load_fast gives NOT_FAST or what parse_document gives, with its lines read
        afresh and again from LINES; returns whether it read text."""
        _fast.LINES.clear()
        fast = load_fast(text)
        again = load_fast(text)
        try:
            full = parse_document(text)
        except YAMLError:
            self.assertIs(fast, NOT_FAST, text)
            self.assertIs(again, NOT_FAST, text)
            return False
        self.assertTrue(fast is NOT_FAST or same(fast, full), (text, fast, full))
        self.assertTrue(again is fast or same(again, full), (text, again, full))
        return fast is not NOT_FAST

    def test_fixtures(self):
        for name, text, _ in [*fixtures("valid", ".json"), *fixtures("invalid", ".err")]:
            with self.subTest(name=name):
                self.assert_agrees(text.replace("\r\n", "\n"))

    def test_dumped_values_and_their_edits(self):
        taken = edits_taken = 0
        for seed in range(1500):
            rng = random.Random(seed)
            value = {"k": random_metadata(rng) if seed % 2 else random_value(rng)}
            text = dump(value)
            with self.subTest(seed=seed, text=text):
                taken += self.assert_agrees(text)
                for _ in range(4):
                    edits_taken += self.assert_agrees(edited(rng, text))
                lines = text.split("\n")
                for edit in (lambda line: "  " + line, lambda line: "- " + line, lambda line: line[1:]):
                    at = rng.randrange(len(lines))
                    self.assert_agrees("\n".join([*lines[:at], edit(lines[at]), *lines[at + 1 :]]))
        # the fast path read most documents and many edited ones, not only refused them
        self.assertGreater(taken, 1000)
        self.assertGreater(edits_taken, 1000)

    def test_random_lines(self):
        """Documents made of random lines of the shapes the fast path reads, at random
        columns: the nesting, the items that open collections, what ends them."""
        values = ["x", "1", "1.5", "true", "null", "'a'", "'a: b'", '"b\\tc"', "{}", "[]", "-", "-1", "a: b",
                  "'", "x:", "|", "|-", "|+", "[1]", "é", "~", "", "x #y", "'x #y'", "# c"]
        taken = 0
        for seed in range(6000):
            rng = random.Random(seed)
            lines = []
            for _ in range(rng.randint(1, 7)):
                key = rng.choice(["a", "b", "a b", "1", "-x", "?"])
                body = rng.choice([f"{key}: {rng.choice(values)}", f"{key}:", rng.choice(values)])
                lines.append(" " * rng.choice([0, 0, 1, 2, 2, 4, 6]) + rng.choice(["", "", "- ", "- - "]) + body)
            text = "\n".join(lines) + "\n"
            with self.subTest(text=text):
                taken += self.assert_agrees(text)
        self.assertGreater(taken, 300)

    def test_run_metadata_takes_the_fast_path(self):
        info = {
            "run_id": 7, "status": "COMPLETE", "start_time": "2026-11-26T06:51:01.123456+00:00",
            "duration_s": 12.5, "python": {"executable": "/usr/bin/python3", "version": "3.11.7"},
            "argv": ["train.py", "optimizer.lr=0.01", "seed=2", "notes=a: b"],
            "command": "cd /work && python train.py 'a b' \"c\"", "error": None, "tags": {},
            "git": {"commit": "0123abcd", "dirty": False, "changed": []},
            "choices": {"model": "mlp", "optimizer/adam": "default"},
            "launches": [
                {"time": "2026-11-26T06:51:01+00:00", "argv": ["train.py"], "changed": {}, "job_id": None},
                {"time": "2026-11-27T06:51:01+00:00", "changed": {"lr": [0.1, 0.01]}, "outcome": "COMPLETE"},
            ],
            "layers": [{"size": 64, "act": "relu"}, {"size": 32}], "grid": [[1, 2], [3, [4, {"k": 5}]]],
            "limits": [1.5e-7, -0.0, float("inf"), 10**30, True, None, "0x10", "1e3", "yes", ".inf"],
        }
        for _ in range(2):  # the lines read, then the lines known
            value = load_fast(dump(info))
            self.assertIsNot(value, NOT_FAST)
            self.assertTrue(same(value, info))

    def test_hand_written_documents_are_left_to_the_general_parser(self):
        for text in [
            "a: 1 # comment\n", "# top\na: 1\n", "a: [1, 2]\n", "a: {b: 1}\n", "a: >\n  x\n", "a: |2\n  x\n",
            "a: b\n  c\n", "a:\n- x\n", "a:\n", "a:\nb: 1\n", "a: 1\na: 2\n", "a:\n  b: 1\na: 2\n",
            "'1': a\n", "a: 1", "", "\n", "x\n", "1\n", "---\na: 1\n", "a: 1\n...\n", "a:  b\n",
            "a : b\n", "a:\tb\n", "\ta: 1\n", "a: 1\r\n", "a: b \n", "a: b:\n", "a: b: c\n",
            "a: - x\n", "a: -\n", "a: 'x\n", "a: 'x' y\n", 'a: "x\n', 'a: "\\q"\n', "a: &x 1\n",
            "a: *x\n", "a: !t 1\n", "a: ? x\n", "- a\n  b: 1\n", "a: 1\n- b\n", "- a\nb: 1\n",
            "a:\n  b: 1\n c: 2\n", "a:\n  b: 1\n    c: 2\n", "- \n", "- - \n", "-\n", "a:\n\n  b: 1\n",
            "   \n", "--- a: 1\n", "... a: 1\n", "%YAML 1.2\n", "\xa0a: 1\n", "a:\xa0b: 1\n",
            "a: " + "1" * 1001 + "\n",
        ]:
            with self.subTest(text=text):
                self.assertIs(load_fast(text), NOT_FAST)

    def test_plain_keys_that_are_not_identifiers(self):
        for text, value in [
            ("a b: 1\n", {"a b": 1}), ("a:b: 1\n", {"a:b": 1}), ("k.e-y: x\n", {"k.e-y": "x"}),
            ("-x: 1\n", {"-x": 1}), ("?x: 1\n", {"?x": 1}), ("1: a\n", {"1": "a"}), ("a#b: c\n", {"a#b": "c"}),
        ]:
            with self.subTest(text=text):
                self.assertEqual(load_fast(text), value)
                self.assertTrue(self.assert_agrees(text))
        for text in ["a\xa0#b: 1\n", "a:\x0bb: 1\n", "a:\xa0#b: 1\n", "'a': 1\n", "a : 1\n", "...x: 1\n"]:
            with self.subTest(text=text):
                self.assertIs(load_fast(text), NOT_FAST)
                self.assert_agrees(text)

    def test_comments_and_what_only_looks_like_one(self):
        for text, value in [
            ("a: 'x #y'\n", {"a": "x #y"}), ("- \"x #y\"\n", ["x #y"]), ("a#b: c#d\n", {"a#b": "c#d"}),
            ("- k: 'issue #12'\n", [{"k": "issue #12"}]),
        ]:
            with self.subTest(text=text):
                self.assertEqual(load_fast(text), value)
                self.assertTrue(self.assert_agrees(text))
        for text in ["a: x #y\n", "- x #y\n", "a: 1 #y\n", "- k: v #c\n", "a: 'x' # c\n", "a: # c\n", "# c\na: 1\n",
                     "a: 1\n  # c\n", "a:\n  # c\n  b: 1\n", "a: b\n# c\n"]:
            with self.subTest(text=text):
                self.assertIs(load_fast(text), NOT_FAST)
                self.assert_agrees(text)

    def test_literal_block_scalars(self):
        for text, value in [
            ("a: |\n  x\n", {"a": "x\n"}), ("a: |-\n  x\n  y\nb: 1\n", {"a": "x\ny", "b": 1}),
            ("a: |+\n  x\n\n\nb: 1\n", {"a": "x\n\n\n", "b": 1}), ("a: |\n\n  x\n", {"a": "\nx\n"}),
            ("a: |-\nb: 1\n", {"a": "", "b": 1}), ("- |-\n  x\n- y\n", ["x", "y"]),
            ("- - |\n    x\n  - |-\n    \"q\" \\ 'r'\n", [["x\n", "\"q\" \\ 'r'"]]),
            ("- k: |-\n    x\n\n    y\n  j: |\n    z\n", [{"k": "x\n\ny", "j": "z\n"}]),
            ("a: |\n  x\n  b: |\n  c\n", {"a": "x\nb: |\nc\n"}), ("a: x |\n", {"a": "x |"}),
            ("a: |\n  x\n   \n", {"a": "x\n \n"}), ("a: |\n  x # y\n", {"a": "x # y\n"}),
        ]:
            with self.subTest(text=text):
                self.assertEqual(load_fast(text), value)
                self.assertTrue(self.assert_agrees(text))
        for text in ["a: |\n    x\n  y\n", "a: |-\n    x\n   y\n", "a: |\n  x\n y\n", "|\n x\n", "  |-\n",
                     "a: | # c\n  x\n"]:
            with self.subTest(text=text):
                self.assertIs(load_fast(text), NOT_FAST)
                self.assert_agrees(text)

    def test_unicode_whitespace_in_values_reads_as_the_general_parser_reads_it(self):
        for text in ["a: \xa0x\n", "- \x0bx\n", "- a:\xa0b\n", "a: x\u2028y\n", "- -\xa0\n", "a: \x85\n"]:
            with self.subTest(text=text):
                self.assertTrue(self.assert_agrees(text))

    def test_empty_collections_are_new_each_time(self):
        first = load("a: {}\nb: []\nc:\n  - {}\n  - []\n")
        second = load("a: {}\nb: []\nc:\n  - {}\n  - []\n")
        self.assertEqual(first, {"a": {}, "b": [], "c": [{}, []]})
        first["a"]["x"] = 1
        first["b"].append(1)
        first["c"][0]["x"] = 1
        first["c"][1].append(1)
        self.assertEqual(second, {"a": {}, "b": [], "c": [{}, []]})

    def test_nesting_limit_is_the_general_parsers(self):
        for depth, ok in ((MAX_NESTING, True), (MAX_NESTING + 1, False)):
            for value in (nested_dicts(depth), nested_lists(depth), nested_items(depth)):
                text = dump(value)
                with self.subTest(depth=depth, text=text[:40]):
                    self.assertEqual(self.assert_agrees(text), ok)
                    if not ok:
                        self.assertRaises(YAMLError, load, text)

    def test_long_integers_give_the_general_parsers_error(self):
        text = "a:\n  b: " + "9" * 1001 + "\n"
        self.assertIs(load_fast(text), NOT_FAST)
        with self.assertRaises(YAMLError) as cm:
            load(text, path="info.yaml")
        self.assertEqual(cm.exception.path, "info.yaml")

    def test_lines_start_again_when_full(self):
        with mock.patch.object(_fast, "MAX_LINES", 3):
            _fast.LINES.clear()
            self.assertEqual(load_fast("a: 1\nb: 2\nc: 3\nd: 4\n"), {"a": 1, "b": 2, "c": 3, "d": 4})
            self.assertEqual(list(_fast.LINES), ["d: 4"])

    def test_long_lines_are_not_kept(self):
        _fast.LINES.clear()
        long = "x" * _fast.MAX_LINE_KEPT
        self.assertEqual(load_fast(f"a: {long}\nb: 2\n"), {"a": long, "b": 2})
        self.assertEqual(list(_fast.LINES), ["b: 2"])


def nested_dicts(depth: int):
    value: object = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def nested_lists(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def nested_items(depth: int):
    """Lists of mappings: each line opens collections after its '- '."""
    value: object = 1
    for i in range(depth):
        value = [value, 2] if i % 2 else {"k": value, "j": 2}
    return value


if __name__ == "__main__":
    unittest.main()
