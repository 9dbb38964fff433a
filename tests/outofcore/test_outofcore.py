"""Out-of-core: streaming fit and resumable export agree with the in-memory Pipeline."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from seqprep import Pipeline
from seqprep.exceptions import ArtifactError, DataError, InvalidParameterError
from seqprep.outofcore import NpySource, fit_stream, open_export


def _table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "a": np.cumsum(rng.normal(size=n)) + 50.0,
        "b": rng.normal(3.0, 2.0, size=n),
        "y": rng.normal(-1.0, 0.5, size=n),
    })


def _long(seed: int = 1) -> pd.DataFrame:
    """Three series with daily timestamps, some rows missing (gaps), sorted by (group, time)."""
    rng = np.random.default_rng(seed)
    frames = []
    for g, (n, start) in enumerate([(300, "2020-01-01"), (250, "2020-02-15"), (320, "2019-12-01")]):
        t = pd.date_range(start, periods=n, freq="D")
        keep = np.ones(n, dtype=bool)
        keep[rng.choice(np.arange(20, n - 20), size=3, replace=False)] = False
        frames.append(pd.DataFrame({
            "key": f"s{g}", "t": t[keep], "a": rng.normal(size=keep.sum()) * (g + 1),
            "b": rng.uniform(0, 10, size=keep.sum()), "y": rng.normal(5, 1, size=keep.sum()),
        }))
    return pd.concat(frames, ignore_index=True)


def _assert_same(pipe_mem: Pipeline, parts_mem: dict, pipe_ooc: Pipeline, parts_ooc: dict) -> None:
    s_mem, s_ooc = pipe_mem.scaler_, pipe_ooc.scaler_
    for attr in ("mean_", "scale_", "data_min_", "data_max_"):
        if hasattr(s_mem, attr):
            np.testing.assert_allclose(getattr(s_ooc, attr), getattr(s_mem, attr), rtol=1e-6, atol=0)
    assert list(parts_mem) == list(parts_ooc)
    for name in parts_mem:
        np.testing.assert_array_equal(parts_ooc[name].starts, parts_mem[name].starts)
        X1, y1 = parts_mem[name][:]
        X2, y2 = parts_ooc[name][:]
        np.testing.assert_allclose(X2, X1, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y2, y1, rtol=1e-6, atol=1e-6)
        assert X2.shape == X1.shape and y2.shape == y1.shape


def test_npy_single_series_matches_in_memory(tmp_path):
    df = _table()
    np.save(tmp_path / "x.npy", df.to_numpy(np.float64))
    kw = dict(lookback=12, horizon=[1, 3], target="y", split=(0.6, 0.2, 0.2), gap=4)
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    ooc = Pipeline(**kw)
    out = ooc.export(tmp_path / "out", tmp_path / "x.npy", columns=list(df.columns), chunk_rows=97)
    _assert_same(mem, parts_mem, ooc, open_export(out, verify=True))
    assert np.load(out / "data.npy", mmap_mode="r").dtype == np.float32


def test_npy_sidecar_columns_and_extra_target(tmp_path):
    df = _table(400)
    np.save(tmp_path / "x.npy", df.to_numpy(np.float32))
    (tmp_path / "x.npy.json").write_text(json.dumps({"columns": list(df.columns)}))
    kw = dict(lookback=8, target="y", features=["b", "a"], scaler="minmax")
    mem = Pipeline(**kw)
    parts_mem = mem.fit(pd.DataFrame(df.to_numpy(np.float32), columns=df.columns)).parts
    ooc = Pipeline(**kw)
    fit = ooc.fit_stream(tmp_path / "x.npy", chunk_rows=64)
    assert fit.columns == ["b", "a", "y"] and fit.n_windows == {k: len(v) for k, v in parts_mem.items()}
    ooc.export(tmp_path / "out", tmp_path / "x.npy", chunk_rows=64)
    _assert_same(mem, parts_mem, ooc, open_export(tmp_path / "out"))


@pytest.mark.parametrize("split, gap", [((0.7, 0.15, 0.15), 2), ((0.6, 0.4), "5D"), (("2020-06-01", "2020-08-01"), 3)])
def test_parquet_groups_time_gaps_row_groups(tmp_path, split, gap):
    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=70)
    assert pq.ParquetFile(tmp_path / "d.parquet").num_row_groups > 5
    kw = dict(lookback=10, target="y", time="t", group="key", split=split, gap=gap)
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    ooc = Pipeline(**kw)
    out = ooc.export(tmp_path / "out", tmp_path / "d.parquet", chunk_rows=128)
    parts = open_export(out)
    _assert_same(mem, parts_mem, ooc, parts)
    assert ooc.schema_["freq"] == mem.schema_["freq"]
    np.testing.assert_array_equal(np.load(out / "time.npy"), df["t"].to_numpy())


@pytest.mark.parametrize("scaler", ["standard", "minmax"])
def test_per_series_scaling_streams_and_matches_in_memory(tmp_path, scaler):
    # Chunks of 64 rows cut through the series, so every series' statistics are merged across chunks.
    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=70)
    kw = dict(lookback=10, target="y", time="t", group="key", split=(0.7, 0.15, 0.15), gap=2,
              scaler=scaler, scale_per="series")
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    ooc = Pipeline(**kw)
    parts = open_export(ooc.export(tmp_path / "out", tmp_path / "d.parquet", chunk_rows=64))
    np.testing.assert_allclose(ooc.scaler_.center_, mem.scaler_.center_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ooc.scaler_.scale_, mem.scaler_.scale_, rtol=1e-9, atol=1e-12)
    assert ooc.scaler_.center_.shape == (3, 3)  # (series, columns): the series really differ
    assert np.ptp(ooc.scaler_.scale_[:, 0]) > 1.0
    assert ooc.schema_["series_keys"] == ["s0", "s1", "s2"]
    _assert_same(mem, parts_mem, ooc, parts)
    # Predictions map back to each series' own units through the exported windows.
    _, y_scaled = parts["test"][:]
    np.testing.assert_allclose(ooc.inverse_target(y_scaled, windows=parts["test"]),
                               mem.inverse_target(parts_mem["test"][:][1], windows=parts_mem["test"]), rtol=1e-6)
    np.testing.assert_allclose(ooc.inverse_target(y_scaled, windows=parts["test"]),
                               _raw_targets(df, parts_mem["test"]), rtol=1e-5, atol=1e-5)
    # The saved pipeline scales new data of a known series with that series' statistics, found by its
    # key: "s1" is series 0 of the new data but series 1 of the fit.
    s1 = df[df["key"] == "s1"].reset_index(drop=True)
    new = Pipeline.load(tmp_path / "out" / "pipeline").transform(s1, inference=False)
    _, y_new = new.to_numpy()
    np.testing.assert_allclose(ooc.inverse_target(y_new, windows=new), _raw_targets(s1, new), rtol=1e-5, atol=1e-5)
    assert not np.allclose(y_new, _raw_targets(s1, new))


def _raw_targets(df: pd.DataFrame, windows) -> np.ndarray:
    """The windows' next-step targets read straight from the raw table (no scaling involved)."""
    return df["y"].to_numpy()[windows.starts + windows.spec.lookback]


def test_per_series_scaling_refuses_series_without_training_rows_by_name(tmp_path):
    df = _long()
    late = df[df["key"] == "s1"].assign(key="late", t=lambda d: d["t"] + pd.Timedelta(days=400))
    df = pd.concat([df, late], ignore_index=True)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet")
    kw = dict(lookback=10, target="y", time="t", group="key", split=("2020-06-01", "2020-08-01"), scale_per="series")
    msg = r"needs training rows in every series, but 1 series have none .*: 'late'\. Drop those series"
    refused = Pipeline(**kw)
    with pytest.raises(DataError, match=msg):
        refused.fit(df)
    assert refused.scaler_ is None and refused.schema_ is None  # not left half-fitted
    with pytest.raises(DataError, match=msg):
        fit_stream(Pipeline(**kw), tmp_path / "d.parquet", chunk_rows=100)


def test_per_window_scaling_streams_and_matches_in_memory(tmp_path):
    df = _table(500)
    np.save(tmp_path / "x.npy", df.to_numpy(np.float64))
    kw = dict(lookback=12, target="y", scale_per="sample")
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    ooc = Pipeline(**kw)
    parts = open_export(ooc.export(tmp_path / "out", tmp_path / "x.npy", columns=list(df.columns), chunk_rows=50))
    _assert_same(mem, parts_mem, ooc, parts)
    X, _ = parts["train"][:]
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-5)  # every window centred on its own
    import pickle

    assert np.array_equal(pickle.loads(pickle.dumps(parts["val"]))[:][0], parts["val"][:][0])


@pytest.mark.parametrize("context", ["past", "part"])
def test_window_starts_do_not_depend_on_the_block_size(context):
    # Blocks of 7 windows: short series are batched together, long ones cut into blocks of their own.
    from seqprep.outofcore._plan import _cut, _part_starts

    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 60, size=40)
    lengths[[5, 17]] = [400, 250]
    bounds = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    breaks = np.sort(rng.choice(np.arange(1, bounds[-1]), size=25, replace=False))
    spec = Pipeline(lookback=6, horizon=[1, 3], target="a", stride=2).spec
    ranges = _cut((0.6, 0.2, 0.2), 2, bounds, None)

    def per_part(block: int) -> list[np.ndarray]:
        out: list[list[np.ndarray]] = [[] for _ in ranges]
        for p, st in _part_starts(bounds, breaks, ranges, spec, context, block=block):
            out[p].append(st)
        return [np.concatenate(x) for x in out]

    whole = per_part(1 << 20)
    assert all(len(x) > 20 for x in whole)
    for block in (1, 7, 50):
        for a, b in zip(per_part(block), whole, strict=True):
            np.testing.assert_array_equal(a, b)


def test_parquet_dataset_directory(tmp_path):
    df = _table(500)
    (tmp_path / "ds").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(df)), 3)):
        pq.write_table(pa.Table.from_pandas(df.iloc[part], preserve_index=False), tmp_path / "ds" / f"p{i}.parquet")
    kw = dict(lookback=6, target="y")
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    ooc = Pipeline(**kw)
    _assert_same(mem, parts_mem, ooc, open_export(ooc.export(tmp_path / "out", tmp_path / "ds", chunk_rows=77)))


def _chunk_hashes(path, chunk_rows: int) -> list[str]:
    data = np.load(path, mmap_mode="r")
    return [hashlib.sha256(np.ascontiguousarray(data[a : a + chunk_rows]).tobytes()).hexdigest()
            for a in range(0, len(data), chunk_rows)]


def test_interrupted_export_resumes_without_redoing_chunks(tmp_path, monkeypatch):
    df = _table(1000)
    np.save(tmp_path / "x.npy", df.to_numpy())
    cols = list(df.columns)
    monkeypatch.setenv("SEQPREP_EXPORT_FAIL_AFTER", "3")
    with pytest.raises(RuntimeError, match="interrupted after chunk 2"):
        Pipeline(lookback=5, target="y").export(tmp_path / "out", tmp_path / "x.npy", columns=cols, chunk_rows=100)
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(ArtifactError, match="incomplete export .3 of 10 chunks"):
        open_export(tmp_path / "out")
    before = _chunk_hashes(tmp_path / "out" / "data.npy", 100)[:3]
    mtime = (tmp_path / "out" / "starts-train.npy").stat().st_mtime_ns
    monkeypatch.delenv("SEQPREP_EXPORT_FAIL_AFTER")
    pipe = Pipeline(lookback=5, target="y")
    pipe.export(tmp_path / "out", tmp_path / "x.npy", columns=cols, chunk_rows=100)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert [r["chunks_written"] for r in manifest["runs"]] == [[0, 1, 2], list(range(3, 10))]
    assert _chunk_hashes(tmp_path / "out" / "data.npy", 100)[:3] == before
    assert (tmp_path / "out" / "starts-train.npy").stat().st_mtime_ns == mtime
    clean = Pipeline(lookback=5, target="y").export(tmp_path / "clean", tmp_path / "x.npy", columns=cols,
                                                     chunk_rows=100)
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "data.npy"), np.load(clean / "data.npy"))
    assert manifest["chunks"] == json.loads((clean / "manifest.json").read_text())["chunks"]
    open_export(tmp_path / "out", verify=True)
    assert pipe.scaler_ is not None


def test_rerun_with_other_arguments_is_refused(tmp_path):
    df = _table(300)
    np.save(tmp_path / "x.npy", df.to_numpy())
    cols = list(df.columns)
    Pipeline(lookback=5, target="y").export(tmp_path / "out", tmp_path / "x.npy", columns=cols)
    with pytest.raises(ArtifactError, match="config.lookback"):
        Pipeline(lookback=6, target="y").export(tmp_path / "out", tmp_path / "x.npy", columns=cols)
    Pipeline(lookback=6, target="y").export(tmp_path / "out", tmp_path / "x.npy", columns=cols, overwrite=True)
    assert len(open_export(tmp_path / "out")["train"][0][0]) == 6
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="not a seqprep export"):
        Pipeline(lookback=5, target="y").export(tmp_path / "other", tmp_path / "x.npy", columns=cols, overwrite=True)


def test_unsorted_and_bad_data_are_refused(tmp_path):
    df = _long()
    shuffled = pd.concat([df.iloc[:100], df.iloc[400:500], df.iloc[100:400], df.iloc[500:]], ignore_index=True)
    pq.write_table(pa.Table.from_pandas(shuffled, preserve_index=False), tmp_path / "u.parquet", row_group_size=64)
    with pytest.raises(DataError, match="sorted by .group, time. to stream: row 200 starts a second run of series"):
        fit_stream(Pipeline(lookback=5, target="y", time="t", group="key"), tmp_path / "u.parquet", chunk_rows=50)
    swapped = df.copy()
    t = swapped["t"].to_numpy().copy()
    t[[130, 131]] = t[[131, 130]]
    swapped["t"] = t
    pq.write_table(pa.Table.from_pandas(swapped, preserve_index=False), tmp_path / "s.parquet")
    with pytest.raises(DataError, match="row 131 .* comes before row 130"):
        fit_stream(Pipeline(lookback=5, target="y", time="t", group="key"), tmp_path / "s.parquet", chunk_rows=50)
    arr = _table(200).to_numpy().copy()
    arr[150, 1] = np.nan
    np.save(tmp_path / "n.npy", arr)
    with pytest.raises(DataError, match="b: 1 .*row 150"):
        Pipeline(lookback=5, target="y").export(tmp_path / "o", tmp_path / "n.npy", columns=["a", "b", "y"])
    with pytest.raises(InvalidParameterError, match="columns"):
        NpySource(tmp_path / "n.npy", columns=["a", "b"])
    with pytest.raises(ArtifactError, match="no seqprep export"):
        open_export(tmp_path)


def test_cli_prepare(tmp_path):
    from seqprep.cli import cli

    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=100)
    args = ["prepare", str(tmp_path / "d.parquet"), "--out", str(tmp_path / "out"), "--lookback", "7",
            "--target", "y", "--time", "t", "--group", "key", "--split", "0.7,0.15,0.15", "--gap", "2",
            "--chunk-rows", "200"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "train:" in result.output and "windows" in result.output
    mem = Pipeline(lookback=7, target="y", time="t", group="key", gap=2)
    parts_mem = mem.fit(df).parts
    _assert_same(mem, parts_mem, Pipeline.load(tmp_path / "out" / "pipeline"), open_export(tmp_path / "out"))
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0
    other = CliRunner().invoke(cli, [*args[:-2], "--chunk-rows", "100"])
    assert other.exit_code == 2 and "other arguments" in other.output and "chunk_rows" in other.output
    per_series = CliRunner().invoke(cli, [*args[:3], str(tmp_path / "out_s"), *args[4:], "--scale-per", "series"])
    assert per_series.exit_code == 0, per_series.output
    mem_s = Pipeline(lookback=7, target="y", time="t", group="key", gap=2, scale_per="series")
    parts_s = mem_s.fit(df).parts
    _assert_same(mem_s, parts_s, Pipeline.load(tmp_path / "out_s" / "pipeline"), open_export(tmp_path / "out_s"))
    assert Pipeline.load(tmp_path / "out_s" / "pipeline").scale_per == "series"
    cal = CliRunner().invoke(cli, [*args[:3], str(tmp_path / "out_c"), *args[4:], "--calendar", "dayofyear,weekday"])
    assert cal.exit_code == 0, cal.output
    assert Pipeline.load(tmp_path / "out_c" / "pipeline").schema_["inputs"][-4:] == [
        "dayofyear_sin", "dayofyear_cos", "weekday_sin", "weekday_cos"]
    bad = CliRunner().invoke(cli, [*args[:3], str(tmp_path / "out_b"), *args[4:], "--calendar", "fortnight"])
    assert bad.exit_code == 2 and "fortnight" in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize("features", [None, ["b", "a"]])
def test_calendar_features_stream_and_match_in_memory(tmp_path, features):
    from seqprep.features import Calendar

    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=70)
    kw = dict(lookback=10, target="y", time="t", group="key", split=(0.7, 0.15, 0.15), gap=2, features=features,
              derived=[Calendar(features=("dayofyear", "weekday"))])
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    ooc = Pipeline(**kw)
    out = ooc.export(tmp_path / "out", tmp_path / "d.parquet", chunk_rows=53)  # chunks cut through series
    assert ooc.schema_["columns"] == mem.schema_["columns"]
    assert "dayofyear_sin" in ooc.schema_["inputs"]
    _assert_same(mem, parts_mem, ooc, open_export(out, verify=True))
    # the saved pipeline recomputes the calendar columns on new data, as the in-memory one does
    new = df[df["key"] == "s1"].tail(30)
    np.testing.assert_allclose(Pipeline.load(out / "pipeline").transform(new)[:][0], mem.transform(new)[:][0],
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(InvalidParameterError, match=r"`time` must be a timestamp column"):
        fit_stream(Pipeline(lookback=5, target="y", derived=[Calendar()]), tmp_path / "d.parquet")


def test_per_series_robust_is_refused_before_any_pass(tmp_path):
    from seqprep.cli import cli

    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=100)
    kw = dict(lookback=7, target="y", time="t", group="key", scaler="robust", scale_per="series")
    match = (r"`scaler` must be 'standard', 'minmax', 'maxabs' or 'none' with scale_per='series' for streaming\. "
             r"Received: scaler='robust'\..*Pipeline\.fit.*scale_per='feature'.*scaler='standard' per series")
    with pytest.raises(InvalidParameterError, match=match):
        fit_stream(Pipeline(**kw), tmp_path / "d.parquet")
    with pytest.raises(InvalidParameterError, match=match):
        Pipeline(**kw).export(tmp_path / "out", tmp_path / "d.parquet")
    assert not (tmp_path / "out").exists()  # refused before the directory is made
    # The CLI reaches the same check: one line on stderr, exit code 2, no traceback, no directory.
    result = CliRunner().invoke(cli, ["prepare", str(tmp_path / "d.parquet"), "--out", str(tmp_path / "cli"),
                                      "--lookback", "7", "--target", "y", "--time", "t", "--group", "key",
                                      "--scaler", "robust", "--scale-per", "series"])
    assert result.exit_code == 2, result.output
    assert "scale_per='series' for streaming" in result.output and "Pipeline.fit" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "cli").exists()
    # What the message offers instead works: robust per feature streams, and per series fits in memory.
    fit_stream(Pipeline(**{**kw, "scale_per": "feature"}), tmp_path / "d.parquet")
    Pipeline(**kw).fit(df)


def _warmup_features():
    from seqprep.features import Calendar, Diff, Lag, Rolling

    return [Lag("a", lags=(1, 7)), Diff("y"), Rolling("b", 12, stats=("mean", "std")), Calendar(features="weekday")]


@pytest.mark.parametrize(("features", "scale_per", "chunk_rows"), [
    (None, "feature", 37),           # chunks cut through series and through warm-up rows
    (["b", "y"], "series", 5),       # chunks shorter than the warm-up; "a" read for its lag only
    (None, "feature", 10_000),       # one chunk
])
def test_features_with_warm_up_rows_stream_and_match_in_memory(tmp_path, features, scale_per, chunk_rows):
    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=70)
    kw = dict(lookback=10, target="y", time="t", group="key", split=(0.7, 0.15, 0.15), gap=2, features=features,
              derived=_warmup_features(), scale_per=scale_per)
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    assert mem.schema_["warmup"] == 11
    ooc = Pipeline(**kw)
    out = ooc.export(tmp_path / "out", tmp_path / "d.parquet", chunk_rows=chunk_rows)
    assert ooc.schema_ == {**mem.schema_, "n_rows_fitted": ooc.schema_["n_rows_fitted"]}
    parts = open_export(out, verify=True)
    if scale_per == "series":  # (n_series, n_features) statistics; the NaN warm-up rows are left out
        np.testing.assert_allclose(ooc.scaler_.center_, mem.scaler_.center_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ooc.scaler_.scale_, mem.scaler_.scale_, rtol=1e-9, atol=1e-12)
        assert np.isfinite(ooc.scaler_.center_).all()
    _assert_same(mem, parts_mem, ooc, parts)
    # the first windows of every series start after its warm-up rows, and hold no NaN
    starts = parts["train"].starts
    bounds = np.load(out / "bounds.npy")
    assert (starts - bounds[np.searchsorted(bounds, starts, side="right") - 1]).min() == 11
    assert np.isfinite(parts["train"][:][0]).all()


def test_a_resumed_export_with_warm_up_rows_equals_a_clean_one(tmp_path, monkeypatch):
    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=70)
    kw = dict(lookback=6, target="y", time="t", group="key", derived=_warmup_features())
    monkeypatch.setenv("SEQPREP_EXPORT_FAIL_AFTER", "4")
    with pytest.raises(RuntimeError, match="interrupted after chunk 3"):
        Pipeline(**kw).export(tmp_path / "out", tmp_path / "d.parquet", chunk_rows=64)
    monkeypatch.delenv("SEQPREP_EXPORT_FAIL_AFTER")
    Pipeline(**kw).export(tmp_path / "out", tmp_path / "d.parquet", chunk_rows=64)  # resumes at chunk 4
    runs = json.loads((tmp_path / "out" / "manifest.json").read_text())["runs"]
    assert [r["chunks_written"][:1] for r in runs] == [[0], [4]]
    clean = Pipeline(**kw).export(tmp_path / "clean", tmp_path / "d.parquet", chunk_rows=64)
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "data.npy"), np.load(clean / "data.npy"))


@pytest.mark.parametrize("chunk_rows", [23, 10_000])
def test_robust_scaling_streams_exact_quantiles(tmp_path, chunk_rows):
    df = _long()
    df.loc[df.index[::7], "b"] = 5.0  # ties around the median
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=70)
    kw = dict(lookback=10, target="y", time="t", group="key", split=(0.7, 0.15, 0.15), gap=2, scaler="robust",
              derived=[{"kind": "lag", "column": "a", "lags": 3}])
    mem = Pipeline(**kw)
    parts_mem = mem.fit(df).parts
    ooc = Pipeline(**kw)
    out = ooc.export(tmp_path / "out", tmp_path / "d.parquet", chunk_rows=chunk_rows)
    # the same order statistics, so the same medians and ranges to the last bit
    np.testing.assert_array_equal(ooc.scaler_.center_, mem.scaler_.center_)
    np.testing.assert_array_equal(ooc.scaler_.scale_, mem.scaler_.scale_)
    assert ooc.scaler_.n_samples_seen_ is not None
    np.testing.assert_array_equal(np.asarray(ooc.scaler_.n_samples_seen_), np.asarray(mem.scaler_.n_samples_seen_))
    _assert_same(mem, parts_mem, ooc, open_export(out, verify=True))


def test_option_combinations_stream_as_in_memory(tmp_path):
    """A sweep over the options that change rows, statistics or starts (every 4th of 192 combinations)."""
    import itertools

    from seqprep.features import Calendar, Lag, Rolling

    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet", row_group_size=70)
    combos = [c for c in itertools.product(
        ["feature", "series", "sample"], [1, 3], ["history", "part"], ["standard", "robust", "minmax"],
        [(Lag("a", lags=(2, 5)),), (Rolling("y", 4), Calendar()), ()], [1, (1, 4)],
    ) if not (c[0] == "series" and c[3] == "robust")][::4]
    assert len(combos) >= 40
    for n, (scale_per, stride, context, scaler, derived, horizon) in enumerate(combos):
        kw = dict(lookback=6, horizon=horizon, target="y", time="t", group="key", split=(0.6, 0.2, 0.2), gap=3,
                  scale_per=scale_per, stride=stride, context=context, scaler=scaler, derived=list(derived))
        mem = Pipeline(**kw)
        parts_mem = mem.fit(df).parts
        parts = open_export(Pipeline(**kw).export(tmp_path / f"o{n}", tmp_path / "d.parquet", chunk_rows=41))
        for name, w in parts_mem.items():
            np.testing.assert_array_equal(parts[name].starts, w.starts, err_msg=str(kw))
            for a, b in zip(parts[name][:], w[:], strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=str(kw))


def test_cli_prepare_takes_the_only_timestamp_column_as_the_time_axis(tmp_path):
    """As train and check do: without --time, a Parquet file's only timestamp column is the time axis."""
    from seqprep.cli import cli

    df = _long()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "d.parquet")
    args = ["prepare", str(tmp_path / "d.parquet"), "--lookback", "7", "--target", "y", "--group", "key",
            "--no-progress", "--out"]
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "inferred")])
    assert result.exit_code == 0, result.output
    assert "time axis: 't' (the only timestamp column" in result.output
    given = CliRunner().invoke(cli, [*args, str(tmp_path / "given"), "--time", "t"])
    assert given.exit_code == 0, given.output
    assert "time axis" not in given.output
    for name in ("data.npy", "bounds.npy", "breaks.npy"):  # the same export as with --time t
        assert np.array_equal(np.load(tmp_path / "inferred" / name), np.load(tmp_path / "given" / name))
    # two timestamp columns: nothing is inferred, the rows stay in file order (as before)
    df["t2"] = df["t"]
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "two.parquet")
    two = CliRunner().invoke(cli, ["prepare", str(tmp_path / "two.parquet"), "--lookback", "7", "--target", "y",
                                   "--group", "key", "--no-progress", "--out", str(tmp_path / "two")])
    assert two.exit_code == 0, two.output
    assert "time axis" not in two.output
