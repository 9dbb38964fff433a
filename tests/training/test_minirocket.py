"""MiniRocket features, the leave-one-out ridge, and the two baselines built on them."""

from __future__ import annotations

import numpy as np
import pytest

from seqprep.exceptions import DataError, SeqprepError, ShapeError
from seqprep.rocket import MiniRocket, RidgeClassifierLOO, RidgeLOO
from seqprep.rocket._minirocket import _dilations
from seqprep.training.baselines import minirocket_classifier, minirocket_regressor


def _brute_loo(F: np.ndarray, Y: np.ndarray, alpha: float) -> float:
    """Mean squared leave-one-out error by refitting without each row (standardized on all rows, as RidgeLOO)."""
    Z = (F - F.mean(0)) / np.where(F.std(0) > 0, F.std(0), 1.0)
    errs = []
    for i in range(len(Z)):
        keep = np.arange(len(Z)) != i
        Zk, Yk = Z[keep], Y[keep]
        zm, ym = Zk.mean(0), Yk.mean(0)
        coef = np.linalg.solve((Zk - zm).T @ (Zk - zm) + alpha * np.eye(Z.shape[1]), (Zk - zm).T @ (Yk - ym))
        errs.append((Y[i] - ((Z[i] - zm) @ coef + ym)) ** 2)
    return float(np.mean(errs))


@pytest.mark.parametrize("n, p", [(12, 30), (40, 5)])  # the dual (n <= p) and the primal path
def test_ridge_leave_one_out_error_matches_refitting(n, p):
    rng = np.random.default_rng(0)
    F = rng.normal(size=(n, p))
    Y = np.stack([F[:, 0] - F[:, 1] + rng.normal(0, 0.3, n), rng.normal(size=n)], axis=1)
    ridge = RidgeLOO().fit(F, Y)
    for a, err in zip(np.logspace(-3, 3, 10), ridge.loo_errors_, strict=True):
        # the leverage shortcut is exact for ridge with an unpenalized intercept (standardized on all rows in both)
        assert err == pytest.approx(_brute_loo(F, Y, a), rel=1e-6)


@pytest.mark.parametrize("n, p", [(12, 30), (40, 5)])
def test_ridge_coefficients_solve_the_normal_equations(n, p):
    rng = np.random.default_rng(1)
    F, y = rng.normal(size=(n, p)), rng.normal(size=(n, 1))
    ridge = RidgeLOO().fit(F, y)
    Z = (F - F.mean(0)) / F.std(0)
    expected = np.linalg.solve(Z.T @ Z + ridge.alpha_ * np.eye(p), Z.T @ (y - y.mean()))
    np.testing.assert_allclose(ridge.coef_, expected, rtol=1e-6, atol=1e-9)


def test_ridge_classifier_learns_a_separable_problem():
    rng = np.random.default_rng(2)
    F = np.concatenate([rng.normal(-2, 1, (20, 3)), rng.normal(2, 1, (20, 3))])
    codes = np.repeat([0, 1], 20)
    assert (RidgeClassifierLOO().fit(F, codes).predict(F) == codes).mean() >= 0.95


def test_dilations_spread_119_features_per_kernel_and_fit_the_length():
    for length in (9, 24, 251, 1460):
        dilations, per = _dilations(length)
        assert per.sum() == 119
        assert dilations.min() == 1 and (dilations * 8 <= max(length - 1, 8)).all()
        assert np.all(np.diff(dilations) > 0)


def test_features_are_proportions_and_reproducible():
    X = np.random.default_rng(3).normal(size=(10, 80, 2)).astype(np.float32)
    a = MiniRocket(seed=5).fit(X).transform(X)
    b = MiniRocket(seed=5).fit(X).transform(X)
    assert a.shape == (10, 9996) and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, MiniRocket(seed=6).fit(X).transform(X))


def test_channel_subsets_hold_one_to_nine_distinct_channels():
    X = np.random.default_rng(4).normal(size=(6, 40, 12)).astype(np.float32)
    tf = MiniRocket(seed=0).fit(X)
    sizes = [len(s) for s in tf.channel_sets_]
    assert min(sizes) >= 1 and max(sizes) <= 9 and len(set(sizes)) > 1
    assert all(len(np.unique(s)) == len(s) for s in tf.channel_sets_)


def test_unequal_lengths_read_only_the_valid_steps():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(8, 60, 1)).astype(np.float32)
    lengths = np.array([60, 50, 40, 60, 45, 60, 30, 55])
    X[np.arange(60)[None, :] >= lengths[:, None]] = np.nan  # NaN padding, as read_cases pads
    tf = MiniRocket(seed=0).fit(X, lengths)
    nan_padded = tf.transform(X, lengths)
    zero_padded = tf.transform(np.nan_to_num(X), lengths)
    np.testing.assert_array_equal(nan_padded, zero_padded)
    # a case read alone, cut to its own length, gives the same features as inside the padded batch
    alone = tf.transform(np.nan_to_num(X[6:7, :30]), lengths[6:7])
    np.testing.assert_array_equal(alone, nan_padded[6:7])


def test_very_short_cases_are_padded_to_the_kernel_length():
    X = np.random.default_rng(6).normal(size=(6, 5, 1))
    assert MiniRocket().fit(X).transform(X).shape == (6, 9996)


def _sines(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 100)
    y = rng.integers(0, 3, n)
    freq = np.array([2.0, 4.0, 7.0])[y] * rng.uniform(0.9, 1.1, n)
    X = np.sin(2 * np.pi * freq[:, None] * t + rng.uniform(0, 6, (n, 1))) + rng.normal(0, 0.3, (n, 100))
    return X[:, :, None], np.array(["a", "b", "c"])[y]


def test_minirocket_classifier_separates_frequencies():
    X, y = _sines(90, 0)
    pred = minirocket_classifier(X[:45], y[:45], X[45:])
    assert pred.dtype.kind == "U" and (pred == y[45:]).mean() >= 0.9


def test_minirocket_regressor_follows_the_target():
    rng = np.random.default_rng(7)
    amp = rng.uniform(0.5, 3.0, 80)
    X = (amp[:, None] * np.sin(np.linspace(0, 12, 64)) + rng.normal(0, 0.05, (80, 64)))[:, :, None]
    # PPV features see the shape, not the scale, so the target is the amplitude of a sine plus a level shift
    X = X + amp[:, None, None]
    pred = minirocket_regressor(X[:60], amp[:60], X[60:])
    assert np.corrcoef(pred, amp[60:])[0, 1] > 0.8


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"X_train": np.zeros((0, 20, 1)), "y_train": []}, DataError, "X_train"),
        ({"y_train": ["a"] * 3}, ShapeError, "y_train"),
        ({"X_test": np.zeros((2, 20, 2))}, ShapeError, "channel"),
        ({"X_train": np.zeros((4, 20))}, ShapeError, "X_train"),
        ({"lengths_train": [20, 20]}, ShapeError, "lengths_train"),
        ({"seed": -1}, SeqprepError, "seed"),
        ({"X_test": np.full((2, 20, 1), np.inf)}, DataError, "X_test"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, words):
    args = {"X_train": np.zeros((4, 20, 1)), "y_train": ["a", "b", "a", "b"], "X_test": np.zeros((2, 20, 1))}
    args.update(kwargs)
    with pytest.raises(error, match=words):
        minirocket_classifier(**args)


def test_layout_is_rebuilt_from_length_channels_and_seed():
    X = np.random.default_rng(8).normal(size=(10, 70, 3)).astype(np.float32)
    fitted = MiniRocket(seed=4).fit(X)
    rebuilt = MiniRocket.from_biases(70, 3, 4, fitted.biases_)
    np.testing.assert_array_equal(rebuilt.transform(X), fitted.transform(X))
    with pytest.raises(ValueError, match="biases"):
        MiniRocket.from_biases(70, 3, 4, fitted.biases_[:-1])
