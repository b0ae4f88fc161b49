"""``litassist eval retrieval``: paper-level Recall@k, MRR@10 and nDCG@10 per question type and
per retriever, and the evidence judgement's refusals (before any model is called)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.evaluation import metrics
from assistant.evaluation.gold import Question, QuestionCase, Resolver
from assistant.fusion import RETRIEVERS

if TYPE_CHECKING:
    from assistant.library import Library

DEPTH = 10  # for MRR and nDCG
KEYWORD = "keyword"  # the slice of keyword queries (``Question.keyword``), beside the types
Progress = Callable[[int, int], None]


@dataclass
class RetrievalCase(QuestionCase):
    ranked: dict[str, list[str]] = field(default_factory=dict)  # retriever -> keys, best first
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # retriever -> metric -> value
    refused: bool = False
    weak: bool = False  # answered with the weak-evidence caveat
    reason: str = ""
    probability: float | None = None  # the evidence judgement's, that the library answers it
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        """Answerable with at least one gold paper found in the library."""
        return bool(self.gold)

    def missed(self, k: int, retriever: str = "hybrid") -> list[str]:
        return [g for g in self.gold if g not in self.ranked.get(retriever, [])[:k]]

    def to_dict(self, k: int) -> dict[str, object]:
        return {
            **self.fields(),
            "ranked": self.ranked,
            "scores": self.scores,
            "missed": self.missed(k) if self.scored else [],
            "refused": self.refused,
            "weak_evidence": self.weak,
            "refusal_reason": self.reason,
            "answerable_probability": self.probability,
        }


@dataclass
class RetrievalReport:
    k: int
    library: str
    cases: list[RetrievalCase]
    titles: dict[str, str]

    operating_point: float | None = None  # the evidence judgement's, when it has one
    caution_point: float | None = None  # ... and its caution point (the weak-evidence caveat)

    @property
    def types(self) -> list[str]:
        """The question types with scored questions, then ``keyword`` (short phrases of any
        type) when there are such questions: the slices the tables show."""
        scored = [c for c in self.cases if c.scored]
        types = list(dict.fromkeys(c.question.type for c in scored if c.question.type != KEYWORD))
        if any(self.in_slice(c, KEYWORD) for c in scored):
            types.append(KEYWORD)
        return types

    def in_slice(self, case: RetrievalCase, name: str) -> bool:
        """Whether a case counts in a slice: its type, or keyword queries (by type or form)."""
        if name == KEYWORD:
            return case.question.keyword or case.question.type == KEYWORD
        return case.question.type == name

    def summary(self) -> dict[str, Any]:
        """Mean scores per retriever and slice (question type, keyword queries, all), and the
        refusal rates (also of keyword queries) at the evidence judgement's operating point."""
        by_retriever: dict[str, dict[str, dict[str, float]]] = {}
        for retriever in RETRIEVERS:
            groups = {t: [c for c in self.cases if c.scored and self.in_slice(c, t)] for t in self.types}
            groups["all"] = [c for c in self.cases if c.scored]
            by_retriever[retriever] = {
                group: {
                    "n": len(cases),
                    **{
                        name: metrics.mean([c.scores[retriever][name] for c in cases])
                        for name in (f"recall@{self.k}", f"mrr@{DEPTH}", f"ndcg@{DEPTH}")
                    },
                    "ms_per_query": 1000 * metrics.mean([c.seconds[retriever] for c in cases]),
                }
                for group, cases in groups.items()
            }
        negatives = [c for c in self.cases if not c.question.answerable]
        answerable = [c for c in self.cases if c.question.answerable]
        return {
            "retrievers": by_retriever,
            "refusal": {
                "operating_point": self.operating_point,
                "negatives": len(negatives),
                "negatives_refused": sum(c.refused for c in negatives),
                "refusal_rate": metrics.share(sum(c.refused for c in negatives), len(negatives)),
                "answerable": len(answerable),
                "false_refusals": sum(c.refused for c in answerable),
                "false_refusal_rate": metrics.share(sum(c.refused for c in answerable), len(answerable)),
                "keyword_negatives": sum(c.question.keyword for c in negatives),
                "keyword_negatives_refused": sum(c.refused for c in negatives if c.question.keyword),
                "caution_point": self.caution_point,
                "negatives_weak": sum(c.weak for c in negatives),
                "answerable_weak": sum(c.weak for c in answerable),
            },
            "unresolved_gold": sum(len(c.unresolved) for c in self.cases),
            "unscored_questions": [
                c.question.id for c in self.cases if c.question.answerable and not c.scored
            ],
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "retrieval",
            "library": self.library,
            "k": self.k,
            "summary": metrics.json_ready(self.summary()),
            "questions": [metrics.json_ready(c.to_dict(self.k)) for c in self.cases],
            "titles": self.titles,
        }


def evaluate(
    library: Library,
    questions: Sequence[Question],
    resolver: Resolver,
    *,
    k: int = 5,
    progress: Progress | None = None,
) -> RetrievalReport:
    cases = []
    operating_point: float | None = None
    caution_point: float | None = None
    for done, question in enumerate(questions):
        case = RetrievalCase.of(question, resolver)
        gold, partial = case.gold, case.partial
        if case.scored:
            for retriever in RETRIEVERS:
                start = time.perf_counter()
                hits = library.search(question.question, k=max(k, DEPTH), retriever=retriever)
                case.seconds[retriever] = time.perf_counter() - start
                case.ranked[retriever] = [h.key for h in hits]
                ranked = metrics.condensed(case.ranked[retriever], set(partial) - set(gold))
                case.scores[retriever] = {
                    f"recall@{k}": metrics.recall_at(ranked, gold, k),
                    f"mrr@{DEPTH}": metrics.reciprocal_rank(ranked, gold, DEPTH),
                    f"ndcg@{DEPTH}": metrics.ndcg(ranked, gold, DEPTH),
                }
        evidence = library.judge(question.question, k=k)
        operating_point = evidence.threshold if evidence.threshold is not None else operating_point
        caution_point = evidence.caution if evidence.caution is not None else caution_point
        case.refused, case.weak, case.reason = not evidence.answerable, evidence.weak, evidence.reason
        case.probability = evidence.probability
        cases.append(case)
        if progress:
            progress(done + 1, len(questions))
    keys = {key for c in cases for key in (*c.gold, *c.partial, *(k for r in c.ranked.values() for k in r))}
    titles = {p.key: p.label for p in library.papers() if p.key in keys}
    return RetrievalReport(k, repr(library), cases, titles, operating_point, caution_point)
