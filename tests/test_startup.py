"""Tests of what keeps a launch cheap: the argparse-free path, the hand-written records,
and the modules a trivial run imports.

Speed itself is measured by tests/bench/bench_launch.py; these tests check that the
shortcuts give exactly what the slow paths give, and that no heavy module is imported.
"""
from __future__ import annotations

import contextlib
import copy
import io
import pickle
import random
import subprocess
import sys
import unittest

from .support import run_process, script_env, task_script, temp_dir, write_files
from tinyxp.jobs import backends as scheduler
from tinyxp._contract import JOB_ID_ENVS, SCHEDULERS
from tinyxp.errors import OverrideError
from tinyxp.config._tokenizer import Token
from tinyxp.config.command_line import CommandLine, _build_parser, parse_command_line
from tinyxp.config.overrides import Override, Sweep

# Modules a trivial logged run outside a repository and outside a job must not import:
# standard modules that cost milliseconds, the submission machinery, and what only a run
# in a git working tree, a snapshot or a scheduler job needs.
HEAVY_MODULES = (
    "argparse", "dataclasses", "importlib", "inspect", "shutil", "typing", "subprocess", "shlex", "selectors",
    "socket", "getpass", "datetime", "tempfile", "hashlib", "platform", "locale", "warnings", "contextlib", "math", "json",
    "tinyxp.jobs.backends", "tinyxp.run.git", "tinyxp.run.snapshot", "tinyxp.run.job", "tinyxp._commands",
    "tinyxp.run.ranks", "tinyxp.jobs.local",
)


def parse_with_argparse(args):
    """What parse_command_line gives when argparse reads the arguments (the slow path)."""
    namespace = _build_parser("train.py").parse_intermixed_args(list(args))
    line = parse_command_line(namespace.overrides)
    return CommandLine(line.overrides, line.multirun or namespace.multirun, namespace.cfg)


class FastPathTest(unittest.TestCase):
    PIECES = ["lr=0.1", "seed=1,2", "+sweep", "~model", "++x=[1, 2]", "msg='a b'", "", " ", "a=b=c",
              "x=range(3)", "y=choice(a, b)", "name=it's", "+new.key={a: 1}", "k=", "z=\\,", "p=%s"]

    def test_plain_tokens_give_what_argparse_gives(self):
        rng = random.Random(7)
        for _ in range(300):
            tokens = rng.sample(self.PIECES, rng.randint(0, 5))
            with self.subTest(tokens=tokens):
                try:
                    expected = parse_with_argparse(tokens)
                except OverrideError as err:
                    with self.assertRaises(OverrideError) as caught:
                        parse_command_line(tokens)
                    self.assertEqual(str(caught.exception), str(err))
                    continue
                self.assertEqual(parse_command_line(tokens), expected)

    def test_errors_match_argparse_path(self):
        for tokens in (["a=1", "a=2"], ["=1"], ["a"], ["x=[1"], ["lr=1,2", "bad key=1"]):
            with self.subTest(tokens=tokens):
                with self.assertRaises(OverrideError) as fast:
                    parse_command_line(tokens)
                with self.assertRaises(OverrideError) as slow:
                    parse_with_argparse(tokens)
                self.assertEqual(str(fast.exception), str(slow.exception))

    def test_flags_still_go_through_argparse(self):
        self.assertEqual(parse_command_line(["-m", "a=1,2"]).multirun, True)
        self.assertEqual(parse_command_line(["a=1", "--cfg"]).show_config, True)
        self.assertEqual(parse_command_line(["--multi", "a=1"]).multirun, True)  # argparse abbreviations
        stderr = io.StringIO()
        with self.assertRaises(SystemExit) as caught, contextlib.redirect_stderr(stderr):
            parse_command_line(["a=1", "--nope"])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("unrecognized arguments: --nope", stderr.getvalue())


class RecordTest(unittest.TestCase):
    """Override, Sweep and CommandLine behave as the dataclasses they replaced."""

    def test_equality_hash_and_repr(self):
        override = Override("set", "lr", 0.1, "lr=0.1")
        self.assertEqual(override, Override(kind="set", key="lr", value=0.1, text="lr=0.1"))
        self.assertNotEqual(override, Override("set", "lr", 0.2, "lr=0.2"))
        self.assertNotEqual(override, ("set", "lr", 0.1, "lr=0.1"))
        self.assertEqual(hash(override), hash(Override("set", "lr", 0.1, "lr=0.1")))
        self.assertEqual(repr(override), "Override(kind='set', key='lr', value=0.1, text='lr=0.1')")
        self.assertEqual(repr(Sweep((1, 2))), "Sweep(values=(1, 2))")
        self.assertEqual(repr(CommandLine([], False, True)), "CommandLine(overrides=[], multirun=False, show_config=True, config_options={})")
        with self.assertRaises(TypeError):
            hash(CommandLine([], False, False))

    def test_frozen_and_copyable(self):
        sweep = Sweep(([1, 2], 3))
        with self.assertRaises(AttributeError):
            sweep.values = ()
        with self.assertRaises(AttributeError):
            del sweep.values
        self.assertEqual(pickle.loads(pickle.dumps(sweep)), sweep)
        self.assertEqual(copy.deepcopy(Override("add", "x", sweep, "+x=[1, 2],3")).value, sweep)
        line = CommandLine([], False, False)
        line.multirun = True
        self.assertEqual(line, CommandLine([], True, False))

    def test_wrong_arguments(self):
        for args, kwargs in (((1,), {}), (("set", "k", 1, "k=1", 5), {}), (("set", "k", 1), {"kind": "set"}),
                             (("set", "k", 1), {"txt": "k=1"})):
            with self.subTest(args=args, kwargs=kwargs):
                with self.assertRaises(TypeError) as caught:
                    Override(*args, **kwargs)
                self.assertEqual(str(caught.exception), "Override() takes the arguments kind, key, value, text")

    def test_token_is_a_named_tuple(self):
        self.assertEqual(Token("NAME", "lr", 0), ("NAME", "lr", 0))
        self.assertEqual(Token("NAME", "lr", 0).position, 0)


class JobVariablesTest(unittest.TestCase):
    """run/job.py reads the job variables of _contract: they are the backends'."""

    def test_job_id_variables_are_the_backends(self):
        self.assertEqual({name: b.job_id_env for name, b in scheduler.BACKENDS.items()}, JOB_ID_ENVS)
        self.assertEqual(tuple(scheduler.BACKENDS), SCHEDULERS)


MODULES_TASK = """\
for step in range(3):
    ctx.logger.log_metrics({"step": step})
print(" ".join(sorted(set(sys.modules) - BEFORE)))
"""


class ImportsTest(unittest.TestCase):
    def test_trivial_run_imports_no_heavy_module(self):
        root = temp_dir(self)
        if run_process(["git", "rev-parse"], cwd=root, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=30).returncode == 0:
            self.skipTest(f"{root} is inside a git repository, where git is imported on purpose")
        script = "import sys\nBEFORE = set(sys.modules)\n" + task_script(MODULES_TASK, 'config_path="configs"')
        write_files(root, {"train.py": script, "configs/config.yaml": "seed: 0\n"})
        env = {name: "" for name in JOB_ID_ENVS.values()}
        # -S: without site, whose .pth files may import some of these modules first
        result = subprocess.run([sys.executable, "-S", "train.py", "seed=1"], cwd=root, env=script_env(env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        modules = set(result.stdout.split())
        self.assertIn("tinyxp.run.logger", modules)
        self.assertEqual([name for name in HEAVY_MODULES if name in modules], [])


if __name__ == "__main__":
    unittest.main()
