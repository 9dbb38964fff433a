"""make_scaler: one scaler from a spec (a name, an instance, one spec per column, per series or window)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._validation import check_choice, param_error
from ._grouped import ColumnScaler, InstanceScaler, SeriesScaler
from ._scalers import BaseScaler, _scaler_from_spec
from ._window import WindowNormalizer

__all__ = ["make_scaler"]


def make_scaler(
    spec: str | BaseScaler | Mapping[str | int, str | BaseScaler] = "standard",
    feature_names: Sequence[str] | None = None,
    *,
    per: str = "feature",
) -> BaseScaler:
    """Build an unfitted scaler from a spec.

    Parameters
    ----------
    spec : str, scaler or dict, default="standard"
        ``"standard" | "minmax" | "robust" | "maxabs" | "log1p" | "pixel" | "none"``,
        a scaler instance (an unfitted copy is returned: two fits never
        share one object), or a dict ``{column: spec}`` (gives a
        :class:`ColumnScaler`).
    feature_names : list of str, optional
        Column names for a dict spec when the data is an ndarray.
    per : {"feature", "series", "sample", "window"}, default="feature"
        One set of statistics per feature, per (series, feature)
        (:class:`SeriesScaler`, ``spec`` is its ``base``: ``"standard" | "minmax" |
        "maxabs" | "robust" | "none"``), per window for the inputs only
        (:class:`InstanceScaler`, ``spec`` is ignored), or per window for inputs and
        targets (:class:`WindowNormalizer`, ``spec`` is its ``method``:
        ``"standard" | "robust"``, or a ``WindowNormalizer``).

    Returns
    -------
    scaler

    Examples
    --------
    >>> make_scaler("minmax")
    MinMaxScaler()
    >>> make_scaler({"rain": "log1p"}, ["rain", "temp"])
    ColumnScaler(spec={'rain': 'log1p'}, feature_names=['rain', 'temp'])
    >>> make_scaler("standard", per="series")
    SeriesScaler()
    >>> make_scaler("robust", per="series")
    SeriesScaler(base='robust')
    >>> make_scaler("robust", per="window")
    WindowNormalizer(method='robust')
    """
    check_choice(per, "per", ("feature", "series", "sample", "window"))
    if per == "sample":
        return InstanceScaler()
    if per == "window":
        if isinstance(spec, WindowNormalizer):
            return _scaler_from_spec(spec)  # type: ignore[return-value]
        if spec not in ("standard", "robust"):
            fix = "Per-window statistics are 'standard' (mean/std) or 'robust' (median/IQR)."
            raise param_error("spec", "'standard', 'robust' or a WindowNormalizer for per='window'", spec, fix)
        norm = WindowNormalizer(method=spec)  # type: ignore[arg-type]
        norm._validate_params()
        return norm
    if per == "series":
        if not isinstance(spec, str):
            fix = "E.g. make_scaler('standard', per='series') or make_scaler('robust', per='series')."
            raise param_error("spec", "a base name for per='series'", spec, fix)
        scaler = SeriesScaler(base=spec)
        scaler._validate_params()
        return scaler
    if isinstance(spec, Mapping):
        columns = ColumnScaler(spec, feature_names=feature_names)
        columns._validate_params()
        return columns
    # A scaler instance is copied (unfitted), as in a dict spec: one instance given to several pipelines or
    # folds must not share its statistics (each fit would overwrite the others').
    return _scaler_from_spec(spec)
