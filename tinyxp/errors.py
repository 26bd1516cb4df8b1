"""The typed errors of tinyxp, all subclasses of TinyxpError.

An error may carry the text it was raised about (`source`), a character offset in
it (`pos`) and the length of the offending span. `str(err)` then renders
``path:line:col: message`` followed by the offending line and a caret under the
span, so that the command line can print it as it is.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable


def suggest(name: str, candidates: Iterable[str], *, prefix: str = "", cutoff: float = 0.6) -> str:
    """'; did you mean 'x'?' for the candidate closest to name, or '' when none is close.

    prefix goes before each suggestion as it is shown (the path of a nested key).
    """
    from difflib import get_close_matches

    close = get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f"; did you mean {prefix + close[0]!r}?" if close else ""


class TinyxpError(Exception):
    """Base class of every error tinyxp raises on bad input or a failed operation."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        pos: int | None = None,
        length: int = 1,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.pos = pos
        self.length = max(1, length)
        self.path = path

    @property
    def line(self) -> int | None:
        """1-based line of `pos` in `source`, or None when unknown."""
        if self.source is None or self.pos is None:
            return None
        return _line_col(self.source, self.pos)[0]

    @property
    def col(self) -> int | None:
        """1-based column of `pos` in `source`, or None when unknown."""
        if self.source is None or self.pos is None:
            return None
        return _line_col(self.source, self.pos)[1]

    def __str__(self) -> str:
        if self.source is None or self.pos is None:
            return f"{self.path}: {self.message}" if self.path else self.message
        line, col = _line_col(self.source, self.pos)
        if self.path:
            head = f"{self.path}:{line}:{col}: {self.message}"
        elif "\n" in self.source.rstrip("\n"):
            head = f"line {line}, column {col}: {self.message}"
        else:
            head = self.message
        start = self.source.rfind("\n", 0, self.pos) + 1
        end = self.source.find("\n", self.pos)
        text = self.source[start:] if end < 0 else self.source[start:end]
        width = min(self.length, max(1, len(text) - (col - 1)))
        return f"{head}\n    {text}\n    {' ' * (col - 1)}{'^' * width}"


def _line_col(source: str, pos: int) -> tuple[int, int]:
    """1-based line and column of pos in source."""
    return source.count("\n", 0, pos) + 1, pos - (source.rfind("\n", 0, pos) + 1) + 1


class YAMLError(TinyxpError, ValueError):
    """Malformed YAML, or a construct outside tinyxp's YAML subset."""


class ConfigError(TinyxpError, ValueError):
    """A configuration that cannot be composed: missing file, bad interpolation, unset ???."""


class OverrideError(TinyxpError, ValueError):
    """A command-line override or sweep that cannot be parsed or applied."""


class QueryError(TinyxpError, ValueError):
    """A query with a syntax error, an unknown field or an impossible comparison."""


class LoggerError(TinyxpError, ValueError):
    """Bad input to the run logger: a metric that is not JSON, a name with a slash, ..."""


class ReaderError(TinyxpError, ValueError):
    """A log directory that cannot be read, or a bad column, grouping or aggregation."""


class GitError(TinyxpError, RuntimeError):
    """A git command failed; the message names the repository and quotes git's output."""


class SchedulerError(TinyxpError, RuntimeError):
    """A job script that cannot be written or a submission that failed."""


class NoCheckpoint(TinyxpError, LookupError):
    """load_checkpoint found no checkpoint of that name in the run directory."""
