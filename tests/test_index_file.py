"""The index file's layout (read/stored.py): damage found only when a line is read, settled
stamps in the journal, and the journal folded in without decoding every run."""
from __future__ import annotations

import os
import unittest
import warnings
from unittest import mock

from .bench import synth
from .index_files import read_index_file
from .support import temp_dir
from .test_index_journal import age_runs, counted_reads, quiet_reader
from tinyxp.read import store as store_module
from tinyxp.read.row import StoredRow

QUERY = "config.seed < 3 & info.status == 'COMPLETE'"


def damage(path: str, needle: bytes) -> None:
    """Overwrite the first line of the file that holds needle with as many bytes of garbage."""
    with open(path, "rb") as file:
        data = file.read()
    start = data.index(needle)
    start = data.rfind(b"\n", 0, start) + 1
    end = data.index(b"\n", start)
    with open(path, "wb") as file:
        file.write(data[:start] + b"#" * (end - start) + data[end:])


class IndexFileTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 12, n_lines=3)
        age_runs(self.log_dir)
        self.index = os.path.join(self.log_dir, ".tinyxp", "index.json")
        self.fresh = quiet_reader(self.log_dir)
        self.expected = self.fresh.filter(QUERY)["info.run_id"]
        self.assertTrue(self.expected)

    def test_a_reader_decodes_nothing_until_asked(self) -> None:
        reader, calls = counted_reads(self.log_dir)
        self.assertEqual(calls, [])
        self.assertEqual(set(map(type, reader._entries.values())), {int})
        rows = reader.filter(QUERY)
        self.assertEqual(set(map(type, reader._entries.values())), {int})  # the query read its columns alone
        self.assertIsInstance(rows[0], StoredRow)
        self.assertEqual(rows[0]["train.loss"], self.fresh.run(rows[0].run_id)["train.loss"])
        self.assertEqual(rows[0].static, self.fresh.run(rows[0].run_id).static)
        with self.assertRaises(AttributeError):
            rows[0].no_such_attribute

    def test_a_table_of_a_few_columns_reads_those_columns(self) -> None:
        reader = quiet_reader(self.log_dir)
        runs = reader.runs
        self.assertEqual(runs.diff("config."), self.fresh.runs.diff("config."))
        self.assertEqual(runs["config.seed"], self.fresh.runs["config.seed"])
        self.assertEqual([reader.summary(row, "last", "train.loss") for row in runs],
                         [self.fresh.summary(row, "last", "train.loss") for row in self.fresh.runs])
        self.assertEqual(runs.keys(), self.fresh.runs.keys())
        self.assertIn("config.seed", runs[0])
        self.assertIsNone(reader._stored.values)  # no run's values made whole
        self.assertEqual(set(map(type, reader._entries.values())), {int})
        self.assertEqual(reader.summary(runs[0], "min", "train.loss"), self.fresh.summary(self.fresh.runs[0], "min", "train.loss"))
        self.assertIs(type(reader._entries["1"]), dict)  # a summary cached: the run decoded, for the journal
        self.assertEqual(runs[0].static, self.fresh.runs[0].static)

    def test_a_damaged_column_makes_the_runs_read_again(self) -> None:
        damage(self.index, b'"COMPLETE"')
        reader, _ = counted_reads(self.log_dir)
        with mock.patch.object(store_module, "write_whole", wraps=store_module.write_whole) as written:
            self.assertEqual(reader.filter(QUERY)["info.run_id"], self.expected)
        self.assertEqual(written.call_count, 1)  # the index written whole, from every run read again
        _, calls = counted_reads(self.log_dir)
        self.assertEqual(calls, [])

    def test_a_damaged_run_line_makes_that_run_read_again(self) -> None:
        damage(self.index, b'"stamps"')  # the first run's line
        reader, calls = counted_reads(self.log_dir)
        self.assertEqual(calls, [])  # found when it is decoded
        self.assertEqual(reader.run(1).static, self.fresh.run(1).static)
        self.assertEqual([row.static for row in reader.filter()], [row.static for row in self.fresh.filter()])

    def test_a_truncated_index_is_found_when_read(self) -> None:
        with open(self.index, "rb") as file:
            data = file.read()
        with open(self.index, "wb") as file:
            file.write(data[: data.index(b"\n") + 100])  # line 0 whole, the rest cut
        reader, _ = counted_reads(self.log_dir)
        self.assertEqual(reader.filter(QUERY)["info.run_id"], self.expected)
        self.assertEqual(len(reader.filter()), 12)

    def test_settled_lines_in_the_journal(self) -> None:
        journal = os.path.join(self.log_dir, ".tinyxp", "index.journal")
        with open(journal, "w", encoding="utf-8") as file:
            file.write('["2", "settled", [1, 2]]\n["3", "settled", "bad"]\n["99", "settled", [1, 2]]\n')
        reader, calls = counted_reads(self.log_dir)
        self.assertEqual(calls, [])  # run 2's folder no longer matches: its files are checked, not read
        self.assertEqual(reader.filter(QUERY)["info.run_id"], self.expected)
        synth.write_run(self.log_dir, 13, {"seed": 1}, metrics={"train": [{"loss": 0.5}]})
        quiet_reader(self.log_dir)  # run 13's entry in the journal
        with open(journal, "a", encoding="utf-8") as file:
            file.write('["2", "settled", [3, 4]]\n["13", "settled", [5, 6]]\n')
        loaded = store_module.load_index([self.index], self.log_dir)
        position = loaded.entries["2"]
        self.assertEqual((loaded.stored.settled_size[position], loaded.stored.settled_mtime[position]), (3, 4))
        self.assertEqual(loaded.entries["13"]["settled"], [5, 6])

    def test_folding_copies_the_runs_not_decoded(self) -> None:
        synth.write_run(self.log_dir, 13, {"seed": 1}, metrics={"train": [{"loss": 0.5}]})
        with mock.patch.object(store_module, "JOURNAL_MIN_BYTES", 0), mock.patch.object(store_module, "JOURNAL_SHARE", 0):
            reader = quiet_reader(self.log_dir)
        self.assertFalse(os.path.exists(os.path.join(self.log_dir, ".tinyxp", "index.journal")))
        self.assertEqual(set(map(type, reader._entries.values())), {int, dict})  # folded without decoding
        data = read_index_file(self.index)
        self.assertEqual(len(data["runs"]), 13)
        for name, entry in data["runs"].items():
            row = self.fresh.run(name).static if name != "13" else reader.run(13).static
            self.assertEqual(entry["values"], row)
            self.assertEqual(list(entry["values"]), list(row))  # the same order of columns

    def test_folding_a_damaged_index_reads_every_run_again(self) -> None:
        damage(self.index, b'"COMPLETE"')
        synth.write_run(self.log_dir, 13, {"seed": 1}, metrics={"train": [{"loss": 0.5}]})
        with mock.patch.object(store_module, "JOURNAL_MIN_BYTES", 0), mock.patch.object(store_module, "JOURNAL_SHARE", 0):
            reader = quiet_reader(self.log_dir)
        self.assertEqual(set(map(type, reader._entries.values())), {dict})  # every run decoded, or read again
        self.assertEqual(reader.filter(QUERY)["info.run_id"], self.expected + [13])
        data = read_index_file(self.index)
        self.assertEqual([entry["values"] for entry in data["runs"].values()], [row.static for row in reader.filter()])


if __name__ == "__main__":
    with warnings.catch_warnings():
        unittest.main()
