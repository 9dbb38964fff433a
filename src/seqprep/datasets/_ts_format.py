r"""Reader for the UCR/UEA ``.ts`` time-series classification format.

A ``.ts`` file has ``#`` comment lines, ``@`` header lines (``@problemName``,
``@univariate``, ``@equalLength``, ``@seriesLength``, ``@classLabel true a b``,
``@missing``, ``@timeStamps``, ...), then ``@data`` and one case per line: the
comma-separated values of each channel, channels separated by ``:``, and the
class label last when ``@classLabel true``. ``?`` marks a missing value.

:func:`load_ts` returns channels LAST, ``X`` of shape ``(n_cases, length,
n_channels)``, which is the layout sequence models expect; shorter cases are
padded with NaN at the end and their true lengths are returned beside ``X``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_choice, list_names, param_error
from ..exceptions import DataError, DataWarning
from ._archive_formats import _parse_bool, _parse_positive_int, _where, check_data_file, read_arff, read_ucr_text

__all__ = ["TSData", "load_ts", "load_ucr"]

# Header names as the archive spells them, looked up case-insensitively.
_BOOL_HEADERS = {
    "timestamps": "timeStamps",
    "missing": "missing",
    "univariate": "univariate",
    "equallength": "equalLength",
    "targetlabel": "targetLabel",
}
_INT_HEADERS = {"serieslength": "seriesLength", "dimensions": "dimensions", "dimension": "dimensions"}
_TEXT_HEADERS = {"problemname": "problemName"}

# The archive's file formats, in the order load_ucr looks for them.
_SUFFIXES = (".ts", ".arff", ".tsv", ".txt")

# Environment variable naming a folder that holds UCR/UEA data sets.
DATA_ENV = "SEQPREP_DATA"


@dataclass(frozen=True, eq=False)
class TSData:
    """A classification data set read from a ``.ts`` file.

    Attributes
    ----------
    X : ndarray of shape (n_cases, length, n_channels), dtype float32
        The series, channels LAST. ``length`` is the longest case; shorter
        cases (and shorter channels of a case) are padded with NaN at the end.
        Missing values (``?`` in the file) are NaN too.
    y : ndarray of shape (n_cases,) or None
        Class labels as strings (``<U`` dtype) when the file has
        ``@classLabel true``; float64 targets when it has ``@targetLabel true``
        (regression files); None when the file has no labels.
    lengths : ndarray of shape (n_cases,), dtype int64
        Length of each case: the longest of its channels.
    metadata : dict
        The ``@`` header values under the archive's names: ``problemName``
        (str), ``timeStamps``, ``missing``, ``univariate``, ``equalLength``,
        ``targetLabel`` (bool), ``seriesLength``, ``dimensions`` (int),
        ``classLabel`` (bool) and ``classLabels`` (list of str, the declared
        labels in file order, empty when none are declared). Headers that are
        absent from the file are absent here; unknown headers are kept as text.

    Examples
    --------
    >>> import numpy as np
    >>> from seqprep.datasets import TSData
    >>> data = TSData(X=np.zeros((2, 3, 1), dtype=np.float32), y=np.array(["a", "b"]),
    ...               lengths=np.array([3, 3]), metadata={"problemName": "Toy"})
    >>> data
    TSData(problemName='Toy', X=float32 (2, 3, 1), y=2 labels in 2 classes, lengths 3..3)
    >>> data.n_cases, data.n_channels
    (2, 1)
    """

    X: np.ndarray
    y: np.ndarray | None
    lengths: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_cases(self) -> int:
        """Number of cases (rows of ``X``)."""
        return int(self.X.shape[0])

    @property
    def n_channels(self) -> int:
        """Number of channels (last axis of ``X``)."""
        return int(self.X.shape[2])

    def __repr__(self) -> str:
        name = self.metadata.get("problemName")
        head = f"problemName={name!r}, " if name is not None else ""
        if self.y is None:
            labels = "None"
        elif self.y.dtype.kind in "US":
            labels = f"{len(self.y)} labels in {len(np.unique(self.y))} classes"
        else:
            labels = f"{len(self.y)} targets"
        span = f"{int(self.lengths.min())}..{int(self.lengths.max())}" if len(self.lengths) else "-"
        return f"TSData({head}X={self.X.dtype} {self.X.shape}, y={labels}, lengths {span})"


def _parse_header(
    line: str, path: Path, lineno: int, metadata: dict[str, Any]
) -> None:
    """Store the value of one ``@name value`` header line in *metadata*."""
    parts = line[1:].split(None, 1)
    key = parts[0] if parts else ""
    value = parts[1].strip() if len(parts) > 1 else ""
    low = key.lower()
    if not key:
        raise DataError(f"{_where(path, lineno)}: a header line must be '@name value'. Received: {line!r}.")
    if low in _BOOL_HEADERS:
        metadata[_BOOL_HEADERS[low]] = _parse_bool(value, key, path, lineno)
    elif low in _INT_HEADERS:
        metadata[_INT_HEADERS[low]] = _parse_positive_int(value, key, path, lineno)
    elif low in _TEXT_HEADERS:
        metadata[_TEXT_HEADERS[low]] = value
    elif low == "classlabel":
        words = value.split()
        if not words:
            raise DataError(
                f"{_where(path, lineno)}: header @{key} must be 'true' followed by the labels, or 'false'. "
                "Received nothing."
            )
        metadata["classLabel"] = _parse_bool(words[0], key, path, lineno)
        metadata["classLabels"] = words[1:] if metadata["classLabel"] else []
    else:
        metadata[key] = value


def _parse_values(text: str, path: Path, lineno: int, channel: int) -> np.ndarray:
    """Parse one channel, ``"1.0,2.5,?"``, into a float64 array (``?`` -> NaN)."""
    tokens = text.replace("?", "nan").split(",")
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        pass
    # Slow path, only to word the error: find the first bad token.
    for position, token in enumerate(tokens):
        try:
            float(token)
        except ValueError:
            shown = text.split(",")[position].strip()
            what = "an empty value" if not shown else f"the non-numeric value {shown!r}"
            raise DataError(
                f"{_where(path, lineno)}: channel {channel} has {what} at position {position}. "
                "Values must be numbers separated by ',' with '?' for missing values."
            ) from None
    raise DataError(f"{_where(path, lineno)}: channel {channel} could not be parsed as numbers.")  # pragma: no cover


def load_ts(path: str | os.PathLike[str]) -> TSData:
    r"""Read a UCR/UEA file (``.ts``, ``.arff``, or the UCR text ``.txt``/``.tsv``) into channels-last arrays.

    Parameters
    ----------
    path : str or os.PathLike
        The file. ``.ts`` (sktime/aeon); ``.arff`` (Weka, the UEA archive: flat univariate or
        relational multivariate); ``.txt``/``.tsv``/``.csv`` (the UCR archive's text format: the label
        first, then the values, separated by whitespace, tabs or commas; float-written labels
        such as ``1.0000000e+00`` become ``'1'``; ``NAME.txt`` beside the file is kept as
        ``metadata["description"]``). A ``.ts`` file with ``@targetLabel true`` (any case) is a
        regression problem: ``y`` holds float64 targets.

    Returns
    -------
    TSData
        ``X`` of shape (n_cases, length, n_channels) float32 (NaN-padded at the
        end when cases differ in length; ``?`` read as NaN), ``y`` of shape
        (n_cases,) with the class labels as strings (or None when the file
        declares ``@classLabel false``), ``lengths`` of shape (n_cases,) int64
        and ``metadata``, the header values.

    Raises
    ------
    DataError
        If the file does not exist, has no ``@data`` line, uses timestamps
        (``@timeStamps true`` is not supported), has a non-numeric value, a
        label not declared in ``@classLabel``, cases with different numbers of
        channels, or lengths or channel counts that contradict its headers.
        Messages name the file and the line.

    Warns
    -----
    DataWarning
        If the file declares ``@missing false`` but has missing values.

    See Also
    --------
    load_ucr : find a data set of the archive by name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from seqprep.datasets import load_ts
    >>> text = "@problemName Toy\n@classLabel true up down\n@data\n1,2,3:up\n3,?:down\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "Toy_TRAIN.ts"
    ...     _ = path.write_text(text)
    ...     data = load_ts(path)
    >>> data.X.shape, data.X.dtype
    ((2, 3, 1), dtype('float32'))
    >>> data.X[:, :, 0]
    array([[ 1.,  2.,  3.],
           [ 3., nan, nan]], dtype=float32)
    >>> data.y, data.lengths
    (array(['up', 'down'], dtype='<U4'), array([3, 2]))
    >>> data.metadata["classLabels"]
    ['up', 'down']
    """
    path = check_data_file(path, ".ts")
    suffix = path.suffix.lower()
    if suffix == ".arff":
        return TSData(**read_arff(path))
    if suffix in (".txt", ".tsv", ".csv"):  # a .csv of cases: the UCR text format with commas
        return TSData(**read_ucr_text(path))
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        return _read(handle, path)


def _read(handle: Iterable[str], path: Path) -> TSData:
    """Parse the open file *handle*; *path* is only used in messages."""
    metadata: dict[str, Any] = {}
    lines = ((lineno, raw.strip()) for lineno, raw in enumerate(handle, start=1))
    for lineno, line in lines:
        if not line or line.startswith(("#", "%")):
            continue
        if not line.startswith("@"):
            raise DataError(
                f"{_where(path, lineno)}: expected a '#' comment or an '@' header before @data. "
                f"Received: {line[:60]!r}. Add the '@data' line before the cases."
            )
        if line[1:].strip().lower() == "data":
            break
        _parse_header(line, path, lineno, metadata)
    else:
        raise DataError(
            f"{path}: no '@data' line found. A .ts file needs its '@' headers, then '@data', then one case a line."
        )

    if metadata.get("timeStamps"):
        raise DataError(
            f"{path}: timestamped .ts files (@timeStamps true) are not supported. "
            "Convert the file to plain comma-separated values first."
        )

    has_class = bool(metadata.get("classLabel", False))
    has_target = bool(metadata.get("targetLabel", False))
    if has_class and has_target:
        raise DataError(f"{path}: the headers declare both @classLabel true and @targetLabel true; keep one.")
    declared = set(metadata.get("classLabels", []))
    labelled = has_class or has_target

    cases: list[list[np.ndarray]] = []
    labels: list[str] = []
    n_channels: int | None = None
    first_line = 0
    for lineno, line in lines:
        if not line or line.startswith(("#", "%")):
            continue
        if line.startswith("@"):
            raise DataError(f"{_where(path, lineno)}: header line {line[:40]!r} after @data. Move it above @data.")
        parts = line.split(":")
        if labelled:
            if len(parts) < 2:
                raise DataError(
                    f"{_where(path, lineno)}: expected the values then ':' and the label, as the file declares "
                    f"@{'classLabel' if has_class else 'targetLabel'} true. Received no ':' in {line[:60]!r}."
                )
            label = parts.pop().strip()
            if has_class and declared and label not in declared:
                raise DataError(
                    f"{_where(path, lineno)}: class label {label!r} is not one of the labels declared in "
                    f"@classLabel: {list_names(metadata['classLabels'])}. Fix the label or the header."
                )
            if has_target:
                try:
                    float(label)
                except ValueError:
                    raise DataError(
                        f"{_where(path, lineno)}: target {label!r} is not a number, but the file declares "
                        "@targetLabel true. Fix the target or the header."
                    ) from None
            labels.append(label)
        if n_channels is None:
            n_channels, first_line = len(parts), lineno
        elif len(parts) != n_channels:
            raise DataError(
                f"{_where(path, lineno)}: this case has {len(parts)} channel(s) but the first case "
                f"(line {first_line}) has {n_channels}. Every case needs the same number of ':'-separated channels."
            )
        channels = [_parse_values(text, path, lineno, c) for c, text in enumerate(parts)]
        _check_case(channels, metadata, path, lineno)
        cases.append(channels)

    if not cases:
        raise DataError(f"{path}: no cases after @data. The file must have one case a line after '@data'.")
    _check_headers_against_data(cases, metadata, path)
    return _assemble(cases, labels if labelled else None, has_target, metadata, path)


def _check_headers_against_data(cases: list[list[np.ndarray]], metadata: dict[str, Any], path: Path) -> None:
    """Refuse headers that the data as a whole contradicts (per-case checks are in :func:`_check_case`)."""
    if metadata.get("equalLength") is True:
        sizes = [case[0].size for case in cases]
        if len(set(sizes)) > 1:
            k = next(i for i, n in enumerate(sizes) if n != sizes[0])
            raise DataError(
                f"{path}: the file declares @equalLength true but its cases have different lengths (case 0 has "
                f"{sizes[0]} values, case {k} has {sizes[k]}; lengths {min(sizes)}..{max(sizes)}). Fix the header "
                "(@equalLength false) or the data."
            )


def _check_case(channels: list[np.ndarray], metadata: dict[str, Any], path: Path, lineno: int) -> None:
    """Check one case against the declared headers."""
    n = len(channels)
    if metadata.get("univariate") is True and n != 1:
        raise DataError(
            f"{_where(path, lineno)}: the file declares @univariate true but this case has {n} channels. "
            "Fix the header or the ':' separators."
        )
    if "dimensions" in metadata and n != metadata["dimensions"]:
        raise DataError(
            f"{_where(path, lineno)}: the file declares @dimensions {metadata['dimensions']} but this case "
            f"has {n} channel(s). Fix the header or the ':' separators."
        )
    if metadata.get("equalLength") is True:
        sizes = {v.size for v in channels}
        if len(sizes) > 1:
            raise DataError(
                f"{_where(path, lineno)}: the file declares @equalLength true but the channels of this case "
                f"have lengths {sorted(sizes)}. Fix the header (@equalLength false) or the data."
            )
    if "seriesLength" in metadata and metadata.get("equalLength") is not False:
        expected = metadata["seriesLength"]
        for c, values in enumerate(channels):
            if values.size != expected:
                raise DataError(
                    f"{_where(path, lineno)}: the file declares @seriesLength {expected} but channel {c} "
                    f"has {values.size} values. Fix the header or the data."
                )


def _assemble(
    cases: list[list[np.ndarray]],
    labels: list[str] | None,
    has_target: bool,
    metadata: dict[str, Any],
    path: Path,
) -> TSData:
    """Stack parsed cases into (n_cases, length, n_channels), NaN-padded at the end."""
    sizes = np.array([[v.size for v in case] for case in cases], dtype=np.int64)  # (n_cases, n_channels)
    lengths = sizes.max(axis=1)
    n_cases, n_channels = sizes.shape
    if (sizes == sizes[0, 0]).all():
        # Equal length: one stack and one transpose to channels last.
        X = np.ascontiguousarray(np.array(cases, dtype=np.float64).transpose(0, 2, 1), dtype=np.float32)
    else:
        X = np.full((n_cases, int(lengths.max()), n_channels), np.nan, dtype=np.float32)
        for i, case in enumerate(cases):
            for c, values in enumerate(case):
                X[i, : values.size, c] = values
    missing = int(sum(int(np.isnan(v).sum()) for case in cases for v in case))
    if metadata.get("missing") is False and missing:
        warnings.warn(
            f"{path}: the file declares @missing false but has {missing} missing value(s); they are NaN in X.",
            DataWarning,
            stacklevel=3,
        )

    y: np.ndarray | None
    if labels is None:
        y = None
    elif has_target:
        y = np.array(labels, dtype=np.float64)
    else:
        y = np.array(labels, dtype=str)
    return TSData(X=X, y=y, lengths=lengths, metadata=metadata)


def _candidate_roots(root: str | os.PathLike[str] | None) -> list[tuple[Path, str]]:
    if root is not None:
        return [(Path(root), "root argument")]
    roots: list[tuple[Path, str]] = []
    env = os.environ.get(DATA_ENV)
    if env:
        roots.append((Path(env), f"${DATA_ENV}"))
    roots.append((Path.cwd() / ".." / "shared" / "data" / "ucr", "default ../shared/data/ucr"))
    return roots


def load_ucr(name: str, split: str = "train", root: str | os.PathLike[str] | None = None) -> TSData:
    r"""Load one split of a UCR/UEA data set by name.

    Parameters
    ----------
    name : str
        Data set name as the archive spells it, such as ``"GunPoint"``.
    split : {"train", "test"}, default "train"
        Which of the archive's default splits to read (``<name>_TRAIN.ts`` or
        ``<name>_TEST.ts``).
    root : str or os.PathLike, optional
        Folder to look in. When None, the folder named by the ``SEQPREP_DATA``
        environment variable, then ``../shared/data/ucr`` relative to the
        current directory. In each folder the file may be at
        ``<name>/<name>_<SPLIT>.ts``, ``<name>_<SPLIT>.ts`` or
        ``ucr/<name>/<name>_<SPLIT>.ts``, and in each place ``.ts``, then ``.arff``, ``.tsv``
        and ``.txt`` (the UCR text format) are tried.

    Returns
    -------
    TSData
        See :func:`load_ts`.

    Raises
    ------
    DataError
        If the file is not found; the message lists every place looked in.
    InvalidParameterError
        If `name` is not a plain name or `split` is not "train" or "test".

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from seqprep.datasets import load_ucr
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = Path(tmp) / "Toy"
    ...     folder.mkdir()
    ...     _ = (folder / "Toy_TEST.ts").write_text("@classLabel true a b\n@data\n1,2:a\n3,4:b\n")
    ...     data = load_ucr("Toy", split="test", root=tmp)
    >>> data.X.shape, data.y.tolist()
    ((2, 2, 1), ['a', 'b'])
    """
    if not isinstance(name, str) or not name.strip() or any(sep in name for sep in ("/", "\\", os.sep)):
        raise param_error("name", "a data set name such as 'GunPoint'", name, "Use load_ts(path) for a file path.")
    if not isinstance(split, str):
        raise param_error("split", "'train' or 'test'", split)
    split = check_choice(split.lower(), "split", ("train", "test"))
    if root is not None and (isinstance(root, bytes) or not isinstance(root, (str, os.PathLike))):
        raise param_error("root", "a folder path (str or os.PathLike) or None", root)
    filename = f"{name}_{split.upper()}.ts"
    looked: list[str] = []
    for folder, why in _candidate_roots(root):
        for place in (folder / name, folder, folder / "ucr" / name):
            for suffix in _SUFFIXES:
                candidate = place / f"{name}_{split.upper()}{suffix}"
                if candidate.is_file():
                    return load_ts(candidate)
            looked.append(f"{place / filename} ({why})")
    raise DataError(
        f"UCR/UEA data set {name!r} ({split}) not found. Looked in: {'; '.join(looked)} (each also as .arff, "
        ".tsv and .txt). "
        f"Pass root= or set ${DATA_ENV} to the folder holding {name}/{filename}."
    )
