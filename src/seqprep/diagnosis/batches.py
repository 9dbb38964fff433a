"""Dict batches: what a model declares it reads, and a check of a batch against that declaration.

When windows carry more than one block of past values (``known`` or ``static`` covariates, categorical
columns, ``nan_policy="mask"``, weights or per-window target normalization), a batch's ``X`` is a dict
whose keys come from one fixed set (:data:`INPUT_KEYS` the model reads, :data:`META_KEYS` the training
loop reads). A model built for such batches declares what it reads as an *input spec* (a plain,
JSON-safe dict made by :func:`input_spec` from ``Windows.inputs``); :func:`check_dict_batch` compares a
batch with it and returns the first problem as a :class:`~seqprep.diagnosis.Diagnosis` (a one-line
cause and a fix), which :func:`seqprep.doctor` reports and the reference models raise.

Codes:

=========================  ==========================================================
DICT_UNKNOWN_KEY           a key outside seqprep's batch keys
DICT_KEY_MISSING           the model reads a key (e.g. "known") the batch lacks
DICT_KEY_UNDECLARED        the batch carries inputs the model was built without (it would ignore them)
DICT_BATCH_MISMATCH        the keys hold different numbers of windows
DICT_SHAPE                 a key has the wrong number of axes or of columns
DICT_DTYPE                 float values stored as integers/booleans (or a mask that is not boolean)
KNOWN_ROWS                 "known" does not hold T + H rows (the window's T rows, then the H horizon rows)
CATEGORY_NOT_INTEGER       category codes that are floats (the embedding needs integer codes)
CATEGORY_OUT_OF_RANGE      a code >= the column's cardinality (or < 0): another vocabulary
=========================  ==========================================================

Arrays may be numpy arrays or torch tensors; this module imports neither torch nor a model.

Examples
--------
>>> import numpy as np
>>> spec = input_spec({"past": ["y"], "known": ["hour"], "known_cat": ["holiday"],
...                    "cardinalities": {"holiday": 3}}, horizon=2)
>>> spec["known"], spec["known_cat"], spec["horizon"]
(1, {'holiday': 3}, 2)
>>> batch = {"past": np.zeros((4, 6, 1), np.float32), "known": np.zeros((4, 6, 1), np.float32),
...          "known_cat": np.zeros((4, 8, 1), np.int64)}
>>> diag = check_dict_batch(batch, spec)
>>> diag.code
'KNOWN_ROWS'
>>> print(diag.message)  # doctest: +ELLIPSIS
'known' has 6 rows per window, but the model reads T + H = 6 + 2 = 8: the window's T = 6 input rows ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._validation import check_bool, check_int, list_names, param_error
from ._report import Diagnosis

__all__ = [
    "BATCH_KEYS",
    "INPUT_KEYS",
    "META_KEYS",
    "ROLES",
    "check_dict_batch",
    "embedding_dim",
    "input_spec",
]

#: The roles of ``Windows.inputs`` (lists of column names), in the order a model joins them.
ROLES = ("past", "past_cat", "known", "known_cat", "static", "static_cat")
#: The keys a model reads.
INPUT_KEYS = ("past", "past_mask", "past_cat", "known", "known_mask", "known_cat", "static", "static_cat")
#: The keys the training loop reads (sample weights, per-window target normalization); models ignore them.
META_KEYS = ("weight", "target_loc", "target_scale")
#: Every key a dict batch may hold.
BATCH_KEYS = INPUT_KEYS + META_KEYS

_FLOAT_ROLES = ("past", "known", "static")
_CAT_ROLES = ("past_cat", "known_cat", "static_cat")
_FROM_WINDOWS = "build the model from these windows: CNNLSTM.from_windows(windows) (or inputs=windows.inputs)"


def embedding_dim(n_codes: int) -> int:
    """Embedding width for a column of *n_codes* codes (the unknown code 0 included).

    pytorch-forecasting's ``get_embedding_size`` (fastai's rule ``round(1.6 * n ** 0.56)``, 1 for
    two codes or fewer), capped at 16 instead of 100 (fastai: 600) to suit the small reference models.

    Examples
    --------
    >>> [embedding_dim(n) for n in (2, 3, 8, 50, 1000)]
    [1, 3, 5, 14, 16]
    """
    n = check_int(n_codes, "n_codes", minimum=1)
    return 1 if n <= 2 else min(16, round(1.6 * n**0.56))


def input_spec(inputs: Any, *, horizon: int | None = None, masks: bool = False) -> dict[str, Any]:
    """The input spec of a model built for dict batches, from ``Windows.inputs``.

    Parameters
    ----------
    inputs : dict
        ``Windows.inputs``: ``{"past": [cols], "past_cat": [...], "known": [...], "known_cat": [...],
        "static": [...], "static_cat": [...], "cardinalities": {col: n_codes}}`` (missing roles are
        empty; keys outside these are ignored). Every categorical column needs its cardinality
        (codes ``0 .. n_codes - 1``, 0 = unknown).
    horizon : int, optional
        H, the rows of ``known`` after the window's end (``max`` of the windows' horizons; 0 for
        windows whose target is their own last row). Needed when there are known inputs.
    masks : bool, default False
        Whether batches carry ``past_mask`` (and ``known_mask`` with known inputs): windows built
        with ``nan_policy="mask"``.

    Returns
    -------
    dict
        ``{"past": C_past, "known": C_known, "static": C_static, "past_cat": {col: n_codes}, ...,
        "horizon": H, "masks": bool}``, JSON-safe.
    """
    if not isinstance(inputs, Mapping):
        raise param_error("inputs", "a dict such as windows.inputs", inputs,
                          "Pass inputs=windows.inputs (or use CNNLSTM.from_windows(windows)).")
    cards = inputs.get("cardinalities") or {}
    if not isinstance(cards, Mapping):
        raise param_error("inputs['cardinalities']", "a dict {column: number of codes}", cards)
    spec: dict[str, Any] = {}
    for role in ROLES:
        cols = inputs.get(role) or []
        if isinstance(cols, (str, bytes)) or not all(isinstance(c, str) for c in cols):
            raise param_error(f"inputs[{role!r}]", "a list of column names", cols, "Pass inputs=windows.inputs.")
        if role in _FLOAT_ROLES:
            spec[role] = len(cols)
            continue
        missing = [c for c in cols if c not in cards]
        if missing:
            raise param_error("inputs['cardinalities']", f"the number of codes of every {role} column", dict(cards),
                              f"Missing: {list_names(missing)}. Pass inputs=windows.inputs as it is.")
        spec[role] = {c: check_int(cards[c], f"inputs['cardinalities'][{c!r}]", minimum=1) for c in cols}
    if spec["past"] < 1:
        raise param_error("inputs['past']", "at least one past column (the reference models read past values)",
                          inputs.get("past"), "Put the target (or another column) among the past inputs.")
    has_known = bool(spec["known"] or spec["known_cat"])
    if horizon is None:
        if has_known:
            raise param_error("horizon", "an integer >= 0 with known inputs", horizon,
                              "Pass horizon=H, the largest forecast step of the windows (or use from_windows).")
        horizon = 0
    horizon = check_int(horizon, "horizon", minimum=0)
    spec["horizon"] = horizon if has_known else 0
    spec["masks"] = check_bool(masks, "masks")
    return spec


# ---------------------------------------------------------------------------- checking a batch
def _kind(a: Any) -> str:
    """'f' float, 'i' integer, 'b' bool, '?' other -- for numpy arrays and torch tensors alike."""
    dtype = getattr(a, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if isinstance(kind, str):  # numpy
        return {"f": "f", "i": "i", "u": "i", "b": "b"}.get(kind, "?")
    text = str(dtype)
    if "bool" in text:
        return "b"
    if "float" in text or "half" in text or "double" in text:
        return "f"
    if "int" in text or "long" in text or "short" in text:
        return "i"
    return "?"


def _shape(a: Any) -> tuple[int, ...] | None:
    shape = getattr(a, "shape", None)
    return None if shape is None else tuple(int(s) for s in shape)


def _dtype_name(a: Any) -> str:
    return str(getattr(a, "dtype", type(a).__name__)).replace("torch.", "")


def _expected(spec: Mapping[str, Any]) -> list[str]:
    """The input keys a batch must hold for *spec*."""
    keys = ["past"]
    if spec.get("masks"):
        keys.append("past_mask")
    if spec.get("past_cat"):
        keys.append("past_cat")
    if spec.get("known"):
        keys += ["known", "known_mask"] if spec.get("masks") else ["known"]
    if spec.get("known_cat"):
        keys.append("known_cat")
    if spec.get("static"):
        keys.append("static")
    if spec.get("static_cat"):
        keys.append("static_cat")
    return keys


def _role_text(key: str, spec: Mapping[str, Any]) -> str:
    role = key.replace("_mask", "")
    value = spec.get(role)
    if isinstance(value, Mapping):
        return f"{key} inputs {list_names(value)}"
    if key.endswith("_mask"):
        return f"masks ({key}, nan_policy='mask')"
    return f"{value} {role} column(s)"


def check_dict_batch(batch: Mapping[str, Any], spec: Mapping[str, Any]) -> Diagnosis | None:
    """The first problem of a dict batch for a model of input spec *spec*, or None.

    Parameters
    ----------
    batch : dict of str to array or tensor
        One batch's ``X`` (arrays of shape ``(B, ...)``).
    spec : dict
        The model's input spec (:func:`input_spec`; a seqprep model's ``model.input_spec``).

    Returns
    -------
    Diagnosis or None
        Code, message and fix of the first problem found (see the module's table), None when the
        batch fits.
    """
    unknown = [k for k in batch if k not in BATCH_KEYS]
    if unknown:
        return Diagnosis(
            "DICT_UNKNOWN_KEY", None,
            f"the batch has key(s) {list_names(unknown)}, which are not seqprep batch keys "
            f"({list_names(BATCH_KEYS)}).",
            "pass the dict the windows give (windows[idx], batches(), to_torch()) without renaming its keys.",
        )
    expected = _expected(spec)
    for key in expected:
        if key not in batch:
            how = "nan_policy='mask'" if key.endswith("_mask") else f"{key.replace('_cat', '')}=[...]"
            fix = f"build the windows with the same roles as the model ({how}), or {_FROM_WINDOWS}."
            return Diagnosis("DICT_KEY_MISSING", None,
                             f"the model was built to read {_role_text(key, spec)}, but the batch has no {key!r} "
                             f"(its keys: {list_names(batch)}).", fix)
    extra = [k for k in batch if k in INPUT_KEYS and k not in expected]
    if extra:
        key = extra[0]
        shape = _shape(batch[key])
        width = f" ({shape[-1]} column(s))" if shape else ""
        return Diagnosis(
            "DICT_KEY_UNDECLARED", None,
            f"the batch carries {key!r}{width}, but the model was built without it: it would ignore these inputs.",
            f"{_FROM_WINDOWS}; or build the windows without that role.",
        )
    sizes = {k: _shape(v) for k, v in batch.items()}
    bad = [k for k, s in sizes.items() if not s]
    if bad:
        return Diagnosis("DICT_SHAPE", None, f"batch key {bad[0]!r} holds {type(batch[bad[0]]).__name__}, not an array "
                         "with a batch axis.", "pass arrays or tensors of shape (B, ...) under every key.")
    n = {k: s[0] for k, s in sizes.items() if s}
    if len(set(n.values())) > 1:
        return Diagnosis("DICT_BATCH_MISMATCH", None,
                         "the batch's keys hold different numbers of windows: "
                         + ", ".join(f"{k} {v}" for k, v in n.items()) + ".",
                         "take the same windows for every key (index the whole dict, e.g. windows[idx]).")
    return _check_shapes(batch, spec, sizes)


def _check_shapes(batch: Mapping[str, Any], spec: Mapping[str, Any], sizes: dict[str, Any]) -> Diagnosis | None:
    past = sizes["past"]
    if len(past) != 3 or past[2] != spec["past"]:
        return _shape_problem("past", past, f"(B, T, {spec['past']})", spec)
    T, H = past[1], int(spec.get("horizon") or 0)
    for key, shape in sizes.items():
        if key == "past" or key in META_KEYS:
            continue
        role = key.replace("_mask", "")
        width = spec[role] if isinstance(spec[role], int) else len(spec[role])
        if role.startswith("static"):
            want: tuple[int, ...] = (shape[0], width)
            text = f"(B, {width})"
        else:
            rows = T if role.startswith("past") else T + H
            want = (shape[0], rows, width)
            text = f"(B, {'T' if rows == T else 'T + H'}, {width}) = (B, {rows}, {width})"
            if role.startswith("known") and len(shape) == 3 and shape[2] == width and shape[1] != rows:
                return _known_rows(key, shape[1], T, H)
        if shape != want:
            return _shape_problem(key, shape, text, spec)
    for key in batch:
        diag = _check_dtype(key, batch[key], spec)
        if diag is not None:
            return diag
    return None


def _known_rows(key: str, rows: int, T: int, H: int) -> Diagnosis:
    message = (f"{key!r} has {rows} rows per window, but the model reads T + H = {T} + {H} = {T + H}: the window's "
               f"T = {T} input rows (as 'past'), then the H = {H} rows after its end.")
    if rows == T:
        fix = ("the known block must reach the horizon: build the windows with known=[...] through seqprep, which "
               "gives T + H rows, and do not cut it to the past rows.")
    else:
        fix = (f"build the model with the windows' horizon (horizon={rows - T} if these windows are right), or "
               f"{_FROM_WINDOWS}.")
    return Diagnosis("KNOWN_ROWS", None, message, fix)


def _shape_problem(key: str, shape: tuple[int, ...], want: str, spec: Mapping[str, Any]) -> Diagnosis:
    role = key.replace("_mask", "")
    value = spec.get(role)
    cols = f" ({list_names(value)})" if isinstance(value, Mapping) else ""
    message = f"{key!r} has shape {shape}, but the model reads {want}{cols}."
    fix = f"build the model from the windows it is fed: {_FROM_WINDOWS}."
    if key == "past" and len(shape) == 3 and shape[1] == spec["past"] and shape[2] != spec["past"]:
        fix = "'past' looks channels-first (B, C, T): build windows with layout='NTC' or use x.permute(0, 2, 1)."
    return Diagnosis("DICT_SHAPE", None, message, fix)


def _check_dtype(key: str, value: Any, spec: Mapping[str, Any]) -> Diagnosis | None:
    kind = _kind(value)
    if key in _CAT_ROLES:
        if kind == "f":
            return Diagnosis(
                "CATEGORY_NOT_INTEGER", None,
                f"{key!r} holds {_dtype_name(value)} values, but category codes must be integers for the embedding.",
                "keep the int64 codes the windows give: cast only the float keys ('past', 'known', 'static'), "
                "never the whole batch, to float.",
            )
        if kind != "i":
            return Diagnosis("CATEGORY_NOT_INTEGER", None,
                             f"{key!r} holds {_dtype_name(value)} values; category codes must be int64.",
                             "pass the codes the windows give (int64, 0 = unknown).")
        return _check_codes(key, value, spec[key])
    if key.endswith("_mask"):
        if kind not in ("b", "f"):
            return Diagnosis("DICT_DTYPE", None, f"{key!r} holds {_dtype_name(value)} values; a mask is boolean "
                             "(True = the value was missing and filled).", "pass the boolean mask the windows give.")
        return None
    if kind != "f":
        return Diagnosis("DICT_DTYPE", None, f"{key!r} holds {_dtype_name(value)} values; the model reads floats "
                         "there.", f"convert it with {key}.float() (torch) or .astype('float32') (numpy).")
    return None


def _check_codes(key: str, value: Any, cards: Mapping[str, int]) -> Diagnosis | None:
    if not _shape(value) or min(_shape(value) or (0,)) == 0:
        return None
    for j, (col, n_codes) in enumerate(cards.items()):
        column = value[..., j]
        hi, lo = int(column.max()), int(column.min())
        if hi < n_codes and lo >= 0:
            continue
        bad = hi if hi >= n_codes else lo
        return Diagnosis(
            "CATEGORY_OUT_OF_RANGE", None,
            f"{key!r} column {col!r} holds code {bad}, but the model's embedding has {n_codes} codes (0 = unknown, "
            f"1 .. {n_codes - 1} the training values): the codes come from another vocabulary than the one the "
            "model was built with, and an embedding lookup would fail with 'index out of range'.",
            "encode every part with the same fitted Pipeline (unseen values become code 0), and build the model "
            "from that pipeline's windows: CNNLSTM.from_windows(windows).",
        )
    return None
