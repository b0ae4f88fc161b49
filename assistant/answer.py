"""Cited answers: question → search → passages → model (or extractive) → checked ``Answer``.

An ``Answer`` is finished when it is made (``stream=False``) or when its text deltas have been
iterated (``stream=True``); reading any checked field of an unfinished answer finishes it first
(simonw/llm's ``Response`` works the same way).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import prompts
from assistant import citations
from assistant.citations import Numbering, SentenceSupport
from assistant.errors import ContextTooLongError
from assistant.grounding import Checked, ChunkVectors, Citation, Reference, check
from assistant.llm import ChatModel, ChatStream, Completion, Usage
from assistant.retrieval import Evidence, Filters, Hit, Passage, Retriever, strip_question
from store.embedder import Embedder
from store.paper import Paper

log = logging.getLogger(__name__)

Mode = Literal["llm", "extractive"]

# the passages a model reads: the best passage of each paper found, then its other strong ones
MAX_PASSAGES = 12
MAX_PROMPT_WORDS = 2400
HISTORY_TURNS = 3
# extractive answers cite the papers that rank within this margin of the best (the fused score is
# a sum of z-scores) and whose best sentence is this close to the best sentence overall; on the
# development questions: 0.91 recall of the gold papers at 0.89 precision (all five hits: 0.96
# at 0.53)
EXTRACT_SCORE_MARGIN = 1.5
EXTRACT_SENTENCE_RATIO = 0.7


@dataclass
class _Result:
    checked: Checked
    refused: bool = False
    usage: Usage = field(default_factory=Usage)


class Answer:
    """A cited answer. Iterate it for text deltas (citations already rendered as numbers);
    the checked fields are ready once it is finished."""

    def __init__(
        self,
        *,
        question: str,
        search_query: str,
        mode: Mode,
        passages: Sequence[Passage],
        papers: dict[str, Paper],
        numbering: Numbering,
        evidence: Evidence | None,
        finish: Callable[[Answer, str], _Result],
        deltas: Iterator[str] | None = None,
        raw_text: str | None = None,
        usage: Completion | ChatStream | None = None,
    ):
        self.question = question
        self.search_query = search_query
        self.mode: Mode = mode
        self.passages = list(passages)
        self.papers = papers
        self.numbering = numbering
        self.evidence = evidence
        self._finish_with = finish
        self._deltas = deltas
        self._raw_parts: list[str] = [] if raw_text is None else [raw_text]
        self._usage = usage
        self._renderer = citations.StreamRenderer(self.allowed_keys, numbering)
        self._result: _Result | None = None
        if deltas is None:
            self._finish()

    @property
    def allowed_keys(self) -> set[str]:
        return {p.key for p in self.passages}

    # -- streaming -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[str]:
        if self._result is not None or self._deltas is None:
            yield self.text
            return
        for delta in self._deltas:
            self._raw_parts.append(delta)
            piece = self._renderer.feed(delta)
            if piece:
                yield piece
        self._deltas = None
        tail = self._renderer.close()
        if tail:
            yield tail
        self._finish()

    def _finish(self) -> _Result:
        if self._result is None:
            if self._deltas is not None:
                for _ in self:  # consumes the stream, then finishes
                    pass
            else:
                self._result = self._finish_with(self, "".join(self._raw_parts))
                if self._usage is not None:  # a stream knows its usage once it is exhausted
                    self._result.usage = self._usage.usage
        assert self._result is not None
        return self._result

    # -- the checked answer ----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer with citations rendered as reference numbers; invented keys removed."""
        return self._finish().checked.text

    @property
    def raw_text(self) -> str:
        """What the model wrote (or the extractive sentences), citations as ``[@key]``."""
        return self._finish().checked.raw_text

    @property
    def citations(self) -> list[Citation]:
        return self._finish().checked.citations

    @property
    def references(self) -> list[Reference]:
        """The cited papers, numbered by first appearance (across a conversation)."""
        return self._finish().checked.references

    @property
    def dropped_citations(self) -> list[str]:
        """Keys (or titles) the model cited that were not among its passages; removed from ``text``."""
        return self._finish().checked.dropped_citations

    @property
    def sentences(self) -> list[SentenceSupport]:
        """Each sentence with its cited keys and support score (``weak`` when poorly backed)."""
        return self._finish().checked.sentences

    @property
    def refused(self) -> bool:
        return self._finish().refused

    @property
    def grounded(self) -> bool:
        """Whether the answer cites at least one passage. An ungrounded answer that is not a
        refusal came from the model's own memory: show it with a warning, or not at all."""
        return bool(self.citations) or self.refused

    @property
    def usage(self) -> Usage:
        return self._finish().usage

    def to_dict(self) -> dict[str, object]:
        """The finished answer as JSON-ready data."""
        return {
            "question": self.question,
            "search_query": self.search_query,
            "mode": self.mode,
            "refused": self.refused,
            **self._finish().checked.to_dict(),
            "grounded": self.grounded,
            "evidence": None
            if self.evidence is None
            else {
                "answerable": self.evidence.answerable,
                "score": self.evidence.score,
                "reason": self.evidence.reason,
            },
            "usage": self.usage.to_dict(),
        }

    def markdown(self) -> str:
        """The answer followed by its numbered references."""
        lines = [self.text]
        if self.references:
            lines += ["", *(f"{r}" for r in self.references)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        state = "finished" if self._result is not None else "streaming"
        return f"<Answer {self.mode} {state}: {self.question!r}>"


class Answerer:
    """Asks: the retriever finds passages, the chat model (if any) writes, the code checks."""

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        chat: ChatModel | None,
        chunk_vectors: ChunkVectors,
    ):
        self.retriever = retriever
        self.embedder = embedder
        self.chat = chat
        self._chunk_vectors = chunk_vectors

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        history: Sequence[Answer] | None = None,
        stream: bool = False,
        mode: Mode | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> Answer:
        mode = mode or ("llm" if self.chat is not None else "extractive")
        if mode == "llm" and self.chat is None:
            raise ValueError(
                "no chat endpoint is configured; set LITASSIST_LLM__BASE_URL or ask extractively"
            )
        history = list(history or [])
        numbering = Numbering(dict(history[-1].numbering.numbers)) if history else Numbering()
        query = self._standalone(question, history, mode)
        retrieval = self.retriever.retrieve(query, k=k, filters=filters)
        hits, evidence = retrieval.hits, retrieval.evidence
        papers = {h.paper.key: h.paper for h in hits}
        answer = partial(
            Answer,
            question=question,
            search_query=query,
            mode=mode,
            papers=papers,
            numbering=numbering,
            evidence=evidence,
            finish=self._check,
        )
        if not evidence.answerable:
            return answer(passages=[], raw_text=prompts.REFUSAL)
        passages = select_passages(hits)
        if mode == "extractive":
            return answer(passages=passages, raw_text=self._extract(query, hits))
        assert self.chat is not None
        chat = self.chat
        for attempt in (0, 1):
            messages = prompts.load("answer").messages(
                question=query, passages=[_shown(p, papers) for p in passages]
            )
            try:
                if stream:
                    chat_stream = chat.stream(messages)
                    return answer(passages=passages, deltas=iter(chat_stream), usage=chat_stream)
                completion = chat.complete(messages)
                return answer(passages=passages, raw_text=completion.text, usage=completion)
            except ContextTooLongError:
                if attempt == 1 or len(passages) <= 1:
                    raise
                log.info("prompt too long for %s; retrying with half the passages", chat.describe())
                passages = _trim(passages)
        raise AssertionError("unreachable")

    # -- conversation ----------------------------------------------------------------------------

    def _standalone(self, question: str, history: list[Answer], mode: Mode) -> str:
        """A follow-up rewritten into a question that can be searched on its own: by the model
        when there is one, else the previous question's words carried along."""
        if not history:
            return question
        if mode == "llm" and self.chat is not None:
            turns = [
                {
                    "question": a.question,
                    "answer": citations.strip_citations(a.raw_text, a.allowed_keys)[:600],
                }
                for a in history[-HISTORY_TURNS:]
            ]
            messages = prompts.load("rewrite").messages(history=turns, question=question)
            rewritten = self.chat.complete(messages, max_tokens=80).text.strip().strip('"')
            rewritten = rewritten.splitlines()[0].strip() if rewritten else ""
            if 3 <= len(rewritten.split()) <= 60:
                return rewritten
        # the previous search's words carried along (its last 40: a long conversation must not
        # drown the follow-up)
        carried = " ".join(history[-1].search_query.split()[-40:])
        return f"{carried} {question}"

    # -- extractive mode -------------------------------------------------------------------------

    def _extract(self, query: str, hits: Sequence[Hit]) -> str:
        """The best evidence sentences, each cited: per paper its sentence closest to the
        question, for the papers that rank close to the best and whose best sentence comes
        close to the best overall."""
        candidates: list[tuple[int, str, str]] = []
        leaders = [h for h in hits if h.score >= hits[0].score - EXTRACT_SCORE_MARGIN] if hits else []
        for rank, hit in enumerate(leaders):
            for passage in hit.passages[:2]:
                for a, b in citations.sentences(passage.text):
                    sentence = passage.text[a:b].strip()
                    if 6 <= len(sentence.split()) <= 80:
                        candidates.append((rank, hit.paper.key, sentence))
        if not candidates:
            return prompts.REFUSAL
        vectors = self.embedder.embed([strip_question(query), *(s for _, _, s in candidates)])
        scores = vectors[1:] @ vectors[0]
        best_per_paper: dict[str, tuple[float, int, str]] = {}
        for (rank, key, sentence), score in zip(candidates, scores, strict=True):
            if key not in best_per_paper or score > best_per_paper[key][0]:
                best_per_paper[key] = (float(score), rank, sentence)
        top = max(s for s, _, _ in best_per_paper.values())
        chosen = sorted(
            (rank, key, sentence)
            for key, (s, rank, sentence) in best_per_paper.items()
            if s >= EXTRACT_SENTENCE_RATIO * top
        )[:5]
        return " ".join(f"{_as_claim(sentence)} [@{key}]." for _, key, sentence in chosen)

    # -- the check -------------------------------------------------------------------------------

    def _check(self, answer: Answer, raw: str) -> _Result:
        if _says_refusal(raw) and not citations.cited_keys(raw, answer.allowed_keys):
            dropped = citations.dropped_keys(raw, answer.allowed_keys)
            return _Result(Checked(raw, prompts.REFUSAL, dropped_citations=dropped), refused=True)
        return _Result(
            check(raw, answer.passages, answer.papers, answer.numbering, self.embedder, self._chunk_vectors)
        )


def select_passages(
    hits: Sequence[Hit], *, limit: int = MAX_PASSAGES, words: int = MAX_PROMPT_WORDS
) -> list[Passage]:
    """The best passage of every hit first (in rank order), then the hits' other strong
    passages, within a word budget."""
    chosen: list[Passage] = []
    budget = words
    rounds = max((len(h.passages) for h in hits), default=0)
    for depth in range(rounds):
        for hit in hits:
            if depth < len(hit.passages) and len(chosen) < limit:
                passage = hit.passages[depth]
                size = len(passage.text.split())
                if size <= budget or not chosen:
                    chosen.append(passage)
                    budget -= size
    return chosen


def _trim(passages: list[Passage]) -> list[Passage]:
    """Half the passages, keeping every paper's best one as long as possible."""
    firsts: list[Passage] = []
    for passage in passages:
        if all(p.key != passage.key for p in firsts):
            firsts.append(passage)
    rest = [p for p in passages if p not in firsts]
    return (firsts + rest)[: max(1, len(passages) // 2)]


def _shown(passage: Passage, papers: dict[str, Paper]) -> dict[str, object]:
    paper = papers.get(passage.key)
    return {
        "key": passage.key,
        "title": paper.title if paper and paper.title else passage.key,
        "year": paper.year if paper else None,
        "text": passage.text,
    }


def _as_claim(sentence: str) -> str:
    return sentence.rstrip().rstrip(".").strip()


def _says_refusal(raw: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[^a-z]+", " ", s.lower()).strip()

    return norm(prompts.REFUSAL) in norm(raw) or not raw.strip()
