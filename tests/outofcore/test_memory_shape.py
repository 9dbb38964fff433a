"""Out-of-core memory shape: a Parquet folder with time and group columns streams in memory flat in the rows.

Structural checks, not timings: what the plan keeps is O(n_series) (+ the window index on disk),
the Parquet reader holds at most a row group and a chunk of the needed columns at a time, the
split's time quantiles come from a few passes over the time memory map (no copy of the column),
and the peak of the numpy memory traced during a streamed fit does not grow with the rows.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seqprep import Pipeline
from seqprep.outofcore import ParquetSource, _plan, fit_stream, open_export


def _panel(n_series: int, length: int, seed: int = 0) -> pd.DataFrame:
    """``n_series`` hourly series of ``length`` rows (string keys), sorted by (key, t), a few rows dropped (gaps)."""
    rng = np.random.default_rng(seed)
    n = n_series * length
    g = np.repeat(np.arange(n_series), length)
    df = pd.DataFrame({
        "key": pd.Categorical([f"meter-{i:04d}" for i in g]),
        "t": pd.Timestamp("2021-01-01") + pd.to_timedelta(np.tile(np.arange(length), n_series) + g * 5, unit="h"),
        "a": rng.normal(size=n).astype(np.float32) + g,
        "b": rng.uniform(0, 10, size=n).astype(np.float32),
        "y": rng.normal(5, 1, size=n).astype(np.float32),
    })
    drop = rng.choice(np.arange(n), size=n // 200, replace=False)
    return df.drop(index=drop).reset_index(drop=True)


def _write_folder(df: pd.DataFrame, path, n_files: int, row_group: int) -> None:
    path.mkdir()
    for i, idx in enumerate(np.array_split(np.arange(len(df)), n_files)):
        table = pa.Table.from_pandas(df.iloc[idx], preserve_index=False)  # "key": dictionary-encoded
        pq.write_table(table, path / f"part-{i:03d}.parquet", row_group_size=row_group)


@pytest.mark.parametrize("split", [(0.7, 0.15, 0.15), (0.8, 0.2)])
def test_parquet_folder_with_time_and_group_matches_in_memory(tmp_path, split):
    df = _panel(12, 150)
    _write_folder(df, tmp_path / "ds", n_files=5, row_group=64)
    assert pa.types.is_dictionary(pq.read_schema(next((tmp_path / "ds").iterdir())).field("key").type)
    kw = dict(lookback=16, target="y", time="t", group="key", split=split, gap=3)
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    fit = fit_stream(Pipeline(**kw), tmp_path / "ds", chunk_rows=100)
    np.testing.assert_allclose(fit.pipeline.scaler_.mean_, mem.scaler_.mean_, rtol=1e-9)
    np.testing.assert_allclose(fit.pipeline.scaler_.scale_, mem.scaler_.scale_, rtol=1e-9)
    assert fit.keys == tuple(df["key"].cat.categories)
    assert fit.n_windows == {k: len(v) for k, v in parts_mem.items()}
    ooc = Pipeline(**kw)
    parts = open_export(ooc.export(tmp_path / "out", tmp_path / "ds", chunk_rows=100))
    for name, w in parts_mem.items():
        np.testing.assert_array_equal(parts[name].starts, w.starts)
        np.testing.assert_allclose(parts[name][:][0], w[:][0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "int64", "float64", "float32", "uint32"])
def test_kth_smallest_equals_partition_in_a_few_block_passes(dtype):
    rng = np.random.default_rng(3)
    for n, block in [(1, 1), (7, 2), (500, 16), (3000, 64), (3000, 5000)]:
        if dtype == "datetime64[ns]":
            v = np.datetime64("2020-01-01", "ns") + rng.integers(0, 10**15, n).astype("timedelta64[ns]")
            v[: n // 3] = v[0]  # ties
        elif dtype.startswith("float"):
            v = (rng.standard_normal(n) * 10.0 ** rng.integers(-3, 20, n)).astype(dtype)
        else:
            v = rng.integers(0 if dtype[0] == "u" else -(2**31), 2**31, n).astype(dtype)
        ks = sorted({0, n - 1, n // 2, int(rng.integers(0, n))})
        got = _plan._kth_smallest(v, ks, block)
        ref = np.partition(v, ks)
        assert [g == ref[k] for g, k in zip(got, ks, strict=True)] == [True] * len(ks)
        assert {np.asarray(g).dtype for g in got} == {v.dtype}


def test_parquet_folder_read_one_row_group_at_a_time(tmp_path):
    """At every chunk, the Arrow memory held is a chunk and a row group of the read columns, whatever the files."""
    df = _panel(40, 500)
    _write_folder(df, tmp_path / "ds", n_files=16, row_group=512)
    source = ParquetSource(tmp_path / "ds")
    chunk_rows, row_bytes = 1000, 4 * 3
    held = []
    for _, a, b, cols in source.chunks(["a", "b", "y"], chunk_rows):
        assert cols is not None and len(cols["a"]) == b - a
        held.append(pa.total_allocated_bytes())
    assert len(held) == -(-len(df) // chunk_rows)
    # the dataset scanner read ahead up to 16 batches of 4 files: here at most ~2 chunks + a row group
    assert max(held) <= 3 * (chunk_rows + 512) * row_bytes + (1 << 16)


def test_plan_keeps_per_series_arrays_and_its_numpy_peak_is_flat_in_the_rows(tmp_path, monkeypatch):
    """The plan's arrays are O(n_series); the traced numpy peak of a streamed fit does not grow with the rows."""
    monkeypatch.setattr(_plan, "_STARTS_BLOCK", 2048)  # window starts and time quantiles in small blocks
    peaks = {}
    for length in (1000, 6000):  # 6x the rows, same series
        df = _panel(10, length)
        _write_folder(df, tmp_path / f"ds{length}", n_files=4, row_group=256)
        pipe = Pipeline(lookback=8, target="y", time="t", group="key", split=(0.7, 0.15, 0.15))
        tracemalloc.start()
        try:
            fit = fit_stream(pipe, tmp_path / f"ds{length}", chunk_rows=1024)
            peaks[length] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        n_series = len(fit.keys)
        assert n_series == 10 and fit.bounds.shape == (n_series + 1,)
        assert all(r.shape == (n_series, 2) for r in fit.row_ranges.values())
        assert len(fit.breaks) <= len(df) // 200 + n_series  # rows after a gap: the dropped rows, no more
        assert fit.time is None  # the time column stayed on disk
    # np.partition of the time column alone added 8 bytes per row (400 kB more here); chunks are 1024 rows and
    # the quantile histograms 65,536 bins, the same at both sizes.
    assert peaks[6000] - peaks[1000] < 1 * 10 * (6000 - 1000), peaks
