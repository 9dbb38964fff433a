"""The steps of a classification run, in the order :func:`~seqprep.runs.run_classification` takes them.

1. :func:`read_cases`: the train and test cases as arrays, NaN-padded to one length.
2. :func:`prepare_cases`: integer labels (:func:`encode_labels`), the validation cases for early
   stopping (:func:`hold_out`), the normalization (:func:`normalize_cases`): each case on its own
   (:func:`instance_normalize`), per channel with the fitting cases' statistics (:func:`global_normalize`),
   none, or ``"auto"`` (:func:`choose_normalization`: 1-NN cross-validated on the fitting cases).
3. :func:`classify_with_baselines`: the model, majority class, 1-NN and MiniRocket on the same test cases.
4. :func:`classification_config` and :func:`write_classification_run`: run.json and the run directory.

No statistic is ever computed on a test case: instance normalization uses each case alone, global
normalization and the ``"auto"`` choice the fitting cases only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_float, is_number, list_names, param_error
from ..exceptions import DataError
from ._run_dir import run_header, write_json, write_report, write_run
from .verdict import model_label

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


def unpack_cases(data: Any, name: str) -> tuple[Any, Any]:
    """``(X, y)`` of a TSData or a tuple ``(X, y)`` (``y`` may be None), else an error naming ``name``."""
    if hasattr(data, "X") and hasattr(data, "y"):
        return data.X, data.y
    if isinstance(data, tuple) and len(data) == 2:
        return data
    raise param_error(name, "a TSData or a tuple (X, y)", data)


def _cases(data: Any, name: str, regression: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One part's cases as ``(X, y)`` float64/label arrays, refused with its ``name`` when unusable."""
    X, y = unpack_cases(data, name)
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

    ``X_train``/``X_test`` are normalized (``normalization``: ``"instance"``, ``"global"`` or ``"none"``;
    ``normalization_info`` holds the global statistics and the ``"auto"`` choice's scores); ``X_train``
    holds every training case, the fitting and the validation ones (``fit_idx``/``val_idx``).
    ``y_train``/``y_test`` are the labels as given, ``codes`` the training labels as indices into
    ``classes`` (sorted).
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
    normalization: str = "instance"
    normalization_info: dict[str, Any] | None = None

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
    variable_length: str = "mask", normalization: str = "instance",
) -> Cases:
    """Encode the labels, hold out the validation cases and normalize the cases (:func:`normalize_cases`).

    Unequal-length cases (NaN-padded by :func:`read_cases`): ``"mask"`` keeps the padding (zeros
    after normalization) and carries each case's length to the model, ``"resample"`` interpolates
    every case onto the longest length, ``"pad"`` keeps zero padding without a mask (the old way).
    Equal-length cases are the same under all three. Global statistics and the ``"auto"`` choice
    read the fitting cases only (every training case with ``val_fraction == 0``), never a test case.
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
    fit_idx, val_idx = hold_out(len(X_train), val_fraction, seed)
    X_train, X_test, used, info = normalize_cases(X_train, X_test, normalization, fit_idx, codes)
    return Cases(X_train, y_train, codes, X_test, y_test, classes, fit_idx, val_idx, lengths_train, lengths_test,
                 used, info)


NORMALIZATIONS = ("instance", "global", "none", "auto")
#: ``"auto"`` takes ``"global"`` only when its cross-validated 1-NN accuracy beats ``"instance"`` by more than this.
AUTO_MARGIN = 0.02
AUTO_FOLDS = 3


def channel_stats(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over every case and every finite (unpadded) step.

    Parameters
    ----------
    X : ndarray of shape (n_cases, length, n_channels)
        The cases the statistics come from (the fitting cases of a run); NaN marks padding.

    Returns
    -------
    mean, std : ndarray of shape (n_channels,), float64
        A channel without any finite value has mean 0 and std 1.

    Examples
    --------
    >>> import numpy as np
    >>> mean, std = channel_stats(np.array([[[1.0], [3.0], [np.nan]]]))
    >>> mean.tolist(), std.tolist()
    ([2.0], [1.0])
    """
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 3:
        raise DataError(f"channel_stats needs X of shape (n_cases, length, n_channels). Received: {arr.shape}.")
    finite = np.isfinite(arr)
    count = finite.sum(axis=(0, 1))
    safe = np.where(finite, arr, 0.0)
    mean = safe.sum(axis=(0, 1)) / np.maximum(count, 1)
    var = (np.where(finite, arr - mean, 0.0) ** 2).sum(axis=(0, 1)) / np.maximum(count, 1)
    std = np.sqrt(var)
    return mean, np.where(count > 0, std, 1.0)


def global_normalize(X: Any, mean: Any, std: Any, eps: float = 1e-8) -> np.ndarray:
    """Z-score every channel with given statistics (those of the training cases); NaN padding becomes 0.

    Unlike :func:`instance_normalize`, a channel's level and spread stay comparable across cases:
    the statistics come from :func:`channel_stats` of the training cases and are applied unchanged
    to the training and test cases.

    Parameters
    ----------
    X : ndarray of shape (n_cases, length, n_channels)
        Cases, channels last; NaN marks padding or missing values.
    mean, std : array-like of shape (n_channels,)
        Per-channel statistics (from the training cases only).
    eps : float, default 1e-8
        Added to the standard deviation (a flat channel becomes all zeros).

    Returns
    -------
    ndarray of shape (n_cases, length, n_channels), float32

    Examples
    --------
    >>> import numpy as np
    >>> train = np.array([[[1.0], [3.0]]]); test = np.array([[[5.0], [np.nan]]])
    >>> mean, std = channel_stats(train)
    >>> global_normalize(test, mean, std)[0, :, 0].round(3).tolist()
    [3.0, 0.0]
    """
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 3:
        raise DataError(f"global_normalize needs X of shape (n_cases, length, n_channels). Received: {arr.shape}.")
    eps = check_float(eps, "eps", minimum=0.0)
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    if mean.shape != (arr.shape[2],) or std.shape != (arr.shape[2],):
        raise DataError(f"global_normalize needs one mean and one std per channel ({arr.shape[2]}). Received: "
                        f"{mean.shape[0]} mean(s), {std.shape[0]} std(s).")
    finite = np.isfinite(arr)
    out = np.where(finite, (arr - mean) / (std + eps), 0.0)
    return out.astype(np.float32)


def _fill(X: np.ndarray) -> np.ndarray:
    """``"none"``: the values as they are (float32), NaN padding as 0."""
    arr = np.asarray(X, dtype=np.float64)
    return np.where(np.isfinite(arr), arr, 0.0).astype(np.float32)


def stratified_folds(codes: np.ndarray, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded stratified ``k``-fold indices as ``(fit, held_out)`` pairs (each class dealt round the folds).

    Examples
    --------
    >>> import numpy as np
    >>> folds = stratified_folds(np.array([0, 0, 0, 1, 1, 1]), 3)
    >>> [len(held) for _, held in folds]
    [2, 2, 2]
    """
    rng = np.random.default_rng(seed)
    assign = np.empty(len(codes), dtype=np.int64)
    for c in np.unique(codes):
        idx = rng.permutation(np.flatnonzero(codes == c))
        assign[idx] = (np.arange(len(idx)) + rng.integers(k)) % k
    return [(np.flatnonzero(assign != f), np.flatnonzero(assign == f)) for f in range(k)]


def choose_normalization(X: Any, codes: Any, folds: int = AUTO_FOLDS, seed: int = 0) -> tuple[str, dict[str, Any]]:
    """``"instance"`` or ``"global"`` for these training cases, by cross-validated 1-NN accuracy (training cases only).

    Stratified ``folds``-fold CV (seeded) of 1-NN (Euclidean) on the given cases under each
    normalization; global statistics are computed on each fold's fitting part only. ``"global"`` is
    chosen when its accuracy beats ``"instance"``'s by more than :data:`AUTO_MARGIN`; otherwise
    (ties included) ``"instance"``. Fewer than ``2 * folds`` cases: ``"instance"`` without a test.

    Returns
    -------
    choice : str
    info : dict
        ``{"rule": ..., "folds": k, "cv_1nn": {"instance": acc, "global": acc}}``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> codes = np.repeat([0, 1], 20)
    >>> X = rng.normal(size=(40, 8, 1)) * 0.1 + codes[:, None, None]  # the class is the level
    >>> choose_normalization(X, codes)[0]
    'global'
    """
    from ..training.baselines import nearest_neighbour_1

    arr = np.asarray(X, dtype=np.float64)
    codes = np.asarray(codes)
    rule = (f"1-NN stratified {folds}-fold CV on the fitting cases (fold seed {seed}); global if its accuracy beats "
            f"instance's by more than {AUTO_MARGIN}")
    if len(arr) < 2 * folds:
        return "instance", {"rule": rule, "folds": folds, "cv_1nn": None, "note": "too few cases: instance"}
    correct = {"instance": 0, "global": 0}
    inst = instance_normalize(arr)
    for fit, held in stratified_folds(codes, folds, seed):
        if len(fit) == 0 or len(held) == 0:
            continue
        correct["instance"] += int((nearest_neighbour_1(inst[fit], codes[fit], inst[held]) == codes[held]).sum())
        mean, std = channel_stats(arr[fit])
        g_fit, g_held = global_normalize(arr[fit], mean, std), global_normalize(arr[held], mean, std)
        correct["global"] += int((nearest_neighbour_1(g_fit, codes[fit], g_held) == codes[held]).sum())
    acc = {k: v / len(arr) for k, v in correct.items()}
    choice = "global" if acc["global"] > acc["instance"] + AUTO_MARGIN else "instance"
    return choice, {"rule": rule, "folds": folds, "cv_1nn": acc}


def normalize_cases(
    X_train: np.ndarray, X_test: np.ndarray, normalization: str, fit_idx: np.ndarray, codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, str, dict[str, Any] | None]:
    """``(X_train, X_test, used, info)`` normalized as ``normalization`` says; padding becomes 0.

    ``"instance"``: each case per channel on its own. ``"global"``: per channel with the mean and
    std of the fitting cases ``X_train[fit_idx]`` over their valid steps (``info`` holds them).
    ``"none"``: the values unchanged. ``"auto"``: :func:`choose_normalization` on the fitting cases
    picks ``"instance"`` or ``"global"`` (``info["selection"]``). No test case is read for a statistic.
    """
    requested = normalization
    info: dict[str, Any] | None = None
    if normalization == "auto":
        normalization, selection = choose_normalization(X_train[fit_idx], codes[fit_idx])
        info = {"requested": "auto", "selection": selection}
    if normalization == "instance":
        return instance_normalize(X_train), instance_normalize(X_test), normalization, info
    if normalization == "none":
        return _fill(X_train), _fill(X_test), normalization, info
    if normalization != "global":
        raise param_error("normalization", f"one of {', '.join(NORMALIZATIONS)}", requested)
    mean, std = channel_stats(X_train[fit_idx])
    info = {**(info or {}), "mean": mean.tolist(), "std": std.tolist()}
    return global_normalize(X_train, mean, std), global_normalize(X_test, mean, std), normalization, info


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
def sample_cases(labels: np.ndarray | None, n: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of ``size`` of ``n`` cases, drawn with the run's ``seed``.

    Per class in proportion (at least one case of each) when ``labels`` are given, else uniformly.
    """
    rng = np.random.default_rng([seed, 2])
    if labels is None:
        return np.sort(rng.choice(n, size=size, replace=False))
    picked = []
    classes, codes = np.unique(labels, return_inverse=True)
    for c in range(len(classes)):
        members = np.flatnonzero(codes == c)
        take = max(1, round(size * len(members) / n))
        picked.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(picked))


def classify_with_baselines(model: Any, cases: Cases, seed: int = 0, skipped: dict[str, str] | None = None,
                            minirocket: bool = True, notes: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Test-case labels from the model, the majority class, 1-NN and MiniRocket.

    The baselines see every training case, normalized as the network sees them, except MiniRocket
    (seeded with the run's ``seed``) above ``MINIROCKET_MAX_CASES`` training cases: it is fitted on a
    stratified sample of that many, and ``notes`` says so. With ``minirocket=False`` (the run's model
    is MiniRocket: the baseline would be the model itself) it is left out, and ``skipped`` says why.
    """
    from ..training import predict
    from ..training.baselines import MINIROCKET_MAX_CASES, majority_class, minirocket_classifier, nearest_neighbour_1

    pred = cases.classes[predict(model, cases.test_input(), task="classification", device="cpu")]
    preds = {
        "cnn_lstm": pred,
        "majority_class": majority_class(cases.y_train, len(cases.y_test)),
        "nearest_neighbour_1": nearest_neighbour_1(cases.X_train, cases.y_train, cases.X_test),
    }
    if not minirocket:
        if skipped is not None:
            skipped["minirocket"] = "it is the run's model"
    else:
        n = len(cases.y_train)
        rows = np.arange(n) if n <= MINIROCKET_MAX_CASES else sample_cases(cases.y_train, n, MINIROCKET_MAX_CASES,
                                                                           seed)
        lengths = None if cases.lengths_train is None else cases.lengths_train[rows]
        preds["minirocket"] = minirocket_classifier(cases.X_train[rows], cases.y_train[rows], cases.X_test, lengths,
                                                    cases.lengths_test, seed=seed)
        if len(rows) < n and notes is not None:
            notes["minirocket"] = (f"fitted on a stratified sample of {len(rows)} of the {n} training cases (its "
                                   "leave-one-out ridge grows with the cube of the cases; --model minirocket fits "
                                   "all of them)")
    return preds


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
        "normalization": cases.normalization, "normalization_detail": NORMALIZATION_DETAIL[cases.normalization],
        "val_fraction": val_fraction,
        "variable_length": variable_length, "masked": cases.lengths_train is not None,
        "seed": seed, "model": model.config, "train": train_config, "device": result.device,
        "threads": result.threads,
        "n_train": int(len(cases.fit_idx)), "n_val": int(len(cases.val_idx)), "n_test": int(len(cases.y_test)),
    }
    if cases.normalization_info is not None:  # global statistics, the "auto" choice's scores
        config["normalization_info"] = cases.normalization_info
    if len(member_results) > 1:  # an ensemble: history.json holds member 0's curves
        config["member_best_epochs"] = [r.best_epoch for r in member_results]
    return config


def closed_form(config: dict[str, Any]) -> bool:
    """Whether the run's model was fitted in closed form (MiniRocket + ridge): no epochs, no learning curves."""
    return config.get("model_type") == "minirocket"


NORMALIZATION_DETAIL = {
    "instance": "per case and channel, z-score over the case's own valid steps",
    "global": "per channel, z-score with the mean and std of the fitting cases' valid steps (run.json's "
              "normalization_info)",
    "none": "values as read, padding as 0",
}


def write_classification_run(
    target: Path, res: RunResult, cases: Cases, preds: dict[str, np.ndarray], title: str, overwrite: bool = False
) -> Path:
    """Write the classification run directory (model, JSON files, predictions, test cases, report)."""

    def write(tmp: Path) -> None:
        from ..models import save_model

        save_model(res.model, tmp / "model")
        write_json(tmp / "run.json", res.config)
        verdict = res.info.get("verdict")
        write_json(tmp / "metrics.json", {"test": res.metrics, "skipped": res.info.get("skipped", {}),
                                          "notes": res.info.get("notes", {}), "n_test_windows": len(cases.y_test),
                                          "verdict": verdict, "summary": (verdict or {}).get("summary")})
        write_json(tmp / "history.json", res.history.to_dict())
        res.predictions.to_csv(tmp / "predictions.csv", index=False)
        if cases.lengths_test is None:
            np.savez(tmp / "test_windows.npz", X=cases.X_test, y=cases.y_test.astype(str))
        else:  # a masked run: the lengths travel with the cases
            np.savez(tmp / "test_windows.npz", X=cases.X_test, y=cases.y_test.astype(str), lengths=cases.lengths_test)
        closed = closed_form(res.config)
        if closed:  # MiniRocket + ridge: fitted once, nothing held out, no epochs
            held = "no validation cases"
            fitted = f"Fitted in {res.config['train']['fit']} (alpha {res.config['train']['alpha']:.3g})."
        else:
            held = (f"{res.config['n_val']} validation cases (early stopping)" if res.config["n_val"] else
                    "no validation cases (the weights of the lowest training loss are kept)")
            fitted = (f"{'Best epoch' if res.config['n_val'] else 'Kept epoch'} {res.history.best_epoch} of "
                      f"{len(res.history.history)}.")
        notes = (f"Classify {len(cases.classes)} classes from series of length {cases.X_train.shape[1]} with "
                 f"{cases.X_train.shape[2]} channel(s): {res.config['n_train']} training cases, {held}, "
                 f"{res.config['n_test']} test cases. Normalization: "
                 f"{cases.normalization} ({NORMALIZATION_DETAIL[cases.normalization]}); no statistic reads a test "
                 f"case. {fitted}")
        plan = res.config.get("compute_plan") or {}
        if plan.get("changed"):  # long or many-case sets: the bound on the work changed the run
            notes += f" Compute plan: {plan['why']}."
        for name, note in res.info.get("notes", {}).items():
            notes += f" {model_label(name)} baseline: {note}."
        write_report(tmp, title=title, task="classification", notes=notes,
                     history=None if closed else res.member_histories or res.history,
                     X=cases.X_train[:3], y=cases.classes[cases.codes[:3]],
                     window_lengths=None if cases.lengths_train is None else cases.lengths_train[:3],
                     y_true=cases.y_test, y_pred=preds["cnn_lstm"],
                     baselines={k: v for k, v in preds.items() if k != "cnn_lstm"},
                     labels=cases.classes.tolist(), results=res.metrics, verdict=verdict, config=res.config,
                     window_label=f"value ({cases.normalization} normalization)", loss_label="cross-entropy loss")

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
        bad = next(v for v in np.asarray(y).tolist() if not is_number(v))
        raise DataError(f"the {name} targets must be numbers for regression; {bad!r} is not.") from None
    if not np.isfinite(out).all():
        raise DataError(f"the {name} targets have {int((~np.isfinite(out)).sum())} NaN/inf value(s).")
    return out



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


def regress_with_baselines(model: Any, cases: RegressionCases, seed: int = 0, skipped: dict[str, str] | None = None,
                           minirocket: bool = True, notes: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Test predictions in the data's units: the model, the mean of the training targets, ridge, 1-NN and MiniRocket.

    The baselines see the fitting cases only (the ones the network is fit on), instance-normalized
    as the network sees them; MiniRocket on a random sample of ``MINIROCKET_MAX_CASES`` of them when
    there are more (``notes`` says so).
    """
    from ..training import predict
    from ..training.baselines import MINIROCKET_MAX_CASES, RidgeBaseline, minirocket_regressor, nearest_neighbour_1

    raw = np.asarray(predict(model, cases.X_test, device="cpu"), dtype=np.float64).reshape(-1)
    X_fit, y_fit = cases.X_train[cases.fit_idx], cases.y_train[cases.fit_idx]
    preds = {
        "cnn_lstm": raw * cases.y_std + cases.y_mean,
        "mean_of_training_targets": np.full(len(cases.y_test), float(y_fit.mean())),
        "ridge": np.asarray(RidgeBaseline().fit(X_fit, y_fit).predict(cases.X_test), dtype=np.float64).reshape(-1),
        "nearest_neighbour_1": np.asarray(nearest_neighbour_1(X_fit, y_fit, cases.X_test), dtype=np.float64),
    }
    if not minirocket:
        if skipped is not None:
            skipped["minirocket"] = "it is the run's model"
    else:
        n = len(y_fit)
        rows = np.arange(n) if n <= MINIROCKET_MAX_CASES else sample_cases(None, n, MINIROCKET_MAX_CASES, seed)
        preds["minirocket"] = minirocket_regressor(X_fit[rows], y_fit[rows], cases.X_test, seed=seed)
        if len(rows) < n and notes is not None:
            notes["minirocket"] = (f"fitted on a random sample of {len(rows)} of the {n} fitting cases (its "
                                   "leave-one-out ridge grows with the cube of the cases; --model minirocket fits "
                                   "all of them)")
    return preds


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
        verdict = res.info.get("verdict")
        write_json(tmp / "metrics.json", {"test": res.metrics, "skipped": res.info.get("skipped", {}),
                                          "notes": res.info.get("notes", {}), "n_test_windows": len(cases.y_test),
                                          "verdict": verdict, "summary": (verdict or {}).get("summary")})
        write_json(tmp / "history.json", res.history.to_dict())
        res.predictions.to_csv(tmp / "predictions.csv", index=False)
        np.savez(tmp / "test_windows.npz", X=cases.X_test, y=cases.y_test)
        write_report(tmp, title=title, task="regression",
                     history=None if closed_form(res.config) else res.member_histories or res.history,
                     y_true=cases.y_test, y_pred=preds["cnn_lstm"],
                     baselines={k: v for k, v in preds.items() if k != "cnn_lstm"}, results=res.metrics,
                     verdict=verdict)

    return write_run(target, write, overwrite=overwrite)
