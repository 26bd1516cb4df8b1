"""Tests of tinyxp.instantiate and tinyxp.call: _target_, _args_, _partial_, _recursive_, _convert_, errors."""
from __future__ import annotations

import functools
import os
import sys
import unittest

import tinyxp
from tinyxp import ConfigError
from tinyxp.config.compose import Config
from tinyxp.config.instantiate import instantiate, locate

from .support import run_script, task_script, temp_dir, write_files

HERE = __name__  # the targets below, as a config names them


class Point:
    def __init__(self, x, y=0, *rest, **extra):
        self.x, self.y, self.rest, self.extra = x, y, rest, extra


def fails_inside(x):
    raise ValueError(f"bad x {x}")


class InstantiateTest(unittest.TestCase):
    def test_keywords_and_nested_targets(self):
        point = instantiate({"_target_": f"{HERE}.Point", "x": 1, "y": {"_target_": f"{HERE}.Point", "x": 2}})
        self.assertIsInstance(point, Point)
        self.assertEqual((point.x, point.y.x, point.y.y), (1, 2, 0))

    def test_targets_inside_lists_and_plain_mappings(self):
        built = instantiate({"layers": [{"_target_": f"{HERE}.Point", "x": i} for i in range(2)], "n": 3})
        self.assertEqual([p.x for p in built["layers"]], [0, 1])
        self.assertEqual(built["n"], 3)
        self.assertEqual([p.x for p in instantiate([{"_target_": f"{HERE}.Point", "x": 5}])], [5])

    def test_args_from_the_config_and_from_the_call(self):
        point = instantiate({"_target_": f"{HERE}.Point", "_args_": [1, 2, 3]})
        self.assertEqual((point.x, point.y, point.rest), (1, 2, (3,)))
        point = instantiate({"_target_": f"{HERE}.Point", "_args_": [1, 2, 3]}, 7)
        self.assertEqual((point.x, point.y, point.rest), (7, 0, ()))
        point = instantiate({"_target_": f"{HERE}.Point"}, 4, y=5)
        self.assertEqual((point.x, point.y), (4, 5))
        self.assertEqual(tinyxp.call({"_target_": "builtins.max", "_args_": [3, 9, 4]}), 9)

    def test_kwargs_replace_config_keys(self):
        point = instantiate({"_target_": f"{HERE}.Point", "x": 1}, x=[1, 2])
        self.assertEqual(point.x, [1, 2])

    def test_partial(self):
        made = instantiate({"_target_": f"{HERE}.Point", "_partial_": True, "y": 3})
        self.assertIsInstance(made, functools.partial)
        self.assertEqual((made(1).x, made(1).y), (1, 3))
        nested = instantiate({"_target_": f"{HERE}.Point", "x": {"_target_": f"{HERE}.Point", "_partial_": True}})
        self.assertIsInstance(nested.x, functools.partial)

    def test_not_recursive_passes_the_nested_config(self):
        inner = {"_target_": f"{HERE}.Point", "x": 1}
        point = instantiate({"_target_": f"{HERE}.Point", "_recursive_": False, "x": inner})
        self.assertIsInstance(point.x, Config)
        self.assertEqual(point.x, inner)
        point = instantiate({"_target_": f"{HERE}.Point", "x": [inner], "y": {"a": [inner]}}, _recursive_=False, _convert_="all")
        self.assertIs(type(point.x[0]), dict)
        self.assertEqual(point.y, {"a": [inner]})
        # a child may turn recursion back on for its own subtree
        point = instantiate({"_target_": f"{HERE}.Point", "_recursive_": False,
                             "x": {"a": {"_target_": f"{HERE}.Point", "x": 1}}})
        self.assertEqual(point.x.a, {"_target_": f"{HERE}.Point", "x": 1})

    def test_convert(self):
        point = instantiate({"_target_": f"{HERE}.Point", "x": {"a": [{"b": 1}]}})
        self.assertIsInstance(point.x, Config)
        self.assertIsInstance(point.x.a[0], Config)
        for mode in ("all", "partial", "object"):
            point = instantiate({"_target_": f"{HERE}.Point", "_convert_": mode, "x": {"a": [{"b": 1}]}})
            self.assertIs(type(point.x), dict)
            self.assertIs(type(point.x["a"][0]), dict)
        # a child's _convert_ wins for its subtree
        point = instantiate({"_target_": f"{HERE}.Point", "_convert_": "all",
                             "x": {"_target_": f"{HERE}.Point", "_convert_": "none", "x": {"a": 1}}})
        self.assertIsInstance(point.x.x, Config)

    def test_none_and_a_config_from_a_composed_tree(self):
        self.assertIsNone(instantiate(None))
        config = Config({"model": {"_target_": f"{HERE}.Point", "x": 1}})
        self.assertEqual(instantiate(config.model).x, 1)
        self.assertEqual(instantiate({"a": 1}), {"a": 1})
        self.assertEqual(instantiate({"a": {"b": 1}}, _convert_="all"), {"a": {"b": 1}})
        self.assertIs(type(instantiate({"a": {"b": 1}}, _convert_="all")["a"]), dict)

    def test_locate(self):
        self.assertIs(locate("os.path.join"), os.path.join)
        self.assertIs(locate(len), len)
        self.assertIs(locate(f"{HERE}.Point"), Point)

    def test_exception_inside_the_target_goes_through(self):
        with self.assertRaises(ValueError) as caught:
            instantiate({"_target_": f"{HERE}.fails_inside", "x": 1})
        self.assertEqual(str(caught.exception), "bad x 1")


class InstantiateErrorTest(unittest.TestCase):
    """Each bad input: a ConfigError naming the key, the target and the reason."""

    CASES = [
        ({"m": {"_target_": "no_such_module_xyz.Model"}},
         "Cannot import the target 'no_such_module_xyz.Model' of 'm': ModuleNotFoundError: No module named 'no_such_module_xyz'"),
        ({"m": {"_target_": "os.path.nope"}}, "Cannot import the target 'os.path.nope' of 'm': 'os.path' has no attribute 'nope'"),
        ({"m": {"_target_": "os.nope.x"}}, "Cannot import the target 'os.nope.x' of 'm': 'os' has no attribute 'nope'"),
        ({"m": {"a": [{"_target_": "os.sep"}]}}, "Cannot call the target 'os.sep' of 'm.a.0': it is a str"),
        ({"_target_": f"{HERE}.Point", "z": 1, "_args_": []},
         "Cannot call the target 'tests.test_instantiate.Point' of the top of the config: TypeError: "
         "__init__() missing 1 required positional argument: 'x'"),
        ({"m": {"_target_": "os..path"}},
         "Invalid _target_ 'os..path' at 'm': expected a dotted path such as 'collections.OrderedDict'"),
        ({"m": {"_target_": 3}}, "Invalid _target_ 3 at 'm': expected a dotted path such as 'collections.OrderedDict'"),
        ({"_target_": "builtins.dict", "_partial_": "yes"}, "Invalid _partial_ 'yes' at the top of the config: expected true or false"),
        ({"_target_": "builtins.dict", "_recursive_": 1}, "Invalid _recursive_ 1 at the top of the config: expected true or false"),
        ({"_target_": "builtins.dict", "_convert_": "some"},
         "Invalid _convert_ 'some' at the top of the config: expected one of none, partial, object, all"),
        ({"_target_": "builtins.dict", "_args_": 3}, "Invalid _args_ at the top of the config: expected a list, got a int"),
    ]

    def test_messages(self):
        for config, message in self.CASES:
            with self.subTest(config=config):
                with self.assertRaises(ConfigError) as caught:
                    instantiate(config)
                text = str(caught.exception).replace("Point.__init__()", "__init__()")  # 3.10+ qualifies the name
                self.assertEqual(text, message)

    def test_a_module_that_imports_something_missing(self):
        folder = temp_dir(self)
        write_files(folder, {"brokenmod_xyz.py": "import missing_dependency_xyz\n"})
        sys.path.insert(0, folder)
        try:
            with self.assertRaises(ConfigError) as caught:
                instantiate({"net": {"_target_": "brokenmod_xyz.Net"}})
            with self.assertRaises(ConfigError) as nested:
                instantiate({"net": {"_target_": "tests.brokenmod_xyz"}})
        finally:
            sys.path.remove(folder)
        self.assertEqual(str(caught.exception), "Cannot import the target 'brokenmod_xyz.Net' of 'net': "
                         "ModuleNotFoundError: No module named 'missing_dependency_xyz'")
        self.assertIn("'tests' has no attribute 'brokenmod_xyz'", str(nested.exception))

    def test_a_module_that_fails_to_import(self):
        folder = temp_dir(self)
        write_files(folder, {"pkg_xyz/__init__.py": "", "pkg_xyz/bad.py": "from os import nothing_here\n",
                             "bad_top_xyz.py": "from os import nothing_here\n",
                             "pkg_xyz/needs.py": "import missing_dependency_xyz\n"})
        sys.path.insert(0, folder)
        try:
            for target in ("pkg_xyz.bad.Net", "pkg_xyz.bad", "bad_top_xyz.f"):
                with self.subTest(target=target), self.assertRaises(ConfigError) as caught:
                    instantiate({"_target_": target})
                self.assertIn(f"Cannot import the target {target!r} of the top of the config: ImportError: cannot import name",
                              str(caught.exception))
            with self.assertRaises(ConfigError) as caught:
                instantiate({"_target_": "pkg_xyz.needs.Net"})
            self.assertIn("ModuleNotFoundError: No module named 'missing_dependency_xyz'", str(caught.exception))
        finally:
            sys.path.remove(folder)

    def test_wrong_inputs(self):
        with self.assertRaises(ConfigError) as caught:
            instantiate(3)
        self.assertEqual(str(caught.exception), "Cannot instantiate a int: expected a mapping with '_target_' or a list")
        with self.assertRaises(ConfigError) as caught:
            instantiate(Config({"m": {"a": 1}}).m, 1)
        self.assertEqual(str(caught.exception), "Cannot pass positional arguments to instantiate(): 'm' has no '_target_'")
        with self.assertRaises(ConfigError) as caught:
            instantiate([{"_target_": "builtins.dict"}], 1)
        self.assertIn("Cannot pass arguments to instantiate() with a list", str(caught.exception))


class LaunchTest(unittest.TestCase):
    def test_nothing_imported_at_launch_and_a_bad_target_exits_2(self):
        body = (
            "import sys\n"
            "assert 'tinyxp.config.instantiate' not in sys.modules\n"
            "if ctx.config.build:\n"
            "    tinyxp.instantiate(ctx.config.model)\n"
        )
        folder = temp_dir(self)
        write_files(folder, {
            "train.py": task_script(body, 'config_path="configs"'),
            "configs/config.yaml": "build: false\nmodel:\n  _target_: nowhere_xyz.Net\n  width: 3\n",
        })
        script = os.path.join(folder, "train.py")
        ok = run_script(script, ["xp.logging=false"])
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = run_script(script, ["build=true", "xp.logging=false"])
        self.assertEqual(bad.returncode, 2)
        self.assertIn("error: train.py:", bad.stderr)
        self.assertIn("Cannot import the target 'nowhere_xyz.Net' of 'model': ModuleNotFoundError", bad.stderr)
        self.assertNotIn("Traceback", bad.stderr)


if __name__ == "__main__":
    unittest.main()
