"""DataFrame and GroupedDataFrame: lazy columns, diff, groupby, aggregate, filter, export."""
from __future__ import annotations

import csv
import json
import os
import pickle
import sys
import unittest
from statistics import mean
from unittest import mock

from .support import temp_dir
from tinyxp.errors import QueryError, ReaderError
from tinyxp.read.frame import DataFrame, GroupedDataFrame
from tinyxp.read.row import Artifact, Row, read_metric_file, records_to_columns, summarize
from tinyxp.read.text import format_table

try:
    import pandas
except ImportError:
    pandas = None


def argmin(values: list) -> int:
    return min(range(len(values)), key=values.__getitem__)


def last(values: list) -> object:
    return values[-1]


def write_run(root: str, run_id: int, config: dict, lines: dict) -> Row:
    """A Row over a run folder holding only metrics/*.jsonl (what Row reads itself)."""
    run_dir = os.path.join(root, str(run_id))
    os.makedirs(os.path.join(run_dir, "metrics"))
    os.makedirs(os.path.join(run_dir, "artifacts", "pickle"))
    with open(os.path.join(run_dir, "artifacts", "pickle", "last.pkl"), "wb") as file:
        pickle.dump({"run": run_id}, file)
    for log_name, records in lines.items():
        with open(os.path.join(run_dir, "metrics", f"{log_name}.jsonl"), "w") as file:
            file.writelines(json.dumps(r) + "\n" for r in records)
    static = {"info.run_id": run_id, "info.status": "COMPLETE", **{f"config.{k}": v for k, v in config.items()}}
    keys = {log: list(dict.fromkeys(k for r in records for k in r)) for log, records in lines.items()}
    return Row(static, run_dir=run_dir, metrics=keys, artifacts=["pickle/last.pkl"], run_id=str(run_id))


def tutorial_frame(root: str) -> DataFrame:
    """2 models x 2 learning rates x 2 seeds; the best lr is 0.01 for mlp and 0.1 for cnn."""
    rows = []
    run_id = 0
    for model in ("mlp", "cnn"):
        for lr in (0.1, 0.01):
            for seed in (0, 1):
                run_id += 1
                good = (model, lr) in (("mlp", 0.01), ("cnn", 0.1))
                final = (0.1 if good else 0.5) + seed * 0.01
                train = [{"epoch": e, "loss": final + (2 - e)} for e in range(3)]
                test = [{"loss": final + 0.05 + lr}]
                rows.append(write_run(root, run_id, {"model": model, "lr": lr, "seed": seed}, {"train": train, "test": test}))
    return DataFrame(rows)


class RowTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.row = write_run(self.root, 1, {"lr": 0.1}, {"train": [{"loss": 3, "epoch": 0}, {"loss": 2, "epoch": 1, "acc": 0.5}]})

    def test_static_columns_need_no_file(self) -> None:
        self.assertEqual(self.row["config.lr"], 0.1)
        self.assertFalse(self.row.is_loaded("train.loss"))

    def test_metric_column_loads_lazily_with_its_file(self) -> None:
        self.assertEqual(self.row["train.loss"], [3, 2])
        self.assertTrue(self.row.is_loaded("train.epoch"))
        self.assertEqual(self.row["train.acc"], [0.5])  # lines lacking the key are skipped

    def test_keys_in_the_middle_of_a_file_appear_once_loaded(self) -> None:
        row = write_run(self.root, 2, {}, {"train": [{"a": 1}, {"a": 2, "mid": 7}, {"a": 3}]})
        row._metrics["train"] = ["a"]  # what the reader learns from the first and last lines
        self.assertNotIn("train.mid", row.keys())
        self.assertEqual(row["train.a"], [1, 2, 3])
        self.assertIn("train.mid", row.keys())
        self.assertEqual(row["train.mid"], [7])

    def test_artifact_column_loads_on_request(self) -> None:
        artifact = self.row["artifacts.pickle/last.pkl"]
        self.assertIsInstance(artifact, Artifact)
        self.assertEqual(artifact.load(), {"run": 1})
        self.assertEqual(artifact.load(loader=os.path.basename), "last.pkl")

    def test_unknown_artifact_format(self) -> None:
        artifact = Artifact("/x/artifacts/hdf5/a.h5", "hdf5", "a.h5")
        with self.assertRaises(ReaderError) as caught:
            artifact.load()
        self.assertEqual(str(caught.exception), "Cannot load artifact format 'hdf5' of '/x/artifacts/hdf5/a.h5': pass load(loader=function of the path)")

    def test_missing_column(self) -> None:
        with self.assertRaises(KeyError):
            self.row["train.nope"]
        self.assertIsNone(self.row.get("config.nope"))

    def test_metric_file_removed_after_indexing(self) -> None:
        os.remove(os.path.join(self.row.run_dir, "metrics", "train.jsonl"))
        with self.assertRaises(ReaderError) as caught:
            self.row["train.loss"]
        self.assertTrue(str(caught.exception).startswith("Cannot read metrics file "), str(caught.exception))


class MetricFileTest(unittest.TestCase):
    def test_torn_last_line_is_ignored(self) -> None:
        path = os.path.join(temp_dir(self), "train.jsonl")
        with open(path, "w") as file:
            file.write('{"loss": 1}\n{"loss": 2}\n{"lo')
        self.assertEqual(read_metric_file(os.path.dirname(path), "train.jsonl"), {"loss": [1, 2]})

    def test_lines_that_are_not_objects_are_skipped(self) -> None:
        path = os.path.join(temp_dir(self), "train.jsonl")
        with open(path, "w") as file:
            file.write('{"loss": 1}\nnot json\n[1]\n{"loss": 2}\n')
        self.assertEqual(read_metric_file(os.path.dirname(path), "train.jsonl"), {"loss": [1, 2]})

    def test_columns_of_records_with_other_keys(self) -> None:
        self.assertEqual(records_to_columns([{"a": 1, "b": 2}, {"b": 3, "a": 4}]), {"a": [1, 4], "b": [2, 3]})
        self.assertEqual(records_to_columns([{"a": 1}, {"b": 2}]), {"a": [1], "b": [2]})
        self.assertEqual(records_to_columns([{"a": 1}, {"a": 2, "b": 3}, 5]), {"a": [1, 2], "b": [3]})
        self.assertEqual(records_to_columns([]), {})

    def test_columns_of_the_usual_records_and_of_others_are_those_of_each_record(self) -> None:
        import random

        def reference(records: list) -> dict:
            columns: dict = {}
            for record in records:
                if isinstance(record, dict):
                    for key, value in record.items():
                        columns.setdefault(key, []).append(value)
            return columns

        rng = random.Random(3)
        shapes = [{"a": 1, "b": 2.5}, {"b": 3, "a": float("nan")}, {"a": 1}, {"a": 1, "c": 2}, {"a": None, "b": [1]}, {}, [1, 2], "ab", 7, None]
        for _ in range(3000):
            records = [dict(shape) if isinstance(shape, dict) else shape for shape in rng.choices(shapes, k=rng.randint(0, 4))]
            with self.subTest(records=records):
                self.assertEqual(repr(records_to_columns(records)), repr(reference(records)))

    def test_one_parse_of_the_file_or_one_per_line_give_the_same_columns(self) -> None:
        folder = temp_dir(self)
        texts = ['{"loss": 1, "acc": NaN}\n{"loss": 2, "acc": Infinity}\n', '{"loss": 1}\n\n{"loss": 2}\n\n\n', '{"loss": 1}\n3\n"x"\n{"loss": 2}\n',
                 '{"loss": 1}\n{"loss": 2}\n{"lo', '{"loss": 1}\n{"loss": 2', '{"a": 1}\n{"b": 2}\n', '\n', '', '{"loss": 1}\r\n{"loss": 2}\r\n',
                 '[' * 2000 + '\n{"loss": 1}\n', '{"loss": 1}\n{"loss": 2, "loss": 3}\n']
        for index, text in enumerate(texts):
            with open(os.path.join(folder, f"{index}.jsonl"), "w") as file:
                file.write(text)
            per_line = []
            for line in text.encode()[: text.encode().rfind(b"\n") + 1].splitlines():
                try:
                    per_line.append(json.loads(line))
                except (ValueError, RecursionError):
                    continue
            with self.subTest(text=text[:60]):
                self.assertEqual(repr(read_metric_file(folder, f"{index}.jsonl")), repr(records_to_columns(per_line)))

    def test_summarize(self) -> None:
        self.assertEqual(summarize([3, "x", 1.5, True, 2]), {"last": 2, "min": 1.5, "max": 3, "count": 5})
        self.assertEqual(summarize([]), {"last": None, "min": None, "max": None, "count": 0})


class DataFrameTest(unittest.TestCase):
    def setUp(self) -> None:
        self.df = tutorial_frame(temp_dir(self))

    def test_len_iteration_and_indexing(self) -> None:
        self.assertEqual(len(self.df), 8)
        self.assertEqual([row["info.run_id"] for row in self.df], list(range(1, 9)))
        self.assertEqual(self.df[0]["config.model"], "mlp")
        self.assertEqual(self.df["config.lr"][:3], [0.1, 0.1, 0.01])
        self.assertEqual(len(self.df[2:4]), 2)
        self.assertEqual(self.df["train.epoch"][0], [0, 1, 2])

    def test_keys(self) -> None:
        self.assertEqual(
            self.df.keys(),
            ["info.run_id", "info.status", "config.model", "config.lr", "config.seed", "train.epoch", "train.loss", "test.loss", "artifacts.pickle/last.pkl"],
        )

    def test_unknown_column(self) -> None:
        with self.assertRaises(ReaderError) as caught:
            self.df["config.seeds"]
        self.assertEqual(str(caught.exception), "Unknown column 'config.seeds'; did you mean 'config.seed'?")

    def test_diff(self) -> None:
        self.assertEqual(self.df.diff(), ["config.model", "config.lr", "config.seed"])
        self.assertEqual(self.df.filter("config.model == 'mlp' & config.lr == 0.1").diff(), ["config.seed"])
        self.assertEqual(self.df.diff("info."), ["info.run_id"])
        mixed = DataFrame([{"config.a": 1}, {"config.a": 1.0}, {"config.a": 1, "config.b": [1]}, {"config.a": 1, "config.b": [1]}])
        self.assertEqual(mixed.diff(), ["config.a", "config.b"])

    def test_groupby(self) -> None:
        groups = self.df.groupby(["config.model", "config.lr"])
        self.assertIsInstance(groups, GroupedDataFrame)
        self.assertEqual(groups.keys(), [("cnn", 0.01), ("cnn", 0.1), ("mlp", 0.01), ("mlp", 0.1)])
        self.assertEqual([len(df) for _, df in groups.items()], [2, 2, 2, 2])
        self.assertEqual(groups[("mlp", 0.1)]["info.run_id"], [1, 2])
        self.assertEqual(self.df.groupby("config.model")["cnn"]["info.run_id"], [5, 6, 7, 8])
        self.assertEqual(len(groups.ungroup()), 8)

    def test_groupby_on_a_missing_column(self) -> None:
        with self.assertRaises(ReaderError) as caught:
            self.df.groupby(["config.modle"])
        self.assertEqual(str(caught.exception), "Unknown column 'config.modle' to group by; did you mean 'config.model'?")

    def test_groupby_unhashable_values_and_missing_values(self) -> None:
        df = DataFrame([{"k": [1, 2], "v": 1}, {"k": [1, 2], "v": 2}, {"v": 3}, {"k": {"a": 1}, "v": 4}])
        groups = df.groupby("k")
        self.assertEqual(groups.keys(), [('{"a": 1}',), ((1, 2),), (None,)])
        self.assertEqual(groups[(None,)]["v"], [3])

    def test_aggregate(self) -> None:
        agg = self.df.aggregate([(len, "config.seed"), (mean, ["config.lr", "config.seed"], ["lr", "seed"])])
        self.assertEqual(agg.keys(), ["len.config.seed", "lr", "seed"])
        self.assertAlmostEqual(agg[0]["lr"], 0.055)
        self.assertEqual(agg[0]["seed"], 0.5)

    def test_aggregate_error_names_the_group_and_column(self) -> None:
        groups = self.df.groupby("config.model")
        with self.assertRaises(ReaderError) as caught:
            groups.aggregate((mean, "train.loss"))
        self.assertEqual(
            str(caught.exception),
            "Cannot apply 'mean' to column 'train.loss' in group (config.model='cnn'): TypeError: can't convert type 'list' to numerator/denominator"
            " (each value is one run's list of train.loss: reduce the lists first, e.g. with map)",
        )

        def boom(values: list) -> None:
            raise ValueError("no")

        with self.assertRaises(ReaderError) as caught:
            groups.aggregate((boom, "config.lr"))  # plain values: no hint about lists
        self.assertEqual(str(caught.exception), "Cannot apply 'boom' to column 'config.lr' in group (config.model='cnn'): ValueError: no")

    def test_aggregate_on_an_unknown_column(self) -> None:
        with self.assertRaises(ReaderError) as caught:
            self.df.aggregate((mean, "train.los"))
        self.assertEqual(str(caught.exception), "Unknown column 'train.los'; did you mean 'train.loss'?")

    def test_invalid_maps(self) -> None:
        cases = [
            (("mean", "a"), "Invalid map ('mean', 'a'): expected (function, columns[, output names])"),
            ((mean,), "Invalid map (<function mean"),
            ("config.lr", "Invalid map 'config.lr': expected (function, columns[, output names])"),
        ]
        for bad, message in cases:
            with self.subTest(bad=bad):
                with self.assertRaises(ReaderError) as caught:
                    self.df.aggregate([bad])
                self.assertTrue(str(caught.exception).startswith(message), str(caught.exception))
        with self.assertRaises(ReaderError) as caught:
            self.df.aggregate([(mean, ["config.lr", "config.seed"], ["x"])])
        self.assertTrue(str(caught.exception).endswith(": 2 column(s) but 1 output name(s)"))

    def test_map_and_apply(self) -> None:
        mapped = self.df.map((last, "train.loss"))
        self.assertEqual(mapped["last.train.loss"][:2], [0.5, 0.51])
        self.assertEqual(self.df.apply((last, "train.loss", "final"))["final"][2], 0.1)
        with self.assertRaises(ReaderError) as caught:
            self.df.map((lambda values: 1 / 0, "config.lr", "x"))
        self.assertEqual(str(caught.exception), "Cannot apply '<lambda>' to column 'config.lr' in row 0 (run 1): ZeroDivisionError: division by zero")

    def test_filter_by_query_predicate_and_map(self) -> None:
        self.assertEqual(self.df.filter("config.lr < 0.05 & config.model == 'cnn'")["info.run_id"], [7, 8])
        self.assertEqual(self.df.filter("last(train.loss) < 0.2")["info.run_id"], [3, 4, 5, 6])
        self.assertEqual(self.df.filter("")["info.run_id"], list(range(1, 9)))
        self.assertEqual(self.df.filter(lambda row: row["config.seed"] == 1)["info.run_id"], [2, 4, 6, 8])
        self.assertEqual(self.df.map((last, "test.loss")).filter((argmin, "last.test.loss"))["info.run_id"], [3])
        self.assertEqual(self.df.filter((lambda v: [x == 0 for x in v], "config.seed"))["info.run_id"], [1, 3, 5, 7])
        self.assertEqual(self.df.filter((lambda v: [0, -1], "config.seed"))["info.run_id"], [1, 8])

    def test_filter_errors(self) -> None:
        with self.assertRaises(QueryError):
            self.df.filter("config.lr > 'a'")
        with self.assertRaises(ReaderError) as caught:
            self.df.filter((lambda v: "x", "config.seed"))
        self.assertEqual(str(caught.exception), "Invalid result of the filter function <lambda>: expected an index, indices or a boolean mask, got 'x'")
        with self.assertRaises(ReaderError) as caught:
            self.df.filter((lambda v: 8, "config.seed"))
        self.assertEqual(str(caught.exception), "Invalid result of the filter function <lambda>: index 8 out of range for 8 value(s)")
        with self.assertRaises(ReaderError) as caught:
            self.df.filter(42)
        self.assertEqual(str(caught.exception), "Invalid filter 42: expected a query string, a function of a row or a map (function, column)")

    def test_sort(self) -> None:
        self.assertEqual(self.df.sort(["config.lr", "-config.seed"])["info.run_id"], [4, 8, 3, 7, 2, 6, 1, 5])
        self.assertEqual(self.df.sort("config.seed", reverse=True)["info.run_id"][:4], [2, 4, 6, 8])
        with_missing = DataFrame([{"a": None}, {"a": 2}, {"a": "x"}, {"a": 1}])
        self.assertEqual(with_missing.sort("a")["a"], [1, 2, "x", None])
        self.assertEqual(with_missing.sort("-a")["a"], ["x", 2, 1, None])
        diverged = DataFrame([{"loss": 0.5}, {"loss": float("nan")}, {"loss": None}, {"loss": 0.1}])  # NaN: no best run
        self.assertEqual(diverged.sort("loss")["loss"][:2], [0.1, 0.5])
        self.assertEqual(diverged.sort("-loss")["loss"][:2], [0.5, 0.1])
        with self.assertRaises(ReaderError) as caught:
            self.df.sort("config.lrr")
        self.assertEqual(str(caught.exception), "Unknown column 'config.lrr' to sort by; did you mean 'config.lr'?")

    def test_mlxp_tutorial_analysis(self) -> None:
        # best learning rate per model by mean final training loss, then mean test loss there
        df = self.df.map([(last, "train.loss"), (last, "test.loss")])
        groups = df.groupby(["config.model", "config.lr"])
        agg = groups.aggregate((mean, "last.train.loss"))
        best = agg.filter((argmin, "mean.last.train.loss"), bygroups=["config.model"])
        result = groups.select(best.keys()).aggregate((mean, "last.test.loss"))
        self.assertEqual(best.keys(), [("cnn", 0.1), ("mlp", 0.01)])
        self.assertEqual(result.keys(), [("cnn", 0.1), ("mlp", 0.01)])
        self.assertAlmostEqual(result[("cnn", 0.1)][0]["mean.last.test.loss"], 0.255)
        self.assertAlmostEqual(result[("mlp", 0.01)][0]["mean.last.test.loss"], 0.165)
        self.assertEqual(result.ungroup().keys(), ["config.model", "config.lr", "mean.last.test.loss"])


class GroupedDataFrameTest(unittest.TestCase):
    def setUp(self) -> None:
        self.df = tutorial_frame(temp_dir(self)).map((last, "train.loss", "final"))
        self.groups = self.df.groupby(["config.model", "config.lr"])

    def test_mapping_interface(self) -> None:
        self.assertEqual(len(self.groups), 4)
        self.assertEqual(list(self.groups), self.groups.keys())
        self.assertEqual(len(self.groups.values()), 4)
        self.assertIn(("mlp", 0.1), self.groups)

    def test_select(self) -> None:
        selected = self.groups.select([("mlp", 0.1), ("cnn", 0.01)])
        self.assertEqual(selected.keys(), [("cnn", 0.01), ("mlp", 0.1)])
        self.assertEqual(self.df.groupby("config.model").select(["mlp"]).keys(), [("mlp",)])
        with self.assertRaises(ReaderError) as caught:
            self.groups.select([("rnn", 0.1)])
        self.assertEqual(str(caught.exception), "Unknown group ('rnn', 0.1) (grouped by config.model, config.lr): 4 group(s) exist")

    def test_filter_without_bygroups(self) -> None:
        agg = self.groups.aggregate((mean, "final"))
        self.assertEqual(agg.filter((argmin, "mean.final")).keys(), [("cnn", 0.1)])  # first of a tie
        self.assertEqual(self.groups.filter(lambda df: df["config.lr"][0] == 0.1).keys(), [("cnn", 0.1), ("mlp", 0.1)])

    def test_filter_on_unaggregated_groups_gets_lists(self) -> None:
        kept = self.groups.filter((lambda values: [min(v) < 0.105 for v in values], "final"))
        self.assertEqual(kept.keys(), [("cnn", 0.1), ("mlp", 0.01)])

    def test_filter_error_names_the_groups(self) -> None:
        with self.assertRaises(ReaderError) as caught:
            self.groups.filter((lambda values: 1 / 0, "final"), bygroups="config.model")
        self.assertEqual(str(caught.exception), "Cannot apply '<lambda>' to column 'final' in groups (config.model='cnn'): ZeroDivisionError: division by zero")
        with self.assertRaises(ReaderError) as caught:
            self.groups.filter((argmin, "final"), bygroups=["config.mdl"])
        self.assertEqual(str(caught.exception), "Unknown column 'config.mdl' in bygroups; did you mean 'config.model'?")

    def test_sort(self) -> None:
        agg = self.groups.aggregate((mean, "final"))
        self.assertEqual(agg.sort("mean.final").keys(), [("cnn", 0.1), ("mlp", 0.01), ("cnn", 0.01), ("mlp", 0.1)])
        self.assertEqual(agg.sort("-config.lr").keys(), [("cnn", 0.1), ("mlp", 0.1), ("cnn", 0.01), ("mlp", 0.01)])
        self.assertEqual(agg.sort(reverse=True).keys()[0], ("mlp", 0.1))

    def test_map(self) -> None:
        mapped = self.groups.map((lambda x: x * 2, "final", "double"))
        self.assertEqual(mapped[("mlp", 0.1)]["double"], [1.0, 1.02])

    def test_repr(self) -> None:
        self.assertEqual(
            repr(self.df.groupby("config.model")),
            "GroupedDataFrame: 2 group(s) by config.model\nconfig.model  rows\ncnn              4\nmlp              4",
        )
        agg = self.groups.aggregate((mean, "final", "final"))
        self.assertEqual(
            repr(agg).split("\n")[:3],
            ["GroupedDataFrame: 4 group(s) by config.model, config.lr", "config.model  config.lr  final", "cnn                0.01  0.505"],
        )


class ExportTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = temp_dir(self)
        self.df = tutorial_frame(self.root)[:2]

    def test_to_records_has_every_metric_column_lazy_or_not(self) -> None:
        records = self.df.to_records()
        self.assertEqual(records[0]["train.loss"], [2.5, 1.5, 0.5])
        self.assertEqual(records[0]["artifacts.pickle/last.pkl"], os.path.join(self.root, "1", "artifacts", "pickle", "last.pkl"))
        self.assertFalse(self.df[0].is_loaded("train.loss"))  # lazy: read for the record only
        self.assertEqual(self.df.to_records(lazy=False), records)
        self.assertTrue(self.df[0].is_loaded("train.loss"))

    def test_export_after_touching_one_row_still_has_every_row(self) -> None:
        df = tutorial_frame(temp_dir(self))
        df[0]["test.loss"]
        for lazy in (True, False):
            records = df.to_records(lazy=lazy)
            self.assertTrue(all(isinstance(r["test.loss"], list) for r in records), lazy)
        path = os.path.join(self.root, "all.csv")
        tutorial_frame(temp_dir(self))[:3].to_csv(path)
        with open(path, newline="") as file:
            rows = list(csv.DictReader(file))
        self.assertEqual([json.loads(r["train.loss"])[-1] for r in rows], [0.5, 0.51, 0.1])

    def test_to_csv(self) -> None:
        path = os.path.join(self.root, "runs.csv")
        self.df.map((last, "train.loss", "final")).to_csv(path)
        with open(path, newline="") as file:
            rows = list(csv.reader(file))
        self.assertEqual(rows[0], ["info.run_id", "info.status", "config.model", "config.lr", "config.seed", "final", "train.epoch", "train.loss", "test.loss", "artifacts.pickle/last.pkl"])
        self.assertEqual(rows[1][:8], ["1", "COMPLETE", "mlp", "0.1", "0", "0.5", "[0, 1, 2]", "[2.5, 1.5, 0.5]"])
        DataFrame([{"a": None, "b": {"x": 1}}]).to_csv(path)
        with open(path, newline="") as file:
            self.assertEqual(list(csv.reader(file)), [["a", "b"], ["", '{"x": 1}']])

    @unittest.skipIf(pandas is None, "pandas is not installed")
    def test_to_pandas(self) -> None:
        frame = self.df.to_pandas(lazy=False)
        self.assertEqual(list(frame["config.lr"]), [0.1, 0.1])
        self.assertEqual(frame["train.loss"][0], [2.5, 1.5, 0.5])
        df = tutorial_frame(temp_dir(self))
        df[0]["test.loss"]
        frame = df.to_pandas()
        self.assertFalse(frame["test.loss"].isna().any())

    def test_to_pandas_without_pandas(self) -> None:
        with mock.patch.dict(sys.modules, {"pandas": None}):
            with self.assertRaises(ReaderError) as caught:
                self.df.to_pandas()
        self.assertEqual(str(caught.exception), "pandas is not installed: pip install pandas, or use to_csv / to_records")


class ReprTest(unittest.TestCase):
    def test_repr_shows_id_status_and_varying_config(self) -> None:
        df = tutorial_frame(temp_dir(self))
        lines = repr(df).split("\n")
        self.assertEqual(lines[0], "DataFrame: 8 row(s) x 9 column(s)")
        self.assertEqual(lines[1], "info.run_id  info.status  config.model  config.lr  config.seed")
        self.assertEqual(lines[2], "          1  COMPLETE     mlp                 0.1            0")
        df[0]["train.loss"]
        self.assertEqual(repr(df).split("\n")[1:3], [
            "info.run_id  info.status  config.model  config.lr  config.seed  train.epoch  train.loss",
            "          1  COMPLETE     mlp                 0.1            0  [0, 1, 2]    [2.5, 1.5, 0.5]",
        ])

    def test_long_frames_are_truncated(self) -> None:
        df = DataFrame([{"i": i} for i in range(30)])
        lines = repr(df).split("\n")
        self.assertEqual(len(lines), 2 + 21)
        self.assertEqual(lines[12].strip(), "…")

    def test_many_groups_are_truncated_in_the_middle(self) -> None:
        lines = repr(DataFrame([{"k": i % 30} for i in range(60)]).groupby("k")).split("\n")
        self.assertEqual(lines[:3], ["GroupedDataFrame: 30 group(s) by k", " k  rows", " 0     2"])
        self.assertEqual((len(lines), lines[12], lines[-1]), (2 + 21, " …     …", "29     2"))

    def test_empty_frame(self) -> None:
        self.assertEqual(repr(DataFrame()), "DataFrame: 0 row(s) x 0 column(s)")

    def test_html(self) -> None:
        html = DataFrame([{"a": "<b>"}])._repr_html_()
        self.assertEqual(html, "<p>1 row(s) x 1 column(s)</p><table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>")

    def test_grouped_html(self) -> None:
        groups = DataFrame([{"k": "a", "v": 1}, {"k": "a", "v": 2}]).groupby("k")
        self.assertEqual(
            groups._repr_html_(),
            "<p>1 group(s) by k</p><p>1 row(s) x 2 column(s)</p><table><thead><tr><th>k</th><th>rows</th></tr></thead>"
            "<tbody><tr><td>a</td><td>2</td></tr></tbody></table>",
        )
        self.assertIn("<th>mean.v</th>", groups.aggregate((mean, "v"))._repr_html_())

    def test_format_table_drops_columns_past_the_width(self) -> None:
        text = format_table(["aaaa", "bbbb", "cccc"], [["1", "x", "y"]], width=12)
        self.assertEqual(text, "aaaa  bbbb\n   1  x\n(1 more column(s): cccc)")


if __name__ == "__main__":
    unittest.main()


class ShortcutTest(unittest.TestCase):
    """The shortcuts for the usual values give what the general code gives."""

    def test_diff_compares_as_group_keys(self) -> None:
        import random

        from tinyxp.read.frame_ops import hashable

        def reference(rows: list, prefix: str) -> list:
            varying = []
            for key in DataFrame(rows).keys():
                if key.startswith(prefix):
                    values = [hashable(row.get(key)) for row in rows]
                    if any(value != values[0] or type(value) is not type(values[0]) for value in values):
                        varying.append(key)
            return varying

        pool = [None, True, False, 0, 1, 1.0, 2.5, float("nan"), "a", "", "…", '{"k": 1}', [1], [1.0], (1,), {"k": 1}, [[1], {"k": 1}]]
        rng = random.Random(5)
        for _ in range(3000):
            rows = []
            for _ in range(rng.randint(1, 4)):
                values = {key: rng.choice(pool) for key in ("config.a", "config.b") if rng.random() < 0.8}
                rows.append(Row(values, run_id="1") if rng.random() < 0.5 else values)
            with self.subTest(rows=rows):
                self.assertEqual(DataFrame(rows).diff(), reference(rows, "config."))

    def test_cells_of_numbers_and_strings(self) -> None:
        from tinyxp.read.row import NOT_LOADED
        from tinyxp.read.text import format_cell

        def reference(value: object, width: int = 24) -> str:  # format_cell without its shortcut
            if value is NOT_LOADED:
                return NOT_LOADED
            if value is None:
                return ""
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, float):
                return f"{value:.6g}"
            if isinstance(value, (list, tuple)) and len(value) > 4:
                text = f"[{len(value)} values]"
            elif isinstance(value, (list, tuple, dict)):
                text = json.dumps(value, default=str)
            else:
                text = str(value)
            return text if len(text) <= width else text[: width - 1] + "…"

        for value in [None, True, 0, -3, 12345678901234567890 ** 2, 1.5, float("nan"), float("-inf"), 1e300, "", "a", "x" * 24, "x" * 25,
                      NOT_LOADED, "…", [1], [1, 2, 3, 4, 5], {"k": 1}]:
            for width in (24, 3, 10**6):
                with self.subTest(value=value, width=width):
                    self.assertEqual(format_cell(value, width), reference(value, width))
