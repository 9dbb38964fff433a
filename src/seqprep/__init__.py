"""seqprep: leak-free, shape-correct windows for CNN-LSTM and other sequence models.

The small public API:

- :func:`windows` / :class:`Windows` -- lazy, exact sliding windows over one or many series;
- :func:`split` / :func:`walk_forward` -- chronological parts with a purge gap;
- :class:`Pipeline` -- split in time, fit the scaler on training rows only, window every part;
- the scalers (:class:`StandardScaler`, :class:`MinMaxScaler`, ...), fit/transform like scikit-learn;
- :func:`audit` / :func:`check_data` -- find leakage and data problems in arrays you built;
- :func:`doctor` / :func:`plan_cnn_lstm` -- explain why a model rejects a batch;
- the :class:`SeqprepError` exception tree.

Importing seqprep is light (numpy and pandas): torch, keras and matplotlib are imported by the
features that need them. Models live in :mod:`seqprep.models`, training in :mod:`seqprep.training`,
data sets in :mod:`seqprep.datasets`.
"""

from __future__ import annotations

from ._version import __version__
from .adapters import TorchWindows, keras_dataset
from .auditing import AuditReport, Finding, audit, check_data
from .diagnosis import DoctorReport, doctor
from .exceptions import (
    ArtifactError,
    DataError,
    DataWarning,
    InvalidParameterError,
    LeakageError,
    MemoryBudgetError,
    NotFittedError,
    SeqprepError,
    SeqprepWarning,
    ShapeError,
)
from .io import SeriesData, as_series, read_table
from .pipeline import Pipeline
from .scaling import (
    ColumnScaler,
    IdentityScaler,
    InstanceScaler,
    Log1pScaler,
    MaxAbsScaler,
    MinMaxScaler,
    PixelScaler,
    RobustScaler,
    SeriesScaler,
    StandardScaler,
    make_scaler,
)
from .shapes import add_feature_axis, plan_cnn_lstm, to_layout
from .splitting import Split, split, walk_forward
from .windowing import Windows, WindowSpec, windows

__all__ = [
    "ArtifactError",
    "AuditReport",
    "ColumnScaler",
    "DataError",
    "DataWarning",
    "DoctorReport",
    "Finding",
    "IdentityScaler",
    "InstanceScaler",
    "InvalidParameterError",
    "LeakageError",
    "Log1pScaler",
    "MaxAbsScaler",
    "MemoryBudgetError",
    "MinMaxScaler",
    "NotFittedError",
    "Pipeline",
    "PixelScaler",
    "RobustScaler",
    "SeqprepError",
    "SeqprepWarning",
    "SeriesData",
    "SeriesScaler",
    "ShapeError",
    "Split",
    "StandardScaler",
    "TorchWindows",
    "WindowSpec",
    "Windows",
    "__version__",
    "add_feature_axis",
    "as_series",
    "audit",
    "check_data",
    "doctor",
    "keras_dataset",
    "make_scaler",
    "plan_cnn_lstm",
    "read_table",
    "split",
    "to_layout",
    "walk_forward",
    "windows",
]
