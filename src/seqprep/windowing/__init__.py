"""The windowing engine: lazy, exact sliding windows over one or many series.

A :class:`Windows` object holds the data once (a view of the caller's array whenever possible)
plus one integer per window -- the row where the window starts. Every batch is gathered on demand
from a strided view of the data, so no ``lookback x`` copy of the data ever exists unless the
user asks for it with :meth:`Windows.to_numpy` (which first checks that it fits in memory).

The semantics, for a series ``x[0..n-1]``, a window starting at row ``s``, ``lookback`` L,
``sampling_rate`` r and horizon h:

- input rows: ``x[s + k*r]`` for ``k = 0..L-1``; the last input row is ``e = s + (L-1)*r``;
- target: row ``e + h`` of the target column(s); ``h = 0`` labels a window by its own last row;
- starts: ``0, stride, 2*stride, ...`` (relative to each series) while every needed row exists;
  windows never cross a series boundary nor, unless ``allow_gaps=True``, a gap in time.

The engine is split by concept; this module is its public face (:func:`windows`, :class:`Windows`,
:class:`WindowSpec`, :func:`window_starts`): the spec and its checks live in
:mod:`seqprep.windowing._spec`, the data and column handling of :func:`windows` in
:mod:`seqprep.windowing._inputs`, the start-row arithmetic in :mod:`seqprep.windowing._starts`, and the
zero-copy views and machine checks of the gather in :mod:`seqprep.windowing._views`.

**Roles and dict batches.** ``known`` (known in advance), ``static`` (one value per series),
``weight``, categorical (text) columns and ``nan_policy="mask"`` turn ``X`` into a dict with only
the keys that apply: ``"past"`` ``(B, T, C)`` (layout ``"NTC"`` or ``"NCT"``), ``"past_mask"``
(bool, same shape; True = was missing), ``"past_cat"`` int64 ``(B, T, K)`` (0 = unknown),
``"known"`` ``(B, T + H, C)`` (the input rows, then every row ``e + 1 .. e + H``, ``H`` the largest
horizon), ``"known_mask"``, ``"known_cat"``, ``"static"`` ``(B, C)``, ``"static_cat"`` ``(B, K)``
and ``"weight"`` float32 ``(B,)``. Without them batches are the plain arrays above. The role
arrays and their gather are in :mod:`seqprep.windowing.covariates`, the categorical codes in
:class:`Vocabulary`.
"""

from __future__ import annotations

from ._categories import Vocabulary
from ._spec import LAYOUTS, WindowSpec, check_horizon_zero, make_window_spec
from ._starts import window_starts
from ._windows import Batch, Windows, windows
from .adapters import TorchWindows, keras_dataset

__all__ = [
    "Batch",
    "LAYOUTS",
    "TorchWindows",
    "Vocabulary",
    "WindowSpec",
    "Windows",
    "check_horizon_zero",
    "keras_dataset",
    "make_window_spec",
    "window_starts",
    "windows",
]
