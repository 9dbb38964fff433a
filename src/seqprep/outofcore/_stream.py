"""fit_stream, export and open_export: the steps in order (the face is :mod:`seqprep.outofcore`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._files import allocate_npy, clean_stale, disk_errors, fault_point, output_lock, replace_dir
from .._validation import check_int, param_error
from ..exceptions import ArtifactError
from ..io import SeriesData
from ..splitting import check_needs_time
from ..timeaxis import require_frequency
from ..windowing import Windows, WindowSpec

# ``x as x``: re-exported from the module they moved to, for code that imports them from here.
from ._export_files import (
    _begin,
    _empty,
    _existing_state,
    _fingerprint,
    _load_fitted,
    _read_manifest,
    _verify_chunks,
    _write_chunks,
    _write_setup,
    clean_inside,
    verify_export,
)
from ._fit import _Bar, _fit_scaler
from ._plan import (
    _check_streamable,
    _count_windows,
    _cut,
    _part_names,
    _resolve_columns,
    _scan,
    _time_dtype,
)
from ._sources import _Source, open_source

__all__ = ["StreamFit", "export", "fit_stream", "open_export"]

DEFAULT_CHUNK_ROWS = 1 << 20


# ---------------------------------------------------------------------- the plan and the fit


@dataclass
class StreamFit:
    """What a streaming fit found: the series, the split rows and the windows per part.

    Attributes
    ----------
    pipeline : Pipeline
        The pipeline, fitted (``scaler_`` and ``schema_`` set; ``split_`` is None).
    columns : list of str
        Columns of the scaled table: inputs first, then extra targets.
    n_inputs : int
    n_rows : int
    bounds : ndarray of shape (n_series + 1,)
    keys : tuple
        Series keys.
    freq : object or None
        Dominant time step.
    breaks : ndarray of int64
        Rows after a gap in time.
    row_ranges : dict of str to ndarray of shape (n_series, 2)
        Local rows ``[lo, hi)`` of each part, as :attr:`seqprep.Split.row_ranges`.
    n_windows : dict of str to int
    """

    pipeline: Any
    columns: list[str]
    n_inputs: int
    n_rows: int
    bounds: np.ndarray
    keys: tuple[Any, ...]
    freq: Any
    breaks: np.ndarray
    row_ranges: dict[str, np.ndarray]
    n_windows: dict[str, int]
    time: np.ndarray | None = field(default=None, repr=False)


def _plan(
    pipe: Any, source: _Source, chunk_rows: int, time_out: np.ndarray | None, bar: _Bar
) -> StreamFit:
    """Scan, split, count windows and fit the scaler in one pass over the training rows."""
    _check_streamable(pipe)
    raw, columns, n_in = _resolve_columns(pipe, source)
    bounds, keys, freq, breaks = _scan(source, pipe.time, pipe.group, chunk_rows, time_out, bar)
    time = time_out if pipe.time is not None else None
    ranges = _cut(pipe.split, pipe.gap, bounds, time)
    names = _part_names(pipe.split)
    counts = _count_windows(bounds, breaks, ranges, pipe, names)
    pipe.scaler_ = _fit_scaler(pipe, source, chunk_rows, raw, columns, bounds, ranges[0], keys, bar)
    from .._json import freq_json, key_json

    pipe.schema_ = {
        "columns": columns,
        "inputs": columns[:n_in],
        "targets": pipe._targets,
        "raw_columns": raw,
        "freq": freq_json(freq),
        "series_keys": [key_json(k) for k in keys] if pipe.scale_per == "series" else None,
        "warmup": pipe.warmup,
        "n_rows_fitted": int(bounds[-1]),
    }
    pipe.split_ = None
    row_ranges = {n: np.stack(r, axis=1) for n, r in zip(names, ranges, strict=True)}
    return StreamFit(
        pipe, columns, n_in, int(bounds[-1]), bounds, keys, freq, breaks, row_ranges,
        dict(zip(names, counts, strict=True)), time,
    )


def fit_stream(
    pipeline: Any,
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool | None = None,
) -> StreamFit:
    """Fit a pipeline's statistics in one streaming pass over the training rows of a file.

    Parameters
    ----------
    pipeline : Pipeline
        Its split, gap, context, scaler and columns are used; it is fitted in place.
    data : str, path-like or source
        An ``.npy`` file or a Parquet file/directory (see :func:`open_source`).
    columns : list of str, optional
        Column names of an ``.npy`` file.
    chunk_rows : int, default 1_048_576
        Rows read at a time.
    progress : bool, optional
        Show progress bars (default: when stderr is a terminal).

    Returns
    -------
    StreamFit

    Raises
    ------
    DataError
        Rows not sorted by ``(group, time)`` (naming the first offending row), NaN values, or a
        part without windows.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from seqprep import Pipeline
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(p, np.c_[np.arange(100.0), np.sin(np.arange(100.0))])
    >>> fit = fit_stream(Pipeline(lookback=5, target="a"), p, columns=["a", "b"], chunk_rows=30)
    >>> fit.n_windows
    {'train': 65, 'val': 15, 'test': 15}
    >>> round(float(fit.pipeline.scaler_.mean_[0]), 1)
    34.5
    """
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    source = open_source(data, columns)
    tdtype = _time_dtype(source, pipeline.time)
    with tempfile.TemporaryDirectory(prefix="seqprep-time-") as tmp, _Bar(progress) as bar:
        time_out = None
        if tdtype is not None:
            time_out = np.lib.format.open_memmap(Path(tmp) / "time.npy", mode="w+", dtype=tdtype,
                                                 shape=(source.n_rows,))
        fit = _plan(pipeline, source, chunk_rows, time_out, bar)
        fit.time = None
        del time_out
    return fit


# ---------------------------------------------------------------------- export


def export(
    pipeline: Any,
    path: str | os.PathLike[str],
    data: Any,
    *,
    format: str = "npy",
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    overwrite: bool = False,
    progress: bool | None = None,
) -> Path:
    """Fit by streaming, then write the scaled rows and the window starts of every part to a directory.

    Layout of ``path``: ``data.npy`` (``(n_rows, n_columns)`` in the pipeline's dtype, inputs
    first then extra targets), ``starts-<part>.npy`` (int64 start rows), ``bounds.npy``,
    ``breaks.npy``, ``time.npy`` (when there is a time column), ``pipeline/`` (the fitted
    :class:`~seqprep.Pipeline`), ``series.json`` (series keys and split rows, written once),
    ``progress.json`` (rewritten after every chunk) and, written last and atomically,
    ``manifest.json`` with ``"complete": true`` and one sha256 per chunk.

    An interrupted export run again with the same arguments resumes: the statistics and starts
    are read back and only the chunks missing from ``progress.json`` are written.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted in place by one streaming pass (see :func:`fit_stream`).
    path : str or path-like
        Output directory.
    data : str, path-like or source
        An ``.npy`` file or a Parquet file/directory.
    format : {"npy"}, default "npy"
    columns : list of str, optional
        Column names of an ``.npy`` file.
    chunk_rows : int, default 1_048_576
        Rows per chunk (the unit of resumption).
    overwrite : bool, default False
        Start again in a directory that holds another export.
    progress : bool, optional
        Show progress bars (default: when stderr is a terminal).

    Returns
    -------
    Path
        The output directory.

    Raises
    ------
    ArtifactError
        The directory holds another export (other arguments or data) or unrelated files.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from seqprep import Pipeline
    >>> d = tempfile.mkdtemp()
    >>> np.save(os.path.join(d, "x.npy"), np.c_[np.arange(100.0), np.cos(np.arange(100.0))])
    >>> out = export(Pipeline(lookback=5, target="a"), os.path.join(d, "out"), os.path.join(d, "x.npy"),
    ...              columns=["a", "b"], chunk_rows=40)
    >>> parts = open_export(out)
    >>> [len(w) for w in parts.values()], parts["train"][0][0].shape
    ([65, 15, 15], (5, 2))
    """
    if format != "npy":
        raise param_error("format", "'npy'", format, "Only .npy exports are written for now.")
    _check_streamable(pipeline)  # settings that cannot stream are refused before the directory is made
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    source = open_source(data, columns)
    if np.dtype(pipeline.spec.dtype).kind != "f":
        raise param_error("dtype", "a float dtype for an export", pipeline.spec.dtype)
    _resolve_columns(pipeline, source)  # every name is checked before the directory is made
    _time_dtype(source, pipeline.time)
    check_needs_time(pipeline.split, pipeline.gap, pipeline.time is not None)
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ArtifactError(f"{str(out)!r} is a file; an export is written to a directory. Choose another path.")
    fp = _fingerprint(pipeline, source, chunk_rows, format)
    staging = out.with_name(f".{out.name}.overwrite")
    with disk_errors(out), output_lock(out):
        clean_stale(out)
        if not overwrite and staging.exists():  # what a killed --overwrite run built: a plain run drops it
            shutil.rmtree(staging)
        clean_inside(out)
        complete, state, replace = _existing_state(out, fp, overwrite)
        if complete:
            verify_export(out, deep=False)
            _load_fitted(pipeline, out)
            return out
        work = out
        if replace:  # --overwrite of a finished export: build the new one beside it, swap it in when complete
            work = staging
            clean_inside(work)
            try:
                complete, state, _ = _existing_state(work, fp, False)  # resume a killed --overwrite run
            except ArtifactError:
                shutil.rmtree(work)
                complete, state = False, None
        if not complete:
            _write(pipeline, work, source, chunk_rows, fp, state, progress)
        if replace:
            fault_point("export:swap")
            replace_dir(work, out)
    return out


def _write(
    pipe: Any, work: Path, source: _Source, chunk_rows: int, fp: dict[str, Any], state: dict[str, Any] | None,
    progress: bool | None,
) -> None:
    """Set the export up in ``work`` (unless resumed) and write its missing chunks.

    A failure before the setup is complete removes what it wrote (the directory too, when it
    made it): a refused input leaves nothing behind. A kill leaves the ``"setup": false`` mark,
    and the next run starts again.
    """
    created = not work.exists()
    with _Bar(progress) as bar:
        if state is None or not state.get("setup"):
            _begin(work, fp)
            try:
                state = _setup(pipe, work, source, chunk_rows, fp, bar)
            except BaseException:
                if created:
                    shutil.rmtree(work, ignore_errors=True)
                else:
                    _empty(work)
                raise
        else:
            _load_fitted(pipe, work)
        _write_chunks(pipe, work, source, state, bar)


def _setup(pipe: Any, out: Path, source: _Source, chunk_rows: int, fp: dict[str, Any], bar: _Bar) -> dict[str, Any]:
    """Scan, fit, and write everything but the data rows; record it in progress.json."""
    tdtype = _time_dtype(source, pipe.time)
    time_out = None
    tmp_time = out / ".time.npy.tmp"
    if tdtype is not None:
        allocate_npy(tmp_time, tdtype, (source.n_rows,))
        time_out = np.load(tmp_time, mmap_mode="r+")
    fit = _plan(pipe, source, chunk_rows, time_out, bar)
    fault_point("export:scanned")
    if time_out is not None:
        time_out.flush()
        del time_out
        fit.time = None
        os.replace(tmp_time, out / "time.npy")
    state = _write_setup(pipe, out, fit, fp, chunk_rows, tdtype)
    fault_point("export:setup")
    return state


# ---------------------------------------------------------------------- reading back


def open_export(path: str | os.PathLike[str], *, verify: bool = False) -> dict[str, Windows]:
    """Memory-map a finished export as lazy :class:`~seqprep.Windows`, one per part.

    Parameters
    ----------
    path : str or path-like
        A directory written by :func:`export`.
    verify : bool, default False
        Also recompute the sha256 of the files over 64 MiB and of every chunk of ``data.npy``
        (reads all the data once). Without it, the other files are still checked against
        ``checksums.json`` (``data.npy`` and the big ones by size and header).

    Returns
    -------
    dict of str to Windows
        ``{"train": ..., "val": ..., "test": ...}`` over ``data.npy`` opened read-only.

    Raises
    ------
    ArtifactError
        No manifest, an incomplete export, another format or version, a file changed, missing
        or added since the export (named), or (``verify``) a chunk whose content changed.
    """
    out = Path(path)
    m = _read_manifest(out)
    verify_export(out, deep=verify)
    data = np.load(out / "data.npy", mmap_mode="r")
    columns = list(m["columns"])
    if data.shape != (m["n_rows"], len(columns)):
        raise ArtifactError(
            f"{out / 'data.npy'} has shape {data.shape}; the manifest says {(m['n_rows'], len(columns))}."
        )
    if verify:
        _verify_chunks(out, data, m)
    spec = WindowSpec.from_dict(m["spec"])
    n_in = len(m["inputs"])
    tgt = [columns.index(t) for t in m["targets"]]
    y = _column_view(data, tgt)
    time = np.load(out / "time.npy", mmap_mode="r") if (out / "time.npy").is_file() else None
    freq = m.get("freq")
    if freq is not None and time is not None and time.dtype.kind == "M":
        freq = require_frequency(freq).step  # a duration, or a calendar alias ("MS", "B") kept as text
    sd = SeriesData(
        data, tuple(columns), np.load(out / "bounds.npy"), tuple(m["keys"]), time, freq, np.load(out / "breaks.npy"),
        {"source": "export", "rows": m["n_rows"]},
    )
    # Per-window normalisation cannot be written once: it is applied to every batch as it is read.
    from ..pipeline import PerWindowScaling

    transform = PerWindowScaling() if m.get("scale_per", "feature") == "sample" else None
    parts = {}
    for name in m["part_names"]:
        starts = np.load(out / f"starts-{name}.npy", mmap_mode="r")
        parts[name] = Windows(
            data[:, :n_in], y, starts, spec, sd, feature_names=columns[:n_in], target_names=m["targets"],
            scalar_target=bool(m["scalar_target"]), name=name, batch_transform=transform,
        )
    return parts


def _column_view(data: np.ndarray, idx: list[int]) -> np.ndarray:
    """Columns ``idx`` of a memory map without a copy when they are evenly spaced; a copy otherwise."""
    if len(idx) == 1:
        return data[:, idx[0] : idx[0] + 1]
    step = idx[1] - idx[0]
    if step > 0 and all(b - a == step for a, b in zip(idx, idx[1:], strict=False)):
        return data[:, idx[0] : idx[-1] + 1 : step]
    return np.asarray(data[:, idx])
