from __future__ import annotations

import json

import numpy as np
import pytest

from seqprep.augment import (
    Compose,
    Jitter,
    MagnitudeWarp,
    Scaling,
    Shift,
    TimeWarp,
    WindowSlice,
    _basis,
    augmentation_from_dict,
    make_augmentation,
)
from seqprep.exceptions import ArtifactError, InvalidParameterError, ShapeError

ALL = [
    Jitter(),
    Scaling(),
    MagnitudeWarp(),
    MagnitudeWarp(sigma=0.3, knots=1, interpolation="linear"),
    TimeWarp(),
    TimeWarp(sigma=0.5, knots=6, interpolation="linear"),
    WindowSlice(),
    WindowSlice(ratio=0.3),
    Shift(),
    Shift(max_shift=0.5, wrap=False),
    Compose([Jitter(0.1), TimeWarp(), Scaling()], p=0.7),
]


@pytest.fixture
def batch(rng) -> np.ndarray:
    return rng.normal(size=(16, 40, 3)).astype(np.float32)


# ---------------------------------------------------------------------- contract


@pytest.mark.parametrize("aug", ALL, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_dtype_and_seed(aug, dtype, batch):
    X = batch.astype(dtype)
    before = X.copy()
    out = aug(X, np.random.default_rng(7))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert out is not X
    np.testing.assert_array_equal(X, before)  # the input is never modified
    np.testing.assert_array_equal(out, aug(X, np.random.default_rng(7)))
    assert np.isfinite(out).all()
    if not isinstance(aug, Compose):
        assert not np.array_equal(out, aug(X, np.random.default_rng(8)))


@pytest.mark.parametrize("aug", ALL, ids=repr)
def test_other_shapes(aug, rng):
    for shape in [(5, 12), (5, 12, 2, 3), (0, 12, 3), (4, 1, 2), (3, 2, 1)]:
        X = rng.normal(size=shape).astype(np.float32)
        out = aug(X, np.random.default_rng(0))
        assert out.shape == shape and out.dtype == np.float32


def test_channels_of_frames_are_channels(rng):
    X = rng.normal(size=(6, 10, 2, 3)).astype(np.float32)
    out = Scaling(0.5)(X, np.random.default_rng(0))
    ratio = out / X
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1], ratio.shape), rtol=1e-5)  # constant over time
    assert len(np.unique(ratio[:, 0].round(5))) == 6 * 6


def test_a_batch_is_one_vectorized_call(rng):
    X = rng.normal(size=(20_000, 30, 4)).astype(np.float32)
    for aug in ALL:
        assert aug(X, np.random.default_rng(0)).shape == X.shape


# ---------------------------------------------------------------------- identity at sigma=0 / ratio=1


@pytest.mark.parametrize("aug", [Jitter(0), Scaling(0.0), Compose([Jitter(0), Scaling(0)])], ids=repr)
def test_zero_sigma_is_bit_exact(aug, batch):
    X = batch.copy()
    X[0, 0, 0] = -0.0
    out = aug(X, np.random.default_rng(0))
    assert out.tobytes() == X.tobytes()


@pytest.mark.parametrize(
    "aug",
    [MagnitudeWarp(0), MagnitudeWarp(0, knots=1, interpolation="linear"), TimeWarp(0), TimeWarp(0, knots=9),
     WindowSlice(1.0)],
    ids=repr,
)
def test_zero_sigma_warps_are_identity(aug, batch):
    np.testing.assert_allclose(aug(batch, np.random.default_rng(0)), batch, rtol=0, atol=1e-6)


def test_compose_with_p0_is_identity(batch):
    out = Compose([Jitter(1.0), TimeWarp(1.0)], p=0.0)(batch, np.random.default_rng(0))
    np.testing.assert_array_equal(out, batch)
    assert out is not batch


# ---------------------------------------------------------------------- statistics


def test_jitter_noise_statistics():
    X = np.full((2000, 50, 2), 3.0, dtype=np.float32)
    noise = Jitter(sigma=0.05)(X, np.random.default_rng(0)) - X
    assert abs(noise.mean()) < 1e-3
    assert noise.std() == pytest.approx(0.05, rel=0.01)


def test_scaling_one_factor_per_window_and_channel():
    X = np.ones((5000, 20, 3))
    out = Scaling(sigma=0.1)(X, np.random.default_rng(0))
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))  # constant over time
    factors = out[:, 0]
    assert factors.mean() == pytest.approx(1.0, abs=0.005)
    assert factors.std() == pytest.approx(0.1, rel=0.03)


@pytest.mark.parametrize("interpolation", ["cubic", "linear"])
def test_magnitude_warp_statistics(interpolation):
    X = np.ones((5000, 31, 2))
    out = MagnitudeWarp(sigma=0.2, knots=4, interpolation=interpolation)(X, np.random.default_rng(0))
    knots = out[:, [0, 6, 12, 18, 24, 30]]  # knots + 2 = 6 evenly spaced knots on 0..30
    assert knots.mean() == pytest.approx(1.0, abs=0.01)
    assert knots.std() == pytest.approx(0.2, rel=0.03)
    assert not np.allclose(out[:, :, 0], out[:, :, 1])  # one curve per channel
    steps = np.abs(np.diff(out, axis=1)).max()
    assert steps < 0.5  # smooth: small change between neighbouring steps


def test_cubic_basis_is_a_natural_spline():
    scipy_interpolate = pytest.importorskip("scipy.interpolate")
    T, K = 37, 5
    y = np.random.default_rng(1).normal(size=K)
    knots_at = np.linspace(0, T - 1, K)
    ref = scipy_interpolate.CubicSpline(knots_at, y, bc_type="natural")(np.arange(T))
    np.testing.assert_allclose(_basis(T, K, "cubic") @ y, ref, atol=1e-12)
    np.testing.assert_allclose(_basis(T, K, "linear") @ y, np.interp(np.arange(T), knots_at, y), atol=1e-12)
    np.testing.assert_allclose(_basis(T, K, "cubic").sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("aug", [TimeWarp(0.2), TimeWarp(2.0, knots=8), TimeWarp(1.0, interpolation="linear")])
def test_time_warp_is_monotone_and_keeps_the_ends(aug):
    T = 64
    X = np.broadcast_to(np.arange(T, dtype=np.float64)[None, :, None], (500, T, 2))
    out = aug(X, np.random.default_rng(0))
    assert (np.diff(out, axis=1) > 0).all()
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(out[:, -1], T - 1, atol=1e-9)
    np.testing.assert_array_equal(out[:, :, 0], out[:, :, 1])  # one warp per window, shared by the channels
    assert np.abs(out - X).max() > 1.0  # it does move time


def test_window_slice_crops_and_stretches():
    T = 20
    X = np.broadcast_to(np.arange(T, dtype=np.float64)[None, :, None], (300, T, 1))
    out = WindowSlice(ratio=0.5)(X, np.random.default_rng(0))[:, :, 0]
    np.testing.assert_allclose(out[:, -1] - out[:, 0], 9.0)  # a slice of 10 steps
    np.testing.assert_allclose(np.diff(out, axis=1), 9.0 / 19.0)  # stretched evenly
    starts = out[:, 0]
    assert starts.min() == 0.0 and starts.max() == 10.0 and set(starts) <= set(range(11))


@pytest.mark.parametrize("wrap", [True, False])
def test_shift_moves_each_window_by_a_whole_number_of_steps(wrap):
    T, limit = 20, 5  # max_shift 0.25 of 20 steps
    X = np.broadcast_to(np.arange(T, dtype=np.float64)[None, :, None], (400, T, 2))
    out = Shift(max_shift=0.25, wrap=wrap)(X, np.random.default_rng(0))
    assert np.array_equal(out[:, :, 0], out[:, :, 1])  # one shift per window, every channel
    # the original step each window now shows at its middle step 10: 10 - shift
    shifts = 10 - out[:, 10, 0]
    assert shifts.min() == -limit and shifts.max() == limit and set(shifts) == set(range(-limit, limit + 1))
    src = np.arange(T)[None, :] - shifts[:, None]
    expected = np.mod(src, T) if wrap else np.clip(src, 0, T - 1)
    assert np.array_equal(out[:, :, 0], expected)


def test_shift_zero_is_bit_exact(batch):
    assert np.array_equal(Shift(0.0)(batch, np.random.default_rng(0)), batch)
    assert np.array_equal(Shift(0.01)(batch, np.random.default_rng(0)), batch)  # round(0.01 * 40) = 0 steps


def test_compose_probability():
    X = np.zeros((2, 5, 1))
    aug = Compose([Jitter(1.0)], p=0.3)
    applied = [np.any(aug(X, np.random.default_rng(seed)) != 0) for seed in range(2000)]
    assert np.mean(applied) == pytest.approx(0.3, abs=0.04)


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Jitter(-0.1), r"`sigma` must be a number with 0.0 <= sigma. Received: sigma=-0.1"),
        (lambda: Scaling(float("nan")), "`sigma` must be a finite number"),
        (lambda: MagnitudeWarp(sigma="0.2"), "`sigma` must be a finite number"),
        (lambda: MagnitudeWarp(knots=0), "`knots` must be a positive integer. Received: knots=0"),
        (lambda: TimeWarp(knots=2.5), "`knots` must be an integer"),
        (lambda: TimeWarp(interpolation="quadratic"), "`interpolation` must be one of 'cubic', 'linear'"),
        (lambda: WindowSlice(0.0), r"`ratio` must be a number with 0 < ratio <= 1. Received: ratio=0.0"),
        (lambda: WindowSlice(1.5), r"`ratio` must be a number with 0 < ratio <= 1"),
        (lambda: Shift(1.5), r"`max_shift` must be a number with 0.0 <= max_shift and max_shift <= 1.0"),
        (lambda: Shift(wrap="yes"), "`wrap` must be"),
        (lambda: Compose(["jitter"], p=1.5), r"`p` must be a number with 0.0 <= p and p <= 1.0"),
        (lambda: Compose("jitter"), "`steps` must be a sequence of augmentations"),
        (lambda: Compose(["warp"]), r"`steps\[0\]` must be one of 'jitter', 'magnitude_warp', 'scaling'"),
        (lambda: make_augmentation("compose"), "`augment` must be one of"),
        (lambda: make_augmentation(3), "`augment` must be an augmentation, a name, a dict or a list"),
        (lambda: make_augmentation({"kind": "mixup"}), "Unknown augmentation kind 'mixup'"),
    ],
)
def test_parameter_errors(make, match):
    with pytest.raises(InvalidParameterError, match=match):
        make()


def test_batch_errors():
    aug = Jitter()
    with pytest.raises(ShapeError, match=r"shape \(k, T, C\).*Received an array of shape \(5,\)"):
        aug(np.zeros(5), np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match="`X` must be a floating-point array"):
        aug(np.zeros((2, 3, 1), dtype=np.int64), np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match="`rng` must be a numpy.random.Generator"):
        aug(np.zeros((2, 3, 1)), 0)


# ---------------------------------------------------------------------- serialization


@pytest.mark.parametrize("aug", ALL, ids=repr)
def test_to_dict_round_trips_through_json(aug, batch):
    back = augmentation_from_dict(json.loads(json.dumps(aug.to_dict())))
    assert back == aug
    np.testing.assert_array_equal(back(batch, np.random.default_rng(3)), aug(batch, np.random.default_rng(3)))


@pytest.mark.parametrize(
    ("d", "match"),
    [
        ({"kind": "mixup"}, "Unknown augmentation kind 'mixup'. Known: 'compose', 'jitter'"),
        ({"sigma": 0.1}, "needs a 'kind' key"),
        (["jitter"], "needs a 'kind' key"),
        ({"kind": "jitter", "sigma": 0.1, "mu": 0}, "Unknown fields for a 'jitter' augmentation: 'mu'"),
        ({"kind": "jitter", "sigma": -1}, "Malformed 'jitter' augmentation"),
        ({"kind": "compose", "steps": "jitter"}, "must be a list of dicts"),
        ({"kind": "compose", "steps": [{"kind": "nope"}]}, "Unknown augmentation kind 'nope'"),
        ({"kind": "compose", "steps": ["jitter"]}, "needs a 'kind' key"),
    ],
)
def test_augmentation_from_dict_errors(d, match):
    with pytest.raises(ArtifactError, match=match):
        augmentation_from_dict(d)


def test_make_augmentation():
    assert make_augmentation("jitter") == Jitter()
    assert make_augmentation(Scaling(0.2)) == Scaling(0.2)
    assert make_augmentation({"kind": "window_slice", "ratio": 0.5}) == WindowSlice(0.5)
    assert make_augmentation(["scaling", {"kind": "time_warp"}]) == Compose((Scaling(), TimeWarp()))
    for name in ["jitter", "scaling", "magnitude_warp", "time_warp", "window_slice", "shift"]:
        assert make_augmentation(name).kind == name


def test_window_slice_views_are_the_training_slices_at_even_starts():
    X = np.random.default_rng(1).normal(size=(3, 20, 2)).astype(np.float32)
    aug = WindowSlice(ratio=0.8)  # 16 steps, starts 0..4
    views = aug.views(X, n=3)
    assert views.shape == (3, 3, 20, 2) and views.dtype == np.float32
    # view i is exactly what training produces when the random start is i's start (0, 2, 4)
    class FixedStart:  # stands in for the generator: every window starts at `start`
        def __init__(self, start: int) -> None:
            self.start = start

        def integers(self, low, high, size):
            return np.full(size, self.start)

    for v, start in zip(views, (0, 2, 4), strict=True):
        np.testing.assert_array_equal(v, aug._apply(X, FixedStart(start)))
    # the first view begins at the first step, the last ends at the last step
    np.testing.assert_allclose(views[0][:, 0], X[:, 0])
    np.testing.assert_allclose(views[-1][:, -1], X[:, -1], rtol=1e-6)  # x0 + 1.0 * (x1 - x0) in float32


def test_window_slice_views_drop_duplicate_starts_and_keep_shape():
    X = np.zeros((2, 10), dtype=np.float64)  # (k, T): length 9, starts 0..1
    assert WindowSlice(0.9).views(X, n=5).shape == (2, 2, 10)
    assert WindowSlice(1.0).views(X, n=5).shape == (1, 2, 10)
    with pytest.raises(InvalidParameterError, match="`n`"):
        WindowSlice(0.9).views(X, n=0)
