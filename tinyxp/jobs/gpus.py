"""The GPUs of this machine, and how xp.gpus shares them out among a local sweep's processes.

Found without importing torch: CUDA_VISIBLE_DEVICES when set (a SLURM allocation, or the
user), else `nvidia-smi -L`; no GPU found means no assignment at all.
"""
from __future__ import annotations

import os

from .._commands import CommandNotRun, run_command
from .._contract import GPU_ENV
from ..config.settings import parse_gpu_list
from ..errors import ConfigError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

NVIDIA_SMI_TIMEOUT = 20  # seconds; a wedged driver must not hang the sweep


def visible_gpus() -> tuple[list[str], str]:
    """The GPUs this process may use and where that was found (for messages)."""
    given = os.environ.get(GPU_ENV)
    if given is not None:
        gpus = [g.strip() for g in given.split(",") if g.strip() and g.strip() != "-1"]
        return gpus, f"{GPU_ENV}={given!r}"
    try:
        status, output, _ = run_command(["nvidia-smi", "-L"], timeout=NVIDIA_SMI_TIMEOUT)
    except CommandNotRun as err:
        return [], f"nvidia-smi -L: {err.reason}"
    if status != 0:
        return [], f"nvidia-smi -L exited with status {status}"
    lines = [line for line in output.decode("utf-8", "replace").splitlines() if line.startswith("GPU ")]
    return [str(i) for i in range(len(lines))], "nvidia-smi -L"


def gpu_slots(setting: Any, max_parallel: int | None) -> tuple[int | None, list[str | None]]:
    """(max_parallel, one CUDA_VISIBLE_DEVICES value per process slot; None: leave it alone).

    With GPUs each of the max_parallel processes gets its own share (by default one GPU
    each). Raises ConfigError for xp.gpus naming GPUs that are not there, or more
    processes at once than GPUs.
    """
    if setting is None:
        return max_parallel, [None]
    available, source = visible_gpus()
    if setting == "auto":
        if not available:
            return max_parallel, [None]
        wanted = available
    else:
        wanted = parse_gpu_list(setting) or []
        missing = [g for g in wanted if g not in available]
        if missing:
            have = f"GPUs {', '.join(available)}" if available else "no GPU"
            raise ConfigError(
                f"Invalid xp.gpus {setting!r}: no GPU {', '.join(missing)} here ({have}, from {source}); "
                "set xp.gpus=auto or xp.gpus=null"
            )
    processes = max_parallel or len(wanted)
    if processes > len(wanted):
        raise ConfigError(
            f"Invalid xp.max_parallel {processes}: only {len(wanted)} GPU(s) to give each process its own "
            f"(xp.gpus={setting}); lower xp.max_parallel, or set xp.gpus=null to share them"
        )
    share = len(wanted) // processes
    return processes, [",".join(wanted[k * share:(k + 1) * share]) for k in range(processes)]
