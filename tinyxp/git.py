"""Git through subprocess: recording the code's state, snapshots. (Stub: issue 4.)

The launcher calls exactly these three functions; keep their signatures.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional


def start_recording(script_dir: str) -> Callable[[], Optional[Dict[str, Any]]]:
    """Start recording the git state of the repository holding `script_dir`.

    Cheap: slow parts may run in the background. The returned function gives the
    mapping to store as info.git (None outside a repository or without git).
    """
    return lambda: None


def snapshot_info_for_run(run_dir: str) -> Optional[Dict[str, Any]]:
    """In a run started from a snapshot, fill the run directory's snapshot files.

    Writes metadata/uncommitted.patch and metadata/requirements.txt when relevant and
    returns the fields to merge into info.git (None when not run from a snapshot).
    """
    return None


def relaunch_in_snapshot(script_path: str, argv: List[str], xp: Any) -> int:
    """Take or reuse the snapshot for xp.snapshot=true and rerun the script from it.

    Returns the child process's exit status.
    """
    raise NotImplementedError("snapshots are not implemented yet")
