"""Seeded synthetic data: sines, AR processes, panels and an easy classification task.

Every generator takes ``seed`` (an int, a :class:`numpy.random.Generator` or
None) and returns the same data for the same seed.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_bool, check_float, check_int, param_error

__all__ = ["make_ar", "make_classification_sines", "make_panel", "make_sine"]

_START = "2000-01-01"


def _rng(seed: Any) -> np.random.Generator:
    """A Generator from an int >= 0, a Generator or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise param_error("seed", "an integer >= 0, a numpy.random.Generator or None", seed, "Use seed=0.")
    return np.random.default_rng(int(seed))


def _columns(n_features: int) -> list[str]:
    return [f"f{j}" for j in range(n_features)]


def make_sine(
    n: int = 1000,
    n_features: int = 1,
    period: float = 50,
    noise: float = 0.1,
    seed: int | np.random.Generator | None = 0,
    as_frame: bool = False,
) -> np.ndarray | pd.DataFrame:
    """Generate a noisy sine wave, one phase-shifted copy per feature.

    Feature ``j`` is ``sin(2*pi*t/period + 2*pi*j/n_features)`` plus Gaussian
    noise of standard deviation `noise`, for ``t = 0, ..., n - 1``.

    Parameters
    ----------
    n : int, default 1000
        Number of time steps, >= 1.
    n_features : int, default 1
        Number of features, >= 1.
    period : float, default 50
        Period in time steps, > 0.
    noise : float, default 0.1
        Standard deviation of the added Gaussian noise, >= 0.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the noise.
    as_frame : bool, default False
        Return a DataFrame with a daily ``time`` column starting 2000-01-01
        and columns ``f0, f1, ...`` instead of an array.

    Returns
    -------
    ndarray of shape (n, n_features), dtype float64, or DataFrame
        The series, time along the first axis (always 2-D, also for one feature).

    Examples
    --------
    >>> from seqprep.datasets import make_sine
    >>> make_sine(n=200, n_features=2).shape
    (200, 2)
    >>> make_sine(n=4, period=4, noise=0.0).ravel().round(6)
    array([ 0.,  1.,  0., -1.])
    >>> list(make_sine(n=3, as_frame=True).columns)
    ['time', 'f0']
    """
    n = check_int(n, "n", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    period = check_float(period, "period", minimum=0.0, inclusive=False, fix="Use a period > 0 such as period=50.")
    noise = check_float(noise, "noise", minimum=0.0, fix="Use noise >= 0 (0 for a clean sine).")
    as_frame = check_bool(as_frame, "as_frame")
    rng = _rng(seed)
    t = np.arange(n, dtype=np.float64)[:, None]
    phase = 2.0 * np.pi * np.arange(n_features, dtype=np.float64)[None, :] / n_features
    values = np.sin(2.0 * np.pi * t / period + phase)
    if noise > 0:
        values = values + noise * rng.standard_normal((n, n_features))
    if not as_frame:
        return values
    frame = pd.DataFrame(values, columns=_columns(n_features))
    frame.insert(0, "time", pd.date_range(_START, periods=n, freq="D"))
    return frame


def _check_phi(phi: Any) -> np.ndarray:
    if isinstance(phi, numbers.Real) and not isinstance(phi, bool):
        phi = (phi,)
    if isinstance(phi, (str, bytes)) or not isinstance(phi, (Sequence, np.ndarray)) or len(phi) == 0:
        raise param_error("phi", "a non-empty sequence of AR coefficients", phi, "Use phi=(0.6, -0.2).")
    coefs = np.array([check_float(v, f"phi[{i}]") for i, v in enumerate(phi)], dtype=np.float64)
    # Stationary when every root of 1 - phi_1 z - ... - phi_p z^p lies outside the unit circle,
    # i.e. every eigenvalue of the companion matrix lies strictly inside it.
    companion = np.zeros((len(coefs), len(coefs)))
    companion[0] = coefs
    companion[1:, :-1] = np.eye(len(coefs) - 1)
    if np.abs(np.linalg.eigvals(companion)).max() >= 1.0:
        raise param_error(
            "phi",
            "the coefficients of a stationary AR process",
            tuple(coefs.tolist()),
            "Choose coefficients whose characteristic roots lie outside the unit circle, such as phi=(0.6, -0.2).",
        )
    return coefs


def make_ar(
    n: int,
    phi: Sequence[float] | float = (0.6, -0.2),
    noise: float = 1.0,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Generate a stationary autoregressive AR(p) series.

    ``x[t] = phi[0] * x[t-1] + ... + phi[p-1] * x[t-p] + e[t]`` with
    ``e[t] ~ N(0, noise**2)``. A burn-in of ``100 + 10 * p`` steps is run and
    dropped so the series starts in its stationary regime.

    Parameters
    ----------
    n : int
        Number of time steps, >= 1.
    phi : sequence of float or float, default (0.6, -0.2)
        AR coefficients; must describe a stationary process.
    noise : float, default 1.0
        Standard deviation of the innovations, >= 0.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the innovations.

    Returns
    -------
    ndarray of shape (n, 1), dtype float64
        The series, time along the first axis, one feature.

    Examples
    --------
    >>> import numpy as np
    >>> from seqprep.datasets import make_ar
    >>> x = make_ar(5000, phi=0.9, seed=1)
    >>> x.shape
    (5000, 1)
    >>> bool(abs(np.corrcoef(x[1:, 0], x[:-1, 0])[0, 1] - 0.9) < 0.05)
    True
    """
    n = check_int(n, "n", minimum=1)
    coefs = _check_phi(phi)
    noise = check_float(noise, "noise", minimum=0.0, fix="Use noise >= 0.")
    rng = _rng(seed)
    p = len(coefs)
    burn = 100 + 10 * p
    shocks = (noise * rng.standard_normal(n + burn)).tolist()
    lagged = coefs[::-1].tolist()  # multiplies x[t-p], ..., x[t-1]
    out = [0.0] * p
    for e in shocks:
        out.append(sum(c * v for c, v in zip(lagged, out[-p:], strict=True)) + e)
    return np.array(out[p + burn :], dtype=np.float64)[:, None]


def make_panel(
    n_series: int,
    length: int,
    n_features: int,
    seed: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Generate a panel of several series in long format.

    Each series and feature is a sine with its own random period (7 to 60
    steps), phase, amplitude (0.5 to 2) and level (-5 to 5), plus Gaussian
    noise of standard deviation 0.1. Every series has the same daily time
    stamps starting 2000-01-01.

    Parameters
    ----------
    n_series : int
        Number of series, >= 1.
    length : int
        Time steps per series, >= 1.
    n_features : int
        Number of value columns, >= 1.
    seed : int, numpy.random.Generator or None, default 0
        Seed.

    Returns
    -------
    DataFrame of shape (n_series * length, 2 + n_features)
        Columns ``series`` (int64, 0 to n_series - 1), ``time`` (datetime64,
        daily) and ``f0, f1, ...`` (float64), sorted by series then time,
        with a default RangeIndex.

    Examples
    --------
    >>> from seqprep.datasets import make_panel
    >>> panel = make_panel(n_series=3, length=10, n_features=2)
    >>> panel.shape, list(panel.columns)
    ((30, 4), ['series', 'time', 'f0', 'f1'])
    >>> panel.groupby("series").size().tolist()
    [10, 10, 10]
    """
    n_series = check_int(n_series, "n_series", minimum=1)
    length = check_int(length, "length", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    rng = _rng(seed)
    shape = (n_series, 1, n_features)
    period = rng.uniform(7.0, 60.0, shape)
    phase = rng.uniform(0.0, 2.0 * np.pi, shape)
    amplitude = rng.uniform(0.5, 2.0, shape)
    level = rng.uniform(-5.0, 5.0, shape)
    t = np.arange(length, dtype=np.float64)[None, :, None]
    values = level + amplitude * np.sin(2.0 * np.pi * t / period + phase)
    values = values + 0.1 * rng.standard_normal((n_series, length, n_features))
    frame = pd.DataFrame(values.reshape(n_series * length, n_features), columns=_columns(n_features))
    frame.insert(0, "series", np.repeat(np.arange(n_series, dtype=np.int64), length))
    frame.insert(1, "time", np.tile(pd.date_range(_START, periods=length, freq="D").to_numpy(), n_series))
    return frame


def make_classification_sines(
    n_samples: int,
    length: int,
    n_classes: int = 2,
    n_channels: int = 1,
    seed: int | np.random.Generator | None = 0,
    *,
    noise: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate an easy classification task: classes differ by frequency.

    A case of class ``k`` has ``2 * (k + 1)`` cycles over its `length`, on
    every channel, with a random phase per channel, a random amplitude between
    0.8 and 1.2 and Gaussian noise of standard deviation `noise`. Classes are
    balanced (counts differ by at most one) and in random order.

    Parameters
    ----------
    n_samples : int
        Number of cases, >= n_classes.
    length : int
        Time steps per case, >= ``8 * n_classes`` so that the fastest class
        still has 4 samples per cycle.
    n_classes : int, default 2
        Number of classes, >= 2.
    n_channels : int, default 1
        Channels per case, >= 1.
    seed : int, numpy.random.Generator or None, default 0
        Seed.
    noise : float, default 0.1
        Standard deviation of the noise, >= 0.

    Returns
    -------
    X : ndarray of shape (n_samples, length, n_channels), dtype float32
        The cases, channels last.
    y : ndarray of shape (n_samples,), dtype int64
        Class of each case, 0 to n_classes - 1.

    Examples
    --------
    >>> import numpy as np
    >>> from seqprep.datasets import make_classification_sines
    >>> X, y = make_classification_sines(n_samples=10, length=32, n_classes=2, n_channels=3)
    >>> X.shape, X.dtype, y.dtype
    ((10, 32, 3), dtype('float32'), dtype('int64'))
    >>> np.bincount(y).tolist()
    [5, 5]
    """
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    n_samples = check_int(
        n_samples,
        "n_samples",
        minimum=n_classes,
        fix=f"Use n_samples >= n_classes ({n_classes}) so that every class appears.",
    )
    length = check_int(
        length,
        "length",
        minimum=8 * n_classes,
        fix=f"Use length >= 8 * n_classes ({8 * n_classes}) so that the fastest class has 4 samples a cycle.",
    )
    n_channels = check_int(n_channels, "n_channels", minimum=1)
    noise = check_float(noise, "noise", minimum=0.0, fix="Use noise >= 0.")
    rng = _rng(seed)
    y = rng.permutation(np.arange(n_samples, dtype=np.int64) % n_classes)
    cycles = 2.0 * (y + 1)
    t = np.arange(length, dtype=np.float64)[None, :, None] / length
    phase = rng.uniform(0.0, 2.0 * np.pi, (n_samples, 1, n_channels))
    amplitude = rng.uniform(0.8, 1.2, (n_samples, 1, 1))
    X = amplitude * np.sin(2.0 * np.pi * cycles[:, None, None] * t + phase)
    X = X + noise * rng.standard_normal((n_samples, length, n_channels))
    return X.astype(np.float32), y
