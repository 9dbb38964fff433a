"""seqprep.dask reading a local Parquet path itself (seqprep/dask/_parquet.py), and exports killed part-way.

The reader must give each task what ``dd.read_parquet(path)`` gives for that partition (same files,
order, columns, values and dtypes), so a path and its ``dd.read_parquet`` give identical fits and
exports; bad paths are a ``DataError``. A kill of the client (SIGKILL at a fault point, see
``tests/test_faults.py``) or of a worker while it writes its slice leaves nothing that
``open_export`` accepts at the target, and the next run writes a complete export.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline
from seqprep.exceptions import ArtifactError, DataError, InvalidParameterError, SeqprepError

dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from seqprep.dask import _common as common  # noqa: E402
from seqprep.dask import _parquet as parquet_mod  # noqa: E402
from seqprep.dask import _plan as plan_mod  # noqa: E402
from seqprep.dask import export, fit_pipeline  # noqa: E402
from seqprep.dask._cluster import _as_dask_frame  # noqa: E402
from seqprep.outofcore import open_export  # noqa: E402


def _panel(n_series: int = 6, seed: int = 0) -> pd.DataFrame:
    """Hourly series of different lengths; float32 and float64 features, an int key."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_series):
        n = 40 + 7 * k
        frames.append(pd.DataFrame({
            "t": pd.date_range("2023-01-01", periods=n, freq="h"),
            "g": np.int64(k),
            "a": rng.normal(100.0, 5.0, n),
            "b": rng.normal(size=n).astype(np.float32),
        }))
    return pd.concat(frames, ignore_index=True)


def _write(df: pd.DataFrame, folder: Path, groups: list[list[int]], row_group_size: int = 17) -> str:
    """One file per group of series, several row groups per file (a column is several Arrow chunks)."""
    folder.mkdir()
    for j, keys in enumerate(groups):
        table = pa.Table.from_pandas(df[df["g"].isin(keys)], preserve_index=False)
        pq.write_table(table, folder / f"part-{j}.parquet", row_group_size=row_group_size)
    return str(folder)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------- the reader


def test_each_file_reads_as_dask_reads_the_partition(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    n = 50
    rng = np.random.default_rng(3)
    base = pd.DataFrame({
        "t": pd.date_range("2024-01-01", periods=n, freq="min"),
        "f32": rng.normal(size=n).astype(np.float32),
        "i64": np.arange(n, dtype=np.int64),
        "flag": rng.random(n) > 0.5,
        "with_nan": np.where(np.arange(n) % 7 == 0, np.nan, 1.0),
        "name": [f"s{i % 3}" for i in range(n)],
    })
    int_nulls = pa.array([None if i % 5 == 0 else i for i in range(n)], type=pa.int32())
    # part-2 before part-10 (dask's natural order), "_SUCCESS" skipped, a stored unnamed index dropped
    for j in (10, 2, 1):
        frame = base.assign(i64=base["i64"] + j)
        frame.index = frame.index + 1000 * j  # stored as __index_level_0__
        table = pa.Table.from_pandas(frame, preserve_index=True).append_column("int_nulls", int_nulls)
        pq.write_table(table, folder / f"part-{j}.parquet", row_group_size=13)
    (folder / "_SUCCESS").write_text("")
    (folder / "README.txt").write_text("not a partition")  # dask reads .parquet/.parq/.pq names only
    files = parquet_mod.parquet_files(folder)
    assert files is not None and files.npartitions == 3
    assert [Path(f).name for f in files.files] == ["part-1.parquet", "part-2.parquet", "part-10.parquet"]
    ddf = dd.read_parquet(str(folder))
    assert ddf.npartitions == 3
    assert list(files.dtypes.index) == list(ddf.columns)
    for i, path in enumerate(files.files):
        got = parquet_mod._read_partition(path)
        want = ddf.partitions[i].compute().reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
        assert "__index_level_0__" not in got.columns


def test_a_column_is_read_alone_and_one_row_group_is_not_copied(tmp_path, monkeypatch):
    df = _panel()
    one = tmp_path / "one.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), one)  # one row group
    asked: list[list[str]] = []
    real = pq.ParquetFile.read

    def spy(self, columns=None, **kwargs):
        asked.append(list(columns or []))
        return real(self, columns=columns, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read", spy)
    got = parquet_mod._read_partition(str(one))
    assert asked == [[c] for c in df.columns]  # never the whole table at once
    assert not got["a"].to_numpy().flags.owndata  # a view of the Arrow buffer, not a copy
    pd.testing.assert_frame_equal(got, df)


@pytest.mark.parametrize(
    "options",
    [{}, {"scaler": "robust"}, {"scale_per": "series", "scaler": "minmax"},
     {"derived": [{"kind": "lag", "column": "b", "lags": [1, 2]}], "gap": "2h"}],
    ids=["standard", "robust", "per-series", "lag-gap"],
)
def test_a_path_and_its_read_parquet_give_the_same_fit_and_export(tmp_path, options):
    df = _panel()
    path = _write(df, tmp_path / "data", [[0, 1], [2], [3, 4, 5]])
    cfg = {"lookback": 6, "horizon": 2, "target": "a", "time": "t", "group": "g", "split": (0.6, 0.2, 0.2),
           **options}
    with dask.config.set(scheduler="sync"):
        from_path = fit_pipeline(Pipeline(**cfg), path)
        from_ddf = fit_pipeline(Pipeline(**cfg), dd.read_parquet(path))
        a = export(from_path, path, tmp_path / "a")
        b = export(from_ddf, dd.read_parquet(path), tmp_path / "b")
    assert from_path.schema_ == from_ddf.schema_
    assert from_path.scaler_.to_dict() == from_ddf.scaler_.to_dict()  # same chunks, same merge order: equal
    for name in ("data.npy", "time.npy", "bounds.npy", "breaks.npy", "starts-train.npy", "starts-val.npy",
                 "starts-test.npy"):
        assert _digest(a / name) == _digest(b / name), name
    ref = Pipeline(**cfg)
    parts = ref.fit(df)
    assert from_path.schema_ == ref.schema_
    fitted, want = from_path.scaler_.to_dict()["fitted"], ref.scaler_.to_dict()["fitted"]
    for key, value in want.get("moments", {}).items():
        if value is not None:
            np.testing.assert_allclose(np.asarray(fitted["moments"][key], float), np.asarray(value, float), rtol=1e-9)
    opened = open_export(a, verify=True)
    for name, w in parts.parts.items():
        np.testing.assert_array_equal(opened[name].starts, w.starts)
    np.testing.assert_allclose(np.load(a / "data.npy"), parts.train.series_data.values, rtol=1e-6, atol=1e-6)


def test_one_series_in_files_named_past_9_is_read_in_time_order(tmp_path):
    n = 330
    df = pd.DataFrame({"t": pd.date_range("2022-01-01", periods=n, freq="h"),
                       "y": np.cumsum(np.random.default_rng(5).normal(size=n)) + 10.0})
    folder = tmp_path / "data"
    folder.mkdir()
    for j in range(11):  # part-0 ... part-10: part-10 sorts before part-2 by name, after it by number
        df.iloc[30 * j : 30 * (j + 1)].to_parquet(folder / f"part-{j}.parquet", index=False)
    cfg = {"lookback": 8, "target": "y", "time": "t", "derived": [{"kind": "rolling", "column": "y", "window": 40}]}
    with dask.config.set(scheduler="sync"):
        pipe = fit_pipeline(Pipeline(**cfg), folder)  # a rolling window longer than a file: heads across files
        out = export(pipe, folder, tmp_path / "out")
    ref = Pipeline(**cfg)
    parts = ref.fit(df)
    assert pipe.schema_ == ref.schema_
    np.testing.assert_allclose(pipe.scaler_.mean_, ref.scaler_.mean_, rtol=1e-9)
    opened = open_export(out, verify=True)
    for name, w in parts.parts.items():
        np.testing.assert_array_equal(opened[name].starts, w.starts)
    np.testing.assert_allclose(np.load(out / "data.npy"), parts.train.series_data.values, rtol=1e-6, atol=1e-6)


def test_the_path_is_read_in_the_task_that_works_on_it(tmp_path):
    path = _write(_panel(), tmp_path / "data", [[0, 1, 2], [3, 4, 5]])
    files = _as_dask_frame(path)
    assert isinstance(files, parquet_mod.ParquetFiles)
    jobs = common._per_partition(dask, files, plan_mod._summarize, Pipeline(lookback=4, target="a", group="g"),
                                 False)
    graph = dict(dask.delayed(jobs).__dask_graph__())
    reads = [k for k in graph if str(k).startswith("_apply_file")]
    assert len(reads) == 2 and len(graph) == 3  # one read-and-work task per file, and the list of their results


def test_bad_paths_are_data_errors_and_hive_folders_go_to_dask(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        fit_pipeline(Pipeline(lookback=3, target="a"), tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="without Parquet files"):
        fit_pipeline(Pipeline(lookback=3, target="a"), tmp_path / "empty")
    (tmp_path / "fake.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="cannot be read as Parquet"):
        fit_pipeline(Pipeline(lookback=3, target="a"), tmp_path / "fake.parquet")
    with pytest.raises(InvalidParameterError, match="ddf"):
        fit_pipeline(Pipeline(lookback=3, target="a"), 42)
    hive = tmp_path / "hive"
    (hive / "g=0").mkdir(parents=True)
    pd.DataFrame({"a": np.arange(30.0)}).to_parquet(hive / "g=0" / "x.parquet", index=False)
    assert isinstance(_as_dask_frame(hive), dd.DataFrame)  # folder names become columns: dask's reader
    assert issubclass(DataError, SeqprepError)


# ---------------------------------------------------------------------- killed exports


def _killed_export(tmp_path: Path, data: str, out: Path, point: str, overwrite: bool) -> None:
    """Fit and export in a subprocess that SIGKILLs itself at ``point`` (the threaded scheduler: one process)."""
    code = textwrap.dedent(f"""
        from seqprep import Pipeline
        from seqprep.dask import export, fit_pipeline
        pipe = fit_pipeline(Pipeline(lookback=6, target="a", time="t", group="g", split=(0.6, 0.2, 0.2)), {data!r})
        export(pipe, {data!r}, {str(out)!r}, overwrite={overwrite})
    """)
    env = {**os.environ, "SEQPREP_FAULT": point}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path, check=False)
    assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr[-2000:])


@pytest.mark.parametrize("point", ["dask:written", "dask:sealed"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_killed_export_leaves_nothing_open_export_accepts_and_the_rerun_is_complete(tmp_path, point, overwrite):
    df = _panel()
    data = _write(df, tmp_path / "data", [[0, 1, 2], [3, 4, 5]])
    out = tmp_path / "out"
    cfg = {"lookback": 6, "target": "a", "time": "t", "group": "g", "split": (0.6, 0.2, 0.2)}
    before = None
    if overwrite:  # an older export (another lookback) is there: it must survive the kill byte for byte
        with dask.config.set(scheduler="sync"):
            export(fit_pipeline(Pipeline(**{**cfg, "lookback": 9}), data), data, out)
        before = {p.name: _digest(p) for p in out.iterdir() if p.is_file()}
    _killed_export(tmp_path, data, out, point, overwrite)
    if before is None:
        with pytest.raises(ArtifactError, match="manifest.json is missing"):
            open_export(out)
    else:
        assert {p.name: _digest(p) for p in out.iterdir() if p.is_file()} == before
        assert open_export(out, verify=True)["train"].spec.lookback == 9
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.tmp-")]  # the kill's temporary
    with dask.config.set(scheduler="sync"):
        pipe = fit_pipeline(Pipeline(**cfg), data)
        export(pipe, data, out, overwrite=True)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # removed by the rerun
    parts = Pipeline(**cfg).fit(df)
    opened = open_export(out, verify=True)
    for name, w in parts.parts.items():
        np.testing.assert_array_equal(opened[name].starts, w.starts)


def test_a_worker_killed_while_writing_its_slice_fails_the_export_and_leaves_nothing(tmp_path):
    distributed = pytest.importorskip("distributed")
    df = _panel()
    data = _write(df, tmp_path / "data", [[0, 1, 2], [3, 4, 5]])
    cfg = {"lookback": 6, "target": "a", "time": "t", "group": "g", "split": (0.6, 0.2, 0.2)}
    with dask.config.set(scheduler="sync"):
        pipe = fit_pipeline(Pipeline(**cfg), data)
    out = tmp_path / "out"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None,
            env={"SEQPREP_FAULT": "dask:worker-wrote-chunk"},  # the worker dies after its first chunk's rows
        )
        client = distributed.Client(cluster, timeout="60s")
        try:
            with pytest.raises(distributed.scheduler.KilledWorker):
                export(pipe, data, out, client=client)
        finally:
            client.close()
            cluster.close()
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the half-written temporary is gone
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        open_export(out)
    with dask.config.set(scheduler="sync"):
        export(pipe, data, out)
    opened = open_export(out, verify=True)
    parts = Pipeline(**cfg).fit(df)
    np.testing.assert_array_equal(opened["test"].starts, parts.test.starts)
