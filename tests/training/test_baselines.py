from __future__ import annotations

import numpy as np
import pytest

from seqprep.baselines import RidgeBaseline, majority_class, nearest_neighbour_1, persistence, seasonal_naive
from seqprep.exceptions import DataError, InvalidParameterError, NotFittedError, ShapeError


def _windows(series: np.ndarray, lookback: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Reference windowing for the tests: X[i] = series[i:i+L], y[i] = series[i+L-1+horizon]."""
    series = np.asarray(series, dtype=float)
    if series.ndim == 1:
        series = series[:, None]
    n = len(series) - lookback - horizon + 1
    X = np.stack([series[i : i + lookback] for i in range(n)])
    y = np.array([series[i + lookback - 1 + horizon, 0] for i in range(n)])
    return X, y


def test_persistence_on_constant_slope_line_is_off_by_the_slope():
    line = 3.0 + 0.5 * np.arange(40)
    X, y = _windows(line, lookback=5)
    pred = persistence(X, target_index=0)
    assert pred.shape == y.shape
    np.testing.assert_allclose(y - pred, 0.5)
    np.testing.assert_allclose(persistence(X, 0, steps=3), np.repeat(pred[:, None], 3, axis=1))


def test_persistence_picks_the_target_column():
    X = np.random.default_rng(0).normal(size=(6, 4, 3))
    np.testing.assert_array_equal(persistence(X, 2), X[:, -1, 2])
    with pytest.raises(InvalidParameterError, match="target_index"):
        persistence(X, 3)
    with pytest.raises(ShapeError, match=r"\(n_windows, lookback, n_features\)"):
        persistence(X[:, :, 0], 0)


@pytest.mark.parametrize("horizon", [1, 2, 5, 7, 9])
def test_seasonal_naive_is_exact_on_a_periodic_series(horizon):
    period = 7
    season = np.array([1.0, 4.0, 2.0, 8.0, 5.0, 7.0, 3.0])
    series = np.tile(season, 10)
    X, y = _windows(series, lookback=14, horizon=horizon)
    np.testing.assert_array_equal(seasonal_naive(X, 0, period=period, horizon=horizon), y)


def test_seasonal_naive_multi_horizon_and_minimum_lookback():
    series = np.arange(30.0)
    X, _ = _windows(series, lookback=4)
    # target at t+1, period 4 -> value at t-3 = first row of the window (the minimum lookback 4 - 1 + 1 = 4)
    np.testing.assert_array_equal(seasonal_naive(X, 0, period=4), X[:, 0, 0])
    out = seasonal_naive(X, 0, period=4, horizon=[1, 2, 4])
    assert out.shape == (len(X), 3)
    np.testing.assert_array_equal(out[:, 2], X[:, -1, 0])  # horizon == period -> last value
    with pytest.raises(DataError, match=r"lookback >= 5.*lookback=4"):
        seasonal_naive(X, 0, period=5)


def test_ridge_recovers_a_known_linear_map(rng):
    X = rng.normal(size=(300, 6, 2))
    w = rng.normal(size=12)
    y = X.reshape(300, -1) @ w - 4.0
    model = RidgeBaseline(alpha=1e-8).fit(X, y)
    np.testing.assert_allclose(model.coef_, w, atol=1e-6)
    assert model.intercept_ == pytest.approx(-4.0, abs=1e-6)
    np.testing.assert_allclose(model.predict(X[:5]), y[:5], atol=1e-6)


def test_ridge_dual_matches_primal_and_multi_output(rng):
    X = rng.normal(size=(20, 10, 3))  # d = 30 > n = 20: dual path
    Y = rng.normal(size=(20, 2))
    alpha = 2.5
    dual = RidgeBaseline(alpha=alpha).fit(X, Y)
    A = X.reshape(20, -1)
    Ac, Yc = A - A.mean(0), Y - Y.mean(0)
    primal = np.linalg.solve(Ac.T @ Ac + alpha * np.eye(30), Ac.T @ Yc)
    np.testing.assert_allclose(dual.coef_, primal, atol=1e-8)
    assert dual.predict(X).shape == (20, 2)


def test_ridge_shrinks_and_validates(rng):
    X = rng.normal(size=(50, 3, 1))
    y = X[:, -1, 0] * 3
    small = np.abs(RidgeBaseline(alpha=1e4).fit(X, y).coef_).sum()
    assert small < np.abs(RidgeBaseline(alpha=0.0).fit(X, y).coef_).sum()
    with pytest.raises(NotFittedError, match="not fitted"):
        RidgeBaseline().predict(X)
    with pytest.raises(InvalidParameterError, match="alpha"):
        RidgeBaseline(alpha=-1.0).fit(X, y)
    with pytest.raises(ShapeError, match="fitted with 3"):
        RidgeBaseline().fit(X, y).predict(X[:, :2])
    with pytest.raises(ShapeError, match="n_windows=50"):
        RidgeBaseline().fit(X, y[:10])


def test_majority_class():
    np.testing.assert_array_equal(majority_class(np.array([2, 0, 2, 1]), 3), [2, 2, 2])
    np.testing.assert_array_equal(majority_class(["a", "b"], 2), ["a", "a"])  # tie -> smallest
    with pytest.raises(DataError, match="empty"):
        majority_class([], 3)


def test_nearest_neighbour_on_separable_classes(rng):
    X_train = np.concatenate([rng.normal(-5, 1, size=(40, 8, 2)), rng.normal(5, 1, size=(40, 8, 2))])
    y_train = np.repeat([0, 1], 40)
    X_test = np.concatenate([rng.normal(-5, 1, size=(15, 8, 2)), rng.normal(5, 1, size=(15, 8, 2))])
    pred = nearest_neighbour_1(X_train, y_train, X_test, chunk_size=7)  # several chunks
    np.testing.assert_array_equal(pred, np.repeat([0, 1], 15))


def test_nearest_neighbour_matches_brute_force(rng):
    X_train, X_test = rng.normal(size=(30, 5, 2)), rng.normal(size=(11, 5, 2))
    y_train = np.arange(30)
    d = ((X_test.reshape(11, 1, -1) - X_train.reshape(1, 30, -1)) ** 2).sum(-1)
    np.testing.assert_array_equal(nearest_neighbour_1(X_train, y_train, X_test, chunk_size=4), d.argmin(1))
    with pytest.raises(ShapeError, match="values per window"):
        nearest_neighbour_1(X_train, y_train, X_test[:, :3])
