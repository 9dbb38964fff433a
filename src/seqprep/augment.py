"""Training-only augmentation of batches of windows, seeded and vectorized.

Each augmentation is a small frozen dataclass called as ``aug(X, rng)`` on a batch ``X`` of shape
``(k, T, C)`` (windows, time steps, channels last; ``(k, T)`` and ``(k, T, *feature_shape)`` are
accepted too: every trailing axis counts as a channel). It returns a *new* array of the same shape
and dtype and draws every random number from ``rng`` (a :class:`numpy.random.Generator`), so the
same seed gives the same output. The work is vectorized over the whole batch (no Python loop per
window).

- :class:`Jitter` -- additive Gaussian noise;
- :class:`Scaling` -- one random factor per window and channel;
- :class:`MagnitudeWarp` -- a smooth random multiplicative curve per window and channel;
- :class:`TimeWarp` -- a smooth random monotone distortion of time per window;
- :class:`WindowSlice` -- a random crop of ``ratio * T`` steps stretched back to ``T``;
- :class:`Shift` -- a random shift in time, circular or padded with the edge values;
- :class:`Compose` -- several of them in order, each applied with probability ``p`` per batch.

Augment training batches only: never validation or test data (the pipeline applies them when
iterating the training part). Every augmentation round-trips through JSON with ``to_dict`` and
:func:`augmentation_from_dict`; :func:`make_augmentation` also accepts names such as ``"jitter"``.

Examples
--------
>>> import numpy as np
>>> X = np.ones((8, 50, 3), dtype=np.float32)
>>> aug = make_augmentation(["jitter", {"kind": "scaling", "sigma": 0.2}])
>>> aug
Compose(steps=(Jitter(sigma=0.03), Scaling(sigma=0.2)), p=1.0)
>>> out = aug(X, np.random.default_rng(0))
>>> out.shape, out.dtype
((8, 50, 3), dtype('float32'))
>>> np.array_equal(out, aug(X, np.random.default_rng(0)))
True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ._validation import check_bool, check_choice, check_float, check_int, list_names, param_error
from .exceptions import ArtifactError, InvalidParameterError, ShapeError

__all__ = [
    "Augmentation",
    "Compose",
    "Jitter",
    "MagnitudeWarp",
    "Scaling",
    "Shift",
    "TimeWarp",
    "WindowSlice",
    "augmentation_from_dict",
    "make_augmentation",
]

_REGISTRY: dict[str, type[Augmentation]] = {}
_INTERPOLATIONS = ("cubic", "linear")
# Smallest local speed of a time warp (relative to 1): keeps the warp strictly increasing.
_MIN_SPEED = 1e-2


# --------------------------------------------------------------------------- helpers


def _check_sigma(value: Any) -> float:
    return check_float(value, "sigma", minimum=0.0, fix="Use sigma >= 0 (sigma=0 leaves the data unchanged).")


def _check_batch(X: Any, rng: Any) -> np.ndarray:
    """Validate ``X`` (floating, ndim >= 2) and ``rng``; return ``X`` as an ndarray."""
    if not isinstance(rng, np.random.Generator):
        raise param_error("rng", "a numpy.random.Generator", rng, "Pass np.random.default_rng(seed).")
    X = np.asarray(X)
    if X.ndim < 2:
        raise ShapeError(
            f"`X` must be a batch of windows of shape (k, T, C) (or (k, T)). Received an array of shape {X.shape}."
        )
    if not np.issubdtype(X.dtype, np.floating):
        raise param_error("X", "a floating-point array", X, "Convert it first, e.g. X.astype(np.float32).")
    return X


def _work_dtype(dtype: np.dtype) -> type:
    """float32 for float32 and smaller (fast, exact enough for the noise), float64 otherwise."""
    return np.float32 if dtype.itemsize <= 4 else np.float64


def _as_ktc(X: np.ndarray) -> np.ndarray:
    """View ``X`` as ``(k, T, C)`` (every trailing axis is a channel)."""
    return X.reshape(X.shape[0], X.shape[1], -1)


@functools.lru_cache(maxsize=64)
def _basis(T: int, n_knots: int, interpolation: str) -> np.ndarray:
    """Matrix ``B`` of shape (T, n_knots): ``B @ y`` interpolates knot values ``y`` over ``0..T-1``.

    The knots are evenly spaced over ``[0, T - 1]``, first and last included. ``"cubic"`` is the
    natural cubic spline (zero second derivative at both ends), ``"linear"`` joins the knots with
    straight lines. Every row sums to 1 (up to rounding), so constant knots give a constant curve.
    """
    K = n_knots
    eye = np.eye(K)
    if T == 1:
        return eye[:1].copy()
    h = (T - 1) / (K - 1)
    t = np.arange(T, dtype=np.float64)
    seg = np.minimum((t // h).astype(np.int64), K - 2)  # knot interval of each time step
    s = t / h - seg  # position inside the interval, 0..1
    a, b = 1.0 - s, s
    B = a[:, None] * eye[seg] + b[:, None] * eye[seg + 1]
    if interpolation == "cubic" and K > 2:
        # second derivatives M = A^-1 D y with M_0 = M_{K-1} = 0 (natural spline, uniform knots)
        A = 4.0 * np.eye(K - 2) + np.eye(K - 2, k=1) + np.eye(K - 2, k=-1)
        D = np.zeros((K - 2, K))
        idx = np.arange(K - 2)
        D[idx, idx], D[idx, idx + 1], D[idx, idx + 2] = 1.0, -2.0, 1.0
        M = np.zeros((K, K))
        M[1:-1] = np.linalg.solve(A, 6.0 / h**2 * D)
        B = B + (h**2 / 6.0) * (((a**3 - a)[:, None]) * M[seg] + ((b**3 - b)[:, None]) * M[seg + 1])
    B.setflags(write=False)
    return B


def _resample(X: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of each window of ``X`` (k, T, C) at positions ``pos`` (k, T) in ``[0, T - 1]``."""
    k, T, _ = X.shape
    if T == 1:
        return X.copy()
    pos = np.clip(pos, 0.0, T - 1)
    lo = np.minimum(pos.astype(np.int64), T - 2)
    frac = (pos - lo)[:, :, None].astype(X.dtype)
    rows = np.arange(k)[:, None]
    x0 = X[rows, lo]
    x1 = X[rows, lo + 1]
    return x0 + frac * (x1 - x0)


# --------------------------------------------------------------------------- base class


@dataclass(frozen=True)
class Augmentation:
    """Base class: ``aug(X, rng)`` validates the batch, then calls ``_apply`` on a (k, T, C) view.

    Subclasses set ``kind`` (the name in :meth:`to_dict`) and implement ``_apply``.
    """

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _REGISTRY[cls.kind] = cls

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment a batch.

        Parameters
        ----------
        X : ndarray of shape (k, T, C)
            Windows, channels last (``(k, T)`` and ``(k, T, *feature_shape)`` work too), floating dtype.
        rng : numpy.random.Generator
            Source of every random number.

        Returns
        -------
        ndarray of shape (k, T, C)
            A new array, same shape and dtype as ``X``.
        """
        X = _check_batch(X, rng)
        if X.shape[0] == 0:
            return X.copy()
        out = self._apply(_as_ktc(X), rng)
        return np.asarray(out, dtype=X.dtype).reshape(X.shape)

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description; :func:`augmentation_from_dict` rebuilds it."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


# --------------------------------------------------------------------------- augmentations


@dataclass(frozen=True)
class Jitter(Augmentation):
    """Add Gaussian noise ``N(0, sigma**2)`` to every value.

    Parameters
    ----------
    sigma : float, default 0.03
        Standard deviation of the noise, in the units of ``X`` (scaled data: a fraction of one
        standard deviation). ``sigma=0`` returns an exact copy.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((1000, 20, 2), dtype=np.float32)
    >>> out = Jitter(sigma=0.5)(X, np.random.default_rng(0))
    >>> round(float(out.std()), 1)
    0.5
    """

    kind: ClassVar[str] = "jitter"
    sigma: float = 0.03

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _check_sigma(self.sigma))

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.sigma == 0.0:
            return X.copy()
        wd = _work_dtype(X.dtype)
        noise = rng.standard_normal(X.shape, dtype=wd)
        noise *= wd(self.sigma)
        return X + noise.astype(X.dtype, copy=False)


@dataclass(frozen=True)
class Scaling(Augmentation):
    """Multiply each channel of each window by one random factor ``N(1, sigma**2)``.

    Parameters
    ----------
    sigma : float, default 0.1
        Standard deviation of the factors. ``sigma=0`` returns an exact copy.

    Examples
    --------
    >>> import numpy as np
    >>> out = Scaling(sigma=0.1)(np.ones((2, 4, 1)), np.random.default_rng(0))
    >>> out[:, :, 0].round(3)
    array([[1.013, 1.013, 1.013, 1.013],
           [0.987, 0.987, 0.987, 0.987]])
    """

    kind: ClassVar[str] = "scaling"
    sigma: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _check_sigma(self.sigma))

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.sigma == 0.0:
            return X.copy()
        k, _, C = X.shape
        factors = 1.0 + self.sigma * rng.standard_normal((k, 1, C))
        return X * factors.astype(X.dtype)


@dataclass(frozen=True)
class MagnitudeWarp(Augmentation):
    """Multiply each channel of each window by a smooth random curve around 1.

    The curve takes random values ``N(1, sigma**2)`` at ``knots + 2`` evenly spaced time steps
    (first and last included) and is interpolated in between.

    Parameters
    ----------
    sigma : float, default 0.2
        Standard deviation of the curve at the knots. ``sigma=0`` leaves the data unchanged (to
        rounding).
    knots : int, default 4
        Interior knots: more knots give a wigglier curve.
    interpolation : {"cubic", "linear"}, default "cubic"
        Natural cubic spline (smooth; may overshoot the knot values a little) or straight lines.

    Examples
    --------
    >>> import numpy as np
    >>> out = MagnitudeWarp(sigma=0.2, knots=2)(np.ones((1, 7, 1)), np.random.default_rng(0))
    >>> out[0, :, 0].round(2)
    array([1.03, 0.97, 0.97, 1.05, 1.13, 1.11, 1.02])
    """

    kind: ClassVar[str] = "magnitude_warp"
    sigma: float = 0.2
    knots: int = 4
    interpolation: str = "cubic"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _check_sigma(self.sigma))
        object.__setattr__(self, "knots", check_int(self.knots, "knots", minimum=1))
        object.__setattr__(self, "interpolation", check_choice(self.interpolation, "interpolation", _INTERPOLATIONS))

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k, T, C = X.shape
        K = self.knots + 2
        values = 1.0 + self.sigma * rng.standard_normal((k, K, C))
        curve = np.einsum("tj,njc->ntc", _basis(T, K, self.interpolation), values)
        return X * curve.astype(X.dtype)


@dataclass(frozen=True)
class TimeWarp(Augmentation):
    """Resample each window along a smooth random monotone distortion of time.

    A random speed curve (values ``N(1, sigma**2)`` at ``knots + 2`` evenly spaced steps,
    interpolated, floored at 0.01 so time never stops or runs backwards) is integrated into new
    sampling positions from 0 to ``T - 1``; the window is then read at those positions by linear
    interpolation. The first and last steps stay in place; the same distortion applies to every
    channel of a window.

    Parameters
    ----------
    sigma : float, default 0.2
        Standard deviation of the speed at the knots. ``sigma=0`` leaves the data unchanged (to
        rounding).
    knots : int, default 4
        Interior knots.
    interpolation : {"cubic", "linear"}, default "cubic"
        How the speed is interpolated between the knots.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(8.0).reshape(1, 8, 1)  # warping the time axis itself shows the new positions
    >>> TimeWarp(sigma=0.3)(t, np.random.default_rng(0))[0, :, 0].round(2)
    array([0.  , 0.93, 1.97, 3.14, 4.19, 5.06, 5.91, 7.  ])
    """

    kind: ClassVar[str] = "time_warp"
    sigma: float = 0.2
    knots: int = 4
    interpolation: str = "cubic"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _check_sigma(self.sigma))
        object.__setattr__(self, "knots", check_int(self.knots, "knots", minimum=1))
        object.__setattr__(self, "interpolation", check_choice(self.interpolation, "interpolation", _INTERPOLATIONS))

    def warp_positions(self, k: int, T: int, rng: np.random.Generator) -> np.ndarray:
        """Random sampling positions, shape ``(k, T)``: strictly increasing from 0 to ``T - 1``."""
        K = self.knots + 2
        speeds = 1.0 + self.sigma * rng.standard_normal((k, K))
        speed = np.maximum(speeds @ _basis(T, K, self.interpolation).T, _MIN_SPEED)
        pos = np.zeros((k, T))
        np.cumsum(speed[:, 1:], axis=1, out=pos[:, 1:])
        if T > 1:
            pos *= (T - 1) / pos[:, -1:]
        return pos

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k, T, _ = X.shape
        return _resample(X, self.warp_positions(k, T, rng))


@dataclass(frozen=True)
class WindowSlice(Augmentation):
    """Crop a random contiguous slice of ``round(ratio * T)`` steps and stretch it back to ``T``.

    Parameters
    ----------
    ratio : float, default 0.9
        Length of the slice as a fraction of the window, ``0 < ratio <= 1``; ``ratio=1`` leaves
        the data unchanged. The slice start is drawn per window; stretching is linear interpolation.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(5.0).reshape(1, 5, 1)
    >>> WindowSlice(ratio=0.6)(t, np.random.default_rng(0))[0, :, 0]
    array([2. , 2.5, 3. , 3.5, 4. ])
    """

    kind: ClassVar[str] = "window_slice"
    ratio: float = 0.9

    def __post_init__(self) -> None:
        ratio = check_float(self.ratio, "ratio")
        if not 0.0 < ratio <= 1.0:
            raise param_error("ratio", "a number with 0 < ratio <= 1", ratio, "Use e.g. ratio=0.9.")
        object.__setattr__(self, "ratio", ratio)

    def _length(self, T: int) -> int:
        return min(T, max(1, round(self.ratio * T)))

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k, T, _ = X.shape
        length = self._length(T)
        start = rng.integers(0, T - length + 1, size=k)
        pos = start[:, None] + np.linspace(0.0, length - 1, T)[None, :]
        return _resample(X, pos)

    def views(self, X: Any, n: int = 5) -> np.ndarray:
        """Deterministic crops for test-time augmentation: ``n`` evenly spaced slices per window.

        A model trained on window slices only ever sees windows stretched by ``1 / ratio``; at
        prediction time the unsliced window is a time scale it was never trained on. Averaging the
        predictions over these views (as Le Guennec et al., 2016, do with their slices) shows the
        model the scale it learned. Starts are spread evenly from the first to the last possible
        one (duplicates dropped, so a short window may give fewer than ``n`` views).

        Parameters
        ----------
        X : array of shape (k, T, ...)
            Windows, as for calling the augmentation.
        n : int, default 5
            Number of views wanted, ``n >= 1``.

        Returns
        -------
        ndarray of shape (n_views, k, T, ...)
            ``n_views <= n`` stretched slices of every window, same dtype as ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> t = np.arange(5.0).reshape(1, 5, 1)
        >>> WindowSlice(ratio=0.6).views(t, n=3)[:, 0, :, 0]
        array([[0. , 0.5, 1. , 1.5, 2. ],
               [1. , 1.5, 2. , 2.5, 3. ],
               [2. , 2.5, 3. , 3.5, 4. ]])
        """
        X = _check_batch(X, np.random.default_rng(0))
        n = check_int(n, "n", minimum=1)
        k, T = X.shape[0], X.shape[1]
        flat = _as_ktc(X)
        length = self._length(T)
        starts = np.unique(np.round(np.linspace(0.0, T - length, n)).astype(np.int64))
        offsets = np.linspace(0.0, length - 1, T)
        out = np.stack([_resample(flat, np.broadcast_to(s + offsets, (k, T))) for s in starts])
        return np.asarray(out, dtype=X.dtype).reshape(len(starts), *X.shape)


@dataclass(frozen=True)
class Shift(Augmentation):
    """Shift each window in time by a random whole number of steps, up to ``max_shift * T``.

    With ``wrap=True`` the steps pushed out at one end come back at the other (``np.roll``): the
    right model for series that are closed curves, such as outlines unrolled from a starting
    point. With ``wrap=False`` the window repeats its first or last value instead.

    Parameters
    ----------
    max_shift : float, default 0.1
        Largest shift as a fraction of the window length, ``0 <= max_shift <= 1``; each window
        draws an integer shift uniformly from ``-round(max_shift * T) .. round(max_shift * T)``.
        ``max_shift=0`` returns an exact copy.
    wrap : bool, default True
        Circular shift, or edge padding.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(6.0).reshape(1, 6, 1)
    >>> Shift(max_shift=0.5)(t, np.random.default_rng(0))[0, :, 0]  # this draw: 2 steps later
    array([4., 5., 0., 1., 2., 3.])
    >>> Shift(max_shift=0.5, wrap=False)(t, np.random.default_rng(0))[0, :, 0]
    array([0., 0., 0., 1., 2., 3.])
    """

    kind: ClassVar[str] = "shift"
    max_shift: float = 0.1
    wrap: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_shift", check_float(self.max_shift, "max_shift", minimum=0.0, maximum=1.0))
        object.__setattr__(self, "wrap", check_bool(self.wrap, "wrap"))

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k, T, _ = X.shape
        limit = round(self.max_shift * T)
        if limit == 0:
            return X.copy()
        shifts = rng.integers(-limit, limit + 1, size=k)
        src = np.arange(T)[None, :] - shifts[:, None]  # output step t reads input step t - shift
        src = np.mod(src, T) if self.wrap else np.clip(src, 0, T - 1)
        return np.take_along_axis(X, src[:, :, None], axis=1)


@dataclass(frozen=True)
class Compose(Augmentation):
    """Apply several augmentations in order, each with probability ``p`` per batch.

    Parameters
    ----------
    steps : sequence of augmentations (or names / dicts, see :func:`make_augmentation`)
        Applied in order.
    p : float, default 1.0
        Probability that each step is applied to a batch (one draw per step and batch).

    Examples
    --------
    >>> import numpy as np
    >>> aug = Compose(["jitter", TimeWarp(sigma=0.1)], p=0.5)
    >>> aug(np.zeros((4, 30, 2), dtype=np.float32), np.random.default_rng(0)).shape
    (4, 30, 2)
    """

    kind: ClassVar[str] = "compose"
    steps: tuple[Augmentation, ...] = ()
    p: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.steps, (str, bytes, Mapping, Augmentation)) or not isinstance(
            self.steps, (Sequence, np.ndarray)
        ):
            raise param_error(
                "steps", "a sequence of augmentations", self.steps, "Use e.g. steps=['jitter', 'scaling']."
            )
        object.__setattr__(self, "steps", tuple(_one(s, f"steps[{i}]") for i, s in enumerate(self.steps)))
        object.__setattr__(self, "p", check_float(self.p, "p", minimum=0.0, maximum=1.0))

    def _apply(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = X
        for step in self.steps:  # loop over steps, never over windows
            if rng.random() < self.p:
                out = step(out, rng)
        return out.copy() if out is X else out

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "compose", "steps": [...], "p": ...}``."""
        return {"kind": self.kind, "steps": [s.to_dict() for s in self.steps], "p": self.p}


# --------------------------------------------------------------------------- functions


def augmentation_from_dict(d: Mapping[str, Any]) -> Augmentation:
    """Rebuild an augmentation written by ``to_dict``.

    Parameters
    ----------
    d : mapping
        ``{"kind": name, **fields}``; a ``"compose"`` holds its steps as a list of such dicts.

    Returns
    -------
    Augmentation

    Raises
    ------
    ArtifactError
        Unknown kind, unknown fields or invalid values.

    Examples
    --------
    >>> augmentation_from_dict({"kind": "compose", "steps": [{"kind": "jitter", "sigma": 0.1}], "p": 0.5})
    Compose(steps=(Jitter(sigma=0.1),), p=0.5)
    """
    if not isinstance(d, Mapping) or not isinstance(d.get("kind"), str):
        raise ArtifactError(f"An augmentation dict needs a 'kind' key (see to_dict()). Received: {d!r:.120}.")
    cls = _REGISTRY.get(d["kind"])
    if cls is None:
        raise ArtifactError(f"Unknown augmentation kind {d['kind']!r}. Known: {list_names(sorted(_REGISTRY))}.")
    params = {k: v for k, v in d.items() if k != "kind"}
    allowed = {f.name for f in fields(cls)}
    if set(params) - allowed:
        raise ArtifactError(
            f"Unknown fields for a {d['kind']!r} augmentation: {list_names(sorted(set(params) - allowed))}. "
            f"Allowed: {list_names(sorted(allowed))}."
        )
    if cls is Compose and "steps" in params:
        steps = params["steps"]
        if not isinstance(steps, list):
            raise ArtifactError(
                f"'steps' of a 'compose' augmentation must be a list of dicts. Received: {steps!r:.80}."
            )
        params["steps"] = [augmentation_from_dict(s) for s in steps]
    try:
        return cls(**params)
    except (InvalidParameterError, TypeError) as exc:
        raise ArtifactError(f"Malformed {d['kind']!r} augmentation {dict(d)!r:.120}: {exc}") from None


def _one(spec: Any, name: str) -> Augmentation:
    """One augmentation from an instance, a name or a dict (errors as InvalidParameterError)."""
    if isinstance(spec, Augmentation):
        return spec
    if isinstance(spec, str):
        cls = _REGISTRY.get(spec)
        if cls is None or cls is Compose:
            names = [n for n in sorted(_REGISTRY) if n != "compose"]
            raise param_error(
                name, f"one of {list_names(names)}", spec, "Or pass an instance, e.g. Jitter(sigma=0.05)."
            )
        return cls()
    if isinstance(spec, Mapping):
        try:
            return augmentation_from_dict(spec)
        except ArtifactError as exc:
            raise InvalidParameterError(str(exc)) from None
    if isinstance(spec, (list, tuple)):
        return Compose(tuple(spec))
    raise param_error(
        name, "an augmentation, a name, a dict or a list of them", spec, "Use e.g. augment=['jitter', 'time_warp']."
    )


def make_augmentation(spec: Any) -> Augmentation:
    """Normalize an augmentation specification.

    Parameters
    ----------
    spec : Augmentation, str, dict or list
        An instance (kept), a name (``"jitter"``, ``"scaling"``, ``"magnitude_warp"``,
        ``"time_warp"``, ``"window_slice"``, ``"shift"``: default parameters), a dict from ``to_dict``, or a
        list of these (a :class:`Compose` with ``p=1``).

    Returns
    -------
    Augmentation

    Examples
    --------
    >>> make_augmentation("time_warp")
    TimeWarp(sigma=0.2, knots=4, interpolation='cubic')
    >>> make_augmentation([{"kind": "jitter", "sigma": 0.01}, "window_slice"])
    Compose(steps=(Jitter(sigma=0.01), WindowSlice(ratio=0.9)), p=1.0)
    """
    return _one(spec, "augment")
