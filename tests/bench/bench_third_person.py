"""First-person sentences in extractive related-work drafts, before and after the third-person
rewrite (``assistant.person``), on the development topics over the seed papers.

    .venv/bin/python tests/bench/bench_third_person.py [--library DIR] [--details]

Each topic of ``../shared/eval/dev_topics.jsonl`` is drafted extractively twice: with the
rewrite, and with it turned off (``third_person`` replaced by the identity: the drafts as they
were). Printed per topic: the draft's sentences, those in the first person ("we", "our", "us";
the user's own "Our work:" sentence would not count, none is given here), the cited papers, the
citations that do not resolve to a passage the writer was given (must stay 0), the uncited
sentences, and the weakly supported ones (the rewrite must not cost support).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from unittest import mock

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, seeds_library  # noqa: E402

from assistant.person import first_person  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument("--details", action="store_true", help="print the rewritten sentences")
    args = parser.parse_args()
    console = Console(width=160)
    topics = [
        json.loads(line)["topic"] for line in (EVAL / "dev_topics.jsonl").read_text().splitlines() if line
    ]
    table = Table(title="extractive drafts on the development topics: first person before / after")
    for column in (
        "topic",
        "sentences",
        "first person",
        "cited papers",
        "invalid citations",
        "uncited",
        "weak",
    ):
        table.add_column(column, justify="left" if column == "topic" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        totals = {"before": [0, 0], "after": [0, 0]}
        for topic in topics:
            with mock.patch("assistant.draft.third_person", lambda text, name, singular: text):
                before = library.related_work(topic, mode="extractive")
            after = library.related_work(topic, mode="extractive")
            cells = []
            for when, draft in (("before", before), ("after", after)):
                sentences = [s for s in draft.sentences if not s.text.startswith("Our work:")]
                first = [s for s in sentences if first_person(s.text)]
                given = {p.chunk_id for section in draft.sections for p in section.passages}
                invalid = [
                    c for c in draft.citations if c.passage.chunk_id not in given
                ] + draft.dropped_citations
                totals[when][0] += len(sentences)
                totals[when][1] += len(first)
                cells.append(
                    (
                        len(sentences),
                        len(first),
                        len(draft.cited_keys),
                        len(invalid),
                        sum(s.score is None for s in sentences),
                        sum(s.weak for s in sentences),
                    )
                )
            table.add_row(topic[:60], *(f"{a} / {b}" for a, b in zip(*cells, strict=True)))
            if args.details:
                old = {s.keys: s.text for s in before.sentences}
                for s in after.sentences:
                    if old.get(s.keys, s.text) != s.text:
                        console.print(f"  {old[s.keys]}\n→ {s.text}")
        table.add_row(
            "all",
            f"{totals['before'][0]} / {totals['after'][0]}",
            f"{totals['before'][1]} / {totals['after'][1]}",
            "",
            "",
            "",
            "",
        )
        console.print(table)


if __name__ == "__main__":
    main()
