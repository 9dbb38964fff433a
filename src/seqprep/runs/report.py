"""Pictures and a one-file HTML report of a run: split, scaling, windows, training, results.

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` and, given
``path``, also writes it as a PNG (atomically). Figures are made with
``matplotlib.figure.Figure`` and rendered by the Agg backend without touching
``pyplot`` or the global backend, so this works on servers, in threads and in
notebooks alike. matplotlib is imported inside the functions (``seqprep[plot]``).

:func:`write_html_report` writes ONE self-contained HTML file: images are
embedded as base64 PNGs and tables as HTML tables. :func:`build_run_report`
draws whatever parts of a run it is given into ``run_dir/report/*.png`` and
``run_dir/report.html``.

Examples
--------
>>> import tempfile, pathlib
>>> from seqprep.report import plot_split_timeline, write_html_report
>>> parts = [{"name": "train", "start": 0, "end": 700, "n_windows": 676},
...          {"name": "val", "start": 724, "end": 850, "n_windows": 102},
...          {"name": "test", "start": 874, "end": 1000, "n_windows": 102}]
>>> fig = plot_split_timeline(parts, gaps=[(700, 724), (850, 874)])
>>> out = pathlib.Path(tempfile.mkdtemp()) / "r.html"
>>> write_html_report(out, "Demo", [{"title": "Split", "figures": [fig],
...                                  "table": {"model": {"mae": 0.1}, "persistence": {"mae": 0.3}}}])
PosixPath('...r.html')
>>> "data:image/png;base64," in out.read_text()
True
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._files import atomic_write
from .._validation import check_bool, check_int, param_error
from .._version import __version__
from ..exceptions import ShapeError
from .verdict import (
    NETWORK,
    best_per_metric,
    format_metric,
    higher_is_better,
    metric_label,
    metric_unit,
    model_label,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "build_run_report",
    "plot_confusion_matrix",
    "plot_example_windows",
    "plot_feature_distributions",
    "plot_learning_curves",
    "plot_predictions",
    "plot_split_timeline",
    "save_figure",
    "write_html_report",
]

_PART_COLORS = {"train": "#4C72B0", "val": "#DD8452", "validation": "#DD8452", "test": "#55A868"}
_CYCLE = ["#8172B3", "#C44E52", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD"]
_FEATURE_COLORS = ["#4C72B0", "#DD8452", "#55A868", "#8172B3", "#937860", "#DA8BC3"]
_TARGET_COLOR = "#C44E52"
_MODEL_COLOR = "#1f77b4"
_TRUTH_COLOR = "black"


# ============================================================================ plumbing
def _new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Figure, np.ndarray]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained", dpi=100)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def _png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG atomically (temporary file, then ``os.replace``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to save.
    path : str or path-like
        Destination; parent folders are created.
    dpi : int, default 110
        Resolution.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    out = Path(path)
    _atomic_write_bytes(out, _png_bytes(fig, check_int(dpi, "dpi", minimum=10)))
    return out


def _finish(fig: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def _color(name: str, i: int) -> str:
    return _PART_COLORS.get(str(name).lower(), _CYCLE[i % len(_CYCLE)])


def _is_datetime(value: Any) -> bool:
    return isinstance(value, (_dt.datetime, _dt.date, np.datetime64)) or type(value).__name__ in ("Timestamp", "Period")


def _to_num(value: Any, as_dates: bool) -> float:
    if as_dates:
        import matplotlib.dates as mdates
        import pandas as pd

        if type(value).__name__ == "Period":  # 2020Q1, 2020-03, 2020W05: drawn at the period's start
            value = value.start_time
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return float(mdates.date2num(stamp.to_pydatetime()))
    return float(value)


# ============================================================================ split timeline
def _check_parts(parts: Any) -> list[Mapping[str, Any]]:
    if isinstance(parts, Mapping) or not isinstance(parts, Sequence) or len(parts) == 0:
        raise param_error("parts", "a non-empty list of dicts with 'name', 'start', 'end'", parts)
    for i, part in enumerate(parts):
        missing = [k for k in ("name", "start", "end") if not isinstance(part, Mapping) or k not in part]
        if missing:
            raise param_error(f"parts[{i}]", f"a dict with keys 'name', 'start', 'end' (missing {missing})", part)
    return list(parts)


def _gap_spans(gaps: Any) -> list[tuple[Any, Any, Any]]:
    spans = []
    for i, gap in enumerate(gaps or ()):
        if isinstance(gap, Mapping) and "start" in gap and "end" in gap:
            spans.append((gap["start"], gap["end"], gap.get("fold")))
        elif isinstance(gap, Sequence) and len(gap) == 2:
            spans.append((gap[0], gap[1], None))
        else:
            raise param_error(f"gaps[{i}]", "a (start, end) pair or a dict with 'start' and 'end'", gap)
    return spans


def plot_split_timeline(
    parts: Sequence[Mapping[str, Any]],
    gaps: Sequence[Any] | None = None,
    *,
    title: str = "Chronological split",
    xlabel: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Draw the parts of a split as coloured bars on a time (or row) axis, gaps hatched.

    Parameters
    ----------
    parts : list of dict
        ``{"name": "train", "start": t0, "end": t1, "n_windows": k}`` per part; start/end are
        row numbers or timestamps. Parts with a ``"fold"`` key are drawn one row per fold
        (walk-forward validation); otherwise one row per part.
    gaps : list of (start, end) or dict, optional
        Ranges left out between parts (gap / embargo), drawn hatched. A dict may carry ``"fold"``.
    title : str, default "Chronological split"
        Figure title.
    xlabel : str, optional
        Axis label; default "time" for timestamps and periods, "row" otherwise (pass the time
        column's name for an integer time axis such as years).
    path : str or path-like, optional
        Also save the figure as a PNG here.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    from matplotlib.patches import Patch

    parts = _check_parts(parts)
    spans = _gap_spans(gaps)
    as_dates = _is_datetime(parts[0]["start"])
    folded = any("fold" in p for p in parts)
    rows = sorted({p["fold"] for p in parts}) if folded else [str(p["name"]) for p in parts]
    fig, axes = _new_figure(10, 1.0 + 0.55 * len(rows))
    ax = axes[0, 0]
    names = list(dict.fromkeys(str(p["name"]) for p in parts))
    lo = min(_to_num(p["start"], as_dates) for p in parts)
    hi = max(_to_num(p["end"], as_dates) for p in parts)
    for part in parts:
        row = rows.index(part["fold"] if folded else str(part["name"]))
        x0, x1 = _to_num(part["start"], as_dates), _to_num(part["end"], as_dates)
        x1 = x1 if x1 > x0 else x0 + 0.002 * ((hi - lo) or 1.0)  # a one-step part stays visible
        color = _color(part["name"], names.index(str(part["name"])))
        ax.barh(row, x1 - x0, left=x0, height=0.6, color=color, edgecolor="white")
        label = str(part["name"]) + (f"  {int(part['n_windows']):,} windows" if "n_windows" in part else "")
        inside = (x1 - x0) > 0.22 * (hi - lo)
        x_text = (x0 + x1) / 2 if inside else x1 + 0.005 * (hi - lo)
        style = {"ha": "center", "color": "white"} if inside else {"ha": "left", "color": "black"}
        ax.text(x_text, row, label, va="center", fontsize=9, **style)
    for g0, g1, fold in spans:
        x0, x1 = _to_num(g0, as_dates), _to_num(g1, as_dates)
        if folded and fold is not None:
            ax.barh(rows.index(fold), x1 - x0, left=x0, height=0.6, facecolor="none", edgecolor="0.4", hatch="///")
        else:
            ax.axvspan(x0, x1, facecolor="none", edgecolor="0.4", hatch="///", linewidth=0)
    ax.set_yticks(range(len(rows)), [f"fold {r}" for r in rows] if folded else rows)
    ax.set_ylim(len(rows) - 0.4, -0.6)
    width = (hi - lo) or 1.0
    ax.set_xlim(lo - 0.01 * width, hi + 0.12 * width)
    ax.set_xlabel(xlabel or ("time" if as_dates else "row"))
    if as_dates:
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    else:
        from matplotlib.ticker import MaxNLocator, StrMethodFormatter

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))  # 1821, not 1.821e3
    handles = [Patch(color=_color(n, i), label=n) for i, n in enumerate(names)]
    if spans:
        handles.append(Patch(facecolor="none", edgecolor="0.4", hatch="///", label="gap (not used)"))
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title)
    return _finish(fig, path)


# ============================================================================ distributions
def _as_2d(data: Any, name: str) -> tuple[np.ndarray, list[str] | None]:
    columns = None
    if hasattr(data, "columns") and hasattr(data, "select_dtypes"):
        numeric = data.select_dtypes("number")
        columns = [str(c) for c in numeric.columns]
        data = numeric.to_numpy(dtype=np.float64)
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim == 3:
        arr = arr.reshape(-1, arr.shape[-1])
    elif arr.ndim != 2:
        raise ShapeError(f"`{name}` must be 2-D (n_rows, n_features) or 3-D windows. Received: shape {arr.shape}.")
    return arr, columns


def _hist(ax: Axes, values: np.ndarray, color: str, bins: int) -> None:
    finite = values[np.isfinite(values)]
    if finite.size:
        heights = np.asarray(ax.hist(finite, bins=bins, color=color, alpha=0.85)[0])
        ax.set_ylim(0, heights.max() * 1.45)  # head room for the statistics box
        mean, sd = finite.mean(), finite.std()
        mean = 0.0 if abs(mean) < 1e-9 * max(sd, 1e-300) else mean  # show 0, not -2.1e-16
        stats = f"mean {mean:.3g}\nsd {sd:.3g}"
        box = {"facecolor": "white", "alpha": 0.7, "linewidth": 0}
        ax.text(0.98, 0.92, stats, transform=ax.transAxes, ha="right", va="top", fontsize=8, bbox=box)
    ax.tick_params(labelsize=8)
    ax.set_yticks([])


def plot_feature_distributions(
    raw: Any,
    scaled: Any,
    names: Sequence[str] | None = None,
    *,
    bins: int = 40,
    max_features: int = 8,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Histograms of each feature before (left) and after (right) scaling.

    Parameters
    ----------
    raw : DataFrame or ndarray of shape (n_rows, n_features) or (n_windows, lookback, n_features)
        Values in original units (numeric DataFrame columns are used).
    scaled : same layout as ``raw``
        The same features after scaling (rows may differ, e.g. training rows only).
    names : sequence of str, optional
        Feature names; default the DataFrame's columns or ``feature 0, 1, ...``.
    bins : int, default 40
        Histogram bins.
    max_features : int, default 8
        Draw at most this many features (the first ones).
    path : str or path-like, optional
        Also save the figure as a PNG here.

    Returns
    -------
    matplotlib.figure.Figure
        One row per feature, two columns.
    """
    before, cols = _as_2d(raw, "raw")
    after, _ = _as_2d(scaled, "scaled")
    if before.shape[1] != after.shape[1]:
        raise ShapeError(f"`raw` has {before.shape[1]} features but `scaled` has {after.shape[1]}.")
    n_total = before.shape[1]
    names = list(names) if names is not None else cols or [f"feature {i}" for i in range(n_total)]
    if len(names) != n_total:
        raise param_error("names", f"a sequence of {n_total} feature names", names)
    k = min(n_total, check_int(max_features, "max_features", minimum=1))
    fig, axes = _new_figure(9, 0.5 + 1.45 * k, k, 2)
    for i in range(k):
        _hist(axes[i, 0], before[:, i], "#8C8C8C", bins)
        _hist(axes[i, 1], after[:, i], _MODEL_COLOR, bins)
        axes[i, 0].set_ylabel(names[i], rotation=0, ha="right", va="center", fontsize=9)
    axes[0, 0].set_title("before scaling (original units)", fontsize=10)
    axes[0, 1].set_title("after scaling (scaled units, training statistics)", fontsize=10)
    note = f" (first {k} of {n_total} features)" if k < n_total else ""
    fig.suptitle("Feature distributions" + note)
    return _finish(fig, path)


# ============================================================================ windows
def plot_example_windows(
    X: Any,
    y: Any,
    names: Sequence[str] | None = None,
    n: int = 3,
    *,
    target_index: int | None = None,
    horizon: int = 1,
    task: str = "regression",
    indices: Sequence[int] | None = None,
    value_label: str = "value",
    lengths: Any = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot a few input windows, with the target marked after the window's end.

    Parameters
    ----------
    X : ndarray of shape (n_windows, lookback, n_features)
        Windows (scaled or not).
    y : ndarray of shape (n_windows,) or (n_windows, n_steps)
        Targets: values at ``horizon, horizon + 1, ...`` steps after the window's last row,
        or class labels for ``task="classification"`` (shown in the title).
    names : sequence of str, optional
        Feature names for the legend.
    n : int, default 3
        Number of windows, evenly spaced over the data (unless ``indices`` is given).
    target_index : int or None, default None
        Feature the target belongs to (if it is an input); it is drawn thicker, in the target's colour.
    horizon : int, default 1
        Steps from the window's last row to the (first) target.
    task : {"regression", "classification"}, default "regression"
        How to show ``y``.
    indices : sequence of int, optional
        Which windows to draw.
    value_label : str, default "value"
        The y axis label: say which units ``X`` is in, e.g. ``"scaled value (z-score)"``.
    lengths : array-like of int, optional
        Valid steps of each window (unequal-length cases padded at the end): the padding is not
        drawn, so a padded case does not look like a series that falls to zero.
    path : str or path-like, optional
        Also save the figure as a PNG here.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per window; x is the step relative to the window's last row (0), or for
        ``task="classification"`` the step of the case (0 = its first step).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 3:
        raise ShapeError(f"`X` must be windows of shape (n_windows, lookback, n_features). Received: {X.shape}.")
    if len(y) != len(X):
        raise ShapeError(f"`X` has {len(X)} windows but `y` has {len(y)} targets.")
    n_win, lookback, n_feat = X.shape
    names = list(names) if names is not None else [f"feature {i}" for i in range(n_feat)]
    if len(names) != n_feat:
        raise param_error("names", f"a sequence of {n_feat} feature names (one per feature of X)", names)
    if indices is None:
        count = min(check_int(n, "n", minimum=1), n_win)
        indices = [int(i) for i in np.unique(np.linspace(0, n_win - 1, count).round().astype(int))]
    padded = lengths is not None
    if padded:
        lengths = np.asarray(lengths)
        if lengths.shape != (n_win,):
            raise ShapeError(f"`lengths` must give one length per window ({n_win}). Received shape {lengths.shape}.")
        X = X.astype(float)  # a copy: the padding becomes NaN, which matplotlib leaves out
        X[np.arange(lookback)[None, :] >= lengths[:, None]] = np.nan
    cases = task == "classification"
    t = np.arange(lookback) if cases else np.arange(-lookback + 1, 1)
    fig, axes = _new_figure(10, 0.6 + 2.0 * len(indices), len(indices), 1, sharex=True)
    shown = min(n_feat, 6)
    for ax, i in zip(axes[:, 0], indices, strict=True):
        for c in range(shown):
            is_target = task == "regression" and c == target_index
            color = _TARGET_COLOR if is_target else _FEATURE_COLORS[c % len(_FEATURE_COLORS)]
            label = names[c] + (" (target feature)" if is_target else "")
            ax.plot(t, X[i, :, c], lw=2.2 if is_target else 1.0, color=color, label=label)
        if not cases:
            ax.axvline(0, color="0.5", ls=":", lw=1)
        if cases:
            valid = f", {int(lengths[i])} valid steps" if padded else ""
            ax.set_title(f"case {i}: class {y[i]}{valid}", fontsize=10, loc="left")
        else:
            steps = np.atleast_1d(y[i]).astype(float)
            label = f"target (t+{horizon})" if len(steps) == 1 else f"targets (t+{horizon} ...)"
            ax.plot(horizon + np.arange(len(steps)), steps, "*", ms=13, color=_TARGET_COLOR, mec="black", label=label)
            ax.set_title(f"window {i}", fontsize=10, loc="left")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step of the case" + (" (padding after the last valid step not drawn)" if padded else "")
                           if cases else "step relative to the window's last row (0 = last input)")
    fig.supylabel(value_label, fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize=9)
    more = f" (first {shown} of {n_feat} features)" if shown < n_feat else ""
    what = f"Example training cases: length {lookback}" if task == "classification" else (
        f"Example training windows: lookback {lookback}")
    fig.suptitle(what + more)
    return _finish(fig, path)


# ============================================================================ training
def plot_learning_curves(
    history: Any,
    *,
    metric_name: str | None = None,
    best_epoch: int | None = None,
    loss_label: str = "loss",
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Training and validation loss, validation metric and learning rate per epoch.

    Parameters
    ----------
    history : TrainResult, list of dict, or list of TrainResult
        :class:`~seqprep.training.TrainResult` or its ``history`` (records with ``train_loss``,
        ``val_loss``, ``val_metric``, ``lr``). A list of ``TrainResult`` (the members of an
        :class:`~seqprep.models.Ensemble`) draws the first in full and the others' validation
        loss and metric as thin grey lines.
    metric_name : str, optional
        Name of ``val_metric``; taken from a ``TrainResult`` when given one.
    best_epoch : int, optional
        Epoch to mark; taken from a ``TrainResult`` when given one.
    loss_label : str, default "loss"
        Label of the loss and validation-metric axes: say when they are in scaled units.
    path : str or path-like, optional
        Also save the figure as a PNG here.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels side by side.
    """
    from matplotlib.ticker import MaxNLocator

    others: list[Any] = []
    if isinstance(history, (list, tuple)) and history and all(hasattr(h, "history") for h in history):
        history, others = history[0], list(history[1:])
    if hasattr(history, "history"):
        metric_name = metric_name or getattr(history, "metric_name", None)
        best_epoch = best_epoch or getattr(history, "best_epoch", None)
        history = history.history
    if not history:
        raise param_error("history", "a non-empty list of epoch records", history)
    epochs = np.array([h.get("epoch", i + 1) for i, h in enumerate(history)])

    def col(key: str) -> np.ndarray:
        return np.array([float(h.get(key, math.nan)) for h in history])

    fig, axes = _new_figure(12, 4.0, 1, 3)
    ax_loss, ax_metric, ax_lr = axes[0]
    ax_loss.plot(epochs, col("train_loss"), "-o", ms=3, label="train loss")
    if np.isfinite(col("val_loss")).any():
        ax_loss.plot(epochs, col("val_loss"), "-o", ms=3, label="validation loss")
    losses = np.concatenate([col("train_loss"), col("val_loss")])
    losses = losses[np.isfinite(losses) & (losses > 0)]
    if losses.size and losses.max() / losses.min() > 50:
        ax_loss.set_yscale("log")
    metric_label = f"validation {metric_name or 'metric'}"
    no_validation = not np.isfinite(col("val_metric")).any() and not others
    if no_validation:  # e.g. the training-loss protocol of small classification sets: say so, no empty axes
        ax_metric.axis("off")
        ax_metric.text(0.5, 0.5, "no validation cases:\nthe weights of the lowest\ntraining loss are kept"
                       if best_epoch else "no validation cases", ha="center", va="center", fontsize=10,
                       transform=ax_metric.transAxes, color="0.35")
    else:
        ax_metric.plot(epochs, col("val_metric"), "-o", ms=3, color="#55A868", label=metric_label)
    ax_lr.plot(epochs, col("lr"), "-", color="0.3", label="learning rate")
    for i, other in enumerate(others):
        rec = other.history
        ep = np.array([h.get("epoch", j + 1) for j, h in enumerate(rec)])
        for ax, key in ((ax_loss, "val_loss"), (ax_metric, "val_metric")):
            ax.plot(ep, [float(h.get(key, math.nan)) for h in rec], "-", lw=1, color="0.6",
                    label=f"members 2-{len(others) + 1}, validation" if i == 0 else None)
    scaled = " (scaled units)" if "scaled" in loss_label else ""
    metric_axis = f"validation {metric_name or 'metric'}" + (scaled if metric_name in ("mae", "rmse") else "")
    panels = [(ax_loss, loss_label), (ax_metric, metric_axis), (ax_lr, "learning rate")]
    for ax, ylabel in [p for p in panels if not (no_validation and p[0] is ax_metric)]:
        if best_epoch:
            which = "member 1's best epoch" if others else "best epoch"
            ax.axvline(best_epoch, color="#C44E52", ls="--", lw=1, label=f"{which} ({best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        # below the panel, never over the curves
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, ncol=2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(epochs) == 1:  # one epoch: one tick, not 0.945 ... 1.05
            ax.set_xticks([int(epochs[0])])
            ax.set_xlim(epochs[0] - 0.5, epochs[0] + 0.5)
    ax_lr.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    fig.suptitle(f"Learning curves of an ensemble of {len(others) + 1}: member 1 in full" if others
                 else "Learning curves")
    return _finish(fig, path)


# ============================================================================ results
def plot_predictions(
    time: Any,
    y_true: Any,
    y_pred: Any,
    baselines: Mapping[str, Any] | None = None,
    *,
    step: int = 0,
    max_points: int = 1500,
    ylabel: str = "target",
    title: str = "Test predictions",
    model_name: str = "model",
    xlabel: str | None = None,
    path: str | os.PathLike[str] | None = None,
    series: Any = None,
    max_series: int = 3,
) -> Figure:
    """Targets, model predictions and baselines on the test part, with each one's MAE.

    Parameters
    ----------
    time : array-like of shape (n_windows,) or None
        Time (or row) of each target; None uses the window number.
    y_true : ndarray of shape (n_windows,) or (n_windows, n_steps)
        Targets, in the units to show (un-scale first).
    y_pred : ndarray of the same shape
        Model predictions.
    baselines : dict of str to ndarray, optional
        Baseline predictions of the same shape, e.g. ``{"persistence": ...}``.
    step : int, default 0
        For multi-step targets, which step to draw.
    max_points : int, default 1500
        Draw at most the first ``max_points`` windows.
    ylabel, title : str
        Axis label (put the units here) and title.
    model_name : str, default "model"
        Legend name of ``y_pred``.
    xlabel : str, optional
        Axis label of ``time`` (default "time", or "test window" without ``time``).
    path : str or path-like, optional
        Also save the figure as a PNG here.
    series : array-like of shape (n_windows,), optional
        Each window's series key (a panel). The lines of different series are never joined: the
        ``max_series`` series with the most test windows are drawn, each its own line, and the
        title says how many of how many; the MAEs stay those of all windows.
    max_series : int, default 3
        With ``series``: how many series to draw.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.arange(5.0), 100 + np.arange(5.0)]
    >>> fig = plot_predictions(np.r_[np.arange(5), np.arange(5)], y, y + 1, series=["a"] * 5 + ["b"] * 5)
    >>> fig.axes[0].get_title().startswith("Test predictions of 2 of 2 series")
    True
    """
    from ..training.metrics import mae

    truth = np.asarray(y_true, dtype=np.float64)
    series_values = {"model": np.asarray(y_pred, dtype=np.float64)}
    series_values.update({str(k): np.asarray(v, dtype=np.float64) for k, v in (baselines or {}).items()})
    for name, values in series_values.items():
        if values.shape != truth.shape:
            raise ShapeError(f"`{name}` predictions have shape {values.shape}; y_true has {truth.shape}.")
    scores = {name: mae(truth, values) for name, values in series_values.items()}
    pick = (lambda a: a[:, step]) if truth.ndim == 2 else (lambda a: a)  # noqa: E731
    x = np.arange(len(truth)) if time is None else np.asarray(time)
    k = min(len(truth), check_int(max_points, "max_points", minimum=2))
    # the runs of windows drawn as one line each: the first k windows, or on a panel the windows of the
    # series with the most test windows (joining one series' end to the next one's start draws nonsense)
    if series is None:
        runs = [np.arange(k)]
        extra = f" (first {k} of {len(truth)} windows)" if k < len(truth) else ""
    else:
        keys = np.asarray(series).astype(str)
        if keys.shape != (len(truth),):
            raise ShapeError(f"`series` has shape {keys.shape}; y_true has {len(truth)} windows.")
        names, first, counts = np.unique(keys, return_index=True, return_counts=True)
        order = np.lexsort((first, -counts))[: check_int(max_series, "max_series", minimum=1)]
        runs = [np.flatnonzero(keys == names[i])[:k] for i in order]
        shown_names = ", ".join(repr(str(names[i])) for i in order)
        title = f"{title} of {len(order)} of {len(names)} series ({shown_names})"
        extra = ""
    fig, axes = _new_figure(11, 4.2)
    ax = axes[0, 0]
    styles = [("--", "#DD8452"), (":", "#8172B3"), ("-.", "#937860"), ("--", "#8C8C8C")]
    for r, rows in enumerate(runs):
        ax.plot(x[rows], pick(truth)[rows], color=_TRUTH_COLOR, lw=1.6, label="actual" if r == 0 else None)
        for j, (name, values) in enumerate(series_values.items()):
            ls, color = ("-", _MODEL_COLOR) if name == "model" else styles[(j - 1) % len(styles)]
            shown = model_name if name == "model" else name
            label = f"{shown} (MAE {format_metric(scores[name])})" if r == 0 else None
            ax.plot(x[rows], pick(values)[rows], ls, color=color, lw=1.3, label=label)
    ax.set_xlabel(xlabel or ("time" if time is not None else "test window"))
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    extra += f", step {step + 1}" if truth.ndim == 2 else ""
    ax.set_title(title + extra + "; MAE over all windows in the legend", fontsize=10)
    return _finish(fig, path)


def plot_confusion_matrix(
    cm: Any,
    labels: Sequence[Any] | None = None,
    *,
    normalize: bool = False,
    title: str = "Confusion matrix",
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Draw a confusion matrix (true classes in rows), with the counts written in the cells.

    Parameters
    ----------
    cm : ndarray of shape (n_classes, n_classes)
        Counts, as from :func:`seqprep.metrics.confusion_matrix`.
    labels : sequence, optional
        Class names; default ``0 .. n_classes - 1``.
    normalize : bool, default False
        Colour and label by the fraction of each true class (row) instead of counts.
    title : str, default "Confusion matrix"
        Title.
    path : str or path-like, optional
        Also save the figure as a PNG here.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    counts = np.asarray(cm, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ShapeError(f"`cm` must be a square matrix. Received: shape {counts.shape}.")
    k = counts.shape[0]
    labels = [str(v) for v in (labels if labels is not None else range(k))]
    if len(labels) != k:
        raise param_error("labels", f"a sequence of {k} class names", labels)
    rows = counts.sum(axis=1, keepdims=True)
    shown = counts
    if check_bool(normalize, "normalize"):
        shown = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = 2.5 + 0.55 * k
    fig, axes = _new_figure(size + 1.2, size)
    ax = axes[0, 0]
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1.0 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")
    top = shown.max() if shown.size else 1.0
    if k <= 30:
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else f"{int(counts[i, j])}"
                color = "white" if shown[i, j] > 0.6 * top else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=9, color=color)
    rotate = max(len(s) for s in labels) > 3
    ax.set_xticks(range(k), labels, rotation=45 if rotate else 0, ha="right" if rotate else "center")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return _finish(fig, path)


# ============================================================================ HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #4C72B0;padding-bottom:.2em}h2{margin-top:1.8em;color:#2a4a80}
img{max-width:100%;height:auto;border:1px solid #ddd;margin:.5em 0}
table{border-collapse:collapse;margin:.8em 0;font-size:.95em}
th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}th{background:#eef2f8}
td:first-child,th:first-child{text-align:left}.meta{color:#666;font-size:.9em}
th small{display:block;font-weight:normal;color:#555}td.best{font-weight:bold;background:#e6f4ea}
tr.network td:first-child{font-weight:bold}.note{color:#555;font-size:.9em}
.verdict{padding:.7em 1em;border-radius:4px;font-size:1.1em;margin:1em 0}
.verdict.loses{background:#fdecea;border-left:5px solid #C44E52}
.verdict.wins{background:#e6f4ea;border-left:5px solid #55A868}
table.kv td{text-align:left;font-family:ui-monospace,monospace;font-size:.85em}
"""


def _format_cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "&ndash;" if not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return html.escape(str(value))


def _table_html(table: Any) -> str:
    """HTML for a DataFrame, a list of row dicts, or a dict of row name -> dict."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        rows = [{"": idx, **rec} for idx, rec in zip(table.index, table.to_dict("records"), strict=True)]
    elif isinstance(table, Mapping):
        rows = [{"": name, **dict(rec)} for name, rec in table.items()]
    elif isinstance(table, Sequence) and all(isinstance(r, Mapping) for r in table):
        rows = [dict(r) for r in table]
    else:
        raise param_error("table", "a DataFrame, a list of dicts or a dict of dicts", table)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_format_cell(row.get(c, ''))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image_html(image: Any, alt: str) -> str:
    if hasattr(image, "savefig"):
        data = _png_bytes(image)
    elif isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        data = Path(image).read_bytes()
    else:
        raise param_error("figures", "matplotlib Figures, PNG bytes or paths to PNG files", image)
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _section_html(section: Mapping[str, Any]) -> str:
    title = str(section.get("title", ""))
    parts = [f"<section><h2>{html.escape(title)}</h2>"] if title else ["<section>"]
    text = section.get("text")
    if text:
        parts += [f"<p>{html.escape(p.strip())}</p>" for p in str(text).split("\n\n") if p.strip()]
    if section.get("html"):
        parts.append(str(section["html"]))  # built here from escaped pieces (the verdict, the results table)
    if section.get("table") is not None:
        parts.append(_table_html(section["table"]))
    figures = section.get("figures", section.get("figure"))
    if figures is not None:
        if hasattr(figures, "savefig") or isinstance(figures, (bytes, str, os.PathLike)):
            figures = [figures]
        parts += [_image_html(fig, title) for fig in figures]
    parts.append("</section>")
    return "\n".join(parts)


def write_html_report(
    path: str | os.PathLike[str],
    title: str,
    sections: Sequence[Mapping[str, Any]],
) -> Path:
    """Write one self-contained HTML file: text, tables and base64-embedded PNG images.

    Parameters
    ----------
    path : str or path-like
        Destination; written atomically (temporary file, then ``os.replace``).
    title : str
        Page title and heading.
    sections : sequence of dict
        In order. Keys (all optional): ``"title"``; ``"text"`` (plain text, blank lines
        separate paragraphs); ``"table"`` (DataFrame, list of row dicts, or dict of
        row name -> dict of values, e.g. ``{"model": {"mae": ...}, "persistence": {...}}``);
        ``"figures"`` (a Figure, PNG bytes, a PNG path, or a list of them).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if isinstance(sections, Mapping) or not isinstance(sections, Sequence):
        raise param_error("sections", "a list of dicts (title, text, table, figures)", sections)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = "\n".join(_section_html(s) for s in sections)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">generated by seqprep {html.escape(__version__)}, {stamp}</p>'
        f"\n{body}\n</body></html>\n"
    )
    out = Path(path)
    _atomic_write_bytes(out, page.encode("utf-8"))
    return out


# ============================================================================ one call per run
def _results_html(results: Mapping[str, Mapping[str, float]], units: str, network: str = NETWORK,
                  task: str = "regression", network_name: str = "CNN-LSTM") -> str:
    """The results table: units and "lower/higher is better" in each header, the best in each column marked."""
    names = list(next(iter(results.values())).keys()) if results else []
    best = best_per_metric(results)
    head = "<th>model</th>"
    for n in names:
        unit = metric_unit(n, units)
        label = html.escape(metric_label(n) + (f" ({unit})" if unit else ""))
        head += f"<th>{label}<small>{'higher' if higher_is_better(n) else 'lower'} is better</small></th>"
    body = ""
    for model, vals in results.items():
        is_net = model == network
        role = "the model" if network_name == "MiniRocket" else "the network"  # MiniRocket is not a network
        name = f"{network_name} ({role})" if is_net else model_label(model)
        cells = ""
        for n in names:
            text = format_metric(vals.get(n))
            mark = model in best.get(n, [])
            cells += f'<td class="best">{text} &#9733;</td>' if mark else f"<td>{text}</td>"
        body += f'<tr class="{"network" if is_net else "baseline"}"><td>{html.escape(name)}</td>{cells}</tr>'
    where = ("the same test windows, in the target's original units" if task == "regression"
             else "the same test cases")
    note = f"&#9733; best in its column (ties share it). Every score is rounded to three decimals, computed on {where}."
    table = f'<table class="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'{table}<p class="note">{note}</p>'


def _verdict_html(verdict: Mapping[str, Any]) -> str:
    kind = "wins" if verdict.get("model_wins") else "loses"
    lines = "<br>".join(html.escape(str(line)) for line in verdict.get("lines", [verdict.get("summary", "")]))
    return f'<div class="verdict {kind}">{lines}</div>'


def _findings_html(data_check: Mapping[str, Any]) -> str:
    findings = list(data_check.get("findings") or [])
    scales = data_check.get("scales") or {}
    parts = []
    if findings:
        rows = "".join(
            f"<tr><td>{html.escape(str(f.get('severity', '')))}</td><td>{html.escape(str(f.get('code', '')))}</td>"
            f"<td style='text-align:left'>{html.escape(str(f.get('title', f.get('message', ''))))}</td></tr>"
            for f in findings
        )
        parts.append(f"<table><thead><tr><th>severity</th><th>check</th><th>finding</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    else:
        parts.append("<p>No findings: no NaN, gaps, unsorted or duplicate times, or constant columns.</p>")
    if scales.get("message"):
        parts.append(f"<p>Scale check: {html.escape(str(scales['message']))}</p>")
    return "\n".join(parts)


def _config_html(config: Mapping[str, Any]) -> str:
    import json

    def text(value: Any) -> str:
        return html.escape(value if isinstance(value, str) else json.dumps(value, default=str))

    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{text(v)}</td></tr>" for k, v in config.items())
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def _results_table(
    task: str, y_true: Any, y_pred: Any, baselines: Mapping[str, Any] | None, labels: Any
) -> dict[str, dict[str, float]]:
    from ..training.metrics import classification_metrics, regression_metrics

    score = regression_metrics if task == "regression" else (lambda t, p: classification_metrics(t, p, labels))
    table = {"model": score(y_true, y_pred)}
    table.update({str(name): score(y_true, pred) for name, pred in (baselines or {}).items()})
    return table


def build_run_report(
    run_dir: str | os.PathLike[str],
    *,
    title: str = "seqprep run report",
    task: str = "regression",
    notes: str | None = None,
    split_parts: Sequence[Mapping[str, Any]] | None = None,
    gaps: Sequence[Any] | None = None,
    raw: Any = None,
    scaled: Any = None,
    feature_names: Sequence[str] | None = None,
    X: Any = None,
    y: Any = None,
    window_names: Sequence[str] | None = None,
    target_index: int | None = None,
    window_lengths: Any = None,
    history: Any = None,
    time: Any = None,
    y_true: Any = None,
    y_pred: Any = None,
    baselines: Mapping[str, Any] | None = None,
    series: Any = None,
    labels: Sequence[Any] | None = None,
    results: Any = None,
    target_label: str = "target",
    units: str = "",
    verdict: Mapping[str, Any] | None = None,
    data_check: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    time_label: str | None = None,
    window_label: str = "value",
    loss_label: str = "loss",
) -> Path:
    """Draw whatever parts of a run are given into ``run_dir/report/`` and write ``run_dir/report.html``.

    Each argument group is optional: ``split_parts`` (+ ``gaps``) draws the split
    timeline; ``raw`` + ``scaled`` the feature distributions; ``X`` + ``y`` example
    windows; ``history`` the learning curves; ``y_true`` + ``y_pred`` (+ ``baselines``)
    the test predictions (regression) or the confusion matrix (classification) and,
    unless ``results`` is given, a results table of the model against the baselines.

    Parameters
    ----------
    run_dir : str or path-like
        Folder of the run; created if missing.
    title : str, default "seqprep run report"
        Report title.
    task : {"regression", "classification"}, default "regression"
        How to score and draw the predictions.
    notes : str, optional
        Text shown at the top (data set, settings, ...).
    split_parts, gaps : optional
        See :func:`plot_split_timeline`.
    raw, scaled, feature_names : optional
        See :func:`plot_feature_distributions`.
    X, y, window_names, target_index, window_lengths : optional
        See :func:`plot_example_windows`; ``window_names`` names the features of ``X``
        (default ``feature_names`` when the counts match), ``window_lengths`` its ``lengths``.
    history : TrainResult, list of dict or list of TrainResult, optional
        See :func:`plot_learning_curves`.
    time, y_true, y_pred, baselines : optional
        Test targets, predictions and baseline predictions in the units to report.
    series : array-like, optional
        Each test window's series key (a panel): see :func:`plot_predictions`.
    labels : sequence, optional
        Class labels (classification).
    results : table-like, optional
        Results table to show instead of the computed one.
    target_label : str, default "target"
        Axis label of the prediction plot: the target's name and units, e.g. ``"temp_max (°C)"``.
    units : str, optional
        Units of the target, shown in the results table's MAE/RMSE headers.
    verdict : dict, optional
        The honest summary (``compare_to_baselines``): shown first, in plain words.
    data_check : dict, optional
        ``{"findings": [...], "scales": {...}}`` of the data check, shown as a table.
    config : dict, optional
        The run's configuration (``run.json``), shown as a key/value table.
    time_label : str, optional
        Axis label of the split timeline (the time column's name for an integer time axis).
    window_label, loss_label : str
        Axis labels of the example windows and of the loss: say when they are in scaled units.

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.
    """
    from .._validation import check_choice
    from ..training.metrics import confusion_matrix, labels_pair

    check_choice(task, "task", ("regression", "classification"))
    run = Path(run_dir)
    pictures = run / "report"
    sections: list[dict[str, Any]] = []
    net_name = str((verdict or {}).get("name") or "CNN-LSTM")  # the verdict names the run's network
    if verdict:
        sections.append({"title": "Verdict", "html": _verdict_html(verdict)})
    if notes:
        sections.append({"title": "Run", "text": notes})
    if data_check is not None:
        sections.append({"title": "Data check", "html": _findings_html(data_check)})

    def add(section_title: str, name: str, fig: Figure, text: str | None = None) -> None:
        sections.append({"title": section_title, "text": text, "figures": [save_figure(fig, pictures / f"{name}.png")]})

    if split_parts is not None:
        text = "Chronological parts of the data; hatched ranges are gaps left out between parts."
        add("Split", "split_timeline", plot_split_timeline(split_parts, gaps, xlabel=time_label), text)
    if raw is not None and scaled is not None:
        add("Scaling", "feature_distributions", plot_feature_distributions(raw, scaled, feature_names))
    if X is not None and y is not None:
        X = np.asarray(X)
        if X.ndim == 3:
            names = window_names
            if names is None and feature_names is not None and len(feature_names) == X.shape[2]:
                names = feature_names
            fig = plot_example_windows(X, y, names, task=task, target_index=target_index, value_label=window_label,
                                       lengths=window_lengths)
            add("Example cases" if task == "classification" else "Example windows", "example_windows", fig)
        else:
            text = f"Not drawn: windows of shape {X.shape} are not (N, T, C)."
            sections.append({"title": "Example windows", "text": text})
    if history is not None:
        add("Training", "learning_curves", plot_learning_curves(history, loss_label=loss_label))
    if y_true is not None and y_pred is not None:
        table = results if results is not None else _results_table(task, y_true, y_pred, baselines, labels)
        if isinstance(table, Mapping) and table and all(isinstance(v, Mapping) for v in table.values()):
            network = NETWORK if NETWORK in table else "model"
            unit = units or ("original units" if task == "regression" else "")
            sections.append({"title": "Results on the test part",
                             "html": _results_html(table, unit, network, task, net_name)})
        else:
            text = "The model and the baselines are scored on the same test windows."
            sections.append({"title": "Results on the test part", "table": table, "text": text})
        if task == "regression":
            fig = plot_predictions(time, y_true, y_pred, baselines, ylabel=target_label, model_name=net_name,
                                   xlabel=time_label if time is not None else None, series=series)
            add("Test predictions", "predictions", fig)
        else:
            true_labels, pred_labels = labels_pair(y_true, y_pred)
            names = list(labels) if labels is not None else list(np.union1d(true_labels, pred_labels))
            cm = confusion_matrix(true_labels, pred_labels, names)
            add("Confusion matrix", "confusion_matrix", plot_confusion_matrix(cm, list(names)))
    elif results is not None:
        sections.append({"title": "Results", "table": results})
    if config:
        sections.append({"title": "Configuration", "html": _config_html(config)})
    return write_html_report(run / "report.html", title, sections)
