"""Tests of config/search.py: xp.sweep declared in the settings, random search (xp.trials, xp.search_seed)."""
from __future__ import annotations

import io
import os
import random
import unittest
from contextlib import redirect_stderr, redirect_stdout

from tinyxp import cli
from tinyxp._files import read_yaml
from tinyxp.config.command_line import parse_command_line
from tinyxp.config.overrides import Choice, Distribution, parse_override
from tinyxp.config.search import expand_command_line, sample
from tinyxp.errors import ConfigError, OverrideError

from .support import run_script, task_script, temp_dir, write_files
from .test_scheduler import fake_env, read_lines
from .test_submit import run_dirs


def tokens(settings):
    return [" ".join(o.text for o in setting) for setting in settings]


class RandomGrammarTest(unittest.TestCase):
    def test_values(self):
        self.assertEqual(parse_override("lr=loguniform(1e-5, 1e-1)").value, Distribution("loguniform", 1e-5, 0.1))
        self.assertEqual(parse_override("x=uniform(-1, 2.5)").value, Distribution("uniform", -1, 2.5))
        self.assertEqual(parse_override("n=randint(1,1)").value, Distribution("randint", 1, 1))
        self.assertEqual(parse_override("o=choice(a, b)").value, Choice(("a", "b")))
        self.assertEqual(parse_override("name='uniform(1,2)'").value, "uniform(1,2)")

    def test_errors(self):
        cases = {
            "lr=loguniform(0, 1)": "Invalid bound '0' of loguniform(): expected a positive number (its logarithm is sampled)\n"
                                   "    lr=loguniform(0, 1)\n                  ^",
            "lr=loguniform(1e-3, -1)": "Invalid bound '-1' of loguniform(): expected a positive number (its logarithm is "
                                       "sampled)\n    lr=loguniform(1e-3, -1)\n                        ^^",
            "x=uniform(1)": "Expected uniform(low, high), got 1 argument\n    x=uniform(1)\n      ^^^^^^^^^^",
            "x=uniform()": "Expected uniform(low, high), got 0 arguments\n    x=uniform()\n      ^^^^^^^^^",
            "x=randint(1, 2, 3)": "Expected randint(low, high), got 3 arguments\n    x=randint(1, 2, 3)\n      ^^^^^^^^^^^^^^^^",
            "x=randint(0, 2.5)": "Expected an integer as argument of randint(), got '2.5'\n    x=randint(0, 2.5)\n                 ^^^",
            "x=uniform(a, 1)": "Expected a finite number as argument of uniform(), got 'a'\n    x=uniform(a, 1)\n              ^",
            "x=uniform(true, 1)": "Expected a finite number as argument of uniform(), got 'true'\n"
                                  "    x=uniform(true, 1)\n              ^^^^",
            "x=uniform(0, .inf)": "Expected a finite number as argument of uniform(), got '.inf'\n"
                                  "    x=uniform(0, .inf)\n                 ^^^^",
            "x=uniform(2, 1)": "Invalid bounds of uniform(): expected low < high, got 2 and 1\n    x=uniform(2, 1)\n      ^^^^^^^^^^^^^",
            "x=uniform(1, 1)": "Invalid bounds of uniform(): expected low < high, got 1 and 1\n    x=uniform(1, 1)\n      ^^^^^^^^^^^^^",
            "x=randint(3, 2)": "Invalid bounds of randint(): expected low <= high, got 3 and 2\n    x=randint(3, 2)\n      ^^^^^^^^^^^^^",
            "x=uniform(0, 1": "Expected ')' to close 'uniform('\n    x=uniform(0, 1\n             ^",
        }
        for token, message in cases.items():
            with self.subTest(token=token):
                with self.assertRaises(OverrideError) as caught:
                    parse_override(token)
                self.assertEqual(str(caught.exception), message)


class SampleTest(unittest.TestCase):
    """A statistical check with a fixed seed: deterministic, never flaky."""

    N = 4000

    def draw(self, token, seed=0):
        rng = random.Random(seed)
        return [sample(parse_override(token).value, rng) for _ in range(self.N)]

    def test_uniform(self):
        values = self.draw("x=uniform(-2, 6)")
        self.assertTrue(all(-2 <= v <= 6 and isinstance(v, float) for v in values))
        self.assertAlmostEqual(sum(values) / self.N, 2.0, delta=0.2)  # mean 2, standard error 0.04
        self.assertAlmostEqual(sum(v < 0 for v in values) / self.N, 0.25, delta=0.03)

    def test_loguniform(self):
        values = self.draw("lr=loguniform(1e-5, 1e-1)")
        self.assertTrue(all(1e-5 <= v <= 1e-1 for v in values))
        decades = [sum(10 ** -(k + 1) <= v < 10 ** -k for v in values) / self.N for k in range(1, 5)]
        for share in decades:  # each decade a quarter of the samples
            self.assertAlmostEqual(share, 0.25, delta=0.03)
        self.assertTrue(all(len(repr(v).replace("e-0", "e-").lstrip("0.")) <= 12 for v in values))  # 6 significant digits

    def test_randint_includes_both_bounds(self):
        values = self.draw("n=randint(1, 4)")
        self.assertEqual(sorted(set(values)), [1, 2, 3, 4])
        for n in range(1, 5):
            self.assertAlmostEqual(values.count(n) / self.N, 0.25, delta=0.03)

    def test_choice(self):
        values = self.draw("o=choice(a, b, [1])")
        self.assertEqual({str(v) for v in values}, {"a", "b", "[1]"})
        self.assertAlmostEqual(values.count("a") / self.N, 1 / 3, delta=0.03)

    def test_rounding_stays_within_the_bounds(self):
        class Edge:
            def uniform(self, low, high):
                return high - 1e-12

        self.assertEqual(sample(Distribution("uniform", 0, 0.1234567), Edge()), 0.1234567)
        self.assertEqual(sample(Distribution("uniform", 0, 1), Edge()), 1.0)

    def test_reproducible(self):
        self.assertEqual(self.draw("lr=loguniform(1e-5, 1)"), self.draw("lr=loguniform(1e-5, 1)"))
        self.assertNotEqual(self.draw("lr=loguniform(1e-5, 1)"), self.draw("lr=loguniform(1e-5, 1)", seed=1))


class ExpandTest(unittest.TestCase):
    def setUp(self):
        self.folder = temp_dir(self)
        write_files(self.folder, {"config.yaml": "lr: 0.1\nseed: 0\nopt: sgd\nwd: 0\n"})

    def settings(self, *args, tinyxp_yaml=None):
        if tinyxp_yaml is not None:
            write_files(self.folder, {"tinyxp.yaml": tinyxp_yaml})
        return tokens(expand_command_line(parse_command_line(list(args)), self.folder))

    def error(self, *args, tinyxp_yaml=None):
        with self.assertRaises(OverrideError) as caught:
            self.settings(*args, tinyxp_yaml=tinyxp_yaml)
        return str(caught.exception)

    def test_plain_runs_and_grid_sweeps_are_unchanged(self):
        self.assertEqual(self.settings("lr=0.5"), ["lr=0.5"])
        self.assertEqual(self.settings("+sweep", "lr=1,2", "seed=range(2)"),
                         ["lr=1 seed=0", "lr=1 seed=1", "lr=2 seed=0", "lr=2 seed=1"])
        self.assertEqual(self.settings("opt=choice(a, b)", "-m"), ["opt=a", "opt=b"])  # choice is a grid without xp.trials

    def test_a_random_search_is_counted_against_max_runs_before_any_sample(self):
        message = self.error("+sweep", "lr=loguniform(1e-4, 1e-1)", "seed=range(10)", "xp.trials=20", "xp.max_runs=100")
        self.assertEqual(message.splitlines()[0],
                         "Cannot run a random search of 200 runs (xp.trials=20 samples, each with every grid setting), "
                         "more than xp.max_runs=100 (set xp.max_runs to allow more)")
        self.assertEqual(len(self.settings("+sweep", "lr=loguniform(1e-4, 1e-1)", "seed=range(10)", "xp.trials=10",
                                           "xp.max_runs=100")), 100)

    def test_declared_sweep_joins_the_command_line(self):
        declared = "sweep:\n  seed: range(2)\n  opt: [sgd, 'a,b']\n  +extra.flag: true\n"
        self.assertEqual(self.settings("+sweep", "lr=1,2", tinyxp_yaml=declared), [
            f"seed={s} opt={o} +extra.flag=true lr={lr}" for s in (0, 1) for o in ("sgd", "'a,b'") for lr in (1, 2)
        ])
        # the command line wins per key, and without +sweep the declared sweep is not run
        self.assertEqual(self.settings("+sweep", "seed=7", "opt=adam"), ["+extra.flag=true seed=7 opt=adam"])
        self.assertEqual(self.settings("lr=3"), ["lr=3"])
        # xp.sweep on the command line replaces the file's
        self.assertEqual(self.settings("-m", "xp.sweep={wd: '0,1'}"), ["wd=0", "wd=1"])

    def test_bad_declared_entries(self):
        path = os.path.join(self.folder, "tinyxp.yaml")
        self.assertEqual(self.error("+sweep", tinyxp_yaml="sweep:\n  lr: 1,\n"),
                         f"Invalid entry 'lr' in the sweep of {path}: Expected a value after ','\n    lr=1,\n        ^")
        self.assertEqual(self.error("+sweep", tinyxp_yaml="sweep:\n  lr: {a: 1}\n"),
                         f"Invalid entry 'lr' in the sweep of {path}: expected values such as '1e-3,1e-4', "
                         "'range(3)' or a list, got a mapping")
        self.assertEqual(self.error("+sweep", "xp.sweep={'l r': 1}"),
                         "Invalid entry 'l r' in xp.sweep: Expected '=' after the key 'l', got ' '\n    l r=\n     ^")
        with self.assertRaises(ConfigError) as caught:
            self.settings("+sweep", tinyxp_yaml="sweep: 1,2\n")
        self.assertIn("Invalid value '1,2' for the tinyxp setting 'sweep': expected a mapping", str(caught.exception))

    def test_random_search(self):
        settings = self.settings("+sweep", "lr=loguniform(1e-4, 1e-1)", "seed=0,1", "xp.trials=3")
        self.assertEqual(len(settings), 6)
        lrs = [s.split()[0] for s in settings]
        self.assertEqual(lrs[0::2], lrs[1::2], "every trial runs with every grid setting, the trials varying slowest")
        self.assertEqual([s.split()[1] for s in settings], ["seed=0", "seed=1"] * 3)
        self.assertEqual(len(set(lrs)), 3)
        for lr in lrs:
            self.assertTrue(1e-4 <= float(lr.split("=")[1]) <= 1e-1)
        self.assertEqual(self.settings("+sweep", "lr=loguniform(1e-4, 1e-1)", "seed=0,1", "xp.trials=3"), settings)
        other = self.settings("+sweep", "lr=loguniform(1e-4, 1e-1)", "seed=0,1", "xp.trials=3", "xp.search_seed=1")
        self.assertNotEqual(other, settings)

    def test_random_search_from_the_settings_file(self):
        declared = "trials: 4\nsearch_seed: 5\nsweep:\n  opt: choice(sgd, adam)\n  wd: uniform(0, 0.1)\n"
        settings = self.settings("-m", tinyxp_yaml=declared)
        self.assertEqual(len(settings), 4)
        for setting in settings:
            opt, wd = setting.split()
            self.assertIn(opt, ("opt=sgd", "opt=adam"))
            self.assertTrue(0 <= float(wd[3:]) <= 0.1)
        # a plain run ignores the search
        self.assertEqual(self.settings("lr=1"), ["lr=1"])

    def test_search_errors(self):
        self.assertEqual(self.error("lr=loguniform(1e-5, 1e-1)"),
                         "Cannot sample 'lr=loguniform(1e-5, 1e-1)' without xp.trials: add xp.trials=N (the number of "
                         "samples) and +sweep")
        self.assertEqual(self.error("-m", "lr=loguniform(1e-5, 1e-1)"),
                         "Cannot sample 'lr=loguniform(1e-5, 1e-1)' without xp.trials: add xp.trials=N (the number of samples)")
        self.assertEqual(self.error("lr=uniform(0, 1)", "xp.trials=2"),
                         "Cannot run a random search without +sweep: 'lr=uniform(0, 1)' describes xp.trials=2 runs; "
                         "add +sweep (or -m) to run them all")
        message = ("Cannot run xp.trials=2 samples: no random parameter to sample (such as lr=loguniform(1e-5,1e-1), "
                   "uniform(a,b), randint(a,b) or choice(a,b))")
        self.assertEqual(self.error("+sweep", "lr=1,2", "xp.trials=2"), message)
        self.assertEqual(self.error("xp.trials=2"), message)
        self.assertEqual(self.error("+sweep", "lr=1,2", tinyxp_yaml="trials: 2\n"), message)
        self.assertIn("Invalid value 0 for the tinyxp setting 'trials': expected a positive integer or null",
                      self.error("+sweep", "lr=uniform(0, 1)", "xp.trials=0"))
        self.assertIn("expected a integer", self.error("+sweep", "xp.search_seed=x"))


class LaunchTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        write_files(self.root, {
            "train.py": task_script("print(ctx.config.lr, ctx.config.seed)", 'config_path="configs"'),
            "configs/config.yaml": "lr: 0.1\nseed: 0\n",
            "configs/tinyxp.yaml": "trials: 3\nsweep:\n  seed: range(2)\n",
        })

    def test_launcher_runs_the_declared_random_search(self):
        result = run_script(os.path.join(self.root, "train.py"), ["+sweep", "lr=loguniform(1e-3,1e-1)"])
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 6)
        configs = [read_yaml(os.path.join(d, "metadata", "config.yaml")) for d in run_dirs(os.path.join(self.root, "logs"))]
        self.assertEqual([f"{c['lr']} {c['seed']}" for c in configs], lines)
        self.assertEqual([c["seed"] for c in configs], [0, 1] * 3)
        self.assertTrue(all(1e-3 <= c["lr"] <= 1e-1 for c in configs))
        info = read_yaml(os.path.join(run_dirs(os.path.join(self.root, "logs"))[0], "metadata", "info.yaml"))
        self.assertEqual(info["overrides"], ["seed=0", f"lr={configs[0]['lr']}"])

    def test_bad_search_exits_2_and_creates_nothing(self):
        script = os.path.join(self.root, "train.py")
        cases = {
            ("+sweep", "lr=loguniform(0,1)"): "error: Invalid bound '0' of loguniform(): expected a positive number "
                                             "(its logarithm is sampled)\n    lr=loguniform(0,1)\n                  ^\n",
            ("+sweep", "xp.trials=2", "lr=1"): "error: Cannot run xp.trials=2 samples: no random parameter to sample "
                                              "(such as lr=loguniform(1e-5,1e-1), uniform(a,b), randint(a,b) or choice(a,b))\n",
        }
        write_files(self.root, {"configs/tinyxp.yaml": ""})
        for args, message in cases.items():
            with self.subTest(args=args):
                result = run_script(script, list(args))
                self.assertEqual((result.returncode, result.stdout, result.stderr), (2, "", message))
                self.assertFalse(os.path.exists(os.path.join(self.root, "logs")))

    def test_sub_submits_the_same_samples_as_one_array(self):
        old = os.getcwd()
        os.chdir(self.root)
        self.addCleanup(os.chdir, old)
        write_files(self.root, {"jobs.sh": "#SBATCH -n 1\npython train.py +sweep lr=loguniform(1e-3,1e-1)\n"})
        calls = fake_env(self)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = cli.main(["sub", "--array", "jobs.sh"])
        self.assertEqual((status, err.getvalue()), (0, ""))
        log_dir = os.path.join(self.root, "logs")
        self.assertEqual(read_lines(calls)[-1], f"sbatch --parsable {log_dir}/.tinyxp/jobs/array-1.sh")
        configs = [read_yaml(os.path.join(d, "metadata", "config.yaml")) for d in run_dirs(log_dir)]
        launched = run_script(os.path.join(self.root, "train.py"), ["+sweep", "lr=loguniform(1e-3,1e-1)", "xp.logging=false"])
        self.assertEqual([f"{c['lr']} {c['seed']}" for c in configs], launched.stdout.splitlines())
        self.assertEqual(len(configs), 6)


if __name__ == "__main__":
    unittest.main()
