"""Benchmark composition: a 30-file config tree with 5 groups, as a Hydra project has one.

Run from the repository root: `python tests/bench/bench_compose.py`. The tree (written
to a temporary folder) has a primary config whose defaults list names a plain config
and 5 groups of 5 options each, one option with a nested group and its own defaults
list, and an experiment with `# @package _global_` and `override` entries: 30 files.
The command line chooses an option, sets a key, adds the experiment and interpolates.

Figures, each the median (min-max) of REPS repetitions of this process's CPU time:
- cold: the first composition of a launch (every file read and parsed);
- warm: every further setting of a sweep (the files parsed once per launch);
- Hydra's compose() on the same tree, when hydra-core is importable (a reference).
The target is under 5 ms for the cold composition.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tinyxp.config import files  # noqa: E402
from tinyxp.config.compose import compose_run  # noqa: E402
from tinyxp.config.overrides import parse_override  # noqa: E402

REPS = 7
GROUPS = ("model", "optimizer", "data", "trainer", "logger")
TOKENS = ["model=opt2", "optimizer.lr=0.01", "+experiment=fast", "data=opt3"]


def write_tree(root: str) -> int:
    """The 30 files; returns how many."""
    written = {
        "config.yaml": "defaults:\n  - base\n" + "".join(f"  - {g}: opt0\n" for g in GROUPS) + "  - _self_\n\n"
                       "seed: 0\nname: run-${seed}\nout: ${oc.env:TINYXP_BENCH_UNSET,/tmp}/${name}\n",
        "base.yaml": "epochs: 10\nlog_every: 50\ntags: [bench]\n",
        "experiment/fast.yaml": "# @package _global_\ndefaults:\n  - override /trainer: opt4\n  - override /logger: opt1\n\n"
                                "epochs: 2\nmodel:\n  width: 16\n",
        "model/backbone/resnet.yaml": "depth: 18\nwidth: ${..width}\n",
        "model/backbone/vit.yaml": "depth: 12\npatch: 16\n",
    }
    for group in GROUPS:
        for i in range(5):
            body = "".join(f"key{k}: {k * i}\nname{k}: {group}-{i}-{k}\n" for k in range(8))
            nested = "defaults:\n  - backbone: resnet\n  - _self_\n\n" if group == "model" and i == 2 else ""
            written[f"{group}/opt{i}.yaml"] = f"{nested}width: {i}\nlr: 0.{i + 1}\n{body}list: [1, 2, 3]\n"
    for name, text in written.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return len(written)


def timed(fn, reps: int = REPS) -> list[float]:
    """Milliseconds of CPU time of each repetition."""
    times = []
    for _ in range(reps):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return times


def show(label: str, times: list[float]) -> None:
    print(f"{label:<34} {statistics.median(times):7.2f} ms  ({min(times):.2f}-{max(times):.2f}, {len(times)} reps)")


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        count = write_tree(root)
        setting = [parse_override(t) for t in TOKENS]
        config, choices = compose_run(root, setting)
        assert config.trainer.name0 == "trainer-4-0" and config.model.backbone.width == 16, config
        print(f"a tree of {count} files, {len(GROUPS)} groups; command line: {' '.join(TOKENS)}")
        print(f"choices: {choices}")

        def cold() -> None:
            files._PARSED.clear()
            compose_run(root, setting)

        # one repetition = 20 compositions, for a timer that counts in milliseconds
        show("cold (first of a launch)", [t / 20 for t in timed(lambda: [cold() for _ in range(20)])])
        show("warm (each further setting)", [t / 20 for t in timed(lambda: [compose_run(root, setting) for _ in range(20)])])
        try:
            from hydra import compose, initialize_config_dir
        except ImportError:
            print("hydra-core is not installed: no reference figure")
            return
        with initialize_config_dir(config_dir=root, version_base="1.3"):
            compose("config", overrides=TOKENS)
            show("Hydra 1.3 compose() (reference)", timed(lambda: compose("config", overrides=TOKENS)))


if __name__ == "__main__":
    main()
