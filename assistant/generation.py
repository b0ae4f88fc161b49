"""The writing core that answers, summaries and drafts share: which mode writes, the prompt with
numbered passages, the retry with fewer passages when the prompt is too long, what a model's
refusal counts for, the extractive fallback, structured output, streaming, and the check.

A model's refusal is evidence, not a verdict. When the caller says the passages answer (a
confident evidence judgement, or a draft section whose papers were chosen for it), a refusal is
retried once with a turn that names the passages that look relevant (``prompts/insist.yaml``);
a second refusal gives the extractive text of the same passages, said so in ``notes``. Otherwise
the refusal stands.

Structured output (``response_format``): llama.cpp, vLLM, Ollama and OpenAI can hold a reply to
a JSON schema; asked for, the reply is a list of sentences with the labels of their passages,
turned back into cited prose before the check (and streamed sentence by sentence).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import prompts
from assistant import citations
from assistant.attribution import AttributionParameters
from assistant.citations import Numbering
from assistant.errors import ContextTooLongError, InvalidRequestError
from assistant.grounding import Checked, Checker, ChunkVectors, StreamCheck
from assistant.llm import Chat, ChatStream, Messages, Usage
from assistant.passages import Passage
from store.embedder import Embedder
from store.paper import Paper, normalise

log = logging.getLogger(__name__)

Mode = Literal["llm", "extractive"]
ResponseFormat = Literal["text", "json_schema", "json_object"]

SENTENCES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sentences": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "passages": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
                },
                "required": ["text", "passages"],
            },
        }
    },
    "required": ["sentences"],
}


def choose_mode(mode: Mode | None, chat: Chat | None, what: str) -> Mode:
    """The mode asked for, else ``llm`` when a model is configured; ``llm`` without one is an
    error that says what to do. ``what``: the verb for the message ("answer", "summarise")."""
    chosen: Mode = mode or ("llm" if chat is not None else "extractive")
    if chosen == "llm" and chat is None:
        raise InvalidRequestError(
            f"no chat endpoint is configured; set LITASSIST_LLM__BASE_URL or {what} extractively"
        )
    return chosen


@dataclass(frozen=True)
class WritingParameters:
    """How a model is asked and how its text is checked."""

    response_format: ResponseFormat = "text"
    attribution: AttributionParameters = field(default_factory=AttributionParameters)


def halve(passages: list[Passage]) -> list[Passage]:
    """Half the passages, keeping every paper's first one as long as possible."""
    firsts: list[Passage] = []
    for passage in passages:
        if all(p.key != passage.key for p in firsts):
            firsts.append(passage)
    rest = [p for p in passages if p not in firsts]
    return (firsts + rest)[: max(1, len(passages) // 2)]


def shown(passage: Passage, label: int, papers: dict[str, Paper]) -> dict[str, object]:
    """A passage as a prompt shows it: its label, its paper, where in the paper, its text
    without the paper's own reference markers."""
    paper = papers.get(passage.key)
    where = ", ".join(x for x in (passage.section, f"page {passage.page}" if passage.page else None) if x)
    return {
        "label": label,
        "key": passage.key,
        "title": (paper.title or paper.label) if paper else passage.key,
        "year": paper.year if paper else None,
        "where": where or None,
        "text": citations.shown_text(passage.text),
    }


@dataclass
class Job:
    """One text to write. ``values``: the prompt's variables beside ``passages`` (which the core
    fills, labelled; ``passages_variable`` names where they go, ``arrange`` may group them).
    ``fallback``: the extractive text (citations as ``[@key]``) of the passages. ``insist``: the
    passages answer, so a refusal is retried and then replaced by the fallback. ``task``: what
    the retry asks for, as a clause ("answer the question.")."""

    prompt: str
    values: dict[str, Any]
    passages: list[Passage]
    papers: dict[str, Paper]
    fallback: Callable[[list[Passage]], str]
    task: str
    insist: bool = True
    max_tokens: int | None = None
    trim: Callable[[list[Passage]], list[Passage]] = halve
    arrange: Callable[[list[dict[str, object]]], dict[str, Any]] | None = None
    titles: Collection[str] = ()
    relevant: int = 2  # passages the retry names: the first ones (the best found)
    structured: bool = True  # may ask for JSON sentences (not for texts with their own layout)
    prepare: Callable[[str], str] = lambda text: text  # the written text as the check reads it
    require_citations: bool = False  # a whole text (not streamed) that cites nothing: the fallback


@dataclass
class Written:
    """A written and checked text, with how it came about."""

    checked: Checked
    passages: list[Passage]
    mode: Mode
    refused: bool = False
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)
    attempts: int = 0  # requests to the model


class Writer:
    """Writes a ``Job`` with the chat model (or extractively) and checks it."""

    def __init__(
        self,
        chat: Chat | None,
        embedder: Embedder,
        chunk_vectors: ChunkVectors,
        parameters: WritingParameters | None = None,
    ):
        self.chat = chat
        self.embedder = embedder
        self.chunk_vectors = chunk_vectors
        self.parameters = parameters or WritingParameters()

    # -- checking --------------------------------------------------------------------------------

    def checker(self, job: Job, passages: Sequence[Passage], *, labelled: bool) -> Checker:
        return Checker(
            passages,
            job.papers,
            self.embedder,
            self.chunk_vectors,
            labelled=labelled,
            attribute=labelled,
            titles=job.titles,
            parameters=self.parameters.attribution,
        )

    def extractive(
        self, job: Job, numbering: Numbering, passages: Sequence[Passage] | None = None
    ) -> Written:
        """The job's extractive text, checked (nothing is attributed: the code cites each
        sentence it takes)."""
        chosen = list(job.passages if passages is None else passages)
        raw = job.fallback(chosen)
        checked = self.checker(job, chosen, labelled=False).finish(raw, numbering)
        checked.model_text = ""  # no model wrote it
        return Written(checked, chosen, "extractive")

    def refusal(self, job: Job, text: str, usage: Usage, attempts: int) -> Written:
        dropped = citations.dropped_keys(text, {p.key for p in job.passages}, [p.key for p in job.passages])
        checked = Checked(prompts.REFUSAL, prompts.REFUSAL, dropped_citations=dropped, model_text=text)
        return Written(checked, list(job.passages), "llm", refused=True, usage=usage, attempts=attempts)

    # -- the prompt --------------------------------------------------------------------------------

    def messages(self, job: Job, passages: Sequence[Passage]) -> Messages:
        rows = [shown(p, i, job.papers) for i, p in enumerate(passages, 1)]
        values = dict(job.values)
        values.update(job.arrange(rows) if job.arrange else {"passages": rows})
        messages = prompts.load(job.prompt).messages(**values)
        if self._structured(job):
            extra = prompts.load("json_sentences").text(count=len(passages))
            messages[-1] = {**messages[-1], "content": messages[-1]["content"] + "\n\n" + extra}
        return messages

    def _structured(self, job: Job) -> bool:
        return job.structured and self.parameters.response_format != "text"

    def _format(self, job: Job) -> dict[str, Any] | None:
        if not self._structured(job):
            return None
        if self.parameters.response_format == "json_schema":  # OpenAI, vLLM, Ollama, llama.cpp
            return {
                "type": "json_schema",
                "json_schema": {"name": "cited_sentences", "schema": SENTENCES_SCHEMA},
            }
        return {"type": "json_object", "schema": SENTENCES_SCHEMA}  # llama-cpp-python's server

    def insisting(self, job: Job, messages: Messages, reply: str, passages: Sequence[Passage]) -> Messages:
        count = min(job.relevant, len(passages)) or 1
        labels = [f"[{i}]" for i in range(1, count + 1)]
        named = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        turn = prompts.load("insist").text(labels=named, first=labels[0], task=job.task)
        if self._structured(job):
            turn += "\n\n" + prompts.load("json_sentences").text(count=len(passages))
        return [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": turn}]

    # -- writing ---------------------------------------------------------------------------------

    def write(self, job: Job, numbering: Numbering) -> Written:
        """Write the whole text, then check it."""
        chat = self._chat()
        passages = list(job.passages)
        usage, attempts = Usage(), 0
        for attempt in (0, 1):
            messages = self.messages(job, passages)
            try:
                completion = chat.complete(
                    messages, max_tokens=job.max_tokens, response_format=self._format(job)
                )
                break
            except ContextTooLongError:
                if attempt == 1 or len(passages) <= 1:
                    raise
                log.info("prompt too long for %s; retrying with fewer passages", chat.describe())
                passages = job.trim(passages)
        attempts += 1
        usage += completion.usage
        text = self._prose(completion.text, job)
        notes: list[str] = []
        if completion.capped:
            notes.append(
                f"the model's reply was cut at {len(completion.text)} characters (it ignored max_tokens)"
            )
        if refusing(text):
            if not job.insist:
                return self.refusal(job, text, usage, attempts)
            retry = chat.complete(
                self.insisting(job, messages, completion.text, passages),
                max_tokens=job.max_tokens,
                response_format=self._format(job),
            )
            attempts += 1
            usage += retry.usage
            retried = self._prose(retry.text, job)
            if refusing(retried):
                return self._fell_back(job, numbering, passages, usage, attempts, retry.text)
            text = retried
            notes.append("the model first declined; asked again with the passages that look relevant")
        checked = self.checker(job, passages, labelled=True).finish(job.prepare(text), numbering)
        if job.require_citations and not checked.citations:
            written = self._fell_back(job, numbering, passages, usage, attempts, text)
            written.notes[-1] = (
                "nothing the model wrote could be traced to the passages: this text is the passages' "
                "own sentences (extractive)"
            )
            return written
        return Written(checked, passages, "llm", usage=usage, notes=notes, attempts=attempts)

    def stream(self, job: Job, numbering: Numbering) -> Writing:
        """The text as it is written, checked sentence by sentence (``Writing``)."""
        return Writing(self, job, numbering)

    def _fell_back(
        self,
        job: Job,
        numbering: Numbering,
        passages: Sequence[Passage],
        usage: Usage,
        attempts: int,
        reply: str = "",
    ) -> Written:
        written = self.extractive(job, numbering, passages)
        written.usage, written.attempts = usage, attempts
        written.checked.model_text = reply  # what the model wrote last, declining
        written.notes.append(
            "the model declined twice although the passages look relevant: this text is the "
            "passages' own sentences (extractive)"
        )
        return written

    def _prose(self, reply: str, job: Job) -> str:
        """A reply as cited prose: JSON sentences joined, each with its labels."""
        if not self._structured(job):
            return reply
        return json_prose(reply)

    def _chat(self) -> Chat:
        if self.chat is None:
            raise InvalidRequestError("no chat endpoint is configured; set LITASSIST_LLM__BASE_URL")
        return self.chat


class Writing:
    """A text being written: iterate it for the checked text as it grows; ``result`` is the
    ``Written`` once the iteration is over (iterating to the end makes it)."""

    def __init__(self, writer: Writer, job: Job, numbering: Numbering):
        self.writer = writer
        self.job = job
        self.numbering = numbering
        self.result: Written | None = None
        self._usage = Usage()
        self._attempts = 0

    def __iter__(self) -> Iterator[str]:
        writer, job = self.writer, self.job
        chat = writer._chat()
        passages, messages, stream = self._start(chat)
        notes: list[str] = []
        check: StreamCheck | None = None
        for attempt in (0, 1):
            check = StreamCheck(writer.checker(job, passages, labelled=True), self.numbering, hold=may_refuse)
            yield from self._follow(stream, check)
            self._usage += stream.usage
            if check.shown or not refusing(check.written):
                tail = check.close()
                if tail:
                    yield tail
                checked = check.checker.finish(check.written, self.numbering)
                if checked.text != check.shown:
                    log.warning("the streamed text differs from the checked one; the checked one stands")
                self.result = Written(
                    checked, passages, "llm", usage=self._usage, notes=notes, attempts=self._attempts
                )
                return
            if not job.insist:
                self.result = writer.refusal(job, check.written, self._usage, self._attempts)
                yield prompts.REFUSAL
                return
            if attempt == 0:
                notes.append("the model first declined; asked again with the passages that look relevant")
                messages = writer.insisting(job, messages, check.written, passages)
                stream = chat.stream(messages, max_tokens=job.max_tokens, response_format=writer._format(job))
                self._attempts += 1
        reply = check.written if check is not None else ""
        self.result = writer._fell_back(job, self.numbering, passages, self._usage, self._attempts, reply)
        yield self.result.checked.text

    def _start(self, chat: Chat) -> tuple[list[Passage], Messages, ChatStream]:
        """The first request (a prompt too long for the model is retried once with fewer
        passages: the server says so before the first delta)."""
        writer, job = self.writer, self.job
        passages = list(job.passages)
        for attempt in (0, 1):
            messages = writer.messages(job, passages)
            try:
                stream = chat.stream(messages, max_tokens=job.max_tokens, response_format=writer._format(job))
                self._attempts += 1
                return passages, messages, stream
            except ContextTooLongError:
                if attempt == 1 or len(passages) <= 1:
                    raise
                log.info("prompt too long for %s; retrying with fewer passages", chat.describe())
                passages = job.trim(passages)
        raise AssertionError("unreachable")

    def _follow(self, stream: ChatStream, check: StreamCheck) -> Iterator[str]:
        """The checked pieces of one streamed reply."""
        deltas: Iterator[str] = iter(stream)
        if self.writer._structured(self.job):
            deltas = json_sentences_stream(deltas)
        for delta in deltas:
            piece = check.feed(delta)
            if piece:
                yield piece


# -- refusals ------------------------------------------------------------------------------------

_REFUSAL = normalise(prompts.REFUSAL)
_REFUSING = re.compile(
    r"\b(?:passages?|papers?|texts?|context|documents?|sources?|library|excerpts?|information)\b[^.]*?"
    r"\b(?:do(?:es)?\s+not|don'?t|doesn'?t|did\s+not|cannot|can'?t|fails?\s+to|lacks?|neither)\b[^.]*?"
    r"\b(?:answer|mention|provide|contain|discuss|include|say|specify|address|cover|describe|give|offer"
    r"|state|explain|detail|report|information|enough)"
    r"|^\s*(?:i'?m\s+sorry|sorry|unfortunately|i\s+(?:cannot|can'?t|am\s+unable|could\s+not|couldn'?t|do\s+not\s+know))"
    r"|\b(?:no|not\s+enough|insufficient)\s+(?:relevant\s+)?(?:information|details?|mention|data)\b"
    r"|\bnot\s+(?:mentioned|provided|discussed|covered|described|specified|stated)\s+in\s+the\b"
    r"|\bcannot\s+be\s+(?:answered|determined|found)",
    re.IGNORECASE,
)
_REFUSAL_START = re.compile(
    r"^\s*(?:the\s+(?:papers?|passages?|provided|given|library|texts?|context|documents?)|based\s+on\s+the"
    r"|i\b|i'm|sorry|unfortunately|there\s+(?:is|are)\s+no|none\s+of|no\s)",
    re.IGNORECASE,
)


def refusal_like(sentence: str) -> bool:
    """A sentence that declines rather than answers (the shared sentinel, or the ways real
    models say it: "The passages do not mention …", "I'm sorry, …", "No information …")."""
    text = re.sub(r"\[[^\]]*\]", "", sentence)
    return _REFUSAL in normalise(text) or bool(_REFUSING.search(text))


def refusing(text: str) -> bool:
    """Whether a whole reply declines: empty, or every sentence of it declines."""
    spans = citations.claims(text)
    return not spans or all(refusal_like(text[a:b]) for a, b in spans)


def may_refuse(text: str) -> bool:
    """Whether a reply that has begun may still turn out to decline (a stream shows nothing of
    it until it is clear): the start of the sentinel, or a first sentence that begins the way
    refusals begin and is not finished, or finished sentences that all decline."""
    norm = normalise(text)
    if not norm or _REFUSAL.startswith(norm):
        return True
    spans = citations.claims(text)
    finished = spans[:-1] if spans else []
    if finished and not all(refusal_like(text[a:b]) for a, b in finished):
        return False
    a, b = spans[-1]
    return refusal_like(text[a:b]) or bool(_REFUSAL_START.match(text[a:b]))


# -- structured replies -----------------------------------------------------------------------------


def json_prose(reply: str) -> str:
    """``{"sentences": [{"text": …, "passages": [1]}]}`` as prose with labels; a reply that is
    not such JSON is taken as written."""
    try:
        data = json.loads(reply)
        items = data["sentences"]
        return " ".join(_labelled(item) for item in items if isinstance(item, dict)).strip()
    except (ValueError, KeyError, TypeError):
        log.info("the reply is not the JSON asked for; read as prose")
        return reply


def _labelled(item: dict[str, Any]) -> str:
    text = " ".join(str(item.get("text") or "").split())
    labels = [str(n) for n in item.get("passages") or [] if isinstance(n, int)]
    if not text:
        return ""
    if not labels:
        return text
    m = re.search(r"[.!?]+$", text)
    body, end = (text[: m.start()], m.group(0)) if m else (text, ".")
    return f"{body} [{', '.join(labels)}]{end}"


_SENTENCE_OBJECT = re.compile(
    r'\{\s*"text"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"passages"\s*:\s*\[([^\]]*)\]\s*\}'
)


def json_sentences_stream(deltas: Iterator[str]) -> Iterator[str]:
    """Deltas of a JSON reply as prose deltas: each sentence object once it is complete."""
    buffer, position = "", 0
    for delta in deltas:
        buffer += delta
        for m in _SENTENCE_OBJECT.finditer(buffer, position):
            position = m.end()
            numbers = [int(n) for n in re.findall(r"\d+", m.group(2))]
            yield _labelled({"text": json.loads(m.group(1)), "passages": numbers}) + " "
    if not position and buffer.strip() and not buffer.lstrip().startswith("{"):
        yield buffer  # not JSON after all
