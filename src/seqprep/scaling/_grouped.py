"""Scalers built from others: one per column, per series, and per window (instance normalisation).

Internal module; the classes are exported by :mod:`seqprep.scaling`, whose module docstring states
the contract and the risk of data leaks that apply here too.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_choice, check_float, check_is_fitted, list_names, param_error
from ..exceptions import ArtifactError, DataError, DataWarning, ShapeError
from . import _moments
from ._moments import Moments, _as_array, _out_dtype, _raise_inf, _rows
from ._quantiles import group_percentiles
from ._scalers import BaseScaler, _check_range, _robust_center_scale, _scaler_from_spec, _spread_or_one

__all__ = ["ColumnScaler", "InstanceScaler", "SeriesScaler"]


# --------------------------------------------------------------------------- one scaler per column


class ColumnScaler(BaseScaler):
    """One scaler per feature, chosen by name: ``{"precipitation": "log1p", "temp_max": "standard"}``.

    Columns that share a spec string are scaled by one sub-scaler; a scaler
    instance in the spec is cloned (its parameters are copied).

    Risk of data leak: fit on the training part only (see the module docstring).

    Parameters
    ----------
    spec : str, scaler or dict, default="standard"
        One of ``"standard" | "minmax" | "robust" | "maxabs" | "log1p" | "pixel" | "none"``
        or a scaler instance for every column, or a dict mapping column names
        (or indices) to such specs.
    default : str or scaler, default="standard"
        Spec for the columns a dict does not name.
    feature_names : list of str, optional
        Column names when ``X`` is an ndarray (a DataFrame brings its own).

    Attributes
    ----------
    groups_ : list of (ndarray of int, scaler)
        The fitted sub-scalers and the columns each one handles.
    specs_ : list of str
        The resolved spec per feature.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 10.0], [9.0, 30.0]])
    >>> cs = ColumnScaler({"rain": "log1p"}, feature_names=["rain", "temp"]).fit(X)
    >>> cs.specs_
    ['log1p', 'standard']
    >>> cs.inverse_transform(cs.transform(X)[:, 1:], features=["temp"])
    array([[10.],
           [30.]])
    """

    _name = "column"
    _fitted_attrs = ("groups_", "specs_")

    def __init__(
        self,
        spec: str | BaseScaler | Mapping[str | int, str | BaseScaler] = "standard",
        *,
        default: str | BaseScaler = "standard",
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.spec = spec
        self.default = default
        self.feature_names = feature_names

    def _validate_params(self) -> None:
        _scaler_from_spec(self.default, "default")
        if isinstance(self.spec, Mapping):
            for key, value in self.spec.items():
                _scaler_from_spec(value, f"spec[{key!r}]")
        else:
            _scaler_from_spec(self.spec, "spec")
        if self.feature_names is not None and (
            isinstance(self.feature_names, str) or not all(isinstance(n, str) for n in self.feature_names)
        ):
            raise param_error("feature_names", "a list of strings", self.feature_names)

    def _resolve(self, n_features: int, names: np.ndarray | None) -> list[Any]:
        specs: list[Any] = [self.spec if not isinstance(self.spec, Mapping) else self.default] * n_features
        if isinstance(self.spec, Mapping):
            for key, value in self.spec.items():
                if isinstance(key, str):
                    if names is None or key not in list(names):
                        known = list_names(names) if names is not None else "none: pass feature_names= or a DataFrame"
                        raise param_error("spec", f"keyed by known column names ({known})", key)
                    specs[list(names).index(key)] = value
                elif isinstance(key, numbers.Integral) and 0 <= key < n_features:
                    specs[int(key)] = value
                else:
                    raise param_error("spec", f"keyed by names or indices 0..{n_features - 1}", key)
        return specs

    def partial_fit(self, X: Any, y: Any = None) -> ColumnScaler:
        """Fit (or update) every sub-scaler on its columns; see :meth:`BaseScaler.partial_fit`."""
        self._validate_params()
        a, names = _as_array(X)
        if getattr(self, "n_features_in_", None) is None:
            if names is None and self.feature_names is not None:
                if len(self.feature_names) != a.shape[-1]:
                    raise ShapeError(
                        f"X has {a.shape[-1]} features, but feature_names has {len(self.feature_names)} names."
                    )
                names = np.asarray(list(self.feature_names), dtype=object)
            specs = self._resolve(a.shape[-1], names)
            keys = [s if isinstance(s, str) else id(s) for s in specs]
            self.groups_ = []
            for key in dict.fromkeys(keys):
                cols = np.asarray([j for j, k in enumerate(keys) if k == key], dtype=np.intp)
                sub = _scaler_from_spec(specs[cols[0]])
                if names is not None:
                    sub.feature_names_in_ = names[cols]
                self.groups_.append((cols, sub))
            self.specs_ = [s if isinstance(s, str) else type(s).__name__ for s in specs]
            self.n_features_in_ = int(a.shape[-1])
            if names is not None:
                self.feature_names_in_ = names
        else:
            self._check_input(a, names, self.n_features_in_)
        for cols, sub in self.groups_:
            sub.partial_fit(a[..., cols])
        self.n_samples_seen_ = getattr(self, "n_samples_seen_", 0) + int(np.prod(a.shape[:-1]))
        return self

    def _report(self) -> None:
        for _, sub in self.groups_:
            sub._report()

    def _forward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        out = np.empty(a.shape, dtype=_out_dtype(a.dtype))
        for cols, sub in self.groups_:
            out[..., cols] = sub.transform(a[..., cols])
        return out

    def _backward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        idx = np.arange(self.n_features_in_) if idx is None else idx
        out = np.empty(a.shape, dtype=_out_dtype(a.dtype))
        for cols, sub in self.groups_:
            pos = np.flatnonzero(np.isin(idx, cols))
            if len(pos):
                local = np.searchsorted(cols, idx[pos]).tolist()
                out[..., pos] = sub.inverse_transform(a[..., pos], features=local)
        return out

    def _params_json(self) -> dict[str, Any]:
        def enc(s: Any) -> Any:
            return s.to_dict() if isinstance(s, BaseScaler) else s

        spec = {str(k): enc(v) for k, v in self.spec.items()} if isinstance(self.spec, Mapping) else enc(self.spec)
        names = None if self.feature_names is None else list(self.feature_names)
        return {"spec": spec, "default": enc(self.default), "feature_names": names}

    @classmethod
    def _params_from_json(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        def dec(s: Any) -> Any:
            return BaseScaler.from_dict(s) if isinstance(s, Mapping) else s

        out = dict(params)
        spec = params.get("spec", "standard")
        if isinstance(spec, Mapping) and "class" not in spec:
            out["spec"] = {k: dec(v) for k, v in spec.items()}
        else:
            out["spec"] = dec(spec)
        if "default" in params:
            out["default"] = dec(params["default"])
        return out

    def _fitted_json(self) -> dict[str, Any]:
        return {
            "specs_": list(self.specs_),
            "n_samples_seen_": self.n_samples_seen_,
            "groups_": [{"columns": cols.tolist(), "scaler": sub.to_dict()} for cols, sub in self.groups_],
        }

    def _load_fitted(self, d: Mapping[str, Any]) -> None:
        self.specs_ = list(d["specs_"])
        self.n_samples_seen_ = int(d["n_samples_seen_"])
        self.groups_ = []
        seen: list[int] = []
        for g in d["groups_"]:
            cols = np.asarray(g["columns"], dtype=np.intp)
            sub = BaseScaler.from_dict(g["scaler"])
            if getattr(sub, "n_features_in_", None) != len(cols):
                raise ArtifactError("A column group and its scaler disagree on the number of features.")
            self.groups_.append((cols, sub))
            seen.extend(cols.tolist())
        if sorted(seen) != list(range(self.n_features_in_)) or len(self.specs_) != self.n_features_in_:
            raise ArtifactError(f"The column groups must cover features 0..{self.n_features_in_ - 1} exactly once.")


# --------------------------------------------------------------------------- per-series statistics


def _check_groups(groups: Any, a: np.ndarray) -> np.ndarray:
    """Validate series codes (one per row of ``a``) and repeat them over ``feature_shape`` positions."""
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != a.shape[0]:
        raise ShapeError(f"`groups` must be a 1-D array with one series code per row ({a.shape[0]}). "
                         f"Received shape {g.shape}.")
    if g.dtype.kind not in "iu":
        raise param_error("groups", "an integer array of series codes 0..n_series-1", g,
                          "Encode series ids first, e.g. codes = pd.factorize(ids)[0].")
    if g.size and g.min() < 0:
        raise param_error("groups", "non-negative series codes", g, f"Found {int((g < 0).sum())} negative code(s).")
    per_row = int(np.prod(a.shape[1:-1]))
    g = g.astype(np.intp, copy=False)
    return np.repeat(g, per_row) if per_row != 1 else g


class SeriesScaler(BaseScaler):
    """Per-series statistics (``per="series"``): one centre/scale per (series, feature).

    ``groups`` gives each row's series code ``0..n_series-1``. The reductions are
    vectorised, with no Python loop over series: ``np.bincount`` on
    ``series * n_features + feature`` for the moments (exact across ``partial_fit``
    chunks), and one sort by ``(series, value)`` per feature for the quantiles of
    ``base="robust"`` (equal to a per-series ``np.nanpercentile``).

    Risk of data leak: fit on the training rows of every series only.

    Parameters
    ----------
    base : {"standard", "minmax", "maxabs", "robust", "none"}, default="standard"
        The per-feature scaler applied within each series. ``"robust"`` centres on
        each series' median and divides by its inter-quantile range, as
        :class:`RobustScaler` does for one series (NaN ignored; a range that is zero
        up to rounding, or a series with no value in a feature, scales by 1). Its quantiles
        need every row at once, so it has no :meth:`partial_fit`: call :meth:`fit`.
    epsilon : float, default=1e-12
        Constant-feature bound of ``"standard"`` (see :class:`StandardScaler`).
    quantile_range : tuple (q_low, q_high), default=(25, 75)
        Percentiles in ``[0, 100]`` of ``"robust"`` (see :class:`RobustScaler`).

    Attributes
    ----------
    center_, scale_ : ndarray of shape (n_series, n_features)
        ``transform(x) = (x - center_[g]) / scale_[g]``.
    series_counts_ : ndarray of shape (n_series,)
        Training rows seen per series.
    n_series_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [3.0], [10.0], [30.0]])
    >>> g = np.array([0, 0, 1, 1])
    >>> s = SeriesScaler().fit(X, g)
    >>> s.center_.ravel(), s.transform(X, g).ravel()
    (array([ 2., 20.]), array([-1.,  1., -1.,  1.]))

    Per-series medians and inter-quartile ranges, which the outlier 900 does not move:

    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [900.0], [10.0], [20.0], [30.0]])
    >>> g = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    >>> r = SeriesScaler(base="robust").fit(X, g)
    >>> r.center_.ravel(), r.scale_.ravel()
    (array([ 3., 20.]), array([ 2., 10.]))
    >>> r.transform(X, g).ravel()
    array([ -1. ,  -0.5,   0. ,   0.5, 448.5,  -1. ,   0. ,   1. ])
    """

    _name = "series"
    _fitted_attrs = ("center_", "scale_", "series_counts_", "n_series_", "_counts", "_constant")
    _BASES = ("standard", "minmax", "maxabs", "robust", "none")

    def __init__(
        self, *, base: str = "standard", epsilon: float = 1e-12, quantile_range: tuple[float, float] = (25, 75)
    ) -> None:
        self.base = base
        self.epsilon = epsilon
        self.quantile_range = quantile_range

    def _validate_params(self) -> None:
        check_choice(self.base, "base", self._BASES, "log1p and pixel need no per-series statistics.")
        check_float(self.epsilon, "epsilon", minimum=0.0)
        _check_range(self.quantile_range, "quantile_range", 0.0, 100.0, True)

    def fit(self, X: Any, groups: Any) -> SeriesScaler:  # type: ignore[override]
        """Per-series statistics of ``X``; ``groups`` is an int array of series codes, one per row."""
        self._validate_params()
        self._reset()
        if self.base == "robust":
            self._fit_quantiles(X, groups)  # quantiles need all rows at once: not through partial_fit
        else:
            self.partial_fit(X, groups)
        self._report()
        return self

    def partial_fit(self, X: Any, groups: Any) -> SeriesScaler:  # type: ignore[override]
        """Update the per-series statistics with more rows (exact); not for ``base="robust"``."""
        self._validate_params()
        if self.base == "robust":
            raise param_error(
                "base", "'standard', 'minmax', 'maxabs' or 'none' for partial_fit", self.base,
                "Per-series medians and quantiles of chunks do not combine exactly: call fit(X, groups) with "
                "all training rows, or use base='standard' to fit chunk by chunk.",
            )
        a, names = _as_array(X)
        g = _check_groups(groups, a)
        if getattr(self, "n_features_in_", None) is None:
            self.n_features_in_ = int(a.shape[-1])
            if names is not None:
                self.feature_names_in_ = names
            self._moments = Moments.empty((0, self.n_features_in_))
            self.series_counts_ = np.zeros(0, np.int64)
        else:
            self._check_input(a, names, self.n_features_in_)
        n_series = max(self._moments.mean.shape[0], int(g.max()) + 1 if g.size else 0)
        old = self._moments
        pad = n_series - old.mean.shape[0]
        if pad:
            old = _concat(old, Moments.empty((pad, self.n_features_in_)))
            self.series_counts_ = np.concatenate([self.series_counts_, np.zeros(pad, np.int64)])
        # Merged in place (the scaler owns these arrays), touching only the series this chunk holds.
        self._moments = _moments.group_moments(_rows(a), g, n_series, with_range=self.base != "standard", into=old)
        per_row = int(np.prod(a.shape[1:-1]))
        self.series_counts_ = self.series_counts_ + np.bincount(g, minlength=n_series) // per_row
        self.n_series_ = n_series
        self._set_seen(self._moments.count.sum(axis=0))
        self._finalize()
        return self

    def _finalize(self) -> None:
        m = self._moments
        if self.base == "standard":
            std = np.sqrt(m.var)
            const = (std <= self.epsilon * np.abs(m.mean)) | (m.var == 0)
            self.center_, self.scale_ = m.mean.copy(), np.where(const, 1.0, std)
        elif self.base == "minmax":
            lo = np.where(m.count > 0, m.bounds()[0], 0.0)
            scale, const = _spread_or_one(np.where(m.count > 0, m.max - lo, 0.0))
            self.center_, self.scale_ = lo, scale
        elif self.base == "maxabs":
            mx = np.where(m.count > 0, np.maximum(np.abs(m.bounds()[0]), np.abs(m.bounds()[1])), 0.0)
            scale, const = _spread_or_one(mx)
            self.center_, self.scale_ = np.zeros_like(mx), scale
        else:
            const = np.zeros(m.mean.shape, bool)
            self.center_, self.scale_ = np.zeros(m.mean.shape), np.ones(m.mean.shape)
        self._constant = const & (self.series_counts_ > 0)[:, None]

    def _fit_quantiles(self, X: Any, groups: Any) -> None:
        """``base="robust"``: per-(series, feature) quantiles of all rows, one feature at a time."""
        a, names = _as_array(X)
        g = _check_groups(groups, a)
        self.n_features_in_ = int(a.shape[-1])
        if names is not None:
            self.feature_names_in_ = names
        rows = _rows(a)
        if rows.dtype.kind == "f" and np.isinf(rows).any():
            _raise_inf(rows)  # refused as the moment bases refuse it: an infinite range would zero the series
        n_series = int(g.max()) + 1 if g.size else 0
        lo_q, hi_q = self.quantile_range
        quantiles = np.empty((3, n_series, self.n_features_in_))
        counts = np.empty((n_series, self.n_features_in_), np.int64)
        for j in range(self.n_features_in_):  # one column at a time bounds the float64 copy and the sort
            quantiles[:, :, j], counts[:, j] = group_percentiles(rows[:, j], g, n_series, [lo_q, 50.0, hi_q])
        per_row = int(np.prod(a.shape[1:-1]))
        series_counts = np.bincount(g, minlength=n_series).astype(np.int64) // per_row
        center, scale, const = _robust_center_scale(quantiles, counts)
        self._set_robust(center, scale, counts, const & (series_counts > 0)[:, None], series_counts)

    def _set_robust(
        self, center: np.ndarray, scale: np.ndarray, counts: np.ndarray, constant: np.ndarray,
        series_counts: np.ndarray,
    ) -> None:
        """Fitted state of ``base="robust"``, from fit or from a saved scaler (checked: ArtifactError)."""
        shape = (series_counts.shape[0], self.n_features_in_)
        if series_counts.ndim != 1 or series_counts.dtype.kind not in "iu" or np.any(series_counts < 0):
            raise ArtifactError("'series_counts' must hold one non-negative integer per series.")
        for name, arr, kinds in (("center", center, "f"), ("scale", scale, "f"), ("count", counts, "iu"),
                                 ("constant", constant, "b")):
            if arr.shape != shape or arr.dtype.kind not in kinds:
                raise ArtifactError(
                    f"Array {name!r} of SeriesScaler(base='robust') must have shape {shape} and dtype kind "
                    f"{kinds!r}. Received shape {arr.shape}, dtype {arr.dtype}."
                )
        if not np.all(np.isfinite(center)) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ArtifactError("SeriesScaler(base='robust') needs finite centres and finite positive scales.")
        empty, seen = counts == 0, (series_counts > 0)[:, None]
        # The rules fit follows (_robust_center_scale): a pair without values is centred on 0 and, in a
        # series with rows, flagged constant; every constant pair has scale 1.
        consistent = (
            not np.any(counts < 0) and not np.any(counts[~seen[:, 0]])
            and np.all(constant[empty & seen]) and not np.any(center[empty]) and np.all(scale[constant] == 1.0)
        )
        if not consistent:
            raise ArtifactError(
                "The per-series statistics of SeriesScaler(base='robust') are inconsistent: counts must be >= 0 "
                "and 0 for series without rows; pairs without values must be constant and centred on 0; "
                "constant pairs must have scale 1."
            )
        self.center_, self.scale_ = center.astype(np.float64), scale.astype(np.float64)
        self._counts, self._constant = counts.astype(np.int64), constant.astype(bool)
        self.series_counts_ = series_counts.astype(np.int64)
        self.n_series_ = int(shape[0])
        self._set_seen(self._counts.sum(axis=0))

    def _report(self) -> None:
        n_const = int(self._constant.sum())
        if n_const and self.base == "standard":
            pairs = np.argwhere(self._constant)[:5].tolist()
            warnings.warn(
                f"SeriesScaler: {n_const} (series, feature) pair(s) are constant or all NaN, e.g. {pairs}; "
                "their scale is set to 1 (they are only centred).",
                DataWarning,
                stacklevel=3,
            )

    def _series_rows(self, g: np.ndarray) -> None:
        unknown = g >= self.n_series_
        unseen = np.zeros_like(unknown)
        unseen[~unknown] = self.series_counts_[g[~unknown]] == 0
        bad = unknown | unseen
        if bad.any():
            codes = np.unique(g[bad])
            raise DataError(
                f"X has {int(bad.sum())} row(s) of {len(codes)} series with no training rows "
                f"(codes {codes[:10].tolist()}{' ...' if len(codes) > 10 else ''}; "
                f"{self.n_series_} series were fitted). "
                "Fit on data that covers every series, or drop these rows."
            )

    def transform(self, X: Any, groups: Any) -> np.ndarray:  # type: ignore[override]
        """Scale each row with the statistics of its series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *feature_shape)
        groups : ndarray of int of shape (n_samples,)

        Returns
        -------
        ndarray of the same shape
        """
        check_is_fitted(self, "n_features_in_")
        a, names = _as_array(X)
        self._check_input(a, names, self.n_features_in_)
        return self._apply(a, _check_groups(groups, a), None, inverse=False)

    def inverse_transform(  # type: ignore[override]
        self, X: Any, groups: Any, *, features: Sequence[int | str] | None = None
    ) -> np.ndarray:
        """Undo :meth:`transform`; ``features`` selects the fitted columns ``X`` holds."""
        a, idx = self._inverse_input(X, features)
        return self._apply(a, _check_groups(groups, a), idx, inverse=True)

    def _apply(self, a: np.ndarray, g: np.ndarray, idx: np.ndarray | None, *, inverse: bool) -> np.ndarray:
        self._series_rows(g)
        center = self.center_ if idx is None else self.center_[:, idx]
        scale = self.scale_ if idx is None else self.scale_[:, idx]
        out = np.empty(a.shape, dtype=_out_dtype(a.dtype))
        src, dst = _rows(a), out.reshape(-1, a.shape[-1])
        step = _moments.chunk_rows(a.shape[-1])
        for start in range(0, src.shape[0], step):
            x = src[start : start + step].astype(np.float64)
            gi = g[start : start + step]
            if inverse:
                x *= scale[gi]
                x += center[gi]
            else:
                x -= center[gi]
                x /= scale[gi]
            dst[start : start + step] = x
        return out

    def _fitted_json(self) -> dict[str, Any]:
        if self.base == "robust":
            return {"center_": self.center_.tolist(), "scale_": self.scale_.tolist(), "count": self._counts.tolist(),
                    "constant": self._constant.tolist(), "series_counts_": self.series_counts_.tolist()}
        return {"moments": self._moments.to_dict(), "series_counts_": self.series_counts_.tolist()}

    def _fitted_arrays(self) -> dict[str, np.ndarray]:
        # One row per series: with many series a JSON list would be slow and large; binary is exact.
        if self.base == "robust":
            # Quantiles have no mergeable summary: what is kept is what transform uses, plus the
            # counts (n_samples_seen_) and which pairs were scaled by 1 (no spread or no value).
            return {"center": self.center_, "scale": self.scale_, "count": self._counts,
                    "constant": self._constant, "series_counts": self.series_counts_}
        m = self._moments
        out = {"count": m.count, "mean": m.mean, "m2": m.m2, "series_counts": self.series_counts_}
        if m.min is not None and m.max is not None:
            out.update({"min": m.min, "max": m.max})
        return out

    def _load_fitted_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        if self.base == "robust":
            want = {"center", "scale", "count", "constant", "series_counts"}
            if set(arrays) != want:
                raise ArtifactError(f"SeriesScaler(base='robust') stores the arrays {sorted(want)}. "
                                    f"Received: {sorted(arrays)}.")
            self._set_robust(arrays["center"], arrays["scale"], arrays["count"], arrays["constant"],
                             arrays["series_counts"])
            return
        count = arrays["count"]
        shape = count.shape
        for name, arr in arrays.items():
            kinds = "iu" if name in ("count", "series_counts") else "f"
            if arr.dtype.kind not in kinds:
                raise ArtifactError(f"Array {name!r} of {type(self).__name__} has dtype {arr.dtype}.")
            if name != "series_counts" and arr.shape != shape:
                raise ArtifactError(f"Array {name!r} has shape {arr.shape}; 'count' has {shape}.")
        if np.any(count < 0) or np.any(arrays["m2"] < 0) or not np.all(np.isfinite(arrays["mean"])):
            raise ArtifactError(f"The per-series statistics of {type(self).__name__} are invalid (negative or NaN).")
        lo, hi = arrays.get("min"), arrays.get("max")
        moments = Moments(count.astype(np.int64), arrays["mean"].astype(np.float64), arrays["m2"].astype(np.float64),
                          None if lo is None else lo.astype(np.float64), None if hi is None else hi.astype(np.float64))
        self._set_fitted(moments, arrays["series_counts"])

    def _load_fitted(self, d: Mapping[str, Any]) -> None:
        if self.base == "robust":
            counts = np.asarray(d["series_counts_"])
            shape = (len(counts), self.n_features_in_)
            self._set_robust(_moments._floats(d["center_"], "center_", shape),
                             _moments._floats(d["scale_"], "scale_", shape),
                             np.asarray(d["count"]), np.asarray(d["constant"]), counts)
            return
        self._set_fitted(Moments.from_dict(d["moments"]), np.asarray(d["series_counts_"]))

    def _set_fitted(self, moments: Moments, counts: np.ndarray) -> None:
        self._moments = moments
        if self._moments.mean.ndim != 2 or self._moments.mean.shape[1] != self.n_features_in_:
            raise ArtifactError(f"Per-series moments must have shape (n_series, {self.n_features_in_}).")
        if counts.shape != self._moments.mean.shape[:1] or counts.dtype.kind not in "iu":
            raise ArtifactError("'series_counts_' must hold one integer per series.")
        if self.base != "standard" and self._moments.min is None:
            raise ArtifactError(f"SeriesScaler(base={self.base!r}) needs 'min' and 'max' in its moments.")
        self.series_counts_ = counts.astype(np.int64)
        self.n_series_ = int(counts.shape[0])
        self._set_seen(self._moments.count.sum(axis=0))
        self._finalize()


def _concat(a: Moments, b: Moments) -> Moments:
    def cat(x: np.ndarray | None, y: np.ndarray | None) -> np.ndarray | None:
        return None if x is None or y is None else np.concatenate([x, y])

    return Moments(
        np.concatenate([a.count, b.count]), np.concatenate([a.mean, b.mean]),
        np.concatenate([a.m2, b.m2]), cat(a.min, b.min), cat(a.max, b.max),
    )


# --------------------------------------------------------------------------- per-sample (instance) normalisation


class InstanceScaler(BaseScaler):
    """Normalise each window per channel over its own time axis (``per="sample"``); stateless.

    No statistics are learned, so it cannot leak across splits. ``fit`` only
    records ``n_features_in_`` (then used for the width check) and is optional.

    Parameters
    ----------
    epsilon : float, default=1e-8
        Windows whose std is ``<= epsilon`` (flat) are only centred.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[[1.0], [3.0]], [[5.0], [5.0]]])  # (N=2, T=2, C=1)
    >>> Y, stats = InstanceScaler().transform(W, return_stats=True)
    >>> Y.ravel()
    array([-1.,  1.,  0.,  0.])
    >>> InstanceScaler().inverse_transform(Y[:, -1:], stats).ravel()
    array([3., 5.])
    """

    _name = "instance"

    def __init__(self, *, epsilon: float = 1e-8) -> None:
        self.epsilon = epsilon

    def _validate_params(self) -> None:
        check_float(self.epsilon, "epsilon", minimum=0.0)

    def _update(self, a: np.ndarray) -> None:
        pass

    def _fitted_json(self) -> dict[str, Any]:
        return {}

    def _load_fitted(self, d: Mapping[str, Any]) -> None:
        pass

    def _windows(self, X: Any) -> np.ndarray:
        a, _ = _as_array(X)
        if a.ndim != 3:
            raise ShapeError(f"InstanceScaler expects windows of shape (N, T, C). Received shape {a.shape}.")
        if getattr(self, "n_features_in_", None) is not None:
            self._check_input(a, None, self.n_features_in_)
        return a

    def transform(self, X: Any, *, return_stats: bool = False) -> Any:  # type: ignore[override]
        """Normalise every window; NaN ignored in the statistics and passed through.

        Parameters
        ----------
        X : ndarray of shape (N, T, C)
        return_stats : bool, default=False
            Also return ``(mean, scale)``, each of shape ``(N, 1, C)`` float64,
            for :meth:`inverse_transform`.

        Returns
        -------
        Y : ndarray of shape (N, T, C)
        stats : tuple of ndarray, only if ``return_stats``
        """
        self._validate_params()
        a = self._windows(X)
        x = a.astype(np.float64)
        nan = np.isnan(x)
        cnt = np.maximum((~nan).sum(axis=1, keepdims=True), 1)
        mean = np.where(nan, 0.0, x).sum(axis=1, keepdims=True) / cnt
        d = x - mean
        std = np.sqrt(np.where(nan, 0.0, d * d).sum(axis=1, keepdims=True) / cnt)
        scale = np.where(std > self.epsilon, std, 1.0)
        y = (d / scale).astype(_out_dtype(a.dtype))
        return (y, (mean, scale)) if return_stats else y

    def inverse_transform(  # type: ignore[override]
        self, X: Any, stats: tuple[np.ndarray, np.ndarray], *, features: Sequence[int] | None = None
    ) -> np.ndarray:
        """Undo :meth:`transform` with the ``stats`` it returned (e.g. on predictions ``(N, H, k)``)."""
        a, _ = _as_array(X)
        if not isinstance(stats, tuple) or len(stats) != 2:
            raise param_error("stats", "the (mean, scale) tuple from transform(..., return_stats=True)", stats)
        mean, scale = (np.asarray(s, np.float64) for s in stats)
        if mean.ndim != 3 or mean.shape != scale.shape or mean.shape[0] != a.shape[0]:
            raise ShapeError(f"stats have shape {mean.shape}, but X has {a.shape[0]} windows.")
        if features is not None:
            idx = [int(f) for f in features]
            mean, scale = mean[..., idx], scale[..., idx]
        if a.shape[-1] != mean.shape[-1]:
            raise ShapeError(
                f"X has {a.shape[-1]} features, but InstanceScaler is expecting {mean.shape[-1]} features as input."
            )
        shape = (a.shape[0],) + (1,) * (a.ndim - 2) + (a.shape[-1],)
        out = a.astype(np.float64) * scale.reshape(shape) + mean.reshape(shape)
        return out.astype(_out_dtype(a.dtype))
