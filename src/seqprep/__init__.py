"""seqprep: leak-free, shape-correct windows for CNN-LSTM and other sequence models.

The small public API:

- :func:`windows` / :class:`Windows` -- lazy, exact sliding windows over one or many series;
- :func:`split` / :func:`walk_forward` -- chronological parts with a purge gap;
- :class:`Pipeline` -- split in time, fit the scaler on training rows only, window every part;
- the scalers (:class:`StandardScaler`, :class:`MinMaxScaler`, ...), fit/transform like scikit-learn;
- :func:`audit` / :func:`check_data` -- find leakage and data problems in arrays you built;
- :func:`doctor` / :func:`plan_cnn_lstm` -- explain why a model rejects a batch;
- :func:`set_threads` / :func:`get_threads` -- cap the threads of seqprep's own work (or ``SEQPREP_THREADS``);
- the :class:`SeqprepError` exception tree.

Importing seqprep is light (numpy and pandas): torch, keras and matplotlib are imported by the
features that need them. Models live in :mod:`seqprep.models`, training in :mod:`seqprep.training`,
data sets in :mod:`seqprep.datasets`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import typing

from ._threads import get_threads, set_threads
from ._version import __version__
from .auditing import AuditReport, Finding, audit, check_data
from .diagnosis import DoctorReport, add_feature_axis, doctor, plan_cnn_lstm, to_layout
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
    StaticValueError,
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
from .splitting import Split, split, walk_forward
from .windowing import TorchWindows, Windows, WindowSpec, keras_dataset, windows

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
    "StaticValueError",
    "TorchWindows",
    "WindowSpec",
    "Windows",
    "__version__",
    "add_feature_axis",
    "as_series",
    "audit",
    "check_data",
    "doctor",
    "get_threads",
    "keras_dataset",
    "make_scaler",
    "plan_cnn_lstm",
    "read_table",
    "set_threads",
    "split",
    "to_layout",
    "walk_forward",
    "windows",
]

# Modules that moved into a package keep their old import path: ``import seqprep.metrics`` is
# ``seqprep.training.metrics`` itself (one module object, not a copy), loaded only when asked for.
_MOVED = {
    "seqprep.adapters": "seqprep.windowing.adapters",
    "seqprep.baselines": "seqprep.training.baselines",
    "seqprep.distributed": "seqprep.training.distributed",
    "seqprep.metrics": "seqprep.training.metrics",
    "seqprep.report": "seqprep.runs.report",
    "seqprep.shapes": "seqprep.diagnosis.shapes",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve an old module path to the module at its new place."""

    def find_spec(
        self, fullname: str, path: typing.Any = None, target: typing.Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(_MOVED[spec.name])
        spec.loader_state = module.__spec__  # the import system sets the alias's spec on it next
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        spec = module.__spec__
        if spec is not None:
            module.__spec__ = spec.loader_state  # give the module its own spec back


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())

