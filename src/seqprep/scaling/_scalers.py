"""The scalers: scikit-learn's fit/partial_fit/transform contract, exact in float64."""

from __future__ import annotations

import inspect
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .._validation import check_choice, check_float, check_is_fitted, list_names, param_error
from ..exceptions import ArtifactError, DataError, DataWarning, InvalidParameterError, ShapeError
from . import _moments
from ._moments import Moments, _affine, _as_array, _out_dtype, _rows

__all__ = [
    "IdentityScaler",
    "Log1pScaler",
    "MaxAbsScaler",
    "MinMaxScaler",
    "PixelScaler",
    "RobustScaler",
    "StandardScaler",
]

_FORMAT = 1
_REGISTRY: dict[str, type[BaseScaler]] = {}


def _names_json(names: np.ndarray | None) -> list[str] | None:
    return None if names is None else [str(n) for n in names]


# --------------------------------------------------------------------------- base class


class BaseScaler:
    """Shared contract: params, fit = reset + partial_fit, width checks, to_dict/from_dict.

    Subclasses set ``_name`` (the spec string), implement ``_update(a)``, and
    either ``_affine_params()`` or ``_forward``/``_backward``.
    """

    _name: ClassVar[str] = ""
    _fitted_attrs: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ---- params (minimal scikit-learn API, no sklearn import) ----
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this scaler (``deep`` is accepted for scikit-learn compatibility)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> BaseScaler:
        """Set parameters; unknown names raise :class:`InvalidParameterError`."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise param_error("parameter name", f"one of {valid}", key, f"{type(self).__name__} has no {key!r}.")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        params = inspect.signature(type(self).__init__).parameters
        parts = [
            f"{k}={getattr(self, k)!r}"
            for k, p in params.items()
            if k != "self" and p.kind != p.VAR_KEYWORD and not _same(getattr(self, k), p.default)
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "n_features_in_", None) is not None

    def _validate_params(self) -> None:
        """Check the parameters (called at the start of fit/partial_fit)."""

    # ---- fitting ----
    def _reset(self) -> None:
        for attr in ("n_features_in_", "feature_names_in_", "n_samples_seen_", "_moments", *self._fitted_attrs):
            if attr in self.__dict__:
                delattr(self, attr)

    def fit(self, X: Any, y: Any = None) -> BaseScaler:
        """Compute the statistics of ``X`` (forgetting any previous fit).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *feature_shape)
            Training data only (see "Risk of data leak").
        y : None
            Ignored; present for pipeline compatibility.

        Returns
        -------
        self
        """
        self._validate_params()
        self._reset()
        self.partial_fit(X)
        self._report()
        return self

    def partial_fit(self, X: Any, y: Any = None) -> BaseScaler:
        """Update the statistics with a chunk of rows (exact: equals ``fit`` on all chunks).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *feature_shape)
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        a, names = _as_array(X)
        if getattr(self, "n_features_in_", None) is None:
            self.n_features_in_ = int(a.shape[-1])
            if names is not None:
                self.feature_names_in_ = names
        else:
            self._check_input(a, names, self.n_features_in_)
        self._update(a)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)

    def _update(self, a: np.ndarray) -> None:
        """Default: accumulate :class:`Moments` (with range when ``_with_range``) and finalise."""
        m = _moments.array_moments(_rows(a), with_range=self._with_range)
        seen: Moments | None = getattr(self, "_moments", None)
        self._moments = m if seen is None else seen.merge(m)
        self._set_seen(self._moments.count)
        self._finalize()

    _with_range: ClassVar[bool] = True

    def _set_seen(self, count: np.ndarray) -> None:
        self.n_samples_seen_ = int(count[0]) if count.size and np.all(count == count[0]) else count.copy()

    def _finalize(self) -> None:
        """Turn ``self._moments`` into the public fitted attributes."""

    def _report(self) -> None:
        """Warn about suspicious statistics after ``fit`` (``partial_fit`` stays silent)."""

    # ---- checks ----
    def _check_input(self, a: np.ndarray, names: np.ndarray | None, expected: int, what: str = "") -> None:
        if a.shape[-1] != expected:
            raise ShapeError(
                f"X has {a.shape[-1]} features, but {type(self).__name__} is expecting {expected} features "
                f"as input{what}."
            )
        fitted = getattr(self, "feature_names_in_", None)
        if not what and names is not None and fitted is not None and list(names) != list(fitted):
            raise DataError(
                f"The feature names of X do not match those seen in fit. Expected {list_names(fitted)}, "
                f"received {list_names(names)}. Reorder the columns as in fit."
            )

    def _feature_index(self, features: Any) -> np.ndarray:
        """Turn ``features`` (indices or fitted names) into an int index array."""
        if isinstance(features, (str, numbers.Integral)) or not isinstance(features, (Sequence, np.ndarray)):
            raise param_error("features", "a list of feature indices or names", features, 'E.g. features=["temp"].')
        names = getattr(self, "feature_names_in_", None)
        out = []
        for f in features:
            if isinstance(f, str):
                if names is None or f not in list(names):
                    known = list_names(names) if names is not None else "none (fitted on an array)"
                    raise param_error("features", f"names seen in fit ({known})", features)
                out.append(list(names).index(f))
            elif isinstance(f, numbers.Integral) and not isinstance(f, bool) and 0 <= int(f) < self.n_features_in_:
                out.append(int(f))
            else:
                raise param_error(
                    "features", f"indices in 0..{self.n_features_in_ - 1} or fitted names", features
                )
        if not out:
            raise param_error("features", "a non-empty list", features)
        return np.asarray(out, dtype=np.intp)

    # ---- transform ----
    def transform(self, X: Any) -> np.ndarray:
        """Scale ``X`` with the fitted statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *feature_shape)

        Returns
        -------
        ndarray of the same shape
            float32 for float32/integer input, float64 for float64 input.
        """
        check_is_fitted(self, "n_features_in_")
        a, names = _as_array(X)
        self._check_input(a, names, self.n_features_in_)
        return self._forward(a, None)

    def inverse_transform(self, X: Any, *, features: Sequence[int | str] | None = None) -> np.ndarray:
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ..., len(features))
            Scaled values.
        features : list of int or str, optional
            Which fitted features the last axis of ``X`` holds, e.g. only the
            target column of model predictions: ``features=["temp_max"]``.

        Returns
        -------
        ndarray of the same shape
        """
        a, idx = self._inverse_input(X, features)
        return self._backward(a, idx)

    def _inverse_input(self, X: Any, features: Sequence[int | str] | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Fitted check, array conversion and width check of ``inverse_transform``'s input."""
        check_is_fitted(self, "n_features_in_")
        a, _ = _as_array(X)
        if features is None:
            self._check_input(a, None, self.n_features_in_)
            return a, None
        idx = self._feature_index(features)
        self._check_input(a, None, len(idx), f" (features={list(features)!r})")
        return a, idx

    def _affine_params(self) -> tuple[Any, Any, Any]:
        return 0.0, 1.0, 0.0

    def _forward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        off, div, add = self._affine_params()
        return _affine(a, off, div, add)

    def _backward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        n = (self.n_features_in_,)
        off, div, add = (np.broadcast_to(np.asarray(p, np.float64), n) for p in self._affine_params())
        if idx is not None:
            off, div, add = off[idx], div[idx], add[idx]
        return _affine(a, off, div, add, inverse=True)

    # ---- serialisation ----
    def _params_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}

    def _fitted_json(self) -> dict[str, Any]:
        return {"moments": self._moments.to_dict()}

    def _fitted_arrays(self) -> dict[str, np.ndarray] | None:
        """Statistics too large for JSON, as named arrays; None keeps them in the JSON (the default)."""
        return None

    def _load_fitted_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        raise ArtifactError(f"{type(self).__name__} keeps its statistics in JSON, not in an arrays file.")

    def _load_fitted(self, d: Mapping[str, Any]) -> None:
        self._moments = Moments.from_dict(d["moments"])
        if self._moments.mean.shape != (self.n_features_in_,):
            raise ArtifactError(f"Moments must have {self.n_features_in_} features.")
        if self._with_range and self._moments.min is None:
            raise ArtifactError(f"{type(self).__name__} needs 'min' and 'max' in its moments.")
        self._set_seen(self._moments.count)
        self._finalize()

    def to_dict(self, *, arrays: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """JSON-safe description: class, params and fitted statistics (no pickle).

        Parameters
        ----------
        arrays : dict, optional
            When given, a scaler whose statistics are large arrays (one row per series) puts them
            in this dict instead of the JSON (``"fitted": {..., "arrays": [names]}``); the caller
            stores them in binary, e.g. an ``.npz`` next to the JSON (:meth:`Pipeline.save` does).

        Returns
        -------
        dict
            ``{"class", "format", "params", "fitted"}``; ``fitted`` is ``None`` before fit.
        """
        fitted = None
        if getattr(self, "n_features_in_", None) is not None:
            fitted = {"n_features_in_": self.n_features_in_, "feature_names_in_": _names_json(
                getattr(self, "feature_names_in_", None))}
            big = self._fitted_arrays() if arrays is not None else None
            if big is not None:
                arrays.update({f"scaler.{k}": v for k, v in big.items()})  # type: ignore[union-attr]
                fitted["arrays"] = sorted(big)
            else:
                fitted.update(self._fitted_json())
        return {"class": type(self).__name__, "format": _FORMAT, "params": self._params_json(), "fitted": fitted}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, arrays: Mapping[str, np.ndarray] | None = None) -> BaseScaler:
        """Rebuild a scaler written by :meth:`to_dict`; :class:`ArtifactError` if malformed.

        ``arrays`` holds the statistics that ``to_dict(arrays=...)`` set aside.
        """
        if not isinstance(d, Mapping) or not {"class", "params", "fitted"} <= set(d):
            raise ArtifactError("A scaler dict needs the keys 'class', 'params' and 'fitted' (see to_dict()).")
        if d.get("format", _FORMAT) != _FORMAT:
            raise ArtifactError(f"Unknown scaler format {d.get('format')!r}; this seqprep reads format {_FORMAT}.")
        klass = _REGISTRY.get(d["class"]) if isinstance(d["class"], str) else None
        if klass is None or not issubclass(klass, cls):
            raise ArtifactError(f"Unknown scaler class {d['class']!r}. Known: {list_names(sorted(_REGISTRY))}.")
        params = d["params"]
        if not isinstance(params, Mapping) or set(params) - set(klass._get_param_names()):
            raise ArtifactError(f"Bad params for {klass.__name__}: {params!r:.120}.")
        try:
            obj = klass(**klass._params_from_json(params))
            obj._validate_params()
        except InvalidParameterError as exc:
            raise ArtifactError(f"Invalid params for {klass.__name__}: {exc}") from exc
        fitted = d["fitted"]
        if fitted is None:
            return obj
        try:
            n = fitted["n_features_in_"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ArtifactError(f"'n_features_in_' must be a positive integer. Received: {n!r}.")
            obj.n_features_in_ = n
            names = fitted.get("feature_names_in_")
            if names is not None:
                if not isinstance(names, list) or len(names) != n or not all(isinstance(x, str) for x in names):
                    raise ArtifactError(f"'feature_names_in_' must be a list of {n} strings.")
                obj.feature_names_in_ = np.asarray(names, dtype=object)
            if "arrays" in fitted:
                names = fitted["arrays"]
                if not isinstance(names, list) or not all(isinstance(k, str) for k in names):
                    raise ArtifactError(f"'arrays' must be a list of array names. Received: {names!r:.80}.")
                missing = [k for k in names if f"scaler.{k}" not in (arrays or {})]
                if missing:
                    raise ArtifactError(f"The statistics {missing!r} of {klass.__name__} are missing; "
                                        "they are stored in the arrays file saved next to this JSON.")
                obj._load_fitted_arrays({k: np.asarray(arrays[f"scaler.{k}"]) for k in names})  # type: ignore[index]
            else:
                obj._load_fitted(fitted)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ArtifactError):
                raise
            raise ArtifactError(f"Malformed fitted state for {klass.__name__}: {exc!r}.") from exc
        return obj

    @classmethod
    def _params_from_json(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _check_range(value: Any, name: str, lo: float, hi: float, strict: bool) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise param_error(name, "a pair (low, high)", value)
    a = check_float(value[0], f"{name}[0]", minimum=lo, maximum=hi)
    b = check_float(value[1], f"{name}[1]", minimum=lo, maximum=hi)
    if not a < b:
        raise param_error(name, "a pair with low < high", value, f"E.g. {name}=({lo:g}, {hi:g}).")
    return a, b


#: Ranges, maxima and inter-quantile ranges below this count as zero (scale 1): ten float64 machine
#: epsilons, the line scikit-learn's ``_handle_zeros_in_scale`` draws. A range of a few ulps (values
#: 0 and a subnormal) is rounding, not spread: dividing by it sends ordinary values to inf.
MIN_SCALE = 10 * float(np.finfo(np.float64).eps)


def _spread_or_one(spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, constant)``: ``spread`` where it is at least ``MIN_SCALE``, else 1 (flagged constant)."""
    constant = spread < MIN_SCALE
    return np.where(constant, 1.0, spread), constant


def _robust_center_scale(quantiles: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(center, scale, constant)`` from the ``(q_low, median, q_high)`` rows of ``quantiles`` and the counts.

    One rule for :class:`RobustScaler` (per feature) and ``SeriesScaler(base="robust")`` (per series
    and feature), so that a series alone gets the same statistics from both: the median is the
    centre (0 without values) and the inter-quantile range the scale, 1 when it is below
    ``MIN_SCALE`` or there are no values (``constant``: only centred).
    """
    has = counts > 0
    scale, constant = _spread_or_one(np.where(has, quantiles[2] - quantiles[0], 0.0))
    return np.where(has, quantiles[1], 0.0), scale, constant


def _warn_constant(scaler: BaseScaler, idx: np.ndarray, all_nan: np.ndarray) -> None:
    names = getattr(scaler, "feature_names_in_", None)
    label = [names[i] if names is not None else int(i) for i in idx]
    nan_label = [names[i] if names is not None else int(i) for i in all_nan]
    text = f"{type(scaler).__name__}: {len(idx)} feature(s) have zero variance or no values: {list_names(label)}"
    if len(all_nan):
        text += f" (all NaN: {list_names(nan_label)})"
    warnings.warn(text + ". Their scale is set to 1 (they are only centred).", DataWarning, stacklevel=4)


# --------------------------------------------------------------------------- per-feature scalers


class StandardScaler(BaseScaler):
    """Standardise each feature: ``(x - mean_) / scale_`` with the population std.

    Statistics are exact float64 moments accumulated chunk by chunk (Chan et
    al. merge), so ``partial_fit`` over any chunks equals ``fit``, also for
    float32 data with a large mean.

    Risk of data leak: fit on the training part only and reuse the fitted
    scaler for validation/test; never fit on the whole series, and never fit
    train and test separately with their own statistics.

    Parameters
    ----------
    epsilon : float, default=1e-12
        A feature is constant when ``std <= epsilon * |mean|`` (or the variance
        is exactly 0). Constant and all-NaN features get ``scale_ = 1``, are
        listed in ``constant_features_`` and reported with a :class:`DataWarning`.

    Attributes
    ----------
    mean_, var_, scale_ : ndarray of shape (n_features,)
    constant_features_ : ndarray of int
    n_samples_seen_ : int or ndarray of shape (n_features,)
        Values counted per feature (an array when NaN made the counts differ).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0]], dtype=np.float32)
    >>> s = StandardScaler().fit(X)
    >>> s.mean_, s.scale_
    (array([ 2., 20.]), array([ 1., 10.]))
    >>> s.transform(X)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    >>> s.inverse_transform(np.array([[0.5]]), features=[1])
    array([[25.]])
    """

    _name = "standard"
    _with_range = False
    _fitted_attrs = ("mean_", "var_", "scale_", "constant_features_")

    def __init__(self, *, epsilon: float = 1e-12) -> None:
        self.epsilon = epsilon

    def _validate_params(self) -> None:
        check_float(self.epsilon, "epsilon", minimum=0.0)

    def _finalize(self) -> None:
        m = self._moments
        self.mean_ = m.mean.copy()
        self.var_ = m.var
        std = np.sqrt(self.var_)
        const = (std <= self.epsilon * np.abs(self.mean_)) | (self.var_ == 0)
        self.scale_ = np.where(const, 1.0, std)
        self.constant_features_ = np.flatnonzero(const)

    def _report(self) -> None:
        if len(self.constant_features_):
            _warn_constant(self, self.constant_features_, np.flatnonzero(self._moments.count == 0))

    def _affine_params(self) -> tuple[Any, Any, Any]:
        return self.mean_, self.scale_, 0.0


class MinMaxScaler(BaseScaler):
    """Map each feature's ``[data_min_, data_max_]`` onto ``feature_range``.

    Risk of data leak: fit on the training part only (see the module docstring).

    Parameters
    ----------
    feature_range : tuple (low, high), default=(0, 1)

    Attributes
    ----------
    data_min_, data_max_, data_range_ : ndarray of shape (n_features,)
        A constant (or all-NaN) feature gets ``data_range_ = 1``; so does a range below
        ``10 * eps`` (about 2.2e-15, zero up to rounding, as in scikit-learn).
    scale_, min_ : ndarray of shape (n_features,)
        ``transform(x) = x * scale_ + min_`` (scikit-learn's meaning).

    Examples
    --------
    >>> import numpy as np
    >>> MinMaxScaler(feature_range=(-1, 1)).fit_transform(np.array([[0.0], [5.0], [10.0]]))
    array([[-1.],
           [ 0.],
           [ 1.]])
    """

    _name = "minmax"
    _fitted_attrs = ("data_min_", "data_max_", "data_range_", "scale_", "min_")

    def __init__(self, *, feature_range: tuple[float, float] = (0, 1)) -> None:
        self.feature_range = feature_range

    def _validate_params(self) -> None:
        _check_range(self.feature_range, "feature_range", -np.inf, np.inf, True)

    def _finalize(self) -> None:
        m = self._moments
        empty = m.count == 0
        data_lo, data_hi = m.bounds()
        self.data_min_ = np.where(empty, 0.0, data_lo)
        self.data_max_ = np.where(empty, 0.0, data_hi)
        rng = self.data_max_ - self.data_min_
        self.data_range_ = _spread_or_one(rng)[0]
        lo, hi = (float(v) for v in self.feature_range)
        self.scale_ = (hi - lo) / self.data_range_
        self.min_ = lo - self.data_min_ * self.scale_

    def _affine_params(self) -> tuple[Any, Any, Any]:
        lo, hi = (float(v) for v in self.feature_range)
        return self.data_min_, self.data_range_ / (hi - lo), lo


class MaxAbsScaler(BaseScaler):
    """Divide each feature by its maximum absolute value (0, or below ``10 * eps``, -> 1).

    Risk of data leak: fit on the training part only (see the module docstring).

    Attributes
    ----------
    max_abs_, scale_ : ndarray of shape (n_features,)

    Examples
    --------
    >>> import numpy as np
    >>> MaxAbsScaler().fit_transform(np.array([[-4.0, 0.0], [2.0, 0.0]]))
    array([[-1. ,  0. ],
           [ 0.5,  0. ]])
    """

    _name = "maxabs"
    _fitted_attrs = ("max_abs_", "scale_")

    def __init__(self) -> None:
        pass

    def _finalize(self) -> None:
        m = self._moments
        lo, hi = m.bounds()
        self.max_abs_ = np.where(m.count == 0, 0.0, np.maximum(np.abs(lo), np.abs(hi)))
        self.scale_ = _spread_or_one(self.max_abs_)[0]

    def _affine_params(self) -> tuple[Any, Any, Any]:
        return 0.0, self.scale_, 0.0


class RobustScaler(BaseScaler):
    """Centre on the median and divide by an inter-quantile range (NaN ignored).

    Quantiles need all rows at once, so :meth:`partial_fit` raises; call
    :meth:`fit` on in-memory training data.

    Risk of data leak: fit on the training part only (see the module docstring).

    Parameters
    ----------
    quantile_range : tuple (q_low, q_high), default=(25, 75)
        Percentiles in ``[0, 100]``.

    Attributes
    ----------
    center_, scale_ : ndarray of shape (n_features,)
        Medians and inter-quantile ranges; a range below ``10 * eps`` (about 2.2e-15: zero up
        to rounding, as in scikit-learn) or a feature without values gets scale 1.

    Examples
    --------
    >>> import numpy as np
    >>> RobustScaler().fit(np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])).center_
    array([3.])
    """

    _name = "robust"
    _fitted_attrs = ("center_", "scale_")

    def __init__(self, *, quantile_range: tuple[float, float] = (25, 75)) -> None:
        self.quantile_range = quantile_range

    def _validate_params(self) -> None:
        _check_range(self.quantile_range, "quantile_range", 0.0, 100.0, True)

    def fit(self, X: Any, y: Any = None) -> RobustScaler:
        """Compute medians and inter-quantile ranges of ``X`` (training data only)."""
        self._validate_params()
        self._reset()
        a, names = _as_array(X)
        self.n_features_in_ = int(a.shape[-1])
        if names is not None:
            self.feature_names_in_ = names
        rows = _rows(a)
        lo_q, hi_q = self.quantile_range
        quantiles = np.full((3, rows.shape[1]), np.nan)
        counts = np.zeros(rows.shape[1], np.int64)
        for j in range(rows.shape[1]):  # one column at a time bounds the float64 copy
            col = rows[:, j].astype(np.float64)
            col = col[~np.isnan(col)]
            counts[j] = col.size
            if col.size:
                quantiles[:, j] = np.percentile(col, [lo_q, 50.0, hi_q])
        self._set_quantiles(quantiles, counts)
        return self

    def _set_quantiles(self, quantiles: np.ndarray, counts: np.ndarray) -> None:
        """Fitted state from the ``(q_low, median, q_high)`` rows of ``quantiles`` and the non-NaN counts.

        Shared by :meth:`fit` and the streaming fit (:mod:`seqprep.outofcore`, exact quantiles over
        several passes), so that both give the same statistics. A range that is zero up to rounding
        (below ``10 * eps``) scales by 1.
        """
        self.center_, self.scale_, _ = _robust_center_scale(quantiles, counts)
        self._set_seen(np.asarray(counts, np.int64))

    def partial_fit(self, X: Any, y: Any = None) -> RobustScaler:
        """Not supported: quantiles cannot be merged exactly across chunks."""
        raise InvalidParameterError(
            "RobustScaler cannot be fitted incrementally: medians and quantiles of chunks do not combine exactly. "
            "Call fit() on the in-memory training data, or use StandardScaler/MinMaxScaler for streaming."
        )

    def _affine_params(self) -> tuple[Any, Any, Any]:
        return self.center_, self.scale_, 0.0

    def _fitted_json(self) -> dict[str, Any]:
        seen = self.n_samples_seen_
        return {"center_": self.center_.tolist(), "scale_": self.scale_.tolist(),
                "n_samples_seen_": seen if isinstance(seen, int) else seen.tolist()}

    def _load_fitted(self, d: Mapping[str, Any]) -> None:
        n = (self.n_features_in_,)
        self.center_ = _moments._floats(d["center_"], "center_", n)
        self.scale_ = _moments._floats(d["scale_"], "scale_", n)
        if np.any(self.scale_ <= 0):
            raise ArtifactError("'scale_' must be positive.")
        seen = d["n_samples_seen_"]
        self.n_samples_seen_ = seen if isinstance(seen, int) else np.asarray(seen, np.int64)


class IdentityScaler(BaseScaler):
    """No scaling (spec ``"none"``): ``transform`` only applies the output dtype rule.

    Examples
    --------
    >>> import numpy as np
    >>> IdentityScaler().fit_transform(np.array([[1, 2]], dtype=np.uint8))
    array([[1., 2.]], dtype=float32)
    """

    _name = "none"

    def __init__(self) -> None:
        pass

    def _update(self, a: np.ndarray) -> None:
        seen = getattr(self, "n_samples_seen_", 0)
        self.n_samples_seen_ = int(seen) + int(np.prod(a.shape[:-1]))

    def _fitted_json(self) -> dict[str, Any]:
        return {"n_samples_seen_": int(self.n_samples_seen_)}

    def _load_fitted(self, d: Mapping[str, Any]) -> None:
        seen = d["n_samples_seen_"]
        if isinstance(seen, bool) or not isinstance(seen, int) or seen < 0:
            raise ArtifactError(f"'n_samples_seen_' must be a non-negative integer. Received: {seen!r}.")
        self.n_samples_seen_ = seen


class Log1pScaler(IdentityScaler):
    """``y = log1p(x)`` for non-negative data (counts, precipitation); inverse ``expm1``.

    Negative values raise :class:`DataError` naming the column and the count.

    Examples
    --------
    >>> import numpy as np
    >>> s = Log1pScaler().fit(np.array([[0.0], [9.0]]))
    >>> s.transform(np.array([[np.e - 1]]))
    array([[1.]])
    """

    _name = "log1p"

    def _check_negative(self, a: np.ndarray) -> None:
        if a.dtype.kind == "u" or a.dtype.kind == "b":
            return
        neg = (_rows(a) < 0).sum(axis=0)
        if neg.any():
            cols = np.flatnonzero(neg)
            names = getattr(self, "feature_names_in_", None)
            label = [names[i] if names is not None else int(i) for i in cols]
            raise DataError(
                f"Log1pScaler needs values >= 0, but column(s) {list_names(label)} hold {neg[cols].tolist()} "
                f"negative value(s) (of {_rows(a).shape[0]} rows). Shift the column, or use 'standard' for it."
            )

    def _update(self, a: np.ndarray) -> None:
        self._check_negative(a)
        super()._update(a)

    def _forward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        self._check_negative(a)
        return np.log1p(a, dtype=_out_dtype(a.dtype))

    def _backward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        return np.expm1(a, dtype=_out_dtype(a.dtype))


class PixelScaler(IdentityScaler):
    """Divide by ``max_value`` (default: the integer dtype's maximum, 255 for floats).

    Needs no statistics; ``fit`` only records the width and ``max_value_``.

    Parameters
    ----------
    max_value : float, optional

    Examples
    --------
    >>> import numpy as np
    >>> PixelScaler().fit_transform(np.array([[0, 51, 255]], dtype=np.uint8))
    array([[0. , 0.2, 1. ]], dtype=float32)
    """

    _name = "pixel"
    _fitted_attrs = ("max_value_",)

    def __init__(self, *, max_value: float | None = None) -> None:
        self.max_value = max_value

    def _validate_params(self) -> None:
        if self.max_value is not None:
            check_float(self.max_value, "max_value", minimum=0.0, inclusive=False)

    def _update(self, a: np.ndarray) -> None:
        if getattr(self, "max_value_", None) is None:
            if self.max_value is not None:
                self.max_value_ = float(self.max_value)
            elif a.dtype.kind in "iu":
                self.max_value_ = float(np.iinfo(a.dtype).max)
            else:
                self.max_value_ = 255.0
        super()._update(a)

    def _affine_params(self) -> tuple[Any, Any, Any]:
        return 0.0, self.max_value_, 0.0

    def _forward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        return np.divide(a, self.max_value_, dtype=_out_dtype(a.dtype))

    def _backward(self, a: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        return np.multiply(a, self.max_value_, dtype=_out_dtype(a.dtype))

    def _fitted_json(self) -> dict[str, Any]:
        return {**super()._fitted_json(), "max_value_": self.max_value_}

    def _load_fitted(self, d: Mapping[str, Any]) -> None:
        super()._load_fitted(d)
        self.max_value_ = check_float(d["max_value_"], "max_value_", minimum=0.0, inclusive=False)


_NAMES: dict[str, type[BaseScaler]] = {
    c._name: c
    for c in (StandardScaler, MinMaxScaler, RobustScaler, MaxAbsScaler, Log1pScaler, PixelScaler, IdentityScaler)
}


def _scaler_from_spec(spec: Any, name: str = "spec") -> BaseScaler:
    if isinstance(spec, str):
        check_choice(spec, name, _NAMES)
        return _NAMES[spec]()
    if isinstance(spec, BaseScaler):
        return type(spec)(**spec.get_params())
    raise param_error(name, f"a scaler name ({', '.join(map(repr, _NAMES))}) or a scaler instance", spec)

