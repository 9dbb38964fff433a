"""Roles of seqprep.windows: known/static inputs, categorical codes, masks, weights and their dict batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqprep.exceptions import DataError, InvalidParameterError, ShapeError, StaticValueError
from seqprep.windowing import Vocabulary, windows


def panel(n_series=2, n=12, seed=0):
    rng = np.random.default_rng(seed)
    rows = n_series * n
    return pd.DataFrame({
        "id": np.repeat([f"s{i}" for i in range(n_series)], n),
        "y": rng.normal(size=rows),
        "x": rng.normal(size=rows),
        "k": np.arange(rows, dtype=np.float64),  # known: its value is its row, to read which rows a window sees
        "kc": np.array(list("abc"))[np.arange(rows) % 3],
        "size": np.repeat(np.arange(1.0, n_series + 1), n),
        "region": np.repeat([f"r{i % 2}" for i in range(n_series)], n),
        "w": np.linspace(0.5, 2.0, rows),
    })


def same_batch(a, b):
    if isinstance(a, tuple):
        return all(same_batch(p, q) for p, q in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def test_dict_batch_keys_shapes_and_dtypes():
    df = panel()
    w = windows(df, lookback=4, horizon=[1, 3], target="y", group="id", features=["y", "x", "kc"],
                known=["k"], static=["size", "region"], weight="w")
    X, y = w[0:5]
    assert sorted(X) == ["known", "past", "past_cat", "static", "static_cat", "weight"]
    assert X["past"].shape == (5, 4, 2) and X["past"].dtype == np.float32
    assert X["past_cat"].shape == (5, 4, 1) and X["past_cat"].dtype == np.int64
    assert X["known"].shape == (5, 4 + 3, 1) and X["known"].dtype == np.float32
    assert X["static"].shape == (5, 1) and X["static_cat"].shape == (5, 1) and X["static_cat"].dtype == np.int64
    assert X["weight"].shape == (5,) and X["weight"].dtype == np.float32
    assert y.shape == (5, 2)
    full = w.to_numpy()
    assert w.nbytes == sum(a.nbytes for a in full[0].values()) + full[1].nbytes
    one, y0 = w[0]
    assert one["known"].shape == (7, 1) and one["static"].shape == (1,) and y0.shape == (2,)
    assert w.inputs == {"past": ["y", "x"], "past_cat": ["kc"], "known": ["k"], "known_cat": [],
                        "static": ["size"], "static_cat": ["region"], "cardinalities": {"kc": 4, "region": 3}}
    assert w.unknown_counts == {"kc": 0, "region": 0}


def test_polars_frames_take_roles_too():
    pl = pytest.importorskip("polars")
    df = panel()
    w = windows(pl.from_pandas(df).lazy(), lookback=3, target="y", group="id", features=["x", "kc"], known=["k"],
                static=["region"])
    ref = windows(df, lookback=3, target="y", group="id", features=["x", "kc"], known=["k"], static=["region"])
    assert same_batch(w.to_numpy(), ref.to_numpy())


def test_plain_windows_keep_the_single_array_and_describe_their_inputs():
    w = windows(np.zeros((10, 2)), lookback=3, target=0)
    X, _ = w[0:2]
    assert isinstance(X, np.ndarray) and w.inputs["past"] == ["0", "1"] and w.inputs["known"] == []
    assert w.unknown_counts == {} and not w.is_dict


def test_known_block_is_the_input_rows_then_every_row_up_to_e_plus_h():
    df = panel(n_series=1, n=20)
    w = windows(df, lookback=3, sampling_rate=2, horizon=[2, 4], target="y", features=["x"], known=["k"])
    X, _ = w[[0, 3]]
    # window s: inputs s, s+2, s+4 (e = s+4), then e+1..e+4
    assert X["known"][0, :, 0].tolist() == [0, 2, 4, 5, 6, 7, 8]
    assert X["known"][1, :, 0].tolist() == [3, 5, 7, 8, 9, 10, 11]


def test_static_values_follow_the_series_and_are_stored_once():
    df = panel(n_series=3, n=10)
    w = windows(df, lookback=2, target="y", group="id", features=["x"], static=["size"])
    X, _ = w.to_numpy()
    prov = w.provenance()
    expected = prov["series"].map({"s0": 1.0, "s1": 2.0, "s2": 3.0}).to_numpy()
    np.testing.assert_array_equal(X["static"][:, 0], expected)
    assert w.roles.static.shape == (3, 1)
    assert w.series_data.values.shape[1] == 2  # x and y: no static column per row


def test_static_memory_is_per_series_not_per_row():
    n_series, per = 100_000, 3
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"id": np.repeat(np.arange(n_series), per), "y": rng.normal(size=n_series * per)})
    statics = {f"s{j}": np.repeat(rng.normal(size=n_series), per) for j in range(5)}
    df = base.assign(**statics)

    def held(w):
        arrays = [w.series_data.values, np.asarray(w.starts)]
        arrays += list(w.roles.arrays.values()) if w.roles is not None else []
        return sum(a.nbytes for a in arrays)

    plain = windows(df, lookback=1, target="y", group="id", features=["y"], weight={i: 1.0 for i in range(n_series)})
    with_static = windows(df, lookback=1, target="y", group="id", features=["y"], static=list(statics),
                          weight={i: 1.0 for i in range(n_series)})
    extra = held(with_static) - held(plain)
    assert extra == n_series * 5 * 8  # one float64 per series and column, nothing per row
    assert with_static.roles.static.shape == (n_series, 5)


def test_a_static_column_that_varies_is_an_error_naming_it():
    df = panel(n_series=2, n=6)
    df.loc[8, "size"] = 9.0
    with pytest.raises(StaticValueError, match=r"column 'size'.*series 's1' has 2.0 at row 6 and 9.0 at row 8"):
        windows(df, lookback=2, target="y", group="id", features=["x"], static=["size"])
    df = panel(n_series=2, n=6)
    df.loc[2, "region"] = "r9"
    with pytest.raises(StaticValueError, match="'region'.*series 's0' has 'r0' at row 0 and 'r9' at row 2"):
        windows(df, lookback=2, target="y", group="id", features=["x"], static=["region"])
    assert issubclass(StaticValueError, DataError)


def test_categorical_codes_are_sorted_values_with_zero_for_missing():
    df = panel(n_series=1, n=9)
    df["kc"] = ["c", "a", None, "b", "a", "c", "b", None, "a"]
    w = windows(df, lookback=9, horizon=0, target="y", features=["kc", "x"])
    X, _ = w[0:1]
    assert X["past_cat"][0, :, 0].tolist() == [3, 1, 0, 2, 1, 3, 2, 0, 1]
    assert w.vocabularies["kc"] == Vocabulary(["a", "b", "c"]) and w.unknown_counts == {"kc": 2}
    assert w.inputs["past"] == ["x"] and w.inputs["cardinalities"] == {"kc": 4}


def test_categorical_known_column_and_pandas_category_dtype():
    df = panel(n_series=1, n=10)
    df["kc"] = df["kc"].astype("category")
    w = windows(df, lookback=3, horizon=2, target="y", features=["x"], known=["kc"])
    X, _ = w[0:1]
    assert "known" not in X and X["known_cat"][0, :, 0].tolist() == [1, 2, 3, 1, 2]


def test_mask_fills_within_each_series_and_marks_what_was_missing():
    df = pd.DataFrame({"id": ["a"] * 5 + ["b"] * 5, "y": np.arange(10.0),
                       "x": [np.nan, 1, np.nan, np.nan, 4, np.nan, 6, 7, np.nan, 9],
                       "k": [0, 1, 2, np.nan, 4, 5, 6, 7, 8, 9.0]})
    w = windows(df, lookback=5, horizon=0, target="y", group="id", features=["x"], known=["k"], nan_policy="mask")
    X, y = w.to_numpy()
    assert w.nbytes == sum(a.nbytes for a in X.values()) + y.nbytes
    assert X["past"][:, :, 0].tolist() == [[0, 1, 1, 1, 4], [0, 6, 7, 7, 9]]
    assert X["past_mask"][:, :, 0].tolist() == [[True, False, True, True, False], [True, False, False, True, False]]
    assert X["known"][0, :, 0].tolist() == [0, 1, 2, 2, 4] and X["known_mask"][0, 3, 0]
    zero = windows(df, lookback=5, horizon=0, target="y", group="id", features=["x"], nan_policy="mask", fill="zero")
    assert zero.to_numpy()[0]["past"][0, :, 0].tolist() == [0, 1, 0, 0, 4]
    mean = windows(df, lookback=5, horizon=0, target="y", group="id", features=["x"], nan_policy="mask", fill="mean")
    np.testing.assert_allclose(mean.to_numpy()[0]["past"][0, :, 0], [5.4, 1, 5.4, 5.4, 4], rtol=1e-6)  # mean: 27/5


def test_mask_refuses_a_missing_target_and_other_policies_stay():
    df = pd.DataFrame({"y": [1.0, np.nan, 3, 4, 5], "x": np.arange(5.0)})
    with pytest.raises(DataError, match="never a target"):
        windows(df, lookback=2, target="y", features=["x"], nan_policy="mask")
    with pytest.raises(InvalidParameterError, match="`fill` must be one of"):
        windows(df, lookback=2, target="x", nan_policy="mask", fill="bfill")
    with pytest.raises(InvalidParameterError, match="`nan_policy` must be one of"):
        windows(df, lookback=2, target="x", nan_policy="guess")


def test_weight_column_is_read_at_the_first_target_row_and_mapping_per_series():
    df = panel(n_series=2, n=8)
    w = windows(df, lookback=3, horizon=[2, 1], target="y", group="id", features=["x"], weight="w")
    X, _ = w[0:2]
    np.testing.assert_allclose(X["weight"], df["w"].to_numpy()[[3, 4]].astype(np.float32))
    m = windows(df, lookback=3, target="y", group="id", features=["x"], weight=pd.Series({"s0": 2.0, "s1": 0.0}))
    X, _ = m.to_numpy()
    assert X["weight"].tolist() == [2.0] * 5 + [0.0] * 5


@pytest.mark.parametrize(("weight", "match"), [
    ({"s0": -1.0, "s1": 1.0}, "negative weight"),
    ({"s0": np.nan, "s1": 1.0}, "NaN or infinite"),
    ({"s0": 0.0, "s1": 0.0}, "every weight"),
    ({"s0": 1.0}, "no weight for series 's1'"),
])
def test_bad_weights_are_refused(weight, match):
    with pytest.raises(DataError, match=match):
        windows(panel(), lookback=3, target="y", group="id", features=["x"], weight=weight)


def test_bad_weight_column_is_refused():
    df = panel()
    df.loc[4, "w"] = -2.0
    with pytest.raises(DataError, match=r"`weight` must be finite and >= 0.*column 'w'"):
        windows(df, lookback=3, target="y", group="id", features=["x"], weight="w")


def test_role_arguments_are_checked():
    df = panel()
    with pytest.raises(InvalidParameterError, match="a target is never known"):
        windows(df, lookback=2, target="y", group="id", known=["y"])
    with pytest.raises(InvalidParameterError, match="one role"):
        windows(df, lookback=2, target="y", group="id", features=["x", "k"], known=["k"])
    with pytest.raises(InvalidParameterError, match="`known` names a column that does not exist"):
        windows(df, lookback=2, target="y", group="id", known=["nope"])
    with pytest.raises(InvalidParameterError, match="`weight` must be a column name or a mapping"):
        windows(df, lookback=2, target="y", group="id", weight=3)
    with pytest.raises(ShapeError, match="not available with dict batches"):
        windows(df, lookback=4, target="y", group="id", known=["k"], layout="NSTC", subsequences=2)
    with pytest.raises(InvalidParameterError, match="DataFrame"):
        windows(np.zeros((10, 2)), lookback=2, target=0, known=["k"])


def test_default_features_leave_out_the_other_roles():
    w = windows(panel(), lookback=2, target="y", group="id", known=["k"], static=["size"], weight="w")
    assert w.inputs["past"] == ["y", "x"] and w.inputs["known"] == ["k"] and w.inputs["static"] == ["size"]


def test_layout_nct_applies_to_past_and_its_mask():
    df = panel(n_series=1, n=10)
    df.loc[2, "x"] = np.nan
    w = windows(df, lookback=4, target="y", features=["x", "k"], nan_policy="mask", layout="NCT")
    X, _ = w[0:2]
    assert X["past"].shape == (2, 2, 4) and X["past_mask"].shape == (2, 2, 4) and X["past_mask"][0, 0, 2]


def test_torch_adapter_yields_dicts_of_tensors():
    torch = pytest.importorskip("torch")
    w = windows(panel(), lookback=3, target="y", group="id", features=["x", "kc"], known=["k"], static=["size"])
    X, y = next(iter(w.to_torch().loader(batch_size=4)))
    assert isinstance(X, dict) and X["known"].shape == (4, 4, 1) and X["past_cat"].dtype == torch.int64
    assert y.shape == (4,)
    one, _ = w.to_torch()[0]
    assert one["static"].shape == (1,)


# ---------------------------------------------------------------------- leak properties


@st.composite
def cut(draw):
    lookback = draw(st.integers(1, 5))
    rate = draw(st.integers(1, 2))
    horizons = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3, unique=True))
    if max(horizons) == 0:
        horizons = [1]
    span = (lookback - 1) * rate + max(horizons) + 1
    n = draw(st.integers(span, span + 12))
    return lookback, rate, horizons, n


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut(), st.data())
def test_no_past_value_after_the_window_end_reaches_it(params, data):
    lookback, rate, horizons, n = params
    rng = np.random.default_rng(n)
    df = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n), "k": rng.normal(size=n),
                       "c": np.array(list("pqr"))[rng.integers(0, 3, n)]})
    kw = dict(lookback=lookback, sampling_rate=rate, horizon=horizons, target="y", features=["x", "c"],
              known=["k"], nan_policy="mask")
    w = windows(df, **kw)
    i = data.draw(st.integers(0, len(w) - 1))
    e = int(w.starts[i]) + (lookback - 1) * rate
    before, _ = w[i]
    # past: any value after e (numeric or categorical, to a value already in the vocabulary, or missing)
    row = data.draw(st.integers(e + 1, n - 1)) if e + 1 < n else None
    if row is not None:
        changed = df.copy()
        changed.loc[row, "x"] = data.draw(st.sampled_from([1e6, np.nan, -3.0]))
        changed.loc[row, "c"] = "p" if changed.loc[row, "c"] != "p" else "q"
        if set(changed["c"]) != set(df["c"]):  # plain windows fit the vocabulary on every row (documented)
            changed["c"] = df["c"]
        assert same_batch(windows(changed, **kw)[i][0], before)
    # known: rows after e+H never reach the window; row e+H does
    H = max(horizons)
    if e + H + 1 < n:
        later = df.copy()
        later.loc[data.draw(st.integers(e + H + 1, n - 1)), "k"] = 1e6
        assert same_batch(windows(later, **kw)[i][0], before)
    last = df.copy()
    last.loc[e + H, "k"] = 1e6
    after, _ = windows(last, **kw)[i]
    assert after["known"][lookback + H - 1, 0] == np.float32(1e6)
    assert not same_batch(after, before)
