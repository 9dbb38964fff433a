"""Numerical checks of seqprep.scaling against numpy float64 and scikit-learn."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seqprep.exceptions import ArtifactError, DataError, DataWarning, InvalidParameterError, ShapeError
from seqprep.scaling import (
    BaseScaler,
    ColumnScaler,
    InstanceScaler,
    Log1pScaler,
    MaxAbsScaler,
    MinMaxScaler,
    Moments,
    PixelScaler,
    RobustScaler,
    SeriesScaler,
    StandardScaler,
    _moments,
    make_scaler,
)

skp = pytest.importorskip("sklearn.preprocessing")


def _mixed(rng, n=500):
    X = rng.standard_normal((n, 4)) * [1.0, 3.0, 0.1, 50.0] + [0.0, -20.0, 5.0, 1e3]
    X[rng.random((n, 4)) < 0.05] = np.nan
    return X


# ---------------------------------------------------------------- vs scikit-learn


@pytest.mark.parametrize(
    ("ours", "theirs", "attrs"),
    [
        (StandardScaler, skp.StandardScaler, ["mean_", "var_", "scale_"]),
        (MinMaxScaler, skp.MinMaxScaler, ["data_min_", "data_max_", "data_range_", "scale_", "min_"]),
        (MaxAbsScaler, skp.MaxAbsScaler, ["max_abs_", "scale_"]),
        (RobustScaler, skp.RobustScaler, ["center_", "scale_"]),
    ],
)
def test_matches_sklearn_with_nan(rng, ours, theirs, attrs):
    X = _mixed(rng)
    a, b = ours().fit(X), theirs().fit(X)
    for attr in attrs:
        np.testing.assert_allclose(getattr(a, attr), getattr(b, attr), rtol=1e-12, err_msg=attr)
    np.testing.assert_allclose(a.transform(X), b.transform(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.inverse_transform(a.transform(X)), X, rtol=1e-12)
    if ours is StandardScaler:
        np.testing.assert_array_equal(a.n_samples_seen_, b.n_samples_seen_)


def test_minmax_feature_range_and_robust_quantiles_match_sklearn(rng):
    X = _mixed(rng)
    np.testing.assert_allclose(
        MinMaxScaler(feature_range=(-2, 3)).fit_transform(X),
        skp.MinMaxScaler(feature_range=(-2, 3)).fit_transform(X),
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        RobustScaler(quantile_range=(10, 90)).fit(X).scale_,
        skp.RobustScaler(quantile_range=(10, 90)).fit(X).scale_,
        rtol=1e-12,
    )


def test_standard_vs_numpy_float64(rng):
    X = rng.standard_normal((3001, 5)).astype(np.float32) * 7 + 3
    s = StandardScaler().fit(X)
    ref = X.astype(np.float64)
    np.testing.assert_allclose(s.mean_, ref.mean(0), rtol=1e-14)
    np.testing.assert_allclose(s.var_, ref.var(0), rtol=1e-13)
    assert s.n_samples_seen_ == 3001


# ---------------------------------------------------------------- constant / all-NaN features


def test_zero_variance_and_all_nan_columns(rng):
    X = rng.standard_normal((200, 4))
    X[:, 1] = 7.0
    X[:, 2] = np.nan
    X[:, 3] = 1e6 + 1e-3 * rng.standard_normal(200)  # small but real spread: not constant
    with pytest.warns(DataWarning, match=r"2 feature\(s\) have zero variance or no values: '1', '2' \(all NaN: '2'\)"):
        s = StandardScaler().fit(X)
    np.testing.assert_array_equal(s.constant_features_, [1, 2])
    np.testing.assert_array_equal(s.scale_[[1, 2]], [1.0, 1.0])
    assert s.mean_[2] == 0.0 and s.mean_[1] == 7.0
    Y = s.transform(X)
    np.testing.assert_array_equal(Y[:, 1], 0.0)
    assert np.isnan(Y[:, 2]).all()
    np.testing.assert_allclose(Y[:, 3].std(), 1.0, rtol=1e-9)
    ref = skp.StandardScaler().fit(X[:, :2])  # sklearn also scales a constant column by 1
    np.testing.assert_allclose(s.scale_[:2], ref.scale_)


def test_constant_named_in_warning_and_silent_partial_fit():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "flat": [5.0, 5.0, 5.0]})
    with pytest.warns(DataWarning, match="'flat'"):
        StandardScaler().fit(df)
    s = StandardScaler().partial_fit(df)  # streaming stays silent; the attribute reports it
    assert s.constant_features_.tolist() == [1]


def test_minmax_and_maxabs_constant_columns():
    X = np.array([[3.0, 0.0], [3.0, 0.0]])
    np.testing.assert_array_equal(MinMaxScaler().fit(X).transform(X), 0.0)
    np.testing.assert_array_equal(MaxAbsScaler().fit(X).transform(X), [[1.0, 0.0], [1.0, 0.0]])


# ---------------------------------------------------------------- precision and streaming


def test_float32_large_offset_is_exact(rng):
    X = (1e6 + rng.standard_normal((200_000, 3))).astype(np.float32)
    ref = X.astype(np.float64)
    s = StandardScaler().fit(X)
    np.testing.assert_allclose(s.mean_, ref.mean(0), rtol=1e-14)
    np.testing.assert_allclose(s.var_, ((ref - ref.mean(0)) ** 2).mean(0), rtol=1e-10)
    Y = s.transform(X)
    assert Y.dtype == np.float32
    np.testing.assert_allclose(Y.mean(0, dtype=np.float64), 0.0, atol=1e-5)


def test_partial_fit_uneven_chunks_equals_fit(rng):
    X = (1e6 + rng.standard_normal((70_001, 3)) * [1.0, 0.01, 100.0]).astype(np.float32)
    X[rng.random(X.shape) < 0.01] = np.nan
    full = StandardScaler().fit(X)
    s = StandardScaler()
    for part in np.array_split(X, [1, 2, 999, 40_000, 40_001]):
        s.partial_fit(part)
    np.testing.assert_allclose(s.mean_, full.mean_, rtol=1e-14)
    np.testing.assert_allclose(s.var_, full.var_, rtol=1e-9)
    np.testing.assert_array_equal(s.n_samples_seen_, full.n_samples_seen_)
    ref = X.astype(np.float64)
    np.testing.assert_allclose(full.var_, np.nanvar(ref, axis=0), rtol=1e-10)


def test_trend_falls_back_to_exact_two_pass(rng):
    X = np.linspace(0, 1e7, 300_000)[:, None] + rng.standard_normal((300_000, 1))
    m = Moments.from_array(X)
    np.testing.assert_allclose(m.mean, X.mean(0), rtol=1e-14)
    np.testing.assert_allclose(m.var, X.var(0), rtol=1e-12)


def test_integer_and_bool_input(rng):
    X = rng.integers(0, 255, (1000, 3)).astype(np.uint8)
    s = StandardScaler().fit(X)
    np.testing.assert_allclose(s.mean_, X.mean(0), rtol=1e-14)
    assert s.transform(X).dtype == np.float32
    np.testing.assert_allclose(Moments.from_array(X.astype(bool)).mean, (X > 0).mean(0))


def test_inf_is_a_data_error():
    X = np.ones((10, 2))
    X[3, 1] = np.inf
    with pytest.raises(DataError, match=r"1 infinite value\(s\) in column\(s\) \[1\]"):
        StandardScaler().fit(X)


# ---------------------------------------------------------------- Moments


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    offset=st.sampled_from([0.0, 1e3, 1e6]),
    seed=st.integers(0, 2**16),
)
def test_moments_merge_any_split(n, cuts, offset, seed):
    rng = np.random.default_rng(seed)
    X = offset + rng.standard_normal((n, 3)) * [1.0, 1e-3, 10.0]
    parts = np.split(X, sorted(c for c in cuts if c <= n))
    pieces = [Moments.from_array(p) for p in parts]
    left = pieces[0]
    for p in pieces[1:]:
        left = left.merge(p)
    right = pieces[-1]
    for p in reversed(pieces[:-1]):
        right = p.merge(right)
    whole = Moments.from_array(X)
    # the rounding of the data itself (ulp of the offset) bounds how well any variance can be known
    var_atol = float(4 * np.spacing(offset) * np.sqrt(X.var(0).max()) + 1e-18)
    for m in (left, right):
        np.testing.assert_array_equal(m.count, n)
        np.testing.assert_allclose(m.mean, whole.mean, rtol=1e-9)
        np.testing.assert_allclose(m.var, whole.var, rtol=1e-9, atol=var_atol)
        np.testing.assert_allclose(m.var, X.var(0), rtol=1e-9, atol=var_atol)
        np.testing.assert_array_equal(m.min, whole.min)
        np.testing.assert_array_equal(m.max, whole.max)


def test_moments_dict_round_trip_and_validation(rng):
    m = Moments.from_array(np.array([[1.0, np.nan], [3.0, np.nan]]))
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    back = Moments.from_dict(d)
    np.testing.assert_array_equal(back.count, [2, 0])
    np.testing.assert_array_equal(back.min, [1.0, np.inf])
    for bad in ({"count": [1], "mean": [0.0, 1.0], "m2": [0.0]}, {"count": [-1], "mean": [0.0], "m2": [0.0]},
                {"count": [1], "mean": ["x"], "m2": [0.0]}, {"count": [1], "mean": [0.0], "m2": [-1.0]}, []):
        with pytest.raises(ArtifactError):
            Moments.from_dict(bad)


def test_chunking_is_internal(rng):
    X = rng.standard_normal((5000, 2)) + 10
    a = _moments.array_moments(X, rows=64)
    b = _moments.array_moments(X, rows=4096)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-12)


# ---------------------------------------------------------------- other scalers


def test_robust_partial_fit_points_to_fit(rng):
    with pytest.raises(InvalidParameterError, match=r"Call fit\(\) on the in-memory training data"):
        RobustScaler().partial_fit(rng.random((5, 2)))


def test_log1p_negative_values_named():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"rain": [0.0, -1.0, -2.0, 5.0], "temp": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DataError, match=r"column\(s\) 'rain' hold \[2\] negative value\(s\) \(of 4 rows\)"):
        Log1pScaler().fit(df)
    s = Log1pScaler().fit(df.abs())
    with pytest.raises(DataError, match="negative"):
        s.transform(df)
    np.testing.assert_allclose(s.inverse_transform(s.transform(df.abs())), df.abs().to_numpy(), rtol=1e-12)


def test_pixel_scaler_dtype_max():
    img = np.array([[0, 65535]], dtype=np.uint16)
    s = PixelScaler().fit(img)
    assert s.max_value_ == 65535.0
    np.testing.assert_allclose(s.transform(img), [[0.0, 1.0]])
    assert PixelScaler(max_value=10).fit(img).transform(img)[0, 1] == np.float32(6553.5)
    with pytest.raises(InvalidParameterError, match="max_value"):
        PixelScaler(max_value=0).fit(img)


@pytest.mark.parametrize(
    ("scaler", "match"),
    [
        (StandardScaler(epsilon=-1), "epsilon"),
        (MinMaxScaler(feature_range=(1, 0)), "feature_range"),
        (RobustScaler(quantile_range=(25, 175)), "quantile_range"),
        (ColumnScaler("bogus"), "spec"),
        (ColumnScaler({"x": "standard"}), "known column names"),
    ],
)
def test_bad_params(scaler, match):
    with pytest.raises(InvalidParameterError, match=match):
        scaler.fit(np.ones((3, 2)) + np.arange(3)[:, None])


def test_one_dimensional_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"reshape\(-1, 1\)"):
        StandardScaler().fit(np.arange(5.0))


def test_inverse_features_validated(rng):
    s = StandardScaler().fit(rng.random((10, 2)))
    with pytest.raises(InvalidParameterError, match="features"):
        s.inverse_transform(np.ones((3, 1)), features=["temp"])
    with pytest.raises(InvalidParameterError, match="features"):
        s.inverse_transform(np.ones((3, 1)), features=[5])


# ---------------------------------------------------------------- ColumnScaler / make_scaler


def test_column_scaler_mixed_specs(rng):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"precipitation": rng.exponential(2, 300), "temp_max": 20 + 5 * rng.standard_normal(300),
                       "wind": rng.random(300)})
    cs = ColumnScaler({"precipitation": "log1p", "wind": MinMaxScaler(feature_range=(-1, 1))}).fit(df)
    assert cs.specs_ == ["log1p", "standard", "MinMaxScaler"]
    Y = cs.transform(df)
    np.testing.assert_allclose(Y[:, 0], np.log1p(df["precipitation"]), rtol=1e-12)
    np.testing.assert_allclose(Y[:, 1], StandardScaler().fit_transform(df[["temp_max"]])[:, 0], rtol=1e-12)
    assert Y[:, 2].min() == -1.0
    y_pred = Y[:, 1]
    np.testing.assert_allclose(cs.inverse_transform(y_pred[:, None], features=["temp_max"])[:, 0], df["temp_max"])
    back = BaseScaler.from_dict(json.loads(json.dumps(cs.to_dict())))
    np.testing.assert_array_equal(back.transform(df), Y)
    assert isinstance(back.get_params()["spec"]["wind"], MinMaxScaler)


def test_column_scaler_from_dict_rejects_bad_groups(rng):
    d = ColumnScaler({0: "minmax"}).fit(rng.random((5, 3))).to_dict()
    d["fitted"]["groups_"][0]["columns"] = [0, 1]
    with pytest.raises(ArtifactError):
        BaseScaler.from_dict(d)


def test_make_scaler():
    assert isinstance(make_scaler("robust"), RobustScaler)
    assert isinstance(make_scaler({"a": "none"}, ["a", "b"]), ColumnScaler)
    assert isinstance(make_scaler("minmax", per="series"), SeriesScaler)
    assert make_scaler("robust", per="series").base == "robust"
    assert isinstance(make_scaler(per="sample"), InstanceScaler)
    assert make_scaler(per="window").get_params()["method"] == "standard"  # the per-window normalizer (RevIN)
    with pytest.raises(InvalidParameterError, match="per"):
        make_scaler(per="windows")
    with pytest.raises(InvalidParameterError, match="base"):
        make_scaler("log1p", per="series")


# ---------------------------------------------------------------- per series


def _series_data(rng, n_series=7, n=2000):
    g = rng.integers(0, n_series, n)
    X = rng.standard_normal((n, 3)) * (1 + g[:, None]) + 100 * g[:, None]
    X[rng.random(X.shape) < 0.03] = np.nan
    return X, g


@pytest.mark.parametrize("base", ["standard", "minmax", "maxabs", "robust", "none"])
def test_series_scaler_matches_loop(rng, base):
    X, g = _series_data(rng)
    s = SeriesScaler(base=base).fit(X, g)
    Y = s.transform(X, g)
    ref_cls = {"standard": StandardScaler, "minmax": MinMaxScaler, "maxabs": MaxAbsScaler, "robust": RobustScaler,
               "none": None}[base]
    for k in range(7):
        rows = g == k
        want = X[rows] if ref_cls is None else ref_cls().fit(X[rows]).transform(X[rows])
        np.testing.assert_allclose(Y[rows], want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(Y, g), X, rtol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(Y[:, [2]], g, features=[2]), X[:, [2]], rtol=1e-12)
    assert s.center_.shape == (7, 3) and s.series_counts_.sum() == 2000


_robust_values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 5.0, np.nan]),  # ties, signed zeros, NaN
)


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.integers(0, 5), min_size=1, max_size=40),
    inner=st.sampled_from([(), (2,), (2, 3)]),  # (n_samples, n_features) or (n_samples, *feature_shape)
    n_features=st.integers(1, 3),
    q=st.tuples(st.floats(0, 50), st.floats(50, 100)).filter(lambda t: t[0] < t[1]),
    data=st.data(),
)
def test_series_robust_equals_nanpercentile_of_each_series(groups, inner, n_features, q, data):
    g = np.array(groups)
    X = data.draw(hnp.arrays(np.float64, (len(g), *inner, n_features), elements=_robust_values))
    X[g == g[0], ..., 0] = np.nan  # one series with no value in one feature
    s = SeriesScaler(base="robust", quantile_range=q).fit(X, g)
    assert s.center_.shape == s.scale_.shape == (int(g.max()) + 1, n_features)
    for k in np.unique(g):
        rows = X[g == k].reshape(-1, n_features)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column
            lo, med, hi = np.nanpercentile(rows, [q[0], 50.0, q[1]], axis=0)
        has = ~np.isnan(med)
        np.testing.assert_array_equal(s.center_[k], np.where(has, med, 0.0))
        # a range below ten machine epsilons is rounding (scikit-learn's line): scale 1
        np.testing.assert_array_equal(s.scale_[k], np.where(has & (hi - lo >= 10 * np.finfo(float).eps), hi - lo, 1.0))
        one = RobustScaler(quantile_range=q).fit(rows)  # the global scaler on this series alone
        np.testing.assert_array_equal(one.center_, s.center_[k])
        np.testing.assert_array_equal(one.scale_, s.scale_[k])
    np.testing.assert_array_equal(s.series_counts_, np.bincount(g))
    np.testing.assert_array_equal(s.n_samples_seen_, (~np.isnan(X)).reshape(-1, n_features).sum(axis=0))
    Y = s.transform(X, g)
    np.testing.assert_array_equal(np.isnan(Y), np.isnan(X))
    assert np.isfinite(Y[~np.isnan(X)]).all()


def test_robust_range_of_a_few_ulps_scales_by_one_like_sklearn():
    # Found by the property test above: quantiles 0 and a subnormal gave a range of 5e-324, and
    # transform divided 1e6 by it (overflow to inf). Such a range is rounding, not spread.
    X = np.array([[0.0, 1.0], [0.0, 2.0], [5e-324, 3.0], [1e6, 4.0], [5e-324, 5.0]])
    g = np.zeros(len(X), dtype=int)
    ref = skp.RobustScaler(quantile_range=(20.0, 50.0)).fit(X)
    q = (20, 50)
    for s in (RobustScaler(quantile_range=q).fit(X), SeriesScaler(base="robust", quantile_range=q).fit(X, g)):
        np.testing.assert_array_equal(np.ravel(s.scale_), ref.scale_)  # [1, range of column 1]
        Y = s.transform(X) if isinstance(s, RobustScaler) else s.transform(X, g)
        assert np.isfinite(Y).all()
        np.testing.assert_allclose(Y, ref.transform(X))
    s = SeriesScaler(base="robust").fit(X, g)
    assert s._constant[0].tolist() == [True, False]  # only centred, like a zero range


@pytest.mark.parametrize("base", ["minmax", "maxabs"])
def test_range_or_max_of_a_few_ulps_scales_by_one_like_sklearn(base):
    # The same rounding line for the other range-based scalers (sklearn's _handle_zeros_in_scale).
    X = np.array([[0.0, 1.0], [1e-310, 2.0], [3e-310, 4.0]])
    ours, theirs = {"minmax": (MinMaxScaler, skp.MinMaxScaler), "maxabs": (MaxAbsScaler, skp.MaxAbsScaler)}[base]
    ref, one = theirs().fit(X), ours().fit(X)
    new = np.array([[1e6, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        np.testing.assert_allclose(one.transform(new), ref.transform(new))
        s = SeriesScaler(base=base).fit(X, np.zeros(3, dtype=int))
        np.testing.assert_allclose(s.transform(new, np.zeros(1, dtype=int)), ref.transform(new))
    assert s._constant[0].tolist() == [True, False]


def test_series_robust_constant_and_all_nan_pairs_scale_by_one():
    X = np.array([[1.0, np.nan], [1.0, np.nan], [1.0, 3.0], [2.0, 4.0], [5.0, 6.0], [9.0, 8.0]])
    g = np.array([0, 0, 0, 1, 1, 1])
    s = SeriesScaler(base="robust").fit(X, g)  # no DataWarning: RobustScaler does not warn either
    np.testing.assert_array_equal(s.center_, [[1.0, 3.0], [5.0, 6.0]])
    np.testing.assert_array_equal(s.scale_, [[1.0, 1.0], [3.5, 2.0]])  # zero range; one value
    np.testing.assert_array_equal(s._constant, [[True, True], [False, False]])
    s = SeriesScaler(base="robust").fit(np.array([[np.nan], [np.nan], [4.0]]), np.array([0, 0, 1]))
    np.testing.assert_array_equal(s.center_.ravel(), [0.0, 4.0])  # all NaN: not centred, scale 1
    np.testing.assert_array_equal(s.scale_.ravel(), [1.0, 1.0])
    assert s.n_samples_seen_ == 1


def test_series_robust_partial_fit_refused_and_other_inputs_checked(rng):
    X, g = _series_data(rng)
    with pytest.raises(InvalidParameterError, match=r"base='robust'\. .*call fit\(X, groups\) with all training"):
        SeriesScaler(base="robust").partial_fit(X, g)
    with pytest.raises(InvalidParameterError, match="quantile_range"):
        SeriesScaler(base="robust", quantile_range=(75, 25)).fit(X, g)
    X[4, 1] = np.inf
    with pytest.raises(DataError, match=r"1 infinite value\(s\) in column\(s\) \[1\]"):
        SeriesScaler(base="robust").fit(X, g)
    assert make_scaler("robust", per="series").get_params() == {
        "base": "robust", "epsilon": 1e-12, "quantile_range": (25, 75)}


def test_series_robust_refit_forgets_and_dtype_rule(rng):
    X, g = _series_data(rng)
    s = SeriesScaler(base="robust").fit(X * 5, g)
    s.fit(X, g)
    np.testing.assert_array_equal(s.center_, SeriesScaler(base="robust").fit(X, g).center_)
    assert s.transform(X.astype(np.float32), g).dtype == np.float32


def test_series_robust_many_series_vectorised(rng):
    n_series = 200_000
    g = np.repeat(np.arange(n_series), 3)
    X = rng.standard_normal((g.size, 2))
    s = SeriesScaler(base="robust").fit(X, g)
    np.testing.assert_array_equal(s.center_[5], np.median(X[15:18], axis=0))
    np.testing.assert_array_equal(s.scale_[n_series - 1], RobustScaler().fit(X[-3:]).scale_)


def _robust_fitted(rng):
    X, g = _series_data(rng)
    X[g == 2, 1] = np.nan  # a pair without values
    X[g == 4, 0] = 7.0  # a pair without spread
    g[g == 5] = 6  # a series code without rows
    return X, g, SeriesScaler(base="robust", quantile_range=(10, 90)).fit(X, g)


def test_series_robust_saved_as_arrays_and_as_json(rng):
    X, g, s = _robust_fitted(rng)
    arrays: dict[str, np.ndarray] = {}
    d = s.to_dict(arrays=arrays)
    assert d["fitted"]["arrays"] == ["center", "constant", "count", "scale", "series_counts"]
    assert arrays["scaler.center"].shape == (7, 3) and arrays["scaler.constant"].dtype == bool
    for back in (BaseScaler.from_dict(json.loads(json.dumps(d)), arrays=arrays),
                 BaseScaler.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))):
        assert back.get_params() == s.get_params()
        for attr in ("center_", "scale_", "series_counts_", "_counts", "_constant"):
            np.testing.assert_array_equal(getattr(back, attr), getattr(s, attr))
        np.testing.assert_array_equal(back.n_samples_seen_, s.n_samples_seen_)
        np.testing.assert_array_equal(back.transform(X, g), s.transform(X, g))
        np.testing.assert_array_equal(back.inverse_transform(X[:, [0]], g, features=[0]),
                                      s.inverse_transform(X[:, [0]], g, features=[0]))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("scaler.scale"), "missing"),
        (lambda a: a.update({"scaler.center": a["scaler.center"][:, :2]}), r"'center'.*must have shape \(7, 3\)"),
        (lambda a: a.update({"scaler.count": a["scaler.count"].astype(float)}), "'count'.*dtype kind"),
        (lambda a: a.update({"scaler.constant": a["scaler.constant"].astype(np.int8)}), "'constant'.*dtype kind"),
        (lambda a: a["scaler.scale"].__setitem__((0, 0), 0.0), "finite positive scales"),
        (lambda a: a["scaler.center"].__setitem__((0, 0), np.nan), "finite centres"),
        (lambda a: a["scaler.count"].__setitem__((0, 0), -1), "inconsistent"),
        (lambda a: a["scaler.count"].__setitem__((5, 0), 3), "inconsistent"),  # series 5 has no rows
        (lambda a: a["scaler.constant"].__setitem__((2, 1), False), "inconsistent"),  # pair without values
        (lambda a: a["scaler.scale"].__setitem__((4, 0), 2.0), "inconsistent"),  # constant pair, scale != 1
        (lambda a: a.update({"scaler.series_counts": a["scaler.series_counts"][:-1]}), "shape"),
    ],
)
def test_series_robust_malformed_arrays_are_refused(rng, change, match):
    _, _, s = _robust_fitted(rng)
    arrays: dict[str, np.ndarray] = {}
    d = s.to_dict(arrays=arrays)
    arrays = {k: v.copy() for k, v in arrays.items()}
    change(arrays)
    with pytest.raises(ArtifactError, match=match):
        BaseScaler.from_dict(d, arrays=arrays)


def test_series_robust_malformed_json_is_refused(rng):
    X, g, s = _robust_fitted(rng)
    arrays: dict[str, np.ndarray] = {}
    d = SeriesScaler(base="minmax").fit(X, g).to_dict(arrays=arrays)
    d["params"]["base"] = "robust"  # edited params: the arrays hold moments, not quantile statistics
    with pytest.raises(ArtifactError, match=r"stores the arrays \['center', 'constant'"):
        BaseScaler.from_dict(d, arrays=arrays)
    d = json.loads(json.dumps(s.to_dict()))
    d["fitted"]["scale_"][0][0] = -1.0
    with pytest.raises(ArtifactError, match="finite positive scales"):
        BaseScaler.from_dict(d)
    d = json.loads(json.dumps(s.to_dict()))
    d["fitted"]["count"] = d["fitted"]["count"][:3]
    with pytest.raises(ArtifactError, match="'count'"):
        BaseScaler.from_dict(d)


def test_series_scaler_streaming_grows_series(rng):
    X, g = _series_data(rng)
    full = SeriesScaler().fit(X, g)
    s = SeriesScaler()
    order = np.argsort(g, kind="stable")  # later chunks bring new series codes
    for part in np.array_split(order, 5):
        s.partial_fit(X[part], g[part])
    np.testing.assert_allclose(s.center_, full.center_, rtol=1e-12)
    np.testing.assert_allclose(s.scale_, full.scale_, rtol=1e-12)
    back = BaseScaler.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
    np.testing.assert_array_equal(back.transform(X, g), s.transform(X, g))


@pytest.mark.parametrize("sorted_groups", [True, False])
def test_group_moments_over_many_blocks_and_into(rng, sorted_groups):
    # 64 features -> blocks of 16_384 rows: 50_000 rows span 4 blocks, and series cross block edges.
    from seqprep.scaling._moments import Moments, group_moments

    n, f, k = 50_000, 64, 300
    g = np.sort(rng.integers(0, k, n)) if sorted_groups else rng.integers(0, k, n)
    g[g == 17] = 18  # one series with no rows at all
    X = rng.standard_normal((n, f)) * (1 + g[:, None] % 5) + g[:, None]
    X[rng.random(X.shape) < 0.01] = np.nan
    m = group_moments(X, g, k)
    for code in (0, 18, 150, k - 1):
        rows = X[g == code]
        np.testing.assert_array_equal(m.count[code], (~np.isnan(rows)).sum(axis=0))
        np.testing.assert_allclose(m.mean[code], np.nanmean(rows, axis=0), rtol=1e-10)
        np.testing.assert_allclose(m.var[code], np.nanvar(rows, axis=0), rtol=1e-9)
        np.testing.assert_array_equal(m.min[code], np.nanmin(rows, axis=0))
        np.testing.assert_array_equal(m.max[code], np.nanmax(rows, axis=0))
    assert m.count[17].sum() == 0 and np.isinf(m.min[17]).all()
    # Two halves merged in place into one table give the same statistics as one call.
    into = group_moments(X[: n // 2], g[: n // 2], k)
    same = group_moments(X[n // 2 :], g[n // 2 :], k, into=into)
    assert same is into
    np.testing.assert_array_equal(same.count, m.count)
    np.testing.assert_allclose(same.mean, m.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(same.m2, m.m2, rtol=1e-9, atol=1e-9)
    with pytest.raises(ShapeError, match="`into` has shape"):
        group_moments(X, g, k, into=Moments.empty((k + 1, f)))


def test_series_scaler_unseen_series_and_bad_groups(rng):
    X, g = _series_data(rng)
    s = SeriesScaler().fit(X[g != 3], g[g != 3])
    with pytest.raises(DataError, match=r"1 series with no training rows \(codes \[3\]; 7 series were fitted\)"):
        s.transform(X, g)
    with pytest.raises(DataError, match=r"codes \[9\]"):
        s.transform(X[:1], [9])
    with pytest.raises(InvalidParameterError, match="integer array"):
        s.transform(X[:2], [0.5, 1.0])
    with pytest.raises(ShapeError, match="one series code per row"):
        s.transform(X, g[:-1])


def test_series_scaler_constant_warns(rng):
    X = np.array([[1.0], [1.0], [2.0], [4.0]])
    with pytest.warns(DataWarning, match=r"1 \(series, feature\) pair"):
        s = SeriesScaler().fit(X, np.array([0, 0, 1, 1]))
    assert s.scale_[0, 0] == 1.0


def test_series_scaler_many_series_vectorised(rng):
    n_series = 200_000
    g = np.repeat(np.arange(n_series), 3)
    X = rng.standard_normal((g.size, 2))
    s = SeriesScaler().fit(X, g)
    np.testing.assert_allclose(s.center_[5], X[15:18].mean(0), rtol=1e-12)


# ---------------------------------------------------------------- per sample


def test_instance_scaler(rng):
    W = rng.standard_normal((50, 24, 3)) * 5 + 100
    W[0, :, 1] = 3.0  # flat window
    W[1, 4, 2] = np.nan
    Y, stats = InstanceScaler().transform(W, return_stats=True)
    np.testing.assert_allclose(np.nanmean(Y, axis=1)[2:], 0.0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(Y, axis=1)[2:], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(Y[0, :, 1], 0.0)
    assert np.isnan(Y[1, 4, 2])
    np.testing.assert_allclose(InstanceScaler().inverse_transform(Y, stats), W, rtol=1e-12)
    last = InstanceScaler().inverse_transform(Y[:, -1, :1], stats, features=[0])
    np.testing.assert_allclose(last, W[:, -1, :1], rtol=1e-12)
    assert InstanceScaler().transform(W.astype(np.float32)).dtype == np.float32
    with pytest.raises(ShapeError, match=r"\(N, T, C\)"):
        InstanceScaler().transform(W[0])
    with pytest.raises(ShapeError, match="X has 3 features, but InstanceScaler is expecting 2"):
        InstanceScaler().fit(W[..., :2]).transform(W)


def test_threaded_moments_match_serial_and_numpy(monkeypatch):
    import seqprep.scaling._moments as M

    rng = np.random.default_rng(7)
    x = (1e6 + rng.standard_normal((M.PARALLEL_MIN_ROWS + 12345, 3))).astype(np.float32)
    monkeypatch.setenv("SEQPREP_NUM_THREADS", "3")
    threaded = M.array_moments(x)
    serial = M._array_moments_serial(x)
    ref = x.astype(np.float64)
    np.testing.assert_allclose(threaded.mean, ref.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(threaded.var, ref.var(axis=0), rtol=1e-9)
    np.testing.assert_allclose(threaded.mean, serial.mean, rtol=1e-14)
    assert threaded.count.tolist() == serial.count.tolist()
