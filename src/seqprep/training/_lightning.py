"""Lightning: a ``LightningDataModule`` over a fitted Pipeline's parts, and a ``LightningModule`` for any model.

Internal module; :mod:`seqprep.training` serves :class:`SeqprepDataModule` and :class:`SeqprepModule`
on first access. Lightning is optional (``pip install 'seqprep[lightning]'``): the classes derive from
Lightning's, so they are built the first time they are asked for, and ``import seqprep`` never
imports Lightning. ``lightning.pytorch`` is used, or ``pytorch_lightning`` when only that is installed.

The loaders are the windows' own (:meth:`seqprep.Windows.to_torch` ``.loader()``), so they keep its
guarantees: one gather per batch under seqprep's thread policy, the training part reshuffled every
epoch from a generator seeded with ``seed`` and augmented when the pipeline has ``augment=`` (the
training part only), the validation and test parts in time order, never shuffled nor augmented.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .._validation import check_bool, check_choice, check_float, check_int, list_names, param_error
from ..exceptions import NotFittedError

__all__: list[str] = []  # internal module: the classes are served by seqprep.training

_MESSAGE = "SeqprepDataModule and SeqprepModule need Lightning: pip install 'seqprep[lightning]'"
_CLASSES: dict[str, type] = {}


def _lightning() -> Any:
    """``lightning.pytorch``, else ``pytorch_lightning``; a clear ImportError without either."""
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(_MESSAGE)


def _parts(source: Any) -> dict[str, Any]:
    """The named windows of a fitted Pipeline, a Split, or a dict of windows."""
    if isinstance(source, Mapping):
        parts = dict(source)
    elif hasattr(source, "parts") and isinstance(source.parts, Mapping):  # a Split
        parts = dict(source.parts)
    elif hasattr(source, "split_") or type(source).__name__ == "Pipeline":
        split = getattr(source, "split_", None)
        if split is None:
            raise NotFittedError(
                f"This {type(source).__name__} instance is not fitted yet: call pipe.fit(data) before building "
                "a SeqprepDataModule from it (or pass the Split that fit returns)."
            )
        parts = dict(split.parts)
    else:
        raise param_error("source", "a fitted seqprep Pipeline, the Split its fit returns, or a dict of Windows",
                          source, "Pass e.g. SeqprepDataModule(pipe) after pipe.fit(data).")
    if "train" not in parts:
        raise param_error("source", "parts that include 'train'", list(parts),
                          f"The parts are {list_names(parts)}; name the training part 'train'.")
    for name, windows in parts.items():
        if not hasattr(windows, "to_torch"):
            raise param_error(f"source[{name!r}]", "seqprep Windows", windows,
                              "Pass the windows of a Split (pipe.fit(data)) or of seqprep.windows(...).")
    return parts


def _build_datamodule(base: type) -> type:
    class SeqprepDataModule(base):  # type: ignore[valid-type,misc]
        """A ``LightningDataModule`` with the train/val/test loaders of a fitted seqprep Pipeline.

        Parameters
        ----------
        source : Pipeline, Split or dict of str to Windows
            A fitted Pipeline (its ``split_``), the Split ``pipe.fit(data)`` returns, or named windows;
            ``"train"`` is required, ``"val"`` and ``"test"`` are used when present.
        batch_size : int, default 64
        seed : int, default 0
            Seed of the training part's shuffle (a new order every epoch, the same sequence of
            orders for the same seed).
        num_workers : int, default 0
            DataLoader worker processes.
        pin_memory : bool, default False
            Page-locked batches (faster copies to CUDA).

        Notes
        -----
        ``train_dataloader`` shuffles (and augments, when the pipeline has ``augment=``);
        ``val_dataloader``, ``test_dataloader`` and ``predict_dataloader`` (the test part) keep the
        time order. A missing part gives no loader (an empty list, which Lightning skips). Batches
        are ``(X, y)``: ``X`` a tensor, or a dict of tensors when the windows carry covariates,
        codes, masks, weights or per-window normalization; Lightning moves every tensor of it.
        """

        def __init__(self, source: Any, *, batch_size: int = 64, seed: int = 0, num_workers: int = 0,
                     pin_memory: bool = False) -> None:
            super().__init__()
            self.parts = _parts(source)
            self.batch_size = check_int(batch_size, "batch_size", minimum=1)
            self.seed = check_int(seed, "seed", minimum=0)
            self.num_workers = check_int(num_workers, "num_workers", minimum=0)
            self.pin_memory = check_bool(pin_memory, "pin_memory")

        def _loader(self, name: str, shuffle: bool) -> Any:
            windows = self.parts.get(name)
            if windows is None:
                return []
            return windows.to_torch().loader(
                batch_size=self.batch_size, shuffle=shuffle, seed=self.seed if shuffle else None,
                num_workers=self.num_workers, pin_memory=self.pin_memory,
                persistent_workers=self.num_workers > 0,
            )

        def train_dataloader(self) -> Any:
            """The training part, reshuffled every epoch (seeded), augmented when the pipeline asks."""
            return self._loader("train", shuffle=True)

        def val_dataloader(self) -> Any:
            """The validation part, in time order."""
            return self._loader("val", shuffle=False)

        def test_dataloader(self) -> Any:
            """The test part, in time order."""
            return self._loader("test", shuffle=False)

        def predict_dataloader(self) -> Any:
            """The test part, in time order (``trainer.predict(module, datamodule=dm)``)."""
            return self._loader("test", shuffle=False)

    return SeqprepDataModule


def _build_module(base: type) -> type:
    class SeqprepModule(base):  # type: ignore[valid-type,misc]
        """A ``LightningModule`` around a model: the loss, metric and optimizer of :func:`seqprep.training.fit`.

        Parameters
        ----------
        model : torch.nn.Module
            Any model taking the batches' ``X`` (a tensor or a dict batch), e.g. ``CNNLSTM.from_windows``;
            put in training mode. It stays reachable as ``module.model`` (save it with
            :func:`seqprep.models.save_model`).
        task : {"regression", "classification"}, default "regression"
        loss : {None, "mse", "huber", "cross_entropy"}, optional
            As in :func:`seqprep.training.fit`.
        lr, weight_decay : float, default 1e-3, 1e-4
            AdamW.
        sample_weight : bool, default False
            Weight each window's loss (and the validation metric) by the ``"weight"`` its dict batch carries.

        Notes
        -----
        Logs ``train_loss`` (per epoch), ``val_loss`` and ``val_mae`` / ``val_accuracy``, ``test_loss``
        and ``test_mae`` / ``test_accuracy``. Lightning averages them over batches weighted by batch
        size. ``predict_step`` returns the model's outputs (in the windows' normalized space, with
        per-window target normalization: ``pipe.inverse_target(pred, windows=...)`` inverts them).
        """

        def __init__(self, model: Any, *, task: str = "regression", loss: str | None = None, lr: float = 1e-3,
                     weight_decay: float = 1e-4, sample_weight: bool = False) -> None:
            super().__init__()
            import torch

            from ._loop import _make_criterion

            if not isinstance(model, torch.nn.Module):
                raise param_error("model", "a torch.nn.Module", model)
            self.model = model.train()  # e.g. load_model returns it in eval mode; Lightning warns on that
            self.task = check_choice(task, "task", ("regression", "classification"))
            self.lr = check_float(lr, "lr", minimum=0.0, inclusive=False)
            self.weight_decay = check_float(weight_decay, "weight_decay", minimum=0.0)
            self.sample_weight = check_bool(sample_weight, "sample_weight")
            self.criterion = _make_criterion(self.task, loss, 0.0, "none" if self.sample_weight else "mean")

        def forward(self, x: Any, *args: Any) -> Any:
            return self.model(x, *args)

        def _step(self, batch: Any, stage: str) -> Any:
            from ._loop import _align, batch_weights, weighted_loss

            X, y, *rest = batch
            if self.task == "classification":
                y = y.reshape(-1).long() if y.ndim == 2 and y.shape[1] == 1 else y.long()
            out = _align(self.model(X, *rest), y, self.task).float()
            w = batch_weights(X, self.sample_weight)
            if w is None:
                loss = self.criterion(out, y)
            else:
                loss, _ = weighted_loss(self.criterion(out, y), w)
            n = len(y)
            self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, batch_size=n)
            if stage != "train":
                if self.task == "classification":
                    name, per_sample = "accuracy", (out.argmax(dim=1) == y).float()
                else:
                    name, per_sample = "mae", (out - y).abs().reshape(n, -1).mean(dim=1)
                value = per_sample.mean() if w is None else (per_sample * w).sum() / w.sum().clamp(min=1e-12)
                self.log(f"{stage}_{name}", value, on_step=False, on_epoch=True, batch_size=n)
            return loss

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            return self._step(batch, "train")

        def validation_step(self, batch: Any, batch_idx: int) -> Any:
            return self._step(batch, "val")

        def test_step(self, batch: Any, batch_idx: int) -> Any:
            return self._step(batch, "test")

        def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
            X = batch[0] if isinstance(batch, (tuple, list)) else batch
            return self.model(X)

        def configure_optimizers(self) -> Any:
            import torch

            return torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    return SeqprepModule


def lightning_class(name: str) -> type:
    """``SeqprepDataModule`` or ``SeqprepModule``, built once on first use (Lightning is imported then)."""
    cls = _CLASSES.get(name)
    if cls is None:
        pl = _lightning()
        cls = (_build_datamodule(pl.LightningDataModule) if name == "SeqprepDataModule"
               else _build_module(pl.LightningModule))
        cls.__module__ = "seqprep.training"  # its public home (pickle and reprs find it there)
        cls.__qualname__ = name
        _CLASSES[name] = cls
    return cls
