"""Framework adapters: feed lazy :class:`~seqprep.windowing.Windows` to PyTorch and Keras.

Both gather a whole batch with one call (one fancy index over the strided view), instead of
one Python call per window. torch and keras are imported only when an adapter is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_bool, check_int
from ._starts import epoch_order

if TYPE_CHECKING:
    from ._windows import Windows

__all__ = ["TorchWindows", "keras_dataset"]


def _to_tensors(out: Any, torch: Any) -> Any:
    """A batch as tensors: arrays become tensors, a dict batch a dict of tensors (the default collate keeps dicts)."""
    if isinstance(out, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(out))
    if isinstance(out, tuple):
        return tuple([_to_tensors(a, torch) for a in out])
    if isinstance(out, dict):
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}
    return torch.from_numpy(np.ascontiguousarray(out))  # a numpy scalar (one window's target)


def _torch_dataset_base() -> type:
    import torch.utils.data

    return torch.utils.data.Dataset


_IMPL: dict[str, type] = {}


class TorchWindows:
    """A ``torch.utils.data.Dataset`` over :class:`Windows`.

    ``ds[i]`` gives one sample as tensors; ``ds[[i, j, ...]]`` (and ``__getitems__``, which
    ``DataLoader`` uses) gives a whole batch from one gather. :meth:`loader` builds a
    ``DataLoader`` that passes batches of indices, so collation costs nothing. Windows with roles
    (known/static inputs, categorical columns, masks, weights) give ``X`` as a dict of tensors.

    Examples
    --------
    >>> import numpy as np, seqprep
    >>> ds = seqprep.windows(np.arange(20.0), lookback=4, target=0).to_torch()
    >>> X, y = next(iter(ds.loader(batch_size=8)))
    >>> tuple(X.shape), tuple(y.shape)
    ((8, 4, 1), (8,))
    """

    def __new__(cls, windows: Windows) -> TorchWindows:
        """Return an instance of a subclass that also derives from ``torch.utils.data.Dataset``."""
        # Made on first use so that importing seqprep never imports torch.
        if cls is TorchWindows:
            impl = _IMPL.get("cls")
            if impl is None:
                impl = type("TorchWindows", (TorchWindows, _torch_dataset_base()), {"__module__": __name__})
                _IMPL["cls"] = impl
            cls = impl
        return object.__new__(cls)

    def __init__(self, windows: Windows) -> None:
        import torch

        self.windows = windows
        self._rng = windows.augmentation_rng()
        self._torch = torch  # kept: an import statement per batch is measurable in the loader's hot loop

    def __reduce__(self) -> Any:
        return (TorchWindows, (self.windows,))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: Any) -> Any:
        torch = self._torch
        if isinstance(index, np.ndarray) and index.dtype.kind in "iu":
            out = self.windows._take(index, self._rng)  # the loader's batches: as batches() does
        elif isinstance(index, (list, tuple, np.ndarray)):
            out = self.windows._take(np.asarray(index, dtype=np.int64), self._rng)
        else:
            out = self.windows[index]
        return _to_tensors(out, torch)

    def __getitems__(self, indices: list[int]) -> Any:
        return self[indices]

    def _batch(self, idx: np.ndarray, threads: int | None) -> Any:
        """One loader batch from an integer index array, with the pass's gather threads decided once."""
        return _to_tensors(self.windows._take(idx, self._rng, threads), self._torch)

    def _pass_threads(self, batch_size: int | None) -> int | None:
        """The gather threads of one epoch of batches of *batch_size* (None: ask per batch)."""
        return self.windows._pass_threads(batch_size) if batch_size else None

    def loader(
        self,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        num_workers: int = 0,
        **kwargs: Any,
    ) -> Any:
        """A ``DataLoader`` whose batches come from one gather each.

        Parameters
        ----------
        batch_size : int, default 32
        shuffle : bool, default False
        seed : int, optional
            Seed of the shuffle, for repeatable epochs: the first epoch visits the windows in the
            order of ``windows.batches(batch_size, shuffle=True, seed=seed)``, later epochs draw new
            orders from the same generator. Without a seed the shuffle is seeded from torch's global
            generator, so ``torch.manual_seed`` makes it repeatable too.
        drop_last : bool, default False
        num_workers : int, default 0
        **kwargs
            Passed to ``torch.utils.data.DataLoader``.
        """
        import torch
        from torch.utils.data import DataLoader

        batch_size = check_int(batch_size, "batch_size", minimum=1)
        check_bool(shuffle, "shuffle")
        check_bool(drop_last, "drop_last")
        num_workers = check_int(num_workers, "num_workers", minimum=0)
        rng = None
        if shuffle:
            if seed is None:  # from torch's generator (not torch.seed(), which would reseed it for everyone)
                seed = int(torch.randint(0, 2**62, (1,)).item())
            rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
        sampler = _IndexBatchSampler(len(self), batch_size, drop_last, rng)
        # self is a torch Dataset: the class is built with torch's Dataset as a base on first use
        direct = num_workers == 0 and "collate_fn" not in kwargs and not kwargs.get("pin_memory", False)
        cls = _direct_loader_class(DataLoader) if direct else DataLoader
        return cls(self, sampler=sampler, batch_size=None, num_workers=num_workers, **kwargs)  # type: ignore[arg-type]


_DIRECT_LOADER: dict[type, type] = {}


def _direct_loader_class(base: type) -> type:
    """A ``DataLoader`` subclass whose in-process iterator calls the dataset with each index array directly.

    Each batch is already one gather turned into tensors, so torch's single-process iterator adds only
    overhead: its ``record_function`` profiler scope, fetcher and ``default_convert`` cost about 0.1 ms a
    batch, 25-35 % of a 256 x 64 x 32 float32 batch's gather (``benchmarks/loader.py``). The subclass is
    still a ``DataLoader`` (Lightning and user code check that); worker processes, a ``collate_fn`` or
    ``pin_memory`` keep torch's own iterator.
    """
    if base not in _DIRECT_LOADER:

        class _DirectIterator:
            def __init__(self, loader: Any) -> None:
                self._dataset = loader.dataset
                self._indices = iter(loader.sampler)
                self._len = len(loader.sampler)
                # the thread policy is asked once per epoch, as Windows.batches() asks it once per pass
                self._threads = self._dataset._pass_threads(getattr(loader.sampler, "batch_size", None))

            def __iter__(self) -> Any:
                return self

            def __len__(self) -> int:
                return self._len

            def __next__(self) -> Any:
                return self._dataset._batch(next(self._indices), self._threads)

        class DirectLoader(base):  # type: ignore[misc,valid-type]
            def _get_iterator(self) -> Any:
                return _DirectIterator(self)

        DirectLoader.__name__ = DirectLoader.__qualname__ = "DataLoader"
        _DIRECT_LOADER[base] = DirectLoader
    return _DIRECT_LOADER[base]


class _IndexBatchSampler:
    """Yields each batch's window indices as one integer array (a slice of one permutation).

    torch's ``RandomSampler`` + ``BatchSampler`` hold a Python list of every index and build a
    list per batch; here an epoch is one in-place shuffle of an int32 ``arange`` (int64 from
    2**31 windows) by a numpy generator -- the same array and the same draw as
    :meth:`Windows.batches`, so a seed gives ``batches()``' order on the first epoch and the
    loader costs no more memory than ``batches()``. Without a generator the batches are
    consecutive ranges. The arrays go to :meth:`TorchWindows.__getitem__` whole (in a worker
    process too: an index array pickles as a few bytes per window).
    """

    def __init__(self, n: int, batch_size: int, drop_last: bool, rng: np.random.Generator | None) -> None:
        self.n = n
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.rng = rng

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Any:
        n, bs = self.n, self.batch_size
        stop = n - n % bs if self.drop_last else n
        order = epoch_order(n, self.rng)
        for i in range(0, stop, bs):
            yield order[i : i + bs]


def keras_dataset(
    windows: Windows, batch_size: int = 32, shuffle: bool | None = None, seed: int | None = None, **kwargs: Any
) -> Any:
    """A Keras 3 ``PyDataset`` over :class:`Windows`, on whatever backend Keras uses.

    seqprep never sets ``KERAS_BACKEND``: Keras reads it (default ``"tensorflow"``) and the adapter
    works with TensorFlow, JAX or torch installed alone.

    Parameters
    ----------
    windows : Windows
    batch_size : int, default 32
    shuffle : bool, optional
        Reshuffle the window order at the end of every epoch (seeded). By default only the
        training part of a split (``windows.name == "train"``) is shuffled: the validation and
        test parts keep their time order, so ``model.predict(parts.test.to_keras())`` lines up
        with the test targets.
    seed : int, optional
        Seed of the shuffle.
    **kwargs
        ``workers``, ``use_multiprocessing``, ``max_queue_size`` for ``PyDataset``.

    Notes
    -----
    Windows with a training augmentation (:meth:`Windows.with_augmentation`, set by a
    :class:`~seqprep.Pipeline` with ``augment=`` on its training part) are augmented here as in
    :meth:`Windows.batches`: a fresh stream per epoch, the same batches as ``batches(shuffle=False)``
    on the first epoch without shuffling.
    """
    import keras

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if shuffle is None:
        shuffle = windows.name == "train"
    check_bool(shuffle, "shuffle")
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0)

    class WindowsPyDataset(keras.utils.PyDataset):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__(**kwargs)
            self.windows = windows
            self.shuffle = shuffle
            self._rng = np.random.default_rng(seed)
            self._order = self._new_order()
            self._aug_rng = windows.augmentation_rng()

        def _new_order(self) -> np.ndarray:
            return epoch_order(len(self.windows), self._rng if self.shuffle else None)

        def __len__(self) -> int:
            return -(-len(self.windows) // batch_size)

        def __getitem__(self, i: int) -> Any:
            if not 0 <= i < len(self):
                raise IndexError(f"batch {i} out of range for {len(self)} batches")
            idx = self._order[i * batch_size : (i + 1) * batch_size]
            return self.windows._take(idx, self._aug_rng)

        def on_epoch_end(self) -> None:
            if shuffle:
                self._order = self._new_order()
            self._aug_rng = self.windows.augmentation_rng()

    return WindowsPyDataset()
