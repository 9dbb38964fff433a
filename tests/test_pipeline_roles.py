"""Pipeline with roles: known/static inputs, categorical vocabularies fitted on training rows, masks, weights."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqprep import Pipeline
from seqprep.exceptions import ArtifactError, StaticValueError


def panel(n_series=3, n=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = n_series * n
    t = np.tile(pd.date_range("2021-01-01", periods=n, freq="D"), n_series)
    return pd.DataFrame({
        "id": np.repeat([f"s{i}" for i in range(n_series)], n), "t": t,
        "y": rng.normal(size=rows), "x": rng.normal(size=rows),
        "dow": pd.DatetimeIndex(t).day_of_week.to_numpy().astype(np.float64),
        "promo": np.array(["a", "b", "c"])[rng.integers(0, 3, rows)],
        "size": np.repeat(np.arange(1.0, n_series + 1), n),
        "region": np.repeat([f"r{i % 2}" for i in range(n_series)], n),
        "w": rng.uniform(0.5, 2.0, rows),
    })


ALL = dict(lookback=5, horizon=[1, 2], target="y", time="t", group="id", features=["y", "x", "promo"],
           known=["dow"], static=["size", "region"], weight="w", split=(0.6, 0.2, 0.2))


def same_batch(a, b):
    if isinstance(a, tuple):
        return all(same_batch(p, q) for p, q in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def test_fit_gives_dict_batches_with_every_role():
    pipe = Pipeline(**ALL)
    parts = pipe.fit(panel())
    X, y = parts.train[0:4]
    assert sorted(X) == ["known", "past", "past_cat", "static", "static_cat", "weight"]
    assert X["past"].shape == (4, 5, 2) and X["known"].shape == (4, 7, 1) and y.shape == (4, 2)
    assert parts.test.inputs["cardinalities"] == {"promo": 4, "region": 3}
    assert pipe.unknown_counts_ == {"promo": 0, "region": 0}


def test_known_columns_are_scaled_with_training_statistics():
    df = panel(n_series=1, n=60)
    pipe = Pipeline(lookback=4, target="y", features=["y", "x"], known=["dow"], time="t", split=(0.5, 0.5))
    parts = pipe.fit(df)
    train_rows = df["dow"].to_numpy()[:30]
    mean, std = train_rows.mean(), train_rows.std()
    X, _ = parts.test[0:1]
    start = int(parts.test.starts[0])
    expected = (df["dow"].to_numpy()[start:start + 5] - mean) / std
    np.testing.assert_allclose(X["known"][0, :, 0], expected, rtol=1e-5, atol=1e-6)


def test_vocabulary_is_fitted_on_training_rows_only():
    df = panel(n_series=2, n=50)
    df.loc[df.groupby("id").cumcount() >= 45, "promo"] = "late"  # first seen in the test part
    pipe = Pipeline(lookback=4, target="y", time="t", group="id", features=["x", "promo"], split=(0.7, 0.15, 0.15))
    parts = pipe.fit(df)
    assert parts.train.vocabularies["promo"].categories == ("a", "b", "c")
    X, _ = parts.test.to_numpy()
    late = parts.test.provenance()["end"].to_numpy() >= 45
    assert (X["past_cat"][late, -1, 0] == 0).all() and (X["past_cat"][~late, -1, 0] > 0).all()
    assert pipe.unknown_counts_ == {"promo": 10}
    new = df.copy()
    new["promo"] = "never seen"
    w = pipe.transform(new)  # never an error at predict time: counted
    assert pipe.unknown_counts_ == {"promo": len(new)} and (w[0:3]["past_cat"] == 0).all()


def test_static_vocabulary_comes_from_series_with_training_rows():
    df = panel(n_series=4, n=30)
    df["region"] = np.repeat(["n", "s", "e", "w"], 30)
    pipe = Pipeline(lookback=3, target="y", group="id", features=["x"], static=["region"], holdout="series",
                    split=(0.5, 0.25, 0.25), seed=1)
    parts = pipe.fit(df)
    train_series = set(parts.train.provenance()["series"])
    fitted = set(parts.train.vocabularies["region"].categories)
    assert fitted == set(df.loc[df["id"].isin(train_series), "region"])
    assert pipe.unknown_counts_["region"] == 2  # the two held-out series


def test_mask_mean_uses_training_rows_only():
    df = panel(n_series=1, n=40)
    df.loc[[3, 35], "x"] = np.nan
    pipe = Pipeline(lookback=4, target="y", features=["x"], time="t", split=(0.5, 0.5), nan_policy="mask",
                    fill="mean", scaler="none")
    parts = pipe.fit(df)
    train_mean = np.nanmean(df["x"].to_numpy()[:20])
    X, _ = parts.train[0:1]
    assert X["past_mask"][0, :, 0].tolist() == [False, False, False, True]
    assert X["past"][0, 3, 0] == pytest.approx(train_mean, rel=1e-5)
    later = df.copy()
    later.loc[30:, "x"] = 1e3  # values after the training part do not move the fill
    X2, _ = Pipeline(**{**pipe.get_config()}).fit(later).train[0:1]
    assert X2["past"][0, 3, 0] == X["past"][0, 3, 0]


def test_static_that_varies_is_refused_by_the_pipeline():
    df = panel()
    df.loc[5, "size"] = 99.0
    with pytest.raises(StaticValueError, match="'size'.*series 's0'"):
        Pipeline(lookback=3, target="y", group="id", features=["x"], static=["size"]).fit(df)


def test_inference_windows_read_the_known_rows_ahead():
    df = panel(n_series=1, n=40)
    pipe = Pipeline(lookback=4, horizon=3, target="y", features=["y", "x"], known=["dow"], time="t")
    pipe.fit(df)
    w = pipe.transform(df.iloc[-10:])
    X = w[0:len(w)]
    assert len(w) == 10 - 4 - 3 + 1 and X["known"].shape == (len(w), 7, 1) and not w.has_target


def test_inference_needs_no_weight_column_and_masks_the_unknown_future():
    df = panel(n_series=1, n=40)
    pipe = Pipeline(lookback=4, horizon=2, target="y", features=["y", "x"], known=["dow"], time="t", weight="w",
                    nan_policy="mask")
    pipe.fit(df)
    new = df.drop(columns=["w"]).iloc[-12:].copy()
    new.loc[new.index[-2:], ["y", "x"]] = np.nan  # the two future rows: only their known values exist
    w = pipe.transform(new)
    X = w[len(w) - 1]
    assert "weight" not in X and X["known"].shape == (6, 1) and not X["past_mask"].any()


def test_save_load_round_trip_with_every_role(tmp_path):
    df = panel()
    df.loc[7, "x"] = np.nan
    pipe = Pipeline(**{**ALL, "nan_policy": "mask", "fill": "mean"})
    pipe.fit(df)
    path = pipe.save(tmp_path / "p")
    saved = json.loads((path / "pipeline.json").read_text())
    assert saved["schema"]["roles"]["vocab"]["promo"] == {"categories": ["a", "b", "c"]}
    loaded = Pipeline.load(path)
    new = df.copy()
    new.loc[::7, "promo"] = "zz"
    a = pipe.transform(new, inference=False)
    b = loaded.transform(new, inference=False)
    assert same_batch(a.to_numpy(), b.to_numpy()) and sorted(a[0][0]) == sorted(
        ["past", "past_mask", "past_cat", "known", "known_mask", "static", "static_cat", "weight"])
    assert loaded.unknown_counts_ == pipe.unknown_counts_ and loaded.unknown_counts_["promo"] > 0


def test_series_weight_mapping_round_trips(tmp_path):
    df = panel()
    df["id"] = np.repeat([10, 20, 30], 40)
    pipe = Pipeline(lookback=3, target="y", group="id", features=["x"], weight={10: 1.0, 20: 2.0, 30: 0.5})
    parts = pipe.fit(df)
    X, _ = parts.train.to_numpy()
    series = parts.train.provenance()["series"].to_numpy()
    np.testing.assert_array_equal(X["weight"], pd.Series(series).map({10: 1.0, 20: 2.0, 30: 0.5}).to_numpy())
    loaded = Pipeline.load(pipe.save(tmp_path / "p"))
    assert loaded.roles.weight_map == {10: 1.0, 20: 2.0, 30: 0.5}


def test_a_tampered_vocabulary_is_refused(tmp_path):
    pipe = Pipeline(lookback=3, target="y", group="id", features=["x", "promo"])
    pipe.fit(panel())
    path = pipe.save(tmp_path / "p")
    f = path / "pipeline.json"
    f.write_text(f.read_text().replace('"a"', '"A"'))
    with pytest.raises(ArtifactError):
        Pipeline.load(path)


def test_fit_folds_with_roles_fit_each_fold_on_its_own():
    df = panel(n_series=1, n=80)
    df.loc[60:, "promo"] = "late"
    folds = Pipeline(lookback=4, target="y", features=["x", "promo"], known=["dow"], gap=1).fit_folds(
        df, n_folds=2, val_size=10)
    # fold 1 trains before row 60 ("late" unseen in its 20 later rows); fold 2's training rows hold it
    assert [p.unknown_counts_["promo"] for p, _ in folds] == [20, 0]
    assert [p.schema_["roles"]["vocab"]["promo"]["categories"] for p, _ in folds] == [["a", "b", "c"],
                                                                                       ["a", "b", "c", "late"]]
    assert all(sorted(s.val[0][0]) == ["known", "past", "past_cat"] for _, s in folds)


def test_inputs_list_derived_past_columns_and_layouts_are_checked():
    from seqprep.exceptions import ShapeError
    from seqprep.features import Lag

    pipe = Pipeline(lookback=4, target="y", group="id", features=["x", "promo"], known=["dow"], derived=[Lag("x", 1)])
    parts = pipe.fit(panel())
    X, _ = parts.train[0:2]
    assert parts.train.inputs["past"] == list(parts.train.feature_names) and X["past"].shape[-1] == 2
    assert parts.train.with_spec(layout="NCT")[0:2][0]["past"].shape == (2, 2, 4)
    with pytest.raises(ShapeError, match="dict batches"):
        parts.train.with_spec(layout="NSTC", subsequences=2)
    with pytest.raises(ShapeError, match="dict batches"):
        Pipeline(lookback=4, target="y", known=["dow"], layout="NSTC", subsequences=2)


def test_plain_pipeline_is_unchanged():
    df = panel()
    pipe = Pipeline(lookback=3, target="y", group="id", features=["y", "x"])
    X, _ = pipe.fit(df).train[0:2]
    assert isinstance(X, np.ndarray) and "roles" not in pipe.schema_ and "known" not in pipe.get_config()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2), st.data())
def test_values_after_a_test_window_end_never_reach_it(series, data):
    df = panel(n_series=3, n=40)
    kw = dict(lookback=4, horizon=2, target="y", time="t", group="id", features=["x", "promo"], known=["dow"],
              split=(0.6, 0.2, 0.2), nan_policy="mask")
    parts = Pipeline(**kw).fit(df)
    prov = parts.test.provenance()
    i = data.draw(st.sampled_from(list(np.flatnonzero(prov["series"].to_numpy() == f"s{series}"))))
    e = int(prov["end"].iloc[i])
    before = parts.test[i]
    rows = np.flatnonzero(df["id"].to_numpy() == f"s{series}")
    changed = df.copy()
    if e + 1 < 40:
        changed.loc[rows[data.draw(st.integers(e + 1, 39))], ["x", "promo"]] = [np.nan, "b"]
    if e + 3 < 40:
        changed.loc[rows[data.draw(st.integers(e + 3, 39))], "dow"] = 1e3
    assert same_batch(Pipeline(**kw).fit(changed).test[i], before)
