"""RunResult: what run_forecast and run_classification return (its own module: both steps build one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """What a run returns.

    Attributes
    ----------
    task : {"regression", "classification"}
    metrics : dict of str to dict of str to float
        Test metrics in original units: ``{"cnn_lstm": {...}, "persistence": {...}, ...}``.
    history : TrainResult
        The training history (``.history``, ``.best_epoch``, ``.stopped_early``).
    predictions : DataFrame
        One row per test window: time(s), truth, model and baseline predictions.
    config : dict
        The configuration written to ``run.json``.
    info : dict
        What the run found on the way: ``data_check``, ``split``, ``scaler``, ``windows``, ``skipped``.
    model : torch.nn.Module
        The trained model (best validation epoch).
    pipeline : Pipeline or None
        The fitted pipeline (forecasting only).
    run_dir : Path or None
        The run directory, when one was written.
    member_histories : list of TrainResult
        With an ensemble (``model_config["members"]``): every member's history, ``history``
        being the first's; empty otherwise.
    """

    task: str
    metrics: dict[str, dict[str, float]]
    history: Any
    predictions: pd.DataFrame
    config: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    pipeline: Any = None
    run_dir: Path | None = None
    member_histories: list[Any] = field(default_factory=list)
