"""Continuing a sweep (xp.skip): each setting's existing run, and what to do with it.

A setting's run is the run of the log folder with the same script (file name) and the
same composed config (info.config_hash). With xp.skip=complete a COMPLETE run and a live
PENDING or RUNNING one are skipped, a FAILED, INTERRUPTED or LOST one is resumed into its
own directory, and a setting without a run starts a new one. xp.skip=existing skips
every setting that has a run, whatever its status. xp.skip=none (the default) starts
every setting anew.
"""
from __future__ import annotations

import os

from .._contract import CONFIG_FILE, INFO_FILE, METADATA_DIR, is_run_id
from .._files import read_yaml
from ..errors import TinyxpError
from .resume import is_alive

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Sequence

SKIP, RESUME, NEW = "done", "resumed", "new"  # what becomes of a setting, as the summary line says
HASH_KEY = "config_hash"
# which run of a setting counts when it has several: the first status here, then the latest
PREFERRED = ("COMPLETE", "RUNNING", "PENDING")


def find_runs(log_dir: str, script: str, wanted: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """{config hash: (run dir, info)} of the runs of script in log_dir with one of the configs wanted ({hash: config}).

    A run's info.yaml is parsed only when its text holds one of the hashes, and its
    config.yaml only when the hash matches, to confirm it. Runs that cannot be read are
    passed over: they match no setting.
    """
    name = os.path.basename(script)
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    try:
        entries = sorted((e for e in os.listdir(log_dir) if is_run_id(e)), key=int)
    except OSError:  # no log folder yet: every setting is new
        return found
    for entry in entries:
        run_dir = os.path.join(log_dir, entry)
        info = _matching_info(run_dir, wanted)
        if info is None or os.path.basename(str(info.get("script"))) != name or not _same_config(run_dir, wanted[info[HASH_KEY]]):
            continue
        key = info[HASH_KEY]
        if key not in found or _rank(info) <= _rank(found[key][1]):
            found[key] = (run_dir, info)
    return found


def _same_config(run_dir: str, config: Any) -> bool:
    try:
        return bool(read_yaml(os.path.join(run_dir, METADATA_DIR, CONFIG_FILE)) == config)
    except (OSError, UnicodeDecodeError, TinyxpError):
        return False


def _matching_info(run_dir: str, wanted: dict[str, Any]) -> dict[str, Any] | None:
    path = os.path.join(run_dir, METADATA_DIR, INFO_FILE)
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        if not any(value in text for value in wanted):
            return None
        info = read_yaml(path)
    except (OSError, UnicodeDecodeError, TinyxpError):
        return None
    return info if isinstance(info, dict) and info.get(HASH_KEY) in wanted else None


def _rank(info: dict[str, Any]) -> int:
    status = info.get("status")
    return PREFERRED.index(status) if status in PREFERRED else len(PREFERRED)


def decide(skip: str, run: tuple[str, dict[str, Any]] | None) -> str:
    """SKIP, RESUME or NEW for a setting whose existing run is run (None: it has none)."""
    if run is None or skip == "none":
        return NEW
    run_dir, info = run
    if skip == "existing":
        return SKIP
    status = info.get("status")
    if status == "COMPLETE" or status == "PENDING" or (status == "RUNNING" and is_alive(run_dir, info, None)):
        return SKIP
    return RESUME


def continue_settings(log_dir: str, script: str, skip: str, configs: Sequence[Any]) -> tuple[list[int | None | bool], str]:
    """For each setting (by its composed config): False to skip it, the run id to resume, or None for a new run;
    and the summary line ('tinyxp: 12 done, 3 resumed, 5 new (xp.skip=complete)')."""
    from ..config.resume import config_hash

    plain = [config.to_dict() if hasattr(config, "to_dict") else config for config in configs]
    hashes = [config_hash(config) for config in plain]
    runs = find_runs(os.path.abspath(log_dir), script, dict(zip(hashes, plain)))
    counts: dict[str, int] = {}
    plan: list[int | None | bool] = []
    for key in hashes:
        what = decide(skip, runs.get(key))
        counts[what] = counts.get(what, 0) + 1
        plan.append(False if what == SKIP else int(os.path.basename(runs[key][0])) if what == RESUME else None)
    return plan, f"tinyxp: {summary(counts)} (xp.skip={skip})"


def summary(counts: dict[str, int]) -> str:
    """'12 done, 3 resumed, 5 new'."""
    return ", ".join(f"{counts.get(what, 0)} {what}" for what in (SKIP, RESUME, NEW))
