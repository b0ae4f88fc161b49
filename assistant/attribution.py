"""Attribution: a sentence the writer left uncited gets the given passage that backs it best, when
that backing is clear. Small models answer from their passages almost word for word and cite
little; the code, not the model, then says where each sentence comes from — and marks such a
citation as attributed, never as the model's.

How well a passage backs a sentence (``backing``): 1.0 when the sentence is copied from it;
otherwise the share of the sentence's words found in the passage, each weighted by how rare it is
among the given passages (the words that tell the passages apart), averaged with the cosine of
sentence and passage (the local embedder: paraphrases), then lowered by a quarter for each
number or name of the sentence the passage does not hold (at most by half). A sentence is
attributed to its best passage when the backing clears ``threshold``; one that names a given
paper (its title, or the name before a title's colon) cites that paper.

``threshold`` was chosen by cross-validation on the development questions' reference answers
over the passages search gives for each question (tests/bench/calibrate_attribution.py prints
the figures and the held-out share of attributions on the gold paper).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assistant.citations import quoted, unsupported
from store.lexical import tokens
from store.paper import Paper

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AttributionParameters:
    """Chosen by 5-fold cross-validation over the 75 answerable development questions
    (tests/bench/calibrate_attribution.py): held out, 70% of the reference answers' sentences
    were attributed to a gold paper and 7.2% of the attributions were wrong (a wrong paper, or a
    sentence of another question's answer that nothing given backs); fitted on all, 68% / 4.6%."""

    threshold: float = 0.24
    lexical_weight: float = 0.7  # backing = w * rare-word overlap + (1 - w) * cosine
    min_words: int = 4  # shorter lines ("In summary:", a heading) make no claim to attribute


@dataclass(frozen=True)
class Backing:
    """How well each given passage backs one sentence (aligned with the passages)."""

    scores: npt.NDArray[np.float64]

    @property
    def best(self) -> int:
        return int(np.argmax(self.scores))

    @property
    def score(self) -> float:
        return float(self.scores[self.best]) if len(self.scores) else 0.0


class Attributor:
    """Scores sentences against one set of given passages (their texts and unit vectors)."""

    def __init__(
        self,
        texts: Sequence[str],
        vectors: Sequence[Vector | None],
        parameters: AttributionParameters | None = None,
    ):
        self.texts = list(texts)
        self.vectors = list(vectors)
        self.parameters = parameters or AttributionParameters()
        self._tokens = [set(tokens(t)) for t in self.texts]
        frequency = Counter(w for words in self._tokens for w in words)
        n = len(self.texts)
        self._idf = {w: math.log(1 + n / df) for w, df in frequency.items()}
        self._unseen = math.log(1 + n) if n else 1.0  # a word no passage holds weighs the most

    def backing(self, claim: str, vector: Vector | None) -> Backing:
        """``claim`` (citations removed) against every passage."""
        words = set(tokens(claim))
        weights = {w: self._idf.get(w, self._unseen) for w in words}
        total = sum(weights.values())
        w = self.parameters.lexical_weight
        scores = np.zeros(len(self.texts))
        for i, text in enumerate(self.texts):
            if quoted(claim, text):
                scores[i] = 1.0
                continue
            overlap = sum(weights[x] for x in words & self._tokens[i]) / total if total else 0.0
            passage_vector = self.vectors[i]
            cosine = (
                float(vector @ passage_vector) if vector is not None and passage_vector is not None else 0.0
            )
            numbers, names = unsupported(claim, text)
            penalty = min(0.5, 0.25 * (len(numbers) + len(names)))
            scores[i] = (w * overlap + (1 - w) * max(cosine, 0.0)) * (1 - penalty)
        return Backing(scores)

    def attribute(self, claim: str, vector: Vector | None) -> tuple[int, float] | None:
        """The passage (index) that clearly backs ``claim``, with its backing, or None."""
        if len(claim.split()) < self.parameters.min_words or not self.texts:
            return None
        backing = self.backing(claim, vector)
        if backing.score >= self.parameters.threshold:
            return backing.best, round(backing.score, 4)
        return None


def named_papers(claim: str, papers: Sequence[Paper]) -> list[str]:
    """Keys of the given papers that ``claim`` names: by the name before a title's colon
    ("FineCLIPER: …" → FineCLIPER) or by a whole title of four words or more."""
    found = []
    flat = " ".join(claim.split())
    for paper in papers:
        for name in paper_names(paper):
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", flat, re.IGNORECASE):
                found.append(paper.key)
                break
    return list(dict.fromkeys(found))


def paper_names(paper: Paper) -> list[str]:
    """What a writer may call a paper: its short name (before a colon, one to three words with
    a capital or a digit inside, e.g. "FineCLIPER", "FER-YOLO-Mamba") and its whole title."""
    title = " ".join((paper.title or "").split())
    names = []
    head = re.split(r"\s*[:：]\s+", title, maxsplit=1)[0] if ":" in title or "：" in title else ""
    if (
        head
        and len(head.split()) <= 3
        and len(head) >= 3
        and re.search(r"[A-Z0-9].*[A-Z0-9]|[a-z][A-Z]", head)
    ):
        names.append(head)
    if len(title.split()) >= 4:
        names.append(title.rstrip("."))
    return names
