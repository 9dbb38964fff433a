"""Honest baselines, computed on the same test windows as the model.

A model's score means little without the score of a trivial forecaster on the
same windows. These baselines take the windows ``X`` of shape
``(n_windows, lookback, n_features)`` that the model sees (the ``(N, T, C)``
layout) and need nothing else, so they cannot see the future:

* :func:`persistence` -- "tomorrow equals today": the last input value of the target.
* :func:`seasonal_naive` -- the value one season before the target time.
* :class:`RidgeBaseline` -- closed-form ridge regression on the flattened windows.
* :func:`majority_class` and :func:`nearest_neighbour_1` -- for classification.
* :func:`minirocket_classifier` and :func:`minirocket_regressor` -- MiniRocket features and a ridge
  with leave-one-out penalty (Dempster et al. 2021): near InceptionTime on the UCR archive in seconds
  of CPU, so the yardstick a deep classifier of cases must beat.

Baselines work in the units of ``X``. If ``X`` is scaled, un-scale the
predictions (or score everything in scaled units) before comparing.

Examples
--------
>>> import numpy as np
>>> from seqprep.baselines import persistence
>>> X = np.arange(12.0).reshape(2, 3, 2)   # 2 windows, lookback 3, 2 features
>>> persistence(X, target_index=1)
array([ 5., 11.])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._threads import one_blas_thread
from .._validation import check_float, check_int, check_int_sequence, check_is_fitted
from ..exceptions import DataError, ShapeError

__all__ = [
    "RidgeBaseline",
    "majority_class",
    "minirocket_classifier",
    "minirocket_regressor",
    "nearest_neighbour_1",
    "persistence",
    "seasonal_naive",
]


def _windows_3d(X: Any, name: str = "X") -> np.ndarray:
    arr = np.asarray(X)
    if arr.ndim != 3:
        raise ShapeError(
            f"`{name}` must be windows of shape (n_windows, lookback, n_features). Received: "
            f"{name}.shape={arr.shape}. Pass the (N, T, C) windows, e.g. X[..., None] for one feature."
        )
    return arr


def _target_column(X: np.ndarray, target_index: Any) -> np.ndarray:
    idx = check_int(target_index, "target_index", minimum=0, maximum=X.shape[2] - 1)
    return X[:, :, idx]


def _flat(X: Any, name: str) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim < 2:
        raise ShapeError(
            f"`{name}` must have one row per window, shape (n_windows, ...). Received: {name}.shape={arr.shape}."
        )
    return arr.reshape(arr.shape[0], -1)


def persistence(X: Any, target_index: int, steps: int | None = None) -> np.ndarray:
    """Predict the last observed value of the target feature ("naive" forecast).

    Parameters
    ----------
    X : ndarray of shape (n_windows, lookback, n_features)
        Input windows, in whatever units (scaled or not) the caller compares in.
    target_index : int
        Column of the target feature in ``X``.
    steps : int, optional
        For multi-step targets, repeat the value over ``steps`` columns.

    Returns
    -------
    ndarray of shape (n_windows,) or (n_windows, steps)
        ``X[:, -1, target_index]``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[[1.0], [2.0], [3.0]]])
    >>> persistence(X, 0), persistence(X, 0, steps=2)
    (array([3.]), array([[3., 3.]]))
    """
    arr = _windows_3d(X)
    last = _target_column(arr, target_index)[:, -1].copy()
    if steps is None:
        return last
    steps = check_int(steps, "steps", minimum=1)
    return np.repeat(last[:, None], steps, axis=1)


def seasonal_naive(X: Any, target_index: int, period: int, horizon: int | Any = 1) -> np.ndarray:
    """Predict the value observed one season before the target time.

    With windows ending at row ``t`` and a target at ``t + horizon``, the
    forecast is the value at ``t + horizon - period``. When ``horizon > period``
    that row is not in the window yet; the value ``k`` whole periods back is used,
    ``k = ceil(horizon / period)``.

    Parameters
    ----------
    X : ndarray of shape (n_windows, lookback, n_features)
        Input windows.
    target_index : int
        Column of the target feature in ``X``.
    period : int
        Season length in rows (e.g. 24 for hourly data with a daily cycle).
    horizon : int or sequence of int, default 1
        How many rows after the window's last row the target lies. A sequence
        gives one column per horizon.

    Returns
    -------
    ndarray of shape (n_windows,) or (n_windows, n_horizons)
        Seasonal-naive forecasts.

    Raises
    ------
    DataError
        If the windows are too short: ``lookback`` must be at least
        ``k * period - horizon + 1`` (``period - horizon + 1`` when ``horizon <= period``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0).reshape(1, 6, 1)   # values 0..5 at rows t-5..t
    >>> seasonal_naive(X, 0, period=4)        # target at t+1, one period earlier is t-3
    array([2.])
    >>> seasonal_naive(X, 0, period=4, horizon=[1, 2])
    array([[2., 3.]])
    """
    arr = _windows_3d(X)
    column = _target_column(arr, target_index)
    period = check_int(period, "period", minimum=1)
    horizons, scalar = check_int_sequence(horizon, "horizon", minimum=1)
    lookback = arr.shape[1]
    positions = []
    for h in horizons:
        back = math.ceil(h / period) * period  # distance from target back to the value used
        pos = lookback - 1 + h - back
        if pos < 0:
            raise DataError(
                f"seasonal_naive needs lookback >= {back - h + 1} for period={period}, horizon={h}; "
                f"the windows have lookback={lookback}. Build windows with a longer lookback or use persistence."
            )
        positions.append(pos)
    out = column[:, positions].astype(np.result_type(column.dtype, np.float64), copy=True)
    return out[:, 0] if scalar else out


class RidgeBaseline:
    """Closed-form ridge regression on flattened windows, with an unpenalised intercept.

    ``X`` of shape ``(n, lookback, n_features)`` is flattened to ``(n, d)``,
    ``d = lookback * n_features``. The weights solve
    ``(Xc^T Xc + alpha I) w = Xc^T yc`` on centred data when ``d <= n``, and the
    equivalent dual system ``(Xc Xc^T + alpha I) a = yc, w = Xc^T a`` when ``d > n``.
    Fit it on scaled training windows (as the model is), never on test windows.

    Parameters
    ----------
    alpha : float, default 1.0
        L2 penalty, ``>= 0``. ``alpha=0`` is ordinary least squares (solved with
        ``lstsq`` when the system is singular).

    Attributes
    ----------
    coef_ : ndarray of shape (d,) or (d, n_outputs)
        Weights on the flattened window.
    intercept_ : float or ndarray of shape (n_outputs,)
        Intercept.
    n_features_in_ : int
        ``d``, the flattened width seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 4, 2))
    >>> y = 2.0 * X[:, -1, 0] + 1.0
    >>> model = RidgeBaseline(alpha=1e-6).fit(X, y)
    >>> bool(np.allclose(model.predict(X), y, atol=1e-4))
    True
    >>> round(float(model.coef_.reshape(4, 2)[-1, 0]), 3), round(float(model.intercept_), 3)
    (2.0, 1.0)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha
        self.coef_: np.ndarray | None = None
        self.intercept_: Any = None
        self.n_features_in_: int | None = None

    def fit(self, X: Any, y: Any) -> RidgeBaseline:
        """Fit the weights in closed form.

        Parameters
        ----------
        X : ndarray of shape (n_windows, ...)
            Training windows; every dimension after the first is flattened.
        y : ndarray of shape (n_windows,) or (n_windows, n_outputs)
            Targets.

        Returns
        -------
        RidgeBaseline
            ``self``.
        """
        alpha = check_float(self.alpha, "alpha", minimum=0.0)
        A = _flat(X, "X")
        t = np.asarray(y, dtype=np.float64)
        if t.shape[:1] != A.shape[:1] or t.ndim > 2:
            raise ShapeError(
                f"`y` must have shape (n_windows,) or (n_windows, n_outputs) with n_windows={A.shape[0]}. "
                f"Received: y.shape={t.shape}."
            )
        if not (np.isfinite(A).all() and np.isfinite(t).all()):
            raise DataError("RidgeBaseline.fit received NaN or inf in `X` or `y`. Clean the windows first.")
        x_mean, y_mean = A.mean(axis=0), t.mean(axis=0)
        Ac, tc = A - x_mean, t - y_mean
        n, d = Ac.shape
        # One BLAS thread, as every seqprep reduction: two spin and stall beside a busy process (docs/performance.md).
        with one_blas_thread():
            try:
                if d <= n:
                    coef = np.linalg.solve(Ac.T @ Ac + alpha * np.eye(d), Ac.T @ tc)
                else:
                    coef = Ac.T @ np.linalg.solve(Ac @ Ac.T + alpha * np.eye(n), tc)
            except np.linalg.LinAlgError:
                coef = np.linalg.lstsq(Ac, tc, rcond=None)[0]
        self.coef_ = coef
        self.intercept_ = y_mean - x_mean @ coef
        self.n_features_in_ = d
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict targets for windows.

        Parameters
        ----------
        X : ndarray of shape (n_windows, ...)
            Windows with the same shape per window as in ``fit``.

        Returns
        -------
        ndarray of shape (n_windows,) or (n_windows, n_outputs)
            Predictions.
        """
        check_is_fitted(self, "coef_")
        A = _flat(X, "X")
        if A.shape[1] != self.n_features_in_:
            raise ShapeError(
                f"X has {A.shape[1]} values per window (flattened), but RidgeBaseline was fitted with "
                f"{self.n_features_in_}. Use windows with the same lookback and features as in fit."
            )
        return A @ self.coef_ + self.intercept_


def majority_class(y_train: Any, n: int) -> np.ndarray:
    """Predict the most frequent training label for ``n`` samples.

    Parameters
    ----------
    y_train : array-like of shape (n_train,)
        Training labels. Ties go to the smallest label.
    n : int
        Number of predictions.

    Returns
    -------
    ndarray of shape (n,)
        The majority label repeated.

    Examples
    --------
    >>> majority_class([0, 1, 1, 2], 3)
    array([1, 1, 1])
    """
    labels = np.asarray(y_train).reshape(-1)
    if labels.size == 0:
        raise DataError("`y_train` is empty: there is no majority class. Pass the training labels.")
    n = check_int(n, "n", minimum=0)
    values, counts = np.unique(labels, return_counts=True)
    return np.full(n, values[np.argmax(counts)], dtype=labels.dtype)


def nearest_neighbour_1(X_train: Any, y_train: Any, X_test: Any, chunk_size: int = 1024) -> np.ndarray:
    """Label each test window with the label of its nearest training window (Euclidean, flattened).

    Distances are computed in chunks of ``chunk_size`` test windows as
    ``|a|^2 - 2 a.b + |b|^2``, so memory stays at ``chunk_size * n_train`` floats.
    Ties go to the earliest training window.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, ...)
        Training windows.
    y_train : array-like of shape (n_train,)
        Training labels (or values: 1-NN regression works the same way).
    X_test : ndarray of shape (n_test, ...)
        Test windows with the same shape per window.
    chunk_size : int, default 1024
        Test windows per distance block.

    Returns
    -------
    ndarray of shape (n_test,)
        Predicted labels.

    Examples
    --------
    >>> import numpy as np
    >>> X_train = np.array([[[0.0]], [[10.0]]])
    >>> nearest_neighbour_1(X_train, ["low", "high"], np.array([[[1.0]], [[8.0]]]))
    array(['low', 'high'], dtype='<U4')
    """
    A = _flat(X_train, "X_train")
    B = _flat(X_test, "X_test")
    labels = np.asarray(y_train)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    if A.shape[0] == 0:
        raise DataError("`X_train` is empty: 1-NN needs at least one training window.")
    if labels.shape[:1] != A.shape[:1]:
        raise ShapeError(f"`y_train` must have {A.shape[0]} labels, one per window. Received: {labels.shape[0]}.")
    if A.shape[1] != B.shape[1]:
        raise ShapeError(
            f"X_test has {B.shape[1]} values per window (flattened) but X_train has {A.shape[1]}. "
            "Use windows of the same lookback and features."
        )
    a_sq = np.einsum("ij,ij->i", A, A)
    nearest = np.empty(B.shape[0], dtype=np.intp)
    with one_blas_thread():  # steady beside a busy process, and the same ties whatever the core count
        for start in range(0, B.shape[0], chunk_size):
            block = B[start : start + chunk_size]
            dist = a_sq[None, :] - 2.0 * (block @ A.T)  # |b|^2 is constant per row: not needed for argmin
            nearest[start : start + len(block)] = np.argmin(dist, axis=1)
    return labels[nearest]


#: Above this many training cases a run fits the MiniRocket baseline on a sample of this many (and says so): the
#: features take ``n_train x 9,996`` floats and the ridge's leave-one-out an ``n_train``-square
#: eigendecomposition (measured here, cases of 128 steps: 6,000 take 39 s and 2.3 GB, 10,000 take 192 s and
#: 5.2 GB; docs/results.md 4.13), so a baseline would cost more than many a network's training.
MINIROCKET_MAX_CASES = 5_000


def _minirocket_inputs(X_train: Any, X_test: Any, lengths_train: Any, lengths_test: Any, n_labels: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray, Any, Any, int]:
    A, B = _windows_3d(X_train, "X_train"), _windows_3d(X_test, "X_test")
    seed = check_int(seed, "seed", minimum=0)
    if A.shape[0] == 0:
        raise DataError("`X_train` is empty: MiniRocket needs at least one training case.")
    if n_labels != A.shape[0]:
        raise ShapeError(f"`y_train` must have {A.shape[0]} labels, one per case. Received: {n_labels}.")
    if A.shape[2] != B.shape[2]:
        raise ShapeError(f"X_test has {B.shape[2]} channel(s) but X_train has {A.shape[2]}. They must match.")
    for name, X in (("X_train", A), ("X_test", B)):
        if np.isinf(X).any():  # NaN is padding; an infinite value would make every feature meaningless
            raise DataError(f"`{name}` holds infinite values. Replace or drop them before the baseline (NaN marks "
                            "padding after a case's valid steps).")
    for name, lengths, X in (("lengths_train", lengths_train, A), ("lengths_test", lengths_test, B)):
        if lengths is not None and np.asarray(lengths).shape != (X.shape[0],):
            raise ShapeError(f"`{name}` must hold one length per case ({X.shape[0]}). Received shape "
                             f"{np.asarray(lengths).shape}.")
    return A, B, lengths_train, lengths_test, seed


def minirocket_classifier(X_train: Any, y_train: Any, X_test: Any, lengths_train: Any = None,
                          lengths_test: Any = None, seed: int = 0) -> np.ndarray:
    """Label test cases with MiniRocket features and a ridge classifier (the paper's defaults, untuned).

    Parameters
    ----------
    X_train : ndarray of shape (n_train, steps, channels)
        Training cases (NaN or zero padding after each case's valid steps).
    y_train : array-like of shape (n_train,)
        Training labels.
    X_test : ndarray of shape (n_test, steps, channels)
        Test cases with the same channels.
    lengths_train, lengths_test : array-like of int, optional
        Valid steps of each case (unequal lengths); by default every step is valid.
    seed : int, default 0
        Seeds which training case sets each bias, and the channel subsets.

    Returns
    -------
    ndarray of shape (n_test,)
        Predicted labels.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 60)
    >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in [2, 2.2, 2.1, 6, 6.3, 5.9]])[:, :, None]
    >>> minirocket_classifier(X[[0, 1, 3, 4]], ["slow", "slow", "fast", "fast"], X[[2, 5]]).tolist()
    ['slow', 'fast']
    """
    from ..rocket import MiniRocket, RidgeClassifierLOO

    labels = np.asarray(y_train).reshape(-1)
    A, B, ltr, lte, seed = _minirocket_inputs(X_train, X_test, lengths_train, lengths_test, labels.size, seed)
    classes, codes = np.unique(labels, return_inverse=True)
    transform = MiniRocket(seed=seed).fit(A, ltr)
    clf = RidgeClassifierLOO().fit(transform.transform(A, ltr), codes)
    return classes[clf.predict(transform.transform(B, lte))]


def minirocket_regressor(X_train: Any, y_train: Any, X_test: Any, lengths_train: Any = None,
                         lengths_test: Any = None, seed: int = 0) -> np.ndarray:
    """Predict numeric targets of test cases with MiniRocket features and ridge (leave-one-out penalty).

    The regression counterpart of :func:`minirocket_classifier` (Rocket for extrinsic regression,
    Tan et al. 2021); same parameters, numeric ``y_train``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 60)
    >>> freq = np.array([2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 3.5])
    >>> X = np.sin(2 * np.pi * freq[:, None] * t)[:, :, None]
    >>> pred = minirocket_regressor(X[:6], freq[:6], X[6:])
    >>> bool(abs(pred[0] - 3.5) < 1.0)
    True
    """
    from ..rocket import MiniRocket, RidgeLOO

    y = np.asarray(y_train, dtype=np.float64).reshape(-1)
    A, B, ltr, lte, seed = _minirocket_inputs(X_train, X_test, lengths_train, lengths_test, y.size, seed)
    transform = MiniRocket(seed=seed).fit(A, ltr)
    reg = RidgeLOO().fit(transform.transform(A, ltr), y[:, None])
    return reg.predict(transform.transform(B, lte))[:, 0]
