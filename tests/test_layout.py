"""The package's layout: which part may import which, no import circle, modules of a readable size.

Data flows one way: cli/launcher -> config -> run -> files on disk -> read -> view, and
jobs/ submits what config/ composed. Every import counts, also those inside functions.
"""
from __future__ import annotations

import ast
import os
import unittest

from .support import REPO_ROOT

PACKAGE = os.path.join(REPO_ROOT, "tinyxp")
BASE = {"errors", "_contract", "_files", "_values", "_commands"}

# part -> the parts it may import (besides itself); a part is a base module, a wing or a top module
# (`__init__` for tinyxp.__version__: the package is always imported before its parts)
ALLOWED = {
    "errors": set(),
    "_contract": set(),
    "_values": {"errors", "_contract"},
    "_commands": {"errors", "_contract"},
    "_files": {"errors", "_contract", "yaml"},
    "yaml": {"errors"},
    "config": BASE | {"yaml", "__init__"},
    "run": BASE | {"yaml", "config", "__init__"},
    "jobs": BASE | {"yaml", "config", "run", "__init__"},
    "read": BASE | {"yaml", "__init__"},
    "view": BASE | {"yaml", "read", "__init__"},
    "launcher": BASE | {"yaml", "config", "run", "jobs", "__init__"},
    "cli": BASE | {"yaml", "config", "run", "jobs", "read", "view", "__init__"},
    "__main__": {"cli"},
    "__init__": BASE | {"launcher", "config", "run", "read"},
}
MAX_LINES = 500


def read_tree(path):
    with open(path, encoding="utf-8") as file:
        return ast.parse(file.read(), path)


def package_modules():
    """{dotted module name: path} of every module of the package."""
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, REPO_ROOT)[:-3].split(os.sep)
                if parts[-1] == "__init__" and len(parts) > 2:
                    parts = parts[:-1]
                modules[".".join(parts)] = path
    return modules


def imported_modules(module, path, modules):
    """The package modules that module imports anywhere in its file, with the line of each."""
    tree = read_tree(path)
    is_package = path.endswith("__init__.py")
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        found += [(target, node.lineno) for target in targets if target.split(".")[0] == "tinyxp"]
    return found


def part_of(module):
    """The part a module belongs to: tinyxp.run.git -> run, tinyxp._files -> _files, tinyxp -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


class LayoutTest(unittest.TestCase):
    def test_every_part_has_its_rule(self):
        parts = {part_of(module) for module in package_modules()}
        self.assertEqual(sorted(parts - set(ALLOWED)), [])

    def test_imports_go_one_way(self):
        modules = package_modules()
        wrong = []
        for module, path in sorted(modules.items()):
            part = part_of(module)
            for target, line in imported_modules(module, path, modules):
                other = part_of(target)
                if other != part and other not in ALLOWED.get(part, set()):
                    wrong.append(f"{os.path.relpath(path, REPO_ROOT)}:{line}: {part} imports {target}")
        self.assertEqual(wrong, [], "imports against the direction of the layout (tests/test_layout.py ALLOWED)")

    def test_no_import_circle(self):
        modules = package_modules()
        graph = {}
        for module, path in modules.items():
            targets = {target for target, _ in imported_modules(module, path, modules)}
            # a package's own __init__ is imported with each of its modules: not an edge of interest
            graph[module] = {t for t in targets if t in modules and t != module and not module.startswith(t + ".")}
        circles = []
        state = {}

        def visit(module, stack):
            state[module] = "open"
            for target in sorted(graph[module]):
                if target == "tinyxp":  # the lazy public face, imported on purpose by its parts' callers
                    continue
                if state.get(target) == "open":
                    circles.append(" -> ".join(stack[stack.index(target):] + [target]))
                elif target not in state:
                    visit(target, stack + [target])
            state[module] = "done"

        for module in sorted(graph):
            if module not in state:
                visit(module, [module])
        self.assertEqual(circles, [])

    def test_modules_stay_readable(self):
        long = []
        for module, path in sorted(package_modules().items()):
            with open(path, encoding="utf-8") as file:
                count = sum(1 for _ in file)
            if count > MAX_LINES:
                long.append(f"{os.path.relpath(path, REPO_ROOT)}: {count} lines")
        self.assertEqual(long, [], f"modules over {MAX_LINES} lines: split them by concept")

    def test_typing_is_for_annotations_only(self):
        """`typing` costs every launch milliseconds: modules import it under TYPE_CHECKING only."""
        eager = []
        for module, path in sorted(package_modules().items()):
            tree = read_tree(path)
            for node in tree.body:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
                if "typing" in names:
                    eager.append(f"{os.path.relpath(path, REPO_ROOT)}:{node.lineno}")
        self.assertEqual(eager, [])


if __name__ == "__main__":
    unittest.main()
