"""Forecasting and classification metrics in plain numpy.

Regression metrics compare every element of ``y_true`` with the element at the
same position of ``y_pred`` (multi-step targets of shape ``(n, horizon)`` are
averaged over all steps). Classification metrics take class labels; a 2-D
``y_pred`` of scores (logits or probabilities, one column per class) is turned
into labels with ``argmax`` first.

The definitions follow scikit-learn (``mean_absolute_error``,
``balanced_accuracy_score``, ``f1_score(average="macro", zero_division=0)``,
``confusion_matrix``), and the test suite checks them against it.

Every metric takes ``sample_weight`` (one non-negative weight per sample, e.g. the ``"weight"``
of seqprep's dict batches): a sample's error (its mean over the horizon and outputs) counts in
proportion to its weight, ``sum(w_i * e_i) / sum(w_i)``, as scikit-learn's ``sample_weight``
(for RMSE, the root of the weighted mean of squared errors).

Examples
--------
>>> from seqprep.metrics import regression_metrics, classification_metrics
>>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
{'mae': 0.666..., 'rmse': 1.154..., 'smape': 16.66...}
>>> classification_metrics([0, 0, 1, 1], [0, 1, 1, 1])
{'accuracy': 0.75, 'balanced_accuracy': 0.75, 'macro_f1': 0.733...}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import param_error
from ..exceptions import DataError, ShapeError

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "classification_metrics",
    "confusion_matrix",
    "macro_f1",
    "mae",
    "regression_metrics",
    "rmse",
    "smape",
]


# ----------------------------------------------------------------------------- checks
def _weights(sample_weight: Any, n: int) -> np.ndarray | None:
    """``sample_weight`` as float64 ``(n,)``, checked: finite, non-negative, not all zero; None stays None."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64) if not isinstance(sample_weight, str) else None
    if w is None or w.ndim != 1 or w.shape[0] != n:
        raise param_error("sample_weight", f"one weight per sample, shape ({n},)", sample_weight,
                          "Pass the weights of the same samples (windows) as y_true.")
    if not np.all(np.isfinite(w)) or bool((w < 0).any()):
        raise param_error("sample_weight", "finite weights >= 0", sample_weight,
                          "Weights scale each sample's share of the score: use values >= 0.")
    if not w.sum() > 0:
        raise param_error("sample_weight", "weights whose sum is > 0", sample_weight,
                          "At least one sample must count: give it a positive weight.")
    return w


def _mean(values: np.ndarray, w: np.ndarray | None) -> float:
    """Mean over samples of each sample's mean over its other axes, weighted by *w* when given."""
    if w is None:
        return float(np.mean(values))
    per_sample = values.reshape(len(values), -1).mean(axis=1) if values.ndim > 1 else values
    return float(np.sum(per_sample * w) / np.sum(w))


def _regression_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return float arrays of the same shape, or raise a ShapeError/DataError that says why."""
    yt = np.asarray(y_true, dtype=np.float64)
    yp = np.asarray(y_pred, dtype=np.float64)
    if yt.shape != yp.shape:
        # (n,) against (n, 1) is the classic silent-broadcast mistake: accept it explicitly.
        if yt.size == yp.size and yt.squeeze().shape == yp.squeeze().shape:
            yt, yp = yt.reshape(-1), yp.reshape(-1)
        else:
            raise ShapeError(
                f"`y_true` and `y_pred` must have the same shape. Received: y_true.shape={yt.shape}, "
                f"y_pred.shape={yp.shape}. Compare predictions with the targets of the same windows."
            )
    if yt.size == 0:
        raise DataError("`y_true` is empty: there is nothing to score. Pass at least one target.")
    for name, arr in (("y_true", yt), ("y_pred", yp)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise DataError(
                f"`{name}` holds {bad} non-finite value(s) (NaN or inf) out of {arr.size}. "
                "Drop or fill them before scoring."
            )
    return yt, yp


def labels_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return two 1-D label arrays of equal length; 2-D scores in ``y_pred`` become argmax labels."""
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    if yt.ndim == 2 and yt.shape[1] == 1:
        yt = yt[:, 0]
    if yp.ndim == 2 and yp.shape[1] == 1:
        yp = yp[:, 0]
    if yp.ndim == 2 and yt.ndim == 1:
        yp = np.argmax(yp, axis=1)
    if yt.ndim != 1 or yp.ndim != 1:
        raise ShapeError(
            "Class labels must be 1-D arrays of shape (n_samples,). Received: "
            f"y_true.shape={yt.shape}, y_pred.shape={yp.shape}. Pass labels, or scores of shape "
            "(n_samples, n_classes) as `y_pred`."
        )
    if yt.shape != yp.shape:
        raise ShapeError(
            f"`y_true` and `y_pred` must have the same length. Received: {yt.shape[0]} and {yp.shape[0]} labels."
        )
    if yt.size == 0:
        raise DataError("`y_true` is empty: there is nothing to score. Pass at least one label.")
    return yt, yp


def _resolve_labels(yt: np.ndarray, yp: np.ndarray, labels: Sequence[Any] | np.ndarray | None) -> np.ndarray:
    if labels is None:
        return np.union1d(yt, yp)
    out = np.asarray(labels)
    if out.ndim != 1 or out.size == 0:
        raise param_error("labels", "a non-empty 1-D sequence of class labels", labels)
    if np.unique(out).size != out.size:
        raise param_error("labels", "a sequence without repeated labels", labels)
    return out


# ----------------------------------------------------------------------------- regression
def mae(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Mean absolute error.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    y_pred : array-like of the same shape as ``y_true``
        Predictions.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample (see the module docstring).

    Returns
    -------
    float
        ``mean(|y_true - y_pred|)`` over all elements, in the units of the targets.

    Examples
    --------
    >>> mae([1.0, 2.0], [2.0, 4.0])
    1.5
    >>> mae([1.0, 2.0], [2.0, 4.0], sample_weight=[3.0, 1.0])
    1.25
    """
    yt, yp = _regression_pair(y_true, y_pred)
    return _mean(np.abs(yt - yp), _weights(sample_weight, len(yt)))


def rmse(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Root mean squared error.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    y_pred : array-like of the same shape as ``y_true``
        Predictions.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample: the root of the weighted mean of the squared errors.

    Returns
    -------
    float
        ``sqrt(mean((y_true - y_pred) ** 2))`` over all elements.

    Examples
    --------
    >>> rmse([0.0, 0.0], [3.0, 4.0])
    3.535...
    """
    yt, yp = _regression_pair(y_true, y_pred)
    return float(np.sqrt(_mean((yt - yp) ** 2, _weights(sample_weight, len(yt)))))


def smape(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Symmetric mean absolute percentage error, in percent (0 to 200).

    ``100 * mean(2 |y - p| / (|y| + |p|))``, where a pair with ``y == p == 0``
    counts as a perfect forecast (0) instead of ``0 / 0``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    y_pred : array-like of the same shape as ``y_true``
        Predictions.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample (see the module docstring).

    Returns
    -------
    float
        sMAPE in percent.

    Examples
    --------
    >>> smape([100.0, 0.0], [110.0, 0.0])
    4.76...
    """
    yt, yp = _regression_pair(y_true, y_pred)
    denom = np.abs(yt) + np.abs(yp)
    num = 2.0 * np.abs(yt - yp)
    ratio = np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)
    return 100.0 * _mean(ratio, _weights(sample_weight, len(yt)))


def regression_metrics(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> dict[str, float]:
    """MAE, RMSE and sMAPE in one dictionary.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets, in the units the scores should be reported in (un-scale first).
    y_pred : array-like of the same shape as ``y_true``
        Predictions.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample (see the module docstring).

    Returns
    -------
    dict
        ``{"mae": ..., "rmse": ..., "smape": ...}``.

    Examples
    --------
    >>> regression_metrics([1.0, 1.0], [1.0, 3.0])["mae"]
    1.0
    """
    w = sample_weight
    return {"mae": mae(y_true, y_pred, sample_weight=w), "rmse": rmse(y_true, y_pred, sample_weight=w),
            "smape": smape(y_true, y_pred, sample_weight=w)}


# ----------------------------------------------------------------------------- classification
def confusion_matrix(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | np.ndarray | None = None, *, sample_weight: Any = None
) -> np.ndarray:
    """Count matrix with true classes in rows and predicted classes in columns.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted labels, or scores whose ``argmax`` is the predicted class index.
    labels : sequence, optional
        Order of the rows and columns. Default: the sorted union of the labels
        seen in ``y_true`` and ``y_pred``. Samples whose labels are not listed
        are left out.
    sample_weight : array-like of shape (n_samples,), optional
        Each sample counts its weight instead of 1 (the matrix is then float64).

    Returns
    -------
    ndarray of shape (n_labels, n_labels), dtype int64 (float64 with weights)
        ``cm[i, j]`` counts samples of class ``labels[i]`` predicted as ``labels[j]``.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1], [0, 1, 1])
    array([[1, 1],
           [0, 1]])
    """
    yt, yp = labels_pair(y_true, y_pred)
    w = _weights(sample_weight, len(yt))
    labs = _resolve_labels(yt, yp, labels)
    order = np.argsort(labs, kind="stable")
    sorted_labs = labs[order]

    def position(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.clip(np.searchsorted(sorted_labs, values), 0, len(sorted_labs) - 1)
        found = sorted_labs[idx] == values
        return order[idx], found

    ti, t_ok = position(yt)
    pi, p_ok = position(yp)
    keep = t_ok & p_ok
    k = len(labs)
    if w is not None:
        return np.bincount(ti[keep] * k + pi[keep], weights=w[keep], minlength=k * k).reshape(k, k)
    flat = np.bincount(ti[keep] * k + pi[keep], minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def accuracy(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted labels or class scores.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample: the weighted fraction.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.

    Examples
    --------
    >>> accuracy([0, 1, 1, 1], [0, 1, 0, 1])
    0.75
    """
    yt, yp = labels_pair(y_true, y_pred)
    return _mean((yt == yp).astype(np.float64), _weights(sample_weight, len(yt)))


def balanced_accuracy(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Mean recall over the classes present in ``y_true``.

    A constant "majority class" prediction scores ``1 / n_classes`` whatever the
    class balance, which makes this the honest accuracy for imbalanced data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted labels or class scores.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample (recalls from the weighted confusion matrix, as scikit-learn).

    Returns
    -------
    float
        Balanced accuracy in ``[0, 1]``.

    Examples
    --------
    >>> balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0])
    0.5
    """
    yt, yp = labels_pair(y_true, y_pred)
    w = _weights(sample_weight, len(yt))
    classes = np.unique(yt if w is None else yt[w > 0])
    cm = confusion_matrix(yt, yp, labels=classes, sample_weight=w)
    recall = np.diag(cm) / cm.sum(axis=1)
    return float(np.mean(recall))


def macro_f1(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | np.ndarray | None = None, *, sample_weight: Any = None
) -> float:
    """Unweighted mean of the per-class F1 scores.

    A class that is never predicted and never present scores 0 (scikit-learn's
    ``zero_division=0``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted labels or class scores.
    labels : sequence, optional
        Classes to average over. Default: the union of the labels in both arrays.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample (F1 from the weighted confusion matrix, as scikit-learn).

    Returns
    -------
    float
        Macro F1 in ``[0, 1]``.

    Examples
    --------
    >>> macro_f1([0, 0, 1, 1], [0, 0, 1, 0])
    0.733...
    """
    yt, yp = labels_pair(y_true, y_pred)
    labs = _resolve_labels(yt, yp, labels)
    # Count over all classes seen so that false positives/negatives outside `labels` still count.
    everything = np.union1d(np.union1d(yt, yp), labs)
    cm = confusion_matrix(yt, yp, labels=everything, sample_weight=sample_weight).astype(np.float64)
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # = 2 tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    pick = np.searchsorted(everything, labs)
    return float(np.mean(f1[pick]))


def classification_metrics(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | np.ndarray | None = None, *, sample_weight: Any = None
) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro F1 in one dictionary.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted labels, or class scores (logits, probabilities) turned into labels with ``argmax``.
    labels : sequence, optional
        Classes for macro F1. Default: the union of the labels in both arrays.
        Use :func:`confusion_matrix` for the matrix itself.
    sample_weight : array-like of shape (n_samples,), optional
        Weight of each sample (see the module docstring).

    Returns
    -------
    dict
        ``{"accuracy": ..., "balanced_accuracy": ..., "macro_f1": ...}``.

    Examples
    --------
    >>> classification_metrics([0, 1, 2], [[2.0, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 0.5]])["accuracy"]
    0.666...
    """
    yt, yp = labels_pair(y_true, y_pred)
    w = sample_weight
    return {
        "accuracy": accuracy(yt, yp, sample_weight=w),
        "balanced_accuracy": balanced_accuracy(yt, yp, sample_weight=w),
        "macro_f1": macro_f1(yt, yp, labels, sample_weight=w),
    }
