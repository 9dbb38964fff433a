"""Polars DataFrames and LazyFrames as inputs: same results as pandas, no conversion copy where Arrow allows it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pl = pytest.importorskip("polars")

from seqprep import Pipeline, windows  # noqa: E402
from seqprep.auditing import check_data  # noqa: E402
from seqprep.exceptions import DataError  # noqa: E402
from seqprep.io import as_series, from_polars, polars_kind  # noqa: E402


def make_pandas(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "t": np.tile(pd.date_range("2022-01-01", periods=n // 2, freq="h"), 2),
        "site": np.repeat(["north", "south"], n // 2),
        "load": rng.normal(100, 10, n),
        "temp": rng.normal(15, 5, n).astype(np.float32),
        "count": rng.integers(0, 50, n),
        "note": ["x"] * n,
    })


def _arrow_buffer(series):
    """The numpy view of a Polars column's Arrow value buffer (no nulls: buffers()[1] holds the values)."""
    arr = series.to_arrow()
    return np.frombuffer(arr.buffers()[1], dtype=arr.type.to_pandas_dtype())


def test_kind_is_read_from_the_type_without_importing():
    assert polars_kind(pl.DataFrame({"a": [1]})) == "DataFrame"
    assert polars_kind(pl.LazyFrame({"a": [1]})) == "LazyFrame"
    assert polars_kind(pl.Series("a", [1])) == "Series"
    assert polars_kind(pd.DataFrame({"a": [1]})) is None and polars_kind(np.zeros(2)) is None


@pytest.mark.parametrize("lazy", [False, True])
def test_as_series_equals_pandas(lazy):
    pdf = make_pandas()
    frame = pl.from_pandas(pdf)
    data = frame.lazy() if lazy else frame
    for kwargs in ({"time": "t", "group": "site"}, {"columns": ["load", "count"], "time": "t", "group": "site"}):
        a, b = as_series(pdf, **kwargs), as_series(data, **kwargs)
        np.testing.assert_array_equal(a.values, b.values)
        assert a.values.dtype == b.values.dtype
        assert a.columns == b.columns and a.keys == b.keys and a.freq == b.freq
        np.testing.assert_array_equal(a.bounds, b.bounds)
        np.testing.assert_array_equal(a.time, b.time)
        assert a.report == b.report  # "note" is reported as ignored either way


def test_a_numeric_column_shares_memory_with_the_arrow_buffer():
    frame = pl.DataFrame({"load": np.arange(1000.0), "temp": np.ones(1000), "note": ["x"] * 1000})
    buf = _arrow_buffer(frame.get_column("load"))
    # the pandas frame seqprep reads is a view of every numeric Arrow buffer: no conversion copy
    view = from_polars(frame)
    assert np.shares_memory(view["load"].to_numpy(), buf)
    assert np.shares_memory(view["temp"].to_numpy(), _arrow_buffer(frame.get_column("temp")))
    # one column is already row-major: the validated values ARE the Arrow buffer (read-only)
    sd = as_series(frame, columns=["load"])
    assert np.shares_memory(sd.values, buf) and not sd.values.flags.writeable
    w = windows(frame, lookback=4, features=["load"], target="load")
    assert np.shares_memory(w.data, buf)
    # Several columns: Arrow keeps each column apart, and windows read rows, so the one row-major
    # table (n_rows, n_columns) seqprep builds for pandas too is the only copy; it is unavoidable.
    sd2 = as_series(frame)
    assert sd2.values.flags.c_contiguous and not np.shares_memory(sd2.values, buf)


def test_lazyframe_is_collected_once_with_only_the_needed_columns(monkeypatch):
    def boom(s):
        raise AssertionError("the unused column was computed")

    lf = pl.LazyFrame({"a": np.arange(50.0), "b": np.arange(50.0) * 2}).with_columns(
        unused=pl.col("a").map_batches(boom, return_dtype=pl.Float64)
    )
    calls = []
    real = pl.LazyFrame.collect

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", counting)
    w = windows(lf, lookback=5, features=["a", "b"], target="b")
    assert len(w) == 45 and len(calls) == 1
    pipe = Pipeline(lookback=5, target="b", features=["a"])
    parts = pipe.fit(lf)
    assert len(calls) == 2 and parts.train.feature_names == ("a",)
    pipe.transform(lf)
    assert len(calls) == 3


def test_pipeline_fit_and_transform_equal_pandas():
    pdf = make_pandas()
    kw = dict(lookback=6, horizon=2, target="load", features=["load", "temp"], time="t", group="site")
    a = Pipeline(**kw)
    b = Pipeline(**kw)
    pa_parts, pl_parts = a.fit(pdf), b.fit(pl.from_pandas(pdf).lazy())
    for name in ("train", "val", "test"):
        Xa, ya = pa_parts[name].to_numpy()
        Xb, yb = pl_parts[name].to_numpy()
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)
    new = pdf.groupby("site").tail(10)
    np.testing.assert_array_equal(a.transform(new).to_numpy(), b.transform(pl.from_pandas(new)).to_numpy())


def test_polars_nulls_are_nan_and_refused_like_pandas():
    frame = pl.DataFrame({"a": [1.0, None, 3.0, 4.0], "b": [1, 2, None, 4]})
    with pytest.raises(DataError, match=r"NaN or infinite values: a: 1 \(25.0%\), b: 1 \(25.0%\)"):
        as_series(frame)
    sd = as_series(frame, nan_policy="ffill")
    np.testing.assert_array_equal(sd.values, [[1.0, 1.0], [1.0, 2.0], [3.0, 2.0], [4.0, 4.0]])


def test_series_list_and_audit_entry_points():
    s = pl.Series("y", np.arange(20.0))
    assert as_series(s).columns == ("y",)
    parts = [pl.DataFrame({"y": np.arange(10.0)}), pl.DataFrame({"y": np.arange(12.0)}).lazy()]
    sd = as_series(parts)
    assert sd.n_series == 2 and sd.n_rows == 22
    pdf = make_pandas()
    a = check_data(pdf, time="t", group="site")
    b = check_data(pl.from_pandas(pdf), time="t", group="site")
    assert [f.code for f in a.findings] == [f.code for f in b.findings]


def test_seqprep_never_imports_polars_for_pandas_users():
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "sys.modules['polars'] = None  # as if it were not installed: importing it would fail\n"
        "import seqprep\n"
        "df = pd.DataFrame({'a': np.arange(30.0)})\n"
        "seqprep.windows(df, lookback=3, target='a')\n"
        "seqprep.Pipeline(lookback=3, target='a').fit(df)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
