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

Where things live: this module holds :func:`fit`, :func:`predict`, :func:`evaluate` and
:class:`TrainResult`; the data side (:class:`ArrayWindows`, ``WindowsDataset``,
:func:`make_dataloader`, training-only augmentation) is in ``seqprep.training._loaders``, and the pieces of
the epoch loop (device, precision, schedule, loss, one epoch, early stopping, progress bar) are in
``seqprep.training._loop``. Both are internal; import from here.

Dict batches (windows with known/static/categorical inputs, masks, weights or per-window target
normalization): every tensor of ``X`` is moved to the device and the whole dict reaches the model;
``fit(..., sample_weight=True)`` / ``evaluate(..., sample_weight=True)`` weight the loss and the metrics
by the batch's ``"weight"``; ``predict`` returns outputs in the windows' normalized space and
``predict(..., denormalize=True)`` undoes the per-window target normalization the batches carry (as
``pipe.inverse_target(pred, windows=...)`` does for a ``Pipeline(scale_per="window")``).

Lightning (optional, ``pip install 'seqprep[lightning]'``): :class:`SeqprepDataModule` gives the
train/val/test loaders of a fitted Pipeline, :class:`SeqprepModule` wraps a model with the loss and
optimizer of :func:`fit`. Both are built on first access, so Lightning is imported only then.

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

from typing import Any

from ._fit import TrainResult, evaluate, fit, predict
from ._loaders import ArrayWindows, WindowsLike, _dataset_class, collate_batch, make_dataloader
from ._loop import resolve_device

__all__ = [
    "ArrayWindows",
    "SeqprepDataModule",
    "SeqprepModule",
    "TrainResult",
    "WindowsDataset",
    "WindowsLike",
    "collate_batch",
    "evaluate",
    "fit",
    "make_dataloader",
    "predict",
    "resolve_device",
]

WindowsDataset: type  # served by __getattr__ below; declared here for __all__ and type checkers
SeqprepDataModule: type  # likewise (Lightning)
SeqprepModule: type


def __getattr__(name: str) -> Any:
    # WindowsDataset subclasses torch's Dataset, so it is built on first use (keeps torch out of
    # `import seqprep.training`); pickle finds it here too: the class names this module as its own.
    # The Lightning classes likewise (lightning is optional, and heavy to import).
    if name == "WindowsDataset":
        return _dataset_class()
    if name in ("SeqprepDataModule", "SeqprepModule"):
        from ._lightning import lightning_class

        return lightning_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

