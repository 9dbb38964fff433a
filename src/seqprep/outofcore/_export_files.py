"""The files of a resumable export and the state they record, for :func:`seqprep.outofcore.export`.

An export directory holds ``data.npy`` (filled chunk by chunk), the window starts of every part,
``bounds.npy``, ``breaks.npy``, ``time.npy``, the fitted ``pipeline/``, ``series.json``,
``progress.json``, ``checksums.json`` (the sha256 of every file, :mod:`seqprep._manifest`) and,
written last, ``manifest.json``. Everything here is about those files:
deciding whether a directory is a fresh start, a finished export or one to resume (by the
fingerprint of the arguments and the data), writing the plan's files once, writing the chunks
that are still missing with their sha256 (:func:`_write_chunks`), and reading the manifest back
for :func:`seqprep.outofcore.open_export`. JSON and arrays are written atomically, so an
interrupted run leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._files import allocate_npy, atomic_write, fault_point
from .._json import as_json, json_text, write_json
from .._manifest import verify_checksums, write_checksums
from .._version import __version__
from ..exceptions import ArtifactError
from ._fit import _Bar, _ChunkTable
from ._plan import _key, _part_starts, _resolve_columns
from ._sources import _Source

if TYPE_CHECKING:
    from ._stream import StreamFit

__all__ = ["EXPORT_FORMAT", "EXPORT_FORMAT_VERSION"]

EXPORT_FORMAT = "seqprep.export"
EXPORT_FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_PROGRESS = "progress.json"
# Per-series fields (one entry per series): written once at setup to _SERIES, not with every chunk's
# progress.json (rewriting them after each chunk cost O(n_series) per chunk); the manifest has everything.
_SERIES = "series.json"
_PER_SERIES_FIELDS = ("keys", "row_ranges")
#: Rows scaled at a time inside a chunk by the write pass (bounds its temporaries, not the chunk size).
_SCALE_ROWS = 1 << 17
_FAIL_ENV = "SEQPREP_EXPORT_FAIL_AFTER"  # test hook: raise after this many chunks were written in one run


# ---------------------------------------------------------------------- JSON and arrays


def _fingerprint(pipe: Any, source: _Source, chunk_rows: int, fmt: str) -> dict[str, Any]:
    """What an export is resumed only with: the config, the data (paths, sizes, mtimes), its columns, the chunking."""
    payload = {"config": pipe.get_config(), "source": source.identity(), "columns": list(source.columns),
               "chunk_rows": chunk_rows, "format": fmt}
    return as_json(payload)  # as it reads back from JSON


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object of an export; anything else is an :class:`ArtifactError`."""
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}).") from None
    if not isinstance(payload, dict):
        raise ArtifactError(f"{path} is not a seqprep export file.")
    return payload


def _save_array(path: Path, arr: np.ndarray) -> None:
    """``np.save`` to ``path`` atomically."""
    with atomic_write(path, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


def _refuse_other_args(out: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse to resume an export with another fingerprint, naming the fields (and config keys) that differ."""
    diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    detail = diff
    if "config" in diff:
        oc, nc = old.get("config", {}), new.get("config", {})
        detail = [k for k in diff if k != "config"] + [f"config.{k}" for k in sorted(set(oc) | set(nc))
                                                       if oc.get(k) != nc.get(k)]
    raise ArtifactError(
        f"{str(out)!r} holds an export made with other arguments or other data (differences: "
        f"{', '.join(detail)}); refusing to mix them. Use another output directory, or pass overwrite=True "
        "(--overwrite) to start it again."
    )


# ---------------------------------------------------------------------- starting or resuming


def _existing_state(out: Path, fp: dict[str, Any], overwrite: bool) -> tuple[bool, dict[str, Any] | None, bool]:
    """What ``out`` holds for an export with fingerprint ``fp``: ``(complete, state to resume, replace)``.

    A new or empty directory gives ``(False, None, False)``: start there. Unrelated files are
    refused, with or without ``overwrite`` (never deleted). An export whose setup never finished
    (a run that failed or was killed while scanning) holds nothing of value: it is cleared and
    started again. With ``overwrite``, a finished export gives ``replace=True`` (the new one is
    built beside it and swapped in only when complete, so that killing the run keeps the old
    one); an unfinished one is cleared. Without it, an export made with other arguments or data
    is refused; the same export gives ``(True, None, False)`` when it is finished and its
    recorded state otherwise.
    """
    manifest_file, progress_file = out / _MANIFEST, out / _PROGRESS
    if not (out.exists() and any(out.iterdir())):
        return False, None, False
    if not (progress_file.is_file() or manifest_file.is_file()):
        if overwrite:
            raise ArtifactError(f"{str(out)!r} is not a seqprep export; refusing to delete it even with overwrite.")
        raise ArtifactError(
            f"{str(out)!r} already exists and is not a seqprep export; choose an empty or new directory."
        )
    old = _read_json(manifest_file if manifest_file.is_file() else progress_file)
    complete = manifest_file.is_file() and old.get("complete") is True
    if overwrite and complete:
        return False, None, True
    if overwrite or not old.get("setup", complete):
        _empty(out)
        return False, None, False
    if old.get("fingerprint") != fp:
        _refuse_other_args(out, old.get("fingerprint") or {}, fp)
    if complete:
        return True, None, False
    return False, _read_progress(out) if progress_file.is_file() else None, False


def _empty(out: Path) -> None:
    """Remove everything inside ``out`` (an export of ours, or what a failed start of one left)."""
    for p in out.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _begin(out: Path, fp: dict[str, Any]) -> None:
    """Mark ``out`` (empty) as an export being set up: ``progress.json`` with ``"setup": false``.

    Written before the scan, so that whatever a failed or killed setup leaves is recognised
    by the next run as an export to start again, never as unrelated files.
    """
    if out.exists():
        _empty(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / _PROGRESS, {"format": EXPORT_FORMAT, "version": EXPORT_FORMAT_VERSION, "fingerprint": fp,
                                 "setup": False})


def clean_inside(out: Path) -> None:
    """Remove the hidden temporaries an interrupted run left inside the export ``out`` (call it holding the lock)."""
    if not out.is_dir():
        return
    for p in out.iterdir():
        if p.name.startswith(".") and (".tmp" in p.name or ".old-" in p.name or p.name.endswith(".lock")):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def _load_fitted(pipeline: Any, out: Path) -> None:
    """Set ``pipeline``'s fitted state from the one the export saved (a resumed or finished export is not refitted)."""
    from ..pipeline import Pipeline

    saved = Pipeline.load(out / "pipeline")
    pipeline.scaler_, pipeline.schema_, pipeline.split_ = saved.scaler_, saved.schema_, None


def _write_setup(
    pipe: Any, out: Path, fit: StreamFit, fp: dict[str, Any], chunk_rows: int, time_dtype: np.dtype | None
) -> dict[str, Any]:
    """Write everything of a planned, fitted export but its data rows; record it in progress.json."""
    _write_starts(pipe, out, fit)
    _save_array(out / "bounds.npy", fit.bounds)
    _save_array(out / "breaks.npy", fit.breaks)
    pipe.save(out / "pipeline", overwrite=True)
    data_file = out / "data.npy"
    data_file.unlink(missing_ok=True)
    # Allocated in full now (blocks reserved: a full disk is refused here, never a SIGBUS later),
    # filled by _write_chunks: a resumed run writes into the same file.
    allocate_npy(data_file, pipe.spec.dtype, (fit.n_rows, len(fit.columns)))
    state = _new_state(pipe, fit, fp, chunk_rows, time_dtype)
    write_json(out / _SERIES, {k: state[k] for k in _PER_SERIES_FIELDS})
    _write_progress(out, state)
    return state


def _write_starts(pipe: Any, out: Path, fit: StreamFit) -> None:
    """``starts-<part>.npy``: the window start rows of every part, filled block by block through memory maps."""
    names = list(fit.n_windows)
    tmp_files: dict[int, tuple[Path, Path]] = {}
    arrays: dict[int, np.memmap] = {}
    for p, name in enumerate(names):
        tmp = out / f".starts-{name}.npy.tmp"
        allocate_npy(tmp, np.int64, (fit.n_windows[name],))
        arrays[p] = np.load(tmp, mmap_mode="r+")
        tmp_files[p] = (tmp, out / f"starts-{name}.npy")
    filled = [0] * len(names)
    for p, s in _part_starts(fit.bounds, fit.breaks, [tuple(r.T) for r in fit.row_ranges.values()], pipe.spec,
                             pipe.context, warmup=pipe.warmup):
        arrays[p][filled[p] : filled[p] + len(s)] = s
        filled[p] += len(s)
    for p, (tmp, final) in tmp_files.items():
        arrays[p].flush()
        del arrays[p]
        os.replace(tmp, final)


def _new_state(
    pipe: Any, fit: StreamFit, fp: dict[str, Any], chunk_rows: int, time_dtype: np.dtype | None
) -> dict[str, Any]:
    """The state of an export with no chunk written yet: the manifest's fields, less ``complete``."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_FORMAT_VERSION,
        "fingerprint": fp,
        "setup": True,
        "columns": fit.columns,
        "inputs": fit.columns[: fit.n_inputs],
        "targets": list(pipe._targets),
        "scalar_target": isinstance(pipe.target, str),
        "spec": pipe.spec.to_dict(),
        "n_rows": fit.n_rows,
        "dtype": pipe.spec.dtype,
        "chunk_rows": chunk_rows,
        "n_chunks": -(-fit.n_rows // chunk_rows),
        "parts": fit.n_windows,
        "part_names": list(fit.n_windows),
        "row_ranges": {k: v.tolist() for k, v in fit.row_ranges.items()},
        "keys": [_key(k) for k in fit.keys],
        "scale_per": pipe.scale_per,
        "time": pipe.time,
        "time_dtype": None if time_dtype is None else str(time_dtype),
        "freq": pipe.schema_["freq"],
        "chunks": {},
        "runs": [],
    }


# ---------------------------------------------------------------------- progress and chunks


def _write_progress(out: Path, state: dict[str, Any]) -> None:
    """``progress.json``: the state less its per-series fields (those are in ``series.json``)."""
    write_json(out / _PROGRESS, {k: v for k, v in state.items() if k not in _PER_SERIES_FIELDS})


def _read_progress(out: Path) -> dict[str, Any]:
    """The recorded state of an unfinished export, its per-series fields read back from ``series.json``."""
    state = _read_json(out / _PROGRESS)
    if state.get("setup") and not all(k in state for k in _PER_SERIES_FIELDS):
        if not (out / _SERIES).is_file():
            raise ArtifactError(f"{out / _SERIES} is missing; re-run the export with overwrite=True.")
        state.update({k: v for k, v in _read_json(out / _SERIES).items() if k in _PER_SERIES_FIELDS})
    return state


def _write_chunks(pipe: Any, out: Path, source: _Source, state: dict[str, Any], bar: _Bar) -> None:
    """Scale and write the chunks missing from ``state["chunks"]``, then the manifest.

    Each chunk's sha256 is recorded in ``progress.json`` as soon as it is written, so that an
    interrupted run loses at most the chunk it was writing.
    """
    columns, chunk_rows = state["columns"], state["chunk_rows"]
    bounds = np.load(out / "bounds.npy")
    done: dict[str, str] = dict(state["chunks"])
    data = np.load(out / "data.npy", mmap_mode="r+")
    if data.shape != (state["n_rows"], len(columns)) or data.dtype != np.dtype(state["dtype"]):
        raise ArtifactError(f"{out / 'data.npy'} has shape {data.shape}, not {(state['n_rows'], len(columns))}; "
                            "re-run with overwrite=True.")
    fail_after = int(os.environ.get(_FAIL_ENV, "0") or 0)
    written: list[int] = []
    state["runs"] = [*state.get("runs", []), {"seqprep_version": __version__, "chunks_written": written}]
    task = bar.add_task("write (scaled rows)", total=state["n_rows"] * len(columns) * data.itemsize)
    remaining = sum(1 for k in range(state["n_chunks"]) if str(k) not in done)
    table = _ChunkTable(pipe, _resolve_columns(pipe, source)[0], columns, bounds)
    wanted = None if table.reads_every_chunk else (lambda a, b: str(a // chunk_rows) not in done)
    for k, a, b, cols in source.chunks(table.read, chunk_rows, wanted):
        nbytes = (b - a) * len(columns) * data.itemsize
        if cols is None or str(k) in done:
            if cols is not None and table.reads_every_chunk:
                table(a, b, cols)  # a resumed export: rows for the next chunk's warm-up
            bar.update(task, advance=nbytes)
            continue
        values = table(a, b, cols)
        del cols
        digest = hashlib.sha256()
        # Scaled in slices of the chunk: the scaler's float64 temporaries and the float32 copy are a
        # slice's, not a chunk's (the bytes hashed, and written, are the same rows in the same order).
        for i in range(0, b - a, _SCALE_ROWS):
            j = min(i + _SCALE_ROWS, b - a)
            codes = np.searchsorted(bounds, np.arange(a + i, a + j), side="right") - 1
            scaled = pipe._scale(values[i:j], codes)
            data[a + i : a + j] = scaled
            digest.update(memoryview(scaled).cast("B"))
            del scaled, codes
        del values
        data.flush()
        done[str(k)] = digest.hexdigest()
        written.append(k)
        state["chunks"] = done
        _write_progress(out, state)
        bar.update(task, advance=nbytes)
        if fail_after and len(written) >= fail_after and len(written) < remaining:
            raise RuntimeError(f"{_FAIL_ENV}={fail_after}: export interrupted after chunk {k} (test hook).")
        fault_point(f"export:chunk{len(written)}")
    del data
    missing = [k for k in range(state["n_chunks"]) if str(k) not in done]
    if missing:
        raise ArtifactError(
            f"the source gave fewer rows than expected: chunks {missing[:5]} were never written. "
            "The data changed during the export; re-run with overwrite=True."
        )
    manifest = {k: v for k, v in state.items() if k != "setup"}
    manifest["complete"] = True
    write_sealed_manifest(out, manifest)


def write_sealed_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Write ``checksums.json`` (every file, ``manifest.json`` included), then ``manifest.json`` last.

    ``data.npy`` is listed by size and head digest with a pointer to the manifest's chunk hashes
    (hashing it whole would read the export once more). The manifest, the completion mark, is
    hashed from its text before it is written, so it can stay the last file.
    """
    text = json_text(manifest)
    write_checksums(out, chunked={"data.npy": _MANIFEST}, pending={_MANIFEST: text.encode()})
    fault_point("export:sealed")
    with atomic_write(out / _MANIFEST) as fh:
        fh.write(text)


# ---------------------------------------------------------------------- reading back


def _read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of a finished export in ``out``, of this format and version; refuses anything else."""
    manifest_file = out / _MANIFEST
    if not manifest_file.is_file():
        if (out / _PROGRESS).is_file():
            state = _read_json(out / _PROGRESS)
            raise ArtifactError(
                f"{str(out)!r} is an incomplete export ({len(state.get('chunks', {}))} of {state.get('n_chunks', '?')} "
                f"chunks written, no {_MANIFEST}). Run the same export again to finish it."
            )
        raise ArtifactError(f"no seqprep export at {str(out)!r}: {_MANIFEST} is missing.")
    m = _read_json(manifest_file)
    if m.get("format") != EXPORT_FORMAT:
        raise ArtifactError(f"{manifest_file} is not a seqprep export (format {m.get('format')!r}).")
    if m.get("version") != EXPORT_FORMAT_VERSION:
        raise ArtifactError(
            f"{manifest_file} has export format version {m.get('version')!r}; this seqprep ({__version__}) reads "
            f"version {EXPORT_FORMAT_VERSION}."
        )
    if m.get("complete") is not True or len(m.get("chunks", {})) != m.get("n_chunks"):
        raise ArtifactError(f"{str(out)!r} is an incomplete export; run the same export again to finish it.")
    return m


REEXPORT = "Run the export again with overwrite=True (seqprep prepare --overwrite) to rebuild it."


def verify_export(out: Path, deep: bool) -> None:
    """Check the files of the export ``out`` against ``checksums.json`` (over 64 MiB: size only unless ``deep``)."""
    verify_checksums(out, fix=REEXPORT, deep=deep)


def _verify_chunks(out: Path, data: np.ndarray, m: dict[str, Any]) -> None:
    """Recompute the sha256 of every chunk of ``data`` (reads it all once) and compare with the manifest ``m``."""
    step = m["chunk_rows"]
    for k in range(m["n_chunks"]):
        block = np.ascontiguousarray(data[k * step : (k + 1) * step])
        if hashlib.sha256(block.data.cast("B")).hexdigest() != m["chunks"][str(k)]:
            raise ArtifactError(f"chunk {k} of {out / 'data.npy'} (rows {k * step}..) changed after the export.")
