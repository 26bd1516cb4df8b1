"""Inputs that would grow without bound or nest without end get a typed error at a documented limit.

Each test reproduces a fault that tinyxp had (issue 12, items 5 and 8): a sweep counted
only once made (range(1e308) exhausted memory), interpolation repeated inside
interpolation (the "billion laughs"), and nesting that escaped as RecursionError.
"""
from __future__ import annotations

import copy
import os
import pickle
import unittest

from tinyxp import load_config
from tinyxp.yaml import dump, load
from tinyxp.config.interpolate import MAX_INTERPOLATED_SIZE, resolve_interpolations
from tinyxp.config.command_line import parse_command_line
from tinyxp.config.overrides import DEFAULT_MAX_RUNS, Sweep, expand_sweeps, format_count, parse_override
from tinyxp.config.settings import XP_DEFAULTS, compose_xp, max_runs
from tinyxp.errors import ConfigError, OverrideError, QueryError, YAMLError
from tinyxp.read.query import compile_query, parse

from .support import run_script, temp_dir, write_files, write_project

DEEP = "Cannot nest collections more than 100 levels deep"


def expand(*tokens: str, limit: int = DEFAULT_MAX_RUNS) -> list:
    line = parse_command_line([*tokens, "+sweep"])
    return expand_sweeps(line.overrides, multirun=True, max_runs=limit)


class SweepCountTest(unittest.TestCase):
    """Sweeps are counted before a run is made: ranges are lazy, products are arithmetic."""

    def assertRefused(self, tokens: list, message: str, limit: int = DEFAULT_MAX_RUNS) -> None:
        with self.assertRaises(OverrideError) as caught:
            expand(*tokens, limit=limit)
        self.assertEqual(str(caught.exception), message)

    def test_huge_ranges_are_refused_at_once(self):
        self.assertRefused(["seed=range(1e308)"], "Cannot expand a sweep of about 10^308 runs, more than xp.max_runs=100000: "
                           "'seed=range(1e308)' has about 10^308 values (set xp.max_runs to allow more)")
        self.assertRefused(["seed=range(30000000)"], "Cannot expand a sweep of 30000000 runs, more than xp.max_runs=100000: "
                           "'seed=range(30000000)' has 30000000 values (set xp.max_runs to allow more)")
        self.assertRefused(["x=range(0, 1, 1e-300)"], "Cannot expand a sweep of about 10^300 runs, more than xp.max_runs=100000: "
                           "'x=range(0, 1, 1e-300)' has about 10^300 values (set xp.max_runs to allow more)")

    def test_the_product_is_counted_and_each_key_named(self):
        self.assertRefused(["a=range(1000)", "b=1,2,3"],
                           "Cannot expand a sweep of 3000 runs, more than xp.max_runs=2999: 'a=range(1000)' has 1000 values, "
                           "'b=1,2,3' has 3 values (set xp.max_runs to allow more)", limit=2999)
        self.assertEqual(len(expand("a=range(1000)", "b=1,2,3", limit=3000)), 3000)
        tokens = [f"k{i}=range(1e308)" for i in range(15)]  # 4,620 digits: more than str() takes
        with self.assertRaises(OverrideError) as caught:
            expand(*tokens)
        self.assertIn("Cannot expand a sweep of about 10^4620 runs", str(caught.exception))

    def test_the_limit_comes_before_the_plus_sweep_question(self):
        line = parse_command_line(["seed=range(1e308)"])
        with self.assertRaisesRegex(OverrideError, "^Cannot expand a sweep of about 10"):
            expand_sweeps(line.overrides, multirun=False)

    def test_non_finite_range_arguments(self):
        for token, bad in (("x=range(inf)", "inf"), ("x=range(0, .inf)", ".inf"), ("x=range(0, 1, .nan)", ".nan"), ("x=range(-.inf, 0)", "-.inf")):
            with self.subTest(token=token):
                with self.assertRaises(OverrideError) as caught:
                    parse_override(token)
                self.assertEqual(caught.exception.message, f"Expected a finite number as argument of range(), got {bad!r}")

    def test_format_count(self):
        self.assertEqual(format_count(999_999_999_999_999), "999999999999999")
        self.assertEqual(format_count(10**15), "about 10^15")
        self.assertEqual(format_count(10**5000), "about 10^5000")


class RangeTest(unittest.TestCase):
    """A range's values, made one at a time, are those the eager list had."""

    def test_values_equality_and_size(self):
        values = parse_override("x=range(10, 0, -3)").value.values
        self.assertEqual((values.size, len(values), list(values)), (4, 4, [10, 7, 4, 1]))
        self.assertEqual(values, (10, 7, 4, 1))
        self.assertEqual(values, [10, 7, 4, 1])
        self.assertNotEqual(values, (10, 7, 4))
        self.assertNotEqual(values, "10, 7")
        self.assertEqual(values, parse_override("y=range(10,0,-3)").value.values)
        self.assertEqual(parse_override("x=range(0.1, 0.4, 0.1)").value, Sweep((0.1, 0.2, 0.3)))
        self.assertEqual(hash(values), hash((10, 7, 4, 1)))
        self.assertEqual(repr(values), "range(10, 0, -3)")
        self.assertEqual(values[3], 1)
        for index in (4, -1):
            with self.assertRaises(IndexError):
                values[index]

    def test_huge_range_has_a_size_but_no_len(self):
        sweep = parse_override("x=range(100000000000000000000)").value
        self.assertEqual(sweep.size, 10**20)
        self.assertEqual(sweep.values[10**19], 10**19)
        with self.assertRaises(OverflowError):
            len(sweep.values)
        self.assertEqual(Sweep((1, 2)).size, 2)

    def test_copy_and_pickle(self):
        sweep = parse_override("x=range(0, 1, 0.25)").value
        self.assertEqual(pickle.loads(pickle.dumps(sweep)), sweep)
        self.assertEqual(copy.deepcopy(sweep).values, (0.0, 0.25, 0.5, 0.75))


class MaxRunsSettingTest(unittest.TestCase):
    def setUp(self):
        self.folder = temp_dir(self)
        write_files(self.folder, {"config.yaml": "seed: 0\nlr: 0.1\n"})

    def test_default_and_overrides(self):
        self.assertEqual(XP_DEFAULTS["max_runs"], 100_000)
        overrides = parse_command_line(["seed=range(10)"]).overrides
        self.assertEqual(max_runs(self.folder, overrides), 100_000)
        overrides = parse_command_line(["seed=range(10)", "xp.max_runs=5"]).overrides
        self.assertEqual(max_runs(self.folder, overrides), 5)
        write_files(self.folder, {"tinyxp.yaml": "max_runs: 7\n"})
        self.assertEqual(max_runs(self.folder, parse_command_line(["seed=1,2"]).overrides), 7)
        self.assertEqual(max_runs(self.folder, parse_command_line(["seed=1"]).overrides), DEFAULT_MAX_RUNS)  # nothing swept

    def test_invalid_values(self):
        for token in ("xp.max_runs=0", "xp.max_runs=1.5", "xp.max_runs=true", "xp.max_runs=many"):
            with self.subTest(token=token):
                with self.assertRaisesRegex(OverrideError, "for the tinyxp setting 'max_runs': expected a positive integer"):
                    compose_xp(self.folder, parse_command_line([token]).overrides)

    def test_launch_refuses_a_huge_sweep_at_once(self):
        root = temp_dir(self)
        script = write_project(root)
        for args, message in (
            (["+sweep", "seed=range(1e308)"], "about 10^308 runs, more than xp.max_runs=100000: 'seed=range(1e308)' has about 10^308 values"),
            (["+sweep", "seed=range(3)", "lr=1,2", "xp.max_runs=5"], "6 runs, more than xp.max_runs=5"),
        ):
            with self.subTest(args=args):
                result = run_script(script, args, timeout=60)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(f"error: Cannot expand a sweep of {message}", result.stderr)
                self.assertFalse(os.path.exists(os.path.join(root, "logs")))


class InterpolationSizeTest(unittest.TestCase):
    """References repeated inside references (the billion laughs) stop at MAX_INTERPOLATED_SIZE."""

    def laughs(self, whole: bool) -> dict:
        config: dict = {"l0": ["lol"] if whole else "lol"}
        for level in range(1, 9):
            refs = [f"${{l{level - 1}}}" for _ in range(10)]
            config[f"l{level}"] = refs if whole else "".join(refs)
        return config

    def test_strings_ten_wide_eight_deep(self):
        with self.assertRaises(ConfigError) as caught:
            resolve_interpolations(self.laughs(whole=False))
        self.assertEqual(
            str(caught.exception),
            f"Cannot resolve {'${l5}' * 10!r} in 'l6': interpolation would make more than 1,000,000 characters "
            "(references repeated inside references?)",
        )

    def test_lists_ten_wide_eight_deep(self):
        with self.assertRaisesRegex(ConfigError, "interpolation would make more than 1,000,000 characters"):
            resolve_interpolations(self.laughs(whole=True))

    def test_a_1_kb_config_file(self):
        folder = temp_dir(self)
        text = "".join(f"l{level}: \"{f'${{l{level - 1}}}' * 10}\"\n" if level else "l0: lol\n" for level in range(9))
        self.assertLess(len(text), 1024)
        write_files(folder, {"config.yaml": text})
        with self.assertRaisesRegex(ConfigError, "more than 1,000,000 characters"):
            load_config(folder)

    def test_below_the_limit(self):
        config = {"a": "x" * (MAX_INTERPOLATED_SIZE // 4), "b": "${a}${a}", "c": ["${a}"]}
        resolved = resolve_interpolations(config)
        self.assertEqual((len(resolved["b"]), resolved["c"]), (MAX_INTERPOLATED_SIZE // 2, [config["a"]]))
        self.assertEqual(resolve_interpolations({"a": {"k": "v", "l": [1, "ab"]}, "b": "${a}"})["b"], {"k": "v", "l": [1, "ab"]})


class NestingTest(unittest.TestCase):
    """Nesting is an error at 101 levels in configs, overrides, interpolation and queries."""

    def config(self, name: str, text: str) -> str:
        folder = temp_dir(self)
        write_files(folder, {name: text})
        return folder

    def test_yaml_and_json_configs(self):
        for depth in (101, 250, 500):
            with self.subTest(depth=depth):
                yaml_text = "".join("  " * i + f"k{i}:\n" for i in range(depth - 1)) + "  " * (depth - 1) + "v: 1\n"
                with self.assertRaises(YAMLError) as caught:
                    load_config(self.config("config.yaml", yaml_text))
                self.assertIn(f"config.yaml:101:201: {DEEP}", str(caught.exception))
                json_text = '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
                with self.assertRaises(ConfigError) as caught:
                    load_config(self.config("config.json", json_text))
                self.assertIn(f"config.json:1:106: {DEEP}", str(caught.exception))
        self.assertEqual(load_config(self.config("config.json", '{"a": ' + "[" * 99 + "]" * 99 + ', "s": "[[{"}'))["s"], "[[{")

    def test_override_values_and_keys(self):
        for depth in (101, 250, 400):
            with self.subTest(depth=depth):
                with self.assertRaises(OverrideError) as caught:
                    parse_override("+x=" + "[" * depth + "]" * depth)
                self.assertIn(DEEP, str(caught.exception))
        self.assertEqual(parse_override("+x=" + "[" * 99 + "]" * 99).key, "x")
        key = ".".join(["k"] * 100)
        self.assertEqual(parse_override(f"+{key}=1").key, key)
        with self.assertRaises(OverrideError) as caught:
            parse_override(f"+{key}.k=1")
        self.assertTrue(str(caught.exception).startswith("Cannot nest a value more than 100 levels deep: the key"))
        with self.assertRaisesRegex(OverrideError, "its value nest 101 deep"):
            parse_override("+a.b=" + "{x: " * 99 + "1" + "}" * 99)
        with self.assertRaisesRegex(OverrideError, "its value nest 101 deep"):
            parse_override("+a.b=1,[" + "[" * 98 + "]" * 99)
        self.assertEqual(parse_override("+a=range(3)").value.size, 3)

    def test_interpolation_chains_and_depth(self):
        chain = {f"k{i}": f"${{k{i + 1}}}" for i in range(101)}
        chain["k101"] = 1
        with self.assertRaisesRegex(ConfigError, "more than 100 references, each to the next"):
            resolve_interpolations(chain)
        del chain["k0"]
        self.assertEqual(resolve_interpolations(chain)["k1"], 1)
        deep: dict = {"a": 1}
        for i in range(1, 120):
            deep[f"k{i}"] = {"x": f"${{k{i - 1}}}" if i > 1 else "${a}"}
        with self.assertRaisesRegex(ConfigError, "the value would nest more than 100 levels deep"):
            resolve_interpolations(deep)

    def test_queries(self):
        fields = {"config.a": "int"}
        for depth in (101, 500, 5000):
            for query in ("(" * depth + "config.a == 1" + ")" * depth, "not " * depth + "config.a == 1",
                          "config.a in " + "[" * depth + "1" + "]" * depth):
                with self.subTest(depth=depth, query=query[:8]):
                    with self.assertRaises(QueryError) as caught:
                        parse(query)
                    self.assertTrue(str(caught.exception).startswith("Cannot nest a query more than 100 levels deep\n"))
        predicate = compile_query("(" * 50 + "not " * 49 + "config.a == 1" + ")" * 50, fields)
        self.assertTrue(predicate({"config.a": 2}, lambda *_: None))
        with self.assertRaises(QueryError) as caught:
            parse("config.a == " + "7" * 1001)
        self.assertEqual(str(caught.exception).split("\n")[0], "Invalid integer: more than 1000 digits")
        self.assertEqual(parse("config.a == " + "7" * 1000).literal, int("7" * 1000))

    def test_a_long_number_is_read_in_linear_time(self):
        """The NUMBER pattern read each digit two ways: 8,000 digits took 5 s, 100,000 forever (found by tests/bench/fuzz.py)."""
        for text in ("7" * 100_000 + "x", "1e" + "7" * 100_000 + "x", "7" * 100_000 + ".5x"):
            with self.subTest(text=text[-3:]):
                with self.assertRaises(QueryError):
                    parse(f"config.a == {text}")

    def test_at_the_limit_nothing_overflows_the_stack(self):
        """100 levels from a file, an override and interpolation compose, resolve and dump."""
        text = "".join("  " * i + f"k{i}:\n" for i in range(98)) + "  " * 98 + "v: [1]\nr: ${k0}\n"
        config = load_config(self.config("config.yaml", text), ["+" + ".".join(["z"] * 100) + "=1"]).to_dict()
        self.assertEqual(config["r"], config["k0"])
        self.assertEqual(load(dump(config)), config)

if __name__ == "__main__":
    unittest.main()
