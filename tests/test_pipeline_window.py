"""Pipeline(scale_per="window"): per-window target normalization (RevIN) carried with the batch and inverted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline
from seqprep.exceptions import InvalidParameterError, ShapeError
from seqprep.scaling import WindowNormalizer


def make_df(n=240, seed=0):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2021-01-01", periods=n, freq="D")
    level = np.repeat(rng.uniform(10, 1000, n // 40), 40)  # level shifts: what per-window scaling is for
    return pd.DataFrame({
        "date": t, "load": level + np.cumsum(rng.normal(0, 2, n)), "temp": rng.normal(15, 5, n),
        "label": (np.arange(n) % 3).astype(float),
    })


def _raw(df, **kw):
    """The same windows unscaled: the truth the inverse must give back."""
    return Pipeline(scaler="none", **kw).fit(df)


@pytest.mark.parametrize("scaler", ["standard", "robust"])
def test_dict_batch_and_exact_round_trip(scaler):
    df = make_df()
    kw = dict(lookback=12, horizon=[1, 3], target="load", time="date", features=["load", "temp"])
    pipe = Pipeline(scale_per="window", scaler=scaler, **kw)
    parts = pipe.fit(df)
    X, y = parts.test.to_numpy()
    assert sorted(X) == ["past", "target_loc", "target_scale"]
    assert X["past"].shape == (len(parts.test), 12, 2) and X["past"].dtype == np.float32
    assert X["target_loc"].shape == X["target_scale"].shape == (len(parts.test), 1)
    assert X["target_loc"].dtype == X["target_scale"].dtype == np.float32
    assert y.shape == (len(parts.test), 2) and y.dtype == np.float32
    _, y_raw = _raw(df, **kw).test.to_numpy()
    # inputs of each window: centred on that window (mean 0 / median 0 per channel)
    centre = X["past"].mean(axis=1) if scaler == "standard" else np.median(X["past"], axis=1)
    np.testing.assert_allclose(centre, 0, atol=1e-4)
    for back in (
        pipe.inverse_target(y, target_loc=X["target_loc"], target_scale=X["target_scale"]),
        pipe.inverse_target(y, windows=parts.test),  # the statistics recomputed from the windows' input rows
    ):
        assert back.shape == y.shape and back.dtype == np.float64
        np.testing.assert_allclose(back, y_raw, rtol=1e-6, atol=1e-6 * np.abs(y_raw).max())
    # the recomputed statistics are the very values the batch carried
    from seqprep.pipeline import window_target_stats

    loc, scale = window_target_stats(parts.test, pipe._window_normalizer(), ["load"])
    np.testing.assert_array_equal(loc, X["target_loc"])
    np.testing.assert_array_equal(scale, X["target_scale"])


def test_every_access_path_gives_the_same_dict_batch():
    df = make_df()
    pipe = Pipeline(lookback=8, target="load", time="date", scale_per="window")
    w = pipe.fit(df).val
    X_all, y_all = w.to_numpy()
    X5, y5 = w[5]
    assert X5["past"].shape == (8, 3) and X5["target_loc"].shape == (1,)
    np.testing.assert_array_equal(X5["past"], X_all["past"][5])
    np.testing.assert_array_equal(y5, y_all[5])
    Xb, yb = next(iter(w.batches(4)))
    for key in X_all:
        np.testing.assert_array_equal(Xb[key], X_all[key][:4])
    X_nct, _ = w.with_spec(layout="NCT")[0:3]
    np.testing.assert_array_equal(X_nct["past"], X_all["past"][:3].transpose(0, 2, 1))
    np.testing.assert_array_equal(X_nct["target_scale"], X_all["target_scale"][:3])


def test_statistics_come_from_the_window_inputs_only():
    """Changing rows after a window's last input row changes its target, never its inputs or statistics."""
    df = make_df()
    kw = dict(lookback=10, horizon=2, target="load", time="date", scale_per="window", split=(0.6, 0.2, 0.2))
    X0, y0 = Pipeline(**kw).fit(df).test[0]
    pipe = Pipeline(**kw)
    parts = pipe.fit(df)
    end = int(parts.test.provenance()["end"].iloc[0])
    changed = df.copy()
    changed.loc[end + 1 :, ["load", "temp"]] *= 100.0  # every row after window 0's inputs
    X1, y1 = Pipeline(**kw).fit(changed).test[0]
    for key in X0:
        np.testing.assert_array_equal(X0[key], X1[key])
    assert not np.allclose(y0, y1)


def test_targets_that_are_not_inputs_stay_unscaled():
    df = make_df()
    kw = dict(lookback=6, target=["load", "label"], time="date", features=["load", "temp"])
    pipe = Pipeline(scale_per="window", **kw)
    X, y = pipe.fit(df).test.to_numpy()
    assert y.shape == (len(y), 2)
    np.testing.assert_array_equal(X["target_loc"][:, 1], 0.0)
    np.testing.assert_array_equal(X["target_scale"][:, 1], 1.0)
    _, y_raw = _raw(df, **kw).test.to_numpy()
    np.testing.assert_array_equal(y[:, 1], y_raw[:, 1])  # the class label, as it was
    back = pipe.inverse_target(y, windows=pipe.split_.test)
    np.testing.assert_allclose(back, y_raw, rtol=1e-6, atol=1e-3)


def test_inference_windows_carry_the_statistics_and_predictions_invert():
    df = make_df()
    pipe = Pipeline(lookback=10, target="load", time="date", scale_per="window")
    pipe.fit(df)
    new = df.iloc[-30:].reset_index(drop=True)
    w = pipe.transform(new)
    X = w.to_numpy()
    assert sorted(X) == ["past", "target_loc", "target_scale"]
    last = new["load"].to_numpy()[-10:]
    assert np.isclose(X["target_loc"][-1, 0], last.astype(np.float32).mean(dtype=np.float64), rtol=1e-6)
    pred = np.zeros(len(w))  # a model predicting "the window's own level" in scaled units
    back = pipe.inverse_target(pred, windows=w)
    np.testing.assert_allclose(back, X["target_loc"][:, 0], rtol=1e-7)
    np.testing.assert_array_equal(back, pipe.inverse_target(pred, **{k: X[k] for k in ("target_loc", "target_scale")}))


def test_saved_and_loaded_pipeline_gives_identical_batches(tmp_path):
    df = make_df()
    pipe = Pipeline(lookback=7, target="load", time="date", scale_per="window",
                    scaler=WindowNormalizer(method="robust", min_scale=0.25))
    pipe.fit(df)
    pipe.save(tmp_path / "p")
    again = Pipeline.load(tmp_path / "p")
    assert again.get_config()["scaler"]["params"] == {"method": "robust", "min_scale": 0.25}
    a, b = pipe.transform(df).to_numpy(), again.transform(df).to_numpy()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_sample_keeps_its_old_meaning():
    """scale_per="sample": inputs normalized per window, plain array batches, targets unscaled (as before)."""
    df = make_df()
    kw = dict(lookback=9, target="load", time="date")
    pipe = Pipeline(scale_per="sample", **kw)
    X, y = pipe.fit(df).test.to_numpy()
    assert isinstance(X, np.ndarray)
    np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-4)
    _, y_raw = _raw(df, **kw).test.to_numpy()
    np.testing.assert_array_equal(y, y_raw)
    np.testing.assert_array_equal(pipe.inverse_target(y), y_raw)
    # inference windows are normalized like the ones the model was trained on
    Xi = pipe.transform(df.iloc[-20:].reset_index(drop=True)).to_numpy()
    np.testing.assert_allclose(Xi.mean(axis=1), 0, atol=1e-4)


def test_arguments_are_checked_up_front():
    with pytest.raises(InvalidParameterError, match=r"`scaler` must be 'standard', 'robust' or a WindowNormalizer"):
        Pipeline(lookback=5, target="load", scale_per="window", scaler="minmax")
    with pytest.raises(InvalidParameterError, match=r"`layout` must be 'NTC' or 'NCT' with scale_per='window'"):
        Pipeline(lookback=4, target="load", scale_per="window", layout="NSTC", subsequences=2)
    with pytest.raises(InvalidParameterError, match=r"`scale_per` must be one of"):
        Pipeline(lookback=4, target="load", scale_per="windows")
    df = make_df()
    pipe = Pipeline(lookback=5, target="load", time="date", scale_per="window")
    parts = pipe.fit(df)
    _, y = parts.test.to_numpy()
    with pytest.raises(InvalidParameterError, match=r"`windows` must be the Windows the predictions belong to"):
        pipe.inverse_target(y)
    with pytest.raises(InvalidParameterError, match="target_scale"):
        pipe.inverse_target(y, target_loc=np.zeros((len(y), 1)))
    with pytest.raises(ShapeError, match=r"`y` has 3 rows but `windows` has"):
        pipe.inverse_target(y[:3], windows=parts.test)


def test_out_of_core_refuses_window_scaling_up_front(tmp_path):
    """open_export does not rebuild the per-window normalization yet: streaming refuses it before any pass."""
    df = make_df()
    path = tmp_path / "d.parquet"
    df.drop(columns="date").to_parquet(path)
    pipe = Pipeline(lookback=5, target="load", scale_per="window")
    with pytest.raises(InvalidParameterError, match=r"`scale_per` must be 'feature', 'series' or 'sample' for "
                       r"streaming.*in memory only"):
        pipe.export(tmp_path / "out", path)
    assert not (tmp_path / "out").exists()


def test_windows_pickle_with_their_normalization():
    """DataLoader workers get a pickled copy: it must give the same dict batches."""
    import pickle

    pipe = Pipeline(lookback=5, target="load", time="date", scale_per="window")
    w = pipe.fit(make_df()).test
    a, b = w[0:4][0], pickle.loads(pickle.dumps(w))[0:4][0]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
