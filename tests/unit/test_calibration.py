"""The calibrated pieces: the logistic regression and cross-validation in numpy, and the shipped
evidence judgement, which the shipped training rows reproduce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import calibration
from assistant.calibration import LogisticModel, fit_logistic, folds, operating_point
from assistant.evaluation import tuning
from assistant.evaluation.tuning import EvidenceTable
from assistant.evidence import FEATURES, FIT, EvidenceModel, shipped
from assistant.retrieval import RetrievalParameters

TABLE = Path(__file__).resolve().parents[1] / "data" / "evidence_features.jsonl"


def test_logistic_regression_recovers_the_signs_and_is_calibrated() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    logit = 2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-logit))).astype(float)
    model = fit_logistic(x, y, ("a", "b", "c"), l2=0.1)
    assert model.coefficients[0] == pytest.approx(2.0, abs=0.2)
    assert model.coefficients[1] == pytest.approx(-1.0, abs=0.15)
    assert abs(model.coefficients[2]) < 0.15
    p = model.probabilities(x)
    for low in (0.1, 0.3, 0.5, 0.7):  # predicted probabilities match observed rates
        band = (p >= low) & (p < low + 0.2)
        assert y[band].mean() == pytest.approx(p[band].mean(), abs=0.05)
    assert model.probability({"a": 0.3, "b": -0.2, "c": 1.0}) == pytest.approx(
        float(model.probabilities(np.array([[0.3, -0.2, 1.0]]))[0])
    )
    assert LogisticModel.from_dict(model.to_dict()) == model


def test_features_beyond_the_fitted_range_are_clipped() -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = fit_logistic(x, [0.0, 0.0, 1.0, 1.0], ("a",), l2=1.0)
    assert model.probability({"a": 100.0}) == pytest.approx(model.probability({"a": 3.0}))


def test_folds_keep_groups_together_and_the_operating_point_bounds_false_refusals() -> None:
    groups = [f"paper{i // 3}" for i in range(60)]
    fold = folds(groups, 5, seed=0)
    assert all(
        len({int(f) for f, g in zip(fold, groups, strict=True) if g == name}) == 1 for name in set(groups)
    )
    assert sorted(set(fold.tolist())) == [0, 1, 2, 3, 4]
    positives = np.linspace(0.0, 1.0, 101)
    cut = operating_point(positives, 0.05)
    assert np.mean(positives < cut) <= 0.05 and np.mean(positives < cut + 0.011) > 0.05


def test_the_shipped_judgement_reproduces_from_its_training_rows() -> None:
    """Refitting the shipped rows (tests/data/evidence_features.jsonl, written with the model by
    tests/bench/bench_retrieval.py --write) gives the shipped coefficients, operating point and
    caution point."""
    table = EvidenceTable.read(TABLE)
    fit = tuning.fit_evidence(table)
    model = shipped()
    assert fit.model.features == model.model.features == FEATURES
    assert np.allclose(fit.model.coefficients, model.model.coefficients, atol=1e-6)
    assert fit.model.intercept == pytest.approx(model.model.intercept, abs=1e-6)
    assert fit.threshold == pytest.approx(model.threshold, abs=1e-6)
    assert fit.caution == pytest.approx(model.caution, abs=1e-6)
    assert fit.threshold < fit.caution
    # the operating point: at most 5% of each library's answerable rows refused, out of fold; the
    # caution point: at most 10% under it
    for library in ("seeds", "aclsum"):
        rows = [k == f"{library}/answerable" for k in table.kinds]
        assert np.mean(fit.cross_validated[rows] < fit.threshold) <= tuning.MAX_FALSE_REFUSALS
        assert np.mean(fit.cross_validated[rows] < fit.caution) <= tuning.MAX_CAUTIONED
    # and the search defaults are the fit file's
    parameters = calibration.shipped(FIT).parameters
    defaults = RetrievalParameters()
    assert defaults.min_answerable_probability == parameters["threshold"]
    assert defaults.caution_probability == parameters["caution"]
    assert {name: getattr(defaults, name) for name in tuning.GRID} == tuning.fitted_parameters(parameters)


def test_the_judgement_flags_weak_evidence_between_its_two_points() -> None:
    model = fit_logistic(np.array([[0.0]] * 10 + [[3.0]] * 10), [0.0] * 10 + [1.0] * 10, ("a",), l2=0.1)
    judgement = EvidenceModel(model, threshold=0.2, caution=0.6)
    low, middle, high = (
        judgement.judge({"a": a, "sentence": 0.5, "lexical_z": 1.0, "coverage": 0.5}) for a in (0.0, 1.5, 3.0)
    )
    assert [e.probability is not None and e.probability < 0.2 for e in (low, middle, high)] == [
        True,
        False,
        False,
    ]
    assert (low.answerable, low.weak, low.caveat) == (False, False, None)
    assert middle.answerable and middle.weak and middle.caveat and "weak evidence" in middle.reason
    assert high.answerable and not high.weak and high.caveat is None
    assert middle.threshold == 0.2 and middle.caution == 0.6
