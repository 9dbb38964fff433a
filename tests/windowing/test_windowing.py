"""The windowing engine against a plain reference loop, plus its errors."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqprep.exceptions import DataError, InvalidParameterError, MemoryBudgetError, SeqprepError, ShapeError
from seqprep.windowing import windows


def reference(series_list, lookback, horizons, stride, sampling_rate, target_col, gaps=None):
    """The definition, one window at a time: per series, starts 0, stride, ... while rows exist."""
    Xs, ys = [], []
    for si, x in enumerate(series_list):
        n = len(x)
        s = 0
        while True:
            e = s + (lookback - 1) * sampling_rate
            last = e + max(horizons)
            if last >= n:
                break
            rows = [s + k * sampling_rate for k in range(lookback)]
            crosses = gaps is not None and any(s < g <= last for g in gaps[si])
            if not crosses:
                Xs.append(x[rows])
                ys.append([x[e + h, target_col] for h in horizons])
            s += stride
    return np.array(Xs), np.array(ys)


def test_docstring_semantics_small():
    x = np.arange(10.0)
    X, y = windows(x, lookback=3, sampling_rate=2, target=0).to_numpy()
    assert X[:, :, 0].tolist() == [[0, 2, 4], [1, 3, 5], [2, 4, 6], [3, 5, 7], [4, 6, 8]]
    assert y.tolist() == [5, 6, 7, 8, 9]


def test_horizon_zero_labels_last_row():
    x = np.arange(8.0)
    X, y = windows(x, lookback=3, horizon=0, target=0, allow_horizon_zero=True).to_numpy()
    np.testing.assert_array_equal(X[:, -1, 0], y)
    assert len(y) == 6


def test_multi_horizon_and_multi_target_shapes():
    data = np.arange(60.0).reshape(20, 3)
    w = windows(data, lookback=4, horizon=[1, 3], target=[0, 2])
    X, y = w.to_numpy()
    assert X.shape == (14, 4, 3) and y.shape == (14, 2, 2) and w.y_shape == y.shape
    # window 0: last input row 3; targets rows 4 and 6
    assert y[0].tolist() == [[12.0, 14.0], [18.0, 20.0]]


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    lookback=st.integers(1, 6),
    horizon=st.one_of(st.integers(0, 4), st.lists(st.integers(0, 4), min_size=1, max_size=3, unique=True)),
    stride=st.integers(1, 4),
    sampling_rate=st.integers(1, 3),
    n_feat=st.integers(1, 3),
)
def test_matches_reference_loop(lengths, lookback, horizon, stride, sampling_rate, n_feat):
    rng = np.random.default_rng(sum(lengths) + lookback)
    series = [rng.standard_normal((n, n_feat)).astype(np.float32) for n in lengths]
    horizons = [horizon] if isinstance(horizon, int) else horizon
    Xr, yr = reference(series, lookback, horizons, stride, sampling_rate, n_feat - 1)
    kwargs = dict(lookback=lookback, horizon=horizon, target=n_feat - 1, stride=stride, sampling_rate=sampling_rate,
                  allow_horizon_zero=True)
    if len(Xr) == 0:
        with pytest.raises(DataError, match="needs at least"):
            windows(series, **kwargs)
        return
    w = windows(series, **kwargs)
    X, y = w.to_numpy()
    np.testing.assert_array_equal(X, Xr)
    np.testing.assert_array_equal(y.reshape(len(y), -1), yr)
    # every access path agrees
    idx = rng.permutation(len(w))
    Xi, yi = w[idx]
    np.testing.assert_array_equal(Xi, Xr[idx])
    got = np.concatenate([b[0] for b in w.batches(3, shuffle=True, seed=1)])
    np.testing.assert_array_equal(got, Xr[np.random.default_rng(1).permutation(len(w))])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(5, 60),
    gap_rows=st.sets(st.integers(1, 59), max_size=4),
    lookback=st.integers(1, 5),
    horizon=st.integers(0, 3),
    stride=st.integers(1, 3),
)
def test_gaps_are_never_spanned(n, gap_rows, lookback, horizon, stride):
    gap_rows = sorted(g for g in gap_rows if g < n)
    steps = np.ones(n, dtype=np.int64)
    steps[0] = 0
    for g in gap_rows:
        steps[g] = 3  # a missing pair of days before row g
    t = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.cumsum(steps), unit="D")
    x = np.arange(n, dtype=np.float64)[:, None]
    Xr, yr = reference([x], lookback, [horizon], stride, 1, 0, gaps=[gap_rows])
    df = pd.DataFrame({"t": t, "v": x[:, 0]})
    if n > 2 and len(gap_rows) >= n - 2:
        return  # the dominant step would be the gap itself
    if len(Xr) == 0:
        with pytest.raises(DataError):
            windows(df, lookback=lookback, horizon=horizon, target="v", stride=stride, time="t",
                    allow_horizon_zero=True)
        return
    w = windows(df, lookback=lookback, horizon=horizon, target="v", stride=stride, time="t", allow_horizon_zero=True)
    X, y = w.to_numpy()
    np.testing.assert_array_equal(X, Xr)
    assert w.report.get("gaps", 0) == len(gap_rows)


def test_gap_window_count_reported():
    days = ["01", "02", "03", "06", "07", "08", "09"]
    t = pd.to_datetime([f"2020-01-{d}" for d in days])
    df = pd.DataFrame({"v": np.arange(7.0)}, index=t)
    w = windows(df, lookback=2, target="v")
    assert w.report["gaps"] == 1 and w.report["windows_spanning_gaps"] == 2
    assert w.provenance()["start_time"].tolist()[0] == pd.Timestamp("2020-01-01")
    assert len(windows(df, lookback=2, target="v", allow_gaps=True)) == 5


def test_groups_never_cross_and_long_table_order():
    df = pd.DataFrame(
        {"id": ["b", "a", "b", "a", "b", "a", "b", "a"], "t": [0, 0, 1, 1, 2, 2, 3, 3], "v": np.arange(8.0)}
    )
    w = windows(df, lookback=2, target="v", group="id", time="t", features=["v"])
    X, y = w.to_numpy()
    # series b = rows 0,2,4,6 ; series a = 1,3,5,7 (order of first appearance)
    assert X[:, :, 0].tolist() == [[0, 2], [2, 4], [1, 3], [3, 5]]
    assert y.tolist() == [4, 6, 5, 7]
    prov = w.provenance()
    assert prov["series"].tolist() == ["b", "b", "a", "a"] and prov["start"].tolist() == [0, 1, 0, 1]


def test_keras_equivalence_with_tensorflow():
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow", reason="keras.utils.timeseries_dataset_from_array needs TensorFlow")
    rng = np.random.default_rng(0)
    data = rng.standard_normal((200, 3)).astype(np.float32)
    for lookback, h, stride, sr in [(10, 1, 1, 1), (7, 3, 2, 2), (5, 0, 3, 1)]:
        X, y = windows(data, lookback=lookback, horizon=h, target=1, stride=stride, sampling_rate=sr,
                       allow_horizon_zero=True).to_numpy()
        ds = keras.utils.timeseries_dataset_from_array(
            data, data[(lookback - 1) * sr + h :, 1], sequence_length=lookback, sampling_rate=sr,
            sequence_stride=stride, batch_size=10_000,
        )
        kx, ky = next(iter(ds))
        np.testing.assert_array_equal(X, np.asarray(kx))
        np.testing.assert_array_equal(y, np.asarray(ky))


def _gather_threads(monkeypatch, threads):
    """Make every gather use ``threads`` threads, in parts of a few windows (the pooled path on small data)."""
    import seqprep.windowing._windows as wmod

    monkeypatch.setattr(wmod, "threads_for", lambda nbytes, **kw: threads)
    monkeypatch.setattr(wmod, "_PART_BYTES", 512)


@pytest.mark.parametrize("threads", [3, 1])
def test_layouts(monkeypatch, threads):
    _gather_threads(monkeypatch, threads)
    data = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    base = windows(data, lookback=12, target=0)
    X, _ = base.to_numpy()
    Xc, _ = windows(data, lookback=12, target=0, layout="NCT").to_numpy()
    np.testing.assert_array_equal(Xc, X.transpose(0, 2, 1))
    assert Xc.flags.c_contiguous
    Xs, _ = windows(data, lookback=12, target=0, layout="NSTC", subsequences=3).to_numpy()
    assert Xs.shape == (len(X), 3, 4, 4)
    np.testing.assert_array_equal(Xs.reshape(X.shape), X)


def test_frames_layouts():
    frames = np.random.default_rng(0).integers(0, 255, size=(20, 8, 6, 3), dtype=np.uint8)
    w = windows(frames, lookback=5, horizon=0)
    assert w.shape == (16, 5, 8, 6, 3)
    X = w[0:2]
    assert X.dtype == np.float32 and np.array_equal(X[1], frames[1:6].astype(np.float32))
    Xt = windows(frames, lookback=5, horizon=0, layout="NTCHW")[0:2]
    assert Xt.shape == (2, 5, 3, 8, 6)
    np.testing.assert_array_equal(Xt, np.moveaxis(X, -1, 2))
    assert windows(frames, lookback=5, layout="NTHWC", dtype="uint8")[3].dtype == np.uint8


def test_holds_a_view_not_a_copy():
    data = np.random.default_rng(0).standard_normal((1000, 8)).astype(np.float32)
    w = windows(data, lookback=64, target=0)
    assert np.shares_memory(w.data, data)
    assert w.starts.nbytes == 4 * len(w)  # one int32 per window
    # pickling (DataLoader workers under spawn) must not serialize the lookback x data view
    assert len(pickle.dumps(w)) < 3 * data.nbytes


def test_pooled_gather_matches_one_thread(monkeypatch):
    data = np.random.default_rng(1).standard_normal((3000, 16)).astype(np.float32)
    w = windows(data, lookback=32, target=0)
    idx = np.random.default_rng(2).permutation(len(w))[:700]
    _gather_threads(monkeypatch, 3)
    a, ya = w[idx]
    _gather_threads(monkeypatch, 1)
    b, yb = w[idx]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)


def test_indexing_forms():
    w = windows(np.arange(30.0), lookback=5, target=0)
    X0, y0 = w[0]
    assert X0.shape == (5, 1) and float(y0) == 5.0
    Xl, yl = w[-1]
    assert float(yl) == 29.0
    Xs, ys = w[2:5]
    assert ys.tolist() == [7.0, 8.0, 9.0]
    mask = np.zeros(len(w), dtype=bool)
    mask[[1, 3]] = True
    assert w[mask][1].tolist() == [6.0, 8.0]
    with pytest.raises(IndexError):
        w[len(w)]


def test_to_numpy_refuses_when_too_big():
    w = windows(np.zeros((1000, 4), np.float32), lookback=100, target=0)
    with pytest.raises(MemoryBudgetError, match=r"needs .* more than .*w\.batches"):
        w.to_numpy(max_bytes=1000)


def test_torch_dataset_and_loader_with_workers():
    torch = pytest.importorskip("torch")
    w = windows(np.arange(200.0).reshape(100, 2), lookback=4, target=1)
    ds = w.to_torch()
    assert isinstance(ds, torch.utils.data.Dataset) and len(ds) == len(w)
    seen = []
    for X, y in ds.loader(batch_size=16, shuffle=True, seed=0, num_workers=2):
        assert X.shape[1:] == (4, 2)
        seen.extend((X[:, -1, 1] + 2).tolist())
        np.testing.assert_array_equal(y.numpy(), (X[:, -1, 1] + 2).numpy())
    assert sorted(seen) == sorted(w.to_numpy()[1].tolist())


def test_torch_loader_batches_by_index_arrays_with_seeded_epochs():
    torch = pytest.importorskip("torch")

    w = windows(np.arange(300.0).reshape(150, 2), lookback=4, target=1)
    ds = w.to_torch()
    ref = [y for _, y in w.batches(16, shuffle=True, seed=3)]
    calls = []
    take = w._take

    def counting_take(idx, rng=None, threads=None):  # one gather per batch
        calls.append((len(idx), idx.dtype))
        return take(idx, rng, threads)

    w._take = counting_take
    loader = ds.loader(batch_size=16, shuffle=True, seed=3)
    first = [y.numpy() for _, y in loader]
    assert len(loader) == len(first) == -(-len(w) // 16)
    assert calls == [(len(b), np.dtype(np.int32)) for b in first]  # int32 positions, as batches() passes
    # the first epoch is batches()' order for the same seed; the epochs differ and repeat per seed
    for got, exp in zip(first, ref, strict=True):
        np.testing.assert_array_equal(got, exp)
    second = [y.numpy() for _, y in loader]
    assert not all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert sorted(np.concatenate(second).tolist()) == sorted(np.concatenate(first).tolist())
    again = ds.loader(batch_size=16, shuffle=True, seed=3)
    for a, b in zip([y.numpy() for _, y in again], first, strict=True):
        np.testing.assert_array_equal(a, b)
    y_all = w.to_numpy()[1]
    plain = [y.numpy() for _, y in ds.loader(batch_size=16, drop_last=True)]
    assert len(plain) == len(w) // 16
    np.testing.assert_array_equal(np.concatenate(plain), y_all[: len(plain) * 16])
    # without a seed the order comes from torch's global generator: torch.manual_seed repeats it
    torch.manual_seed(11)
    u1 = np.concatenate([y.numpy() for _, y in ds.loader(batch_size=16, shuffle=True)])
    torch.manual_seed(11)
    u2 = np.concatenate([y.numpy() for _, y in ds.loader(batch_size=16, shuffle=True)])
    np.testing.assert_array_equal(u1, u2)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_shuffle_seed_is_validated(bad):
    from seqprep.exceptions import InvalidParameterError

    w = windows(np.arange(40.0), lookback=4, target=0)
    with pytest.raises(InvalidParameterError, match="seed"):
        next(w.batches(8, shuffle=True, seed=bad))
    pytest.importorskip("torch")
    with pytest.raises(InvalidParameterError, match="seed"):
        w.to_torch().loader(8, shuffle=True, seed=bad)


def _reference_take(w, idx):
    """The general gather path, written out: every window and target from the data directly."""
    X = np.stack([np.asarray(w._view[s]) for s in np.asarray(w._starts)[idx]]).astype(w.spec.dtype)
    return X


@pytest.mark.parametrize(
    ("kwargs", "split"),
    [
        ({"target": 0}, False),
        ({"target": [0, 1]}, False),
        ({"target": 1, "horizon": [1, 3]}, False),
        ({"target": 0, "horizon": 4, "dtype": "float64"}, True),
        ({"target": 2, "stride": 3, "sampling_rate": 2}, True),
    ],
)
def test_cached_gather_plan_matches_the_data(kwargs, split):
    """The per-spec shortcuts (implicit starts, shifted target column) give exactly the data's rows."""
    data = np.random.default_rng(0).standard_normal((120, 3)).astype(np.float32)
    w = windows(data, lookback=5, **kwargs)
    parts = [w]
    if split:
        from seqprep import split

        sp = split(w, (0.6, 0.2, 0.2))
        parts = [sp.train, sp.val, sp.test]
    for part in parts:
        starts = np.asarray(part._starts)
        horizons = np.asarray(part.spec.horizons)
        idx = np.random.default_rng(1).permutation(len(part))[:17].astype(np.int32)
        X, y = part._take(idx)
        np.testing.assert_array_equal(X, _reference_take(part, idx))
        rows = starts[idx][:, None] + part.spec.last_input_offset + horizons[None, :]
        targets = np.atleast_1d(kwargs["target"])
        exp = data[rows][..., targets].astype(part.spec.dtype)
        np.testing.assert_array_equal(y, exp.reshape(y.shape))
        # the plan follows a new spec (with_spec shares the data): the cached one is not reused
        w64 = part.with_spec(dtype="float64")
        assert w64._take(idx)[0].dtype == np.float64 and part._take(idx)[0].dtype == np.dtype(part.spec.dtype)


def test_keras_pydataset():
    keras = pytest.importorskip("keras")
    w = windows(np.sin(np.arange(300.0) / 5), lookback=8, target=0)
    ds = w.to_keras(batch_size=32, shuffle=True, seed=0)
    assert isinstance(ds, keras.utils.PyDataset) and len(ds) == -(-len(w) // 32)
    X, y = ds[0]
    assert X.shape == (32, 8, 1) and y.shape == (32,)
    model = keras.Sequential([keras.Input((8, 1)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    hist = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


def test_to_keras_shuffles_the_training_part_only_and_augments_it(monkeypatch):
    pytest.importorskip("keras")
    import seqprep

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    df = pd.DataFrame({"a": np.arange(300.0), "b": np.cos(np.arange(300.0))})
    parts = seqprep.Pipeline(lookback=5, target="a", augment="jitter", seed=3).fit(df)
    assert "KERAS_BACKEND" not in os.environ  # seqprep never picks the user's backend
    for name in ("val", "test"):
        part = getattr(parts, name)
        ds = part.to_keras(batch_size=16)
        assert not ds.shuffle
        got = np.concatenate([ds[i][1] for i in range(len(ds))])
        np.testing.assert_array_equal(got, part.to_numpy()[1])  # predictions line up with the targets
        np.testing.assert_array_equal(ds[0][0], part[0:16][0])  # no augmentation outside training
    assert parts.train.to_keras().shuffle and not parts.train.to_keras(shuffle=False).shuffle
    ds = parts.train.to_keras(batch_size=16, shuffle=False)
    X, y = ds[0]
    X0, y0 = parts.train[0:16]
    np.testing.assert_array_equal(y, y0)
    assert not np.array_equal(X, X0) and np.abs(X - X0).max() < 0.5  # the training-only jitter, as in batches()
    ds.on_epoch_end()
    assert not np.array_equal(ds[0][0], X)  # a fresh augmentation stream per epoch


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"lookback": 0}, InvalidParameterError, r"`lookback` must be a positive integer. Received: lookback=0"),
        ({"lookback": 2.5}, InvalidParameterError, r"`lookback` must be an integer >= 1. Received: lookback=2.5"),
        ({"lookback": 3, "stride": 0}, InvalidParameterError, "stride"),
        ({"lookback": 3, "sampling_rate": -1}, InvalidParameterError, "sampling_rate"),
        ({"lookback": 3, "horizon": -1}, InvalidParameterError, "horizon.*target inside the input"),
        ({"lookback": 3, "horizon": [1, -2]}, InvalidParameterError, r"horizon\[1\]"),
        (
            {"lookback": 30},
            DataError,
            "a series of 20 rows gives no window for lookback=30, horizon=1; it needs at least 31 rows",
        ),
        ({"lookback": 3, "target": "temp"}, InvalidParameterError, "no column names"),
        ({"lookback": 3, "target": 5}, InvalidParameterError, r"column position in \[0, 2\)"),
        ({"lookback": 4, "layout": "NSTC", "subsequences": 3}, ShapeError, r"subsequences for lookback=4: \[1, 2, 4\]"),
        ({"lookback": 4, "layout": "XYZ"}, InvalidParameterError, "layout"),
        ({"lookback": 4, "layout": "NTCHW"}, ShapeError, "image sequences"),
        ({"lookback": 4, "dtype": "str"}, InvalidParameterError, "dtype"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    data = np.zeros((20, 2))
    with pytest.raises(exc, match=match):
        windows(data, **kwargs)


def test_bad_data():
    with pytest.raises(ShapeError, match="at least one axis"):
        windows(np.float64(3.0), lookback=1)
    with pytest.raises(DataError, match="empty"):
        windows(np.zeros((0, 3)), lookback=1)
    with pytest.raises(DataError, match="must be numeric"):
        windows(np.array(["a", "b", "c"]), lookback=1)
    df = pd.DataFrame({"a": [1.0, 2, 3], "b": ["x", "y", "z"]})
    with pytest.raises(DataError, match=r"'b' \(.*\)"):
        windows(df, lookback=1, target="b")  # a text target (a text feature is categorical: test_roles.py)
    with pytest.raises(InvalidParameterError, match="does not exist: 'c'. Available columns: 'a', 'b'"):
        windows(df, lookback=1, target="c")
    with pytest.raises(ShapeError, match="one key per row"):
        windows(np.zeros((5, 1)), lookback=1, group=[0, 1])
    with pytest.raises(ShapeError, match="one timestamp per row"):
        windows(np.zeros((5, 1)), lookback=1, time=[1, 2])
    with pytest.raises(SeqprepError):
        windows(np.zeros((5, 1)), lookback=1, target=True)


def test_nan_policies():
    x = np.arange(10.0)
    x[[3, 4]] = np.nan
    df = pd.DataFrame({"v": x, "w": np.ones(10)})
    with pytest.raises(DataError, match=r"v: 2 \(20.0%\).*row 3.*nan_policy='drop'"):
        windows(df, lookback=2, target="v")
    w = windows(df, lookback=2, target="v", nan_policy="interpolate")
    assert w.report["nan_rows_interpolated"] == 2
    assert w.to_numpy()[0][3, 0, 0] == 3.0
    w = windows(df, lookback=2, target="v", nan_policy="ffill")
    assert w.to_numpy()[0][3, 1, 0] == 2.0 and w.report["nan_rows_forward_filled"] == 2
    w = windows(df, lookback=2, target="v", nan_policy="drop")
    assert w.report["nan_rows_dropped"] == 2 and len(w) == 6


def test_time_errors_name_the_row():
    df = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-02"]), "v": [1.0, 2, 3]})
    with pytest.raises(DataError, match="row 2 .* comes before row 1"):
        windows(df, lookback=1, time="t")
    df = pd.DataFrame({"t": [1, 2, 2, 3], "v": [1.0, 2, 3, 4]})
    with pytest.raises(DataError, match="row 2 repeats 2"):
        windows(df, lookback=1, time="t")


def test_csv_and_parquet_paths(tmp_path):
    df = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=30), "a": np.arange(30.0), "b": np.ones(30)})
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet")
    a = windows(tmp_path / "d.csv", lookback=5, target="a", time="date").to_numpy()
    b = windows(str(tmp_path / "d.parquet"), lookback=5, target="a", time="date").to_numpy()
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (25, 5, 2)


def test_non_numeric_default_columns_are_ignored_and_reported():
    df = pd.DataFrame({"a": np.arange(10.0), "label": list("abcdefghij")})
    w = windows(df, lookback=3, target="a")
    assert w.report["ignored_columns"] == ["label"] and w.feature_names == ("a",)


def test_features_exclude_target():
    df = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) * 10})
    w = windows(df, lookback=3, features=["a"], target="b")
    X, y = w[0]
    assert X.shape == (3, 1) and float(y) == 30.0 and w.target_names == ("b",)


@pytest.mark.parametrize("sampling_rate", [1, 3])
def test_pooled_gather_strided_sources(monkeypatch, sampling_rate):
    """Non-contiguous rows (a column subset with an extra target) and dilated windows on several threads."""
    df = pd.DataFrame(np.random.default_rng(3).standard_normal((400, 4)), columns=list("abcd"))
    w = windows(df, lookback=9, target="d", features=["a", "b"], sampling_rate=sampling_rate, dtype="float64")
    assert not w.data.flags.c_contiguous
    idx = np.random.default_rng(4).permutation(len(w))[:100]
    _gather_threads(monkeypatch, 3)
    a, ya = w[idx]
    _gather_threads(monkeypatch, 1)
    b, yb = w[idx]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    starts = w.provenance()["start"].to_numpy()[idx]
    np.testing.assert_array_equal(a[:, :, 0], df["a"].to_numpy()[starts[:, None] + sampling_rate * np.arange(9)])


def test_frames_on_several_threads(monkeypatch):
    frames = np.random.default_rng(0).standard_normal((30, 5, 4, 3)).astype(np.float32)
    w = windows(frames, lookback=4, sampling_rate=2)
    _gather_threads(monkeypatch, 3)
    a = w[[0, 7, 3]]
    np.testing.assert_array_equal(a[1], frames[7:15:2])


def test_loader_is_a_dataloader_with_the_same_batches_as_torchs_own_iterator():
    """The in-process loader skips torch's iterator, not its contract: a DataLoader, same batches, same length."""
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    x = np.arange(600, dtype=np.float32).reshape(200, 3)
    ds = windows(x, 8, target=0).to_torch()
    direct = ds.loader(16, shuffle=True, seed=3)
    own = ds.loader(16, shuffle=True, seed=3, collate_fn=lambda b: b)  # a collate_fn keeps torch's iterator
    assert isinstance(direct, DataLoader) and len(direct) == len(own) == 12
    got, want = list(direct), list(own)
    assert len(got) == len(want) == 12
    for (xa, ya), (xb, yb) in zip(got, want, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert type(iter(own)).__name__ == "_SingleProcessDataLoaderIter"
    assert type(iter(direct)).__name__ == "_DirectIterator"


def test_pickled_windows_leave_the_gather_plan_behind():
    import pickle

    w = windows(np.arange(2000.0).reshape(1000, 2), lookback=8, target=1)
    before = len(pickle.dumps(w))
    w[[0, 1]]  # builds and caches the plan (with a view of the target column)
    after = pickle.dumps(w)
    assert len(after) == before
    back = pickle.loads(after)
    np.testing.assert_array_equal(back[[3, 7]][1], w[[3, 7]][1])
