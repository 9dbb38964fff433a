"""Time axes as they occur in real files: parsing, the calendar frequency, gaps counted in its steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seqprep
from seqprep.exceptions import DataError
from seqprep.io import as_series, index_columns, read_table
from seqprep.timeaxis import as_frequency, format_time, infer_frequency, localize, parse_time, shift

DATA = Path(__file__).parent / "data"

# (file, time column, kind, frequency, first, last) for every kind of time axis in tests/data
REAL = [
    ("airline/Airline.csv", "Date", "period", "MS", "1949-01", "1960-12"),
    ("pbs/PBS_dataset.csv", "Month", "datetime", "MS", "1991-07", "2008-06"),
    ("seatbelts/seatbelts.csv", "Unnamed: 0", "datetime", "MS", "1969-01", "1984-12"),
    ("r_economics/economics.csv", "date", "datetime", "ME", "1967-06", "2007-03"),
    ("uschange/Uschange.csv", "Quarter", "period", "QS-JAN", "1970Q1", "2016Q3"),
    ("sm_danish_data/danish_data.csv", "period", "period", "QS-JAN", "1974Q1", "1987Q3"),
    ("sm_nile/nile.csv", "year", "number", "1", "1871", "1970"),
    ("lynx/Lynx.csv", "Unnamed: 0", "number", "1", "1821", "1934"),
    ("sm_co2/co2.csv", "date", "datetime", "W-SAT", "1958-03-29", "2001-12-29"),
    ("river_sp500/sp500.csv", "date", "datetime", "B", "2013-02-11", "2014-04-21"),
    ("vega_seattle_temps/seattle-temps.csv", "date", "datetime", "h", "2010-01-01", "2010-12-31 23:00:00"),
]


@pytest.mark.parametrize(("file", "column", "kind", "freq", "first", "last"), REAL)
def test_real_time_columns_parse_with_their_calendar_frequency(file, column, kind, freq, first, last):
    df = read_table(DATA / file)
    values, info = parse_time(df[column], column)
    assert info["kind"] == kind
    f = infer_frequency(values, tz=info["tz"])
    assert f.name == freq
    assert (format_time(values[0], f), format_time(values[-1], f)) == (first, last)


def test_uneven_months_are_no_gap_and_a_36_month_file_gives_windows():
    df = pd.DataFrame({"month": pd.date_range("2020-01-31", periods=36, freq="ME"), "y": np.arange(36.0)})
    sd = as_series(df, time="month")
    assert sd.report["freq"] == "ME" and "gaps" not in sd.report and len(sd.breaks) == 0
    w = seqprep.windows(df, lookback=12, target="y", time="month")
    assert len(w) == 24
    report = seqprep.check_data(df, time="month")
    assert "TIME_GAPS" not in report.codes and "TIME_AXIS" in report.codes


def test_a_missing_month_is_one_gap_of_one_step_everywhere():
    t = pd.date_range("2000-01-01", periods=30, freq="MS").delete(10)
    df = pd.DataFrame({"t": t, "y": np.arange(29.0)})
    sd = as_series(df, time="t")
    assert sd.breaks.tolist() == [10] and sd.report["missing_steps"] == 1
    gaps = seqprep.check_data(df, time="t").findings[[f.code for f in seqprep.check_data(df, time="t").findings]
                                                     .index("TIME_GAPS")]
    assert gaps.evidence["gaps"] == 1 and gaps.evidence["missing_steps"] == 1 and gaps.evidence["first_row"] == 10
    with pytest.raises(DataError, match="span a gap.*1 missing step.*MS"):
        seqprep.windows(df, lookback=19, target="y", time="t")
    assert len(seqprep.windows(df, lookback=19, target="y", time="t", allow_gaps=True)) == 29 - 19


@pytest.mark.parametrize(
    ("values", "freq", "text"),
    [
        (["1970 Q1", "1970 Q2", "1970 Q3"], "QS-JAN", "1970Q3"),
        (["1974Q1", "1974Q2", "1974Q3"], "QS-JAN", "1974Q3"),
        (["Q1 1974", "Q2 1974", "Q3 1974"], "QS-JAN", "1974Q3"),
        (["2020-03", "2020-04", "2020-05"], "MS", "2020-05"),
        (["1991 Jul", "1991 Aug", "1991 Sep"], "MS", "1991-09"),
        (["2020W05", "2020W06", "2020W07"], "W-MON", "2020-02-10"),
        ([1821, 1822, 1823], "1", "1823"),
        ([19580329, 19580405, 19580412], "W-SAT", "1958-04-12"),
        (pd.period_range("2001", periods=3, freq="Y"), "YS-JAN", "2001"),
    ],
)
def test_period_strings_years_and_periods(values, freq, text):
    t, _ = parse_time(values)
    f = infer_frequency(t)
    assert f.name == freq
    if freq == "YS-JAN":
        text = "2003"
    assert format_time(t[-1], f) == text


def test_business_days_skip_weekends_but_not_holidays():
    days = pd.bdate_range("2024-01-01", periods=60)
    t = days.delete(20).to_numpy()  # a holiday: one missing business day
    f = infer_frequency(t)
    assert f.name == "B"
    assert f.breaks(t).tolist() == [20]


def test_integer_time_axis_is_steps_not_nanoseconds():
    df = pd.DataFrame({"year": np.arange(1821, 1921), "v": np.arange(100.0)})
    pipe = seqprep.Pipeline(5, target="v", time="year")
    parts = pipe.fit(df)
    d = parts.describe()
    assert d.attrs["freq"] == "1" and d.attrs["time_kind"] == "number"
    assert d.loc["train", "first_target_time"] == 1826
    assert d.loc["test", "last_target_time"] == 1920


def test_zone_aware_timestamps_keep_their_zone_and_dst_is_no_gap():
    t = pd.date_range("2021-03-27", periods=72, freq="h", tz="Europe/Berlin")  # spans the spring change
    df = pd.DataFrame({"t": t, "y": np.arange(72.0)})
    sd = as_series(df, time="t")
    assert sd.report["timezone"] == "Europe/Berlin" and "gaps" not in sd.report
    daily = pd.DataFrame({"t": pd.date_range("2021-03-20", periods=20, freq="D", tz="Europe/Berlin"), "y": 1.0})
    sd = as_series(daily, time="t")
    assert sd.report["freq"] == "D" and "gaps" not in sd.report  # a 23-hour day is one step
    mixed = ["2022-03-26T23:00:00+01:00", "2022-03-27T00:00:00+01:00", "2022-03-27T02:00:00+02:00"]
    values, info = parse_time(mixed)
    assert info["tz"] == "UTC" and infer_frequency(values).breaks(values).tolist() == []


def test_a_nonexistent_local_time_is_a_clear_data_error():
    naive = pd.read_csv(DATA / "vega_seattle_temps" / "seattle-temps.csv")["date"]
    values, _ = parse_time(naive)
    with pytest.raises(DataError, match=r"does not exist in zone 'America/Los_Angeles'.*2010-03-14 02:00"):
        localize(values, "America/Los_Angeles")
    # read as naive local time it is regular except the hour the file drops
    f = infer_frequency(values)
    assert f.name == "h" and len(f.breaks(values)) == 1


def test_calendar_gap_durations_and_shifts():
    df = pd.DataFrame({"t": pd.date_range("2000-01-01", periods=60, freq="MS"), "y": np.arange(60.0)})
    w = seqprep.windows(df, lookback=3, target="y", time="t")
    parts = seqprep.split(w, (0.5, 0.5), gap="3MS")
    first_test = parts.test.provenance()["target_time"].min()
    last_train = parts.train.provenance()["target_time"].max()
    assert (first_test.year * 12 + first_test.month) - (last_train.year * 12 + last_train.month) == 4
    out = shift(pd.Series(pd.to_datetime(["2020-01-31"])), 1, "ME")
    assert str(out.iloc[0].date()) == "2020-02-29"
    assert shift(pd.Series([1999]), 2, 1).iloc[0] == 2001
    assert as_frequency("QS-JAN").n == 3


def test_index_columns_written_by_pandas_are_not_inputs():
    df = read_table(DATA / "uschange" / "Uschange.csv")
    assert index_columns(df, ["Quarter"]) == ["Unnamed: 0"]
    sd = as_series(df, time="Quarter")
    assert "Unnamed: 0" not in sd.columns and sd.report["index_columns"] == ["Unnamed: 0"]
    report = seqprep.check_data(df, time="Quarter")
    assert "INDEX_COLUMN" in report.codes
    r_style = read_table(DATA / "r_economics" / "economics.csv")
    assert index_columns(r_style, ["date"]) == ["Unnamed: 0"]
    assert index_columns(pd.DataFrame({"a": [3, 4, 5], "b": [0.1, 0.2, 0.3]})) == []


def test_a_byte_order_mark_is_not_part_of_the_column_name():
    assert read_table(DATA / "sm_danish_data" / "danish_data.csv").columns[0] == "period"


def test_outofcore_scan_agrees_with_memory_on_calendar_gaps(tmp_path):
    pytest.importorskip("pyarrow")
    t = pd.date_range("2000-01-31", periods=80, freq="ME").delete([30, 31])
    df = pd.DataFrame({"t": t, "y": np.sin(np.arange(78.0)), "x": np.arange(78.0)})
    path = tmp_path / "m.parquet"
    df.to_parquet(path)
    pipe = seqprep.Pipeline(6, target="y", features=["x", "y"], time="t", split=(0.6, 0.2, 0.2))
    mem = pipe.fit(df)
    ooc = seqprep.Pipeline(6, target="y", features=["x", "y"], time="t", split=(0.6, 0.2, 0.2)).fit_stream(path)
    assert pipe.schema_["freq"] == "ME"
    assert ooc.pipeline.schema_["freq"] == pipe.schema_["freq"]
    assert ooc.breaks.tolist() == mem.train.series_data.breaks.tolist() == [30]
    assert sum(len(mem[p]) for p in mem.parts) == 78 - 6 - 6  # windows never span the one gap


def test_new_data_keeps_the_fitted_calendar_step():
    t = pd.bdate_range("2024-01-01", periods=120)
    df = pd.DataFrame({"t": t, "y": np.sin(np.arange(120.0))})
    pipe = seqprep.Pipeline(5, target="y", time="t")
    pipe.fit(df)
    assert pipe.schema_["freq"] == "B"
    tail = df.iloc[-12:]  # two weekends: too few to infer business days from the slice alone
    assert len(pipe.transform(tail)) == 12 - 5 + 1
    hourly = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=30, freq="h"), "y": 1.0})
    with pytest.raises(DataError, match="time step is 'h' but the pipeline was fitted on 'B'"):
        pipe.transform(hourly)


def test_day_first_dates_of_a_european_spreadsheet_parse_when_month_first_cannot():
    """'13/01/2020' only parses day first; '01/13/2020' only month first; each file is read its own way."""
    days = pd.date_range("2020-01-01", periods=40, freq="D")
    values, info = parse_time(pd.Series(days.strftime("%d/%m/%Y")), "date")
    assert info["kind"] == "datetime" and (values == days.to_numpy()).all()
    values, _ = parse_time(pd.Series(days.strftime("%m/%d/%Y")), "date")
    assert (values == days.to_numpy()).all()
    with pytest.raises(DataError, match="date"):
        parse_time(pd.Series(["13/13/2020", "14/13/2020"]), "date")
