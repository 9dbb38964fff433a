"""PyTorch CNN-LSTM models that take seqprep's ``(N, T, C)`` windows as they are.

PyTorch is optional: importing this package does not import torch.  The first
access to a name (``from seqprep.models import CNNLSTM``) imports its module
(:mod:`~seqprep.models.cnn_lstm`, :mod:`~seqprep.models.lstm_fcn`, :mod:`~seqprep.models.ensemble` or
:mod:`~seqprep.models.saving`), and raises a clear :class:`ImportError` when
PyTorch is not installed.

* :class:`~seqprep.models.cnn_lstm.CNNLSTM` -- Conv1d blocks over the time axis,
  an LSTM over the pooled sequence, a regression or classification head.
* :class:`~seqprep.models.cnn_lstm.TimeDistributedCNNLSTM` -- a shared CNN
  encodes each sub-window ``(N, S, steps, C)`` or each image frame
  ``(N, T, H, W, C)`` / ``(N, T, C, H, W)``, then an LSTM runs over the encodings.
* :class:`~seqprep.models.lstm_fcn.LSTMFCN` -- LSTM-FCN / MLSTM-FCN (Karim et al.): a fully
  convolutional branch beside an LSTM branch, squeeze-and-excite for multivariate input, masks
  for unequal-length cases (``model(x, lengths)``).
* :class:`~seqprep.models.minirocket.MiniRocketRidge` -- MiniRocket features and a ridge read-out,
  fitted in closed form (``fit_cases``); the strong, cheap classifier every case run scores as a
  baseline, as a model that saves and loads like the networks.
* :class:`~seqprep.models.ensemble.Ensemble` -- the mean of several trained
  models (of their softmax probabilities for classification).
* :func:`~seqprep.models.saving.save_model` /
  :func:`~seqprep.models.saving.load_model` -- ``config.json`` +
  ``weights.pt`` in a run directory, loaded with ``weights_only=True``.

``CNNLSTM`` and ``LSTMFCN`` also read dict batches (windows with ``known`` / ``static`` covariates,
categorical columns or ``nan_policy="mask"``): build them with ``inputs=windows.inputs`` (or
``CNNLSTM.from_windows(windows)``); categorical columns get embeddings, and the declared inputs are
saved in ``config.json``. :mod:`seqprep.diagnosis.batches` lists the keys and checks a batch.

Examples
--------
>>> import seqprep.models
>>> sorted(seqprep.models.__all__)
['CNNLSTM', 'Ensemble', 'LSTMFCN', 'MiniRocketRidge', 'TimeDistributedCNNLSTM', 'load_model', 'save_model']
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CNNLSTM", "Ensemble", "LSTMFCN", "MiniRocketRidge", "TimeDistributedCNNLSTM", "load_model",
           "save_model"]

_TORCH_MESSAGE = "seqprep.models needs PyTorch: pip install 'seqprep[torch]'"


_MODULES = {"CNNLSTM": "cnn_lstm", "TimeDistributedCNNLSTM": "cnn_lstm", "Ensemble": "ensemble", "LSTMFCN": "lstm_fcn",
            "MiniRocketRidge": "minirocket", "load_model": "saving", "save_model": "saving"}


def __getattr__(name: str) -> Any:
    """Import the module of *name* (and torch) on first access."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        importlib.import_module("torch")
    except ImportError as exc:
        raise ImportError(_TORCH_MESSAGE) from exc
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
