"""The epoch loop behind :func:`seqprep.training.fit`, and the pieces it is built from.

Internal module, in reading order: argument checks and set-up (device, mixed precision, seeds,
learning-rate schedule, loss), one batch (:class:`_Runtime`: move, autocast, check shapes and
labels, loss), one training epoch and one validation pass, the progress bar, and the loop over
epochs with early stopping and best-weight bookkeeping (:func:`_run_epochs`).

torch is imported inside the functions, as everywhere in :mod:`seqprep.training`.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_bool, check_choice, check_float, check_int, param_error
from ..exceptions import DataError, ShapeError
from ._loaders import TASKS

if TYPE_CHECKING:
    import torch

__all__ = ["resolve_device"]

SCHEDULERS = ("cosine", "plateau", None)
CHECKPOINTS = ("auto", "val", "train_loss", "last")
Callback = Callable[[dict[str, float], Any], Any]


# ============================================================================ set-up helpers
def resolve_device(device: Any) -> torch.device:
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


def _make_scheduler(
    optimizer: Any, name: str | None, epochs: int, patience: int | None, plateau_patience: int | None = None,
    min_lr: float = 0.0,
) -> Any:
    import torch

    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "plateau":
        wait = plateau_patience if plateau_patience is not None else max(1, (patience or 6) // 3)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=wait,
                                                          min_lr=min_lr)
    return None


def _make_criterion(task: str, loss: str | None, label_smoothing: float = 0.0, reduction: str = "mean") -> Any:
    """The loss module; ``reduction="none"`` gives one value per element (the weighted loss reduces it)."""
    import torch

    if task == "classification":
        if loss not in (None, "cross_entropy"):
            raise param_error("loss", "None or 'cross_entropy' for task='classification'", loss)
        return torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing, reduction=reduction)
    if label_smoothing:
        raise param_error("label_smoothing", "0.0 for task='regression' (it smooths class labels)", label_smoothing)
    check_choice(loss, "loss", (None, "mse", "huber"))
    return torch.nn.HuberLoss(reduction=reduction) if loss == "huber" else torch.nn.MSELoss(reduction=reduction)


def batch_weights(X: Any, required: bool) -> torch.Tensor | None:
    """The ``"weight"`` ``(B,)`` of a dict batch, checked (finite, >= 0), when *required*; else None."""
    if not required:
        return None
    w = X.get("weight") if isinstance(X, Mapping) else None
    if w is None:
        raise DataError(
            "sample_weight=True needs batches that carry a 'weight' (a dict X with a 'weight' key), but this "
            f"batch has {'keys ' + ', '.join(map(repr, X)) if isinstance(X, Mapping) else 'a plain array X'}. "
            "Build the windows with weight=... (a column or a per-series mapping), or pass sample_weight=False."
        )
    if w.ndim != 1 or not bool(w.isfinite().all()) or bool((w < 0).any()):
        raise DataError(
            f"the batch's 'weight' must hold one finite weight >= 0 per window, shape (B,); received shape "
            f"{tuple(w.shape)} with min {float(w.min()) if w.numel() else 'n/a'}. Fix the weight column or mapping."
        )
    return w


def weighted_loss(elementwise: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum_i w_i l_i / sum_i w_i, sum_i w_i)`` of per-element losses; ``l_i`` is sample i's mean loss.

    A batch whose weights are all zero gives a loss of 0 (nothing to learn from it).
    """
    import torch

    per_sample = elementwise.reshape(elementwise.shape[0], -1).mean(dim=1) if elementwise.ndim > 1 else elementwise
    w = w.to(per_sample.dtype)
    total = w.sum()
    return (per_sample * w).sum() / total.clamp(min=torch.finfo(w.dtype).tiny), total


def _check_fit_args(**kw: Any) -> None:
    check_choice(kw["task"], "task", TASKS)
    check_int(kw["epochs"], "epochs", minimum=1)
    check_int(kw["batch_size"], "batch_size", minimum=1)
    check_float(kw["lr"], "lr", minimum=0.0, inclusive=False)
    check_float(kw["weight_decay"], "weight_decay", minimum=0.0)
    check_choice(kw["scheduler"], "scheduler", SCHEDULERS)
    check_choice(kw["checkpoint"], "checkpoint", CHECKPOINTS)
    if kw["checkpoint"] == "val" and kw["val"] is None:
        raise param_error("checkpoint", "'auto', 'train_loss' or 'last' without validation data", "val",
                          "Pass val=(X, y) windows, or use checkpoint='train_loss'.")
    if kw["plateau_patience"] is not None:
        check_int(kw["plateau_patience"], "plateau_patience", minimum=1)
    check_float(kw["min_lr"], "min_lr", minimum=0.0)
    if kw["clip_grad_norm"] is not None:
        check_float(kw["clip_grad_norm"], "clip_grad_norm", minimum=0.0, inclusive=False)
    if kw["patience"] is not None:
        check_int(kw["patience"], "patience", minimum=1, fix="Use patience >= 1, or None to turn early stopping off.")
    check_int(kw["seed"], "seed", minimum=0)
    check_bool(kw["progress"], "progress")
    check_bool(kw["sample_weight"], "sample_weight")
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


def move(X: Any, device: Any) -> Any:
    """A tensor, or every tensor of a dict batch, on *device*."""
    if isinstance(X, Mapping):
        return {k: v.to(device, non_blocking=True) for k, v in X.items()}
    return X.to(device, non_blocking=True)


@dataclass
class _Runtime:
    device: Any
    amp_dtype: Any
    task: str
    criterion: Any
    clip: float | None = None
    scaler: Any = None
    sample_weight: bool = False

    def autocast(self) -> Any:
        import torch

        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def forward(
        self, model: Any, X: Any, y: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        """Move a batch, run the model; return the aligned float32 output, the targets, the loss and its weight.

        ``X`` is a tensor or a dict batch (every tensor is moved; the whole dict reaches the model).
        ``lengths`` (valid steps per case of a padded batch) is passed on as ``model(X, lengths)``. The
        loss is the batch mean, weighted by the batch's ``"weight"`` with ``sample_weight``; its weight
        (what the epoch's mean counts it as) is the batch size, or the sum of the weights.
        """
        # label range and weights read on the CPU copy: no device sync
        label_range = (int(y.min()), int(y.max())) if self.task == "classification" and y.numel() else None
        w = batch_weights(X, self.sample_weight)
        X = move(X, self.device)
        y = y.to(self.device, non_blocking=True)
        with self.autocast():
            raw = model(X) if lengths is None else model(X, lengths.to(self.device, non_blocking=True))
            out = _align(raw, y, self.task).float()
        if label_range is not None:
            _check_labels(label_range, out.shape[1])
        if w is None:
            return out, y, self.criterion(out, y), len(y)
        loss, total = weighted_loss(self.criterion(out, y), w.to(self.device, non_blocking=True))
        return out, y, loss, total


def _train_one_epoch(model: Any, loader: Any, optimizer: Any, rt: _Runtime, epoch: int) -> float:
    import torch

    model.train()
    total = torch.zeros((), device=rt.device)
    seen: Any = 0
    for X, y, *lengths in loader:
        optimizer.zero_grad(set_to_none=True)
        _, _, loss, count = rt.forward(model, X, y, *lengths)
        rt.scaler.scale(loss).backward()
        if rt.clip is not None:
            rt.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), rt.clip)
        rt.scaler.step(optimizer)
        rt.scaler.update()
        total += loss.detach() * count
        seen += count  # windows, or the sum of their weights (a tensor: still one sync per epoch)
    seen = float(seen)  # one device sync per epoch
    if seen <= 0 and rt.sample_weight:
        raise DataError(
            f"every training window of epoch {epoch} has weight 0: there is nothing to learn from. Check the "
            "weight column or mapping of the windows, or pass sample_weight=False."
        )
    mean = float(total) / max(seen, 1.0) if not rt.sample_weight else float(total) / seen
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
    seen: Any = 0
    with torch.no_grad():
        for X, y, *lengths in loader:
            w = batch_weights(X, rt.sample_weight)
            out, y, loss, count = rt.forward(model, X, y, *lengths)
            loss_sum += loss * count
            if rt.task == "classification":
                per_sample = (out.argmax(dim=1) == y).float()
            else:
                per_sample = (out - y).abs().reshape(len(y), -1).mean(dim=1)
            metric_sum += per_sample.sum() if w is None else (per_sample * w.to(per_sample)).sum()
            seen += count
    seen = float(seen)
    if seen <= 0:
        return math.nan, math.nan  # no validation window has a positive weight
    return float(loss_sum) / seen, float(metric_sum) / seen


# ============================================================================ progress bar
#: Seconds between two plain progress lines when stdout is not a terminal (CI, a log file).
PLAIN_PROGRESS_EVERY_S = 5.0


class _EpochProgress:
    """Progress over epochs: a rich bar on a terminal; elsewhere (CI, a log file) a plain line every few seconds.

    The plain lines go to stdout, at most one per :data:`PLAIN_PROGRESS_EVERY_S` seconds (and one for the
    last epoch when any was written), so a long training is never minutes of silence in a log and a short
    one writes nothing. A no-op with ``enabled=False``.
    """

    def __init__(self, enabled: bool, epochs: int, metric_name: str) -> None:
        isatty = getattr(sys.stdout, "isatty", None)
        terminal = callable(isatty) and bool(isatty())
        self.enabled = enabled and terminal
        self.plain = enabled and not terminal
        self.epochs = epochs
        self.metric_name = metric_name
        self._bar: Any = None
        self._start = self._last = time.perf_counter()
        self._done = 0
        self._printed = False

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
        self._start = self._last = time.perf_counter()
        return self

    def _info(self, record: dict[str, float]) -> str:
        info = f"loss {record['train_loss']:.4g}"
        if math.isfinite(record["val_loss"]):
            info += f"  val_loss {record['val_loss']:.4g}  val_{self.metric_name} {record['val_metric']:.4g}"
        return info

    def update(self, record: dict[str, float]) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, info=self._info(record))
        elif self.plain:
            now = time.perf_counter()
            if now - self._last >= PLAIN_PROGRESS_EVERY_S or (self._printed and self._done == self.epochs):
                self._last, self._printed = now, True
                print(f"  epoch {self._done}/{self.epochs}  {self._info(record)}  ({now - self._start:.0f} s)",
                      flush=True)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


# ============================================================================ the loop over epochs
@dataclass
class _BestEpoch:
    """The epoch with the lowest validation loss so far, and a copy of the weights it ended with."""

    epoch: int = 0
    val: float = math.inf
    state: dict[str, Any] | None = None


def _copy_state(model: Any) -> dict[str, Any]:
    """A detached copy of the weights, kept in memory on their device."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _one_epoch(
    model: Any, loaders: dict[str, Any], optimizer: Any, scheduler: Any, rt: _Runtime, epoch: int
) -> dict[str, float]:
    """Train one epoch, validate, step the schedule; return the epoch's history record."""
    import torch

    t0 = time.perf_counter()
    current_lr = optimizer.param_groups[0]["lr"]  # read before the schedule steps: the rate this epoch used
    train_loss = _train_one_epoch(model, loaders["train"], optimizer, rt, epoch)
    val_loss, val_metric = _validate(model, loaders["val"], rt) if "val" in loaders else (math.nan, math.nan)
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss if "val" in loaders else train_loss)
    elif scheduler is not None:
        scheduler.step()
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "val_metric": val_metric,
        "lr": current_lr,
        "seconds": time.perf_counter() - t0,
    }


def _run_epochs(
    model: Any,
    loaders: dict[str, Any],
    optimizer: Any,
    scheduler: Any,
    rt: _Runtime,
    *,
    epochs: int,
    patience: int | None,
    callbacks: Sequence[Callback],
    bar: _EpochProgress,
    checkpoint: str = "auto",
) -> tuple[list[dict[str, float]], _BestEpoch, bool]:
    """Up to ``epochs`` epochs; return the history, the best epoch and whether training stopped early.

    Training stops when a callback returns True, or, with validation data, after ``patience``
    epochs without a lower validation loss. ``checkpoint`` says which epoch is "best": the lowest
    validation loss (``"auto"`` with validation data, ``"val"``), the lowest training loss
    (``"train_loss"``; early stopping then counts epochs without a lower training loss), or none
    (``"last"``, and ``"auto"`` without validation data).
    """
    history: list[dict[str, float]] = []
    best = _BestEpoch()
    key = {"auto": "val_loss", "val": "val_loss", "train_loss": "train_loss", "last": None}[checkpoint]
    for epoch in range(1, epochs + 1):
        record = _one_epoch(model, loaders, optimizer, scheduler, rt, epoch)
        history.append(record)
        bar.update(record)
        if key is not None and record[key] < best.val:  # never true for val_loss without validation data (NaN)
            best = _BestEpoch(epoch, record[key], _copy_state(model))
        stop = [bool(cb(record, model)) for cb in callbacks]  # every callback sees every epoch
        waited = epoch - best.epoch
        watched = "val" in loaders if key == "val_loss" else key == "train_loss"
        if any(stop) or (watched and patience is not None and waited >= patience):
            return history, best, epoch < epochs
    return history, best, False


def _restore_best(model: Any, best: _BestEpoch, history: Sequence[dict[str, float]]) -> tuple[int, float]:
    """Load the best epoch's weights into ``model``; return that epoch and its validation loss.

    Without a best epoch (no validation data, or ``checkpoint="last"``) the model keeps its last
    weights. The validation loss is NaN without validation data.
    """
    if best.state is None:
        return len(history), float(history[-1]["val_loss"]) if history else math.nan
    model.load_state_dict(best.state)
    return int(best.epoch), float(history[best.epoch - 1]["val_loss"])
