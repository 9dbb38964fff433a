"""Atomic file and folder writes: the one implementation every artifact writer uses.

Light on purpose (standard library only), so that the model, report and distributed code can
import it without pulling pandas in through :mod:`seqprep.io`, which re-exports both functions.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "replace_dir", "temp_dir_beside"]


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[Any]:
    """Open a temporary file next to *path* and move it into place only on success.

    A crash or an exception leaves the previous file (or no file) behind, never a half-written
    one. The temporary file is created with a plain exclusive ``open``, so the finished file gets
    the usual permissions from the umask (``tempfile.mkstemp`` would make it private, 0600).

    Parameters
    ----------
    path : str or path-like
        The file to write; missing parent folders are created.
    mode : {"w", "wb"}, default "w"
        Text or binary.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "x.json"
    >>> with atomic_write(p) as f:
    ...     _ = f.write("{}")
    >>> p.read_text()
    '{}'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, mode.replace("w", "x")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def temp_dir_beside(target: str | os.PathLike[str]) -> Path:
    """Create an empty, uniquely named hidden folder next to *target* for an atomic folder write.

    Made with a plain ``os.mkdir`` so the finished folder gets the usual permissions from the
    umask (``tempfile.mkdtemp`` would make it private, 0700). Missing parents are created.
    Fill it, then :func:`replace_dir` it into place (or delete it on failure).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
    os.mkdir(tmp)
    return tmp


def replace_dir(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Move the finished folder *tmp* to *target*, replacing an existing *target*.

    Both renames stay on one file system, so readers see either the old folder or the new one,
    never a half-written mix. Callers decide beforehand whether replacing is allowed.
    """
    tmp, target = Path(tmp), Path(target)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
