"""Retrieval quality and refusal, fitted and cross-validated, on two libraries and their questions.

    .venv/bin/python tests/bench/bench_retrieval.py [--cache DIR] [--write] [--details] [--fusion rrf]

Two libraries, built once into ``--cache`` (else a temporary folder): the seed papers
(``../shared/seeds``, with the questions of ``../shared/eval/dev_qa.jsonl`` and
``dev_qa_more.jsonl``) and the sample corpus (the 250 ACL papers of the ``aclsum`` package with
full text, ~20 minutes to embed on 2 cores; its human aspect summaries are the questions). Extra
negatives by construction: the aclsum summaries asked of the seeds library, the seeds questions
asked of the sample corpus. aclsum's test split is held out: measured, never fitted on.

Every question is searched once; the fusion's weights and the evidence judgement are then fitted
from those measurements (``assistant.evaluation.tuning``) by 5-fold cross-validation over
questions (folds by paper for aclsum). Printed: Recall@5 and MRR@10 per slice (question type,
keyword queries, aclsum) for the hybrid retriever fitted and cross-validated and for the dense
and lexical retrievers, the held-out test split in its own column; refusal rates at the
operating point, fitted, cross-validated and held out, and the same under the caution point
(refused or answered with the weak-evidence caveat); then ``evaluation.evaluate_retrieval`` (what
``litassist eval retrieval`` prints) on the seeds questions with the fitted settings.

``--write`` writes the fit: ``assistant/retrieval_fit.json`` (the defaults of
``RetrievalParameters`` and the judgement's model) and ``tests/data/evidence_features.jsonl``
(the judgement's training rows, from which the unit tests refit it).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant import Library, evaluation  # noqa: E402
from assistant.calibration import FittedFile  # noqa: E402
from assistant.evaluation import aclsum, report, tuning  # noqa: E402
from assistant.evaluation.gold import Question, Resolver, aliases, questions  # noqa: E402
from assistant.evaluation.tuning import EvidenceTable, Sample  # noqa: E402
from assistant.evidence import EvidenceModel  # noqa: E402
from assistant.retrieval import RetrievalParameters  # noqa: E402
from store.embedder import Embedder  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SEEDS = ROOT.parent / "shared" / "seeds"
FIT_FILE = ROOT / "assistant" / "retrieval_fit.json"
TABLE_FILE = ROOT / "tests" / "data" / "evidence_features.jsonl"
SEED_FILES = ("dev_qa.jsonl", "dev_qa_more.jsonl")
SLICES = ("lookup", "paraphrase", "numeric", "multi", "keyword", "aclsum")


def seeds_library(folder: Path, console: Console) -> Library:
    library = Library(folder)
    if len(library) == 0:
        console.print(f"built the seeds library: {len(library.add(SEEDS).added)} papers")
    return library


def sample_library(folder: Path, console: Console) -> Library:
    library = Library(folder)
    if len(library) < len(list(aclsum.corpus_folder().glob("*.json"))):
        start = time.perf_counter()
        report_ = library.add([aclsum.corpus_folder()])
        console.print(
            f"built the sample corpus library: {len(report_.added)} papers "
            f"in {time.perf_counter() - start:.0f} s"
        )
    return library


class Remembered:
    """The library's embedder, remembering what it embedded: the judgement embeds the sentences
    near each question, and across a thousand questions the same sentences come back."""

    def __init__(self, embedder: Embedder):
        self.inner = embedder
        self.name, self.dimension = embedder.name, embedder.dimension
        self.known: dict[str, np.ndarray] = {}

    def token_ids(self, text: str) -> list[int]:
        return self.inner.token_ids(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.known]
        if new:
            self.known.update(zip(new, self.inner.embed(new), strict=True))
        return np.stack([self.known[t] for t in texts]) if texts else self.inner.embed([])


def measure(libraries: dict[str, Library], console: Console) -> list[Sample]:
    """Every question of both sources searched in both libraries."""
    seed_questions = [q for name in SEED_FILES for q in questions(EVAL / name)]
    names = aliases(EVAL / "papers_index.jsonl")
    split_of = {s.id: s.split for s in aclsum.summaries()}
    samples: list[Sample] = []
    for name, library in libraries.items():
        papers = library.papers()
        start = time.perf_counter()
        plain = library.retriever.embedder
        library.retriever.embedder = Remembered(plain)
        samples += tuning.collect(
            library,
            seed_questions,
            name=name,
            source="seeds",
            split=lambda q: "dev",
            group=lambda q: f"seeds:{q.id}",
            resolver=Resolver(papers, names) if name == "seeds" else Resolver(papers),
        )
        acl_questions = aclsum.questions(papers, aclsum.SPLITS)
        samples += tuning.collect(
            library,
            acl_questions,
            name=name,
            source="aclsum",
            split=lambda q: split_of[q.id],
            group=lambda q: f"aclsum:{q.id.split(':')[0]}",
        )
        library.retriever.embedder = plain
        console.print(
            f"searched the {name} library with {len(seed_questions) + len(acl_questions)} questions "
            f"in {time.perf_counter() - start:.0f} s"
        )
    return samples


def cell(scores: Sequence[tuple[float, float]]) -> str:
    if not scores:
        return "–"
    return f"{np.mean([r for r, _ in scores]):.3f} / {np.mean([m for _, m in scores]):.3f}"


def in_slice(sample: Sample, name: str) -> bool:
    return name in sample.slices()


def ranking_table(
    samples: Sequence[Sample], fitted: RetrievalParameters, cross: dict[int, tuple[float, float]]
) -> Table:
    tuned = [s for s in samples if s.answerable and s.native and not s.held_out]
    held = [s for s in samples if s.answerable and s.native and s.held_out]
    table = Table(
        title="Recall@5 / MRR@10 per slice: seeds dev questions, aclsum train+val; aclsum test held out"
    )
    table.add_column("retriever")
    for name in SLICES:
        n = sum(in_slice(s, name) for s in tuned)
        table.add_column(f"{name} ({n})", justify="right")
    table.add_column(f"aclsum test ({len(held)}, held out)", justify="right")
    rows: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for label, retriever in (("hybrid, fitted", "hybrid"), ("dense", "dense"), ("lexical", "lexical")):
        rows[label] = {
            name: [s.scores(fitted, retriever) for s in tuned if in_slice(s, name)] for name in SLICES
        }
        rows[label]["test"] = [s.scores(fitted, retriever) for s in held]
    rows["hybrid, cross-validated"] = {
        name: [cross[id(s)] for s in tuned if in_slice(s, name)] for name in SLICES
    }
    rows["hybrid, cross-validated"]["test"] = rows["hybrid, fitted"]["test"]  # fitted on train+val only
    for label in ("hybrid, fitted", "hybrid, cross-validated", "dense", "lexical"):
        table.add_row(label, *(cell(rows[label][name]) for name in [*SLICES, "test"]))
    verdicts = []
    for name in [*SLICES, "test"]:
        hybrid = rows["hybrid, cross-validated"][name]
        if not hybrid:
            verdicts.append("–")
            continue
        ok = all(
            np.mean([x[i] for x in hybrid])
            >= max(np.mean([x[i] for x in rows[r][name]]) for r in ("dense", "lexical")) - 1e-9
            for i in (0, 1)
        )
        verdicts.append("yes" if ok else "[red]no[/red]")
    table.add_row("cross-validated hybrid ≥ better single (both figures)", *verdicts)
    return table


def refusal_table(
    fit: tuning.EvidenceFit, table: EvidenceTable, held: EvidenceTable, model: EvidenceModel, cut: float
) -> Table:
    """Per kind of question, the share under ``cut``: the operating point (refused) or the
    caution point (refused or answered with the weak-evidence caveat)."""
    fitted = tuning.refusal_rates(table.kinds, fit.fitted, cut)
    cross = tuning.refusal_rates(table.kinds, fit.cross_validated, cut)
    held_out = tuning.refusal_rates(held.kinds, model.model.probabilities(held.x), cut)
    out = Table(
        title=f"Refusal at the operating point P(answerable) ≥ {cut:.3f} (refused / asked)"
        if cut == fit.threshold
        else f"Refused or answered with the weak-evidence caveat: P(answerable) < {cut:.3f} (the "
        "caution point) / asked"
    )
    for column in ("questions", "fitted", "cross-validated", "held out (aclsum test)"):
        out.add_column(column, justify="left" if column == "questions" else "right")
    labels = {
        "seeds/answerable": "seeds answerable (false refusals)",
        "seeds/negative": "seeds negatives (no paper answers)",
        "seeds/constructed": "aclsum summaries asked of the seeds (negatives)",
        "aclsum/answerable": "aclsum summaries asked of the corpus (false refusals)",
        "aclsum/constructed": "seeds questions asked of the corpus (negatives)",
    }
    for kind, label in labels.items():
        if cut != fit.threshold:
            label = label.replace("(false refusals)", "(refused or flagged)")
        out.add_row(label, _rate(fitted.get(kind)), _rate(cross.get(kind)), _rate(held_out.get(kind)))
    return out


def _rate(value: tuple[int, int] | None) -> str:
    if value is None:
        return "–"
    refused, total = value
    return f"{refused}/{total} = {refused / total:.0%}"


def coefficient_table(model: EvidenceModel) -> Table:
    table = Table(title="The judgement's model (standardised coefficients; + leans answerable)")
    table.add_column("feature")
    table.add_column("coefficient", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("scale", justify="right")
    m = model.model
    for name, c, mean, scale in zip(m.features, m.coefficients, m.mean, m.scale, strict=True):
        table.add_row(name, f"{c:+.3f}", f"{mean:.3f}", f"{scale:.3f}")
    table.add_row("intercept", f"{m.intercept:+.3f}", "", "")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, help="keep the two libraries (and the measurements) here")
    parser.add_argument("--write", action="store_true", help="write the fit (retrieval_fit.json, the table)")
    parser.add_argument("--details", action="store_true", help="print the questions that are not perfect")
    parser.add_argument("--fusion", choices=["zscore", "rrf"], default="zscore")
    parser.add_argument(
        "--remeasure", action="store_true", help="search again even if measurements are cached"
    )
    args = parser.parse_args()
    console = Console(width=170)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.cache or Path(tmp)
        libraries = {
            "seeds": seeds_library(folder / "seeds", console),
            "aclsum": sample_library(folder / "aclsum", console),
        }
        cached = folder / "measurements.pkl"
        if cached.exists() and not args.remeasure:
            samples = pickle.loads(cached.read_bytes())
            console.print(f"measurements read from {cached} (--remeasure searches again)")
        else:
            samples = measure(libraries, console)
            if args.cache:
                cached.write_bytes(pickle.dumps(samples))
        base = replace(RetrievalParameters(), fusion=args.fusion)
        tuned = [s for s in samples if not s.held_out]
        ranked = [s for s in tuned if s.native]
        start = time.perf_counter()
        fitted = tuning.fit_fusion(ranked, base)
        scores, per_fold = tuning.cross_validated_fusion(ranked, base)
        answerable = [s for s in ranked if s.answerable]
        cross = {id(s): score for s, score in zip(answerable, scores, strict=True)}
        console.print(
            f"fusion fitted in {time.perf_counter() - start:.0f} s: "
            + ", ".join(f"{k}={getattr(fitted, k)}" for k in tuning.GRID)
            + "; per fold: "
            + "; ".join(",".join(f"{getattr(p, k):g}" for k in tuning.GRID) for p in per_fold)
        )
        console.print(ranking_table(samples, fitted, cross))
        table = EvidenceTable.of(tuned, fitted)
        held = EvidenceTable.of([s for s in samples if s.held_out], fitted)
        fit = tuning.fit_evidence(table)
        model = EvidenceModel(fit.model, fit.threshold, fit.caution)
        console.print(refusal_table(fit, table, held, model, fit.threshold))
        console.print(refusal_table(fit, table, held, model, fit.caution))
        console.print(coefficient_table(model))
        if args.write:
            write(fitted, fit, table)
            console.print(f"wrote {FIT_FILE.relative_to(ROOT)} and {TABLE_FILE.relative_to(ROOT)}")
        library = libraries["seeds"]
        library.retriever.parameters = replace(
            fitted, min_answerable_probability=fit.threshold, caution_probability=fit.caution
        )
        library.retriever.evidence_model = model
        result = evaluation.evaluate_retrieval(
            library,
            [_row(q) for name in SEED_FILES for q in questions(EVAL / name)],
            papers=EVAL / "papers_index.jsonl",
        )
        console.print(
            "[bold]litassist eval retrieval[/bold] on dev_qa + dev_qa_more (seeds), fitted settings:"
        )
        for t in report.tables(result):
            console.print(t)
        if args.details:
            details(result, console)


def _row(question: Question) -> dict[str, object]:
    return {
        "id": question.id,
        "question": question.question,
        "type": question.type,
        "gold": question.gold,
        "partial": question.partial,
        "evidence": question.evidence,
    }


def details(result: object, console: Console) -> None:
    for case in result.cases:  # type: ignore[attr-defined]
        scores = case.scores.get("hybrid", {})
        if case.scored and (scores["recall@5"] < 1 or scores["mrr@10"] < 1):
            console.print(
                f"  {case.question.id} {case.question.type}: gold {case.gold} "
                f"ranked {case.ranked['hybrid'][:5]}"
            )
        if case.refused == case.question.answerable:
            console.print(f"  refusal wrong on {case.question.id} ({case.question.type}): {case.reason}")


def write(fitted: RetrievalParameters, fit: tuning.EvidenceFit, table: EvidenceTable) -> None:
    counts: dict[str, int] = {}
    for k in table.kinds:
        counts[k] = counts.get(k, 0) + 1
    FittedFile(
        model=fit.model.to_dict(),
        parameters={
            "threshold": round(fit.threshold, 6),
            "caution": round(fit.caution, 6),
            **{k: getattr(fitted, k) for k in tuning.GRID},
        },
        fitted_on={
            "rows": counts,
            "folds": tuning.FOLDS,
            "seed": tuning.SEED,
            "l2": tuning.L2,
            "max_false_refusals": tuning.MAX_FALSE_REFUSALS,
            "max_cautioned": tuning.MAX_CAUTIONED,
            "held_out": "aclsum test split",
        },
        figures={
            "cross_validated_refusals": {
                k: list(v)
                for k, v in tuning.refusal_rates(table.kinds, fit.cross_validated, fit.threshold).items()
            },
            "cross_validated_under_caution": {
                k: list(v)
                for k, v in tuning.refusal_rates(table.kinds, fit.cross_validated, fit.caution).items()
            },
        },
    ).write(FIT_FILE)
    TABLE_FILE.parent.mkdir(parents=True, exist_ok=True)
    table.write(TABLE_FILE)


if __name__ == "__main__":
    main()
