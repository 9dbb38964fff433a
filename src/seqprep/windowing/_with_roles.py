"""The role path of :func:`seqprep.windows` (known, static, weight, categorical, masks), for :mod:`seqprep.windowing`.

One long table is read once: the past numeric columns first (so ``X`` stays a view), then the
categorical columns as provisional codes, the known columns, the targets and the weight, all
through :func:`seqprep.io.as_series` (so sorting by series, gaps and the NaN policy apply to every
row column alike). Static columns never enter that row table: they become one row per series.
Plain ``windows`` fits vocabularies on every row it is given (a :class:`seqprep.Pipeline` fits
them on its training rows only).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..exceptions import DataError
from ..io import as_series
from ._inputs import _check_fits_dtype, _no_window_message
from ._spec import WindowSpec, check_horizon_zero
from ._starts import window_starts
from ._windows import Windows
from .covariates import (
    RoleData,
    RoleSpec,
    check_dict_layout,
    check_targets_finite,
    code_rows,
    column_means,
    encode_categories,
    fill_missing,
    plan_columns,
    series_weights,
    static_tables,
    to_frame,
    validate_weights,
)

__all__: list[str] = []  # internal to seqprep.windowing: windows() calls role_windows


def role_windows(
    data: Any, spec: WindowSpec, features: list[Any] | None, targets: list[Any] | None, scalar_target: bool,
    roles: RoleSpec, *, time: Any, group: Any, nan_policy: str, allow_horizon_zero: bool,
) -> Windows:
    """:func:`seqprep.windows` for data with roles: dict batches (see :mod:`seqprep.windowing`)."""
    check_dict_layout(spec.layout)
    wanted = None if features is None else [*features, *(targets or []), *roles.known, *roles.static, roles.weight,
                                            time if isinstance(time, str) else None,
                                            group if isinstance(group, str) else None]
    df = to_frame(data, columns=wanted)  # a Polars LazyFrame: only these columns are collected
    df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    tgts = [str(t) for t in targets] if targets is not None else []
    special = [time if isinstance(time, str) else None, group if isinstance(group, str) else None]
    plan = plan_columns(df, roles, features, tgts, special)
    frame, prov, _ = encode_categories(df, plan.row_categorical)  # provisional codes travel with their rows
    extra_t = [t for t in tgts if t not in plan.past]
    row_cols = list(dict.fromkeys(
        [*plan.past, *plan.row_categorical, *plan.known, *extra_t, *([plan.weight] if plan.weight else [])]
    ))
    sd = as_series(frame, columns=row_cols, time=time, group=group, nan_policy="mask" if roles.mask else nan_policy)
    vals = sd.values
    pos = {c: i for i, c in enumerate(row_cols)}
    n_past = len(plan.past)
    tgt_idx = [pos[t] for t in tgts] if targets is not None else None
    if tgt_idx is not None:
        check_horizon_zero(spec.horizons, [t for t in tgts if t in plan.past], allow_horizon_zero)
        check_targets_finite(vals[:, tgt_idx], tgts)
    _check_fits_dtype(vals, spec.dtype)

    rd = RoleData(plan, include_past=n_past > 0)
    for role in ("past_cat", "known_cat"):
        cols = getattr(plan, role)
        if cols:
            blocks = []
            for c in cols:
                out, rd.vocab[c], rd.unknown_counts[c] = code_rows(vals[:, pos[c]], prov[c])  # plain: every row
                blocks.append(out)
            setattr(rd, role, np.ascontiguousarray(np.column_stack(blocks).astype(np.int32)))
    x_data = vals[:, :n_past]
    if plan.known:
        rd.known = np.ascontiguousarray(vals[:, [pos[c] for c in plan.known]])  # row-major: rows gather whole
    if roles.mask:
        means = column_means(x_data) if roles.fill == "mean" else None
        x_data, rd.past_mask = fill_missing(x_data, sd.bounds, roles.fill, means)
        if rd.known is not None:
            kmeans = column_means(rd.known) if roles.fill == "mean" else None
            rd.known, rd.known_mask = fill_missing(rd.known, sd.bounds, roles.fill, kmeans)
    if plan.weight is not None:
        w = vals[:, pos[plan.weight]].astype(np.float64)
        validate_weights(w, f"column {plan.weight!r}")
        rd.weight_rows = w.astype(np.float32)
    elif roles.weight_map is not None:
        rd.weight_series = series_weights(roles.weight_map, sd.keys)
    rd.static, rd.static_cat, svocab, sunknown = static_tables(df, plan, group, sd.keys)
    rd.vocab.update(svocab)
    rd.unknown_counts.update(sunknown)

    # The rows keep the past inputs and the targets only (codes, known and weights now live in the role
    # arrays): a narrower row gathers faster and nothing is held twice.
    kept = list(dict.fromkeys([*plan.past, *(tgts if targets is not None else [])]))
    compact = np.ascontiguousarray(vals[:, [pos[c] for c in kept]])
    y_data = None
    if targets is not None:
        # The targets are columns of the compact rows: a view of them when the dtype already fits (the plain
        # path does the same), so the target column is not held a second time.
        y_idx = [kept.index(t) for t in tgts]
        if len(y_idx) == 1 and compact.dtype == np.dtype(spec.dtype):
            y_data = compact[:, y_idx[0] : y_idx[0] + 1]
        else:
            y_data = np.ascontiguousarray(compact[:, y_idx]).astype(spec.dtype, copy=False)
    if not roles.mask:
        x_data = compact[:, :n_past]
    sd = replace(sd, values=compact, columns=tuple(kept))
    starts, counts = window_starts(sd.bounds, sd.breaks, spec, lazy=True)
    if len(starts) == 0:
        raise DataError(_no_window_message(sd, spec, counts))
    target_names = tuple(tgts) if targets is not None else None
    return Windows(
        x_data, y_data, starts, spec, sd, report={**sd.report, **counts}, feature_names=plan.past,
        target_names=target_names, scalar_target=scalar_target, roles=rd,
    )
