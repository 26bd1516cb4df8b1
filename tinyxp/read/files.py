"""Opening the files of a run directory for reading: regular files only, no symbolic links.

A log folder may be shared (group-writable): a FIFO planted as info.yaml would hang the
reader, a symbolic link would make it read a file outside the run, and a 200 MB
info.yaml or /dev/zero would exhaust its memory. So a file is opened without blocking
and without following a symbolic link at any level below the run directory, checked to
be a regular file with os.fstat, and metadata files are bounded (docs/reading.md).
"""
from __future__ import annotations

import errno
import os
import stat

from .._contract import METADATA_DIR
from ..errors import ReaderError
from ..yaml import load as load_yaml

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

class UnreadableFile(ReaderError):
    """A file of a run that tinyxp does not read: a symbolic link, not a regular file, too large."""

    def __init__(self, relative: str, reason: str) -> None:
        super().__init__(f"Cannot read {relative}: {reason}")
        self.reason = reason


MAX_METADATA_BYTES = 4 * 1024 * 1024  # info.yaml, config.yaml: larger ones are reported, not read
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | NOFOLLOW
# where a folder can be opened and files opened relative to it, no symbolic link is
# followed below the run directory even if one is swapped in while the reader walks
WALK_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW
RELATIVE = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def open_run_file(run_dir: str, relative: str) -> tuple[int, os.stat_result]:
    """(descriptor, os.fstat) of the regular file run_dir/relative ('metrics/train.jsonl').

    Raises OSError as open() does (FileNotFoundError...) and UnreadableFile for a symbolic
    link at any level below run_dir and for what is not a regular file (a FIFO, a device).
    """
    parts = relative.split("/")
    try:
        fd = _open_relative(run_dir, parts) if RELATIVE else _open_checked(run_dir, parts)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR) and _link_below(run_dir, parts):
            raise UnreadableFile(relative, "it is a symbolic link, which tinyxp does not follow inside a run") from None
        if err.errno == errno.ENXIO:  # what open() refuses outright: a socket, a device without its driver
            raise UnreadableFile(relative, "it is not a regular file") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.path.join(run_dir, relative))
            raise UnreadableFile(relative, f"it is not a regular file but {_kind(st.st_mode)}")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_run_file(run_dir: str, relative: str, *, limit: int | None = None, size: int | None = None) -> tuple[bytes, os.stat_result]:
    """(bytes, os.fstat) of a run's regular file, its first `size` bytes when given.

    Raises as open_run_file does, and UnreadableFile for a file larger than `limit` bytes.
    """
    fd, st = open_run_file(run_dir, relative)
    try:
        if limit is not None and st.st_size > limit:
            raise UnreadableFile(relative, f"it has {st.st_size:,} bytes, more than the {limit:,} tinyxp reads")
        wanted = st.st_size if size is None else min(size, st.st_size)
        chunks = []
        while wanted > 0:  # one read almost always; a pipe or network file may give less
            chunk = os.read(fd, wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def load_metadata(run_dir: str, name: str) -> tuple[Any, os.stat_result]:
    """(content, os.fstat) of the YAML file metadata/<name> of a run, at most MAX_METADATA_BYTES.

    Raises OSError, UnicodeDecodeError, YAMLError and UnreadableFile.
    """
    raw, st = read_run_file(run_dir, f"{METADATA_DIR}/{name}", limit=MAX_METADATA_BYTES)
    return load_yaml(raw.decode("utf-8"), path=os.path.join(run_dir, METADATA_DIR, name)), st


def _open_relative(run_dir: str, parts: list[str]) -> int:
    """Open each folder below run_dir, then the file relative to the last one, never following a link."""
    if len(parts) == 1:
        return os.open(os.path.join(run_dir, parts[0]), READ_FLAGS)
    fd = os.open(os.path.join(run_dir, parts[0]), WALK_FLAGS)
    try:
        for part in parts[1:-1]:
            inner = os.open(part, WALK_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
        return os.open(parts[-1], READ_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def _open_checked(run_dir: str, parts: list[str]) -> int:  # pragma: no cover - platforms without dir_fd (Windows)
    if _link_below(run_dir, parts):
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), os.path.join(run_dir, *parts))
    return os.open(os.path.join(run_dir, *parts), READ_FLAGS)


def _link_below(run_dir: str, parts: list[str]) -> bool:
    """Whether a component of run_dir/parts is a symbolic link."""
    return any(os.path.islink(os.path.join(run_dir, *parts[: i + 1])) for i in range(len(parts)))


def _kind(mode: int) -> str:
    return KINDS.get(stat.S_IFMT(mode), "a special file")
