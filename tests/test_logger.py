"""Tests of tinyxp.run.logger and tinyxp._files: run ids, atomic files, metrics, artifacts, checkpoints."""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import unittest
import unittest.mock

from tinyxp import _files as files_module
from tinyxp.errors import LoggerError, NoCheckpoint
from tinyxp.run.logger import Logger
from tinyxp._files import allocate_run_dir, update_info, write_atomic, write_with

from .support import read_jsonl, start_script, temp_dir, wait_for_line, write_files


class FakeScalar:
    """Stands for a numpy or torch scalar: has .item()."""

    def __init__(self, value):
        self.value = value

    def item(self):
        return self.value


def leftovers(folder: str) -> list:
    return [name for name in os.listdir(folder) if name.startswith(".tmp-")]


class AllocateRunDirTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)

    def test_ids_start_at_one_and_follow_the_largest(self):
        log_dir = os.path.join(self.root, "logs")
        self.assertEqual(allocate_run_dir(log_dir), (1, os.path.join(log_dir, "1")))
        os.mkdir(os.path.join(log_dir, "7"))
        os.mkdir(os.path.join(log_dir, "notes"))
        os.mkdir(os.path.join(log_dir, "0012"))  # not a canonical integer: not a run
        self.assertEqual(allocate_run_dir(log_dir)[0], 8)
        self.assertTrue(os.path.isdir(os.path.join(log_dir, "8")))

    def test_relative_log_dir_gives_an_absolute_path(self):
        cwd = os.getcwd()
        os.chdir(self.root)
        self.addCleanup(os.chdir, cwd)
        run_id, run_dir = allocate_run_dir("logs")
        self.assertEqual(run_dir, os.path.join(os.path.realpath(self.root), "logs", "1"))

    def test_log_dir_under_a_file_is_an_error(self):
        # chmod does not stop root from writing; a path under a regular file fails for everyone
        blocker = os.path.join(self.root, "file")
        open(blocker, "w").close()
        log_dir = os.path.join(blocker, "logs")
        with self.assertRaises(LoggerError) as caught:
            allocate_run_dir(log_dir)
        self.assertEqual(str(caught.exception), f"Cannot create the log directory {log_dir!r}: Not a directory")
        self.assertEqual(os.listdir(self.root), ["file"])

    def test_log_dir_that_is_a_file_is_an_error(self):
        log_dir = os.path.join(self.root, "logs")
        open(log_dir, "w").close()
        with self.assertRaises(LoggerError) as caught:
            allocate_run_dir(log_dir)
        self.assertEqual(str(caught.exception), f"Cannot use {log_dir!r} as the log directory: it is a file, not a folder")
        self.assertEqual(os.listdir(self.root), ["logs"])

    def test_later_allocations_do_not_list_the_folder(self):
        log_dir = os.path.join(self.root, "logs")
        os.makedirs(os.path.join(log_dir, "4"))
        listdir = os.listdir
        with unittest.mock.patch.object(files_module.os, "listdir", side_effect=listdir) as listed:
            ids = [allocate_run_dir(log_dir)[0] for _ in range(5)]
        self.assertEqual(ids, [5, 6, 7, 8, 9])
        self.assertEqual(listed.call_count, 1)

    def test_a_collision_lists_the_folder_again(self):
        # ids 2 and 3 taken by another process in a way this one cannot see (a file
        # system with coarse timestamps): 2 collides, the folder is listed again
        log_dir = os.path.join(self.root, "logs")
        self.assertEqual(allocate_run_dir(log_dir)[0], 1)
        for run_id in (2, 3):
            os.mkdir(os.path.join(log_dir, str(run_id)))
        files_module._LAST_ALLOCATED[log_dir] = (1, files_module._folder_state(log_dir))
        self.assertEqual(allocate_run_dir(log_dir)[0], 4)
        self.assertEqual(allocate_run_dir(log_dir)[0], 5)

    def test_a_stale_listing_does_not_stop_allocation(self):
        # on NFS a fresh listing can miss folders other clients just made: after a
        # collision the next id tried is above the one that collided, whatever the listing says
        log_dir = os.path.join(self.root, "logs")
        for run_id in (1, 2, 3):
            os.makedirs(os.path.join(log_dir, str(run_id)))
        stale = lambda path: []  # noqa: E731
        with unittest.mock.patch.object(files_module.os, "listdir", side_effect=stale) as listed:
            self.assertEqual(allocate_run_dir(log_dir)[0], 4)
        self.assertEqual(listed.call_count, 4)

    def test_ids_of_removed_runs_are_not_given_again(self):
        log_dir = os.path.join(self.root, "logs")
        os.makedirs(os.path.join(log_dir, "3"))
        os.makedirs(os.path.join(log_dir, ".trash", "12"))  # removed by tinyxp rm
        self.assertEqual(allocate_run_dir(log_dir)[0], 13)
        os.rmdir(os.path.join(log_dir, ".trash", "12"))
        with open(os.path.join(log_dir, ".trash", "last_run_id"), "w") as file:
            file.write("20\n")  # tinyxp gc emptied the trash
        os.rmdir(os.path.join(log_dir, "13"))
        self.assertEqual(allocate_run_dir(log_dir)[0], 21)

    def test_a_folder_changed_since_is_listed_again(self):
        log_dir = os.path.join(self.root, "logs")
        self.assertEqual([allocate_run_dir(log_dir)[0] for _ in range(3)], [1, 2, 3])
        import shutil

        shutil.rmtree(log_dir)  # emptied and made again: ids start at 1
        self.assertEqual(allocate_run_dir(log_dir)[0], 1)
        os.rmdir(os.path.join(log_dir, "1"))  # its last run removed
        os.mkdir(os.path.join(log_dir, "9"))
        self.assertEqual(allocate_run_dir(log_dir)[0], 10)

class WriteAtomicTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.path = os.path.join(self.root, "data.txt")

    def test_replaces_content_and_leaves_no_temporary_file(self):
        write_atomic(self.path, "first")
        write_atomic(self.path, b"second", fsync=True)
        with open(self.path) as file:
            self.assertEqual(file.read(), "second")
        self.assertEqual(leftovers(self.root), [])

    def test_failure_mid_write_keeps_the_previous_file(self):
        write_atomic(self.path, "previous")

        def fail(file):
            file.write(b"half")
            raise RuntimeError("disk on fire")

        with self.assertRaises(RuntimeError):
            write_with(self.path, fail)
        with open(self.path) as file:
            self.assertEqual(file.read(), "previous")
        self.assertEqual(leftovers(self.root), [])


class UpdateInfoTest(unittest.TestCase):
    def test_merges_fields_into_info_yaml(self):
        run_dir = temp_dir(self)
        os.mkdir(os.path.join(run_dir, "metadata"))
        update_info(run_dir, status="RUNNING", run_id=3)
        info = update_info(run_dir, status="COMPLETE", duration_s=1.5)
        self.assertEqual(info, {"status": "COMPLETE", "run_id": 3, "duration_s": 1.5})
        self.assertEqual(files_module.read_yaml(os.path.join(run_dir, "metadata", "info.yaml")), info)


class EncodeRecordTest(unittest.TestCase):
    """encode_record writes flat records without json, byte for byte as json does."""

    VALUES = [0, -7, 10 ** 30, True, False, None, 0.0, -0.0, 1.5, 1e-300, 1e16, 1 / 3, float("inf"), float("-inf"),
              float("nan"), "", "a b", "train/loss", 'say "hi"', "back\\slash", "tab\t", "é", "名前", "\x7f", "\x00",
              "😀", [1, 2], {"a": 1}, (1,), FakeScalar(2.5), FakeScalar(3), 2 ** 70]
    KEYS = ["step", "loss", "", "a b", "é", 'q"uote', "x\\y", "\n", 1, 2.5, True, None]

    def test_same_bytes_as_json(self):
        import random

        from tinyxp.run.logger import _to_json, encode_record

        encoder = json.JSONEncoder(default=_to_json)
        rng = random.Random(17)
        records = [{}, {"step": 1, "loss": 0.5}] + [
            {rng.choice(self.KEYS): rng.choice(self.VALUES) for _ in range(rng.randint(1, 5))} for _ in range(3000)]
        for record in records:
            self.assertEqual(encode_record(record), encoder.encode(record), record)

    def test_errors_as_json(self):
        from tinyxp.run.logger import _to_json, encode_record

        def outcome(encode, record):
            try:
                return encode(record)
            except (TypeError, ValueError) as err:
                return type(err)

        encoder = json.JSONEncoder(default=_to_json)
        for record in ({"big": 10 ** 5000}, {"set": {1}}, {("tuple",): 1}, {"ok": 1, "set": {1}}):
            with self.subTest(record=list(record)):
                self.assertEqual(outcome(encode_record, record), outcome(encoder.encode, record))
        self.assertIs(outcome(encode_record, {"set": {1}}), TypeError)


class LogMetricsTest(unittest.TestCase):
    def setUp(self):
        self.run_dir = os.path.join(temp_dir(self), "5")
        self.logger = Logger(self.run_dir)
        self.addCleanup(self.logger.close)

    def read(self, log_name="train"):
        return read_jsonl(os.path.join(self.run_dir, "metrics", f"{log_name}.jsonl"))

    def test_one_line_per_call_visible_before_returning(self):
        self.logger.log_metrics({"loss": 0.5, "epoch": 1})
        self.assertEqual(self.read(), [{"loss": 0.5, "epoch": 1}])
        self.logger.log_metrics({"loss": 0.25, "epoch": 2})
        self.logger.log_metrics({"acc": 0.9}, log_name="test")
        self.assertEqual(self.read(), [{"loss": 0.5, "epoch": 1}, {"loss": 0.25, "epoch": 2}])
        self.assertEqual(self.read("test"), [{"acc": 0.9}])
        self.assertEqual(self.logger.run_id, 5)

    def test_scalars_with_item_are_converted(self):
        self.logger.log_metrics({"loss": FakeScalar(0.5), "step": FakeScalar(3), "nested": [FakeScalar(True)]})
        self.assertEqual(self.read(), [{"loss": 0.5, "step": 3, "nested": [True]}])

    def test_nan_and_infinity_round_trip(self):
        self.logger.log_metrics({"a": float("nan"), "b": float("inf"), "c": -float("inf")})
        with open(os.path.join(self.run_dir, "metrics", "train.jsonl")) as file:
            self.assertEqual(file.read(), '{"a": NaN, "b": Infinity, "c": -Infinity}\n')
        record = self.read()[0]
        self.assertTrue(math.isnan(record["a"]))
        self.assertEqual((record["b"], record["c"]), (float("inf"), -float("inf")))

    def test_value_that_is_not_json_is_an_error_and_writes_nothing(self):
        self.logger.log_metrics({"loss": 1.0})
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_metrics({"loss": 0.5, "model": object()})
        self.assertEqual(str(caught.exception), "Invalid metric 'model': value of type object is not JSON-serialisable")
        self.assertEqual(self.read(), [{"loss": 1.0}])

    def test_bad_first_record_creates_no_metric_file(self):
        for metrics in ({"model": object()}, [1]):
            with self.subTest(metrics=metrics), self.assertRaises(LoggerError):
                self.logger.log_metrics(metrics, log_name="eval")
        self.assertFalse(os.path.exists(os.path.join(self.run_dir, "metrics")))

    def test_item_returning_an_array_is_an_error(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_metrics({"weights": FakeScalar([1, 2])})
        self.assertEqual(str(caught.exception), "Invalid metric 'weights': value of type FakeScalar is not JSON-serialisable")

    def test_bad_key_is_an_error(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_metrics({("a", "b"): 1})
        self.assertEqual(str(caught.exception), "Invalid metric key ('a', 'b') of type tuple: expected a string")

    def test_metrics_must_be_a_dict(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_metrics([("loss", 1.0)])
        self.assertEqual(str(caught.exception), "Invalid metrics: expected a dict, got list")

    def test_log_name_with_a_slash_is_an_error(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_metrics({"loss": 1.0}, log_name="eval/val")
        self.assertEqual(
            str(caught.exception), "Invalid metric log name 'eval/val': expected a plain file name, without '/' or '..'"
        )
        self.assertFalse(os.path.exists(self.run_dir))

    def test_log_names_the_reader_keeps_are_errors(self):
        for name in ("info", "config", "artifacts", "tags", "note", "info.extra"):
            with self.subTest(name=name), self.assertRaises(LoggerError) as caught:
                self.logger.log_metrics({"loss": 1.0}, log_name=name)
            self.assertEqual(
                str(caught.exception),
                f"Invalid metric log name {name!r}: the reader's columns info, config, artifacts, tags, note would be shadowed; choose another log_name",
            )
        self.assertFalse(os.path.exists(os.path.join(self.run_dir, "metrics")))
        self.logger.log_metrics({"loss": 1.0}, log_name="information")  # a longer name is fine
        self.assertEqual(self.read("information"), [{"loss": 1.0}])

    def test_empty_log_name_is_an_error(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_metrics({"loss": 1.0}, log_name="")
        self.assertEqual(str(caught.exception), "Invalid metric log name '': expected a non-empty string")

    def test_torn_last_line_is_ended_not_cut_before_appending(self):
        os.makedirs(os.path.join(self.run_dir, "metrics"))
        path = os.path.join(self.run_dir, "metrics", "train.jsonl")
        with open(path, "w") as file:
            file.write('{"step": 1}\n{"step": 2}\n{"st')
        self.logger.log_metrics({"step": 3})
        with open(path) as file:  # another process may be appending that line: it is never cut
            self.assertEqual(file.read(), '{"step": 1}\n{"step": 2}\n{"st\n{"step": 3}\n')

    def test_close_then_log_again_appends(self):
        self.logger.log_metrics({"step": 1})
        self.logger.close()
        self.logger.log_metrics({"step": 2})
        self.assertEqual(self.read(), [{"step": 1}, {"step": 2}])


class ArtifactTest(unittest.TestCase):
    def setUp(self):
        self.run_dir = temp_dir(self)
        self.logger = Logger(self.run_dir)

    def test_builtin_formats_round_trip(self):
        cases = [("pickle", {"w": [1.5, 2]}, "state.pkl"), ("json", {"a": [1, None]}, "state.json"), ("text", "héllo\n", "state.txt")]
        for format, obj, filename in cases:
            with self.subTest(format=format):
                path = self.logger.log_artifact(obj, "state", format=format)
                self.assertEqual(path, os.path.join(self.run_dir, "artifacts", format, filename))
                self.assertEqual(self.logger.load_artifact("state", format=format), obj)
                self.assertEqual(self.logger.load_artifact(filename, format=format), obj)

    def test_name_keeps_its_extension(self):
        path = self.logger.log_artifact([1, 2], "preds.pkl")
        self.assertEqual(os.path.basename(path), "preds.pkl")

    def test_name_with_dot_dot_is_an_error(self):
        for name in ("..", "../escape", "a/../../b", "x..y", "/abs", "a//b", "a/./b", "a/"):
            with self.subTest(name=name), self.assertRaises(LoggerError) as caught:
                self.logger.log_artifact(1, name)
            self.assertEqual(
                str(caught.exception),
                f"Invalid artifact name {name!r}: expected names separated by '/' (`ckpt/epoch3`), without '..', '.' or empty parts",
            )
        self.assertEqual(os.listdir(self.run_dir), [])

    def test_unknown_format_suggests_a_close_one(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_artifact(1, "x", format="pikle")
        self.assertEqual(str(caught.exception), "Unknown artifact format 'pikle'; did you mean 'pickle'?")
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_artifact(1, "x", format="zzz")
        self.assertEqual(
            str(caught.exception), "Unknown artifact format 'zzz'; known formats: image, json, npz, numpy, pickle, text, torch"
        )

    def test_text_artifact_must_be_a_string(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_artifact(3, "n", format="text")
        self.assertEqual(str(caught.exception), "Invalid text artifact: expected a str, got int")
        self.assertEqual(leftovers(os.path.join(self.run_dir, "artifacts", "text")), [])

    def test_missing_artifact_is_an_error(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.load_artifact("nothing", format="json")
        path = os.path.join(self.run_dir, "artifacts", "json", "nothing.json")
        self.assertEqual(str(caught.exception), f"Cannot load artifact 'nothing': no file {path!r}")

    def test_registered_format(self):
        def save(obj, file):
            file.write(",".join(map(str, obj)))

        def load(file):
            return [int(x) for x in file.read().split(",")]

        self.logger.register_artifact_format("csv", save=save, load=load, binary=False, extension=".csv")
        path = self.logger.log_artifact([1, 2, 3], "row", format="csv")
        self.assertEqual(path, os.path.join(self.run_dir, "artifacts", "csv", "row.csv"))
        with open(path) as file:
            self.assertEqual(file.read(), "1,2,3")
        self.assertEqual(self.logger.load_artifact("row", format="csv"), [1, 2, 3])
        self.assertNotIn("csv", Logger(self.run_dir)._formats)  # per logger, never recorded

    def test_registered_format_name_is_checked(self):
        with self.assertRaises(LoggerError) as caught:
            self.logger.register_artifact_format("a/b", save=print, load=print)
        self.assertEqual(
            str(caught.exception), "Invalid artifact format name 'a/b': expected a plain file name, without '/' or '..'"
        )

    def test_numpy_and_torch_formats_without_their_package(self):
        from unittest import mock

        for format, package in (("numpy", "numpy"), ("torch", "torch")):
            with self.subTest(format=format), mock.patch.dict(sys.modules, {package: None}):  # None: import fails
                for call in (lambda: self.logger.log_artifact([1], "a", format=format),
                             lambda: self.logger.load_artifact("a", format=format)):
                    with self.assertRaises(LoggerError) as caught:
                        call()
                    self.assertEqual(
                        str(caught.exception),
                        f"Cannot use the artifact format {format!r}: the {package} package is not installed",
                    )
        self.assertEqual(os.listdir(self.run_dir), [])  # no empty artifacts/<format> folder

    def test_numpy_format_when_numpy_is_importable(self):
        try:
            import numpy
        except ImportError:
            self.skipTest("numpy is not installed")
        self.logger.log_artifact(numpy.arange(4), "a", format="numpy")
        self.assertEqual(self.logger.load_artifact("a", format="numpy").tolist(), [0, 1, 2, 3])


class CheckpointTest(unittest.TestCase):
    def setUp(self):
        self.run_dir = temp_dir(self)
        self.logger = Logger(self.run_dir)

    def test_no_checkpoint(self):
        with self.assertRaises(NoCheckpoint) as caught:
            self.logger.load_checkpoint()
        path = os.path.join(self.run_dir, "artifacts", "pickle", "last.pkl")
        self.assertEqual(str(caught.exception), f"Cannot load checkpoint 'last': no file {path!r}")

    def test_round_trip_and_overwrite(self):
        self.logger.log_checkpoint({"epoch": 1})
        self.logger.log_checkpoint({"epoch": 2})
        self.logger.log_checkpoint({"epoch": 0}, name="best")
        self.assertEqual(self.logger.load_checkpoint(), {"epoch": 2})
        self.assertEqual(self.logger.load_checkpoint("best"), {"epoch": 0})
        self.assertEqual(sorted(os.listdir(os.path.join(self.run_dir, "artifacts", "pickle"))), ["best.pkl", "last.pkl"])

    def test_unpicklable_object_keeps_the_previous_checkpoint(self):
        self.logger.log_checkpoint({"epoch": 1})
        import pickle

        # pickle's own error: AttributeError for a local object up to 3.13, PicklingError after
        with self.assertRaisesRegex((pickle.PicklingError, AttributeError), "^Can't pickle local object "):
            self.logger.log_checkpoint({"epoch": 2, "f": lambda: 0})
        self.assertEqual(self.logger.load_checkpoint(), {"epoch": 1})
        self.assertEqual(leftovers(os.path.join(self.run_dir, "artifacts", "pickle")), [])


KILLED_LOGGER = """\
import sys
from tinyxp.run.logger import Logger

logger = Logger(sys.argv[1])
if sys.argv[2] == "metrics":
    n = 0
    while True:
        logger.log_metrics({"step": n, "loss": 1.0 / (n + 1), "tag": "x" * (n % 50)})
        n += 1
        if n % 500 == 0:
            print("logged", n, flush=True)
else:
    import time

    class Slow:
        def __reduce__(self):  # called after the bytes before it are written: killed here
            print("writing", flush=True)
            time.sleep(60)

    logger.log_checkpoint({"epoch": 1})
    logger.log_checkpoint({"epoch": 2, "blob": b"x" * (1 << 24), "slow": Slow()})
"""


class KillTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        write_files(self.root, {"killed.py": KILLED_LOGGER})
        self.run_dir = os.path.join(self.root, "run")

    def start(self, mode):
        return start_script(os.path.join(self.root, "killed.py"), [self.run_dir, mode], test=self)

    def test_sigkill_while_logging_keeps_every_line_written_before(self):
        process = self.start("metrics")
        reported = 0
        while reported < 3000:
            reported = int(wait_for_line(process, "logged ").split()[1])
        process.send_signal(signal.SIGKILL)
        self.assertEqual(process.wait(timeout=10), -signal.SIGKILL)
        with open(os.path.join(self.run_dir, "metrics", "train.jsonl"), "rb") as file:
            lines = file.read().split(b"\n")
        if lines[-1]:  # a torn last line is allowed (the reader ignores it), nothing else
            lines.pop()
        records = [json.loads(line) for line in lines if line]
        self.assertGreaterEqual(len(records), reported)
        self.assertEqual([r["step"] for r in records], list(range(len(records))))

    def test_sigkill_during_checkpoint_keeps_the_previous_one(self):
        process = self.start("checkpoint")
        wait_for_line(process, "writing")
        folder = os.path.join(self.run_dir, "artifacts", "pickle")
        self.assertEqual(len(leftovers(folder)), 1)  # the new checkpoint, half written
        process.send_signal(signal.SIGKILL)
        self.assertEqual(process.wait(timeout=10), -signal.SIGKILL)
        self.assertEqual(Logger(self.run_dir).load_checkpoint(), {"epoch": 1})


if __name__ == "__main__":
    unittest.main()
