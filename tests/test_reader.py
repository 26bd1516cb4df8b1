"""Reader: scanning run directories, the incremental index, partial runs, LOST, launches."""
from __future__ import annotations

import io
import json
import os
import textwrap
import threading
import time
import unittest
import warnings
from contextlib import redirect_stderr
from unittest import mock

from .bench import synth
from .index_files import mark_run_changed, read_index_file, write_index_file
from .support import REPO_ROOT, finish, join_thread, run_script, start_script, temp_dir, wait_for_line, write_project
from tinyxp.read import index as index_module
from tinyxp.read import store as store_module
from tinyxp.errors import QueryError, ReaderError
from tinyxp.read.index import peek_metric_file
from tinyxp.read.reader import Reader, ReaderWarning


def quiet_reader(*args, **kwargs) -> Reader:
    """A Reader whose warnings are recorded in `.caught` instead of printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = Reader(*args, **kwargs)
    reader.caught = [str(w.message) for w in caught if issubclass(w.category, ReaderWarning)]
    return reader


def write_text(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    mark_run_changed(path)


def bump(path: str, text: str) -> None:
    """Append text and make sure the mtime moves (coarse clocks)."""
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    mark_run_changed(path)


class ReaderTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 6, n_lines=5)

    def test_len_fields_and_searchable(self) -> None:
        reader = quiet_reader(self.log_dir)
        self.assertEqual(len(reader), 6)
        self.assertEqual(reader.caught, [])
        fields = reader.fields
        self.assertEqual(fields["config.optimizer.lr"], "float")
        self.assertEqual(fields["config.seed"], "int")
        self.assertEqual(fields["info.status"], "str")
        self.assertEqual(fields["info.end_time"], "str")
        self.assertEqual(fields["info.python.version"], "str")
        self.assertEqual(fields["train.loss"], "list[float]")
        self.assertEqual(fields["train.epoch"], "list[int]")
        self.assertEqual(list(fields)[0], "config.data.augment")  # config first, then info, then metrics
        self.assertEqual(list(fields)[-1], "train.loss")
        self.assertEqual(set(reader.searchable), {f for f in fields if f.startswith(("config.", "info."))} | {"tags", "note"})
        self.assertEqual(repr(reader), f"Reader({self.log_dir!r}: 6 runs)")

    def test_filter(self) -> None:
        reader = quiet_reader(self.log_dir)
        df = reader.filter("config.optimizer.lr in [0.1, 0.001] & config.model.name == 'mlp'")
        self.assertEqual(df["info.run_id"], [1, 5])
        self.assertEqual(reader.filter()["info.run_id"], [1, 2, 3, 4, 5, 6])
        self.assertEqual(reader.runs["info.run_id"], [1, 2, 3, 4, 5, 6])
        self.assertEqual(len(df[0]["train.loss"]), 5)
        with self.assertRaises(QueryError):
            reader.filter("config.optimizer.lr > 'a'")

    def test_artifact_columns(self) -> None:
        synth.write_run(self.log_dir, 7, {"seed": 9}, artifacts={"pickle/last.pkl": [1, 2]})
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.fields["artifacts.pickle/last.pkl"], "artifact")
        row = reader.filter("config.seed == 9")[0]
        self.assertEqual(row["artifacts.pickle/last.pkl"].load(), [1, 2])

    def test_nothing_is_unpickled_unless_asked(self) -> None:
        synth.write_run(self.log_dir, 7, {"seed": 9}, artifacts={"pickle/last.pkl": [1, 2]})
        out = os.path.join(temp_dir(self), "runs.csv")
        refused = AssertionError("unpickled without being asked")
        with mock.patch("pickle.load", side_effect=refused), mock.patch("pickle.loads", side_effect=refused):
            reader = quiet_reader(self.log_dir)
            df = reader.filter("config.seed == 9 | config.seed == 0")
            repr(df), df._repr_html_(), repr(df.groupby("config.seed"))
            records = df.to_records(lazy=False)
            df.to_csv(out, lazy=False)
            artifact = df[-1]["artifacts.pickle/last.pkl"]
            with self.assertRaises(AssertionError):
                artifact.load()  # the patch does catch a load
        self.assertEqual(records[-1]["artifacts.pickle/last.pkl"], artifact.path)
        self.assertEqual(artifact.load(), [1, 2])

    def test_metric_summaries_in_queries_are_cached_for_finished_runs(self) -> None:
        synth.write_run(self.log_dir, 7, {"seed": 9}, status="RUNNING", metrics={"train": [{"loss": 0.001}]})
        reader = quiet_reader(self.log_dir, lost_after=1e9)
        self.assertEqual(reader.filter("min(train.loss) < 0.215")["info.run_id"], [3, 4, 7])
        loaded = store_module.load_index([reader.index_path], reader.log_dir)  # index.json and its journal
        runs = {name: entry if type(entry) is dict else loaded.stored.entry(entry) for name, entry in loaded.entries.items()}
        self.assertIn("loss", runs["3"]["metrics"]["train"]["summary"])
        self.assertNotIn("summary", runs["7"]["metrics"]["train"])
        with mock.patch("tinyxp.read.row.read_metric_file", side_effect=AssertionError("read again")):
            again = quiet_reader(self.log_dir, lost_after=1e9)
            self.assertEqual(again.filter("config.seed == 0 & min(train.loss) < 0.215")["info.run_id"], [3, 4])
            # last() of a key present in the last line comes from the index
            self.assertEqual(again.filter("last(train.loss) > 1")["info.run_id"], [])
        self.assertEqual(reader.filter("count(test.loss) == 1")["info.run_id"], [1, 2, 3, 4, 5, 6])

    def test_does_not_exist(self) -> None:
        missing = os.path.join(self.log_dir, "nope")
        with self.assertRaises(ReaderError) as caught:
            Reader(missing)
        self.assertEqual(str(caught.exception), f"Cannot read log directory {missing!r}: it does not exist")
        a_file = os.path.join(self.log_dir, "1", "heartbeat")
        with self.assertRaises(ReaderError) as caught:
            Reader(a_file)
        self.assertEqual(str(caught.exception), f"Cannot read log directory {a_file!r}: it is not a directory")

    def test_log_dir_that_cannot_be_listed(self) -> None:
        reader = quiet_reader(self.log_dir)
        import shutil

        shutil.rmtree(self.log_dir)
        with self.assertRaises(ReaderError) as caught:
            reader.refresh()
        self.assertEqual(str(caught.exception), f"Cannot read log directory {self.log_dir!r}: No such file or directory")
        os.makedirs(self.log_dir)
        denied = PermissionError(13, "Permission denied", self.log_dir)  # root may list any folder: refused here
        with mock.patch("os.scandir", side_effect=denied), self.assertRaises(ReaderError) as caught:
            Reader(self.log_dir)
        self.assertEqual(str(caught.exception), f"Cannot read log directory {self.log_dir!r}: Permission denied")

    def test_empty_log_dir(self) -> None:
        empty = temp_dir(self)
        reader = quiet_reader(empty)
        self.assertEqual(len(reader), 0)
        self.assertEqual(reader.fields, {})
        self.assertEqual(len(reader.filter()), 0)
        with self.assertRaises(QueryError) as caught:
            reader.filter("config.lr == 1")
        self.assertEqual(str(caught.exception).split("\n")[0], "Unknown field 'config.lr': no runs were found, so no field is known")


class IndexTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 4, n_lines=3)
        self.index = os.path.join(self.log_dir, ".tinyxp", "index.json")

    def count_reads(self) -> tuple:
        calls = []
        original = index_module.read_run

        def counting(run_dir, stamps, old):
            calls.append(os.path.basename(run_dir))
            return original(run_dir, stamps, old)

        with mock.patch.object(index_module, "read_run", counting):
            reader = quiet_reader(self.log_dir)
        return reader, calls

    def test_index_is_written_and_unchanged_runs_are_not_read_again(self) -> None:
        reader, calls = self.count_reads()
        self.assertEqual(calls, ["1", "2", "3", "4"])
        self.assertEqual(reader.index_path, self.index)
        data = read_index_file(self.index)
        self.assertEqual((data["version"], data["log_dir"], sorted(data["runs"])), (3, self.log_dir, ["1", "2", "3", "4"]))
        before = os.stat(self.index).st_mtime_ns
        reader, calls = self.count_reads()
        self.assertEqual((calls, len(reader)), ([], 4))
        self.assertEqual(os.stat(self.index).st_mtime_ns, before)  # not rewritten

    def test_new_changed_and_removed_runs_are_picked_up(self) -> None:
        synth.write_run(self.log_dir, 6, {"seed": 6}, status="RUNNING", metrics={"train": [{"epoch": 0, "loss": 1}]})
        self.count_reads()
        synth.write_run(self.log_dir, 5, {"seed": 5})
        bump(os.path.join(self.log_dir, "2", "metadata", "config.yaml"), "extra: 1\n")
        bump(os.path.join(self.log_dir, "6", "metrics", "train.jsonl"), '{"epoch": 1, "loss": 0.1, "new": 1}\n')
        import shutil

        shutil.rmtree(os.path.join(self.log_dir, "4"))
        reader, calls = self.count_reads()
        self.assertEqual(calls, ["2", "5", "6"])
        self.assertEqual(reader.runs["info.run_id"], [1, 2, 3, 5, 6])
        self.assertEqual(reader.filter("config.extra == 1")["info.run_id"], [2])
        self.assertEqual(reader.fields["train.new"], "list[int]")
        self.assertEqual(reader.filter("last(train.loss) == 0.1")["info.run_id"], [6])

    def test_metrics_logged_into_a_finished_run_afterwards_are_seen(self) -> None:
        """A post-hoc `tinyxp.Logger(run)` appends to a finished run (issue 12: they were invisible)."""
        self.count_reads()
        bump(os.path.join(self.log_dir, "3", "metrics", "train.jsonl"), '{"epoch": 3, "loss": 0.1}\n')
        reader, calls = self.count_reads()
        self.assertEqual(calls, ["3"])
        self.assertEqual(reader.filter("last(train.loss) == 0.1")["info.run_id"], [3])
        bump(os.path.join(self.log_dir, "3", "metrics", "extra.jsonl"), '{"acc": 0.5}\n')
        reader, calls = self.count_reads()
        self.assertEqual((calls, reader.fields["extra.acc"]), (["3"], "list[float]"))
        bump(os.path.join(self.log_dir, "3", "metadata", "info.yaml"), "note: resumed\n")
        self.assertEqual(self.count_reads()[1], ["3"])

    def test_refresh_picks_up_changes_in_place(self) -> None:
        reader, _ = self.count_reads()
        synth.write_run(self.log_dir, 5, {"seed": 5})
        reader.refresh()
        self.assertEqual(len(reader), 5)
        self.assertIn("config.seed", reader.fields)

    def test_corrupt_index_is_rebuilt(self) -> None:
        self.count_reads()
        for text in ("{not json", "[]", '{"version": 99, "runs": {}}', json.dumps({"version": 1, "log_dir": "/elsewhere", "runs": {}})):
            with self.subTest(text=text):
                write_text(self.index, text)
                reader, calls = self.count_reads()
                self.assertEqual((len(reader), calls), (4, ["1", "2", "3", "4"]))
                self.assertEqual(len(read_index_file(self.index)["runs"]), 4)

    def test_malformed_entries_are_read_again(self) -> None:
        self.count_reads()
        data = read_index_file(self.index)
        del data["runs"]["1"]["metrics"]
        data["runs"]["2"] = "junk"
        data["runs"]["3"]["stamps"] = None
        write_index_file(self.index, data)
        reader, calls = self.count_reads()
        self.assertEqual(calls, ["1", "2", "3"])
        self.assertEqual(len(reader.filter("last(train.loss) > 0")), 4)

    def test_log_dir_not_writable_uses_index_dir(self) -> None:
        write_text(os.path.join(self.log_dir, ".tinyxp"), "a file where the index folder should be")
        index_dir = os.path.join(temp_dir(self), "index")
        reader = quiet_reader(self.log_dir, index_dir=index_dir)
        self.assertEqual(reader.caught, [])
        self.assertEqual(os.path.dirname(reader.index_path), index_dir)
        self.assertTrue(os.path.basename(reader.index_path).startswith("index-"))
        again = quiet_reader(self.log_dir, index_dir=index_dir)
        self.assertEqual((len(again), again.index_path), (4, reader.index_path))

    def test_default_fallback_is_a_per_user_cache(self) -> None:
        cache = temp_dir(self)
        write_text(os.path.join(self.log_dir, ".tinyxp"), "not a folder")
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": cache}):
            reader = quiet_reader(self.log_dir)
        self.assertEqual(os.path.dirname(reader.index_path), os.path.join(cache, "tinyxp", "index"))

    def test_nowhere_writable_keeps_the_index_in_memory_with_one_warning(self) -> None:
        write_text(os.path.join(self.log_dir, ".tinyxp"), "not a folder")
        blocked = os.path.join(self.log_dir, "1", "heartbeat", "index")  # under a file
        reader = quiet_reader(self.log_dir, index_dir=blocked)
        self.assertEqual(len(reader), 4)
        self.assertIsNone(reader.index_path)
        self.assertEqual(len(reader.caught), 1)
        self.assertTrue(reader.caught[0].startswith("Cannot write the run index to "), reader.caught[0])
        self.assertTrue(reader.caught[0].endswith("; keeping it in memory"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader.filter("min(train.loss) < 1")  # dirty again: no second warning
        self.assertEqual(caught, [])

    @unittest.skipIf(hasattr(os, "geteuid") and os.geteuid() == 0, "root can write to read-only folders")
    def test_read_only_log_dir(self) -> None:
        os.chmod(self.log_dir, 0o555)
        cache = temp_dir(self)
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": cache}):
            reader = quiet_reader(self.log_dir)
        self.assertEqual(len(reader), 4)
        self.assertTrue(reader.index_path.startswith(cache))

    def test_read_only_log_dir_even_as_root(self) -> None:
        # root writes into folders without write permission, so refuse writes under log_dir
        def refuse_log_dir(path: str, text: str) -> None:
            if path.startswith(self.log_dir + os.sep):
                raise PermissionError(13, "Permission denied", path)
            write_atomic(path, text)

        from tinyxp._files import write_atomic

        cache = temp_dir(self)
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": cache}), mock.patch.object(store_module, "write_atomic", refuse_log_dir):
            reader = quiet_reader(self.log_dir)
            self.assertEqual((len(reader), reader.caught), (4, []))
            self.assertEqual(os.path.dirname(reader.index_path), os.path.join(cache, "tinyxp", "index"))
            self.assertFalse(os.path.exists(self.index))
            reader, calls = self.count_reads()
        self.assertEqual((len(reader), calls), (4, []))  # the cached index was used

    def test_concurrent_readers_leave_a_valid_index(self) -> None:
        errors = []

        def work() -> None:
            try:
                for _ in range(5):
                    reader = quiet_reader(self.log_dir)
                    reader._dirty = True
                    reader.save_index()
            except Exception as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            join_thread(thread)
        self.assertEqual(errors, [])
        self.assertEqual(len(read_index_file(self.index)["runs"]), 4)
        self.assertEqual(os.listdir(os.path.dirname(self.index)), ["index.json"])

    def test_progress_line_on_a_terminal(self) -> None:
        stderr = io.StringIO()
        with mock.patch.object(index_module, "PROGRESS_MIN_RUNS", 2), redirect_stderr(stderr):
            quiet_reader(self.log_dir, progress=True)
        self.assertIn("\rtinyxp: indexing runs 4/4", stderr.getvalue())
        stderr = io.StringIO()
        with redirect_stderr(stderr):
            quiet_reader(os.path.join(self.log_dir))
        self.assertEqual(stderr.getvalue(), "")


class PartialRunTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 3, n_lines=3)

    def test_stray_folders_and_files_are_ignored(self) -> None:
        os.mkdir(os.path.join(self.log_dir, "notes"))
        os.mkdir(os.path.join(self.log_dir, "-4"))
        os.mkdir(os.path.join(self.log_dir, "007"))  # the logger never names a run so
        os.mkdir(os.path.join(self.log_dir, "\u00b2"))  # a digit to str.isdigit, not to int()
        write_text(os.path.join(self.log_dir, "9"), "a file named like a run")
        write_text(os.path.join(self.log_dir, "README"), "hello")
        reader = quiet_reader(self.log_dir)
        self.assertEqual((len(reader), reader.caught), (3, []))

    def test_metric_files_named_as_reader_columns_are_left_out(self) -> None:
        # written before log_metrics refused these names: they must not break every query
        write_text(os.path.join(self.log_dir, "1", "metrics", "info.jsonl"), '{"status": 3}\n')
        write_text(os.path.join(self.log_dir, "1", "metrics", "tags.jsonl"), '{"x": 1}\n')
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.filter("info.status == 'COMPLETE'")["info.run_id"], [1, 2, 3])
        self.assertNotIn("info.status", [name for name, kind in reader.fields.items() if kind.startswith("list[")])
        self.assertEqual(index_module.metric_names(os.path.join(self.log_dir, "1")), ["test", "train"])

    def test_partial_runs_are_reported_once_with_their_paths(self) -> None:
        os.remove(os.path.join(self.log_dir, "1", "metadata", "config.yaml"))
        info = os.path.join(self.log_dir, "2", "metadata", "info.yaml")
        with open(info) as file:
            text = file.read()
        write_text(info, text[:40] + "\n  - [unclosed\n")
        os.makedirs(os.path.join(self.log_dir, "4", "metrics"))
        with open(os.path.join(self.log_dir, "3", "metrics", "train.jsonl"), "a") as file:
            file.write('{"epoch": 3, "lo')
        reader = quiet_reader(self.log_dir)
        self.assertEqual(len(reader), 3)  # 4 is no run yet (no info.yaml); 2 is listed with the rest
        self.assertEqual(len(reader.caught), 1)
        message = reader.caught[0]
        self.assertEqual(message.split("\n")[0], "Read 4 partial run file(s) in part:")
        run = lambda n: os.path.join(self.log_dir, n)  # noqa: E731
        self.assertEqual(
            [(path, problem.split(":")[0]) for path, problem in reader.problems],
            [(run("1"), "missing metadata/config.yaml"), (run("2"), "cannot read metadata/info.yaml"),
             (run("3"), "metrics/train.jsonl"), (run("4"), "missing metadata/info.yaml")],
        )
        self.assertIn(f"  {run('3')}: metrics/train.jsonl: ignored a torn last line", message)
        self.assertEqual(reader.filter()["info.run_id"], [1, 2, 3])
        self.assertEqual(reader.filter()[2]["train.epoch"], [0, 1, 2])
        self.assertNotIn("config.seed", reader.filter()[0].keys())
        damaged = reader.filter()[1]  # its info.yaml cut short: config and metrics still read
        self.assertEqual((damaged.get("info.status"), damaged["config.seed"], damaged["train.epoch"]), (None, 0, [0, 1, 2]))
        self.assertEqual(reader.filter("info.status == 'COMPLETE'")["info.run_id"], [1, 3])
        again = quiet_reader(self.log_dir)  # from the index: said once already, not on every listing
        self.assertEqual((again.caught, again.problems), ([], reader.problems))
        os.remove(os.path.join(self.log_dir, "1", "metadata", "info.yaml"))  # a new problem is said, alone
        third = quiet_reader(self.log_dir)
        self.assertEqual(third.caught, [f"Read 1 partial run file(s) in part:\n  {run('1')}: missing metadata/info.yaml"])

    def test_torn_line_of_a_running_run_is_not_reported(self) -> None:
        synth.write_run(self.log_dir, 4, {}, status="RUNNING", metrics={"train": [{"loss": 1}]})
        with open(os.path.join(self.log_dir, "4", "metrics", "train.jsonl"), "a") as file:
            file.write('{"loss": 0.')
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.caught, [])
        self.assertEqual(reader.filter("config.seed == null")[0]["train.loss"], [1])

    def test_info_yaml_that_is_not_a_mapping(self) -> None:
        write_text(os.path.join(self.log_dir, "1", "metadata", "info.yaml"), "- 1\n")
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.problems, [(os.path.join(self.log_dir, "1"), "invalid metadata/info.yaml: expected a mapping, got list")])

    def test_metadata_file_that_is_a_folder(self) -> None:
        config = os.path.join(self.log_dir, "1", "metadata", "config.yaml")
        os.remove(config)
        os.mkdir(config)
        reader = quiet_reader(self.log_dir)
        problem = f"cannot read metadata/config.yaml: [Errno 21] Is a directory: {config!r}"
        self.assertEqual(reader.problems, [(os.path.join(self.log_dir, "1"), problem)])
        self.assertEqual(len(reader), 3)


class MetricPeekTest(unittest.TestCase):
    def peek(self, text: str) -> tuple:
        """(keys, last record, torn?), after checking the stamp against os.stat."""
        path = os.path.join(temp_dir(self), "train.jsonl")
        write_text(path, text)
        stamp, *peeked = peek_metric_file(os.path.dirname(path), "train.jsonl")
        st = os.stat(path)
        self.assertEqual(stamp, [st.st_size, st.st_mtime_ns])
        return tuple(peeked)

    def test_first_and_last_lines_give_the_columns(self) -> None:
        self.assertEqual(self.peek('{"a": 1}\n{"mid": 2}\n{"a": 3, "b": 4}\n'), (["a", "b"], {"a": 3, "b": 4}, False))

    def test_one_line_empty_and_torn_files(self) -> None:
        self.assertEqual(self.peek('{"a": 1}\n'), (["a"], {"a": 1}, False))
        self.assertEqual(self.peek(""), ([], {}, False))
        self.assertEqual(self.peek('{"a": 1'), ([], {}, True))
        self.assertEqual(self.peek('{"a": 1}\n{"b": 2}\n{"c"'), (["a", "b"], {"b": 2}, True))
        self.assertEqual(self.peek('{"a": 1}\n{"c"'), (["a"], {"a": 1}, True))

    def test_a_file_removed_before_it_is_read(self) -> None:
        self.assertEqual(peek_metric_file(temp_dir(self), "gone.jsonl"), (None, [], {}, False))

    def test_long_files_are_read_at_both_ends_only(self) -> None:
        lines = "".join(json.dumps({"step": i, "loss": 1 / (i + 1)}) + "\n" for i in range(2000))
        keys, last, torn = self.peek('{"first": 0}\n' + lines)
        self.assertEqual((keys, last, torn), (["first", "step", "loss"], {"step": 1999, "loss": 1 / 2000}, False))

    def test_a_last_line_longer_than_the_window(self) -> None:
        long_line = json.dumps({"big": "x" * 10000}) + "\n"
        self.assertEqual(self.peek('{"a": 1}\n{"b": 2}\n' + long_line)[0], ["a"])  # learnt on load
        self.assertEqual(self.peek('{"a": 1}\n' + long_line + '{"c": 3}\n')[0], ["a", "c"])


class LostTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        for run_id in (1, 2, 3):
            synth.write_run(self.log_dir, run_id, {"seed": run_id}, status="RUNNING")
        old = time.time() - 3600
        for run_id in (1, 2, 3):
            os.utime(os.path.join(self.log_dir, str(run_id), "metadata", "info.yaml"), (old, old))
        os.utime(os.path.join(self.log_dir, "1", "heartbeat"), (old, old))
        os.remove(os.path.join(self.log_dir, "3", "heartbeat"))

    def test_running_runs_with_an_old_heartbeat_are_lost(self) -> None:
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.runs["info.status"], ["LOST", "RUNNING", "LOST"])
        self.assertEqual(reader.filter("info.status == 'LOST'")["info.run_id"], [1, 3])
        self.assertEqual(quiet_reader(self.log_dir, lost_after=7200).runs["info.status"], ["RUNNING"] * 3)

    def test_a_heartbeat_brings_a_run_back(self) -> None:
        reader = quiet_reader(self.log_dir)
        os.utime(os.path.join(self.log_dir, "1", "heartbeat"))
        reader.refresh()
        self.assertEqual(reader.runs["info.status"], ["RUNNING", "RUNNING", "LOST"])


    def test_a_run_with_a_long_heartbeat_interval_is_given_several_of_them(self) -> None:
        run_dir = synth.write_run(self.log_dir, 4, {}, status="RUNNING", info={"heartbeat_interval": 1800})
        old = time.time() - 3600  # one hour: less than 3 intervals of half an hour
        for path in ("heartbeat", "metadata/info.yaml"):
            os.utime(os.path.join(run_dir, path), (old, old))
        self.assertEqual(quiet_reader(self.log_dir).runs["info.status"], ["LOST", "RUNNING", "LOST", "RUNNING"])
        older = time.time() - 3 * 1800 - 60
        for path in ("heartbeat", "metadata/info.yaml"):
            os.utime(os.path.join(run_dir, path), (older, older))
        self.assertEqual(quiet_reader(self.log_dir).runs["info.status"][3], "LOST")

    def test_a_run_without_a_recorded_interval_uses_lost_after(self) -> None:
        # written by an older tinyxp: no interval
        run_dir = synth.write_run(self.log_dir, 4, {}, status="RUNNING", info={"heartbeat_interval": None})
        old = time.time() - 3600
        for path in ("heartbeat", "metadata/info.yaml"):
            os.utime(os.path.join(run_dir, path), (old, old))
        self.assertEqual(quiet_reader(self.log_dir).runs["info.status"][3], "LOST")

    def test_fresh_metrics_keep_a_run_alive(self) -> None:
        # the heartbeat is old but the run still logs: it is not lost
        write_text(os.path.join(self.log_dir, "1", "metrics", "train.jsonl"), '{"loss": 1}\n')
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.runs["info.status"], ["RUNNING", "RUNNING", "LOST"])


class TagsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        synth.write_tree(self.log_dir, 3, n_lines=2)

    def notes(self, run_id: int, text: str) -> str:
        path = os.path.join(self.log_dir, str(run_id), "metadata", "notes.yaml")
        write_text(path, text)
        return path

    def test_tags_and_note_are_columns_every_run_has(self) -> None:
        reader = quiet_reader(self.log_dir)
        self.assertEqual((reader.fields["tags"], reader.fields["note"]), ("list", "null"))
        self.assertIn("tags", reader.searchable)
        self.assertEqual(len(reader.filter("'baseline' in tags")), 0)
        self.notes(1, "tags: [baseline, good]\nnote: lr too high\n")
        self.notes(3, "tags: [good]\n")
        reader.refresh()  # finished runs: their notes.yaml is checked too
        self.assertEqual(reader.filter("'baseline' in tags")["info.run_id"], [1])
        self.assertEqual(reader.filter("'good' in tags & 'baseline' not in tags")["info.run_id"], [3])
        self.assertEqual(reader.filter("note == 'lr too high'")["info.run_id"], [1])
        self.assertEqual(reader.runs["tags"], [["baseline", "good"], [], ["good"]])
        self.assertEqual(quiet_reader(self.log_dir).runs["note"], ["lr too high", None, None])  # from the index

    def test_a_damaged_notes_file_is_reported(self) -> None:
        self.notes(2, "tags: [a\n")
        self.notes(3, "- not a mapping\n")
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.runs["tags"], [[], [], []])
        self.assertEqual(len(reader.caught), 1)
        self.assertIn("2: cannot read metadata/notes.yaml: ", reader.caught[0])


class LiveRunTest(unittest.TestCase):
    def test_a_live_run_with_a_long_heartbeat_interval_that_logs_is_not_lost(self) -> None:
        root = temp_dir(self)
        script = write_project(root, body=textwrap.dedent("""\
            import os, time
            print("LOGGING", flush=True)
            while not os.path.exists("stop"):
                ctx.logger.log_metrics({"t": time.time()}, log_name="live")
                time.sleep(0.05)
            """))
        process = start_script(script, ["xp.heartbeat_interval=3600"], test=self)
        wait_for_line(process, "LOGGING")
        run_dir = os.path.join(root, "logs", "1")
        info = os.path.join(run_dir, "metadata", "info.yaml")
        with open(info, encoding="utf-8") as file:
            self.assertIn("heartbeat_interval: 3600\n", file.read())
        self.assertFalse(os.path.exists(os.path.join(run_dir, "heartbeat")))  # the first beat is an hour away
        old = time.time() - 7200
        os.utime(info, (old, old))
        self.assertEqual(quiet_reader(os.path.join(root, "logs"), lost_after=60).runs["info.status"], ["RUNNING"])
        write_text(os.path.join(root, "stop"), "")
        finish(process)
        self.assertEqual((process.returncode, quiet_reader(os.path.join(root, "logs")).runs["info.status"]), (0, ["COMPLETE"]))


class LaunchedRunsTest(unittest.TestCase):
    """Directories written by real launches read back, and match what synth.py writes."""

    @classmethod
    def setUpClass(cls) -> None:
        import tempfile

        cls.root = tempfile.mkdtemp(prefix="tinyxp-test-")
        script = write_project(
            cls.root,
            body='ctx.logger.log_metrics({"loss": 0.5 * ctx.config.lr, "acc": 0.9}, log_name="test")\n'
            'ctx.logger.log_artifact({"lr": ctx.config.lr}, name="weights.pkl", format="pickle")\n',
        )
        cls.result = run_script(script, ["+sweep", "lr=0.1,0.01", "seed=range(2)"])
        cls.log_dir = os.path.join(cls.root, "logs")

    @classmethod
    def tearDownClass(cls) -> None:
        import shutil

        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self) -> None:
        self.assertEqual(self.result.returncode, 0, self.result.stderr)

    def test_reads_a_sweep(self) -> None:
        reader = quiet_reader(self.log_dir)
        self.assertEqual(reader.caught, [])
        self.assertEqual(len(reader), 4)
        self.assertEqual(reader.runs["info.status"], ["COMPLETE"] * 4)
        self.assertEqual(reader.runs.diff(), ["config.seed", "config.lr"])
        self.assertEqual(reader.fields["train.loss"], "list[float]")
        self.assertEqual(reader.fields["artifacts.pickle/weights.pkl"], "artifact")
        df = reader.filter("config.lr == 0.01 & last(test.loss) < 0.01")
        self.assertEqual(df["config.seed"], [0, 1])
        self.assertEqual(df[0]["train.loss"], [1.0, 0.5, 1 / 3])
        self.assertEqual(df[0]["artifacts.pickle/weights.pkl"].load(), {"lr": 0.01})

    def test_synthetic_runs_match_launched_runs(self) -> None:
        synthetic = os.path.join(temp_dir(self), "logs")
        synth.write_run(synthetic, 1, {"seed": 0}, metrics={"train": [{"loss": 1}]}, artifacts={"pickle/weights.pkl": 1})

        def layout(run_dir: str) -> list:
            return sorted(os.path.relpath(os.path.join(root, name), run_dir) for root, dirs, files in os.walk(run_dir) for name in dirs + files)

        launched = os.path.join(self.log_dir, "1")
        optional = ("heartbeat", os.path.join("metrics", "test.jsonl"))  # heartbeat: from the first beat on
        self.assertEqual([p for p in layout(os.path.join(synthetic, "1")) if p not in optional], [p for p in layout(launched) if p not in optional])
        from tinyxp._files import read_yaml

        for name in ("info.yaml", "xp.yaml"):
            with self.subTest(name=name):
                ours = read_yaml(os.path.join(synthetic, "1", "metadata", name))
                theirs = read_yaml(os.path.join(launched, "metadata", name))
                if name == "info.yaml":
                    self.assertEqual(list(ours), list(theirs))
                else:
                    self.assertLessEqual(set(ours), set(theirs))


@unittest.skipUnless(
    os.path.exists(os.path.join(REPO_ROOT, "examples", "analysis.py")),
    "the examples are not next to the tests (a vendored copy)",
)
class QuickstartAnalysisTest(unittest.TestCase):
    """examples/analysis.py (the MLXP tutorial's analysis) on runs the quickstart writes."""

    def test_best_learning_rate_per_model(self) -> None:
        import shutil

        root = temp_dir(self)
        project = os.path.join(root, "quickstart")
        shutil.copytree(os.path.join(REPO_ROOT, "examples", "quickstart"), project)
        result = run_script(
            os.path.join(project, "train.py"),
            ["+sweep", "model=linear,poly", "optimizer.lr=0.1,0.001", "seed=range(2)", "epochs=3", "data.n_train=40", "data.n_test=20"],
            cwd=root,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        import runpy

        analyse = runpy.run_path(os.path.join(REPO_ROOT, "examples", "analysis.py"))["analyse"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = analyse(os.path.join(root, "logs"))
        # the same analysis with plain loops over the files
        from statistics import mean

        from tinyxp._files import read_yaml

        finals = {}
        for name in (n for n in os.listdir(os.path.join(root, "logs")) if n.isdigit()):
            run_dir = os.path.join(root, "logs", name)
            config = read_yaml(os.path.join(run_dir, "metadata", "config.yaml"))
            losses = {}
            for log_name in ("train", "test"):
                with open(os.path.join(run_dir, "metrics", f"{log_name}.jsonl")) as file:
                    losses[log_name] = [json.loads(line)["loss"] for line in file][-1]
            finals.setdefault((config["model"]["degree"], config["optimizer"]["lr"]), []).append(losses)
        expected = {}
        for degree in (1, 3):
            lr = min((0.1, 0.001), key=lambda lr: mean(f["train"] for f in finals[(degree, lr)]))
            expected[(degree, lr)] = mean(f["test"] for f in finals[(degree, lr)])
        self.assertEqual(sorted(result.keys()), sorted(expected))
        for key, value in expected.items():
            self.assertAlmostEqual(result[key][0]["mean.last.test.loss"], value)


if __name__ == "__main__":
    unittest.main()
