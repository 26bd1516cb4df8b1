"""What the reader adds to a run's own status: LOST, for a RUNNING run gone silent."""
from __future__ import annotations

import os
import time

from .._contract import HEARTBEAT_FILE, INFO_FILE, METADATA_DIR

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

LOST = "LOST"
DEFAULT_LOST_AFTER = 600  # seconds without a heartbeat before a RUNNING run reads as LOST


def mark_lost(entries: dict[str, dict[str, Any]], log_dir: str, lost_after: float) -> None:
    """Set "lost" in the index entry of every RUNNING run: whether it is lost now."""
    now = time.time()
    for name, entry in entries.items():
        if entry.get("values", {}).get("info.status") == "RUNNING":
            entry["lost"] = is_lost(os.path.join(log_dir, name), lost_after, now)


def is_lost(run_dir: str, lost_after: float, now: float | None = None) -> bool:
    """Whether a RUNNING run's heartbeat (or info.yaml without one) is older than lost_after."""
    seen = mtime(os.path.join(run_dir, HEARTBEAT_FILE))
    if seen is None:
        seen = mtime(os.path.join(run_dir, METADATA_DIR, INFO_FILE))
    now = time.time() if now is None else now
    return seen is not None and now - seen > lost_after


def mtime(path: str) -> float | None:
    """When path was last changed; a symbolic link's own time, not its target's (never followed)."""
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return None
