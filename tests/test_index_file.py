"""The index file's layout (read/stored.py): damage found only when a line is read, settled
stamps in the journal, and the journal folded in without decoding every run."""
from __future__ import annotations

import json
import os
import shutil
import unittest
import warnings
from unittest import mock

from .bench import synth
from .index_files import read_index_file
from .support import temp_dir
from .test_index_journal import age_runs, counted_reads, quiet_reader
from tinyxp.read import store as store_module
from tinyxp.read import stored as stored_module
from tinyxp._files import update_notes
from tinyxp.read.reader import ReaderWarning
from tinyxp.read.row import StoredRow

QUERY = "config.seed < 3 & info.status == 'COMPLETE'"


SAVED_FILTERS: list = []


def setUpModule() -> None:
    """Damage is said once, as a warning: tests that look for it catch it; the others keep the output clean."""
    SAVED_FILTERS[:] = warnings.filters[:]
    warnings.filterwarnings("ignore", category=ReaderWarning)


def tearDownModule() -> None:
    warnings.filters[:] = SAVED_FILTERS


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

    def test_rows_stay_as_of_the_refresh_that_made_them(self) -> None:
        reader = quiet_reader(self.log_dir)
        rows, matches = reader.filter(), reader.filter(QUERY)
        first = rows[0]
        shutil.rmtree(os.path.join(self.log_dir, "2"))
        update_notes(os.path.join(self.log_dir, "1"), add=["late"])
        reader.refresh()
        self.assertEqual(len(reader), 11)
        self.assertEqual(rows[1].static, self.fresh.run(2).static)  # run 2 as it was, though removed since
        self.assertEqual(rows[1]["config.seed"], self.fresh.run(2)["config.seed"])
        self.assertEqual(first["tags"], [])
        self.assertEqual(reader.run(1)["tags"], ["late"])
        self.assertEqual(matches["info.run_id"], self.expected)
        self.assertIs(rows[0], first)
        self.assertEqual([row.run_id for row in rows[2:4]], ["3", "4"])
        self.assertEqual(rows[-1].run_id, "12")

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
        with mock.patch.object(store_module, "write_whole", wraps=store_module.write_whole) as written, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said once: tested below
            self.assertEqual(reader.filter(QUERY)["info.run_id"], self.expected)
        self.assertEqual(written.call_count, 1)  # the index written whole, from every run read again
        _, calls = counted_reads(self.log_dir)
        self.assertEqual(calls, [])

    def test_a_damaged_run_line_makes_that_run_read_again(self) -> None:
        damage(self.index, b'"stamps"')  # the first run's line
        reader, calls = counted_reads(self.log_dir)
        self.assertEqual(calls, [])  # found when it is decoded
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.assertEqual(reader.run(1).static, self.fresh.run(1).static)
            self.assertEqual([row.static for row in reader.filter()], [row.static for row in self.fresh.filter()])
        self.assertEqual(len(caught), 1)

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

    def test_a_run_s_earlier_journal_lines_are_not_decoded(self) -> None:
        lines = [b'["3",{"a":1}]', b'["4",null]', b'["3","settled",[1,2]]', b'["3", "settled", [1, 2]]', b'["3",{"a":2}]',
                 b'["",{"fields":{}}]', b'["x",{}]', b'["4",{"b":1}]', b'["3",{"a":3}]', b'torn']
        self.assertEqual(store_module.superseded_lines(lines), {0, 1, 4})

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


class DamagedIndexTest(unittest.TestCase):
    """Each kind of damage to the index file: the runs concerned are read again, the answers stay right."""

    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 6, n_lines=3)
        age_runs(self.log_dir)
        self.index = os.path.join(self.log_dir, ".tinyxp", "index.json")
        self.fresh = quiet_reader(self.log_dir)
        self.expected = self.fresh.filter(QUERY)["info.run_id"]
        self.fresh.save_index()

    def damage_in_place(self, needle: bytes) -> None:
        """Damage a line, the file keeping its size and time: the saved fields still apply to it."""
        st = os.stat(self.index)
        damage(self.index, needle)
        os.utime(self.index, ns=(st.st_atime_ns, st.st_mtime_ns))

    def test_a_damaged_column_of_the_query(self) -> None:
        self.damage_in_place(b'"COMPLETE"')
        self.damage_in_place(b'"stamps"')
        reader = quiet_reader(self.log_dir)
        self.assertIsNotNone(reader._fields)  # the query reads the column itself
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.assertEqual(reader.filter(QUERY)["info.run_id"], self.expected)
            self.assertEqual(reader.filter()["train.loss"], self.fresh.runs["train.loss"])
        self.assertEqual([str(w.message).count("is damaged") for w in caught], [1])  # said once
        self.assertEqual(quiet_reader(self.log_dir).caught, [])  # written anew

    def test_a_damaged_column_read_by_a_row(self) -> None:
        self.damage_in_place(b'"COMPLETE"')
        reader = quiet_reader(self.log_dir)
        rows = reader.filter()
        self.assertEqual(rows["info.status"], self.fresh.runs["info.status"])
        self.assertEqual(rows[0].keys(), self.fresh.runs[0].keys())

    def test_a_damaged_run_line_read_by_a_row(self) -> None:
        self.damage_in_place(b'"stamps"')
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.filter()[0]["train.loss"], self.fresh.runs[0]["train.loss"])

    def test_line_0_of_the_wrong_shape(self) -> None:
        with open(self.index, "rb") as file:
            first, rest = file.read().split(b"\n", 1)
        head = json.loads(first)
        damages = {
            "flags not a list": ("flags", "x"),
            "a column name a number": ("columns", [1]),
            "shapes of numbers": ("shapes", [[1]]),
            "one flag missing": ("flags", head["flags"][:-1]),
            "sizes of strings": ("sizes", ["1"] * len(head["sizes"])),
            "a settled time a string": ("settled_mtime", ["x"] * len(head["ids"])),
            "a shape out of range": ("shape_of", [99] * len(head["ids"])),
            "a size of zero": ("sizes", [0] * len(head["sizes"])),
        }
        for what, (key, value) in damages.items():
            with self.subTest(damage=what):
                with open(self.index, "wb") as file:
                    file.write(json.dumps({**head, key: value}).encode() + b"\n" + rest)
                reader, calls = counted_reads(self.log_dir)
                self.assertEqual((len(calls), reader.filter(QUERY)["info.run_id"]), (6, self.expected))
                self.assertEqual(len(reader.caught), 1)
                self.assertIn("is damaged", reader.caught[0])

    def test_the_newest_of_two_indexes_is_read(self) -> None:
        cache = temp_dir(self)
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": cache}):
            fallback = store_module.fallback_index_path(self.log_dir, None)
            os.makedirs(os.path.dirname(fallback))
            with open(self.index, "rb") as source, open(fallback, "wb") as copy:
                copy.write(source.read())
            later = os.stat(self.index).st_mtime_ns + 10**9
            os.utime(fallback, ns=(later, later))
            loaded = store_module.load_index([self.index, fallback], self.log_dir)
            self.assertEqual(loaded.path, fallback)
            self.assertEqual(set(map(type, loaded.entries.values())), {int})

    def test_a_link_named_like_a_run_is_reported_once(self) -> None:
        os.symlink(os.path.join(self.log_dir, "1"), os.path.join(self.log_dir, "7"))
        first = quiet_reader(self.log_dir)
        self.assertEqual(len([m for m in first.caught if "symbolic link" in m]), 1)
        again = quiet_reader(self.log_dir)
        self.assertEqual((again.caught, len(again)), ([], 6))
        with mock.patch.object(store_module, "JOURNAL_SHARE", 0), mock.patch.object(store_module, "JOURNAL_MIN_BYTES", 0):
            synth.write_run(self.log_dir, 8, {"seed": 1}, metrics={"train": [{"loss": 0.5}]})
            quiet_reader(self.log_dir)  # folded: the link's entry is in index.json now
        self.assertEqual(quiet_reader(self.log_dir).caught, [])


class OpenFilesTest(unittest.TestCase):
    def test_readers_kept_alive_keep_a_bounded_number_of_files_open(self) -> None:
        log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(log_dir, 5, n_lines=3)
        age_runs(log_dir)
        expected = quiet_reader(log_dir).filter(QUERY)["info.run_id"]
        with mock.patch.object(stored_module, "MAX_OPEN", 2):
            readers = [quiet_reader(log_dir) for _ in range(5)]
            self.assertLessEqual(sum(1 for reader in readers if reader._stored.fd is not None), 2)
            for reader in readers:
                self.assertEqual(reader.filter(QUERY)["info.run_id"], expected)
                self.assertEqual(reader.filter()["train.loss"], readers[-1].filter()["train.loss"])


class ColumnQueryTest(unittest.TestCase):
    """A query comparing fields with strings and numbers only runs on the index's columns: the answers of the general path."""

    QUERIES = ["config.seed in [0, 1, 2] & info.status == 'COMPLETE'", "config.model.name != 'mlp' | config.seed == 3",
               "status not in ['FAILED'] & id in [1, 4, 5]", "config.optimizer.lr == 0.01 | id == 2"]

    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 6, n_lines=3)
        age_runs(self.log_dir)
        self.index = os.path.join(self.log_dir, ".tinyxp", "index.json")
        quiet_reader(self.log_dir).filter("config.seed < 3")  # the index written with its fields

    def expected(self, query: str) -> list:
        reader = quiet_reader(self.log_dir)
        reader._decoded()  # every run's values tested as a mapping
        return reader.filter(query)["info.run_id"]

    def test_runs_not_decoded_and_decoded(self) -> None:
        for query in self.QUERIES:
            with self.subTest(query=query):
                reader = quiet_reader(self.log_dir)
                self.assertEqual(set(map(type, reader._entries.values())), {int})
                self.assertEqual(reader.filter(query)["info.run_id"], self.expected(query))
                self.assertEqual(set(map(type, reader._entries.values())), {int})
                reader.run(2).static, reader.run(5).static  # two runs decoded, the others tested on the columns
                self.assertEqual(reader.filter(query)["info.run_id"], self.expected(query))

    def test_a_damaged_column_of_the_query(self) -> None:
        expected = self.expected(self.QUERIES[0])
        st = os.stat(self.index)
        damage(self.index, b'"COMPLETE"')
        os.utime(self.index, ns=(st.st_atime_ns, st.st_mtime_ns))
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.filter(self.QUERIES[0])["info.run_id"], expected)
        self.assertNotIn(int, set(map(type, reader._entries.values())))  # every run decoded or read again
