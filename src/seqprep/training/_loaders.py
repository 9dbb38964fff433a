"""From windows to batches: the data side of :mod:`seqprep.training`.

Internal module; :mod:`seqprep.training` re-exports its public names (:class:`ArrayWindows`,
``WindowsDataset``, :func:`collate_batch`, :func:`make_dataloader`) and documents the
"windows-like" interface: anything with ``len(w)`` and ``w[index_array] -> (X, y)`` numpy arrays.

In reading order: wrapping arrays as windows (:class:`ArrayWindows`, :func:`_as_windows`),
training-only augmentation of whole batches (:class:`_AugmentedWindows`), one checked
fancy-index fetch (:func:`_fetch`), numpy batches to tensors, the torch ``Dataset`` class
(built on first use so that torch stays out of ``import seqprep``), and the ``DataLoader``
that :func:`seqprep.training.fit` iterates over.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

import numpy as np

from .._validation import check_bool, check_choice, check_int, param_error
from ..exceptions import DataError, ShapeError

if TYPE_CHECKING:
    import torch

__all__ = ["ArrayWindows", "WindowsLike", "collate_batch", "make_dataloader"]


@runtime_checkable
class WindowsLike(Protocol):
    """What :func:`seqprep.training.fit` trains on: ``len(w)`` and ``w[index_array] -> (X, y)``.

    :class:`seqprep.Windows` is one; so is :class:`ArrayWindows` (a plain ``(X, y)`` pair, wrapped).
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: np.ndarray, /) -> Any: ...

TASKS = ("regression", "classification")
#: Keys of a dict batch's X read by the loop, not the model's inputs (they still reach the model).
META_KEYS = ("weight", "target_loc", "target_scale")
_CODE_KEYS = ("past_cat", "known_cat", "static_cat")
_MASK_KEYS = ("past_mask", "known_mask")


def _n_rows(X: Any) -> int:
    """Windows in ``X``: an array's first axis, or a dict batch's ("past", else its first key)."""
    if isinstance(X, Mapping):
        first = X["past"] if "past" in X else next(iter(X.values()))
        return int(np.shape(first)[0])
    return len(X)


def _take_rows(X: Any, index: Any) -> Any:
    return {k: v[index] for k, v in X.items()} if isinstance(X, Mapping) else X[index]


# ============================================================================ windows-like data
class ArrayWindows:
    """Windows held in memory as two arrays, with the windows-like interface.

    Parameters
    ----------
    X : ndarray of shape (n_windows, ...), or dict of str to ndarray
        Inputs, one row per window (usually ``(n_windows, lookback, n_features)``), or a dict batch
        (``{"past": ..., "known": ..., "weight": ...}``, see :mod:`seqprep.diagnosis.batches`)
        whose arrays all have ``n_windows`` rows.
    y : ndarray of shape (n_windows,) or (n_windows, n_outputs), optional
        Targets; ``None`` for inputs only (prediction).
    lengths : ndarray of shape (n_windows,), optional
        Valid steps of each window when ``X`` holds unequal-length cases padded at the end
        (the mask). Indexing then returns ``(X, y, lengths)``, the batches carry them as a third
        tensor, and :func:`seqprep.training.fit` / ``predict`` call ``model(X, lengths)``
        (:class:`~seqprep.models.LSTMFCN` and :class:`~seqprep.models.CNNLSTM` accept it).

    Examples
    --------
    >>> import numpy as np
    >>> w = ArrayWindows(np.zeros((10, 4, 2)), np.arange(10))
    >>> len(w), w[np.array([2, 5])][1]
    (10, array([2, 5]))
    >>> ArrayWindows(np.zeros((3, 4, 1)), np.arange(3), lengths=[4, 2, 3])[np.array([1])][2]
    array([2])
    """

    def __init__(self, X: Any, y: Any = None, lengths: Any = None) -> None:
        self.y = None if y is None else np.asarray(y)
        self.lengths = None if lengths is None else np.asarray(lengths, dtype=np.int64)
        if isinstance(X, Mapping):
            self.X: Any = {str(k): np.asarray(v) for k, v in X.items()}
            self._check_dict()
            return
        self.X = np.asarray(X)
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
        if self.lengths is not None:
            ok = self.lengths.shape == (len(self.X),) and self.X.ndim >= 2
            if not ok or (len(self.X) and (self.lengths.min() < 1 or self.lengths.max() > self.X.shape[1])):
                raise ShapeError(
                    f"`lengths` must give each window's valid steps, 1 .. {self.X.shape[1]}, one per window. "
                    f"Received: lengths of shape {self.lengths.shape} for X.shape={self.X.shape}."
                )

    def _check_dict(self) -> None:
        if not self.X:
            raise ShapeError("`X` is an empty dict: a dict batch holds at least 'past'.")
        rows = {k: (v.shape[0] if v.ndim else None) for k, v in self.X.items()}
        n = _n_rows(self.X)
        if any(r != n for r in rows.values()) or (self.y is not None and (self.y.ndim == 0 or len(self.y) != n)):
            extra = "" if self.y is None else f", y: {self.y.shape[:1]}"
            raise ShapeError(
                "`X` (a dict) and `y` must hold the same number of windows under every key. Received rows: "
                + ", ".join(f"{k}: {r}" for k, r in rows.items()) + f"{extra}."
            )
        if self.lengths is not None:
            raise param_error("lengths", "None with a dict X", self.lengths,
                              "Padded cases with lengths take a plain array X.")

    def __len__(self) -> int:
        return _n_rows(self.X)

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        y = None if self.y is None else self.y[index]
        if self.lengths is None:
            return _take_rows(self.X, index), y
        return self.X[index], y, self.lengths[index]


def _as_windows(data: Any, name: str) -> WindowsLike:
    """Return a windows-like object: tuples ``(X, y)`` / ``(X, y, lengths)``, bare arrays and dicts are wrapped."""
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        return ArrayWindows(*data)
    if isinstance(data, (np.ndarray, Mapping)):
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

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        X, y, lengths = _fetch(self.windows, np.asarray(index, dtype=np.intp))
        if isinstance(X, Mapping):  # dict batches: the past values only (masks, codes, known, static untouched)
            return {**X, "past": self._augment(X["past"])}, y
        if lengths is None:
            return self._augment(X), y
        # Padded cases: each group of equal length is augmented on its valid steps only, so warps and
        # slices stretch the series, never its padding (one call per distinct length in the batch).
        X_aug = np.zeros_like(X)
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            X_aug[rows, :length] = self._augment(X[rows, :length])
        return X_aug, y, lengths

    def _augment(self, X: np.ndarray) -> np.ndarray:
        X_aug = np.asarray(self.augment(X, self._generator()))
        if X_aug.shape != X.shape:
            raise ShapeError(
                f"the augmentation returned shape {X_aug.shape} for a batch of shape {X.shape}; it must keep the "
                "shape (seqprep.augment's augmentations do)."
            )
        return X_aug.astype(X.dtype, copy=False)


def _training_windows(train: Any, augment: Any, seed: int) -> Any:
    """``train`` as windows-like, with ``augment`` -- or the windows' own augmentation -- on its batches."""
    windows = _as_windows(train, "train")
    own = getattr(windows, "augmentation", None)  # seqprep.Windows.with_augmentation / Pipeline(augment=...)
    if augment is not None and own is not None:
        raise param_error(
            "augment", "None when the training windows already carry an augmentation", augment,
            f"The windows were built with {own!r} (Pipeline(augment=...) or with_augmentation); pass one of the two.",
        )
    if augment is None:
        return windows if own is None else _AugmentedWindows(windows, own, cast(Any, windows).augmentation_seed)
    from ..augment import make_augmentation

    # Any callable aug(X, rng) -> X is accepted, as by Windows.with_augmentation; names, dicts and lists
    # go through make_augmentation (which also validates them).
    return _AugmentedWindows(windows, augment if callable(augment) else make_augmentation(augment), seed)


def _fetch(windows: Any, index: np.ndarray) -> tuple[Any, np.ndarray | None, np.ndarray | None]:
    """One fancy-index call, checked: ``(X, y, lengths)`` with ``len(index)`` rows each (``lengths`` may be None).

    ``X`` is an array, or a dict of arrays (a dict batch), each with ``len(index)`` rows.
    """
    out = windows[index]
    lengths = None
    if isinstance(out, (np.ndarray, Mapping)):
        X, y = out, None
    elif isinstance(out, (tuple, list)) and len(out) in (2, 3):
        X, y = out[0], (None if out[1] is None else np.asarray(out[1]))
        if len(out) == 3 and out[2] is not None:
            lengths = np.asarray(out[2], dtype=np.int64)
    else:
        raise ShapeError(
            f"windows[index_array] must return a tuple (X, y) of arrays. Received: {type(out).__name__}. "
            "Wrap the data as (X, y) or use seqprep.windows(...)."
        )
    n = len(index)
    if isinstance(X, Mapping):
        X = {k: np.asarray(v) for k, v in X.items()}
        rows = {k: v.shape[:1] for k, v in X.items()}
        if any(r != (n,) for r in rows.values()) or (y is not None and y.shape[:1] != (n,)):
            raise ShapeError(
                "windows[index_array] returned a dict X with rows "
                + ", ".join(f"{k}: {r[0] if r else None}" for k, r in rows.items())
                + ("" if y is None else f" and y.shape={y.shape}") + f" for {n} indices; all must have {n} rows."
            )
        if lengths is not None:
            raise ShapeError("windows[index_array] returned a dict X and lengths: padded cases take a plain array X.")
        return X, y, None
    X = np.asarray(X)
    if X.shape[:1] != (n,) or (y is not None and y.shape[:1] != (n,)):
        raise ShapeError(
            f"windows[index_array] returned X.shape={X.shape}"
            + ("" if y is None else f" and y.shape={y.shape}")
            + f" for {n} indices; both must have {n} rows."
        )
    if lengths is not None and lengths.shape != (n,):
        raise ShapeError(f"windows[index_array] returned lengths of shape {lengths.shape} for {n} indices.")
    return X, y, lengths


# ============================================================================ batches as tensors
def _labels_as_int(y: np.ndarray) -> np.ndarray:
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64, copy=False)
    if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
        return y.astype(np.int64)
    raise DataError(
        f"task='classification' needs integer class labels 0 .. n_classes - 1; received y of dtype {y.dtype}. "
        "Encode the classes as integers first (e.g. np.unique(labels, return_inverse=True))."
    )


def inputs_as_tensors(X: Any) -> Any:
    """``X`` as torch tensors on the CPU: float32, or for a dict batch float32 values, int64 codes, bool masks."""
    import torch

    if not isinstance(X, Mapping):
        return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    out = {}
    for key, value in X.items():
        if key in _CODE_KEYS:
            arr = np.asarray(value)
            # float codes are left as they are: the model (and seqprep.doctor) explains them
            dtype = np.int64 if np.issubdtype(arr.dtype, np.integer) else arr.dtype
            out[key] = torch.from_numpy(np.ascontiguousarray(arr, dtype=dtype))
        elif key in _MASK_KEYS:
            out[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.bool_))
        else:
            out[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    return out


def _to_tensors(
    X: Any, y: np.ndarray | None, task: str, lengths: np.ndarray | None = None
) -> tuple[Any, ...]:
    import torch

    if y is None:
        raise DataError("Training and evaluation need targets, but the windows returned y=None. Pass (X, y).")
    xt = inputs_as_tensors(X)
    if task == "classification":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        yt = torch.from_numpy(np.ascontiguousarray(_labels_as_int(y)))
    else:
        yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    if lengths is None:
        return xt, yt
    return xt, yt, torch.from_numpy(np.ascontiguousarray(lengths, dtype=np.int64))


# ============================================================================ torch Dataset and DataLoader
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

        def __getitems__(self, indices: Sequence[int]) -> tuple[Any, ...]:
            X, y, lengths = _fetch(self.windows, np.asarray(indices, dtype=np.intp))
            return _to_tensors(X, y, self.task, lengths)

        def __getitem__(self, index: int) -> tuple[Any, ...]:
            return tuple(_take_rows(t, 0) for t in self.__getitems__([index]))

    # Named after its public home, not this module: pickle (DataLoader workers under "spawn") looks the
    # class up as seqprep.training.WindowsDataset, which that module's __getattr__ serves from the cache below.
    WindowsDataset.__module__ = "seqprep.training"
    WindowsDataset.__qualname__ = "WindowsDataset"
    return WindowsDataset


# Built once and cached, so every lookup (and every unpickled dataset) gets the same class object.
_windows_dataset_class: type | None = None


def _dataset_class() -> type:
    """``WindowsDataset``, built on first use: it subclasses torch's Dataset, and torch loads lazily."""
    global _windows_dataset_class
    if _windows_dataset_class is None:
        _windows_dataset_class = _make_windows_dataset_class()
    return _windows_dataset_class


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
        Yields ``X`` float32 of shape ``(batch, ...)`` (for dict batches, a dict of tensors: float32
        values, int64 codes, bool masks) and ``y`` of shape ``(batch, ...)``.

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



def _fit_loaders(
    train: Any,
    val: Any,
    *,
    augment: Any,
    task: str,
    batch_size: int,
    seed: int,
    num_workers: int,
    pin_memory: bool,
) -> dict[str, torch.utils.data.DataLoader]:
    """The loaders :func:`seqprep.training.fit` iterates over: ``"train"`` (shuffled, augmented) and ``"val"``."""
    train = _training_windows(train, augment, seed)
    # Checked before the loader is built: torch's shuffling sampler refuses an empty dataset with a
    # message about `num_samples` that does not say which argument is empty.
    if len(_as_windows(train, "train")) == 0:
        raise DataError(
            "`train` holds 0 windows: there is nothing to train on. Check the split sizes and that the "
            "training part is longer than lookback + horizon."
        )
    loaders = {
        name: make_dataloader(
            _as_windows(data, name),
            task=task,
            batch_size=batch_size,
            shuffle=name == "train",
            seed=seed,
            num_workers=num_workers,
            pin_memory=pin_memory,
        )
        for name, data in (("train", train), ("val", val))
        if data is not None
    }
    return loaders
