"""JSON for artifacts: NumPy/pandas values as plain JSON, and atomic JSON files.

Every artifact writer (saved pipelines, out-of-core and Dask exports, run directories) encodes
series keys, time steps and statistics through these helpers, so the same value is written the
same way whichever path wrote it (the export manifests of ``seqprep.outofcore`` and
``seqprep.dask`` are compared byte for byte).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._files import atomic_write

__all__ = ["as_json", "freq_json", "json_default", "json_text", "key_json", "write_json"]


def key_json(key: Any) -> Any:
    """A series key as a JSON value (NumPy scalars become Python scalars)."""
    return key.item() if isinstance(key, np.generic) else key


def freq_json(freq: Any) -> Any:
    """A time step as JSON: a duration string (``'1 days 00:00:00'``), a number, or None."""
    if freq is None:
        return None
    arr = np.asarray(freq)
    if arr.dtype.kind == "m":
        return str(pd.Timedelta(freq))
    return arr.item()


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for NumPy and pandas values; anything else is a TypeError."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp, pd.Timedelta, np.datetime64, np.timedelta64)):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _lenient_default(obj: Any) -> Any:
    """NumPy scalars and arrays as their Python values; anything else as its ``str``."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def as_json(payload: Any) -> Any:
    """``payload`` as it will read back from :func:`write_json` (keys sorted, values plain)."""
    return json.loads(json.dumps(payload, sort_keys=True, default=_lenient_default))


def json_text(payload: dict[str, Any]) -> str:
    """``payload`` as :func:`write_json` writes it (for a writer that hashes the text before writing it)."""
    return json.dumps(payload, indent=1, sort_keys=True, default=_lenient_default)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (an interrupted write leaves the old file)."""
    with atomic_write(path) as fh:
        fh.write(json_text(payload))
