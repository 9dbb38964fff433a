"""fit_pipeline and export over a Dask DataFrame (the face is :mod:`seqprep.dask`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .._files import clean_stale, disk_errors, fault_point, output_lock, replace_dir, temp_dir_beside
from .._json import freq_json
from .._validation import check_int, list_names, param_error
from ..exceptions import ArtifactError, DataError
from ..outofcore import check_no_covariates
from ..pipeline import Pipeline, check_calendar_time, check_streamed_series_scaler, check_window_scaling_streamed
from ..scaling import IdentityScaler, MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from ._common import _require_dask
from ._export import (
    _fitted_series_codes,
    _hash_chunks,
    _manifest,
    _write_index,
    _write_manifest,
    _write_partitions,
)
from ._parquet import ParquetFiles, parquet_files
from ._plan import _make_plan
from ._stats import _fitted_scaler, _robust_scaler

__all__ = ["export", "fit_pipeline"]

_MERGEABLE = (StandardScaler, MinMaxScaler, MaxAbsScaler, IdentityScaler, RobustScaler)  # robust: exact, in passes


# ---------------------------------------------------------------------- checks


def _check_pipeline(pipe: Any) -> None:
    """Refuse, before any work on the data, a pipeline setting this path does not support."""
    if not isinstance(pipe, Pipeline):
        raise param_error("pipe", "a seqprep.Pipeline", type(pipe).__name__)
    check_calendar_time(pipe)
    check_window_scaling_streamed(pipe, "with seqprep.dask")
    check_no_covariates(pipe, "with seqprep.dask")
    if pipe.holdout != "time":
        raise param_error("holdout", "'time' with seqprep.dask", pipe.holdout, "Fit holdout='series' on one machine.")
    if pipe.scale_per == "sample":
        return  # no statistics to fit: the scaler is an identity, whatever ``scaler`` says
    if pipe.scale_per == "series":
        check_streamed_series_scaler(pipe, "with seqprep.dask")
        return
    if isinstance(pipe.scaler, dict):
        raise param_error("scaler", "one scaler for every column with seqprep.dask", pipe.scaler,
                          "Use 'standard', 'minmax', 'maxabs' or 'none'.")
    if type(pipe._make_scaler([])) not in _MERGEABLE:
        raise param_error(
            "scaler", "a scaler with mergeable statistics ('standard', 'minmax', 'maxabs', 'robust' or 'none')",
            pipe.scaler, "Use one of these, or fit that pipeline on one machine.",
        )


def _check_categorical(pipe: Pipeline, ddf: Any) -> None:
    """Refuse text / category columns among the features and targets named (no vocabulary on a cluster yet).

    Without ``features``, text columns are left out of the inputs, as ``Pipeline.fit`` does.
    """
    import pandas as pd

    read = list(pipe.features or ())
    dtypes = ddf.dtypes
    cats = [
        c
        for c in dict.fromkeys(read + list(pipe._targets))
        if c in dtypes.index
        and (isinstance(dtypes[c], pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtypes[c])
             or pd.api.types.is_object_dtype(dtypes[c]))
    ]
    check_no_covariates(pipe, "with seqprep.dask", cats)


def _as_dask_frame(ddf: Any) -> Any:
    """``ddf`` itself, or the Parquet dataset at that path (local: read by the tasks; else ``dd.read_parquet``).

    A local dataset (a file or a folder of files, no sub-folders) becomes
    :class:`~seqprep.dask._parquet.ParquetFiles`: each task reads its file a column at a time,
    about half the peak memory of a partition read by ``dd.read_parquet``.
    """
    _require_dask()
    import dask.dataframe as dd

    if isinstance(ddf, ParquetFiles):
        return ddf
    if isinstance(ddf, (str, os.PathLike)):
        files = parquet_files(ddf)
        return files if files is not None else dd.read_parquet(os.fspath(ddf))
    if not isinstance(ddf, dd.DataFrame):
        raise param_error("ddf", "a dask DataFrame or the path of a Parquet dataset", type(ddf).__name__)
    return ddf


# ---------------------------------------------------------------------- public API


def fit_pipeline(pipe: Pipeline, ddf: Any, client: Any = None) -> Pipeline:
    """Fit ``pipe`` on a Dask DataFrame: the split cut and the training statistics, computed per partition.

    The result equals ``pipe.fit(ddf.compute())`` (statistics to float64 rounding of the merge order;
    cut, schema and windows exactly), without bringing the rows to the client.

    Parameters
    ----------
    pipe : Pipeline
        An unfitted (or fitted: it is refitted) pipeline; see the module docstring for the settings
        supported.
    ddf : dask.dataframe.DataFrame or str or path-like
        The whole history, or the path of a Parquet dataset. A local path (a file, or a folder
        of files) is read by the tasks themselves, one partition per file, a column at a time:
        about 1.6x a partition of memory per task where ``dd.read_parquet(path)`` needs about
        4x. A URL, or a folder of hive sub-folders, is read with ``dd.read_parquet``.
        Partitions must be aligned to series (``group`` set) or to time (one series, in order).
    client : distributed.Client, optional
        Run on this cluster; default: the current Dask scheduler.

    Returns
    -------
    Pipeline
        ``pipe`` itself, with ``scaler_`` and ``schema_`` set (``split_`` stays ``None``: the
        windows are written by :func:`export`).

    Raises
    ------
    DataError
        A series split across partitions, partitions out of time order, a part without windows,
        a series without training rows (``scale_per="series"``), or the pipeline's own data checks
        on a partition.
    InvalidParameterError
        A pipeline setting this path does not support.
    ImportError
        When dask is not installed.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> from seqprep import Pipeline
    >>> df = pd.DataFrame({"y": np.arange(100.0)})
    >>> pipe = fit_pipeline(Pipeline(lookback=4, target="y", split=(0.8, 0.2)), dd.from_pandas(df, npartitions=2))
    >>> float(pipe.scaler_.mean_[0]), pipe.schema_["n_rows_fitted"]
    (39.5, 100)
    """
    _require_dask()
    _check_pipeline(pipe)
    ddf = _as_dask_frame(ddf)
    _check_categorical(pipe, ddf)
    robust = isinstance(pipe._make_scaler([]), RobustScaler)  # its quantiles take passes of their own
    plan = _make_plan(pipe, ddf, client, statistics=not robust)
    pipe.scaler_ = _robust_scaler(pipe, plan, ddf, client) if robust else _fitted_scaler(pipe, plan)
    pipe.schema_ = {
        "columns": plan.columns,
        "inputs": plan.columns[: plan.n_in],
        "targets": pipe._targets,
        "raw_columns": plan.raw_columns,
        "freq": freq_json(plan.freq),
        "series_keys": list(plan.keys) if pipe.scale_per == "series" else None,
        "warmup": pipe.warmup,
        "n_rows_fitted": int(plan.bounds[-1]),
    }
    pipe.split_ = None
    return pipe


def export(
    pipe: Pipeline,
    ddf: Any,
    out_dir: str | os.PathLike[str],
    *,
    client: Any = None,
    overwrite: bool = False,
    chunk_rows: int = 1 << 20,
) -> Path:
    """Scale every partition with the fitted pipeline and write the export directory.

    The format is the one-machine export's (:mod:`seqprep.outofcore`)::

        out_dir/data.npy               scaled rows (pipeline dtype), inputs then extra targets
        out_dir/starts-{part}.npy      int64 window start rows of each part
        out_dir/bounds.npy, breaks.npy int64 series boundaries and rows after a time gap
        out_dir/time.npy               timestamps (when the pipeline has a time column)
        out_dir/pipeline/              the fitted pipeline (Pipeline.save)
        out_dir/manifest.json          written last, with "complete": true and a sha256 per chunk

    :func:`seqprep.outofcore.open_export` reads it back as lazy windows. The partitions are
    written at once, by all the workers: each task writes its partition's rows into its own slice
    of ``data.npy`` (plain file writes at its rows' offset; a retried task rewrites the same
    rows), so the workers and the client must share the file system of ``out_dir``. The
    directory is built under a temporary name beside ``out_dir``; the client writes the index,
    the pipeline and, last, the manifest, and renames it into place: a run killed before that
    leaves no export at ``out_dir`` (an old one stays as it was), and the next run removes the
    temporary.

    Parameters
    ----------
    pipe : Pipeline
        A fitted pipeline (by :func:`fit_pipeline` or ``Pipeline.fit``).
    ddf : dask.dataframe.DataFrame or str or path-like
        The data to export (normally the data the pipeline was fitted on); a path as in
        :func:`fit_pipeline`.
    out_dir : str or path-like
    client : distributed.Client, optional
    overwrite : bool, default False
        Replace an existing non-empty ``out_dir``.
    chunk_rows : int, default 1_048_576
        Rows per sha256 in the manifest (``open_export(verify=True)`` checks them).

    Returns
    -------
    Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd, dask.dataframe as dd
    >>> from seqprep import Pipeline
    >>> ddf = dd.from_pandas(pd.DataFrame({"y": np.arange(100.0)}), npartitions=2)
    >>> pipe = fit_pipeline(Pipeline(lookback=4, target="y", split=(0.8, 0.2)), ddf)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = export(pipe, ddf, f"{tmp}/export")
    ...     sizes = [np.load(out / f"starts-{p}.npy").size for p in ("train", "test")]
    ...     rows = np.load(out / "data.npy").shape
    >>> sizes, rows
    ([76, 20], (100, 1))
    """
    _require_dask()
    _check_pipeline(pipe)
    pipe._check_fitted()
    ddf = _as_dask_frame(ddf)
    _check_categorical(pipe, ddf)
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise ArtifactError(f"{str(target)!r} is a file; an export is written to a directory. Choose another path.")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise ArtifactError(
            f"{str(target)!r} already exists and is not empty; refusing to overwrite it silently. "
            "Choose another path or pass overwrite=True."
        )
    plan = _make_plan(pipe, ddf, client, statistics=False)
    if plan.columns != list(pipe.schema_["columns"]):  # type: ignore[index]
        raise DataError(
            f"the data's columns {list_names(plan.columns)} differ from the fitted columns "
            f"{list_names(pipe.schema_['columns'])}."  # type: ignore[index]
        )
    series_codes = _fitted_series_codes(pipe, plan)  # refuses unseen series before any file is made
    dask = _require_dask()
    # Built beside the target under its write lock, swapped in only when complete (an old export
    # survives a failed or killed run); the temporaries of a killed run are removed first.
    with disk_errors(target), output_lock(target):
        clean_stale(target)
        tmp = temp_dir_beside(target)
        try:
            # Every partition is written at once, by all the workers: each task fills its own slice
            # of data.npy (disjoint rows; a retried task rewrites the same rows). Only the client
            # writes what makes the folder an export (index, pipeline, manifest last), and the
            # folder is renamed into place after that: a run killed anywhere before leaves a
            # hidden temporary without a manifest, which open_export refuses and the next run removes.
            data_path = _write_partitions(dask, client, pipe, ddf, plan, tmp, series_codes)
            fault_point("dask:written")
            hashes = _hash_chunks(dask, client, data_path, int(plan.bounds[-1]), chunk_rows)
            counts = _write_index(plan, tmp)
            pipe.save(tmp / "pipeline")
            _write_manifest(tmp, _manifest(pipe, ddf, plan, chunk_rows, hashes, counts))
            fault_point("dask:sealed")
            replace_dir(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
