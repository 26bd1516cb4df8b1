"""MLXP parity: reader.run, short names and summaries in queries, several-column maps, transform, merge, filters by groups."""
from __future__ import annotations

import os
import unittest

from .bench import synth
from .support import temp_dir
from tinyxp.errors import QueryError, ReaderError
from tinyxp.read.frame import DataFrame
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


def ratio(a, b):
    return a / b


def ranks(values):
    order = sorted(range(len(values)), key=values.__getitem__)
    return [order.index(i) for i in range(len(values))]


class FrameOpsTest(unittest.TestCase):
    def setUp(self) -> None:
        from .test_frame import tutorial_frame

        self.df = tutorial_frame(temp_dir(self))
        self.small = DataFrame([{"a": 1, "b": 2, "g": "x"}, {"a": 3, "b": 4, "g": "x"}, {"a": 5, "b": 10, "g": "y"}])

    def test_rowwise_calls_the_function_with_each_rows_values(self) -> None:
        out = self.small.apply((ratio, ("a", "b")), map_type="Rowwise")
        self.assertEqual(out["ratio(a,b)"], [0.5, 0.75, 0.5])
        out = self.small.apply([(lambda a, b: (a + b, a * b), ("a", "b"), ("sum", "product"))], map_type="Rowwise")
        self.assertEqual((out["sum"], out["product"]), ([3, 7, 15], [2, 12, 50]))
        out = self.df.apply((lambda lr, loss: loss[-1] * lr, ("config.lr", "train.loss"), "scaled"), map_type="Rowwise")
        self.assertAlmostEqual(out[0]["scaled"], 0.05)
        self.assertEqual(out[0].run_dir, self.df[0].run_dir)  # still the run's row: its metrics stay lazy

    def test_rowwise_errors(self) -> None:
        cases = {
            (ratio, ("a", "c")): "Unknown column 'c'",
            (lambda a, b: (a, b), ("a", "b"), ("x", "y", "z")): "Invalid result of '<lambda>' in row 0: expected 3 values, one per output name ['x', 'y', 'z'], got (1, 2)",
            ("ratio", ("a",)): "Invalid map 'ratio': expected (function, columns[, output names])",
        }
        for bad, message in cases.items():
            with self.subTest(bad=bad), self.assertRaises(ReaderError) as caught:
                self.small.apply(bad, map_type="Rowwise")
            self.assertTrue(str(caught.exception).startswith(message), str(caught.exception))
        with self.assertRaises(ReaderError) as caught:
            self.small.apply((ratio, ("a", "g")), map_type="Rowwise")
        self.assertEqual(str(caught.exception), "Cannot apply 'ratio' to columns ['a', 'g'] in row 0: TypeError: unsupported operand type(s) for /: 'int' and 'str'")
        with self.assertRaises(ReaderError) as caught:
            self.small.apply((ratio, "a"), map_type="Rowswise")
        self.assertEqual(str(caught.exception), "Unknown map_type 'Rowswise': expected one of Pointwise, Rowwise, Columnwise, Generic")

    def test_pointwise_columnwise_and_generic(self) -> None:
        self.assertEqual(self.small.apply((str, "a"))["str.a"], ["1", "3", "5"])
        self.assertEqual(self.small.apply((ranks, "b"), map_type="Columnwise")["ranks.b"], [0, 1, 2])
        self.assertEqual(self.small.apply((sum, ("a", "b")), map_type="Columnwise").rows, [{"sum.a": 9, "sum.b": 16}])
        covariance = self.small.apply((lambda xs, ys: sum(x * y for x, y in zip(xs, ys)), ("a", "b"), "dot"), map_type="Generic")
        self.assertEqual(covariance.rows, [{"dot": 64}])
        with self.assertRaises(ReaderError) as caught:
            self.small.apply([(ranks, "a"), (sum, "b")], map_type="Columnwise")
        self.assertEqual(str(caught.exception), "Invalid result of 'sum' for 'sum.b': expected every map to give one value per row (3) or every map one value")

    def test_transform(self) -> None:
        out = self.small.transform((ranks, ["b", "a"]))
        self.assertEqual((out["ranks.b"], out["ranks.a"]), ([0, 1, 2], [0, 1, 2]))
        with self.assertRaises(ReaderError) as caught:
            self.small.transform((sum, "a"))
        self.assertEqual(str(caught.exception), "Invalid result of 'sum' on column 'a': expected 3 values, one per row, got 9")
        with self.assertRaises(ReaderError) as caught:
            self.small.transform((lambda values: values[:1], "a", "first"))
        self.assertEqual(str(caught.exception), "Invalid result of '<lambda>' on column 'a': expected 3 values, one per row, got 1 values")
        grouped = self.small.groupby("g").transform((ranks, "b"))
        self.assertEqual(grouped.ungroup()["ranks.b"], [0, 1, 0])

    def test_merge(self) -> None:
        extra = self.df.map((min, "train.loss", "best"))
        merged = self.df.merge(extra)
        self.assertEqual(merged["best"], extra["best"])
        self.assertEqual(merged[0].run_dir, self.df[0].run_dir)
        self.assertEqual(self.small.merge(DataFrame([{"c": i} for i in range(3)]))["c"], [0, 1, 2])
        with self.assertRaises(ReaderError) as caught:
            self.small.merge(self.small[:2])
        self.assertEqual(str(caught.exception), "Cannot merge a DataFrame of 2 row(s) into one of 3: expected the same number of rows")

    def test_filter_by_groups(self) -> None:
        best = self.df.map((min, "train.loss", "best")).filter((argmin, "best"), bygroups="config.model")
        self.assertEqual([(r["config.model"], r["config.lr"]) for r in best], [("mlp", 0.01), ("cnn", 0.1)])
        with self.assertRaises(ReaderError) as caught:
            self.df.filter("config.lr > 0", bygroups="config.model")
        self.assertEqual(str(caught.exception), "Invalid filter 'config.lr > 0' with bygroups: expected a map (function, column)")
        for bad, message in (((argmin, "a"), "Unknown column 'config.modl' in bygroups; did you mean 'config.model'?"),):
            with self.assertRaises(ReaderError) as caught:
                self.df.filter(bad, bygroups=["config.modl"])
            self.assertEqual(str(caught.exception), message)
        with self.assertRaises(ReaderError):
            self.small.filter((argmin, ["a", "b"]), bygroups="g")

    def test_nested_groupby(self) -> None:
        nested = self.df.groupby("config.model").groupby(["config.lr"])
        self.assertEqual(nested.by, ["config.model", "config.lr"])
        self.assertEqual(nested.keys(), self.df.groupby(["config.model", "config.lr"]).keys())
        self.assertEqual(len(nested[("cnn", 0.01)]), 2)
        with self.assertRaises(ReaderError) as caught:
            self.df.groupby("config.model").groupby("config.model")
        self.assertEqual(str(caught.exception), "Cannot group by 'config.model' again: the frame is grouped by config.model")

    def test_grouped_apply(self) -> None:
        out = self.small.groupby("g").apply((sum, ("a",)), map_type="Columnwise")
        self.assertEqual([df.rows for df in out.values()], [[{"sum.a": 4}], [{"sum.a": 5}]])


def argmin(values):
    return min(range(len(values)), key=values.__getitem__)
