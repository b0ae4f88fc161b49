"""What the citation check of one generated text found, as evaluation figures: whether every
citation resolves to a passage the writer was given, how many sentences cite, how well the
cited passages back them, and the numbers that occur in no passage the text cites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.citations import SentenceSupport, unsupported
from assistant.evaluation import metrics
from assistant.grounding import Citation
from assistant.llm import Chat
from assistant.passages import Passage

LOW_PERCENTILE = 10


@dataclass(frozen=True)
class Grounding:
    citations: int = 0  # citations in the checked output
    valid: int = 0  # ... that resolve to a passage the writer was given
    removed: list[str] = field(default_factory=list)  # citations of papers it was not given
    sentences: int = 0
    cited_sentences: int = 0
    attributed_sentences: int = 0  # ... of which the code, not the writer, cited
    support: list[float] = field(default_factory=list)  # per cited sentence
    unsupported_numbers: list[str] = field(default_factory=list)
    attributed_keys: list[str] = field(default_factory=list)  # papers the attributed citations name

    def to_dict(self) -> dict[str, object]:
        return {
            "citations": self.citations,
            "valid_citations": self.valid,
            "removed_citations": self.removed,
            "sentences": self.sentences,
            "cited_sentences": self.cited_sentences,
            "attributed_sentences": self.attributed_sentences,
            "attributed_keys": self.attributed_keys,
            "support": self.support,
            "unsupported_numbers": self.unsupported_numbers,
        }


def grounding(
    citations: Sequence[Citation],
    given: Sequence[Passage],
    sentences: Sequence[SentenceSupport],
    removed: Sequence[str],
) -> Grounding:
    """Check again, independently of how the text was made, that each citation points to one
    of the ``given`` passages, word for word."""
    passages = {p.chunk_id: p for p in given}
    valid = sum(
        1
        for c in citations
        if (p := passages.get(c.passage.chunk_id)) is not None and p.key == c.key and p.text == c.passage.text
    )
    cited_text = " ".join(dict.fromkeys(c.passage.text for c in citations))
    numbers: list[str] = []
    for sentence in sentences:
        if sentence.cited:
            numbers += sentence.missing_numbers
        else:  # a sentence without a citation: against everything the text cites
            numbers += unsupported(sentence.text, cited_text)[0]
    return Grounding(
        citations=len(citations),
        valid=valid,
        removed=list(removed),
        sentences=len(sentences),
        cited_sentences=sum(s.cited for s in sentences),
        attributed_sentences=sum(s.cited and s.attributed for s in sentences),
        attributed_keys=[c.key for c in citations if c.attributed],
        support=[s.score for s in sentences if s.score is not None],
        unsupported_numbers=numbers,
    )


def summary(checks: Sequence[Grounding]) -> dict[str, Any]:
    """The checks of several texts together."""
    support = [s for g in checks for s in g.support]
    citations = sum(g.citations for g in checks)
    return {
        "citations": citations,
        "citation_validity": metrics.share(sum(g.valid for g in checks), citations),
        "removed_citations": sum(len(g.removed) for g in checks),
        "cited_sentence_share": metrics.share(
            sum(g.cited_sentences for g in checks), sum(g.sentences for g in checks)
        ),
        "written_sentence_share": metrics.share(
            sum(g.cited_sentences - g.attributed_sentences for g in checks), sum(g.sentences for g in checks)
        ),
        "attributed_sentence_share": metrics.share(
            sum(g.attributed_sentences for g in checks), sum(g.sentences for g in checks)
        ),
        "support_mean": metrics.mean(support),
        f"support_p{LOW_PERCENTILE}": metrics.percentile(support, LOW_PERCENTILE),
        "unsupported_numbers": sum(len(g.unsupported_numbers) for g in checks),
        "with_unsupported_numbers": sum(bool(g.unsupported_numbers) for g in checks),
    }


def writer(chat: Chat | None, mode: str) -> str:
    """Who wrote the texts: the model and its endpoint, or nobody (extractive)."""
    return chat.describe() if mode == "llm" and chat is not None else "no language model"
