"""Where a seqprep.dask worker's peak memory comes from: one partition, step by step, in one process.

    python benchmarks/dask_partition_memory.py                     # 2 files of 2.5M rows x 8 float32 features
    python benchmarks/dask_partition_memory.py --rows 500_000      # a quick check

The data is ``benchmarks/dask_cluster.py``'s (one Parquet file per partition, an hourly time
column ``t``, an int64 series id ``g``, ``--features`` float32 columns). Before each step the
allocators hand back what they hold (``seqprep.dask._common._release_memory``) and the peak
resident set is reset (``/proc/self/clear_refs``); a step's number is its peak ``VmHWM`` over the
resident set just before it, in partitions (the partition's bytes in memory). Each step runs on
both files, and the larger of the two is reported. Steps:

- ``dask read``: ``dd.read_parquet(dir).partitions[i].compute(scheduler="sync")``;
- ``pq.read_table``: pyarrow's whole-file read, then with ``pre_buffer=False``;
- ``seqprep reader``: ``seqprep.dask._parquet._read_partition`` (a column at a time);
- ``summary work``: ``_summarize`` on a partition already in memory (seqprep's own work);
- ``summary / statistics / export task``: one whole task of each pass as a worker runs it from the path
  (read + work in chunks of ``CHUNK_ROWS``), for each ``--chunk-rows``.

The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_result, headline, load1, machine_info, peak_rss, print_table, reset_peak, rss  # noqa: E402
from dask_cluster import generate  # noqa: E402


def _int(s: str) -> int:
    return int(s.replace("_", ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=_int, default=2_500_000, help="rows per partition (file)")
    p.add_argument("--series", type=_int, default=2500, help="series per partition")
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--chunk-rows", type=_int, nargs="+", default=[1 << 18, 1 << 17, 1 << 16])
    p.add_argument("--dir", default=None, help="where the data is generated (default: a temporary folder)")
    args = p.parse_args()

    import dask
    import dask.dataframe as dd
    import pyarrow.parquet as pq

    from seqprep import Pipeline
    from seqprep.dask import _common, fit_pipeline
    from seqprep.dask._cluster import _as_dask_frame
    from seqprep.dask._export import _write_rows
    from seqprep.dask._parquet import _read_partition
    from seqprep.dask._plan import _make_plan, _summarize
    from seqprep.dask._stats import _partition_stats

    base = Path(args.dir or tempfile.mkdtemp(prefix="seqprep_partmem_"))
    data = base / "data"
    part_bytes = generate(data, 2, args.rows, args.features, args.series)
    files = sorted(str(f) for f in data.glob("*.parquet"))
    out: dict[str, float] = {}

    def step(name: str, fn: Any) -> None:
        worst = 0.0
        for i in range(len(files)):
            _common._release_memory()
            before = rss()
            reset_peak()
            result = fn(i)
            worst = max(worst, (peak_rss() - before) / part_bytes)
            del result
        _common._release_memory()
        out[name] = round(worst, 2)
        print(f"{name:58s} +{worst:.2f} partitions", flush=True)

    pipe = Pipeline(48, target="f0", time="t", group="g")
    try:
        ddf = dd.read_parquet(str(data))
        step("dask read (dd.read_parquet partition, pandas)", lambda i: ddf.partitions[i].compute(scheduler="sync"))
        step("pq.read_table(file)", lambda i: pq.read_table(files[i]))
        step("pq.read_table(file, pre_buffer=False)", lambda i: pq.read_table(files[i], pre_buffer=False))
        step("seqprep reader (a column at a time)", lambda i: _read_partition(files[i]))
        resident = [_read_partition(files[0])]
        step("summary work on a partition in memory", lambda i: _summarize(resident[0], pipe, False))
        resident.clear()
        src = _as_dask_frame(str(data))
        with dask.config.set(scheduler="sync"):
            fit_pipeline(pipe, src)
            plan = _make_plan(pipe, src, None)
            items = list(zip(plan.train_tasks, plan.heads, strict=True))
            sink = base / "rows.npy"
            np.lib.format.open_memmap(sink, mode="w+", dtype=np.float32,
                                      shape=(int(plan.bounds[-1]), len(plan.columns))).flush()
            default = _common.CHUNK_ROWS
            for rows in args.chunk_rows:
                _common.CHUNK_ROWS = rows

                def task(fn: Any, *a: Any, item: Any = None) -> Any:
                    """One task of a pass on partition i, as a worker runs it (read + work)."""
                    return lambda i: _common._compute(dask, None, _common._per_partition(
                        dask, src, fn, *a, items=None if item is None else [item(i)], partitions=[i]))

                step(f"summary task, chunks of {rows}", task(_summarize, pipe, False))
                step(f"statistics task, chunks of {rows}", task(_partition_stats, pipe, item=lambda i: items[i]))
                step(f"export task, chunks of {rows}", task(
                    _write_rows, pipe, str(sink), None,
                    item=lambda i: (int(plan.offsets[i]), int(plan.n_rows[i]), None, plan.heads[i])))
            _common.CHUNK_ROWS = default
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    rows_table = [[k, f"+{v:.2f}"] for k, v in out.items()]
    print()
    print_table(["step", "peak over the level before (partitions)"], rows_table)
    heads = [headline(k, v, "partitions") for k, v in out.items()]
    emit_result("dask_partition_memory", {"rows": args.rows, "series": args.series, "features": args.features,
                                          "chunk_rows": args.chunk_rows, "load1": load1()},
                heads, machine=machine_info(), partition_bytes=part_bytes)


if __name__ == "__main__":
    main()
