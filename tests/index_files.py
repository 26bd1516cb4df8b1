"""The reader's index file as plain data, for tests that look into it or damage it.

`read_index_file` gives {"version", "log_dir", "fields" (when saved), "runs": {run id:
entry}}, every entry decoded; `write_index_file` writes such data back in the file's
layout (tinyxp/read/stored.py). An entry that is not a dict with a dict of values is
written as it is on its run's line, as damage would leave it.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict

from tinyxp.read.stored import FINISHED, HAS_VALUES, RUN_LISTS, Stored


def read_index_file(path: str) -> Dict[str, Any]:
    with open(path, "rb") as file:
        first = file.readline()
    head = json.loads(first)
    stored = Stored(head, os.open(path, os.O_RDONLY), len(first))
    data = {key: value for key, value in head.items() if key in ("version", "log_dir", "fields")}
    data["runs"] = {name: stored.entry(position) for position, name in enumerate(head["ids"])}
    stored.close()
    return data


def write_index_file(path: str, data: Dict[str, Any]) -> None:
    entries = data["runs"]
    shapes: Dict[tuple, int] = {}
    columns: Dict[str, list] = {}
    head: Dict[str, Any] = {key: value for key, value in data.items() if key != "runs"}
    head.update({key: [] for key in RUN_LISTS})
    lines = []
    for position, (name, entry) in enumerate(entries.items()):
        values = entry.get("values") if isinstance(entry, dict) else None
        shape = -1
        if isinstance(values, dict):
            shape = shapes.setdefault(tuple(values), len(shapes))
            for key, value in values.items():
                columns.setdefault(key, [None] * len(entries))[position] = value
            entry = {key: value for key, value in entry.items() if key != "values"}
        listed = HAS_VALUES if isinstance(entry, dict) and (shape >= 0 or "values" in entry) else 0
        finished = FINISHED if isinstance(entry, dict) and entry.get("finished") else 0
        settled = entry.get("settled") if isinstance(entry, dict) else None
        size, mtime = settled if isinstance(settled, list) and len(settled) == 2 else (settled, None)
        for key, item in zip(RUN_LISTS, (name, listed | finished, shape, size, mtime)):
            head[key].append(item)
        lines.append(entry)
    texts = [json.dumps(line) + "\n" for line in [*columns.values(), *lines]]
    head.update(shapes=[list(keys) for keys in shapes], columns=list(columns), sizes=list(map(len, texts)))
    with open(path, "w", encoding="utf-8") as file:
        file.write(json.dumps(head) + "\n" + "".join(texts))


def mark_run_changed(path: str) -> None:
    """After a test writes a run's file in place: move the run's metadata/ folder, as tinyxp's
    own writes do (files replaced there, or a Logger's touch), so that the reader checks the run."""
    for part in ("/metadata/", "/metrics/", "/artifacts/"):
        if part in path:
            metadata = os.path.join(path.rsplit(part, 1)[0], "metadata")
            if os.path.isdir(metadata):
                os.utime(metadata)
            return
