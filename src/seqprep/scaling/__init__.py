"""Scalers with scikit-learn's fit/partial_fit/transform contract, exact in float64.

Every scaler stores its parameters in a keyword-only ``__init__``; ``fit`` is
``reset + partial_fit``; fitted state lives in attributes ending in ``_``;
``transform`` and ``inverse_transform`` check that the scaler is fitted and
check the number of features in *both* directions. ``X`` is an ndarray or a
DataFrame of shape ``(n_samples, n_features)`` or ``(n_samples, *feature_shape)``;
statistics are per last-axis feature (channel), e.g. per channel of frames
``(n, H, W, C)``. Output dtype: float32 -> float32, float64 -> float64,
integers -> float32. NaN is ignored by ``fit`` and passed through by
``transform``. Statistics are accumulated in float64 with mergeable
:class:`Moments` (Chan et al.), so streaming ``partial_fit`` equals ``fit``.

Risk of data leak
-----------------
Fit a scaler on the training part only, then apply the *same* fitted scaler
to validation and test data. Fitting on the whole series before splitting
lets the test period's mean and spread leak into training. Scaling train and
test separately, each with its own statistics, is a leak too: the test inputs
are then normalised with statistics computed from the test period itself
(its future), and the model sees a shift-free test set it could never see in
production.
"""

from __future__ import annotations

from ._factory import make_scaler
from ._grouped import ColumnScaler, InstanceScaler, SeriesScaler
from ._moments import Moments, group_moments
from ._quantiles import StreamingQuantiles
from ._scalers import (
    BaseScaler,
    IdentityScaler,
    Log1pScaler,
    MaxAbsScaler,
    MinMaxScaler,
    PixelScaler,
    RobustScaler,
    StandardScaler,
)
from ._window import WindowNormalizer

__all__ = [
    "BaseScaler",
    "ColumnScaler",
    "IdentityScaler",
    "InstanceScaler",
    "Log1pScaler",
    "MaxAbsScaler",
    "MinMaxScaler",
    "Moments",
    "PixelScaler",
    "RobustScaler",
    "SeriesScaler",
    "StandardScaler",
    "StreamingQuantiles",
    "WindowNormalizer",
    "group_moments",
    "make_scaler",
]
