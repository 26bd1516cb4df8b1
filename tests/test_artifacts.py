"""Artifacts in sub-folders, the image format (PNG bytes or a figure) and npz (a dict of arrays)."""
from __future__ import annotations

import os
import sys
import unittest

from .bench import synth
from .support import temp_dir
from tinyxp.errors import LoggerError
from tinyxp.read.reader import Reader
from tinyxp.run.logger import Logger

try:
    import numpy
except ImportError:  # numpy is optional
    numpy = None  # type: ignore[assignment]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


class FakeFigure:
    """Stands for a matplotlib figure: has savefig(file, format=...)."""

    def savefig(self, file, format):  # noqa: A002 (matplotlib's name)
        file.write(PNG + format.encode())


class ArtifactFolderTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log_dir = os.path.join(temp_dir(self), "logs")
        self.run_dir = synth.write_run(self.log_dir, 1, {"lr": 0.1})
        self.logger = Logger(self.run_dir)

    def test_sub_folders(self) -> None:
        path = self.logger.log_artifact({"w": 1}, "ckpt/epoch3")
        self.assertEqual(path, os.path.join(self.run_dir, "artifacts", "pickle", "ckpt", "epoch3.pkl"))
        self.assertEqual(self.logger.load_artifact("ckpt/epoch3"), {"w": 1})
        self.logger.log_checkpoint([1], "ckpt/last")
        self.assertEqual(self.logger.load_checkpoint("ckpt/last"), [1])
        row = Reader(self.log_dir, progress=False).run(1)
        self.assertIn("artifacts.pickle/ckpt/epoch3.pkl", row.keys())
        self.assertEqual(row["artifacts.pickle/ckpt/epoch3.pkl"].load(), {"w": 1})

    def test_a_linked_sub_folder_leading_out_is_refused(self) -> None:
        outside = temp_dir(self)
        os.makedirs(os.path.join(self.run_dir, "artifacts", "pickle"))
        os.symlink(outside, os.path.join(self.run_dir, "artifacts", "pickle", "out"))
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_artifact(1, "out/x")
        self.assertIn("is a symbolic link", str(caught.exception))
        self.assertEqual(os.listdir(outside), [])

    def test_image_bytes_and_figures(self) -> None:
        path = self.logger.log_artifact(PNG, "plots/loss", format="image")
        self.assertEqual(os.path.relpath(path, self.run_dir), os.path.join("artifacts", "image", "plots", "loss.png"))
        self.assertEqual(self.logger.load_artifact("plots/loss", format="image"), PNG)
        self.logger.log_artifact(FakeFigure(), "fig", format="image")
        self.assertEqual(self.logger.load_artifact("fig", format="image"), PNG + b"png")
        self.assertEqual(Reader(self.log_dir, progress=False).run(1)["artifacts.image/plots/loss.png"].load(), PNG)
        self.assertNotIn("matplotlib", sys.modules.get("tinyxp.run.logger").__dict__)  # type: ignore[union-attr]

    def test_bad_images(self) -> None:
        for obj, message in ((b"GIF89a", "Invalid image artifact: the bytes are not a PNG image (they lack the PNG signature)"),
                             ("x", "Invalid image artifact: expected PNG bytes or a matplotlib figure (with savefig), got str")):
            with self.subTest(obj=obj), self.assertRaises(LoggerError) as caught:
                self.logger.log_artifact(obj, "bad", format="image")
            self.assertEqual(str(caught.exception), message)
        self.assertFalse(os.path.exists(os.path.join(self.run_dir, "artifacts", "image", "bad.png")))

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_npz_dict_of_arrays(self) -> None:
        arrays = {"weights": numpy.arange(6).reshape(2, 3), "bias": numpy.zeros(3)}
        path = self.logger.log_artifact(arrays, "params", format="npz")
        self.assertTrue(path.endswith(os.path.join("npz", "params.npz")))
        loaded = self.logger.load_artifact("params", format="npz")
        self.assertEqual(sorted(loaded), ["bias", "weights"])
        self.assertTrue((loaded["weights"] == arrays["weights"]).all())
        self.logger.log_artifact(numpy.ones(2), "vector", format="numpy")
        row = Reader(self.log_dir, progress=False).run(1)
        self.assertTrue((row["artifacts.npz/params.npz"].load()["bias"] == 0).all())
        self.assertEqual(row["artifacts.numpy/vector.npy"].load().tolist(), [1.0, 1.0])
        with self.assertRaises(LoggerError) as caught:
            self.logger.log_artifact([1, 2], "bad", format="npz")
        self.assertEqual(str(caught.exception), "Invalid npz artifact: expected a dict of arrays with string keys, got list")


if __name__ == "__main__":
    unittest.main()
