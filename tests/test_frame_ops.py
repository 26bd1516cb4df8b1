"""MLXP parity: reader.run, short names and summaries in queries, several-column maps, transform, merge, filters by groups."""
from __future__ import annotations

import os
import unittest

from .bench import synth
from .support import temp_dir
from tinyxp.errors import QueryError, ReaderError
from tinyxp.read.reader import Reader, describe_ids
from tinyxp.read.row import ShortNames


class ReaderRunTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 4, n_lines=3)
        self.reader = Reader(self.log_dir, progress=False)

    def test_run_by_id(self) -> None:
        row = self.reader.run(3)
        self.assertEqual((row["info.run_id"], row.run_dir), (3, os.path.join(self.log_dir, "3")))
        self.assertEqual(self.reader.run("3").run_id, "3")

    def test_unknown_run(self) -> None:
        with self.assertRaises(ReaderError) as caught:
            self.reader.run(12)
        self.assertEqual(str(caught.exception), f"Unknown run 12 in {self.log_dir!r}: runs here are 1-4")

    def test_describe_ids(self) -> None:
        self.assertEqual(describe_ids(["1", "2", "3", "7", "9", "10"]), "1-3, 7, 9-10")
        self.assertEqual(describe_ids([]), "none")

    def test_id_and_status_in_queries(self) -> None:
        self.assertEqual(self.reader.filter("id >= 3")["info.run_id"], [3, 4])
        self.assertEqual(len(self.reader.filter("status == 'COMPLETE' & id in [1, 2]")), 2)
        self.assertEqual(self.reader.runs.filter("id == 2 | id == 4")["info.run_id"], [2, 4])
        with self.assertRaises(QueryError):
            self.reader.filter("id == 'a'")

    def test_short_names_view(self) -> None:
        values = ShortNames({"info.run_id": 7, "id": "mine"})
        self.assertEqual((values["id"], values.get("status"), len(values), list(values)), ("mine", None, 2, ["info.run_id", "id"]))
        self.assertEqual(ShortNames({"info.run_id": 7})["id"], 7)

    def test_summaries_in_dataframe_queries(self) -> None:
        df = self.reader.runs
        expected = [row["info.run_id"] for row in df if row["train.loss"][-1] < 1.0]
        self.assertEqual(df.filter("last(train.loss) < 1.0")["info.run_id"], expected)
        self.assertEqual(len(df.filter("count(train.loss) == 3 & max(train.epoch) == 2")), 4)
        with self.assertRaises(QueryError):
            df.filter("train.loss < 1")


if __name__ == "__main__":
    unittest.main()
