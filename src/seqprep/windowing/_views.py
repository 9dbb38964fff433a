"""Zero-copy window views of the data and the memory check of the gather, for :mod:`seqprep.windowing`.

:func:`_strided_rows` presents the rows so that window ``s`` is row ``s`` of a view, so gathering
a batch is one indexed copy; nothing here copies the data. :func:`_available_memory` and
:func:`_fmt_bytes` serve the memory check of :meth:`seqprep.Windows.to_numpy`.
"""

from __future__ import annotations

import os

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

