"""Benchmark tinyxp.yaml on the documents a run directory holds.

Run from the repository root: `python tests/bench/bench_yaml.py`. The reader parses the
config.yaml and info.yaml of thousands of runs, so `load` of what `dump` writes is the
figure that matters. Each figure is shown in microseconds per document and per line,
and as a ratio against baselines measured in the same run on the same data:

- `json.loads` of the JSON text of the same value (the floor: C code);
- PyYAML's `yaml.load` with CSafeLoader (libyaml) and with the pure-Python SafeLoader,
  when PyYAML is importable.

`dump` is compared against `json.dumps` and PyYAML's `safe_dump`. The same documents
with a comment line on top show the general parser, which reads what parse_simple (the
fast path for what `dump` writes) leaves to it: hand-written configs.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tinyxp import yaml as tyaml  # noqa: E402
from synth import info_for  # noqa: E402

CONFIG = {
    "seed": 3,
    "model": {"name": "resnet", "depth": 18, "width": 64, "dropout": 0.1, "norm": "batch"},
    "optimizer": {"name": "sgd", "lr": 0.001, "momentum": 0.9, "weight_decay": 5e-4, "nesterov": True},
    "scheduler": {"name": "cosine", "warmup": 5, "min_lr": 1e-6},
    "data": {
        "root": "/datasets/imagenet",
        "batch_size": 256,
        "workers": 8,
        "augment": ["crop", "flip", "color"],
        "mean": [0.485, 0.456, 0.406],
    },
    "epochs": 90,
    "tags": ["baseline", "v2"],
    "notes": "first sweep: lr x depth",
    "checkpoint": None,
}


def measure(fn, number: int) -> float:
    """Best of 20 repeats, in microseconds per call, of this process's CPU time (the
    machine is shared: wall-clock time would count the others' work)."""
    return min(timeit.repeat(fn, number=number, repeat=20, timer=time.process_time)) / number * 1e6


def main() -> None:
    try:
        pyyaml = importlib.import_module("yaml")
    except ImportError:
        pyyaml = None
    documents = {
        "config.yaml": CONFIG,
        "info.yaml": info_for("/scratch/logs", 17, "COMPLETE", CONFIG),
    }
    number = 200
    for name, value in documents.items():
        text = tyaml.dump(value)
        assert tyaml.load(text) == value
        lines = text.count("\n")
        as_json = json.dumps(value)
        ours = measure(lambda: tyaml.load(text), number)
        print(f"load {name} ({lines} lines): {ours:.1f} us, {ours / lines:.2f} us per line")
        by_hand = "# written by hand\n" + text
        general = measure(lambda: tyaml.load(by_hand), number)
        print(f"  with a comment on top (the general parser): {general:.1f} us, {general / lines:.2f} us per line")
        floor = measure(lambda: json.loads(as_json), number)
        print(f"  json.loads                : {floor:8.1f} us   tinyxp is {ours / floor:5.1f}x slower")
        if pyyaml is not None:
            if hasattr(pyyaml, "CSafeLoader"):
                c_time = measure(lambda: pyyaml.load(text, Loader=pyyaml.CSafeLoader), number // 10)
                print(f"  PyYAML CSafeLoader        : {c_time:8.1f} us   tinyxp is {c_time / ours:5.1f}x faster")
            py_time = measure(lambda: pyyaml.load(text, Loader=pyyaml.SafeLoader), number // 10)
            print(f"  PyYAML SafeLoader         : {py_time:8.1f} us   tinyxp is {py_time / ours:5.1f}x faster")
        else:
            print("  PyYAML is not installed: no comparison with it")
        ours = measure(lambda: tyaml.dump(value), number)
        floor = measure(lambda: json.dumps(value), number)
        print(f"dump {name}: {ours:.1f} us; json.dumps {floor:.1f} us ({ours / floor:.1f}x)", end="")
        if pyyaml is not None:
            dumper = getattr(pyyaml, "CSafeDumper", pyyaml.SafeDumper)
            theirs = measure(lambda: pyyaml.dump(value, Dumper=dumper, sort_keys=False), number // 10)
            print(f"; PyYAML {dumper.__name__} {theirs:.1f} us (tinyxp {theirs / ours:.1f}x faster)")
        else:
            print()


if __name__ == "__main__":
    main()
