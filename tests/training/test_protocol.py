"""fit's checkpoint choice (the training-loss protocol for small data) and the plateau settings."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqprep.exceptions import InvalidParameterError  # noqa: E402
from seqprep.training import fit  # noqa: E402


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 8, 2)).astype(np.float32)
    return X, (X[:, -1, 0] > 0).astype(np.int64)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))


def test_train_loss_checkpoint_restores_the_lowest_training_loss() -> None:
    X, y = _data()
    snapshots = []
    model = _model()
    res = fit(model, (X, y), task="classification", epochs=6, lr=0.5, batch_size=8, progress=False, device="cpu",
              checkpoint="train_loss", patience=None,
              callbacks=[lambda rec, m: snapshots.append({k: v.clone() for k, v in m.state_dict().items()})])
    losses = [r["train_loss"] for r in res.history]
    assert res.best_epoch == int(np.argmin(losses)) + 1
    assert math.isnan(res.best_val) and not res.stopped_early
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, snapshots[res.best_epoch - 1][k])


def test_plateau_on_training_loss_lowers_the_rate_to_min_lr() -> None:
    X, y = _data()
    res = fit(_model(), (X, y), task="classification", epochs=8, lr=1e-2, progress=False, device="cpu",
              scheduler="plateau", plateau_patience=1, min_lr=4e-3, checkpoint="last", weight_decay=0.0)
    rates = [r["lr"] for r in res.history]
    assert min(rates) >= 4e-3 - 1e-12 and res.best_epoch == 8


def test_checkpoint_val_needs_validation_data() -> None:
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="checkpoint"):
        fit(_model(), (X, y), task="classification", epochs=1, progress=False, checkpoint="val")
    with pytest.raises(InvalidParameterError, match="checkpoint"):
        fit(_model(), (X, y), task="classification", epochs=1, progress=False, checkpoint="best")
