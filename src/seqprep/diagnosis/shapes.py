"""Array layouts and shape planning for CNN-LSTM models, without running a model.

Two kinds of helpers live here, both pure numpy (this module never imports torch):

* **Layout helpers** -- :func:`add_feature_axis` and :func:`to_layout` move
  between the layouts that sequence models expect:

  ========= ============================ ========================================
  name      axes                         used by
  ========= ============================ ========================================
  ``NTC``   (N, T, C)                    seqprep's default, Keras, LSTM(batch_first)
  ``NCT``   (N, C, T)                    PyTorch ``Conv1d``
  ``NSTC``  (N, S, T // S, C)            CNN applied to S sub-windows, then LSTM
  ``NTHWC`` (N, T, H, W, C)              image sequences, channels last (Keras)
  ``NTCHW`` (N, T, C, H, W)              image sequences, channels first (PyTorch)
  ========= ============================ ========================================

  They accept numpy arrays and, by duck typing, torch tensors (anything with
  ``.permute``), and return views where the memory layout allows it.

* **Shape planning** -- :func:`plan_cnn_lstm` computes, with the standard
  convolution and pooling length formulas, the output shape and the parameter
  count of every layer of a Conv1d -> LSTM -> Linear stack, and the smallest
  lookback for which the time axis never shrinks to zero.  The numbers are the
  ones PyTorch gives.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_int_sequence, divisors, param_error
from ..exceptions import ShapeError

__all__ = [
    "CNNLSTMPlan",
    "LAYOUTS",
    "PlanRow",
    "add_feature_axis",
    "plan_cnn_lstm",
    "to_layout",
]

#: Layout name -> axis names, in order.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "NTC": ("N", "T", "C"),
    "NCT": ("N", "C", "T"),
    "NSTC": ("N", "S", "T", "C"),
    "NTHWC": ("N", "T", "H", "W", "C"),
    "NTCHW": ("N", "T", "C", "H", "W"),
}

_WINDOW_LAYOUTS = ("NTC", "NCT", "NSTC")
_FRAME_LAYOUTS = ("NTHWC", "NTCHW")


# --------------------------------------------------------------------------- layouts


def _is_tensor_like(X: Any) -> bool:
    """True for torch tensors (or anything else with ``permute`` and ``reshape``)."""
    return not isinstance(X, np.ndarray) and hasattr(X, "permute") and hasattr(X, "reshape")


def _as_array(X: Any, name: str = "X") -> Any:
    """Return *X* unchanged if it is an ndarray or tensor, else ``np.asarray(X)``."""
    if isinstance(X, np.ndarray) or _is_tensor_like(X):
        return X
    try:
        return np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise param_error(name, "an array-like (numpy array or torch tensor)", X) from exc


def _shape(X: Any) -> tuple[int, ...]:
    return tuple(int(s) for s in X.shape)


def _permute(X: Any, axes: tuple[int, ...]) -> Any:
    if _is_tensor_like(X):
        return X.permute(*axes)
    return np.transpose(X, axes)


def _contiguous(X: Any) -> Any:
    if _is_tensor_like(X):
        return X.contiguous()
    return np.ascontiguousarray(X)


def _describe(layout: str) -> str:
    """``'NTC'`` -> ``'(N, T, C)'``."""
    return "(" + ", ".join(LAYOUTS[layout]) + ")"


def _check_ndim(X: Any, layout: str, name: str = "X") -> None:
    """Raise a :class:`ShapeError` when ``X.ndim`` does not match *layout*."""
    shape = _shape(X)
    expected = len(LAYOUTS[layout])
    if len(shape) == expected:
        return
    text = (
        f"expected a {expected}-D array {_describe(layout)} for layout {layout!r}, "
        f"got shape {shape} ({len(shape)}-D)."
    )
    if len(shape) == 2 and layout in ("NTC", "NCT"):
        fix = (
            f" If each row of {name} is one univariate window, add the feature axis with "
            f"seqprep.shapes.add_feature_axis({name}) (-> {shape + (1,)})."
        )
    elif len(shape) == 1:
        fix = (
            f" A 1-D array is one long series: cut it into windows first with seqprep.windows(...), "
            f"or use {name}[None, :, None] for a single window of shape (1, {shape[0]}, 1)."
        )
    elif len(shape) == 4 and layout in ("NTC", "NCT"):
        fix = f" A 4-D array looks like sub-windows (N, S, steps, C): pass src='NSTC', or reshape it to {layout}."
    elif len(shape) == 3 and layout == "NSTC":
        fix = (
            " To split (N, T, C) windows into S sub-windows use "
            f"seqprep.shapes.to_layout({name}, 'NTC', 'NSTC', subsequences=S)."
        )
    else:
        matching = [k for k, v in LAYOUTS.items() if len(v) == len(shape)]
        fix = f" Layouts with {len(shape)} axes: {', '.join(matching)}." if matching else ""
    raise ShapeError(text + fix)




def add_feature_axis(X: Any) -> Any:
    """Turn a batch of univariate windows ``(N, L)`` into ``(N, L, 1)``.

    This is the "all my ECG is a single vector per row" case (UCR-style data
    sets store one univariate series per row): sequence models want an explicit
    feature axis.

    Parameters
    ----------
    X : ndarray or torch.Tensor of shape (n_windows, length)
        One univariate window per row.

    Returns
    -------
    ndarray or torch.Tensor of shape (n_windows, length, 1)
        A view of *X* (no copy), of the same type.

    Raises
    ------
    ShapeError
        If *X* is not 2-D. A 1-D array is one long series that has to be cut
        into windows first (``seqprep.windows``), or used as a single window
        with ``X[None, :, None]``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((32, 140))
    >>> add_feature_axis(X).shape
    (32, 140, 1)
    """
    X = _as_array(X)
    shape = _shape(X)
    if len(shape) == 2:
        return X[:, :, None]
    if len(shape) == 1:
        raise ShapeError(
            f"expected a 2-D array (N, L) of univariate windows, got a 1-D array of shape {shape}: "
            "that is one long series, not a batch of windows. Cut it into windows first with "
            f"seqprep.windows(...), or use X[None, :, None] for a single window of shape (1, {shape[0]}, 1)."
        )
    if len(shape) == 3:
        raise ShapeError(
            f"expected a 2-D array (N, L) of univariate windows, got shape {shape}: it already has a "
            "feature axis (N, T, C). Pass it on unchanged."
        )
    raise ShapeError(f"expected a 2-D array (N, L) of univariate windows, got shape {shape} ({len(shape)}-D).")


def to_layout(
    X: Any,
    src: str,
    dst: str,
    *,
    subsequences: int | None = None,
    contiguous: bool = False,
) -> Any:
    """Move a batch between the layouts ``NTC``, ``NCT``, ``NSTC``, ``NTHWC`` and ``NTCHW``.

    Parameters
    ----------
    X : ndarray or torch.Tensor
        A batch in layout *src*: ``(N, T, C)``, ``(N, C, T)``, ``(N, S, T // S, C)``,
        ``(N, T, H, W, C)`` or ``(N, T, C, H, W)``.  Anything else array-like is
        converted with ``np.asarray``.
    src, dst : {"NTC", "NCT", "NSTC", "NTHWC", "NTCHW"}
        Layout of *X* and the wanted layout.  Window layouts (``NTC``, ``NCT``,
        ``NSTC``) convert among themselves, frame layouts (``NTHWC``,
        ``NTCHW``) among themselves.
    subsequences : int, optional
        Number of sub-windows S; required when *dst* is ``"NSTC"`` and must
        divide T.  When *src* is ``"NSTC"`` it is read from the shape (and, if
        given, checked against it).
    contiguous : bool, default False
        Return a C-contiguous result (numpy) / ``.contiguous()`` tensor.  This
        copies when the result is a transposed view.

    Returns
    -------
    ndarray or torch.Tensor
        *X* in layout *dst*, of the same type as *X*.

    Raises
    ------
    ShapeError
        If ``X.ndim`` does not match *src*, or T is not a multiple of
        *subsequences*.
    InvalidParameterError
        For an unknown layout name, a window <-> frame conversion, or a missing
        *subsequences*.

    Notes
    -----
    When is a copy made (``contiguous=False``)?

    * ``NTC`` <-> ``NCT`` and ``NTHWC`` <-> ``NTCHW`` are transposes: always a
      view, never a copy (the result is not contiguous).
    * ``NTC`` <-> ``NSTC`` is a reshape: a view when *X* is C-contiguous
      (the usual case), a copy otherwise.
    * ``NCT`` <-> ``NSTC`` is a transpose followed by a reshape: ``NCT`` ->
      ``NSTC`` copies unless *X* is itself a transposed view of contiguous
      ``NTC`` data; ``NSTC`` -> ``NCT`` is a view of contiguous input.
    * ``src == dst`` returns *X* itself.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(2 * 6 * 3).reshape(2, 6, 3)            # (N, T, C)
    >>> to_layout(X, "NTC", "NCT").shape                     # for torch Conv1d
    (2, 3, 6)
    >>> to_layout(X, "NTC", "NSTC", subsequences=3).shape    # 3 sub-windows of 2 steps
    (2, 3, 2, 3)
    >>> np.shares_memory(X, to_layout(X, "NTC", "NCT"))      # a view, not a copy
    True
    >>> frames = np.zeros((4, 10, 32, 32, 3))                 # (N, T, H, W, C)
    >>> to_layout(frames, "NTHWC", "NTCHW").shape
    (4, 10, 3, 32, 32)
    """
    check_choice(src, "src", LAYOUTS, fix=f"Use one of {', '.join(LAYOUTS)}.")
    check_choice(dst, "dst", LAYOUTS, fix=f"Use one of {', '.join(LAYOUTS)}.")
    contiguous = check_bool(contiguous, "contiguous")
    if (src in _WINDOW_LAYOUTS) != (dst in _WINDOW_LAYOUTS):
        raise param_error(
            "dst",
            f"a layout of the same family as src={src!r} ({', '.join(_WINDOW_LAYOUTS)} for windows, "
            f"{', '.join(_FRAME_LAYOUTS)} for image sequences)",
            dst,
            "Windows of features and sequences of images cannot be converted into each other.",
        )
    X = _as_array(X)
    _check_ndim(X, src)
    shape = _shape(X)

    if src == "NSTC":
        if subsequences is not None:
            s = check_int(subsequences, "subsequences", minimum=1)
            if s != shape[1]:
                raise ShapeError(
                    f"X has {shape[1]} sub-windows (axis 1 of {shape}, layout 'NSTC') but subsequences={s}. "
                    "Leave subsequences out when src='NSTC': it is read from the shape."
                )
    elif dst == "NSTC":
        if subsequences is None:
            raise param_error(
                "subsequences",
                "a positive integer when dst='NSTC'",
                subsequences,
                "Pass the number of sub-windows S, e.g. subsequences=4.",
            )
        s = check_int(subsequences, "subsequences", minimum=1)
        t = shape[1] if src == "NTC" else shape[2]
        if t % s != 0:
            raise ShapeError(
                f"cannot split T={t} time steps into subsequences={s} equal sub-windows: {t} is not a "
                f"multiple of {s}. Valid values of subsequences for T={t}: {divisors(t)}; or make the "
                f"lookback a multiple of {s} (e.g. {max(s, t - t % s)})."
            )

    out = _convert(X, src, dst, shape, subsequences)
    return _contiguous(out) if contiguous else out


def _convert(X: Any, src: str, dst: str, shape: tuple[int, ...], subsequences: int | None) -> Any:
    if src == dst:
        return X
    if src in _FRAME_LAYOUTS:
        # NTHWC (0 1 2 3 4) -> NTCHW: (0, 1, 4, 2, 3); and back: (0, 1, 3, 4, 2)
        return _permute(X, (0, 1, 4, 2, 3) if src == "NTHWC" else (0, 1, 3, 4, 2))
    # window layouts: go through NTC
    if src == "NCT":
        X = _permute(X, (0, 2, 1))
    elif src == "NSTC":
        n, s, t, c = shape
        X = X.reshape(n, s * t, c)
    if dst == "NTC":
        return X
    if dst == "NCT":
        return _permute(X, (0, 2, 1))
    n, t, c = _shape(X)
    s = int(subsequences)  # type: ignore[arg-type]
    return X.reshape(n, s, t // s, c)


# --------------------------------------------------------------------------- planning


class PlanRow(NamedTuple):
    """One layer of a :class:`CNNLSTMPlan`; shapes are per sample, without the batch axis."""

    name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    n_params: int


@dataclasses.dataclass(frozen=True)
class CNNLSTMPlan:
    """Shapes and parameter counts of a Conv1d -> LSTM -> Linear stack.

    Built by :func:`plan_cnn_lstm`; nothing is run to compute it.

    Attributes
    ----------
    lookback : int
        Window length T the plan was made for.
    n_features : int
        Input features C.
    layers : tuple of PlanRow
        ``(name, input_shape, output_shape, n_params)`` per layer, shapes per
        sample as ``(time, channels)`` (``(units,)`` after the LSTM).
    min_lookback : int
        Smallest lookback for which every time length stays >= 1.
    n_params : int
        Total number of trainable parameters (as ``sum(p.numel())`` in PyTorch).
    output_shape : tuple of int
        Per-sample output shape, ``(n_outputs,)``.
    problem : str or None
        Why the stack does not fit *lookback*, or None.
    """

    lookback: int
    n_features: int
    layers: tuple[PlanRow, ...]
    min_lookback: int
    n_params: int
    output_shape: tuple[int, ...]
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when every layer keeps a time axis of length >= 1."""
        return self.problem is None

    def check(self) -> CNNLSTMPlan:
        """Raise :class:`~seqprep.exceptions.ShapeError` with :attr:`problem` if the plan is not ok.

        Returns
        -------
        CNNLSTMPlan
            ``self``, so that ``plan_cnn_lstm(...).check()`` can be chained.
        """
        if self.problem is not None:
            raise ShapeError(self.problem)
        return self

    def __str__(self) -> str:
        header = ("layer", "input (T, C)", "output (T, C)", "params")
        body = [(r.name, str(r.input_shape), str(r.output_shape), f"{r.n_params:,}") for r in self.layers]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]

        def fmt(row: tuple[str, ...]) -> str:
            return "  ".join(
                cell.rjust(widths[i]) if i == 3 else cell.ljust(widths[i]) for i, cell in enumerate(row)
            ).rstrip()

        rule = "-" * len(fmt(header))
        lines = [fmt(header), rule, *(fmt(row) for row in body), rule]
        lines.append(f"total params: {self.n_params:,}")
        lines.append(f"lookback: {self.lookback} (minimum {self.min_lookback})")
        if self.problem is not None:
            lines.append(f"PROBLEM: {self.problem}")
        return "\n".join(lines)


def per_block(value: Any, name: str, n_blocks: int, minimum: int) -> tuple[int, ...]:
    values, scalar = check_int_sequence(value, name, minimum=minimum)
    if scalar:
        return values * n_blocks
    if len(values) != n_blocks:
        raise param_error(
            name,
            f"an integer or a sequence of {n_blocks} integers (one per conv block)",
            value,
            f"`conv` has {n_blocks} blocks; give one {name} or {n_blocks}.",
        )
    return values


def _conv_len(length: int, k: int, padding: str | int, stride: int, dilation: int) -> int:
    if padding == "same":
        return length
    pad = 0 if padding == "valid" else int(padding)
    return (length + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def _pool_len(length: int, p: int, ceil_mode: bool) -> int:
    if p == 1:
        return length
    if ceil_mode:
        # PyTorch's ceil_mode formula without padding: ceil((L - p) / p) + 1, i.e. ceil(L / p) for L >= 1
        return -(-length // p) if length >= 1 else 0
    return length // p


def _time_lengths(
    lookback: int,
    kernels: tuple[int, ...],
    pools: tuple[int, ...],
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    padding: str | int,
    ceil_mode: bool,
) -> list[tuple[int, int]]:
    """Per block: (length after conv, length after pool); lengths < 1 are clamped to 0."""
    out = []
    length = lookback
    for k, p, s, d in zip(kernels, pools, strides, dilations, strict=True):
        after_conv = max(_conv_len(length, k, padding, s, d), 0) if length >= 1 else 0
        after_pool = max(_pool_len(after_conv, p, ceil_mode), 0) if after_conv >= 1 else 0
        out.append((after_conv, after_pool))
        length = after_pool
    return out


def plan_cnn_lstm(
    lookback: int,
    n_features: int,
    conv: int | Sequence[int] = (32, 32),
    kernel_size: int | Sequence[int] = 3,
    pool: int | Sequence[int] = 2,
    padding: str | int = "valid",
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
    lstm: int = 64,
    lstm_layers: int = 1,
    bidirectional: bool = False,
    n_outputs: int = 1,
    *,
    batch_norm: bool = False,
    ceil_mode: bool = False,
) -> CNNLSTMPlan:
    """Compute the layer shapes and parameter counts of a CNN-LSTM without building it.

    The stack is, per conv block ``i``: ``Conv1d(kernel_size[i], stride[i],
    dilation[i], padding)`` -> (``BatchNorm1d``) -> ReLU -> ``MaxPool1d(pool[i])``
    (no pooling when ``pool[i] == 1``); then an ``LSTM`` over the pooled
    sequence, its last hidden state, and a ``Linear`` head.  The counts are
    PyTorch's: ``k * c_in * c_out + c_out`` per conv, ``2 * c`` per batch norm,
    ``4 * (c_in * h + h * h + 2 * h)`` per LSTM layer and direction, and
    ``units * n_outputs + n_outputs`` for the head.

    Parameters
    ----------
    lookback : int
        Window length T.
    n_features : int
        Input features C.
    conv : int or sequence of int, default (32, 32)
        Output channels of each conv block (one int: one block).
    kernel_size, pool, stride, dilation : int or sequence of int
        Per block, or one value for all blocks.  ``pool=1`` means no pooling.
    padding : {"valid", "same"} or int, default "valid"
        Conv padding: none, PyTorch's ``"same"`` (output length = input
        length; needs stride 1), or that many zeros on each side.
    lstm : int, default 64
        LSTM hidden units.
    lstm_layers : int, default 1
        Stacked LSTM layers.
    bidirectional : bool, default False
        Bidirectional LSTM (the last hidden state then has ``2 * lstm`` units).
    n_outputs : int, default 1
        Units of the ``Linear`` head.
    batch_norm : bool, default False
        Count a ``BatchNorm1d`` after each conv.
    ceil_mode : bool, default False
        Pool with ``ceil_mode=True`` (length ``ceil(L / pool)``, like Keras'
        ``padding="same"`` pooling) instead of ``floor(L / pool)``.

    Returns
    -------
    CNNLSTMPlan
        Always returned, also when *lookback* is too short: then ``plan.ok``
        is False, ``plan.problem`` says where the time axis vanished and the
        minimum lookback, and ``plan.check()`` raises it as a ShapeError.

    Raises
    ------
    InvalidParameterError
        For a non-positive size, per-block sequences of different lengths, or
        ``padding="same"`` with a stride > 1 (PyTorch does not support it).

    Examples
    --------
    >>> plan = plan_cnn_lstm(lookback=48, n_features=4)
    >>> plan.layers[-1]
    PlanRow(name='linear', input_shape=(64,), output_shape=(1,), n_params=65)
    >>> plan.min_lookback, plan.n_params
    (10, 28673)
    >>> short = plan_cnn_lstm(lookback=6, n_features=4)
    >>> short.ok
    False
    >>> print(short.problem)
    after block 2 the time axis has length 0: lookback 6 is too short for this stack; it needs lookback >= 10...
    """
    lookback = check_int(lookback, "lookback", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    channels, _ = check_int_sequence(conv, "conv", minimum=1)
    n_blocks = len(channels)
    kernels = per_block(kernel_size, "kernel_size", n_blocks, 1)
    pools = per_block(pool, "pool", n_blocks, 1)
    strides = per_block(stride, "stride", n_blocks, 1)
    dilations = per_block(dilation, "dilation", n_blocks, 1)
    if isinstance(padding, str):
        check_choice(padding, "padding", ("valid", "same"), fix="Use 'valid', 'same' or a number of zeros.")
        if padding == "same" and any(s != 1 for s in strides):
            raise param_error(
                "stride",
                "1 when padding='same'",
                stride,
                "PyTorch does not support padding='same' with strided convolutions; use padding='valid' or an int.",
            )
    elif isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        padding = check_int(padding, "padding", minimum=0)
    else:
        raise param_error("padding", "'valid', 'same' or an integer >= 0", padding)
    lstm = check_int(lstm, "lstm", minimum=1)
    lstm_layers = check_int(lstm_layers, "lstm_layers", minimum=1)
    bidirectional = check_bool(bidirectional, "bidirectional")
    n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
    batch_norm = check_bool(batch_norm, "batch_norm")
    ceil_mode = check_bool(ceil_mode, "ceil_mode")

    def lengths(t: int) -> list[tuple[int, int]]:
        return _time_lengths(t, kernels, pools, strides, dilations, padding, ceil_mode)

    def fits(t: int) -> bool:
        return all(a >= 1 and b >= 1 for a, b in lengths(t))

    # lengths are non-decreasing in the lookback: exponential search, then bisection
    hi = 1
    while not fits(hi):
        hi *= 2
    lo = hi // 2 + 1 if hi > 1 else 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    min_lookback = hi

    rows: list[PlanRow] = []
    problem = None
    length, c_in = lookback, n_features
    for i, ((after_conv, after_pool), c_out, k, p) in enumerate(
        zip(lengths(lookback), channels, kernels, pools, strict=True), 1
    ):
        rows.append(PlanRow(f"conv1d_{i}", (length, c_in), (after_conv, c_out), k * c_in * c_out + c_out))
        if batch_norm:
            rows.append(PlanRow(f"batchnorm_{i}", (after_conv, c_out), (after_conv, c_out), 2 * c_out))
        if p > 1:
            rows.append(PlanRow(f"maxpool1d_{i}", (after_conv, c_out), (after_pool, c_out), 0))
        if problem is None and (after_conv < 1 or after_pool < 1):
            problem = (
                f"after block {i} the time axis has length 0: lookback {lookback} is too short for this "
                f"stack; it needs lookback >= {min_lookback}. Use a longer lookback, or fewer/smaller "
                "pools and kernels (padding='same' keeps the conv length)."
            )
        length, c_in = after_pool, c_out

    directions = 2 if bidirectional else 1
    units = lstm * directions
    for j in range(1, lstm_layers + 1):
        layer_in = c_in if j == 1 else units
        n = directions * 4 * (layer_in * lstm + lstm * lstm + 2 * lstm)
        rows.append(PlanRow(f"lstm_{j}", (length, layer_in), (length, units), n))
    rows.append(PlanRow("last_step", (length, units), (units,), 0))
    rows.append(PlanRow("linear", (units,), (n_outputs,), units * n_outputs + n_outputs))
    return CNNLSTMPlan(
        lookback=lookback,
        n_features=n_features,
        layers=tuple(rows),
        min_lookback=min_lookback,
        n_params=sum(r.n_params for r in rows),
        output_shape=(n_outputs,),
        problem=problem,
    )
