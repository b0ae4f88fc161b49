"""Evaluation on the user's own library: retrieval, answers and drafts against gold papers
(``litassist eval``). A layer above the library: it takes a ``Library`` and uses only its public
API (search, judge, ask, related_work, papers), as an evaluator takes a retriever; the library
knows nothing of it. The file formats are in the README.

>>> from assistant import Library, evaluation
>>> report = evaluation.evaluate_retrieval(Library(), "questions.jsonl")  # doctest: +SKIP
>>> report.summary()                                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.evaluation import answers, drafts, gold, retrieval
from assistant.evaluation.answers import AnswersReport
from assistant.evaluation.drafts import DraftsReport
from assistant.evaluation.gold import Question, Resolver, Topic, aliases, questions, topics
from assistant.evaluation.retrieval import RetrievalReport

if TYPE_CHECKING:
    from assistant.answer import Mode
    from assistant.library import Library

Report = RetrievalReport | AnswersReport | DraftsReport
Rows = str | Path | Sequence[Mapping[str, Any]]
Progress = Callable[[int, int], None]


def evaluate_retrieval(
    library: Library,
    questions: Rows,
    *,
    k: int = 5,
    papers: str | Path | None = None,
    progress: Progress | None = None,
) -> RetrievalReport:
    """Paper-level Recall@k, MRR@10 and nDCG@10 per question type and retriever, and the
    refusals of the evidence judgement, on questions with gold papers (a JSON Lines file, or
    its rows; formats in the README). ``papers``: a file that maps the names used as gold to
    keys, titles or abstracts (default: ``papers_index.jsonl`` beside the file)."""
    parsed = gold.questions(questions)
    return retrieval.evaluate(library, parsed, _resolver(library, questions, papers), k=k, progress=progress)


def evaluate_answers(
    library: Library,
    questions: Rows,
    *,
    k: int = 5,
    mode: Mode | None = None,
    stream: bool = False,
    papers: str | Path | None = None,
    progress: Progress | None = None,
) -> AnswersReport:
    """Ask every question (with the library's model, or extractively) and measure what the
    citation check finds: refusals, citation validity, cited sentences (by the writer and
    attributed), support, numbers in no cited passage, gold papers cited. ``stream``: ask as
    the chat does and time the first text shown."""
    parsed = gold.questions(questions)
    resolver = _resolver(library, questions, papers)
    return answers.evaluate(library, parsed, resolver, k=k, mode=mode, stream=stream, progress=progress)


def evaluate_drafts(
    library: Library,
    topics: Rows,
    *,
    mode: Mode | None = None,
    max_papers: int = 20,
    papers: str | Path | None = None,
    progress: Progress | None = None,
) -> DraftsReport:
    """Draft related work on every topic and compare the cited papers with its gold set
    (recall, precision, core recall), with the same citation checks as answers."""
    parsed = gold.topics(topics)
    resolver = _resolver(library, topics, papers)
    return drafts.evaluate(library, parsed, resolver, mode=mode, max_papers=max_papers, progress=progress)


def _resolver(library: Library, data: object, papers: str | Path | None) -> Resolver:
    if papers is None and isinstance(data, (str, Path)):
        beside = Path(data).expanduser().with_name("papers_index.jsonl")
        papers = beside if beside.is_file() else None
    names = aliases(Path(papers).expanduser()) if papers is not None else None
    return Resolver(library.papers(), names)


__all__ = [
    "AnswersReport",
    "DraftsReport",
    "Question",
    "Report",
    "Resolver",
    "RetrievalReport",
    "Topic",
    "aliases",
    "evaluate_answers",
    "evaluate_drafts",
    "evaluate_retrieval",
    "questions",
    "topics",
]
