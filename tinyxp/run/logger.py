"""The Logger: JSON-lines metrics, artifacts and checkpoints of a run directory.

The layout is the contract of docs/format.md. Metric files are only appended to, one
whole line per os.write; artifacts are written atomically (_files.write_with).
"""
from __future__ import annotations

import os

from .._contract import ARTIFACTS_DIR, METADATA_DIR, METRIC_SUFFIX, METRICS_DIR, RESERVED_LOG_NAMES, TMP_PREFIX, is_reserved_log_name, is_run_id
from .._files import NAME_MAX, check_inside, open_in_run, os_reason, remove_stale_temporaries, update_notes, write_with
from ..errors import LoggerError, NoCheckpoint, suggest

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Tuple

    # format name -> (file extension, save(obj, file), load(file), binary)
    ArtifactFormat = Tuple[str, Callable[[Any, Any], None], Callable[[Any], Any], bool]


def check_name(name: Any, what: str) -> str:
    """Return name if it is a plain file name; raises LoggerError otherwise."""
    if not isinstance(name, str) or not name:
        raise LoggerError(f"Invalid {what} {name!r}: expected a non-empty string")
    separators = "/" + os.sep + (os.altsep or "")
    if any(sep in name for sep in separators) or ".." in name or name == "." or "\0" in name:
        raise LoggerError(f"Invalid {what} {name!r}: expected a plain file name, without '/' or '..'")
    if name.startswith(TMP_PREFIX):
        raise LoggerError(f"Invalid {what} {name!r}: a name starting with {TMP_PREFIX!r} is a temporary file of tinyxp")
    return name


def check_length(filename: str, name: str, what: str) -> None:
    """Raise LoggerError when filename (name with its extension) is too long for a file system."""
    size = len(filename.encode("utf-8", "surrogateescape"))
    if size > NAME_MAX:
        raise LoggerError(f"Invalid {what} {name[:10] + '...'!r}: {size} bytes with its extension, "
                          f"more than the {NAME_MAX} a file name may have")


def check_artifact_name(name: Any) -> str:
    """Return name if it is a relative path of plain names (`ckpt/epoch3`); raises LoggerError otherwise."""
    if not isinstance(name, str) or not name:
        check_name(name, "artifact name")  # says what is wrong
    for part in name.split("/"):
        if part.startswith(TMP_PREFIX):
            check_name(part, "artifact name")  # says why
        try:
            check_name(part, "artifact name")
        except LoggerError:
            raise LoggerError(f"Invalid artifact name {name!r}: expected names separated by '/' (`ckpt/epoch3`), without '..', '.' or empty parts") from None
    return name


def _to_json(value: Any) -> Any:
    """json's `default` hook: numpy/torch scalars through .item(), without importing them."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            result = item()
        except Exception:  # e.g. a tensor of several elements
            result = value
        if isinstance(result, (int, float, bool, str)) or result is None:
            return result
    raise TypeError(type(value).__name__)


_JSON_ENCODER: Any = None
_NON_FINITE = {float("inf"): "Infinity", float("-inf"): "-Infinity"}  # and NaN, as json writes them


def json_encoder() -> Any:
    """json.JSONEncoder with the _to_json hook, made at the first record that needs it:
    importing json (and re with it) costs a launch about 3 ms, and most records do not."""
    global _JSON_ENCODER
    if _JSON_ENCODER is None:
        import json

        _JSON_ENCODER = json.JSONEncoder(default=_to_json)
    return _JSON_ENCODER


def encode_record(metrics: dict[Any, Any]) -> str:
    """The JSON line of a record, as json_encoder().encode writes it.

    A flat record of plain values (string keys; int, float, bool, None and printable ASCII
    strings) is written here, as fast as json's encoder and without importing it; any
    other goes to json. Raises TypeError or ValueError as json does.
    """
    parts = []
    for key, value in metrics.items():
        kind = type(value)
        if kind is float:
            text = float.__repr__(value) if value - value == 0 else _NON_FINITE.get(value, "NaN")
        elif kind is int:
            text = int.__repr__(value)
        elif kind is bool:
            text = "true" if value else "false"
        elif value is None:
            text = "null"
        elif kind is str and _plain_ascii(value):
            text = f'"{value}"'
        else:
            return json_encoder().encode(metrics)
        if type(key) is not str or not _plain_ascii(key):
            return json_encoder().encode(metrics)
        parts.append(f'"{key}": {text}')
    return "{" + ", ".join(parts) + "}"


def _plain_ascii(text: str) -> bool:
    """Whether json writes text as it is, in quotes: printable ASCII without '"' or '\\'."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _find_bad_value(metrics: dict[Any, Any]) -> str:
    """Name the first key whose value json cannot write, for the error message."""
    for key, value in metrics.items():
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            return f"Invalid metric key {key!r} of type {type(key).__name__}: expected a string"
        try:
            json_encoder().encode(value)
        except (TypeError, ValueError):
            return f"Invalid metric {key!r}: value of type {type(value).__name__} is not JSON-serialisable"
    return "Invalid metrics: not JSON-serialisable"  # pragma: no cover (found above)


def _json() -> Any:
    import json  # only for the records and artifacts that need it

    return json


def _save_pickle(obj: Any, file: Any) -> None:
    import pickle

    pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)


def _load_pickle(file: Any) -> Any:
    import pickle

    return pickle.load(file)


def _save_text(obj: Any, file: Any) -> None:
    if not isinstance(obj, str):
        raise LoggerError(f"Invalid text artifact: expected a str, got {type(obj).__name__}")
    file.write(obj)


def _save_numpy(obj: Any, file: Any) -> None:
    import numpy

    numpy.save(file, obj, allow_pickle=False)


def _load_numpy(file: Any) -> Any:
    import numpy

    return numpy.load(file, allow_pickle=False)


def _save_torch(obj: Any, file: Any) -> None:
    import torch

    torch.save(obj, file)


def _load_torch(file: Any) -> Any:
    import torch

    return torch.load(file)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _save_image(obj: Any, file: Any) -> None:
    """PNG bytes as they are, or a figure with savefig (matplotlib's), which is not imported here."""
    if isinstance(obj, (bytes, bytearray)):
        if not bytes(obj[:8]) == PNG_SIGNATURE:
            raise LoggerError("Invalid image artifact: the bytes are not a PNG image (they lack the PNG signature)")
        file.write(obj)
    elif callable(getattr(obj, "savefig", None)):
        obj.savefig(file, format="png")
    else:
        raise LoggerError(f"Invalid image artifact: expected PNG bytes or a matplotlib figure (with savefig), got {type(obj).__name__}")


def _save_npz(obj: Any, file: Any) -> None:
    if not isinstance(obj, dict) or not all(isinstance(key, str) for key in obj):
        raise LoggerError(f"Invalid npz artifact: expected a dict of arrays with string keys, got {type(obj).__name__}")
    import numpy

    numpy.savez(file, **obj)


def _load_npz(file: Any) -> Any:
    import numpy

    with numpy.load(file, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


BUILTIN_FORMATS: dict[str, ArtifactFormat] = {
    "pickle": (".pkl", _save_pickle, _load_pickle, True),
    "json": (".json", lambda obj, file: _json().dump(obj, file), lambda file: _json().load(file), False),
    "text": (".txt", _save_text, lambda file: file.read(), False),
    "numpy": (".npy", _save_numpy, _load_numpy, True),  # numpy imported only when used
    "torch": (".pt", _save_torch, _load_torch, True),
    "image": (".png", _save_image, lambda file: file.read(), True),
    "npz": (".npz", _save_npz, _load_npz, True),  # a dict of arrays
}


# built-in format -> the package it needs, imported only when the format is used
FORMAT_PACKAGES = {"numpy": "numpy", "torch": "torch", "npz": "numpy"}


class Logger:
    """Writes one run's metrics, artifacts and checkpoints under run_dir.

    Used by @launch (ctx.logger) and standalone: `tinyxp.Logger("logs/7")`. Folders
    are created on first use. The logger of a rank other than 0 in a multi-process job
    writes nothing but the metrics logged with all_ranks=True.

    A standalone logger may write into a run that has ended: each of its writes also
    touches metadata/, which is what readers look at to know that an ended run changed
    (`live=True`, for the logger of the run this process executes, skips that).
    """

    def __init__(self, run_dir: str, *, rank: int = 0, live: bool = False) -> None:
        self._run_dir = os.path.abspath(run_dir)
        self._rank = rank
        self._touched = None if live and not rank else os.path.join(self._run_dir, METADATA_DIR)
        self._metric_fds: dict[str, int] = {}
        self._formats: dict[str, ArtifactFormat] = dict(BUILTIN_FORMATS)
        self._swept_folders: set[str] = set()  # artifact folders cleared of stale temporary files

    def __repr__(self) -> str:
        return f"Logger({self._run_dir!r})"

    @property
    def run_dir(self) -> str:
        """The absolute path of the run directory."""
        return self._run_dir

    @property
    def run_id(self) -> int | None:
        """The run id (the directory's name), or None when the name is not an integer."""
        name = os.path.basename(self._run_dir)
        return int(name) if is_run_id(name) else None

    def log_metrics(self, metrics: dict[str, Any], log_name: str = "train", *, all_ranks: bool = False) -> None:
        """Append metrics as one JSON line to metrics/<log_name>.jsonl.

        On a rank r other than 0 of a multi-process job nothing is written, unless
        all_ranks: then the line goes to metrics/<log_name>.rank<r>.jsonl.

        The line is handed to the operating system before returning (no fsync). NaN and
        infinities are written as NaN/Infinity, which json.loads reads back. Raises
        LoggerError for a value that is not JSON-serialisable, and for a log_name the
        reader keeps for its own columns (info, config, artifacts, tags, note, or one of
        them and a dot); nothing is written.
        """
        if self._rank:
            if not all_ranks:
                return
            log_name = f"{check_name(log_name, 'metric log name')}.rank{self._rank}"
        if not isinstance(metrics, dict):
            raise LoggerError(f"Invalid metrics: expected a dict, got {type(metrics).__name__}")
        try:
            line = encode_record(metrics)
        except (TypeError, ValueError):
            raise LoggerError(_find_bad_value(metrics)) from None
        data = (line + "\n").encode()
        fd = self._metric_fds.get(log_name)
        if fd is None:  # opened after the checks, so that a bad first record leaves no empty file
            fd = self._open_metrics(log_name)
        written = os.write(fd, data)
        while written < len(data):  # rare short write (full disk, signal): finish the line
            written += os.write(fd, data[written:])
        self._touch_metadata()

    def _touch_metadata(self) -> None:
        """Mark the run changed for the readers' indexes (see the class docstring)."""
        if self._touched is not None:
            try:
                os.utime(self._touched)
            except OSError:  # no metadata/: not a run the reader lists
                pass

    def _open_metrics(self, log_name: str) -> int:
        check_name(log_name, "metric log name")
        if is_reserved_log_name(log_name):
            raise LoggerError(
                f"Invalid metric log name {log_name!r}: the reader's columns {', '.join(RESERVED_LOG_NAMES)} "
                "would be shadowed; choose another log_name"
            )
        check_length(log_name + METRIC_SUFFIX, log_name, "metric log name")
        folder = os.path.join(self._run_dir, METRICS_DIR)
        path = os.path.join(folder, log_name + METRIC_SUFFIX)
        try:
            os.makedirs(folder, exist_ok=True)
            fd = open_in_run(self._run_dir, path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        except OSError as err:
            raise LoggerError(f"Cannot open metric file {path!r}: {os_reason(err)}") from None
        _end_torn_line(fd)
        self._metric_fds[log_name] = fd
        return fd

    def tag(self, *tags: str) -> list[str]:
        """Add tags to the run (metadata/notes.yaml, as `tinyxp tag`); returns all its tags.

        Raises LoggerError for a tag queries could not name (nothing is written). Rank 0
        alone writes them in a multi-process job.
        """
        if self._rank:
            return list(tags)
        os.makedirs(os.path.join(self._run_dir, METADATA_DIR), exist_ok=True)
        return update_notes(self._run_dir, add=tags)["tags"]

    def _artifact_path(self, name: str, format: str) -> tuple[str, ArtifactFormat]:
        check_artifact_name(name)
        spec = self._formats.get(format)
        if spec is None:
            hint = suggest(format, self._formats) or f"; known formats: {', '.join(sorted(self._formats))}"
            raise LoggerError(f"Unknown artifact format {format!r}{hint}")
        package = FORMAT_PACKAGES.get(format)
        if package is not None and spec is BUILTIN_FORMATS[format]:
            try:
                __import__(package)
            except ImportError:
                raise LoggerError(f"Cannot use the artifact format {format!r}: the {package} package is not installed") from None
        extension = spec[0]
        filename = name if name.endswith(extension) else name + extension
        for part in filename.split("/"):
            check_length(part, name, "artifact name")
        folder = os.path.join(self._run_dir, ARTIFACTS_DIR, format)
        path = os.path.join(folder, *filename.split("/"))
        check_inside(self._run_dir, path)  # no linked sub-folder: it could lead out of the run
        return path, spec

    def log_artifact(self, obj: Any, name: str, format: str = "pickle", *, fsync: bool = False) -> str:
        """Save obj to artifacts/<format>/<name> atomically and return the path.

        The format's extension is added to name when missing (`preds` -> preds.pkl); name
        may hold sub-folders (`ckpt/epoch3`). Formats: pickle, json, text, numpy (.npy),
        npz (a dict of arrays), torch, image (PNG bytes or a matplotlib figure).
        Raises LoggerError for a bad name or an unknown format. Rank 0 alone writes
        artifacts and checkpoints in a multi-process job.
        """
        path, (_, save, _, binary) = self._artifact_path(name, format)
        if self._rank:
            return path
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            raise LoggerError(f"Cannot create artifact folder for {path!r}: {os_reason(err)}") from None
        if folder not in self._swept_folders:  # once per folder and Logger: a listing per write would cost
            self._swept_folders.add(folder)
            remove_stale_temporaries(folder)
        write_with(path, lambda file: save(obj, file), binary=binary, fsync=fsync, lock=True)
        self._touch_metadata()
        return path

    def load_artifact(self, name: str, format: str = "pickle") -> Any:
        """Load an artifact saved by log_artifact; raises LoggerError when there is none."""
        path, (_, _, load, binary) = self._artifact_path(name, format)
        try:
            fd = open_in_run(self._run_dir, path, os.O_RDONLY)
        except FileNotFoundError:
            raise LoggerError(f"Cannot load artifact {name!r}: no file {path!r}") from None
        with (os.fdopen(fd, "rb") if binary else os.fdopen(fd, encoding="utf-8")) as file:
            return load(file)

    def register_artifact_format(
        self,
        name: str,
        *,
        save: Callable[[Any, Any], None],
        load: Callable[[Any], Any],
        binary: bool = True,
        extension: str = "",
    ) -> None:
        """Add an artifact format: save(obj, file) and load(file) on an open file.

        The functions live in this process only; nothing about them is written to disk.
        """
        check_name(name, "artifact format name")
        if not callable(save) or not callable(load):
            raise LoggerError(f"Invalid artifact format {name!r}: save and load must be callables")
        self._formats[name] = (extension, save, load, binary)

    def log_checkpoint(self, obj: Any, name: str = "last") -> None:
        """Pickle obj to artifacts/pickle/<name>.pkl with fsync; the previous one survives a crash."""
        self.log_artifact(obj, name, "pickle", fsync=True)

    def load_checkpoint(self, name: str = "last") -> Any:
        """Load a checkpoint saved by log_checkpoint; raises NoCheckpoint when there is none."""
        path, _ = self._artifact_path(name, "pickle")
        if not os.path.exists(path):
            raise NoCheckpoint(f"Cannot load checkpoint {name!r}: no file {path!r}")
        return self.load_artifact(name, "pickle")

    def close(self) -> None:
        """Close the metric files (reopened if metrics are logged again)."""
        fds, self._metric_fds = self._metric_fds, {}
        for fd in fds.values():
            os.close(fd)

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _end_torn_line(fd: int) -> None:
    """End a torn last line (a writer killed mid-line) with a newline, so the next line stays whole.

    Never truncates: what looks torn may be another process's line being appended right
    now, and cutting it would lose lines. O_APPEND puts this newline after that line
    then, leaving an empty line; the reader skips empty and torn lines.
    """
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")
