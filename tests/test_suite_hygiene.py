"""The suite never hangs: every process and every wait in tests/ has a bound.

`unbounded_calls` reads the tests' source with the ast module and names, file:line, each
call that could wait forever: subprocess.run/call/check_call/check_output without
timeout=, a Popen started outside tests/support.py (start_process kills it when the test
ends), wait()/communicate() without a timeout, join()/get() without one, a read of a
process's stdout or stderr (support.finish and wait_for_line bound those), and a loop
that sleeps without a deadline. The helpers of tests/support.py are the way through;
a line that is bounded some other way says so with a `# hygiene: <why>` comment.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
import time
import unittest
from typing import List

from .support import finish, run_process, start_process, wait_for_line, wait_until

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
RUN_FUNCTIONS = {"run", "call", "check_call", "check_output"}
MARKER = "# hygiene:"


def _is_subprocess(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "subprocess"


def _has_keyword(call: ast.Call, name: str) -> bool:
    return any(keyword.arg == name for keyword in call.keywords)


def _is_pipe(node: ast.expr) -> bool:
    """X.stdout or X.stderr (a child's pipe, or sys.stdin and the like: those are allowed)."""
    return (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
            and not (isinstance(node.value, ast.Name) and node.value.id == "sys"))


def _mentions_deadline(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and "deadline" in child.id.lower():
            return True
        if isinstance(child, ast.Attribute) and child.attr in ("monotonic", "deadline"):
            return True
    return False


def _sleeps(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "sleep":
                return True
    return False


def unbounded_calls(source: str, path: str) -> List[str]:
    """'path:line: what' for each call in source that may wait without a bound."""
    lines = source.splitlines()
    is_support = os.path.basename(path) == "support.py"
    found = []

    def report(node: ast.AST, what: str) -> None:
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        if MARKER not in line:
            found.append((node.lineno, f"{path}:{node.lineno}: {what}"))

    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.ImportFrom) and node.module == "subprocess":
            for alias in node.names:
                if alias.name in RUN_FUNCTIONS or alias.name == "Popen":
                    report(node, f"from subprocess import {alias.name}: call subprocess.{alias.name} (checked) or a support helper")
        elif isinstance(node, ast.While) and _sleeps(node) and not _mentions_deadline(node):
            report(node, "a loop that sleeps without a deadline: use support.wait_until")
        elif isinstance(node, ast.For) and _is_pipe(node.iter):
            report(node, "reads a process's output line by line without a bound: use support.wait_for_line")
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, owner = node.func.attr, node.func.value
        positional = len(node.args)
        if _is_subprocess(owner) and name in RUN_FUNCTIONS and not _has_keyword(node, "timeout"):
            report(node, f"subprocess.{name} without timeout=: pass one, or use support.run_process")
        elif _is_subprocess(owner) and name == "Popen" and not is_support:
            report(node, "subprocess.Popen: use support.start_process (the process is killed when the test ends)")
        elif name == "wait" and positional == 0 and not _has_keyword(node, "timeout"):
            report(node, "wait() without a timeout")
        elif name == "communicate" and positional < 2 and not _has_keyword(node, "timeout"):
            report(node, "communicate() without a timeout: pass one, or use support.finish")
        elif name == "join" and positional == 0 and not _has_keyword(node, "timeout"):
            report(node, "join() without a timeout: use support.join_thread")
        elif name == "get" and positional == 0 and not _has_keyword(node, "timeout"):
            report(node, "get() without a timeout")
        elif name in ("read", "readline", "readlines") and _is_pipe(owner):
            report(node, f"{name}() of a process's pipe without a bound: use support.finish or wait_for_line")
    return [text for _, text in sorted(found)]


def source_files() -> List[str]:
    """Every Python file under tests/: the tests, their helpers, tests/slurm.py and the benchmarks."""
    paths = []
    for root, dirs, files in os.walk(TESTS_DIR):
        dirs[:] = sorted(d for d in dirs if d not in ("data", "fakebin", "__pycache__"))
        paths.extend(os.path.join(root, name) for name in sorted(files) if name.endswith(".py"))
    return paths


class SourceScanTest(unittest.TestCase):
    def test_every_process_and_wait_in_the_tests_is_bounded(self):
        found = []
        for path in source_files():
            with open(path, encoding="utf-8") as file:
                found.extend(unbounded_calls(file.read(), os.path.relpath(path, os.path.dirname(TESTS_DIR))))
        self.assertEqual(found, [], "calls that can wait forever:\n" + "\n".join(found))

    def test_the_scan_finds_each_kind(self):
        source = textwrap.dedent("""\
            import subprocess, time
            from subprocess import check_output
            subprocess.run(["true"])
            subprocess.run(["true"], timeout=5)
            subprocess.check_call(["true"])
            process = subprocess.Popen(["true"])
            process.wait()
            process.wait(5)
            process.communicate()
            process.communicate(timeout=5)
            thread.join()
            ", ".join(parts)
            queue.get()
            process.stdout.read()
            sys.stdout.readline()
            for line in process.stdout:
                pass
            while not done():
                time.sleep(0.1)
            while time.monotonic() < deadline:
                time.sleep(0.1)
            process.wait()  # hygiene: the watchdog bounds it
            """)
        self.assertEqual([line.split(": ", 1)[0] for line in unbounded_calls(source, "x.py")], [
            "x.py:2", "x.py:3", "x.py:5", "x.py:6", "x.py:7", "x.py:9", "x.py:11", "x.py:13", "x.py:14",
            "x.py:16", "x.py:18",
        ])


class HelperBoundTest(unittest.TestCase):
    """The support helpers end a hung child and fail with a message, promptly."""

    def test_run_process_kills_the_whole_group_at_the_deadline(self):
        start = time.monotonic()
        # the background sleep holds stdout open: it must be killed too for the call to return
        with self.assertRaises(AssertionError) as caught:
            run_process(["sh", "-c", "sleep 30 & echo started; wait"], stdout=subprocess.PIPE, timeout=0.5)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(str(caught.exception),
                         "`sh -c 'sleep 30 & echo started; wait'` did not finish within 0.5 s: killed\nstdout:\nstarted\n")

    def test_wait_for_line_and_finish_fail_at_the_deadline(self):
        code = "import time; print('first', flush=True); time.sleep(30)"
        process = start_process(self, [sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(wait_for_line(process, "first"), "first\n")
        start = time.monotonic()
        with self.assertRaises(AssertionError) as caught:
            wait_for_line(process, "second", timeout=0.5)
        self.assertEqual(str(caught.exception), "no line starting with 'second' within 0.5 s: killed the process")
        process = start_process(self, [sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True)
        with self.assertRaises(AssertionError) as caught:
            finish(process, 0.5)
        self.assertTrue(str(caught.exception).endswith(" did not end within 0.5 s: killed\nstdout:\nfirst\n"),
                        str(caught.exception))
        self.assertLess(time.monotonic() - start, 20)

    def test_wait_until(self):
        self.assertEqual(wait_until(lambda: 3, "never"), 3)
        with self.assertRaises(AssertionError) as caught:
            wait_until(lambda: None, lambda: "the flag was not set", timeout=0.1, interval=0.01)
        self.assertEqual(str(caught.exception), "the flag was not set (waited 0.1 s)")


if __name__ == "__main__":
    unittest.main()
