"""End to end: a Pipeline with known/static/categorical inputs, masks and weights -> CNNLSTM -> fit, doctor, save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seqprep

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from seqprep.models import CNNLSTM, load_model, save_model  # noqa: E402
from seqprep.training import evaluate, fit, predict  # noqa: E402


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n, frames = 100, []
    for sid, region in enumerate(["north", "south", "east"]):
        t = np.arange(n)
        frames.append(pd.DataFrame({
            "id": sid, "time": pd.date_range("2024-01-01", periods=n, freq="h"),
            "y": np.sin(t / 6) + rng.normal(0, 0.1, n) + sid, "temp": rng.normal(size=n),
            "hour": (t % 24).astype(float), "holiday": np.where(t % 50 < 3, "yes", "no"),
            "region": region, "size": float(sid + 1), "w": rng.uniform(0.5, 2.0, n),
        }))
    df = pd.concat(frames, ignore_index=True)
    df.loc[rng.random(len(df)) < 0.05, "temp"] = np.nan
    return df


@pytest.fixture(scope="module")
def parts():
    pipe = seqprep.Pipeline(lookback=12, horizon=[1, 2, 3], target="y", group="id", time="time",
                            features=["y", "temp"], known=["hour", "holiday"], static=["region", "size"],
                            weight="w", nan_policy="mask", fill="ffill")
    return pipe, pipe.fit(_frame())


def test_a_model_from_the_windows_trains_predicts_and_round_trips(parts, tmp_path):
    pipe, split = parts
    torch.manual_seed(0)
    model = CNNLSTM.from_windows(split.train, horizons=3, conv_channels=(8,), lstm_hidden=8)
    spec = model.input_spec
    assert spec["horizon"] == 3 and spec["masks"] is True
    assert spec["known_cat"] == {"holiday": split.train.inputs["cardinalities"]["holiday"]}
    result = fit(model, split.train, split.val, epochs=1, batch_size=64, progress=False, sample_weight=True)
    assert np.isfinite(result.history[-1]["val_loss"])
    pred = predict(model, split.test)
    assert pred.shape == (len(split.test), 3, 1)
    assert set(evaluate(model, split.test, sample_weight=True)) == {"mae", "rmse", "smape"}
    save_model(model, tmp_path / "m")
    np.testing.assert_array_equal(predict(load_model(tmp_path / "m"), split.test), pred)
    assert seqprep.doctor(model, windows=split.test).ok
    X, _ = next(iter(split.train.to_torch().loader(batch_size=8, shuffle=True, seed=0)))
    assert model.eval()(X).shape == (8, 3, 1)


def test_a_model_built_for_other_windows_is_diagnosed(parts):
    _, split = parts
    plain = CNNLSTM(2, conv_channels=(8,), lstm_hidden=8)
    report = seqprep.doctor(plain, windows=split.test)
    assert report.diagnosis.code == "DICT_KEY_UNDECLARED"
