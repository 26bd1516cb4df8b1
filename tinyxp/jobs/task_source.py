"""What a task's source says about its config, read with ast: `tinyxp sub` never imports the user's code.

    @tinyxp.launch(config_path="conf", config_name="mnist")
    def train(ctx): ...

task_config finds the decorator's config folder (relative to the script, as the
launcher takes it) and primary config, so that `tinyxp sub` composes what the jobs will.
"""
from __future__ import annotations

import ast
import os

DEFAULT_CONFIG_PATH = "configs"  # launcher.launch's default
CONFIG_SUFFIXES = (".yaml", ".json")

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable


def script_file(target: str, work_dir: str, *, module: bool) -> str:
    """The file python runs: the script, or for `-m pkg.mod` pkg/mod.py (or its __main__.py)."""
    if not module:
        return os.path.join(work_dir, target)
    base = os.path.join(work_dir, *target.split("."))
    return base + ".py" if os.path.isfile(base + ".py") else os.path.join(base, "__main__.py")


def task_config(script: str, *, warn: Callable[[str], Any]) -> str:
    """The config folder, or primary config file, that the @launch of script composes from.

    The decorator's config_path and config_name must be literal strings to be read
    here; otherwise (and for a script that cannot be read or parsed) warn(message) is
    called and the launcher's default, configs/ beside the script, is used.
    """
    arguments = _launch_arguments(script, warn)
    folder = os.path.join(os.path.dirname(script), arguments.get("config_path") or DEFAULT_CONFIG_PATH)
    return _primary(folder, arguments.get("config_name"))


def with_command_line(script: str, found: str, options: dict[str, str]) -> str:
    """task_config's answer `found` as a command's --config-path and --config-name change it."""
    folder, name = (os.path.dirname(found), os.path.basename(found)) if found.endswith(CONFIG_SUFFIXES) else (found, None)
    if "config_path" in options:
        folder = os.path.join(os.path.dirname(script), options["config_path"])
    return _primary(folder, options.get("config_name", name))


def _primary(folder: str, name: str | None) -> str:
    """The folder (no name: its config.yaml or .json) or the primary config file in it."""
    if not name:
        return folder
    if name.endswith(CONFIG_SUFFIXES):
        return os.path.join(folder, name)
    found = [os.path.join(folder, name + suffix) for suffix in CONFIG_SUFFIXES]
    return next((path for path in found if os.path.isfile(path)), found[0])


def _launch_arguments(script: str, warn: Callable[[str], Any]) -> dict[str, Any]:
    """{'config_path': ..., 'config_name': ...} as the first @launch(...) of script gives them."""
    try:
        with open(script, encoding="utf-8") as file:
            tree = ast.parse(file.read(), script)
    except (OSError, UnicodeDecodeError):
        return {}  # the caller warns about a missing script
    except SyntaxError as err:
        warn(f"cannot read {script}:{err.lineno}: {err.msg}; composing from {DEFAULT_CONFIG_PATH}/ beside it")
        return {}
    for node in ast.walk(tree):
        for decorator in getattr(node, "decorator_list", ()):
            if isinstance(decorator, ast.Call) and _called_name(decorator.func) == "launch":
                return _literal_arguments(decorator, script, warn)
    return {}


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _literal_arguments(call: ast.Call, script: str, warn: Callable[[str], Any]) -> dict[str, Any]:
    given = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
    if call.args:
        given.setdefault("config_path", call.args[0])
    found = {}
    for name in ("config_path", "config_name"):
        node = given.get(name)
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found[name] = node.value
        else:
            warn(f"cannot read {name}= of @launch at {script}:{node.lineno} without running it "
                 f"(write a string there); using the default")
    return found
