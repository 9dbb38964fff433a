"""Explain why a model rejects a batch: a layer-by-layer shape table and a concrete fix.

:func:`doctor` runs one forward pass of a PyTorch ``nn.Module`` or a Keras 3
model on a tiny batch, records the input and output shape of every layer, and,
when the pass fails, names the failing layer, the shapes involved and the fix,
in CNN-LSTM terms ("your batch is channels-last (N, T, C) ... call
``x.permute(0, 2, 1)``"). It also warns about mistakes that do not crash, such
as a ``batch_first=False`` LSTM given a batch-first tensor.

torch and keras are imported only when a model of theirs is examined.
"""

from __future__ import annotations

from ._doctor import doctor
from ._report import Diagnosis, DoctorReport, LayerRow
from .shapes import LAYOUTS, CNNLSTMPlan, PlanRow, add_feature_axis, plan_cnn_lstm, to_layout

__all__ = [
    "CNNLSTMPlan",
    "Diagnosis",
    "DoctorReport",
    "LAYOUTS",
    "LayerRow",
    "PlanRow",
    "add_feature_axis",
    "doctor",
    "plan_cnn_lstm",
    "to_layout",
]
