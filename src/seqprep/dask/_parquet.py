"""A Parquet dataset read by :mod:`seqprep.dask` itself: one partition per file, each column straight to numpy.

When :func:`seqprep.dask.fit_pipeline` or :func:`seqprep.dask.export` get the *path* of a local
Parquet dataset (a file, or a folder of files), every task reads its file in the task itself
(:func:`_read_partition`), one column at a time, instead of through ``dd.read_parquet``.

Why: a whole-file Parquet read (what ``dd.read_parquet`` runs for a partition) pre-buffers the
compressed column chunks of every row group while it decodes them, and peaks at about 2.4x the
partition in memory before seqprep's own work starts (measured on a 2.5M-row x 8-feature
partition: +2.36 partitions for ``pq.read_table``, +2.89 for the dask read with its pandas
conversion). Read a column at a time, the peak is the partition's numpy columns plus one column's
decode (+1.4 partitions in the same measurement), and a numeric column of one row group is not
copied at all (numpy views of the Arrow buffer).

What is read is what ``dd.read_parquet(path)`` gives: the files in dask's order (natural sort:
``part-2`` before ``part-10``; only names ending in ``.parquet``, ``.parq`` or ``.pq``, none
starting with ``.`` or ``_``), every stored column except pandas' unnamed index
(``__index_level_0__``; the row index is 0..n-1), numeric and naive-timestamp columns without
nulls as numpy arrays, any other column through pyarrow's pandas conversion (nulls, categories,
time zones; text as dask's pyarrow strings). A dataset in sub-folders (hive partitions:
``key=value/``) or at a URL is left to ``dd.read_parquet`` (:func:`parquet_files` returns ``None``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__: list[str] = []  # internal to seqprep.dask: its siblings import the names they need

_UNNAMED_INDEX = re.compile(r"__index_level_\d+__")

#: The names dd.read_parquet reads in a folder (its ``parquet_file_extension``).
PARQUET_SUFFIXES = (".parq", ".parquet", ".pq")


@dataclass(frozen=True)
class ParquetFiles:
    """The files of a local Parquet dataset, one partition each, and the pandas dtypes of the first one's columns."""

    files: tuple[str, ...]
    dtypes: pd.Series

    @property
    def npartitions(self) -> int:
        """One partition per file."""
        return len(self.files)


def parquet_files(path: str | os.PathLike[str]) -> ParquetFiles | None:
    """The dataset at ``path`` as :class:`ParquetFiles`; ``None`` for what ``dd.read_parquet`` should read.

    ``None``: a URL (``s3://...``) or a folder with sub-folders (hive partitions add columns from
    the folder names). A local path that does not exist, or a folder without a Parquet file, is a
    :class:`~seqprep.exceptions.DataError`.
    """
    import pyarrow.parquet as pq
    from dask.utils import natural_sort_key

    path = os.fspath(path)
    if "://" in path:
        return None
    if not os.path.exists(path):
        raise DataError(f"`ddf` does not exist. Received: ddf={path!r}. Check the path of the Parquet dataset.")
    if os.path.isdir(path):
        with os.scandir(path) as entries:
            if any(e.is_dir() and not e.name.startswith((".", "_")) for e in entries):
                return None
        with os.scandir(path) as entries:  # the files dd.read_parquet reads in a folder
            files = [e.path for e in entries if e.is_file() and not e.name.startswith((".", "_"))
                     and e.name.endswith(PARQUET_SUFFIXES)]
        if not files:
            raise DataError(f"`ddf` is a folder without Parquet files (names ending in {', '.join(PARQUET_SUFFIXES)}). "
                            f"Received: ddf={path!r}. Point it at a folder of Parquet files (or one file).")
    else:
        files = [path]
    files = sorted(files, key=natural_sort_key)  # dask's partition order
    try:
        schema = pq.read_schema(files[0])
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"`ddf` is not a Parquet dataset: {files[0]!r} cannot be read as Parquet ({exc}). "
                        "Point it at a folder of Parquet files (or one file).") from exc
    names = _column_names(schema)
    dtypes = schema.empty_table().select(names).to_pandas(types_mapper=_string_mapper()).dtypes
    return ParquetFiles(files=tuple(files), dtypes=dtypes)


def _column_names(schema: Any) -> list[str]:
    """The stored columns less pandas' unnamed index columns (dask makes those the index, not columns)."""
    return [n for n in schema.names if not _UNNAMED_INDEX.fullmatch(n)]


def _read_partition(path: str) -> pd.DataFrame:
    """One file as a DataFrame, read a column at a time (see the module docstring); RangeIndex from 0."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    n = pf.metadata.num_rows
    columns: dict[str, Any] = {}
    for name in _column_names(pf.schema_arrow):
        col = pf.read(columns=[name], use_threads=False).column(0)
        columns[name] = _to_numpy(col, n)
        del col
        pa.default_memory_pool().release_unused()  # the column's decode buffers, before the next column
    # copy=False: the columns stay separate arrays (no consolidation copy of the partition)
    return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)


def _string_mapper() -> Any:
    """Text columns as dask gives them (``dataframe.convert-string``: pyarrow strings with ``pd.NA``), else pandas'."""
    import dask
    import pyarrow as pa

    if dask.config.get("dataframe.convert-string", None) is False:  # None (unset) means on, as in dask
        return None
    dtype = pd.StringDtype("pyarrow")
    return {pa.string(): dtype, pa.large_string(): dtype}.get


def _plain(t: Any) -> bool:
    """A type whose values numpy holds as pandas would: numbers, booleans, naive timestamps, durations."""
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or (pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_duration(t))


def _to_numpy(col: Any, n: int) -> Any:
    """A column (ChunkedArray) as numpy without nulls and of a plain type, else as pyarrow's pandas conversion.

    One chunk (one row group): a view of the Arrow buffer (no copy). Several: filled chunk by chunk
    into one array (never the concatenated Arrow column and its numpy copy at once).
    """
    if col.null_count or not col.num_chunks or not _plain(col.type):
        return col.to_pandas(types_mapper=_string_mapper())
    first = col.chunk(0).to_numpy(zero_copy_only=False)
    if col.num_chunks == 1:
        return first
    out = np.empty(n, dtype=first.dtype)
    del first
    at = 0
    for chunk in col.iterchunks():
        k = len(chunk)
        out[at : at + k] = chunk.to_numpy(zero_copy_only=False)
        at += k
    return out
