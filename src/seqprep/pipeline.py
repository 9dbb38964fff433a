"""The leak-free pipeline: split in time, fit statistics on the training rows, window every part.

:class:`Pipeline` puts the honest order of operations in one object:

1. validate the data (:func:`seqprep.io.as_series`) and add causal features (past rows only);
2. split **in time first** (:func:`seqprep.split`), with a purge gap;
3. fit every statistic (the scaler) on the **training rows only**;
4. apply those training statistics to the training, validation and test rows -- and later to
   new data (:meth:`Pipeline.transform`) -- and cut lazy windows for each part.

Why not scale each part with its own statistics? A common piece of advice is to standardize
train and test separately, each with its own mean and standard deviation. That is itself a leak:
the test set's mean and spread are future information, and the two parts end up on different
scales (a test value of 0 no longer means what it meant in training). seqprep has no way to do
it: the only statistics a pipeline ever applies are the training part's.

A fitted pipeline saves to a directory of JSON (and never pickle) with a content hash checked on
load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._files import clean_stale, disk_errors, output_lock, replace_dir, temp_dir_beside
from ._json import freq_json, json_default, key_json
from ._manifest import verify_checksums, write_checksums
from ._validation import check_bool, check_choice, check_distinct, check_int, list_names, param_error
from ._version import __version__
from .exceptions import ArtifactError, DataError, DataWarning, InvalidParameterError, NotFittedError, ShapeError
from .io import SeriesData, as_series, check_out_dir, from_polars, polars_kind
from .scaling import (
    BaseScaler,
    ColumnScaler,
    IdentityScaler,
    InstanceScaler,
    SeriesScaler,
    WindowNormalizer,
    make_scaler,
)
from .splitting import CONTEXTS, Split, check_holdout_args, check_split_args, split
from .timeaxis import parse_duration
from .windowing import Vocabulary, Windows, check_horizon_zero, make_window_spec, window_starts
from .windowing.covariates import (
    ColumnPlan,
    RoleData,
    RoleSpec,
    check_dict_layout,
    check_targets_finite,
    code_rows,
    column_means,
    encode_categories,
    fill_missing,
    make_roles,
    needs_roles,
    plan_columns,
    series_weights,
    static_tables,
    to_frame,
    validate_weights,
)

__all__ = ["Pipeline"]

#: Where a pipeline's statistics come from (see ``Pipeline(scale_per=...)``).
SCALE_PER = ("feature", "series", "window", "sample")

FORMAT = "seqprep.pipeline"
FORMAT_VERSION = 2  # 2: per-series statistics in arrays.npz; version 1 files (all JSON) still load
_READS_VERSIONS = (1, 2)
_SPEC_FILE = "pipeline.json"
_ARRAYS_FILE = "arrays.npz"


class Pipeline:
    """Split in time, scale with training statistics, and window -- in that order, always.

    Parameters
    ----------
    lookback : int
        Input time steps per window.
    horizon : int or sequence of int, default 1
        Target offset(s) after the last input row (see :func:`seqprep.windows`).
    target : str or list of str
        Target column(s).
    features : list of str, optional
        Input columns (default: every numeric column but ``time``/``group``).
    time, group : str, optional
        Time and series-key columns.
    split : sequence, default (0.7, 0.15, 0.15)
        Fractions or cut timestamps (see :func:`seqprep.split`).
    gap : int or duration, default 0
        Purge gap between parts.
    context : {"history", "part"}, default "history"
        Whether validation/test windows may read inputs from before their part.
    holdout : {"time", "series"}, default "time"
        Cut in time, or hold out whole series.
    scaler : str, scaler or dict, default "standard"
        ``"standard" | "minmax" | "robust" | "maxabs" | "log1p" | "pixel" | "none"``, or a dict
        ``{column: spec}``. Applies to the input and target columns.
    scale_per : {"feature", "series", "window", "sample"}, default "feature"
        Where the statistics come from:

        - ``"feature"``: one set per column, from the training rows.
        - ``"series"``: one set per (series, column), from each series' training rows; takes a
          scaler name, ``"standard" | "minmax" | "maxabs" | "robust" | "none"``
          (:class:`~seqprep.scaling.SeriesScaler`); per-series ``"robust"`` (median and
          inter-quartile range of each series' training rows) is fitted in memory only.
        - ``"window"``: each window's **inputs and targets** scaled by that window's own input
          rows (RevIN; pytorch-forecasting's ``EncoderNormalizer``), and undone by
          :meth:`inverse_target`. ``scaler`` picks the statistics: ``"standard"`` (mean/std) or
          ``"robust"`` (median/IQR), or a :class:`~seqprep.scaling.WindowNormalizer` (to set the
          floor of the scale, ``min_scale``). A target is scaled by its own column's input rows;
          a target that is not an input (e.g. a class label) stays unscaled. Batches are dicts:
          ``X = {"past": ..., "target_loc": ..., "target_scale": ...}`` (float32,
          ``(B, n_targets)``), beside the keys of ``known``/``static``/categorical columns/masks/
          ``weight``; layouts ``"NTC"`` and ``"NCT"`` only. ``known`` columns are scaled with the
          training rows' mean and standard deviation (a window's own rows say nothing about its
          future steps: a holiday flag that is 0 in every input row would be blown up by the
          floor of the scale); numeric ``static`` columns stay in the data's units, as always.
        - ``"sample"``: each window's **inputs only** normalized over its own steps (instance
          normalization, e.g. for UCR-style classification); targets stay unscaled and batches
          stay plain arrays without roles (``known`` columns: training statistics, as with
          ``"window"``). Kept as it was: ``"window"`` is the per-window normalization that also
          scales targets.

        Why a new value of ``scale_per`` rather than a separate ``target_norm=`` argument:
        ``scale_per`` already says *whose* statistics scale the data, and per-window
        statistics exclude every other choice of it (a window cannot be scaled by training
        statistics and by its own at once), so one argument cannot be set to contradict another.
        darts users know the same switch as ``Scaler(global_fit=...)``; pytorch-forecasting users
        pick ``EncoderNormalizer`` where they would pick ``GroupNormalizer`` (``"series"``).
    derived : sequence, optional
        Causal features (:mod:`seqprep.features`: ``Lag``, ``Diff``, ``Rolling``, ``Calendar``)
        appended to the inputs.
    augment : str, list or object, optional
        Training-only augmentation (:mod:`seqprep.augment`), applied when iterating the
        training part with ``batches()``/``to_torch()``; never to validation/test.
    stride, sampling_rate, layout, subsequences, dtype, nan_policy, allow_gaps, allow_horizon_zero
        As in :func:`seqprep.windows`.
    seed : int, default 0
        Seed of the augmentation and of ``holdout="series"``.
    known : str or list of str, optional
        Columns known in advance (calendar, holidays, planned prices): batch key ``"known"`` over
        the input rows and every row up to the largest horizon (see :func:`seqprep.windows`).
        Scaled with the training statistics like the other numeric columns.
    static : str or list of str, optional
        Columns constant within a series, stored once per series (batch key ``"static"``).
        Numeric static values are passed in the data's units (not scaled).
    weight : str or mapping, optional
        A weight column (read at each window's first target row) or ``{series key: weight}``:
        batch key ``"weight"``.
    fill : {"ffill", "zero", "mean"}, default "ffill"
        How ``nan_policy="mask"`` fills missing inputs (in the data's units, before scaling):
        the series' last value (0 before its first), 0, or the column mean over the **training**
        rows only. The mask rides beside the values (``"past_mask"``, ``"known_mask"``).

    Notes
    -----
    **Categorical columns** (text, ``category`` or ``object`` dtype) among ``features``,
    ``known`` or ``static`` become integer codes with a vocabulary fitted on the **training rows
    only** (static columns: on the series that have training rows): ``1..V`` for the training
    values in sorted order, 0 for a value first seen later or missing. Such codes are never an
    error at prediction time; they are counted in :attr:`unknown_counts_` (set by :meth:`fit`
    and :meth:`transform`). The vocabularies are saved with the pipeline (``pipeline.json``).
    Categorical columns are never scaled.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=200), "a": np.arange(200.0),
    ...                    "b": np.sin(np.arange(200.0))})
    >>> pipe = Pipeline(lookback=10, target="a", time="t", split=(0.7, 0.15, 0.15), gap=2)
    >>> parts = pipe.fit(df)
    >>> [len(p) for p in parts]
    [130, 28, 28]
    >>> X, y = parts.val[0:2]
    >>> X.shape, np.round(pipe.inverse_target(y), 1).tolist()
    ((2, 10, 2), [142.0, 143.0])

    With a known-in-advance column and a categorical one, batches are dicts; the category first
    seen after the training part gets code 0 and is counted:

    >>> df["dow"] = df["t"].dt.day_of_week.astype(float)
    >>> df["promo"] = ["none"] * 150 + ["new"] * 50
    >>> pipe = Pipeline(lookback=10, horizon=2, target="a", features=["a", "b", "promo"], known=["dow"], time="t")
    >>> parts = pipe.fit(df)
    >>> X, y = parts.test[0:4]
    >>> sorted(X), X["known"].shape, X["past_cat"][0, -1].tolist(), pipe.unknown_counts_
    (['known', 'past', 'past_cat'], (4, 12, 1), [0], {'promo': 50})
    """

    def __init__(
        self,
        lookback: int,
        horizon: int | Sequence[int] = 1,
        *,
        target: Any = None,
        features: Sequence[str] | None = None,
        time: str | None = None,
        group: str | None = None,
        split: Any = (0.7, 0.15, 0.15),
        gap: Any = 0,
        context: str = "history",
        holdout: str = "time",
        scaler: Any = "standard",
        scale_per: str = "feature",
        derived: Sequence[Any] = (),
        augment: Any = None,
        stride: int = 1,
        sampling_rate: int = 1,
        layout: str = "NTC",
        subsequences: int | None = None,
        dtype: str = "float32",
        nan_policy: str = "raise",
        allow_gaps: bool = False,
        seed: int = 0,
        allow_horizon_zero: bool = False,
        known: Any = None,
        static: Any = None,
        weight: Any = None,
        fill: str = "ffill",
    ) -> None:
        self.spec = make_window_spec(lookback, horizon, stride, sampling_rate, layout, subsequences, dtype, allow_gaps)
        if target is None:
            raise param_error("target", "a column name or a list of names", target, 'E.g. target="temp_max".')
        self.target = target
        self._targets = [target] if isinstance(target, str) else list(target)
        check_distinct(self._targets, "target", "columns")
        if isinstance(features, str):
            features = [features]
        self.features = None if features is None else list(features)
        if self.features is not None:
            check_distinct(self.features, "features", "columns")
        self.allow_horizon_zero = check_bool(allow_horizon_zero, "allow_horizon_zero")
        check_horizon_zero(self.spec.horizons, [t for t in self._targets if self.features is None
                                                or t in self.features], self.allow_horizon_zero)
        self.time = time
        self.group = group
        check_split_args(split, gap)
        self.split = split
        self.gap = gap
        self.context = check_choice(context, "context", CONTEXTS)
        self.holdout = check_choice(holdout, "holdout", ("time", "series"))
        check_holdout_args(self.holdout, gap, self.context, None)
        self.scaler = scaler
        self.scale_per = check_choice(scale_per, "scale_per", SCALE_PER)
        if self.scale_per == "window":
            check_window_scaling(scaler, self.spec.layout)
        elif isinstance(scaler, str) and self.scale_per != "sample":
            try:  # an unknown name is refused now, under the argument's own name, not at fit
                make_scaler(scaler, per=self.scale_per)
            except InvalidParameterError as exc:
                text = str(exc).replace("`spec`", "`scaler`").replace("spec=", "scaler=")
                raise InvalidParameterError(text) from None
        self.derived = list(_features_module().make_features(derived)) if derived else []
        self.augment = _augment_module().make_augmentation(augment) if augment is not None else None
        self.nan_policy = nan_policy
        self.roles: RoleSpec = make_roles(known, static, weight, nan_policy, fill)
        self.known, self.static, self.weight, self.fill = list(self.roles.known), list(self.roles.static), weight, fill
        for arg, cols in (("known", self.roles.known), ("static", self.roles.static)):
            clash = [c for c in cols if c in self._targets or (self.features is not None and c in self.features)]
            if clash:
                raise param_error(
                    arg, "columns that are neither the target nor in `features`", list(cols),
                    f"{list_names(clash)} already has a role; a column has one role (past, known or static).",
                )
        if self.roles.active:
            check_dict_layout(self.spec.layout)
        self.seed = check_int(seed, "seed", minimum=0)
        self.unknown_counts_: dict[str, int] = {}
        self.scaler_: BaseScaler | None = None
        self.schema_: dict[str, Any] | None = None
        self.split_: Split | None = None

    @property
    def warmup(self) -> int:
        """Rows at the start of every series where a derived feature is undefined (NaN): no window starts there."""
        return max((d.warmup for d in self.derived), default=0)

    # ------------------------------------------------------------------ fitting
    def fit(self, data: Any) -> Split:
        """Split ``data`` in time, fit the scaler on the training rows, and window every part.

        Parameters
        ----------
        data : DataFrame, path, array or list
            The whole history (see :func:`seqprep.windows` for what is accepted); a Polars
            DataFrame or LazyFrame too (a LazyFrame is collected once, with only the columns the
            pipeline reads).

        Returns
        -------
        Split
            ``.train``, ``.val``, ``.test`` (or the parts asked for): scaled :class:`Windows`.

        Raises
        ------
        DataError
            When the data is too short for the requested parts (the message gives the rows each
            part needs), or fails validation.
        """
        table, sd, columns, n_in, warmup, side = self._prepare_all(data)
        raw = self._windows(table, sd, columns, n_in, warmup)
        parts = split(
            raw, self.split, gap=self.gap, context=self.context, holdout=self.holdout,
            seed=self.seed if self.holdout == "series" else None,
        )
        train_mask = parts.train_rows("train") if self.holdout == "time" else self._series_train_mask(parts, sd)
        fitted_roles = None
        if side is not None:
            fitted_roles = self._fit_roles(side, sd, table, columns, n_in, train_mask)
            table, rd = self._role_rows(side, sd, table, columns, n_in, warmup, fitted_roles)
        # one series: a read-only view of zeros instead of 8 bytes per row
        codes = sd.series_codes() if sd.n_series > 1 else np.broadcast_to(np.zeros(1, np.int64), (sd.n_rows,))
        scaler = self._fit_scaler(columns, table, codes, train_mask)
        check_series_trained(scaler, sd.keys)  # before the pipeline changes: a refused fit leaves it as it was
        self.scaler_ = scaler
        self.schema_ = self._schema(sd, columns, n_in, warmup)
        if fitted_roles is not None:
            self.schema_["roles"] = fitted_roles
            self.unknown_counts_ = dict(rd.unknown_counts)
        raw_starts = raw.starts
        part_starts = {name: w.starts for name, w in parts.parts.items()}
        row_ranges, gap, context = parts.row_ranges, parts.gap, parts.context
        del raw, parts, train_mask  # with sd's values replaced below, the unscaled table goes after scaling
        scaled = self._scale(table, codes)
        del table
        sd = replace(sd, values=scaled)
        full = self._windows(scaled, sd, columns, n_in, warmup, roles=rd if side is not None else None)
        out = {}
        for name, starts in part_starts.items():
            idx = np.searchsorted(raw_starts, starts)
            part = full.subset(idx, name=name)
            if name == "train" and self.augment is not None:
                part = part.with_augmentation(self.augment, seed=self.seed)
            out[name] = part
        self.split_ = Split(out, row_ranges, gap, context)
        return self.split_

    def fit_folds(
        self,
        data: Any,
        n_folds: int = 5,
        *,
        val_size: float | int = 0.1,
        mode: str = "expanding",
        train_size: int | None = None,
    ) -> list[tuple[Pipeline, Split]]:
        """Walk-forward folds, each with statistics fitted on **its own** training part.

        Parameters
        ----------
        data : DataFrame, path, array or list
        n_folds : int, default 5
        val_size : float or int, default 0.1
            Validation rows per fold (fraction of each series or a number of rows).
        mode : {"expanding", "sliding"}, default "expanding"
        train_size : int, optional
            Training rows per fold for ``mode="sliding"``.

        Returns
        -------
        list of (Pipeline, Split)
            Per fold, oldest first: a pipeline fitted on that fold's training rows and its
            ``train``/``val`` windows. The pipeline's ``gap`` (in rows) and ``context`` apply.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> df = pd.DataFrame({"a": np.arange(120.0), "b": np.cos(np.arange(120.0))})
        >>> folds = Pipeline(lookback=5, target="a", gap=1).fit_folds(df, n_folds=3, val_size=10)
        >>> [(len(s.train), len(s.val)) for _, s in folds]
        [(84, 10), (94, 10), (104, 10)]
        >>> [round(float(p.scaler_.mean_[0]), 1) for p, _ in folds]  # each fold: its own training mean
        [44.0, 49.0, 54.0]
        """
        from .splitting import walk_forward

        table, sd, columns, n_in, warmup, side = self._prepare_all(data)
        raw = self._windows(table, sd, columns, n_in, warmup)
        gap = check_int(self.gap, "gap", minimum=0, fix="walk-forward folds take the gap in rows.")
        folds = walk_forward(
            raw, n_folds, val_size=val_size, gap=gap, mode=mode, train_size=train_size, context=self.context
        )
        codes = sd.series_codes()
        out = []
        for fold in folds:
            pipe = Pipeline.__new__(Pipeline)
            pipe.__dict__.update(self.__dict__)
            mask = fold.train_rows("train")
            fold_table, rd, fitted_roles = table, None, None
            if side is not None:
                fitted_roles = pipe._fit_roles(side, sd, table, columns, n_in, mask)
                fold_table, rd = pipe._role_rows(side, sd, table, columns, n_in, warmup, fitted_roles)
            pipe.scaler_ = pipe._fit_scaler(columns, fold_table, codes, mask)
            check_series_trained(pipe.scaler_, sd.keys)
            pipe.schema_ = pipe._schema(sd, columns, n_in, warmup)
            if fitted_roles is not None and rd is not None:
                pipe.schema_["roles"] = fitted_roles
                pipe.unknown_counts_ = dict(rd.unknown_counts)
            full = pipe._windows(pipe._scale(fold_table, codes), sd, columns, n_in, warmup, roles=rd)
            parts = {
                name: full.subset(np.searchsorted(raw.starts, w.starts), name=w.name) for name, w in fold.parts.items()
            }
            if self.augment is not None:
                parts["train"] = parts["train"].with_augmentation(self.augment, seed=self.seed)
            pipe.split_ = Split(parts, fold.row_ranges, fold.gap, fold.context)
            out.append((pipe, pipe.split_))
        return out

    def _prepare(self, data: Any) -> tuple[np.ndarray, SeriesData, list[str], int, int]:
        """Validated table (float64) with derived columns, the series, column names, #inputs, warm-up."""
        return self._prepare_all(data)[:5]

    def _prepare_all(self, data: Any) -> tuple[np.ndarray, SeriesData, list[str], int, int, _Side | None]:
        """As :meth:`_prepare`, plus the role columns (None without roles); the table's known columns come last."""
        needed = None
        side = None
        features = self.features
        if self.roles.active or needs_roles(data, self.features):
            frame = _str_columns(to_frame(data, columns=self._role_columns()))
            plan = plan_columns(frame, self.roles, self.features, self._targets, [self.time, self.group])
            data, keys, _ = encode_categories(frame, plan.row_categorical)  # provisional codes, fitted after the split
            side = _Side(plan, frame, keys)
            features = list(plan.past)
            extra = [c for d in self.derived for c in d.source_columns() if c not in features]
            needed = list(dict.fromkeys(features + extra + self._targets + side.row_columns()))
        elif self.features is not None:
            extra = [c for d in self.derived for c in d.source_columns() if c not in self.features]
            needed = list(dict.fromkeys(self.features + extra + self._targets))
        sd = as_series(
            data, columns=needed, time=self.time, group=self.group,
            nan_policy="mask" if self.roles.mask else self.nan_policy, required=self._targets,
        )
        if sd.columns is None:
            raise ShapeError(
                "Pipeline needs named columns (a DataFrame, CSV or Parquet). Received an array of shape "
                f"{sd.values.shape}. Wrap it: pd.DataFrame(array, columns=[...]) or use seqprep.windows()."
            )
        base = list(sd.columns)
        inputs = features if features is not None else [c for c in base]
        if side is not None:
            side.read_rows(sd)
        values = sd.values
        # float32 data for float32 windows stays float32: the scaler's statistics and transform work
        # in float64 chunks (exact casts), so the result equals a whole float64 copy's, without one.
        if not (values.dtype == np.float32 and np.dtype(self.spec.dtype) == np.float32 and not self.derived):
            values = values.astype(np.float64, copy=False)
        warmup = 0
        derived_names: list[str] = []
        if self.derived:
            values, ext, warmup = _features_module().apply_features(
                self.derived, values, tuple(base), sd.bounds, sd.time
            )
            derived_names = list(ext[len(base):])
            base = list(ext)
        in_cols = list(dict.fromkeys(inputs + derived_names))
        extra_targets = [t for t in self._targets if t not in in_cols]
        columns = in_cols + extra_targets + (list(side.plan.known) if side is not None else [])
        order = [base.index(c) for c in columns]
        if order == list(range(values.shape[1])) and values.flags.c_contiguous:
            return values, sd, columns, len(in_cols), warmup, side  # already in order: no reordered copy
        table = np.ascontiguousarray(values[:, order])
        return table, sd, columns, len(in_cols), warmup, side

    def _windows(
        self, table: np.ndarray, sd: SeriesData, columns: list[str], n_in: int, warmup: int,
        roles: RoleData | None = None,
    ) -> Windows:
        spec = self.spec
        starts, counts = window_starts(sd.bounds, sd.breaks, spec)
        if warmup:
            local = starts - sd.bounds[np.searchsorted(sd.bounds, starts, side="right") - 1]
            starts = starts[local >= warmup]
        if len(starts) == 0:
            need = spec.span + warmup
            if counts["windows_spanning_gaps"]:
                raise DataError(
                    f"the data gives no window: every candidate window spans a gap in time ({sd.report.get('gaps', 0)} "
                    f"gap(s), {sd.report.get('missing_steps', 0)} missing step(s) of the frequency "
                    f"{sd.report.get('frequency', sd.report.get('freq'))}). Fill the missing timestamps, use a "
                    "shorter lookback, or pass allow_gaps=True (--allow-gaps)."
                )
            raise DataError(
                f"the data gives no window: the longest series has {int(np.diff(sd.bounds).max())} rows; "
                f"lookback={spec.lookback}, horizon(s) {list(spec.horizons)} and {warmup} warm-up rows of derived "
                f"features need at least {need} rows per series."
            )
        tgt_idx = [columns.index(t) for t in self._targets]
        sd2 = replace(sd, values=table, columns=tuple(columns))
        transform = PerWindowScaling() if self.scale_per == "sample" else None
        return Windows(
            table[:, :n_in], table[:, tgt_idx].astype(spec.dtype), starts, spec, sd2,
            report={**sd.report, **counts}, feature_names=columns[:n_in], target_names=self._targets,
            scalar_target=isinstance(self.target, str), batch_transform=transform,
            roles=_with_known(roles, table, columns),
            target_transform=self._target_hook(columns[:n_in]),
        )

    def _role_columns(self) -> list[Any] | None:
        """The columns a fit with roles reads (None: every column, when ``features`` is not given)."""
        if self.features is None:
            return None
        derived = [c for d in self.derived for c in d.source_columns()]
        return [*self.features, *derived, *self._targets, *self.roles.known, *self.roles.static, self.roles.weight,
                self.time, self.group]

    def _target_hook(self, inputs: Sequence[str]) -> PerWindowTargetScaling | None:
        """The per-window target normalization of ``scale_per="window"`` (None otherwise)."""
        if self.scale_per != "window":
            return None
        return PerWindowTargetScaling(self._window_normalizer(), target_input_index(self._targets, inputs))

    def _window_normalizer(self) -> WindowNormalizer:
        return make_scaler(self.scaler, per="window")  # type: ignore[return-value]

    # ------------------------------------------------------------------ roles
    def _fit_roles(
        self, side: _Side, sd: SeriesData, table: np.ndarray, columns: list[str], n_in: int, train: np.ndarray
    ) -> dict[str, Any]:
        """Vocabularies (training rows / series with training rows only) and fill means (training rows)."""
        vocab: dict[str, Any] = {}
        for c in side.plan.row_categorical:
            vocab[c] = code_rows(side.rows[c], side.keys[c], train)[1].to_dict()
        if side.plan.static_cat:
            series_train = np.bincount(sd.series_codes()[train], minlength=sd.n_series) > 0
            _, _, svocab, _ = static_tables(side.frame, side.plan, self.group, sd.keys, series_train)
            vocab.update({c: v.to_dict() for c, v in svocab.items()})
        means = None
        if self.roles.mask and self.roles.fill == "mean":
            means = column_means(table[:, _filled_columns(columns, n_in, side.plan)], train).tolist()
        return {"plan": side.plan.to_dict(), "vocab": vocab, "fill_means": means}

    def _role_rows(
        self, side: _Side, sd: SeriesData, table: np.ndarray, columns: list[str], n_in: int, warmup: int,
        fitted: dict[str, Any],
    ) -> tuple[np.ndarray, RoleData]:
        """The table with its missing inputs filled (a copy when any is) and the role arrays, from fitted roles."""
        plan = side.plan
        vocab = {c: Vocabulary.from_dict(v) for c, v in fitted["vocab"].items()}
        rd = RoleData(plan, include_past=n_in > 0, vocab=dict(vocab))
        for role in ("past_cat", "known_cat"):
            cols = getattr(plan, role)
            if cols:
                blocks = []
                for c in cols:
                    if c in side.keys:  # provisional codes (fit): to the fitted vocabulary
                        out = vocab[c].lookup(side.keys[c])[np.asarray(side.rows[c], dtype=np.int64)]
                    else:  # already final (transform)
                        out = np.asarray(side.rows[c], dtype=np.int32)
                    rd.unknown_counts[c] = int(np.count_nonzero(out == 0))
                    blocks.append(out)
                setattr(rd, role, np.ascontiguousarray(np.column_stack(blocks).astype(np.int32)))
        if self.roles.mask:
            if side.weighted:  # labelled windows (prediction windows read no target)
                check_targets_finite(table[:, [columns.index(t) for t in self._targets]], self._targets)
            cols = _filled_columns(columns, n_in, plan)
            means = np.asarray(fitted["fill_means"]) if fitted.get("fill_means") is not None else None
            block = table[:, cols]
            filled, mask = fill_missing(block, sd.bounds, self.roles.fill, means)
            if warmup:  # derived features are undefined there on purpose: no window reads those rows
                local = np.arange(sd.n_rows) - np.repeat(sd.bounds[:-1], np.diff(sd.bounds))
                warm = local < warmup
                filled[warm], mask[warm] = block[warm], False
            if mask.any():
                table = table.copy()
                table[:, cols] = filled
            n_past = n_in
            rd.past_mask, rd.known_mask = mask[:, :n_past], (mask[:, n_past:] if plan.known else None)
        if plan.weight is not None and side.weight is not None:
            validate_weights(side.weight, f"column {plan.weight!r}")
            rd.weight_rows = side.weight.astype(np.float32)
        elif self.roles.weight_map is not None and side.weighted:
            rd.weight_series = series_weights(self.roles.weight_map, sd.keys)
        stat_vocab = {c: vocab[c] for c in plan.static_cat}
        rd.static, rd.static_cat, _, sunknown = static_tables(side.frame, plan, self.group, sd.keys, vocab=stat_vocab)
        rd.unknown_counts.update(sunknown)
        return table, rd

    def _fit_scaler(self, columns: list[str], table: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> BaseScaler:
        """A new scaler fitted on the given (training) rows only."""
        scaler = self._make_scaler(columns)
        if isinstance(scaler, SeriesScaler):
            return scaler.fit(table[rows], codes[rows])
        # The scaler sees a bare array, so its zero-variance warning would name columns by position
        # ('1'); catch it and say it again with the column names the user wrote.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            scaler.fit(table[_as_slice(rows)])
        constant = getattr(scaler, "constant_features_", None)
        for w in caught:
            if issubclass(w.category, DataWarning) and constant is not None and len(constant) \
                    and getattr(scaler, "feature_names_in_", None) is None and "zero variance" in str(w.message):
                names = [columns[int(i)] for i in constant if int(i) < len(columns)]
                warnings.warn(
                    f"{len(names)} column(s) are constant in the training rows: {list_names(names)}. Their scale "
                    "is set to 1 (they are only centred); a column that only varies after the training part "
                    "carries no signal the model can learn.", DataWarning, stacklevel=4)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return scaler

    def _make_scaler(self, columns: list[str]) -> BaseScaler:
        if self.scale_per in ("sample", "window"):  # per-window statistics: nothing fitted on the rows ...
            known = [c for c in columns if c in self.roles.known]
            if known:  # ... but known-ahead inputs: no window's statistics cover their future rows
                return ColumnScaler({c: "standard" for c in known}, default="none", feature_names=columns)
            return IdentityScaler()
        if self.scale_per == "series":
            if not isinstance(self.scaler, str):
                raise param_error("scaler", "a scaler name when scale_per='series'", self.scaler)
            return make_scaler(self.scaler, per="series")
        return make_scaler(self.scaler, columns) if isinstance(self.scaler, dict) else make_scaler(self.scaler)

    def _series_train_mask(self, parts: Split, sd: SeriesData) -> np.ndarray:
        if self.scale_per == "series":
            raise param_error(
                "scale_per", "'feature', 'window' or 'sample' with holdout='series'", self.scale_per,
                "Held-out series have no training rows to fit per-series statistics on.",
            )
        return parts.train_rows("train")

    def _scale(self, table: np.ndarray, codes: np.ndarray) -> np.ndarray:
        scaler = self.scaler_
        if isinstance(scaler, SeriesScaler):
            out = scaler.transform(table, codes)
        else:
            out = scaler.transform(table)  # type: ignore[union-attr]
        return np.ascontiguousarray(out, dtype=self.spec.dtype)

    def _schema(self, sd: SeriesData, columns: list[str], n_in: int, warmup: int) -> dict[str, Any]:
        return {
            "columns": columns,
            "inputs": columns[:n_in],
            "targets": self._targets,
            "raw_columns": [c for c in (sd.columns or ())],
            "freq": freq_json(sd.freq),
            "series_keys": [key_json(k) for k in sd.keys] if self.scale_per == "series" else None,
            "warmup": warmup,
            "n_rows_fitted": sd.n_rows,
        }

    # ------------------------------------------------------------------ applying
    def _check_fitted(self) -> tuple[BaseScaler, dict[str, Any]]:
        """The fitted scaler and schema, or NotFittedError."""
        if self.scaler_ is None or self.schema_ is None:
            raise NotFittedError(
                "This Pipeline instance is not fitted yet. Call 'fit' with appropriate arguments before using "
                "this estimator (or Pipeline.load(path))."
            )
        return self.scaler_, self.schema_

    def transform(self, data: Any, *, inference: bool = True) -> Windows:
        """Windows of new data, scaled with the **training** statistics saved at fit.

        Parameters
        ----------
        data : DataFrame, path, array or list
            New data with the fitted columns (and time/group columns).
        inference : bool, default True
            ``True``: windows for prediction -- one per last input row, with no target needed
            (``y`` absent); ``False``: labelled windows as in ``fit`` (for scoring on new data).
            With ``known`` inputs a prediction window also reads the ``H`` rows after its last
            input row, so the data must hold them (their known values; the past columns there may
            be NaN with ``nan_policy="mask"``): the last window ends ``H`` rows before the data.
            Categories not seen at fit are coded 0 and counted in :attr:`unknown_counts_`.

        Returns
        -------
        Windows

        Raises
        ------
        DataError
            When columns, dtypes or the time step differ from what was fitted.
        """
        _, schema = self._check_fitted()
        frame = _as_frame(data, [*schema["raw_columns"], *(c for c in (self.time, self.group) if isinstance(c, str))])
        optional = {t for t in self._targets if t not in schema["inputs"]} if inference else set()
        if inference and schema.get("roles") and schema["roles"]["plan"].get("weight"):
            optional.add(schema["roles"]["plan"]["weight"])  # prediction windows carry no weight
        missing = [c for c in schema["raw_columns"] if c not in frame.columns and c not in optional]
        if missing:
            raise DataError(
                f"the new data lacks columns the pipeline was fitted on: {list_names(missing)}. "
                f"Fitted columns: {list_names(schema['raw_columns'])}; received: {list_names(frame.columns)}."
            )
        categorical = _fitted_categorical(schema)
        bad = [c for c in schema["raw_columns"] if c in frame.columns and c not in categorical
               and not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise DataError(
                f"columns {list_names(bad)} were numeric when the pipeline was fitted but are "
                f"{', '.join(str(frame[c].dtype) for c in bad)} now. Convert them to numbers."
            )
        table, sd, columns, n_in, warmup, side = self._prepare_new_all(frame, inference)
        if schema["freq"] is not None and sd.freq is not None and freq_json(sd.freq) != schema["freq"]:
            raise DataError(
                f"the new data's time step is {freq_json(sd.freq)!r} but the pipeline was fitted on "
                f"{schema['freq']!r}. Resample the new data to the fitted step."
            )
        rd = None
        if side is not None:
            table, rd = self._role_rows(side, sd, table, columns, n_in, warmup, schema["roles"])
            self.unknown_counts_ = dict(rd.unknown_counts)
        codes = self._codes_for(sd)
        scaled = self._scale(table, codes)
        if inference:
            # with known inputs, a window needs its H future rows of them: the data must hold them
            spec = self.spec if rd is not None and rd.plan.known + rd.plan.known_cat else replace(
                self.spec, horizons=(0,), scalar_horizon=True)
            starts, _ = window_starts(sd.bounds, sd.breaks, spec)
            if warmup:
                local = starts - sd.bounds[np.searchsorted(sd.bounds, starts, side="right") - 1]
                starts = starts[local >= warmup]
            if len(starts) == 0:
                raise DataError(
                    f"the new data is too short: each window needs {spec.span + warmup} rows "
                    f"(lookback={self.spec.lookback}, sampling_rate={self.spec.sampling_rate}, warm-up {warmup})"
                    + (", the last H of them for the known inputs ahead." if spec is self.spec else ".")
                )
            sd2 = replace(sd, values=scaled, columns=tuple(columns))
            w = Windows(
                scaled[:, :n_in], None, starts, self.spec, sd2, feature_names=columns[:n_in], name="inference",
                roles=_with_known(rd, scaled, columns),
                batch_transform=PerWindowScaling() if self.scale_per == "sample" else None,
                target_transform=self._target_hook(columns[:n_in]),
            )
            w.report["horizons"] = list(self.spec.horizons)
            return w
        return self._windows(scaled, sd, columns, n_in, warmup, roles=rd)

    def _prepare_new(self, frame: pd.DataFrame, inference: bool) -> tuple[np.ndarray, SeriesData, list[str], int, int]:
        return self._prepare_new_all(frame, inference)[:5]

    def _prepare_new_all(
        self, frame: pd.DataFrame, inference: bool
    ) -> tuple[np.ndarray, SeriesData, list[str], int, int, _Side | None]:
        _, schema = self._check_fitted()
        raw_columns = list(schema["raw_columns"])
        side = None
        if schema.get("roles") is not None:
            plan = ColumnPlan.from_dict(schema["roles"]["plan"])
            vocab = {c: Vocabulary.from_dict(schema["roles"]["vocab"][c]) for c in plan.row_categorical}
            frame = _str_columns(frame)
            if inference and plan.weight is not None:  # prediction windows carry no weight
                raw_columns = [c for c in raw_columns if c != plan.weight]
                plan = replace(plan, weight=None)
            frame, _, _ = encode_categories(frame, plan.row_categorical, vocab)
            side = _Side(plan, frame, {})
            side.weighted = not inference
        if inference:
            # Targets that are not inputs are unknown in the future: placeholders, never read.
            frame = frame.copy(deep=False)
            for t in self._targets:
                if t not in schema["inputs"]:
                    frame[t] = frame[t].fillna(0.0) if t in frame.columns else 0.0
        sd = as_series(
            frame, columns=raw_columns, time=self.time, group=self.group,
            nan_policy="mask" if self.roles.mask else self.nan_policy,
            freq=schema["freq"] if self.time is not None else None,  # gaps in the fitted steps ("B", "MS", ...)
        )
        if side is not None:
            side.read_rows(sd)
        base = list(sd.columns or ())
        values = sd.values.astype(np.float64, copy=False)
        warmup = 0
        if self.derived:
            values, ext, warmup = _features_module().apply_features(
                self.derived, values, tuple(base), sd.bounds, sd.time
            )
            base = list(ext)
        columns = schema["columns"]
        table = np.ascontiguousarray(values[:, [base.index(c) for c in columns]])
        return table, sd, columns, len(schema["inputs"]), warmup, side

    def _codes_for(self, sd: SeriesData) -> np.ndarray:
        codes = sd.series_codes()
        if not isinstance(self.scaler_, SeriesScaler):
            return codes
        return fitted_series_codes(self.schema_, sd.keys)[codes]  # type: ignore[arg-type]

    def _target_index(self) -> list[int]:
        columns = self.schema_["columns"]  # type: ignore[index]
        return [columns.index(t) for t in self._targets]

    def inverse_target(
        self, y: Any, windows: Windows | None = None, *, target_loc: Any = None, target_scale: Any = None
    ) -> np.ndarray:
        """Scaled target values (e.g. model predictions) back to the data's own units.

        Parameters
        ----------
        y : array-like of shape (n,), (n, H), (n, n_targets) or (n, H, n_targets)
            As the pipeline's ``y`` batches.
        windows : Windows, optional
            The windows the predictions belong to, in order; needed with ``scale_per="series"``,
            and with ``scale_per="window"`` unless the batch's statistics are given: each
            window's statistics are then recomputed from its input rows (exactly the values its
            batch carried; not for an augmented training batch, whose inputs were changed).
        target_loc, target_scale : array-like of shape (n, n_targets), optional
            ``scale_per="window"``: the statistics the batch carried (``X["target_loc"]``,
            ``X["target_scale"]``), instead of ``windows``.

        Returns
        -------
        ndarray (float64), same shape as ``y``
            With one target and one horizon, a column ``(n, 1)`` (what Keras ``model.predict``
            returns) comes back as ``(n,)``, the shape of the pipeline's ``y``.

        Raises
        ------
        ShapeError
            When ``y`` cannot be the target: its trailing axes must be those of the pipeline's
            ``y`` batches (``(n,)``, ``(n, H)``, ``(n, n_targets)`` or ``(n, H, n_targets)``).
        """
        scaler, _ = self._check_fitted()
        try:
            arr = np.asarray(y, dtype=np.float64)
        except (ValueError, TypeError):
            raise param_error("y", "an array of numbers (model predictions)", y) from None
        if isinstance(self.target, str) and self.spec.scalar_horizon and arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]  # Keras' (n, 1) predictions of the one target: the shape of y, (n,)
        tail = (() if self.spec.scalar_horizon else (len(self.spec.horizons),)) + (
            () if isinstance(self.target, str) else (len(self._targets),))
        if arr.ndim != 1 + len(tail) or arr.shape[1:] != tail:
            want = "(n" + "".join(f", {t}" for t in tail) + ")" + (" or (n, 1)" if not tail else "")
            raise ShapeError(
                f"`y` must have shape {want}, as the pipeline's y ({len(self.spec.horizons)} horizon(s), "
                f"{len(self._targets)} target(s)). Received: y of shape {arr.shape}. Pass the predictions of "
                "this pipeline's target, one row per window."
            )
        if self.scale_per == "window":
            return self._inverse_per_window(arr, windows, target_loc, target_scale)
        if isinstance(scaler, IdentityScaler):
            return arr.copy()
        n_t = len(self._targets)
        flat = arr.reshape(-1, 1) if isinstance(self.target, str) else arr.reshape(-1, n_t)
        if flat.shape[-1] != n_t:
            raise ShapeError(f"`y` must end with {n_t} target columns. Received: shape {arr.shape}.")
        if isinstance(scaler, SeriesScaler):
            if windows is None:
                raise param_error(
                    "windows", "the Windows the predictions belong to when scale_per='series'", windows,
                    "Pass pipe.inverse_target(y_pred, windows=parts.test).",
                )
            if len(arr) != len(windows):
                raise ShapeError(
                    f"`y` has {len(arr)} rows but `windows` has {len(windows)} windows. Pass the predictions of "
                    "exactly those windows (one row per window)."
                )
            per_window = np.searchsorted(windows.series_data.bounds, windows.starts, side="right") - 1
            codes = self._codes_for(windows.series_data)[windows.series_data.bounds[per_window]]
            reps = flat.shape[0] // len(codes)
            out = scaler.inverse_transform(flat, np.repeat(codes, reps), features=self._target_index())
        else:
            out = scaler.inverse_transform(flat, features=self._target_index())
        return np.asarray(out, dtype=np.float64).reshape(arr.shape)

    def _inverse_per_window(self, arr: np.ndarray, windows: Windows | None, loc: Any, scale: Any) -> np.ndarray:
        """``scale_per="window"``: ``y * target_scale + target_loc`` with the statistics of each window."""
        if loc is None and scale is None:
            if windows is None:
                raise param_error(
                    "windows", "the Windows the predictions belong to (or target_loc= and target_scale=) when "
                    "scale_per='window'", windows, "Pass pipe.inverse_target(y_pred, windows=parts.test), or "
                    "target_loc=X['target_loc'], target_scale=X['target_scale'] of the batch.",
                )
            if len(arr) != len(windows):
                raise ShapeError(
                    f"`y` has {len(arr)} rows but `windows` has {len(windows)} windows. Pass the predictions of "
                    "exactly those windows (one row per window), or the batch's target_loc and target_scale."
                )
            loc, scale = window_target_stats(windows, self._window_normalizer(), self._targets)
        elif loc is None or scale is None:
            raise param_error("target_scale" if scale is None else "target_loc",
                              "given together with the other statistic", None,
                              "Pass both: target_loc=X['target_loc'], target_scale=X['target_scale'].")
        return WindowNormalizer.inverse_target(arr, loc, scale)

    # ------------------------------------------------------------------ out of core
    def fit_stream(
        self, data: Any, *, columns: Sequence[str] | None = None, chunk_rows: int = 1 << 20,
        progress: bool | None = None,
    ) -> Any:
        """Fit the statistics in one streaming pass over an ``.npy`` or Parquet file's training rows.

        See :func:`seqprep.outofcore.fit_stream`; returns its :class:`~seqprep.outofcore.StreamFit`.
        """
        # The one import back up: a convenience method that delegates to the package built on Pipeline.
        from .outofcore import fit_stream

        return fit_stream(self, data, columns=columns, chunk_rows=chunk_rows, progress=progress)

    def export(
        self, path: str | os.PathLike[str], data: Any, *, format: str = "npy", columns: Sequence[str] | None = None,
        chunk_rows: int = 1 << 20, overwrite: bool = False, progress: bool | None = None,
    ) -> Path:
        """Fit by streaming and write scaled rows + window starts to ``path`` (resumable).

        See :func:`seqprep.outofcore.export`; read the result with :func:`seqprep.outofcore.open_export`.
        """
        # The one import back up: a convenience method that delegates to the package built on Pipeline.
        from .outofcore import export

        return export(
            self, path, data, format=format, columns=columns, chunk_rows=chunk_rows, overwrite=overwrite,
            progress=progress,
        )

    # ------------------------------------------------------------------ persistence
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-safe dict."""
        return {
            "lookback": self.spec.lookback,
            "horizon": self.spec.horizons[0] if self.spec.scalar_horizon else list(self.spec.horizons),
            "target": self.target,
            "features": self.features,
            "time": self.time,
            "group": self.group,
            "split": list(self.split) if not isinstance(self.split, str) else self.split,
            "gap": self.gap if isinstance(self.gap, int) else _gap_json(self.gap),
            "context": self.context,
            "holdout": self.holdout,
            "scaler": self.scaler if isinstance(self.scaler, (str, dict)) else self.scaler.to_dict(),
            "scale_per": self.scale_per,
            "derived": [d.to_dict() for d in self.derived],
            "augment": self.augment.to_dict() if self.augment is not None else None,
            "stride": self.spec.stride,
            "sampling_rate": self.spec.sampling_rate,
            "layout": self.spec.layout,
            "subsequences": self.spec.subsequences,
            "dtype": self.spec.dtype,
            "nan_policy": self.nan_policy,
            "allow_gaps": self.spec.allow_gaps,
            "seed": self.seed,
            **({"allow_horizon_zero": True} if self.allow_horizon_zero else {}),
            **({"known": list(self.roles.known)} if self.roles.known else {}),
            **({"static": list(self.roles.static)} if self.roles.static else {}),
            **({"weight": self.roles.weight} if self.roles.weight is not None else {}),
            **({"weight": {"series_weights": [[key_json(k), v] for k, v in self.roles.weight_map.items()]}}
               if self.roles.weight_map is not None else {}),
            **({"fill": self.roles.fill} if self.roles.fill != "ffill" else {}),
        }

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the fitted pipeline to a directory: ``pipeline.json`` (spec, statistics, hash).

        Per-series statistics (``scale_per="series"``: one row per series) go to ``arrays.npz``
        beside it, binary and exact; ``pipeline.json`` records that file's sha256, so a change to
        either file is detected at load. The directory is written under a temporary name and
        renamed into place, so an interrupted save never leaves a half-written pipeline. No
        pickle is used (``np.load(..., allow_pickle=False)`` reads the arrays back).

        Parameters
        ----------
        path : str or path-like
        overwrite : bool, default False
            Replace an existing pipeline directory (refused otherwise).
        """
        self._check_fitted()
        target = check_out_dir(path, "path")  # a file (or a path under a file) is refused before anything is written
        arrays: dict[str, np.ndarray] = {}
        payload = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "seqprep_version": __version__,
            "config": self.get_config(),
            "schema": self.schema_,
            "scaler": self.scaler_.to_dict(arrays=arrays),  # type: ignore[union-attr]
            "split": _split_json(self.split_) if self.split_ is not None else None,
        }
        files: dict[str, str | bytes] = {}
        if arrays:
            buf = BytesIO()
            np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
            blob = buf.getvalue()
            files[_ARRAYS_FILE] = blob
            payload["arrays"] = {"file": _ARRAYS_FILE, "sha256": hashlib.sha256(blob).hexdigest()}
        payload["sha256"] = _digest(payload)
        files[_SPEC_FILE] = json.dumps(payload, indent=1, sort_keys=True, default=json_default)
        _write_dir_atomically(target, files, overwrite=overwrite)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Pipeline:
        """Read a pipeline written by :meth:`save`; check its format, version and hash.

        Raises
        ------
        ArtifactError
            Unknown format or version, a content hash that does not match (the file was changed),
            or a malformed field. Nothing in the file is executed.

        Notes
        -----
        ``path`` may also be a run directory of ``seqprep train`` / :func:`seqprep.runs.run_forecast`:
        its pipeline, ``path/pipeline``, is read.
        """
        if not (Path(path) / _SPEC_FILE).is_file() and (Path(path) / "pipeline" / _SPEC_FILE).is_file():
            path = Path(path) / "pipeline"  # a run directory: its saved pipeline
        file = Path(path) / _SPEC_FILE
        if not file.is_file():
            hint = (" It is a classification run: those have no pipeline (their normalization is recorded in run.json)."
                    if (Path(path) / "run.json").is_file() else " Pass the folder given to Pipeline.save or a "
                    "forecasting run directory.")
            raise ArtifactError(f"no saved pipeline at {str(path)!r}: {file.name} is missing.{hint}")
        try:
            payload = json.loads(file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"{file} is not valid JSON ({exc}).") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            found = (f"format {payload.get('format')!r}" if isinstance(payload, dict)
                     else f"a JSON {type(payload).__name__}")
            raise ArtifactError(
                f"{file} is not a seqprep pipeline ({found}). Pass the folder written by Pipeline.save."
            )
        if payload.get("version") not in _READS_VERSIONS:
            raise ArtifactError(
                f"{file} has pipeline format version {payload.get('version')!r}; this seqprep ({__version__}) reads "
                f"versions {list(_READS_VERSIONS)}. Re-fit and save it with this version."
            )
        verify_checksums(path, fix=_RESAVE)
        stored = payload.pop("sha256", None)
        if stored != _digest(payload):
            raise ArtifactError(f"{file} was modified after it was saved: its content hash does not match.")
        arrays = _read_arrays(Path(path), payload.get("arrays"))
        try:
            cfg = dict(payload["config"])
            derived = [_features_module().feature_from_dict(d) for d in cfg.pop("derived") or []]
            augment = cfg.pop("augment")
            if isinstance(cfg.get("scaler"), dict) and "class" in cfg["scaler"]:
                cfg["scaler"] = BaseScaler.from_dict(cfg["scaler"])
            if isinstance(cfg.get("weight"), dict) and "series_weights" in cfg["weight"]:
                cfg["weight"] = {_key_back(k): v for k, v in cfg["weight"]["series_weights"]}
            pipe = cls(**cfg, derived=derived)
            if augment is not None:
                pipe.augment = _augment_module().augmentation_from_dict(augment)
            pipe.scaler_ = BaseScaler.from_dict(payload["scaler"], arrays=arrays)
            pipe.schema_ = dict(payload["schema"])
            for v in ((pipe.schema_.get("roles") or {}).get("vocab") or {}).values():
                Vocabulary.from_dict(v)  # a malformed vocabulary is refused at load, not at transform
        except ArtifactError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{file} has a malformed field: {exc}") from None
        return pipe

    def __repr__(self) -> str:
        fitted = "fitted" if self.scaler_ is not None else "not fitted"
        return (
            f"Pipeline(lookback={self.spec.lookback}, horizon={self.get_config()['horizon']}, target={self.target!r}, "
            f"split={self.split!r}, gap={self.gap!r}, context={self.context!r}, scaler={self.scaler!r}; {fitted})"
        )


# ---------------------------------------------------------------------- helpers


class _Side:
    """The role columns of one pass: the plan, the frame (static values), codes and weights per row."""

    def __init__(self, plan: ColumnPlan, frame: pd.DataFrame, keys: dict[str, list[str]]) -> None:
        self.plan = plan
        self.frame = frame
        self.keys = keys  # provisional codes' texts per categorical column (empty: codes are final)
        self.rows: dict[str, np.ndarray] = {}
        self.weight: np.ndarray | None = None
        self.weighted = True  # False for prediction windows: no weight and no target read

    def row_columns(self) -> list[str]:
        """The role columns read per row besides the past inputs and targets."""
        return [*self.plan.known, *self.plan.row_categorical, *([self.plan.weight] if self.plan.weight else [])]

    def read_rows(self, sd: SeriesData) -> None:
        """Take the codes and weights out of the validated rows (in their sorted order)."""
        names = list(sd.columns or ())
        for c in self.plan.row_categorical:
            self.rows[c] = sd.values[:, names.index(c)].astype(np.int64)
        if self.plan.weight is not None:
            self.weight = sd.values[:, names.index(self.plan.weight)].astype(np.float64)


def _str_columns(frame: pd.DataFrame) -> pd.DataFrame:
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    out = frame.copy(deep=False)
    out.columns = [str(c) for c in frame.columns]
    return out


def _filled_columns(columns: list[str], n_in: int, plan: ColumnPlan) -> list[int]:
    """Positions of the masked columns in the table: the past inputs, then the known ones."""
    return list(range(n_in)) + [columns.index(c) for c in plan.known]


def _with_known(rd: RoleData | None, table: np.ndarray, columns: list[str]) -> RoleData | None:
    """*rd* reading its known columns from *table* (the scaled rows): a view, no copy."""
    if rd is None or not rd.plan.known:
        return rd
    idx = [columns.index(c) for c in rd.plan.known]
    known = table[:, idx[0] : idx[-1] + 1] if idx == list(range(idx[0], idx[-1] + 1)) else table[:, idx]
    return replace(rd, known=known)


def _fitted_categorical(schema: dict[str, Any]) -> set[str]:
    roles = schema.get("roles")
    if not roles:
        return set()
    plan = roles["plan"]
    return set(plan["past_cat"]) | set(plan["known_cat"]) | set(plan["static_cat"])


def _key_back(key: Any) -> Any:
    """A saved series key as the key it was (JSON lists keep ints and strings as they were)."""
    return tuple(key) if isinstance(key, list) else key


def _as_slice(mask: np.ndarray) -> slice | np.ndarray:
    """A boolean row mask as a slice when its rows are one contiguous run (a view, not a copy)."""
    idx = np.flatnonzero(mask)
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return mask


def _features_module() -> Any:
    from . import features

    return features


def _augment_module() -> Any:
    from . import augment

    return augment


def _as_frame(data: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """``data`` as a pandas frame; a Polars frame's ``columns`` only (a LazyFrame reads only those)."""
    if isinstance(data, (str, os.PathLike)):
        from .io import read_table

        return read_table(data)
    if isinstance(data, pd.DataFrame):
        return data
    if polars_kind(data) in ("DataFrame", "LazyFrame"):
        return from_polars(data, columns=columns)
    raise param_error("data", "a DataFrame (pandas or Polars) or a CSV/Parquet path", type(data).__name__)


def check_series_trained(scaler: Any, keys: Sequence[Any]) -> None:
    """Per-series statistics exist only for series with training rows: refuse the others by name, up front."""
    if not isinstance(scaler, SeriesScaler):
        return
    counts = np.zeros(len(keys), dtype=np.int64)
    counts[: len(scaler.series_counts_)] = scaler.series_counts_[: len(keys)]
    missing = [keys[int(i)] for i in np.flatnonzero(counts == 0)]
    if missing:
        raise DataError(
            f"scale_per='series' needs training rows in every series, but {len(missing)} series have none "
            f"(none of their rows is in the training part): {list_names([key_json(k) for k in missing[:10]])}"
            f"{' ...' if len(missing) > 10 else ''}. Drop those series, move the cut, or use scale_per='feature'."
        )


def _gap_json(gap: Any) -> str:
    """A duration gap as text: ``'7 days 00:00:00'``, or a calendar step as its alias (``'3MS'``)."""
    duration = parse_duration(gap)
    return duration.freqstr if isinstance(duration, pd.offsets.BaseOffset) else str(pd.Timedelta(duration))


def check_calendar_time(pipe: Pipeline) -> None:
    """Refuse ``Calendar`` features without a time column before an out-of-core pass starts.

    In memory the same mistake fails when the features are computed; streaming and Dask refuse it
    up front, before any chunk or partition is read.
    """
    if any(not d.source_columns() for d in pipe.derived) and pipe.time is None:  # Calendar reads the time only
        raise param_error("time", "a timestamp column when Calendar features are set", None, "Pass time='<column>'.")


def check_window_scaling_streamed(pipe: Pipeline, how: str) -> None:
    """Refuse ``scale_per="window"`` out of core (``how``: ``"for streaming"``, ``"with seqprep.dask"``), up front.

    Exports are read back by :func:`seqprep.outofcore.open_export`, which does not rebuild the
    per-window target normalization yet: its windows would come back unscaled and without the
    statistics that invert predictions.
    """
    if pipe.scale_per == "window":
        raise param_error(
            "scale_per", f"'feature', 'series' or 'sample' {how}", pipe.scale_per,
            "Per-window target normalization (scale_per='window') is in memory only for now: use "
            "Pipeline.fit, or scale_per='sample' to normalize the inputs of each window only.",
        )


# Per-series bases whose statistics are moments, which merge exactly across chunks and partitions.
# "robust" needs all of a series' rows at once (exact quantiles), so only Pipeline.fit has it per series.
_STREAMED_SERIES_BASES = ("standard", "minmax", "maxabs", "none")


def check_streamed_series_scaler(pipe: Pipeline, how: str) -> None:
    """Refuse a per-series scaler that an out-of-core fit cannot compute, before any pass starts.

    ``how`` ends the message's expectation, e.g. ``"for streaming"`` or ``"with seqprep.dask"``.
    """
    if pipe.scale_per != "series" or (isinstance(pipe.scaler, str) and pipe.scaler in _STREAMED_SERIES_BASES):
        return
    if isinstance(pipe.scaler, str) and pipe.scaler == "robust":
        fix = ("Per-series medians and quantile ranges need all of a series' training rows at once: fit in memory "
               "with Pipeline.fit, use scale_per='feature' with scaler='robust' (exact streaming quantiles), or "
               "scaler='standard' per series.")
    else:
        fix = "Per-series statistics exist for these bases only; use one of them or scale_per='feature'."
    raise param_error("scaler", f"'standard', 'minmax', 'maxabs' or 'none' with scale_per='series' {how}",
                      pipe.scaler, fix)


def fitted_series_codes(schema: dict[str, Any], keys: Sequence[Any]) -> np.ndarray:
    """The fitted per-series statistics' row for each series key; refuse unseen series by name.

    Rows are found by key, not by position, so data that lists its series in another order (or
    only some of them) is scaled with each series' own statistics.
    """
    known = {k: i for i, k in enumerate(schema["series_keys"])}
    keys = [key_json(k) for k in keys]
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise DataError(
            f"series {list_names(unknown[:10])}{' ...' if len(unknown) > 10 else ''} of the data were not seen at "
            "fit, so they have no per-series statistics. Use data of the fitted series, refit on this data, or "
            "use scale_per='feature' to score unseen series."
        )
    return np.array([known[k] for k in keys], dtype=np.int64)


class PerWindowScaling:
    """The ``batch_transform`` of ``scale_per="sample"``: each window normalised over its own steps.

    A class rather than a closure so that windows carrying it pickle (DataLoader workers).
    """

    def __init__(self) -> None:
        self._scaler = InstanceScaler()

    def __call__(self, X: np.ndarray, _starts: np.ndarray) -> np.ndarray:
        return self._scaler.transform(X).astype(X.dtype, copy=False)


class PerWindowTargetScaling:
    """The ``target_transform`` of ``scale_per="window"``: a batch and its targets scaled by its own inputs.

    Pickles (DataLoader workers). The maths is :class:`~seqprep.scaling.WindowNormalizer`'s.
    """

    def __init__(self, normalizer: WindowNormalizer, target_index: list[int | None]) -> None:
        self.normalizer = normalizer
        self.target_index = target_index

    def __call__(self, X: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        return self.normalizer.transform(X, y, target_index=self.target_index)


def target_input_index(targets: Sequence[str], inputs: Sequence[str]) -> list[int | None]:
    """The input column holding each target's past values, or None for a target that is not an input."""
    position = {c: i for i, c in enumerate(inputs)}
    return [position.get(t) for t in targets]


def window_target_stats(
    windows: Windows, normalizer: WindowNormalizer, targets: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each window's ``(target_loc, target_scale)``, (n, n_targets) float32, recomputed from its input rows.

    Only the target columns' rows are gathered (vectorized; no loop per window), in the batches'
    dtype, so the values equal those the batches carry.
    """
    names = list(windows.feature_names or ())
    index = target_input_index(targets, names)
    cols = [i for i in index if i is not None]
    spec = windows.spec
    n = len(windows)
    if not cols:
        return np.zeros((n, len(index)), np.float32), np.ones((n, len(index)), np.float32)
    rows = np.asarray(windows.starts)[:, None] + np.arange(spec.lookback) * spec.sampling_rate
    block = windows.data[rows[:, :, None], np.asarray(cols)[None, None, :]].astype(spec.dtype, copy=False)
    loc, scale = normalizer.stats(block)
    compact = [None if i is None else cols.index(i) for i in index]
    return normalizer.target_stats(loc, scale, compact)


def check_window_scaling(scaler: Any, layout: str) -> None:
    """``scale_per="window"``: a per-window statistic (name or WindowNormalizer) and a layout a dict batch allows."""
    try:
        make_scaler(scaler, per="window")
    except InvalidParameterError as exc:
        raise InvalidParameterError(str(exc).replace("`spec`", "`scaler`").replace("spec=", "scaler=")) from None
    if layout not in ("NTC", "NCT"):
        raise param_error(
            "layout", "'NTC' or 'NCT' with scale_per='window'", layout,
            "Per-window target normalization gives dict batches ({'past': X, 'target_loc': ..., "
            "'target_scale': ...}); reshape 'past' for other layouts in the model.",
        )


def _read_arrays(folder: Path, ref: Any) -> dict[str, np.ndarray] | None:
    """The arrays file a pipeline.json refers to, checked against the sha256 it records."""
    if ref is None:
        return None
    if not isinstance(ref, dict) or ref.get("file") != _ARRAYS_FILE or not isinstance(ref.get("sha256"), str):
        raise ArtifactError(f"{folder / _SPEC_FILE} has a malformed 'arrays' field: {ref!r:.120}.")
    file = folder / _ARRAYS_FILE
    if not file.is_file():
        raise ArtifactError(f"{file} is missing; {_SPEC_FILE} keeps its per-series statistics there.")
    blob = file.read_bytes()
    if hashlib.sha256(blob).hexdigest() != ref["sha256"]:
        raise ArtifactError(f"{file} was modified after it was saved: its sha256 does not match {_SPEC_FILE}.")
    try:
        with np.load(BytesIO(blob), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{file} is not a readable .npz file ({exc}).") from None


_RESAVE = "Load it with the seqprep that saved it and save it again with this one (Pipeline.save), or fit it again."


def _digest(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _split_json(s: Split) -> dict[str, Any]:
    d = s.describe()
    return {"summary": json.loads(d.to_json(orient="index", date_format="iso")), "context": s.context,
            "gap": str(s.gap)}


def _write_dir_atomically(target: Path, files: dict[str, str | bytes], *, overwrite: bool) -> None:
    """Write ``files`` and their ``checksums.json`` (last) into a temporary folder; rename it to ``target``."""
    if target.exists() and not target.is_dir():
        raise ArtifactError(f"{str(target)!r} is a file; a pipeline is saved to a directory. Choose another path.")
    with disk_errors(target), output_lock(target):
        clean_stale(target)
        if target.exists() and not overwrite and any(target.iterdir()):
            raise ArtifactError(
                f"{str(target)!r} already exists and is not empty; refusing to overwrite it silently. "
                "Choose another path or pass overwrite=True."
            )
        tmp = temp_dir_beside(target)
        try:
            for name, content in files.items():
                with open(tmp / name, "wb" if isinstance(content, bytes) else "w") as fh:
                    fh.write(content)
                    fh.flush()
                    os.fsync(fh.fileno())
            write_checksums(tmp)
            replace_dir(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

