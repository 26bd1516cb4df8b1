"""Submission of sweeps as jobs: from the launcher and from `tinyxp sub`. (Stub: issue 5.)"""
from __future__ import annotations

from typing import Any, List, Sequence


def submit_from_launcher(script_path: str, settings: List[Sequence[Any]], configs: List[Any], xp: Any) -> int:
    """Submit one job per setting (or one array) instead of running the task.

    `settings` are the expanded override lists (overrides.expand_sweeps), `configs`
    the composed Config of each. Returns the exit status for the launcher.
    """
    raise NotImplementedError("submission is not implemented yet")
