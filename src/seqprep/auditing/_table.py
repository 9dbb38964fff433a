"""The raw-table side of :func:`seqprep.check_data`: reading the table, and its column and time rules.

A table is checked before anything is built from it: columns that are not numbers,
NaN/inf values, and, with a time column, timestamps that go backwards, repeat or leave
gaps, each within a series when a group column is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_names, check_unique_columns, list_names, param_error, zero_of
from ._report import Finding

__all__: list[str] = []  # internal module


def _load_frame(df_or_path: Any) -> pd.DataFrame:
    """The table itself, or read from a CSV/TSV/Parquet path by the one reader (:func:`seqprep.io.read_table`)."""
    from ..io import read_table

    if isinstance(df_or_path, pd.DataFrame):
        check_unique_columns(df_or_path.columns, "the DataFrame")
        return df_or_path
    if not isinstance(df_or_path, (str, Path)):
        raise param_error("df_or_path", "a DataFrame or a path to a CSV or Parquet file", df_or_path)
    return read_table(df_or_path)


def _column(df: pd.DataFrame, name: Any, arg: str) -> Any:
    """Check that the column named by argument *arg* exists (``None``: not given)."""
    if name is not None:
        check_names([name], arg, [str(c) for c in df.columns])
    return name


def _check_non_numeric(other: list[Any]) -> list[Finding]:
    """NON_NUMERIC: value columns that are not numbers (bool counts as not numeric) cannot be scaled."""
    if not other:
        return []
    return [
        Finding(
            "NON_NUMERIC",
            "warning",
            f"{len(other)} column(s) are not numeric: {list_names(other)}.",
            {"count": len(other), "columns": [str(c) for c in other]},
            "Encode them (one-hot, ordinal) or drop them before windowing.",
        )
    ]


def _check_nonfinite_columns(values: np.ndarray, numeric: list[Any]) -> list[Finding]:
    """NONFINITE: NaN/inf per numeric column (``values`` holds them in order), and the first row with one."""
    bad = (~np.isfinite(values)).sum(axis=0)
    if not bad.any():
        return []
    ev = {str(numeric[j]): int(bad[j]) for j in np.flatnonzero(bad)}
    first = int(np.flatnonzero((~np.isfinite(values)).any(axis=1))[0])
    return [
        Finding(
            "NONFINITE",
            "error",
            f"{int(bad.sum())} NaN/inf value(s) in {len(ev)} column(s); first in row {first}.",
            {**ev, "first_row": first},
            "Fill (interpolate, forward-fill) or drop them before scaling and windowing.",
        )
    ]


def _check_times(df: pd.DataFrame, time: str, group: str | None) -> list[Finding]:
    """UNSORTED_TIME, DUPLICATE_TIMESTAMPS and TIME_GAPS, each counted within a series.

    Gaps are measured against the most common positive step, and only when time never goes
    backwards: in an unsorted series the steps mean nothing.
    """
    t = df[time]
    if not (pd.api.types.is_datetime64_any_dtype(t) or pd.api.types.is_numeric_dtype(t)):
        from ..io import parse_time_column

        t = parse_time_column(t, time)
    keys = df[group].to_numpy() if group is not None else np.zeros(len(df))
    tv = t.to_numpy()
    diffs = tv[1:] - tv[:-1]
    same = keys[1:] == keys[:-1]
    zero = diffs == zero_of(diffs.dtype)
    out: list[Finding] = []
    unsorted = np.flatnonzero(same & (diffs < zero_of(diffs.dtype)))
    if unsorted.size:
        row = int(unsorted[0]) + 1
        out.append(
            Finding(
                "UNSORTED_TIME",
                "error",
                f"Timestamps go backwards {unsorted.size} time(s) within a series; first at row {row} ({tv[row]}).",
                {"count": int(unsorted.size), "first_row": row},
                f"Sort by {'[' + repr(group) + ', ' if group else ''}{time!r}{']' if group else ''} before windowing.",
            )
        )
    dup = np.flatnonzero(same & zero)
    if dup.size:
        row = int(dup[0]) + 1
        out.append(
            Finding(
                "DUPLICATE_TIMESTAMPS",
                "error",
                f"{dup.size} repeated timestamp(s) within a series; first at row {row} ({tv[row]}).",
                {"count": int(dup.size), "first_row": row},
                "Aggregate or drop the repeated rows (or pass the series id as `group`).",
            )
        )
    pos = diffs[same & (diffs > zero_of(diffs.dtype))]
    if pos.size and not unsorted.size:
        vals, counts = np.unique(pos, return_counts=True)
        step = vals[np.argmax(counts)]
        gap_idx = np.flatnonzero(same & (diffs > step))
        if gap_idx.size:
            missing = int(np.sum(np.round(diffs[gap_idx] / step)) - gap_idx.size)
            row = int(gap_idx[0]) + 1
            out.append(
                Finding(
                    "TIME_GAPS",
                    "warning",
                    f"{gap_idx.size} gap(s) in the time axis (dominant step {step}); first before row {row} "
                    f"({tv[row]}).",
                    {"gaps": int(gap_idx.size), "missing_steps": missing, "first_row": row, "step": str(step)},
                    "Reindex to the regular step and fill, or split the series at the gaps.",
                )
            )
    return out
