"""The direct Parquet reader of as_series gives exactly what the pandas path gives."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seqprep.io import _from_parquet, as_series


def _frame(n=600):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "t": np.tile(pd.date_range("2021-01-01", periods=n // 3, freq="h"), 3),
        "g": np.repeat(["b", "a", "c"], n // 3),
        "x": rng.standard_normal(n).astype(np.float32),
        "k": rng.integers(0, 9, n),
        "y": rng.standard_normal(n),
        "note": ["s"] * n,
    })


def _same(a, b):
    np.testing.assert_array_equal(a.values, b.values)
    assert a.values.dtype == b.values.dtype and a.values.flags.c_contiguous
    assert a.columns == b.columns and a.keys == b.keys and a.freq == b.freq and a.report == b.report
    np.testing.assert_array_equal(a.bounds, b.bounds)
    np.testing.assert_array_equal(a.breaks, b.breaks)
    if a.time is None:
        assert b.time is None
    else:
        np.testing.assert_array_equal(a.time, b.time)


@pytest.mark.parametrize("kw", [
    {"time": "t", "group": "g"},
    {"time": "t", "group": "g", "columns": ["y", "x"]},
    {"group": "g", "required": ["k"]},
    {"columns": ["x"]},
])
def test_direct_parquet_equals_pandas(tmp_path, kw):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pandas(_frame(), preserve_index=False), path, row_group_size=128)
    direct = _from_parquet(path, **{"columns": None, "time": None, "group": None, "required": (),
                                    "nan_policy": "raise", **kw})
    assert direct is not None  # the direct reader ran
    _same(direct, as_series(pd.read_parquet(path), **kw))


def test_direct_parquet_leaves_nulls_and_stored_indexes_to_pandas(tmp_path, monkeypatch):
    df = _frame()
    df["k"] = df["k"].astype("Int64")
    df.loc[3, "k"] = pd.NA  # an integer column with a null: pandas makes it float with NaN
    df.to_parquet(tmp_path / "n.parquet")
    kw = {"time": "t", "group": "g", "columns": ["k"], "nan_policy": "ffill"}
    _same(as_series(tmp_path / "n.parquet", **kw), as_series(pd.read_parquet(tmp_path / "n.parquet"), **kw))
    indexed = _frame().iloc[:200].drop(columns=["g"]).set_index("t")
    indexed.to_parquet(tmp_path / "i.parquet")  # a DatetimeIndex is the time axis
    _same(as_series(tmp_path / "i.parquet"), as_series(pd.read_parquet(tmp_path / "i.parquet")))
    assert as_series(tmp_path / "i.parquet").time is not None
    none = {"columns": None, "time": None, "group": None, "required": (), "nan_policy": "raise"}
    assert _from_parquet(tmp_path / "n.parquet", **{**none, **kw}) is None
    assert _from_parquet(tmp_path / "i.parquet", **none) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("date;temp;rain\n2020-01-01;3,5;0\n2020-01-02;-4,25;1,5\n", [3.5, -4.25]),  # a European spreadsheet
    ("date;temp;rain\n2020-01-01;3.5;0\n2020-01-02;-4.25;1.5\n", [3.5, -4.25]),  # ';' with decimal points
    ("date\ttemp\train\n2020-01-01\t3.5\t0\n2020-01-02\t-4.25\t1.5\n", [3.5, -4.25]),  # tabs in a .csv
    ("date|temp|rain\n2020-01-01|3.5|0\n2020-01-02|-4.25|1.5\n", [3.5, -4.25]),
    ('"date" "temp" "rain"\n"1" 2020-01-01 3.5 0\n"2" 2020-01-02 -4.25 1.5\n', [3.5, -4.25]),  # R's write.table
    ("date,temp,rain\n2020-01-01,3.5,0\n2020-01-02,-4.25,1.5\n", [3.5, -4.25]),  # the usual file is untouched
])
def test_read_table_finds_the_separator_and_decimal_comma_a_spreadsheet_wrote(tmp_path, text, expected):
    from seqprep.io import read_table

    path = tmp_path / "data.csv"
    path.write_text(text)
    frame = read_table(path)
    assert list(frame.columns) == ["date", "temp", "rain"]
    assert frame["temp"].tolist() == expected
    assert frame["rain"].dtype.kind in "fi"  # numbers, not text


def test_read_table_keeps_a_separator_the_caller_gives(tmp_path):
    from seqprep.io import read_table

    path = tmp_path / "data.csv"
    path.write_text("a;b\n1;2\n")
    assert list(read_table(path, sep=",").columns) == ["a;b"]
    path.write_text("my value\n1.5\n2.5\n")  # one column whose name holds a space: not whitespace-separated
    assert list(read_table(path).columns) == ["my value"]


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zip"])
def test_read_table_reads_a_compressed_csv_and_refuses_a_corrupt_one(tmp_path, kind):
    from seqprep.exceptions import DataError
    from seqprep.io import read_table

    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=5).astype(str), "y": [1.5, 2, 3, 4, 5]})
    path = tmp_path / f"data.csv.{kind}"
    frame.to_csv(path, index=False)  # pandas compresses by the suffix
    back = read_table(path)
    assert back["y"].tolist() == frame["y"].tolist() and list(back.columns) == ["date", "y"]
    broken = tmp_path / f"broken.csv.{kind}"
    broken.write_bytes(b"this is not compressed at all" * 10)
    with pytest.raises(DataError, match=f"broken.csv.{kind}"):
        read_table(broken)


def test_stacked_series_without_their_key_are_told_to_give_group():
    from seqprep.exceptions import DataError

    one = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=6, freq="D"), "y": np.arange(6.0)})
    stacked = pd.concat([one.assign(shop="A"), one.assign(shop="B")], ignore_index=True)
    with pytest.raises(DataError, match=r"several series one after another.*--group"):
        as_series(stacked, time="t", columns=["y"])
    assert as_series(stacked, time="t", group="shop", columns=["y"]).n_series == 2
    shuffled = one.iloc[[0, 2, 1, 3, 4, 5]]  # one unsorted series: no hint about groups
    with pytest.raises(DataError) as refused:
        as_series(shuffled, time="t", columns=["y"])
    assert "--group" not in str(refused.value)
