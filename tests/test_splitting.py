"""Chronological splits: the guarantee as a property, gaps, contexts, folds, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqprep.exceptions import DataError, InvalidParameterError
from seqprep.splitting import split, walk_forward
from seqprep.windowing import windows


def _rows(w):
    """Per window: series, all input rows and all target rows (local)."""
    p = w.provenance()
    spec = w.spec
    inputs = p["start"].to_numpy()[:, None] + np.arange(spec.lookback) * spec.sampling_rate
    last = p["end"].to_numpy()
    targets = last[:, None] + np.asarray(spec.horizons)[None, :]
    return p["series"].to_numpy(), inputs, targets


def check_guarantee(s, gap):
    names = list(s.parts)
    for a, b in zip(names, names[1:], strict=False):
        sa, ia, ta = _rows(s.parts[a])
        sb, ib, tb = _rows(s.parts[b])
        for ser in np.unique(sb):
            if not (sa == ser).any():
                continue
            first_b = tb[sb == ser].min()
            # every earlier-part target row is before every later-part target row minus the gap
            assert ta[sa == ser].max() < first_b - gap
            # no earlier-part input or target row at or after the first later-part target row
            assert ia[sa == ser].max() < first_b


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(40, 300),
    n_series=st.integers(1, 3),
    f_train=st.floats(0.4, 0.8),
    gap=st.integers(0, 6),
    lookback=st.integers(1, 8),
    horizon=st.one_of(st.integers(0, 3), st.lists(st.integers(0, 4), min_size=1, max_size=3, unique=True)),
    stride=st.integers(1, 3),
    context=st.sampled_from(["history", "part"]),
)
def test_guarantee_holds(n, n_series, f_train, gap, lookback, horizon, stride, context):
    rest = 1 - f_train
    series = [np.arange(n + 7 * i, dtype=np.float64)[:, None] for i in range(n_series)]
    w = windows(series, lookback=lookback, horizon=horizon, target=0, stride=stride, allow_horizon_zero=True)
    try:
        s = split(w, (f_train, rest / 2, rest / 2), gap=gap, context=context)
    except DataError as exc:
        assert "get no window" in str(exc)
        return
    check_guarantee(s, gap)
    if context == "part":
        for name, lo_hi in s.row_ranges.items():
            ser, inputs, _ = _rows(s.parts[name])
            lo = lo_hi[ser.astype(int), 0] if n_series > 1 else lo_hi[0, 0]
            assert (inputs.min(axis=1) >= lo).all()


def test_parts_are_disjoint_and_ordered():
    w = windows(np.arange(200.0), lookback=10, target=0)
    s = split(w, gap=3)
    sets = [set(p.starts.tolist()) for p in s]
    assert not (sets[0] & sets[1]) and not (sets[1] & sets[2])
    d = s.describe()
    assert list(d.index) == ["train", "val", "test"]
    assert d.loc["val", "first_target_row"] - d.loc["train", "last_target_row"] == 4  # gap 3 rows in between
    assert "context='history'" in repr(s)


def test_history_vs_part_context():
    w = windows(np.arange(100.0), lookback=10, target=0)
    hist = split(w, (0.7, 0.3))
    part = split(w, (0.7, 0.3), context="part")
    assert len(hist.test) == 30 and len(part.test) == 20  # 30 rows, span 11
    assert hist.test.provenance()["start"].min() == 60  # inputs reach back into the training rows
    assert part.test.provenance()["start"].min() == 70


def test_same_timestamp_cut_for_several_series():
    t = pd.date_range("2020-01-01", periods=100, freq="D")
    df = pd.concat(
        [
            pd.DataFrame({"id": "a", "t": t, "v": np.arange(100.0)}),
            pd.DataFrame({"id": "b", "t": t[40:], "v": np.arange(60.0)}),
        ]
    )
    w = windows(df, lookback=5, target="v", group="id", time="t")
    s = split(w, (0.6, 0.2, 0.2))
    last_train = s.train.provenance()["target_time"].max()
    first_val = s.val.provenance()["target_time"].min()
    assert last_train < first_val
    # both series are cut at the same timestamp
    val_prov = s.val.provenance()
    firsts = val_prov.groupby("series")["target_time"].min()
    assert firsts["a"] == firsts["b"]


def test_timestamp_cuts_and_duration_gap():
    t = pd.date_range("2020-01-01", periods=120, freq="D")
    df = pd.DataFrame({"t": t, "v": np.arange(120.0)})
    w = windows(df, lookback=7, target="v", time="t")
    s = split(w, ("2020-03-01", "2020-04-01"), gap="5D")
    assert s.train.provenance()["target_time"].max() == pd.Timestamp("2020-02-29")
    assert s.val.provenance()["target_time"].min() == pd.Timestamp("2020-03-06")
    assert s.test.provenance()["target_time"].min() == pd.Timestamp("2020-04-06")


def test_holdout_whole_series():
    series = [np.arange(50.0) + 100 * i for i in range(10)]
    w = windows(series, lookback=5, target=0)
    s = split(w, (0.6, 0.2, 0.2), holdout="series", seed=0)
    owners = [set(p.provenance()["series"].tolist()) for p in s]
    assert [len(o) for o in owners] == [6, 2, 2]
    assert not (owners[0] & owners[1]) and not (owners[0] & owners[2])


def test_walk_forward_folds():
    w = windows(np.arange(120.0), lookback=5, target=0)
    folds = walk_forward(w, n_folds=4, val_size=10, gap=2)
    assert len(folds) == 4
    for f in folds:
        check_guarantee(f, 2)
    assert folds[-1].val.provenance()["target_row"].max() == 119
    sliding = walk_forward(w, n_folds=3, val_size=10, mode="sliding", train_size=30)
    assert all(len(f.train) == 30 for f in sliding)


def test_split_errors():
    w = windows(np.arange(30.0), lookback=5, target=0)
    with pytest.raises(InvalidParameterError, match=r"`gap` must be an integer >= 0. Received: gap=-3"):
        split(w, gap=-3)
    with pytest.raises(InvalidParameterError, match="add up to 1"):
        split(w, (0.5, 0.2, 0.2))
    with pytest.raises(InvalidParameterError, match="context"):
        split(w, context="future")
    with pytest.raises(DataError, match=r"get no window.*needs at least"):
        split(w, (0.9, 0.05, 0.05), context="part")
    with pytest.raises(InvalidParameterError, match="needs windows with a target"):
        split(windows(np.arange(30.0), lookback=5), (0.5, 0.5))
    with pytest.raises(InvalidParameterError, match="no timestamps"):
        split(w, ("2020-01-01",))
    with pytest.raises(InvalidParameterError, match="train_size"):
        walk_forward(w, 2, mode="sliding")
