"""The steps of a classification run, in the order :func:`~seqprep.runs.run_classification` takes them.

1. :func:`read_cases`: the train and test cases as arrays, NaN-padded to one length.
2. :func:`prepare_cases`: integer labels (:func:`encode_labels`), each case normalized on its own
   (:func:`instance_normalize`), the validation cases for early stopping (:func:`hold_out`).
3. :func:`classify_with_baselines`: the model, majority class and 1-NN on the same test cases.
4. :func:`classification_config` and :func:`write_classification_run`: run.json and the run directory.

No statistic crosses cases, so nothing from the test cases reaches training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_float, list_names, param_error
from ..exceptions import DataError
from ._run_dir import run_header, write_json, write_report, write_run

if TYPE_CHECKING:
    from ._result import RunResult

__all__: list[str] = []  # internal module: served by seqprep.runs


# ============================================================================ 1. cases
def read_cases(
    train: Any, test: Any, regression: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_test, y_test)``; cases of different lengths are NaN-padded to the longer one.

    The channels must match; padding is what :func:`instance_normalize` turns into zeros.
    """
    Xtr_raw, ytr = _cases(train, "train", regression)
    Xte_raw, yte = _cases(test, "test", regression)
    if Xtr_raw.shape[1:] != Xte_raw.shape[1:]:
        if Xtr_raw.shape[2] != Xte_raw.shape[2]:
            raise DataError(
                f"train has {Xtr_raw.shape[2]} channel(s) but test has {Xte_raw.shape[2]}. They must match."
            )
        length = max(Xtr_raw.shape[1], Xte_raw.shape[1])
        Xtr_raw, Xte_raw = _pad(Xtr_raw, length), _pad(Xte_raw, length)
    if regression:  # numeric targets: no classes to check
        return Xtr_raw, ytr, Xte_raw, yte
    unseen = sorted(set(map(str, np.unique(yte))) - set(map(str, np.unique(ytr))))
    if unseen:
        raise DataError(
            f"the test cases have class label(s) {list_names(unseen)} that no training case has (training "
            f"labels: {list_names(sorted(set(map(str, np.unique(ytr)))))}). A model cannot predict a class it "
            "never saw: check that the test file belongs to the same data set, or add training cases of those classes."
        )
    if len(np.unique(ytr)) < 2:
        raise DataError(
            f"the training cases have one class only ({list_names(np.unique(ytr))}). Classification needs at "
            "least two classes: check the labels of the training file."
        )
    return Xtr_raw, ytr, Xte_raw, yte


def _cases(data: Any, name: str, regression: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One part's cases as ``(X, y)`` float64/label arrays, refused with its ``name`` when unusable."""
    if hasattr(data, "X") and hasattr(data, "y"):
        X, y = data.X, data.y
    elif isinstance(data, tuple) and len(data) == 2:
        X, y = data
    else:
        raise param_error(name, "a TSData or a tuple (X, y)", data)
    if y is None:
        raise DataError(f"the {name} cases have no class labels (@classLabel false). Classification needs labels.")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind == "f" and not regression:
        raise DataError(
            f"the {name} cases have numeric targets (a regression file, @targetLabel true), not class labels. "
            "Use a classification file (@classLabel true ...), or forecast with `seqprep train DATA --target ...`."
        )
    if X.ndim != 3:
        raise DataError(f"the {name} cases must have shape (n_cases, length, n_channels). Received: {X.shape}.")
    if len(X) != len(y):
        raise DataError(f"the {name} part has {len(X)} cases but {len(y)} labels.")
    if len(X) == 0:
        raise DataError(f"the {name} part has no case.")
    return X, y


def _pad(X: np.ndarray, length: int) -> np.ndarray:
    """``X`` NaN-padded at the end of the time axis to ``length`` steps."""
    if X.shape[1] == length:
        return X
    out = np.full((X.shape[0], length, X.shape[2]), np.nan)
    out[:, : X.shape[1]] = X
    return out


# ============================================================================ 2. labels, normalization, hold-out
def instance_normalize(X: Any, eps: float = 1e-8) -> np.ndarray:
    """Z-score each case per channel over time (instance normalization); NaN padding becomes 0.

    Each case uses only its own mean and standard deviation, so no statistic crosses cases,
    let alone train and test.

    Parameters
    ----------
    X : ndarray of shape (n_cases, length, n_channels)
        Cases, channels last; NaN marks padding or missing values.
    eps : float, default 1e-8
        Added to the standard deviation (a flat channel becomes all zeros).

    Returns
    -------
    ndarray of shape (n_cases, length, n_channels), float32

    Examples
    --------
    >>> import numpy as np
    >>> out = instance_normalize(np.array([[[1.0], [3.0], [np.nan]]]))
    >>> out[0, :, 0].round(3).tolist()
    [-1.0, 1.0, 0.0]
    """
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 3:
        raise DataError(f"instance_normalize needs X of shape (n_cases, length, n_channels). Received: {arr.shape}.")
    eps = check_float(eps, "eps", minimum=0.0)
    finite = np.isfinite(arr)
    count = finite.sum(axis=1, keepdims=True)
    safe = np.where(finite, arr, 0.0)
    mean = safe.sum(axis=1, keepdims=True) / np.maximum(count, 1)
    var = (np.where(finite, arr - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / np.maximum(count, 1)
    out = np.where(finite, (arr - mean) / (np.sqrt(var) + eps), 0.0)
    return out.astype(np.float32)


@dataclass(frozen=True, eq=False)
class Cases:
    """A classification run's data, ready to train on.

    ``X_train``/``X_test`` are instance-normalized; ``X_train`` holds every training case, the
    fitting and the validation ones (``fit_idx``/``val_idx``). ``y_train``/``y_test`` are the labels
    as given, ``codes`` the training labels as indices into ``classes`` (sorted).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    codes: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    fit_idx: np.ndarray
    val_idx: np.ndarray
    lengths_train: np.ndarray | None = None
    lengths_test: np.ndarray | None = None

    def _part(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        X, y = self.X_train[idx], self.codes[idx]
        return (X, y) if self.lengths_train is None else (X, y, self.lengths_train[idx])

    def fit_part(self) -> tuple[np.ndarray, ...]:
        """The cases the model is fit on, with integer labels (and their lengths when masked)."""
        return self._part(self.fit_idx)

    def val_part(self) -> tuple[np.ndarray, ...] | None:
        """The early-stopping cases with integer labels (and lengths); None when none were held out."""
        return self._part(self.val_idx) if len(self.val_idx) else None

    def test_input(self) -> Any:
        """The test cases as the model reads them: an array, or windows with their lengths when masked."""
        if self.lengths_test is None:
            return self.X_test
        from ..training import ArrayWindows

        return ArrayWindows(self.X_test, None, self.lengths_test)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Array shapes of the fitting, validation and test cases (the run's ``info["windows"]``)."""
        case = self.X_train.shape[1:]  # from the indices: no copy of the cases just to read a shape
        return {"train": (len(self.fit_idx), *case), "val": (len(self.val_idx), *case), "test": self.X_test.shape}


VARIABLE_LENGTH = ("mask", "resample", "pad")


def case_lengths(X: np.ndarray) -> np.ndarray:
    """Valid steps of each NaN-padded case: one past its last step with any finite value (at least 1).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[[1.0], [2.0], [np.nan]], [[1.0], [np.nan], [3.0]]])
    >>> case_lengths(X).tolist()
    [2, 3]
    """
    finite = np.asarray(np.isfinite(np.asarray(X, dtype=np.float64)).any(axis=2))  # (n, T)
    last = finite.shape[1] - np.argmax(finite[:, ::-1], axis=1)
    return np.where(finite.any(axis=1), last, 1).astype(np.int64)


def resample_cases(X: np.ndarray, lengths: np.ndarray, length: int) -> np.ndarray:
    """Each case's first ``lengths[i]`` steps linearly interpolated onto ``length`` evenly spaced steps.

    Vectorised over cases (no loop per case); NaN inside a case stays NaN where it is read.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[[0.0], [2.0], [np.nan]], [[0.0], [1.0], [2.0]]])
    >>> resample_cases(X, np.array([2, 3]), 3)[:, :, 0].tolist()
    [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    span = (lengths - 1).astype(np.float64)[:, None]
    pos = np.arange(length, dtype=np.float64)[None, :] * span / max(length - 1, 1)  # (n, length)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, (lengths - 1)[:, None])
    w = (pos - i0)[:, :, None]
    a = np.take_along_axis(X, i0[:, :, None], axis=1)
    b = np.take_along_axis(X, i1[:, :, None], axis=1)
    return a * (1.0 - w) + np.where(w > 0, b, 0.0) * w


def prepare_cases(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, val_fraction: float, seed: int,
    variable_length: str = "mask",
) -> Cases:
    """Encode the labels, normalize every case on its own and hold out the validation cases.

    Unequal-length cases (NaN-padded by :func:`read_cases`): ``"mask"`` keeps the padding (zeros
    after normalization) and carries each case's length to the model, ``"resample"`` interpolates
    every case onto the longest length, ``"pad"`` keeps zero padding without a mask (the old way).
    Equal-length cases are the same under all three.
    """
    classes, codes = encode_labels(y_train)
    len_tr, len_te = case_lengths(X_train), case_lengths(X_test)
    full = X_train.shape[1]
    unequal = bool((len_tr < full).any() or (len_te < full).any())
    lengths_train = lengths_test = None
    if unequal and variable_length == "resample":
        X_train, X_test = resample_cases(X_train, len_tr, full), resample_cases(X_test, len_te, full)
    elif unequal and variable_length == "mask":
        lengths_train, lengths_test = len_tr, len_te
    X_train, X_test = instance_normalize(X_train), instance_normalize(X_test)
    fit_idx, val_idx = hold_out(len(X_train), val_fraction, seed)
    return Cases(X_train, y_train, codes, X_test, y_test, classes, fit_idx, val_idx, lengths_train, lengths_test)


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted classes of the training labels and the labels as int64 indices into them.

    Fewer than two classes is refused: there would be nothing to tell apart.
    """
    classes = np.unique(y)
    if classes.size < 2:
        raise DataError(f"the training cases have {classes.size} class(es); classification needs at least 2.")
    code = {c: i for i, c in enumerate(classes.tolist())}
    return classes, np.array([code[c] for c in y.tolist()], dtype=np.int64)


def hold_out(n_cases: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of the fitting and the validation cases: a seeded random ``val_fraction`` of them.

    At least one validation case when ``val_fraction > 0``; none at all with ``val_fraction == 0``
    or below 5 training cases.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_cases)
    n_val = max(1, round(val_fraction * n_cases)) if n_cases >= 5 and val_fraction > 0 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


# ============================================================================ 3. test predictions
def classify_with_baselines(model: Any, cases: Cases) -> dict[str, np.ndarray]:
    """Test-case labels from the model, the majority class and 1-NN (the baselines see every training case)."""
    from ..training import predict
    from ..training.baselines import majority_class, nearest_neighbour_1

    pred = cases.classes[predict(model, cases.test_input(), task="classification", device="cpu")]
    return {
        "cnn_lstm": pred,
        "majority_class": majority_class(cases.y_train, len(cases.y_test)),
        "nearest_neighbour_1": nearest_neighbour_1(cases.X_train, cases.y_train, cases.X_test),
    }


# ============================================================================ 4. run.json and the run directory
def classification_config(
    cases: Cases, val_fraction: float, seed: int, model: Any, train_config: dict[str, Any], result: Any,
    member_results: list[Any], variable_length: str = "mask",
) -> dict[str, Any]:
    """The run's configuration, as written to run.json."""
    config = {
        **run_header("classification"),
        "classes": cases.classes.tolist(), "length": int(cases.X_train.shape[1]),
        "n_channels": int(cases.X_train.shape[2]),
        "normalization": "instance (per case and channel, z-score over time)", "val_fraction": val_fraction,
        "variable_length": variable_length, "masked": cases.lengths_train is not None,
        "seed": seed, "model": model.config, "train": train_config, "device": result.device,
        "threads": result.threads,
        "n_train": int(len(cases.fit_idx)), "n_val": int(len(cases.val_idx)), "n_test": int(len(cases.y_test)),
    }
    if len(member_results) > 1:  # an ensemble: history.json holds member 0's curves
        config["member_best_epochs"] = [r.best_epoch for r in member_results]
    return config


def write_classification_run(
    target: Path, res: RunResult, cases: Cases, preds: dict[str, np.ndarray], title: str, overwrite: bool = False
) -> Path:
    """Write the classification run directory (model, JSON files, predictions, test cases, report)."""

    def write(tmp: Path) -> None:
        from ..models import save_model

        save_model(res.model, tmp / "model")
        write_json(tmp / "run.json", res.config)
        verdict = res.info.get("verdict")
        write_json(tmp / "metrics.json", {"test": res.metrics, "skipped": {}, "n_test_windows": len(cases.y_test),
                                          "verdict": verdict, "summary": (verdict or {}).get("summary")})
        write_json(tmp / "history.json", res.history.to_dict())
        res.predictions.to_csv(tmp / "predictions.csv", index=False)
        if cases.lengths_test is None:
            np.savez(tmp / "test_windows.npz", X=cases.X_test, y=cases.y_test.astype(str))
        else:  # a masked run: the lengths travel with the cases
            np.savez(tmp / "test_windows.npz", X=cases.X_test, y=cases.y_test.astype(str), lengths=cases.lengths_test)
        notes = (f"Classify {len(cases.classes)} classes from series of length {cases.X_train.shape[1]} with "
                 f"{cases.X_train.shape[2]} channel(s): {res.config['n_train']} training cases, {res.config['n_val']} "
                 f"validation cases (early stopping), {res.config['n_test']} test cases. Each case is z-scored on its "
                 f"own (instance normalization): no statistic crosses cases. Best epoch {res.history.best_epoch} of "
                 f"{len(res.history.history)}.")
        write_report(tmp, title=title, task="classification", notes=notes,
                     history=res.member_histories or res.history,
                     X=cases.X_train[:3], y=cases.classes[cases.codes[:3]],
                     y_true=cases.y_test, y_pred=preds["cnn_lstm"],
                     baselines={k: v for k, v in preds.items() if k != "cnn_lstm"},
                     labels=cases.classes.tolist(), results=res.metrics, verdict=verdict, config=res.config,
                     window_label="value (each case z-scored on its own)", loss_label="cross-entropy loss")

    return write_run(target, write, overwrite=overwrite)


# ============================================================================ regression on cases (@targetLabel true)
@dataclass(frozen=True, eq=False)
class RegressionCases:
    """A case-regression run's data: instance-normalized cases, numeric targets, the target's training scale.

    The network learns ``(y - y_mean) / y_std`` with the training cases' own mean and standard
    deviation; predictions are put back in the data's units before any score.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    y_mean: float
    y_std: float
    fit_idx: np.ndarray
    val_idx: np.ndarray

    def scaled(self, y: np.ndarray) -> np.ndarray:
        """Targets in the units the network learns (float32)."""
        return ((y - self.y_mean) / self.y_std).astype(np.float32)

    def fit_part(self) -> tuple[np.ndarray, np.ndarray]:
        """The cases the model is fit on, with scaled targets."""
        return self.X_train[self.fit_idx], self.scaled(self.y_train[self.fit_idx])

    def val_part(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The early-stopping cases with scaled targets; None when none were held out."""
        return (self.X_train[self.val_idx], self.scaled(self.y_train[self.val_idx])) if len(self.val_idx) else None

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Array shapes of the fitting, validation and test cases."""
        case = self.X_train.shape[1:]
        return {"train": (len(self.fit_idx), *case), "val": (len(self.val_idx), *case), "test": self.X_test.shape}


def numeric_targets(y: np.ndarray, name: str) -> np.ndarray:
    """The targets of a regression file as float64, refused with the first value that is not a number."""
    try:
        out = np.asarray(y, dtype=np.float64)
    except ValueError:
        bad = next(v for v in np.asarray(y).tolist() if not _is_number(v))
        raise DataError(f"the {name} targets must be numbers for regression; {bad!r} is not.") from None
    if not np.isfinite(out).all():
        raise DataError(f"the {name} targets have {int((~np.isfinite(out)).sum())} NaN/inf value(s).")
    return out


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def prepare_regression_cases(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, val_fraction: float, seed: int
) -> RegressionCases:
    """Numeric targets, every case normalized on its own, the validation cases held out.

    The target's scale comes from the fitting cases only.
    """
    ytr, yte = numeric_targets(y_train, "train"), numeric_targets(y_test, "test")
    fit_idx, val_idx = hold_out(len(X_train), val_fraction, seed)
    fit_y = ytr[fit_idx]
    std = float(fit_y.std()) or 1.0
    return RegressionCases(instance_normalize(X_train), ytr, instance_normalize(X_test), yte, float(fit_y.mean()),
                           std, fit_idx, val_idx)


def regress_with_baselines(model: Any, cases: RegressionCases) -> dict[str, np.ndarray]:
    """Test predictions in the data's units: the model, the mean of the training targets, ridge and 1-NN.

    The baselines see the fitting cases only (the ones the network is fit on), instance-normalized
    as the network sees them.
    """
    from ..training import predict
    from ..training.baselines import RidgeBaseline, nearest_neighbour_1

    raw = np.asarray(predict(model, cases.X_test, device="cpu"), dtype=np.float64).reshape(-1)
    X_fit, y_fit = cases.X_train[cases.fit_idx], cases.y_train[cases.fit_idx]
    return {
        "cnn_lstm": raw * cases.y_std + cases.y_mean,
        "mean_of_training_targets": np.full(len(cases.y_test), float(y_fit.mean())),
        "ridge": np.asarray(RidgeBaseline().fit(X_fit, y_fit).predict(cases.X_test), dtype=np.float64).reshape(-1),
        "nearest_neighbour_1": np.asarray(nearest_neighbour_1(X_fit, y_fit, cases.X_test), dtype=np.float64),
    }


def regression_cases_config(
    cases: RegressionCases, val_fraction: float, seed: int, model: Any, train_config: dict[str, Any], result: Any,
    member_results: list[Any],
) -> dict[str, Any]:
    """run.json of a case-regression run: ``data: "cases"`` and the target's training mean and std."""
    config = {
        **run_header("regression"),
        "data": "cases", "target_mean": cases.y_mean, "target_std": cases.y_std,
        "length": int(cases.X_train.shape[1]), "n_channels": int(cases.X_train.shape[2]),
        "normalization": "instance (per case and channel, z-score over time); target z-scored with the training "
                         "cases' mean and std",
        "val_fraction": val_fraction, "seed": seed, "model": model.config, "train": train_config,
        "device": result.device, "n_train": int(len(cases.fit_idx)), "n_val": int(len(cases.val_idx)),
        "n_test": int(len(cases.y_test)),
    }
    if len(member_results) > 1:
        config["member_best_epochs"] = [r.best_epoch for r in member_results]
    return config


def write_regression_cases_run(
    target: Path, res: RunResult, cases: RegressionCases, preds: dict[str, np.ndarray], title: str,
    overwrite: bool = False,
) -> Path:
    """Write the case-regression run directory (model, JSON files, predictions, test cases, report)."""

    def write(tmp: Path) -> None:
        from ..models import save_model

        save_model(res.model, tmp / "model")
        write_json(tmp / "run.json", res.config)
        write_json(tmp / "metrics.json", {"test": res.metrics, "skipped": {}, "n_test_windows": len(cases.y_test)})
        write_json(tmp / "history.json", res.history.to_dict())
        res.predictions.to_csv(tmp / "predictions.csv", index=False)
        np.savez(tmp / "test_windows.npz", X=cases.X_test, y=cases.y_test)
        write_report(tmp, title=title, task="regression", history=res.member_histories or res.history,
                     y_true=cases.y_test, y_pred=preds["cnn_lstm"],
                     baselines={k: v for k, v in preds.items() if k != "cnn_lstm"}, results=res.metrics)

    return write_run(target, write, overwrite=overwrite)
