"""The aclsum summaries of the train split as search queries, read from the package without
importing either version of the code being timed (bench_latency.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


def queries(n: int) -> list[str]:
    spec = importlib.util.find_spec("aclsum")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "train.jsonl"
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for text in json.loads(line)["summary"].values():
            found.append(text)
    return found[:n]
