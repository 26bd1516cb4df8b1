"""What the reader adds to a run's own status: LOST, for a RUNNING run gone silent."""
from __future__ import annotations

import os
import time

from .._contract import HEARTBEAT_FILE, INFO_FILE, METADATA_DIR, METRICS_DIR

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

LOST = "LOST"
DEFAULT_LOST_AFTER = 600  # seconds without a write before a RUNNING run reads as LOST
# a run with a long xp.heartbeat_interval is given this many of its own intervals
LOST_INTERVALS = 3


def mark_lost(entries: dict[str, dict[str, Any]], log_dir: str, lost_after: float) -> None:
    """Set "lost" in the index entry of every RUNNING run: whether it is lost now."""
    now = time.time()
    for name, entry in entries.items():
        if type(entry) is not dict:  # a run of the index file not decoded yet: an ended one
            continue
        values = entry.get("values", {})
        if values.get("info.status") == "RUNNING":
            threshold = silence_allowed(lost_after, values.get("info.heartbeat_interval"))
            entry["lost"] = is_lost(os.path.join(log_dir, name), threshold, now)


def silence_allowed(lost_after: float, interval: Any) -> float:
    """How long a RUNNING run may write nothing: lost_after, or more for a run whose own
    heartbeat interval (info.heartbeat_interval) is long."""
    if isinstance(interval, (int, float)) and not isinstance(interval, bool):
        return max(lost_after, LOST_INTERVALS * interval)
    return lost_after


def is_lost(run_dir: str, lost_after: float, now: float | None = None) -> bool:
    """Whether a RUNNING run wrote nothing for lost_after seconds: its heartbeat, info.yaml
    and metric files are all older (False when it has none of them)."""
    now = time.time() if now is None else now
    latest = mtime(os.path.join(run_dir, HEARTBEAT_FILE))
    if latest is not None and now - latest <= lost_after:
        return False  # the usual case, in one stat
    writes = [latest, mtime(os.path.join(run_dir, METADATA_DIR, INFO_FILE))]
    try:
        with os.scandir(os.path.join(run_dir, METRICS_DIR)) as entries:
            writes.extend(mtime(entry.path) for entry in entries)
    except OSError:  # no metrics yet
        pass
    seen = [write for write in writes if write is not None]
    return bool(seen) and now - max(seen) > lost_after


def mtime(path: str) -> float | None:
    """When path was last changed; a symbolic link's own time, not its target's (never followed)."""
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return None
