"""tinyxp: launch, configure, log, submit and read machine-learning experiments.

Only the errors are imported eagerly; everything else is imported on first use, so
that `import tinyxp` at the start of every run stays cheap.
"""
from __future__ import annotations

from .errors import (
    ConfigError,
    GitError,
    LoggerError,
    NoCheckpoint,
    OverrideError,
    QueryError,
    ReaderError,
    SchedulerError,
    TinyxpError,
    YAMLError,
)

__version__ = "0.1.0"

# public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "launch": "launcher",
    "Context": "launcher",
    "Logger": "run.logger",
    "Config": "config.compose",
    "load_config": "config.compose",
    "instantiate": "config.instantiate",
    "call": "config.instantiate",
    "Reader": "read.reader",
    "DataFrame": "read.frame",
    "GroupedDataFrame": "read.frame",
}

__all__ = [
    "__version__",
    "ConfigError",
    "GitError",
    "LoggerError",
    "NoCheckpoint",
    "OverrideError",
    "QueryError",
    "ReaderError",
    "SchedulerError",
    "TinyxpError",
    "YAMLError",
    *_LAZY,
]


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tinyxp' has no attribute {name!r}")
    import sys

    # __import__, not importlib.import_module: the importlib package costs a launch ~0.5 ms
    __import__(f"{__name__}.{module_name}")
    value = getattr(sys.modules[f"{__name__}.{module_name}"], name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
