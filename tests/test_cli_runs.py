"""`tinyxp runs` and `tinyxp show`: output formats, defaults, and bad input (exit status 2)."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import unittest
import unittest.mock

from .bench import synth
from .support import finish, run_process, script_env, start_process, temp_dir
from tinyxp.cli import main


def run_cli(*argv: str) -> tuple:
    """(exit status, stdout, stderr) of tinyxp.cli.main(argv)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


class RunsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 4, n_lines=3)

    def test_default_table(self) -> None:
        status, out, err = run_cli("runs", self.log_dir, "-c", "id,status,config.model.name,config.optimizer.lr,last(train.epoch)")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(
            out.split("\n"),
            [
                "id  status    config.model.name  config.optimizer.lr  last(train.epoch)",
                " 1  COMPLETE  mlp                                0.1                  2",
                " 2  COMPLETE  cnn                                0.1                  2",
                " 3  COMPLETE  mlp                               0.01                  2",
                " 4  COMPLETE  cnn                               0.01                  2",
                "",
            ],
        )

    def test_default_columns_are_id_status_varying_config_and_last_metrics(self) -> None:
        status, out, _ = run_cli("runs", self.log_dir)
        self.assertEqual(status, 0)
        self.assertEqual(
            out.split("\n")[0].split(),
            ["id", "status", "config.model.name", "config.model.num_units", "config.optimizer.lr",
             "last(test.acc)", "last(test.loss)", "last(train.acc)", "last(train.loss)"],  # no counters (epoch)
        )

    def test_the_cycle_collector_is_paused_while_the_table_is_made_only(self) -> None:
        import gc

        from tinyxp.read import store

        states = []
        with unittest.mock.patch.object(store.gc, "disable", side_effect=lambda: states.append("disabled")):
            self.assertEqual(run_cli("runs", self.log_dir)[0], 0)
        self.assertIn("disabled", states)
        self.assertTrue(gc.isenabled())

    def test_query_and_sort(self) -> None:
        status, out, _ = run_cli("runs", self.log_dir, "-q", "config.model.name == 'mlp'", "-c", "id", "--sort=-config.optimizer.lr")
        self.assertEqual((status, out), (0, "id\n 1\n 3\n"))
        status, out, _ = run_cli("runs", self.log_dir, "-c", "id", "--sort", "last(train.loss)")
        self.assertEqual(set(out.split()[1:3]), {"3", "4"})  # lr 0.01 ends lowest
        self.assertEqual(run_cli("runs", self.log_dir, "-c", "status", "--sort=-id")[1].split(), ["status"] + ["COMPLETE"] * 4)
        self.assertEqual(run_cli("runs", self.log_dir, "-c", "id", "--sort=-id")[1].split(), ["id", "4", "3", "2", "1"])

    def test_csv_and_json(self) -> None:
        _, out, _ = run_cli("runs", self.log_dir, "-c", "id,config.optimizer.lr,info.overrides", "--format", "csv")
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0], ["id", "config.optimizer.lr", "info.overrides"])
        self.assertEqual(rows[1][:2], ["1", "0.1"])
        self.assertEqual(json.loads(rows[1][2])[0], "seed=0")
        _, out, _ = run_cli("runs", self.log_dir, "-c", "id,status,min(train.loss)", "--format", "json", "-q", "config.seed == 0 & config.optimizer.lr == 0.1")
        data = json.loads(out)
        self.assertEqual([{k: v for k, v in d.items() if k != "min(train.loss)"} for d in data], [{"id": 1, "status": "COMPLETE"}, {"id": 2, "status": "COMPLETE"}])
        self.assertIsInstance(data[0]["min(train.loss)"], float)

    def test_artifact_columns_give_paths(self) -> None:
        run_dir = synth.write_run(self.log_dir, 5, {"seed": 9}, artifacts={"pickle/last.pkl": [1]})
        path = os.path.join(run_dir, "artifacts", "pickle", "last.pkl")
        argv = ("runs", self.log_dir, "-q", "config.seed == 9", "-c", "id,artifacts.pickle/last.pkl")
        self.assertEqual(json.loads(run_cli(*argv, "--format", "json")[1]), [{"id": 5, "artifacts.pickle/last.pkl": path}])
        self.assertEqual(list(csv.reader(io.StringIO(run_cli(*argv, "--format", "csv")[1])))[1], ["5", path])

    def test_output_into_a_closed_pipe(self) -> None:
        # the reader of the output is gone before anything is written (`tinyxp runs logs | head`)
        process = start_process(self, [sys.executable, "-m", "tinyxp", "runs", self.log_dir], env=script_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdout.close()
        _, stderr = finish(process)
        self.assertEqual((process.returncode, stderr.decode()), (141, ""))

    def test_nan_and_infinities(self) -> None:
        # a diverged run: strict JSON (null), and last when sorting either way
        synth.write_run(self.log_dir, 5, {"seed": 9}, metrics={"train": [{"loss": float("inf")}, {"loss": float("nan")}]})
        argv = ("runs", self.log_dir, "-q", "config.seed == 9", "-c", "id,last(train.loss),train.loss", "--format", "json")
        self.assertEqual(json.loads(run_cli(*argv)[1]), [{"id": 5, "last(train.loss)": None, "train.loss": [None, None]}])
        self.assertEqual(run_cli("runs", self.log_dir, "-c", "id", "--sort", "last(train.loss)")[1].split()[-1], "5")
        self.assertEqual(run_cli("runs", self.log_dir, "-c", "id", "--sort=-last(train.loss)")[1].split()[-1], "5")

    def test_no_match(self) -> None:
        status, out, err = run_cli("runs", self.log_dir, "-q", "config.seed == 7")
        self.assertEqual((status, out, err), (0, "", "tinyxp: no runs match the query\n"))

    def test_empty_log_dir(self) -> None:
        empty = temp_dir(self)
        status, out, err = run_cli("runs", empty)
        self.assertEqual((status, out), (0, ""))
        self.assertEqual(err, f"tinyxp: no runs in {empty!r} (runs are folders named by integers)\n")

    def test_partial_runs_are_warned_about(self) -> None:
        os.remove(os.path.join(self.log_dir, "2", "metadata", "info.yaml"))
        status, out, err = run_cli("runs", self.log_dir, "-c", "id")
        self.assertEqual((status, out), (0, "id\n 1\n 3\n 4\n"))
        self.assertEqual(err, f"tinyxp: warning: Read 1 partial run file(s) in part:\n  {os.path.join(self.log_dir, '2')}: missing metadata/info.yaml\n")

    def test_bad_input(self) -> None:
        missing = os.path.join(self.log_dir, "nope")
        cases = {
            ("runs", missing): f"tinyxp: error: Cannot read log directory {missing!r}: it does not exist\n",
            ("runs", self.log_dir, "-q", "config.seed >"): "tinyxp: error: Expected a value: a number, a 'string', true, false, null or a list, got the end of the query\n"
            "    config.seed >\n"
            "                 ^\n",
            ("runs", self.log_dir, "-q", "config.sed == 1"): "tinyxp: error: Unknown field 'config.sed'; did you mean 'config.seed'?\n"
            "    config.sed == 1\n"
            "    ^^^^^^^^^^\n",
            ("runs", self.log_dir, "-c", "id,config.sed"): "tinyxp: error: Unknown column 'config.sed'; did you mean 'config.seed'?\n",
            ("runs", self.log_dir, "-c", "last(train.los)"): "tinyxp: error: Unknown column 'train.los' in 'last(train.los)' (a metric column); did you mean 'train.loss'?\n",
            ("runs", self.log_dir, "--sort", "config.sed"): "tinyxp: error: Unknown column 'config.sed'; did you mean 'config.seed'?\n",
            ("runs", self.log_dir, "-c", ","): "tinyxp: error: Expected at least one column name in --columns, got ','\n",
            ("runs", self.log_dir, "-c", "mean(train.loss)"): "tinyxp: error: Unknown function 'mean' in 'mean(train.loss)': expected last, min, max or count\n",
            ("runs", self.log_dir, "-c", "lst(train.loss)"): "tinyxp: error: Unknown function 'lst' in 'lst(train.loss)': expected last, min, max or count; did you mean 'last'?\n",
            ("runs", self.log_dir, "-c", "last(config.seed)"): "tinyxp: error: Cannot take last() of 'config.seed': it is not a metric column\n",
            ("show", self.log_dir): f"tinyxp: error: Cannot show {self.log_dir!r}: it is not a run directory (no metadata/info.yaml)\n",
            ("show", missing): f"tinyxp: error: Cannot show {missing!r}: it does not exist\n",
        }
        for argv, message in cases.items():
            with self.subTest(argv=argv):
                self.assertEqual(run_cli(*argv), (2, "", message))

    def test_bad_input_from_a_subprocess_exits_with_status_2(self) -> None:
        for argv in (["runs", self.log_dir, "-q", "config.seed = 1"], ["runs", os.path.join(self.log_dir, "nope")], ["show", self.log_dir]):
            with self.subTest(argv=argv):
                result = run_process(
                    [sys.executable, "-m", "tinyxp", *argv], env=script_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True
                )
                # the same one clear message as in-process, no traceback
                expected = run_cli(*argv)
                self.assertEqual(expected[0], 2)
                self.assertTrue(expected[2].startswith("tinyxp: error: "), expected[2])
                self.assertEqual((result.returncode, result.stdout, result.stderr), expected)


class ShowTest(unittest.TestCase):
    def test_show_prints_config_info_metrics_and_artifacts(self) -> None:
        log_dir = os.path.join(temp_dir(self), "logs")
        run_dir = synth.write_run(
            log_dir, 3, {"seed": 1, "optimizer": {"lr": 0.1}},
            metrics={"train": [{"loss": 2.0, "epoch": 0}, {"loss": 0.5, "epoch": 1}, {"loss": 1.0, "epoch": 2}]},
            artifacts={"pickle/last.pkl": {}},
        )
        status, out, err = run_cli("show", run_dir)
        self.assertEqual((status, err), (0, ""))
        text = out.split("\n")
        self.assertEqual(text[:5], ["config:", "  seed: 1", "  optimizer:", "    lr: 0.1", "info:"])
        self.assertIn("  status: COMPLETE", text)
        start = text.index("metrics:")
        self.assertEqual(
            text[start:],
            [
                "metrics:",
                "  metric       count  last  min  max",
                "  train.loss       3     1  0.5    2",
                "  train.epoch      3     2    0    2",
                "artifacts:",
                "  pickle/last.pkl",
                "",
            ],
        )

    def test_show_names_a_damaged_info_yaml_and_shows_the_rest(self) -> None:
        log_dir = os.path.join(temp_dir(self), "logs")
        run_dir = synth.write_run(log_dir, 1, {"seed": 1}, metrics={"train": [{"loss": 0.5}]})
        info = os.path.join(run_dir, "metadata", "info.yaml")
        with open(info, "w") as file:
            file.write("run_id: 1\nstart_time: '2026-11")  # cut short
        status, out, err = run_cli("show", run_dir)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(
            out.split("\n")[:4],
            ["config:", "  seed: 1", f"info: (cannot read metadata/info.yaml: {info}:2:13: Unclosed single-quoted string: expected a closing \"'\")", "metrics:"],
        )

    def test_show_a_metrics_file_that_cannot_be_read(self) -> None:
        run_dir = synth.write_run(os.path.join(temp_dir(self), "logs"), 1, {})
        path = os.path.join(run_dir, "metrics", "train.jsonl")
        os.makedirs(path)  # a folder where the file should be
        self.assertEqual(run_cli("show", run_dir), (2, "", f"tinyxp: error: Cannot read metrics file {path!r}: Is a directory\n"))

    def test_show_marks_a_silent_running_run_lost(self) -> None:
        log_dir = os.path.join(temp_dir(self), "logs")
        run_dir = synth.write_run(log_dir, 1, {}, status="RUNNING")
        os.utime(os.path.join(run_dir, "heartbeat"), (0, 0))
        os.utime(os.path.join(run_dir, "metadata", "info.yaml"), (0, 0))
        _, out, _ = run_cli("show", run_dir)
        self.assertIn("  status: LOST", out.split("\n"))
        self.assertIn("metrics: (none)", out.split("\n"))
        _, out, _ = run_cli("show", run_dir, "--lost-after", "1e12")
        self.assertIn("  status: RUNNING", out.split("\n"))


if __name__ == "__main__":
    unittest.main()


class ParserTest(unittest.TestCase):
    """main() adds only the named command's arguments: the same ones the whole parser has."""

    def help_of(self, parser, argv: list) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit):
            parser.parse_args(argv)
        return out.getvalue()

    def test_each_command_alone_has_the_arguments_of_the_whole_parser(self) -> None:
        from tinyxp.cli import COMMANDS, build_parser

        whole = build_parser()
        for name in COMMANDS:
            with self.subTest(command=name):
                self.assertEqual(self.help_of(build_parser(name), [name, "--help"]), self.help_of(whole, [name, "--help"]))
        self.assertIn("runs", self.help_of(build_parser(), ["--help"]))

    def test_help_and_bad_commands_from_main(self) -> None:
        for argv in (["--help"], ["nonsense"], []):
            with self.subTest(argv=argv), self.assertRaises(SystemExit):
                run_cli(*argv)
