"""Cited answers: question → search → passages → model (or extractive) → checked ``Answer``.

An ``Answer`` is finished when it is made (``stream=False``) or when its text deltas have been
iterated (``stream=True``); reading any checked field of an unfinished answer finishes it first
(simonw/llm's ``Response`` works the same way).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

import prompts
from assistant import citations, extractive
from assistant.citations import Numbering, SentenceSupport
from assistant.condense import condense
from assistant.errors import InvalidRequestError
from assistant.evidence import Evidence
from assistant.filters import Filters
from assistant.followup import refers_back, standalone
from assistant.generation import Job, Mode, Writer, Writing, WritingParameters, Written, choose_mode
from assistant.grounding import Checked, ChunkVectors, Citation, Reference
from assistant.llm import Chat, Usage
from assistant.passages import Hit, Passage
from assistant.retrieval import Retriever, strip_question
from assistant.sections import ABSTRACT
from store.chunking import ordinal_of
from store.embedder import Embedder
from store.paper import Paper

log = logging.getLogger(__name__)

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
# an answer from one or two papers quotes more than one sentence of each: up to this many in all,
# the next ones by score (above the same ratio, not a near copy of one taken), in reading order
EXTRACT_MIN_SENTENCES = 3
OPENING_PASSAGES = 2  # a definition question also reads the abstract and this many passages after it
NEAREST = 3  # a refusal names this many of the papers that came nearest


@dataclass(frozen=True)
class AnswerParameters:
    """When a model's refusal stands. The evidence judgement's score is 1.0 at its threshold
    (below it the question is refused without asking a model); a model that declines although
    the score is at least ``insist_above`` is asked once more, then answered for extractively;
    below it, the model's refusal stands (weak evidence and a model that finds no answer in the
    passages: the two agree). Fitted by cross-validation on Qwen2.5-Coder-1.5B's answers to the
    development questions (tests/bench/calibrate_insist.py): held out, 26 of 35 negatives refused
    (20 at 1.0) with 4 of 75 false refusals (3 at 1.0); SmolLM2 declines too rarely to move."""

    insist_above: float = 1.75
    # the words of passages a model reads: their sentences closest to the question (and the one
    # before each); 0 gives whole passages (settings: LITASSIST_LLM__PROMPT_WORDS).
    # tests/bench/bench_llm.py measures both
    prompt_words: int = 400


class Answer:
    """A cited answer. Iterate it for text deltas (citations already rendered as numbers);
    the checked fields are ready once it is finished."""

    def __init__(
        self,
        *,
        question: str,
        search_query: str,
        mode: Mode,
        follow_up: bool = False,
        passages: Sequence[Passage],
        papers: dict[str, Paper],
        numbering: Numbering,
        evidence: Evidence | None,
        written: Written | None = None,
        writing: Writing | None = None,
    ):
        self.question = question
        self.search_query = search_query  # what was searched: the question, or a follow-up made standalone
        self.follow_up = follow_up  # whether it was searched as carrying on from the answer before
        self._mode: Mode = mode
        self._passages = list(passages)
        self.papers = papers
        self.numbering = numbering
        self.evidence = evidence
        self._written = written
        self._writing = writing
        self._started = False

    @property
    def mode(self) -> Mode:
        """Who wrote the answer: ``llm``, or ``extractive`` (asked for, or the model declined
        twice although the passages look relevant; ``notes`` says so)."""
        return self._written.mode if self._written is not None else self._mode

    @property
    def passages(self) -> list[Passage]:
        """The passages the writer was given (fewer than found when the prompt was too long)."""
        return self._written.passages if self._written is not None else self._passages

    @property
    def allowed_keys(self) -> set[str]:
        return {p.key for p in self.passages}

    # -- streaming -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[str]:
        if self._written is not None or self._writing is None or self._started:
            yield self.text
            return
        self._started = True
        yield from self._writing
        self._written = self._writing.result

    def _finish(self) -> Written:
        if self._written is None:
            for _ in self:  # consumes the stream, then finishes
                pass
        assert self._written is not None
        return self._written

    # -- the checked answer ----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer with citations rendered as reference numbers; invented ones removed."""
        return self._finish().checked.text

    @property
    def raw_text(self) -> str:
        """The checked answer with citations as ``[@key]`` (attributed ones included)."""
        return self._finish().checked.raw_text

    @property
    def model_text(self) -> str:
        """What the model wrote, as it wrote it ("" for an extractive answer)."""
        return self._finish().checked.model_text

    @property
    def citations(self) -> list[Citation]:
        return self._finish().checked.citations

    @property
    def references(self) -> list[Reference]:
        """The cited papers, numbered by first appearance (across a conversation)."""
        return self._finish().checked.references

    @property
    def dropped_citations(self) -> list[str]:
        """Citations the model wrote of passages it was not given (or titles); removed from ``text``."""
        return self._finish().checked.dropped_citations

    @property
    def sentences(self) -> list[SentenceSupport]:
        """Each sentence with its cited keys and support score (``weak`` when poorly backed,
        ``attributed`` when the code cited it, ``flagged`` when nothing backs it)."""
        return self._finish().checked.sentences

    @property
    def refused(self) -> bool:
        return self._finish().refused

    @property
    def notes(self) -> list[str]:
        """What happened on the way: weak evidence (the judgement's caveat), a refusal before
        any model was asked (why, and the nearest papers), a retry after the model declined, an
        extractive fallback."""
        caveat = self.caveat
        return ([caveat] if caveat else []) + self._finish().notes

    @property
    def caveat(self) -> str | None:
        """The weak-evidence note of an answer on weak evidence (``Evidence.caveat``; None for a
        refusal and when the evidence is not weak): the first of ``notes``."""
        refused = self._finish().refused
        return self.evidence.caveat if self.evidence is not None and not refused else None

    @property
    def judged_unanswerable(self) -> bool:
        """Refused by the evidence judgement before any model was asked (``anyway`` answers
        such a question all the same)."""
        evidence = self.evidence
        return self.refused and evidence is not None and not evidence.answerable and not evidence.overruled

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
        written = self._finish()
        return {
            "question": self.question,
            "search_query": self.search_query,
            "follow_up": self.follow_up,
            "mode": self.mode,
            "refused": self.refused,
            **written.checked.to_dict(),
            "grounded": self.grounded,
            "notes": self.notes,
            "evidence": None
            if self.evidence is None
            else {
                "answerable": self.evidence.answerable,
                "weak": self.evidence.weak,
                "overruled": self.evidence.overruled,
                "score": self.evidence.score,
                "probability": self.evidence.probability,
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
        state = "finished" if self._written is not None else "streaming"
        return f"<Answer {self.mode} {state}: {self.question!r}>"


class Answerer:
    """Asks: the retriever finds passages, the chat model (if any) writes, the code checks."""

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        chat: Chat | None,
        chunk_vectors: ChunkVectors,
        *,
        writing: WritingParameters | None = None,
        parameters: AnswerParameters | None = None,
    ):
        self.retriever = retriever
        self.embedder = embedder
        self.chat = chat
        self.writer = Writer(chat, embedder, chunk_vectors, writing)
        self.parameters = parameters or AnswerParameters()

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        history: Sequence[Answer] | None = None,
        stream: bool = False,
        mode: Mode | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
        follow_up: bool | None = None,
        anyway: bool = False,
    ) -> Answer:
        """``follow_up``: whether ``question`` carries on from ``history`` (None: the model's
        rewrite decides, or without one the rule of ``assistant.followup``; False: searched as a
        new question, citation numbers still carrying on). ``anyway``: answer a question the
        evidence judgement refuses all the same (when search found papers), with a caveat that
        says so; a model that then finds no answer in the passages still declines."""
        mode = choose_mode(mode, self.chat, "ask")
        if not question.strip():
            raise InvalidRequestError("the question is empty: ask something about the papers")
        history = list(history or [])
        numbering = history[-1].numbering.copy() if history else Numbering()
        query, carried = self._standalone(question, history, mode, follow_up)
        retrieval = self.retriever.retrieve(query, k=k, filters=filters)
        hits, evidence = retrieval.hits, retrieval.evidence
        if anyway and hits:
            evidence = evidence.anyway()
        papers = {h.paper.key: h.paper for h in hits}
        answer = partial(
            Answer,
            question=question,
            search_query=query,
            mode=mode,
            follow_up=carried,
            papers=papers,
            numbering=numbering,
            evidence=evidence,
        )
        if not evidence.answerable and not evidence.overruled:
            refusal = Checked(prompts.REFUSAL, prompts.REFUSAL)
            nearest = [f"{h.paper.label} [{h.paper.key}]" for h in hits[:NEAREST]]
            note = evidence.refusal(nearest)
            return answer(passages=[], written=Written(refusal, [], mode, refused=True, notes=[note]))
        hits = self.with_openings(question, hits)
        passages = select_passages(hits)
        if mode == "llm":
            words = self.parameters.prompt_words
            passages = condense(passages, strip_question(query), self.embedder.embed, words=words)
        job = Job(
            prompt="answer",
            values={"question": query},
            passages=passages,
            papers=papers,
            fallback=lambda _: self._extract(query, hits, question, retrieval.terms),
            task="answer the question.",
            insist=evidence.score >= self.parameters.insist_above,
        )
        if mode == "extractive":
            return answer(passages=passages, written=self.writer.extractive(job, numbering))
        if stream:
            return answer(passages=passages, writing=self.writer.stream(job, numbering))
        return answer(passages=passages, written=self.writer.write(job, numbering))

    # -- conversation ----------------------------------------------------------------------------

    def _standalone(
        self, question: str, history: list[Answer], mode: Mode, follow_up: bool | None
    ) -> tuple[str, bool]:
        """What is searched for ``question``, and whether it carries on from the conversation:
        a follow-up rewritten by the model into a standalone question (the model also says when
        the question needs no rewrite; one it hands back unchanged although it refers back is
        carried on by the rule), else, when the question refers back, the previous search
        before it; any other question is searched as it is."""
        if not history or follow_up is False:
            return question, False
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
            unchanged = _words(rewritten) == _words(question)
            # a small model may hand back "How do they ...?" unchanged: then the rule carries it on
            if 3 <= len(rewritten.split()) <= 60 and not (unchanged and refers_back(question)):
                return rewritten, not unchanged
        if follow_up or refers_back(question):
            return standalone(question, history[-1].search_query), True
        return question, False

    def with_openings(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        """For a definition question ("What is X?"), each hit with its paper's opening passages
        that name X (``_with_opening``); any other question's hits as they are."""
        subject = extractive.definition_subject(question)
        return [self._with_opening(hit, subject) for hit in hits] if subject else list(hits)

    def _with_opening(self, hit: Hit, subject: str) -> Hit:
        """``hit`` with the passages of its paper's opening (its abstract, and the first
        passages after it: the introduction) that name ``subject``, after its best passage:
        a definition is stated there, whichever passages the search found closest."""
        if not extractive.mentions(f"{hit.paper.title or ''} {hit.paper.abstract or ''}", subject):
            return hit
        chunks = self.retriever.store.chunks(hit.paper.key)
        opening = [c for c in chunks if c.section == ABSTRACT]
        opening += [c for c in chunks if c.section != ABSTRACT][:OPENING_PASSAGES]
        have = {p.chunk_id for p in hit.passages}
        added = tuple(
            Passage(hit.key, c.id, c.text, c.section, c.page)
            for c in opening
            if c.id not in have and extractive.mentions(c.text, subject)
        )
        return replace(hit, passages=(*hit.passages[:1], *added, *hit.passages[1:])) if added else hit

    # -- extractive mode -------------------------------------------------------------------------

    def _extract(
        self,
        query: str,
        hits: Sequence[Hit],
        question: str | None = None,
        terms: Mapping[str, float] | None = None,
        *,
        term_weight: float = extractive.TERM_WEIGHT,
    ) -> str:
        """The best evidence sentences, each cited: for the papers that rank close to the best
        and whose closest sentence to the question comes close to the best overall
        (``extractive.answer_scores``: a definition question prefers the sentence that defines
        its subject), each one's best sentence, by that score and the share of the question's
        ``terms`` it holds (``extractive.term_shares``; all of them count ``term_weight``
        cosine points); when they are fewer than ``EXTRACT_MIN_SENTENCES``, their next best
        sentences too (each paper's in reading order). Reference lists, appendices, prompt
        templates, tables and captions are not evidence (``extractive.evidence``)."""
        leaders = [h for h in hits if h.score >= hits[0].score - EXTRACT_SCORE_MARGIN] if hits else []
        # each paper's two best passages, and for a definition question its opening's
        subject = extractive.definition_subject(question or query)
        passages = [
            p
            for hit in leaders
            for p in hit.passages[: 2 + (OPENING_PASSAGES + 1 if subject is not None else 0)]
        ]
        rank = {hit.paper.key: i for i, hit in enumerate(leaders)}
        found = extractive.evidence(passages)
        if not found:
            return prompts.REFUSAL
        vectors = self.embedder.embed([strip_question(query), *(c.text for c in found)])
        scores = extractive.answer_scores(found, vectors[1:] @ vectors[0], passages, question or query)
        choice = scores + term_weight * extractive.term_shares(found, terms or {})
        by_paper: dict[str, list[int]] = {}
        for i in sorted(range(len(found)), key=lambda i: -choice[i]):
            by_paper.setdefault(found[i].key, []).append(i)
        top = float(scores.max())
        papers = sorted(
            (k for k, ranked in by_paper.items() if scores[ranked].max() >= EXTRACT_SENTENCE_RATIO * top),
            key=lambda k: rank[k],
        )[:5]
        chosen = {k: [by_paper[k][0]] for k in papers}
        taken = [by_paper[k][0] for k in papers]
        # few papers: their next best sentences, a paper at a time, until the answer has enough
        while len(taken) < EXTRACT_MIN_SENTENCES:
            added = False
            for key in papers:
                nxt = next(
                    (
                        i
                        for i in by_paper[key]
                        if i not in taken
                        and scores[i] >= EXTRACT_SENTENCE_RATIO * top
                        and float(np.max(vectors[1:][taken] @ vectors[1 + i])) < extractive.REDUNDANT
                    ),
                    None,
                )
                if nxt is not None and len(taken) < EXTRACT_MIN_SENTENCES:
                    chosen[key].append(nxt)
                    taken.append(nxt)
                    added = True
            if not added:
                break

        def reading(i: int) -> tuple[int, int]:  # the passage's place in the paper, the sentence's in it
            return ordinal_of(passages[found[i].order[0]].chunk_id), found[i].order[1]

        ordered = [(key, i) for key in papers for i in sorted(chosen[key], key=reading)]
        return " ".join(f"{_as_claim(found[i].text)} [@{key}]." for key, i in ordered)


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


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+", text)]


def _as_claim(sentence: str) -> str:
    return sentence.rstrip().rstrip(".").strip()
