"""Tables read from disk in chunks of rows, for :mod:`seqprep.outofcore`: ``.npy`` memory maps and Parquet.

:class:`NpySource` and :class:`ParquetSource` are public through :mod:`seqprep.outofcore`;
:func:`open_source` picks one from a path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_distinct, check_unique_columns, column_positions, param_error
from ..exceptions import DataError
from ..io import check_file, load_npy

__all__ = ["NpySource", "ParquetSource", "open_source"]


class _Source:
    """A table read in chunks of rows (base of :class:`NpySource` and :class:`ParquetSource`)."""

    path: Path
    columns: tuple[str, ...]
    n_rows: int

    def numeric(self, name: str) -> bool:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """Path, sizes and modification times: changes when the data changes."""
        files = sorted(self.path.rglob("*.parquet")) if self.path.is_dir() else [self.path]
        return {
            "path": str(self.path.resolve()),
            "files": [[str(f.relative_to(self.path)) if f != self.path else f.name, f.stat().st_size,
                       f.stat().st_mtime_ns] for f in files],
        }

    def _batches(self, names: list[str], rows: int) -> Iterator[dict[str, np.ndarray]]:
        raise NotImplementedError

    def chunks(
        self, names: list[str], chunk_rows: int, wanted: Callable[[int, int], bool] | None = None
    ) -> Iterator[tuple[int, int, int, dict[str, np.ndarray] | None]]:
        """Exact chunks ``(k, start, stop, {name: column})`` of ``chunk_rows`` rows (``None``: skipped)."""
        buf: list[dict[str, np.ndarray]] = []
        have, k = 0, 0
        for batch in self._batches(names, chunk_rows):
            m = len(next(iter(batch.values()))) if batch else 0
            if m == 0:
                continue
            buf.append(batch)
            have += m
            while have >= chunk_rows or (have and k * chunk_rows + have == self.n_rows):
                merged = {n: np.concatenate([b[n] for b in buf]) if len(buf) > 1 else buf[0][n] for n in names}
                take = min(chunk_rows, have)
                a = k * chunk_rows
                yield k, a, a + take, {n: v[:take] for n, v in merged.items()}
                rest = {n: v[take:] for n, v in merged.items()}
                have -= take
                buf = [rest] if have else []
                k += 1


class NpySource(_Source):
    """A 2-D ``.npy`` file opened as a read-only memory map, with column names.

    Parameters
    ----------
    path : str or path-like
        ``.npy`` file of shape ``(n_rows, n_columns)`` (or ``(n_rows,)``), numeric dtype.
    columns : list of str, optional
        Column names. Default: read from a sidecar JSON ``<path>.json`` or ``<stem>.json``
        holding ``{"columns": [...]}`` or a list.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(p, np.zeros((5, 2), dtype=np.float32))
    >>> NpySource(p, columns=["a", "b"]).n_rows
    5
    """

    def __init__(self, path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        arr = load_npy(self.path, "data", mmap=True)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.dtype.kind not in "iuf":
            raise DataError(
                f"an .npy source must be a 2-D numeric array (n_rows, n_columns). Received: shape {arr.shape}, "
                f"dtype {arr.dtype}. Save one table per file."
            )
        if columns is None:
            columns = _sidecar_columns(self.path)
        if isinstance(columns, str):
            raise param_error("columns", "a list of names", columns, "Pass columns=['a', 'b', ...].")
        names = tuple(str(c) for c in columns)
        check_distinct(names, "columns")
        if len(names) != arr.shape[1]:
            raise param_error(
                "columns", f"{arr.shape[1]} distinct names (one per column of {self.path.name})", list(names)
            )
        self._arr = arr
        self.columns = names
        self.n_rows = int(arr.shape[0])

    def numeric(self, name: str) -> bool:
        """Whether column ``name`` is numeric (always, for a numeric array)."""
        return True

    def dtype(self, name: str) -> np.dtype:
        """The numpy dtype of column ``name``."""
        return self._arr.dtype

    def chunks(  # noqa: D102 - as _Source.chunks, without reading skipped chunks
        self, names: list[str], chunk_rows: int, wanted: Callable[[int, int], bool] | None = None
    ) -> Iterator[tuple[int, int, int, dict[str, np.ndarray] | None]]:
        idx = column_positions(names, "columns", self.columns, str(self.path))
        for k, a in enumerate(range(0, self.n_rows, chunk_rows)):
            b = min(a + chunk_rows, self.n_rows)
            if wanted is not None and not wanted(a, b):
                yield k, a, b, None
                continue
            block = np.asarray(self._arr[a:b])
            yield k, a, b, {n: block[:, i] for n, i in zip(names, idx, strict=True)}


class ParquetSource(_Source):
    """A Parquet file or directory (dataset), read in record batches through ``pyarrow``.

    Parameters
    ----------
    path : str or path-like
        A ``.parquet`` file, or a directory of Parquet files (a ``pyarrow.dataset``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        self.path = check_file(path, "data", allow_dir=True)
        try:
            if self.path.is_dir():
                self._dataset = ds.dataset(self.path, format="parquet")
                self._file = None
                schema = self._dataset.schema
                self.n_rows = int(self._dataset.count_rows())
            else:
                self._file = pq.ParquetFile(self.path)
                self._dataset = None
                schema = self._file.schema_arrow
                self.n_rows = int(self._file.metadata.num_rows)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
            raise DataError(
                f"the Parquet data {str(self.path)!r} is not readable ({str(exc).strip().splitlines()[0]}). Check "
                "that it was written completely, or write it again."
            ) from None
        self._schema = schema
        self.columns = tuple(schema.names)
        check_unique_columns(self.columns, f"the Parquet data {str(self.path)!r}")

    def numeric(self, name: str) -> bool:
        """Whether column ``name`` holds integers, floats or booleans."""
        import pyarrow as pa

        t = self._schema.field(name).type
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t))

    def dtype(self, name: str) -> np.dtype:
        """The numpy dtype of column ``name`` (timestamps as ``datetime64[ns]``)."""
        import pyarrow as pa

        t = self._schema.field(name).type
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return np.dtype("datetime64[ns]")
        try:
            return np.dtype(t.to_pandas_dtype())
        except (NotImplementedError, TypeError):
            return np.dtype(object)

    def _record_batches(self, names: list[str], rows: int) -> Iterator[Any]:
        """Record batches of columns ``names``, file after file, one row group at a time.

        A directory is read file by file in the dataset's order with ``ParquetFile.iter_batches``,
        not with the dataset scanner: the scanner reads ahead (16 batches of each of 4 files by
        default), so a consumer slower than the disk held up to ~64 batches of rows in memory,
        which grew with the data (about 30-60 bytes per row at 20M rows). Here at most one row
        group of the needed columns is decoded at a time.
        """
        import pyarrow.parquet as pq

        if self._file is not None:
            yield from self._file.iter_batches(batch_size=rows, columns=names)
            return
        for f in self._dataset.files:
            pf = pq.ParquetFile(f)
            try:
                yield from pf.iter_batches(batch_size=rows, columns=names)
            finally:
                pf.close()

    def _batches(self, names: list[str], rows: int) -> Iterator[dict[str, np.ndarray]]:
        for batch in self._record_batches(names, rows):
            out = {}
            for n in names:
                col = batch.column(column_positions([n], "columns", batch.schema.names, str(self.path))[0])
                arr = col.to_numpy(zero_copy_only=False)
                if arr.dtype.kind == "M":
                    arr = arr.astype("datetime64[ns]")
                out[n] = arr
            yield out


def _sidecar_columns(path: Path) -> list[str]:
    for side in (Path(str(path) + ".json"), path.with_suffix(".json")):
        if side.is_file():
            try:
                payload = json.loads(side.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DataError(f"the column sidecar {str(side)!r} is not valid JSON ({exc}).") from None
            cols = payload.get("columns") if isinstance(payload, dict) else payload
            if isinstance(cols, list) and all(isinstance(c, str) for c in cols):
                return cols
            raise DataError(f"the column sidecar {str(side)!r} must hold {{\"columns\": [names...]}}.")
    raise param_error(
        "columns", "the column names of an .npy source", None,
        f"Pass columns=[...] or write {path.name}.json holding {{\"columns\": [...]}} beside it.",
    )


def open_source(data: Any, columns: Sequence[str] | None = None) -> NpySource | ParquetSource:
    """Open ``data`` for streaming: an ``.npy`` path, a Parquet file or directory, or a source.

    Parameters
    ----------
    data : str, path-like, NpySource or ParquetSource
    columns : list of str, optional
        Column names of an ``.npy`` file (otherwise read from its sidecar JSON).

    Returns
    -------
    NpySource or ParquetSource
    """
    if isinstance(data, (NpySource, ParquetSource)):
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise param_error(
            "data", "a path to an .npy file or a Parquet file/directory (streaming reads from disk)",
            type(data).__name__, "For in-memory data use Pipeline.fit.",
        )
    path = Path(data)
    if path.suffix == ".npy":
        return NpySource(path, columns)
    if path.suffix in (".parquet", ".pq") or path.is_dir():
        if columns is not None:
            raise param_error("columns", "None for Parquet data (it names its columns)", columns)
        return ParquetSource(path)
    raise param_error(
        "data", "a .npy file or a Parquet file/directory", str(data),
        "Convert it once, e.g. pandas.read_csv(path).to_parquet('data.parquet'), or use Pipeline.fit in memory.",
    )
