"""WindowNormalizer: per-window (RevIN) statistics of the inputs, applied to inputs and targets, inverted exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqprep.exceptions import ArtifactError, InvalidParameterError, ShapeError
from seqprep.scaling import BaseScaler, WindowNormalizer, make_scaler


def _loop_stats(X, method, floor):
    """The reference: one window at a time (what the vectorized code must equal)."""
    loc = np.empty(X.shape[::2])
    scale = np.empty(X.shape[::2])
    for i, w in enumerate(X.astype(np.float64)):
        for c in range(X.shape[2]):
            col = w[:, c]
            if method == "standard":
                loc[i, c], spread = col.mean(), col.std()
            else:
                q1, med, q3 = np.percentile(col, [25, 50, 75])
                loc[i, c], spread = med, q3 - q1
            scale[i, c] = max(spread, floor)
    return loc, scale


@pytest.mark.parametrize("method", ["standard", "robust"])
def test_statistics_equal_a_loop_over_windows(rng, method):
    X = rng.normal(50, 7, size=(40, 12, 3)).astype(np.float32)
    X[3] = 2.5  # a flat window: scale is the floor, values only centred
    norm = WindowNormalizer(method=method, min_scale=1e-3)
    loc, scale = norm.stats(X)
    ref_loc, ref_scale = _loop_stats(X, method, 1e-3)
    assert loc.dtype == scale.dtype == np.float32 and loc.shape == (40, 3)
    np.testing.assert_allclose(loc, ref_loc, rtol=1e-6)
    np.testing.assert_allclose(scale, ref_scale, rtol=1e-6)
    assert np.all(scale[3] == np.float32(1e-3))
    Xs, _, _ = norm.transform(X)
    assert Xs.dtype == np.float32
    np.testing.assert_array_equal(Xs[3], 0.0)
    np.testing.assert_allclose(Xs, (X - ref_loc[:, None]) / ref_scale[:, None], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("y_shape", [(30,), (30, 4), (30, 3), (30, 4, 3)])
def test_targets_scaled_by_their_own_columns_and_inverted_to_float_precision(rng, y_shape):
    X = (rng.normal(0, 1, size=(30, 8, 3)) * [1.0, 100.0, 0.01] + [5.0, -300.0, 1e3]).astype(np.float32)
    y = (rng.normal(0, 1, size=y_shape) * 50 + 100).astype(np.float32)
    n_t = y_shape[-1] if len(y_shape) == 3 or y_shape == (30, 3) else 1
    index = [2, None, 0][:n_t] if n_t > 1 else [1]
    norm = WindowNormalizer()
    Xs, ys, stats = norm.transform(X, y, target_index=index)
    assert ys.shape == y.shape and ys.dtype == np.float32
    assert stats["target_loc"].shape == stats["target_scale"].shape == (30, n_t)
    assert stats["target_loc"].dtype == np.float32
    loc, scale = norm.stats(X)
    for k, c in enumerate(index):
        want = (0.0, 1.0) if c is None else (loc[:, c], scale[:, c])
        np.testing.assert_array_equal(stats["target_loc"][:, k], want[0])
        np.testing.assert_array_equal(stats["target_scale"][:, k], want[1])
    back = WindowNormalizer.inverse_target(ys, **stats)
    assert back.dtype == np.float64 and back.shape == y.shape
    # one float32 rounding of the scaled value: the error is at float32 precision of the raw target
    np.testing.assert_allclose(back, y, rtol=2e-6, atol=1e-6 * float(np.abs(y).max()))


@settings(max_examples=30, deadline=None)
@given(
    level=st.floats(-1e4, 1e4), spread=st.floats(1e-3, 1e3), method=st.sampled_from(["standard", "robust"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_round_trip_property(level, spread, method, seed):
    rng = np.random.default_rng(seed)
    X = (level + spread * rng.normal(size=(6, 5, 2))).astype(np.float32)
    y = (level + spread * rng.normal(size=(6, 2))).astype(np.float32)
    _, ys, stats = WindowNormalizer(method=method).transform(X, y, target_index=[1])
    back = WindowNormalizer.inverse_target(ys, **stats)
    tol = 4 * np.finfo(np.float32).eps * (np.abs(y) + np.abs(stats["target_loc"]) + stats["target_scale"])
    assert np.all(np.abs(back - y) <= tol)


def test_statistics_read_only_the_inputs(rng):
    """A window's statistics do not depend on its target: perturbing y changes nothing else."""
    X = rng.normal(size=(10, 6, 2))
    y = rng.normal(size=10)
    norm = WindowNormalizer()
    a = norm.transform(X, y, target_index=[0])
    b = norm.transform(X, y * 1e6 + 7, target_index=[0])
    np.testing.assert_array_equal(a[0], b[0])
    for key in ("target_loc", "target_scale"):
        np.testing.assert_array_equal(a[2][key], b[2][key])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "minmax"}, r"`method` must be one of .*Received: method='minmax'"),
        ({"min_scale": 0.0}, r"`min_scale` must be a positive number.*Received: min_scale=0.0"),
        ({"min_scale": -1.0}, "min_scale"),
        ({"min_scale": float("nan")}, "min_scale"),
        ({"min_scale": True}, "min_scale"),
        ({"min_scale": 1e-60}, "min_scale"),  # 0 in float32: the batch's scale could not be inverted
    ],
)
def test_bad_params(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        WindowNormalizer(**kwargs).stats(np.zeros((1, 2, 1)))


def test_shape_errors(rng):
    norm = WindowNormalizer()
    with pytest.raises(ShapeError, match=r"windows of shape \(N, T, C\). Received shape \(5, 3\)"):
        norm.stats(np.zeros((5, 3)))
    with pytest.raises(ShapeError, match="one row per window"):
        norm.transform(np.zeros((4, 3, 2)), np.zeros(5))
    with pytest.raises(ShapeError, match="must end with 2 target columns"):
        norm.transform(np.zeros((4, 3, 2)), np.zeros((4, 3)), target_index=[0, 1])
    with pytest.raises(InvalidParameterError, match="target_index"):
        norm.transform(np.zeros((4, 3, 2)), np.zeros(4), target_index=[2])
    with pytest.raises(ShapeError, match="target_loc` and `target_scale`"):
        WindowNormalizer.inverse_target(np.zeros(4), np.zeros((4, 1)), np.zeros(4))


def test_factory_params_and_saved_form():
    norm = make_scaler("robust", per="window")
    assert norm.get_params() == {"method": "robust", "min_scale": 1e-5}
    custom = WindowNormalizer(min_scale=0.5)
    copy = make_scaler(custom, per="window")
    assert copy is not custom and copy.get_params() == custom.get_params()
    assert repr(custom) == "WindowNormalizer(min_scale=0.5)"
    back = BaseScaler.from_dict(custom.to_dict())
    assert isinstance(back, WindowNormalizer) and back.get_params() == custom.get_params()
    with pytest.raises(InvalidParameterError, match=r"`spec` must be 'standard', 'robust' or a WindowNormalizer"):
        make_scaler("minmax", per="window")
    with pytest.raises(ArtifactError, match="Invalid params for WindowNormalizer"):
        BaseScaler.from_dict({"class": "WindowNormalizer", "params": {"min_scale": -1}, "fitted": None})


def test_inverse_transform_of_the_inputs(rng):
    X = rng.normal(3, 2, size=(5, 7, 2))
    norm = WindowNormalizer()
    loc, scale = norm.stats(X)
    Xs, _, _ = norm.transform(X)
    np.testing.assert_allclose(norm.inverse_transform(Xs, loc, scale), X, rtol=1e-12)
    with pytest.raises(ShapeError, match="`loc` and `scale` must have shape"):
        norm.inverse_transform(Xs, loc[:2], scale)
