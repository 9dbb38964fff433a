"""Forecasting and classification metrics in plain numpy.

Regression metrics compare every element of ``y_true`` with the element at the
same position of ``y_pred`` (multi-step targets of shape ``(n, horizon)`` are
averaged over all steps). Classification metrics take class labels; a 2-D
``y_pred`` of scores (logits or probabilities, one column per class) is turned
into labels with ``argmax`` first.

The definitions follow scikit-learn (``mean_absolute_error``,
``balanced_accuracy_score``, ``f1_score(average="macro", zero_division=0)``,
``confusion_matrix``), and the test suite checks them against it.

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
def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    y_pred : array-like of the same shape as ``y_true``
        Predictions.

    Returns
    -------
    float
        ``mean(|y_true - y_pred|)`` over all elements, in the units of the targets.

    Examples
    --------
    >>> mae([1.0, 2.0], [2.0, 4.0])
    1.5
    """
    yt, yp = _regression_pair(y_true, y_pred)
    return float(np.mean(np.abs(yt - yp)))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    y_pred : array-like of the same shape as ``y_true``
        Predictions.

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
    return float(np.sqrt(np.mean((yt - yp) ** 2)))


def smape(y_true: Any, y_pred: Any) -> float:
    """Symmetric mean absolute percentage error, in percent (0 to 200).

    ``100 * mean(2 |y - p| / (|y| + |p|))``, where a pair with ``y == p == 0``
    counts as a perfect forecast (0) instead of ``0 / 0``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    y_pred : array-like of the same shape as ``y_true``
        Predictions.

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
    return float(100.0 * np.mean(ratio))


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """MAE, RMSE and sMAPE in one dictionary.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets, in the units the scores should be reported in (un-scale first).
    y_pred : array-like of the same shape as ``y_true``
        Predictions.

    Returns
    -------
    dict
        ``{"mae": ..., "rmse": ..., "smape": ...}``.

    Examples
    --------
    >>> regression_metrics([1.0, 1.0], [1.0, 3.0])["mae"]
    1.0
    """
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred), "smape": smape(y_true, y_pred)}


# ----------------------------------------------------------------------------- classification
def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any] | np.ndarray | None = None) -> np.ndarray:
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

    Returns
    -------
    ndarray of shape (n_labels, n_labels), dtype int64
        ``cm[i, j]`` counts samples of class ``labels[i]`` predicted as ``labels[j]``.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1], [0, 1, 1])
    array([[1, 1],
           [0, 1]])
    """
    yt, yp = labels_pair(y_true, y_pred)
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
    flat = np.bincount(ti[keep] * k + pi[keep], minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted labels or class scores.

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
    return float(np.mean(yt == yp))


def balanced_accuracy(y_true: Any, y_pred: Any) -> float:
    """Mean recall over the classes present in ``y_true``.

    A constant "majority class" prediction scores ``1 / n_classes`` whatever the
    class balance, which makes this the honest accuracy for imbalanced data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted labels or class scores.

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
    classes = np.unique(yt)
    cm = confusion_matrix(yt, yp, labels=classes)
    recall = np.diag(cm) / cm.sum(axis=1)
    return float(np.mean(recall))


def macro_f1(y_true: Any, y_pred: Any, labels: Sequence[Any] | np.ndarray | None = None) -> float:
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
    cm = confusion_matrix(yt, yp, labels=everything).astype(np.float64)
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # = 2 tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    pick = np.searchsorted(everything, labs)
    return float(np.mean(f1[pick]))


def classification_metrics(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | np.ndarray | None = None
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
    return {
        "accuracy": accuracy(yt, yp),
        "balanced_accuracy": balanced_accuracy(yt, yp),
        "macro_f1": macro_f1(yt, yp, labels),
    }
