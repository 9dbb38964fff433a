"""End-to-end training runs: check the data, fit a leak-free pipeline, train a CNN-LSTM, compare to baselines.

:func:`run_forecast` and :func:`run_classification` are what ``seqprep demo`` and ``seqprep train``
call. Each returns a :class:`RunResult` and, given ``out_dir``, writes a *run directory*::

    run_dir/
        pipeline/          the fitted Pipeline (forecasting; JSON, hash-checked)
        model/             the trained model (config.json + weights.pt)
        run.json           the configuration of the run
        metrics.json       test metrics of the model and of every baseline, in original units, and the
                           honest summary ("ridge beats the CNN-LSTM: MAE 0.058 vs 0.245.", seqprep.runs.verdict)
        history.json       the training history, one record per epoch
        predictions.csv    test predictions (with timestamps for forecasting)
        test_windows.npz   the model-ready test inputs and targets, to re-score the run
        report.html        one-file HTML report (pictures also in report/*.png)
        COMPLETE           written last: a run without it is refused by load_run()

The directory is built under a temporary name beside ``out_dir`` and renamed into place, so an
interrupted run never leaves a directory that looks finished.

Every score is computed on the SAME test windows for the model and the baselines, after
un-scaling to the data's own units. Only training rows ever feed a statistic.

The module is the public face; the steps live in private modules, one concept each:
``_runs`` (the three run functions), ``_forecast`` and ``_classify`` (the steps of each kind of run),
``_compute`` (the compute plan of long sets), ``_augment_choice`` (``augment="auto"``), ``_data_check``
(the data check), ``_model`` (settings, training, scoring), ``_result`` (RunResult), ``_run_dir`` (the
run directory's format, atomic write and loading) and ``_saved`` (re-scoring, forecasting new rows
and classifying new cases from a saved run: :func:`evaluate_run`, :func:`predict_run`, :func:`predict_cases`).
"""

from __future__ import annotations

from ._classify import channel_stats, global_normalize, instance_normalize
from ._compute import AUTO_COMPUTE_PLAN, check_compute_plan
from ._data_check import check_scales
from ._result import RunResult
from ._run_dir import load_run
from ._runs import (
    DEFAULT_CLASSIFICATION_MODEL_CONFIG,
    DEFAULT_CLASSIFICATION_NORMALIZATION,
    DEFAULT_CLASSIFICATION_TRAIN_CONFIG,
    DEFAULT_CLASSIFICATION_VAL_FRACTION,
    DEFAULT_MODEL_CONFIG,
    DEFAULT_TRAIN_CONFIG,
    check_forecast,
    default_derived_features,
    run_classification,
    run_forecast,
    run_regression,
)
from ._saved import evaluate_run, predict_cases, predict_run

__all__ = [
    "AUTO_COMPUTE_PLAN",
    "DEFAULT_CLASSIFICATION_MODEL_CONFIG",
    "DEFAULT_CLASSIFICATION_NORMALIZATION",
    "DEFAULT_CLASSIFICATION_TRAIN_CONFIG",
    "DEFAULT_CLASSIFICATION_VAL_FRACTION",
    "DEFAULT_MODEL_CONFIG",
    "DEFAULT_TRAIN_CONFIG",
    "RunResult",
    "channel_stats",
    "check_compute_plan",
    "check_forecast",
    "check_scales",
    "default_derived_features",
    "evaluate_run",
    "global_normalize",
    "instance_normalize",
    "load_run",
    "predict_cases",
    "predict_run",
    "run_classification",
    "run_forecast",
    "run_regression",
]
