"""Per-window normalization (scale_per="window") combined with the other roles, and Polars frames with roles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline, windows


def make_panel(n=90, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for shop, level in [("a", 10.0), ("b", 800.0)]:
        frames.append(pd.DataFrame({
            "day": pd.date_range("2024-01-01", periods=n), "shop": shop,
            "sales": level + np.cumsum(rng.normal(0, 0.05 * level, n)),
            "price": rng.normal(5, 1, n), "holiday": (np.arange(n) % 11 == 0).astype(float),
            "promo": rng.choice(["none", "tv", "radio"], n), "size": level / 10,
        }))
    return pd.concat(frames, ignore_index=True)


KW = dict(lookback=7, horizon=[1, 2], target="sales", time="day", group="shop", features=["sales", "price", "promo"],
          known=["holiday"], static=["size"])


def test_dict_batch_has_both_role_keys_and_target_statistics():
    df = make_panel()
    pipe = Pipeline(scale_per="window", **KW)
    parts = pipe.fit(df)
    X, y = parts.test.to_numpy()
    assert sorted(X) == ["known", "past", "past_cat", "static", "target_loc", "target_scale"]
    n = len(parts.test)
    assert X["past"].shape == (n, 7, 2) and X["known"].shape == (n, 9, 1) and X["static"].shape == (n, 1)
    assert X["target_loc"].shape == (n, 1) and X["past_cat"].dtype.kind == "i"
    np.testing.assert_allclose(X["past"].mean(axis=1), 0, atol=1e-4)  # past: per window
    # known: the training rows' statistics (not the window's: its future steps are not in its input rows)
    train_holiday = df.groupby("shop").head(int(round(0.7 * 90)))["holiday"]
    assert np.isclose(X["known"].max(), (1 - train_holiday.mean()) / train_holiday.std(ddof=0), rtol=1e-5)
    raw = Pipeline(scaler="none", **KW).fit(df)
    _, y_raw = raw.test.to_numpy()
    back = pipe.inverse_target(y, windows=parts.test)
    np.testing.assert_allclose(back, y_raw, rtol=1e-6)
    np.testing.assert_array_equal(back, pipe.inverse_target(y, target_loc=X["target_loc"],
                                                            target_scale=X["target_scale"]))
    # saved and loaded: the same batches, inference windows carry the statistics too
    Xi = pipe.transform(df).to_numpy()
    assert {"target_loc", "target_scale", "known"} <= set(Xi)


def test_polars_with_roles_reads_only_the_needed_columns():
    pl = pytest.importorskip("polars")
    df = make_panel()
    lf = pl.from_pandas(df).lazy().with_columns(unused=pl.col("sales").map_batches(_boom, return_dtype=pl.Float64))
    a = Pipeline(**KW).fit(df).test.to_numpy()
    b = Pipeline(**KW).fit(lf).test.to_numpy()
    for key in a[0]:
        np.testing.assert_array_equal(a[0][key], b[0][key])
    np.testing.assert_array_equal(a[1], b[1])
    # a categorical feature alone (no known/static) is detected from the Polars schema
    w = windows(pl.from_pandas(df), lookback=5, target="sales", features=["sales", "promo"], group="shop", time="day")
    X, _ = w[0:3]
    assert sorted(X) == ["past", "past_cat"]


def _boom(s):
    raise AssertionError("the unused column was computed")


def test_torch_loader_yields_the_statistics_as_tensors():
    torch = pytest.importorskip("torch")
    pipe = Pipeline(scale_per="window", **KW)
    parts = pipe.fit(make_panel())
    X, y = next(iter(parts.test.to_torch().loader(batch_size=8)))
    assert X["target_loc"].dtype == X["target_scale"].dtype == torch.float32
    assert tuple(X["target_scale"].shape) == (8, 1) and tuple(y.shape) == (8, 2)
    Xn, _ = parts.test[0:8]
    np.testing.assert_array_equal(X["target_loc"].numpy(), Xn["target_loc"])
