"""The model side of a run: settings over the defaults, the device, training one network or an ensemble, scoring.

Shared by :func:`~seqprep.runs.run_forecast`, :func:`~seqprep.runs.run_classification` and
:func:`~seqprep.runs.evaluate_run`. torch is imported inside the functions, so importing
:mod:`seqprep.runs` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._validation import check_int, param_error

__all__: list[str] = []  # internal module: run_forecast/run_classification use these


def merge_settings(defaults: Mapping[str, Any], given: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """The user's ``model_config``/``train_config`` over the run's defaults (a fresh dict either way)."""
    if given is None:
        return dict(defaults)
    if not isinstance(given, Mapping):
        raise param_error(name, "a dict of settings", given)
    return {**defaults, **given}


def model_settings(defaults: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """``model_config`` over the default settings; another ``type`` starts from that model's own defaults."""
    if isinstance(given, Mapping) and model_type(given) != model_type(defaults):
        return dict(given)
    return merge_settings(defaults, given, "model_config")


def fit_kwargs(train_config: dict[str, Any], threads: int | None = None, auto_augment: bool = False
               ) -> dict[str, Any]:
    """Check ``train_config``'s keys before any work and put ``augment`` in the JSON form run.json stores.

    ``threads`` (the run's argument) overrides ``train_config["threads"]``; both are checked here.
    ``augment="auto"`` is kept as is where the run can choose (``auto_augment``: classification runs)
    and refused elsewhere.
    """
    allowed = {"epochs", "batch_size", "lr", "weight_decay", "scheduler", "clip_grad_norm", "patience", "loss",
               "augment", "label_smoothing", "threads", "checkpoint", "plateau_patience", "min_lr", "amp"}
    unknown = sorted(set(train_config) - allowed)
    if unknown:
        raise param_error(
            "train_config", f"keys among {sorted(allowed)}", unknown, "Remove or rename the unknown keys."
        )
    out = dict(train_config)
    if threads is not None:
        out["threads"] = threads
    if out.get("threads") is not None:
        out["threads"] = check_int(out["threads"], "threads", minimum=1,
                                   fix="Use threads >= 1, or leave it out for the automatic count.")
    if isinstance(out.get("augment"), str) and out["augment"] == "auto":
        if not auto_augment:
            raise param_error("augment", "an augmentation name or a list of names", "auto",
                              "augment=\"auto\" (chosen per run from TRAIN) is for classification runs only; "
                              "name the augmentation, e.g. augment = [\"jitter\", \"scaling\"].")
    elif out.get("augment") is not None:
        from ..augment import make_augmentation
        from ..exceptions import InvalidParameterError

        # Stored in run.json: keep the JSON form (fit accepts it back), validated here, before training.
        try:
            out["augment"] = make_augmentation(out["augment"]).to_dict()
        except InvalidParameterError as exc:
            if not auto_augment:
                raise
            raise InvalidParameterError(f'{exc} A classification run also takes augment = "auto" (chosen per run '
                                        "from TRAIN).") from None
    return out


MODEL_TYPES = ("cnn_lstm", "lstm_fcn", "minirocket")


def model_type(model_config: Mapping[str, Any]) -> str:
    """``model_config["type"]`` checked: "cnn_lstm" (the default), "lstm_fcn" or "minirocket"."""
    kind = model_config.get("type", "cnn_lstm")
    if kind not in MODEL_TYPES:
        raise param_error("model_config['type']", f"one of {list(MODEL_TYPES)}", kind,
                          "Use type = \"cnn_lstm\" (CNNLSTM), \"lstm_fcn\" (LSTMFCN; MLSTM-FCN for channels) or "
                          "\"minirocket\" (MiniRocket + ridge, cases only).")
    if kind == "minirocket":
        extra = sorted(k for k in model_config if k != "type")
        if extra:
            raise param_error("model_config", "no settings besides type for type = \"minirocket\"", extra,
                              "MiniRocket runs with the paper's defaults: remove the other [model] keys.")
    return kind


def _fit_minirocket(n_features: int, n_outputs: int, task: str, lookback: int, seed: int, train: Any,
                    train_config: Mapping[str, Any]) -> tuple[Any, Any, list[Any]]:
    """MiniRocket + ridge fitted in closed form on the fitting cases; a one-record history says so."""
    import math
    import time

    from ..models import MiniRocketRidge
    from ..training import TrainResult

    start = time.perf_counter()
    model = MiniRocketRidge(n_features, n_outputs, task=task, lookback=lookback, seed=seed)
    X, y, *rest = train
    model.fit_cases(X, y, rest[0] if rest else None)
    seconds = time.perf_counter() - start
    record = {"epoch": 1, "train_loss": math.nan, "val_loss": math.nan, "val_metric": math.nan, "lr": math.nan,
              "seconds": seconds}
    result = TrainResult([record], 1, math.nan, False, seconds, "accuracy" if task == "classification" else "mae",
                         "cpu", int(train_config.get("threads") or 1))
    return model, result, [result]


def _build_model(
    n_features: int, n_outputs: int, task: str, lookback: int, model_config: dict[str, Any], seed: int
) -> Any:
    """One seeded CNNLSTM or LSTMFCN (``model_config["type"]``); a bad key becomes an InvalidParameterError."""
    import torch

    from ..models import CNNLSTM, LSTMFCN

    kind = model_type(model_config)
    kwargs = {k: v for k, v in model_config.items() if k != "type"}
    cls = LSTMFCN if kind == "lstm_fcn" else CNNLSTM
    torch.manual_seed(seed)
    try:
        return cls(n_features, n_outputs, task=task, lookback=lookback, **kwargs)
    except TypeError as exc:
        raise param_error("model_config", f"keyword arguments of {cls.__name__}", model_config, str(exc)) from None


def fit_model(
    n_features: int, n_outputs: int, task: str, lookback: int, model_config: dict[str, Any], seed: int,
    train: Any, val: Any, progress: bool, train_config: dict[str, Any], device: Any = "cpu",
    init: Any = None,
) -> tuple[Any, Any, list[Any]]:
    """Build and train the run's model; returns (model, member 0's TrainResult, every member's TrainResult).

    Without ``model_config["members"]`` one CNNLSTM is trained. With it, an :class:`~seqprep.models.Ensemble`:
    ``members`` is a number of networks (the same settings, seeds ``seed``, ``seed + 1``, ...) or a list of
    per-member settings that update the shared ones (e.g. ``[{"kernel_size": [7, 5, 3]}, {"kernel_size":
    [5, 3, 3]}]``); each member trains on its own, with its own early stopping on the same validation part.
    ``init(model)``, when given, prepares a single network before training (not used for ensembles).
    """
    from ..training import fit

    if model_type(model_config) == "minirocket":  # closed form: no epochs, no members, no device
        return _fit_minirocket(n_features, n_outputs, task, lookback, seed, train, train_config)
    members = model_config.get("members")
    base = {k: v for k, v in model_config.items() if k != "members"}
    if members is None:
        entries: list[Mapping[str, Any]] = []
    elif isinstance(members, int) and not isinstance(members, bool):
        entries = [{}] * check_int(members, "model_config['members']", minimum=1)
    elif isinstance(members, (list, tuple)) and members and all(isinstance(e, Mapping) for e in members):
        entries = list(members)
    else:
        raise param_error("model_config['members']", "a number of networks or a non-empty list of settings dicts",
                          members, "Use e.g. members = 5, or [[model.members]] tables in the TOML file.")
    if not entries:
        model = _build_model(n_features, n_outputs, task, lookback, base, seed)
        if init is not None:  # e.g. the forecaster's ridge path: weights set before training
            init(model)
        result = fit(model, train, val, task=task, seed=seed, progress=progress, device=device, **train_config)
        return model, result, [result]
    from ..models import Ensemble

    models, results = [], []
    for i, entry in enumerate(entries):
        model = _build_model(n_features, n_outputs, task, lookback, {**base, **entry}, seed + i)
        results.append(fit(model, train, val, task=task, seed=seed + i, progress=progress, device=device,
                           **train_config))
        models.append(model)
    return Ensemble(models), results[0], results


def score(task: str, y_true: Any, preds: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Test metrics of every named prediction against the same truth, as plain floats (JSON-ready)."""
    from ..training.metrics import classification_metrics, regression_metrics

    fn = regression_metrics if task == "regression" else classification_metrics
    return {name: {k: float(v) for k, v in fn(y_true, p).items()} for name, p in preds.items()}
