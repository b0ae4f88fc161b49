"""Hybrid search latency on a library, for comparing two versions of the code on one machine.

    .venv/bin/python tests/bench/bench_latency.py --library DIR [--root CHECKOUT] [--queries N] [--out FILE]

Imports ``assistant`` from ``--root`` (default: this checkout; give an export of another commit
to time that one), opens the library (the sample corpus, as bench_retrieval.py builds it),
warms up, and times ``Library.search`` (hybrid, k=5, query embedding included) on the first N
aclsum summaries, twice; prints and appends to ``--out`` the median and 95th percentile in ms.
Run two versions in turn, A B A B, so that both see the same load on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from aclsum_queries import queries

    import assistant
    from assistant import Library

    library = Library(args.library)
    texts = queries(args.queries)
    for text in texts[:5]:
        library.search(text, k=5)
    seconds = []
    for _ in range(2):
        for text in texts:
            start = time.perf_counter()
            library.search(text, k=5)
            seconds.append(time.perf_counter() - start)
    ordered = sorted(seconds)
    result = {
        "code": str(Path(assistant.__file__).parents[1]),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
        "searches": len(seconds),
    }
    print(json.dumps(result))
    if args.out:
        with args.out.open("a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
