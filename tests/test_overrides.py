"""Tests of tinyxp.config.overrides and config.apply: the override grammar, sweeps, the command line, applying."""
from __future__ import annotations

import contextlib
import io
import math
import random
import unittest

from tinyxp.errors import OverrideError
from tinyxp.config.command_line import GRAMMAR_HELP, CommandLine, parse_command_line
from tinyxp.config.overrides import (
    Choice,
    Override,
    Sweep,
    expand_sweeps,
    format_setting,
    make_override,
    parse_override,
    setting_tokens,
)
from tinyxp.config.apply import apply_overrides

# token -> (kind, key, value)
VALID = {
    "lr=0.1": ("set", "lr", 0.1),
    "optimizer.lr=1e-3": ("set", "optimizer.lr", 0.001),
    "+data.aug=true": ("add", "data.aug", True),
    "++seed=3": ("force", "seed", 3),
    "~scheduler": ("delete", "scheduler", None),
    "~a.b.c": ("delete", "a.b.c", None),
    "~a.b=1": ("delete", "a.b", 1),
    "~a=": ("delete", "a", None),
    "n=-12": ("set", "n", -12),
    "n=0x1f": ("set", "n", 31),
    "x=.5": ("set", "x", 0.5),
    "x=.inf": ("set", "x", math.inf),
    "flag=False": ("set", "flag", False),
    "x=null": ("set", "x", None),
    "x=~": ("set", "x", None),
    "x=": ("set", "x", None),
    "name=resnet": ("set", "name", "resnet"),
    "name='0.1'": ("set", "name", "0.1"),
    'name="tab\\there"': ("set", "name", "tab\there"),
    "msg=hello world": ("set", "msg", "hello world"),
    "msg=it's": ("set", "msg", "it's"),
    "msg='a,b'": ("set", "msg", "a,b"),
    'msg="a,b"': ("set", "msg", "a,b"),
    "msg=a\\,b": ("set", "msg", "a,b"),
    "msg='it''s'": ("set", "msg", "it's"),
    "path=/data/x=1": ("set", "path", "/data/x=1"),
    "layers=[1, 2, 3]": ("set", "layers", [1, 2, 3]),
    "layers=[]": ("set", "layers", []),
    "opt={lr: 0.1, name: sgd}": ("set", "opt", {"lr": 0.1, "name": "sgd"}),
    "nested=[[1, 2], {a: [3]}]": ("set", "nested", [[1, 2], {"a": [3]}]),
    "my-key_2.x=1": ("set", "my-key_2.x", 1),
    "layers.0=5": ("set", "layers.0", 5),
    "xp.log_dir=runs": ("set", "xp.log_dir", "runs"),
    # sweeps
    "lr=1e-3,1e-4": ("set", "lr", Sweep((0.001, 0.0001))),
    "model=resnet,vit": ("set", "model", Sweep(("resnet", "vit"))),
    "lr=0.1, 0.2": ("set", "lr", Sweep((0.1, 0.2))),
    "msg='a,b',c": ("set", "msg", Sweep(("a,b", "c"))),
    "msg=it's,ok": ("set", "msg", Sweep(("it's", "ok"))),
    "x=[1, 2],[3]": ("set", "x", Sweep(([1, 2], [3]))),
    "+x=1,2": ("add", "x", Sweep((1, 2))),
    "seed=range(3)": ("set", "seed", Sweep((0, 1, 2))),
    "seed=range(1, 4)": ("set", "seed", Sweep((1, 2, 3))),
    "seed=range(10,0,-3)": ("set", "seed", Sweep((10, 7, 4, 1))),
    "lr=range(0.1, 0.4, 0.1)": ("set", "lr", Sweep((0.1, 0.2, 0.3))),
    "lr=range(0, 1, 0.25)": ("set", "lr", Sweep((0.0, 0.25, 0.5, 0.75))),
    "opt=choice(sgd, adam)": ("set", "opt", Choice(("sgd", "adam"))),
    "x=choice(1)": ("set", "x", Choice((1,))),
    "x=choice('a,b', [1, 2])": ("set", "x", Choice(("a,b", [1, 2]))),
    "name='range(3)'": ("set", "name", "range(3)"),
}

# token -> str(OverrideError): the message, the token and a caret under the problem
INVALID = {
    "=1": "Expected a key name, got '='\n    =1\n    ^",
    "lr": "Expected '=' and a value after the key 'lr'\n    lr\n      ^",
    "lr==1": (
        "Expected a value after 'lr=', got '=' (quote a value that starts with '=')\n    lr==1\n       ^"
    ),
    ".a=1": "Expected a key name, got '.'\n    .a=1\n    ^",
    "a..b=1": "Expected a key name after '.', got '.'\n    a..b=1\n      ^",
    "a.=1": "Expected a key name after '.', got '='\n    a.=1\n      ^",
    "+=1": "Expected a key name after '+', got '='\n    +=1\n     ^",
    "+++a=1": "Expected a key name after '++', got '+'\n    +++a=1\n      ^",
    "~": "Expected a key name after '~', got the end of the token\n    ~\n     ^",
    "~a+1": (
        "Expected '=' or the end of the token after '~a', got '+'\n    ~a+1\n      ^^"
    ),
    "a b=1": "Expected '=' after the key 'a', got ' '\n    a b=1\n     ^",
    "range(1)": "Expected '=' after the key 'range', got '('\n    range(1)\n         ^",
    "x=range(a,b)": "Expected a finite number as argument of range(), got 'a'\n    x=range(a,b)\n            ^",
    "x=range(1, true)": (
        "Expected a finite number as argument of range(), got 'true'\n    x=range(1, true)\n               ^^^^"
    ),
    "x=range(1,2,0)": "Cannot use a step of 0 in range()\n    x=range(1,2,0)\n                ^",
    "x=range(3,1)": (
        "Cannot sweep over an empty range: 'range(3,1)' has no values\n    x=range(3,1)\n      ^^^^^^^^^^"
    ),
    "x=range()": (
        "Expected range(stop), range(start, stop) or range(start, stop, step), got 0 arguments\n"
        "    x=range()\n      ^^^^^^^"
    ),
    "x=range(1,2,3,4)": (
        "Expected range(stop), range(start, stop) or range(start, stop, step), got 4 arguments\n"
        "    x=range(1,2,3,4)\n      ^^^^^^^^^^^^^^"
    ),
    "x=range(1,2": "Expected ')' to close 'range('\n    x=range(1,2\n           ^",
    "x=range(1,3)x": "Expected the end of the token after ')', got 'x'\n    x=range(1,3)x\n                ^",
    "x=choice()": "Expected a value after '('\n    x=choice()\n            ^",
    "msg='abc": "Expected \"'\" to close the quoted string\n    msg='abc\n        ^",
    'msg="abc': "Expected '\"' to close the quoted string\n    msg=\"abc\n        ^",
    "a=[1,2": "Expected ']' to close '['\n    a=[1,2\n      ^",
    "a={x: [1}": "Expected ']' to close '[', got '}'\n    a={x: [1}\n            ^",
    "a=1]": "Unexpected ']' without a matching '['\n    a=1]\n       ^",
    "lr=1,": "Expected a value after ','\n    lr=1,\n        ^",
    "lr=,1": "Expected a value before ','\n    lr=,1\n       ^",
    "lr=1,,2": "Expected a value before ','\n    lr=1,,2\n         ^",
}


class ParseOverrideTest(unittest.TestCase):
    def test_valid_tokens(self) -> None:
        for token, (kind, key, value) in VALID.items():
            with self.subTest(token=token):
                override = parse_override(token)
                self.assertEqual((override.kind, override.key, override.text), (kind, key, token))
                self.assertEqual(override.value, value)
                self.assertEqual(_types(override.value), _types(value))

    def test_invalid_tokens(self) -> None:
        for token, message in INVALID.items():
            with self.subTest(token=token):
                with self.assertRaises(OverrideError) as caught:
                    parse_override(token)
                self.assertEqual(str(caught.exception), message)

    def test_value_that_cannot_be_parsed(self) -> None:
        cases = {
            "a='x' y": "Invalid value \"'x' y\": Expected end of value after the quoted string, found 'y'\n"
                       "    a='x' y\n          ^",
            "a={b: 1, b: 2}": "Invalid value '{b: 1, b: 2}': Duplicate key 'b' (first defined on line 1)\n"
                              "    a={b: 1, b: 2}\n             ^",
        }
        for token, message in cases.items():
            with self.subTest(token=token):
                with self.assertRaises(OverrideError) as caught:
                    parse_override(token)
                self.assertEqual(str(caught.exception), message)


def _types(value):
    """The value with every leaf replaced by its type, to tell 1 from 1.0 and True."""
    if isinstance(value, Sweep):
        return ("sweep", tuple(_types(v) for v in value.values))
    if isinstance(value, list):
        return [_types(v) for v in value]
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    return type(value)


class ExpandSweepsTest(unittest.TestCase):
    def parse(self, *tokens):
        return [parse_override(t) for t in tokens]

    def test_no_sweep_is_one_setting(self) -> None:
        overrides = self.parse("lr=0.1", "+x=1")
        self.assertEqual(expand_sweeps(overrides, multirun=False), [overrides])
        self.assertEqual(expand_sweeps(overrides, multirun=True), [overrides])
        self.assertEqual(expand_sweeps([], multirun=False), [[]])

    def test_product_first_key_slowest(self) -> None:
        settings = expand_sweeps(self.parse("a=1,2", "b=x", "c=range(3)"), multirun=True)
        self.assertEqual(len(settings), 6)
        self.assertEqual(
            [format_setting(s) for s in settings],
            ["a=1 b=x c=0", "a=1 b=x c=1", "a=1 b=x c=2", "a=2 b=x c=0", "a=2 b=x c=1", "a=2 b=x c=2"],
        )
        self.assertEqual(settings[4][0], Override("set", "a", 2, "a=2"))
        self.assertIs(settings[4][1], settings[0][1])

    def test_kind_is_kept(self) -> None:
        settings = expand_sweeps(self.parse("+x=choice(a, 'b c')", "++y=1,2"), multirun=True)
        self.assertEqual([format_setting(s) for s in settings][:2], ["+x=a ++y=1", "+x=a ++y=2"])
        self.assertEqual(settings[2][0], Override("add", "x", "b c", "+x=b c"))

    def test_sweep_without_multirun(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            expand_sweeps(self.parse("lr=1e-3,1e-4", "b=1", "seed=range(3)"), multirun=False)
        self.assertEqual(
            str(caught.exception),
            "Cannot run a sweep without +sweep: 'lr=1e-3,1e-4 seed=range(3)' describes 6 runs; "
            "add +sweep (or -m) to run them all",
        )


class CommandLineTest(unittest.TestCase):
    def test_tokens_and_flags(self) -> None:
        line = parse_command_line(["lr=0.1", "+sweep", "seed=1,2"])
        self.assertEqual(
            line,
            CommandLine([Override("set", "lr", 0.1, "lr=0.1"), Override("set", "seed", Sweep((1, 2)), "seed=1,2")],
                        multirun=True, show_config=False),
        )
        self.assertEqual(parse_command_line([]), CommandLine([], False, False))

    def test_multirun_and_cfg_among_tokens(self) -> None:
        line = parse_command_line(["a=1", "-m", "b=2", "--cfg", "~c"])
        self.assertEqual([o.text for o in line.overrides], ["a=1", "b=2", "~c"])
        self.assertTrue(line.multirun)
        self.assertTrue(line.show_config)
        self.assertTrue(parse_command_line(["--multirun"]).multirun)

    def test_key_twice(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            parse_command_line(["lr=0.1", "+lr=0.2"])
        self.assertEqual(str(caught.exception), "Cannot override 'lr' twice (also in 'lr=0.1')\n    +lr=0.2\n     ^^")

    def test_bad_token(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            parse_command_line(["lr=1", "a..b=1"])
        self.assertEqual(str(caught.exception), INVALID["a..b=1"])

    def test_help_shows_grammar_and_config(self) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as caught:
            parse_command_line(["lr=1", "--help", "-cn", "mnist"], prog="train.py",
                               config_help=lambda options: f"# the composed config of {options}\nseed: 0\nlr: 0.1\n")
        self.assertEqual(caught.exception.code, 0)
        text = out.getvalue()
        self.assertTrue(text.startswith("usage: train.py [-h] [-m] [--cfg] [-cn NAME] [-cp PATH] [-cd DIR]"), text)
        self.assertIn(GRAMMAR_HELP, text)
        self.assertTrue(text.endswith("\n\n# the composed config of {'config_name': 'mnist'}\nseed: 0\nlr: 0.1\n"), text)

    def test_config_options(self) -> None:
        line = parse_command_line(["--config-name=mnist", "a=1", "-cp", "conf", "--config-dir", "/x"])
        self.assertEqual(line.config_options, {"config_name": "mnist", "config_path": "conf", "config_dir": "/x"})
        self.assertEqual(line.overrides, [parse_override("a=1")])

    def test_help_without_a_config(self) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as caught:
            parse_command_line(["--help"])
        self.assertEqual(caught.exception.code, 0)
        self.assertIn(GRAMMAR_HELP, out.getvalue())
        self.assertNotIn("config", out.getvalue().split(GRAMMAR_HELP)[1])

    def test_help_when_the_config_fails(self) -> None:
        from tinyxp.errors import ConfigError

        def broken(options: dict) -> str:
            raise ConfigError("Cannot find the config folder or file 'configs'")

        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit):
            parse_command_line(["-h"], config_help=broken)
        self.assertTrue(
            out.getvalue().endswith("\n\n# Cannot compose the config:\nCannot find the config folder or file 'configs'\n")
        )

    def test_unknown_option_exits_2(self) -> None:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as caught:
            parse_command_line(["--bogus"])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("unrecognized arguments: --bogus", err.getvalue())


class SettingTokensTest(unittest.TestCase):
    def assert_round_trip(self, override: Override) -> None:
        tokens = setting_tokens([override])
        parsed = parse_override(tokens[0])
        self.assertEqual((parsed.kind, parsed.key), (override.kind, override.key), tokens)
        if isinstance(override.value, float) and math.isnan(override.value):
            self.assertTrue(math.isnan(parsed.value), tokens)
        else:
            self.assertEqual(parsed.value, override.value, tokens)
            self.assertEqual(_types(parsed.value), _types(override.value), tokens)

    def test_tokens(self) -> None:
        setting = [parse_override(t) for t in ("lr=1e-3", "+x=[1, 2]", "~y", "++s=hello", "~z=1")]
        self.assertEqual(setting_tokens(setting), ["lr=0.001", "+x=[1, 2]", "~y", "++s=hello", "~z=1"])

    def test_awkward_strings(self) -> None:
        for value in ["a,b", "range(3)", "choice(a)", "=1", "", " lead", "0.1", "true", "null", "[1]", "{a: 1}",
                      "'", '"', "\\,", "a\\,b", "x # y", "a: b", "line\nbreak", "tab\t", "é ü", "~", "-", "?"]:
            with self.subTest(value=value):
                self.assert_round_trip(make_override("set", "k", value))

    def test_random_values(self) -> None:
        rng = random.Random(20261126)
        alphabet = "ab ,'\"\\[]{}():#=-.~!&*?|>%@`\t\n0123456789eé"
        for _ in range(400):
            kind = rng.choice(["set", "add", "force"])
            choice = rng.random()
            if choice < 0.6:
                value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
            elif choice < 0.7:
                value = rng.choice([rng.randint(-1000, 1000), rng.uniform(-1e6, 1e6), True, False, None])
            else:
                value = [rng.choice(["a,b", 1, 2.5, None, "x y"]) for _ in range(rng.randint(0, 3))]
            with self.subTest(value=value):
                self.assert_round_trip(make_override(kind, "a.b", value))

    def test_special_floats(self) -> None:
        for value in (math.inf, -math.inf, math.nan, 1e-12, 1e300):
            with self.subTest(value=value):
                self.assert_round_trip(make_override("set", "x", value))

    def test_sweep_has_no_single_token(self) -> None:
        with self.assertRaises(ValueError):
            setting_tokens([parse_override("a=1,2")])

    def test_format_setting(self) -> None:
        setting = [parse_override(t) for t in ("optimizer.lr=0.01", "seed=2")]
        self.assertEqual(format_setting(setting), "optimizer.lr=0.01 seed=2")
        self.assertEqual(format_setting([]), "")


class ApplyOverridesTest(unittest.TestCase):
    CONFIG = {"seed": 0, "optimizer": {"lr": 0.1, "name": "sgd"}, "layers": [{"size": 4}], "tags": ["a"]}

    def apply(self, *tokens):
        return apply_overrides(self.CONFIG, [parse_override(t) for t in tokens])

    def assert_error(self, token: str, message: str) -> None:
        with self.assertRaises(OverrideError) as caught:
            self.apply(token)
        self.assertEqual(str(caught.exception), message)

    def test_unknown_key_with_no_close_sibling(self) -> None:
        self.assert_error("optimizer.zzzz=1", "Unknown key 'optimizer.zzzz' (+optimizer.zzzz=VALUE adds a new key)\n"
                          "    optimizer.zzzz=1\n    ^^^^^^^^^^^^^^")

    def test_forms(self) -> None:
        result = self.apply("optimizer.lr=0.5", "+optimizer.wd=1e-4", "++seed=3", "++data.path=/x", "~tags",
                            "layers.0.size=8", "+new.deep.key=[1]")
        self.assertEqual(result, {
            "seed": 3, "optimizer": {"lr": 0.5, "name": "sgd", "wd": 0.0001},
            "layers": [{"size": 8}], "data": {"path": "/x"}, "new": {"deep": {"key": [1]}},
        })
        self.assertEqual(self.CONFIG["optimizer"]["lr"], 0.1, "the input is not changed")

    def test_list_items(self) -> None:
        self.assertEqual(self.apply("tags.0=b")["tags"], ["b"])
        self.assertEqual(self.apply("~tags.0")["tags"], [])
        self.assertEqual(self.apply("++layers.0={size: 1}")["layers"], [{"size": 1}])

    def test_key_under_null(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            apply_overrides({"x": None}, [parse_override("+x.y=1")])
        self.assertEqual(caught.exception.message, "Cannot set 'x.y': 'x' is a null, not a mapping")

    def test_mapping_value_replaces(self) -> None:
        self.assertEqual(self.apply("optimizer={lr: 1}")["optimizer"], {"lr": 1})

    def test_unknown_key(self) -> None:
        self.assert_error(
            "optimizer.lrr=1",
            "Unknown key 'optimizer.lrr'; did you mean 'optimizer.lr'? (+optimizer.lrr=VALUE adds a new key)\n"
            "    optimizer.lrr=1\n    ^^^^^^^^^^^^^",
        )
        self.assert_error("sed=1", "Unknown key 'sed'; did you mean 'seed'? (+sed=VALUE adds a new key)\n    sed=1\n    ^^^")
        self.assert_error("zzz=1", "Unknown key 'zzz' (+zzz=VALUE adds a new key)\n    zzz=1\n    ^^^")
        self.assert_error(
            "optimiser.lr=1",
            "Unknown key 'optimiser.lr'; did you mean 'optimizer.lr'? (+optimiser.lr=VALUE adds a new key)\n"
            "    optimiser.lr=1\n    ^^^^^^^^^^^^",
        )

    def test_add_existing_key(self) -> None:
        self.assert_error(
            "+seed=1",
            "Cannot add 'seed': the key exists already (set it with seed=VALUE or ++seed=VALUE)\n    +seed=1\n     ^^^^",
        )

    def test_delete_unknown_key(self) -> None:
        self.assert_error("~optimizer.nam", "Cannot delete 'optimizer.nam': unknown key; did you mean 'optimizer.name'?\n"
                          "    ~optimizer.nam\n     ^^^^^^^^^^^^^")

    def test_key_under_a_scalar(self) -> None:
        self.assert_error("++seed.x=1", "Cannot set 'seed.x': 'seed' is a number, not a mapping\n    ++seed.x=1\n      ^^^^^^")

    def test_add_into_a_list(self) -> None:
        self.assert_error("+tags.1=b", "Cannot add 'tags.1': 'tags' is a list\n    +tags.1=b\n     ^^^^^^")

    def test_sweep(self) -> None:
        self.assert_error("seed=1,2", "Cannot apply the sweep 'seed=1,2' to one config; expand it with +sweep\n"
                          "    seed=1,2\n    ^^^^")


class TypeCheckTest(unittest.TestCase):
    """A value whose type cannot replace the config's is an error; ++ forces it."""

    CONFIG = {"lr": 0.1, "epochs": 3, "name": "run", "debug": False, "opt": {"lr": 0.1}, "tags": ["a"],
              "unset": None, "required": "???", "ref": "${lr}", "items": [1, 2]}

    def apply(self, *tokens):
        return apply_overrides(self.CONFIG, [parse_override(t) for t in tokens])

    def test_accepted(self) -> None:
        cases = {
            "lr=1": 1, "epochs=2.5": 2.5, "lr=null": None, "opt=null": None, "name=3": 3, "name=true": True,
            "unset={a: 1}": {"a": 1}, "required=[1]": [1], "ref=abc": "abc", "lr=${epochs}": "${epochs}",
            "tags=[b, c]": ["b", "c"], "opt={lr: 1}": {"lr": 1}, "debug=true": True, "items.0=5": 5,
        }
        for token, value in cases.items():
            with self.subTest(token=token):
                key = token.split("=")[0]
                found = self.apply(token)
                for part in key.split("."):
                    found = found[int(part)] if isinstance(found, list) else found[part]
                self.assertEqual(found, value)

    def test_force_and_add_skip_the_check(self) -> None:
        self.assertEqual(self.apply("++lr=abc")["lr"], "abc")
        self.assertEqual(self.apply("++name={a: 1}")["name"], {"a": 1})

    def test_refused(self) -> None:
        cases = {
            "lr=abc": "Cannot replace the number at 'lr' with the string 'abc' (to force it: ++lr=abc)\n"
                      "    lr=abc\n       ^^^",
            "opt.lr=abc": "Cannot replace the number at 'opt.lr' with the string 'abc' (to force it: ++opt.lr=abc)\n"
                          "    opt.lr=abc\n           ^^^",
            "epochs=true": "Cannot replace the number at 'epochs' with the boolean True (to force it: ++epochs=true)\n"
                           "    epochs=true\n           ^^^^",
            "debug=yes": "Cannot replace the boolean at 'debug' with the string 'yes' (to force it: ++debug=yes)\n"
                         "    debug=yes\n          ^^^",
            "lr={a: 1}": "Cannot replace the number at 'lr' with the dict {'a': 1} (to force it: ++lr={a: 1})\n"
                         "    lr={a: 1}\n       ^^^^^^",
            "opt=adam": "Cannot replace the dict at 'opt' with the string 'adam' (to force it: ++opt=adam)\n"
                        "    opt=adam\n        ^^^^",
            "tags=a": "Cannot replace the list at 'tags' with the string 'a' (to force it: ++tags=a)\n"
                      "    tags=a\n         ^",
            "items.1=x": "Cannot replace the number at 'items.1' with the string 'x' (to force it: ++items.1=x)\n"
                         "    items.1=x\n            ^",
            "name=[1, 2]": "Cannot replace the string at 'name' with the list [1, 2] (quote it to keep it a string: "
                           "name='[1, 2]', or force it: ++name=[1, 2])\n    name=[1, 2]\n         ^^^^^^",
            "name={a: 'b'}": "Cannot replace the string at 'name' with the dict {'a': 'b'} (quote it to keep it a string: "
                             "name=\"{a: 'b'}\", or force it: ++name={a: 'b'})\n    name={a: 'b'}\n         ^^^^^^^^",
        }
        for token, message in cases.items():
            with self.subTest(token=token):
                with self.assertRaises(OverrideError) as caught:
                    self.apply(token)
                self.assertEqual(str(caught.exception), message)

    def test_the_quoted_hint_reads_back_as_the_string(self) -> None:
        for token in ("name=[1, 2]", "name={a: 'b'}"):
            with self.assertRaises(OverrideError) as caught:
                self.apply(token)
            quoted = caught.exception.message.split("keep it a string: ")[1].split(", or force")[0]
            self.assertEqual(self.apply(quoted)["name"], token.split("=", 1)[1])


if __name__ == "__main__":
    unittest.main()
