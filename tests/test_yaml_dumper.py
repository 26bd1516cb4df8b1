"""The fast path of tinyxp.yaml.dump gives, byte for byte, what the general dumper gives.

The general dumper decides with the patterns of yaml/_re.py whether a string may be
written plain (can_be_plain); the fast path (is_plain_in_block) decides the common
strings with string methods, and remembers what it wrote (RENDERED). Both are checked
here against the general one on many strings, the tricky ones included, and on whole
documents; and a plain launch compiles no pattern (tests/test_startup.py).
"""
from __future__ import annotations

import random
import subprocess
import sys
import unittest
from unittest import mock

from tinyxp.errors import YAMLError
from tinyxp.run.info import format_time
from tinyxp.yaml import _dumper, dump, load
from tinyxp.yaml._re import RE_BLOCK_SAFE

from .support import run_process, script_env
from .test_yaml import AWKWARD

# Pieces that reach every branch of the patterns: indicators, spaces, numbers, dates,
# YAML 1.1 words, document markers, non-printable and non-ASCII characters.
PIECES = [
    "a", "Z", "_", "/", ".", "=", "+", "-", "0", "1", "9", "e", "E", "x", "b", "o", "y", "n",
    " ", "  ", ":", ": ", " #", "#", "'", '"', "?", ",", "[", "]", "{", "}", "&", "*", "!", "|",
    ">", "%", "@", "`", "<", "\\", "\t", "\n", "\x00", "\xa0", "é", "\u2028", "😀",
    "yes", "No", "ON", "off", "true", "FALSE", "tRuE", "null", "NULL", "~", "<<", ".inf", ".NaN",
    "---", "...", "0x1f", "0o17", "0b101", "1_000", "1e-3", "1.5e+3", "10.", ".5", "12:30",
    "2024-01-31", "T10:20:30", "+00:00", "Z", "3.11.7", "93d3612d", "train.py", "/tmp/logs/1",
]


# Strings that start like a number: run times, versions, config hashes, and their near misses.
NUMBER_LIKE = [
    format_time(0), format_time(1796696505.302826), "2026-12-08T02:04:30.602436-05:30", "2026-12-08T02:04:30.602436+0000",
    "2026-12-08X02:04:30.602436+00:00", "2026-12-08T02:04:30.60243+00:00", "3.11.7", "0.1.0", "1.2", "12", "1_000",
    "93d3612d25270407", "1234567890123456", "12e45", "12E45", "1e2e3", "0b1010", "0b", "0b102", "0x1f", "0o17", "0a",
    ".", ".5", "._5", ".x", "+", "+1", "-.5", "+.inf", "-.inf", ".nan", "+x", "1" * 1001, "1" * 1001 + "x", "12:30", "1:2:3",
]


def general_dump(obj):
    """What dump gives with the general dumper alone: every string decided by the patterns, nothing remembered."""
    with mock.patch.object(_dumper, "is_plain_in_block", lambda text: _dumper.can_be_plain(text, RE_BLOCK_SAFE)), \
            mock.patch.dict(_dumper.RENDERED, clear=True), mock.patch.object(_dumper, "MAX_RENDERED", 0):
        return dump(obj)


def random_strings(rng: random.Random, n: int) -> list:
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(10 if depth < 3 else 6)
    if kind < 3:
        return random_strings(rng, 1)[0]
    if kind == 3:
        return rng.choice([0, -7, 10 ** 20, 1.5, 1e-5, float("inf"), float("nan"), True, False, None])
    if kind == 4:
        return rng.choice(["", "a\nb\n", " x\ny", {}, [], ()])
    if kind == 5:
        return rng.choice(AWKWARD)
    if kind < 8:
        return {rng.choice(random_strings(rng, 1) + AWKWARD): random_value(rng, depth + 1) for _ in range(rng.randint(1, 4))}
    return [random_value(rng, depth + 1) for _ in range(rng.randint(1, 4))]


class PlainStringTest(unittest.TestCase):
    def test_agrees_with_the_patterns(self):
        rng = random.Random(13)
        texts = PIECES + AWKWARD + NUMBER_LIKE + random_strings(rng, 30000)
        for _ in range(3000):  # digits with a few other characters: numbers, dates, hashes, versions
            texts.append("".join(rng.choice("0123456789012345678901234567890abefxo.:+-_eTZ ") for _ in range(rng.randint(1, 10))))
        for text in texts:
            try:
                expected = _dumper.can_be_plain(text, RE_BLOCK_SAFE)
            except YAMLError:  # an integer of more than MAX_NUMBER_DIGITS digits
                with self.assertRaises(YAMLError):
                    _dumper.is_plain_in_block(text)
                continue
            if _dumper.is_plain_in_block(text) != expected:
                self.fail(f"is_plain_in_block({text!r}) differs from the patterns")

    def test_common_strings_import_no_regex(self):
        code = ("import sys; from tinyxp.yaml import dump; "
                "dump({'a': 'train.py', 'b': '/tmp/logs/1', 'c': 'cd /x && python t.py', 'd': 'yes', 'e': 'a: b', "
                "'f': ['é x', ''], 'g': {'h': 1.5, 'i': None, 'j': True}, 'k': './logs', 'l': '2026-12-08T02:04:30.602436+00:00', "
                "'m': '3.11.7', 'n': '93d3612d25270407', 'o': '12345678'}); print('re' in sys.modules)")
        result = run_process([sys.executable, "-S", "-c", code], env=script_env(), stdout=subprocess.PIPE,
                             universal_newlines=True, check=True, timeout=60)
        self.assertEqual(result.stdout.strip(), "False")

    def test_block_safe(self):
        for text, expected in [("a b", True), ("-x", True), ("- x", False), ("-", False), ("?", False), (":x", True),
                               ("a:", False), ("a:b", True), ("a  b", False), ("a #b", False), ("a#b", True),
                               ("---x", False), ("...", False), ("a ", False), (" a", False), ("[a", False)]:
            with self.subTest(text=text):
                self.assertEqual(_dumper.block_safe(text), expected)
                self.assertEqual(_dumper.block_safe(text), RE_BLOCK_SAFE.match(text) is not None)


class FastDumpTest(unittest.TestCase):
    def test_documents_byte_identical_to_the_general_dumper(self):
        rng = random.Random(29)
        for _ in range(1500):
            value = random_value(rng)
            expected = general_dump(value)
            self.assertEqual(dump(value), expected, f"dump({value!r})")
            self.assertEqual(dump(value), expected, f"dump({value!r}), remembered")

    def test_round_trip(self):
        rng = random.Random(31)
        for _ in range(300):
            value = {"k": random_value(rng), "l": [random_value(rng)]}
            text = dump(value)
            self.assertEqual(dump(load(text)), text)

    def test_remembers_short_one_line_strings_only(self):
        with mock.patch.dict(_dumper.RENDERED, clear=True):
            dump({"key": "value", "text": "a\nb", "long": "x" * (_dumper.MAX_RENDERED_LENGTH + 1), "n": "1e3"})
            self.assertEqual(_dumper.RENDERED, {"key": "key", "value": "value", "text": "text", "long": "long",
                                                "n": "n", "1e3": "'1e3'"})

    def test_remembers_at_most_max_rendered(self):
        with mock.patch.dict(_dumper.RENDERED, clear=True), mock.patch.object(_dumper, "MAX_RENDERED", 3):
            self.assertEqual(dump({f"k{i}": "v" for i in range(5)}), "".join(f"k{i}: v\n" for i in range(5)))
            self.assertEqual(len(_dumper.RENDERED), 3)

    def test_keys_with_line_breaks_and_other_types(self):
        self.assertEqual(dump({"a\nb": 1}), '"a\\nb": 1\n')
        with self.assertRaises(TypeError):
            dump({1: "x"})


if __name__ == "__main__":
    unittest.main()
