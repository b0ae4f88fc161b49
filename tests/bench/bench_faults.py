"""Writers racing on one Chroma server: the shared-server race, many times, and what it loses.

    .venv/bin/python tests/bench/bench_faults.py [--runs 20] [--writers 2,3] [--rounds-per-prefix 5]

Starts a `chroma run` on a free loopback port, then runs the race of
tests/integration/test_shared_server.py: 2 or 3 `litassist add` processes (real embedder, their
own library folders, one prefix) adding overlapping and clashing files at once. Runs alternate
between the writer counts; every ``--rounds-per-prefix`` runs start a new prefix (within one,
later runs meet the keys of earlier ones). After each run the server is audited
(tests/shared_race.py). Papers lost, keys given twice, papers stored twice, stray passages and
false or failed report rows must all be 0; "merged across writers" counts the report rows of
papers one writer found another adding at the same time (its file became another source of the
other's paper). Timings: the run's wall time and each writer's (fastest-slowest), against one
writer adding the same files alone on an idle server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ChromaServer  # noqa: E402
from tests.shared_race import Writer, audit, cli_env, documents, race, server_client, write_inputs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--writers", default="2,3", help="writer counts, used in turn")
    parser.add_argument("--rounds-per-prefix", type=int, default=5)
    args = parser.parse_args()
    counts = [int(n) for n in args.writers.split(",")]
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = ChromaServer(work / "server").start()
        try:
            run_all(console, work, server.port, args.runs, counts, args.rounds_per_prefix)
        finally:
            server.stop()


def run_all(console: Console, work: Path, port: int, runs: int, counts: list[int], per_prefix: int) -> None:
    client = server_client("127.0.0.1", port)
    solo = Writer(work / "solo-lib", write_inputs(work / "solo-in", 0, 0))
    race([solo], cli_env("127.0.0.1", port, "solo_"))
    assert not solo.error, solo.error

    table = Table(title=f"Shared-server race: {runs} runs, one `chroma run`, real embedder")
    for column in (
        "run", "writers", "papers", "added", "lost", "keys twice", "stored twice", "stray passages",
        "false/failed rows", "merged across writers", "wall s", "writers s",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    totals = dict.fromkeys(("lost", "keys", "twice", "stray", "reports"), 0)
    walls: list[float] = []
    expected: list = []
    rounds: list[list[Writer]] = []
    prefix = ""
    for run in range(runs):
        if run % per_prefix == 0:
            prefix, expected, rounds = f"bench{uuid.uuid4().hex[:8]}_", [], []
        round_ = run % per_prefix
        n = counts[(run // per_prefix) % len(counts)]
        writers = [
            Writer(
                work / prefix / f"lib{w}", write_inputs(work / prefix / f"in{w}" / f"r{round_}", w, round_)
            )
            for w in range(n)
        ]
        started = time.perf_counter()
        race(writers, cli_env("127.0.0.1", port, prefix))
        wall = time.perf_counter() - started
        walls.append(wall)
        rounds.append(writers)
        for w in writers:
            expected.extend(documents(w.files))
        found = audit(client, prefix, expected, rounds)
        row = {
            "lost": len(found.lost),
            "keys": len(found.keys_twice),
            "twice": len(found.stored_twice),
            "stray": len(found.stray) + len(found.unfinished),
            "reports": len(found.false_reports) + len(found.failed),
        }
        for name, value in row.items():
            totals[name] += value
        added = sum(len(w.report.get("added", [])) for w in writers)
        merged = sum(
            1
            for w in writers
            for row in w.report.get("skipped", [])
            if any(
                row.get("key") == a["key"]
                for other in writers
                if other is not w
                for a in other.report["added"]
            )
        )
        seconds = sorted(w.seconds for w in writers)
        table.add_row(
            str(run + 1), str(n), str(found.papers), str(added),
            *(_cell(row[name]) for name in ("lost", "keys", "twice", "stray", "reports")),
            str(merged), f"{wall:.1f}", f"{seconds[0]:.1f}-{seconds[-1]:.1f}",
        )  # fmt: skip
        if not found.clean:
            console.print(f"[red]run {run + 1}:[/red] {found.problems()}")
    table.add_section()
    table.add_row(
        "all", "", "", "", *(_cell(totals[name]) for name in ("lost", "keys", "twice", "stray", "reports")),
        "", f"{statistics.median(walls):.1f} (median)", "",
    )  # fmt: skip
    console.print(table)
    console.print(
        f"One writer alone on an idle server, the same files as a writer's first run: {solo.seconds:.1f} s "
        "(mostly starting the process and loading the embedder)."
    )


def _cell(value: int) -> str:
    return "0" if value == 0 else f"[red]{value}[/red]"


if __name__ == "__main__":
    main()
