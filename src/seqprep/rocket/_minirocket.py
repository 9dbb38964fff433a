"""MiniRocket features and a ridge classifier with leave-one-out alphas: the strong, cheap TSC baseline.

MiniRocket (Dempster, Schmidt and Webb, KDD 2021) turns each case into about 10,000 "proportion of
positive values" (PPV) features of fixed random-free convolutions; a ridge classifier on them is
within a point or two of InceptionTime on the UCR archive at a tiny fraction of its CPU. That makes it
the honest yardstick for a deep classifier: if a network cannot beat it, the run must say so.

This is a fresh numpy implementation of the published method (its defaults, untuned):

* 84 kernels of length 9, weights -1 everywhere and 2 at three of the nine positions. With ``S`` the
  sum of the nine dilated taps, a kernel's output is ``3 * (x_i + x_j + x_k) - S``: nine shifted views
  of the (zero-padded) series give all 84 outputs by additions, no multiplication per kernel.
* Dilations ``floor(2 ** linspace(0, log2((L - 1) / 8), 32))`` (unique), with the features per
  dilation in proportion to how often each value occurs, 119 per kernel in all (9,996 features).
* Biases: per dilation and kernel, quantiles (at the golden-ratio low-discrepancy sequence) of the
  output on one random training case. Half the (dilation, kernel) pairs are read with "same"
  zero padding, the other half only where the kernel fits inside the series, alternating as the
  paper does.
* Several channels: each (dilation, kernel) pair sums its output over a random subset of 1 to 9
  channels.
* Unequal lengths: ``lengths`` gives each case's valid steps; PPV is counted over those only.

The classifier standardizes the features with the training cases' statistics and picks the ridge
penalty from ``logspace(-3, 3, 10)`` by the exact leave-one-out error of the +-1 targets (one
eigendecomposition for every alpha), as ``RidgeClassifierCV`` does.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._threads import one_blas_thread

__all__ = ["MiniRocket", "RidgeClassifierLOO", "RidgeLOO"]

_KERNEL_LENGTH = 9
_KERNELS = np.array(list(itertools.combinations(range(_KERNEL_LENGTH), 3)), dtype=np.intp)  # (84, 3)
_NUM_FEATURES = 10_000
_MAX_DILATIONS = 32
_ALPHAS = np.logspace(-3, 3, 10)
# Floats per block of (taps x channels x cases x steps): bounds the memory of the transform.
_BLOCK_FLOATS = 8_000_000


def _dilations(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Dilations and the number of features of each (per kernel), as the paper spaces them."""
    per_kernel = _NUM_FEATURES // len(_KERNELS)  # 119
    n_dil = min(per_kernel, _MAX_DILATIONS)
    multiplier = per_kernel / n_dil
    max_exponent = math.log2(max(length - 1, 1) / (_KERNEL_LENGTH - 1))
    raw = np.floor(np.logspace(0, max(max_exponent, 0.0), n_dil, base=2)).astype(np.int64)
    dilations, counts = np.unique(raw, return_counts=True)
    per_dilation = (counts * multiplier).astype(np.int64)
    remainder = per_kernel - int(per_dilation.sum())
    i = 0
    while remainder > 0:  # at most len(dilations) rounds: spread the rounding loss from the smallest dilation up
        per_dilation[i] += 1
        remainder -= 1
        i = (i + 1) % len(per_dilation)
    return dilations, per_dilation


def _taps(X: np.ndarray, dilation: int) -> np.ndarray:
    """``3 * x_m - S / 3`` for the nine taps m: (9, channels, cases, steps), "same" zero padding.

    A kernel with its weight 2 at taps (i, j, k) outputs ``B_i + B_j + B_k``.
    """
    n, length, channels = X.shape
    pad = 4 * dilation
    Xp = np.zeros((channels, n, length + 2 * pad), dtype=np.float32)
    Xp[:, :, pad : pad + length] = np.moveaxis(X, 2, 0)
    shifted = np.stack([Xp[:, :, m * dilation : m * dilation + length] for m in range(_KERNEL_LENGTH)])
    total = shifted.sum(axis=0)
    return 3.0 * shifted - total[None] / 3.0


def _valid(lengths: np.ndarray, length: int, dilation: int, padded: bool) -> np.ndarray:
    """Boolean (cases, steps): where a PPV counts. Unpadded pairs skip the edges unless nothing would be left."""
    t = np.arange(length)[None, :]
    inside = t < lengths[:, None]
    if padded:
        return inside
    edge = 4 * dilation
    core = inside & (t >= edge) & (t < lengths[:, None] - edge)
    empty = ~core.any(axis=1)
    core[empty] = inside[empty]
    return core


class MiniRocket:
    """The MiniRocket transform: ``fit`` on training cases, ``transform`` any cases to PPV features.

    Parameters
    ----------
    seed : int, default 0
        Seeds the training case behind each bias and the channel subsets.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(6, 40, 1)).astype("float32")
    >>> MiniRocket(seed=0).fit(X).transform(X).shape
    (6, 9996)
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def layout(self, length: int, channels: int) -> MiniRocket:
        """The data-free part: dilations, features per dilation and channel subsets, from the seed alone.

        A saved transform is rebuilt from ``(length, channels, seed)`` and its biases
        (:meth:`from_biases`); only the biases depend on the training cases.
        """
        rng = np.random.default_rng([self.seed, 0])
        self.length_, self.channels_ = max(int(length), _KERNEL_LENGTH), int(channels)
        self.dilations_, self.per_dilation_ = _dilations(self.length_)
        n_pairs = len(self.dilations_) * len(_KERNELS)
        max_ch = min(self.channels_, _KERNEL_LENGTH)
        sizes = np.floor(2 ** rng.uniform(0, math.log2(max_ch + 1), size=n_pairs)).astype(np.int64).clip(1, max_ch)
        self.channel_sets_ = [np.sort(rng.choice(self.channels_, size=int(s), replace=False)) for s in sizes]
        counts = np.repeat(self.per_dilation_, len(_KERNELS))  # biases of each (dilation, kernel) pair, in order
        ends = np.cumsum(counts)
        self.bias_slices_ = [slice(int(e - c), int(e)) for e, c in zip(ends, counts, strict=True)]
        return self

    @property
    def n_features(self) -> int:
        """Features per case (9,996: 84 kernels x 119)."""
        return len(_KERNELS) * int(self.per_dilation_.sum())

    def fit(self, X: np.ndarray, lengths: np.ndarray | None = None) -> MiniRocket:
        """Set the layout for these cases' length and channels, and each bias from one random training case."""
        X = self._as_cases(X)
        n, length, channels = X.shape
        lengths = self._lengths(lengths, n, length)
        self.layout(length, channels)
        golden = (math.sqrt(5) + 1) / 2
        quantiles = (np.arange(1, self.n_features + 1) * golden) % 1  # low-discrepancy, as the paper
        examples = np.random.default_rng([self.seed, 1]).integers(0, n, size=len(self.channel_sets_))
        self.biases_ = np.empty(self.n_features, dtype=np.float32)
        for d_idx, dilation in enumerate(self.dilations_):
            for k_idx, (i, j, k) in enumerate(_KERNELS):
                pair = d_idx * len(_KERNELS) + k_idx
                case = int(examples[pair])
                B = _taps(X[case : case + 1], int(dilation))  # one case: cheap
                out = (B[i] + B[j] + B[k])[self.channel_sets_[pair]].sum(axis=0)[0, : lengths[case]]
                where = self.bias_slices_[pair]
                self.biases_[where] = np.quantile(out, quantiles[where])
        return self

    @classmethod
    def from_biases(cls, length: int, channels: int, seed: int, biases: np.ndarray) -> MiniRocket:
        """A fitted transform rebuilt from its layout's inputs and its saved biases."""
        out = cls(seed).layout(length, channels)
        biases = np.asarray(biases, dtype=np.float32).reshape(-1)
        if biases.size != out.n_features:
            raise ValueError(f"{biases.size} biases for a layout of {out.n_features} features")
        out.biases_ = biases
        return out

    def transform(self, X: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        X = self._as_cases(X)
        n, length, _ = X.shape
        if length != self.length_:  # pad or cut to the fitted length, so the dilations mean the same
            X = X[:, : self.length_] if length > self.length_ else np.pad(X, ((0, 0), (0, self.length_ - length),
                                                                              (0, 0)))
        lengths = np.minimum(self._lengths(lengths, n, length), self.length_)
        out = np.empty((n, len(_KERNELS) * int(self.per_dilation_.sum())), dtype=np.float32)
        chunk = max(1, _BLOCK_FLOATS // (_KERNEL_LENGTH * self.channels_ * (self.length_ + 1)))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            out[start:stop] = self._features(X[start:stop], lengths[start:stop])
        return out

    def _features(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        cols = []
        for d_idx, dilation in enumerate(self.dilations_):
            B = _taps(X, int(dilation))
            masks = {p: _valid(lengths, self.length_, int(dilation), p) for p in (True, False)}
            counts = {p: np.maximum(m.sum(axis=1), 1).astype(np.float32) for p, m in masks.items()}
            for k_idx, (i, j, k) in enumerate(_KERNELS):
                pair = d_idx * len(_KERNELS) + k_idx
                padded = (d_idx + k_idx) % 2 == 0  # alternate padding over the pairs, as the paper does
                out = (B[i] + B[j] + B[k])[self.channel_sets_[pair]].sum(axis=0)
                out = np.where(masks[padded], out, -np.inf)
                b = self.biases_[self.bias_slices_[pair]]
                cols.append((out[None] > b[:, None, None]).sum(axis=2).T / counts[padded][:, None])
        return np.concatenate(cols, axis=1)

    @staticmethod
    def _as_cases(X: np.ndarray) -> np.ndarray:
        X = np.nan_to_num(np.asarray(X, dtype=np.float32), nan=0.0)
        if X.ndim == 2:
            X = X[:, :, None]
        if X.shape[1] < _KERNEL_LENGTH:  # the paper pads very short series to the kernel's length
            X = np.pad(X, ((0, 0), (0, _KERNEL_LENGTH - X.shape[1]), (0, 0)))
        return X

    @staticmethod
    def _lengths(lengths: np.ndarray | None, n: int, length: int) -> np.ndarray:
        if lengths is None:
            return np.full(n, length, dtype=np.int64)
        return np.clip(np.asarray(lengths, dtype=np.int64), 1, length)


class RidgeLOO:
    """Ridge regression of one or more targets, alpha from ``logspace(-3, 3, 10)`` by exact leave-one-out error.

    Features are standardized with the fitting rows' statistics; one eigendecomposition (of the
    n x n or the p x p Gram matrix, whichever is smaller) serves every alpha.

    Examples
    --------
    >>> import numpy as np
    >>> F = np.random.default_rng(0).normal(size=(30, 4))
    >>> y = F @ np.array([1.0, -2.0, 0.0, 0.5]) + 3.0
    >>> bool(np.allclose(RidgeLOO().fit(F, y[:, None]).predict(F)[:, 0], y, atol=0.1))
    True
    """

    def fit(self, F: np.ndarray, Y: np.ndarray) -> RidgeLOO:
        # One BLAS thread: measured on 2 cores, 3,000 cases took 10-11 s with BLAS's default two threads and
        # 13 s with one, but 31-33 s against 13 s beside one busy process (docs/results.md 4.13).
        with one_blas_thread():
            return self._fit(F, Y)

    def _fit(self, F: np.ndarray, Y: np.ndarray) -> RidgeLOO:
        Z = np.array(F, dtype=np.float64)  # one float64 copy, standardized in place (n x 9,996 can be large)
        Y = np.asarray(Y, dtype=np.float64)
        n, p = Z.shape
        self.mean_ = Z.mean(axis=0)
        std = Z.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        Z -= self.mean_
        Z /= self.scale_
        self.intercept_ = Y.mean(axis=0)
        Yc = Y - self.intercept_
        dual = n <= p
        if dual:  # H = Q diag(w / (w + a)) Q^T from the n x n Gram matrix
            w, U = np.linalg.eigh(Z @ Z.T)  # the Gram matrix is freed once decomposed
        else:  # from the p x p one: U = Z V / sqrt(w)
            w, V = np.linalg.eigh(Z.T @ Z)
            U = (Z @ V) / np.sqrt(np.where(w > 1e-12, w, np.inf))
        w = np.clip(w, 0.0, None)
        UtY = U.T @ Yc
        U2 = U**2
        errors = []
        for a in _ALPHAS:
            shrink = w / (w + a)
            fitted = U @ (shrink[:, None] * UtY)
            h = U2 @ shrink + 1.0 / n  # + 1/n: the intercept's share of each leverage
            loo = (Yc - fitted) / np.maximum(1.0 - h, 1e-12)[:, None]
            errors.append(float(np.mean(loo**2)))
        self.alpha_ = float(_ALPHAS[int(np.argmin(errors))])
        self.loo_errors_ = errors
        # (Z^T Z + a I)^-1 Z^T Yc for the chosen alpha, through the same decomposition.
        if dual:
            self.coef_ = Z.T @ (U @ (UtY / (w + self.alpha_)[:, None]))
        else:
            self.coef_ = V @ ((V.T @ (Z.T @ Yc)) / (w + self.alpha_)[:, None])
        return self

    def predict(self, F: np.ndarray) -> np.ndarray:
        Z = (np.asarray(F, dtype=np.float64) - self.mean_) / self.scale_
        with one_blas_thread():
            return Z @ self.coef_ + self.intercept_


class RidgeClassifierLOO:
    """:class:`RidgeLOO` on +-1 targets, one output per class; the label is the largest output.

    Examples
    --------
    >>> import numpy as np
    >>> F = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2]])
    >>> RidgeClassifierLOO().fit(F, np.array([0, 0, 1, 1])).predict(F).tolist()
    [0, 0, 1, 1]
    """

    def fit(self, F: np.ndarray, codes: np.ndarray, n_classes: int | None = None) -> RidgeClassifierLOO:
        """``codes`` are labels ``0 .. n_classes - 1`` (by default up to the largest code present)."""
        codes = np.asarray(codes, dtype=np.int64)
        Y = -np.ones((codes.size, n_classes or int(codes.max()) + 1))
        Y[np.arange(codes.size), codes] = 1.0
        self.ridge_ = RidgeLOO().fit(F, Y)
        self.alpha_ = self.ridge_.alpha_
        return self

    def predict(self, F: np.ndarray) -> np.ndarray:
        return np.argmax(self.ridge_.predict(F), axis=1)
