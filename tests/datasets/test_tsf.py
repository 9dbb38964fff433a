"""Tests of seqprep.datasets.load_tsf: the Monash forecasting repository's .tsf reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqprep import read_table
from seqprep.datasets import load_tsf
from seqprep.exceptions import DataError, DataWarning, InvalidParameterError

MONASH = Path(__file__).resolve().parents[1] / "data" / "monash_tsf"  # aeon 1.6.0 copies, see ATTRIBUTION.md

YEARLY = """# Dataset Information
#
@relation toy
@attribute series_name string
@attribute start_timestamp date
@frequency yearly
@horizon 2
@missing false
@equallength false
@data
T1:1979-01-01 00-00-00:1.5,2,3
T2:1990-06-01 00-00-00:10,20
"""


def _write(tmp_path: Path, text: str, name: str = "toy.tsf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yearly_with_start_timestamps(tmp_path):
    df = load_tsf(_write(tmp_path, YEARLY))
    assert list(df.columns) == ["series_name", "time", "value"]
    assert df["series_name"].tolist() == ["T1", "T1", "T1", "T2", "T2"]
    assert df["time"].dtype == np.dtype("datetime64[ns]")
    expected = ["1979-01-01", "1980-01-01", "1981-01-01", "1990-06-01", "1991-06-01"]
    assert df["time"].tolist() == [pd.Timestamp(t) for t in expected]
    assert df["value"].dtype == np.float64
    np.testing.assert_array_equal(df["value"].to_numpy(), [1.5, 2.0, 3.0, 10.0, 20.0])
    assert df.attrs["tsf"] == {
        "relation": "toy", "frequency": "yearly", "freq": "YS", "horizon": 2, "missing": False,
        "equallength": False, "key": "series_name", "n_series": 2,
    }
    json.dumps(df.attrs["tsf"])  # JSON-able


def test_no_start_timestamp_gives_step_numbers(tmp_path):
    text = "@relation r\n@attribute series_name string\n@frequency yearly\n@data\nA:1,2,3\nB:4,5\n"
    df = load_tsf(_write(tmp_path, text))
    assert list(df.columns) == ["series_name", "time", "value"]
    assert df["time"].dtype == np.int64
    assert df["time"].tolist() == [0, 1, 2, 0, 1]
    np.testing.assert_array_equal(df["value"].to_numpy(), [1.0, 2.0, 3.0, 4.0, 5.0])
    assert df.attrs["tsf"]["freq"] == "YS" and df.attrs["tsf"]["horizon"] is None
    assert df.attrs["tsf"]["missing"] is None and df.attrs["tsf"]["equallength"] is None


def test_unknown_frequency_keeps_the_start_column_and_counts_steps(tmp_path):
    text = "@attribute s string\n@attribute start date\n@frequency 15_seconds\n@data\nA:2000-01-01 00-00-00:1,2\n"
    df = load_tsf(_write(tmp_path, text))
    assert list(df.columns) == ["s", "start", "time", "value"]
    assert df["time"].tolist() == [0, 1]
    assert df["start"].tolist() == [pd.Timestamp("2000-01-01")] * 2
    assert df.attrs["tsf"]["freq"] is None and df.attrs["tsf"]["frequency"] == "15_seconds"


@pytest.mark.parametrize(
    ("frequency", "start", "expected"),
    [
        ("quarterly", "2000-01-01 00-00-00", ["2000-01-01", "2000-04-01", "2000-07-01"]),
        ("monthly", "2000-01-31 00-00-00", ["2000-01-31", "2000-02-29", "2000-03-31"]),  # day clipped, kept
        ("weekly", "2020-01-01 00-00-00", ["2020-01-01", "2020-01-08", "2020-01-15"]),  # weekday kept
        ("daily", "2020-02-28 00-00-00", ["2020-02-28", "2020-02-29", "2020-03-01"]),
        ("hourly", "2020-01-01 23-00-00", ["2020-01-01 23:00", "2020-01-02 00:00", "2020-01-02 01:00"]),
        ("half_hourly", "2020-01-01 00-00-00", ["2020-01-01 00:00", "2020-01-01 00:30", "2020-01-01 01:00"]),
        ("10_minutes", "2020-01-01 00-00-00", ["2020-01-01 00:00", "2020-01-01 00:10", "2020-01-01 00:20"]),
        ("minutely", "2020-01-01 00-00-00", ["2020-01-01 00:00", "2020-01-01 00:01", "2020-01-01 00:02"]),
        ("4_seconds", "2020-01-01 00-00-58", ["2020-01-01 00:00:58", "2020-01-01 00:01:02", "2020-01-01 00:01:06"]),
        ("yearly", "2000-01-01", ["2000-01-01", "2001-01-01", "2002-01-01"]),  # a date without its time
    ],
)
def test_calendar_of_each_frequency(tmp_path, frequency, start, expected):
    text = f"@attribute s string\n@attribute start date\n@frequency {frequency}\n@data\nA:{start}:1,2,3\n"
    df = load_tsf(_write(tmp_path, text))
    assert df["time"].tolist() == [pd.Timestamp(t) for t in expected]


def test_missing_values_are_nan(tmp_path):
    text = "@attribute s string\n@missing true\n@data\nA:1,?,3\nB:?,5\n"
    df = load_tsf(_write(tmp_path, text))
    np.testing.assert_array_equal(df["value"].to_numpy(), [1.0, np.nan, 3.0, np.nan, 5.0])
    assert df.attrs["tsf"]["missing"] is True


def test_missing_false_but_question_marks_warns_with_the_line(tmp_path):
    text = "@attribute s string\n@missing false\n@data\nA:1,2\nB:?,5,?\n"
    with pytest.warns(DataWarning, match=r"toy\.tsf, line 5: the file declares @missing false but has 2 missing"):
        df = load_tsf(_write(tmp_path, text))
    assert int(df["value"].isna().sum()) == 2


def test_hierarchical_attributes_and_key(tmp_path):
    text = (
        "@attribute series_group string\n@attribute series_name string\n@attribute weight numeric\n"
        "@attribute start_timestamp date\n@frequency monthly\n@data\n"
        "G1:T1:3:2000-01-01 00-00-00:1,2\nG1:T2:4:2000-02-01 00-00-00:3\nG2:T3:5:2001-01-01 00-00-00:4,5\n"
    )
    df = load_tsf(_write(tmp_path, text))
    assert list(df.columns) == ["series_group", "series_name", "weight", "time", "value"]
    assert df["series_group"].tolist() == ["G1", "G1", "G1", "G2", "G2"]
    assert df["series_name"].tolist() == ["T1", "T1", "T2", "T3", "T3"]
    assert df["weight"].dtype == np.int64 and df["weight"].tolist() == [3, 3, 4, 5, 5]
    assert df["time"].tolist() == [pd.Timestamp(t) for t in
                                   ["2000-01-01", "2000-02-01", "2000-02-01", "2001-01-01", "2001-02-01"]]
    # series_group repeats G1: the key is the first string attribute that names each series alone
    assert df.attrs["tsf"]["key"] == "series_name" and df.attrs["tsf"]["n_series"] == 3


def test_no_unique_string_attribute_gives_no_key_and_fractional_numeric_is_float(tmp_path):
    text = "@attribute g string\n@attribute w numeric\n@data\nA:0.5:1\nA:?:2\n"
    df = load_tsf(_write(tmp_path, text))
    assert df.attrs["tsf"]["key"] is None
    assert df["w"].dtype == np.float64
    np.testing.assert_array_equal(df["w"].to_numpy(), [0.5, np.nan])


def test_comments_blank_lines_crlf_and_case_insensitive_headers(tmp_path):
    text = "# c\r\n\r\n@RELATION r\r\n@Attribute s STRING\r\n@DATA\r\n# between\r\n\r\nA: 1 , 2 \r\n"
    df = load_tsf(_write(tmp_path, text))
    assert df["s"].tolist() == ["A", "A"] and df["value"].tolist() == [1.0, 2.0]


def test_read_table_dispatches_tsf(tmp_path):
    path = _write(tmp_path, YEARLY)
    df = read_table(path)
    pd.testing.assert_frame_equal(df, load_tsf(path))
    assert df.attrs["tsf"]["key"] == "series_name"
    with pytest.raises(InvalidParameterError, match=r"no keyword arguments for a \.tsf file"):
        read_table(path, sep=";")
    with pytest.raises(DataError, match=r"must end in \.csv, \.tsv, \.txt .*\.parquet, \.pq or \.tsf"):
        read_table(_write(tmp_path, "x", "toy.xyz"))


HEAD = "@attribute s string\n@attribute start date\n@frequency yearly\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"toy\.tsf, line 1: the file is empty"),
        ("# only\n\n", r"toy\.tsf, line 2: the file has only blank and # comment lines"),
        ("@attribute s string\nA:1,2\n", r"toy\.tsf, line 2: expected a '#' comment or an '@' header before @data"),
        ("@attribute s string\n@frequency yearly\n", r"toy\.tsf, line 2: the file ends without an '@data' line"),
        ("@attribute s string\n@data\n# nothing\n", r"toy\.tsf, line 2: no series after @data"),
        (HEAD + "@data\nA:1,2\n", r"toy\.tsf, line 5: expected 3 ':'-separated fields .* Received 2"),
        (HEAD + "@data\nA:2000-01-01 00:00:00:1,2\n", r"line 5: expected 3 ':'-separated fields .*dashes in the time"),
        (HEAD + "@data\nA:2000-01-01 00-00-00:1,x,3\n", r"line 5: the series has the value 'x' at position 1"),
        (HEAD + "@data\nA:2000-01-01 00-00-00:1,,3\n", r"line 5: the series has an empty value at position 1"),
        (HEAD + "@data\nA:2000-01-01 00-00-00:1,nan\n", r"line 5: the series has the value 'nan' at position 1"),
        (HEAD + "@data\nA:2000-01-01 00-00-00:1,1e999\n", r"line 5: the series has the value '1e999'"),
        (HEAD + "@data\nA:2000-01-01 00-00-00:?,?\n", r"line 5: every value of this series is missing"),
        (HEAD + "@data\nA:2000-01-01 00-00-00:1\nB:2000-13-01 00-00-00:1\n",
         r"line 6: attribute 'start' is '2000-13-01 00-00-00', not a date"),
        (HEAD + "@data\nA:1999-12-31 24-00-00:1\n", r"line 5: attribute 'start' is '1999-12-31 24-00-00'"),
        (HEAD + "@data\nA:2261-01-01 00-00-00:1,2,3\n",
         r"line 5: the time axis \(the start plus yearly steps\) of the series on this line reaches 2263"),
        ("@attribute s string\n@equallength true\n@data\nA:1,2\nB:1\n",
         r"line 5: the file declares @equallength true but this series has 1 values and the first \(line 4\) has 2"),
        ("@attribute s text\n@data\nA:1\n", r"line 1: attribute 's' has the type 'text'"),
        ("@attribute s\n@data\nA:1\n", r"line 1: an attribute line must be '@attribute NAME TYPE'"),
        ("@attribute s string\n@attribute s string\n@data\nA:A:1\n",
         r"line 2: attribute 's' is declared again \(first at line 1\)"),
        ("@attribute s string\n@horizon soon\n@data\nA:1\n", r"line 2: header @horizon must be a positive integer"),
        ("@attribute s string\n@missing maybe\n@data\nA:1\n", r"line 2: header @missing must be 'true' or 'false'"),
        ("@attribute s string\n@frequency\n@data\nA:1\n", r"line 2: header @frequency needs a value"),
        ("@attribute s string\n@\n@data\nA:1\n", r"line 2: a header line must be '@name value'"),
        ("@attribute s string\n@data\nA:1\n@horizon 2\n", r"line 4: header line '@horizon 2' after @data"),
        ("@attribute value string\n@data\nA:1\n", r"line 1: attribute 'value' has the name of a column load_tsf adds"),
        ("@attribute n numeric\n@data\nabc:1\n", r"line 3: the numeric attribute 'n' is 'abc', not a number"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        load_tsf(_write(tmp_path, text))


def test_path_errors(tmp_path):
    with pytest.raises(DataError, match=r"No \.tsf file at '.*absent\.tsf': the path does not exist"):
        load_tsf(tmp_path / "absent.tsf")
    with pytest.raises(DataError, match=r"is not a file"):
        load_tsf(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"`path` must be a path"):
        load_tsf(b"x.tsf")


def test_aeon_example_files():
    plain = load_tsf(MONASH / "UnitTest_Tsf_Loader.tsf")
    assert plain.shape == (15, 3) and plain.attrs["tsf"]["n_series"] == 3
    assert plain["time"].iloc[[0, 6, 7, 10]].tolist() == [pd.Timestamp(t) for t in
                                                          ["1979-01-01", "1985-01-01", "1979-01-01", "1973-01-01"]]
    bare = load_tsf(MONASH / "UnitTest_Tsf_Loader_no_start_timestamp.tsf")
    np.testing.assert_array_equal(bare["value"].to_numpy(), plain["value"].to_numpy())
    assert bare["time"].tolist() == [*range(7), *range(3), *range(5)]
    tree = load_tsf(MONASH / "UnitTest_Tsf_Loader_hierarchical.tsf")
    assert tree.attrs["tsf"]["key"] == "series_name" and tree["series_group"].nunique() == 2
    m1 = load_tsf(MONASH / "m1_yearly_dataset.tsf")
    assert m1.shape == (4515, 3) and m1.attrs["tsf"]["n_series"] == 181 and m1.attrs["tsf"]["horizon"] == 6
    assert m1["value"].iloc[:3].tolist() == [3600.0, 7700.0, 12300.0]


def test_m1_values_and_times_match_an_independent_parse():
    """Every value and timestamp of m1, against a line-by-line parse with pandas.date_range."""
    names, times, values = [], [], []
    lines = (MONASH / "m1_yearly_dataset.tsf").read_text(encoding="utf-8").splitlines()
    for line in lines[lines.index("@data") + 1:]:
        name, start, series = line.split(":")
        numbers = [float(v) for v in series.split(",")]
        names += [name] * len(numbers)
        times += list(pd.date_range(pd.Timestamp(start.replace("-", ":").replace(":", "-", 2)),
                                    periods=len(numbers), freq="YS"))
        values += numbers
    df = load_tsf(MONASH / "m1_yearly_dataset.tsf")
    assert df["series_name"].tolist() == names
    assert df["time"].tolist() == times
    np.testing.assert_array_equal(df["value"].to_numpy(), values)
