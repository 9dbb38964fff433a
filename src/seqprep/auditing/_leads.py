"""FUTURE_TARGET_IN_INPUT: a ``past`` input that is a copy of the target taken from the future.

The classic slip is ``df["y_next"] = df["y"].shift(-1)`` kept as a feature: at the window's
last row it holds the target one row later, so the model reads its answer. A copy may also
have been rescaled on the way (scaled with its own statistics, converted to other units), so
the rule looks for an *affine* copy, ``x = a * y + b`` with ``a != 0``, and not only equality.

Two forms, one per entry point:

* :func:`_check_future_target` (``audit``) compares every feature at every input step with
  every output of ``y`` over a sample of windows. A match at input row ``-j`` means the
  feature holds the target ``j + horizon`` rows after its own row. When the target column
  itself is among the features, the copy is also found *inside* the window (``x[t] = y[t + s]``)
  and the shift ``s`` is reported exactly.
* :func:`_check_future_target_frame` (``check_data`` with ``target=``) compares every numeric
  column with the target shifted by ``-s`` rows, ``s`` from ``-MAX_LAG`` to ``MAX_LEAD``, inside
  each series.

Only a copy matched at ONE offset, a lead, counts: a series so smooth that it matches itself
at several offsets (a straight trend) cannot tell a copy from a lag, and an honest lag column
(``y.shift(1)``, matched at ``s = -1``) is exactly what a past input should be. ``known``
inputs are left out: they are allowed to hold future values, so a known column shifted from
the future cannot be detected by any rule. Mask columns are not features and are never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._report import Finding

__all__: list[str] = []  # internal module

#: Largest ``1 - |r|`` (Pearson correlation) between a feature and the target that counts as an
#: affine copy; float32 rounding leaves about 1e-13, an honest feature far more.
AFFINE_TOL = 1e-9
#: Largest lead (rows ahead) ``check_data`` tries for a copy of the target.
MAX_LEAD = 64
#: Lags (rows behind) ``check_data`` also tries, so that a smooth series matching itself at
#: several offsets is recognized and left alone.
MAX_LAG = 3
#: At most this many windows (audit) or rows (check_data) are read; check_data reads a contiguous block.
MAX_SAMPLES = 4096
MAX_ROWS = 200_000
#: At most this many outputs of ``y`` are compared.
MAX_OUTPUTS = 16


def _abs_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``|r|`` between each column of *x* (``(n, ...)``) and *y* (``(n,)``), over the finite pairs.

    A constant column (or target) has no correlation: 0.
    """
    ok = np.isfinite(x) & np.isfinite(y).reshape((-1,) + (1,) * (x.ndim - 1))
    n = ok.sum(axis=0)
    yb = np.broadcast_to(y.reshape((-1,) + (1,) * (x.ndim - 1)), x.shape)
    xz, yz = np.where(ok, x, 0.0), np.where(ok, yb, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = xz.sum(axis=0) / n, yz.sum(axis=0) / n
        dx, dy = np.where(ok, xz - mx, 0.0), np.where(ok, yz - my, 0.0)
        sxx, syy = (dx * dx).sum(axis=0), (dy * dy).sum(axis=0)
        r = np.abs((dx * dy).sum(axis=0)) / np.sqrt(sxx * syy)
        tiny = (sxx <= 1e-24 * np.maximum(1.0, (mx * mx) * n)) | (syy <= 1e-24 * np.maximum(1.0, (my * my) * n))
    return np.where((n >= 10) & ~tiny & np.isfinite(r), r, 0.0)


def _is_copy(r: np.ndarray) -> np.ndarray:
    return r >= 1.0 - AFFINE_TOL


def _inner_shift(x3: np.ndarray, c: int) -> tuple[int, int] | None:
    """Another feature ``c0`` and a shift ``s >= 1`` with ``x[:, t, c] = a * x[:, t + s, c0] + b`` for every step.

    Found only when the window holds both the copy and the column it was copied from. The
    smallest shift wins: a copy of ``y`` shifted by 1 is also ``y``'s lag 1 shifted by 2.
    """
    n_steps, n_features = x3.shape[1], x3.shape[2]
    for s in range(1, n_steps):  # a loop over steps, vectorised over samples and features
        lhs = x3[:, : n_steps - s, c].reshape(-1)
        rhs = x3[:, s:, :].reshape(-1, n_features)
        r = _abs_corr(rhs, lhs)
        r[c] = 0.0
        found = [(int(c0), s) for c0 in np.flatnonzero(_is_copy(r))]
        if found:
            return found[0]
    return None


def _check_future_target(xs: dict[str, np.ndarray], ys: dict[str, np.ndarray], names: Sequence[str]) -> list[Finding]:
    """FUTURE_TARGET_IN_INPUT on arrays: a feature that is an affine copy of an output of ``y``.

    Every feature at every step is correlated with each output over at most MAX_SAMPLES
    evenly spaced windows of the training part (else the first part with ``y``). A feature
    counts when it matches one output at exactly one step, far above the match with ``y``
    rolled by half its length. An exact copy that is no shifted copy of another feature is
    left to ``TARGET_IN_INPUT`` (y taken inside its own window); an exact copy that is one is
    reported here, and the finding says that arrays alone cannot tell it from y taken inside
    its window when the copied-from column is a lag of the target.
    """
    part = "train" if "train" in ys else next(iter(ys), None)
    if part is None:
        return []
    x = xs[part]
    x3 = x[:, None, :] if x.ndim == 2 else x
    n, n_steps, _ = x3.shape
    if n < 10:
        return []
    sel = np.unique(np.linspace(0, n - 1, min(n, MAX_SAMPLES)).astype(np.int64))
    xs_, y2 = x3[sel], ys[part].reshape(n, -1)[sel][:, :MAX_OUTPUTS]
    hits: dict[int, dict[str, Any]] = {}
    for k in range(y2.shape[1]):
        yk = y2[:, k]
        r = _abs_corr(xs_, yk)  # (T, C)
        copies = _is_copy(r)
        for c in np.flatnonzero(copies.sum(axis=0) == 1):
            if int(c) in hits:
                continue
            t = int(np.flatnonzero(copies[:, c])[0])
            chance = float(_abs_corr(xs_[:, t, c], np.roll(yk, len(yk) // 2)))
            if _is_copy(np.asarray(chance)):
                continue
            exact = bool(np.allclose(xs_[:, t, c], yk, rtol=1e-6, atol=1e-12, equal_nan=True))
            inner = _inner_shift(x3[sel], int(c)) if n_steps > 1 else None
            if exact and inner is None:
                continue  # y taken inside its own window: TARGET_IN_INPUT says so
            hits[int(c)] = {
                "feature": names[int(c)],
                "feature_index": int(c),
                "output": k,
                "steps_from_end": n_steps - 1 - t,
                "exact_copy": exact,
                "one_minus_abs_r": float(1.0 - r[t, c]),
                "copied_from": None if inner is None else names[inner[0]],
                "shift": None if inner is None else inner[1],
            }
    if not hits:
        return []
    first = next(iter(hits.values()))
    if first["shift"] is not None:
        how = f"feature {first['copied_from']!r} shifted {first['shift']} row(s) from the future"
        shift = f"shift(-{first['shift']})"
    else:
        j = first["steps_from_end"]
        how = f"the target {j} + horizon row(s) after its own row"
        shift = f"shift(-({j} + horizon))"
    kind = "an exact copy" if first["exact_copy"] else "an affine copy (x = a * y + b)"
    names_hit = [h["feature"] for h in hits.values()]
    also = f" Also: {', '.join(repr(x) for x in names_hit[1:])}." if len(names_hit) > 1 else ""
    fix = (
        "Drop the column, or build it from past rows only (shift(+k), a lag); if its values really are "
        "known in advance (a plan, a calendar), pass it as a `known` input instead."
    )
    if first["exact_copy"]:  # the arrays alone cannot tell this from y taken inside its window
        also += (
            f" (From arrays alone this is the same as y taken inside its own window when {first['feature']!r} "
            "is the target column: check_data(df, target=...) tells the two apart.)"
        )
        fix += " If y was taken inside its window instead, take it from the row(s) after the window (horizon >= 1)."
    return [
        Finding(
            "FUTURE_TARGET_IN_INPUT",
            "error",
            f"Past input {first['feature']!r} is {kind} of y_{part} (output {first['output']}): it holds {how}, "
            f"like df[{first['feature']!r}] = df[target].{shift}.{also}",
            {"part": part, "features": names_hit, **{f"{h['feature']}": h for h in hits.values()}},
            fix,
        )
    ]


def _group_codes(group: np.ndarray | None, n: int) -> np.ndarray:
    if group is None:
        return np.zeros(n, dtype=np.int64)
    _, codes = np.unique(group.astype(str) if group.dtype == object else group, return_inverse=True)
    return codes.astype(np.int64)


def _check_future_target_frame(
    values: np.ndarray, columns: Sequence[str], target: np.ndarray, target_name: str, group: np.ndarray | None
) -> list[Finding]:
    """FUTURE_TARGET_IN_INPUT on a table: a column equal (affinely) to the target shifted by ``-s`` rows.

    The rows are read in the order given (sorted by time within each series, as
    ``check_data``'s time checks require), a contiguous block of at most MAX_ROWS; a pair of
    rows counts only when both belong to the same series. One loop over shifts, vectorised
    over rows and columns.
    """
    n = min(values.shape[0], MAX_ROWS)
    if n < 10 or not len(columns):
        return []
    v, y, g = values[:n], target[:n].astype(np.float64), _group_codes(group, values.shape[0])[:n]
    shifts = [s for s in range(-MAX_LAG, MAX_LEAD + 1) if s != 0 and abs(s) < n - 10]
    matched = np.zeros((len(shifts), v.shape[1]), dtype=bool)
    for i, s in enumerate(shifts):  # column at row t against the target at row t + s
        a = slice(0, n - s) if s > 0 else slice(-s, n)
        b = slice(s, n) if s > 0 else slice(0, n + s)
        same = g[a] == g[b]
        matched[i] = _is_copy(_abs_corr(v[a][same], y[b][same]))
    unique = matched.sum(axis=0) == 1
    out: dict[str, int] = {}
    for c in np.flatnonzero(unique):
        s = shifts[int(np.flatnonzero(matched[:, c])[0])]
        if s > 0:
            out[str(columns[int(c)])] = s
    if not out:
        return []
    col, s = next(iter(out.items()))
    others = [k for k in out if k != col]
    return [
        Finding(
            "FUTURE_TARGET_IN_INPUT",
            "error",
            f"Column {col!r} equals the target {target_name!r} {s} row(s) later (up to a constant offset and "
            f"scale), like df[{col!r}] = df[{target_name!r}].shift(-{s}): as an input it shows the model its answer."
            + (f" Also: {', '.join(f'{k!r} (shift -{out[k]})' for k in others)}." if others else ""),
            {"target": target_name, "columns": out, "rows_checked": n},
            "Drop the column, or build it from past rows only (shift(+k), a lag); if its values really are "
            "known in advance (a plan, a calendar), pass it as a `known` input instead.",
        )
    ]
