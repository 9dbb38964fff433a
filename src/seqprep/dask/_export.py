"""The files of a :func:`seqprep.dask.export`: rows written by the workers, then the index and the manifest.

The format is the one-machine export's (:mod:`seqprep.outofcore`), so that
:func:`seqprep.outofcore.open_export` reads it. Each worker scales its partition and writes it into
its slice of ``data.npy`` (a file the client allocated, :func:`_write_rows`), and hashes
chunks of it (:func:`_hash_rows`); the client writes the window index, the pipeline and, last, the
manifest. Functions shipped to workers are module-level (pickled by reference).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import allocate_npy, fault_point
from ..exceptions import DataError
from ..outofcore import EXPORT_FORMAT, EXPORT_FORMAT_VERSION, write_sealed_manifest  # the one-machine export's format
from ..pipeline import Pipeline, fitted_series_codes
from ..scaling import SeriesScaler
from ._common import _chunks, _compute, _per_partition, _Plan

__all__: list[str] = []  # internal to seqprep.dask: its siblings import the names they need

# ---------------------------------------------------------------------- per-partition work (runs on workers)


def _write_rows(pdf: pd.DataFrame, pipe: Pipeline, path: str, time_path: str | None,
                item: tuple[int, int, np.ndarray | None, Any], rows: int | None = None) -> int:
    """Scale one partition and write it into its slice of ``data.npy`` (and ``time.npy``), chunk by chunk.

    ``item``: (the partition's first global row, its rows, the fitted (global) series code of each
    of its series in their local order or None, its head). Per-series statistics are indexed by the
    fitted code, not by the partition's own 0..k-1. Each chunk (:func:`_chunks`) is validated,
    scaled and written on its own: the scaled copy exists for one chunk at a time.
    """
    offset, n_rows, series_codes, head = item
    if len(pdf) == 0:
        return 0
    written = n_series = 0
    with _NpyRows(path) as out, _NpyRows(time_path) as tout:
        for c in _chunks(pipe, pdf, head, rows):
            sd = c.sd
            written, n_series = c.row0 + sd.n_rows, c.series0 + sd.n_series
            if written > n_rows or (series_codes is not None and n_series > len(series_codes)):
                break  # more rows or series than the summary saw: refused below, before its slice is overrun
            codes = sd.series_codes()
            if series_codes is not None:
                codes = np.asarray(series_codes[c.series0 : n_series], dtype=np.int64)[codes]
            out.write(offset + c.row0, pipe._scale(c.table, codes))
            tout.write(offset + c.row0, sd.time)
            fault_point("dask:worker-wrote-chunk")  # tests: a worker killed with its slice half written
    if written != n_rows:
        raise DataError(
            f"a partition changed between the summary and the export pass: {written} rows now, {n_rows} before."
        )
    if series_codes is not None and n_series != len(series_codes):
        raise DataError(
            f"a partition changed between the summary and the export pass: {n_series} series now, "
            f"{len(series_codes)} before."
        )
    return n_rows


class _NpyRows:
    """Rows of an existing ``.npy`` file written in place with plain file writes (``None``: writes nothing).

    Not a memory map: the pages a worker writes stay out of its resident set, which dask's nanny
    compares with the memory limit (a map keeps the partition's written rows resident until it is closed).
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.fh: Any = None
        self.dtype: np.dtype[Any] | None = None
        self.row_bytes = self.data_offset = 0

    def __enter__(self) -> _NpyRows:
        if self.path is not None:
            self.data_offset, self.dtype, self.row_bytes = _npy_layout(self.path)
            self.fh = open(self.path, "r+b")  # noqa: SIM115 - closed in __exit__
        return self

    def write(self, row: int, values: np.ndarray) -> None:
        """Write ``values`` (rows) from global row ``row`` on, cast to the file's dtype."""
        if self.fh is None:
            return
        block = np.ascontiguousarray(values, dtype=self.dtype)
        self.fh.seek(self.data_offset + row * self.row_bytes)
        self.fh.write(block.reshape(-1).view(np.uint8))  # raw bytes (datetime64 has no buffer format)

    def __exit__(self, *exc: Any) -> None:
        if self.fh is not None:
            try:
                self.fh.flush()
                os.fsync(self.fh.fileno())  # on disk before the manifest calls the export complete (as msync did)
            finally:
                self.fh.close()


def _npy_layout(path: str) -> tuple[int, np.dtype[Any], int]:
    """(offset of the data, dtype, bytes per row) of the C-ordered ``.npy`` file ``path`` (its header only)."""
    mm = np.load(path, mmap_mode="r")  # maps the file, touches none of its rows
    try:
        return int(mm.offset), mm.dtype, int(np.prod(mm.shape[1:], dtype=np.int64)) * mm.dtype.itemsize
    finally:
        del mm


def _hash_rows(path: str, start: int, stop: int, block: int = 8 << 20) -> str:
    """The sha256 of rows ``start:stop`` of ``data.npy`` (the manifest's chunk hash), read in blocks of bytes."""
    digest = hashlib.sha256()
    offset, _, row_bytes = _npy_layout(path)
    with open(path, "rb") as fh:
        fh.seek(offset + start * row_bytes)
        left = (stop - start) * row_bytes
        while left > 0:
            data = fh.read(min(block, left))
            if not data:  # pragma: no cover - allocate_npy reserved every row
                raise DataError(f"{path!r} ends before row {stop}; the export is incomplete.")
            digest.update(data)
            left -= len(data)
    return digest.hexdigest()


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
    items = []
    for j in range(len(plan.partition_index)):
        lo, hi = plan.series_slices[j]
        items.append((int(plan.offsets[j]), int(plan.n_rows[j]), None if series_codes is None else series_codes[lo:hi],
                      plan.heads[j]))
    jobs = _per_partition(dask, ddf, _write_rows, pipe, str(data_path), None if time_path is None else str(time_path),
                          items=items, partitions=plan.partition_index)
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


def _save_int64(path: Path, values: np.ndarray, block: int = 1 << 20) -> None:
    """``np.save(path, values.astype(np.int64))`` without the whole int64 copy: the header, then blocks of rows."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": np.lib.format.dtype_to_descr(np.dtype("<i8")), "fortran_order": False, "shape": values.shape})
        for a in range(0, len(values), block):
            values[a : a + block].astype("<i8").tofile(fh)


def _write_index(plan: _Plan, tmp: Path) -> dict[str, int]:
    """Write the window starts of each part (int64), the series bounds and the breaks; the windows per part."""
    counts = {}
    for name, starts in zip(plan.names, plan.part_starts, strict=True):
        _save_int64(tmp / f"starts-{name}.npy", starts)
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
