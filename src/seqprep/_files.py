"""Atomic file and folder writes, output locks, stale-temporary cleanup and disk-space checks.

The one implementation every artifact writer uses:

- :func:`atomic_write` / :func:`temp_dir_beside` + :func:`replace_dir`: write under a temporary
  name beside the target, rename into place only when complete;
- :func:`output_lock`: one writer per output at a time (a ``.<name>.lock`` file beside the
  target, held with ``flock``: the kernel releases it when its process dies, so a lock of a
  killed process never blocks the next run); a second writer gets "in use by pid N on HOST";
- :func:`clean_stale`: under the lock, removes the temporaries an interrupted writer left beside
  the target and restores the previous output if a kill fell between the two renames of
  :func:`replace_dir`;
- :func:`disk_errors`, :func:`allocate_npy`: a full disk becomes one :class:`ArtifactError`
  line with the bytes needed and free (and memory maps are preallocated, so a full disk is never
  a SIGBUS).

Light on purpose (standard library, NumPy imported inside :func:`allocate_npy` only).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .exceptions import ArtifactError

try:  # POSIX; elsewhere outputs are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "allocate_npy",
    "atomic_write",
    "check_free_space",
    "clean_stale",
    "disk_errors",
    "fault_point",
    "in_use",
    "output_lock",
    "replace_dir",
    "temp_dir_beside",
]

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


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
        with disk_errors(target):
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
    never a half-written mix (between the two renames *target* is briefly missing; a kill there
    leaves the old folder as ``.<name>.old-<pid>``, which :func:`clean_stale` puts back). Callers
    decide beforehand whether replacing is allowed.
    """
    tmp, target = Path(tmp), Path(target)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        fault_point("replace_dir:between")  # a kill here: clean_stale puts the old folder back
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


# ---------------------------------------------------------------------- one writer at a time


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def _owner(lock: Path) -> str:
    """Who holds ``lock``, as written in it: "pid N on HOST" (or "another process")."""
    try:
        info = json.loads(lock.read_text())
        return f"pid {int(info['pid'])} on {info['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def output_lock(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the write lock of the output *target* (a file or folder, existing or not) for the block.

    The lock is ``.<name>.lock`` beside *target*, locked with ``flock`` and holding the owner's
    pid and host. A second writer (another process, or the same one) is refused at once with an
    :class:`ArtifactError` naming the owner. The kernel drops the lock when its process dies, so
    the lock file a killed run leaves behind is simply taken over by the next run, and removed
    when that run ends.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "export"
    >>> with output_lock(out):
    ...     try:
    ...         with output_lock(out):
    ...             pass
    ...     except ArtifactError as exc:
    ...         print(str(exc).split(" (")[0])
    ... # doctest: +ELLIPSIS
    '...export' is in use by pid ... on ...
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ArtifactError(
            f"cannot write {str(target)!r}: a part of {str(target.parent)!r} is a file, not a folder. "
            "Choose another path."
        ) from None
    lock = _lock_path(target)
    if fcntl is None:  # pragma: no cover
        yield lock
        return
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise ArtifactError(
                f"{str(target)!r} is in use by {_owner(lock)} (lock file {lock.name}). Wait until that run ends, "
                "or write to another path."
            ) from None
        try:  # the file may have been removed (and made again) by its last holder after we opened it
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        yield lock
    finally:
        try:
            lock.unlink()
        except FileNotFoundError:  # pragma: no cover
            pass
        os.close(fd)  # closing drops the flock


def in_use(target: str | os.PathLike[str]) -> str | None:
    """``"pid N on HOST"`` when a live process holds the write lock of *target*, else None."""
    lock = _lock_path(Path(target))
    if fcntl is None or not lock.exists():
        return None
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _owner(lock)
    finally:
        os.close(fd)
    return None


def _is_temp_of(name: str, target_name: str) -> bool:
    """Whether ``name`` is one of the temporaries this module makes beside ``target_name``."""
    prefix = f".{target_name}."
    if not name.startswith(prefix):
        return False
    rest = name[len(prefix):]
    return rest.startswith(("tmp-", "old-")) or rest.endswith(".tmp")


def clean_stale(target: str | os.PathLike[str], *, keep: tuple[str, ...] = ()) -> list[str]:
    """Remove what interrupted writers of *target* left beside it; call it holding :func:`output_lock`.

    Removes the temporary files and folders of :func:`atomic_write`, :func:`temp_dir_beside` and
    :func:`replace_dir` made for *target* (holding the lock, no live writer owns them). If
    *target* is missing but a previous version of it was set aside by :func:`replace_dir` (a kill
    between its two renames), that version is put back first. Names in ``keep`` are left alone.

    Returns
    -------
    list of str
        The names removed or restored.
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    found = sorted(p for p in parent.iterdir() if _is_temp_of(p.name, target.name) and p.name not in keep)
    done = []
    old = [p for p in found if p.name.startswith(f".{target.name}.old-")]
    if old and not os.path.lexists(target):
        newest = max(old, key=lambda p: p.stat().st_mtime)
        os.replace(newest, target)
        found.remove(newest)
        done.append(newest.name)
    for p in found:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        done.append(p.name)
    return done


# ---------------------------------------------------------------------- full disk


def _free_bytes(path: Path) -> int:
    for p in (path, *path.parents):
        if p.exists():
            return shutil.disk_usage(p).free
    return 0  # pragma: no cover


def _no_space(target: Path, needed: int | None = None) -> ArtifactError:
    need = f"{needed:,} bytes needed, " if needed is not None else ""
    return ArtifactError(
        f"no space left on the device to write {str(target)!r} ({need}{_free_bytes(target.parent):,} bytes free). "
        "Free some space or write to another disk, then run the same command again."
    )


@contextmanager
def disk_errors(target: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a full disk or quota (``ENOSPC``, ``EDQUOT``) inside the block into one :class:`ArtifactError` line."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise _no_space(Path(target)) from None
        raise


def check_free_space(target: str | os.PathLike[str], needed: int) -> None:
    """Refuse (:class:`ArtifactError`, with both numbers) when fewer than *needed* bytes are free for *target*."""
    target = Path(target)
    if _free_bytes(target.parent) < needed:
        raise _no_space(target, needed)


def allocate_npy(path: str | os.PathLike[str], dtype: Any, shape: tuple[int, ...]) -> None:
    """Create the ``.npy`` file *path* of ``dtype``/``shape`` with all its blocks reserved on disk.

    A memory map over a sparse file gets SIGBUS (the process dies without a message) when the
    disk fills while its pages are written. Here the free space is checked first and the file
    is preallocated (``posix_fallocate``), so a full disk is an :class:`ArtifactError` naming
    the bytes needed and free, raised before any row is written. Fill it with
    ``np.load(path, mmap_mode="r+")``.
    """
    import numpy as np

    path = Path(path)
    dt = np.dtype(dtype)
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    check_free_space(path, n_bytes + 4096)
    try:
        with disk_errors(path):
            mm = np.lib.format.open_memmap(path, mode="w+", dtype=dt, shape=shape)
            del mm
            size = path.stat().st_size
            if size and hasattr(os, "posix_fallocate"):
                fd = os.open(path, os.O_RDWR)
                try:
                    os.posix_fallocate(fd, 0, size)
                except OSError as exc:
                    if exc.errno in _NO_SPACE:
                        raise _no_space(path, size) from None
                    if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):  # pragma: no cover
                        raise
                finally:
                    os.close(fd)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def fault_point(name: str) -> None:
    """Test hook: kill this process (SIGKILL, no cleanup) at the named point when ``SEQPREP_FAULT`` names it.

    The fault tests (``tests/test_faults.py``) run a real command in a subprocess with
    ``SEQPREP_FAULT=<point>`` to check what a kill at that point leaves, and what the next run does.
    """
    if os.environ.get("SEQPREP_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
