"""Configuration: Config, file loading, config groups, merging, interpolation. (Stub.)"""
from __future__ import annotations

from typing import Any, Dict, Sequence

# The tinyxp settings (the `xp` namespace) and their defaults. configs/tinyxp.yaml
# overrides them, `xp.NAME=VALUE` on the command line overrides both.
XP_DEFAULTS: Dict[str, Any] = {
    "log_dir": "./logs",          # parent of run directories (relative to the working directory)
    "logging": True,              # false: no run directory; ctx.logger is None
    "run_id": None,               # use this run id (resume into log_dir/<id>)
    "capture_output": False,      # tee stdout and stderr into the run directory
    "heartbeat_interval": 30,     # seconds between touches of <run>/heartbeat
    "snapshot": False,            # run from a git snapshot of the code
    "snapshot_dir": "./.tinyxp/snapshots",
    "dirty": "ask",               # ask|ignore|commit|patch|error
    "interactive": True,          # may prompt (only when stdin is a terminal)
    "scheduler": None,            # null|slurm|oar|pbs|sge|lsf
    "scheduler_options": [],      # directive options, e.g. ["--time=01:00:00"]
    "setup": [],                  # shell lines before python in job scripts
    "job_name": None,             # default: the script's name
    "python": None,               # python executable in job scripts (default: sys.executable)
    "array": False,               # submit a sweep as one job array
    "max_parallel": None,         # at most this many array tasks at once
    "requeue": False,             # ask for a signal before the time limit; checkpoint and requeue
    "signal_grace": 120,          # seconds before the time limit that the signal comes
}
