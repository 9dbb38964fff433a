"""seqprep: leak-free, shape-correct windows for CNN-LSTM and other sequence models.

Importing seqprep is light: numpy and pandas only. torch, keras and matplotlib
are imported by the features that need them.
"""

from __future__ import annotations

from ._version import __version__
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

__all__ = [
    "ArtifactError",
    "DataError",
    "DataWarning",
    "InvalidParameterError",
    "LeakageError",
    "MemoryBudgetError",
    "NotFittedError",
    "SeqprepError",
    "SeqprepWarning",
    "ShapeError",
    "__version__",
]
