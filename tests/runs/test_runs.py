"""Tests of seqprep.runs: end-to-end runs, run directories, reload and prediction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqprep.datasets import make_classification_sines, make_sine
from seqprep.exceptions import ArtifactError, DataError, InvalidParameterError
from seqprep.runs import (
    check_scales,
    evaluate_run,
    instance_normalize,
    load_run,
    predict_run,
    run_classification,
    run_forecast,
)

FAST = {"epochs": 8, "patience": 4}


def _sine_frame(n: int = 600) -> pd.DataFrame:
    df = make_sine(n, n_features=2, period=25, noise=0.05, seed=0, as_frame=True)
    df = df.drop(columns=["time"])
    df.insert(0, "date", pd.date_range("2020-01-01", periods=n, freq="D"))
    return df


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("runs") / "sine"
    res = run_forecast(_sine_frame(), target="f0", time="date", lookback=25, period=25, gap=1,
                       train_config=FAST, progress=False, out_dir=out)
    return res


def test_forecast_beats_persistence_and_writes_run(forecast_run) -> None:
    m = forecast_run.metrics
    assert set(m) == {"cnn_lstm", "persistence", "seasonal_naive", "ridge"}
    assert m["cnn_lstm"]["mae"] < m["persistence"]["mae"]
    run = forecast_run.run_dir
    for name in ("pipeline", "model", "metrics.json", "history.json", "predictions.csv", "report.html",
                 "run.json", "COMPLETE", "test_windows.npz"):
        assert (run / name).exists(), name
    assert list(run.glob("report/*.png"))
    preds = pd.read_csv(run / "predictions.csv", parse_dates=["target_time"])
    assert len(preds) == len(forecast_run.predictions)
    assert {"end_time", "target_time", "y_true", "cnn_lstm", "persistence", "ridge"} <= set(preds.columns)
    saved = json.loads((run / "metrics.json").read_text())["test"]
    assert saved["cnn_lstm"]["mae"] == pytest.approx(m["cnn_lstm"]["mae"])
    assert not list(run.parent.glob(".sine.tmp-*"))
    config = json.loads((run / "run.json").read_text())
    assert config["device"] in ("cpu", "cuda")  # device="auto" records it
    assert config["threads"] == 1  # the automatic count of a small model, recorded


def test_saved_run_rescoring_and_prediction_reproduce(forecast_run) -> None:
    out = evaluate_run(forecast_run.run_dir)
    assert out["matches"]
    df = _sine_frame()
    test_part = df.iloc[-200:]
    table = predict_run(forecast_run.run_dir, test_part)
    # the last window of the run's test part ends one row before the end of the data
    ours = forecast_run.predictions
    merged = table.merge(ours, on="end_time")
    assert len(merged) > 50
    np.testing.assert_allclose(merged["prediction"], merged["cnn_lstm"], rtol=1e-5, atol=1e-6)
    assert (table["prediction_time"] - table["end_time"] == pd.Timedelta("1D")).all()


def test_pipeline_load_finds_the_pipeline_of_a_run_directory(forecast_run) -> None:
    from seqprep import Pipeline

    pipe = Pipeline.load(forecast_run.run_dir)
    assert pipe.schema_ == forecast_run.pipeline.schema_
    with pytest.raises(ArtifactError, match="pipeline.json is missing. Pass the folder given to Pipeline.save"):
        Pipeline.load(forecast_run.run_dir / "model")


def test_predict_rejects_wrong_schema(forecast_run) -> None:
    bad = _sine_frame().drop(columns=["f1"])
    with pytest.raises(DataError, match="lacks columns"):
        predict_run(forecast_run.run_dir, bad)


def test_incomplete_and_existing_run_dirs(forecast_run, tmp_path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    (half / "run.json").write_text("{}")
    with pytest.raises(ArtifactError, match="COMPLETE"):
        load_run(half)
    with pytest.raises(DataError, match="already exists"):
        run_forecast(_sine_frame(), target="f0", time="date", out_dir=half, progress=False)


def test_forecast_bad_inputs() -> None:
    df = _sine_frame(100)
    with pytest.raises(DataError, match="not in the data"):
        run_forecast(df, target="nope", time="date", progress=False)
    df["label"] = "a"
    with pytest.raises(DataError, match="not numeric") as refused:
        run_forecast(df, target="label", time="date", progress=False)
    assert "first values: 'a'" in str(refused.value) and "thousands" not in str(refused.value)
    df["sales"] = [f"{1000 + i:,}" for i in range(len(df))]  # '1,000': a thousands separator read as text
    with pytest.raises(DataError, match=r"first values: '1,000'.*thousands=','"):
        run_forecast(df, target="sales", time="date", progress=False)
    with pytest.raises(DataError, match="lookback"):
        run_forecast(df, target="f0", time="date", lookback=500, progress=False)
    with pytest.raises(InvalidParameterError):
        run_forecast(df, target="f0", time="date", train_config={"epoch": 3}, progress=False)
    with pytest.raises(InvalidParameterError, match=r"`threads` must be .*Received: threads=0"):
        run_forecast(df, target="f0", time="date", threads=0, progress=False)


def test_check_scales_flags_weather() -> None:
    from seqprep.datasets import load_weather

    out = check_scales(load_weather(), ["precipitation", "temp_max", "temp_min", "wind"])
    assert out["disparate"]
    assert "precipitation" in out["message"] and "temp_max" in out["message"]


def test_instance_normalize_is_per_case() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(4, 30, 2))
    out = instance_normalize(X)
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=1), 1.0, atol=1e-4)
    # a case's output does not depend on the other cases
    np.testing.assert_array_equal(instance_normalize(X[:1]), out[:1])


def test_classification_beats_majority_and_reloads(tmp_path) -> None:
    X, y = make_classification_sines(120, 32, n_classes=3, seed=0)
    labels = np.array(["low", "mid", "high"])[y]
    res = run_classification((X[:80], labels[:80]), (X[80:], labels[80:]), train_config={"epochs": 15},
                             progress=False, out_dir=tmp_path / "cls")
    m = res.metrics
    assert m["cnn_lstm"]["accuracy"] > m["majority_class"]["accuracy"] + 0.2
    out = evaluate_run(res.run_dir)
    assert out["matches"] and out["task"] == "classification"


def test_seasonal_naive_reads_the_past_when_the_window_is_shorter_than_a_season() -> None:
    df = _sine_frame(400)
    res = run_forecast(df, target="f0", time="date", lookback=5, period=25, train_config={"epochs": 1},
                       progress=False)
    pred = res.predictions
    rows = df.index[df["date"].isin(pred["target_time"])]
    np.testing.assert_allclose(pred["seasonal_naive"].to_numpy(), df["f0"].to_numpy()[rows - 25], rtol=1e-5,
                               atol=1e-5)
    # one season back on a 25-day sine is close to the truth: better than persistence
    assert res.metrics["seasonal_naive"]["mae"] < res.metrics["persistence"]["mae"]


def test_train_config_augment_is_validated_and_stored_as_json(tmp_path) -> None:
    import json

    X, y = make_classification_sines(40, 32, seed=0)
    res = run_classification((X[:30], y[:30]), (X[30:], y[30:]), progress=False, out_dir=tmp_path / "aug",
                             train_config={"epochs": 2, "augment": ["jitter", "time_warp"], "label_smoothing": 0.1},
                             threads=1)
    config = json.loads((res.run_dir / "run.json").read_text())
    assert config["threads"] == 1 and res.history.threads == 1
    train = config["train"]
    assert [step["kind"] for step in train["augment"]["steps"]] == ["jitter", "time_warp"]
    assert train["label_smoothing"] == 0.1
    with pytest.raises(InvalidParameterError, match="`augment` must be one of"):
        run_classification((X[:30], y[:30]), (X[30:], y[30:]), progress=False,
                           train_config={"epochs": 2, "augment": "mixup"})


def test_ensemble_runs_train_each_member_and_reload_as_one_model(tmp_path) -> None:
    from seqprep.models import Ensemble

    X, y = make_classification_sines(60, 32, n_classes=3, seed=0)
    members = [{"kernel_size": [3, 3]}, {"kernel_size": [5, 3]}]
    res = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, out_dir=tmp_path / "ens",
                             model_config={"conv_channels": [8, 8], "members": members},
                             train_config={"epochs": 3, "augment": None})
    assert isinstance(res.model, Ensemble) and len(res.model.members) == 2
    assert [h.best_epoch for h in res.member_histories] == json.loads(
        (res.run_dir / "run.json").read_text())["member_best_epochs"]
    assert (res.run_dir / "report" / "learning_curves.png").stat().st_size > 1000
    run = json.loads((res.run_dir / "run.json").read_text())
    assert [m["config"]["kernel_size"] for m in run["model"]["members"]] == [[3, 3], [5, 3]]
    assert [m["config"]["conv_channels"] for m in run["model"]["members"]] == [[8, 8], [8, 8]]
    assert len(run["member_best_epochs"]) == 2
    out = evaluate_run(res.run_dir)  # load_model rebuilds the ensemble and reproduces the saved metrics
    assert out["matches"]
    assert isinstance(load_run(res.run_dir).model, Ensemble)
    # a number of members: the same settings with seeds seed, seed + 1 -- different networks
    fc = run_forecast(_sine_frame(300), target="f0", time="date", lookback=25, train_config={"epochs": 2},
                      model_config={"members": 2}, progress=False, out_dir=tmp_path / "fc")
    a, b = fc.model.members
    assert a.config == b.config and not torch_equal_weights(a, b)
    assert evaluate_run(fc.run_dir)["matches"]  # the saved ensemble reproduces the forecasts
    table = predict_run(fc.run_dir, _sine_frame(300))
    assert np.isfinite(table["prediction"]).all()


def torch_equal_weights(a, b) -> bool:
    return all((p == q).all() for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("members", [0, "five", [], [3], True])
def test_bad_members_are_refused_with_the_fix(members) -> None:
    X, y = make_classification_sines(40, 32, seed=0)
    with pytest.raises(InvalidParameterError, match=r"model_config\['members'\]"):
        run_classification((X[:30], y[:30]), (X[30:], y[30:]), progress=False, train_config={"epochs": 1},
                           model_config={"members": members})
