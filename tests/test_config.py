"""Tests of tinyxp.config: Config, loading, groups, merging, interpolation (compose, interpolate), xp settings."""
from __future__ import annotations

import copy
import os
import pickle
import unittest
from unittest import mock

from .support import temp_dir, write_files
from tinyxp import yaml
from tinyxp.config.compose import Config, compose, load_config, load_file, merge
from tinyxp._contract import DEFAULT_SIGNAL_GRACE
from tinyxp.config import files, settings
from tinyxp.config.settings import XP_DEFAULTS, compose_xp, xp_setting
from tinyxp.errors import ConfigError, OverrideError, TinyxpError, YAMLError
from tinyxp.config.command_line import parse_command_line
from tinyxp.config.overrides import expand_sweeps, parse_override

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "configs")
PROJECT = os.path.join(DATA, "project")
INVALID = os.path.join(DATA, "invalid")


def parse(*tokens):
    return [parse_override(t) for t in tokens]


def write(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class ConfigObjectTest(unittest.TestCase):
    def setUp(self) -> None:
        self.config = Config({"seed": 0, "optimizer": {"lr": 0.1}, "layers": [{"size": 4}, 5]})

    def test_access(self) -> None:
        config = self.config
        self.assertEqual(config.optimizer.lr, 0.1)
        self.assertEqual(config["optimizer"]["lr"], 0.1)
        self.assertIsInstance(config.optimizer, Config)
        self.assertIsInstance(config.layers[0], Config)
        self.assertEqual(config.layers[0].size, 4)
        self.assertEqual(list(config), ["seed", "optimizer", "layers"])
        self.assertEqual(len(config), 3)
        self.assertIn("seed", config)
        self.assertEqual(config.get("missing", 7), 7)

    def test_mutation(self) -> None:
        config = self.config
        config.seed = 3
        config["extra"] = {"a": 1}
        config.optimizer.lr = 0.5
        self.assertEqual(config.extra.a, 1)
        del config.layers
        self.assertEqual(config, {"seed": 3, "optimizer": {"lr": 0.5}, "extra": {"a": 1}})

    def test_to_dict_repr_and_equality(self) -> None:
        plain = self.config.to_dict()
        self.assertEqual(plain, {"seed": 0, "optimizer": {"lr": 0.1}, "layers": [{"size": 4}, 5]})
        self.assertIs(type(plain["optimizer"]), dict)
        self.assertIs(type(plain["layers"][0]), dict)
        self.assertEqual(repr(self.config), "Config({'seed': 0, 'optimizer': {'lr': 0.1}, 'layers': [{'size': 4}, 5]})")
        self.assertEqual(self.config, plain)
        self.assertEqual(self.config, Config(plain))
        self.assertNotEqual(self.config, {"seed": 0})
        self.assertNotEqual(self.config, 3)

    def test_copies_and_pickle(self) -> None:
        self.assertEqual(pickle.loads(pickle.dumps(self.config)), self.config)
        deep = copy.deepcopy(self.config)
        deep.optimizer.lr = 1
        self.assertEqual(self.config.optimizer.lr, 0.1)
        self.assertEqual(self.config.copy(), self.config)
        self.assertIn("optimizer", dir(self.config))

    def test_unknown_attribute(self) -> None:
        with self.assertRaises(AttributeError) as caught:
            self.config.optimizer.lrr
        self.assertEqual(str(caught.exception), "Unknown config key 'optimizer.lrr'; did you mean 'optimizer.lr'?")
        with self.assertRaises(AttributeError) as caught:
            self.config.zzz
        self.assertEqual(str(caught.exception), "Unknown config key 'zzz' (keys here: 'seed', 'optimizer', 'layers')")
        with self.assertRaises(AttributeError):
            del self.config.zzz
        self.assertFalse(hasattr(self.config, "nope"))


class MergeTest(unittest.TestCase):
    def test_rules(self) -> None:
        base = {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"d": 1}}
        other = {"a": {"y": [3], "z": 2}, "b": {"new": 1}, "c": 5, "e": None}
        self.assertEqual(merge(base, other), {"a": {"x": 1, "y": [3], "z": 2}, "b": {"new": 1}, "c": 5, "e": None})
        self.assertEqual(base["a"], {"x": 1, "y": [1, 2]}, "the inputs are not changed")


class ComposeTest(unittest.TestCase):
    def test_project_defaults(self) -> None:
        config = compose(PROJECT, parse("data.path=/data"))
        self.assertEqual(config, {
            "model": {"name": "resnet", "depth": 18, "widths": [64, 128]},
            "seed": 0,
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
            "scheduler": {"lr": 0.1, "name": "cosine-sgd"},
            "data": {"path": "/data", "workers": 4},
            "tags": ["a", "b"],
            "run_name": "resnet-d18",
        })

    def test_overrides_flow_into_interpolations(self) -> None:
        config = compose(PROJECT, parse("data.path=/d", "optimizer.lr=0.5", "optimizer.name=adam"))
        self.assertEqual(config.scheduler, {"lr": 0.5, "name": "cosine-adam"})
        self.assertIsInstance(config.scheduler.lr, float)

    def test_group_choice_and_keys_inside(self) -> None:
        config = compose(PROJECT, parse("data.path=/d", "model=vit", "model.patch=8"))
        self.assertEqual(config.model, {"name": "vit", "depth": 12, "patch": 8})
        self.assertEqual(config.run_name, "vit-d12")

    def test_group_added_and_dropped(self) -> None:
        config = compose(PROJECT, parse("data.path=/d", "+optim=adam"))
        self.assertEqual(config.optim, {"lr": 0.001, "betas": [0.9, 0.999]})
        config = compose(PROJECT, parse("data.path=/d", "~model", "run_name=x"))
        self.assertNotIn("model", config)

    def test_group_sweep(self) -> None:
        settings = expand_sweeps(parse("model=resnet,vit", "data.path=/d"), multirun=True)
        names = [compose(PROJECT, setting).model.name for setting in settings]
        self.assertEqual(names, ["resnet", "vit"])

    def test_unknown_group_option(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            compose(PROJECT, parse("model=vitt"))
        self.assertEqual(
            str(caught.exception),
            "Unknown option 'vitt' for the config group 'model'; did you mean 'vit'? (options: resnet, vit)\n    model=vitt\n          ^^^^",
        )
        with self.assertRaises(OverrideError) as caught:
            compose(PROJECT, parse("model=zzz"))
        self.assertEqual(
            caught.exception.message, "Unknown option 'zzz' for the config group 'model' (options: resnet, vit)"
        )

    def test_add_group_in_defaults(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            compose(PROJECT, parse("+model=vit"))
        self.assertEqual(
            caught.exception.message,
            "Cannot add the config group 'model': it is in the defaults list already (choose an option with model=OPTION)",
        )

    def test_required_value(self) -> None:
        with self.assertRaises(ConfigError) as caught:
            compose(PROJECT, [])
        self.assertEqual(str(caught.exception), "Missing required value 'data.path': set it with data.path=VALUE")
        self.assertEqual(compose(PROJECT, [], require_all=False).data.path, "???")

    def test_xp_overrides_are_ignored(self) -> None:
        self.assertEqual(compose(PROJECT, parse("data.path=/d", "xp.log_dir=x")).seed, 0)

    def test_unknown_override_key(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            compose(PROJECT, parse("data.path=/d", "optimizer.lrr=1"))
        self.assertEqual(
            str(caught.exception),
            "Unknown key 'optimizer.lrr'; did you mean 'optimizer.lr'? (+optimizer.lrr=VALUE adds a new key)\n"
            "    optimizer.lrr=1\n    ^^^^^^^^^^^^^",
        )

    def test_add_existing_key(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            compose(PROJECT, parse("data.path=/d", "+seed=1"))
        self.assertEqual(caught.exception.message,
                         "Cannot add 'seed': the key exists already (set it with seed=VALUE or ++seed=VALUE)")

    def test_json_config(self) -> None:
        config = compose(os.path.join(DATA, "json"), parse("optimizer.lr=0.5"))
        self.assertEqual(config, {"model": {"width": 8}, "seed": 1, "optimizer": {"lr": 0.5}, "label": "lr=0.5"})

    def test_config_file_path(self) -> None:
        config = compose(os.path.join(PROJECT, "config.yaml"), parse("data.path=/d", "model=vit"))
        self.assertEqual(config.model.name, "vit")

    def test_self_position_and_null_option(self) -> None:
        folder = temp_dir(self)
        write(folder, "config.yaml", "defaults:\n  - _self_\n  - model: a\n  - extra: null\nmodel: {depth: 1, own: 1}\n")
        write(folder, "model/a.yaml", "depth: 2\n")
        write(folder, "extra/b.yaml", "x: 1\n")
        self.assertEqual(compose(folder, []), {"model": {"depth": 2, "own": 1}})
        self.assertEqual(compose(folder, parse("extra=b")), {"model": {"depth": 2, "own": 1}, "extra": {"x": 1}})

    def test_empty_config(self) -> None:
        folder = temp_dir(self)
        write(folder, "config.yaml", "# nothing yet\n")
        self.assertEqual(compose(folder, []), {})


class MoreGroupErrorsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = temp_dir(self)
        write(self.folder, "model/18.yaml", "depth: 18\n")
        write(self.folder, "model/big.yaml", "defaults:\n  - model: 18\n")

    def compose(self, text: str, *tokens: str) -> Config:
        write(self.folder, "config.yaml", text)
        return compose(self.folder, parse(*tokens))

    def test_number_as_option(self) -> None:
        self.assertEqual(self.compose("defaults:\n  - model: 18\n"), {"model": {"depth": 18}})
        self.assertEqual(self.compose("defaults:\n  - model: null\n", "model=18"), {"model": {"depth": 18}})

    def test_bad_option_in_the_defaults_list(self) -> None:
        with self.assertRaises(ConfigError) as caught:
            self.compose("defaults:\n  - model: [18]\n")
        path = os.path.join(self.folder, "config.yaml")
        self.assertEqual(str(caught.exception),
                         f"{path}: Cannot use a list of options for 'model': tinyxp chooses one option per group")
        with self.assertRaises(ConfigError) as caught:
            self.compose("defaults:\n  - model: {a: 1}\n")
        self.assertEqual(str(caught.exception),
                         f"{path}: Invalid option {{'a': 1}} for 'model' in the defaults list: expected a file name")

    def test_bad_option_on_the_command_line(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            self.compose("defaults:\n  - model: 18\n", "model=[1]")
        self.assertEqual(str(caught.exception),
                         "Invalid option [1] for the config group 'model': expected a file name\n    model=[1]\n    ^^^^^")

    def test_group_sweep_needs_expanding(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            self.compose("defaults:\n  - model: 18\n", "model=18,big")
        self.assertEqual(caught.exception.message,
                         "Cannot apply the sweep 'model=18,big' to one config; expand it with +sweep")

    def test_defaults_list_in_an_option(self) -> None:
        # as in Hydra, the group is relative to the option's folder: model/model, under model.model
        write(self.folder, "model/model/18.yaml", "depth: 18\n")
        self.assertEqual(self.compose("defaults:\n  - model: big\n"), {"model": {"model": {"depth": 18}}})


class LoadFileTest(unittest.TestCase):
    def test_not_utf8(self) -> None:
        folder = temp_dir(self)
        path = os.path.join(folder, "config.yaml")
        with open(path, "wb") as f:
            f.write(b"name: caf\xe9\n")
        with self.assertRaises(ConfigError) as caught:
            load_config(folder)
        self.assertEqual(str(caught.exception), f"Cannot read {path!r}: not UTF-8 text (invalid continuation byte at byte 9)")

    def test_unreadable(self) -> None:
        folder = temp_dir(self)
        with self.assertRaises(ConfigError) as caught:
            load_file(folder)
        self.assertTrue(str(caught.exception).startswith(f"Cannot read {folder!r}: "), str(caught.exception))
        with self.assertRaises(ConfigError) as caught:
            load_file(os.path.join(folder, "gone.yaml"))
        self.assertEqual(str(caught.exception), f"Cannot find the config file {os.path.join(folder, 'gone.yaml')!r}")


class MissingFilesTest(unittest.TestCase):
    def test_missing_folder(self) -> None:
        folder = os.path.join(temp_dir(self), "configs")
        with self.assertRaises(ConfigError) as caught:
            compose(folder, [])
        self.assertEqual(str(caught.exception), f"Cannot find the config folder or file {folder!r}")
        self.assertFalse(os.path.exists(folder), "nothing is created")

    def test_missing_file(self) -> None:
        folder = temp_dir(self)
        with self.assertRaises(ConfigError) as caught:
            load_config(folder)
        self.assertEqual(str(caught.exception),
                         f"Cannot find config.yaml or config.json in the config folder {folder!r}")
        self.assertEqual(os.listdir(folder), [])


class InterpolationTest(unittest.TestCase):
    def compose_text(self, text: str, *tokens: str) -> Config:
        folder = temp_dir(self)
        write(folder, "config.yaml", text)
        return load_config(folder, tokens)

    def test_typed_and_formatted(self) -> None:
        config = self.compose_text(
            "a: {n: 3, f: 0.5, b: true, z: null, l: [1, 2], m: {k: v}}\n"
            "typed:\n  - ${a.n}\n  - ${a.f}\n  - ${a.b}\n  - ${a.z}\n  - ${a.l}\n  - ${a.m}\n"
            "text: 'n=${a.n} f=${a.f} b=${a.b} z=${a.z}'\n"
            "literal: '\\${a.n} costs $5'\n"
        )
        self.assertEqual(config.typed, [3, 0.5, True, None, [1, 2], {"k": "v"}])
        self.assertEqual(config.text, "n=3 f=0.5 b=true z=null")
        self.assertEqual(config.literal, "${a.n} costs $5")

    def test_env(self) -> None:
        with mock.patch.dict(os.environ, {"TINYXP_TEST_DATA": "/scratch/d"}):
            config = self.compose_text(
                "a: ${env:TINYXP_TEST_DATA}\nb: ${env:TINYXP_TEST_UNSET_VARIABLE,/tmp/data}\n"
                "c: ${env:TINYXP_TEST_DATA,/tmp/x}/sub\nd: '${env:TINYXP_TEST_UNSET_VARIABLE,}'\n"
            )
        self.assertEqual(config, {"a": "/scratch/d", "b": "/tmp/data", "c": "/scratch/d/sub", "d": ""})

    def test_nested_references(self) -> None:
        config = self.compose_text("a: ${b}\nb: ${c.d}-x\nc: {d: '${e}', e2: '${c.d}'}\ne: 1\nf: ${c}\n")
        self.assertEqual(config.a, "1-x")
        self.assertEqual(config.c, {"d": 1, "e2": 1})
        self.assertEqual(config.f, {"d": 1, "e2": 1})

    def test_reference_into_a_group_and_list(self) -> None:
        config = compose(PROJECT, parse("data.path=/d", "+ref=${model.widths.1}", "+w=${model.depth}"))
        self.assertEqual((config.ref, config.w), (128, 18))

    def test_reference_set_from_the_command_line(self) -> None:
        config = self.compose_text("a: ${b}\nb: ???\n", "b=5")
        self.assertEqual(config.a, 5)


class InvalidConfigTest(unittest.TestCase):
    """Every folder in tests/data/configs/invalid: expected.txt is the type and str(err)."""

    def test_corpus(self) -> None:
        cases = sorted(os.listdir(INVALID))
        self.assertGreaterEqual(len(cases), 20)
        errors = {"ConfigError": ConfigError, "YAMLError": YAMLError, "OverrideError": OverrideError}
        for case in cases:
            folder = os.path.join(INVALID, case)
            with open(os.path.join(folder, "expected.txt"), encoding="utf-8") as f:
                kind, _, expected = f.read().partition("\n")
            with self.subTest(case=case):
                with self.assertRaises(TinyxpError) as caught:
                    compose_xp(folder, []) if case.startswith("xp_") else compose(folder, [])
                self.assertIs(type(caught.exception), errors[kind])
                self.assertEqual(str(caught.exception), expected.rstrip("\n").replace("{dir}", folder))


class LoadConfigTest(unittest.TestCase):
    def test_overrides(self) -> None:
        config = load_config(PROJECT, ["data.path=/d", "model=vit", "+extra=[1, 2]"])
        self.assertEqual((config.model.name, config.extra), ("vit", [1, 2]))

    def test_sweep_is_an_error(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            load_config(PROJECT, ["data.path=/d", "seed=range(3)"])
        self.assertEqual(str(caught.exception),
                         "Cannot sweep in load_config(): 'seed=range(3)' describes 3 values\n    seed=range(3)\n    ^^^^")

    def test_bad_token(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            load_config(PROJECT, ["seed==1"])
        self.assertEqual(caught.exception.source, "seed==1")

    def test_public_name(self) -> None:
        import tinyxp

        self.assertIs(tinyxp.load_config, load_config)
        self.assertIs(tinyxp.Config, Config)


class ComposeXpTest(unittest.TestCase):
    def test_defaults(self) -> None:
        folder = temp_dir(self)
        self.assertEqual(compose_xp(folder, []), XP_DEFAULTS)
        self.assertEqual(compose_xp(os.path.join(folder, "missing"), []), XP_DEFAULTS)

    def test_file_then_command_line(self) -> None:
        xp = compose_xp(PROJECT, parse("xp.scheduler=slurm", "++xp.array=true", "lr=1", "xp.max_parallel=4"))
        expected = dict(XP_DEFAULTS, log_dir="./runs", scheduler_options=["--time=01:00:00"], scheduler="slurm",
                        array=True, max_parallel=4)
        self.assertEqual(xp, expected)
        self.assertEqual(XP_DEFAULTS["scheduler_options"], [], "the defaults are not changed")

    def test_env_in_settings(self) -> None:
        with mock.patch.dict(os.environ, {"TINYXP_TEST_SCRATCH": "/scratch"}):
            xp = compose_xp(PROJECT, parse("xp.log_dir=${env:TINYXP_TEST_SCRATCH}/logs"))
        self.assertEqual(xp.log_dir, "/scratch/logs")

    def test_home_in_paths(self) -> None:
        with mock.patch.dict(os.environ, {"HOME": "/home/ada"}):
            xp = compose_xp(PROJECT, parse("xp.log_dir=~/logs", "xp.snapshot_dir=~/snap", "xp.job_name=~x"))
        self.assertEqual((xp.log_dir, xp.snapshot_dir, xp.job_name), ("/home/ada/logs", "/home/ada/snap", "~x"))

    def test_setting_checked_after_interpolation(self) -> None:
        with mock.patch.dict(os.environ, {"TINYXP_TEST_DIRTY": "sometimes"}):
            with self.assertRaises(ConfigError) as caught:
                compose_xp(PROJECT, parse("xp.dirty=${env:TINYXP_TEST_DIRTY}"))
        self.assertEqual(
            str(caught.exception),
            "Invalid value 'sometimes' for the tinyxp setting 'dirty' "
            "(expected one of ask, ignore, commit, patch, error) (after interpolation)",
        )

    def test_unknown_setting_on_the_command_line(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            compose_xp(PROJECT, parse("xp.schedular=slurm"))
        self.assertEqual(str(caught.exception),
                         "Unknown tinyxp setting 'schedular'; did you mean 'scheduler'?\n    xp.schedular=slurm\n       ^^^^^^^^^")
        with self.assertRaises(OverrideError) as caught:
            compose_xp(PROJECT, parse("xp.zzz=1"))
        self.assertEqual(caught.exception.message, f"Unknown tinyxp setting 'zzz' (settings: {', '.join(XP_DEFAULTS)})")

    def test_invalid_setting_values(self) -> None:
        cases = {
            "xp.dirty=maybe": "Invalid value 'maybe' for the tinyxp setting 'dirty' (expected one of ask, ignore, commit, patch, error)\n"
                              "    xp.dirty=maybe\n             ^^^^^",
            # every choice-valued setting gets a did-you-mean, as xp.scheduler does
            "xp.dirty=pach": "Invalid value 'pach' for the tinyxp setting 'dirty'; did you mean 'patch'? "
                             "(expected one of ask, ignore, commit, patch, error)\n"
                             "    xp.dirty=pach\n             ^^^^",
            "xp.dirty=true": "Invalid value True for the tinyxp setting 'dirty' (expected one of ask, ignore, commit, patch, error)\n"
                             "    xp.dirty=true\n             ^^^^",
            "xp.scheduler=true": "Invalid value True for the tinyxp setting 'scheduler' "
                                 "(expected one of null, local, slurm, oar, pbs, torque, sge, lsf)\n"
                                 "    xp.scheduler=true\n                 ^^^^",
            "xp.scheduler=slrum": "Invalid value 'slrum' for the tinyxp setting 'scheduler'; did you mean 'slurm'? "
                                  "(expected one of null, local, slurm, oar, pbs, torque, sge, lsf)\n"
                                  "    xp.scheduler=slrum\n                 ^^^^^",
            "xp.logging=1": "Invalid value 1 for the tinyxp setting 'logging': expected a boolean\n    xp.logging=1\n               ^",
            "xp.heartbeat_interval=0": "Invalid value 0 for the tinyxp setting 'heartbeat_interval': expected a positive number\n"
                                       "    xp.heartbeat_interval=0\n                          ^",
            "xp.setup=module load x": "Invalid value 'module load x' for the tinyxp setting 'setup': expected a list of strings\n"
                                      "    xp.setup=module load x\n             ^^^^^^^^^^^^^",
            "~xp.log_dir": "Cannot delete the tinyxp setting 'log_dir'; set it with xp.log_dir=VALUE\n    ~xp.log_dir\n        ^^^^^^^",
            "xp={log_dir: x}": "Cannot set the tinyxp settings as a whole; set each one with xp.NAME=VALUE\n"
                               "    xp={log_dir: x}\n    ^^",
            "+xp.log_dir=x": "Cannot add the tinyxp setting 'log_dir': it exists already (set it with xp.log_dir=VALUE)\n"
                             "    +xp.log_dir=x\n        ^^^^^^^",
        }
        for token, message in cases.items():
            with self.subTest(token=token):
                with self.assertRaises(OverrideError) as caught:
                    compose_xp(PROJECT, parse(token))
                self.assertEqual(str(caught.exception), message)

    def test_sweep_needs_expanding(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            compose_xp(PROJECT, parse("xp.array=true,false"))
        self.assertEqual(caught.exception.message,
                         "Cannot apply the sweep 'xp.array=true,false' to one run; expand it with +sweep")

    def test_accepted_values(self) -> None:
        xp = compose_xp(PROJECT, parse("xp.run_id=7", "xp.job_name=exp", "xp.setup=['module load cuda']",
                                       "xp.heartbeat_interval=0.5", "xp.dirty=patch", "xp.scheduler=torque"))
        self.assertEqual((xp.run_id, xp.job_name, xp.setup, xp.heartbeat_interval, xp.dirty, xp.scheduler),
                         (7, "exp", ["module load cuda"], 0.5, "patch", "torque"))


class ParseOnceTest(unittest.TestCase):
    """A sweep composes every run from the same files: each is parsed once per launch."""

    def setUp(self) -> None:
        self.folder = temp_dir(self)
        write_files(self.folder, {
            "config.yaml": "defaults:\n  - model: small\n  - _self_\nseed: 0\nlr: 0.1\n",
            "model/small.yaml": "width: 8\n",
            "tinyxp.yaml": "log_dir: runs\n",
        })

    def compose_sweep(self, *tokens: str) -> list:
        """What the launcher composes for a command line: each setting's xp settings and config."""
        command_line = parse_command_line(tokens)
        settings = expand_sweeps(command_line.overrides, multirun=command_line.multirun)
        return [(compose_xp(self.folder, setting), compose(self.folder, setting)) for setting in settings]

    def test_a_ten_run_sweep_parses_each_file_once(self) -> None:
        with mock.patch.object(yaml, "load", wraps=yaml.load) as load:
            runs = self.compose_sweep("+sweep", "seed=range(10)")
        self.assertEqual([config.seed for _, config in runs], list(range(10)))
        self.assertEqual([xp.log_dir for xp, _ in runs], ["runs"] * 10)
        self.assertEqual([config.model.width for _, config in runs], [8] * 10)
        parsed = sorted(os.path.relpath(call.kwargs["path"], self.folder) for call in load.call_args_list)
        self.assertEqual(parsed, ["config.yaml", os.path.join("model", "small.yaml"), "tinyxp.yaml"])

    def test_an_edited_file_is_parsed_again(self) -> None:
        path = os.path.join(self.folder, "config.yaml")
        self.assertEqual(load_file(path)["lr"], 0.1)
        write_files(self.folder, {"config.yaml": "defaults:\n  - model: small\n  - _self_\nseed: 0\nlr: 0.2\n"})
        self.assertEqual(load_file(path)["lr"], 0.2)  # same size, maybe the same mtime: the text decides

    def test_each_load_is_a_copy(self) -> None:
        path = os.path.join(self.folder, "config.yaml")
        load_file(path)["defaults"].append({"optim": "sgd"})
        self.assertEqual(load_file(path)["defaults"], [{"model": "small"}, "_self_"])
        self.assertEqual(compose(self.folder, []).model.width, 8)


class GroupEdgesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = temp_dir(self)
        write_files(self.folder, {"config.yaml": "defaults:\n  - model: small\n  - ghost: null\nseed: 0\n",
                                  "model/small.yaml": "width: 8\n"})

    def test_null_drops_a_group(self) -> None:
        self.assertEqual(compose(self.folder, parse("model=null")), {"seed": 0})

    def test_group_without_a_folder(self) -> None:
        with self.assertRaises(OverrideError) as caught:
            compose(self.folder, parse("ghost=b"))
        # as in Hydra, a config group is a folder: without one, ghost=b sets a key
        self.assertEqual(str(caught.exception).splitlines()[0], "Unknown key 'ghost' (+ghost=VALUE adds a new key)")

    def test_parsed_files_are_forgotten_past_the_limit(self) -> None:
        with mock.patch.object(files, "_PARSED_LIMIT", 1):
            self.assertEqual(compose(self.folder, []), {"seed": 0, "model": {"width": 8}})
            self.assertEqual(len(files._PARSED), 1)


class XpSettingTest(unittest.TestCase):
    def test_lookup(self) -> None:
        self.assertEqual(xp_setting(Config({"dirty": "commit"}), "dirty"), "commit")
        self.assertEqual(xp_setting({}, "dirty"), "ask")
        self.assertEqual(xp_setting(None, "signal_grace"), DEFAULT_SIGNAL_GRACE)

    def test_signal_grace_default_is_the_contract_one(self) -> None:
        self.assertEqual(XP_DEFAULTS["signal_grace"], DEFAULT_SIGNAL_GRACE)

    def test_unknown_setting_in_a_flow_mapping(self) -> None:
        folder = temp_dir(self)
        path = write(folder, "tinyxp.yaml", "{lgo_dir: runs}\n")
        with self.assertRaises(ConfigError) as caught:
            compose_xp(folder, [])
        self.assertEqual(str(caught.exception), f"{path}: Unknown tinyxp setting 'lgo_dir'; did you mean 'log_dir'?")

    def test_locate_key_in_an_unreadable_file(self) -> None:
        missing = os.path.join(temp_dir(self), "gone.yaml")
        self.assertEqual(settings._locate_key(missing, "log_dir"), {"path": missing})


if __name__ == "__main__":
    unittest.main()
