"""The runs a command line describes: its sweeps, the config's xp.sweep, and random search.

    python train.py +sweep seed=range(3)                        # 3 runs
    python train.py +sweep lr=loguniform(1e-5,1e-1) xp.trials=10  # 10 sampled runs
    # configs/tinyxp.yaml:  sweep: {optimizer.lr: "1e-3,1e-4"}  # +sweep alone runs 2

With +sweep, the settings' xp.sweep entries join the command line's overrides (the
command line wins per key). A random parameter (uniform, loguniform, randint, and
choice when xp.trials is set) takes xp.trials values drawn with xp.search_seed; every
trial runs with every combination of the grid keys, the trials varying slowest.
"""
from __future__ import annotations

import os

from .. import yaml
from ..errors import OverrideError
from .overrides import Choice, Distribution, Override, Sweep, expand_sweeps, format_count, make_override, parse_override
from .settings import SETTINGS_FILE, compose_xp, max_runs

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any

    from .command_line import CommandLine

SEARCH_KEYS = ("xp.sweep", "xp.trials", "xp.search_seed")
LIST_KEYS = ("xp.gpus",)  # a comma in their value makes a list, not a sweep: xp.gpus=0,1 gives each process both
SIGNIFICANT_DIGITS = 6  # a sampled float, as labels, tokens and tables show it


def expand_command_line(command_line: CommandLine, config_path: str) -> list[list[Override]]:
    """Every setting (list of overrides) the command line runs, in order.

    The settings hold no xp.sweep, xp.trials or xp.search_seed: those describe the
    search, not a run. Raises OverrideError for a sweep or random parameter without
    +sweep, a bad xp.sweep entry, random parameters without xp.trials, or xp.trials
    without any.
    """
    listed = [_as_list(o) if o.key in LIST_KEYS else o for o in command_line.overrides]
    search = [o for o in listed if o.key in SEARCH_KEYS]  # settings of the search, not of a run
    overrides = [o for o in listed if o.key not in SEARCH_KEYS]
    has_random = any(isinstance(o.value, Distribution) for o in overrides)
    if not (command_line.multirun or has_random or search):
        return expand_sweeps(overrides, multirun=False)  # a plain run reads no settings file here
    xp = compose_xp(config_path, search)
    limit = max_runs(config_path, command_line.overrides)
    if command_line.multirun:
        given = {o.key for o in overrides}
        from_xp = any(o.key == "xp.sweep" for o in search)
        declared = [o for o in _declared_sweep(xp.sweep.to_dict(), config_path, from_xp) if o.key not in given]
        overrides = declared + overrides
    trials = xp.trials
    drawn = [i for i, o in enumerate(overrides)
             if isinstance(o.value, Distribution) or (trials is not None and isinstance(o.value, Choice))]
    if drawn and trials is None:
        tokens = " ".join(overrides[i].text for i in drawn)
        also = "" if command_line.multirun else " and +sweep"
        raise OverrideError(f"Cannot sample {tokens!r} without xp.trials: add xp.trials=N (the number of samples){also}")
    if not drawn:
        if trials is not None:
            raise OverrideError(
                f"Cannot run xp.trials={trials} samples: no random parameter to sample "
                "(such as lr=loguniform(1e-5,1e-1), uniform(a,b), randint(a,b) or choice(a,b))"
            )
        return expand_sweeps(overrides, multirun=command_line.multirun, max_runs=limit)
    if not command_line.multirun:
        tokens = " ".join(overrides[i].text for i in drawn)
        raise OverrideError(
            f"Cannot run a random search without +sweep: {tokens!r} describes xp.trials={trials} runs; "
            "add +sweep (or -m) to run them all"
        )
    _check_search_size(trials, [o for i, o in enumerate(overrides) if i not in drawn], limit)
    return [setting for trial in _samples(overrides, drawn, trials, xp.search_seed)
            for setting in expand_sweeps(trial, multirun=True, max_runs=limit)]


def _as_list(override: Override) -> Override:
    """The override with its comma-separated values as one list (choice(...) stays a choice)."""
    if type(override.value) is not Sweep:
        return override
    return Override(override.kind, override.key, list(override.value.values), override.text)


def _samples(overrides: list[Override], drawn: list[int], trials: int, seed: int) -> list[list[Override]]:
    """trials copies of overrides, each with the overrides at the indices drawn sampled (in order) from seed."""
    import random  # only for a random search: a few ms to import

    rng = random.Random(seed)
    result = []
    for _ in range(trials):
        trial = list(overrides)
        for index in drawn:
            override = overrides[index]
            trial[index] = make_override(override.kind, override.key, sample(override.value, rng))
        result.append(trial)
    return result


def sample(value: Any, rng: Any) -> Any:
    """One value drawn from a Distribution or a Choice with rng (a random.Random).

    Floats keep SIGNIFICANT_DIGITS digits and stay within the bounds.
    """
    if isinstance(value, Choice):
        return rng.choice(value.values)
    low, high = value.low, value.high
    if value.name == "randint":
        return rng.randint(low, high)
    if value.name == "uniform":
        drawn = rng.uniform(low, high)
    else:
        import math

        drawn = math.exp(rng.uniform(math.log(low), math.log(high)))
    rounded = float(f"{drawn:.{SIGNIFICANT_DIGITS}g}")
    return min(max(rounded, float(low)), float(high))


def _declared_sweep(entries: dict[str, Any], config_path: str, from_command_line: bool) -> list[Override]:
    """The overrides of xp.sweep's entries: {key: "a,b" | "range(3)" | [a, b] | scalar}; a list is a grid."""
    folder = config_path if os.path.isdir(config_path) else os.path.dirname(config_path)
    where = "xp.sweep" if from_command_line else f"the sweep of {os.path.join(folder, SETTINGS_FILE)}"
    result = []
    for key, value in entries.items():
        text = f"{key}={value}" if isinstance(value, str) else f"{key}={yaml.dump_value(value)}"
        try:
            head = parse_override(f"{key}=")  # the key and its prefix
            if isinstance(value, str):
                result.append(parse_override(text))
                continue
        except OverrideError as err:
            raise OverrideError(f"Invalid entry {key!r} in {where}: {err.message}",
                                source=err.source, pos=err.pos, length=err.length) from None
        if isinstance(value, dict):
            raise OverrideError(
                f"Invalid entry {key!r} in {where}: expected values such as '1e-3,1e-4', 'range(3)' or a list, got a mapping"
            )
        result.append(Override(head.kind, head.key, Sweep(tuple(value)) if isinstance(value, list) else value, text))
    return result


def _check_search_size(trials: int, grid: list[Override], limit: int) -> None:
    """Raises OverrideError when trials x the grid's settings is more than xp.max_runs, before any sample is drawn."""
    count = trials
    for override in grid:
        if isinstance(override.value, Sweep):
            count *= override.value.size
    if count > limit:
        raise OverrideError(f"Cannot run a random search of {format_count(count)} runs (xp.trials={trials} samples, "
                            f"each with every grid setting), more than xp.max_runs={limit} (set xp.max_runs to allow more)")
