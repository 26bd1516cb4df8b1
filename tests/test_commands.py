"""Tests of tinyxp/_commands.py: run_command gives the same with posix_spawn as with subprocess."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

from tinyxp import _commands
from tinyxp._commands import NO_FOLDER, NOT_FOUND, OS_ERROR, TIMEOUT, CommandNotRun, on_path, run_command

SPAWNS = hasattr(os, "posix_spawnp")


def with_subprocess(argv):
    """run_command through subprocess.run, as before the posix_spawn path."""
    with mock.patch.object(_commands.os, "posix_spawnp", None, create=True):
        return run_command(argv)


@unittest.skipUnless(SPAWNS, "os.posix_spawnp is not available here")
class SpawnTest(unittest.TestCase):
    def test_same_as_subprocess(self):
        big = "import sys; sys.stdout.write('o' * 200000); sys.stderr.write('e' * 100000); sys.exit(3)"
        for argv in (["sh", "-c", "echo out; echo err >&2; exit 3"], ["sh", "-c", "cat"], [sys.executable, "-c", big],
                     ["sh", "-c", "kill -TERM $$"], ["true"]):
            with self.subTest(argv=argv[:2]):
                self.assertEqual(run_command(argv), with_subprocess(argv))
        self.assertEqual(run_command(["sh", "-c", "kill -TERM $$"])[0], -15)
        self.assertEqual(run_command(["sh", "-c", "cat"]), (0, b"", b""))  # standard input is /dev/null

    @unittest.skipUnless(os.path.exists("/proc/self/status"), "no /proc/self/status to read the ignored signals")
    def test_signals_python_ignores_are_back_to_default(self):
        argv = ["grep", "SigIgn", "/proc/self/status"]

        def ignored(result):  # the standard signals 1-31 (glibc's posix_spawn ignores its own 32 and 33)
            return int(result[1].split()[1], 16) & ((1 << 31) - 1)

        self.assertEqual(ignored(run_command(argv)), ignored(with_subprocess(argv)))
        self.assertEqual(ignored(run_command(argv)) & (1 << 12), 0)  # SIGPIPE (13) is not ignored

    def test_errors(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        with self.assertRaises(CommandNotRun) as caught:
            run_command(["tinyxp-no-such-program"])
        self.assertEqual(caught.exception.why, NOT_FOUND)
        data = os.path.join(tmp, "data")
        with open(data, "w") as file:
            file.write("not a program\n")
        with self.assertRaises(CommandNotRun) as caught:
            run_command([data])
        self.assertEqual((caught.exception.why, caught.exception.reason), (OS_ERROR, "Permission denied"))
        with self.assertRaises(CommandNotRun) as caught:
            with_subprocess([data])
        self.assertEqual((caught.exception.why, caught.exception.reason), (OS_ERROR, "Permission denied"))

    def test_descriptors_beyond_select_s_limit(self):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1100 and (hard != resource.RLIM_INFINITY and hard < 1100):
            self.skipTest(f"at most {hard} open files here")
        if soft < 1100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (1100, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        held = []
        self.addCleanup(lambda: [os.close(fd) for fd in held])
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        self.assertEqual(run_command(["sh", "-c", "echo out; echo err >&2"]), (0, b"out\n", b"err\n"))

    @unittest.skipUnless(os.path.isdir("/proc/self/fd"), "no /proc/self/fd to count open files")
    def test_no_file_left_open(self):
        before = len(os.listdir("/proc/self/fd"))
        run_command(["true"])
        with self.assertRaises(CommandNotRun):
            run_command(["tinyxp-no-such-program"])
        self.assertEqual(len(os.listdir("/proc/self/fd")), before)


class SubprocessTest(unittest.TestCase):
    """The cases posix_spawn leaves to subprocess: a folder, an input, a timeout."""

    def test_errors(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for argv, options, why in ((["tinyxp-no-such-program"], {"timeout": 30}, NOT_FOUND),
                                   (["true"], {"cwd": os.path.join(tmp, "missing")}, NO_FOLDER),
                                   (["sleep", "5"], {"timeout": 0.2}, TIMEOUT)):
            with self.subTest(argv=argv), self.assertRaises(CommandNotRun) as caught:
                run_command(argv, **options)
            self.assertEqual(caught.exception.why, why)
        self.assertEqual(run_command(["cat"], input=b"in"), (0, b"in", b""))


class OnPathTest(unittest.TestCase):
    """on_path, which start_recording asks for git instead of shutil.which."""

    def test_agrees_with_shutil_which(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for name, mode in (("tool", 0o755), ("data", 0o644)):
            with open(os.path.join(tmp, name), "w") as file:
                file.write("#!/bin/sh\n")
            os.chmod(os.path.join(tmp, name), mode)
        os.mkdir(os.path.join(tmp, "folder"))
        for path in (tmp, os.pathsep.join(["", tmp]), os.pathsep.join([os.path.join(tmp, "none"), tmp]), ""):
            for name in ("tool", "data", "folder", "missing"):
                with self.subTest(path=path, name=name), mock.patch.dict(os.environ, {"PATH": path}):
                    self.assertEqual(on_path(name), shutil.which(name) is not None)
        with mock.patch.dict(os.environ, {"PATH": tmp}):
            self.assertTrue(on_path("tool"))
            self.assertFalse(on_path("data"))


if __name__ == "__main__":
    unittest.main()
