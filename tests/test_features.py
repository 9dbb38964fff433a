from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from seqprep.exceptions import ArtifactError, DataError, InvalidParameterError, ShapeError
from seqprep.features import (
    Calendar,
    Diff,
    Lag,
    Rolling,
    apply_features,
    feature_from_dict,
    make_features,
)

COLUMNS = ("a", "b")
ALL_FEATURES = [
    Lag("a", lags=(1, 3)),
    Lag("b", lags=2),
    Diff("a"),
    Diff("b", periods=2),
    Rolling("a", 1, stats=("mean", "min", "max")),
    Rolling("a", 2),
    Rolling("b", 4, stats=("std", "mean", "max", "min")),
]


def _bounds(lengths) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _pandas_reference(values, bounds, feature) -> np.ndarray:
    df = pd.DataFrame(values, columns=list(COLUMNS))
    g = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    grouped = df.groupby(g)[feature.column]
    if isinstance(feature, Lag):
        cols = [grouped.shift(k) for k in feature.lags]
    elif isinstance(feature, Diff):
        cols = [grouped.diff(feature.periods)]
    else:
        roll = grouped.rolling(feature.window)
        cols = [
            _exact_rolling_std(values[:, list(COLUMNS).index(feature.column)], bounds, feature.window)
            if s == "std" else getattr(roll, s)().reset_index(level=0, drop=True)
            for s in feature.stats
        ]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])


def _exact_rolling_std(x, bounds, window):
    """Two-pass std (ddof=1) of every full window. pandas' online rolling std is not a usable reference
    here: after a large value leaves the window it reports 3.2e-07 for the window [0, 0, 0, 0]."""
    out = np.full(len(x), np.nan)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        for t in range(a + window - 1, b):
            out[t] = np.std(x[t - window + 1 : t + 1], ddof=1)
    return out


series_data = st.lists(st.integers(0, 12), min_size=1, max_size=5).flatmap(
    lambda lengths: st.tuples(
        st.just(lengths),
        st.lists(
            st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
            min_size=2 * sum(lengths),
            max_size=2 * sum(lengths),
        ),
    )
)


# ---------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series_data, st.data())
def test_features_are_causal(data, draw):
    lengths, flat = data
    values = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
    bounds = _bounds(lengths)
    base, names, warmup = apply_features(ALL_FEATURES, values, COLUMNS, bounds, None)
    assert warmup == 3
    nonempty = [i for i, n in enumerate(lengths) if n > 0]
    if not nonempty:
        return
    s = draw.draw(st.sampled_from(nonempty))
    t = draw.draw(st.integers(int(bounds[s]), int(bounds[s + 1]) - 1))
    changed = values.copy()
    noise = draw.draw(st.floats(1.0, 1e3))
    changed[t + 1 : bounds[s + 1]] += noise  # every later row of series s
    changed[t + 1 : bounds[s + 1], 1] *= -3.0
    out, _, _ = apply_features(ALL_FEATURES, changed, COLUMNS, bounds, None)
    same = np.ones(len(values), dtype=bool)
    same[t + 1 : bounds[s + 1]] = False
    np.testing.assert_array_equal(out[same], base[same])


@settings(max_examples=60, deadline=None)
@given(series_data)
def test_features_match_pandas(data):
    lengths, flat = data
    values = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
    bounds = _bounds(lengths)
    out, names, _ = apply_features(ALL_FEATURES, values, COLUMNS, bounds, None)
    np.testing.assert_array_equal(out[:, :2], values)
    col = 2
    for f in ALL_FEATURES:
        k = len(f.output_names(COLUMNS))
        ref = _pandas_reference(values, bounds, f).reshape(len(values), k)
        np.testing.assert_allclose(out[:, col : col + k], ref, rtol=1e-9, atol=1e-9, err_msg=repr(f))
        col += k
    assert col == out.shape[1] == len(names)


def test_warmup_rows_are_nan_and_the_rest_defined(rng):
    lengths = [0, 1, 5, 9, 3]
    bounds = _bounds(lengths)
    values = rng.normal(size=(sum(lengths), 2))
    local = np.arange(sum(lengths)) - np.repeat(bounds[:-1], lengths)
    for f in ALL_FEATURES:
        out = f.apply(values, COLUMNS, bounds, None)
        assert out.shape == (len(values), len(f.output_names(COLUMNS)))
        assert out.dtype == np.float64
        assert np.isnan(out[local < f.warmup]).any(axis=1).all(), f
        assert np.isfinite(out[local >= f.warmup]).all(), f


# ---------------------------------------------------------------------- rolling numerics


def test_rolling_is_accurate_on_long_trending_series(rng):
    n = 20_000
    x = 1e6 + np.cumsum(rng.normal(size=n)) + 0.01 * np.arange(n)  # large level, drift, random walk
    x[5000:5100] = 1234.5  # a constant stretch: std must be exactly 0
    bounds = np.array([0, 7000, n])
    f = Rolling("x", 30)
    out = f.apply(x[:, None], ("x",), bounds, None)
    # pandas' online algorithm drifts by ~1e-6 here: compare with an exact two-pass reference in long double
    ref = np.full((n, 4), np.nan)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        win = sliding_window_view(x[lo:hi], 30).astype(np.longdouble)
        ref[lo + 29 : hi] = np.column_stack(
            [win.mean(axis=1), (win - win[:, :1]).std(axis=1, ddof=1), win.min(axis=1), win.max(axis=1)]
        ).astype(np.float64)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=0)
    assert (out[5029:5100, 1] == 0.0).all()
    np.testing.assert_allclose(out[5029:5100, 0], 1234.5, rtol=1e-12)


def test_rolling_std_of_a_constant_series_is_zero():
    out = Rolling("x", 3, stats="std").apply(np.full((6, 1), 0.1), ("x",), np.array([0, 6]), None)
    np.testing.assert_array_equal(out[2:, 0], 0.0)


def test_nan_in_a_window_gives_nan():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0])[:, None]
    out = Rolling("x", 2, stats=("mean", "std", "max")).apply(x, ("x",), np.array([0, 7]), None)
    assert np.isnan(out[[0, 2, 3]]).all()
    np.testing.assert_allclose(out[1], [1.5, np.sqrt(0.5), 2.0])
    np.testing.assert_allclose(out[4:, 0], [4.5, 5.5, 6.5])
    np.testing.assert_allclose(out[4:, 2], [5.0, 6.0, 7.0])
    lag = Lag("x").apply(x, ("x",), np.array([0, 7]), None)[:, 0]
    assert np.isnan(lag[[0, 3]]).all() and lag[4] == 4.0


def test_many_short_series_are_vectorized(rng):
    lengths = rng.integers(0, 8, size=100_000)
    bounds = _bounds(lengths)
    values = rng.normal(size=(int(bounds[-1]), 2))
    out, names, warmup = apply_features([Lag("a", (1, 2)), Rolling("b", 3), Diff("a")], values, COLUMNS, bounds, None)
    assert out.shape == (len(values), 2 + 2 + 4 + 1)
    first = bounds[:-1][lengths > 0]
    assert np.isnan(out[first, 2:]).all()


def test_empty_data():
    out, names, warmup = apply_features(ALL_FEATURES, np.zeros((0, 2)), COLUMNS, np.array([0]), None)
    assert out.shape == (0, len(names))


# ---------------------------------------------------------------------- calendar


def test_calendar_matches_pandas():
    t = pd.date_range("2019-12-25", periods=24 * 400, freq="h") + pd.Timedelta(minutes=30)
    cal = Calendar(features=("dayofyear", "weekday", "month", "hour"))
    out = cal.apply(np.zeros((len(t), 0)), (), np.array([0, len(t)]), t.values)
    assert cal.output_names(()) == [
        "dayofyear_sin", "dayofyear_cos", "weekday_sin", "weekday_cos",
        "month_sin", "month_cos", "hour_sin", "hour_cos",
    ]
    days_in_year = np.where(t.is_leap_year, 366, 365)
    phases = [
        (t.day_of_year - 1) / days_in_year,
        t.day_of_week / 7,
        (t.month - 1) / 12,
        (t.hour + t.minute / 60) / 24,
    ]
    for j, phase in enumerate(phases):
        np.testing.assert_allclose(out[:, 2 * j], np.sin(2 * np.pi * np.asarray(phase)), atol=1e-12)
        np.testing.assert_allclose(out[:, 2 * j + 1], np.cos(2 * np.pi * np.asarray(phase)), atol=1e-12)
    assert Calendar().warmup == 0


def test_calendar_nat_and_old_dates():
    t = np.array(["1900-01-01", "NaT", "1969-12-31"], dtype="datetime64[s]")  # 1900-01-01 was a Monday
    out = Calendar(features=("weekday", "month")).apply(np.zeros((3, 0)), (), np.array([0, 3]), t)
    np.testing.assert_allclose(out[0], [0.0, 1.0, 0.0, 1.0], atol=1e-12)
    assert np.isnan(out[1]).all()
    np.testing.assert_allclose(out[2, :2], [np.sin(2 * np.pi * 2 / 7), np.cos(2 * np.pi * 2 / 7)])  # a Wednesday


def test_calendar_needs_datetime_time():
    with pytest.raises(DataError, match="need timestamps"):
        Calendar().apply(np.zeros((2, 1)), ("a",), np.array([0, 2]), None)
    with pytest.raises(DataError, match="datetime timestamps.*dtype int64"):
        Calendar().apply(np.zeros((2, 1)), ("a",), np.array([0, 2]), np.arange(2))
    with pytest.raises(ShapeError, match="one timestamp per row"):
        Calendar().apply(np.zeros((2, 1)), ("a",), np.array([0, 2]), np.array(["2020-01-01"], dtype="datetime64[D]"))


# ---------------------------------------------------------------------- names, warmup, apply_features


def test_output_names_and_warmup():
    assert Lag("a", lags=(3, 1)).output_names(COLUMNS) == ["a_lag3", "a_lag1"]
    assert Lag("a", lags=(3, 1)).warmup == 3
    assert Diff("b", periods=4).output_names(COLUMNS) == ["b_diff4"]
    assert Diff("b", periods=4).warmup == 4
    assert Rolling("a", 7).output_names(COLUMNS) == ["a_roll7_mean", "a_roll7_std", "a_roll7_min", "a_roll7_max"]
    assert Rolling("a", 7).warmup == 6
    assert Lag("a").source_columns() == ("a",)
    assert Calendar().source_columns() == ()


def test_apply_features_appends_columns_and_takes_the_max_warmup():
    t = pd.date_range("2020-01-01", periods=10).values
    values = np.arange(20.0).reshape(10, 2)
    out, names, warmup = apply_features([Diff("b", 2), Calendar(), Lag("a", (1, 5))], values, COLUMNS,
                                        np.array([0, 10]), t)
    assert names == ("a", "b", "b_diff2", "dayofyear_sin", "dayofyear_cos", "weekday_sin", "weekday_cos",
                     "a_lag1", "a_lag5")
    assert warmup == 5
    assert out.shape == (10, 9)
    np.testing.assert_array_equal(out[:, :2], values)
    assert apply_features([], values, COLUMNS, np.array([0, 10]), None)[1:] == (COLUMNS, 0)


def test_unknown_column_lists_the_available_ones():
    with pytest.raises(InvalidParameterError, match=r"reads column 'c'.*Available columns \(2\): 'a', 'b'"):
        apply_features([Lag("c")], np.zeros((3, 2)), COLUMNS, np.array([0, 3]), None)
    with pytest.raises(InvalidParameterError, match="reads column 'c'"):
        Rolling("c", 2).output_names(COLUMNS)


def test_duplicate_output_names_are_refused():
    with pytest.raises(InvalidParameterError, match="'a_lag1' is produced twice or already exists"):
        apply_features([Lag("a"), Lag("a", (2, 1))], np.zeros((3, 2)), COLUMNS, np.array([0, 3]), None)
    with pytest.raises(InvalidParameterError, match="'a_lag1' is produced twice or already exists"):
        apply_features([Lag("a")], np.zeros((3, 3)), ("a", "b", "a_lag1"), np.array([0, 3]), None)


def test_bad_data_is_refused():
    with pytest.raises(ShapeError, match="2-D array"):
        Lag("a").apply(np.zeros(3), ("a",), np.array([0, 3]), None)
    with pytest.raises(ShapeError, match="names 2 columns but `values` has 1"):
        Lag("a").apply(np.zeros((3, 1)), COLUMNS, np.array([0, 3]), None)
    with pytest.raises(InvalidParameterError, match="`bounds` must be a non-decreasing"):
        Lag("a").apply(np.zeros((3, 1)), ("a",), np.array([0, 2]), None)
    with pytest.raises(InvalidParameterError, match="`bounds` must be a non-decreasing"):
        Lag("a").apply(np.zeros((3, 1)), ("a",), np.array([0, 2, 1, 3]), None)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Lag("a", lags=(2, 0)), r"`lags\[1\]` must be a positive integer"),
        (lambda: Lag("a", lags=()), "`lags` must be an integer or a non-empty sequence"),
        (lambda: Lag("a", lags=(1, 1)), "distinct integers"),
        (lambda: Lag("a", lags=1.5), "`lags` must be an integer or a non-empty sequence"),
        (lambda: Lag("", lags=1), "`column` must be a non-empty column name"),
        (lambda: Lag(3), "`column` must be a non-empty column name"),
        (lambda: Diff("a", periods=0), "`periods` must be a positive integer"),
        (lambda: Diff("a", periods=True), "`periods` must be an integer"),
        (lambda: Rolling("a", 0), "`window` must be a positive integer"),
        (lambda: Rolling("a", 1), "`window` must be at least 2 when stats include 'std'"),
        (lambda: Rolling("a", 3, stats=("mean", "median")), r"`stats\[1\]` must be one of 'mean', 'std'"),
        (lambda: Rolling("a", 3, stats=()), "`stats` must be a non-empty sequence"),
        (lambda: Calendar(features=("season",)), r"`features\[0\]` must be one of 'dayofyear'"),
    ],
)
def test_parameter_errors(make, match):
    with pytest.raises(InvalidParameterError, match=match):
        make()


# ---------------------------------------------------------------------- serialization


@pytest.mark.parametrize("feature", [*ALL_FEATURES, Calendar(), Calendar(features="hour")])
def test_to_dict_round_trips_through_json(feature):
    d = json.loads(json.dumps(feature.to_dict()))
    assert feature_from_dict(d) == feature


@pytest.mark.parametrize(
    ("d", "match"),
    [
        ({"kind": "ewm", "column": "a"}, "Unknown feature kind 'ewm'. Known: 'calendar', 'diff', 'lag', 'rolling'"),
        ({"column": "a"}, "needs a 'kind' key"),
        ("lag", "needs a 'kind' key"),
        ({"kind": "lag", "column": "a", "lag": [1]}, "Unknown fields for a 'lag' feature: 'lag'"),
        ({"kind": "lag", "column": "a", "lags": [0]}, "Malformed 'lag' feature"),
        ({"kind": "rolling", "column": "a"}, "Malformed 'rolling' feature"),
        ({"kind": "rolling", "column": "a", "window": "7"}, "Malformed 'rolling' feature"),
    ],
)
def test_feature_from_dict_errors(d, match):
    with pytest.raises(ArtifactError, match=match):
        feature_from_dict(d)


def test_make_features():
    assert make_features(None) == []
    assert make_features(Lag("a")) == [Lag("a")]
    assert make_features([{"kind": "diff", "column": "a"}, "calendar"]) == [Diff("a"), Calendar()]
    with pytest.raises(InvalidParameterError, match=r"`derived\[0\]` must be a Lag, Diff, Rolling or Calendar"):
        make_features(["lag"])
    with pytest.raises(InvalidParameterError, match="Unknown feature kind"):
        make_features([{"kind": "nope"}])
    with pytest.raises(InvalidParameterError, match="`derived` must be a feature"):
        make_features(3)
