"""Synthetic run trees in the on-disk format of docs/format.md, for tests and benchmarks.

`write_run` writes one run directory the way a launched run does (metadata/*.yaml
through tinyxp.yaml.dump, one JSON object per line in metrics/*.jsonl, artifacts under
artifacts/<format>/); `write_tree` writes many of them with varying configurations.
"""
from __future__ import annotations

import json
import os
import pickle
import random
import zlib
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

MODELS = ("mlp", "cnn")
LRS = (0.1, 0.01, 0.001)


def dump_yaml(obj: Any) -> str:
    """tinyxp.yaml.dump, imported late so that the generator follows the module in use."""
    from tinyxp import yaml

    return yaml.dump(obj)


def info_for(log_dir: str, run_id: int, status: str, config: Dict[str, Any]) -> Dict[str, Any]:
    """An info.yaml mapping with every key docs/format.md lists for a local run."""
    run_dir = os.path.join(log_dir, str(run_id))
    finished = status not in ("PENDING", "RUNNING")
    overrides = [f"{key}={value}" for key, value in flatten(config).items()]
    return {
        "run_id": run_id,
        "run_dir": run_dir,
        "log_dir": log_dir,
        "status": status,
        "start_time": None if status == "PENDING" else "2026-11-26T06:51:01.123456+00:00",
        "end_time": "2026-11-26T06:51:13.623456+00:00" if finished else None,
        "duration_s": 12.5 if finished else None,
        "hostname": "node-1",
        "user": "alice",
        "pid": 4242 + run_id,
        "python": {"executable": "/usr/bin/python3", "version": "3.11.7"},
        "argv": ["train.py", *overrides],
        "overrides": overrides,
        "command": "cd /work && /usr/bin/python3 train.py " + " ".join(overrides),
        "work_dir": "/work",
        "script": "/work/train.py",
        "tinyxp_version": "0.1.0",
        "restarts": 0,
        "heartbeat_interval": 30,
        "last_launch_time": None if status == "PENDING" else "2026-11-26T06:51:01.123456+00:00",
        "config_hash": "%016x" % zlib.crc32(repr(sorted(flatten(config).items())).encode()),
    }


def flatten(mapping: Dict[str, Any]) -> Dict[str, Any]:
    from tinyxp.read.index import flatten_into

    flat: Dict[str, Any] = {}
    flatten_into(flat, mapping, "")
    return flat


def write_run(
    log_dir: str,
    run_id: int,
    config: Dict[str, Any],
    *,
    status: str = "COMPLETE",
    metrics: Optional[Dict[str, Iterable[Dict[str, Any]]]] = None,
    artifacts: Optional[Dict[str, Any]] = None,
    info: Optional[Dict[str, Any]] = None,
) -> str:
    """Write one run directory; returns its path.

    `metrics` maps a log name to its records, `artifacts` maps "pickle/name" to an
    object pickled there, `info` updates the generated info.yaml mapping.
    """
    log_dir = os.path.abspath(log_dir)
    run_dir = os.path.join(log_dir, str(run_id))
    os.makedirs(os.path.join(run_dir, "metadata"))
    if metrics:  # like the logger, metrics/ and artifacts/ appear with their first file
        os.mkdir(os.path.join(run_dir, "metrics"))
    all_info = info_for(log_dir, run_id, status, config)
    all_info.update(info or {})
    files = {
        "config.yaml": dump_yaml(config),
        "info.yaml": dump_yaml(all_info),
        "xp.yaml": dump_yaml({"log_dir": log_dir, "logging": True, "heartbeat_interval": 30}),
    }
    for name, text in files.items():
        with open(os.path.join(run_dir, "metadata", name), "w", encoding="utf-8") as file:
            file.write(text)
    for log_name, records in (metrics or {}).items():
        with open(os.path.join(run_dir, "metrics", f"{log_name}.jsonl"), "w", encoding="utf-8") as file:
            file.writelines(json.dumps(record) + "\n" for record in records)
    for relative, obj in (artifacts or {}).items():
        path = os.path.join(run_dir, "artifacts", relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            pickle.dump(obj, file)
    with open(os.path.join(run_dir, "heartbeat"), "w"):
        pass
    return run_dir


def curve(rng: random.Random, lr: float, n_lines: int) -> List[Dict[str, Any]]:
    """`n_lines` training records {"epoch", "loss", "acc"} that decrease with noise."""
    scale = 1.0 + abs(lr - 0.01) * 10
    return [
        {"epoch": epoch, "loss": round(scale / (epoch + 1) + rng.random() * 0.01, 6), "acc": round(1 - 1 / (epoch + 2), 6)}
        for epoch in range(n_lines)
    ]


def settings(n_runs: int, n_lines: int, seed: int = 0) -> Iterator[Tuple[Dict[str, Any], Dict[str, List[Dict[str, Any]]]]]:
    """(config, {log name: records}) of each run of a tree: models x learning rates x seeds."""
    rng = random.Random(seed)
    for index in range(n_runs):
        model = MODELS[index % len(MODELS)]
        lr = LRS[(index // len(MODELS)) % len(LRS)]
        config = {
            "seed": index // (len(MODELS) * len(LRS)),
            "model": {"name": model, "num_units": 32 if model == "mlp" else 64},
            "optimizer": {"name": "sgd", "lr": lr, "momentum": 0.9},
            "data": {"name": "mnist", "batch_size": 128, "augment": False},
            "epochs": n_lines,
        }
        train = curve(rng, lr, n_lines)
        test = [{"epoch": n_lines - 1, "loss": train[-1]["loss"] + 0.05, "acc": train[-1]["acc"] - 0.02}]
        yield config, {"train": train, "test": test}


def write_tree(log_dir: str, n_runs: int, n_lines: int = 100, *, seed: int = 0, first_id: int = 1) -> None:
    """Write `n_runs` finished runs: models x learning rates x seeds, train and test metrics."""
    os.makedirs(log_dir, exist_ok=True)
    for index, (config, metrics) in enumerate(settings(n_runs, n_lines, seed)):
        write_run(log_dir, first_id + index, config, metrics=metrics)


def write_mlxp_tree(log_dir: str, n_runs: int, n_lines: int = 100, *, seed: int = 0) -> None:
    """The runs of write_tree in the layout MLXP 1.0.5's logger writes, for its Reader.

    metadata/{config,config_unresolved,info,mlxp}.yaml, metrics/<log name>.json (one JSON
    object per line) and metrics/.keys/<log name>.yaml (the keys, each mapped to ''),
    artifacts/; info.yaml has the keys MLXP's launcher writes, `logger` included, which
    its Reader uses to find a run's folder.
    """
    log_dir = os.path.abspath(log_dir)
    for index, (config, metrics) in enumerate(settings(n_runs, n_lines, seed)):
        run_id = index + 1
        run_dir = os.path.join(log_dir, str(run_id))
        folders = {name: os.path.join(run_dir, name) for name in ("metadata", "metrics", "artifacts")}
        os.makedirs(os.path.join(folders["metrics"], ".keys"))
        os.makedirs(folders["metadata"])
        os.makedirs(folders["artifacts"])
        info = {
            "hostname": "node-1", "process_id": 4242 + run_id, "executable": "/usr/bin/python3",
            "current_file_path": "/work/train.py", "start_date": "26/11/2026", "start_time": "06:51:01",
            "status": "COMPLETE", "work_dir": "/work", "end_date": "26/11/2026", "end_time": "06:51:13",
            "logger": {
                "log_id": run_id, "log_dir": run_dir, "metrics_dir": folders["metrics"],
                "metadata_dir": folders["metadata"], "artifacts_dir": folders["artifacts"],
            },
        }
        mlxp = {
            "logger": {"name": "mlxp.DefaultLogger", "parent_log_dir": log_dir, "forced_log_id": -1, "log_streams_to_file": False},
            "use_logger": True, "use_version_manager": False, "use_scheduler": False, "interactive_mode": False,
        }
        files = {
            "metadata/config.yaml": dump_yaml(config),
            "metadata/config_unresolved.yaml": dump_yaml(config),
            "metadata/info.yaml": dump_yaml(info),
            "metadata/mlxp.yaml": dump_yaml(mlxp),
        }
        for log_name, records in metrics.items():
            files[f"metrics/{log_name}.json"] = "".join(json.dumps(record) + "\n" for record in records)
            files[f"metrics/.keys/{log_name}.yaml"] = dump_yaml({key: "" for key in records[0]})
        for relative, text in files.items():
            with open(os.path.join(run_dir, relative), "w", encoding="utf-8") as file:
                file.write(text)
