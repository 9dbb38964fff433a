"""The honest summary of a run: does the network beat its baselines on the test part, in plain words.

:func:`compare_to_baselines` is what ``seqprep train``/``demo`` print after the scores, what
``metrics.json`` stores under ``verdict``/``summary`` and what the report shows first.

One rounding rule for every score shown (CLI, ``metrics.json`` summary, report): :func:`format_metric`,
three decimals. A baseline "beats" the network when its score is better once both are rounded so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "best_per_metric",
    "compare_to_baselines",
    "format_metric",
    "higher_is_better",
    "metric_label",
    "metric_unit",
    "model_label",
    "network_label",
]

NETWORK = "cnn_lstm"

_DISPLAY = {
    "cnn_lstm": "the CNN-LSTM",
    "persistence": "persistence",
    "seasonal_naive": "seasonal naive",
    "ridge": "ridge",
    "majority_class": "majority class",
    "nearest_neighbour_1": "1-NN",
    "minirocket": "MiniRocket",
    "mean": "the training mean",
}
_METRIC = {
    "mae": "MAE",
    "rmse": "RMSE",
    "smape": "sMAPE",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro F1",
}
_PRIMARY = {"regression": "mae", "classification": "accuracy"}
_HIGHER = ("accuracy", "balanced_accuracy", "macro_f1")


def format_metric(value: Any) -> str:
    """The one rounding rule of every score shown: three decimals (a dash for a missing value).

    >>> format_metric(0.24512), format_metric(2.0), format_metric(float("nan"))
    ('0.245', '2.000', '–')
    """
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{float(value):.3f}"


def higher_is_better(metric: str) -> bool:
    """Accuracy-like scores are better higher; errors (MAE, RMSE, sMAPE) lower."""
    return metric in _HIGHER


def metric_label(metric: str) -> str:
    """``"mae"`` -> ``"MAE"``."""
    return _METRIC.get(metric, metric)


def model_label(name: str) -> str:
    """``"cnn_lstm"`` -> ``"the CNN-LSTM"``, ``"nearest_neighbour_1"`` -> ``"1-NN"``."""
    return _DISPLAY.get(name, name.replace("_", " "))


_NETWORKS = {"cnn_lstm": "CNN-LSTM", "lstm_fcn": "LSTM-FCN", "minirocket": "MiniRocket"}


def network_label(model_type: str | None) -> str:
    """The network's display name from run.json's ``model_type``: ``"lstm_fcn"`` -> ``"LSTM-FCN"``.

    >>> network_label("lstm_fcn"), network_label(None)
    ('LSTM-FCN', 'CNN-LSTM')
    """
    return _NETWORKS.get(model_type or "cnn_lstm", str(model_type))


def metric_unit(metric: str, units: str) -> str:
    """The unit of a metric's values: the target's ``units`` for MAE/RMSE, % for sMAPE, none for accuracy."""
    if metric == "smape":
        return "%"
    if metric in ("mae", "rmse"):
        return units
    return ""


def best_per_metric(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, list[str]]:
    """Per metric, the model(s) with the best score after rounding (ties share the mark)."""
    names = list(next(iter(metrics.values())).keys()) if metrics else []
    out: dict[str, list[str]] = {}
    for n in names:
        rounded = {m: float(format_metric(v[n])) for m, v in metrics.items() if format_metric(v.get(n)) != "–"}
        if not rounded:
            out[n] = []
            continue
        best = max(rounded.values()) if higher_is_better(n) else min(rounded.values())
        out[n] = [m for m, v in rounded.items() if v == best]
    return out


def compare_to_baselines(task: str, metrics: Mapping[str, Mapping[str, float]], model: str = NETWORK,
                         units: str = "", name: str | None = None) -> dict[str, Any]:
    """Whether the network beats every baseline on the task's main test score, with the sentence that says so.

    Parameters
    ----------
    task : {"regression", "classification"}
        Main score: MAE (lower is better) for regression, accuracy (higher is better) for classification.
    metrics : dict
        ``{model name: {metric: value}}`` as in ``RunResult.metrics``.
    model : str, default "cnn_lstm"
        The network's key; every other key is a baseline.
    units : str, optional
        Units of the target, written after MAE values (e.g. ``"°C"``).
    name : str, optional
        The network's display name (``network_label(model_type)``, e.g. ``"LSTM-FCN"``); by default
        the label of ``model`` ("the CNN-LSTM"). It is returned as ``name`` for the tables.

    Returns
    -------
    dict
        ``metric``, ``better`` ("lower"/"higher"), ``model``, ``model_value``, ``winner`` (the best
        name), ``model_wins`` (bool), ``beaten_by`` (baselines better than the network, best first),
        ``lines`` (one sentence per such baseline, or one saying the network wins) and ``summary``
        (the lines joined), ``name`` (the network's display name, without "the").

    Examples
    --------
    >>> v = compare_to_baselines("regression", {"cnn_lstm": {"mae": 0.245}, "ridge": {"mae": 0.058},
    ...                                          "persistence": {"mae": 0.31}})
    >>> v["summary"]
    'ridge beats the CNN-LSTM: MAE 0.058 vs 0.245.'
    >>> compare_to_baselines("classification", {"cnn_lstm": {"accuracy": 0.9}, "majority_class": {"accuracy": 0.5}})[
    ...     "summary"]
    'the CNN-LSTM beats every baseline: accuracy 0.900 vs 0.500 for majority class, the best baseline.'
    """
    metric = _PRIMARY[task]
    # "the CNN-LSTM" (a network of this run), but "MiniRocket" (a method's name)
    me = model_label(model) if not name else name if name == "MiniRocket" else f"the {name}"
    higher = higher_is_better(metric)
    label = metric_label(metric)
    unit = f" {units}" if units and metric_unit(metric, units) else ""
    mine = metrics[model][metric]
    mine_r = float(format_metric(mine)) if format_metric(mine) != "–" else (-math.inf if higher else math.inf)
    baselines = {k: v[metric] for k, v in metrics.items() if k != model and format_metric(v.get(metric)) != "–"}

    def rounded(value: float) -> float:
        return float(format_metric(value))

    order = sorted(baselines, key=lambda k: -baselines[k] if higher else baselines[k])
    beaten_by = [k for k in order if (rounded(baselines[k]) > mine_r if higher else rounded(baselines[k]) < mine_r)]
    ties = [k for k in order if rounded(baselines[k]) == mine_r]
    lines = [f"{model_label(k)} beats {me}: {label} {format_metric(baselines[k])}{unit} vs "
             f"{format_metric(mine)}{unit}." for k in beaten_by]
    lines += [f"{model_label(k)} ties with {me}: {label} {format_metric(baselines[k])}{unit} for "
              "both." for k in ties]
    if not lines and order:
        best = order[0]
        lines = [f"{me} beats every baseline: {label} {format_metric(mine)}{unit} vs "
                 f"{format_metric(baselines[best])}{unit} for {model_label(best)}, the best baseline."]
    elif not lines:
        lines = [f"{me}: {label} {format_metric(mine)}{unit} (no baseline to compare with)."]
    if "minirocket" in beaten_by:  # what the loss means for the data, which is what the run sets out to prove
        what = "what tells the classes apart" if task == "classification" else "what predicts the target"
        lines.append(f"MiniRocket reads the same prepared cases, so they carry {what}: the network is what falls "
                     "short.")
    winner = beaten_by[0] if beaten_by else model
    summary = " ".join(lines)
    return {
        "metric": metric, "better": "higher" if higher else "lower", "model": model, "model_value": mine,
        "winner": winner, "model_wins": not beaten_by and not ties, "beaten_by": beaten_by, "ties": ties,
        "lines": lines, "summary": summary, "name": name or me.removeprefix("the "),
    }
