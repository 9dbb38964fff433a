"""fit, predict and evaluate: a plain, readable training loop (the face is :mod:`seqprep.training`)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._threads import torch_threads, training_threads
from .._validation import check_bool, check_choice, check_int, param_error
from ..exceptions import DataError, ShapeError

# The data side (windows -> tensors -> DataLoader) lives in _loaders, the pieces of the epoch loop in
# _train_loop; this module keeps the public functions and re-exports the public names.
from ._loaders import (
    TASKS,
    WindowsLike,
    _as_windows,
    _fetch,
    _fit_loaders,
    _labels_as_int,
    inputs_as_tensors,
)
from ._loop import (
    Callback,
    _check_fit_args,
    _EpochProgress,
    _make_criterion,
    _make_scheduler,
    _resolve_amp,
    _restore_best,
    _run_epochs,
    _Runtime,
    _seed_everything,
    move,
    resolve_device,
)
from .metrics import classification_metrics, regression_metrics

if TYPE_CHECKING:
    import torch

__all__ = [
    "TrainResult",
    "evaluate",
    "fit",
    "predict",
]

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
    threads : int
        torch's intra-op thread count during training (``fit(threads=...)`` or the automatic rule).
    """

    history: list[dict[str, float]]
    best_epoch: int
    best_val: float
    stopped_early: bool
    seconds: float
    metric_name: str = "mae"
    device: str = "cpu"
    threads: int = 1

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


# ============================================================================ fit
def fit(
    model: Any,
    train: WindowsLike | tuple[Any, Any],
    val: WindowsLike | tuple[Any, Any] | None = None,
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
    threads: int | None = None,
    checkpoint: str = "auto",
    plateau_patience: int | None = None,
    min_lr: float = 0.0,
    sample_weight: bool = False,
) -> TrainResult:
    """Train ``model`` in place and return its history.

    Parameters
    ----------
    model : torch.nn.Module
        Any module mapping ``X`` of shape ``(batch, ...)`` to outputs (see the module docstring).
        Create it after ``torch.manual_seed(...)`` for repeatable initial weights. With dict batches
        (windows with known/static/categorical inputs, masks, weights or per-window target
        normalization) every tensor of the dict is moved to the device and the whole dict is passed
        to the model (:class:`~seqprep.models.CNNLSTM` built with ``from_windows`` reads it).
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
        ``"plateau"`` waits ``plateau_patience`` epochs (default ``patience // 3``)
        and never goes below ``min_lr``.
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
    threads : int, optional
        torch's intra-op threads while training (set for this call only, restored after). None: one
        thread per ``2**28`` of parameters x ``batch_size`` x time steps, at most half the cores this
        process may use (one on 2 cores) and the cap of :func:`seqprep.set_threads` / ``SEQPREP_THREADS``. Small
        models train on one thread: as fast as two for them, and unharmed by a busy core (with two
        OpenMP threads, one competing process made the demo's training 10-30x slower). The count
        never depends on the machine's load, and is recorded in the result: the same seed, data and
        thread count give the same history.
    checkpoint : {"auto", "val", "train_loss", "last"}, default "auto"
        Which weights the model ends with: those of the epoch with the lowest validation loss
        ("val"; "auto" with ``val``), of the lowest training loss ("train_loss": the protocol of
        Ismail Fawaz et al. 2019 for small data sets, no validation split needed; ``patience`` then
        counts epochs without a lower training loss), or the last epoch's ("last"; "auto" without ``val``).
    plateau_patience : int, optional
        ``scheduler="plateau"``: epochs without improvement before the rate is halved.
    min_lr : float, default 0.0
        ``scheduler="plateau"``: the rate is never lowered below this.
    sample_weight : bool, default False
        Weight each window's loss by the ``"weight"`` its dict batch carries (windows built with
        ``weight=...``): the loss of a batch is ``sum(w_i * l_i) / sum(w_i)``, ``l_i`` window i's mean
        loss, and the epoch's training and validation losses and ``val_metric`` are weighted the
        same way. False: the weights, if any, are not used.

    Returns
    -------
    TrainResult
        History, best epoch, best validation loss, whether it stopped early, seconds, threads.
    """
    _check_fit_args(**locals())
    import torch

    if not isinstance(model, torch.nn.Module):
        raise param_error("model", "a torch.nn.Module", model)
    started = time.perf_counter()
    n_threads = _fit_threads(model, train, batch_size, threads)
    with torch_threads(n_threads):  # this call only: the caller's torch setting comes back after
        # Seeds python, numpy and torch for what draws during training (dropout, say); the initial weights
        # were drawn by the caller, before this call (see `model` above).
        _seed_everything(seed)
        dev = resolve_device(device)
        amp_dtype = _resolve_amp(amp, dev)
        model.to(dev)
        loaders = _fit_loaders(
            train,
            val,
            augment=augment,
            task=task,
            batch_size=batch_size,
            seed=seed,
            num_workers=num_workers,
            pin_memory=dev.type == "cuda",
        )
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        sched = _make_scheduler(optimizer, scheduler, epochs, patience, plateau_patience, min_lr)
        # A gradient scaler is needed only for float16, whose small gradients would underflow; bfloat16 has
        # float32's range. Disabled, it passes the loss and the step through unchanged.
        scaler = torch.amp.GradScaler(dev.type, enabled=amp_dtype == torch.float16)
        criterion = _make_criterion(task, loss, label_smoothing, "none" if sample_weight else "mean")
        rt = _Runtime(dev, amp_dtype, task, criterion, clip_grad_norm, scaler, sample_weight)
        metric_name = "accuracy" if task == "classification" else "mae"
        with _EpochProgress(progress, epochs, metric_name) as bar:
            history, best, stopped_early = _run_epochs(
                model, loaders, optimizer, sched, rt, epochs=epochs, patience=patience, callbacks=callbacks or (),
                bar=bar, checkpoint=checkpoint,
            )
        best_epoch, best_val = _restore_best(model, best, history)
    seconds = time.perf_counter() - started
    return TrainResult(history, best_epoch, best_val, stopped_early, seconds, metric_name, str(dev), n_threads)


def _fit_threads(model: Any, train: Any, batch_size: int, threads: int | None) -> int:
    """``threads`` checked, or the automatic count from the model's size, the batch and one window's length."""
    if threads is not None:
        return check_int(threads, "threads", minimum=1, fix="Use threads >= 1, or None for the automatic count.")
    return _auto_threads(model, _as_windows(train, "train"), batch_size)


def _auto_threads(model: Any, windows: Any, batch_size: int) -> int:
    """:func:`seqprep._threads.training_threads` for this model and one window's longest axis."""
    if len(windows) == 0:
        return 1  # refused later with its own message
    X = _fetch(windows, np.zeros(1, dtype=np.intp))[0]
    if isinstance(X, Mapping):
        X = X["past"] if "past" in X else next(iter(X.values()))
    steps = max(X.shape[1:], default=1)
    return training_threads(sum(int(p.numel()) for p in model.parameters()), batch_size, steps)


# ============================================================================ predict / evaluate
def _model_device(model: Any, device: Any) -> torch.device:
    import torch

    if device == "auto":
        for p in model.parameters():
            return p.device
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = resolve_device(device)
    model.to(dev)
    return dev


def _batches(data: Any, batch_size: int) -> Iterator[tuple[Any, np.ndarray | None, np.ndarray | None]]:
    windows = _as_windows(data, "data")
    n = len(windows)
    for start in range(0, n, batch_size):
        yield _fetch(windows, np.arange(start, min(start + batch_size, n), dtype=np.intp))


@dataclass
class _Outputs:
    """What one pass over the windows collects (numpy, in window order)."""

    out: np.ndarray
    y: np.ndarray | None = None
    weight: np.ndarray | None = None
    loc: np.ndarray | None = None
    scale: np.ndarray | None = None


def _collect(X: Any, key: str, into: list[np.ndarray] | None, why: str) -> None:
    if into is None:
        return
    if not isinstance(X, Mapping) or key not in X:
        have = f"keys {', '.join(map(repr, X))}" if isinstance(X, Mapping) else "a plain array X"
        raise DataError(f"{why} needs batches that carry {key!r}, but the windows give {have}. {_HOW[key]}")
    into.append(np.asarray(X[key]))


_HOW = {
    "weight": "Build the windows with weight=... (a column or a per-series mapping), or drop sample_weight=True.",
    "target_loc": "Only windows with per-window target normalization carry it; drop denormalize=True.",
    "target_scale": "Only windows with per-window target normalization carry it; drop denormalize=True.",
}


def _outputs(
    model: Any, data: Any, batch_size: int, device: Any, amp: Any, want_y: bool, *,
    want_weight: bool = False, want_scale: bool = False,
) -> _Outputs:
    """Raw model outputs (float32, on CPU) over all windows in order, and the targets, weights, scales if asked."""
    import torch

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    dev = _model_device(model, device)
    amp_dtype = _resolve_amp(amp, dev)
    was_training = model.training
    model.eval()
    outs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    weights: list[np.ndarray] | None = [] if want_weight else None
    locs: list[np.ndarray] | None = [] if want_scale else None
    scales: list[np.ndarray] | None = [] if want_scale else None
    threads = _auto_threads(model, _as_windows(data, "data"), batch_size)  # as fit's default: one for small models
    try:
        with torch_threads(threads), torch.no_grad(), \
                torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            for X, y, lengths in _batches(data, batch_size):
                _collect(X, "weight", weights, "sample_weight=True")
                _collect(X, "target_loc", locs, "denormalize=True")
                _collect(X, "target_scale", scales, "denormalize=True")
                xt = move(inputs_as_tensors(X), dev)
                out = model(xt) if lengths is None else model(xt, torch.from_numpy(lengths).to(dev))
                outs.append(out.float().cpu().numpy())
                if want_y:
                    if y is None:
                        raise DataError("evaluate needs targets, but the data has none. Pass (X, y) windows.")
                    ys.append(y)
    finally:
        model.train(was_training)
    if not outs:
        raise DataError("The data holds 0 windows: there is nothing to predict.")

    def joined(parts: list[np.ndarray] | None) -> np.ndarray | None:
        return None if parts is None else np.concatenate(parts)

    return _Outputs(np.concatenate(outs), joined(ys) if want_y else None, joined(weights), joined(locs),
                    joined(scales))


def _denormalize_target(values: Any, target_loc: Any, target_scale: Any) -> np.ndarray:
    """Undo per-window target normalization: ``values * target_scale + target_loc``, window by window.

    Parameters
    ----------
    values : array-like of shape (n_windows,), (n_windows, k) or (n_windows, H, k)
        Predictions (or targets) in the normalized space of their windows.
    target_loc, target_scale : array-like of shape (n_windows, n_targets)
        The statistics each window's dict batch carries (``"target_loc"``, ``"target_scale"``).
        With one target they apply to every value of the window; with several, ``values``' last
        axis must be the targets.

    Returns
    -------
    ndarray
        ``values`` in the units the windows had before the per-window normalization.

    Examples
    --------
    >>> _denormalize_target([[0.5, -1.0], [0.0, 2.0]], [[10.0], [20.0]], [[2.0], [4.0]])
    array([[11.,  8.],
           [20., 28.]])
    """
    v = np.asarray(values, dtype=np.float64)
    loc = np.asarray(target_loc, dtype=np.float64)
    scale = np.asarray(target_scale, dtype=np.float64)
    n = v.shape[0] if v.ndim else 0
    if loc.ndim == 1:
        loc, scale = loc[:, None], scale[:, None]
    if loc.shape != scale.shape or loc.ndim != 2 or loc.shape[0] != n:
        raise ShapeError(
            f"`target_loc` and `target_scale` must have shape (n_windows, n_targets) = ({n}, k), one row per "
            f"window of `values`. Received: values.shape={v.shape}, target_loc.shape={loc.shape}, "
            f"target_scale.shape={scale.shape}."
        )
    k = loc.shape[1]
    if k == 1:
        shape: tuple[int, ...] = (n,) + (1,) * (v.ndim - 1)
    elif v.ndim >= 2 and v.shape[-1] == k:
        shape = (n,) + (1,) * (v.ndim - 2) + (k,)
    else:
        raise ShapeError(
            f"`values` of shape {v.shape} must have the {k} targets on its last axis to be denormalized with "
            f"{k} statistics per window. Give the model's output that layout (e.g. horizons=H, n_outputs={k})."
        )
    return v * scale.reshape(shape) + loc.reshape(shape)


def predict(
    model: Any,
    windows_or_X: WindowsLike | np.ndarray,
    batch_size: int = 256,
    *,
    task: str = "regression",
    proba: bool = False,
    device: Any = "auto",
    amp: Any = False,
    denormalize: bool = False,
) -> np.ndarray:
    """Run the model over all windows, in order, in eval mode and without gradients.

    With per-window target normalization (RevIN, ``Pipeline(scale_per="window")``: dict batches
    carrying ``"target_loc"`` and ``"target_scale"``) the model predicts in each window's normalized
    space, and so does this function; ``denormalize=True`` returns ``pred * target_scale +
    target_loc`` per window instead, the same as ``pipe.inverse_target(predict(model, windows),
    windows=windows)`` (use one of the two, not both).

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
    denormalize : bool, default False
        Regression: undo the per-window target normalization the batches carry (see above).

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
    if check_bool(denormalize, "denormalize") and task != "regression":
        raise param_error("denormalize", "False for task='classification'", denormalize,
                          "Per-window target normalization applies to regression targets.")
    res = _outputs(model, windows_or_X, batch_size, device, amp, want_y=False, want_scale=denormalize)
    out = res.out
    if task == "regression":
        if check_bool(proba, "proba"):
            raise param_error("proba", "False for task='regression'", proba)
        if denormalize:
            out = _denormalize_target(out, res.loc, res.scale).astype(np.float32)
        return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
    if out.ndim != 2:
        raise ShapeError(f"For classification the model must return (n, n_classes) logits. Received: {out.shape}.")
    if check_bool(proba, "proba"):
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return out.argmax(axis=1).astype(np.int64)


def evaluate(
    model: Any,
    windows: WindowsLike | tuple[Any, Any],
    batch_size: int = 256,
    *,
    task: str = "regression",
    labels: Sequence[Any] | None = None,
    device: Any = "auto",
    amp: Any = False,
    sample_weight: bool = False,
    denormalize: bool = False,
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
    sample_weight : bool, default False
        Weight each window by the ``"weight"`` its dict batch carries (the metrics' ``sample_weight``).
    denormalize : bool, default False
        Regression: score predictions and targets after undoing the per-window target
        normalization the batches carry (as ``predict(..., denormalize=True)``); False scores them
        in the windows' normalized space.

    Returns
    -------
    dict
        :func:`~seqprep.metrics.regression_metrics` (mae, rmse, smape) or
        :func:`~seqprep.metrics.classification_metrics` (accuracy, balanced_accuracy, macro_f1).
    """
    check_choice(task, "task", TASKS)
    weighted = check_bool(sample_weight, "sample_weight")
    if check_bool(denormalize, "denormalize") and task != "regression":
        raise param_error("denormalize", "False for task='classification'", denormalize,
                          "Per-window target normalization applies to regression targets.")
    res = _outputs(model, windows, batch_size, device, amp, want_y=True, want_weight=weighted,
                   want_scale=denormalize)
    out, y = res.out, res.y
    if y is None:  # want_y=True always returns the targets
        raise ShapeError("evaluate needs windows with targets.")
    if task == "classification":
        return classification_metrics(_labels_as_int(y), out, labels, sample_weight=res.weight)
    if out.size != y.size:
        raise ShapeError(f"The model output has shape {out.shape} but the targets have shape {y.shape}.")
    out = out.reshape(y.shape)
    if denormalize:
        out, y = _denormalize_target(out, res.loc, res.scale), _denormalize_target(y, res.loc, res.scale)
    return regression_metrics(y, out, sample_weight=res.weight)
