"""Train and evaluate a PyTorch model on windows: a plain, readable loop.

:func:`fit` trains any ``torch.nn.Module`` on a "windows-like" object: anything
with ``len(w)`` and ``w[index_array] -> (X, y)`` numpy arrays (``seqprep``'s
lazy windows, or a plain ``(X, y)`` tuple, which is wrapped in
:class:`ArrayWindows`). Batches are drawn through a
``torch.utils.data.DataLoader`` over :class:`WindowsDataset`, which fetches a
whole batch with one fancy-index call, so windows are materialised one batch at
a time.

The loop, in order: AdamW, mixed precision on CUDA (``torch.autocast``),
gradient clipping, a learning-rate schedule, early stopping on the validation
loss with the best weights restored, one history record per epoch, and a
``rich`` progress bar when stdout is a terminal.

Shapes: ``X`` is whatever the model takes, usually ``(batch, lookback,
n_features)``. For ``task="regression"`` the targets are floats of shape
``(batch,)`` or ``(batch, n_outputs)`` and the model's output must have the
same number of values per sample (``(batch, 1)`` against ``(batch,)`` is
reshaped, anything else is a :class:`~seqprep.exceptions.ShapeError` instead of
a silent broadcast). For ``task="classification"`` the targets are integer
labels ``0 .. n_classes - 1`` of shape ``(batch,)`` and the model returns
logits of shape ``(batch, n_classes)``.

torch is imported inside the functions; ``import seqprep.training`` stays light.

Examples
--------
>>> import numpy as np, torch
>>> from seqprep.training import fit, predict, evaluate
>>> X = np.random.default_rng(0).normal(size=(64, 8, 1)).astype("float32")
>>> y = X[:, -1, 0] * 2.0                      # next value = 2 x last value
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 1))
>>> result = fit(model, (X[:48], y[:48]), (X[48:], y[48:]), epochs=3, progress=False)
>>> len(result.history), sorted(result.history[0])
(3, ['epoch', 'lr', 'seconds', 'train_loss', 'val_loss', 'val_metric'])
>>> predict(model, X[:5]).shape
(5,)
>>> sorted(evaluate(model, (X[48:], y[48:])))
['mae', 'rmse', 'smape']
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_bool, check_choice, check_float, check_int, param_error
from .exceptions import DataError, ShapeError
from .metrics import classification_metrics, regression_metrics

if TYPE_CHECKING:
    import torch

__all__ = [
    "ArrayWindows",
    "TrainResult",
    "WindowsDataset",
    "collate_batch",
    "evaluate",
    "fit",
    "make_dataloader",
    "predict",
]

TASKS = ("regression", "classification")
SCHEDULERS = ("cosine", "plateau", None)
Callback = Callable[[dict[str, float], Any], Any]


# ============================================================================ windows-like data
class ArrayWindows:
    """Windows held in memory as two arrays, with the windows-like interface.

    Parameters
    ----------
    X : ndarray of shape (n_windows, ...)
        Inputs, one row per window (usually ``(n_windows, lookback, n_features)``).
    y : ndarray of shape (n_windows,) or (n_windows, n_outputs), optional
        Targets; ``None`` for inputs only (prediction).

    Examples
    --------
    >>> import numpy as np
    >>> w = ArrayWindows(np.zeros((10, 4, 2)), np.arange(10))
    >>> len(w), w[np.array([2, 5])][1]
    (10, array([2, 5]))
    """

    def __init__(self, X: Any, y: Any = None) -> None:
        self.X = np.asarray(X)
        self.y = None if y is None else np.asarray(y)
        if self.X.ndim < 2:
            raise ShapeError(
                f"`X` must have one row per window, shape (n_windows, lookback, n_features). "
                f"Received: X.shape={self.X.shape}."
            )
        if self.y is not None and (self.y.ndim == 0 or len(self.y) != len(self.X)):
            raise ShapeError(
                f"`X` and `y` must hold the same number of windows. Received: X.shape={self.X.shape}, "
                f"y.shape={self.y.shape}."
            )

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: Any) -> tuple[np.ndarray, np.ndarray | None]:
        return self.X[index], (None if self.y is None else self.y[index])


def _as_windows(data: Any, name: str) -> Any:
    """Return a windows-like object: tuples ``(X, y)`` and bare arrays are wrapped."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayWindows(data[0], data[1])
    if isinstance(data, np.ndarray):
        return ArrayWindows(data)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise param_error(
        name,
        "a windows-like object (len(w) and w[index_array] -> (X, y)) or a tuple (X, y) of arrays",
        data,
        "Pass seqprep.windows(...) output or (X, y).",
    )


class _AugmentedWindows:
    """Training windows whose batches pass through ``augment(X, rng)``; targets are untouched.

    The generator is made lazily in each process: the main process uses ``default_rng(seed)``,
    a DataLoader worker mixes in its own torch seed, so two workers never repeat each other's
    draws. Picklable (the generator is not carried across processes).
    """

    def __init__(self, windows: Any, augment: Callable[[np.ndarray, np.random.Generator], np.ndarray],
                 seed: int) -> None:
        self.windows, self.augment, self.seed = windows, augment, seed
        self._rng: np.random.Generator | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_rng": None}

    def __len__(self) -> int:
        return len(self.windows)

    def _generator(self) -> np.random.Generator:
        if self._rng is None:
            import torch

            info = torch.utils.data.get_worker_info()
            self._rng = np.random.default_rng(self.seed if info is None else [self.seed, info.seed % 2**32])
        return self._rng

    def __getitem__(self, index: Any) -> tuple[np.ndarray, np.ndarray | None]:
        X, y = _fetch(self.windows, np.asarray(index, dtype=np.intp))
        X_aug = np.asarray(self.augment(X, self._generator()))
        if X_aug.shape != X.shape:
            raise ShapeError(
                f"the augmentation returned shape {X_aug.shape} for a batch of shape {X.shape}; it must keep the "
                "shape (seqprep.augment's augmentations do)."
            )
        return X_aug.astype(X.dtype, copy=False), y


def _training_windows(train: Any, augment: Any, seed: int) -> Any:
    """``train`` as windows-like, with ``augment`` -- or the windows' own augmentation -- on its batches."""
    windows = _as_windows(train, "train")
    own = getattr(windows, "augmentation", None)  # seqprep.Windows.with_augmentation / Pipeline(augment=...)
    if augment is not None and own is not None:
        raise param_error(
            "augment", "None when the training windows already carry an augmentation", augment,
            f"The windows were built with {own!r} (Pipeline(augment=...) or with_augmentation); pass one of the two.",
        )  # fmt: skip
    if augment is None and own is None:
        return windows
    if augment is None:
        return _AugmentedWindows(windows, own, windows.augmentation_seed)
    from .augment import make_augmentation

    # Any callable aug(X, rng) -> X is accepted, as by Windows.with_augmentation; names, dicts and lists
    # go through make_augmentation (which also validates them).
    return _AugmentedWindows(windows, augment if callable(augment) else make_augmentation(augment), seed)


def _fetch(windows: Any, index: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """One fancy-index call, checked: ``(X, y)`` with ``len(index)`` rows each."""
    out = windows[index]
    if isinstance(out, np.ndarray):
        X, y = out, None
    elif isinstance(out, (tuple, list)) and len(out) == 2:
        X, y = np.asarray(out[0]), (None if out[1] is None else np.asarray(out[1]))
    else:
        raise ShapeError(
            f"windows[index_array] must return a tuple (X, y) of arrays. Received: {type(out).__name__}. "
            "Wrap the data as (X, y) or use seqprep.windows(...)."
        )
    n = len(index)
    if X.shape[:1] != (n,) or (y is not None and y.shape[:1] != (n,)):
        raise ShapeError(
            f"windows[index_array] returned X.shape={X.shape}"
            + ("" if y is None else f" and y.shape={y.shape}")
            + f" for {n} indices; both must have {n} rows."
        )
    return X, y


def _labels_as_int(y: np.ndarray) -> np.ndarray:
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64, copy=False)
    if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
        return y.astype(np.int64)
    raise DataError(
        f"task='classification' needs integer class labels 0 .. n_classes - 1; received y of dtype {y.dtype}. "
        "Encode the classes as integers first (e.g. np.unique(labels, return_inverse=True))."
    )


def _to_tensors(X: np.ndarray, y: np.ndarray | None, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    if y is None:
        raise DataError("Training and evaluation need targets, but the windows returned y=None. Pass (X, y).")
    xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    if task == "classification":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        yt = torch.from_numpy(np.ascontiguousarray(_labels_as_int(y)))
    else:
        yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    return xt, yt


def _make_windows_dataset_class() -> type:
    from torch.utils.data import Dataset

    class WindowsDataset(Dataset):
        """A ``torch.utils.data.Dataset`` over windows-like data, fetched a batch at a time.

        ``DataLoader`` calls ``__getitems__`` with the batch's indices, which makes
        one fancy-index call on the windows; use :func:`make_dataloader` (or pass
        ``collate_fn=seqprep.training.collate_batch``) because the batch comes
        back already stacked. Picklable, so ``num_workers > 0`` works.

        Parameters
        ----------
        windows : windows-like or tuple (X, y)
            ``len(w)`` and ``w[index_array] -> (X, y)`` numpy arrays.
        task : {"regression", "classification"}, default "regression"
            Targets become float32 (regression) or int64 labels (classification).
        """

        def __init__(self, windows: Any, task: str = "regression") -> None:
            self.windows = _as_windows(windows, "windows")
            self.task = check_choice(task, "task", TASKS)

        def __len__(self) -> int:
            return len(self.windows)

        def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
            X, y = _fetch(self.windows, np.asarray(indices, dtype=np.intp))
            return _to_tensors(X, y, self.task)

        def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
            X, y = self.__getitems__([index])
            return X[0], y[0]

    WindowsDataset.__module__ = __name__
    WindowsDataset.__qualname__ = "WindowsDataset"
    return WindowsDataset


WindowsDataset: type  # built lazily by _dataset_class(); declared here for __all__ and type checkers


def _dataset_class() -> type:
    # WindowsDataset subclasses torch's Dataset, so it is built on first use (keeps torch out of
    # `import seqprep`) and then cached as a module global, which keeps it picklable.
    cls = globals().get("WindowsDataset")
    if cls is None:
        cls = globals()["WindowsDataset"] = _make_windows_dataset_class()
    return cls


def __getattr__(name: str) -> Any:
    if name == "WindowsDataset":
        return _dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def collate_batch(batch: Any) -> Any:
    """Collate function for :class:`WindowsDataset`: the batch is already stacked, return it as is."""
    return batch


def _seed_worker(worker_id: int) -> None:
    import torch

    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_dataloader(
    windows: Any,
    *,
    task: str = "regression",
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` of ``(X, y)`` tensor batches over windows-like data.

    Parameters
    ----------
    windows : windows-like or tuple (X, y)
        Data to iterate over.
    task : {"regression", "classification"}, default "regression"
        Sets the target dtype (float32 or int64).
    batch_size : int, default 64
        Windows per batch; the last batch may be smaller.
    shuffle : bool, default False
        Reshuffle the order every epoch, from a generator seeded with ``seed``.
    seed : int, default 0
        Seed of the shuffling generator and of the workers' numpy/random state.
    num_workers : int, default 0
        Worker processes fetching batches.
    pin_memory : bool, default False
        Pin batches in page-locked memory (faster copies to CUDA).

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``X`` float32 of shape ``(batch, ...)`` and ``y`` of shape ``(batch, ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> loader = make_dataloader((np.zeros((5, 3, 2)), np.arange(5.0)), batch_size=2)
    >>> [tuple(X.shape) for X, y in loader]
    [(2, 3, 2), (2, 3, 2), (1, 3, 2)]
    """
    import torch

    dataset = _dataset_class()(windows, task=task)
    generator = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    workers = check_int(num_workers, "num_workers", minimum=0)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=check_int(batch_size, "batch_size", minimum=1),
        shuffle=check_bool(shuffle, "shuffle"),
        num_workers=workers,
        collate_fn=collate_batch,
        pin_memory=pin_memory,
        generator=generator,
        worker_init_fn=_seed_worker if workers else None,
        persistent_workers=workers > 0,
    )


# ============================================================================ result
@dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    history : list of dict
        One record per epoch: ``epoch`` (1-based), ``train_loss``, ``val_loss``,
        ``val_metric`` (MAE for regression, accuracy for classification; NaN
        without validation data), ``lr`` (used during the epoch), ``seconds``.
    best_epoch : int
        Epoch whose weights the model holds at the end (lowest validation loss;
        the last epoch without validation data).
    best_val : float
        Validation loss of ``best_epoch`` (NaN without validation data).
    stopped_early : bool
        True if early stopping (or a callback) ended training before ``epochs``.
    seconds : float
        Wall time of the whole fit.
    metric_name : str
        Name of ``val_metric``: ``"mae"`` or ``"accuracy"``.
    device : str
        Device the model was trained on.
    """

    history: list[dict[str, float]]
    best_epoch: int
    best_val: float
    stopped_early: bool
    seconds: float
    metric_name: str = "mae"
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN becomes ``None``)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(asdict(self))


# ============================================================================ set-up helpers
def _resolve_device(device: Any) -> torch.device:
    import torch

    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise param_error("device", "'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device", device) from None
    else:
        raise param_error("device", "'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device", device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise param_error("device", "a device that is available", device, "CUDA is not available here: use 'cpu'.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        # torch.device accepts any index; the failure would otherwise come later, deep inside model.to().
        n = torch.cuda.device_count()
        raise param_error("device", "a device that is available", device,
                          f"this machine has {n} CUDA device(s): use 'cuda:0' .. 'cuda:{n - 1}' or 'cuda'.")
    return dev


def _resolve_amp(amp: Any, dev: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for full precision. 'auto' = on for CUDA only."""
    import torch

    if amp == "auto":
        amp = dev.type == "cuda"
    if not isinstance(amp, bool):
        raise param_error("amp", "'auto', True or False", amp)
    if not amp:
        return None
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _make_scheduler(optimizer: Any, name: str | None, epochs: int, patience: int | None) -> Any:
    import torch

    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "plateau":
        wait = max(1, (patience or 6) // 3)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=wait)
    return None


def _make_criterion(task: str, loss: str | None, label_smoothing: float = 0.0) -> Any:
    import torch

    if task == "classification":
        if loss not in (None, "cross_entropy"):
            raise param_error("loss", "None or 'cross_entropy' for task='classification'", loss)
        return torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    if label_smoothing:
        raise param_error("label_smoothing", "0.0 for task='regression' (it smooths class labels)", label_smoothing)
    check_choice(loss, "loss", (None, "mse", "huber"))
    return torch.nn.HuberLoss() if loss == "huber" else torch.nn.MSELoss()


def _check_fit_args(**kw: Any) -> None:
    check_choice(kw["task"], "task", TASKS)
    check_int(kw["epochs"], "epochs", minimum=1)
    check_int(kw["batch_size"], "batch_size", minimum=1)
    check_float(kw["lr"], "lr", minimum=0.0, inclusive=False)
    check_float(kw["weight_decay"], "weight_decay", minimum=0.0)
    check_choice(kw["scheduler"], "scheduler", SCHEDULERS)
    if kw["clip_grad_norm"] is not None:
        check_float(kw["clip_grad_norm"], "clip_grad_norm", minimum=0.0, inclusive=False)
    if kw["patience"] is not None:
        check_int(kw["patience"], "patience", minimum=1, fix="Use patience >= 1, or None to turn early stopping off.")
    check_int(kw["seed"], "seed", minimum=0)
    check_bool(kw["progress"], "progress")
    check_int(kw["num_workers"], "num_workers", minimum=0)
    if check_float(kw["label_smoothing"], "label_smoothing", minimum=0.0, maximum=1.0) == 1.0:
        # 1.0 would make every target uniform: nothing left to learn.
        raise param_error("label_smoothing", "a number with 0.0 <= label_smoothing < 1.0", kw["label_smoothing"])
    for i, cb in enumerate(kw["callbacks"] or ()):
        if not callable(cb):
            raise param_error(f"callbacks[{i}]", "a callable cb(record, model)", cb)


# ============================================================================ one batch, one epoch
def _align(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Check the model output against the targets; never let (B, 1) vs (B,) broadcast silently."""
    if task == "classification":
        if out.ndim != 2 or out.shape[0] != y.shape[0] or y.ndim != 1:
            raise ShapeError(
                f"For task='classification' the model must return logits of shape (batch, n_classes) and "
                f"the labels must have shape (batch,). Received: output {tuple(out.shape)}, labels {tuple(y.shape)}."
            )
        return out
    if out.shape == y.shape:
        return out
    if out.shape[:1] == y.shape[:1] and out.numel() == y.numel():
        return out.reshape(y.shape)
    raise ShapeError(
        f"The model output has shape {tuple(out.shape)} but the targets have shape {tuple(y.shape)}. "
        "Give the model's last layer one output per target value (n_outputs = horizon x n_targets)."
    )


def _check_labels(label_range: tuple[int, int], n_classes: int) -> None:
    lo, hi = label_range
    if lo < 0 or hi >= n_classes:
        raise DataError(
            f"Class labels must lie in 0 .. {n_classes - 1} for a model with {n_classes} outputs; "
            f"found labels from {lo} to {hi}. Re-encode the labels or widen the model's last layer."
        )


@dataclass
class _Runtime:
    device: Any
    amp_dtype: Any
    task: str
    criterion: Any
    clip: float | None = None
    scaler: Any = None

    def autocast(self) -> Any:
        import torch

        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def forward(self, model: Any, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Move a batch, run the model; return the aligned float32 output, the targets on the device, the loss."""
        # label range read on the CPU copy: no device sync
        label_range = (int(y.min()), int(y.max())) if self.task == "classification" and y.numel() else None
        X = X.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        with self.autocast():
            out = _align(model(X), y, self.task).float()
        if label_range is not None:
            _check_labels(label_range, out.shape[1])
        return out, y, self.criterion(out, y)


def _train_one_epoch(model: Any, loader: Any, optimizer: Any, rt: _Runtime, epoch: int) -> float:
    import torch

    model.train()
    total = torch.zeros((), device=rt.device)
    seen = 0
    for X, y in loader:
        optimizer.zero_grad(set_to_none=True)
        _, _, loss = rt.forward(model, X, y)
        rt.scaler.scale(loss).backward()
        if rt.clip is not None:
            rt.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), rt.clip)
        rt.scaler.step(optimizer)
        rt.scaler.update()
        total += loss.detach() * len(y)
        seen += len(y)
    mean = float(total) / max(seen, 1)  # one device sync per epoch
    if not math.isfinite(mean):
        raise DataError(
            f"The training loss became {mean} in epoch {epoch}. Check the windows for NaN/inf values, "
            "scale the inputs, or lower `lr`."
        )
    return mean


def _validate(model: Any, loader: Any, rt: _Runtime) -> tuple[float, float]:
    """Mean validation loss and metric (MAE or accuracy) over all windows."""
    import torch

    model.eval()
    loss_sum = torch.zeros((), device=rt.device)
    metric_sum = torch.zeros((), device=rt.device)
    seen = 0
    with torch.no_grad():
        for X, y in loader:
            out, y, loss = rt.forward(model, X, y)
            loss_sum += loss * len(y)
            if rt.task == "classification":
                metric_sum += (out.argmax(dim=1) == y).sum()
            else:
                metric_sum += (out - y).abs().reshape(len(y), -1).mean(dim=1).sum()
            seen += len(y)
    return float(loss_sum) / seen, float(metric_sum) / seen


# ============================================================================ progress bar
class _EpochProgress:
    """A rich progress bar over epochs; a no-op when disabled or stdout is not a terminal."""

    def __init__(self, enabled: bool, epochs: int, metric_name: str) -> None:
        isatty = getattr(sys.stdout, "isatty", None)
        self.enabled = enabled and callable(isatty) and bool(isatty())
        self.epochs = epochs
        self.metric_name = metric_name
        self._bar: Any = None

    def __enter__(self) -> _EpochProgress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("epoch"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[info]}"),
                TextColumn("left"),
                TimeRemainingColumn(),
            )
            self._bar.start()
            self._task = self._bar.add_task("fit", total=self.epochs, info="")
        return self

    def update(self, record: dict[str, float]) -> None:
        if self._bar is None:
            return
        info = f"loss {record['train_loss']:.4g}"
        if math.isfinite(record["val_loss"]):
            info += f"  val_loss {record['val_loss']:.4g}  val_{self.metric_name} {record['val_metric']:.4g}"
        self._bar.update(self._task, advance=1, info=info)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


# ============================================================================ fit
def fit(
    model: Any,
    train: Any,
    val: Any = None,
    *,
    task: str = "regression",
    epochs: int = 50,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    scheduler: str | None = "cosine",
    clip_grad_norm: float | None = 1.0,
    patience: int | None = 10,
    seed: int = 0,
    device: Any = "auto",
    amp: Any = "auto",
    progress: bool = True,
    num_workers: int = 0,
    callbacks: Sequence[Callback] | None = None,
    loss: str | None = None,
    augment: Any = None,
    label_smoothing: float = 0.0,
) -> TrainResult:
    """Train ``model`` in place and return its history.

    Parameters
    ----------
    model : torch.nn.Module
        Any module mapping ``X`` of shape ``(batch, ...)`` to outputs (see the module docstring).
        Create it after ``torch.manual_seed(...)`` for repeatable initial weights.
    train : windows-like or tuple (X, y)
        Training windows, reshuffled every epoch.
    val : windows-like or tuple (X, y), optional
        Validation windows for early stopping and best-weight selection.
    task : {"regression", "classification"}, default "regression"
        Loss MSE (or Huber, ``loss="huber"``) or cross-entropy on integer labels.
    epochs : int, default 50
        Maximum number of passes over ``train``.
    batch_size : int, default 64
        Windows per optimisation step.
    lr, weight_decay : float, default 1e-3, 1e-4
        AdamW learning rate and decoupled weight decay.
    scheduler : {"cosine", "plateau", None}, default "cosine"
        Cosine annealing over ``epochs``, halving the rate when the validation
        loss (training loss without ``val``) stops improving, or a constant rate.
    clip_grad_norm : float or None, default 1.0
        Clip the global gradient norm to this value; None turns clipping off.
    patience : int or None, default 10
        Stop after this many epochs without a lower validation loss; None never stops early.
        With ``val``, the weights of the best epoch are restored at the end.
    seed : int, default 0
        Seeds python, numpy and torch, and the shuffling order. On CPU the same
        seed and the same initial weights give the same loss history.
    device : str or torch.device, default "auto"
        ``"auto"`` picks CUDA when available.
    amp : {"auto", True, False}, default "auto"
        Mixed precision with ``torch.autocast``; "auto" turns it on for CUDA
        (bfloat16 where supported, else float16 with a gradient scaler).
    progress : bool, default True
        Show a rich progress bar (only when stdout is a terminal).
    num_workers : int, default 0
        DataLoader worker processes.
    callbacks : sequence of callable, optional
        Each called as ``cb(record, model)`` after every epoch; returning True stops training.
    loss : {None, "mse", "huber", "cross_entropy"}, optional
        Loss function; None picks MSE or cross-entropy from ``task``.
    augment : str, dict, list, Augmentation or callable, optional
        Training-only augmentation (a spec for :func:`seqprep.augment.make_augmentation`, or any
        ``aug(X, rng) -> X`` keeping the shape), applied to every training batch with a
        generator seeded from ``seed``; validation batches are never
        augmented. Training windows that already carry one (``Pipeline(augment=...)``,
        ``Windows.with_augmentation``) use theirs; giving both is an error.
    label_smoothing : float, default 0.0
        Classification only: the cross-entropy's target puts ``1 - label_smoothing`` on the
        true class and spreads the rest evenly (``torch.nn.CrossEntropyLoss(label_smoothing=...)``),
        which keeps a model trained to zero error on few cases from becoming overconfident.

    Returns
    -------
    TrainResult
        History, best epoch, best validation loss, whether it stopped early, seconds.
    """
    _check_fit_args(**locals())
    import torch

    if not isinstance(model, torch.nn.Module):
        raise param_error("model", "a torch.nn.Module", model)
    started = time.perf_counter()
    _seed_everything(seed)
    dev = _resolve_device(device)
    amp_dtype = _resolve_amp(amp, dev)
    model.to(dev)
    train = _training_windows(train, augment, seed)
    loaders = {
        name: make_dataloader(
            _as_windows(data, name),
            task=task,
            batch_size=batch_size,
            shuffle=name == "train",
            seed=seed,
            num_workers=num_workers,
            pin_memory=dev.type == "cuda",
        )
        for name, data in (("train", train), ("val", val))
        if data is not None
    }
    if len(loaders["train"].dataset) == 0:
        raise DataError("`train` holds 0 windows: there is nothing to train on.")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = _make_scheduler(optimizer, scheduler, epochs, patience)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp_dtype == torch.float16)
    rt = _Runtime(dev, amp_dtype, task, _make_criterion(task, loss, label_smoothing), clip_grad_norm, scaler)
    metric_name = "accuracy" if task == "classification" else "mae"
    history: list[dict[str, float]] = []
    best = {"epoch": 0, "val": math.inf, "state": None}
    stopped_early = False
    with _EpochProgress(progress, epochs, metric_name) as bar:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            current_lr = optimizer.param_groups[0]["lr"]
            train_loss = _train_one_epoch(model, loaders["train"], optimizer, rt, epoch)
            val_loss, val_metric = _validate(model, loaders["val"], rt) if "val" in loaders else (math.nan, math.nan)
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(val_loss if "val" in loaders else train_loss)
            elif sched is not None:
                sched.step()
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_metric": val_metric,
                "lr": current_lr,
                "seconds": time.perf_counter() - t0,
            }
            history.append(record)
            bar.update(record)
            if val_loss < best["val"]:
                best = {"epoch": epoch, "val": val_loss, "state": _copy_state(model)}
            stop = [bool(cb(record, model)) for cb in callbacks or ()]
            waited = epoch - best["epoch"]
            if any(stop) or ("val" in loaders and patience is not None and waited >= patience):
                stopped_early = epoch < epochs
                break
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    else:
        best = {"epoch": len(history), "val": math.nan}
    seconds = time.perf_counter() - started
    return TrainResult(history, int(best["epoch"]), float(best["val"]), stopped_early, seconds, metric_name, str(dev))


def _copy_state(model: Any) -> dict[str, Any]:
    """A detached copy of the weights, kept in memory on their device."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ============================================================================ predict / evaluate
def _model_device(model: Any, device: Any) -> torch.device:
    import torch

    if device == "auto":
        for p in model.parameters():
            return p.device
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = _resolve_device(device)
    model.to(dev)
    return dev


def _batches(data: Any, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    windows = _as_windows(data, "data")
    n = len(windows)
    for start in range(0, n, batch_size):
        yield _fetch(windows, np.arange(start, min(start + batch_size, n), dtype=np.intp))


def _outputs(
    model: Any, data: Any, batch_size: int, device: Any, amp: Any, want_y: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw model outputs (float32, on CPU) over all windows in order, and the targets if asked."""
    import torch

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    dev = _model_device(model, device)
    amp_dtype = _resolve_amp(amp, dev)
    was_training = model.training
    model.eval()
    outs, ys = [], []
    try:
        with torch.no_grad(), torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            for X, y in _batches(data, batch_size):
                xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(dev)
                outs.append(model(xt).float().cpu().numpy())
                if want_y:
                    if y is None:
                        raise DataError("evaluate needs targets, but the data has none. Pass (X, y) windows.")
                    ys.append(y)
    finally:
        model.train(was_training)
    if not outs:
        raise DataError("The data holds 0 windows: there is nothing to predict.")
    return np.concatenate(outs), (np.concatenate(ys) if want_y else None)


def predict(
    model: Any,
    windows_or_X: Any,
    batch_size: int = 256,
    *,
    task: str = "regression",
    proba: bool = False,
    device: Any = "auto",
    amp: Any = False,
) -> np.ndarray:
    """Run the model over all windows, in order, in eval mode and without gradients.

    Parameters
    ----------
    model : torch.nn.Module
        Trained model.
    windows_or_X : windows-like, tuple (X, y) or ndarray of shape (n_windows, ...)
        Inputs; targets, if any, are ignored.
    batch_size : int, default 256
        Windows per forward pass.
    task : {"regression", "classification"}, default "regression"
        Regression returns the outputs, with an output axis of length 1 dropped.
        Classification returns the predicted labels (``argmax`` of the logits).
    proba : bool, default False
        Classification only: return softmax probabilities of shape ``(n_windows, n_classes)``.
    device : str or torch.device, default "auto"
        "auto" uses the device the model's weights are on.
    amp : {"auto", True, False}, default False
        Mixed precision for the forward pass.

    Returns
    -------
    ndarray
        ``(n_windows,)`` or ``(n_windows, n_outputs)`` values, ``(n_windows,)`` int64 labels,
        or ``(n_windows, n_classes)`` probabilities.

    Examples
    --------
    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3))
    >>> predict(model, np.zeros((4, 3, 2)), task="classification").shape
    (4,)
    """
    check_choice(task, "task", TASKS)
    out, _ = _outputs(model, windows_or_X, batch_size, device, amp, want_y=False)
    if task == "regression":
        if check_bool(proba, "proba"):
            raise param_error("proba", "False for task='regression'", proba)
        return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
    if out.ndim != 2:
        raise ShapeError(f"For classification the model must return (n, n_classes) logits. Received: {out.shape}.")
    if check_bool(proba, "proba"):
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return out.argmax(axis=1).astype(np.int64)


def evaluate(
    model: Any,
    windows: Any,
    batch_size: int = 256,
    *,
    task: str = "regression",
    labels: Sequence[Any] | None = None,
    device: Any = "auto",
    amp: Any = False,
) -> dict[str, float]:
    """Score the model on windows with targets.

    Scores are in the units of ``y``: for results in original units, un-scale
    ``predict(...)`` and the targets and use :mod:`seqprep.metrics` directly.

    Parameters
    ----------
    model : torch.nn.Module
        Trained model.
    windows : windows-like or tuple (X, y)
        Windows with targets.
    batch_size : int, default 256
        Windows per forward pass.
    task : {"regression", "classification"}, default "regression"
        Which metrics to compute.
    labels : sequence, optional
        Classes for macro F1 (classification).
    device : str or torch.device, default "auto"
        "auto" uses the device the model's weights are on.
    amp : {"auto", True, False}, default False
        Mixed precision for the forward pass.

    Returns
    -------
    dict
        :func:`~seqprep.metrics.regression_metrics` (mae, rmse, smape) or
        :func:`~seqprep.metrics.classification_metrics` (accuracy, balanced_accuracy, macro_f1).
    """
    check_choice(task, "task", TASKS)
    out, y = _outputs(model, windows, batch_size, device, amp, want_y=True)
    if task == "classification":
        return classification_metrics(_labels_as_int(y), out, labels)
    if out.size != y.size:
        raise ShapeError(f"The model output has shape {out.shape} but the targets have shape {y.shape}.")
    return regression_metrics(y, out.reshape(y.shape))
