"""The data check that opens a forecasting run: the project's audit plus a comparison of column scales.

:func:`check_scales` is public (re-exported by :mod:`seqprep.runs`). :func:`data_check` is the
``"check"`` step of :func:`~seqprep.runs.run_forecast`: it reports, it never refuses the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import list_names

__all__: list[str] = []  # internal module: served by seqprep.runs


def check_scales(df: pd.DataFrame, columns: Sequence[str], *, threshold: float = 3.0) -> dict[str, Any]:
    """Per-column magnitude and spread, and whether the columns live on very different scales.

    A column's *magnitude* is its mean absolute value; its *spread* the inter-quartile range
    (the standard deviation when the IQR is 0). The columns are flagged when the largest
    magnitude or spread is at least ``threshold`` times the smallest non-zero one -- the case
    where an unscaled network would be dominated by the big columns.

    Parameters
    ----------
    df : DataFrame
        Raw data.
    columns : sequence of str
        Numeric columns to compare.
    threshold : float, default 3.0
        Ratio from which the scales count as very different.

    Returns
    -------
    dict
        ``columns`` (name -> median, iqr, mean_abs, max_abs, zero_share), ``disparate`` (bool),
        ``ratio`` (float), ``largest``/``smallest`` (column names) and ``message`` (one sentence).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rain": [0.0, 0.0, 1.0, 3.0], "temp": [14.0, 16.0, 18.0, 15.0]})
    >>> out = check_scales(df, ["rain", "temp"])
    >>> out["disparate"], out["largest"], out["smallest"]
    (True, 'temp', 'rain')
    """
    stats: dict[str, dict[str, float]] = {}
    for c in columns:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        iqr = float(q3 - q1) or float(v.std())
        stats[c] = {
            "median": float(med), "iqr": iqr, "mean_abs": float(np.abs(v).mean()),
            "max_abs": float(np.abs(v).max()), "zero_share": float(np.mean(v == 0)),
        }
    out: dict[str, Any] = {"columns": stats, "disparate": False, "ratio": 1.0, "largest": None, "smallest": None}
    if len(stats) < 2:
        out["message"] = "fewer than two numeric columns: nothing to compare."
        return out
    ratios: list[tuple[float, Any, Any, str]] = []
    for key, label in (("mean_abs", "mean |x|"), ("iqr", "IQR")):
        vals = {c: s[key] for c, s in stats.items() if s[key] > 0}
        if len(vals) >= 2:
            hi, lo = max(vals, key=vals.__getitem__), min(vals, key=vals.__getitem__)
            ratios.append((vals[hi] / vals[lo], hi, lo, label))
    if not ratios:
        ratios = [(1.0, None, None, "mean |x|")]
    ratio, hi, lo, label = ratios[0]  # magnitude first: it is what an unscaled network sees
    if len(ratios) > 1 and ratios[1][0] >= threshold > ratio:
        ratio, hi, lo, label = ratios[1]
    out.update(ratio=float(ratio), largest=hi, smallest=lo, disparate=bool(ratio >= threshold))
    if out["disparate"]:
        skew = [c for c, s in stats.items() if s["zero_share"] > 0.3 and s["max_abs"] > 5 * max(s["mean_abs"], 1e-12)]
        extra = (
            f" {list_names(skew)} {'is' if len(skew) == 1 else 'are'} also heavily skewed "
            "(" + ", ".join(_skew_text(stats[c]) for c in skew) + ")."
            if skew else ""
        )
        out["message"] = (
            f"the columns live on very different scales: {hi!r} has {label} {stats[hi][_KEY[label]]:.3g} but "
            f"{lo!r} only {stats[lo][_KEY[label]]:.3g} ({ratio:.1f}x).{extra} Scaling with training statistics "
            "puts every column on one scale."
        )
        if len(ratios) > 1 and ratios[1][1:3] != (hi, lo) and ratios[1][0] >= threshold:
            r2, h2, l2, lab2 = ratios[1]
            out["message"] = out["message"].replace(
                " Scaling", f" The {lab2} differs too: {h2!r} {stats[h2][_KEY[lab2]]:.3g} vs {l2!r} "
                f"{stats[l2][_KEY[lab2]]:.3g} ({r2:.1f}x). Scaling", 1,
            )
    else:
        out["message"] = f"the columns have comparable scales (largest ratio {ratio:.1f}x)."
    return out


# Which statistic of check_scales' per-column summary each label of its message reads.
_KEY = {"mean |x|": "mean_abs", "IQR": "iqr"}


def _skew_text(s: Mapping[str, float]) -> str:
    """Describe one skewed column for check_scales' message (share of zeros, median, maximum)."""
    return f"{s['zero_share']:.0%} zeros, median {s['median']:.3g}, max {s['max_abs']:.3g}"


def data_check(
    df: pd.DataFrame, columns: Sequence[str], time: str | None, group: str | None, left_out: Sequence[str] = (),
    nan_policy: str = "raise",
) -> dict[str, Any]:
    """The project's audit (when it imports) plus the scale check.

    The audit sees only the time, group and given columns, not the rest of ``df``. ``left_out``
    names the row-index columns left out of the inputs: an ``INDEX_COLUMN`` finding says so.
    """
    findings: list[dict[str, Any]] = []
    try:
        from ..auditing import check_data

        report = check_data(df[[c for c in dict.fromkeys([*(x for x in (time, group) if x), *columns])]],
                            time=time, group=group, nan_policy=nan_policy)
        findings = [f.to_dict() for f in report.findings]
    except ImportError:  # the audit module is optional here
        findings = []
    if left_out:
        findings.insert(0, index_finding(list(left_out)))
    return {"findings": findings, "scales": check_scales(df, columns), "index_columns": list(left_out)}


def index_finding(columns: list[str]) -> dict[str, Any]:
    """The ``INDEX_COLUMN`` finding: row-index columns that are not model inputs by default."""
    return {
        "code": "INDEX_COLUMN", "severity": "info",
        "title": f"{list_names(columns)} look(s) like a row index written to the file (an unnamed column or "
                 "0..n-1): left out of the model inputs.",
        "evidence": {"columns": columns},
        "fix": "Pass --features (features=[...]) to use such a column as an input anyway.",
    }

