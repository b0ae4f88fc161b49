"""Extractive summaries: the most central sentences of a paper's passages (by the local
embedder), in reading order, each cited; and for several papers, each one's most central
sentence and the sentences closest to what they share.

A sentence's centrality is its cosine with the centroid of the candidate sentences' vectors.
Candidates are whole sentences of prose: fragments cut by a passage's edge, captions, footnotes,
equations and reference-list entries are left out, and a sentence that leans on the one before
("It ...", "However, ...") is offered after the others.

A focus that names an aspect of a paper (``aspect_of``: its challenge, approach or outcome) is
not a topic to be close to: the word "outcome" is no closer to a results sentence than to any
other. Such a focus picks sentences by a fitted linear score over what marks the aspect (where
the sentence sits in the abstract, cue words, closeness to a description of the aspect,
centrality, and how much its words are those of human summaries of each aspect: a per-aspect
lexicon learned from aclsum's train and val summaries), whose weights and lexicons ship as data
(``summary_fit.json``, fitted by cross-validation on aclsum's aspect summaries:
``tests/bench/bench_summaries.py``). Any other focus is a topic: half
centrality, half closeness to it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from assistant import calibration
from assistant.passages import Passage
from assistant.sections import ABSTRACT, prose_share, strip_heading
from store.lexical import tokens
from store.paper import normalise
from store.sentences import sentence_spans

Vectors = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], Vectors]

FOCUS_WEIGHT = 0.5  # with a focus: centrality and closeness to the focus, half each
REDUNDANT = 0.85  # a sentence this close to one already picked adds nothing
DANGLING_PENALTY = 0.1
MIN_WORDS, MAX_WORDS = 8, 60
FALLBACK_WORDS = 60  # a paper with no whole sentence: its first passage's first words

_JUNK = re.compile(
    r"arxiv|doi[:.]|https?:|www\.|proceedings|\bpp\.|©|copyright|∗|†|@\w|equal contribution"
    r"|corresponding author|^(?:figure|fig\.|table)\s*\d|[=<>≤≥∆∑∏∫ˆ′±×→∈√≈≠|]|\(\d{1,2}\)\s",
    re.IGNORECASE,
)
_YEAR_CITATION = re.compile(r"\b(?:19|20)\d\d[a-z]?\)|et al\.,? (?:19|20)\d\d")
_DANGLING = re.compile(
    r"^(?:It|Its|This|These|That|Those|They|Their|Such|Here|Then|Thus|Hence|Also|However|Moreover|"
    r"Furthermore|Additionally|In addition|Subsequently|Finally|Lastly|Similarly|Specifically|"
    r"Therefore|Consequently|For each|For this)\b"
)


@dataclass(frozen=True)
class Sentence:
    """A sentence an extractive summary may take, with its place in the paper."""

    key: str
    text: str
    order: tuple[int, int]  # (passage, sentence)

    @property
    def dangling(self) -> bool:
        return bool(_DANGLING.match(self.text))

    def cited(self) -> str:
        return f"{self.text.rstrip().rstrip('.').strip()} [@{self.key}]."


def candidates(passages: Sequence[Passage], *, junk: re.Pattern[str] | None = None) -> list[Sentence]:
    """The sentences a summary may take: whole sentences of prose, each once (passages
    overlap), without the heading printed before them. Split as the cite-check splits them, so
    that each one is checked as one sentence. ``junk``: what rules a sentence out (by default
    also symbols and "@", which a summary can do without)."""
    junk = junk or _JUNK
    seen: set[str] = set()
    found: list[Sentence] = []
    for p_index, passage in enumerate(passages):
        for s_index, (a, b) in enumerate(sentence_spans(passage.text)):
            text = strip_heading(passage.text[a:b].strip())
            if text is None or not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                continue
            if not re.match(r"[A-Z]", text) or not re.search(r"[.!]['\")\]]?$", text):
                continue  # cut off by the passage's edge, or a question
            if junk.search(text) or len(_YEAR_CITATION.findall(text)) >= 3 or prose_share(text) < 0.6:
                continue
            norm = normalise(text)
            if norm not in seen:
                seen.add(norm)
                found.append(Sentence(passage.key, text, (p_index, s_index)))
    return found


def summary(
    passages: Sequence[Passage],
    embed: Embed,
    n: int,
    per_passage: int,
    focus: Vectors | None = None,
    *,
    focus_text: str | None = None,
) -> str:
    """A paper's ``n`` most central sentences (with a ``focus``: also the closest to it; with a
    focus naming an aspect, ``focus_text``, those that best state the aspect), at most
    ``per_passage`` from one passage while others are left, in reading order, each cited."""
    found = candidates(passages)
    if not found:
        return _fallback(passages[0])
    vectors = embed([c.text for c in found])
    aspect = aspect_of(focus_text)
    if aspect is not None and focus is not None:
        scores = aspect_scores(aspect, found, vectors, passages, focus)
    else:
        scores = _scores(found, vectors, vectors.mean(axis=0))
        if focus is not None:
            scores = (1 - FOCUS_WEIGHT) * scores + FOCUS_WEIGHT * (vectors @ _unit(focus))
    picked = pick(scores, vectors, n, group=[c.order[0] for c in found], per_group=per_passage)
    return " ".join(found[i].cited() for i in sorted(picked, key=lambda i: found[i].order))


# -- aspects ---------------------------------------------------------------------------------------

# the words by which a focus names an aspect (the whole focus, lower-cased, without "the"/"its")
ASPECT_NAMES: dict[str, tuple[str, ...]] = {
    "challenge": ("challenge", "challenges", "problem", "problems", "motivation", "research gap", "gap"),
    "approach": ("approach", "method", "methods", "methodology", "technique", "solution", "idea"),
    "outcome": ("outcome", "outcomes", "result", "results", "finding", "findings", "main result"),
}
# what each aspect is about, in our words: the focus vector that passages and sentences are
# compared with (the bare word "outcome" is close to nothing in particular)
ASPECT_DESCRIPTIONS: dict[str, str] = {
    "challenge": "The problem: existing methods are limited, the task remains difficult or costly, "
    "and previous work fails to address this challenge.",
    "approach": "The approach: in this paper we propose a new method, model or framework and describe "
    "how it works.",
    "outcome": "The outcome: experiments show that the proposed method outperforms strong baselines and "
    "improves results.",
}
_CUES: dict[str, re.Pattern[str]] = {
    "challenge": re.compile(
        r"\b(?:however|but|although|despite|problem|challeng|difficult|limit|lack|suffer|costly|"
        r"expensive|remain|hard|issue|bottleneck|fail|insufficient|unclear|requir|need|struggl)\w*",
        re.IGNORECASE,
    ),
    "approach": re.compile(
        r"\b(?:we\s+(?:propose|present|introduce|develop|describe|design|use|apply|explore|investigate|"
        r"employ|adopt|build)|this\s+paper|in\s+this\s+(?:paper|work)|our\s+(?:method|approach|model|"
        r"framework|system|algorithm)|based\s+on|novel|framework|algorithm)\b",
        re.IGNORECASE,
    ),
    "outcome": re.compile(
        r"\b(?:result|show|outperform|improv|achiev|demonstrat|experiment|evaluat|significant|"
        r"state-of-the-art|accuracy|gain|better|perform|effective)\w*",
        re.IGNORECASE,
    ),
}
_NUMBER = re.compile(r"\d")
# how much a sentence's words are those of one aspect's human summaries (``aspect_lexicons``):
# per aspect, the mean, the length-normalised positive sum and the max of its words' log-odds
LEXICON_STATS = ("mean", "positive", "max")
LEXICON_FEATURES: tuple[str, ...] = tuple(f"lexicon:{a}:{s}" for a in ASPECT_NAMES for s in LEXICON_STATS)
LEXICON_SMOOTHING = 1.0  # add-one: a word seen once in one aspect's summaries is weak evidence
ASPECT_FEATURES: tuple[str, ...] = (
    "abstract",  # the sentence is the abstract's
    "position",  # where it sits in the abstract, 0 first .. 1 last (0.5 elsewhere)
    "position²",
    "first",
    "last",
    "cue:challenge",
    "cue:approach",
    "cue:outcome",
    "number",
    "description",  # cosine with the aspect's description
    "centrality",  # cosine with the centroid of the candidates
    "dangling",
    "words",  # log of its length in words
    # where in the abstract a cue or closeness counts: each of the above, times position and
    # times being the abstract's; and the abstract's first, middle and last third
    "cue:challenge×position",
    "cue:approach×position",
    "cue:outcome×position",
    "cue:challenge×abstract",
    "cue:approach×abstract",
    "cue:outcome×abstract",
    "description×abstract",
    "first third",
    "middle third",
    *LEXICON_FEATURES,
)
SUMMARY_FIT = "summary_fit"  # assistant/summary_fit.json: per aspect, the weights of the features


def aspect_of(focus: str | None) -> str | None:
    """The aspect a focus names ("challenge", "the results", "Approach"), else None."""
    if not focus:
        return None
    text = re.sub(r"^(?:the|its|their|main)\s+", "", " ".join(focus.lower().split())).strip(" .:?!")
    return next((aspect for aspect, names in ASPECT_NAMES.items() if text in names), None)


def focus_vector(focus: str, embed: Embed) -> Vectors:
    """What a focus is compared with: a description of the aspect it names, else itself."""
    aspect = aspect_of(focus)
    return embed([ASPECT_DESCRIPTIONS[aspect] if aspect else focus])[0]


def aspect_lexicons(
    references: Mapping[str, Sequence[str]], smoothing: float = LEXICON_SMOOTHING
) -> dict[str, dict[str, float]]:
    """Per aspect, each word's (Snowball stem, as search stems it) log-odds of occurring in a
    summary of that aspect rather than in one of the other aspects', from ``references`` (aspect
    -> human summaries; aclsum's train and val splits for the shipped lexicons). A summary of
    the approach says "propose", "model"; one of the outcome "outperform", "show". Learned, not
    hand-listed: the cue patterns above are ours, these are the summaries' own words."""
    documents = {aspect: [set(tokens(text)) for text in texts] for aspect, texts in references.items()}
    counts = {aspect: Counter(w for words in docs for w in words) for aspect, docs in documents.items()}
    vocabulary = sorted({w for c in counts.values() for w in c})
    out: dict[str, dict[str, float]] = {}
    for aspect in references:
        n_in = len(documents[aspect])
        n_out = sum(len(d) for a, d in documents.items() if a != aspect)
        other = Counter[str]()
        for a, c in counts.items():
            if a != aspect:
                other.update(c)
        out[aspect] = {
            w: round(
                math.log((counts[aspect][w] + smoothing) / (n_in + 2 * smoothing))
                - math.log((other[w] + smoothing) / (n_out + 2 * smoothing)),
                4,
            )
            for w in vocabulary
        }
    return out


def lexicon_features(texts: Sequence[str], lexicons: Mapping[str, Mapping[str, float]]) -> np.ndarray:
    """Per text, ``LEXICON_FEATURES``: for each aspect's lexicon, the mean, positive sum over
    √length and max of its words' log-odds (0 for a word no summary used)."""
    rows = []
    for text in texts:
        words = tokens(text)
        row: list[float] = []
        for aspect in ASPECT_NAMES:
            values = np.array([lexicons[aspect].get(w, 0.0) for w in words] or [0.0])
            row += [
                float(values.mean()),
                float(np.maximum(values, 0).sum() / math.sqrt(len(values))),
                float(values.max()),
            ]
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(texts), len(LEXICON_FEATURES))


def aspect_features(
    found: Sequence[Sentence],
    vectors: Vectors,
    passages: Sequence[Passage],
    description: Vectors,
    lexicons: Mapping[str, Mapping[str, float]] | None = None,
) -> np.ndarray:
    """Per candidate sentence, ``ASPECT_FEATURES`` (one matrix for every aspect: the weights
    differ, the features do not); without ``lexicons``, all but the ``LEXICON_FEATURES`` (the
    bench adds those per fold, from the lexicons of the fold's training papers)."""
    counts = [len(sentence_spans(p.text)) for p in passages]
    centre = _unit(vectors.mean(axis=0))
    rows = []
    for sentence, vector in zip(found, vectors, strict=True):
        p_index, s_index = sentence.order
        in_abstract = passages[p_index].section == ABSTRACT
        position = s_index / max(1, counts[p_index] - 1) if in_abstract else 0.5
        rows.append(
            [
                float(in_abstract),
                position,
                position**2,
                float(in_abstract and s_index == 0),
                float(in_abstract and s_index == counts[p_index] - 1),
                *(float(bool(_CUES[a].search(sentence.text))) for a in ASPECT_NAMES),
                float(bool(_NUMBER.search(sentence.text))),
                float(vector @ _unit(description)),
                float(vector @ centre),
                float(sentence.dangling),
                float(np.log(len(sentence.text.split()))),
            ]
        )
    base = np.array(rows, dtype=np.float64).reshape(len(rows), 13)
    inside, where, cues, close = base[:, 0:1], base[:, 1:2], base[:, 5:8], base[:, 9:10]
    thirds = np.hstack([(where < 1 / 3) * inside, ((where >= 1 / 3) & (where < 2 / 3)) * inside])
    plain = np.hstack([base, cues * where, cues * inside, close * inside, thirds])
    if lexicons is None:
        return plain
    return np.hstack([plain, lexicon_features([s.text for s in found], lexicons)])


def aspect_scores(
    aspect: str,
    found: Sequence[Sentence],
    vectors: Vectors,
    passages: Sequence[Passage],
    description: Vectors,
) -> np.ndarray:
    """How well each candidate states the aspect: the fitted weights over its features."""
    fit = calibration.shipped(SUMMARY_FIT)
    weights = np.array(fit.model[aspect], dtype=np.float64)
    lexicons = fit.parameters["lexicons"]
    return np.asarray(aspect_features(found, vectors, passages, description, lexicons) @ weights)


def lines_and_synthesis(
    passages: dict[str, list[Passage]], embed: Embed, synthesis_sentences: int
) -> tuple[list[str], str]:
    """For several papers (their passages by key): each paper's most central sentence, cited;
    then up to ``synthesis_sentences`` sentences closest to the centroid of all the papers
    (each paper's centroid counting once), from different papers, in the papers' order."""
    per_paper = {key: candidates(chosen) for key, chosen in passages.items()}
    everything = [c for found in per_paper.values() for c in found]
    vectors = embed([c.text for c in everything]) if everything else None
    lines: list[str] = []
    used: list[int] = []
    centroids: list[Vectors] = []
    start = 0
    for key, found in per_paper.items():
        if not found or vectors is None:
            lines.append(_fallback(passages[key][0]))
            continue
        block = vectors[start : start + len(found)]
        centroid = _unit(block.mean(axis=0))
        best = int(np.argmax(_scores(found, block, centroid)))
        lines.append(found[best].cited())
        centroids.append(centroid)
        used.append(start + best)
        start += len(found)
    if len(centroids) < 2 or vectors is None:
        return lines, ""
    scores = _scores(everything, vectors, np.mean(centroids, axis=0))
    scores[used] = -np.inf  # not the papers' own lines again
    order = list(per_paper)
    groups = [order.index(c.key) for c in everything]
    picked = pick(scores, vectors, synthesis_sentences, group=groups, per_group=1, fill=False)
    return lines, " ".join(everything[i].cited() for i in sorted(picked, key=lambda i: groups[i]))


def pick(
    scores: np.ndarray, vectors: Vectors, n: int, *, group: Sequence[int], per_group: int, fill: bool = True
) -> list[int]:
    """The ``n`` best-scored sentences, at most ``per_group`` from one group (then, with
    ``fill``, from any group until there are ``n``), none nearly repeating one already picked."""
    picked: list[int] = []
    taken: dict[int, int] = {}
    order = [int(i) for i in np.argsort(-scores) if np.isfinite(scores[i])]
    for capped in (True, False) if fill else (True,):
        for i in order:
            if len(picked) == n:
                return picked
            if i in picked or (capped and taken.get(group[i], 0) >= per_group):
                continue
            if picked and float(np.max(vectors[picked] @ vectors[i])) > REDUNDANT:
                continue
            picked.append(i)
            taken[group[i]] = taken.get(group[i], 0) + 1
    return picked


def _scores(found: Sequence[Sentence], vectors: Vectors, centre: np.ndarray) -> np.ndarray:
    """Cosine with ``centre``, less a penalty for sentences that lean on the one before."""
    dangling = np.array([c.dangling for c in found], dtype=np.float32)
    return np.asarray(vectors @ _unit(centre) - DANGLING_PENALTY * dangling)


def _fallback(passage: Passage) -> str:
    words = passage.text.split()
    more = " …" if len(words) > FALLBACK_WORDS else ""
    return f"{' '.join(words[:FALLBACK_WORDS])}{more} [@{passage.key}]."


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


# -- answers ---------------------------------------------------------------------------------------
#
# An extractive answer quotes, per paper found, its sentence closest to the question. Not every
# sentence of a passage is evidence: a reference list, the appendix after it (a PDF's pages from
# "References" on carry that section), a prompt template quoted in an appendix ("You need to
# predict which sections to look at ...": papers speak of their work, not to the reader), a table
# or a caption says nothing a reader asked. A definition question ("What is X?", "What does X
# do?") prefers the sentence that defines X ("we introduce X, an agent that ...", "X is a ...")
# over one that merely shares its words (a recall figure of X).

NOT_EVIDENCE_SECTIONS = re.compile(
    r"^(?:references|bibliography|acknowledge?ments?|appendix|appendices)\b", re.I
)
_TEMPLATE = re.compile(
    r"\b(?:you|your|yours|yourself)\b|^(?:please|output|return|respond|answer|given|note|input|instruction)s?\b"
    r"|\{[^}]*\}|<[a-z_]+>|\[[A-Z_ ]{3,}\]",
    re.IGNORECASE,
)
# an answer's evidence may hold the figures a question asks for ("recall@20", "> 90%"): only
# links, reference entries, footnote marks and equations are ruled out
_ANSWER_JUNK = re.compile(
    r"arxiv\.org|doi[:.]|https?:|www\.|\bproceedings\b|\bpp\.|©|copyright|∗|†|\w@\w+\.\w|equal contribution"
    r"|corresponding author|^(?:figure|fig\.|table)\s*\d|[=∑∏∫√]",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"^(?:figure|fig\.|table|tab\.|algorithm|listing|prompt|example)\s*[A-Z]?\d", re.IGNORECASE
)
_DEFINITION_QUESTION = re.compile(
    r"^\s*(?:(?:so|and|but)\s+)?(?:what|who)(?:'s|\s+(?:is|are|was|were))\s+(?P<what>.+?)(?:\s*\?|\s*,|\s+and\s+|\s+in\s+(?:short|brief)|$)"
    r"|^\s*what\s+(?:does|do|did)\s+(?P<does>.+?)\s+(?:do|offer|propose|provide|introduce|contribute)\b"
    r"|^\s*(?:define|describe)\s+(?P<define>.+?)(?:\s*[?.]|$)",
    re.IGNORECASE,
)
MAX_SUBJECT_WORDS = 5  # "What is the dataset size reported by ...?" asks a fact, not a definition
DEFINES_BONUS = 0.3  # cosine points for a sentence that defines the subject
MENTIONS_BONUS = 0.1  # ... that names it
OPENING_BONUS = 0.05  # ... that sits in the abstract or introduction (where papers define their work)
# which of a paper's sentences an answer quotes first: its score plus this many cosine points
# times its share of the question's terms by rarity (``term_shares``). Fitted by 5-fold
# cross-validation over the development questions (tests/bench/bench_extractive_answers.py):
# every fold takes 1.5, and the answers hold 0.51 of the gold papers' evidence quotes held out,
# against 0.43 by the score alone (every weight from 0.5 to 5 gives 0.48-0.51)
TERM_WEIGHT = 1.5
_OPENING_SECTIONS = re.compile(r"^(?:abstract|introduction|\d{1,2}\.?\s+introduction)\b", re.IGNORECASE)


def evidence(passages: Sequence[Passage]) -> list[Sentence]:
    """The sentences of ``passages`` an answer may quote: ``candidates`` (prose, no reference
    entries, tables or captions), none from a reference list, appendix or acknowledgements,
    none that speaks to "you" (a prompt template)."""
    kept = [i for i, p in enumerate(passages) if not NOT_EVIDENCE_SECTIONS.match((p.section or "").strip())]
    found = candidates([passages[i] for i in kept], junk=_ANSWER_JUNK)
    return [
        replace(s, order=(kept[s.order[0]], s.order[1]))  # ``order`` indexes ``passages``, as given
        for s in found
        if not _TEMPLATE.search(s.text) and not _CAPTION.match(s.text)
    ]


def definition_subject(question: str) -> str | None:
    """What a definition question asks about ("What is PaSa and how does it search?" → "PaSa";
    "What does FineCLIPER do?" → "FineCLIPER"), else None."""
    match = _DEFINITION_QUESTION.match(" ".join(question.split()))
    if match is None:
        return None
    subject = next(g for g in match.groups() if g is not None).strip(" ?.,\"'“”")
    subject = re.sub(r"^(?:the|an?)\s+", "", subject, flags=re.IGNORECASE)
    words = subject.split()
    if (
        not words
        or len(words) > MAX_SUBJECT_WORDS
        or re.match(r"^(?:the|this|that|it|they)\b", subject, re.I)
    ):
        return None
    if re.match(r"^(?:main|key|best|difference|purpose|goal|role|size|number|accuracy)\b", subject, re.I):
        return None
    return subject


def defines(sentence: str, subject: str) -> bool:
    """Whether ``sentence`` says what ``subject`` is: "X is a ...", "X, an agent that ...", "we
    propose/introduce ... X", "... called X", "long form (X)"."""
    s = re.escape(subject)
    name = rf"(?<![\w-]){s}(?![\w-])"
    aside = r"(?:\s*\([^)]{1,60}\))?"
    patterns = (
        rf"{name}{aside}\s*,?\s+(?:is|are|was|refers\s+to|denotes|stands\s+for|consists\s+of)\s+(?:a|an|the|one)\b",
        rf"{name}{aside}\s*[,:–—-]\s*(?:a|an|the|which|that)\b",
        rf"\b(?:propos|present|introduc|develop|design|build|buil|call|nam|dub|term|coin)\w*\s+(?:[\w^-]+,?\s+){{0,8}}?{name}",
        rf"\(\s*{s}\s*\)",
    )
    return any(re.search(p, sentence, re.IGNORECASE) for p in patterns)


def mentions(sentence: str, subject: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(subject)}(?![\w-])", sentence, re.IGNORECASE) is not None


def answer_scores(
    sentences: Sequence[Sentence], similarity: np.ndarray, passages: Sequence[Passage], question: str
) -> np.ndarray:
    """Each evidence sentence's score for ``question``: its cosine with the question, plus, for
    a definition question, a bonus for defining (or naming) its subject, and for sitting in the
    abstract or introduction. ``sentences`` index ``passages`` by ``order[0]``."""
    scores = np.asarray(similarity, dtype=np.float64).copy()
    subject = definition_subject(question)
    if subject is None:
        return scores
    for i, sentence in enumerate(sentences):
        if defines(sentence.text, subject):
            scores[i] += DEFINES_BONUS
        elif mentions(sentence.text, subject):
            scores[i] += MENTIONS_BONUS
        section = passages[sentence.order[0]].section or ""
        if _OPENING_SECTIONS.match(section.strip()):
            scores[i] += OPENING_BONUS
    return scores


def term_shares(sentences: Sequence[Sentence], terms: Mapping[str, float]) -> np.ndarray:
    """Each sentence's share of the question's terms (``Retrieval.terms``: stemmed as the
    lexical index stems them, each weighed by its IDF in the library) that it holds: the
    embedder alone ranks a paper's opening sentence, which restates its subject, above the
    one that answers in the question's own rare words."""
    total = sum(terms.values())
    if total <= 0:
        return np.zeros(len(sentences))
    return np.array([sum(terms[t] for t in set(tokens(s.text)) if t in terms) / total for s in sentences])
