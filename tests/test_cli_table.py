"""`tinyxp runs` for people: the terminal's width, sort directions, ./logs by default, colours."""
from __future__ import annotations

import io
import os
import unittest
from unittest import mock

from .bench import synth
from .support import temp_dir
from .test_cli_runs import run_cli
from tinyxp.view.table import fit_table, terminal_width, use_colour


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class RunsForPeopleTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 4, n_lines=3)

    def test_sort_descending_three_ways(self) -> None:
        for argv in (("--sort", "-id"), ("--sort=-id",), ("--sort", "id:desc"), ("--sort", "config.seed,id:desc")):
            with self.subTest(argv=argv):
                self.assertEqual(run_cli("runs", self.log_dir, "-c", "id", *argv)[1].split(), ["id", "4", "3", "2", "1"])
        self.assertEqual(run_cli("runs", self.log_dir, "-c", "id", "--sort", "id:asc")[1].split(), ["id", "1", "2", "3", "4"])
        self.assertEqual(run_cli("runs", self.log_dir, "--sort", ","), (2, "", "tinyxp: error: Expected at least one column name in --sort, got ','\n"))

    def test_id_in_query(self) -> None:
        self.assertEqual(run_cli("runs", self.log_dir, "-c", "id", "-q", "id > 2 & status == 'COMPLETE'")[1].split(), ["id", "3", "4"])

    def test_logs_is_the_default_folder(self) -> None:
        cwd = os.getcwd()
        os.chdir(os.path.dirname(self.log_dir))
        try:
            self.assertEqual(run_cli("runs", "-c", "id")[1].split(), ["id", "1", "2", "3", "4"])
            os.rename("logs", "elsewhere")
            self.assertEqual(run_cli("runs"), (2, "", "tinyxp: error: Cannot read log directory 'logs': it does not exist\n"))
        finally:
            os.chdir(cwd)

    def test_counters_shown_when_asked(self) -> None:
        out = run_cli("runs", self.log_dir, "-c", "id,last(train.epoch)")[1]
        self.assertEqual(out.split("\n")[0].split(), ["id", "last(train.epoch)"])

    def test_fits_the_terminal_width(self) -> None:
        with mock.patch("tinyxp.view.table.terminal_width", return_value=60):
            status, out, _ = run_cli("runs", self.log_dir)
            wide = run_cli("runs", self.log_dir, "--wide")[1]
        lines = out.rstrip("\n").split("\n")
        self.assertEqual(status, 0)
        self.assertTrue(all(len(line) <= 60 for line in lines[:-1]), lines)
        self.assertTrue(lines[-1].startswith("(") and lines[-1].endswith("; --wide shows them)"), lines[-1])
        self.assertGreater(max(map(len, wide.split("\n"))), 60)
        self.assertNotIn("more column", wide)

    def test_cells_are_cut_only_when_needed(self) -> None:
        long = "x" * 40
        self.assertEqual(fit_table(["a"], [[long]], None), f"a\n{long}")
        self.assertEqual(fit_table(["a"], [[long]], 200), f"a\n{long}")
        self.assertEqual(fit_table(["a", "b"], [[long, 1]], 42).split("\n")[1], "x" * 23 + "…  1")

    def test_narrow_terminal_is_read_as_40_columns(self) -> None:
        table = fit_table(["id", "name", "other"], [[1, "a" * 20, "b" * 20]], 10).split("\n")
        self.assertEqual(table[0].split(), ["id", "name"])
        self.assertEqual(table[-1], "(1 more column(s) do not fit: other; --wide shows them)")
        self.assertEqual(fit_table(["name"], [["a" * 60]], 10).split("\n"), ["name", "a" * 23 + "…"])

    def test_width_only_for_a_terminal(self) -> None:
        with mock.patch.dict(os.environ, {"COLUMNS": "50"}):
            self.assertIsNone(terminal_width(io.StringIO()))
            self.assertEqual(terminal_width(Terminal()), 50)

    def test_status_colours_on_a_terminal_only(self) -> None:
        table = fit_table(["id", "status"], [[1, "FAILED"], [2, "odd"]], None, colour=True).split("\n")
        self.assertEqual(table, ["id  status", " 1  \033[31mFAILED\033[0m", " 2  odd"])
        with mock.patch.dict(os.environ, {"NO_COLOR": "", "TERM": "xterm"}):
            self.assertTrue(use_colour(Terminal()))
            self.assertFalse(use_colour(io.StringIO()))
        with mock.patch.dict(os.environ, {"NO_COLOR": "1"}):
            self.assertFalse(use_colour(Terminal()))


if __name__ == "__main__":
    unittest.main()
