"""Parsers for command-line (and TOML) option values shared by the ``seqprep`` subcommands.

One parser per kind of value, so that ``train`` and ``prepare`` (and a TOML config) accept the
same things: :func:`split` (fractions or cut timestamps), :func:`gap` (rows or a duration),
:func:`horizon`, :func:`names` (comma-separated or a list, duplicates refused) and :data:`INT64`
(a click type: an integer that fits in 64 bits).
"""

from __future__ import annotations

from typing import Any

import click

from .._validation import INT64_MAX, INT64_MIN, check_distinct, is_number, param_error

__all__: list[str] = []  # internal module


class _Int64(click.ParamType):
    """An integer option that fits in 64 bits (numpy and torch refuse larger ones with a traceback)."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a whole number. Use an integer such as 8.", param, ctx)
        if not INT64_MIN <= number <= INT64_MAX:
            self.fail(f"{value} is too large. Use an integer below 2**63.", param, ctx)
        return number


INT64 = _Int64()


def names(value: Any, option: str = "names") -> list[str] | None:
    """``"a, b,c"`` or ``["a", "b", "c"]`` -> ``["a", "b", "c"]``; None or empty -> None; duplicates refused."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value if v.strip()]
    else:
        raise param_error(option, "a comma-separated string or a list of column names", value,
                          f'Write e.g. {option}="a,b" or {option}=["a", "b"].')
    check_distinct(items, option, "columns")
    return items or None


def horizon(value: Any) -> int | list[int]:
    """``"1"`` -> 1, ``"1,7"`` -> [1, 7] (an int or a list of ints from TOML is kept)."""
    if isinstance(value, bool):
        raise param_error("horizon", "an integer or a list of integers", value, "Use e.g. horizon=1.")
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        if not value or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise param_error("horizon", "an integer or a list of integers", value, "Use e.g. horizon=[1, 7].")
        return value
    if not isinstance(value, str):
        raise param_error("horizon", "an integer or a comma-separated list of integers", value, "Use e.g. 1 or 1,7.")
    try:
        parts = [int(v) for v in value.split(",")]
    except ValueError:
        raise param_error("horizon", "an integer or a comma-separated list of integers", value,
                          "Use e.g. --horizon 1 or --horizon 1,7.") from None
    return parts[0] if len(parts) == 1 else parts


def split(value: Any) -> Any:
    """Fractions (``"0.7,0.15,0.15"``, ``[0.7, 0.15, 0.15]``) or cut timestamps (``"2020-03-01,2020-04-01"``).

    A mix of numbers and dates is refused; timestamps are parsed here, so a bad date is reported
    with the option's name before any data is read.
    """
    from ..splitting import check_fractions, parse_cuts

    if isinstance(value, str):
        items: list[Any] = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise param_error("split", "fractions such as 0.7,0.15,0.15 or cut timestamps", value,
                          "Use e.g. --split 0.7,0.15,0.15 or --split 2020-03-01,2020-04-01.")
    numeric = [isinstance(v, (int, float)) and not isinstance(v, bool) or (isinstance(v, str) and is_number(v))
               for v in items]
    if items and all(numeric):
        fractions = tuple(float(v) for v in items)
        check_fractions(fractions)
        return fractions
    if any(numeric):
        raise param_error("split", "all fractions or all timestamps, not a mix", value,
                          "Use e.g. 0.7,0.15,0.15 or 2020-03-01,2020-04-01.")
    if not all(isinstance(v, str) for v in items) or not 1 <= len(items) <= 2:
        raise param_error("split", "2-3 fractions or 1-2 cut timestamps", value,
                          "Use e.g. 0.7,0.15,0.15 or 2020-03-01,2020-04-01.")
    parse_cuts(items)
    return tuple(items)


def gap(value: Any) -> Any:
    """A whole number of rows (``"3"``, 3) or a duration (``"7D"``, ``"12h"``), checked here."""
    from ..splitting import parse_duration

    if isinstance(value, bool):
        raise param_error("gap", "a number of rows or a duration such as '7D'", value, "Use e.g. gap=3 or gap='7D'.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value)
    elif isinstance(value, str) and not is_number(value):
        parse_duration(value)
        return value.strip()
    else:
        raise param_error("gap", "a whole number of rows or a duration such as '7D'", value,
                          "Use e.g. --gap 3 (rows) or --gap 7D.")
    if number < 0 or number > INT64_MAX:
        raise param_error("gap", "a number of rows between 0 and 2**63-1", value, "Use e.g. --gap 3.")
    return number


def is_time_split(value: Any) -> bool:
    """Whether a parsed :func:`split` value is cut timestamps (not fractions)."""
    return bool(value) and all(isinstance(v, str) for v in value)


def read_frame(path: str, time: str | None) -> Any:
    """Read a CSV/Parquet table; its time column (if named) is read as training reads it.

    Dates and period strings ('1970 Q1', '1949-01', '2020W05') become timestamps, zone-aware
    stamps keep their zone, and integer columns (years, step numbers) stay numbers.
    """
    from ..io import read_table

    return parse_time_column(read_table(path), time)


def parse_time_column(df: Any, time: str | None) -> Any:
    """``df`` with its time column (if named and present) read as training reads it, in place."""
    import pandas as pd

    from ..timeaxis import parse_time

    if time is not None and time in df.columns:
        values, info = parse_time(df[time], time)
        column = pd.Series(values, index=df.index)
        if info["tz"] is not None:
            column = column.dt.tz_localize("UTC").dt.tz_convert(info["tz"])
        df[time] = column
    return df


def bool_flag(value: Any, name: str) -> bool:
    """A TOML/flag value as a bool, refused with the option's name otherwise."""
    if isinstance(value, bool):
        return value
    raise param_error(name, "true or false", value)


def infer_time(df: Any, group: str | None) -> str | None:
    """The time column of a table given without ``--time``: its only non-numeric column of dates, if any.

    A DataFrame with a DatetimeIndex saved by ``to_csv`` reads back with its dates in an unnamed
    first column (``Unnamed: 0``); a hand-made file has a ``date`` column. Either way, when exactly
    one text or datetime column parses as dates or periods in every row, it is the time axis.
    A text column qualifies only when every value holds a four-digit year (pandas would read series
    names such as ``T1`` as times of today). Numeric columns are never taken (a column of years could
    be a feature), nor is a column when two or more qualify: then nothing is inferred and the run
    has no time axis, as before.
    """
    import pandas as pd

    from ..exceptions import DataError
    from ..timeaxis import parse_time

    found = []
    for c in df.columns:
        col = df[c]
        if c == group or pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            continue
        if col.isna().any():
            continue
        # pandas reads series names such as 'T1' as times of today: a column of text qualifies only when
        # every value holds a four-digit year ('1991 Jul', '1970 Q1', '2021-05-01 00:00'); others need --time
        if not pd.api.types.is_datetime64_any_dtype(col.dtype) and not col.astype(str).str.contains(
                r"\d{4}", regex=True).all():
            continue
        try:
            _, info = parse_time(col, str(c))
        except (DataError, ValueError, TypeError, OverflowError):
            continue
        if info["kind"] in ("datetime", "period"):
            found.append(str(c))
    return found[0] if len(found) == 1 else None


def tsf_roles(df: Any, time: str | None, group: str | None, target: str | None
              ) -> tuple[str | None, str | None, str | None, list[str]]:
    """The time, group and target a table read from a ``.tsf`` file takes when not given.

    :func:`seqprep.datasets.load_tsf` writes the roles into ``df.attrs["tsf"]``: ``time`` is the
    time axis (dates, or step numbers when the file has no start timestamp or a frequency
    seqprep does not know), ``value`` the target (numeric attributes do not count), and the
    series key (``attrs["tsf"]["key"]``) the group when the file holds several series. Returns
    ``(time, group, target, notes)``: the notes are the lines ``seqprep train`` prints. A table
    that is not from a ``.tsf`` file is returned unchanged, with no notes.
    """
    info = getattr(df, "attrs", {}).get("tsf")
    notes: list[str] = []
    if not isinstance(info, dict):
        return time, group, target, notes
    n_series = int(info.get("n_series") or 0)
    if group is None and n_series > 1:
        if info.get("key") not in df.columns:
            from ..exceptions import DataError

            others = [str(c) for c in df.columns if c not in ("time", "value")]
            detail = (f"its attribute column(s) {', '.join(map(repr, others))} repeat values between series"
                      if others else "it has no attribute column")
            raise DataError(
                f"the .tsf file holds {n_series} series but no string attribute names each one alone ({detail}), "
                "so its series cannot be told apart. Give --group "
                "with a column that names each series, or join the attributes that do into one column with pandas "
                "(seqprep.datasets.load_tsf) and save the table as CSV or Parquet."
            )
        group = str(info["key"])
        notes.append(f"  series key: {group!r} (the .tsf file's first string attribute with one value per series; "
                     "--group names another)")
    if time is None and "time" in df.columns:
        time = "time"
        if df["time"].dtype.kind == "M":
            why = f"the .tsf file's start timestamps, {info['frequency']} steps"
        elif not info.get("frequency"):
            why = "step numbers 0, 1, ... of each series: the .tsf file has no @frequency"
        elif info.get("freq") is None:
            why = f"step numbers 0, 1, ... of each series: seqprep has no calendar for @frequency {info['frequency']}"
        else:
            why = "step numbers 0, 1, ... of each series: the .tsf file has no start timestamp"
        notes.append(f"  time axis: 'time' ({why}; --time names another)")
    if not target and "value" in df.columns:
        target = "value"
        notes.append("  target: 'value' (the .tsf file's series values; --target names another)")
    return time, group, target, notes


def infer_target(df: Any, time: str | None, group: str | None) -> str:
    """The target of a forecasting table given without ``--target``: its only numeric data column.

    Row-index columns (:func:`seqprep.io.index_columns`), the time and the group column do not
    count. With no numeric column, or several, the error lists them so that the user can pick one.
    """
    import pandas as pd

    from ..exceptions import InvalidParameterError
    from ..io import index_columns

    skip = {time, group, *index_columns(df, [time, group])}
    numeric = [str(c) for c in df.columns if str(c) not in skip and pd.api.types.is_numeric_dtype(df[c].dtype)
               and not pd.api.types.is_bool_dtype(df[c].dtype)]
    if len(numeric) == 1:
        return numeric[0]
    shown = ", ".join(repr(c) for c in numeric[:12]) + (", ..." if len(numeric) > 12 else "")
    raise InvalidParameterError(
        "`--target` is required for forecasting: the table has "
        + (f"{len(numeric)} numeric columns ({shown}); give one, e.g. --target {numeric[0]}."
           if numeric else "no numeric column to forecast; give --target with the column's name.")
    )
