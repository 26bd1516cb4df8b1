"""Tests of tinyxp/run/info.py's helpers that stand in for standard modules a launch does not import."""
from __future__ import annotations

import getpass
import os
import pwd
import random
import shlex
import unittest
from unittest import mock

from tinyxp.run import info

USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


class QuoteTest(unittest.TestCase):
    def test_same_as_shlex_quote(self):
        rng = random.Random(5)
        alphabet = "aZ09_@%+=:,./- '\"$`\\!*?#~&;|<>()[]{}\t\né\x00"
        words = ["", "a", "'", "a b", "--flag=1", "x'y", "é"] + [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(5000)]
        for word in words:
            self.assertEqual(info.quote(word), shlex.quote(word), repr(word))

    def test_render_command(self):
        self.assertEqual(info.render_command(["python", "train.py", "lr=0.1", "msg=a b", info.ShellText("$X")]),
                         "python train.py lr=0.1 'msg=a b' $X")


class UserTest(unittest.TestCase):
    def test_variables_first_then_the_password_database_once(self):
        with mock.patch.dict(os.environ, {"USER": "ada"}):
            self.assertEqual(info.user(), "ada")
        environ = {name: value for name, value in os.environ.items() if name not in USER_VARIABLES}
        with mock.patch.dict(os.environ, environ, clear=True), mock.patch.dict(info._PASSWD_NAMES, clear=True):
            expected = getpass.getuser()
            with mock.patch.object(pwd, "getpwuid", wraps=pwd.getpwuid) as getpwuid:
                self.assertEqual((info.user(), info.user()), (expected, expected))
            self.assertEqual(getpwuid.call_count, 1)
            with mock.patch.dict(info._PASSWD_NAMES, clear=True), mock.patch.object(pwd, "getpwuid", side_effect=KeyError):
                self.assertIsNone(info.user())


if __name__ == "__main__":
    unittest.main()
