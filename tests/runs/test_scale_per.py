"""run_forecast(scale_per="series"): per-series statistics through the run, the saved run and predict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline
from seqprep.exceptions import DataError, InvalidParameterError
from seqprep.runs import evaluate_run, predict_run, run_forecast

TINY_MODEL = {"conv_channels": [4], "kernel_size": 3, "lstm_hidden": 4}
TINY_TRAIN = {"epochs": 2, "batch_size": 64}
SCALES = {"a": 1.0, "b": 100.0, "c": 10000.0}


def _panel(n: int = 120) -> pd.DataFrame:
    """Three daily series of one shape at levels 1, 100 and 10000 (a value column ``y``, key ``shop``)."""
    rng = np.random.default_rng(0)
    frames = []
    for shop, scale in SCALES.items():
        base = 10.0 + np.sin(np.arange(n) / 4.0) + rng.normal(0.0, 0.2, n)
        frames.append(pd.DataFrame({"shop": shop, "day": pd.date_range("2020-01-01", periods=n, freq="D"),
                                    "y": scale * base}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def series_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("scale_per") / "run"
    return run_forecast(_panel(), target="y", time="day", group="shop", lookback=8, scale_per="series",
                        model_config=TINY_MODEL, train_config=TINY_TRAIN, progress=False, device="cpu", out_dir=out)


def test_series_scaling_unscales_every_window_with_its_own_series(series_run) -> None:
    df = _panel()
    table = series_run.predictions
    assert set(table["series"]) == set(SCALES)
    values = df.set_index(["shop", "day"])["y"]
    last_input = values.loc[list(zip(table["series"], table["end_time"], strict=True))].to_numpy()
    target = values.loc[list(zip(table["series"], table["target_time"], strict=True))].to_numpy()
    # persistence is the last input value, back in the series' own units (float32 windows: 1e-6 relative)
    np.testing.assert_allclose(table["persistence"], last_input, rtol=1e-6)
    np.testing.assert_allclose(table["y_true"], target, rtol=1e-6)
    for shop, scale in SCALES.items():  # every prediction sits at its own series' level
        rows = table["series"] == shop
        for name in ("cnn_lstm", "ridge"):
            level = table.loc[rows, name].abs().median() / scale
            assert 5.0 < level < 15.0, (shop, name, level)
    stats = series_run.pipeline.scaler_
    train_mean = [float(df.loc[df["shop"] == s, "y"].iloc[:50].mean()) for s in SCALES]
    assert stats.center_[:, 0] == pytest.approx(train_mean, rel=0.05)  # each series' own training rows
    info = series_run.info["scaler"]
    assert info["scale_per"] == "series" and info["n_series"] == 3


def test_run_json_records_scale_per_and_the_ridge_units(series_run) -> None:
    config = json.loads((series_run.run_dir / "run.json").read_text())
    assert config["scale_per"] == "series"
    assert config["ridge_path"]["units"] == "scaled per series"
    with np.load(series_run.run_dir / "test_windows.npz") as saved:
        assert saved["series_code"].tolist() == [["a", "b", "c"].index(s) for s in series_run.predictions["series"]]


def test_saved_series_run_rescores_and_predicts_in_original_units(series_run) -> None:
    out = evaluate_run(series_run.run_dir)
    assert out["matches"], (out["rescored"], out["saved"]["cnn_lstm"])
    loaded = Pipeline.load(series_run.run_dir / "pipeline")
    assert loaded.scale_per == "series"
    np.testing.assert_array_equal(loaded.scaler_.center_, series_run.pipeline.scaler_.center_)
    np.testing.assert_array_equal(loaded.scaler_.scale_, series_run.pipeline.scaler_.scale_)
    # the series in another order: each is found by its key, not its position
    table = predict_run(series_run.run_dir, _panel().sort_values(["shop", "day"], ascending=[False, True]))
    merged = table.merge(series_run.predictions, on=["series", "end_time"])
    assert len(merged) == len(series_run.predictions)
    np.testing.assert_allclose(merged["prediction"], merged["cnn_lstm"], rtol=1e-5)


def test_predicting_a_series_not_trained_on_is_a_data_error(series_run) -> None:
    df = _panel()
    df.loc[df["shop"] == "b", "shop"] = "new"
    with pytest.raises(DataError, match=r"series 'new' of the data were not seen at fit"):
        predict_run(series_run.run_dir, df)


def test_feature_scaling_stays_the_default() -> None:
    res = run_forecast(_panel(60), target="y", time="day", group="shop", lookback=8, model_config=TINY_MODEL,
                       train_config={"epochs": 1}, progress=False, device="cpu")
    assert res.pipeline.scale_per == "feature" and res.config["scale_per"] == "feature"
    assert res.config["ridge_path"]["units"] == "scaled"
    last_input = _panel(60).set_index(["shop", "day"])["y"].loc[
        list(zip(res.predictions["series"], res.predictions["end_time"], strict=True))]
    # float32 windows on one global scale keep fewer digits of the small series than per-series scaling does
    np.testing.assert_allclose(res.predictions["persistence"], last_input, rtol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale_per": "series"}, r"`scale_per` must be 'feature' when the data has no group column\. "
                                  r"Received: scale_per='series'\. .*pass group="),
        ({"scale_per": "window", "group": "shop"}, r"`scale_per` must be 'feature' or 'series' in a forecasting run"),
        ({"scale_per": "sample", "group": "shop"}, r"Received: scale_per='sample'\. Per-window scaling"),
        ({"scale_per": "global", "group": "shop"}, r"`scale_per` must be one of 'feature', 'series'\. "
                                                   r"Received: scale_per='global'"),
        ({"scale_per": None, "group": "shop"}, r"Received: scale_per=None"),
    ],
)
def test_bad_scale_per_is_refused_before_training(kwargs, match) -> None:
    df = _panel(40)
    if "group" not in kwargs:
        df = df[df["shop"] == "a"].drop(columns="shop")
    with pytest.raises(InvalidParameterError, match=match):
        run_forecast(df, target="y", time="day", lookback=8, progress=False, **kwargs)


def test_series_scaling_refuses_a_series_without_training_rows() -> None:
    df = _panel(60)
    late = df[df["shop"] == "c"].copy()
    late["shop"], late["day"] = "late", late["day"] + pd.Timedelta(days=200)
    with pytest.raises(DataError, match=r"scale_per='series' needs training rows in every series.*'late'"):
        run_forecast(pd.concat([df, late]), target="y", time="day", group="shop", lookback=8, scale_per="series",
                     split=(0.7, 0.15, 0.15), progress=False, train_config={"epochs": 1})


@pytest.mark.parametrize("codes", [None, np.array([0.5]), np.array([7]), np.array([-1])])
def test_rescoring_a_series_run_needs_each_windows_series(series_run, codes) -> None:
    from seqprep.exceptions import ArtifactError
    from seqprep.runs._run_dir import load_run
    from seqprep.runs._saved import _unscale

    run = load_run(series_run.run_dir)
    with pytest.raises(ArtifactError, match=r"test_windows.npz must hold 'series_code', one integer in \[0, 3\)"):
        _unscale(run, np.zeros(1), codes)
