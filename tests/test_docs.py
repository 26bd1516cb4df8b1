"""The documentation: links resolve, the README stays short and shows the commands CI runs.

Reads README.md, CHANGELOG.md and docs/*.md as text; imports nothing of tinyxp.
"""
from __future__ import annotations

import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
MAX_README_LINES = 200

RE_FENCE = re.compile(r"^\s*(```|~~~)")
RE_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
RE_INLINE_CODE = re.compile(r"`+[^`]*`+")
RE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
RE_DOCS_MENTION = re.compile(r"\bdocs/[\w./-]*?\.md\b")
RE_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
RE_TINYXP_COMMAND = re.compile(r"^(?:\$\s+)?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:tinyxp|python3?\s+-m\s+tinyxp)(?:\s+(\S+)|\s*$)")


def doc_files() -> list:
    """README.md, CHANGELOG.md and docs/*.md, those that exist."""
    files = [README, os.path.join(ROOT, "CHANGELOG.md")]
    files += sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    return [path for path in files if os.path.isfile(path)]


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def split_fences(text: str) -> tuple:
    """(prose lines with their numbers, fenced code blocks as lists of lines)."""
    prose, blocks, block = [], [], None
    for number, line in enumerate(text.splitlines(), 1):
        if RE_FENCE.match(line):
            if block is None:
                block = []
            else:
                blocks.append(block)
                block = None
        elif block is None:
            prose.append((number, line))
        else:
            block.append(line)
    return prose, blocks


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: str) -> set:
    """Every heading anchor of a markdown file, with GitHub's -1, -2 for repeated ones."""
    seen: dict = {}
    result = set()
    prose, _ = split_fences(read(path))
    for _, line in prose:
        match = RE_HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def subcommands() -> set:
    """The subcommand names of the tinyxp command, from tinyxp/cli.py's source text and its table."""
    from tinyxp.cli import COMMANDS

    source = read(os.path.join(ROOT, "tinyxp", "cli.py"))
    names = set(re.findall(r"^def cmd_(\w+)\s*\(", source, re.MULTILINE))
    names |= set(re.findall(r"add_parser\(\s*[\"']([\w-]+)[\"']", source))
    names |= set(re.findall(r"^\s*[\"']([a-z][\w-]*)[\"']\s*:\s*\(", source, re.MULTILINE))
    return names | set(COMMANDS)


class TestLinks(unittest.TestCase):
    def test_relative_links_resolve(self):
        for path in doc_files():
            prose, _ = split_fences(read(path))
            for number, line in prose:
                for target in RE_LINK.findall(RE_INLINE_CODE.sub("", line)):
                    if RE_SCHEME.match(target):
                        continue  # https:, mailto:: not checked here (no network)
                    where = f"{os.path.relpath(path, ROOT)}:{number}: {target}"
                    with self.subTest(link=where):
                        file_part, _, anchor = target.partition("#")
                        linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                        self.assertTrue(os.path.exists(linked), f"{where}: no file {os.path.relpath(linked, ROOT)}")
                        if anchor and linked.endswith(".md") and os.path.isfile(linked):
                            self.assertIn(anchor, anchors(linked), f"{where}: no heading with anchor #{anchor}")

    def test_docs_mentions_exist(self):
        for path in doc_files():
            for number, line in enumerate(read(path).splitlines(), 1):
                for mention in RE_DOCS_MENTION.findall(line):
                    with self.subTest(mention=f"{os.path.relpath(path, ROOT)}:{number}: {mention}"):
                        self.assertTrue(os.path.isfile(os.path.join(ROOT, mention)), f"{mention} does not exist")

    def test_slug(self):
        self.assertEqual(slug("Preemption and time limits"), "preemption-and-time-limits")
        self.assertEqual(slug("`tinyxp sub jobs.sh`"), "tinyxp-sub-jobssh")
        self.assertEqual(slug("Snapshots (xp.snapshot=true)"), "snapshots-xpsnapshottrue")
        self.assertEqual(slug("What `train()` returns and raises"), "what-train-returns-and-raises")


class TestReadme(unittest.TestCase):
    def test_at_most_200_lines(self):
        self.assertLessEqual(len(read(README).splitlines()), MAX_README_LINES)

    def setup_commands(self) -> list:
        """The `python ...` lines of the first code block after the README's set-up heading."""
        text = read(README)
        match = re.search(r"^##\s+Set-up\s*$(.*?)^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
        self.assertIsNotNone(match, "README.md has no '## Set-up' section with a fenced code block")
        commands = [line.strip() for line in match.group(2).splitlines() if line.strip().startswith("python ")]
        self.assertEqual(len(commands), 2, f"expected the two set-up commands, found {commands}")
        return commands

    def test_setup_commands_are_what_ci_runs(self):
        # .ci/run runs each set-up command with its own interpreter ("$python" -m unittest)
        # and may put a path before examples/ ("$ROOT/examples/quickstart/train.py"), so
        # compare what follows the leading "python ", allowing a path prefix and its
        # closing quote around the script.
        # NOTE: this check depends on .ci/run, which is being changed on another branch to
        # run exactly the README's two commands. Until that lands, the docs branch edits
        # .ci/run's quickstart line itself (seed=range(3): 6 runs, as the README says);
        # with the old line (seed=range(2), 4 runs) this check fails, as it should.
        ci = read(os.path.join(ROOT, ".ci", "run"))
        for command in self.setup_commands():
            rest = command[len("python "):]
            script, _, arguments = rest.partition(" ")
            with self.subTest(command=command):
                if "/" in script:
                    pattern = r"(?:[^\s/]*/)*" + re.escape(script) + r"[\"']?\s+" + re.escape(arguments)
                    self.assertTrue(re.search(pattern, ci), f".ci/run does not run {rest!r}")
                else:
                    self.assertIn(rest, ci, f".ci/run does not run {rest!r}")


class TestCommandExamples(unittest.TestCase):
    def test_tinyxp_subcommands_exist(self):
        known = subcommands()
        self.assertTrue({"runs", "show", "sub"} <= known, f"could not read the subcommands of tinyxp/cli.py: {known}")
        for path in doc_files():
            _, blocks = split_fences(read(path))
            for block in blocks:
                for line in block:
                    match = RE_TINYXP_COMMAND.match(line.strip())
                    if not match or match.group(1) is None:
                        continue
                    word = match.group(1)
                    with self.subTest(file=os.path.relpath(path, ROOT), line=line.strip()):
                        self.assertTrue(word.startswith("-") or word in known, f"unknown subcommand {word!r}")


if __name__ == "__main__":
    unittest.main()
