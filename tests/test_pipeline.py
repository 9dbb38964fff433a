"""The leak-free pipeline: train-only statistics, persistence, schema checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqprep import Pipeline
from seqprep._manifest import write_checksums
from seqprep.exceptions import ArtifactError, DataError, NotFittedError


def make_df(n=300, seed=0, trend=0.05):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2020-01-01", periods=n, freq="D")
    temp = 10 + trend * np.arange(n) + 3 * np.sin(np.arange(n) / 20) + rng.normal(0, 0.5, n)
    rain = rng.gamma(0.5, 8.0, n)
    return pd.DataFrame({"date": t, "temp": temp, "rain": rain, "wind": rng.normal(3, 1, n)})


def test_statistics_come_from_training_rows_only():
    df = make_df()
    pipe = Pipeline(lookback=10, target="temp", time="date", split=(0.7, 0.15, 0.15))
    parts = pipe.fit(df)
    train_rows = int(round(0.7 * len(df)))
    mean = pipe.scaler_.transform(df[["temp", "rain", "wind"]].to_numpy()[:train_rows]).mean(axis=0)
    np.testing.assert_allclose(mean, 0, atol=1e-9)
    # validation/test are scaled with the training statistics, so their mean is NOT forced to 0 (trend)
    Xv, _ = parts.val.to_numpy()
    Xt, _ = parts.test.to_numpy()
    assert Xv[:, :, 0].mean() > 1.0 and Xt[:, :, 0].mean() > Xv[:, :, 0].mean()


RAN: list[int] = []


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(80, 250),
    f_train=st.floats(0.5, 0.8),
    gap=st.integers(0, 5),
    lookback=st.integers(2, 10),
    horizon=st.integers(0, 3),
    stride=st.integers(1, 3),
    context=st.sampled_from(["history", "part"]),
    scaler=st.sampled_from(["standard", "minmax", "robust"]),
    seed=st.integers(0, 1000),
)
def test_future_rows_never_change_training(n, f_train, gap, lookback, horizon, stride, context, scaler, seed):
    df = make_df(n, seed)
    rest = (1 - f_train) / 2
    kw = dict(lookback=lookback, horizon=horizon, target="temp", time="date", split=(f_train, rest, rest),
              gap=gap, context=context, scaler=scaler, stride=stride, allow_horizon_zero=True)
    try:
        parts = Pipeline(**kw).fit(df)
    except DataError:
        return
    first_val_target = int(parts.val.provenance()["end"].min()) + horizon
    RAN.append(1)
    pipe_a = Pipeline(**kw)
    a = pipe_a.fit(df)
    df2 = df.copy()
    rng = np.random.default_rng(seed + 1)
    cols = ["temp", "rain", "wind"]
    df2.loc[first_val_target:, cols] = rng.normal(1000, 500, (n - first_val_target, 3))
    pipe_b = Pipeline(**kw)
    b = pipe_b.fit(df2)
    assert json.dumps(pipe_a.scaler_.to_dict()) == json.dumps(pipe_b.scaler_.to_dict())
    Xa, ya = a.train.to_numpy()
    Xb, yb = b.train.to_numpy()
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)


def test_inverse_target_round_trip_and_units():
    df = make_df()
    pipe = Pipeline(lookback=7, target="temp", time="date")
    parts = pipe.fit(df)
    _, y = parts.test.to_numpy()
    rows = parts.test.provenance()["target_row"].to_numpy()
    np.testing.assert_allclose(pipe.inverse_target(y), df["temp"].to_numpy()[rows], rtol=1e-5)


def test_save_load_fresh_process_bit_identical(tmp_path):
    df = make_df()
    df.to_csv(tmp_path / "d.csv", index=False)
    pipe = Pipeline(lookback=12, horizon=[1, 2], target=["temp"], time="date", scaler={"rain": "log1p"})
    pipe.fit(df)
    pipe.save(tmp_path / "p")
    X = pipe.transform(df.iloc[-40:]).to_numpy()
    np.save(tmp_path / "x.npy", X)
    code = (
        "import numpy as np, pandas as pd, seqprep; "
        f"p = seqprep.Pipeline.load({str(tmp_path / 'p')!r}); "
        f"df = pd.read_csv({str(tmp_path / 'd.csv')!r}, parse_dates=['date']); "
        f"X = p.transform(df.iloc[-40:]).to_numpy(); "
        f"assert np.array_equal(X, np.load({str(tmp_path / 'x.npy')!r})), 'differs'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tampered_or_unknown_artifacts_are_refused(tmp_path):
    pipe = Pipeline(lookback=5, target="temp", time="date")
    pipe.fit(make_df())
    pipe.save(tmp_path / "p")
    with pytest.raises(ArtifactError, match="already exists"):
        pipe.save(tmp_path / "p")
    pipe.save(tmp_path / "p", overwrite=True)
    spec = tmp_path / "p" / "pipeline.json"
    payload = json.loads(spec.read_text())
    payload["scaler"]["fitted"]["moments"]["mean"][0] += 1.0
    spec.write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match="modified after it was saved"):
        Pipeline.load(tmp_path / "p")
    payload["version"] = 99
    spec.write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match="format version 99"):
        Pipeline.load(tmp_path / "p")
    spec.write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        Pipeline.load(tmp_path / "p")
    with pytest.raises(ArtifactError, match="missing"):
        Pipeline.load(tmp_path / "nothing")


def test_fit_refuses_short_data_with_rows_needed():
    with pytest.raises(DataError, match=r"each part needs at least .* rows"):
        Pipeline(lookback=30, target="temp", time="date", context="part").fit(make_df(60))


def test_transform_checks_schema():
    pipe = Pipeline(lookback=5, target="temp", time="date")
    with pytest.raises(NotFittedError, match="not fitted yet"):
        pipe.transform(make_df())
    pipe.fit(make_df())
    with pytest.raises(DataError, match="lacks columns.*'wind'"):
        pipe.transform(make_df().drop(columns="wind"))
    bad = make_df().astype({"rain": str})
    with pytest.raises(DataError, match="'rain'"):
        pipe.transform(bad)
    weekly = make_df()
    weekly["date"] = pd.date_range("2020-01-01", periods=len(weekly), freq="7D")
    with pytest.raises(DataError, match="time step"):
        pipe.transform(weekly)


def test_inference_windows_reach_the_last_row():
    df = make_df(100)
    pipe = Pipeline(lookback=5, target="temp", time="date", features=["rain", "wind"])
    pipe.fit(df)
    future = df.drop(columns="temp").iloc[-20:]
    w = pipe.transform(future)
    assert not w.has_target and len(w) == 16
    assert w.provenance()["end_time"].max() == df["date"].iloc[-1]


def _three_sites() -> pd.DataFrame:
    frames = []
    for i, level in enumerate([0.0, 100.0, 1000.0]):
        d = make_df(150, seed=i)
        d["temp"] += level
        d["site"] = f"s{i}"
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def test_per_series_scaling_and_inverse():
    df = _three_sites()
    pipe = Pipeline(lookback=5, target="temp", time="date", group="site", scale_per="series")
    parts = pipe.fit(df)
    X, y = parts.test.to_numpy()
    assert np.abs(X[:, :, 0]).max() < 20  # each series on its own scale
    prov = parts.test.provenance()
    truth = np.concatenate([df[df.site == s]["temp"].to_numpy()[prov[prov.series == s]["target_row"]] for s in
                            prov.series.unique()])
    np.testing.assert_allclose(pipe.inverse_target(y, windows=parts.test), truth, rtol=1e-4)


def test_per_series_statistics_are_saved_in_an_npz_with_their_hash(tmp_path):
    df = _three_sites()
    pipe = Pipeline(lookback=5, target="temp", time="date", group="site", scale_per="series", scaler="minmax")
    parts = pipe.fit(df)
    pipe.save(tmp_path / "p")
    spec = json.loads((tmp_path / "p" / "pipeline.json").read_text())
    assert spec["version"] == 2 and spec["arrays"]["file"] == "arrays.npz"
    assert spec["scaler"]["fitted"]["arrays"] == ["count", "m2", "max", "mean", "min", "series_counts"]
    assert "moments" not in spec["scaler"]["fitted"]  # no per-series list in the JSON
    with np.load(tmp_path / "p" / "arrays.npz", allow_pickle=False) as npz:
        assert npz["scaler.mean"].shape == (3, 3)  # (series, columns temp/rain/wind)
        assert npz["scaler.series_counts"].tolist() == pipe.scaler_.series_counts_.tolist()
        assert min(npz["scaler.series_counts"]) > 90
    back = Pipeline.load(tmp_path / "p")
    np.testing.assert_array_equal(back.scaler_.center_, pipe.scaler_.center_)
    np.testing.assert_array_equal(back.scaler_.scale_, pipe.scaler_.scale_)
    np.testing.assert_array_equal(back.transform(df, inference=False).to_numpy()[0],
                                  pipe.transform(df, inference=False).to_numpy()[0])
    _, y = parts.test.to_numpy()
    np.testing.assert_array_equal(back.inverse_target(y, windows=parts.test),
                                  pipe.inverse_target(y, windows=parts.test))
    # The arrays file is covered by the JSON's hash: a changed or missing file is refused.
    blob = (tmp_path / "p" / "arrays.npz").read_bytes()
    (tmp_path / "p" / "arrays.npz").write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(ArtifactError, match="arrays.npz was modified after it was saved"):
        Pipeline.load(tmp_path / "p")
    (tmp_path / "p" / "arrays.npz").unlink()
    with pytest.raises(ArtifactError, match="arrays.npz is missing"):
        Pipeline.load(tmp_path / "p")


def test_per_series_robust_scaling_end_to_end(tmp_path):
    from seqprep.pipeline import _digest
    from seqprep.scaling import RobustScaler, SeriesScaler

    df = _three_sites()
    df.loc[[10, 160, 320], "temp"] = [1e4, -1e4, 5e4]  # outliers in the training rows of every site
    pipe = Pipeline(lookback=5, target="temp", time="date", group="site", scaler="robust", scale_per="series")
    parts = pipe.fit(df)
    assert isinstance(pipe.scaler_, SeriesScaler) and pipe.scaler_.base == "robust"
    # Each site's statistics are RobustScaler's on that site's training rows alone.
    columns = pipe.schema_["columns"]
    for k, site in enumerate(["s0", "s1", "s2"]):
        lo, hi = pipe.split_.row_ranges["train"][k]
        one = RobustScaler().fit(df[df.site == site][columns].to_numpy()[lo:hi])
        np.testing.assert_array_equal(pipe.scaler_.center_[k], one.center_)
        np.testing.assert_array_equal(pipe.scaler_.scale_[k], one.scale_)
    X, y = parts.test.to_numpy()
    assert np.abs(X[:, :, 0]).max() < 20  # each series on its own scale, outliers or not
    prov = parts.test.provenance()
    truth = np.concatenate([df[df.site == s]["temp"].to_numpy()[prov[prov.series == s]["target_row"]] for s in
                            prov.series.unique()])
    np.testing.assert_allclose(pipe.inverse_target(y, windows=parts.test), truth, rtol=1e-4)
    # Saved: center/scale/counts in arrays.npz; the loaded pipeline scales and inverts the same.
    pipe.save(tmp_path / "p")
    spec = json.loads((tmp_path / "p" / "pipeline.json").read_text())
    assert spec["scaler"]["fitted"]["arrays"] == ["center", "constant", "count", "scale", "series_counts"]
    assert spec["scaler"]["params"]["base"] == "robust" and spec["config"]["scaler"] == "robust"
    back = Pipeline.load(tmp_path / "p")
    np.testing.assert_array_equal(back.scaler_.center_, pipe.scaler_.center_)
    np.testing.assert_array_equal(back.scaler_.scale_, pipe.scaler_.scale_)
    np.testing.assert_array_equal(back.transform(df, inference=False).to_numpy()[0],
                                  pipe.transform(df, inference=False).to_numpy()[0])
    np.testing.assert_array_equal(back.inverse_target(y, windows=parts.test),
                                  pipe.inverse_target(y, windows=parts.test))
    # A malformed statistic is refused even when the hashes were updated to match it.
    with np.load(tmp_path / "p" / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    arrays["scaler.scale"][1, 0] = -2.0
    np.savez(tmp_path / "p" / "arrays.npz", **arrays)
    spec.pop("sha256")
    spec["arrays"]["sha256"] = hashlib.sha256((tmp_path / "p" / "arrays.npz").read_bytes()).hexdigest()
    spec["sha256"] = _digest(spec)
    (tmp_path / "p" / "pipeline.json").write_text(json.dumps(spec))
    write_checksums(tmp_path / "p")  # and checksums.json too
    with pytest.raises(ArtifactError, match="finite positive scales"):
        Pipeline.load(tmp_path / "p")


def test_per_series_transform_finds_series_by_key_and_refuses_unseen_ones():
    df = _three_sites()
    pipe = Pipeline(lookback=5, target="temp", time="date", group="site", scale_per="series")
    parts = pipe.fit(df)
    # Only site s2, alone: series 0 of the new data, row 2 of the fitted statistics.
    s2 = pipe.transform(df[df.site == "s2"], inference=False)
    np.testing.assert_array_equal(s2.to_numpy()[0][-3:], parts.test.to_numpy()[0][-3:])
    with pytest.raises(DataError, match=r"series 'new' of the data were not seen at fit.*scale_per='feature'"):
        pipe.transform(df[df.site == "s0"].assign(site="new"))


def test_version_1_pipelines_with_statistics_in_json_still_load(tmp_path):
    from seqprep.pipeline import _digest

    df = _three_sites()
    pipe = Pipeline(lookback=5, target="temp", time="date", group="site", scale_per="series")
    pipe.fit(df)
    pipe.save(tmp_path / "p")
    spec = json.loads((tmp_path / "p" / "pipeline.json").read_text())
    # What seqprep wrote before version 2: the moments inline, no arrays file.
    spec.pop("sha256"), spec.pop("arrays")
    spec["version"], spec["scaler"] = 1, pipe.scaler_.to_dict()
    spec["sha256"] = _digest(spec)
    (tmp_path / "p" / "pipeline.json").write_text(json.dumps(spec))
    (tmp_path / "p" / "arrays.npz").unlink()
    write_checksums(tmp_path / "p")  # a version-1 pipeline.json saved with checksums.json (seqprep >= 0.2)
    back = Pipeline.load(tmp_path / "p")
    np.testing.assert_allclose(back.scaler_.scale_, pipe.scaler_.scale_, rtol=1e-15)
    spec["version"] = 3
    spec["sha256"] = _digest({k: v for k, v in spec.items() if k != "sha256"})
    (tmp_path / "p" / "pipeline.json").write_text(json.dumps(spec))
    write_checksums(tmp_path / "p")
    with pytest.raises(ArtifactError, match=r"version 3; this seqprep .* reads versions \[1, 2\]"):
        Pipeline.load(tmp_path / "p")


def test_context_part_keeps_inputs_inside():
    pipe = Pipeline(lookback=10, target="temp", time="date", context="part", gap=3)
    parts = pipe.fit(make_df())
    lo = pipe.split_.row_ranges["test"][0, 0]
    assert parts.test.provenance()["start"].min() >= lo


def test_repr_and_describe():
    pipe = Pipeline(lookback=5, target="temp", time="date")
    assert "not fitted" in repr(pipe)
    parts = pipe.fit(make_df())
    d = parts.describe()
    assert list(d.index) == ["train", "val", "test"] and "first_target_time" in d.columns


def test_property_above_really_ran():
    test_future_rows_never_change_training()
    assert len(RAN) >= 10  # most random configurations fit; the early-return branch is not the common case


def test_folds_fit_their_own_statistics_on_their_own_training_rows():
    df = make_df(300)
    folds = Pipeline(lookback=7, target="temp", time="date", gap=2).fit_folds(df, n_folds=3, val_size=30)
    assert len(folds) == 3
    for pipe, s in folds:
        lo_hi = s.row_ranges["train"][0]
        rows = df[["temp", "rain", "wind"]].to_numpy()[lo_hi[0] : lo_hi[1]]
        np.testing.assert_allclose(pipe.scaler_.mean_, rows.mean(axis=0), rtol=1e-10)
        assert s.train.provenance()["target_row"].max() < s.val.provenance()["target_row"].min() - 2
    means = [p.scaler_.mean_[0] for p, _ in folds]
    assert means[0] < means[1] < means[2]  # the trend: each fold's statistics differ


def test_derived_features_saved_and_causal(tmp_path):
    from seqprep.features import Calendar, Lag, Rolling

    df = make_df(200)
    derived = [Lag("temp", (1, 7)), Rolling("rain", 5, ("mean", "max")), Calendar(("dayofyear",))]
    pipe = Pipeline(lookback=5, target="temp", time="date", derived=derived)
    parts = pipe.fit(df)
    assert parts.train.feature_names[-6:] == (
        "temp_lag1", "temp_lag7", "rain_roll5_mean", "rain_roll5_max", "dayofyear_sin", "dayofyear_cos"
    )
    assert parts.train.provenance()["start"].min() >= 7  # warm-up rows of the lag are never read
    pipe.save(tmp_path / "p")
    loaded = Pipeline.load(tmp_path / "p")
    np.testing.assert_array_equal(loaded.transform(df.iloc[-50:]).to_numpy(), pipe.transform(df.iloc[-50:]).to_numpy())
    # changing rows after t never changes features at t
    changed = df.copy()
    changed.loc[150:, ["temp", "rain"]] = 999.0
    a = pipe.transform(df.iloc[:150]).to_numpy()
    b = pipe.transform(changed.iloc[:160]).to_numpy()[: len(a)]
    np.testing.assert_array_equal(a, b)


def test_augmentation_only_touches_training_batches():
    df = make_df(200)
    pipe = Pipeline(lookback=8, target="temp", time="date", augment=["jitter", "scaling"], seed=3)
    parts = pipe.fit(df)
    X_plain, _ = parts.train[np.arange(len(parts.train))]
    X_aug = np.concatenate([X for X, _ in parts.train.batches(64)])
    assert not np.array_equal(X_plain, X_aug) and X_aug.shape == X_plain.shape
    for part in (parts.val, parts.test):
        X_idx, _ = part[np.arange(len(part))]
        X_batches = np.concatenate([X for X, _ in part.batches(64)])
        np.testing.assert_array_equal(X_idx, X_batches)
