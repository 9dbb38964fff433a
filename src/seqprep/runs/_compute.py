"""The compute plan of a classification run: a bound on the work of training on long or many-case sets.

Training time of the default classification run grows with the number of optimizer steps times the
length of the cases the convolutions read: on PLAID (537 cases up to 1,344 steps) the unplanned
default takes over an hour of CPU where the short pool sets take seconds (docs/results.md
section 4.6). The plan has two steps, both deterministic and both recorded in run.json
(``"compute_plan"``):

1. **Length cap.** Cases longer than ``max_length`` steps are average-pooled over blocks of
   ``factor = ceil(length / max_length)`` consecutive steps (:func:`downsample_cases`); a case's
   valid steps become ``ceil(valid / factor)``, so the masks of unequal-length cases stay exact.
   The model, the ``"auto"`` normalization choice and the 1-NN baseline all read the pooled cases.
2. **Work budget.** The work of a run is counted as ``epochs * n_fit * length`` case-steps (every
   batch is padded to the full length, so this is what the convolutions compute). When it exceeds
   ``budget``, the epochs become ``max(1, budget // (n_fit * length))`` and the learning-rate
   plateau patience shrinks in the same proportion; epochs or a patience the user set are kept.

``"auto"`` is :data:`AUTO_COMPUTE_PLAN`, whose constants were chosen on TRAIN only
(docs/results.md section 4.6); on every set of the development pool it changes nothing.
``"off"`` is the run as it was before the plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import param_error

__all__: list[str] = []  # internal module: seqprep.runs serves AUTO_COMPUTE_PLAN and check_compute_plan

#: ``compute_plan="auto"``: cases longer than 512 steps are pooled to at most 512 (the same cap as
#: LSTMFCN's stride plan), and a run does at most ``budget`` case-steps of training work
#: (epochs x training cases x length). The budget, 4e7 (about 2-3 min of CPU on one thread), is the one
#: the TRAIN-only rule of docs/results.md section 4.6 picked from 1e7, 2e7 and 4e7 (PLAID 359/178 and
#: PigCVP 2-fold CV). The largest short pool set (Trace, 100 cases x 275 steps x 300 epochs = 8.25e6)
#: is under it, so the plan is the identity on the pool.
AUTO_COMPUTE_PLAN: dict[str, int | None] = {"max_length": 512, "budget": 40_000_000}
COMPUTE_PLAN_KEYS = ("max_length", "budget")
_MIN_MAX_LENGTH = 16  # below this the conv blocks' pooling plan has nothing left to pool
_FIX = ('Use "auto" (the default), "off", or a dict / "max_length=512,budget=40000000" (either may be '
        '"none": no cap / no budget).')


def check_compute_plan(value: Any, name: str = "compute_plan") -> str | dict[str, int | None]:
    """``"auto"``, ``"off"`` or ``{"max_length": int | None, "budget": int | None}``, checked.

    A string ``"max_length=512,budget=40000000"`` (the CLI's form; either key may be left out, when
    it takes the ``"auto"`` value, or be ``none``) is read into the dict.

    Examples
    --------
    >>> check_compute_plan("max_length=256")
    {'max_length': 256, 'budget': 40000000}
    >>> check_compute_plan({"budget": None})
    {'max_length': 512, 'budget': None}
    >>> check_compute_plan({"max_length": "none"})  # a TOML table's way to lift a limit
    {'max_length': None, 'budget': 40000000}
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("auto", "off"):
            return text
        pairs: dict[str, Any] = {}
        for part in text.split(","):
            key, sep, raw = part.partition("=")
            key, raw = key.strip(), raw.strip().replace("_", "")
            if not sep or key not in COMPUTE_PLAN_KEYS or key in pairs:
                raise param_error(name, "'auto', 'off' or 'max_length=N,budget=N'", value, _FIX)
            if raw == "none":
                pairs[key] = None
            elif raw.isdigit():
                pairs[key] = int(raw)
            elif _whole_float(raw) is not None:  # budgets are naturally written 4e7
                pairs[key] = _whole_float(raw)
            else:
                raise param_error(f"{name} {key}", "a whole number or 'none'", raw, _FIX)
        value = pairs
    if not isinstance(value, Mapping):
        raise param_error(name, "'auto', 'off' or a dict with max_length and/or budget", value, _FIX)
    unknown = sorted(set(map(str, value)) - set(COMPUTE_PLAN_KEYS))
    if unknown:
        raise param_error(name, f"a dict with keys among {list(COMPUTE_PLAN_KEYS)}", unknown, _FIX)
    out: dict[str, int | None] = {**AUTO_COMPUTE_PLAN, **value}
    for key, minimum in (("max_length", _MIN_MAX_LENGTH), ("budget", 1)):
        v = out[key]
        if isinstance(v, str) and v.strip().lower() == "none":  # TOML has no null: a table writes "none"
            v = None
        if isinstance(v, float) and v.is_integer():  # TOML `budget = 4e7` is a float
            v = int(v)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum):
            raise param_error(f"{name}['{key}']", f"an integer >= {minimum} or None", v, _FIX)
        out[key] = None if v is None else int(v)
    return out


def _whole_float(raw: str) -> int | None:
    """``raw`` as an integer if it is a finite float with no fractional part (``"4e7"``), else None."""
    try:
        f = float(raw)
    except ValueError:
        return None
    return int(f) if np.isfinite(f) and f.is_integer() else None


def downsample_cases(X: Any, factor: int) -> np.ndarray:
    """Average-pool each case over blocks of ``factor`` steps; NaN (padding, missing) is left out of each mean.

    The output has ``ceil(length / factor)`` steps; a block without any finite value is NaN, so a
    NaN-padded case of ``v`` valid steps has ``ceil(v / factor)`` valid steps after it
    (:func:`~seqprep.runs._classify.case_lengths` reads the same masks from the result).
    ``factor == 1`` returns the cases unchanged.

    Parameters
    ----------
    X : ndarray of shape (n_cases, length, n_channels)
    factor : int
        Steps per block (>= 1).

    Returns
    -------
    ndarray of shape (n_cases, ceil(length / factor), n_channels), float64

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[[1.0], [3.0], [5.0], [np.nan], [np.nan]]])
    >>> downsample_cases(X, 2)[0, :, 0].tolist()
    [2.0, 5.0, nan]
    """
    arr = np.asarray(X, dtype=np.float64)
    if factor == 1:
        return arr
    n, length, channels = arr.shape
    steps = -(-length // factor)
    padded = np.full((n, steps * factor, channels), np.nan)
    padded[:, :length] = arr
    blocks = padded.reshape(n, steps, factor, channels)  # a view: consecutive steps side by side
    finite = np.isfinite(blocks)
    count = finite.sum(axis=2)
    total = np.where(finite, blocks, 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def plan_compute(
    setting: str | Mapping[str, int | None], n_fit: int, length: int, train_config: Mapping[str, Any],
    user_train_config: Mapping[str, Any] | None = None, members: int = 1,
) -> dict[str, Any]:
    """The plan of one run: the pooling factor, the epochs and patience, and the work before and after.

    Parameters
    ----------
    setting : "auto", "off" or dict
        As :func:`check_compute_plan` returns it.
    n_fit : int
        Training cases the network fits on.
    length : int
        Steps of the (padded) cases as read.
    train_config : dict
        The run's training settings (defaults merged with the user's).
    user_train_config : dict, optional
        What the user set: an ``epochs`` or ``plateau_patience`` given there is never changed.
    members : int, default 1
        Networks trained (an ensemble multiplies the work; the budget is per network).

    Returns
    -------
    dict
        ``{"requested", "max_length", "budget", "length", "factor", "length_used", "epochs",
        "epochs_used", "plateau_patience", "plateau_patience_used", "work", "work_used", "changed",
        "why"}``; work counts case-steps (epochs x n_fit x length) per network.

    Examples
    --------
    >>> p = plan_compute("auto", 537, 1344, {"epochs": 300, "plateau_patience": 30})
    >>> p["factor"], p["length_used"], p["epochs_used"], p["plateau_patience_used"]
    (3, 448, 166, 17)
    >>> plan_compute("auto", 100, 275, {"epochs": 300})["changed"]
    []
    """
    user = user_train_config or {}
    requested = setting if isinstance(setting, str) else dict(setting)
    cfg: dict[str, int | None] = (
        {"max_length": None, "budget": None} if setting == "off"
        else dict(AUTO_COMPUTE_PLAN) if setting == "auto" else dict(setting)  # type: ignore[arg-type]
    )
    max_length, budget = cfg["max_length"], cfg["budget"]
    factor = 1 if max_length is None or length <= max_length else math.ceil(length / max_length)
    length_used = -(-length // factor)
    epochs = int(train_config.get("epochs", 1))
    patience = train_config.get("plateau_patience")
    epochs_used, patience_used = epochs, patience
    per_epoch = n_fit * length_used
    why = []
    if factor > 1:
        why.append(f"cases of {length} steps average-pooled by {factor} to {length_used} (max_length {max_length})")
    if budget is not None and epochs * per_epoch > budget:
        if "epochs" in user:
            why.append(f"work {epochs * per_epoch:.3g} case-steps over the budget {budget:.3g}, but the epochs "
                       "were set by the user: kept")
        else:
            epochs_used = max(1, budget // per_epoch)
            why.append(f"epochs {epochs} -> {epochs_used} to keep {n_fit} cases x {length_used} steps within "
                       f"{budget:.3g} case-steps")
            if patience is not None and "plateau_patience" not in user:
                patience_used = max(1, round(int(patience) * epochs_used / epochs))
    changed = [k for k, a, b in (("length", length, length_used), ("epochs", epochs, epochs_used),
                                 ("plateau_patience", patience, patience_used)) if a != b]
    return {
        "requested": requested, "max_length": max_length, "budget": budget, "length": int(length),
        "factor": int(factor), "length_used": int(length_used), "n_fit": int(n_fit), "members": int(members),
        "epochs": epochs, "epochs_used": int(epochs_used), "plateau_patience": patience,
        "plateau_patience_used": patience_used, "work": int(epochs * n_fit * length),
        "work_used": int(epochs_used * per_epoch), "changed": changed,
        "why": "; ".join(why) if why else "within the limits: nothing changed",
    }
