"""Evaluation on the user's own library: retrieval, answers and drafts against gold papers
(``litassist eval``, ``Library.evaluate_*``). The file formats are in the README."""

from assistant.evaluation.answers import AnswersReport, evaluate_answers
from assistant.evaluation.drafts import DraftsReport, evaluate_drafts
from assistant.evaluation.gold import Question, Resolver, Topic, aliases, questions, topics
from assistant.evaluation.retrieval import RetrievalReport, evaluate_retrieval

Report = RetrievalReport | AnswersReport | DraftsReport

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
