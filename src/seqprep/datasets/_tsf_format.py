r"""Reader for the Monash forecasting repository's ``.tsf`` format.

A ``.tsf`` file has ``#`` comment lines, ``@`` header lines (``@relation NAME``,
``@attribute NAME TYPE`` with TYPE ``string``, ``numeric`` or ``date``, ``@frequency``,
``@horizon``, ``@missing``, ``@equallength``), then ``@data`` and one series a line: the
attribute values, then the series' comma-separated values, all separated by ``:``, as in
``T1:1979-01-01 00-00-00:25092.2,24271.5,?``. ``?`` marks a missing value, and dates are
written ``YYYY-MM-DD HH-MM-SS`` (dashes in the time, since ``:`` separates the fields).

:func:`load_tsf` returns a LONG table, one row per observation, which is what
``seqprep train`` and :func:`seqprep.io.as_series` read with ``group=`` the series key.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import list_names
from ..exceptions import DataError, DataWarning
from ._archive_formats import _parse_bool, _parse_positive_int, _where, check_data_file

__all__ = ["load_tsf"]

# The repository's frequency words -> (pandas alias, months per step, or the fixed duration of a step).
_FREQUENCIES: dict[str, tuple[str, int | np.timedelta64]] = {
    "yearly": ("YS", 12),
    "quarterly": ("QS", 3),
    "monthly": ("MS", 1),
    "weekly": ("W", np.timedelta64(7, "D")),
    "daily": ("D", np.timedelta64(1, "D")),
    "hourly": ("h", np.timedelta64(1, "h")),
    "half_hourly": ("30min", np.timedelta64(30, "m")),
    "10_minutes": ("10min", np.timedelta64(10, "m")),
    "minutely": ("min", np.timedelta64(1, "m")),
    "4_seconds": ("4s", np.timedelta64(4, "s")),
}
_TYPES = ("string", "numeric", "date")
_DATE_FORMATS = ("%Y-%m-%d %H-%M-%S", "%Y-%m-%d")
# The span datetime64[ns] holds (what pandas and the rest of seqprep use).
_NS_MIN = np.datetime64(pd.Timestamp.min.ceil("s").to_datetime64(), "s")
_NS_MAX = np.datetime64(pd.Timestamp.max.floor("s").to_datetime64(), "s")


def load_tsf(path: str | os.PathLike[str]) -> pd.DataFrame:
    r"""Read a Monash forecasting repository ``.tsf`` file into a long DataFrame.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.tsf`` file (UTF-8; comment lines may hold any text).

    Returns
    -------
    DataFrame of shape (n_observations, n_attributes + 2)
        One row per observation, series after series in file order. Columns:

        - each ``@attribute`` in file order: ``string`` attributes as strings, ``numeric``
          ones as int64 (float64 when a value is fractional or ``?``), ``date`` ones as
          ``datetime64[ns]``; the first ``date`` attribute (the series' start) is dropped
          when it becomes the ``time`` column;
        - ``time``: ``datetime64[ns]``, the start plus ``k`` steps of the frequency, when the
          file has a ``date`` attribute and a known ``@frequency`` (``yearly``, ``quarterly``,
          ``monthly``, ``weekly``, ``daily``, ``hourly``, ``half_hourly``, ``10_minutes``,
          ``minutely``, ``4_seconds``); otherwise the int64 step number ``0..n-1`` of each
          series (and a ``date`` attribute stays a column);
        - ``value``: float64, NaN where the file has ``?``.

        ``df.attrs["tsf"]`` is a JSON-able dict: ``relation``, ``frequency`` (as written),
        ``freq`` (the pandas alias, or None when unknown), ``horizon`` (int or None),
        ``missing`` and ``equallength`` (bool, or None when absent), ``key`` (the first
        ``string`` attribute whose value differs between all series: the series key; None
        when no attribute is one) and ``n_series``.

    Raises
    ------
    DataError
        If the file is empty or has no ``@data`` line, a header is malformed (an unknown
        attribute type, a duplicate attribute, a non-integer ``@horizon``), a data line has
        the wrong number of ``:``-separated fields, a value is not a number or ``?``, a series
        is empty or all missing, a date is not ``YYYY-MM-DD HH-MM-SS``, the series have
        different lengths under ``@equallength true``, or an attribute is named ``time`` or
        ``value``. Messages name the file and the line.

    Warns
    -----
    DataWarning
        If the file declares ``@missing false`` but has ``?`` values (they are read as NaN,
        as aeon's and sktime's readers do, which do not check the header).

    See Also
    --------
    load_ts : the UCR/UEA ``.ts`` classification format.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from seqprep.datasets import load_tsf
    >>> text = ("@relation toy\n@attribute series_name string\n@attribute start_timestamp date\n"
    ...         "@frequency yearly\n@horizon 2\n@data\n"
    ...         "T1:1979-01-01 00-00-00:1,2,3\nT2:1990-01-01 00-00-00:5,?\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "toy.tsf"
    ...     _ = path.write_text(text)
    ...     df = load_tsf(path)
    >>> df
      series_name       time  value
    0          T1 1979-01-01    1.0
    1          T1 1980-01-01    2.0
    2          T1 1981-01-01    3.0
    3          T2 1990-01-01    5.0
    4          T2 1991-01-01    NaN
    >>> df.attrs["tsf"]["freq"], df.attrs["tsf"]["key"], df.attrs["tsf"]["n_series"]
    ('YS', 'series_name', 2)
    """
    path = check_data_file(path, ".tsf")
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        return _read(handle, path)


# --------------------------------------------------------------------------- headers


def _parse_header(line: str, path: Path, lineno: int, meta: dict[str, Any],
                  attributes: list[tuple[str, str, int]]) -> None:
    """Store one ``@name value`` header line in *meta* (or *attributes*)."""
    parts = line[1:].split()
    key = parts[0].lower() if parts else ""
    args = parts[1:]
    if key == "attribute":
        if len(args) != 2:
            raise DataError(
                f"{_where(path, lineno)}: an attribute line must be '@attribute NAME TYPE' (TYPE string, numeric "
                f"or date). Received: {line[:80]!r}."
            )
        name, kind = args[0], args[1].lower()
        if kind not in _TYPES:
            raise DataError(
                f"{_where(path, lineno)}: attribute {name!r} has the type {args[1]!r}; a .tsf attribute is string, "
                "numeric or date. Fix the type."
            )
        first = next((at for n, _, at in attributes if n == name), None)
        if first is not None:
            raise DataError(
                f"{_where(path, lineno)}: attribute {name!r} is declared again (first at line {first}). "
                "Give each attribute its own name."
            )
        attributes.append((name, kind, lineno))
    elif key in ("relation", "frequency"):
        if not args:
            raise DataError(f"{_where(path, lineno)}: header @{parts[0]} needs a value. Received: {line!r}.")
        meta[key] = " ".join(args)
    elif key == "horizon":
        meta["horizon"] = _parse_positive_int(" ".join(args), parts[0], path, lineno, " (the steps to forecast)")
    elif key in ("missing", "equallength"):
        meta[key] = _parse_bool(" ".join(args), parts[0], path, lineno)
    elif not key:
        raise DataError(f"{_where(path, lineno)}: a header line must be '@name value'. Received: {line!r}.")
    # other headers are not part of the format; they are ignored, as aeon's reader does


# --------------------------------------------------------------------------- data lines


def _parse_values(text: str, path: Path, lineno: int) -> tuple[np.ndarray, int]:
    """One series, ``"1.0,2.5,?"``, as float64 (``?`` -> NaN) and its number of ``?``."""
    n_missing = text.count("?")
    try:
        values = np.array(text.replace("?", "nan").split(","), dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and int(np.count_nonzero(~np.isfinite(values))) == n_missing:
        return values, n_missing
    # Slow path, only to word the error: find the first bad token ('nan' and 'inf' written out count as bad).
    for position, token in enumerate(text.split(",")):
        word = token.strip()
        if word == "?":
            continue
        try:
            number = float(word)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            what = "an empty value" if not word else f"the value {word[:40]!r}"
            raise DataError(
                f"{_where(path, lineno)}: the series has {what} at position {position}, not a number. Values must "
                "be finite numbers separated by ',' with '?' for a missing value. Fix the value."
            )
    raise DataError(f"{_where(path, lineno)}: the series could not be parsed as numbers.")  # pragma: no cover


def _read(handle: Iterable[str], path: Path) -> pd.DataFrame:
    """Parse the open file *handle*; *path* is only used in messages."""
    meta: dict[str, Any] = {}
    attributes: list[tuple[str, str, int]] = []  # (name, type, header line)
    lines = ((lineno, raw.strip()) for lineno, raw in enumerate(handle, start=1))
    last = 0
    blank = True
    for lineno, line in lines:
        last = lineno
        if not line or line.startswith("#"):
            continue
        blank = False
        if not line.startswith("@"):
            raise DataError(
                f"{_where(path, lineno)}: expected a '#' comment or an '@' header before @data. "
                f"Received: {line[:60]!r}. Add the '@data' line before the series."
            )
        if line[1:].strip().lower() == "data":
            data_line = lineno
            break
        _parse_header(line, path, lineno, meta, attributes)
    else:
        if blank:
            raise DataError(
                f"{_where(path, max(last, 1))}: the file "
                f"{'has only blank and # comment lines' if last else 'is empty'}. A .tsf file needs '@attribute' "
                "headers, '@data', then one series a line. Check that this is the .tsf file."
            )
        raise DataError(
            f"{_where(path, last)}: the file ends without an '@data' line. A .tsf file needs its '@' headers, "
            "then '@data', then one series a line."
        )

    n_fields = len(attributes) + 1
    fields: list[list[str]] = []
    chunks: list[np.ndarray] = []
    linenos: list[int] = []
    first_missing = 0
    n_missing = 0
    for lineno, line in lines:
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            raise DataError(f"{_where(path, lineno)}: header line {line[:40]!r} after @data. Move it above @data.")
        parts = line.split(":")
        if len(parts) != n_fields:
            names = list_names(name for name, _, _ in attributes)
            raise DataError(
                f"{_where(path, lineno)}: expected {n_fields} ':'-separated fields (the attributes "
                f"{names or '(none)'}, then the values), as the @attribute lines declare. Received "
                f"{len(parts)} in {line[:60]!r}. Dates are written 'YYYY-MM-DD HH-MM-SS', with dashes in the time."
            )
        values, missing = _parse_values(parts[-1], path, lineno)
        if missing == values.size:
            raise DataError(
                f"{_where(path, lineno)}: every value of this series is missing ('?'). A series needs at least "
                "one number; remove the line or fill in its values."
            )
        if meta.get("equallength") is True and chunks and values.size != chunks[0].size:
            raise DataError(
                f"{_where(path, lineno)}: the file declares @equallength true but this series has {values.size} "
                f"values and the first (line {linenos[0]}) has {chunks[0].size}. Fix the header "
                "(@equallength false) or the data."
            )
        if missing and not first_missing:
            first_missing = lineno
        n_missing += missing
        fields.append([p.strip() for p in parts[:-1]])
        chunks.append(values)
        linenos.append(lineno)

    if not chunks:
        raise DataError(
            f"{_where(path, data_line)}: no series after @data. Write one series a line after '@data'."
        )
    if meta.get("missing") is False and n_missing:
        warnings.warn(
            f"{_where(path, first_missing)}: the file declares @missing false but has {n_missing} missing "
            "value(s) ('?'), the first on this line; they are read as NaN. Set @missing true if they are expected.",
            DataWarning,
            stacklevel=3,
        )
    return _assemble(fields, chunks, linenos, attributes, meta, path)


# --------------------------------------------------------------------------- the long table


def _parse_dates(raw: list[str], name: str, linenos: list[int], path: Path) -> np.ndarray:
    """One ``date`` attribute, one value per series, as datetime64[s]."""
    text = pd.Series(raw, dtype=object)
    parsed = pd.to_datetime(text, format=_DATE_FORMATS[0], errors="coerce")
    if parsed.isna().any():  # a date without its time of day is accepted too
        parsed = parsed.fillna(pd.to_datetime(text, format=_DATE_FORMATS[1], errors="coerce"))
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{_where(path, linenos[i])}: attribute {name!r} is {raw[i][:40]!r}, not a date as .tsf files write them: "
            "'YYYY-MM-DD HH-MM-SS' (dashes in the time), e.g. '1979-01-01 00-00-00'. Fix the date."
        )
    return parsed.to_numpy().astype("datetime64[s]")


def _parse_numbers(raw: list[str], name: str, linenos: list[int], path: Path) -> np.ndarray:
    """One ``numeric`` attribute as int64, or float64 when a value is fractional or ``?``."""
    out = np.empty(len(raw), dtype=np.float64)
    for i, word in enumerate(raw):
        try:
            out[i] = math.nan if word == "?" else float(word)
        except ValueError:
            raise DataError(
                f"{_where(path, linenos[i])}: the numeric attribute {name!r} is {word[:40]!r}, not a number. "
                "Fix the value, or declare the attribute as string."
            ) from None
    if np.isfinite(out).all() and (out == np.round(out)).all() and (np.abs(out) < 2**53).all():
        return out.astype(np.int64)
    return out


def _to_ns(times: np.ndarray, lengths: np.ndarray, linenos: list[int], path: Path, what: str) -> np.ndarray:
    """datetime64[s] -> datetime64[ns], refusing instants outside what nanoseconds hold."""
    outside = np.flatnonzero((times < _NS_MIN) | (times > _NS_MAX))
    if outside.size:
        series = int(np.searchsorted(np.cumsum(lengths), outside[0], side="right"))
        raise DataError(
            f"{_where(path, linenos[series])}: {what} reaches {times[outside[0]]}, outside the dates pandas holds "
            f"({_NS_MIN} to {_NS_MAX}). Fix the start date or the @frequency."
        )
    return times.astype("datetime64[ns]")


def _calendar(start: np.ndarray, step: np.ndarray, every: int | np.timedelta64) -> np.ndarray:
    """``start + step`` steps of *every* (months, or a duration), all rows at once (datetime64[s] in and out).

    Month-based steps keep the start's day of the month and time of day (the day is clipped to
    the month's last day); the others add a fixed duration, so a weekly series keeps its weekday.
    """
    if isinstance(every, np.timedelta64):
        return start + step * every
    n = every
    day = start.astype("datetime64[D]")
    month = start.astype("datetime64[M]")
    into_month = day - month.astype("datetime64[D]")
    clock = start - day
    target = month + step * n
    first = target.astype("datetime64[D]")
    last = (target + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.minimum(first + into_month, last) + clock


def _assemble(fields: list[list[str]], chunks: list[np.ndarray], linenos: list[int],
              attributes: list[tuple[str, str, int]], meta: dict[str, Any], path: Path) -> pd.DataFrame:
    """Concatenate the series into the long table, with ``df.attrs["tsf"]``."""
    lengths = np.array([c.size for c in chunks], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    step = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(offsets, lengths)
    frequency = meta.get("frequency")
    spec = _FREQUENCIES.get(frequency.lower()) if frequency else None
    dates = [name for name, kind, _ in attributes if kind == "date"]
    every = spec[1] if spec is not None else None
    start_name = dates[0] if dates and every is not None else None

    columns: dict[str, Any] = {}
    key = None
    for position, (name, kind, header_line) in enumerate(attributes):
        raw = [f[position] for f in fields]
        if kind == "string":
            if key is None and len(set(raw)) == len(raw):
                key = name
            column: np.ndarray = np.array(raw, dtype=object)
        elif kind == "numeric":
            column = _parse_numbers(raw, name, linenos, path)
        else:
            starts = _parse_dates(raw, name, linenos, path)
            if name == start_name and every is not None:
                times = _calendar(np.repeat(starts, lengths), step, every)
                what = f"the time axis (the start plus {frequency} steps) of the series on this line"
                columns["time"] = _to_ns(times, lengths, linenos, path, what)
                continue
            column = _to_ns(starts, np.ones(len(raw), dtype=np.int64), linenos, path, f"attribute {name!r}")
        if name in ("time", "value"):
            raise DataError(
                f"{_where(path, header_line)}: attribute {name!r} has the name of a column load_tsf adds ('time' "
                "and 'value'). Rename the attribute."
            )
        columns[name] = np.repeat(column, lengths)
    if start_name is None:
        columns["time"] = step
    time = columns.pop("time")
    columns["time"] = time
    columns["value"] = np.concatenate(chunks)
    frame = pd.DataFrame(columns)
    frame.attrs["tsf"] = {
        "relation": meta.get("relation"),
        "frequency": frequency,
        "freq": spec[0] if spec is not None else None,
        "horizon": meta.get("horizon"),
        "missing": meta.get("missing"),
        "equallength": meta.get("equallength"),
        "key": key,
        "n_series": len(chunks),
    }
    return frame
