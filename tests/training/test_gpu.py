"""The training loop on a CUDA GPU: device placement, mixed precision, pinned lazy loading, save/load.

CI has no GPU, so these tests skip there with that reason; run them on a machine with one
(``pytest tests/test_gpu.py``). What they guard: ``fit``/``predict``/``evaluate`` move the model and
every batch to the GPU, bf16/fp16 autocast trains as well as full precision on an easy signal, the
outputs come back as float32 numpy on the CPU, and weights saved from a GPU model load on a CPU-only
machine and give the same predictions.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqprep.baselines import majority_class, persistence  # noqa: E402
from seqprep.exceptions import InvalidParameterError  # noqa: E402
from seqprep.metrics import accuracy, mae  # noqa: E402
from seqprep.models import CNNLSTM, TimeDistributedCNNLSTM, load_model, save_model  # noqa: E402
from seqprep.training import evaluate, fit, predict  # noqa: E402
from seqprep.windowing import windows  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


def _sine(n: int = 700, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (np.sin(2 * np.pi * t / 20) + 0.05 * rng.normal(size=n)).astype(np.float32)


def _sine_windows(lookback: int = 24) -> tuple[np.ndarray, np.ndarray]:
    s = _sine()
    idx = np.arange(len(s) - lookback)
    return s[idx[:, None] + np.arange(lookback)][..., None], s[idx + lookback]


def _model(seed: int = 0, **kw) -> CNNLSTM:
    torch.manual_seed(seed)
    return CNNLSTM(1, lookback=24, **kw)


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "autocast"])
def test_fit_on_cuda_learns_the_sine_and_reports_the_device(amp):
    X, y = _sine_windows()
    model = _model()
    result = fit(model, (X[:500], y[:500]), (X[500:600], y[500:600]), epochs=30, batch_size=32, lr=1e-2,
                 device="cuda", amp=amp, progress=False, patience=None)
    assert result.device.startswith("cuda")
    assert all(p.device.type == "cuda" for p in model.parameters())
    pred = predict(model, X[600:], amp=amp)  # "auto": the model's own device
    assert isinstance(pred, np.ndarray) and pred.dtype == np.float32 and pred.shape == y[600:].shape
    assert mae(y[600:], pred) < 0.7 * mae(y[600:], persistence(X[600:], 0))
    assert evaluate(model, (X[600:], y[600:]), amp=amp)["mae"] == pytest.approx(mae(y[600:], pred), rel=1e-4)


def test_cuda_and_cpu_predictions_agree_and_weights_saved_on_cuda_load_on_cpu(tmp_path):
    X, y = _sine_windows()
    model = _model(bidirectional=True)
    fit(model, (X[:500], y[:500]), epochs=5, batch_size=32, device="cuda", amp=False, progress=False)
    on_gpu = predict(model, X[500:], device="cuda")
    # Not bit for bit: cuDNN sums in another order, and on Ampere/Hopper its float32 convolutions use
    # TF32 (10-bit mantissa) by default, about 3e-4 apart on outputs of order 1.
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")  # map_location="cpu": a CPU-only machine can read it
    assert all(p.device.type == "cpu" for p in loaded.parameters())
    on_cpu = predict(loaded, X[500:], device="cpu")
    np.testing.assert_allclose(on_cpu, on_gpu, rtol=0, atol=2e-3)
    # bf16/fp16 autocast at inference changes the outputs a little, not the answer.
    on_gpu_amp = predict(model, X[500:], device="cuda", amp=True)
    assert np.abs(on_gpu_amp - on_gpu).max() < 0.05 * np.abs(on_gpu).max()


def test_lazy_windows_with_pinned_memory_and_workers_on_cuda():
    series = _sine(900)
    w = windows(series[:, None], lookback=24, horizon=1, target=0)  # lazy: one start row per window
    train, val, test = (w.subset(np.arange(a, b)) for a, b in ((0, 600), (600, 700), (700, len(w))))
    model = _model()
    result = fit(model, train, val, epochs=20, batch_size=64, lr=1e-2, device="cuda", num_workers=2,
                 progress=False, patience=None)
    assert result.device.startswith("cuda")
    X_te, y_te = test[:]
    pred = predict(model, test).reshape(-1)
    assert mae(y_te, pred) < 0.7 * mae(y_te, persistence(X_te, 0))


def test_time_distributed_frames_classify_on_cuda():
    # Two classes of 6-frame 8x8 clips: a bright square that moves right or one that moves down.
    rng = np.random.default_rng(0)
    n, frames = 160, 6
    y = rng.integers(0, 2, n)
    clips = 0.1 * rng.normal(size=(n, frames, 8, 8, 1)).astype(np.float32)
    for i in range(n):
        for t in range(frames):
            r, c = (2, t + 1) if y[i] == 0 else (t + 1, 2)
            clips[i, t, r:r + 2, c:c + 2, 0] += 1.0
    torch.manual_seed(0)
    model = TimeDistributedCNNLSTM(1, 2, task="classification", frame_layout="NTHWC", conv_channels=(8, 16),
                                   lstm_hidden=16)
    fit(model, (clips[:120], y[:120]), epochs=25, batch_size=16, lr=3e-3, task="classification", device="cuda",
        progress=False)
    pred = predict(model, clips[120:], task="classification")
    assert accuracy(y[120:], pred) >= 0.9 > accuracy(y[120:], majority_class(y[:120], 40))


def test_a_cuda_index_beyond_the_machine_is_refused_up_front():
    n = torch.cuda.device_count()
    with pytest.raises(InvalidParameterError, match=rf"device.*cuda:{n}.*{n} CUDA device"):
        fit(_model(), _sine_windows(), epochs=1, device=f"cuda:{n}", progress=False)


def test_an_ensemble_on_cuda_averages_its_members_probabilities(tmp_path):
    from seqprep.models import Ensemble

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 24, 2)).astype(np.float32)
    torch.manual_seed(0)
    members = [CNNLSTM(2, 3, task="classification", kernel_size=k) for k in (3, 5)]
    ens = Ensemble(members).to("cuda")
    mean = np.mean([predict(m, X, task="classification", proba=True, device="cuda") for m in members], axis=0)
    np.testing.assert_allclose(predict(ens, X, task="classification", proba=True, device="cuda"), mean, atol=1e-5)
    with_amp = predict(ens, X, task="classification", proba=True, device="cuda", amp=True)
    np.testing.assert_allclose(with_amp.sum(axis=1), 1.0, atol=1e-5)  # still probabilities under autocast
    save_model(ens, tmp_path / "ens")
    on_cpu = predict(load_model(tmp_path / "ens"), X, task="classification", proba=True, device="cpu")
    np.testing.assert_allclose(on_cpu, mean, atol=2e-3)


def test_runs_train_on_the_gpu_and_save_a_model_that_scores_the_same_on_the_cpu(tmp_path):
    from seqprep.datasets import make_classification_sines
    from seqprep.runs import evaluate_run, run_classification

    X, y = make_classification_sines(60, 32, n_classes=2, seed=0)
    res = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, out_dir=tmp_path / "run",
                             train_config={"epochs": 5}, model_config={"members": 2}, device="cuda")
    assert json.loads((res.run_dir / "run.json").read_text())["device"].startswith("cuda")
    assert evaluate_run(res.run_dir)["matches"]  # predictions were made on the CPU, as evaluate makes them
