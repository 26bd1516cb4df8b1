"""Files of a run directory: atomic writes, YAML files, run-id allocation, info.yaml and notes.yaml updates.

Rewritten files go through a `.tmp-*` file in the same folder and os.replace, so a
crash never leaves half a file (docs/format.md).
"""
from __future__ import annotations

import os
import threading
from itertools import count

from ._contract import INFO_FILE, METADATA_DIR, NOTES_FILE, TAG_RULE, TMP_PREFIX, TRASH_DIR, TRASH_LAST_ID_FILE, is_run_id, is_tag
from .errors import LoggerError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import IO, Any, Callable, Iterable

MAX_ALLOCATION_ATTEMPTS = 10_000

_tmp_counter = count()  # next() on a count is atomic in CPython: unique names across threads


def os_reason(err: OSError) -> str:
    """What went wrong, as the operating system says it ('No space left on device')."""
    return err.strerror or str(err)


# per log folder, the last id this process allocated there and the folder's state just
# after: while the folder is unchanged the next id is that one + 1, without listing it
# again (a listing per run is quadratic over a 1,000-job submission)
_LAST_ALLOCATED: dict[str, tuple[int, tuple[int, int, int]]] = {}


def _folder_state(folder: str) -> tuple[int, int, int]:
    """What changes when an entry is added to or removed from folder, or folder replaced."""
    info = os.stat(folder)
    return info.st_ino, info.st_mtime_ns, info.st_nlink


def next_run_id(names: Iterable[str]) -> int:
    """The id after the largest run id among a log folder's entry names (1 when there is none)."""
    return max((int(name) for name in names if is_run_id(name)), default=0) + 1


def next_free_run_id(log_dir: str) -> int:
    """The id after every id log_dir has used: its runs', the trash's, and the largest that
    `tinyxp gc` deleted from the trash (a removed run's id is never given again).

    Raises OSError when log_dir cannot be listed.
    """
    names = os.listdir(log_dir)
    if TRASH_DIR in names:
        trash = os.path.join(log_dir, TRASH_DIR)
        try:
            names += os.listdir(trash)
            with open(os.path.join(trash, TRASH_LAST_ID_FILE), encoding="utf-8") as file:
                names.append(file.read().strip())
        except OSError:  # never collected
            pass
    return next_run_id(names)


def allocate_run_dir(log_dir: str) -> tuple[int, str]:
    """Create log_dir/<max id + 1> with os.mkdir and return (run_id, absolute path).

    Safe when many processes allocate at once: os.mkdir fails for all but one of them,
    and the others list the folder again and try the next id above both the listed ones
    and the one that collided (a listing on a network file system can be stale). A
    process lists log_dir only when the folder changed since its own last allocation
    there (one stat otherwise). Raises LoggerError when log_dir cannot be created or written.
    """
    log_dir = os.path.abspath(log_dir)
    ensure_log_dir(log_dir)
    run_id: int | None = None
    floor = 1  # above every id that collided
    last = _LAST_ALLOCATED.get(log_dir)
    if last is not None and last[1] == _folder_state(log_dir):
        run_id = last[0] + 1
    for _ in range(MAX_ALLOCATION_ATTEMPTS):
        if run_id is None:
            try:
                run_id = max(next_free_run_id(log_dir), floor)
            except OSError as err:
                raise LoggerError(f"Cannot read the log directory {log_dir!r}: {os_reason(err)}") from None
        run_dir = os.path.join(log_dir, str(run_id))
        try:
            os.mkdir(run_dir)
        except FileExistsError:
            floor = run_id + 1
            run_id = None  # another process took it, and maybe more: list again
            continue
        except OSError as err:
            raise LoggerError(f"Cannot create a run directory in {log_dir!r}: {os_reason(err)}") from None
        _LAST_ALLOCATED[log_dir] = (run_id, _folder_state(log_dir))
        return run_id, run_dir
    raise LoggerError(f"Cannot allocate a run id in {log_dir!r}: {MAX_ALLOCATION_ATTEMPTS} attempts collided")


def find_above(path: str, names: tuple[str, ...]) -> str | None:
    """The nearest folder, path itself or above it, holding an entry of one of names; else None."""
    path = os.path.abspath(path)
    while not any(os.path.exists(os.path.join(path, name)) for name in names):
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
    return path


def ensure_log_dir(log_dir: str) -> None:
    """Create log_dir (and its parents) if needed; raises LoggerError when impossible or read-only."""
    if not os.path.isdir(log_dir):
        if os.path.exists(log_dir):
            raise LoggerError(f"Cannot use {log_dir!r} as the log directory: it is a file, not a folder")
        try:
            os.makedirs(log_dir, exist_ok=True)
        except OSError as err:
            raise LoggerError(f"Cannot create the log directory {log_dir!r}: {os_reason(err)}") from None
    if not os.access(log_dir, os.W_OK | os.X_OK):
        raise LoggerError(f"Cannot write to the log directory {log_dir!r}: Permission denied")


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform; the file itself is synced
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_with(path: str, write: Callable[[IO[Any]], object], *, binary: bool = True, fsync: bool = False) -> None:
    """Call write(file) on a `.tmp-*` file beside path, then move it onto path.

    The previous file stays whole until the new one is complete: a crash leaves at
    worst a stray `.tmp-*` file. With fsync, data and folder entry reach the disk.
    """
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{next(_tmp_counter)}-{name}")
    try:
        file: IO[Any]
        with (open(tmp, "xb") if binary else open(tmp, "x", encoding="utf-8")) as file:
            write(file)
            if fsync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        _fsync_dir(folder)


def write_atomic(path: str, data: bytes | str, *, fsync: bool = False) -> None:
    """Replace the file at path with data in one step (temp file + os.replace)."""
    write_with(path, lambda file: file.write(data), binary=isinstance(data, bytes), fsync=fsync)


def write_yaml(path: str, obj: Any) -> None:
    """Write obj as block YAML to path atomically."""
    from . import yaml  # compiling its patterns costs ms: only for the processes that use YAML

    write_atomic(path, yaml.dump(obj))


def read_yaml(path: str) -> Any:
    """Read a YAML file; raises YAMLError naming the path on malformed content."""
    from . import yaml

    with open(path, encoding="utf-8") as file:
        return yaml.load(file.read(), path=path)


_info_lock = threading.Lock()  # info.yaml is updated from the main thread and the heartbeat thread


def update_info(run_dir: str, **fields: Any) -> dict[str, Any]:
    """Set fields in <run_dir>/metadata/info.yaml (read, modify, replace atomically).

    Returns the new content. A missing info.yaml is created.
    """
    path = os.path.join(run_dir, METADATA_DIR, INFO_FILE)
    with _info_lock:
        try:
            info = read_yaml(path)
        except FileNotFoundError:
            info = {}
        info.update(fields)
        write_yaml(path, info)
    return info


def check_tag(tag: Any) -> str:
    """Return tag if it is one (_contract.is_tag); raises LoggerError naming it otherwise."""
    if not is_tag(tag):
        raise LoggerError(f"Invalid tag {tag!r}: expected {TAG_RULE}, so that queries and command lines can name it")
    return tag


def read_notes(run_dir: str) -> dict[str, Any]:
    """The tags and note of a run, from metadata/notes.yaml: {"tags": [...], "note": str or None}."""
    try:
        return notes_values(read_yaml(os.path.join(run_dir, METADATA_DIR, NOTES_FILE)))
    except FileNotFoundError:
        return notes_values(None)


def notes_values(data: Any) -> dict[str, Any]:
    """The tags and note of a notes.yaml's content; none of what is not a list of tags or a string."""
    notes = data if isinstance(data, dict) else {}
    tags, note = notes.get("tags"), notes.get("note")
    return {
        "tags": [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else [],
        "note": note if isinstance(note, str) else None,
    }


_NO_CHANGE = object()


def update_notes(run_dir: str, *, add: Iterable[str] = (), remove: Iterable[str] = (), note: Any = _NO_CHANGE) -> dict[str, Any]:
    """Add and remove tags and set the note (None: none) of a run; returns the new notes.

    metadata/notes.yaml is a file of its own, replaced atomically, so that the run
    rewriting its info.yaml never races with it. Raises LoggerError for an invalid tag
    (nothing written) and when the file cannot be written.
    """
    add, remove = [check_tag(tag) for tag in add], set(remove)
    path = os.path.join(run_dir, METADATA_DIR, NOTES_FILE)
    with _info_lock:
        notes = read_notes(run_dir)
        notes["tags"] = [tag for tag in dict.fromkeys(notes["tags"] + add) if tag not in remove]
        if note is not _NO_CHANGE:
            notes["note"] = note
        try:
            write_yaml(path, notes)
        except OSError as err:
            raise LoggerError(f"Cannot write {path!r}: {os_reason(err)}") from None
    return notes
