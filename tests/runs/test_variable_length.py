"""Classification runs on unequal-length cases (masks, resampling), LSTMFCN runs, and the forecaster's ridge path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from seqprep.datasets import make_classification_sines, make_sine  # noqa: E402
from seqprep.exceptions import InvalidParameterError  # noqa: E402
from seqprep.runs import evaluate_run, run_classification, run_forecast  # noqa: E402
from seqprep.runs._classify import case_lengths, resample_cases  # noqa: E402

FAST = {"epochs": 2}


def _unequal() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    X, y = make_classification_sines(40, 32, seed=0)
    X = X.astype(np.float64)
    X[::2, 20:] = np.nan  # every other case has 20 steps
    return (X[:28], y[:28]), (X[28:], y[28:])


def test_lengths_and_resampling() -> None:
    train, _ = _unequal()
    lengths = case_lengths(train[0])
    assert set(lengths.tolist()) == {20, 32}
    out = resample_cases(train[0], lengths, 32)
    assert np.isfinite(out).all() and out[0, -1, 0] == train[0][0, 19, 0] and out[0, 0, 0] == train[0][0, 0, 0]


@pytest.mark.parametrize("variable_length", ["mask", "resample", "pad"])
def test_unequal_cases_run(variable_length: str, tmp_path) -> None:
    train, test = _unequal()
    res = run_classification(train, test, variable_length=variable_length, train_config=FAST, progress=False,
                             device="cpu", out_dir=tmp_path / variable_length,
                             model_config={"type": "lstm_fcn", "conv_channels": [8, 8, 8]})
    assert res.config["masked"] is (variable_length == "mask")
    assert res.config["model_type"] == "lstm_fcn" and res.config["n_val"] == 0
    assert evaluate_run(res.run_dir)["matches"]  # a masked run keeps its lengths in test_windows.npz


def test_unknown_model_type_and_variable_length() -> None:
    train, test = _unequal()
    with pytest.raises(InvalidParameterError, match="type"):
        run_classification(train, test, model_config={"type": "transformer"}, train_config=FAST, progress=False)
    with pytest.raises(InvalidParameterError, match="variable_length"):
        run_classification(train, test, variable_length="crop", train_config=FAST, progress=False)


def test_forecaster_ridge_path_is_decided_on_validation() -> None:
    df = make_sine(300, period=20, noise=0.05, as_frame=True)
    res = run_forecast(df, target="f0", time="time", lookback=20, progress=False, train_config=FAST, device="cpu")
    decision = res.config["ridge_path"]
    assert decision["kept"] in ("persistence", "ridge", "network+ridge") and decision["alpha"] > 0
    assert res.config["model"]["linear_path"] is True
    maes = {"persistence": decision["val_mae_persistence"], "ridge": decision["val_mae_ridge"],
            "network+ridge": decision["val_mae_network_plus_ridge"]}
    assert maes[decision["kept"]] == min(maes.values())  # the lowest validation MAE is kept
    off = run_forecast(df, target="f0", time="time", lookback=20, progress=False, train_config=FAST, device="cpu",
                       model_config={"ridge_path": False})
    assert off.config["ridge_path"] is None and off.config["model"]["linear_path"] is False


def test_forecaster_keeps_persistence_when_validation_says_so() -> None:
    """A series that stops moving after its training part (PBS's scripts end at zero): persistence is exact."""
    rng = np.random.default_rng(0)
    values = np.r_[rng.normal(5.0, 2.0, 120), np.zeros(80)]  # zero from before the validation part
    df = pd.DataFrame({"time": np.arange(200), "y": values})
    res = run_forecast(df, target="y", time="time", lookback=8, progress=False, train_config=FAST, device="cpu")
    decision = res.config["ridge_path"]
    assert decision["kept"] == "persistence" and decision["val_mae_persistence"] == 0.0
    assert "Validation kept persistence, so the model is persistence." in res.info["verdict"]["summary"]
    assert decision["val_mae_ridge"] > 0.0
    # the model is the persistence skip alone: its test predictions are the baseline's, to rounding
    assert res.metrics["cnn_lstm"]["mae"] == pytest.approx(res.metrics["persistence"]["mae"], abs=1e-5)
    no_target_input = run_forecast(df.assign(x=np.sin(np.arange(200))), target="y", time="time", features=["x"],
                                   lookback=8, progress=False, train_config=FAST, device="cpu")
    assert "val_mae_persistence" not in no_target_input.config["ridge_path"]  # no skip, no persistence candidate


def test_forecaster_keeps_seasonal_naive_when_validation_says_so(monkeypatch) -> None:
    """docs/results.md 4.14: a series that repeats exactly with its period after training: seasonal naive is exact."""
    import seqprep.runs._forecast as forecast

    monkeypatch.setattr(forecast, "SEASONAL_NAIVE_IN_DECISION", True)
    rng = np.random.default_rng(1)
    pattern = rng.normal(0.0, 3.0, 7)
    values = np.r_[rng.normal(0.0, 3.0, 100), np.tile(pattern, 20)]  # period 7 exactly from before validation
    df = pd.DataFrame({"time": np.arange(len(values)), "y": values})
    res = run_forecast(df, target="y", time="time", lookback=10, period=7, progress=False, train_config=FAST,
                       device="cpu")
    decision = res.config["ridge_path"]
    assert decision["kept"] == "seasonal naive" and decision["val_mae_seasonal_naive"] < 1e-5
    assert res.info["verdict"]["lines"][-1] == "Validation kept seasonal naive, so the model is seasonal naive."
    assert decision["val_mae_persistence"] > 0.1
    # the model is seasonal naive: its test predictions are the baseline's, to rounding
    assert res.metrics["cnn_lstm"]["mae"] == pytest.approx(res.metrics["seasonal_naive"]["mae"], abs=1e-4)
    # horizon 3: the value 4 rows before the last input row; a window shorter than that has no candidate
    h3 = run_forecast(df, target="y", time="time", lookback=10, horizon=3, period=7, progress=False,
                      train_config=FAST, device="cpu")
    assert h3.config["ridge_path"]["kept"] == "seasonal naive"
    assert h3.metrics["cnn_lstm"]["mae"] == pytest.approx(h3.metrics["seasonal_naive"]["mae"], abs=1e-4)
    short = run_forecast(df, target="y", time="time", lookback=5, period=7, progress=False, train_config=FAST,
                         device="cpu")
    assert "val_mae_seasonal_naive" not in short.config["ridge_path"]
