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
from ..timeaxis import describe_frequency, format_time, infer_frequency, parse_time
from ._report import Finding

__all__: list[str] = []  # internal module


def _load_frame(df_or_path: Any) -> pd.DataFrame:
    """The table itself, or read from a CSV/TSV/Parquet path by the one reader (:func:`seqprep.io.read_table`)."""
    from ..io import from_polars, polars_kind, read_table

    if polars_kind(df_or_path) in ("DataFrame", "LazyFrame"):
        df_or_path = from_polars(df_or_path)  # numeric columns shared with Arrow's buffers, not copied
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


def _check_index_columns(columns: list[str]) -> list[Finding]:
    """INDEX_COLUMN: a row index written to the file (``Unnamed: 0``, 0..n-1) is not a model input by default."""
    if not columns:
        return []
    return [
        Finding(
            "INDEX_COLUMN",
            "info",
            f"{list_names(columns)} look(s) like a row index written to the file (an unnamed column or 0..n-1): "
            "left out of the model inputs.",
            {"columns": [str(c) for c in columns]},
            "Pass features=[...] (--features) to use such a column as an input anyway.",
        )
    ]


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


def _check_nonfinite_columns(values: np.ndarray, numeric: list[Any], nan_policy: str = "raise") -> list[Finding]:
    """NONFINITE: NaN/inf per numeric column (``values`` holds them in order), and the first row with one.

    An error when training would refuse them (``nan_policy="raise"``), a warning when the given
    policy drops or fills them.
    """
    bad = (~np.isfinite(values)).sum(axis=0)
    if not bad.any():
        return []
    ev = {str(numeric[j]): int(bad[j]) for j in np.flatnonzero(bad)}
    first = int(np.flatnonzero((~np.isfinite(values)).any(axis=1))[0])
    handled = nan_policy != "raise"
    return [
        Finding(
            "NONFINITE",
            "warning" if handled else "error",
            f"{int(bad.sum())} NaN/inf value(s) in {len(ev)} column(s); first in row {first}."
            + (f" nan_policy={nan_policy!r} handles them." if handled else ""),
            {**ev, "first_row": first},
            "Fill (interpolate, forward-fill) or drop them before scaling and windowing, or pass "
            "nan_policy='drop'/'ffill'/'interpolate' (--nan-policy).",
        )
    ]


def _check_times(df: pd.DataFrame, time: str, group: str | None) -> list[Finding]:
    """TIME_AXIS (info), UNSORTED_TIME, DUPLICATE_TIMESTAMPS and TIME_GAPS, each counted within a series.

    The time column is read as training reads it (:func:`seqprep.timeaxis.parse_time`: dates,
    periods, zone-aware stamps, integer steps) and its frequency inferred the same way; a gap is
    a missing step of that frequency (a 31-day month is one step of ``MS``), and only when time
    never goes backwards: in an unsorted series the steps mean nothing.
    """
    tv, info = parse_time(df[time], str(time))
    keys = df[group].to_numpy() if group is not None else np.zeros(len(df))
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
    if unsorted.size:
        return out
    freq = infer_frequency(tv, same, info["tz"])
    if freq is None:
        return out
    words = describe_frequency(freq)
    # the span of all series (a panel's first and last rows are one series' start and another's end)
    first, last = format_time(tv.min(), freq, info["tz"]), format_time(tv.max(), freq, info["tz"])
    n_series = int(pd.unique(keys).size) if group is not None else 1
    rows = f"{len(tv)} rows in {n_series} series" if n_series > 1 else f"{len(tv)} rows"
    out.insert(0, Finding(
        "TIME_AXIS",
        "info",
        f"Time axis {time!r}: {info['kind']} values, frequency {words}; {rows} from {first} to {last}.",
        {"kind": info["kind"], "freq": freq.name, **({"timezone": info["tz"]} if info["tz"] else {}),
         "first": first, "last": last},
        "Nothing to fix; gaps are counted as missing steps of this frequency.",
    ))
    gap_rows = freq.breaks(tv, same & ~zero)
    if gap_rows.size:
        counts = freq.step_counts(tv)[gap_rows - 1]
        missing = int(np.maximum(np.round(counts) - 1, 0).sum())
        row = int(gap_rows[0])
        out.append(
            Finding(
                "TIME_GAPS",
                "warning",
                f"{gap_rows.size} gap(s) in the time axis ({missing} missing step(s) of {words}); first before "
                f"row {row} ({format_time(tv[row], freq, info['tz'])}). Windows never span a gap.",
                {"gaps": int(gap_rows.size), "missing_steps": missing, "first_row": row, "step": freq.name},
                "Reindex to the regular step and fill, shorten the lookback, or pass allow_gaps=True (--allow-gaps).",
            )
        )
    return out
