"""Larger-than-memory data on one machine: stream the fit, export scaled rows once, map them back.

The in-memory :class:`~seqprep.Pipeline` loads the whole table. This module does the same work
in passes over chunks of rows, so that the data never has to fit in memory:

1. **scan** the time and group columns (only those) to find the series, check that rows are
   sorted by ``(group, time)``, infer the time step and locate gaps in time;
2. **split** in time with the semantics of :func:`seqprep.split` (fractions are cut per series
   from row counts; timestamps by binary search in each series' sorted times);
3. **fit** the scaler in one streaming pass over the training rows with the exact, mergeable
   ``partial_fit`` (float64 moments);
4. **export** (:func:`export`): write the scaled rows once to ``data.npy`` chunk by chunk, with
   the window start rows of every part, and a manifest written last. An interrupted export
   resumes where it stopped; :func:`open_export` memory-maps the result as lazy
   :class:`~seqprep.Windows`.

Sources are ``.npy`` files (opened as memory maps; column names given with ``columns=`` or in a
sidecar JSON ``<file>.json``) and Parquet files or directories (read in record batches through
``pyarrow``).

Statistics, split rows and window starts equal those of ``Pipeline.fit`` on the same data
(statistics to float64 rounding, starts bit for bit). Streaming supports ``holdout="time"``,
every ``scale_per`` (``"series"``: one set of statistics per series, fitted on that series'
training rows in the same single pass and kept as ``(n_series, n_features)`` arrays, for every
base but ``"robust"``, whose per-series quantiles need ``Pipeline.fit``;
``"sample"``: each window normalised on its own when it is read), ``nan_policy="raise"``,
``derived`` features (computed per chunk with the in-memory code; lags, differences and rolling
windows get the last rows of the previous chunk, and windows skip each series' warm-up rows as in
memory), and every per-feature scaler: moments merge exactly in one pass, and ``"robust"`` finds
its exact quantiles in a few passes over the training rows (:mod:`seqprep.scaling._quantiles`).

This module is the public face and runs the steps in order (``_plan``: scan, split, fit;
``_setup``: the plan's files); the steps live in private modules:

- :mod:`seqprep.outofcore._sources`: the chunked readers (``.npy``, Parquet), re-exported here;
- :mod:`seqprep.outofcore._plan`: the columns read, the scan, the split and the window starts;
- :mod:`seqprep.outofcore._fit`: a chunk's table (raw and derived columns), the training-rows pass
  that fits the scaler, the progress bar;
- :mod:`seqprep.outofcore._export_files`: the export directory's files, its fingerprint and resumable
  state, the chunk writes and the manifest that :func:`open_export` checks.
"""

from __future__ import annotations

from ._covariates import check_no_covariates as check_no_covariates  # shared with seqprep.dask
from ._export_files import EXPORT_FORMAT, EXPORT_FORMAT_VERSION
from ._export_files import write_sealed_manifest as write_sealed_manifest  # shared with seqprep.dask
from ._sources import NpySource, ParquetSource, open_source
from ._stream import StreamFit, export, fit_stream, open_export

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "NpySource",
    "ParquetSource",
    "StreamFit",
    "export",
    "fit_stream",
    "open_export",
    "open_source",
]
