"""``litassist eval drafts``: a related-work draft per survey topic, in the configured mode,
and the papers it cites against the topic's gold set (recall, precision, and recall of the
``core`` papers any good draft must cite), with the same citation checks as answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.errors import LitassistError
from assistant.evaluation import checks, metrics
from assistant.evaluation.checks import Grounding, grounding
from assistant.evaluation.gold import Resolver, Topic, Unresolved

if TYPE_CHECKING:
    from assistant.answer import Mode
    from assistant.library import Library

Progress = Callable[[int, int], None]


@dataclass
class DraftCase:
    topic: Topic
    gold: list[str]
    core: list[str]
    unresolved: list[Unresolved]
    cited: list[str] = field(default_factory=list)
    outline: list[tuple[str, list[str]]] = field(default_factory=list)
    text: str = ""
    checks: Grounding = field(default_factory=Grounding)
    words: int = 0
    sections: int = 0
    uncited_sections: int = 0  # paragraphs that cite nothing
    extractive_sections: int = 0  # ... written from the passages' own sentences (the model declined)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def recall(self) -> float:
        return metrics.share(len(set(self.cited) & set(self.gold)), len(self.gold))

    @property
    def precision(self) -> float:
        return metrics.share(len(set(self.cited) & set(self.gold)), len(self.cited))

    @property
    def core_recall(self) -> float:
        return metrics.share(len(set(self.cited) & set(self.core)), len(self.core))

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.topic.id,
            "topic": self.topic.topic,
            "gold": self.gold,
            "core": self.core,
            "unresolved": [str(u) for u in self.unresolved],
            "cited": self.cited,
            "missed": [g for g in self.gold if g not in self.cited],
            "not_gold": [c for c in self.cited if c not in self.gold],
            "recall": self.recall,
            "precision": self.precision,
            "core_recall": self.core_recall,
            "outline": [{"theme": name, "keys": keys} for name, keys in self.outline],
            "draft": self.text,
            **self.checks.to_dict(),
            "words": self.words,
            "sections": self.sections,
            "uncited_sections": self.uncited_sections,
            "extractive_sections": self.extractive_sections,
            "notes": self.notes,
            "seconds": self.seconds,
            "error": self.error,
        }


@dataclass
class DraftsReport:
    mode: str
    writer: str
    library: str
    cases: list[DraftCase]
    titles: dict[str, str]

    def summary(self) -> dict[str, Any]:
        done = [c for c in self.cases if c.error is None and c.gold]
        return {
            "topics": len(self.cases),
            "errors": sum(c.error is not None for c in self.cases),
            "recall": metrics.mean([c.recall for c in done]),
            "precision": metrics.mean([c.precision for c in done]),
            "core_recall": metrics.mean([c.core_recall for c in done]),
            **checks.summary([c.checks for c in done]),
            "words_per_draft": metrics.mean([float(c.words) for c in done]),
            "sections": sum(c.sections for c in done),
            "uncited_sections": sum(c.uncited_sections for c in done),
            "extractive_sections": sum(c.extractive_sections for c in done) if self.mode == "llm" else 0,
            "seconds_per_draft": metrics.mean([c.seconds for c in done]),
            "unresolved_gold": sum(len(c.unresolved) for c in self.cases),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "drafts",
            "mode": self.mode,
            "writer": self.writer,
            "library": self.library,
            "summary": metrics.json_ready(self.summary()),
            "topics": [metrics.json_ready(c.to_dict()) for c in self.cases],
            "titles": self.titles,
        }


def evaluate(
    library: Library,
    topics: Sequence[Topic],
    resolver: Resolver,
    *,
    mode: Mode | None = None,
    max_papers: int = 20,
    progress: Progress | None = None,
) -> DraftsReport:
    mode = mode or ("llm" if library.chat is not None else "extractive")
    cases = []
    for done, topic in enumerate(topics):
        gold, unresolved = resolver.resolve_all(topic.gold)
        core, more = resolver.resolve_all(topic.core)
        case = DraftCase(topic, gold, core, unresolved + more)
        start = time.perf_counter()
        try:
            draft = library.related_work(topic.topic, max_papers=max_papers, mode=mode)
            case.cited = draft.cited_keys
            case.outline = [(theme.name, list(theme.keys)) for theme in draft.outline]
            case.text, case.words = draft.text, len(draft.text.split())
            given = [p for section in draft.sections for p in section.passages]
            case.checks = grounding(draft.citations, given, draft.sentences, draft.dropped_citations)
            case.sections = len(draft.sections)
            case.uncited_sections = sum(not s.checked.citations for s in draft.sections)
            case.extractive_sections = sum(s.mode == "extractive" for s in draft.sections)
            case.notes = list(draft.notes)
        except LitassistError as e:  # an endpoint that fails, or nothing on the topic
            case.error = str(e)
        case.seconds = time.perf_counter() - start
        cases.append(case)
        if progress:
            progress(done + 1, len(topics))
    writer = checks.writer(library.chat, mode)
    keys = {key for c in cases for key in (*c.gold, *c.cited)}
    titles = {p.key: p.label for p in library.papers() if p.key in keys}
    return DraftsReport(mode, writer, repr(library), cases, titles)
