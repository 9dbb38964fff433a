"""MiniRocketRidge: fitted in closed form, saved and loaded like the networks, refused where it does not apply."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqprep.exceptions import ArtifactError, SeqprepError, ShapeError
from seqprep.models import MiniRocketRidge, load_model, save_model
from seqprep.training import ArrayWindows, predict
from seqprep.training.baselines import minirocket_classifier


def _cases(n: int = 40, length: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.linspace(0, 1, length)
    X = np.sin(2 * np.pi * np.array([2.0, 4.0, 7.0])[y][:, None] * t) + rng.normal(0, 0.3, (n, length))
    return X[:, :, None].astype(np.float32), y


def test_model_predicts_as_the_baseline_does():
    X, y = _cases()
    model = MiniRocketRidge(1, 3, lookback=60, seed=2).fit_cases(X[:30], y[:30])
    labels = predict(model, X[30:], task="classification")
    np.testing.assert_array_equal(labels, minirocket_classifier(X[:30], y[:30], X[30:], seed=2))


def test_save_and_load_give_the_same_outputs_and_an_edit_is_refused(tmp_path):
    X, y = _cases()
    lengths = np.full(40, 60)
    lengths[::3] = 45
    X[np.arange(60)[None, :] >= lengths[:, None]] = 0.0
    model = MiniRocketRidge(1, 3, lookback=60).fit_cases(X, y, lengths)
    save_model(model, tmp_path / "m")
    back = load_model(tmp_path / "m")
    x, lens = torch.from_numpy(X), torch.from_numpy(lengths)
    assert torch.equal(back(x, lens), model(x, lens))
    np.testing.assert_array_equal(predict(back, ArrayWindows(X, None, lengths), task="classification"),
                                  predict(model, ArrayWindows(X, None, lengths), task="classification"))
    config = tmp_path / "m" / "config.json"
    meta = json.loads(config.read_text())
    meta["config"]["seed"] = 7  # another seed means other channel subsets: the checksums refuse the edit
    config.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError):
        load_model(tmp_path / "m")


def test_regression_outputs_values():
    rng = np.random.default_rng(1)
    amp = rng.uniform(0.5, 3.0, 50)
    X = (amp[:, None] * np.sin(np.linspace(0, 12, 48)) + amp[:, None])[:, :, None].astype(np.float32)
    model = MiniRocketRidge(1, 1, task="regression", lookback=48).fit_cases(X[:40], amp[:40])
    pred = predict(model, X[40:])
    assert pred.shape == (10,) and np.corrcoef(pred, amp[40:])[0, 1] > 0.8


def test_bad_inputs_are_refused_with_the_argument_named():
    with pytest.raises(SeqprepError, match="task"):
        MiniRocketRidge(1, 2, task="segmentation")
    model = MiniRocketRidge(2, 2, lookback=30)
    with pytest.raises(ShapeError, match=r"\(N, T, 2\)"):
        model.fit_cases(np.zeros((5, 30, 1)), np.zeros(5))
    with pytest.raises(SeqprepError, match="lookback"):
        model.fit_cases(np.zeros((5, 50, 2)), np.arange(5) % 2)
    with pytest.raises(ShapeError):
        model(torch.zeros(3, 30))
    with pytest.raises(ValueError):
        MiniRocketRidge.from_config({"n_features": 1, "units": 3})
