"""A few thousand seeded random inputs through YAML, the override grammar and the query language.

Only tinyxp's typed errors may come out (issue 12): tests/bench/fuzz.py builds the
inputs, and runs them as long as asked (`python -m tests.bench.fuzz --seconds 600`).
"""
from __future__ import annotations

import unittest

from .bench import fuzz

SEED = 12  # fixed, so that CI runs the same inputs every time
INPUTS = 6000


class FuzzTest(unittest.TestCase):
    def test_only_typed_errors(self) -> None:
        tried, faults = fuzz.fuzz(SEED, count=INPUTS)
        self.assertGreaterEqual(tried, INPUTS)
        self.assertEqual(faults, [], f"{len(faults)} of {tried} inputs raised something else than a TinyxpError:\n" + "\n".join(faults[:5]))

    def test_the_inputs_reach_the_limits(self) -> None:
        """The generators make what the faults needed: deep nesting, huge ranges and numbers."""
        import random

        rng = random.Random(SEED)
        shown = [case[2] for _ in range(300) for case in fuzz.cases(rng)]
        for needle in ("[" * 101, "(" * 101, "range(", "9" * 4400, "k." * 100):
            with self.subTest(needle=needle[:12]):
                self.assertTrue(any(needle in text for text in shown))


if __name__ == "__main__":
    unittest.main()
