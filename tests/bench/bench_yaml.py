"""Benchmark tinyxp.yaml on the documents a run directory holds.

Run from the repository root: `python tests/bench/bench_yaml.py`. The reader parses the
config.yaml and info.yaml of thousands of runs, so `load` of what `dump` writes is the
figure that matters. Each figure is shown in microseconds per document and per line,
and as a ratio against baselines measured in the same run on the same data:

- `json.loads` of the JSON text of the same value (the floor: C code);
- PyYAML's `yaml.load` with CSafeLoader (libyaml) and with the pure-Python SafeLoader,
  when PyYAML is importable.

`dump` is compared against `json.dumps` and PyYAML's `safe_dump`. The same documents
with a comment line on top show the general parser, which reads what load_fast (the
fast path for what `dump` writes, tinyxp/yaml/_fast.py) leaves to it: hand-written configs.

The last case, "tinyxp-written metadata", is the reader's: the config.yaml and info.yaml
of 1,000 different runs (a sweep, with git, scheduler and launch history), each loaded
once per repetition, median and min-max of 7 repetitions, in microseconds per document.
load_fast keeps the lines it has read: "first read" empties that memory before each
repetition (what a fresh process reading the runs pays), "lines known" does not (the
second pass of a process that has read them); the general parser and json.loads of the
same values are measured on the same documents, in the same repetition. Then the memory
that the loaded documents take, kept all at once: documents read by load share the keys
and values of the lines they have in common.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import statistics
import sys
import time
import timeit
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tinyxp import yaml as tyaml  # noqa: E402
from tinyxp.yaml import _fast  # noqa: E402
from synth import info_for, settings  # noqa: E402

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
        print(f"load {name} ({lines} lines, known after the first call): {ours:.1f} us, {ours / lines:.2f} us per line")
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


def metadata(n_runs: int) -> list:
    """The config and info values of n_runs runs of a sweep, as launched runs write them."""
    values = []
    for index, (config, _) in enumerate(settings(n_runs, 10)):
        run_id = index + 1
        info = info_for("/scratch/logs", run_id, "COMPLETE", config)
        info["start_time"] = f"2026-11-26T06:{index // 60 % 60:02d}:{index % 60:02d}.{index:06d}+00:00"
        info["duration_s"] = round(12.5 + index * 0.37, 3)
        info["git"] = {"commit": "9f2c1e0a7b" * 4, "branch": "main", "dirty": False, "changed": [], "n_changed": 0}
        info["scheduler"] = {"name": "slurm", "job_id": str(81000 + run_id), "array_job_id": None, "array_task_id": None}
        info["choices"] = {"model": config["model"]["name"], "optimizer": "sgd"}
        if index % 10 == 0:  # a run resumed once
            info["launches"] = [
                {"time": info["start_time"], "host": "node-1", "pid": 4242, "job_id": "8812", "status": "FAILED",
                 "error": {"type": "RuntimeError", "message": "CUDA out of memory"}},
                {"time": "2026-11-27T01:00:00+00:00", "host": "node-3", "pid": 777, "job_id": "8813",
                 "changed": {}, "status": "COMPLETE", "duration_s": 80.2},
            ]
        values += [config, info]
    return values


def spread(samples: list) -> str:
    return f"{statistics.median(samples):6.1f} us ({min(samples):.1f}-{max(samples):.1f})"


def metadata_case(n_runs: int = 1000, repeats: int = 7) -> None:
    values = metadata(n_runs)
    texts = [tyaml.dump(value) for value in values]
    as_json = [json.dumps(value) for value in values]
    assert all(tyaml.load(text) == value for text, value in zip(texts, values))

    def per_document(fn, documents) -> float:
        start = time.process_time()
        for document in documents:
            fn(document)
        return (time.process_time() - start) / len(documents) * 1e6

    first, known, general, floor = [], [], [], []
    for _ in range(repeats):
        _fast.LINES.clear()
        first.append(per_document(tyaml.load, texts))
        known.append(per_document(tyaml.load, texts))
        general.append(per_document(tyaml.parse_document, texts))
        floor.append(per_document(json.loads, as_json))
    lines = sum(text.count("\n") for text in texts) / len(texts)
    print(f"tinyxp-written metadata: {n_runs} runs' config.yaml and info.yaml, {lines:.0f} lines on average;")
    print(f"median (min-max) of {repeats} repetitions per document, CPU time")
    print(f"  load, first read        : {spread(first)}   {statistics.median(first) / statistics.median(floor):4.1f}x json.loads")
    print(f"  load, lines known       : {spread(known)}   {statistics.median(known) / statistics.median(floor):4.1f}x json.loads")
    print(f"  general parser          : {spread(general)}   {statistics.median(general) / statistics.median(floor):4.1f}x json.loads")
    print(f"  json.loads (the floor)  : {spread(floor)}")
    print("memory of the documents kept (tracemalloc, lines unknown at the start), bytes per document:")
    for name, fn, documents in (("load", tyaml.load, texts), ("json.loads", json.loads, as_json)):
        _fast.LINES.clear()
        gc.collect()
        tracemalloc.start()
        kept = [fn(document) for document in documents]
        size = tracemalloc.get_traced_memory()[0] / len(kept)
        tracemalloc.stop()
        print(f"  {name:23s} : {size:6.0f}" + ("   (with what load_fast keeps of the lines)" if fn is tyaml.load else ""))


if __name__ == "__main__":
    main()
    metadata_case()
