"""Would near-domain negatives made from the answerable questions help the refusal? A trial, not
shipped: its figures say why.

    .venv/bin/python tests/bench/trial_masked_negatives.py --cache DIR

The evidence judgement's negatives by construction (``bench_retrieval.py``) are far from the
library they are asked of: aclsum's NLP summaries asked of a library of vision papers, and the
other way round. A single-paper question asked of its library *without its paper* is a negative
next to the library's topics, the kind the 35 seeds negatives are: here every answerable
single-paper question of both libraries (50 seeds questions, 750 aclsum summaries) is searched
again with its gold and borderline papers filtered out, and the judgement is refitted with those
rows as one more kind (sharing their question's fold) beside the rows ``bench_retrieval.py``
fits on. DIR is the cache ``bench_retrieval.py --cache DIR`` filled (both libraries and
``measurements.pkl``); the searches take ~2 minutes, and are kept in ``DIR/masked.pkl``.

Measured (fusion at the shipped defaults; refused out of fold at the operating point, 5-fold
cross-validation, 3 of 75 answerable seeds questions refused in every run): the seeds negatives
refused go from 22/35 to 15/35 with both libraries' masked rows, 22/35 with the seeds' only,
11/35 with aclsum's only. A masked question is often still half answered by its paper's
neighbours (an aclsum challenge sentence holds for many papers): only 9 of the 50 seeds ones and
110 of the 450 aclsum ones are refused themselves, so the rows teach the judgement that a good
match can be a negative, and it loosens on the real negatives.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from bench_retrieval import EVAL, SEED_FILES, Remembered  # noqa: E402

from assistant import Library  # noqa: E402
from assistant.evaluation import aclsum, tuning  # noqa: E402
from assistant.evaluation.gold import questions  # noqa: E402
from assistant.evaluation.tuning import EvidenceTable, Sample  # noqa: E402
from assistant.filters import Filters  # noqa: E402
from assistant.retrieval import RetrievalParameters  # noqa: E402

MASKED = "~masked"  # the id suffix of a question asked without its paper


def masked_samples(cache: Path, samples: list[Sample]) -> list[Sample]:
    """Each answerable single-paper question searched again without its gold and borderline
    papers: a negative of the same group (fold) and split."""
    found_samples = []
    for name in ("seeds", "aclsum"):
        library = Library(cache / name)
        keys = [p.key for p in library.papers()]
        retriever = library.retriever
        retriever.embedder = Remembered(retriever.embedder)
        asked = (
            [q for file in SEED_FILES for q in questions(EVAL / file)]
            if name == "seeds"
            else aclsum.questions(library.papers(), aclsum.SPLITS)
        )
        mine = {
            s.id: s for s in samples if s.library == name and s.native and s.answerable and s.type != "multi"
        }
        for question in asked:
            sample = mine.get(question.id)
            if sample is None:
                continue
            drop = set(sample.gold) | set(sample.partial)
            chosen = Filters(keys=frozenset(k for k in keys if k not in drop))
            found = retriever.gather(question.question, asked=True, filters=chosen)
            assert found.asked is not None
            sentence, window = retriever.closest(found.asked, chosen)
            lexical = found.signals.lexical
            found_samples.append(
                replace(
                    sample,
                    id=sample.id + MASKED,
                    type="negative",
                    gold=[],
                    partial=[],
                    lexical=replace(lexical, _units=[]) if lexical is not None else None,
                    dense_passage=dict(found.dense),
                    dense_window=dict(found.dense_window),
                    sentence=sentence,
                    window=window,
                    _signals={},
                )
            )
    return found_samples


def refusals(samples: list[Sample], params: RetrievalParameters) -> dict[str, tuple[int, int]]:
    """The judgement fitted on the tuning rows (masked ones as their own kind): per kind, the
    rows refused out of fold at its operating point."""
    table = EvidenceTable.of([s for s in samples if not s.held_out], params)
    kinds = [
        f"{k.split('/')[0]}/masked" if i.endswith(MASKED) else k
        for k, i in zip(table.kinds, table.ids, strict=True)
    ]
    table = replace(table, kinds=kinds)
    fit = tuning.fit_evidence(table)
    return tuning.refusal_rates(table.kinds, fit.cross_validated, fit.threshold)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, required=True, help="bench_retrieval.py's --cache")
    args = parser.parse_args()
    console = Console(width=150)
    samples: list[Sample] = pickle.loads((args.cache / "measurements.pkl").read_bytes())
    kept = args.cache / "masked.pkl"
    if kept.exists():
        masked: list[Sample] = pickle.loads(kept.read_bytes())
    else:
        masked = masked_samples(args.cache, samples)
        kept.write_bytes(pickle.dumps(masked))
    params = RetrievalParameters()
    runs = {
        "as bench_retrieval.py fits": [],
        "+ masked rows of both libraries": masked,
        "+ the seeds' masked rows": [s for s in masked if s.library == "seeds"],
        "+ aclsum's masked rows": [s for s in masked if s.library == "aclsum"],
    }
    kinds = ("seeds/negative", "seeds/answerable", "seeds/masked", "aclsum/masked")
    table = Table(title="Refused out of fold at the operating point (≤ 5% of each library's answerable)")
    table.add_column("judgement fitted on")
    for kind in kinds:
        table.add_column(kind, justify="right")
    for label, extra in runs.items():
        rates = refusals(samples + extra, params)
        table.add_row(label, *(f"{rates[k][0]}/{rates[k][1]}" if k in rates else "–" for k in kinds))
    console.print(table)


if __name__ == "__main__":
    main()
