"""Vectorized building blocks of :func:`seqprep.audit`.

Rows are identified by a 64-bit hash of their bytes, windows by the row ids they
hold, and the time order of overlapping windows is rebuilt from the rows two
consecutive windows share. Nothing here loops in Python over windows or rows;
the loops run over features or time steps only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__: list[str] = []  # internal module

_SEED = np.uint64(0x9E3779B97F4A7C15)
_MUL = np.uint64(0xFF51AFD7ED558CCD)
_MUL2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)

#: Largest stride tried when rebuilding the order of overlapping windows.
MAX_STRIDE = 16


def _mix(h: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Fold one column of 64-bit words into the running hashes *h* (in place)."""
    h ^= words
    h *= _MUL
    h ^= h >> _S33
    h *= _MUL2
    h ^= h >> _S33
    return h


def row_hashes(rows: np.ndarray) -> np.ndarray:
    """Hash each row of a 2-D float array to one uint64 (equal rows, equal hash).

    ``-0.0`` and ``0.0`` hash alike; the rows are compared bit for bit otherwise.
    """
    data = np.ascontiguousarray(rows, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    words = data.view(np.uint64)
    h = np.full(words.shape[0], _SEED, dtype=np.uint64)
    for j in range(words.shape[1]):
        _mix(h, words[:, j])
    return h


def sequence_hashes(ids: np.ndarray) -> np.ndarray:
    """Hash each row of a 2-D integer array (a sequence of row ids) to one uint64."""
    h = np.full(ids.shape[0], _SEED, dtype=np.uint64)
    for j in range(ids.shape[1]):
        _mix(h, ids[:, j].astype(np.uint64))
    return h


def window_row_ids(parts: list[np.ndarray]) -> list[np.ndarray]:
    """Map every row of every window to an integer id shared by equal rows.

    Parameters
    ----------
    parts : list of ndarray of shape (n_windows, n_timesteps, n_features)

    Returns
    -------
    list of ndarray of shape (n_windows, n_timesteps)
        The ids of the rows of each window, comparable across parts.
    """
    hashes = [row_hashes(p.reshape(-1, p.shape[-1])) for p in parts]
    _, inverse = np.unique(np.concatenate(hashes), return_inverse=True)
    out, start = [], 0
    for p in parts:
        n = p.shape[0] * p.shape[1]
        out.append(inverse[start : start + n].reshape(p.shape[0], p.shape[1]).astype(np.int64))
        start += n
    return out


@dataclass(frozen=True)
class Order:
    """The rebuilt time order of pooled windows."""

    chain: np.ndarray  # chain id of each window (-1: could not be placed)
    position: np.ndarray  # position of each window inside its chain
    stride: int  # rows between consecutive windows (0: no order found)
    linked: int  # number of windows with a unique successor


def _links(ids: np.ndarray, shift: int) -> np.ndarray:
    """Successor of each window for a given stride, -1 where none is unique."""
    n, t = ids.shape
    tail = sequence_hashes(ids[:, shift:])
    head = sequence_hashes(ids[:, : t - shift])
    order = np.argsort(head, kind="stable")
    sorted_head = head[order]
    left = np.searchsorted(sorted_head, tail, side="left")
    right = np.searchsorted(sorted_head, tail, side="right")
    succ = np.where(right - left == 1, order[np.minimum(left, n - 1)], -1)
    succ[succ == np.arange(n)] = -1  # constant windows point at themselves
    # a successor claimed by two windows is ambiguous: drop both links
    target = succ[succ >= 0]
    counts = np.bincount(target, minlength=n)
    succ[(succ >= 0) & (counts[np.maximum(succ, 0)] > 1)] = -1
    return succ


def rebuild_order(ids: np.ndarray) -> Order:
    """Rebuild the time order of windows from the rows consecutive windows share.

    Window ``j`` follows window ``i`` (stride ``s``) when the last ``T - s`` rows of
    ``i`` are the first ``T - s`` rows of ``j`` and no other window fits. Chains of
    such links are ranked by pointer doubling (``log2(n)`` vectorized steps).
    """
    n, t = ids.shape
    empty = Order(np.full(n, -1), np.zeros(n, dtype=np.int64), 0, 0)
    if n < 2 or t < 2:
        return empty
    best: tuple[int, np.ndarray] | None = None
    for shift in range(1, min(t - 1, MAX_STRIDE) + 1):
        succ = _links(ids, shift)
        linked = int((succ >= 0).sum())
        if best is None or linked > int((best[1] >= 0).sum()):
            best = (shift, succ)
        if linked >= 0.5 * n:
            break
    if best is None or not (best[1] >= 0).any():
        return empty
    shift, succ = best
    pred = np.arange(n)
    has = succ >= 0
    pred[succ[has]] = np.flatnonzero(has)
    depth = (pred != np.arange(n)).astype(np.int64)
    for _ in range(int(np.ceil(np.log2(n))) + 1):
        depth = depth + depth[pred]  # distance to pred[pred] = to pred + from pred on
        pred = pred[pred]
    # after the doubling every window points at the first window of its chain
    root_ok = pred[pred] == pred
    chain = np.where(root_ok, pred, -1)
    return Order(chain, depth, shift, int(has.sum()))


def row_keys(ids: np.ndarray, order: Order) -> np.ndarray:
    """Identify the underlying row behind every window row, shape ``(n_windows, n_timesteps)``.

    A placed window's rows are keyed by their place in the rebuilt series (chain,
    ``position * stride + t``), so two different days that happen to hold equal
    values stay two rows. Windows that could not be placed fall back to the value id.
    """
    n, t = ids.shape
    placed = order.chain >= 0
    span = (int(order.position.max()) + 1) * max(order.stride, 1) + t if n else 1
    steps = np.arange(t, dtype=np.int64)
    keys = order.chain[:, None] * span + order.position[:, None] * max(order.stride, 1) + steps
    return np.where(placed[:, None], keys, -1 - ids)


def extra_runs(order: Order, labels: np.ndarray, pair: tuple[int, int]) -> int:
    """Count how often windows of *pair* leave their part and come back along a chain.

    Zero means each part occupies one contiguous stretch of every chain: a
    chronological split. Any positive number means the parts interleave in time.
    """
    keep = np.isin(labels, pair) & (order.chain >= 0)
    if keep.sum() < 2:
        return 0
    chain, pos, lab = order.chain[keep], order.position[keep], labels[keep]
    idx = np.lexsort((pos, chain))
    chain, lab = chain[idx], lab[idx]
    starts = np.ones(len(lab), dtype=bool)
    starts[1:] = (chain[1:] != chain[:-1]) | (lab[1:] != lab[:-1])
    run_keys = chain[starts] * 4 + lab[starts]
    _, counts = np.unique(run_keys, return_counts=True)
    return int((counts - 1).sum())


def _pairs(ids: np.ndarray) -> np.ndarray:
    """Hash each pair of consecutive rows of each window, shape ``(n, T - 1)``."""
    n, t = ids.shape
    both = np.stack([ids[:, :-1], ids[:, 1:]], axis=-1).reshape(-1, 2)
    return sequence_hashes(both).reshape(n, t - 1)


def shared_rows(ids_a: np.ndarray, ids_b: np.ndarray) -> tuple[int, int]:
    """Count windows of *b* that share rows with *a*, and that hold only rows seen in *a*.

    Sharing means two consecutive rows in common (one equal row can be a coincidence,
    such as two days with the same weather); "entirely seen" compares single rows.
    """
    seen = np.isin(ids_b, np.unique(ids_a))
    if ids_b.shape[1] >= 2:
        shared = np.isin(_pairs(ids_b), np.unique(_pairs(ids_a))).any(axis=1)
    else:
        shared = seen.any(axis=1)
    return int(shared.sum()), int(seen.all(axis=1).sum())


# --- scaling statistics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleFit:
    """How close a set of rows is to standardized / min-max scaled data."""

    n_rows: int
    dev_standard: float  # max over features of max(|mean|, |std - 1|)
    dev_minmax: float  # max over features of max(|min|, |max - 1|)
    dev_robust: float  # max over features of max(|median|, |q75 - q25 - 1|)

    def dev(self, kind: str) -> float:
        """Deviation for *kind* (``"standard"``, ``"minmax"`` or ``"robust"``)."""
        return {"standard": self.dev_standard, "minmax": self.dev_minmax, "robust": self.dev_robust}[kind]

    def mass(self, kind: str) -> float:
        """Deviation times the number of rows: what the rows would have to add to be exact."""
        return self.dev(kind) * self.n_rows


def scale_fit(rows: np.ndarray, keep: np.ndarray) -> ScaleFit:
    """Measure how exactly *rows* (finite, 2-D) look standardized, min-max or robust scaled.

    Only the features flagged in *keep* (non-constant ones) count. The standard
    deviation is compared with ``ddof=0`` (scikit-learn) and ``ddof=1`` (pandas) and
    the closer one is used. Robust scaling is a median of 0 and an inter-quartile range
    (25th to 75th percentile, linear interpolation) of 1, as scikit-learn's ``RobustScaler``
    and seqprep's ``"robust"`` scaler make it.
    """
    if rows.shape[0] < 3 or not keep.any():
        return ScaleFit(rows.shape[0], np.inf, np.inf, np.inf)
    x = rows[:, keep].astype(np.float64)
    mean = x.mean(axis=0)
    std0 = x.std(axis=0)
    std1 = x.std(axis=0, ddof=1)
    dev_std = np.minimum(np.abs(std0 - 1.0), np.abs(std1 - 1.0))
    dev_standard = float(np.max(np.maximum(np.abs(mean), dev_std)))
    dev_minmax = float(np.max(np.maximum(np.abs(x.min(axis=0)), np.abs(x.max(axis=0) - 1.0))))
    q1, med, q3 = np.percentile(x, [25, 50, 75], axis=0)
    dev_robust = float(np.max(np.maximum(np.abs(med), np.abs(q3 - q1 - 1.0))))
    return ScaleFit(rows.shape[0], dev_standard, dev_minmax, dev_robust)


# --- magnitudes ---------------------------------------------------------------------------------------


def rms(rows: np.ndarray) -> np.ndarray:
    """Root mean square of each column, ignoring non-finite values."""
    x = np.where(np.isfinite(rows), rows, np.nan).astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x).any(axis=0)
        out = np.zeros(x.shape[1])
        if ok.any():
            out[ok] = np.sqrt(np.nanmean(x[:, ok] ** 2, axis=0))
    return out


def distinct_per_row(rows: np.ndarray) -> np.ndarray:
    """Number of distinct values in each row of a 2-D array."""
    if rows.shape[1] == 0:
        return np.zeros(rows.shape[0], dtype=np.int64)
    s = np.sort(rows, axis=1)
    return 1 + (np.diff(s, axis=1) != 0).sum(axis=1)


def jsonable(value: Any) -> Any:
    """Turn numpy scalars and containers into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
