"""``litassist eval answers``: every question asked as a user would ask it, in the configured
mode (a language model, or extractive), and what the citation check found: refusals on the
unanswerable questions and false refusals on the rest, citation validity, the share of sentences
that cite, support scores, numbers found in no cited passage, and the gold papers cited."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.errors import LitassistError
from assistant.evaluation import checks, metrics
from assistant.evaluation.checks import Grounding, grounding
from assistant.evaluation.gold import Question, QuestionCase, Resolver

if TYPE_CHECKING:
    from assistant.answer import Mode
    from assistant.library import Library

Progress = Callable[[int, int], None]


@dataclass
class AnswerCase(QuestionCase):
    text: str = ""
    refused: bool = False
    cited: tuple[str, ...] = ()
    retrieved: tuple[str, ...] = ()  # the papers whose passages the writer was given
    checks: Grounding = field(default_factory=Grounding)
    seconds: float = 0.0
    first_text: float | None = None  # seconds to the first text shown (streamed)
    mode: str = ""  # who wrote the answer ("extractive" too when the model declined twice)
    notes: list[str] = field(default_factory=list)
    evidence: float | None = None  # the evidence judgement's score (1.0 at its threshold)
    error: str | None = None

    @property
    def model_declined(self) -> bool:
        """The model's first reply declined (it was asked again, or answered for extractively)."""
        return any("declined" in note for note in self.notes)

    @property
    def attributed_on_gold(self) -> int:
        """Attributed citations that name a gold (or borderline) paper."""
        right = set(self.gold) | set(self.partial)
        return sum(k in right for k in self.checks.attributed_keys)

    @property
    def attributed_right(self) -> float:
        """The share of the attributed citations that name a gold (or borderline) paper."""
        if not self.gold:
            return float("nan")
        return metrics.share(self.attributed_on_gold, len(self.checks.attributed_keys))

    @property
    def gold_cited(self) -> float:
        return (
            metrics.share(len(set(self.cited) & set(self.gold)), len(self.gold))
            if self.gold
            else float("nan")
        )

    @property
    def cited_relevant(self) -> float:
        relevant = set(self.gold) | set(self.partial)
        return metrics.share(len(set(self.cited) & relevant), len(self.cited)) if self.gold else float("nan")

    def to_dict(self) -> dict[str, object]:
        return {
            **self.fields(),
            "reference_answer": self.question.answer,
            "answer": self.text,
            "refused": self.refused,
            "retrieved": list(self.retrieved),
            "cited": list(self.cited),
            "missed": [g for g in self.gold if g not in self.cited],
            "gold_cited": self.gold_cited,
            "cited_relevant": self.cited_relevant,
            **self.checks.to_dict(),
            "attributed_right": self.attributed_right,
            "mode": self.mode,
            "notes": self.notes,
            "evidence": self.evidence,
            "model_declined": self.model_declined,
            "seconds": self.seconds,
            "first_text": self.first_text,
            "error": self.error,
        }


@dataclass
class AnswersReport:
    mode: str
    writer: str  # the model and endpoint, or "extractive"
    library: str
    cases: list[AnswerCase]
    titles: dict[str, str]

    def summary(self) -> dict[str, Any]:
        done = [c for c in self.cases if c.error is None]
        negatives = [c for c in done if not c.question.answerable]
        answerable = [c for c in done if c.question.answerable]
        answered = [c for c in done if not c.refused]
        scored = [c for c in answered if c.gold]
        return {
            "questions": len(self.cases),
            "errors": len(self.cases) - len(done),
            "refusal_rate": metrics.share(sum(c.refused for c in negatives), len(negatives)),
            "negatives": len(negatives),
            "false_refusal_rate": metrics.share(sum(c.refused for c in answerable), len(answerable)),
            "answerable": len(answerable),
            **checks.summary([c.checks for c in answered]),
            "answered": len(answered),
            "gold_cited": metrics.mean([c.gold_cited for c in scored]),
            "cited_relevant": metrics.mean([c.cited_relevant for c in scored if c.cited]),
            "attributed_right": metrics.share(
                sum(c.attributed_on_gold for c in scored), sum(len(c.checks.attributed_keys) for c in scored)
            ),
            "retried": sum(any("asked again" in n for n in c.notes) for c in done),
            "fell_back": sum(c.mode == "extractive" for c in done) if self.mode == "llm" else 0,
            "seconds_per_answer": metrics.mean([c.seconds for c in done]),
            "seconds_p50": metrics.percentile([c.seconds for c in done], 50),
            "first_text_p50": metrics.percentile(
                [c.first_text for c in done if c.first_text is not None], 50
            ),
            "unresolved_gold": sum(len(c.unresolved) for c in self.cases),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "answers",
            "mode": self.mode,
            "writer": self.writer,
            "library": self.library,
            "summary": metrics.json_ready(self.summary()),
            "questions": [metrics.json_ready(c.to_dict()) for c in self.cases],
            "titles": self.titles,
        }


def evaluate(
    library: Library,
    questions: Sequence[Question],
    resolver: Resolver,
    *,
    k: int = 5,
    mode: Mode | None = None,
    stream: bool = False,
    progress: Progress | None = None,
) -> AnswersReport:
    """``stream``: ask as the chat does, and time the first text shown."""
    mode = mode or ("llm" if library.chat is not None else "extractive")
    cases = []
    for done, question in enumerate(questions):
        case = AnswerCase.of(question, resolver)
        start = time.perf_counter()
        try:
            answer = library.ask(question.question, k=k, mode=mode, stream=stream)
            for _ in answer if stream else ():
                if case.first_text is None:
                    case.first_text = time.perf_counter() - start
            case.text, case.refused = answer.text, answer.refused
            case.mode, case.notes = answer.mode, answer.notes
            case.evidence = answer.evidence.score if answer.evidence is not None else None
            case.cited = tuple(r.paper.key for r in answer.references)
            case.retrieved = tuple(dict.fromkeys(p.key for p in answer.passages))
            case.checks = grounding(
                answer.citations, answer.passages, answer.sentences, answer.dropped_citations
            )
        except LitassistError as e:  # an endpoint that fails: this question fails, the rest go on
            case.error = str(e)
        case.seconds = time.perf_counter() - start
        cases.append(case)
        if progress:
            progress(done + 1, len(questions))
    writer = checks.writer(library.chat, mode)
    keys = {key for c in cases for key in (*c.gold, *c.partial, *c.retrieved)}
    titles = {p.key: p.label for p in library.papers() if p.key in keys}
    return AnswersReport(mode, writer, repr(library), cases, titles)
