"""The parameters of a cut: :class:`WindowSpec` and the checks that build it, for :mod:`seqprep.windowing`.

:func:`make_window_spec` turns the raw arguments of :func:`seqprep.windows` (and of
:meth:`seqprep.Windows.with_spec`, :class:`seqprep.Pipeline`) into a frozen, JSON-safe
:class:`WindowSpec`, raising the Received-style errors of :mod:`seqprep._validation`. Nothing here
looks at the data: the checks that need it are in :mod:`seqprep.windowing._inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    INT64_MAX,
    check_bool,
    check_choice,
    check_distinct,
    check_int,
    check_int_sequence,
    divisors,
    param_error,
)
from ..exceptions import ShapeError

__all__ = ["check_horizon_zero", "make_window_spec"]

LAYOUTS = ("NTC", "NCT", "NSTC", "NTHWC", "NTCHW")


@dataclass(frozen=True)
class WindowSpec:
    """Everything that defines how windows are cut (JSON-safe, saved with pipelines).

    Attributes
    ----------
    lookback : int
        Input time steps per window.
    horizons : tuple of int
        Target offsets after the last input row.
    scalar_horizon : bool
        True when a single int horizon was given (``y`` has no horizon axis).
    stride, sampling_rate : int
        Step between window starts; step between the rows of one window.
    layout : str
        Output layout of ``X``.
    subsequences : int or None
        Number of sub-windows for layout ``"NSTC"``.
    dtype : str
        dtype of the batches.
    allow_gaps : bool
        Whether windows may span a gap in time.
    """

    lookback: int
    horizons: tuple[int, ...] = (1,)
    scalar_horizon: bool = True
    stride: int = 1
    sampling_rate: int = 1
    layout: str = "NTC"
    subsequences: int | None = None
    dtype: str = "float32"
    allow_gaps: bool = False

    @property
    def last_input_offset(self) -> int:
        """Offset of the last input row from the window start, ``(lookback - 1) * sampling_rate``."""
        return (self.lookback - 1) * self.sampling_rate

    @property
    def span(self) -> int:
        """Rows a window needs from its start to its last target row, inclusive."""
        return self.last_input_offset + max(self.horizons) + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return {
            "lookback": self.lookback,
            "horizons": list(self.horizons),
            "scalar_horizon": self.scalar_horizon,
            "stride": self.stride,
            "sampling_rate": self.sampling_rate,
            "layout": self.layout,
            "subsequences": self.subsequences,
            "dtype": self.dtype,
            "allow_gaps": self.allow_gaps,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**d, "horizons": tuple(d["horizons"])})



def make_window_spec(
    lookback: Any,
    horizon: Any,
    stride: Any,
    sampling_rate: Any,
    layout: Any,
    subsequences: Any,
    dtype: Any,
    allow_gaps: Any,
) -> WindowSpec:
    """Check the raw arguments of :func:`seqprep.windows` and build their :class:`WindowSpec`."""
    lookback = check_int(lookback, "lookback", minimum=1)
    if isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool) and horizon < 0:
        raise param_error(
            "horizon", "an integer >= 0 (0 = the window's own last row)", horizon,
            "A negative horizon would put the target inside the input window; use horizon >= 0.",
        )
    horizons, scalar = check_int_sequence(horizon, "horizon", minimum=0)
    check_distinct(horizons, "horizon", "offsets")
    stride = check_int(stride, "stride", minimum=1)
    sampling_rate = check_int(sampling_rate, "sampling_rate", minimum=1)
    span = (lookback - 1) * sampling_rate + max(horizons) + 1
    if span > INT64_MAX:
        raise param_error(
            "lookback", "small enough that a window's span fits in 64 bits", lookback,
            f"A window spans (lookback - 1) * sampling_rate + horizon + 1 = {span} rows with "
            f"sampling_rate={sampling_rate}: use a smaller lookback or sampling_rate.",
        )
    check_choice(layout, "layout", LAYOUTS)
    subsequences = _check_subsequences(layout, subsequences, lookback)
    dtype_name = _check_dtype(dtype)
    gaps_ok = check_bool(allow_gaps, "allow_gaps")
    return WindowSpec(lookback, horizons, scalar, stride, sampling_rate, layout, subsequences, dtype_name, gaps_ok)


def _check_subsequences(layout: str, subsequences: Any, lookback: int) -> int | None:
    """``subsequences`` as an int dividing ``lookback`` for layout ``"NSTC"``; None for any other layout."""
    if layout == "NSTC":
        if subsequences is None:
            raise param_error(
                "subsequences", "an integer when layout='NSTC'", subsequences,
                f"Pass subsequences=S with lookback % S == 0, e.g. one of {divisors(lookback)}.",
            )
        subsequences = check_int(subsequences, "subsequences", minimum=1)
        if lookback % subsequences:
            raise ShapeError(
                f"`lookback` must be divisible by `subsequences` for layout 'NSTC'. Received: lookback={lookback}, "
                f"subsequences={subsequences}. Valid subsequences for lookback={lookback}: {divisors(lookback)}."
            )
    elif subsequences is not None:
        raise param_error("subsequences", "None unless layout='NSTC'", subsequences)
    return subsequences


def _check_dtype(dtype: Any) -> str:
    """The name of a numeric numpy dtype (``"float32"``, ...) given as a name, type or dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise param_error("dtype", "a numpy dtype name such as 'float32'", dtype) from None
    if dt.kind not in "fiu":
        raise param_error("dtype", "a numeric dtype such as 'float32'", dtype)
    return dt.name


def check_horizon_zero(horizons: tuple[int, ...], targets_in_inputs: list[str], allow: Any) -> None:
    """Refuse ``horizon=0`` for a target that is also an input, unless *allow* (``allow_horizon_zero``).

    With horizon 0 the target of a window is its own last row; when the target column is also an
    input, ``y`` is a copy of ``X[:, -1, target]``: the model is handed the answer (the leak the
    audit reports). Labelling a window by its last row is legitimate when the label is not an
    input, so only that case is refused.
    """
    if check_bool(allow, "allow_horizon_zero") or 0 not in horizons or not targets_in_inputs:
        return
    raise param_error(
        "horizon", "at least 1 when the target is also an input", list(horizons) if len(horizons) > 1 else 0,
        f"With horizon 0, y is the last input row of each window (target {targets_in_inputs[0]!r} is an input): "
        "a leak. Use horizon >= 1, leave the target out of `features`, or pass allow_horizon_zero=True "
        "(--allow-horizon-zero) if you mean it.",
    )

