"""Exact streaming quantiles (seqprep.scaling._quantiles): equal to np.nanpercentile, bit for bit, however chunked."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seqprep.scaling._quantiles import StreamingQuantiles


def _streamed(x: np.ndarray, q, *, bins: int, max_buffer: int, chunks: int) -> tuple[np.ndarray, int]:
    sq = StreamingQuantiles(q, x.shape[1], bins=bins, max_buffer=max_buffer)
    while sq.next_pass():
        for chunk in np.array_split(x, chunks):
            sq.update(chunk)
    return sq.result(), sq.passes


_values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, width=64),
    st.sampled_from([0.0, 1.0, -1.0, 5.0, 1e300, -1e300, 5e-324, np.nan]),  # ties, extremes, denormals, NaN
)


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40), elements=_values),
    q=st.lists(st.floats(0, 100), min_size=1, max_size=4),
    bins=st.integers(2, 9),
    max_buffer=st.integers(1, 6),
    chunks=st.integers(1, 5),
)
def test_equal_to_nanpercentile_for_any_data_and_chunking(x, q, bins, max_buffer, chunks):
    got, _ = _streamed(x, q, bins=bins, max_buffer=max_buffer, chunks=chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": NaN, as the streamed result
        expected = np.nanpercentile(x, q, axis=0)
    np.testing.assert_array_equal(got, expected)


def test_smooth_data_needs_three_passes_and_small_data_two():
    rng = np.random.default_rng(0)
    big = rng.normal(size=(300_000, 2))
    got, passes = _streamed(big, [25, 50, 75], bins=4096, max_buffer=1 << 12, chunks=6)
    np.testing.assert_array_equal(got, np.percentile(big, [25, 50, 75], axis=0))
    assert passes == 3  # count, one histogram, collect
    _, passes = _streamed(big[:1000], [25, 50, 75], bins=4096, max_buffer=1 << 12, chunks=6)
    assert passes == 2  # count, collect


def test_result_before_the_passes_end_is_an_error():
    sq = StreamingQuantiles([50], 1)
    sq.next_pass()
    sq.update(np.arange(10.0)[:, None])
    with pytest.raises(RuntimeError, match="before every pass"):
        sq.result()


@settings(max_examples=60, deadline=None)
@given(
    lo=st.floats(-1e308, 1e308), width=st.floats(0, 1.0), bins=st.integers(1, 5000),
    x=hnp.arrays(np.float64, st.integers(0, 50), elements=st.floats(0, 1)),
)
def test_bin_index_equals_searchsorted(lo, width, bins, x):
    from seqprep.scaling._quantiles import _bin_index, _edges

    hi = min(lo + width * 1e308, 1.7e308) if lo + width * 1e308 > lo else np.nextafter(lo, np.inf)
    edges = _edges(lo, hi, bins)
    assert edges[0] == lo and edges[-1] == hi and np.all(np.diff(edges) > 0)
    with np.errstate(over="ignore"):
        values = np.clip(lo + x * (hi - lo) if np.isfinite(hi - lo) else lo / 2 + x * (hi / 2 - lo / 2) * 2, lo, hi)
    values = np.concatenate([values, edges, [lo, hi]])
    np.testing.assert_array_equal(_bin_index(values, edges), np.searchsorted(edges, values, side="right") - 1)


def test_ranges_that_overflow_a_float_subtraction():
    x = np.array([[-1.7e308], [1.7e308], [0.0], [1.0], [2.0], [3.0]])
    got, _ = _streamed(x, [10, 50, 90], bins=4, max_buffer=1, chunks=2)
    np.testing.assert_array_equal(got, np.percentile(x, [10, 50, 90], axis=0))


def test_accumulators_fed_elsewhere_and_merged_give_the_same_quantiles():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(20_000, 3)), 2)  # many ties
    x[::9, 1] = np.nan
    sq = StreamingQuantiles([5, 50, 95], 3, bins=8, max_buffer=50)
    while sq.next_pass():
        for part in np.array_split(x, 4):  # as Dask partitions: each into its own accumulator
            acc = sq.accumulator()
            for chunk in np.array_split(part, 3):
                acc.update(chunk)
            sq.merge(acc)
    np.testing.assert_array_equal(sq.result(), np.nanpercentile(x, [5, 50, 95], axis=0))
    assert sq.passes > 3  # several histogram passes really ran through the accumulators


# ---------------------------------------------------------------- per-group quantiles in memory


def _per_group_reference(x: np.ndarray, g: np.ndarray, n_groups: int, q) -> np.ndarray:
    out = np.full((len(q), n_groups), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": NaN, as group_percentiles gives
        for k in range(n_groups):
            if (g == k).any():
                out[:, k] = np.nanpercentile(x[g == k], q)
    return out


@settings(max_examples=100, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 6), _values), min_size=0, max_size=80),
    extra_groups=st.integers(0, 3),
    q=st.lists(st.floats(0, 100), min_size=1, max_size=4),
)
def test_group_percentiles_equal_nanpercentile_of_each_group(data, extra_groups, q):
    from seqprep.scaling._quantiles import group_percentiles

    g = np.array([k for k, _ in data], dtype=np.int64)
    x = np.array([v for _, v in data], dtype=np.float64)
    n_groups = (int(g.max()) + 1 if g.size else 0) + extra_groups  # trailing groups without rows
    got, counts = group_percentiles(x, g, n_groups, [*q, 0.0, 50.0, 100.0])
    want = _per_group_reference(x, g, n_groups, [*q, 0.0, 50.0, 100.0])
    np.testing.assert_array_equal(got, want)  # bit for bit (NaN where a group has no number)
    np.testing.assert_array_equal(counts, [int((~np.isnan(x[g == k])).sum()) for k in range(n_groups)])


def test_group_percentiles_one_row_groups_ties_and_all_nan_groups():
    from seqprep.scaling._quantiles import group_percentiles

    x = np.array([7.0, np.nan, np.nan, 2.0, 2.0, 2.0, 5.0, -0.0, 0.0, np.nan, 3.0])
    g = np.array([0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4])
    got, counts = group_percentiles(x, g, 6, [25, 50, 75])
    np.testing.assert_array_equal(got, _per_group_reference(x, g, 6, [25, 50, 75]))
    np.testing.assert_array_equal(got[:, 0], 7.0)  # one row: every percentile is that row
    assert np.isnan(got[:, 1]).all() and np.isnan(got[:, 5]).all()  # all NaN; no rows at all
    np.testing.assert_array_equal(got[:, 2], [2.0, 2.0, 2.75])  # ties
    assert counts.tolist() == [1, 0, 4, 2, 1, 0]
