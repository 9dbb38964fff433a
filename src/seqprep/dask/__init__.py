"""Fit and export a :class:`~seqprep.Pipeline` over a Dask DataFrame, partition by partition.

``pip install 'seqprep[dask]'``. Dask is imported inside the functions, so ``import seqprep.dask``
is light; calling a function without dask installed raises an :class:`ImportError` that names the
extra.

What runs where
---------------
Every pass over the rows runs on the workers, one task per partition that reads the partition and
works on it in chunks of whole series (a worker holds one partition and one chunk's work at a
time); the client only sees small summaries (per-series row counts, a histogram of time steps, a
histogram of timestamps when a common timestamp cut must be found) and computes the window index
(each part's starts in int32 below 2**31 rows, a block of windows at a time; written as int64, as
the one-machine export writes them):

1. *summary* -- per partition: validate the rows (:func:`seqprep.io.as_series`, the pipeline's own
   checks), count rows per series, count time steps. The client derives the global time step, the
   series boundaries and the split cut exactly as :func:`seqprep.split` does on the whole data.
2. *statistics* -- per partition: :class:`~seqprep.scaling.Moments` of the partition's **training
   rows**, tree-reduced with the exact Chan merge; the scaler state is rebuilt from the merged
   moments with ``from_dict``. With ``scale_per="series"`` each partition returns one row of
   moments per series it holds (``n_local_series x n_features``), and the client places them at
   the series' global positions (merging them for a time-aligned series spread over partitions).
3. *export* -- per partition, all at once: scale the rows with the training statistics and write
   them into their slice of ``data.npy`` (the workers need a file system shared with the client).

Given the path of a local Parquet dataset instead of a Dask DataFrame, each task reads its own
file (one partition per file, in dask's order), a column at a time straight to numpy: a
whole-file read, as ``dd.read_parquet`` runs it, holds about 2.4x the partition at its peak.

Partitions must be aligned either to series (``group=...``: every series lies inside one
partition) or to time (one series, partitions in time order). Scaling is row-wise and windows are
addressed by their start row, so time-aligned partitions need no overlap: the only information a
window needs from the previous partition is whether the time step across the partition boundary
is regular, and that comes from the summaries (each partition's first and last timestamp).

Supported: ``holdout="time"``; ``scale_per="feature"`` with ``"standard"``, ``"minmax"``,
``"maxabs"``, ``"robust"`` (exact quantiles in a few passes over the partitions) or ``"none"``;
``scale_per="series"`` (one set of statistics per series, fitted on that series' training rows
only) with the same scalers except ``"robust"`` (per-series quantiles need all of a series' rows at
once: ``Pipeline.fit`` only); ``scale_per="sample"`` (rows written unscaled, each window normalised
as it is read, as :func:`seqprep.outofcore.open_export` does); derived features (a time-aligned
partition gets the warm-up rows of the partitions before it). Other settings raise
:class:`~seqprep.exceptions.InvalidParameterError` (fit those on one machine).

Examples
--------
>>> import numpy as np, pandas as pd, dask.dataframe as dd
>>> from seqprep import Pipeline
>>> from seqprep.dask import fit_pipeline
>>> df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=120, freq="D"), "y": np.arange(120.0)})
>>> ddf = dd.from_pandas(df, npartitions=3)
>>> pipe = fit_pipeline(Pipeline(lookback=5, target="y", time="t"), ddf)
>>> float(pipe.scaler_.mean_[0])
41.5
"""

from __future__ import annotations

from ._cluster import export, fit_pipeline

__all__ = [
    "export",
    "fit_pipeline",
]
