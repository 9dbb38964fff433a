"""seqprep: leak-free, shape-correct windows for CNN-LSTM and other sequence models.

Importing seqprep is light: numpy and pandas only. torch, keras and matplotlib
are imported by the features that need them.
"""

from __future__ import annotations

from ._version import __version__
from .adapters import TorchWindows, keras_dataset
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
from .splitting import Split, split, walk_forward
from .windowing import Windows, WindowSpec, windows

__all__ = [
    "ArtifactError",
    "DataError",
    "DataWarning",
    "InvalidParameterError",
    "LeakageError",
    "MemoryBudgetError",
    "NotFittedError",
    "Pipeline",
    "SeqprepError",
    "SeqprepWarning",
    "SeriesData",
    "Split",
    "ShapeError",
    "TorchWindows",
    "WindowSpec",
    "Windows",
    "__version__",
    "as_series",
    "keras_dataset",
    "read_table",
    "split",
    "walk_forward",
    "windows",
]
