"""LSTMFCN (LSTM-FCN / MLSTM-FCN) and the masks for unequal-length cases, in both models."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqprep.exceptions import InvalidParameterError, ShapeError  # noqa: E402
from seqprep.models import CNNLSTM, LSTMFCN, Ensemble, load_model, save_model  # noqa: E402
from seqprep.models.lstm_fcn import stride_plan  # noqa: E402

SMALL = {"conv_channels": (8, 16, 8), "lstm_hidden": 4}


def test_paper_defaults_and_shapes() -> None:
    torch.manual_seed(0)
    model = LSTMFCN(1, 3, lookback=60).eval()
    assert [b.conv.out_channels for b in model.blocks] == [128, 256, 128]
    assert [b.conv.kernel_size[0] for b in model.blocks] == [8, 5, 3]
    assert model.lstm.hidden_size == 8 and model.lstm.input_size == 60  # dimension shuffle: T values per step
    assert model(torch.randn(4, 60, 1)).shape == (4, 3)
    assert not any(model._has_se)  # univariate: LSTM-FCN, no squeeze-and-excite


def test_multivariate_gets_squeeze_excite() -> None:
    model = LSTMFCN(6, 4, lookback=30, **SMALL)
    assert model._has_se == [True, True, False]
    assert LSTMFCN(6, 4, lookback=30, squeeze_excite=False, **SMALL)._has_se == [False, False, False]


def test_stride_plan_keeps_long_series_short() -> None:
    assert stride_plan(1460, 512) == 3 and stride_plan(100, 512) == 1
    model = LSTMFCN(1, 2, lookback=1460, lstm_input="time", lstm_steps=64, **SMALL)
    assert model.stride == 3 and model.lstm_stride == 8  # 1460 -> 487 -> 61 LSTM steps
    assert "61 steps" in model.plan_text()
    assert model(torch.randn(2, 1460, 1)).shape == (2, 2)


@pytest.mark.parametrize("lstm_input", ["shuffle", "time"])
def test_padding_does_not_reach_the_output(lstm_input: str) -> None:
    torch.manual_seed(0)
    model = LSTMFCN(2, 3, lookback=50, lstm_input=lstm_input, max_length=20, lstm_steps=8, **SMALL).eval()
    x = torch.randn(3, 50, 2)
    lengths = torch.tensor([50, 31, 7])
    noisy = x.clone()
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0.0
        noisy[i, n:] = 100.0
    torch.testing.assert_close(model(x, lengths), model(noisy, lengths))
    torch.testing.assert_close(model(x, torch.tensor([50, 50, 50]))[0], model(x)[0])


def test_cnn_lstm_mask_equals_the_unpadded_case() -> None:
    torch.manual_seed(0)
    for head in ("last", "mean", "last+mean"):
        model = CNNLSTM(2, 3, task="classification", lookback=40, pool="auto", bidirectional=True, head=head,
                        conv_summary=True).eval()
        x = torch.randn(2, 40, 2)
        x[1, 17:] = 0.0
        out = model(x, torch.tensor([40, 17]))
        torch.testing.assert_close(out[1], model(x[1:, :17])[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out[0], model(x[:1])[0], atol=1e-5, rtol=1e-5)


def test_cnn_lstm_refuses_masks_with_paths_that_read_the_last_step() -> None:
    model = CNNLSTM(2, lookback=10, skip_index=0)
    with pytest.raises(InvalidParameterError, match="lengths"):
        model(torch.randn(2, 10, 2), torch.tensor([10, 5]))


def test_refused_inputs() -> None:
    model = LSTMFCN(1, 2, lookback=20, **SMALL)
    with pytest.raises(ShapeError, match="add a feature axis"):
        model(torch.randn(3, 20))
    with pytest.raises(ShapeError, match="lookback"):
        model(torch.randn(3, 25, 1))
    with pytest.raises(InvalidParameterError, match="lengths"):
        model(torch.randn(2, 20, 1), torch.tensor([0, 20]))
    with pytest.raises(InvalidParameterError, match="lstm_input"):
        LSTMFCN(1, 2, lookback=20, lstm_input="sideways")


def test_save_load_and_ensemble(tmp_path) -> None:
    torch.manual_seed(0)
    model = LSTMFCN(3, 4, lookback=30, **SMALL).eval()
    x = torch.randn(2, 30, 3)
    lengths = torch.tensor([30, 12])
    back = load_model(save_model(model, tmp_path / "m"))
    assert isinstance(back, LSTMFCN) and back.config == model.config
    torch.testing.assert_close(back(x, lengths), model(x, lengths))
    ens = Ensemble([model, CNNLSTM(3, 4, task="classification", lookback=30)]).eval()
    again = load_model(save_model(ens, tmp_path / "e"))
    torch.testing.assert_close(again(x, lengths), ens(x, lengths))


def test_fit_carries_lengths_to_the_model() -> None:
    from seqprep.training import ArrayWindows, fit, predict

    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 30, 1)).astype(np.float32)
    lengths = rng.integers(10, 31, size=24)
    X[np.arange(30)[None, :] >= lengths[:, None]] = 0.0
    y = (lengths > 20).astype(np.int64)
    seen = []

    class Spy(LSTMFCN):
        def forward(self, x, lengths=None):  # type: ignore[override]
            seen.append(lengths is not None)
            return super().forward(x, lengths)

    torch.manual_seed(0)
    model = Spy(1, 2, lookback=30, **SMALL)
    res = fit(model, (X, y, lengths), task="classification", epochs=2, batch_size=8, progress=False,
              checkpoint="train_loss", augment=["jitter", "time_warp"], device="cpu")
    assert all(seen) and res.best_epoch in (1, 2)
    pred = predict(model, ArrayWindows(X, None, lengths), task="classification", device="cpu")
    assert pred.shape == (24,) and all(seen)
