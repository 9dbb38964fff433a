"""Time axes as they occur in real files: parsing, the calendar frequency, and gaps.

One module decides, for every part of seqprep (reading, ``check_data``, windows, the split, the
out-of-core and Dask scans, run reports), what the time column means and where its gaps are:

- :func:`parse_time` reads a time column: timestamps (``datetime64``, ISO strings, ``'1991 Jul'``),
  time zone-aware timestamps (kept as UTC instants, the zone is remembered), period strings
  (``'1970 Q1'``, ``'1974Q1'``, ``'2020-03'``, ``'2020W05'``: the start of each period) and numbers
  (years such as ``1821`` or step numbers: a time axis of its own, never nanoseconds since 1970).
- :func:`infer_frequency` infers the step the way pandas names it (``pd.infer_freq`` aliases:
  ``MS``/``ME``, ``QS-JAN``/``QE-DEC``, ``YS-JAN``/``YE-DEC``, ``W-SAT``, ``B``, ``D``, ``h``, ...),
  from the dominant step, so that a few gaps do not hide it.
- A **gap** is a missing step of that frequency: months of 28, 30 and 31 days are one step each,
  a weekend between two business days is no gap, and an integer axis has a step of 1 year (or row).

Examples
--------
>>> import pandas as pd
>>> t, info = parse_time(pd.Series(["1970 Q1", "1970 Q2", "1970 Q4"]))
>>> info["kind"]
'period'
>>> f = infer_frequency(t)
>>> f.name, f.breaks(t).tolist()
('QS-JAN', [2])
>>> format_time(t[2], f.name)
'1970Q4'
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import DataError

__all__ = ["Frequency", "format_time", "infer_frequency", "parse_time"]

_NS_DAY = 86_400 * 10**9
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_QUARTER = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]([1-4])\s*$")
_QUARTER_FIRST = re.compile(r"^\s*[Qq]([1-4])\s*[-/ ]?\s*(\d{4})\s*$")
_WEEK = re.compile(r"^\s*(\d{4})\s*-?\s*W(\d{1,2})\s*$")
_CALENDAR = re.compile(r"^(?:(\d+))?(MS|ME|QS|QE|YS|YE|B|months=)(?:-([A-Z]{3}))?(\d+)?$")


# --------------------------------------------------------------------------- parsing


def parse_time(raw: Any, name: str = "time") -> tuple[np.ndarray, dict[str, Any]]:
    """Read a time column into an array the rest of seqprep can do arithmetic on.

    Parameters
    ----------
    raw : Series, Index or array-like of shape (n_rows,)
        Timestamps, time zone-aware timestamps, strings (dates or periods), ``pd.Period`` values
        or numbers.
    name : str, default "time"
        The column's name, for messages.

    Returns
    -------
    values : ndarray of shape (n_rows,)
        ``datetime64[ns]`` (UTC instants for zone-aware input; period starts for periods), or
        the numbers themselves (an integer or float time axis).
    info : dict
        ``kind`` (``"datetime"``, ``"period"`` or ``"number"``) and ``tz`` (the zone, or None).

    Raises
    ------
    DataError
        Values that parse as none of these, or a missing timestamp (the row is named).

    Examples
    --------
    >>> parse_time([1821, 1822, 1823])[0].tolist()
    [1821, 1822, 1823]
    >>> str(parse_time(["2020W05"])[0][0])[:10]
    '2020-01-27'
    """
    series = raw if isinstance(raw, pd.Series) else pd.Series(raw.array if isinstance(raw, pd.Index) else raw)
    info: dict[str, Any] = {"kind": "datetime", "tz": None}
    dtype = series.dtype
    if isinstance(dtype, pd.PeriodDtype):
        info["kind"] = "period"
        if series.isna().any():
            _missing(series.isna().to_numpy(), name)
        return series.dt.start_time.to_numpy().astype("datetime64[ns]"), info
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _from_datetimes(series, info, name)
    if pd.api.types.is_bool_dtype(dtype):
        raise DataError(f"the time column {name!r} holds booleans. Pass timestamps, periods or numbers.")
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy()
        dates = _yyyymmdd(values)
        if dates is not None:
            return dates, info
        info["kind"] = "number"
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            _missing(~np.isfinite(values), name)
        return values, info
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _from_datetimes(series, info, name)
    if series.isna().any():
        _missing(series.isna().to_numpy(), name)
    first = series.iloc[0] if len(series) else None
    if isinstance(first, pd.Period):
        info["kind"] = "period"
        return pd.PeriodIndex(series).start_time.to_numpy().astype("datetime64[ns]"), info
    text = series.astype(str)
    periods = _parse_periods(text)
    if periods is not None:
        info["kind"] = "period"
        return periods, info
    if text.str.fullmatch(r"\s*[+-]?\d+\s*").all():  # integer step numbers read as text
        info["kind"] = "number"
        return text.astype(np.int64).to_numpy(), info
    return _from_datetimes(_to_datetime(text, name), info, name)


def _yyyymmdd(values: np.ndarray) -> np.ndarray | None:
    """Integers written as dates (``19580329``, R's and statsmodels' habit), else None."""
    if values.dtype.kind not in "iu" or len(values) < 2 or values.min() < 10000101 or values.max() > 29991231:
        return None
    month, day = values // 100 % 100, values % 100
    if not ((month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)).all():
        return None
    try:
        return pd.to_datetime(pd.Series(values).astype(str), format="%Y%m%d").to_numpy().astype("datetime64[ns]")
    except ValueError:
        return None


def _missing(mask: np.ndarray, name: str) -> None:
    row = int(np.flatnonzero(mask)[0])
    raise DataError(
        f"the time column {name!r} has {int(mask.sum())} missing timestamp(s); the first at row {row}. "
        "Every row needs a timestamp: fill or drop those rows."
    )


def _parse_periods(text: pd.Series) -> np.ndarray | None:
    """Quarter (``1970 Q1``, ``1974Q1``, ``Q1 1970``) and ISO week (``2020W05``) strings, else None."""
    m = text.str.extract(_QUARTER)
    if m.notna().all().all():
        years, quarters = m[0].astype(np.int64), m[1].astype(np.int64)
        return _month_starts(years.to_numpy(), 3 * quarters.to_numpy() - 2)
    m = text.str.extract(_QUARTER_FIRST)
    if m.notna().all().all():
        return _month_starts(m[1].astype(np.int64).to_numpy(), 3 * m[0].astype(np.int64).to_numpy() - 2)
    if text.str.fullmatch(r"\s*\d{4}-(0[1-9]|1[0-2])\s*").all():  # '2020-03', '1949-01': months
        m = text.str.extract(r"(\d{4})-(\d{2})")
        return _month_starts(m[0].astype(np.int64).to_numpy(), m[1].astype(np.int64).to_numpy())
    m = text.str.extract(_WEEK)
    if m.notna().all().all():
        iso = m[0] + "-W" + m[1].str.zfill(2) + "-1"
        try:
            out = pd.to_datetime(iso, format="%G-W%V-%u")
        except ValueError:
            return None
        return out.to_numpy().astype("datetime64[ns]")
    return None


def _month_starts(years: np.ndarray, months: np.ndarray) -> np.ndarray:
    months0 = (years - 1970) * 12 + (months - 1)
    return months0.astype("datetime64[M]").astype("datetime64[ns]")


def _to_datetime(text: pd.Series, name: str) -> pd.Series:
    """ISO 8601 first (fast, strict); then pandas' format inference, month first, then day first.

    Day first comes second: ``01/02/2020`` is read as 2 January, as pandas does, unless a later value
    (``13/01/2020``) only parses day first (a European spreadsheet's dates). Mixed UTC offsets
    become UTC.
    """
    for kwargs in ({"format": "ISO8601"}, {}, {"dayfirst": True}):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "could not infer format": we try ISO first
                return pd.to_datetime(text, **kwargs)
        except ValueError as exc:
            if "Mixed timezones" in str(exc) or "mixed time zones" in str(exc).lower():
                try:
                    return pd.to_datetime(text, utc=True, **kwargs)
                except ValueError:
                    continue
            continue
        except TypeError:
            break
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            coerced = pd.to_datetime(text, errors="coerce", format="mixed")
        except (ValueError, TypeError):
            coerced = pd.Series(pd.NaT, index=text.index)
    bad = np.flatnonzero(coerced.isna().to_numpy())
    if bad.size and bad.size < len(text):
        row = int(bad[0])
        raise DataError(
            f"the time column {name!r} does not parse as timestamps: row {row} holds {text.iloc[row]!r} "
            f"({bad.size} such row(s) in all). Fix those rows, or pass ISO dates ('2020-03-01'), periods "
            "('2020-03', '1970 Q1', '2020W05') or numbers (years, steps)."
        ) from None
    sample = ", ".join(repr(v) for v in text.head(3))
    raise DataError(
        f"the time column {name!r} does not parse as timestamps, periods or numbers (first values: {sample}). "
        "Pass ISO dates ('2020-03-01'), periods ('2020-03', '1970 Q1', '2020W05') or numbers (years, steps)."
    ) from None


def _from_datetimes(series: pd.Series, info: dict[str, Any], name: str) -> tuple[np.ndarray, dict[str, Any]]:
    if series.isna().any():
        _missing(series.isna().to_numpy(), name)
    tz = getattr(series.dtype, "tz", None)
    if tz is not None:
        info["tz"] = str(tz)
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.to_numpy().astype("datetime64[ns]"), info


def localize(values: np.ndarray, tz: str, name: str = "time") -> np.ndarray:
    """Naive local wall times in zone ``tz`` as UTC instants; a time DST skips or repeats is a DataError.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array(["2010-03-14T01:00", "2010-03-14T02:00"], dtype="datetime64[ns]")
    >>> localize(t, "America/Los_Angeles")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seqprep.exceptions.DataError: the time column 'time' has a local time that does not exist in zone ...
    """
    index = pd.DatetimeIndex(values)
    keep = np.zeros(len(index), dtype=bool)
    skipped = np.asarray(index.tz_localize(tz, nonexistent="NaT", ambiguous=keep).isna())
    repeated = np.asarray(index.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT").isna())
    for bad, what, why in ((skipped, "does not exist in zone", "the clocks skip it when daylight saving time starts"),
                           (repeated, "is ambiguous in zone", "the clocks repeat it when daylight saving time ends")):
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"the time column {name!r} has a local time that {what} {tz!r} ({why}): row {row} "
                f"({index[row]}); {int(bad.sum())} such row(s) in all. Fix those rows, or give UTC timestamps or "
                "timestamps with their UTC offset."
            )
    local = index.tz_localize(tz)
    return local.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[ns]")


# --------------------------------------------------------------------------- frequency


@dataclass(frozen=True)
class Frequency:
    """The step of a time axis and how to count steps.

    Attributes
    ----------
    name : str
        The pandas alias (``"MS"``, ``"QS-JAN"``, ``"YE-DEC"``, ``"W-SAT"``, ``"B"``, ``"D"``,
        ``"h"``, ``"30min"``) or the number step as text (``"1"``).
    kind : {"fixed", "months", "busdays"}
        ``fixed``: a constant duration or number; ``months``: ``n`` calendar months;
        ``busdays``: ``n`` business days (Monday to Friday).
    n : int
        Months or business days per step (1 for ``fixed``).
    step : timedelta64, number or str
        The value ``SeriesData.freq`` holds: the duration/number for ``fixed``, else ``name``.
    tz : str or None
        The zone of a zone-aware axis; calendar steps are counted on its local wall time.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array(["2020-01-31", "2020-02-29", "2020-04-30"], dtype="datetime64[ns]")
    >>> f = infer_frequency(t)
    >>> f.name, f.kind, f.breaks(t).tolist()
    ('ME', 'months', [2])
    """

    name: str
    kind: str
    n: int
    step: Any
    tz: str | None = None

    def ordinals(self, t: np.ndarray) -> np.ndarray | None:
        """Step counters of ``t`` (int64) for calendar steps; None for fixed steps (use the raw differences)."""
        if self.kind == "fixed":
            return None
        local = _local(np.asarray(t), self.tz)
        if self.kind == "months":
            return local.astype("datetime64[M]").astype(np.int64)
        return np.busday_count(np.datetime64("1970-01-05"), local.astype("datetime64[D]")).astype(np.int64)

    def _wall(self, t: np.ndarray) -> np.ndarray:
        """``t`` on the zone's wall clock when steps are whole days (a 23-hour day is one daily step)."""
        if self.tz is None or t.dtype.kind != "M" or self.kind != "fixed":
            return t
        ns = int(np.timedelta64(self.step, "ns").astype(np.int64))
        return _local(t, self.tz) if ns % _NS_DAY == 0 else t

    def step_counts(self, t: np.ndarray) -> np.ndarray:
        """Number of steps between consecutive times (float64, length ``len(t) - 1``); 1 is regular."""
        t = self._wall(np.asarray(t))
        ords = self.ordinals(t)
        if ords is not None:
            return np.diff(ords).astype(np.float64) / self.n
        diffs = t[1:] - t[:-1]
        step = self.step
        if diffs.dtype.kind == "m":
            return diffs.astype(np.int64).astype(np.float64) / float(np.timedelta64(step, "ns").astype(np.int64))
        return diffs.astype(np.float64) / float(step)

    def irregular(self, t: np.ndarray) -> np.ndarray:
        """Boolean of length ``len(t) - 1``: True where the step is not exactly one step of this frequency."""
        t = self._wall(np.asarray(t))
        if self.kind == "fixed" and np.asarray(t).dtype.kind != "f":
            return (t[1:] - t[:-1]) != self.step
        counts = self.step_counts(t)
        if self.kind == "fixed":  # float axis (e.g. R's decimal years): rounding noise is no gap
            return ~np.isclose(counts, 1.0, rtol=0, atol=1e-6)
        return counts != 1.0

    def breaks(self, t: np.ndarray, same: np.ndarray | None = None) -> np.ndarray:
        """Rows ``p`` with a gap between rows ``p - 1`` and ``p`` (``same``: diffs within a series)."""
        bad = self.irregular(t)
        if same is not None:
            bad &= same
        return (np.flatnonzero(bad) + 1).astype(np.int64)

    def to_json(self) -> Any:
        """What run files store: the alias for calendar steps, the duration or number for fixed ones."""
        if self.kind != "fixed":
            return self.name
        arr = np.asarray(self.step)
        return str(pd.Timedelta(self.step)) if arr.dtype.kind == "m" else arr.item()


def _local(t: np.ndarray, tz: str | None) -> np.ndarray:
    if tz is None or t.dtype.kind != "M":
        return t
    return pd.DatetimeIndex(t).tz_localize("UTC").tz_convert(tz).tz_localize(None).to_numpy()


def as_frequency(step: Any, tz: str | None = None) -> Frequency | None:
    """The :class:`Frequency` of a stored step (``SeriesData.freq`` or a run's ``"freq"``); None for None.

    Examples
    --------
    >>> as_frequency("QS-JAN").n, as_frequency(1).name, as_frequency("W-SAT").name
    (3, '1', 'W-SAT')
    """
    if step is None:
        return None
    if isinstance(step, Frequency):
        return step
    if isinstance(step, str):
        m = _CALENDAR.match(step)
        if m:
            mult = int(m.group(1) or m.group(4) or 1)
            base = m.group(2)
            if base == "B":
                return Frequency(step, "busdays", mult, step, tz)
            per = {"MS": 1, "ME": 1, "QS": 3, "QE": 3, "YS": 12, "YE": 12, "months=": 1}[base]
            return Frequency(step, "months", per * mult, step, tz)
        if re.fullmatch(r"W-(MON|TUE|WED|THU|FRI|SAT|SUN)", step):
            return Frequency(step, "fixed", 1, np.timedelta64(7 * _NS_DAY, "ns"), tz)
        try:
            td = pd.Timedelta(step)
        except ValueError:
            try:
                td = pd.Timedelta(pd.tseries.frequencies.to_offset(step))
            except (ValueError, TypeError):
                raise DataError(f"unknown time step {step!r}.") from None
        return Frequency(_fixed_name(td.to_timedelta64()), "fixed", 1, td.to_timedelta64(), tz)
    arr = np.asarray(step)
    if arr.dtype.kind == "m":
        return Frequency(_fixed_name(arr.astype("timedelta64[ns]")[()]), "fixed", 1, arr[()], tz)
    return Frequency(_number_name(arr.item()), "fixed", 1, arr[()], tz)


def require_frequency(step: Any, tz: str | None = None) -> Frequency:
    """:func:`as_frequency` for a step that must be there (a stored ``freq`` that is not None)."""
    frequency = as_frequency(step, tz)
    if frequency is None:
        raise DataError("a time step is needed here, but none was stored. Refit on data with a time column.")
    return frequency


def _number_name(x: Any) -> str:
    return str(int(x)) if float(x).is_integer() else f"{float(x):.6g}"


def _fixed_name(td: Any) -> str:
    ns = int(np.timedelta64(td, "ns").astype(np.int64))
    if ns > 0 and ns % _NS_DAY == 0:
        return "D" if ns == _NS_DAY else f"{ns // _NS_DAY}D"
    try:
        return str(pd.tseries.frequencies.to_offset(pd.Timedelta(td)).freqstr)
    except ValueError:
        return str(pd.Timedelta(td))


def _dominant(values: np.ndarray) -> Any:
    uniq, counts = np.unique(values, return_counts=True)
    return uniq[int(np.argmax(counts))], float(counts.max()) / float(len(values))


def infer_frequency(t: np.ndarray, same: np.ndarray | None = None, tz: str | None = None) -> Frequency | None:
    """Infer the step of a time axis, as pandas names it, from its dominant step.

    Unlike :func:`pandas.infer_freq` a few gaps do not hide the frequency: the most common step
    (within series, ``same``) decides, then the calendar tells months, quarters and years (of
    uneven lengths) and business days (a weekend is no gap) from fixed durations.

    Parameters
    ----------
    t : ndarray of shape (n_rows,)
        ``datetime64`` (UTC instants for zone-aware axes) or numbers, increasing within series.
    same : ndarray of bool of shape (n_rows - 1,), optional
        Which consecutive pairs belong to the same series (default: all).
    tz : str, optional
        The zone of a zone-aware axis: calendar steps are counted on its local wall time.

    Returns
    -------
    Frequency or None
        None when there are fewer than two rows in a series.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_frequency(pd.date_range("2020-01-01", periods=30, freq="B").to_numpy()).name
    'B'
    >>> infer_frequency(pd.date_range("2000", periods=5, freq="YS").to_numpy()).name
    'YS-JAN'
    """
    t = np.asarray(t)
    if len(t) < 2:
        return None
    diffs = t[1:] - t[:-1]
    keep = diffs > np.zeros(1, dtype=diffs.dtype)[0]
    if same is not None:
        keep &= same
    pos = diffs[keep]
    if pos.size == 0:
        return None
    step, share = _dominant(pos)
    if t.dtype.kind != "M":
        if t.dtype.kind == "f" and share < 0.9:  # decimal years and similar: rounding noise in the steps
            rounded = np.round(pos.astype(np.float64), 6)
            step, share = _dominant(rounded)
            step = pos[np.argmin(np.abs(pos - step))]
        return Frequency(_number_name(step), "fixed", 1, np.asarray(step)[()], tz)
    step_ns = int(np.timedelta64(step, "ns").astype(np.int64))
    local = _local(t, tz)
    firsts = np.concatenate([[0], np.flatnonzero(~same) + 1]) if same is not None else np.array([0])
    if step_ns >= 27 * _NS_DAY:  # months, quarters, years of uneven lengths
        months = local.astype("datetime64[M]").astype(np.int64)
        dm = np.diff(months)[keep]
        k = int(_dominant(dm[dm > 0])[0]) if (dm > 0).any() else 1
        name = _month_name(local, k)
        if share < 0.99 or not name.startswith("months="):
            return Frequency(name, "months", k, name, tz)
    if step_ns == _NS_DAY and _is_business_days(local, diffs, keep):
        return Frequency("B", "busdays", 1, "B", tz)
    name = _fixed_name(np.timedelta64(step_ns, "ns"))
    if step_ns == 7 * _NS_DAY:
        name = f"W-{_DAYS[int(pd.Timestamp(local[firsts[0]]).day_of_week)]}"
    return Frequency(name, "fixed", 1, np.timedelta64(step_ns, "ns"), tz)


def _month_name(local: np.ndarray, k: int) -> str:
    """Pandas' alias for a step of ``k`` months, anchored as the stamps are (start or end of month)."""
    idx = pd.DatetimeIndex(local)
    midnight = bool((idx.normalize() == idx).all())
    first_month = int(idx[0].month)
    if midnight and bool(idx.is_month_start.all()):
        suffix = "S"
    elif midnight and bool(idx.is_month_end.all()):
        suffix = "E"
    else:
        return f"months={k}"
    if k == 1:
        return f"M{suffix}"
    if k == 3:
        anchor = ((first_month - 1) % 3) if suffix == "S" else ((first_month - 1) % 3 + 9)
        return f"Q{suffix}-{_MONTHS[anchor]}"
    if k == 12:
        anchor = first_month - 1 if suffix == "S" else first_month - 1
        return f"Y{suffix}-{_MONTHS[anchor]}"
    return f"{k}M{suffix}"


def _is_business_days(local: np.ndarray, diffs: np.ndarray, keep: np.ndarray) -> bool:
    """Daily stamps that never fall on a weekend and skip at least five weekends (Friday to Monday).

    A few skipped weekends alone are more likely missing days of a daily series; five, with no
    stamp on any weekend, are a month of business days.
    """
    days = local.astype("datetime64[D]")
    weekday = (days.astype(np.int64) - 4) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    if (weekday >= 5).any():
        return False
    fri_mon = keep & (weekday[:-1] == 4) & (diffs == np.timedelta64(3 * _NS_DAY, "ns"))
    return int(fri_mon.sum()) >= 5


# --------------------------------------------------------------------------- display


def format_time(value: Any, freq: Any = None, tz: str | None = None) -> str:
    """One time value as a person reads it on this axis: a year, ``1970Q3``, ``1949-01``, a date or a number.

    Examples
    --------
    >>> import numpy as np
    >>> format_time(np.datetime64("1949-03-01"), "MS"), format_time(1871, 1), format_time(np.datetime64("2020-01-02"))
    ('1949-03', '1871', '2020-01-02')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _number_name(value) if float(value).is_integer() else f"{float(value):g}"
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return ""
    f = as_frequency(freq) if freq is not None and not isinstance(freq, Frequency) else freq
    if tz is not None:
        ts = ts.tz_localize("UTC").tz_convert(tz)
    if isinstance(f, Frequency) and f.kind == "months":
        if f.n == 12:
            return str(ts.year)
        if f.n == 3:
            return f"{ts.year}Q{(ts.month - 1) // 3 + 1}"
        return f"{ts.year}-{ts.month:02d}"
    if ts == ts.normalize():
        return str(ts.date())
    return str(ts)


def describe_frequency(freq: Frequency | None) -> str:
    """Words for a frequency: ``'MS (month start)'``, ``'1 (integer steps)'``, ``'h (hourly)'``."""
    if freq is None:
        return "unknown (fewer than two rows per series)"
    words = {"MS": "monthly, month start", "ME": "monthly, month end", "B": "business days", "D": "daily",
             "h": "hourly", "min": "every minute", "s": "every second"}
    name = freq.name
    if name in words:
        text = words[name]
    elif name.startswith("QS"):
        text = "quarterly, quarter start"
    elif name.startswith("QE"):
        text = "quarterly, quarter end"
    elif name.startswith("YS"):
        text = "yearly, year start"
    elif name.startswith("YE"):
        text = "yearly, year end"
    elif name.startswith("W-"):
        text = "weekly"
    elif name.startswith("months="):
        text = f"every {freq.n} calendar month(s)"
    elif freq.kind == "fixed" and np.asarray(freq.step).dtype.kind != "m":
        text = "numeric time axis"
    else:
        text = "fixed step"
    return f"{name} ({text}{', zone ' + freq.tz if freq.tz else ''})"


def shift(times: pd.Series, steps: int, freq: Any) -> pd.Series:
    """``times`` moved ``steps`` steps of ``freq`` on (numbers, durations or calendar aliases)."""
    f = as_frequency(freq)
    if f is None:
        return times
    if f.kind == "fixed":
        if np.asarray(f.step).dtype.kind == "m":
            return times + steps * pd.Timedelta(f.step)
        return times + steps * np.asarray(f.step).item()
    if f.kind == "busdays":
        return times + steps * f.n * pd.offsets.BDay()
    if f.name.startswith("months="):
        return times + pd.DateOffset(months=steps * f.n)
    return times + steps * pd.tseries.frequencies.to_offset(f.name)


def parse_duration(value: Any) -> Any:
    """A gap as a duration: ``timedelta64[ns]``, or a calendar ``DateOffset`` for ``"3MS"``, ``"1YS"``, ``"5B"``.

    Raises ValueError for anything else.

    Examples
    --------
    >>> parse_duration("7D"), parse_duration("3MS")
    (np.timedelta64(604800000000000,'ns'), <3 * MonthBegins>)
    """
    if isinstance(value, str) and _CALENDAR.match(value.strip()) and not value.strip().startswith("months="):
        return pd.tseries.frequencies.to_offset(value.strip())
    if isinstance(value, pd.offsets.BaseOffset):
        return value
    return pd.Timedelta(value).to_timedelta64().astype("timedelta64[ns]")


def is_calendar_step(value: str) -> bool:
    """Whether ``value`` names a calendar step (``"3MS"``, ``"1YS"``, ``"QE-DEC"``, ``"5B"``)."""
    return bool(_CALENDAR.match(value.strip())) and not value.strip().startswith("months=")


def calendar_duration(value: Any) -> Any:
    """A calendar step as a pandas offset (``"3MS"`` -> ``<3 * MonthBegins>``)."""
    if isinstance(value, pd.offsets.BaseOffset):
        return value
    return pd.tseries.frequencies.to_offset(value.strip())


def add_duration(t: Any, duration: Any) -> Any:
    """``t`` (a ``datetime64`` value or array) plus a duration from :func:`parse_duration`."""
    if isinstance(duration, pd.offsets.BaseOffset):
        arr = np.asarray(t)
        moved = pd.DatetimeIndex(arr.reshape(-1)) + duration
        out = moved.to_numpy().astype("datetime64[ns]")
        return out.reshape(arr.shape) if arr.ndim else out[0]
    return t + duration
