"""The artifact manifest: ``checksums.json``, the sha256 of every file of an artifact directory.

One format for every directory seqprep writes and reads back: a saved :class:`~seqprep.Pipeline`,
a saved model, a run directory, an out-of-core or Dask export. The writer calls
:func:`write_checksums` last (after every other file is in place, atomically); the loader calls
:func:`verify_checksums` first, before it reads anything else, and refuses a directory in which
a file was changed, removed or added, naming the file. :func:`safe_member` refuses a path stored
in an artifact that would leave its directory (``../..``, an absolute path, a symbolic link).

The format (``docs/reliability.md``)::

    {"format": "seqprep.checksums", "version": 1, "algorithm": "sha256",
     "files": {"run.json": {"size": 812, "sha256": "9f2c..."},
               "model/weights.pt": {"size": 93517, "sha256": "41aa..."},
               "data.npy": {"size": 8000128, "head_sha256": "c3d1...", "chunks": "manifest.json"}}}

Paths are relative, with ``/``; nested artifacts (``pipeline/`` in a run) keep their own
``checksums.json``, which the outer one lists like any file. A very large file may be listed by
the digest of its first 64 KiB plus a pointer to the file holding the sha256 of each of its
chunks (an export's ``data.npy``: ``manifest.json``), so that writing it needs no second pass.
Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._files import atomic_write
from ._version import __version__
from .exceptions import ArtifactError

__all__ = ["CHECKSUMS_FILE", "file_sha256", "safe_member", "verify_checksums", "write_checksums"]

CHECKSUMS_FILE = "checksums.json"
_FORMAT = "seqprep.checksums"
_VERSION = 1
_HEAD = 1 << 16  # bytes hashed of a file checked by chunks (the .npy header and the first rows)
_LAZY_LIMIT = 64 << 20  # files above this are hashed by a shallow check only when deep=True


def file_sha256(path: str | os.PathLike[str], limit: int | None = None) -> str:
    """The hex sha256 of the file *path* (of its first *limit* bytes when given)."""
    digest = hashlib.sha256()
    left = limit
    with open(path, "rb") as fh:
        while left is None or left > 0:
            block = fh.read(1 << 20 if left is None else min(1 << 20, left))
            if not block:
                break
            digest.update(block)
            if left is not None:
                left -= len(block)
    return digest.hexdigest()


def _walk(folder: Path) -> list[str]:
    """Every file under *folder*, as sorted relative ``/`` paths; the top ``checksums.json`` left out."""
    names = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        rel = Path(root).relative_to(folder)
        for f in files:
            name = (rel / f).as_posix()
            if name != CHECKSUMS_FILE:
                names.append(name)
        for d in dirs:  # os.walk does not enter linked folders: list them so that verify refuses them
            if (Path(root) / d).is_symlink():
                names.append((rel / d).as_posix())
    return sorted(names)


def write_checksums(
    folder: str | os.PathLike[str],
    *,
    files: Iterable[str] | None = None,
    chunked: Mapping[str, str] | None = None,
    pending: Mapping[str, bytes] | None = None,
) -> None:
    """Write ``checksums.json`` into *folder*: call it last, when every other file is in place.

    Parameters
    ----------
    folder : str or path-like
    files : iterable of str, optional
        Relative paths to list; default: every file under *folder*.
    chunked : dict of str to str, optional
        Files checked by chunks: their name -> the file (listed too) that holds the chunk hashes.
    pending : dict of str to bytes, optional
        Files about to be written with these contents (listed by the digest of the bytes), for a
        writer whose completion marker must come after the checksums.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.json").write_text("{}")
    >>> write_checksums(d)
    >>> sorted(verify_checksums(d, fix="Save it again."))
    ['a.json']
    """
    folder = Path(folder)
    chunked, pending = dict(chunked or {}), dict(pending or {})
    names = sorted(set(_walk(folder) if files is None else files) - set(pending) - {CHECKSUMS_FILE})
    entries: dict[str, dict[str, Any]] = {}
    for name in names:
        path = folder / name
        size = path.stat().st_size
        if name in chunked:
            entries[name] = {"size": size, "head_sha256": file_sha256(path, _HEAD), "chunks": chunked[name]}
        else:
            entries[name] = {"size": size, "sha256": file_sha256(path)}
    for name, blob in pending.items():
        entries[name] = {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
    payload = {"format": _FORMAT, "version": _VERSION, "algorithm": "sha256", "seqprep_version": __version__,
               "files": dict(sorted(entries.items()))}
    with atomic_write(folder / CHECKSUMS_FILE) as fh:
        fh.write(json.dumps(payload, indent=1, sort_keys=True) + "\n")


def safe_member(folder: str | os.PathLike[str], name: Any, *, source: str) -> Path:
    """``folder / name`` when *name* is a relative path that stays inside *folder*; else an :class:`ArtifactError`.

    *source* names the file the path was read from, for the message.

    Examples
    --------
    >>> safe_member("/runs/r1/model", "weights.pt", source="config.json").as_posix()
    '/runs/r1/model/weights.pt'
    >>> safe_member("/runs/r1/model", "../../etc/passwd", source="config.json")
    Traceback (most recent call last):
    ...
    seqprep.exceptions.ArtifactError: config.json refers to '../../etc/passwd', which is outside ...
    """
    folder = Path(folder)
    bad = not isinstance(name, str) or not name or "\\" in name or "\x00" in name or os.path.isabs(name)
    if not bad:
        parts = name.split("/")
        bad = any(p in ("", ".", "..") for p in parts)
    if not bad:
        path = folder / name
        try:
            bad = not path.resolve().is_relative_to(folder.resolve())
        except (OSError, RuntimeError):  # pragma: no cover (a symlink loop)
            bad = True
    if bad:
        raise ArtifactError(
            f"{source} refers to {name!r:.200}, which is outside {str(folder)!r}: a saved artifact may only refer to "
            "files inside its own directory. The file was edited; save the artifact again."
        )
    return folder / name


def _read(folder: Path, fix: str) -> dict[str, dict[str, Any]]:
    file = folder / CHECKSUMS_FILE
    if not file.is_file():
        raise ArtifactError(
            f"{str(folder)!r} has no {CHECKSUMS_FILE}, so its files cannot be checked: it was written by seqprep "
            f"older than 0.2 (or the file was removed). {fix}"
        )
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{file} is not valid JSON ({exc}). {fix}") from None
    files = payload.get("files") if isinstance(payload, dict) else None
    if (not isinstance(payload, dict) or payload.get("format") != _FORMAT or payload.get("version") != _VERSION
            or not isinstance(files, dict)):
        raise ArtifactError(f"{file} is not a seqprep checksums file of version {_VERSION}. {fix}")
    for name, entry in files.items():
        ok = isinstance(entry, dict) and isinstance(entry.get("size"), int) and (
            isinstance(entry.get("sha256"), str)
            or (isinstance(entry.get("head_sha256"), str) and isinstance(entry.get("chunks"), str)))
        if not ok:
            raise ArtifactError(f"{file} has a malformed entry for {name!r:.200}. {fix}")
        safe_member(folder, name, source=str(file))
        if "chunks" in entry:
            safe_member(folder, entry["chunks"], source=str(file))
    return files


def verify_checksums(
    folder: str | os.PathLike[str], *, fix: str, deep: bool = True, extra_ok: bool = False
) -> dict[str, dict[str, Any]]:
    """Check the files of *folder* against its ``checksums.json``; return its entries.

    Refuses (:class:`ArtifactError`, naming the file, ending with *fix*) a missing or malformed
    ``checksums.json``, a listed file that is missing, a symbolic link or differs (size or
    sha256), and a file that is not listed (unless ``extra_ok``). With ``deep=False``, files
    over 64 MiB are checked by size only. Files checked by chunks (``"chunks"`` entries) are
    checked here by size and by the sha256 of their first 64 KiB; their chunks are the caller's
    to check (an export's ``open_export(verify=True)``).
    """
    folder = Path(folder)
    files = _read(folder, fix)
    for name, entry in files.items():
        path = folder / name
        if path.is_symlink():
            raise ArtifactError(f"{path} is a symbolic link; an artifact holds plain files only. {fix}")
        if not path.is_file():
            raise ArtifactError(f"{path} is missing ({CHECKSUMS_FILE} lists it). {fix}")
        size = path.stat().st_size
        if size != entry["size"]:
            raise ArtifactError(
                f"{path} was modified after it was saved: {size:,} bytes, {CHECKSUMS_FILE} records "
                f"{entry['size']:,}. {fix}"
            )
        if "chunks" in entry:
            same = file_sha256(path, _HEAD) == entry["head_sha256"]
        elif deep or size <= _LAZY_LIMIT:
            same = file_sha256(path) == entry["sha256"]
        else:
            same = True
        if not same:
            raise ArtifactError(
                f"{path} was modified after it was saved: its sha256 differs from {CHECKSUMS_FILE}. {fix}"
            )
    if not extra_ok:
        extra = sorted(set(_walk(folder)) - set(files))
        if extra:
            raise ArtifactError(
                f"{folder / extra[0]} is not part of the saved artifact (not listed in {CHECKSUMS_FILE}"
                f"{f', nor {len(extra) - 1} more' if len(extra) > 1 else ''}): a file was added after the save. "
                f"Remove it, or {fix[0].lower() + fix[1:]}"
            )
    return files
