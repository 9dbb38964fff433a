"""fit / predict / evaluate on dict batches: moved tensors, weighted loss and metrics, denormalized predictions."""

from __future__ import annotations

import numpy as np
import pytest

from seqprep.exceptions import DataError, InvalidParameterError, ShapeError
from seqprep.metrics import mae, regression_metrics

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from seqprep.models import CNNLSTM  # noqa: E402
from seqprep.training import (  # noqa: E402
    ArrayWindows,
    evaluate,
    fit,
    make_dataloader,
    predict,
)
from seqprep.training._fit import _denormalize_target as denormalize_target  # noqa: E402

N, T, H = 96, 10, 2
INPUTS = {"past": ["y"], "known": ["k"], "static_cat": ["s"], "cardinalities": {"s": 4}}
FIT = {"epochs": 2, "batch_size": 16, "progress": False, "scheduler": None, "patience": None}


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = {
        "past": rng.normal(size=(N, T, 1)).astype(np.float32),
        "known": rng.normal(size=(N, T + H, 1)).astype(np.float32),
        "static_cat": rng.integers(0, 4, (N, 1)),
        "weight": rng.uniform(0.5, 2.0, N).astype(np.float32),
        "target_loc": rng.normal(size=(N, 1)).astype(np.float32),
        "target_scale": rng.uniform(0.5, 2.0, (N, 1)).astype(np.float32),
    }
    y = (X["known"][:, T:, 0] + X["past"][:, -1:, 0]).astype(np.float32)
    return X, y


def _model():
    torch.manual_seed(0)
    return CNNLSTM(1, inputs=INPUTS, horizon=H, horizons=H, conv_channels=(8,), lstm_hidden=8, dropout=0.0)


def test_loader_yields_dicts_of_tensors_with_the_right_dtypes():
    X, y = _data()
    X["past_mask"] = np.zeros((N, T, 1), bool)
    Xb, yb = next(iter(make_dataloader((X, y), batch_size=8)))
    assert sorted(Xb) == sorted(X)
    assert Xb["past"].dtype == torch.float32 and Xb["static_cat"].dtype == torch.int64
    assert Xb["past_mask"].dtype == torch.bool and Xb["weight"].shape == (8,)
    assert yb.shape == (8, H)


def test_fit_predict_evaluate_on_dict_windows():
    X, y = _data()
    model = _model()
    result = fit(model, (X, y), (X, y), **FIT)
    assert len(result.history) == 2 and np.isfinite(result.history[-1]["val_loss"])
    pred = predict(model, (X, y))
    assert pred.shape == (N, H, 1)
    scores = evaluate(model, (X, y))
    assert scores["mae"] == pytest.approx(mae(y, pred.reshape(y.shape)), rel=1e-6)


def test_weighted_loss_ignores_windows_of_weight_zero():
    X, y = _data()
    X["weight"] = np.where(np.arange(N) % 3 == 0, 0.0, X["weight"]).astype(np.float32)
    spoiled = y.copy()
    spoiled[np.arange(N) % 3 == 0] += 100.0  # targets of weight-0 windows: must not matter
    a, b = _model(), _model()
    ha = fit(a, (X, y), (X, y), sample_weight=True, **FIT).history
    hb = fit(b, (X, spoiled), (X, spoiled), sample_weight=True, **FIT).history
    assert [r["train_loss"] for r in ha] == [r["train_loss"] for r in hb]
    assert [r["val_loss"] for r in ha] == [r["val_loss"] for r in hb]
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    # and unweighted they do matter
    c = _model()
    hc = fit(c, (X, spoiled), **FIT).history
    assert hc[0]["train_loss"] > 10 * ha[0]["train_loss"]


def test_unit_weights_give_the_unweighted_loss():
    X, y = _data()
    X["weight"] = np.ones(N, np.float32)
    a, b = _model(), _model()
    ha = fit(a, (X, y), (X, y), sample_weight=True, **FIT).history
    hb = fit(b, (X, y), (X, y), **FIT).history
    for ra, rb in zip(ha, hb, strict=True):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-5)
        assert ra["val_metric"] == pytest.approx(rb["val_metric"], rel=1e-5)


def test_weighted_validation_metric_and_evaluate_use_the_batch_weights():
    X, y = _data()
    model = _model()
    result = fit(model, (X, y), (X, y), sample_weight=True, **{**FIT, "epochs": 1})
    pred = predict(model, X)
    per_window = np.abs(pred.reshape(y.shape) - y).mean(axis=1)
    weighted = float(np.sum(per_window * X["weight"]) / np.sum(X["weight"]))
    assert result.history[0]["val_metric"] == pytest.approx(weighted, rel=1e-4)
    scores = evaluate(model, (X, y), sample_weight=True)
    assert scores == pytest.approx(regression_metrics(y, pred.reshape(y.shape), sample_weight=X["weight"]))


def test_sample_weight_needs_weights_and_checks_them():
    X, y = _data()
    with pytest.raises(DataError, match="needs batches that carry a 'weight'.*weight=..."):
        fit(_model(), ({k: v for k, v in X.items() if k != "weight"}, y), sample_weight=True, **FIT)
    with pytest.raises(DataError, match="one finite weight >= 0"):
        fit(_model(), ({**X, "weight": -X["weight"]}, y), sample_weight=True, **FIT)
    with pytest.raises(DataError, match="weight 0: there is nothing to learn"):
        fit(_model(), ({**X, "weight": np.zeros(N, np.float32)}, y), sample_weight=True, **FIT)
    with pytest.raises(InvalidParameterError, match="sample_weight"):
        fit(_model(), (X, y), sample_weight="yes", **FIT)
    with pytest.raises(DataError, match="carry 'weight'"):
        evaluate(_model(), (X["past"], y), sample_weight=True)


def test_predict_denormalizes_with_each_windows_statistics():
    X, y = _data()
    model = _model()
    raw = predict(model, X)
    out = predict(model, X, denormalize=True)
    expected = raw * X["target_scale"][:, :, None] + X["target_loc"][:, :, None]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    scores = evaluate(model, (X, y), denormalize=True)
    truth = y * X["target_scale"] + X["target_loc"]
    assert scores["mae"] == pytest.approx(mae(truth, expected.reshape(y.shape)), rel=1e-5)
    with pytest.raises(DataError, match="carry 'target_loc'.*drop denormalize=True"):
        predict(model, {k: v for k, v in X.items() if not k.startswith("target")}, denormalize=True)


def test_denormalize_target_layouts_and_errors():
    loc, scale = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[10.0, 100.0], [1.0, 1.0]])
    values = np.ones((2, 5, 2))
    out = denormalize_target(values, loc, scale)
    np.testing.assert_allclose(out[:, 0], [[11.0, 102.0], [4.0, 5.0]])
    np.testing.assert_allclose(denormalize_target([1.0, 2.0], [[0.0], [1.0]], [[2.0], [3.0]]), [2.0, 7.0])
    with pytest.raises(ShapeError, match="last axis"):
        denormalize_target(np.ones((2, 5)), loc, scale)
    with pytest.raises(ShapeError, match="one row per"):
        denormalize_target(np.ones((3, 2)), loc, scale)


def test_training_augmentation_changes_past_only():
    X, y = _data()
    seen = {}

    def spy(batch, rng):
        seen["shape"] = batch.shape
        return batch + 1.0

    from seqprep.training._loaders import _AugmentedWindows

    aug = _AugmentedWindows(ArrayWindows(X, y), spy, seed=0)
    Xa, ya = aug[np.arange(4)]
    assert seen["shape"] == (4, T, 1)
    np.testing.assert_array_equal(Xa["past"], X["past"][:4] + 1.0)
    np.testing.assert_array_equal(Xa["known"], X["known"][:4])
    fit(_model(), (X, y), augment=spy, **{**FIT, "epochs": 1})


def test_array_windows_checks_dict_rows():
    X, y = _data()
    with pytest.raises(ShapeError, match="same number of windows under every key"):
        ArrayWindows({**X, "static_cat": X["static_cat"][:3]}, y)
    with pytest.raises(InvalidParameterError, match="lengths"):
        ArrayWindows(X, y, lengths=np.full(N, T))
    assert len(ArrayWindows(X, y)) == N
