"""`tinyxp tag`, `note`, `rm`, `restore` and `gc`: labelling runs, throwing them away, collecting.

`rm` moves each run directory into <log_dir>/.trash with one os.rename, so a crash leaves
every run either in place or in the trash, never half-moved; `restore` moves it back
unchanged. `gc` deletes the trash and the code snapshots that only removed runs used. A
removed run's id is never allocated again (_files.next_free_run_id). Each destructive
command lists what it will do and asks on a terminal (`--yes` to skip it).
"""
from __future__ import annotations

import os
import sys

from .._contract import (
    INFO_FILE, LIVE_STATUSES, METADATA_DIR, SNAPSHOT_MARKER, TMP_PREFIX, TRASH_DIR, TRASH_LAST_ID_FILE,
    is_run_id,
)
from .._files import check_tag, os_reason, read_yaml, update_notes, write_atomic
from ..errors import ReaderError, TinyxpError
from .options import add_log_dir_option

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import argparse
    from typing import Callable, Iterable

    from ..read.frame import DataFrame
    from ..read.row import Row

EXIT_DECLINED = 1  # the user answered no: nothing was changed


class Run:
    """A run chosen by a command: its id, folder and status (None when its info.yaml is unreadable)."""

    __slots__ = ("run_id", "run_dir", "status", "snapshot_dir")

    def __init__(self, run_id: int, run_dir: str, status: str | None, snapshot_dir: str | None = None) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self.status = status
        self.snapshot_dir = snapshot_dir


# -- arguments -----------------------------------------------------------------------


def add_selection_arguments(parser: argparse.ArgumentParser, words: str, words_help: str) -> None:
    add_log_dir_option(parser)
    parser.add_argument("-q", "--query", default="", help="also the runs matching this query, e.g. \"info.status == 'FAILED'\"")
    parser.add_argument("words", nargs="*" if words == "RUN" else "+", metavar=words, help=words_help)


def add_tag_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection_arguments(parser, "RUN|TAG", "run ids, then one or more tags")
    parser.add_argument("--remove", action="store_true", help="remove the tags instead of adding them")


def add_note_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection_arguments(parser, "RUN|TEXT", "run ids, then the note (\"\" removes it)")


def add_rm_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection_arguments(parser, "RUN", "run ids")
    parser.add_argument("--dry-run", action="store_true", help="list the runs that would be removed, remove nothing")
    parser.add_argument("--force", action="store_true", help="remove PENDING and RUNNING runs too")
    add_yes_argument(parser)


def add_restore_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_dir_option(parser)
    parser.add_argument("words", nargs="*", metavar="RUN", help="ids of runs in the trash")
    parser.add_argument("--all", action="store_true", help="restore every run in the trash")


def add_gc_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_dir_option(parser)
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    add_yes_argument(parser)


def add_yes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation (needed when not on a terminal)")


def split_words(words: list[str], what: str) -> tuple[list[int], list[str]]:
    """(the leading run ids, the words after them); raises ReaderError when there is no `what` after them."""
    count = 0
    while count < len(words) and is_run_id(words[count]):
        count += 1
    if what and count == len(words):
        raise ReaderError(f"Expected {what} after the run ids")
    return [int(word) for word in words[:count]], words[count:]


def run_ids(words: list[str]) -> list[int]:
    """The run ids of words; raises ReaderError naming a word that is not one."""
    ids, rest = split_words(words, "")
    if rest:
        raise ReaderError(f"Invalid run id {rest[0]!r}: expected a run's number, e.g. 7")
    return ids


# -- choosing runs -------------------------------------------------------------------


def select_runs(log_dir: str, ids: list[int], query: str, *, broken: bool = False) -> list[Run]:
    """The runs of log_dir named by ids or matching query, in id order; with broken, also
    run folders the reader does not list (no readable info.yaml).

    Raises ReaderError for an unknown id (saying when it is in the trash), a query that
    matches nothing, and neither ids nor a query.
    """
    import warnings

    from ..read.reader import Reader, ReaderWarning

    if not ids and not query:
        raise ReaderError("Name the runs by id (e.g. 7 12) or select them with -q QUERY")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReaderWarning)
        reader = Reader(log_dir, progress=False)
        rows = run_rows(reader.filter())
        matched = list(run_rows(reader.filter(query))) if query else []
    for warning in caught:
        print(f"tinyxp: warning: {warning.message}", file=sys.stderr)
    if query and not matched:
        raise ReaderError(f"No run in {log_dir!r} matches the query {query!r}")
    chosen = []
    for run_id in sorted(set(ids) | set(matched)):
        run_dir = os.path.join(reader.log_dir, str(run_id))
        row = rows.get(run_id)
        if row is not None:
            chosen.append(Run(run_id, run_dir, row.get("info.status"), row.get("info.git.snapshot_dir")))
        elif broken and os.path.isdir(run_dir):  # a run directory whose info.yaml is missing or unreadable
            chosen.append(Run(run_id, run_dir, None))
        else:
            in_trash = os.path.isdir(os.path.join(reader.log_dir, TRASH_DIR, str(run_id)))
            hint = f" (it is in the trash: tinyxp restore {run_id})" if in_trash else ""
            raise ReaderError(f"No run {run_id} in {log_dir!r}{hint}")
    return chosen


def run_rows(df: DataFrame) -> dict[int, Row]:
    """{run id: row} of the runs of a Reader's DataFrame."""
    from ..read.row import Row

    return {int(row.run_id): row for row in df if isinstance(row, Row) and row.run_id is not None}


def trash_runs(log_dir: str) -> list[Run]:
    """The runs in log_dir's trash, in id order, with what their info.yaml says."""
    trash = os.path.join(log_dir, TRASH_DIR)
    try:
        names = sorted((name for name in os.listdir(trash) if is_run_id(name)), key=int)
    except FileNotFoundError:
        return []
    except OSError as err:
        raise ReaderError(f"Cannot read the trash {trash!r}: {os_reason(err)}") from None
    runs = []
    for name in names:
        run_dir = os.path.join(trash, name)
        try:
            info = read_yaml(os.path.join(run_dir, METADATA_DIR, INFO_FILE))
        except (OSError, TinyxpError):
            info = None
        info = info if isinstance(info, dict) else {}
        git = info.get("git")
        runs.append(Run(int(name), run_dir, info.get("status"), git.get("snapshot_dir") if isinstance(git, dict) else None))
    return runs


def describe(runs: Iterable[Run]) -> str:
    return "\n".join(f"  {run.run_id:>5}  {run.status or '(no status)'}" for run in runs)


def id_list(runs: Iterable[Run]) -> str:
    return " ".join(str(run.run_id) for run in runs)


def confirm(question: str, doing: str, yes: bool) -> bool:
    """Whether to go on: --yes, or the user's answer to question on a terminal.

    Raises ReaderError (saying `doing`) when there is no terminal to ask on and no --yes.
    """
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ReaderError(f"Not {doing} without a confirmation: standard input is not a terminal (pass --yes)")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


# -- the commands --------------------------------------------------------------------


def cmd_tag(args: argparse.Namespace) -> int:
    ids, tags = split_words(args.words, "a tag")
    if not args.remove:
        tags = [check_tag(tag) for tag in tags]
    for run in select_runs(args.log_dir, ids, args.query):
        notes = update_notes(run.run_dir, remove=tags) if args.remove else update_notes(run.run_dir, add=tags)
        print(f"{run.run_id}: {', '.join(notes['tags']) or '(no tags)'}")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    ids, words = split_words(args.words, "the note")
    if len(words) > 1:
        raise ReaderError(f"Expected one note after the run ids, got {len(words)} words: quote the note, e.g. \"lr too high\"")
    for run in select_runs(args.log_dir, ids, args.query):
        update_notes(run.run_dir, note=words[0] or None)
        print(f"{run.run_id}: {'note removed' if not words[0] else words[0]}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    runs = select_runs(args.log_dir, run_ids(args.words), args.query, broken=True)
    live = [run for run in runs if run.status in LIVE_STATUSES]
    if live and not args.force:
        raise ReaderError(
            f"Cannot remove {len(live)} live run(s) without --force: a job may still write there\n{describe(live)}"
        )
    trash = os.path.join(os.path.abspath(args.log_dir), TRASH_DIR)
    for run in runs:
        if os.path.exists(os.path.join(trash, str(run.run_id))):
            raise ReaderError(f"Cannot remove run {run.run_id}: the trash holds a run {run.run_id} already ({trash})")
    print(f"Moving {len(runs)} run(s) to {trash} (tinyxp restore brings them back):\n{describe(runs)}")
    if args.dry_run or not confirm(f"Remove {len(runs)} run(s)?", f"removing {len(runs)} run(s)", args.yes):
        print("Nothing removed.")
        return 0 if args.dry_run else EXIT_DECLINED
    moved = move_runs(runs, lambda run: os.path.join(trash, str(run.run_id)), "to the trash")
    print(f"Removed {len(moved)} run(s): {id_list(moved)}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    log_dir = os.path.abspath(args.log_dir)
    in_trash = {run.run_id: run for run in trash_runs(log_dir)}
    ids = run_ids(args.words)
    if not ids and not args.all:
        listing = describe(in_trash.values()) if in_trash else "  (the trash is empty)"
        raise ReaderError(f"Name the runs to restore, or pass --all; the trash of {args.log_dir!r} holds:\n{listing}")
    for run_id in ids:
        if run_id not in in_trash:
            raise ReaderError(f"Run {run_id} is not in the trash of {args.log_dir!r}")
    runs = [in_trash[run_id] for run_id in sorted(set(ids))] if ids else list(in_trash.values())
    for run in runs:
        if os.path.exists(os.path.join(log_dir, str(run.run_id))):
            raise ReaderError(f"Cannot restore run {run.run_id}: {os.path.join(log_dir, str(run.run_id))} exists")
    moved = move_runs(runs, lambda run: os.path.join(log_dir, str(run.run_id)), "back from the trash")
    print(f"Restored {len(moved)} run(s): {id_list(moved)}" if moved else "The trash is empty: nothing to restore.")
    return 0


def move_runs(runs: list[Run], destination: Callable[[Run], str], where: str) -> list[Run]:
    """Move each run's folder with one os.rename; raises ReaderError saying which moved when one cannot."""
    moved: list[Run] = []
    for run in runs:
        target = destination(run)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(run.run_dir, target)
        except OSError as err:
            done = f"; moved before it: {id_list(moved)}" if moved else "; nothing was moved"
            raise ReaderError(f"Cannot move run {run.run_id} {where}: {os_reason(err)}{done}") from None
        moved.append(run)
    return moved


def cmd_gc(args: argparse.Namespace) -> int:
    log_dir = os.path.abspath(args.log_dir)
    if not os.path.isdir(log_dir):
        raise ReaderError(f"Cannot collect in {args.log_dir!r}: it is not a directory")
    removed = trash_runs(log_dir)
    snapshots, kept = unused_snapshots(log_dir, removed)
    for path, run in kept.items():
        print(f"Keeping the snapshot {path}: removed run {run.run_id} is {run.status} and may need it")
    if not removed:  # the snapshots to delete are removed runs' ones
        print("Nothing to collect: the trash is empty.")
        return 0
    print(f"Deleting {len(removed)} run(s) from {os.path.join(log_dir, TRASH_DIR)} for good:\n{describe(removed)}")
    if snapshots:
        print(f"Deleting {len(snapshots)} code snapshot(s) that only removed runs used:\n" + "\n".join(f"  {path}" for path in snapshots))
    if args.dry_run or not confirm("Delete them?", "deleting", args.yes):
        print("Nothing deleted.")
        return 0 if args.dry_run else EXIT_DECLINED
    remember_largest_id(log_dir, removed)
    for run in removed:
        delete_tree(run.run_dir)
    trash = os.path.join(log_dir, TRASH_DIR)
    for name in os.listdir(trash):  # left by a gc that was killed while deleting
        if name.startswith(f"{TMP_PREFIX}gc-"):
            delete_tree(os.path.join(trash, name))
    for path in snapshots:
        for part in snapshot_files(path):
            delete_tree(part)
    print(f"Deleted {len(removed)} run(s) and {len(snapshots)} snapshot(s).")
    return 0


def unused_snapshots(log_dir: str, removed: list[Run]) -> tuple[list[str], dict[str, Run]]:
    """(the snapshots removed runs used and no remaining run uses, {snapshot: the live removed run keeping it}).

    Snapshots no run of this log folder ever used are left alone: they may be another
    log folder's. A PENDING or RUNNING removed run (rm --force) keeps its snapshot.
    """
    import warnings

    from ..read.reader import Reader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # partial runs: `tinyxp runs` reports them
        used = {row.get("info.git.snapshot_dir") for row in run_rows(Reader(log_dir, progress=False).filter()).values()}
    kept = {run.snapshot_dir: run for run in removed if run.snapshot_dir and run.status in LIVE_STATUSES}
    candidates = {run.snapshot_dir for run in removed if run.snapshot_dir} - used - set(kept)
    return sorted(path for path in candidates if isinstance(path, str) and os.path.isdir(path)), kept


def snapshot_files(path: str) -> list[str]:
    """A snapshot folder and, for a patch snapshot, the patch file its marker names beside it."""
    import json

    try:
        with open(os.path.join(path, SNAPSHOT_MARKER), encoding="utf-8") as file:
            patch = json.load(file).get("patch")
    except (OSError, ValueError, AttributeError):
        patch = None
    beside = isinstance(patch, str) and os.path.dirname(patch) == os.path.dirname(path)
    return [path, patch] if beside and os.path.isfile(patch) else [path]


def remember_largest_id(log_dir: str, removed: list[Run]) -> None:
    """Record the largest removed id before deleting, so that it is never allocated again."""
    path = os.path.join(log_dir, TRASH_DIR, TRASH_LAST_ID_FILE)
    try:
        with open(path, encoding="utf-8") as file:
            recorded = int(file.read().strip())
    except (OSError, ValueError):
        recorded = 0
    write_atomic(path, f"{max(recorded, *(run.run_id for run in removed))}\n", fsync=True)


def delete_tree(path: str) -> None:
    """Delete a file or folder: renamed out of sight first (no half-deleted run can be restored)."""
    import shutil

    name = os.path.basename(path)
    doomed = path if name.startswith(TMP_PREFIX) else os.path.join(os.path.dirname(path), f"{TMP_PREFIX}gc-{name}")
    try:
        os.rename(path, doomed)
    except OSError as err:
        raise ReaderError(f"Cannot delete {path}: {os_reason(err)}") from None
    if os.path.isdir(doomed):
        shutil.rmtree(doomed, ignore_errors=True)
    else:
        os.remove(doomed)


# name -> (help, add_arguments, run), as cli.COMMANDS
TIDY_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "tag": ("add tags to runs (--remove: remove them); query them with \"'TAG' in tags\"", add_tag_arguments, cmd_tag),
    "note": ("set the note of runs (\"\" removes it)", add_note_arguments, cmd_note),
    "rm": ("move runs to the log folder's trash (tinyxp restore brings them back)", add_rm_arguments, cmd_rm),
    "restore": ("bring runs back from the trash", add_restore_arguments, cmd_restore),
    "gc": ("delete the trash and the code snapshots only removed runs used", add_gc_arguments, cmd_gc),
}
