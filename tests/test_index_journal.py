"""The incremental index (read/store.py): the journal, bad index files, and an oracle.

The oracle compares the reader's answers, after random sequences of launches, resumes,
removals and corruptions of the index, with the same queries computed in plain Python
from the run files.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
import unittest
import warnings
from unittest import mock

from .bench import synth
from .index_files import mark_run_changed, read_index_file, write_index_file
from .support import join_thread, temp_dir
from tinyxp import Logger, yaml
from tinyxp._files import update_notes, write_atomic
from tinyxp.read import index as index_module
from tinyxp.read import reader as reader_module
from tinyxp.read import store as store_module
from tinyxp.read.reader import Reader, ReaderWarning


def quiet_reader(log_dir: str, **kwargs) -> Reader:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = Reader(log_dir, lost_after=1e9, progress=False, **kwargs)
    reader.caught = [str(w.message) for w in caught if issubclass(w.category, ReaderWarning)]
    return reader


def move_mtime(path: str) -> None:
    """Make a rewrite visible on file systems with coarse clocks."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)
    move_mtime(path)
    mark_run_changed(path)


def counted_reads(log_dir: str, **kwargs) -> tuple:
    calls = []
    original = index_module.read_run

    def counting(run_dir, stamps, old):
        calls.append(os.path.basename(run_dir))
        return original(run_dir, stamps, old)

    with mock.patch.object(index_module, "read_run", counting):
        reader = quiet_reader(log_dir, **kwargs)
    return reader, calls


class JournalTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 20, n_lines=3)
        self.index = os.path.join(self.log_dir, ".tinyxp", "index.json")
        self.journal = os.path.join(self.log_dir, ".tinyxp", "index.journal")
        quiet_reader(self.log_dir)

    def test_changed_runs_are_appended_not_the_whole_index_rewritten(self) -> None:
        before = os.stat(self.index).st_mtime_ns
        append(os.path.join(self.log_dir, "3", "metrics", "train.jsonl"), '{"epoch": 3, "loss": 0.001}\n')
        shutil.rmtree(os.path.join(self.log_dir, "7"))
        reader, calls = counted_reads(self.log_dir)
        self.assertEqual(calls, ["3"])
        self.assertEqual(os.stat(self.index).st_mtime_ns, before)
        with open(self.journal, encoding="utf-8") as file:
            self.assertEqual([json.loads(line)[0] for line in file], ["3", "7"])
        self.assertEqual(reader.filter("min(train.loss) < 0.01")["info.run_id"], [3])
        reader, calls = counted_reads(self.log_dir)  # the journal is read back: nothing read again
        self.assertEqual((calls, len(reader)), ([], 19))
        self.assertEqual(reader.filter("min(train.loss) < 0.01")["info.run_id"], [3])  # the summary cached in the journal

    def test_a_big_journal_is_folded_into_the_index(self) -> None:
        append(os.path.join(self.log_dir, "3", "metadata", "config.yaml"), "extra: 1\n")
        quiet_reader(self.log_dir)
        self.assertTrue(os.path.exists(self.journal))
        append(os.path.join(self.log_dir, "4", "metadata", "config.yaml"), "extra: 2\n")
        with mock.patch.object(store_module, "JOURNAL_MIN_BYTES", 0), mock.patch.object(store_module, "JOURNAL_SHARE", 0):
            reader = quiet_reader(self.log_dir)
        self.assertFalse(os.path.exists(self.journal))
        self.assertEqual(read_index_file(self.index)["runs"]["4"]["values"]["config.extra"], 2)
        self.assertEqual(reader.filter("config.extra > 0")["info.run_id"], [3, 4])
        self.assertEqual(counted_reads(self.log_dir)[1], [])

    def test_damaged_journal_lines_are_skipped_and_their_runs_read_again(self) -> None:
        append(os.path.join(self.log_dir, "3", "metadata", "config.yaml"), "extra: 1\n")
        quiet_reader(self.log_dir)
        with open(self.journal, encoding="utf-8") as file:
            good = file.read()
        damaged = {
            "torn": good[: len(good) // 2],
            "not json": "{not json\n",
            "not a pair": "[1, 2, 3]\n",
            "a number as id": "[3, null]\n",
            "an entry of the wrong shape": '["3", {"stamps": "x"}]\n',
            "binary": "\udcff",
        }
        for name, text in damaged.items():
            with self.subTest(damage=name):
                with open(self.journal, "w", encoding="utf-8", errors="surrogateescape") as file:
                    file.write(text)
                reader, calls = counted_reads(self.log_dir)
                self.assertIn(calls, ([], ["3"]))
                self.assertEqual(reader.filter("config.extra == 1")["info.run_id"], [3])

    @unittest.skipUnless(hasattr(os, "mkfifo"), "no FIFOs on this platform")
    def test_a_fifo_as_the_journal_is_not_read_nor_written(self) -> None:
        os.mkfifo(self.journal)
        append(os.path.join(self.log_dir, "3", "metadata", "config.yaml"), "extra: 1\n")
        reader = quiet_reader(self.log_dir)
        self.assertEqual((reader.filter("config.extra == 1")["info.run_id"], reader.caught), ([3], []))
        self.assertEqual(counted_reads(self.log_dir)[1], [])

    def test_an_index_of_a_newer_tinyxp_is_left_alone_with_one_warning(self) -> None:
        data = read_index_file(self.index)
        data["version"] = 99
        write_index_file(self.index, data)
        with open(self.index, encoding="utf-8") as file:
            text = file.read()
        cache = temp_dir(self)
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": cache}):
            reader = quiet_reader(self.log_dir)
            self.assertEqual(len(reader.caught), 1, reader.caught)
            self.assertIn("written by a newer tinyxp (index version 99)", reader.caught[0])
            self.assertEqual(len(reader.filter("config.seed >= 0")), 20)
            self.assertTrue(reader.index_path.startswith(cache))
            again, calls = counted_reads(self.log_dir)
            self.assertEqual((calls, len(again)), ([], 20))
        with open(self.index, encoding="utf-8") as file:
            self.assertEqual(file.read(), text)

    def test_an_unwritable_journal_writes_elsewhere(self) -> None:
        os.mkdir(self.journal)  # a folder where the journal goes
        append(os.path.join(self.log_dir, "3", "metadata", "config.yaml"), "extra: 1\n")
        cache = temp_dir(self)
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": cache}):
            reader = quiet_reader(self.log_dir)
            self.assertEqual((reader.filter("config.extra == 1")["info.run_id"], reader.caught), ([3], []))
            self.assertTrue(reader.index_path.startswith(cache))
            self.assertEqual(counted_reads(self.log_dir)[1], [])

    def test_a_run_removed_while_the_index_is_read(self) -> None:
        append(os.path.join(self.log_dir, "3", "metadata", "config.yaml"), "extra: 1\n")
        original = index_module.read_run

        def removed_first(run_dir, stamps, old):
            shutil.rmtree(run_dir)
            return original(run_dir, stamps, old)

        with mock.patch.object(index_module, "read_run", removed_first):
            reader = quiet_reader(self.log_dir)
        self.assertNotIn(3, reader.runs["info.run_id"])
        self.assertEqual(len(reader), 19)
        again = quiet_reader(self.log_dir)
        self.assertEqual((len(again), again.caught), (19, []))

    def test_readers_appending_at_once_leave_a_right_index(self) -> None:
        errors = []

        def work(offset: int) -> None:
            try:
                for step in range(4):
                    run = str(1 + (offset * 4 + step) % 20)
                    append(os.path.join(self.log_dir, run, "metadata", "config.yaml"), f"extra{offset}{step}: 1\n")
                    quiet_reader(self.log_dir).filter("min(train.loss) > 0")
            except Exception as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(offset,)) for offset in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            join_thread(thread)
        self.assertEqual(errors, [])
        shutil.copytree(self.log_dir, self.log_dir + "-copy", ignore=shutil.ignore_patterns(".tinyxp"))
        fresh = quiet_reader(self.log_dir + "-copy")
        reader = quiet_reader(self.log_dir)
        self.assertEqual(sorted(reader.fields), sorted(fresh.fields))
        for name in reader.fields:
            if name.startswith("config."):
                self.assertEqual(reader.runs[name], fresh.runs[name], name)


class FieldsTest(unittest.TestCase):
    """Reader.fields are saved with the index and trusted only when no entry changed since."""

    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 5, n_lines=3)
        self.index = os.path.join(self.log_dir, ".tinyxp", "index.json")
        self.journal = os.path.join(self.log_dir, ".tinyxp", "index.journal")
        quiet_reader(self.log_dir).filter("config.seed == 0")  # the fields go to the journal

    def fields_collected(self) -> tuple:
        calls = []
        original = reader_module.collect_fields

        def counting(entries):
            calls.append(1)
            return original(entries)

        with mock.patch.object(reader_module, "collect_fields", counting):
            reader = quiet_reader(self.log_dir)
            fields = reader.fields
        return fields, len(calls)

    def test_fields_of_a_reader_that_missed_another_s_lines_are_not_used(self) -> None:
        append(os.path.join(self.log_dir, "3", "metadata", "config.yaml"), "other: 1\n")
        first = quiet_reader(self.log_dir)  # reads run 3 again: its fields are to be collected; its view is the journal now
        append(os.path.join(self.log_dir, "2", "metadata", "config.yaml"), "extra: 1\n")
        quiet_reader(self.log_dir)  # another reader appends run 2's new entry
        self.assertNotIn("config.extra", first.fields)  # what the first reader saw
        first.save_index()  # its fields line says where it expected to be written: not there
        fields, collected = self.fields_collected()
        self.assertEqual((fields["config.extra"], collected), ("int", 1))

    def test_saved_fields_are_used(self) -> None:
        fields, collected = self.fields_collected()
        self.assertEqual((fields["config.seed"], collected), ("int", 0))
        with mock.patch.object(store_module, "JOURNAL_SHARE", 0), mock.patch.object(store_module, "JOURNAL_MIN_BYTES", 0):
            append(os.path.join(self.log_dir, "2", "metadata", "config.yaml"), "extra: 1\n")
            quiet_reader(self.log_dir).filter("config.extra == 1")  # the whole index written, then the fields found
        fields, collected = self.fields_collected()
        self.assertEqual((fields["config.extra"], collected), ("int", 0))

    def test_an_entry_written_after_the_fields_makes_them_collected_again(self) -> None:
        append(os.path.join(self.log_dir, "2", "metadata", "config.yaml"), "extra: 1\n")
        quiet_reader(self.log_dir)  # appends run 2's entry, after the fields line, without fields
        fields, collected = self.fields_collected()
        self.assertEqual((fields["config.extra"], collected), ("int", 1))

    def test_fields_of_another_index_file_or_damaged_are_not_used(self) -> None:
        with open(self.journal, encoding="utf-8") as file:
            line = json.loads(file.read().splitlines()[-1])
        self.assertEqual(line[0], "")
        for name, record in {"another index": {**line[1], "index": [1, 2]}, "damaged": {**line[1], "fields": {"config.seed": 3}},
                             "not a mapping": [1]}.items():
            with self.subTest(case=name):
                with open(self.journal, "w", encoding="utf-8") as file:
                    file.write(json.dumps(["", record]) + "\n")
                fields, collected = self.fields_collected()
                self.assertEqual((fields["config.seed"], collected), ("int", 1))

    def test_fields_in_the_index_file_are_dropped_with_a_damaged_entry(self) -> None:
        with mock.patch.object(store_module, "JOURNAL_SHARE", 0), mock.patch.object(store_module, "JOURNAL_MIN_BYTES", 0):
            append(os.path.join(self.log_dir, "2", "metadata", "config.yaml"), "extra: 1\n")
            quiet_reader(self.log_dir).filter("config.extra == 1")
            reader = quiet_reader(self.log_dir)
            reader.fields
            reader.save_index()  # the fields written in index.json
        data = read_index_file(self.index)
        self.assertEqual(data["fields"]["config.extra"], "int")
        data["runs"]["2"]["stamps"] = "damaged"
        data["fields"] = {"config.seed": "int"}  # what a wrong cache would give
        write_index_file(self.index, data)
        fields, collected = self.fields_collected()
        self.assertEqual((fields["config.extra"], collected), ("int", 1))


def age_runs(log_dir: str) -> None:
    """Make every run's metadata/ folder old enough for its one stat to be trusted."""
    past = time.time_ns() - 10 * index_module.SETTLE_NS
    for name in os.listdir(log_dir):
        if name.isdigit():
            os.utime(os.path.join(log_dir, name, "metadata"), ns=(past, past))


def counted_stats(log_dir: str) -> tuple:
    """(a Reader, the paths in runs it called os.lstat on)."""
    paths = []
    original = os.lstat

    def counting(path, *args, **kwargs):
        if ".tinyxp" not in str(path):
            paths.append(path)
        return original(path, *args, **kwargs)

    with mock.patch.object(os, "lstat", counting):
        reader = quiet_reader(log_dir)
    return reader, paths


class SettledRunTest(unittest.TestCase):
    """An ended run whose metadata/ folder is old is checked with one stat of that folder."""

    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 6, n_lines=3)
        self.run_dir = os.path.join(self.log_dir, "2")

    def test_a_fresh_folder_is_not_trusted_an_old_one_is(self) -> None:
        quiet_reader(self.log_dir)
        _, paths = counted_stats(self.log_dir)
        self.assertGreater(len(paths), 6 * 3)  # written just now: every file of every run is checked
        age_runs(self.log_dir)
        quiet_reader(self.log_dir)  # checks them all once more and trusts the folders from now on
        _, paths = counted_stats(self.log_dir)
        self.assertEqual(sorted(paths), sorted(os.path.join(self.log_dir, str(i), "metadata") for i in range(1, 7)))

    def test_what_tinyxp_writes_into_an_ended_run_is_seen(self) -> None:
        age_runs(self.log_dir)
        quiet_reader(self.log_dir)
        with Logger(self.run_dir) as logger:
            logger.log_metrics({"epoch": 9, "loss": 0.125, "acc": 1.0})
            logger.log_artifact([1, 2], "preds")
        row = quiet_reader(self.log_dir).run(2)
        self.assertEqual(quiet_reader(self.log_dir).filter("last(train.loss) == 0.125")["info.run_id"], [2])
        self.assertIn("artifacts.pickle/preds.pkl", row.keys())
        age_runs(self.log_dir)
        quiet_reader(self.log_dir)
        update_notes(self.run_dir, add=["best"])
        self.assertEqual(quiet_reader(self.log_dir).filter("'best' in tags")["info.run_id"], [2])

    def test_the_logger_of_a_running_run_leaves_the_folder_alone(self) -> None:
        metadata = os.path.join(self.run_dir, "metadata")
        past = time.time_ns() - 10 * index_module.SETTLE_NS
        os.utime(metadata, ns=(past, past))
        with Logger(self.run_dir, live=True) as logger:
            logger.log_metrics({"loss": 1.0})
        self.assertEqual(os.stat(metadata).st_mtime_ns, past)
        with Logger(self.run_dir, live=True, rank=1) as logger:  # other ranks may log after rank 0 ended the run
            logger.log_metrics({"loss": 1.0}, all_ranks=True)
        self.assertGreater(os.stat(metadata).st_mtime_ns, past)

    def test_a_wrong_settled_stamp_makes_the_run_checked_a_damaged_one_the_index_rebuilt(self) -> None:
        age_runs(self.log_dir)
        quiet_reader(self.log_dir)
        index = os.path.join(self.log_dir, ".tinyxp", "index.json")
        data = read_index_file(index)
        self.assertIn("settled", data["runs"]["2"])
        data["runs"]["2"]["settled"] = [4096, 1]
        write_index_file(index, data)
        self.assertFalse(os.path.exists(os.path.join(self.log_dir, ".tinyxp", "index.journal")))  # the journal would mend it
        _, paths = counted_stats(self.log_dir)
        self.assertIn(os.path.join(self.run_dir, "metadata", "info.yaml"), paths)  # its files checked, unchanged: not read
        _, paths = counted_stats(self.log_dir)  # its right stamp was kept (in the journal)
        self.assertEqual(len(paths), 6)
        data["runs"]["2"]["settled"] = "damaged"
        write_index_file(index, data)
        os.remove(os.path.join(self.log_dir, ".tinyxp", "index.journal"))
        reader, calls = counted_reads(self.log_dir)
        self.assertEqual((calls, len(reader)), (["1", "2", "3", "4", "5", "6"], 6))


# -- the oracle ------------------------------------------------------------------------

QUERIES = [
    ("config.seed < {n}", lambda run, n: run["seed"] < n),
    ("config.model.name == 'mlp' & config.optimizer.lr in [0.1, 0.01]", lambda run, n: run["model"] == "mlp" and run["lr"] in (0.1, 0.01)),
    ("info.status == 'RUNNING' | config.seed == {n}", lambda run, n: run["status"] == "RUNNING" or run["seed"] == n),
    ("last(train.loss) < 0.{n}", lambda run, n: run["last"] is not None and run["last"] < float(f"0.{n}")),
    ("min(train.loss) >= 0.{n} & !(info.status == 'COMPLETE')", lambda run, n: run["min"] is not None and run["min"] >= float(f"0.{n}") and run["status"] != "COMPLETE"),
    ("count(train.loss) == {n}", lambda run, n: run["count"] == n),
]


def plain_runs(log_dir: str) -> dict:
    """run id -> the values the queries use, read from the run files without tinyxp's reader."""
    runs = {}
    for name in os.listdir(log_dir):
        if not name.isdigit():
            continue
        with open(os.path.join(log_dir, name, "metadata", "config.yaml"), encoding="utf-8") as file:
            config = yaml.load(file.read())
        with open(os.path.join(log_dir, name, "metadata", "info.yaml"), encoding="utf-8") as file:
            info = yaml.load(file.read())
        with open(os.path.join(log_dir, name, "metrics", "train.jsonl"), encoding="utf-8") as file:
            losses = [json.loads(line)["loss"] for line in file]
        runs[int(name)] = {
            "seed": config["seed"], "model": config["model"]["name"], "lr": config["optimizer"]["lr"], "status": info["status"],
            "last": losses[-1] if losses else None, "min": min(losses) if losses else None, "count": len(losses),
        }
    return runs


class OracleTest(unittest.TestCase):
    """Random launches, resumes, removals and corruptions, then random queries against plain Python."""

    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        self.index = os.path.join(self.log_dir, ".tinyxp", "index.json")
        self.journal = os.path.join(self.log_dir, ".tinyxp", "index.journal")
        self.next_id = 1

    def launch(self, rng: random.Random) -> None:
        config = {"seed": rng.randrange(5), "model": {"name": rng.choice(synth.MODELS)}, "optimizer": {"lr": rng.choice(synth.LRS)}}
        losses = [{"loss": round(rng.random(), 3)} for _ in range(rng.randrange(1, 4))]
        synth.write_run(self.log_dir, self.next_id, config, status=rng.choice(["RUNNING", "COMPLETE"]), metrics={"train": losses})
        self.next_id += 1

    def resume(self, rng: random.Random, run_dir: str) -> None:
        """What tinyxp does: info.yaml replaced, then metrics logged (a standalone Logger: into an ended run too)."""
        info_path = os.path.join(run_dir, "metadata", "info.yaml")
        with open(info_path, encoding="utf-8") as file:
            info = yaml.load(file.read())
        info["status"] = rng.choice(["RUNNING", "COMPLETE", "FAILED"])
        write_atomic(info_path, yaml.dump(info))
        move_mtime(info_path)
        self.log(rng, run_dir)

    def log(self, rng: random.Random, run_dir: str) -> None:
        with Logger(run_dir) as logger:
            for _ in range(rng.randrange(1, 3)):
                logger.log_metrics({"loss": round(rng.random(), 3)})


    def corrupt(self, rng: random.Random) -> None:
        path = rng.choice([self.index, self.journal])
        if not os.path.exists(path):
            return
        with open(path, "rb") as file:
            data = file.read()
        kind = rng.randrange(4)
        if kind == 0:
            data = data[: rng.randrange(len(data) + 1)]  # truncated
        elif kind == 1:
            data += b'["1", {"stamps": [null'  # torn line
        elif kind == 2:
            data = b"\x00" * len(data)
        else:
            os.remove(path)
            return
        with open(path, "wb") as file:
            file.write(data)

    def step(self, rng: random.Random) -> None:
        runs = [os.path.join(self.log_dir, name) for name in os.listdir(self.log_dir) if name.isdigit()]
        action = rng.choice(["launch", "launch", "resume", "log", "remove", "corrupt", "age", "age"])
        if action == "launch" or not runs:
            self.launch(rng)
        elif action == "age":
            age_runs(self.log_dir)
        elif action == "log":
            self.log(rng, rng.choice(runs))
        elif action == "resume":
            self.resume(rng, rng.choice(runs))
        elif action == "remove":
            shutil.rmtree(rng.choice(runs))
        else:
            self.corrupt(rng)

    def test_random_histories_give_the_answers_of_plain_python(self) -> None:
        for seed in range(3):
            rng = random.Random(seed)
            shutil.rmtree(self.log_dir, ignore_errors=True)
            for _ in range(8):
                self.launch(rng)
            for step in range(25):
                for _ in range(rng.randrange(1, 4)):
                    self.step(rng)
                share = rng.choice([0, 0.01, 0.25])
                with mock.patch.object(store_module, "JOURNAL_MIN_BYTES", 0), mock.patch.object(store_module, "JOURNAL_SHARE", share):
                    reader = quiet_reader(self.log_dir)
                    expected = plain_runs(self.log_dir)
                    for _ in range(3):
                        query, predicate = rng.choice(QUERIES)
                        n = rng.randrange(1, 5)
                        with self.subTest(seed=seed, step=step, query=query.format(n=n)):
                            found = reader.filter(query.format(n=n))["info.run_id"]
                            self.assertEqual(found, sorted(i for i, run in expected.items() if predicate(run, n)))


if __name__ == "__main__":
    unittest.main()
