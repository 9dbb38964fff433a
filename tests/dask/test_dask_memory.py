"""seqprep.dask's memory structure, in one process: chunks of whole series, compact window starts, fused reads.

Each worker function is called directly with a small ``rows`` so that a partition of a few thousand
rows is worked on in several chunks; the results must equal the one-chunk results, and what the
statistics see must be one chunk at a time in the data's own dtype (no float64 copy of the partition).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline

dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")

import seqprep.dask._common as common  # noqa: E402
import seqprep.dask._export as dexport  # noqa: E402
import seqprep.dask._plan as plan_mod  # noqa: E402
import seqprep.dask._stats as stats  # noqa: E402
from seqprep.splitting import assign_parts  # noqa: E402
from seqprep.windowing import window_starts  # noqa: E402

N_SERIES, LENGTH, CHUNK = 24, 50, 160  # 1,200 rows: 8 chunks of 3-4 whole series


def _partition(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = N_SERIES * LENGTH
    t = np.tile(pd.date_range("2021-01-01", periods=LENGTH, freq="h").values, N_SERIES)
    df = pd.DataFrame({"t": t, "g": np.repeat(np.arange(100, 100 + N_SERIES), LENGTH)})
    for j in range(3):
        df[f"f{j}"] = (rng.normal(size=n) * (j + 1) + 10 * j).astype(np.float32)
    return df.drop(index=[70, 71, 325]).reset_index(drop=True)  # gaps in two series


def _task(df: pd.DataFrame, per_series: bool, with_range: bool, stamp: bool) -> dict:
    n_series = df["g"].nunique()
    cut = np.datetime64("2021-01-02T10", "ns")
    return {
        "train_stamp": cut if stamp else None,
        "train_rows": None if stamp else np.full(n_series, 30, dtype=np.int64),
        "with_range": with_range, "per_series": per_series, "statistics": True,
        "thresholds": np.stack([np.full(n_series, cut)]) if stamp else None,
        "freq": np.timedelta64(1, "h"), "offset": 1000, "n_series": n_series,
    }


def test_chunks_are_whole_series_and_fall_back_when_a_series_is_not_contiguous():
    df = _partition()
    cuts = common._chunk_bounds(df, "g", CHUNK)
    assert len(cuts) > 3 and cuts[0] == 0 and cuts[-1] == len(df)
    keys = df["g"].to_numpy()
    for c in cuts[1:-1]:
        assert keys[c] != keys[c - 1]  # a cut is a series boundary
    assert common._chunk_bounds(df, None, CHUNK) == [0, len(df)]  # one series (time-aligned): one chunk
    shuffled = df.iloc[np.random.default_rng(0).permutation(len(df))]
    assert common._chunk_bounds(shuffled, "g", CHUNK) == [0, len(df)]  # rows to regroup: the whole partition
    missing = df.astype({"g": float})
    missing.loc[5, "g"] = np.nan
    assert common._chunk_bounds(missing, "g", CHUNK) == [0, len(df)]  # the validation names the missing key


def test_summary_in_chunks_equals_one_chunk():
    df = _partition()
    pipe = Pipeline(lookback=4, target="f0", time="t", group="g")
    one = plan_mod._summarize(df, pipe, True, rows=10**9)
    many = plan_mod._summarize(df, pipe, True, rows=CHUNK)
    assert many["keys"] == one["keys"] and many["columns"] == one["columns"]
    assert many["lengths"].dtype == np.int64
    np.testing.assert_array_equal(many["lengths"], one["lengths"])
    for key in ("steps", "times"):
        np.testing.assert_array_equal(many[key][0], one[key][0])
        np.testing.assert_array_equal(many[key][1], one[key][1])
    np.testing.assert_array_equal(many["sample"], one["sample"])
    np.testing.assert_array_equal(many["sample_same"], one["sample_same"])
    assert (many["first"], many["last"]) == (one["first"], one["last"])


@pytest.mark.parametrize(("scale_per", "stamp"), [("feature", True), ("series", False), ("series", True)])
def test_statistics_in_chunks_equal_one_chunk_and_never_see_the_whole_partition(monkeypatch, scale_per, stamp):
    df = _partition()
    pipe = Pipeline(lookback=4, target="f0", time="t", group="g", scale_per=scale_per, scaler="minmax")
    task = _task(df, per_series=scale_per == "series", with_range=True, stamp=stamp)
    one = stats._partition_stats(df, pipe, (task, None), rows=10**9)
    seen: list[tuple[int, np.dtype]] = []
    real_from_array, real_group = stats.Moments.from_array, stats.group_moments

    def from_array(X, **kw):
        seen.append((len(X), X.dtype))
        return real_from_array(X, **kw)

    def group(a, *args, **kw):
        seen.append((len(a), a.dtype))
        return real_group(a, *args, **kw)

    monkeypatch.setattr(stats.Moments, "from_array", staticmethod(from_array))
    monkeypatch.setattr(stats, "group_moments", group)
    many = stats._partition_stats(df, pipe, (task, None), rows=CHUNK)
    # every statistic is taken on one chunk's training rows, in the data's float32: no float64 partition
    assert len(seen) > 3
    assert all(n <= 2 * CHUNK and dtype == np.float32 for n, dtype in seen), seen
    assert many["n_train"] == one["n_train"]
    np.testing.assert_array_equal(many["breaks"], one["breaks"])
    assert many["breaks"].dtype == np.int64 and list(many["breaks"]) == [1070, 1323]  # offset + row after each gap
    if stamp:
        np.testing.assert_array_equal(many["counts"], one["counts"])
    a = many["series_moments"] if scale_per == "series" else many["moments"]
    b = one["series_moments"] if scale_per == "series" else one["moments"]
    np.testing.assert_array_equal(a.count, b.count)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)
    np.testing.assert_allclose(a.m2, b.m2, rtol=1e-10)
    np.testing.assert_array_equal(a.min, b.min)
    if scale_per == "series":
        np.testing.assert_array_equal(many["series_counts"], one["series_counts"])


def test_export_rows_in_chunks_equal_one_chunk(tmp_path):
    from seqprep._files import allocate_npy

    df = _partition()
    pipe = Pipeline(lookback=4, target="f0", time="t", group="g", scale_per="series")
    pipe.fit(df)
    codes = np.arange(N_SERIES, dtype=np.int64)[::-1].copy()  # fitted codes in another order than the partition's
    out = {}
    for rows in (10**9, CHUNK):
        data, times = tmp_path / f"d{rows}.npy", tmp_path / f"t{rows}.npy"
        allocate_npy(data, "float32", (len(df) + 5, 3))
        allocate_npy(times, "datetime64[ns]", (len(df) + 5,))
        assert dexport._write_rows(df, pipe, str(data), str(times), (5, len(df), codes, None), rows=rows) == len(df)
        out[rows] = (np.load(data), np.load(times))
        assert dexport._hash_rows(str(data), 5, len(df)) == __import__("hashlib").sha256(
            np.ascontiguousarray(out[rows][0][5:len(df)]).tobytes()).hexdigest()
    np.testing.assert_array_equal(out[CHUNK][0], out[10**9][0])
    np.testing.assert_array_equal(out[CHUNK][1][5:], df["t"].to_numpy())


def test_window_starts_per_part_are_compact_arrays_equal_to_the_in_memory_assignment():
    bounds = np.array([0, 120, 125, 400, 1000], dtype=np.int64)
    lengths = np.diff(bounds)
    breaks = np.array([200, 650], dtype=np.int64)
    pipe = Pipeline(lookback=6, horizon=[1, 3], target="y", split=(0.6, 0.2, 0.2), gap=2)
    ranges = [(np.zeros(4, np.int64), np.round(lengths * 0.6).astype(np.int64)),
              (np.round(lengths * 0.6).astype(np.int64) + 2, np.round(lengths * 0.8).astype(np.int64)),
              (np.round(lengths * 0.8).astype(np.int64) + 2, lengths)]
    names = ("train", "val", "test")
    parts = plan_mod._windows(pipe, bounds, lengths, breaks, ranges, names, block=37)
    starts, _ = window_starts(bounds, breaks, pipe.spec)
    view = type("V", (), {"starts": starts, "spec": pipe.spec, "series_data": type("S", (), {"bounds": bounds})})
    for got, idx in zip(parts, assign_parts(view, ranges, pipe.context), strict=True):
        assert isinstance(got, np.ndarray) and got.dtype == np.int32  # not a list, not int64 below 2**31 rows
        np.testing.assert_array_equal(got, starts[idx])


def test_save_int64_writes_what_np_save_writes(tmp_path):
    values = np.arange(0, 2_500, 3, dtype=np.int32)
    dexport._save_int64(tmp_path / "a.npy", values, block=100)
    np.save(tmp_path / "b.npy", values.astype(np.int64))
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    dexport._save_int64(tmp_path / "e.npy", values[:0])
    assert np.load(tmp_path / "e.npy").dtype == np.int64 and np.load(tmp_path / "e.npy").size == 0


def test_plan_holds_int_arrays_and_a_partition_is_read_in_the_task_that_works_on_it(tmp_path):
    df = _partition()
    path = tmp_path / "data"
    path.mkdir()
    for j, rows in enumerate([df["g"] < 112, df["g"] >= 112]):  # aligned to series
        df[rows].to_parquet(path / f"part-{j}.parquet", index=False)
    ddf = dd.read_parquet(str(path))
    pipe = Pipeline(lookback=4, target="f0", time="t", group="g")
    # one task per partition reads it and summarises it (dask fuses the read into the mapped function)
    jobs = common._per_partition(dask, ddf, plan_mod._summarize, pipe, False)
    graph = dict(jobs[0].__dask_graph__())
    partition_tasks = [k for k in graph if isinstance(k, tuple)]
    assert len(partition_tasks) == 2  # one per partition: no separate read task
    assert all("read" in k[0] and "_apply" in k[0] for k in partition_tasks)
    with dask.config.set(scheduler="sync"):
        plan = plan_mod._make_plan(pipe, ddf, None)
    assert all(isinstance(s, np.ndarray) and s.dtype == np.int32 for s in plan.part_starts)
    assert plan.bounds.dtype == plan.offsets.dtype == plan.breaks.dtype == np.int64
    ref = Pipeline(lookback=4, target="f0", time="t", group="g").fit(df)
    for got, name in zip(plan.part_starts, plan.names, strict=True):
        np.testing.assert_array_equal(got, ref.parts[name].starts)
