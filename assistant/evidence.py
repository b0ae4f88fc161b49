"""The evidence judgement: can the library answer this question at all? Decided before any model
is called; a question it judges unanswerable is refused without one.

No single signal separates unanswerable questions: wordy paraphrases have low cosines and share
few words with their paper, while a question about a topic next to the library's (crowd counting
in a library of face papers) shares its words and its neighbourhood. So the judgement is a small
logistic regression over what search measured (``FEATURES``), fitted by cross-validation over
questions (``assistant.evaluation.tuning``; ``tests/bench/bench_retrieval.py --write`` refits it
and prints how it does), whose coefficients ship as data beside this module
(``retrieval_fit.json``). Its output
is calibrated: ``Evidence.probability`` is the estimated probability that the library answers
the question, and the operating point (``RetrievalParameters.min_answerable_probability``) was
chosen for at most 5% false refusals on answerable questions, out of fold.

A model's own judgement. When a language model answers, its refusal (the shared sentinel) is a
second opinion on the same passages, and the two combine asymmetrically: below the operating
point the question is refused without calling the model; above it the model is asked, and its
refusal stands unless ``probability`` is in a confident band above the operating point (which
the answering side chooses: a band set where few unanswerable questions reach, so that a small
model's timid refusal of a plainly answerable question is overridden, while its refusal of a
borderline one is believed). In odds, the model's verdict is one more piece of evidence:
``logit(p_final) = logit(probability) + log(likelihood ratio of the model's verdict)``; with a
small model, whose refusals are frequent and weakly informative, that ratio is near 1 and the
retrieval evidence dominates, which is what the band implements without measuring the ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np

from assistant import calibration
from assistant.calibration import LogisticModel
from assistant.fusion import Signals

FIT = "retrieval_fit"  # assistant/retrieval_fit.json: the fitted model and the operating point
TOP_PAPERS = 3  # the best papers whose coverage of the question counts

# what the judgement weighs, all measured by one search (``measure``); scores that are relative
# to the question's own best papers rather than z-scores over the library, whose scale moves
# with the library's size
FEATURES: tuple[str, ...] = (
    "sentence",  # best cosine of the question as asked with one abstract sentence near it
    "window",  # best cosine of the question as asked with an abstract window (or short abstract)
    "dense_margin",  # the dense side's best paper's cosine above the mean of its next nine
    "dense_gap",  # ... above the second best
    "lexical_z",  # the best paper's BM25 score as a z-score over the library
    # the best BM25 score above the mean of the next nine, as a share of it, times the share of
    # the question that paper holds (one rare word matched in one paper stands out, and says little)
    "lexical_margin",
    "lexical_gap",  # ... above the second best
    "coverage",  # the largest IDF-weighted share of the question's terms one of the best papers holds
    "unknown",  # the IDF-weighted share of the question's terms that no paper holds
    "agreement",  # whether the dense and the lexical side agree on their best papers (0, 0.5, 1)
    "terms",  # log(1 + distinct terms of the question)
)
NEXT = 9  # the papers after the best that a margin compares it with


@dataclass(frozen=True)
class Evidence:
    """Whether the hits can answer the question, and on what grounds: ``score`` ≥ 1 is
    answerable (the probability over the operating point); ``probability`` (None when not
    judged) the calibrated probability that the library answers the question, ``threshold``
    the operating point it was compared with; ``features`` what was weighed."""

    answerable: bool
    score: float
    reason: str
    probability: float | None = None
    features: Mapping[str, float] = field(default_factory=dict)
    threshold: float | None = None
    caution: float | None = None  # the caution point it was compared with
    # answerable, but under the caution point: the best papers may be on a neighbouring topic
    # (answered, with a caveat that says so)
    weak: bool = False
    # judged unanswerable, and answered all the same because the asker said so (``anyway``)
    overruled: bool = False

    def anyway(self) -> Evidence:
        """This evidence for a question answered although it is judged unanswerable (the asker
        overrules the refusal): weak, with a caveat that says the judgement would refuse it."""
        return self if self.answerable else replace(self, weak=True, overruled=True)

    @property
    def caveat(self) -> str | None:
        """The note an answer on weak evidence carries (None when the evidence is not weak)."""
        if not self.weak:
            return None
        doubt = (
            "the library may hold no paper on this question, and the closest papers may be on a "
            "neighbouring topic"
        )
        if self.overruled:
            return f"asked anyway, although the evidence judgement would refuse it: {self._why()}; {doubt}"
        return f"weak evidence ({self.probability or 0:.0%} likely answerable): {doubt}"

    def _why(self) -> str:
        """Why the judgement refuses: the probability under the operating point, or the reason."""
        if self.probability is not None and self.threshold is not None:
            cut = f"under {self.threshold:.0%}, a question is refused"
            return f"{self.probability:.0%} likely answerable ({cut})"
        return self.reason

    def refusal(self, nearest: Sequence[str] = ()) -> str:
        """The note of a question refused on this evidence, before any model was asked: why, and
        the papers that came nearest (their labels), so that a researcher can look at them, ask
        again in their words, or have it answered anyway."""
        note = f"refused before any model was asked: {self._why()}"
        if nearest:
            note += "; the nearest papers, judged not to answer it: " + "; ".join(nearest)
        return note


def measure(
    signals: Signals, fused: np.ndarray, *, sentence: float, window: float, terms: int
) -> dict[str, float]:
    """The features of one question from its signals, its fused scores over the same universe,
    the best sentence and window cosines of the question as asked, and its number of distinct
    terms (the lexical side may know none of them)."""
    features = {
        **dict.fromkeys(FEATURES, 0.0),
        "sentence": sentence,
        "window": window,
        "unknown": 1.0,
        "terms": math.log1p(terms),
    }
    if not signals.size:
        return features
    best = np.argsort(-fused, kind="stable")[:TOP_PAPERS]
    if signals.dense:
        dense = np.sort(np.max(np.stack(signals.dense), axis=0))[::-1]
        features |= {"dense_margin": _margin(dense), "dense_gap": _gap(dense)}
    if signals.lexical is not None and signals.lex:
        lexical = np.sort(signals.lex[0])[::-1]
        held = signals.reliance / max(float(lexical[0]), 1e-9)  # per unit of the best score
        dense_side, lexical_side = signals.sides()
        top_dense = np.argsort(-dense_side, kind="stable")[:TOP_PAPERS]
        top_lexical = np.argsort(-lexical_side, kind="stable")[:TOP_PAPERS]
        features |= {
            "lexical_z": signals.lexical_z,
            "lexical_margin": _margin(lexical) * held,
            "lexical_gap": _gap(lexical) * held,
            "coverage": float(signals.coverage[best].max()),
            "unknown": signals.lexical.unknown_share,
            "agreement": (float(top_dense[0] in top_lexical) + float(top_lexical[0] in top_dense)) / 2,
        }
    return features


def _margin(ordered: np.ndarray) -> float:
    return float(ordered[0] - ordered[1 : 1 + NEXT].mean()) if len(ordered) > 1 else 0.0


def _gap(ordered: np.ndarray) -> float:
    return float(ordered[0] - ordered[1]) if len(ordered) > 1 else 0.0


@dataclass(frozen=True)
class EvidenceModel:
    """The fitted judgement: a logistic model, the operating point chosen with it, and the
    caution point above it (0: no caveat)."""

    model: LogisticModel
    threshold: float
    caution: float = 0.0

    def judge(
        self, features: Mapping[str, float], threshold: float | None = None, caution: float | None = None
    ) -> Evidence:
        cut = self.threshold if threshold is None else threshold
        careful = self.caution if caution is None else caution
        probability = self.model.probability(features)
        reason = (
            f"{probability:.0%} likely answerable (operating point {cut:.0%}): closest abstract "
            f"sentence {features['sentence']:.2f} cosine; best paper's BM25 z-score "
            f"{features['lexical_z']:.1f}, {features['coverage']:.0%} of the question's terms by rarity"
        )
        weak = cut <= probability < careful
        if weak:
            reason += f"; weak evidence (under {careful:.0%}): the best papers may be on a neighbouring topic"
        return Evidence(
            probability >= cut,
            round(probability / cut, 3) if cut > 0 else 1.0,
            reason,
            probability=round(probability, 4),
            features={k: round(float(v), 4) for k, v in features.items()},
            threshold=cut,
            caution=careful,
            weak=weak,
        )


@cache
def shipped() -> EvidenceModel:
    """The model, operating point and caution point in ``retrieval_fit.json``."""
    fitted = calibration.shipped(FIT)
    return EvidenceModel(
        LogisticModel.from_dict(fitted.model),
        float(fitted.parameters["threshold"]),
        float(fitted.parameters["caution"]),
    )
