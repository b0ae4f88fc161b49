"""Small calibrated models fitted to evaluation data, and the honest way to fit them: k-fold
cross-validation over groups of questions, so that every figure a benchmark reports beside the
fitted one comes from questions the model did not see.

Written with numpy rather than taken from scikit-learn or scipy: neither is a dependency of the
project, and an L2-regularised logistic regression by Newton's method is twenty lines. Its
loss is convex, so Newton's method reaches the one optimum from zero in a few steps, and the
same data give the same coefficients on any machine (the unit tests refit the shipped data).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
PACKAGE = Path(__file__).parent


@dataclass(frozen=True)
class LogisticModel:
    """P(y = 1 | x) = sigmoid(intercept + Σ coefficient_i · (x_i - mean_i) / scale_i), over named
    features; standardising first makes one L2 penalty fit features of any scale."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    # the range each feature had in the fitted data: values beyond it are clipped to it, so that
    # a library unlike the fitted ones (three papers, a million) cannot push the model into
    # regions it has never seen
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    def logit(self, values: Mapping[str, float]) -> float:
        return float(self._logits(np.array([[float(values[name]) for name in self.features]]))[0])

    def probability(self, values: Mapping[str, float]) -> float:
        return sigmoid(self.logit(values))

    def probabilities(self, x: Matrix) -> npt.NDArray[np.float64]:
        """For a matrix whose columns are ``features`` in order."""
        return 1 / (1 + np.exp(-self._logits(x)))

    def _logits(self, x: Matrix) -> npt.NDArray[np.float64]:
        x = np.asarray(x, dtype=np.float64)
        if self.low and self.high:
            x = np.clip(x, np.array(self.low), np.array(self.high))
        z = (x - np.array(self.mean)) / np.array(self.scale)
        return np.asarray(z @ np.array(self.coefficients) + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogisticModel:
        return cls(
            features=tuple(data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coefficients=tuple(float(v) for v in data["coefficients"]),
            intercept=float(data["intercept"]),
            low=tuple(float(v) for v in data.get("low", ())),
            high=tuple(float(v) for v in data.get("high", ())),
        )


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def fit_logistic(
    x: Matrix,
    y: Sequence[float] | npt.NDArray[np.float64],
    features: Sequence[str],
    *,
    l2: float = 1.0,
    weights: Sequence[float] | npt.NDArray[np.float64] | None = None,
    iterations: int = 100,
) -> LogisticModel:
    """Weighted logistic regression with an L2 penalty ``l2`` on the standardised coefficients
    (not on the intercept), by Newton's method."""
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(y, dtype=np.float64)
    w = np.ones(len(target)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    design = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    penalty = l2 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(design @ beta)))
        gradient = design.T @ (w * (p - target)) + penalty @ beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(beta)), gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    return LogisticModel(
        features=tuple(features),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coefficients=tuple(float(v) for v in beta[:-1]),
        intercept=float(beta[-1]),
        low=tuple(float(v) for v in x.min(axis=0)),
        high=tuple(float(v) for v in x.max(axis=0)),
    )


def folds(groups: Sequence[str], k: int, *, seed: int = 0) -> npt.NDArray[np.int64]:
    """A fold (0..k-1) per item; items of one group (the questions about one paper, say) share
    a fold, so no fold is scored on a near copy of what it was fitted on. Groups are dealt out
    in a seeded random order."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = {names[i]: n % k for n, i in enumerate(order)}
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def cross_validated(
    n: int, fold: npt.NDArray[np.int64], predict: Callable[[npt.NDArray[np.bool_]], npt.NDArray[Any]]
) -> npt.NDArray[Any]:
    """Out-of-fold predictions: ``predict(train_mask)`` fits on the items of ``train_mask`` and
    returns a prediction for every item; each item keeps the one made without its fold."""
    out: npt.NDArray[Any] | None = None
    for f in sorted(set(fold.tolist())):
        held = fold == f
        predicted = np.asarray(predict(~held))
        if out is None:
            out = np.zeros((n, *predicted.shape[1:]), dtype=predicted.dtype)
        out[held] = predicted[held]
    assert out is not None
    return out


def operating_point(positives: Sequence[float] | npt.NDArray[np.float64], max_false: float) -> float:
    """The highest threshold that leaves at most ``max_false`` of ``positives`` (scores of
    answerable questions) below it: refuse below it."""
    ordered = np.sort(np.asarray(positives, dtype=np.float64))
    if not len(ordered):
        return 0.0
    allowed = math.floor(max_false * len(ordered) + 1e-9)  # how many may fall below
    return float(ordered[allowed]) if allowed < len(ordered) else float(ordered[-1])


@dataclass(frozen=True)
class FittedFile:
    """A model with what it was fitted on and how it did, as a JSON file in the package."""

    model: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    fitted_on: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> FittedFile:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)


@cache
def shipped(name: str) -> FittedFile:
    """The fit file ``name`` shipped in the package (``assistant/<name>.json``)."""
    return FittedFile.read(PACKAGE / f"{name}.json")
