"""instantiate and call: objects built from configs with `_target_`, as Hydra's instantiate builds them.

    optimizer:
      _target_: torch.optim.SGD     # a dotted path, imported when instantiate is called
      lr: 0.1                       # keyword arguments
      _args_: []                    # positional arguments
      _partial_: false              # true: a functools.partial of the target, called later
      _recursive_: true             # false: nested _target_ mappings are passed as they are
      _convert_: none               # none: mappings passed as Config; all, partial, object: dicts

Nothing is imported before instantiate is called. A target that cannot be imported,
or a call that fails on its arguments, is a ConfigError naming the config key, the
target and the reason; an exception raised inside the target's own code goes through
as it is, with its traceback.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

TARGET, ARGS, PARTIAL, RECURSIVE, CONVERT = "_target_", "_args_", "_partial_", "_recursive_", "_convert_"
RESERVED = (TARGET, ARGS, PARTIAL, RECURSIVE, CONVERT)
CONVERT_MODES = ("none", "partial", "object", "all")


def instantiate(config: Any, *args: Any, **kwargs: Any) -> Any:
    """The object config describes: its `_target_` called with its keys as keyword arguments.

    args replace the config's `_args_`; kwargs are added to (or replace) its keys, and
    may set `_partial_`, `_recursive_` and `_convert_`. Nested mappings with a
    `_target_` (in mappings and lists) are built first unless `_recursive_` is false.
    A mapping without `_target_` comes back with its nested targets built; a list
    with each element built; None as None. Raises ConfigError naming the key and the
    target for a target that cannot be imported or called, or a bad reserved key.
    """
    if config is None:
        return None
    path = getattr(config, "_path", "")
    if isinstance(config, Mapping):
        node = {**config, **kwargs}
        if args and TARGET not in node:
            raise ConfigError(f"Cannot pass positional arguments to instantiate(): {_where(path)} has no {TARGET!r}")
        return _build(node, path, args if args or ARGS not in node else None, _Mode(node, path, True, "none"))
    if isinstance(config, (list, tuple)):
        if args or kwargs:
            raise ConfigError("Cannot pass arguments to instantiate() with a list: instantiate its elements one by one")
        mode = _Mode({}, path, True, "none")
        return [_value(item, _join(path, index), mode) for index, item in enumerate(config)]
    raise ConfigError(f"Cannot instantiate a {type(config).__name__}: expected a mapping with {TARGET!r} or a list")


call = instantiate


class _Mode:
    """_recursive_ and _convert_ in force at a node: its own keys, else its parent's."""

    def __init__(self, node: Mapping, path: str, recursive: bool, convert: str) -> None:
        self.recursive = node.get(RECURSIVE, recursive)
        self.convert = node.get(CONVERT, convert)
        if not isinstance(self.recursive, bool):
            raise ConfigError(f"Invalid {RECURSIVE} {self.recursive!r} at {_where(path)}: expected true or false")
        if self.convert not in CONVERT_MODES:
            raise ConfigError(
                f"Invalid {CONVERT} {self.convert!r} at {_where(path)}: expected one of {', '.join(CONVERT_MODES)}"
            )

    def child(self, node: Mapping, path: str) -> _Mode:
        return _Mode(node, path, self.recursive, self.convert)


def _build(node: Mapping, path: str, args: Any, mode: _Mode) -> Any:
    """A mapping's object: its target called, or the mapping with its values built."""
    if TARGET not in node:
        return _mapping(node, path, mode)
    target = node[TARGET]
    partial = node.get(PARTIAL, False)
    if not isinstance(partial, bool):
        raise ConfigError(f"Invalid {PARTIAL} {partial!r} at {_where(path)}: expected true or false")
    if args is None:
        args = node.get(ARGS, ())
        if not isinstance(args, (list, tuple)):
            raise ConfigError(f"Invalid {ARGS} at {_where(path)}: expected a list, got a {type(args).__name__}")
        args = [_value(arg, _join(path, f"{ARGS}.{i}"), mode) for i, arg in enumerate(args)]
    kwargs = {key: _value(value, _join(path, key), mode) for key, value in node.items() if key not in RESERVED}
    function = locate(target, path)
    if partial:
        import functools  # only for _partial_

        return functools.partial(function, *args, **kwargs)
    return _call(function, args, kwargs, target, path)


def _value(value: Any, path: str, mode: _Mode) -> Any:
    """A value as its target receives it: nested targets built (if recursive), converted."""
    if isinstance(value, Mapping):
        child = mode.child(value, path)
        if child.recursive and TARGET in value:
            return _build(value, path, None, child)
        return _mapping(value, path, child)
    if isinstance(value, (list, tuple)):
        return [_value(item, _join(path, index), mode) for index, item in enumerate(value)]
    return value


def _mapping(node: Mapping, path: str, mode: _Mode) -> Any:
    """A mapping without a built target: a Config (_convert_ none) or a dict of its values."""
    values = {key: _value(value, _join(path, key), mode) if mode.recursive else _plain(value)
              for key, value in node.items() if key not in (RECURSIVE, CONVERT)}
    if mode.convert != "none":
        return values
    from .compose import Config  # compose imports this module's callers, not this module

    return Config(values, path=path)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def locate(target: Any, path: str = "") -> Any:
    """The object a dotted path names ('torch.optim.SGD'), importing its modules.

    A callable is returned as it is. Raises ConfigError naming the key at path and the
    target when a module cannot be imported or has no such attribute.
    """
    if callable(target):
        return target
    if not isinstance(target, str) or not all(target.split(".")):
        raise ConfigError(
            f"Invalid {TARGET} {target!r} at {_where(path)}: expected a dotted path such as 'collections.OrderedDict'"
        )
    import importlib  # only when a target is built: a launch does not pay for it

    parts = target.split(".")
    try:
        found: Any = importlib.import_module(parts[0])
    except ImportError as err:
        raise _import_error(target, path, err) from err
    for index in range(1, len(parts)):
        if hasattr(found, parts[index]):
            found = getattr(found, parts[index])
            continue
        module = ".".join(parts[:index + 1])
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:  # the module exists but imports something missing
                raise _import_error(target, path, err) from err
            reason = f"{'.'.join(parts[:index])!r} has no attribute {parts[index]!r}"
            raise ConfigError(f"Cannot import the target {target!r} of {_where(path)}: {reason}") from None
        except ImportError as err:
            raise _import_error(target, path, err) from err
    return found


def _import_error(target: str, path: str, err: BaseException) -> ConfigError:
    return ConfigError(f"Cannot import the target {target!r} of {_where(path)}: {type(err).__name__}: {err}")


def _call(function: Any, args: Any, kwargs: dict[str, Any], target: Any, path: str) -> Any:
    """function(*args, **kwargs); an error of the call itself (not of the target's code) is a ConfigError."""
    if not callable(function):
        raise ConfigError(f"Cannot call the target {target!r} of {_where(path)}: it is a {type(function).__name__}")
    try:
        return function(*args, **kwargs)
    except Exception as err:
        if err.__traceback__ is not None and err.__traceback__.tb_next is not None:
            raise  # raised inside the target's own code: its traceback says where
        raise ConfigError(f"Cannot call the target {target!r} of {_where(path)}: {type(err).__name__}: {err}") from err


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _where(path: str) -> str:
    return repr(path) if path else "the top of the config"
