"""The run directory on disk: its format marks, the atomic write, and reading it back.

A run directory is built under a temporary name beside its target by a ``write(tmp)`` callback,
gets the ``COMPLETE`` marker and then ``checksums.json`` (the sha256 of every file) last, and is
renamed into place (:func:`write_run`) while holding the target's write lock, so an interrupted
run never leaves a directory that looks finished, and the temporaries of a killed run are removed
by the next one. :func:`load_run` refuses a directory without the marker or whose files differ
from its checksums. The layout is described in :mod:`seqprep.runs`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import clean_stale, disk_errors, fault_point, in_use, output_lock, replace_dir, temp_dir_beside
from .._manifest import verify_checksums, write_checksums
from .._version import __version__
from ..exceptions import ArtifactError, DataError

__all__: list[str] = []  # internal module: served by seqprep.runs

COMPLETE_FILE = "COMPLETE"
FORMAT = "seqprep.run"
FORMAT_VERSION = 1


def run_header(task: str) -> dict[str, Any]:
    """The first keys of every run.json: format, format version, seqprep version and task."""
    return {"format": FORMAT, "version": FORMAT_VERSION, "seqprep_version": __version__, "task": task}


# ============================================================================ writing
def prepare_out_dir(out_dir: Any, overwrite: bool, *, locked: bool = False) -> Path | None:
    """Refuse an unusable ``out_dir`` before any work (in use, a file, or a non-empty folder without overwrite).

    ``locked``: the caller holds the directory's write lock (it is not "in use" by someone else).
    """
    if out_dir is None:
        return None
    target = Path(out_dir)
    owner = None if locked else in_use(target)
    if owner is not None:
        raise ArtifactError(
            f"the run directory {str(target)!r} is in use by {owner}: another run is writing it. Wait until it "
            "ends, or choose another --out."
        )
    if target.exists():
        if not target.is_dir():
            raise DataError(f"the run directory {str(target)!r} exists and is a file. Choose another --out.")
        if any(target.iterdir()) and not overwrite:
            raise DataError(
                f"the run directory {str(target)!r} already exists and is not empty. Choose another --out or "
                "pass overwrite=True (--overwrite) to replace it."
            )
    return target


def json_clean(value: Any) -> Any:
    """``value`` with numpy scalars, timestamps and paths made JSON-ready; NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value))
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, payload: Any) -> None:
    """Write one of the run's JSON files: cleaned, sorted keys, indented, newline-terminated."""
    path.write_text(json.dumps(json_clean(payload), indent=2, sort_keys=True, default=str) + "\n")


def _commit_dir(tmp: Path, target: Path) -> None:
    """Mark the finished temporary run directory, list its checksums and rename it into place."""
    (tmp / COMPLETE_FILE).write_text(f"seqprep {__version__}\n")
    write_checksums(tmp)
    fault_point("run:sealed")
    replace_dir(tmp, target)


def write_run(target: Path, write: Callable[[Path], None], *, overwrite: bool = True) -> Path:
    """Build the run directory with ``write(tmp)`` in a temporary folder and commit it to ``target``.

    On any exception (KeyboardInterrupt included) the temporary folder is removed; the ``COMPLETE``
    marker, ``checksums.json`` and the rename into place come last. The target's write lock is
    held throughout (a second writer is refused: "in use by pid N"); the temporaries a killed
    run left beside the target are removed first. A full disk is one :class:`ArtifactError`.
    """
    with disk_errors(target), output_lock(target):
        clean_stale(target)
        prepare_out_dir(target, overwrite, locked=True)  # again: another run may have written it meanwhile
        tmp = temp_dir_beside(target)
        try:
            write(tmp)
            fault_point("run:written")
            _commit_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def write_report(run: Path, **kwargs: Any) -> None:
    """Write report.html; a missing matplotlib only skips the report."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        (run / "report.html").write_text("<p>matplotlib is not installed: no pictures (pip install seqprep[plot]).</p>")
        return
    from .report import build_run_report

    build_run_report(run, **kwargs)


# ============================================================================ reading
_RETRAIN = "Train the run again (seqprep train) to get a directory this seqprep can trust."

@dataclass
class LoadedRun:
    """A run directory read back by :func:`load_run`."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    model: Any
    pipeline: Any = None


def load_run(run_dir: str | os.PathLike[str]) -> LoadedRun:
    """Read a finished run directory: its config, metrics, model and (forecasting) pipeline.

    Raises
    ------
    ArtifactError
        When the directory is missing, unfinished (no ``COMPLETE`` marker) or malformed.
    """
    from ..models import load_model
    from ..pipeline import Pipeline

    path = Path(run_dir)
    if not path.is_dir():
        raise ArtifactError(f"no run directory at {str(path)!r}.")
    if not (path / COMPLETE_FILE).is_file():
        raise ArtifactError(
            f"{str(path)!r} is not a finished seqprep run: the {COMPLETE_FILE} marker is missing "
            "(the run was interrupted or the directory is something else). Train it again."
        )
    verify_checksums(path, fix=_RETRAIN)
    try:
        config = json.loads((path / "run.json").read_text())
        metrics = json.loads((path / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{str(path)!r} has a missing or malformed run.json/metrics.json ({exc}).") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ArtifactError(f"{str(path / 'run.json')!r} is not a seqprep run description.")
    forecasting = config.get("task") == "regression" and config.get("data") != "cases"
    pipe = Pipeline.load(path / "pipeline") if forecasting else None
    return LoadedRun(path, config, metrics, load_model(path / "model"), pipe)

