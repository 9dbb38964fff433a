"""seqprep.dask against a real LocalCluster (2 worker processes): same cut, statistics and windows as in memory."""

from __future__ import annotations

import faulthandler
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline
from seqprep.exceptions import DataError, InvalidParameterError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from seqprep.dask import export, fit_pipeline  # noqa: E402

MODULE_TIMEOUT_S = 180  # pytest-timeout is not a dependency: faulthandler ends a hung run instead


@pytest.fixture(scope="module")
def client():
    faulthandler.dump_traceback_later(MODULE_TIMEOUT_S, exit=True)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
    )
    c = distributed.Client(cluster, timeout="60s")
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        faulthandler.cancel_dump_traceback_later()


def _panel(seed: int = 0) -> pd.DataFrame:
    """Five daily series of different lengths and start dates; series s2 has a missing day."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, n in enumerate([60, 45, 80, 30, 52]):
        t = pd.date_range("2021-01-01", periods=n + 3, freq="D")[k % 3 :][:n]
        if k == 2:
            t = t.delete(10).append(pd.DatetimeIndex([t[-1] + pd.Timedelta("1D")]))
        frames.append(pd.DataFrame({"sid": f"s{k}", "t": t, "a": rng.normal(1e4, 5, n), "b": rng.normal(size=n)}))
    return pd.concat(frames, ignore_index=True)


def _parquet_by_series(df: pd.DataFrame, path, groups) -> str:
    """A Parquet dataset with one file per group of series (partitions aligned to series)."""
    path.mkdir()
    keys = list(df["sid"].unique())
    i = 0
    for j, size in enumerate(groups):
        df[df["sid"].isin(keys[i : i + size])].to_parquet(path / f"part-{j}.parquet", index=False)
        i += size
    return str(path)


def _check_same(ref: Pipeline, parts, pipe: Pipeline, out) -> None:
    assert pipe.schema_ == ref.schema_
    a, b = ref.scaler_.to_dict()["fitted"], pipe.scaler_.to_dict()["fitted"]
    assert type(ref.scaler_) is type(pipe.scaler_)
    for key, value in a.get("moments", {}).items():  # IdentityScaler (scale_per="sample") has no moments
        if value is not None:
            np.testing.assert_allclose(np.asarray(b["moments"][key], float), np.asarray(value, float), rtol=1e-6)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["parts"] == {name: len(w) for name, w in parts.parts.items()}
    for name, w in parts.parts.items():
        starts = np.load(out / f"starts-{name}.npy")
        assert starts.dtype == np.int64
        np.testing.assert_array_equal(starts, w.starts)  # bit-identical window index
    np.testing.assert_array_equal(np.load(out / "bounds.npy"), parts.train.series_data.bounds)
    data = np.load(out / "data.npy")
    full = parts.train.series_data.values  # the in-memory pipeline's scaled rows
    assert data.dtype == full.dtype == np.float32
    np.testing.assert_allclose(data, full, rtol=1e-6, atol=1e-6)
    loaded = Pipeline.load(out / "pipeline")
    assert loaded.schema_ == ref.schema_
    # the one-machine reader opens it, checks every chunk hash, and gives the same windows
    from seqprep.outofcore import open_export

    opened = open_export(out, verify=True)
    for name, w in parts.parts.items():
        np.testing.assert_array_equal(opened[name].starts, w.starts)
        X0, y0 = w[0:3]
        X1, y1 = opened[name][0:3]
        np.testing.assert_allclose(X1, X0, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y1, y0, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"gap": 2, "scaler": "minmax"},
        {"gap": "3D", "context": "part"},
        {"split": ("2021-02-01", "2021-02-15"), "gap": "2D", "scaler": "maxabs"},
        {"gap": 1, "derived": [{"kind": "calendar", "features": ["dayofyear", "weekday"]}]},
        {"derived": [{"kind": "lag", "column": "b", "lags": [1, 3]}, {"kind": "rolling", "column": "a", "window": 5},
                     {"kind": "diff", "column": "a"}], "features": ["b"], "scale_per": "series"},
    ],
    ids=["fractions", "gap-rows-minmax", "gap-duration-part", "timestamp-cuts", "calendar", "lag-rolling-diff"],
)
def test_series_aligned_parquet_matches_in_memory(client, tmp_path, options):
    df = _panel()
    path = _parquet_by_series(df, tmp_path / "data", [2, 1, 2])
    cfg = {"lookback": 5, "horizon": [1, 2], "target": "a", "time": "t", "group": "sid", **options}
    ddf = dd.read_parquet(path)
    assert ddf.npartitions == 3
    ref = Pipeline(**cfg)
    parts = ref.fit(ddf.compute())
    pipe = fit_pipeline(Pipeline(**cfg), path, client=client)  # a path is read with dd.read_parquet
    out = export(pipe, ddf, tmp_path / "export", client=client, chunk_rows=100)
    _check_same(ref, parts, pipe, out)


@pytest.mark.parametrize("npartitions", [1, 3])
def test_time_aligned_single_series_matches_in_memory(client, tmp_path, npartitions):
    n = 90
    t = pd.date_range("2022-03-01", periods=n + 1, freq="h").delete(30)  # a missing hour ...
    df = pd.DataFrame({"t": t, "y": np.cumsum(np.random.default_rng(1).normal(size=n)) + 50.0})
    ddf = dd.from_pandas(df, npartitions=npartitions, sort=False)
    if npartitions == 3:  # ... exactly at a partition boundary: only the summaries can see it
        ddf = dd.from_pandas(df, chunksize=30, sort=False)
        assert [len(p) for p in ddf.partitions] == [30, 30, 30]
    cfg = {"lookback": 6, "target": "y", "time": "t", "gap": "5h", "split": (0.6, 0.2, 0.2),
           "derived": [{"kind": "calendar", "features": ["hour"]}]}  # computed per partition, no warm-up
    ref = Pipeline(**cfg)
    parts = ref.fit(df)
    assert parts.train.report["windows_spanning_gaps"] > 0
    pipe = fit_pipeline(Pipeline(**cfg), ddf, client=client)
    out = export(pipe, ddf, tmp_path / "export", client=client)
    _check_same(ref, parts, pipe, out)


@pytest.mark.parametrize("npartitions", [1, 3])
def test_calendar_months_match_in_memory(client, tmp_path, npartitions):
    t = pd.date_range("2000-01-31", periods=91, freq="ME").delete(60)  # month ends; a missing month ...
    df = pd.DataFrame({"t": t, "y": np.cumsum(np.random.default_rng(2).normal(size=90)) + 50.0})
    ddf = dd.from_pandas(df, chunksize=30, sort=False) if npartitions == 3 else dd.from_pandas(df, npartitions=1)
    cfg = {"lookback": 6, "target": "y", "time": "t", "gap": "2ME", "split": (0.6, 0.2, 0.2)}
    ref = Pipeline(**cfg)
    parts = ref.fit(df)
    assert ref.schema_["freq"] == "ME" and parts.train.series_data.breaks.tolist() == [60]
    pipe = fit_pipeline(Pipeline(**cfg), ddf, client=client)  # ... at a partition boundary for 3 partitions
    assert pipe.schema_["freq"] == "ME"
    out = export(pipe, ddf, tmp_path / "export", client=client)
    _check_same(ref, parts, pipe, out)


def _check_windows_and_inverse(ref: Pipeline, parts, pipe: Pipeline, out) -> None:
    """Every exported window equals the in-memory one; inverse_target agrees with either set of windows."""
    from seqprep.outofcore import open_export

    opened = open_export(out)
    for name, w in parts.parts.items():
        X0, y0 = w[0 : len(w)]
        X1, y1 = opened[name][0 : len(w)]
        np.testing.assert_allclose(X1, X0, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y1, y0, rtol=1e-6, atol=1e-6)
    test = parts.parts["test"]
    y = np.random.default_rng(3).normal(size=(len(test), *test[0:1][1].shape[1:]))
    expected = ref.inverse_target(y, windows=test)
    np.testing.assert_allclose(pipe.inverse_target(y, windows=test), expected, rtol=1e-6)
    np.testing.assert_allclose(pipe.inverse_target(y, windows=opened["test"]), expected, rtol=1e-6)


def _check_series_scaler(ref: Pipeline, pipe: Pipeline) -> None:
    from seqprep.scaling import SeriesScaler

    assert isinstance(pipe.scaler_, SeriesScaler) and isinstance(ref.scaler_, SeriesScaler)
    assert pipe.scaler_.base == ref.scaler_.base
    assert pipe.schema_["series_keys"] == ref.schema_["series_keys"] is not None
    np.testing.assert_array_equal(pipe.scaler_.series_counts_, ref.scaler_.series_counts_)
    np.testing.assert_allclose(pipe.scaler_.center_, ref.scaler_.center_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(pipe.scaler_.scale_, ref.scaler_.scale_, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("scaler", ["standard", "minmax"])
def test_per_series_series_aligned_matches_in_memory(client, tmp_path, scaler):
    df = _panel()
    path = _parquet_by_series(df, tmp_path / "data", [2, 1, 2])
    cfg = {"lookback": 5, "horizon": [1, 2], "target": "a", "time": "t", "group": "sid", "gap": 2,
           "scaler": scaler, "scale_per": "series"}
    ddf = dd.read_parquet(path)
    ref = Pipeline(**cfg)
    parts = ref.fit(ddf.compute())
    pipe = fit_pipeline(Pipeline(**cfg), ddf, client=client)
    _check_series_scaler(ref, pipe)
    out = export(pipe, ddf, tmp_path / "export", client=client, chunk_rows=100)
    _check_same(ref, parts, pipe, out)
    _check_windows_and_inverse(ref, parts, pipe, out)
    assert json.loads((out / "manifest.json").read_text())["scale_per"] == "series"
    # a pipeline fitted in memory exports the same rows: statistics are looked up by series key
    out2 = export(ref, ddf, tmp_path / "export-ref", client=client, chunk_rows=100)
    np.testing.assert_array_equal(np.load(out2 / "data.npy"), np.load(out / "data.npy"))


@pytest.mark.parametrize("scaler", ["standard", "minmax"])
@pytest.mark.parametrize("npartitions", [1, 3])
def test_per_series_time_aligned_matches_in_memory(client, tmp_path, scaler, npartitions):
    n = 90
    t = pd.date_range("2022-03-01", periods=n, freq="h")
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"t": t, "y": np.cumsum(rng.normal(size=n)) + 50.0, "x": rng.normal(size=n)})
    ddf = dd.from_pandas(df, chunksize=30, sort=False) if npartitions == 3 else dd.from_pandas(df, npartitions=1)
    assert ddf.npartitions == npartitions
    cfg = {"lookback": 6, "target": "y", "time": "t", "split": (0.6, 0.2, 0.2), "scaler": scaler,
           "scale_per": "series"}
    ref = Pipeline(**cfg)
    parts = ref.fit(df)
    pipe = fit_pipeline(Pipeline(**cfg), ddf, client=client)
    _check_series_scaler(ref, pipe)
    out = export(pipe, ddf, tmp_path / "export", client=client)
    _check_same(ref, parts, pipe, out)
    _check_windows_and_inverse(ref, parts, pipe, out)


def test_per_series_without_training_rows_is_refused(client, tmp_path):
    df = _panel()
    late = pd.DataFrame({"sid": "late", "t": pd.date_range("2021-06-01", periods=40, freq="D"),
                         "a": np.arange(40.0), "b": np.ones(40)})
    df = pd.concat([df, late], ignore_index=True)
    path = _parquet_by_series(df, tmp_path / "data", [3, 3])
    cfg = {"lookback": 5, "target": "a", "time": "t", "group": "sid", "scale_per": "series"}
    with pytest.raises(DataError, match="needs training rows in every series") as in_memory:
        Pipeline(**cfg).fit(df)
    pipe = Pipeline(**cfg)
    with pytest.raises(DataError, match="needs training rows in every series.*'late'") as distributed_error:
        fit_pipeline(pipe, path, client=client)
    assert str(distributed_error.value) == str(in_memory.value)
    assert pipe.scaler_ is None and pipe.schema_ is None  # refused before the pipeline changes


def test_per_series_export_refuses_unseen_series(client, tmp_path):
    df = _panel()
    cfg = {"lookback": 5, "target": "a", "time": "t", "group": "sid", "scale_per": "series"}
    pipe = fit_pipeline(Pipeline(**cfg), dd.from_pandas(df[df["sid"] != "s4"], npartitions=1), client=client)
    with pytest.raises(DataError, match="series 's4' of the data were not seen at fit"):
        export(pipe, dd.from_pandas(df, npartitions=1), tmp_path / "export", client=client)
    assert not (tmp_path / "export").exists()


@pytest.mark.parametrize("aligned", ["series", "time"])
def test_per_window_scaling_matches_in_memory(client, tmp_path, aligned):
    if aligned == "series":
        df = _panel()
        ddf = dd.read_parquet(_parquet_by_series(df, tmp_path / "data", [2, 1, 2]))
        cfg = {"lookback": 5, "target": "a", "time": "t", "group": "sid", "gap": "2D"}
    else:
        df = pd.DataFrame({"t": pd.date_range("2022-03-01", periods=90, freq="h"),
                           "y": np.cumsum(np.random.default_rng(4).normal(size=90)) + 50.0})
        ddf = dd.from_pandas(df, chunksize=30, sort=False)
        cfg = {"lookback": 6, "target": "y", "time": "t", "split": (0.6, 0.2, 0.2)}
    cfg["scale_per"] = "sample"
    ref = Pipeline(**cfg)
    parts = ref.fit(ddf.compute())
    pipe = fit_pipeline(Pipeline(**cfg), ddf, client=client)
    assert pipe.scaler_.n_samples_seen_ == ref.scaler_.n_samples_seen_
    out = export(pipe, ddf, tmp_path / "export", client=client)
    _check_same(ref, parts, pipe, out)  # data.npy: the unscaled rows, as in memory
    assert json.loads((out / "manifest.json").read_text())["scale_per"] == "sample"
    _check_windows_and_inverse(ref, parts, pipe, out)  # windows normalised as they are read


def test_series_split_across_partitions_is_refused(client):
    df = _panel()
    ddf = dd.from_pandas(df, npartitions=4, sort=False)  # row chunks: series cut in the middle
    with pytest.raises(DataError, match="aligned to series.*split across partitions"):
        fit_pipeline(Pipeline(lookback=5, target="a", time="t", group="sid"), ddf, client=client)


def test_partitions_out_of_time_order_are_refused(client):
    df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=40, freq="D"), "y": np.arange(40.0)})
    ddf = dd.concat([dd.from_pandas(df.iloc[20:], npartitions=1), dd.from_pandas(df.iloc[:20], npartitions=1)])
    with pytest.raises(DataError, match="not in time order"):
        fit_pipeline(Pipeline(lookback=3, target="y", time="t"), ddf, client=client)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"scaler": "log1p"}, "mergeable"),
        ({"scale_per": "series", "group": "g", "scaler": "robust"},
         r"with scale_per='series' with seqprep\.dask\. Received: scaler='robust'.*in memory with Pipeline\.fit"),
        ({"scale_per": "series", "group": "g", "scaler": {"y": "minmax"}}, "scaler"),
        ({"holdout": "series"}, "holdout"),
        ({"derived": [{"kind": "calendar"}]}, "`time` must be a timestamp column"),
    ],
)
def test_unsupported_settings_are_refused_before_any_work(options, match):
    ddf = dd.from_pandas(pd.DataFrame({"y": np.arange(30.0), "g": 0}), npartitions=1)
    with pytest.raises(InvalidParameterError, match=match):
        fit_pipeline(Pipeline(lookback=3, target="y", **options), ddf)


def test_export_refuses_unfitted_and_existing_dirs(tmp_path):
    ddf = dd.from_pandas(pd.DataFrame({"y": np.arange(30.0)}), npartitions=2)
    pipe = Pipeline(lookback=3, target="y", split=(0.7, 0.3))
    with pytest.raises(Exception, match="not fitted"):
        export(pipe, ddf, tmp_path / "e")
    fit_pipeline(pipe, ddf)
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "x").write_text("keep")
    with pytest.raises(Exception, match="refusing to overwrite"):
        export(pipe, ddf, tmp_path / "e")
    export(pipe, ddf, tmp_path / "e", overwrite=True)
    assert not (tmp_path / "e" / "x").exists()


def test_clear_import_error_without_dask():
    code = (
        "import sys; sys.modules['dask'] = None\n"
        "import seqprep.dask\n"
        "try:\n"
        "    seqprep.dask.fit_pipeline(None, None)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "pip install 'seqprep[dask]'" in out.stdout


@pytest.mark.parametrize("scaler", ["standard", "robust"])
def test_warm_up_features_of_a_series_split_across_partitions_read_the_rows_before(client, tmp_path, scaler):
    # 3 partitions of 20 rows; a rolling window of 25 rows needs rows from two partitions back.
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"t": pd.date_range("2022-01-01", periods=60, freq="D"), "y": rng.normal(size=60).cumsum(),
                       "x": rng.normal(size=60)})
    cfg = {"lookback": 4, "target": "y", "time": "t", "split": (0.7, 0.3), "scaler": scaler,
           "derived": [{"kind": "lag", "column": "y", "lags": 2}, {"kind": "rolling", "column": "x", "window": 25,
                                                                         "stats": ["mean", "std"]}]}
    ddf = dd.from_pandas(df, chunksize=20, sort=False)
    assert ddf.npartitions == 3
    ref = Pipeline(**cfg)
    parts = ref.fit(df)
    pipe = fit_pipeline(Pipeline(**cfg), ddf, client=client)
    assert pipe.schema_["warmup"] == 24
    out = export(pipe, ddf, tmp_path / "export", client=client)
    _check_same(ref, parts, pipe, out)
    if scaler == "robust":
        np.testing.assert_array_equal(pipe.scaler_.center_, ref.scaler_.center_)


@pytest.mark.parametrize("npartitions", [1, 3])
def test_robust_scaling_finds_the_exact_quantiles_in_passes(client, tmp_path, npartitions):
    df = _panel()
    df.loc[df.index[::5], "b"] = 0.25  # ties
    path = _parquet_by_series(df, tmp_path / "data", [5] if npartitions == 1 else [2, 1, 2])
    cfg = {"lookback": 5, "target": "a", "time": "t", "group": "sid", "scaler": "robust", "gap": 1,
           "derived": [{"kind": "lag", "column": "b", "lags": 2}]}
    ref = Pipeline(**cfg)
    parts = ref.fit(df)
    pipe = fit_pipeline(Pipeline(**cfg), path, client=client)
    np.testing.assert_array_equal(pipe.scaler_.center_, ref.scaler_.center_)  # bit for bit
    np.testing.assert_array_equal(pipe.scaler_.scale_, ref.scaler_.scale_)
    out = export(pipe, dd.read_parquet(path), tmp_path / "export", client=client)
    _check_same(ref, parts, pipe, out)
