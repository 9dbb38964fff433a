"""The files of a :func:`seqprep.dask.export`: rows written by the workers, then the index and the manifest.

The format is the one-machine export's (:mod:`seqprep.outofcore`), so that
:func:`seqprep.outofcore.open_export` reads it. Each worker scales its partition and writes it into
its slice of ``data.npy`` (a memory map the client allocated, :func:`_write_rows`), and hashes
chunks of it (:func:`_hash_rows`); the client writes the window index, the pipeline and, last, the
manifest. Functions shipped to workers are module-level (pickled by reference).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import allocate_npy
from ..exceptions import DataError
from ..outofcore import EXPORT_FORMAT, EXPORT_FORMAT_VERSION, write_sealed_manifest  # the one-machine export's format
from ..pipeline import Pipeline, fitted_series_codes
from ..scaling import SeriesScaler
from ._common import _compute, _load, _Plan

__all__: list[str] = []  # internal to seqprep.dask: its siblings import the names they need

# ---------------------------------------------------------------------- per-partition work (runs on workers)


def _write_rows(
    pipe: Pipeline, pdf: pd.DataFrame, path: str, offset: int, n_rows: int, time_path: str | None,
    series_codes: np.ndarray | None = None, head: pd.DataFrame | None = None,
) -> int:
    """Scale one partition and write it into its slice of ``data.npy`` (and ``time.npy``).

    ``series_codes`` gives the fitted (global) series code of each of the partition's series, in
    their local order: per-series statistics are indexed by it, not by the partition's own 0..k-1.
    """
    if len(pdf) == 0:
        return 0
    table, sd, _, _ = _load(pipe, pdf, head)
    if sd.n_rows != n_rows:
        raise DataError(
            f"a partition changed between the summary and the export pass: {sd.n_rows} rows now, {n_rows} before."
        )
    codes = sd.series_codes()
    if series_codes is not None:
        if len(series_codes) != sd.n_series:
            raise DataError(
                f"a partition changed between the summary and the export pass: {sd.n_series} series now, "
                f"{len(series_codes)} before."
            )
        codes = np.asarray(series_codes, dtype=np.int64)[codes]
    scaled = pipe._scale(table, codes)
    out = np.load(path, mmap_mode="r+")
    out[offset : offset + n_rows] = scaled
    out.flush()
    del out
    if time_path is not None:
        tout = np.load(time_path, mmap_mode="r+")
        tout[offset : offset + n_rows] = sd.time
        tout.flush()
        del tout
    return n_rows


def _hash_rows(path: str, start: int, stop: int) -> str:
    """The sha256 of rows ``start:stop`` of ``data.npy`` (the manifest's chunk hash)."""
    data = np.load(path, mmap_mode="r")
    block = np.ascontiguousarray(data[start:stop])
    return hashlib.sha256(block.data.cast("B")).hexdigest()


# ---------------------------------------------------------------------- client side


def _fitted_series_codes(pipe: Pipeline, plan: _Plan) -> np.ndarray | None:
    """Fitted series code of every series of the data (plan order); ``None`` without per-series statistics.

    The exported data may list its series in another order than the fitted data (or be another
    pipeline's fit): rows are scaled with the statistics of their series key, as ``Pipeline.transform``
    does, and a series the pipeline has no statistics for is refused before any row is written.
    """
    if not isinstance(pipe.scaler_, SeriesScaler):
        return None
    return fitted_series_codes(pipe.schema_, plan.keys)  # type: ignore[arg-type]


def _allocate(pipe: Pipeline, plan: _Plan, tmp: Path) -> tuple[Path, Path | None]:
    """Create ``data.npy`` (and ``time.npy``) at full size, for the workers to fill: (data path, time path)."""
    n_total = int(plan.bounds[-1])
    data_path = tmp / "data.npy"
    # blocks reserved up front: a full disk is refused here, never a SIGBUS in a worker
    allocate_npy(data_path, pipe.spec.dtype, (n_total, len(plan.columns)))
    time_path = None
    if plan.time_dtype is not None:
        time_path = tmp / "time.npy"
        allocate_npy(time_path, plan.time_dtype, (n_total,))
    return data_path, time_path


def _write_partitions(
    dask: Any, client: Any, pipe: Pipeline, ddf: Any, plan: _Plan, tmp: Path, series_codes: np.ndarray | None
) -> Path:
    """Every non-empty partition's scaled rows (and timestamps) written by the workers; the path of ``data.npy``.

    Refuses a total that differs from the plan's (data changed while it was exported).
    """
    n_total = int(plan.bounds[-1])
    data_path, time_path = _allocate(pipe, plan, tmp)
    parts = list(ddf.to_delayed())
    jobs = []
    for j, s_index in enumerate(plan.partition_index):
        lo, hi = plan.series_slices[j]
        jobs.append(dask.delayed(_write_rows, pure=False)(
            pipe, parts[s_index], str(data_path), int(plan.offsets[j]), int(plan.n_rows[j]),
            None if time_path is None else str(time_path),
            None if series_codes is None else series_codes[lo:hi], plan.heads[j]))
    written = sum(_compute(dask, client, jobs))
    if written != n_total:
        raise DataError(f"the export wrote {written} rows; the data has {n_total}.")
    return data_path


def _hash_chunks(dask: Any, client: Any, data_path: Path, n_total: int, chunk_rows: int) -> list[str]:
    """The sha256 of every ``chunk_rows`` rows of ``data.npy``, computed on the workers."""
    n_chunks = -(-n_total // chunk_rows)
    return _compute(dask, client, [
        dask.delayed(_hash_rows, pure=False)(str(data_path), k * chunk_rows, min((k + 1) * chunk_rows, n_total))
        for k in range(n_chunks)
    ])


def _write_index(plan: _Plan, tmp: Path) -> dict[str, int]:
    """Write the window starts of each part, the series bounds and the breaks; the windows per part."""
    counts = {}
    for name, idx in zip(plan.names, plan.members, strict=True):
        starts = plan.starts[idx].astype(np.int64)
        np.save(tmp / f"starts-{name}.npy", starts)
        counts[name] = int(len(starts))
    np.save(tmp / "bounds.npy", plan.bounds.astype(np.int64))
    np.save(tmp / "breaks.npy", plan.breaks.astype(np.int64))
    return counts


def _manifest(
    pipe: Pipeline, ddf: Any, plan: _Plan, chunk_rows: int, hashes: list[str], counts: dict[str, int]
) -> dict[str, Any]:
    """The manifest: the fields of seqprep.outofcore's manifest, so that open_export reads this export."""
    n_total = int(plan.bounds[-1])
    cfg = pipe.get_config()
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_FORMAT_VERSION,
        "fingerprint": {"config": cfg, "source": {"kind": "dask", "npartitions": int(ddf.npartitions)},
                        "columns": plan.columns, "chunk_rows": chunk_rows, "format": "npy"},
        "columns": plan.columns,
        "inputs": plan.columns[: plan.n_in],
        "targets": list(pipe._targets),
        "scalar_target": isinstance(pipe.target, str),
        "spec": pipe.spec.to_dict(),
        "n_rows": n_total,
        "dtype": pipe.spec.dtype,
        "chunk_rows": chunk_rows,
        "n_chunks": len(hashes),
        "parts": counts,
        "part_names": list(plan.names),
        "row_ranges": {n: np.stack(r, axis=1).tolist() for n, r in zip(plan.names, plan.ranges, strict=True)},
        "keys": plan.keys,
        "scale_per": pipe.scale_per,  # "sample": open_export normalises each window as it reads it
        "time": pipe.time,
        "time_dtype": None if plan.time_dtype is None else str(plan.time_dtype),
        "freq": pipe.schema_["freq"],  # type: ignore[index]
        "chunks": {str(k): h for k, h in enumerate(hashes)},
        "runs": [{"written_by": "seqprep.dask", "partitions": len(plan.partition_index)}],
        "complete": True,
    }


def _write_manifest(tmp: Path, manifest: dict[str, Any]) -> None:
    """Write ``checksums.json`` and ``manifest.json`` as the one-machine export does; last: marks it complete."""
    write_sealed_manifest(tmp, manifest)
