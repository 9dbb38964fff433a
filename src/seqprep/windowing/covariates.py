"""Covariates by role: past, known and static inputs, categorical codes, missing-value masks and weights.

The data side of the dict batches of :func:`seqprep.windows` and :class:`seqprep.Pipeline`
(see :mod:`seqprep.windowing`). A column has one role:

- ``past`` (the ``features`` argument): known only up to a window's last input row ``e``;
- ``known``: known in advance (calendar, holidays, planned prices); a window reads its ``L`` input
  rows and then **every** row ``e + 1 .. e + H`` (``H = max(horizons)``), nothing after;
- ``static``: one value per series, stored once in an ``(n_series, C)`` table and gathered by the
  window's series (never repeated per row or per window); a value that changes inside a series is
  a :class:`~seqprep.exceptions.StaticValueError`.

String, ``category`` and ``object`` columns in any role are categorical: integer codes from a
:class:`~seqprep.windowing.Vocabulary` (0 = unknown or missing). Every gather here is index
arithmetic over whole batches (one fancy index per block), never a Python loop per window.

This module is public so that :mod:`seqprep.pipeline` builds its windows with the same pieces;
users reach the roles through the ``known``, ``static`` and ``weight`` arguments.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import as_strided

from .._validation import check_choice, check_distinct, check_names, list_names, param_error
from ..exceptions import DataError, ShapeError, StaticValueError
from ..io import polars_kind, polars_text_columns
from ._categories import Vocabulary, factorize_text, is_categorical
from ._spec import WindowSpec
from ._views import _strided_rows

__all__ = [
    "ColumnPlan",
    "FILLS",
    "RoleData",
    "RoleSpec",
    "check_dict_layout",
    "check_targets_finite",
    "code_rows",
    "column_means",
    "encode_categories",
    "fill_missing",
    "gather_roles",
    "make_roles",
    "needs_roles",
    "plan_columns",
    "series_weights",
    "static_tables",
    "to_frame",
    "validate_weights",
    "window_nbytes",
]

#: How ``nan_policy="mask"`` fills a missing value: carry the last value of the series forward (a
#: series that starts with missing values gets 0 there), 0, or the column's (training) mean.
FILLS = ("ffill", "zero", "mean")

#: The keys a dict batch may hold, in this order (see :mod:`seqprep.windowing`).
BATCH_KEYS = ("past", "past_mask", "past_cat", "known", "known_mask", "known_cat", "static", "static_cat", "weight")


@dataclass(frozen=True)
class RoleSpec:
    """The roles asked for (column names) and how missing values are handled; JSON-safe.

    Attributes
    ----------
    known, static : tuple of str
        Columns known in advance; columns constant within a series.
    weight : str or None
        A weight column (the weight of a window is its value at the window's first target row).
    weight_map : dict or None
        ``{series key: weight}`` instead of a column.
    mask : bool
        ``nan_policy="mask"``: fill missing values and carry a boolean mask beside them.
    fill : {"ffill", "zero", "mean"}
        How masked values are filled.
    """

    known: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    weight: str | None = None
    weight_map: dict[Any, float] | None = field(default=None, hash=False, compare=True)
    mask: bool = False
    fill: str = "ffill"

    @property
    def active(self) -> bool:
        """Whether any role beyond plain past inputs is asked for (categorical columns are found later)."""
        return bool(self.known or self.static or self.weight is not None or self.weight_map is not None or self.mask)


def _names(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray, pd.Index)):
        raise param_error(name, "a column name or a list of column names", value, f'E.g. {name}=["holiday"].')
    items = list(value)
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        raise param_error(
            name, "column names (str): roles need named columns", value,
            "Pass a DataFrame (or CSV/Parquet file) and name its columns.",
        )
    check_distinct(items, name, "columns")
    return tuple(items)


def make_roles(known: Any = None, static: Any = None, weight: Any = None, nan_policy: Any = "raise",
               fill: Any = "ffill") -> RoleSpec:
    """Check the role arguments of :func:`seqprep.windows` / :class:`seqprep.Pipeline` into a :class:`RoleSpec`.

    Examples
    --------
    >>> make_roles(known=["holiday"], static="region").active
    True
    >>> make_roles().active
    False
    """
    kn, st = _names(known, "known"), _names(static, "static")
    both = [c for c in kn if c in st]
    if both:
        raise param_error(
            "static", "columns that are not also `known`", list(st),
            f"{list_names(both)} is listed in both; a column has one role.",
        )
    w_col: str | None = None
    w_map: dict[Any, float] | None = None
    if isinstance(weight, str):
        w_col = weight
    elif isinstance(weight, (Mapping, pd.Series)):
        w_map = _weight_mapping(weight)
    elif weight is not None:
        raise param_error(
            "weight", "a column name or a mapping {series key: weight}", weight,
            'E.g. weight="w" or weight={"store_1": 2.0, "store_2": 1.0}.',
        )
    check_choice(fill, "fill", FILLS)
    return RoleSpec(kn, st, w_col, w_map, nan_policy == "mask", str(fill))


def _weight_mapping(weight: Mapping[Any, Any] | pd.Series) -> dict[Any, float]:
    items = list(weight.items())
    if not items:
        raise param_error("weight", "a non-empty mapping {series key: weight}", dict(items))
    try:
        values = np.array([float(v) for _, v in items], dtype=np.float64)
    except (TypeError, ValueError):
        raise param_error("weight", "a mapping of series keys to numbers", dict(items[:5])) from None
    validate_weights(values, "weight", [k for k, _ in items])
    return {k: float(v) for (k, _), v in zip(items, values, strict=True)}


def validate_weights(values: np.ndarray, where: str, labels: Sequence[Any] | None = None) -> None:
    """Refuse NaN/inf, negative weights and weights that are all zero, naming the first bad one."""
    bad = ~np.isfinite(values)
    neg = values < 0
    if bad.any() or neg.any():
        i = int(np.flatnonzero(bad | neg)[0])
        label = f"series {labels[i]!r}" if labels is not None else f"row {i}"
        what = "NaN or infinite" if bad[i] else "negative"
        raise DataError(
            f"`weight` must be finite and >= 0. Received: {where} holds a {what} weight ({values[i]!r}) at {label} "
            f"({int(bad.sum())} NaN/inf and {int(neg.sum())} negative in all). Fix those weights, or give them 0 "
            "to leave their windows out of the loss."
        )
    if values.size and not values.any():
        raise DataError(
            f"`weight` must have at least one weight > 0. Received: every weight in {where} is 0. Every window would "
            "count for nothing in the loss; give the windows you care about a positive weight."
        )


def to_frame(
    data: Any, argument: str = "known`/`static`/`weight", columns: Sequence[Any] | None = None
) -> pd.DataFrame:
    """The data as one pandas DataFrame (a CSV/Parquet path is read; a Polars frame is wrapped).

    A Polars frame's numeric columns are shared with Arrow's buffers (:func:`seqprep.io.from_polars`);
    ``columns`` (names, None: all) are the ones a LazyFrame collects, once.
    """
    from ..io import from_polars, polars_kind

    if isinstance(data, (str, os.PathLike)):
        from ..io import read_table

        return read_table(data)
    if isinstance(data, pd.DataFrame):
        return data
    if polars_kind(data) in ("DataFrame", "LazyFrame"):
        return from_polars(data, columns=None if columns is None else [str(c) for c in columns if c is not None])
    what = type(data).__name__ if not isinstance(data, list) else "a list of series"
    raise param_error(
        "data", f"a DataFrame or a CSV/Parquet path when `{argument}` or a categorical column is used", what,
        "Roles need named columns in one long table: pass a DataFrame with a `group` column for several series.",
    )


def needs_roles(data: Any, features: Sequence[Any] | None) -> bool:
    """Whether the explicit ``features`` of a DataFrame include a categorical column (dict batches then)."""
    if features is not None and polars_kind(data) in ("DataFrame", "LazyFrame"):
        text = set(polars_text_columns(data))  # from the schema: nothing is collected here
        return any(isinstance(f, str) and f in text for f in features)
    if features is None or not isinstance(data, pd.DataFrame):
        return False
    names = {str(c): c for c in data.columns}
    return any(isinstance(f, str) and f in names and is_categorical(data[names[f]]) for f in features)


@dataclass(frozen=True)
class ColumnPlan:
    """Which column plays which role, numeric and categorical apart (names)."""

    past: tuple[str, ...]
    past_cat: tuple[str, ...] = ()
    known: tuple[str, ...] = ()
    known_cat: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    static_cat: tuple[str, ...] = ()
    weight: str | None = None

    @property
    def categorical(self) -> tuple[str, ...]:
        """Every categorical column, in the order past, known, static."""
        return self.past_cat + self.known_cat + self.static_cat

    @property
    def row_categorical(self) -> tuple[str, ...]:
        """The categorical columns read per row (past and known)."""
        return self.past_cat + self.known_cat

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (saved with a pipeline)."""
        return {"past": list(self.past), "past_cat": list(self.past_cat), "known": list(self.known),
                "known_cat": list(self.known_cat), "static": list(self.static), "static_cat": list(self.static_cat),
                "weight": self.weight}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnPlan:
        """Inverse of :meth:`to_dict`."""
        args: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
        return cls(**args)

    def inputs(self, vocab: Mapping[str, Vocabulary]) -> dict[str, Any]:
        """The :attr:`seqprep.Windows.inputs` description."""
        return {
            "past": list(self.past), "past_cat": list(self.past_cat), "known": list(self.known),
            "known_cat": list(self.known_cat), "static": list(self.static), "static_cat": list(self.static_cat),
            "cardinalities": {c: vocab[c].cardinality for c in self.categorical if c in vocab},
        }


def plan_columns(
    df: pd.DataFrame,
    roles: RoleSpec,
    features: Sequence[str] | None,
    targets: Sequence[str],
    special: Sequence[Any],
    categorical: Callable[[str], bool] | None = None,
    exclude: Sequence[str] = (),
) -> ColumnPlan:
    """Split the columns by role; ``features=None`` means every numeric column not given another role.

    ``categorical(name)`` says whether a column is categorical (default: by its dtype, see
    :func:`~seqprep.windowing._categories.is_categorical`); a fitted pipeline passes its own answer.
    ``exclude`` are columns never taken by default (e.g. index-like columns).
    """
    from ..io import index_columns

    names = [str(c) for c in df.columns]
    is_cat = categorical or (lambda c: is_categorical(df[c]))
    for arg, cols in (("known", roles.known), ("static", roles.static)):
        check_names(cols, arg, names)
        clash = [c for c in cols if c in targets]
        if clash:
            raise param_error(
                arg, "columns other than the target", list(cols),
                f"{list_names(clash)} is the target: a target is never {arg} (that would hand the model the answer).",
            )
    if roles.weight is not None:
        check_names([roles.weight], "weight", names)
    taken = set(roles.known) | set(roles.static) | {roles.weight} | {str(s) for s in special if s is not None}
    if features is None:
        skip = set(index_columns(df, [s for s in special if isinstance(s, str)])) | set(exclude)
        feats = [c for c in names if c not in taken and c not in skip and not is_cat(c) and _numeric(df[c])]
        feats += [t for t in targets if t not in feats and t not in taken]
    else:
        feats = list(features)
        check_names(feats, "features", names)
        for arg, cols in (("known", roles.known), ("static", roles.static)):
            clash = [c for c in feats if c in cols]
            if clash:
                raise param_error(
                    "features", f"columns that are not also `{arg}`", feats,
                    f"{list_names(clash)} is listed in both; a column has one role (past, known or static).",
                )
    return ColumnPlan(
        past=tuple(c for c in feats if not is_cat(c)), past_cat=tuple(c for c in feats if is_cat(c)),
        known=tuple(c for c in roles.known if not is_cat(c)), known_cat=tuple(c for c in roles.known if is_cat(c)),
        static=tuple(c for c in roles.static if not is_cat(c)), static_cat=tuple(c for c in roles.static if is_cat(c)),
        weight=roles.weight,
    )


def _numeric(column: pd.Series) -> bool:
    dtype = column.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype)) and not pd.api.types.is_datetime64_any_dtype(dtype)


# ---------------------------------------------------------------------- categorical codes per row


def encode_categories(
    df: pd.DataFrame, columns: Sequence[str], vocab: Mapping[str, Vocabulary] | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]], dict[str, int]]:
    """*df* with its categorical *columns* replaced by integer codes that travel with their rows.

    Without *vocab* the codes are provisional (``0..k-1`` over the distinct values, ``-1`` for
    missing; their texts are returned per column) so that a vocabulary can be fitted later on the
    training rows only (:func:`code_rows`); with *vocab* they are final (0 = unknown or missing) and
    the number of 0 codes per column is returned.
    """
    frame = df
    keys: dict[str, list[str]] = {}
    unknown: dict[str, int] = {}
    for c in columns:
        if vocab is not None:
            codes, unknown[c] = vocab[c].encode(df[c])
        else:
            codes, keys[c] = factorize_text(df[c])  # type: ignore[assignment]
        frame = frame.assign(**{c: codes})
    return frame, keys, unknown


def code_rows(provisional: np.ndarray, keys: Sequence[str], rows: Any = None) -> tuple[np.ndarray, Vocabulary, int]:
    """Final codes (int32) from provisional ones, the vocabulary fitted on *rows* (all if None), and the 0 count."""
    prov = np.asarray(provisional, dtype=np.int64)
    vocab = Vocabulary.from_factorized(prov, keys, rows)
    out = vocab.lookup(keys)[prov]
    return out, vocab, int(np.count_nonzero(out == 0))


def check_targets_finite(values: np.ndarray, names: Sequence[str]) -> None:
    """Targets are never filled (a filled target is a guess): refuse NaN/inf in them under ``nan_policy="mask"``."""
    bad = ~np.isfinite(values)
    if bad.any():
        cols = [names[int(j)] for j in np.flatnonzero(bad.any(axis=0))]
        raise DataError(
            f"the target {list_names(cols)} has {int(bad.sum())} missing value(s) (the first at row "
            f"{int(np.flatnonzero(bad.any(axis=1))[0])}); nan_policy='mask' fills and masks inputs only, never a "
            "target. Drop those rows first (e.g. df.dropna(subset=[target])) or use nan_policy='drop'."
        )


# ---------------------------------------------------------------------- static values, one row per series


def _row_keys(df: pd.DataFrame, group: Any) -> np.ndarray | None:
    """The series key of every row of *df* (None: one series)."""
    if group is None:
        return None
    if isinstance(group, str):
        return df[group].to_numpy()
    return np.asarray(group)


def static_tables(
    df: pd.DataFrame,
    plan: ColumnPlan,
    group: Any,
    series_keys: Sequence[Any],
    fit_series: np.ndarray | None = None,
    vocab: Mapping[str, Vocabulary] | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, Vocabulary], dict[str, int]]:
    """The static columns as per-series tables, in the order of *series_keys*.

    Returns ``(static (n_series, C) float64, static_cat (n_series, K) int32, vocabularies, unknown counts)``.
    Categorical vocabularies are fitted on the series selected by *fit_series* (a boolean mask over
    *series_keys*; all series if None) unless *vocab* gives them.

    Raises
    ------
    StaticValueError
        When a static column takes two values inside one series (naming the column, the series and both values).
    """
    cols = plan.static + plan.static_cat
    if not cols:
        return None, None, {}, {}
    keys = _row_keys(df, group)
    uniques: Any = None
    if keys is None:
        codes = np.zeros(len(df), dtype=np.int64)
        order = np.zeros(len(series_keys), dtype=np.int64)
    else:
        codes, uniques = pd.factorize(keys, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.int64)
        order = pd.Index(uniques).get_indexer(list(series_keys))
        if (order < 0).any():
            missing = series_keys[int(np.flatnonzero(order < 0)[0])]
            raise DataError(f"series {missing!r} has no rows to read its static values from.")
    n_codes = int(codes.max(initial=-1)) + 1
    first_row = np.zeros(max(n_codes, 1), dtype=np.int64)
    rows = np.arange(len(codes), dtype=np.int64)[::-1]
    first_row[codes[::-1]] = rows  # repeated indices: the last assignment wins, i.e. each series' first row
    if (codes < 0).any():  # (io refuses missing series keys before this runs)
        raise DataError("`group` has a missing key: every row needs a series key.")

    def label(g: int) -> str:
        return "the series" if uniques is None else f"series {uniques[g]!r}"

    static = None
    safe_codes = np.where(codes >= 0, codes, 0) if keys is not None else codes
    if plan.static:
        static = np.empty((len(series_keys), len(plan.static)), dtype=np.float64)
        for j, c in enumerate(plan.static):
            v = _static_numbers(df[c], c)
            _check_constant(v, safe_codes, first_row, c, label, df.index)
            per_series = v[first_row]
            nan = np.isnan(per_series)
            if nan.any():
                raise DataError(
                    f"`static` column {c!r} is missing (NaN) for {label(int(np.flatnonzero(nan)[0]))}. Static values "
                    "are never filled: fill it in the data, or declare the column categorical (missing = code 0)."
                )
            static[:, j] = per_series[order]
    static_cat = None
    vocabs: dict[str, Vocabulary] = {}
    unknown: dict[str, int] = {}
    if plan.static_cat:
        cols_codes = []
        for c in plan.static_cat:
            fcodes, fkeys = factorize_text(df[c])
            _check_constant(fcodes, safe_codes, first_row, c, label, df.index, values=df[c])
            per_series = fcodes[first_row][order]
            voc = vocab[c] if vocab is not None else Vocabulary.from_factorized(per_series, fkeys, fit_series)
            out = voc.lookup(fkeys)[per_series]
            vocabs[c], unknown[c] = voc, int(np.count_nonzero(out == 0))
            cols_codes.append(out)
        static_cat = np.ascontiguousarray(np.column_stack(cols_codes).astype(np.int32))
    return static, static_cat, vocabs, unknown


def _static_numbers(column: pd.Series, name: str) -> np.ndarray:
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise DataError(f"`static` column {name!r} ({column.dtype}) is not numeric nor categorical.") from None


def _check_constant(
    v: np.ndarray, codes: np.ndarray, first_row: np.ndarray, name: str,
    label: Callable[[int], str], index: pd.Index, values: pd.Series | None = None,
) -> None:
    """Refuse a column whose value in some row differs from its series' first value (one gather, one compare)."""
    ref = v[first_row][codes]
    differs = v != ref
    if v.dtype.kind == "f" and differs.any():
        differs &= ~(np.isnan(v) & np.isnan(ref))  # NaN == NaN here (a missing static value is reported apart)
    if not differs.any():
        return
    row = int(np.flatnonzero(differs)[0])
    g = int(codes[row])
    first = int(first_row[g])
    a = _plain(values.iloc[first] if values is not None else v[first])
    b = _plain(values.iloc[row] if values is not None else v[row])
    raise StaticValueError(
        f"`static` column {name!r} must be constant within each series. Received: {label(g)} has {a!r} at row "
        f"{_plain(index[first])!r} and {b!r} at row {_plain(index[row])!r}. Declare a column that changes over time "
        "as `known` (or a past feature), or fix its values so each series has one."
    )


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for messages: ``2.0``, not ``np.float64(2.0)``)."""
    return value.item() if isinstance(value, np.generic) else value


def series_weights(weight_map: Mapping[Any, float], series_keys: Sequence[Any]) -> np.ndarray:
    """The weight of each series, in the order of *series_keys* (every series must have one)."""
    lookup = dict(weight_map)
    missing = [k for k in series_keys if k not in lookup]
    if missing:
        raise DataError(
            f"`weight` gives no weight for series {list_names(missing[:10])}{' ...' if len(missing) > 10 else ''} "
            f"({len(missing)} of {len(series_keys)} series). Give every series a weight (e.g. 1.0), or pass a weight "
            "column instead."
        )
    out = np.array([lookup[k] for k in series_keys], dtype=np.float32)
    validate_weights(out.astype(np.float64), "`weight`", list(series_keys))
    return out


# ---------------------------------------------------------------------- masks


def fill_missing(values: np.ndarray, bounds: np.ndarray, how: str,
                 means: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(filled, mask)``: NaN/inf replaced as *how* says (within each series), and where they were.

    ``"ffill"`` carries a series' last finite value forward (0 before its first one), ``"zero"``
    writes 0, ``"mean"`` writes *means* (one per column; 0 for a column without any). Vectorized:
    a running maximum of row positions, never a loop over rows or series.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[np.nan], [1.0], [np.nan], [np.nan], [5.0]])
    >>> filled, mask = fill_missing(x, np.array([0, 3, 5]), "ffill")
    >>> filled[:, 0].tolist(), mask[:, 0].tolist()
    ([0.0, 1.0, 1.0, 0.0, 5.0], [True, False, True, True, False])
    """
    mask = ~np.isfinite(values)
    if not mask.any():
        return values, mask
    if how == "zero":
        return np.where(mask, 0, values).astype(values.dtype, copy=False), mask
    if how == "mean":
        m = np.zeros(values.shape[1]) if means is None else np.nan_to_num(np.asarray(means, dtype=np.float64))
        return np.where(mask, m[None, :], values).astype(values.dtype, copy=False), mask
    n = values.shape[0]
    pos = np.where(mask, -1, np.arange(n, dtype=np.int64)[:, None])
    np.maximum.accumulate(pos, axis=0, out=pos)
    row_start = np.repeat(np.asarray(bounds[:-1], dtype=np.int64), np.diff(bounds))[:, None]
    ok = pos >= row_start
    src = np.take_along_axis(values, np.where(ok, pos, 0), axis=0)
    return np.where(ok, src, 0).astype(values.dtype, copy=False), mask


def column_means(values: np.ndarray, rows: Any = None) -> np.ndarray:
    """Mean of each column over the finite values of *rows* (0 for a column with none)."""
    part = values if rows is None else values[rows]
    finite = np.isfinite(part)
    count = finite.sum(axis=0)
    total = np.where(finite, part, 0).sum(axis=0, dtype=np.float64)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


# ---------------------------------------------------------------------- what Windows holds and gathers


@dataclass
class RoleData:
    """The per-row and per-series arrays behind the dict batches (held by :class:`seqprep.Windows`).

    Row arrays are in the order of the windows' :class:`~seqprep.io.SeriesData`; per-series tables
    have one row per series. ``None`` for a block that does not apply.
    """

    plan: ColumnPlan
    past_cat: np.ndarray | None = None      # (n_rows, K) int32
    known: np.ndarray | None = None         # (n_rows, C) float
    known_cat: np.ndarray | None = None     # (n_rows, K) int32
    static: np.ndarray | None = None        # (n_series, C) float64
    static_cat: np.ndarray | None = None    # (n_series, K) int32
    weight_rows: np.ndarray | None = None   # (n_rows,) float32
    weight_series: np.ndarray | None = None  # (n_series,) float32
    past_mask: np.ndarray | None = None     # (n_rows, C_past) bool
    known_mask: np.ndarray | None = None    # (n_rows, C_known) bool
    vocab: dict[str, Vocabulary] = field(default_factory=dict)
    unknown_counts: dict[str, int] = field(default_factory=dict)
    include_past: bool = True

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """Every array held (for memory accounting)."""
        names = ("past_cat", "known", "known_cat", "static", "static_cat", "weight_rows", "weight_series",
                 "past_mask", "known_mask")
        return {n: a for n in names if (a := getattr(self, n)) is not None}


def check_dict_layout(layout: str) -> None:
    """Dict batches support the tabular layouts ``"NTC"`` and ``"NCT"`` only."""
    if layout not in ("NTC", "NCT"):
        raise ShapeError(
            f"layout={layout!r} is not available with dict batches (known/static inputs, categorical columns, "
            "masks or weights): their 'past' block takes layout 'NTC' or 'NCT'. Received: "
            f"layout={layout!r}. Use layout='NTC' (or 'NCT' for Conv1d), and reshape inside the model if needed."
        )


def _input_rows(rows: np.ndarray, starts: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """``rows[s + k * sampling_rate]`` for ``k < lookback``, for every start: one gather from a strided view."""
    return _strided_rows(rows, spec)[starts]


def _known_rows(rows: np.ndarray, starts: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """The input rows, then rows ``e + 1 .. e + H`` of each window (``e`` its last input row, ``H`` max horizon)."""
    h = max(spec.horizons)
    step = rows.strides[0]
    if spec.sampling_rate == 1:  # the L + H rows are consecutive: one strided view, one gather
        n_valid = max(rows.shape[0] - spec.lookback - h + 1, 0)
        view = as_strided(rows, shape=(n_valid, spec.lookback + h, *rows.shape[1:]), strides=(step, *rows.strides),
                          writeable=False)
        return view[starts]
    out = np.empty((len(starts), spec.lookback + h, *rows.shape[1:]), dtype=rows.dtype)
    out[:, : spec.lookback] = _input_rows(rows, starts, spec)
    after = rows[spec.last_input_offset + 1 :]
    n_valid = max(after.shape[0] - h + 1, 0)
    view = as_strided(after, shape=(n_valid, h, *rows.shape[1:]), strides=(step, *after.strides), writeable=False)
    out[:, spec.lookback :] = view[starts]
    return out


def window_nbytes(rd: RoleData, spec: WindowSpec) -> int:
    """Bytes the role blocks of one window take once gathered (everything but ``"past"``)."""
    L, ahead = spec.lookback, spec.lookback + max(spec.horizons)
    item = np.dtype(spec.dtype).itemsize

    def width(a: np.ndarray | None) -> int:
        return 0 if a is None else (a.shape[1] if a.ndim == 2 else 1)

    total = L * width(rd.past_mask) + L * width(rd.past_cat) * 8
    total += ahead * (width(rd.known) * item + width(rd.known_mask) + width(rd.known_cat) * 8)
    total += width(rd.static) * item + width(rd.static_cat) * 8
    return int(total + 4 * (rd.weight_rows is not None or rd.weight_series is not None))


def gather_roles(rd: RoleData, starts: np.ndarray, spec: WindowSpec, bounds: np.ndarray) -> dict[str, np.ndarray]:
    """The role blocks of the windows starting at *starts* (everything but ``"past"``), by index arithmetic."""
    s = np.asarray(starts, dtype=np.int64)
    e = s + spec.last_input_offset
    out: dict[str, np.ndarray] = {}
    dtype = np.dtype(spec.dtype)
    if rd.past_mask is not None:
        out["past_mask"] = _input_rows(rd.past_mask, s, spec)
    if rd.past_cat is not None:
        out["past_cat"] = _input_rows(rd.past_cat, s, spec).astype(np.int64)
    # known: the L input rows, then every row e+1 .. e+H (H = the largest horizon): nothing after e+H
    if rd.known is not None:
        out["known"] = _known_rows(rd.known, s, spec).astype(dtype, copy=False)
        if rd.known_mask is not None:
            out["known_mask"] = _known_rows(rd.known_mask, s, spec)
    if rd.known_cat is not None:
        out["known_cat"] = _known_rows(rd.known_cat, s, spec).astype(np.int64)
    series = None
    if rd.static is not None or rd.static_cat is not None or rd.weight_series is not None:
        series = np.searchsorted(bounds, s, side="right") - 1
    if rd.static is not None:
        out["static"] = rd.static[series].astype(dtype)
    if rd.static_cat is not None:
        out["static_cat"] = rd.static_cat[series].astype(np.int64)
    if rd.weight_rows is not None:
        out["weight"] = rd.weight_rows[e + min(spec.horizons)]
    elif rd.weight_series is not None:
        out["weight"] = rd.weight_series[series]
    return out
