"""The arrays given to :func:`seqprep.audit`, checked and turned into what its rules read.

Each part's inputs become float64 arrays in ``(N, T, C)`` (or ``(N, C)``) order with
the same shape per sample; targets and timestamps are matched to their part. For
windows, :func:`_underlying_rows` then finds the rows behind the windows, each counted
once, so the scaling rules see the series rather than rows repeated up to ``T`` times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validation import param_error
from ..exceptions import DataError, InvalidParameterError, ShapeError
from . import _checks as _c

__all__: list[str] = []  # internal module


def _as_array(value: Any, name: str) -> np.ndarray:
    """Read *value* (array-like or DataFrame) as float64, refusing text so no rule compares strings."""
    from ..io import as_array, from_polars, polars_kind

    if polars_kind(value) is not None:
        value = from_polars(value)
    if isinstance(value, pd.DataFrame):
        value = value.to_numpy()
    arr = as_array(value, name)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(f"`{name}` must hold numbers. Received dtype={arr.dtype}. Encode or drop non-numeric columns.")
    return arr.astype(np.float64, copy=False)


def _parts_x(xs: dict[str, Any], layout: str) -> dict[str, np.ndarray]:
    """Check each part's inputs and bring 3-D ones to ``(N, T, C)``; every part must match ``X_train``."""
    out: dict[str, np.ndarray] = {}
    for name, value in xs.items():
        arr = _as_array(value, f"X_{name}")
        if arr.ndim not in (2, 3):
            raise ShapeError(
                f"`X_{name}` must be 2-D (n_samples, n_features) or 3-D windows (n_windows, n_timesteps, "
                f"n_features). Received: shape={arr.shape}. Reshape it, or pass layout='NCT' for channels-first."
            )
        if arr.ndim == 3 and layout == "NCT":
            arr = np.ascontiguousarray(arr.transpose(0, 2, 1))
        if arr.shape[0] == 0:
            raise ShapeError(f"`X_{name}` has no samples. Received: shape={arr.shape}. Pass a non-empty part.")
        out[name] = arr
    ref = out["train"].shape[1:]
    for name, arr in out.items():
        if arr.shape[1:] != ref:
            raise ShapeError(
                f"`X_{name}` must have the same shape per sample as `X_train` {ref} (layout NTC). "
                f"Received: shape={arr.shape}. Build all parts with the same lookback and features."
            )
    return out


def _parts_aux(values: dict[str, Any], xs: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """Check the targets (``prefix="y"``) or timestamps (``"time"``) given, one entry per sample of their part.

    Timestamps given as text are parsed, so that the chronology rule compares times, not strings.
    """
    out: dict[str, np.ndarray] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in xs:
            raise InvalidParameterError(f"`{prefix}_{name}` was given without `X_{name}`. Pass X_{name} as well.")
        if prefix == "time":
            arr = np.asarray(value)
            if arr.dtype == object or arr.dtype.kind in "US":
                try:
                    arr = pd.to_datetime(arr.ravel()).to_numpy().reshape(arr.shape)
                except (ValueError, TypeError) as exc:
                    raise DataError(f"`time_{name}` could not be read as timestamps: {exc}") from exc
        else:
            arr = _as_array(value, f"{prefix}_{name}")
        if arr.ndim == 0 or arr.shape[0] != xs[name].shape[0]:
            raise ShapeError(
                f"`{prefix}_{name}` must have one entry per sample of `X_{name}` ({xs[name].shape[0]}). "
                f"Received: shape={arr.shape}. Build {prefix} and X from the same windows."
            )
        out[name] = arr
    return out


def _feature_names(feature_names: Sequence[str] | None, n: int) -> list[str]:
    """The names the findings use: the ones given (one per feature), else ``f0``, ``f1``, ..."""
    if feature_names is None:
        return [f"f{i}" for i in range(n)]
    if isinstance(feature_names, str) or len(feature_names) != n:
        raise param_error(
            "feature_names", f"a sequence of {n} names (one per feature)", feature_names, "Pass one name per feature."
        )
    return [str(x) for x in feature_names]


def _rows(x: np.ndarray) -> np.ndarray:
    """All rows of a part as one 2-D ``(rows, n_features)`` view: windows are stacked."""
    return x.reshape(-1, x.shape[-1])


def _unique_rows(x: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
    """The finite underlying rows of a part: window rows deduplicated by their key."""
    if ids is None:
        rows = x
    else:
        _, first = np.unique(ids.ravel(), return_index=True)
        rows = _rows(x)[first]
    return rows[np.isfinite(rows).all(axis=1)]


@dataclass(frozen=True)
class _Rows:
    """What the rules read besides the arrays: window row ids, the rebuilt order, and the underlying rows."""

    ids: dict[str, np.ndarray]  # per part, the value id of each window row; empty for tabular inputs
    order: _c.Order | None  # the rebuilt time order of all windows; None for tabular inputs
    unique: dict[str, np.ndarray]  # per part, its finite underlying rows, each once
    union: np.ndarray  # the finite underlying rows of all parts; a row shared by two parts counts once
    own: dict[str, np.ndarray]  # per part but train, its finite underlying rows whose values no train window holds


def _underlying_rows(xs: dict[str, np.ndarray]) -> _Rows:
    """Find the rows behind each part (windows: rebuild their order, then key rows by their place).

    Overlapping windows repeat each row up to ``T`` times, unevenly at the ends, which would
    bias the scaling statistics; keying by place rather than value keeps two different days
    with equal readings as two rows.
    """
    windowed = xs["train"].ndim == 3
    ids = dict(zip(xs, _c.window_row_ids(list(xs.values())), strict=True)) if windowed else {}
    order = _c.rebuild_order(np.concatenate(list(ids.values()))) if windowed else None
    if order is not None:  # key each window row by its place in the rebuilt series
        all_keys = _c.row_keys(np.concatenate(list(ids.values())), order)
        bounds = np.cumsum([0] + [len(x) for x in xs.values()])
        keys = {k: all_keys[bounds[i] : bounds[i + 1]] for i, k in enumerate(xs)}
        unique = {k: _unique_rows(xs[k], keys[k]) for k in xs}
        union = _unique_rows(np.concatenate(list(xs.values())), all_keys)  # shared rows count once
        train_values = np.unique(ids["train"])
        own = {}
        for k in xs:
            if k != "train":  # a row whose values train windows also hold was scaled as train was
                mine = ~np.isin(ids[k], train_values).ravel()
                own[k] = _unique_rows(_rows(xs[k])[mine], keys[k].ravel()[mine])
    else:
        unique = {k: _unique_rows(xs[k], None) for k in xs}
        union = np.concatenate(list(unique.values()))
        own = {k: v for k, v in unique.items() if k != "train"}
    return _Rows(ids, order, unique, union, own)


def _past_only(xs: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Take the ``"past"`` array of each part given as a dict batch (``{"past": ..., "known": ...}``).

    Returns the parts (arrays as given, dicts replaced by their ``"past"`` array) and the
    roles the dicts held besides ``"past"``. The other arrays are left out of every rule:
    ``known`` holds the horizon rows by design, a mask says where values were filled and is
    no feature, static values and category codes do not compare as numbers.
    """
    out: dict[str, Any] = {}
    roles: set[str] = set()
    for name, value in xs.items():
        if isinstance(value, Mapping):
            if "past" not in value:
                raise ShapeError(
                    f"`X_{name}` is a dict without a 'past' array. Received keys: {sorted(map(str, value))}. "
                    "Pass the dict a seqprep Windows batch yields, or the past inputs as one array."
                )
            roles.update(str(k) for k in value if k != "past")
            value = value["past"]
        out[name] = value
    return out, tuple(sorted(roles))
