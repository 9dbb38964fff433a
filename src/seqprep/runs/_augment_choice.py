"""``augment="auto"`` for classification runs: the training-time augmentation chosen per run, from TRAIN only.

The rule is the one written in docs/results.md section 4.10 before any score of it: a stratified 2-fold
split of the training cases, drawn from the run's seed; on each fold, every candidate is trained with a
quarter of the run's epoch budget (and a quarter of its plateau patience, as the compute plan shrinks
both) and scored on the held-out half; the candidate with the higher mean held-out accuracy is the one the
run then trains with on all training cases. A tie (within :data:`AUGMENT_TIE`) keeps the first candidate,
jitter and scaling (the default of docs/results.md 4.9).

Why per run: on the development pool, the window slice and time warp ruin appliance load curves
(ACSF1) but are what PigCVP needs; no single augmentation is best on both (docs/results.md 4.9).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._classify import stratified_folds

__all__: list[str] = []  # internal: run_classification calls choose_augmentation

#: The candidates of ``augment="auto"``, in order of preference on a tie.
AUGMENT_CANDIDATES: dict[str, list[str]] = {
    "jitter+scaling": ["jitter", "scaling"],
    "jitter+scaling+window_slice+time_warp": ["jitter", "scaling", "window_slice", "time_warp"],
}
#: Mean held-out accuracies within this of each other are a tie (the first candidate is kept).
AUGMENT_TIE = 0.01
#: Folds of the inner split, and the share of the run's epochs each inner fit gets.
AUGMENT_FOLDS, AUGMENT_EPOCH_SHARE = 2, 0.25


def _quarter(value: Any) -> Any:
    """A quarter of an epoch count or patience (at least 1); None stays None."""
    return None if value is None else max(1, int(round(int(value) * AUGMENT_EPOCH_SHARE)))


def choose_augmentation(
    run: Callable[..., Any], X: np.ndarray, y: np.ndarray, train_config: Mapping[str, Any], seed: int,
    run_kwargs: Mapping[str, Any],
) -> tuple[list[str], dict[str, Any]]:
    """The augmentation for a classification run on cases ``X``, ``y`` (training cases only), and how it was chosen.

    Parameters
    ----------
    run : callable
        :func:`~seqprep.runs.run_classification` (passed in, so this module does not import the runs).
    X, y : ndarray
        The run's training cases (after its compute plan's pooling) and their labels.
    train_config : mapping
        The run's checked training settings (``epochs`` after the compute plan); ``augment`` is replaced.
    seed : int
        The run's seed: it draws the inner split and seeds every inner fit.
    run_kwargs : mapping
        The rest of the run's arguments for the inner fits (normalization, model_config, device, ...).

    Returns
    -------
    augment : list of str
        The chosen candidate's augmentation names.
    info : dict
        What run.json records as ``augment_choice``: the rule, the folds, the inner epochs, every
        candidate's held-out accuracy per fold and mean, and the choice (or why no test was run).

    Examples
    --------
    >>> from seqprep.datasets import make_classification_sines
    >>> from seqprep.runs import run_classification
    >>> X, y = make_classification_sines(40, 16, seed=0)
    >>> aug, info = choose_augmentation(run_classification, X, y, {"epochs": 4}, 0, {})
    >>> info["chosen"] in info["candidates"], info["epochs"]
    (True, 1)
    """
    names = list(AUGMENT_CANDIDATES)
    default = names[0]
    codes = np.unique(np.asarray(y).astype(str), return_inverse=True)[1]
    epochs = _quarter(train_config.get("epochs", 1))
    info: dict[str, Any] = {
        "rule": (f"stratified {AUGMENT_FOLDS}-fold CV on the training cases (seed {seed}), each candidate trained "
                 f"for {AUGMENT_EPOCH_SHARE:g} of the run's epochs; the higher mean held-out accuracy wins, a tie "
                 f"(within {AUGMENT_TIE}) keeps {default} (docs/results.md 4.10)"),
        "folds": AUGMENT_FOLDS, "epochs": epochs, "candidates": {n: AUGMENT_CANDIDATES[n] for n in names},
        "fold_accuracy": {}, "mean_accuracy": {}, "chosen": default, "skipped": None,
    }
    folds = [(fit, _seen(held, codes, fit)) for fit, held in stratified_folds(codes, AUGMENT_FOLDS, seed)]
    # A fold whose fitting half has one class, or whose held-out half has no case of a class it trained on,
    # cannot score a candidate: the choice is not tested and the default stays (said in run.json).
    if any(np.unique(codes[fit]).size < 2 or held.size == 0 for fit, held in folds):
        info["skipped"] = ("too few training cases per class for a 2-fold split (each half needs two classes "
                           f"and a held-out case); {default} is used")
        return AUGMENT_CANDIDATES[default], info
    inner_cfg = {**train_config, "epochs": epochs}
    if inner_cfg.get("plateau_patience") is not None:
        inner_cfg["plateau_patience"] = _quarter(inner_cfg["plateau_patience"])
    for name in names:
        accs = []
        for fit, held in folds:
            res = run((X[fit], y[fit]), (X[held], y[held]), train_config={**inner_cfg, "augment":
                      AUGMENT_CANDIDATES[name]}, seed=seed, progress=False, out_dir=None, compute_plan="off",
                      **run_kwargs)
            accs.append(float(res.metrics["cnn_lstm"]["accuracy"]))
        info["fold_accuracy"][name] = accs
        info["mean_accuracy"][name] = float(np.mean(accs))
    best = max(names, key=lambda n: info["mean_accuracy"][n])  # the first of equals: the default
    if info["mean_accuracy"][best] - info["mean_accuracy"][default] > AUGMENT_TIE:
        info["chosen"] = best
    return AUGMENT_CANDIDATES[info["chosen"]], info


def _seen(held: np.ndarray, codes: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """The held-out cases whose class is in the fitting half (a class of one case is held out somewhere)."""
    return held[np.isin(codes[held], codes[fit])]
