"""Zero-copy window views of the data and the machine checks of the gather, for :mod:`seqprep.windowing`.

:func:`_strided_rows` (numpy) and :func:`_torch_window_view` (torch) present the rows so that
window ``s`` is row ``s`` of a view, so gathering a batch is one indexed copy; nothing here
copies the data. :func:`_torch_available` decides once per process whether the torch gather may
be used; :func:`_available_memory` and :func:`_fmt_bytes` serve the memory check of
:meth:`seqprep.Windows.to_numpy`.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._spec import WindowSpec

__all__: list[str] = []  # internal to seqprep.windowing: its siblings import the names they need


def _strided_rows(x: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Read-only view of shape (n_valid_starts, lookback, *feat): window ``s`` is ``view[s]``."""
    n_valid = max(x.shape[0] - spec.last_input_offset, 0)
    shape = (n_valid, spec.lookback, *x.shape[1:])
    strides = (x.strides[0], x.strides[0] * spec.sampling_rate, *x.strides[1:])
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def _torch_window_view(x: np.ndarray, spec: WindowSpec) -> Any:
    """A torch view in which row ``s`` is the window starting at ``s`` (no copy).

    Contiguous rows with ``sampling_rate=1`` make every window one contiguous block: a 2-D
    ``(n_valid, lookback * row)`` view, which ``index_select`` copies as whole blocks (the fast
    case). Otherwise a 3-D+ strided view of the same storage.
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # read-only memmaps: we never write through the tensor
        base = torch.from_numpy(x)
    n_valid = x.shape[0] - spec.last_input_offset
    item = x.itemsize
    if x.flags.c_contiguous and spec.sampling_rate == 1:
        row = int(np.prod(x.shape[1:]))
        return base.reshape(x.shape[0], row).as_strided((n_valid, spec.lookback * row), (row, 1))
    strides = tuple(st // item for st in x.strides)
    return base.as_strided(
        (n_valid, spec.lookback, *x.shape[1:]), (strides[0], strides[0] * spec.sampling_rate, *strides[1:])
    )


# Whether the torch gather may be used, decided on first use and cached here. Benchmarks switch it
# in-process by writing seqprep.windowing._TORCH_STATE["ok"] (the same dict, re-exported there).
_TORCH_STATE: dict[str, bool] = {}


def _torch_available() -> bool:
    """Whether torch can be imported and ``SEQPREP_NO_TORCH_GATHER`` is unset (cached)."""
    if "ok" not in _TORCH_STATE:
        if os.environ.get("SEQPREP_NO_TORCH_GATHER"):
            _TORCH_STATE["ok"] = False
        elif "torch" in sys.modules:
            _TORCH_STATE["ok"] = True
        else:
            try:
                import torch  # noqa: F401
            except ImportError:
                _TORCH_STATE["ok"] = False
            else:
                _TORCH_STATE["ok"] = True
    return _TORCH_STATE["ok"]


def _available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``, else free pages, else 4 GiB)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _fmt_bytes(n: float) -> str:
    """``n`` bytes in decimal units for messages, e.g. ``"1.5 GB"``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} TB"

