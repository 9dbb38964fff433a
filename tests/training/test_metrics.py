from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from seqprep.exceptions import DataError, InvalidParameterError, ShapeError
from seqprep.metrics import (
    accuracy,
    balanced_accuracy,
    classification_metrics,
    confusion_matrix,
    macro_f1,
    mae,
    regression_metrics,
    rmse,
    smape,
)


@pytest.mark.parametrize("shape", [(50,), (20, 3)])
def test_regression_metrics_match_sklearn(rng, shape):
    y = rng.normal(size=shape)
    p = y + rng.normal(scale=0.3, size=shape)
    assert mae(y, p) == pytest.approx(skm.mean_absolute_error(y.ravel(), p.ravel()))
    assert rmse(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y.ravel(), p.ravel())))
    out = regression_metrics(y, p)
    assert set(out) == {"mae", "rmse", "smape"}
    assert all(isinstance(v, float) for v in out.values())


def test_smape_definition_and_zero_pairs():
    y = np.array([100.0, 0.0, -5.0, 0.0])
    p = np.array([110.0, 0.0, 5.0, 2.0])
    expected = 100 * np.mean([20 / 210, 0.0, 2.0, 2.0])
    assert smape(y, p) == pytest.approx(expected)
    assert smape(np.zeros(4), np.zeros(4)) == 0.0
    assert 0.0 <= smape(y, -y + 1) <= 200.0


def test_regression_accepts_column_vs_flat_but_rejects_other_shapes():
    y = np.arange(5.0)
    assert mae(y, y[:, None] + 1) == pytest.approx(1.0)
    with pytest.raises(ShapeError, match="same shape"):
        mae(np.zeros((4, 2)), np.zeros((2, 4)))


def test_regression_rejects_nan_and_empty():
    with pytest.raises(DataError, match="1 non-finite"):
        rmse([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(DataError, match="empty"):
        mae([], [])


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_classification_metrics_match_sklearn(rng, n_classes):
    y = rng.integers(0, n_classes, size=200)
    p = np.where(rng.random(200) < 0.6, y, rng.integers(0, n_classes, size=200))
    assert accuracy(y, p) == pytest.approx(skm.accuracy_score(y, p))
    assert balanced_accuracy(y, p) == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert macro_f1(y, p) == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0))
    np.testing.assert_array_equal(confusion_matrix(y, p), skm.confusion_matrix(y, p))


def test_confusion_matrix_with_labels_order_and_strings():
    y = np.array(["cat", "dog", "dog", "bird", "cat"])
    p = np.array(["dog", "dog", "cat", "bird", "cat"])
    labels = ["dog", "cat", "bird"]
    np.testing.assert_array_equal(confusion_matrix(y, p, labels), skm.confusion_matrix(y, p, labels=labels))
    # labels that leave a class out drop those samples, as sklearn does
    np.testing.assert_array_equal(
        confusion_matrix(y, p, ["dog", "cat"]), skm.confusion_matrix(y, p, labels=["dog", "cat"])
    )
    assert macro_f1(y, p, labels=["dog", "cat"]) == pytest.approx(
        skm.f1_score(y, p, labels=["dog", "cat"], average="macro", zero_division=0)
    )


def test_never_predicted_class_scores_zero_f1():
    y = np.array([0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 1])
    assert macro_f1(y, p) == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0))
    assert balanced_accuracy(np.zeros(4, int), np.zeros(4, int)) == 1.0


def test_scores_are_turned_into_labels():
    y = np.array([0, 1, 2, 1])
    logits = np.eye(3)[[0, 1, 1, 1]] * 5.0
    out = classification_metrics(y, logits)
    assert out["accuracy"] == pytest.approx(0.75)
    np.testing.assert_array_equal(confusion_matrix(y, logits, labels=[0, 1, 2]).sum(axis=1), [1, 2, 1])


def test_classification_errors():
    with pytest.raises(ShapeError, match="same length"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ShapeError, match="1-D"):
        accuracy(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(InvalidParameterError, match="repeated"):
        confusion_matrix([0, 1], [0, 1], labels=[0, 0, 1])
    with pytest.raises(DataError, match="empty"):
        accuracy([], [])


# ----------------------------------------------------------------------------- sample weights
@pytest.mark.parametrize("shape", [(60,), (60, 3)])
def test_weighted_regression_metrics_match_sklearn(rng, shape):
    y = rng.normal(size=shape)
    p = y + rng.normal(scale=0.3, size=shape)
    w = rng.uniform(0.0, 2.0, size=shape[0])
    assert mae(y, p, sample_weight=w) == pytest.approx(skm.mean_absolute_error(y, p, sample_weight=w))
    assert rmse(y, p, sample_weight=w) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p, sample_weight=w)))
    per_sample = (200 * np.abs(y - p) / (np.abs(y) + np.abs(p))).reshape(shape[0], -1).mean(axis=1)
    assert smape(y, p, sample_weight=w) == pytest.approx(np.average(per_sample, weights=w))
    assert regression_metrics(y, p, sample_weight=np.ones(shape[0])) == pytest.approx(regression_metrics(y, p))


def test_weighted_classification_metrics_match_sklearn(rng):
    y = rng.integers(0, 3, size=300)
    p = np.where(rng.random(300) < 0.6, y, rng.integers(0, 3, size=300))
    w = rng.uniform(0.0, 3.0, size=300)
    assert accuracy(y, p, sample_weight=w) == pytest.approx(skm.accuracy_score(y, p, sample_weight=w))
    assert balanced_accuracy(y, p, sample_weight=w) == pytest.approx(
        skm.balanced_accuracy_score(y, p, sample_weight=w))
    assert macro_f1(y, p, sample_weight=w) == pytest.approx(
        skm.f1_score(y, p, average="macro", sample_weight=w, zero_division=0))
    np.testing.assert_allclose(confusion_matrix(y, p, sample_weight=w), skm.confusion_matrix(y, p, sample_weight=w))
    assert set(classification_metrics(y, p, sample_weight=w)) == {"accuracy", "balanced_accuracy", "macro_f1"}


@pytest.mark.parametrize(
    ("w", "match"),
    [([1.0, 1.0], r"shape \(3,\)"), ([1.0, -1.0, 1.0], ">= 0"), ([1.0, np.nan, 1.0], "finite"),
     ([0.0, 0.0, 0.0], "sum is > 0"), ("abc", "one weight per sample")],
)
def test_sample_weight_is_validated(w, match):
    with pytest.raises(InvalidParameterError, match=match):
        mae([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], sample_weight=w)
    with pytest.raises(InvalidParameterError, match=match):
        accuracy([0, 1, 1], [0, 1, 0], sample_weight=w)
