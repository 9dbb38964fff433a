"""doctor(): run one forward pass and explain a shape error layer by layer."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import check_bool, check_int, param_error
from ..exceptions import ShapeError
from ._report import DoctorReport
from .batches import check_dict_batch

__all__ = ["doctor"]

def _framework(model: Any) -> str:
    names = {(c.__module__.split(".")[0], c.__name__) for c in type(model).__mro__}
    if ("keras", "Layer") in names or ("keras", "Operation") in names:
        return "keras"
    if ("torch", "Module") in names:
        return "torch"
    raise param_error(
        "model", "a torch.nn.Module or a Keras 3 model", model,
        "Pass the model object itself (e.g. the return value of your build function).",
    )


def _is_shape(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in value)
    )


def _make_batch(batch_or_shape: Any, windows: Any, batch_size: int) -> tuple[np.ndarray | Any, str | None]:
    """Return the tiny batch (numpy array or the user's tensor slice) and the layout if known."""
    layout = None
    source = windows if windows is not None else batch_or_shape
    if source is None:
        raise param_error(
            "batch_or_shape", "a shape such as (32, 30, 4), an array/tensor or windows", None,
            "Pass the shape of one batch, a batch, or windows=seqprep.windows(...).",
        )
    if isinstance(source, Mapping):  # a dict batch
        return _dict_rows(source, batch_size), layout
    if _is_shape(source):
        shape = tuple(int(d) for d in source)
        if any(d < 1 for d in shape):
            raise param_error("batch_or_shape", "a shape of positive sizes", source,
                              "Use sizes >= 1, e.g. (32, 30, 4).")
        rng = np.random.default_rng(0)
        return rng.standard_normal(shape).astype(np.float32), layout
    spec = getattr(source, "spec", None)
    if spec is not None:  # a seqprep Windows object (duck-typed)
        layout = getattr(spec, "layout", None)
        if len(source) == 0:
            raise ShapeError("the windows are empty: there is no sample to run the model on.")
        sample = source[0 : min(batch_size, len(source))]
        x = sample[0] if isinstance(sample, tuple) else sample
        if isinstance(x, Mapping):
            return _dict_rows(x, batch_size), layout
        return _as_float(x), layout
    if not hasattr(source, "shape") or not hasattr(source, "__getitem__"):
        raise param_error(
            "batch_or_shape", "a shape tuple, a numpy array or a tensor", source,
            "Pass e.g. (32, 30, 4) or X_train.",
        )
    if len(source.shape) == 0 or source.shape[0] == 0:
        raise ShapeError(f"the batch has shape {tuple(source.shape)}: it holds no sample to run the model on.")
    return _as_float(source[:batch_size]), layout


def _dict_rows(batch: Mapping[str, Any], batch_size: int) -> dict[str, Any]:
    """The first *batch_size* windows of every key of a dict batch (float values as float32; codes kept)."""
    out = {}
    for key, value in batch.items():
        if not hasattr(value, "shape") or len(value.shape) == 0:
            raise param_error(f"batch_or_shape[{key!r}]", "an array or tensor with a batch axis", value,
                              "Pass the dict the windows give (windows[idx], to_torch()).")
        if value.shape[0] == 0:
            raise ShapeError(f"the batch's {key!r} has shape {tuple(value.shape)}: it holds no sample to run the "
                             "model on.")
        out[str(key)] = _as_float(value[:batch_size])
    if not out:
        raise param_error("batch_or_shape", "a non-empty dict batch", batch, "Pass the windows' dict batch.")
    return out


def _as_float(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.astype(np.float32) if np.issubdtype(x.dtype, np.floating) else x
    if type(x).__module__.startswith("torch") and getattr(x, "is_floating_point", lambda: False)():
        return x.float()
    return x


def doctor(
    model: Any,
    batch_or_shape: Any = None,
    *,
    windows: Any = None,
    batch_size: int = 2,
    raise_on_error: bool = False,
) -> DoctorReport:
    """Run a model on a tiny batch and explain the shape problems it hits.

    Parameters
    ----------
    model : torch.nn.Module or keras.Model
        The model to examine. A PyTorch module is put in ``eval()`` mode for the
        pass (and restored); a Keras model is run layer by layer.
    batch_or_shape : tuple of int, ndarray, tensor or dict
        Either the shape of one batch, e.g. ``(32, 30, 4)`` (a random batch of
        that exact shape is used: axis 0 is the batch size), or real data, of
        which the first *batch_size* samples are used: an array, a tensor, or a
        dict batch (``{"past": ..., "known": ..., "static_cat": ...}``, see
        :mod:`seqprep.diagnosis.batches`). A dict batch given to a model that
        declares its inputs (``model.input_spec``, as seqprep's models built with
        ``inputs=``) is first checked key by key against them: a missing or
        undeclared key, ``known`` without its T + H rows, float or out-of-range
        category codes are each reported with their cause and fix.
    windows : seqprep.Windows, optional
        Windows built by :func:`seqprep.windows`; the first *batch_size*
        windows' ``X`` are used and their layout is named in the advice.
    batch_size : int, default 2
        Samples taken from an array, tensor or windows.
    raise_on_error : bool, default False
        Raise a :class:`~seqprep.exceptions.ShapeError` with the diagnosis
        (chained to the original error) instead of returning a failed report.

    Returns
    -------
    DoctorReport
        ``rows`` (layer table), ``ok``, ``error``, ``diagnosis``, ``warnings``.
        ``print(report)`` shows the table, then the diagnosis and warnings.

    Raises
    ------
    InvalidParameterError
        For a model that is neither torch nor Keras, or a bad shape/batch_size.
    ShapeError
        With ``raise_on_error=True`` when the pass fails.

    Examples
    --------
    >>> import torch.nn as nn
    >>> model = nn.Sequential(nn.Conv1d(4, 8, kernel_size=3), nn.ReLU())
    >>> report = doctor(model, (32, 30, 4))
    >>> report.ok
    False
    >>> report.diagnosis.code
    'CHANNELS_LAST_TO_CONV1D'
    >>> print(report.diagnosis.fix)
    Build windows with seqprep.windows(..., layout='NCT') or call x.permute(0, 2, 1) before the conv.
    >>> doctor(model, (32, 4, 30)).rows[0]
    LayerRow(name='0', type='Conv1d', input_shape=(32, 4, 30), output_shape=(32, 8, 28), n_params=104)
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    raise_on_error = check_bool(raise_on_error, "raise_on_error")
    framework = _framework(model)
    x, layout = _make_batch(batch_or_shape, windows, batch_size)
    from . import _rules as rules

    if isinstance(x, Mapping) and framework != "torch":
        raise param_error("batch_or_shape", "an array or tensor for a Keras model (dict batches: torch models)",
                          f"a dict with keys {sorted(x)}", "Pass the array the Keras model takes.")
    spec = getattr(model, "input_spec", None)
    first = check_dict_batch(x, spec) if isinstance(x, Mapping) and isinstance(spec, Mapping) else None
    exc: BaseException | None
    if first is not None and isinstance(x, Mapping):  # the model would refuse it: say why, key by key, unrun
        report, exc = rules.dict_report(x, first), ShapeError(first.message)
    elif framework == "torch":
        report, exc = rules.run_torch(model, x, layout)
    else:
        report, exc = rules.run_keras(model, x, layout)
    if raise_on_error and not report.ok:
        diag = report.diagnosis
        text = f"{diag.message} Fix: {diag.fix}" if diag else (report.error or "forward pass failed")
        raise ShapeError(text) from exc
    return report
