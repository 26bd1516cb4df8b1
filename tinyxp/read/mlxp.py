"""Runs that MLXP (1.0) wrote, read beside tinyxp's own: where their files and values differ.

MLXP writes metadata/info.yaml, config.yaml and mlxp.yaml like tinyxp, but its metrics go
to metrics/<log_name>.json (JSON lines too), its times are a local `start_date:
07/12/2026` and `start_time: '23:30:00'`, and a submitted run waits as STARTING. The
reader takes the metrics file of either name and reads such an info.yaml as tinyxp's:
ISO 8601 times, PENDING. mlxp.yaml (MLXP's settings) is not indexed, like tinyxp's xp.yaml.
"""
from __future__ import annotations

import os
import re

from .._contract import METRIC_SUFFIX, METRICS_DIR, MLXP_METRIC_SUFFIX

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

RE_DATE = re.compile(r"(\d\d)/(\d\d)/(\d{4})")  # MLXP's %d/%m/%Y
RE_TIME = re.compile(r"\d\d:\d\d:\d\d")
STATUSES = {"STARTING": "PENDING"}  # MLXP's name -> tinyxp's


def metric_path(run_dir: str, log_name: str) -> str:
    """The metrics file of log_name: metrics/<log_name>.jsonl, or MLXP's .json when only that exists."""
    return os.path.join(run_dir, metric_relative_path(run_dir, log_name))


def metric_relative_path(run_dir: str, log_name: str) -> str:
    """metric_path relative to run_dir, as 'metrics/<log_name>.jsonl' (or MLXP's .json)."""
    relative = f"{METRICS_DIR}/{log_name}{METRIC_SUFFIX}"
    mlxp = f"{METRICS_DIR}/{log_name}{MLXP_METRIC_SUFFIX}"
    if not os.path.exists(os.path.join(run_dir, relative)) and os.path.exists(os.path.join(run_dir, mlxp)):
        return mlxp
    return relative


def from_mlxp(values: dict[str, Any]) -> None:
    """Read the flattened info of an MLXP run as tinyxp's: its times as ISO 8601, STARTING as PENDING."""
    for when in ("start", "end"):
        date, time = values.get(f"info.{when}_date"), values.get(f"info.{when}_time")
        found = RE_DATE.fullmatch(date) if isinstance(date, str) else None
        if found and isinstance(time, str) and RE_TIME.fullmatch(time):
            day, month, year = found.groups()
            values[f"info.{when}_time"] = f"{year}-{month}-{day}T{time}"
    status = values.get("info.status")
    if isinstance(status, str) and status in STATUSES:
        values["info.status"] = STATUSES[status]
