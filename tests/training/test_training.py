from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqprep.baselines import majority_class, persistence  # noqa: E402
from seqprep.exceptions import DataError, InvalidParameterError, ShapeError  # noqa: E402
from seqprep.metrics import accuracy, mae  # noqa: E402
from seqprep.training import (  # noqa: E402
    ArrayWindows,
    TrainResult,
    WindowsDataset,
    evaluate,
    fit,
    make_dataloader,
    predict,
)

torch.set_num_threads(1)  # two shared cores; tiny models are faster single-threaded anyway


@pytest.fixture(autouse=True)
def _cpu_only(monkeypatch):
    """Pin these tests to the CPU path even on a GPU machine, where device="auto" would pick CUDA and
    mixed precision: they compare histories and weights exactly. tests/test_gpu.py covers CUDA."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


class TinyConvLSTM(torch.nn.Module):
    """(N, T, C) -> Conv1d over time -> LSTM -> last hidden state -> Linear."""

    def __init__(self, n_features: int = 1, n_outputs: int = 1, hidden: int = 16) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(n_features, 8, kernel_size=3, padding=1)
        self.lstm = torch.nn.LSTM(8, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        out, _ = self.lstm(h)
        return self.head(out[:, -1])


class CountingWindows:
    """A lazy windows-like object over a series; counts the fancy-index calls."""

    def __init__(self, series: np.ndarray, lookback: int) -> None:
        self.series = series.astype(np.float32)
        self.lookback = lookback
        self.calls = 0

    def __len__(self) -> int:
        return len(self.series) - self.lookback

    def __getitem__(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        index = np.asarray(index)
        rows = index[:, None] + np.arange(self.lookback)
        return self.series[rows][..., None], self.series[index + self.lookback]


def _sine_windows(n: int = 500, lookback: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n + lookback)
    series = np.sin(2 * np.pi * t / 20) + 0.05 * rng.normal(size=t.size)
    idx = np.arange(n)
    X = series[idx[:, None] + np.arange(lookback)][..., None].astype(np.float32)
    y = series[idx + lookback].astype(np.float32)
    return X, y


def _model(seed: int = 0, **kw) -> TinyConvLSTM:
    torch.manual_seed(seed)
    return TinyConvLSTM(**kw)


# ----------------------------------------------------------------------------- regression
def test_tiny_model_learns_sine_next_step_and_beats_baselines():
    X, y = _sine_windows()
    train, val, test = (X[:350], y[:350]), (X[350:420], y[350:420]), (X[420:], y[420:])
    model = _model()
    result = fit(model, train, val, epochs=25, batch_size=32, lr=1e-2, progress=False, patience=None)
    assert isinstance(result, TrainResult)
    pred = predict(model, test[0])
    assert pred.shape == test[1].shape
    model_mae = mae(test[1], pred)
    assert model_mae < 0.7 * mae(test[1], persistence(test[0], 0))
    assert model_mae < 0.2 * mae(test[1], np.full_like(test[1], train[1].mean()))
    scores = evaluate(model, test)
    assert scores["mae"] == pytest.approx(model_mae, rel=1e-5)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.device == "cpu" and result.metric_name == "mae"


def test_same_seed_gives_identical_history():
    X, y = _sine_windows(n=160)
    runs = [
        fit(_model(), (X[:120], y[:120]), (X[120:], y[120:]), epochs=3, batch_size=16, seed=7, progress=False)
        for _ in range(2)
    ]
    keys = ("train_loss", "val_loss", "val_metric", "lr")
    assert [[h[k] for k in keys] for h in runs[0].history] == [[h[k] for k in keys] for h in runs[1].history]
    other = fit(_model(), (X[:120], y[:120]), epochs=3, batch_size=16, seed=8, progress=False)
    assert other.history[0]["train_loss"] != runs[0].history[0]["train_loss"]


def test_same_seed_and_thread_count_give_identical_numbers():
    threads = 1  # (2 as well, measured; not run here: two OpenMP threads crawl on a busy 2-core CI runner)
    X, y = _sine_windows(n=160)
    runs, weights = [], []
    for _ in range(2):
        model = _model()
        runs.append(fit(model, (X[:120], y[:120]), (X[120:], y[120:]), epochs=3, batch_size=16, seed=3,
                        progress=False, threads=threads))
        weights.append([p.detach().clone() for p in model.parameters()])
    keys = ("train_loss", "val_loss", "val_metric", "lr")
    assert [[h[k] for k in keys] for h in runs[0].history] == [[h[k] for k in keys] for h in runs[1].history]
    assert all(torch.equal(a, b) for a, b in zip(*weights, strict=True))
    assert runs[0].threads == threads and runs[0].to_dict()["threads"] == threads


def test_fit_sets_torch_threads_for_the_call_only():
    X, y = _sine_windows(n=40)
    before = torch.get_num_threads()
    seen = []
    fit(_model(), (X, y), epochs=2, batch_size=16, progress=False, threads=before + 1,
        callbacks=[lambda record, model: seen.append(torch.get_num_threads())])
    assert seen == [before + 1, before + 1]
    assert torch.get_num_threads() == before
    # the automatic count: one thread for a model this small, whatever the cores
    assert fit(_model(), (X, y), epochs=1, progress=False).threads == 1
    with pytest.raises(InvalidParameterError, match=r"`threads` must be .*Received: threads=0"):
        fit(_model(), (X, y), epochs=1, progress=False, threads=0)
    assert torch.get_num_threads() == before


def test_early_stopping_restores_the_best_weights():
    # train says y = 2x, val says y = -2x: starting from zero weights, every epoch makes val worse,
    # so epoch 1 is the best and training stops after `patience` more epochs.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 1, 1)).astype(np.float32)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1, 1))
    torch.nn.init.zeros_(model[1].weight)
    torch.nn.init.zeros_(model[1].bias)
    snapshots = []
    result = fit(
        model,
        (X, 2 * X[:, 0, 0]),
        (X, -2 * X[:, 0, 0]),
        epochs=30,
        batch_size=16,
        lr=0.05,
        scheduler=None,
        patience=3,
        progress=False,
        callbacks=[lambda record, m: snapshots.append(m[1].weight.item())],
    )
    assert result.stopped_early
    assert result.best_epoch == 1 and len(result.history) == 4
    assert result.best_val == pytest.approx(min(h["val_loss"] for h in result.history))
    assert model[1].weight.item() == pytest.approx(snapshots[0])
    assert model[1].weight.item() != pytest.approx(snapshots[-1])
    val_mse = evaluate(model, (X, -2 * X[:, 0, 0]))["rmse"] ** 2
    assert val_mse == pytest.approx(result.best_val, rel=1e-4)


def test_callback_can_stop_and_plateau_scheduler_and_huber():
    X, y = _sine_windows(n=64)
    result = fit(
        _model(),
        (X, y),
        epochs=10,
        scheduler="plateau",
        loss="huber",
        progress=False,
        callbacks=[lambda record, m: record["epoch"] == 2],
    )
    assert len(result.history) == 2 and result.stopped_early
    assert result.best_epoch == 2 and np.isnan(result.best_val)  # no val: last epoch's weights
    assert np.isnan(result.history[0]["val_loss"])
    assert result.to_dict()["best_val"] is None


def test_cosine_schedule_decays_the_learning_rate():
    X, y = _sine_windows(n=32)
    result = fit(_model(), (X, y), epochs=4, lr=1e-2, progress=False)
    lrs = [h["lr"] for h in result.history]
    assert lrs[0] == pytest.approx(1e-2) and bool(np.all(np.diff(lrs) < 0))


def test_shape_mistakes_are_errors_not_broadcasts():
    X, y = _sine_windows(n=32)
    with pytest.raises(ShapeError, match=r"output has shape \(32, 3\).*targets have shape \(32,\)"):
        fit(_model(n_outputs=3), (X, y), epochs=1, batch_size=32, progress=False)
    # (N, 1) outputs against (N,) targets are fine (reshaped, not broadcast to (N, N))
    fit(_model(n_outputs=1), (X, y), epochs=1, progress=False)


def test_invalid_arguments():
    X, y = _sine_windows(n=32)
    with pytest.raises(InvalidParameterError, match="`epochs` must be a positive integer"):
        fit(_model(), (X, y), epochs=0)
    with pytest.raises(InvalidParameterError, match="`scheduler` must be one of"):
        fit(_model(), (X, y), scheduler="step")
    with pytest.raises(InvalidParameterError, match="`model` must be a torch.nn.Module"):
        fit(lambda x: x, (X, y), progress=False)
    with pytest.raises(InvalidParameterError, match="`train` must be a windows-like"):
        fit(_model(), 3, progress=False)
    with pytest.raises(InvalidParameterError, match="`loss` must be"):
        fit(_model(n_outputs=2), (X, (y > 0).astype(int)), task="classification", loss="mse", progress=False)
    with pytest.raises(DataError, match="became nan"):
        fit(_model(), (X, np.full_like(y, np.nan)), epochs=1, progress=False)


def test_device_errors_name_the_fix(monkeypatch):
    X, y = _sine_windows(n=32)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidParameterError, match="CUDA is not available here: use 'cpu'"):
            fit(_model(), (X, y), epochs=1, device="cuda", progress=False)
    # A machine with one GPU (simulated): an index beyond it is refused before anything moves.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(InvalidParameterError, match=r"`device`.*'cuda:3'.*1 CUDA device\(s\): use 'cuda:0'"):
        fit(_model(), (X, y), epochs=1, device="cuda:3", progress=False)
    with pytest.raises(InvalidParameterError, match="`device` must be"):
        fit(_model(), (X, y), epochs=1, device="tpu9", progress=False)


# ----------------------------------------------------------------------------- classification
def _two_sine_classes(n: int = 160, lookback: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    period = np.where(labels == 0, 16.0, 6.0)
    phase = rng.uniform(0, 2 * np.pi, size=n)
    t = np.arange(lookback)
    X = np.sin(2 * np.pi * t[None, :] / period[:, None] + phase[:, None]) + 0.1 * rng.normal(size=(n, lookback))
    return X[..., None].astype(np.float32), labels


def test_classification_of_two_sine_classes_beats_majority():
    X, y = _two_sine_classes()
    train, test = (X[:120], y[:120]), (X[120:], y[120:])
    model = _model(n_outputs=2)
    result = fit(model, train, test, task="classification", epochs=15, lr=1e-2, batch_size=16, progress=False)
    assert result.metric_name == "accuracy"
    labels = predict(model, test[0], task="classification")
    assert labels.dtype == np.int64 and labels.shape == (40,)
    assert accuracy(test[1], labels) >= 0.9
    assert accuracy(test[1], labels) > accuracy(test[1], majority_class(train[1], 40))
    proba = predict(model, test[0], task="classification", proba=True)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    scores = evaluate(model, test, task="classification")
    assert set(scores) == {"accuracy", "balanced_accuracy", "macro_f1"}


def test_label_smoothing_keeps_the_training_loss_above_the_smoothed_targets_entropy():
    # Cross-entropy against a smoothed target can never go below that target's entropy; without
    # smoothing a separable training set drives the loss towards 0.
    X, y = _two_sine_classes(n=64)
    eps, k = 0.2, 2
    q = np.array([1 - eps + eps / k, eps / k])
    floor = float(-(q * np.log(q)).sum())
    losses = {}
    for smoothing in (0.0, eps):
        hist = fit(_model(n_outputs=k), (X, y), task="classification", epochs=40, lr=1e-2, batch_size=16,
                   scheduler=None, label_smoothing=smoothing, progress=False).history
        losses[smoothing] = min(h["train_loss"] for h in hist)
    assert losses[0.0] < floor - 0.1
    assert losses[eps] >= floor - 1e-4


def test_label_smoothing_errors():
    X, y = _two_sine_classes(n=16)
    with pytest.raises(InvalidParameterError, match=r"`label_smoothing` must be a number with 0.0 <= label_smoothing"):
        fit(_model(n_outputs=2), (X, y), task="classification", label_smoothing=1.0, progress=False)
    with pytest.raises(InvalidParameterError, match="`label_smoothing` must be a number with 0.0 <= label_smoothing"):
        fit(_model(n_outputs=2), (X, y), task="classification", label_smoothing=-0.1, progress=False)
    Xr, yr = _sine_windows(n=32)
    with pytest.raises(InvalidParameterError, match=r"`label_smoothing` must be 0.0 for task='regression'"):
        fit(_model(), (Xr, yr), label_smoothing=0.1, epochs=1, progress=False)


def test_classification_label_errors():
    X, y = _two_sine_classes(n=16)
    with pytest.raises(DataError, match=r"0 \.\. 1 for a model with 2 outputs; found labels from 0 to 2"):
        fit(_model(n_outputs=2), (X, np.where(y == 1, 2, 0)), task="classification", epochs=1, progress=False)
    with pytest.raises(DataError, match="integer class labels"):
        fit(_model(n_outputs=2), (X, y + 0.5), task="classification", epochs=1, progress=False)


# ----------------------------------------------------------------------------- data plumbing
def test_windows_dataset_fetches_one_batch_per_call_and_pickles():
    windows = CountingWindows(np.arange(40.0), lookback=5)
    ds = WindowsDataset(windows)
    X, y = ds.__getitems__([3, 7, 8])
    assert X.dtype == torch.float32 and tuple(X.shape) == (3, 5, 1)
    np.testing.assert_array_equal(y.numpy(), [8, 12, 13])
    assert windows.calls == 1
    x0, y0 = ds[2]
    assert tuple(x0.shape) == (5, 1) and float(y0) == 7.0
    clone = pickle.loads(pickle.dumps(ds))
    assert type(clone) is WindowsDataset and len(clone) == 35
    assert isinstance(ds, torch.utils.data.Dataset)


def test_dataloader_with_two_workers_gives_the_same_batches():
    windows = CountingWindows(np.arange(60.0), lookback=4)
    loader = make_dataloader(windows, batch_size=8, num_workers=2)
    batches = list(loader)
    assert len(batches) == 7 and tuple(batches[-1][0].shape) == (0 + 56 - 48, 4, 1)
    y = torch.cat([b[1] for b in batches]).numpy()
    np.testing.assert_array_equal(y, np.arange(4.0, 60.0))
    shuffled = torch.cat([b[1] for b in make_dataloader(windows, batch_size=8, shuffle=True, seed=1)]).numpy()
    assert sorted(shuffled) == list(y) and list(shuffled) != list(y)


def test_fit_with_workers_and_lazy_windows():
    series = np.sin(np.arange(200) / 3.0)
    result = fit(
        _model(), CountingWindows(series, 8), CountingWindows(series[:60], 8), epochs=1, num_workers=2, progress=False
    )
    assert len(result.history) == 1 and np.isfinite(result.history[0]["val_loss"])


def test_array_windows_and_predict_inputs():
    X = np.random.default_rng(0).normal(size=(10, 4, 1)).astype(np.float32)
    with pytest.raises(ShapeError, match="same number of windows"):
        ArrayWindows(X, np.zeros(3))
    model = _model()
    model.train()
    a = predict(model, X, batch_size=3)
    b = predict(model, (X, np.zeros(10)))
    c = predict(model, ArrayWindows(X))
    np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(a, c, rtol=1e-6)
    assert model.training  # mode restored
    with pytest.raises(DataError, match="0 windows"):
        predict(model, X[:0])
    with pytest.raises(DataError, match="needs targets"):
        evaluate(model, X)


def test_import_does_not_pull_torch():
    code = "import sys, seqprep.training; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- augmentation
class RecordingAugmentation:
    """Adds a constant and records the batch sizes it saw (a picklable augmentation for tests)."""

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift
        self.seen: list[int] = []

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.seen.append(len(X))
        return X + self.shift + 0 * rng.random()

    def __repr__(self) -> str:
        return f"RecordingAugmentation({self.shift})"


def _weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_fit_augments_training_batches_only_and_repeatably():
    X, y = _sine_windows(120)
    rec = RecordingAugmentation()
    fit(_model(), (X[:80], y[:80]), (X[80:], y[80:]), epochs=2, batch_size=32, augment=rec, progress=False)
    assert sum(rec.seen) == 2 * 80  # every training window, each epoch; no validation window

    def train(seed: int, augment: object) -> torch.Tensor:
        model = _model()
        fit(model, (X, y), epochs=2, batch_size=32, seed=seed, augment=augment, progress=False)
        return _weights(model)

    jittered = train(0, ["jitter", {"kind": "time_warp", "sigma": 0.1}])
    assert torch.equal(jittered, train(0, ["jitter", {"kind": "time_warp", "sigma": 0.1}]))  # seeded
    assert not torch.equal(jittered, train(0, None))  # the batches really changed
    assert not torch.equal(jittered, train(1, ["jitter", {"kind": "time_warp", "sigma": 0.1}]))


def test_fit_uses_the_augmentation_the_windows_carry():
    import seqprep

    series = np.sin(np.arange(300) / 5.0)
    rec = RecordingAugmentation(shift=100.0)
    w = seqprep.windows(series, lookback=8, target=0).with_augmentation(rec, seed=3)
    assert w.augmentation is rec and w.augmentation_seed == 3
    model, seen_max = _model(), []
    model.register_forward_pre_hook(lambda module, args: seen_max.append(float(args[0].max())))
    fit(model, w, epochs=1, batch_size=64, progress=False)
    assert sum(rec.seen) == len(w)
    assert min(seen_max) > 99  # every training batch reached the model shifted by +100
    with pytest.raises(InvalidParameterError, match=r"`augment` must be None when the training windows already"):
        fit(_model(), w, epochs=1, augment="jitter", progress=False)


def test_fit_augmentation_errors_and_workers():
    X, y = _sine_windows(64)
    with pytest.raises(InvalidParameterError, match="`augment` must be one of"):
        fit(_model(), (X, y), epochs=1, augment="mixup", progress=False)
    with pytest.raises(ShapeError, match=r"the augmentation returned shape \(32, 15, 1\)"):
        fit(_model(), (X, y), epochs=1, batch_size=32, augment=lambda X, rng: X[:, 1:], progress=False)
    result = fit(_model(), (X, y), epochs=1, batch_size=16, augment="jitter", num_workers=2, progress=False)
    assert np.isfinite(result.history[0]["train_loss"])


@pytest.mark.parametrize("augment", [None, "jitter"])
def test_fit_refuses_empty_training_windows(augment):
    X = np.zeros((0, 4, 1), dtype=np.float32)
    with pytest.raises(DataError, match="`train` holds 0 windows"):
        fit(_model(), (X, np.zeros(0, np.float32)), None, epochs=1, progress=False, augment=augment)
