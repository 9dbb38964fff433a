r"""Readers for the UCR/UEA archive's other file formats, returning the same :class:`TSData` as ``.ts``.

- The UCR text format (``NAME_TRAIN.txt``/``NAME_TEST.txt`` of the 2015 archive, ``.tsv`` of the
  2018 one): one case a line, the label FIRST, then the values, separated by whitespace, tabs or
  commas; labels may be written as floats (``1.0000000e+00`` is class ``1``); cases of unequal
  length are padded with ``NaN`` at the end. ``NAME.txt`` beside the files, when it exists, is
  the data set's description (``metadata["description"]``).
- Weka ``.arff`` (the UEA archive): ``%`` comments, ``@relation``, ``@attribute`` lines and
  ``@data``. Univariate files are flat (``att0 .. attN`` then the class attribute); multivariate
  files have one ``relational`` attribute and each case is one quoted string whose channels are
  separated by a literal ``\n``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import is_number, param_error
from ..exceptions import DataError

__all__: list[str] = []  # internal module: load_ts reads these formats by their suffix

_SEP = re.compile(r"[\s,]+")


def _where(path: Path, lineno: int) -> str:
    return f"{path}, line {lineno}"


def _parse_positive_int(value: str, key: str, path: Path, lineno: int, what: str = "") -> int:
    """A positive integer header value of a .ts or .tsf file (``what`` says what it counts), else one error."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 1:
        raise DataError(f"{_where(path, lineno)}: header @{key} must be a positive integer{what}. Received: {value!r}.")
    return number


def _parse_bool(value: str, key: str, path: Path, lineno: int) -> bool:
    """A ``true``/``false`` header value of a .ts or .tsf file, else one error naming the file and line."""
    word = value.strip().lower()
    if word not in ("true", "false"):
        raise DataError(
            f"{_where(path, lineno)}: header @{key} must be 'true' or 'false'. Received: {value.strip()!r}. "
            "Fix the header line."
        )
    return word == "true"


def check_data_file(path: Any, kind: str) -> Path:
    """The path of an existing file for a reader of ``kind`` files (``".ts"``, ``".tsf"``), else one clear error."""
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise param_error("path", f"a path (str or os.PathLike) to a {kind} file", path)
    resolved = Path(path)
    if not resolved.exists():
        raise DataError(
            f"No {kind} file at {str(resolved)!r}: the path does not exist. Check the file name and folder."
        )
    if not resolved.is_file():
        raise DataError(f"{str(resolved)!r} is not a file. Pass the path of a {kind} file.")
    return resolved


def _floats(tokens: list[str], path: Path, lineno: int) -> np.ndarray:
    try:
        return np.array([np.nan if t == "?" else float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise DataError(
            f"{_where(path, lineno)}: {bad!r} is not a number. Every value after the label must be."
        ) from None


def _is_float(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return t == "?"
    return True


def clean_labels(labels: list[str]) -> list[str]:
    """Labels written as floats (``'1.0000000e+00'``, ``'2.0'``) as the integers they are; others unchanged."""
    try:
        values = [float(v) for v in labels]
    except ValueError:
        return labels
    if all(np.isfinite(v) and float(v).is_integer() for v in values):
        return [str(int(v)) for v in values]
    return labels


def _stack(cases: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(n_cases, length, n_channels)`` float32, NaN-padded, and each case's length (trailing NaN removed)."""
    n_channels = cases[0].shape[0]
    sizes = []
    for case in cases:
        finite = np.isfinite(case).any(axis=0)
        sizes.append(int(np.flatnonzero(finite)[-1]) + 1 if finite.any() else 0)
    length = max(c.shape[1] for c in cases)
    X = np.full((len(cases), length, n_channels), np.nan, dtype=np.float32)
    for i, case in enumerate(cases):
        X[i, : case.shape[1], :] = case.T
    lengths = np.asarray(sizes, dtype=np.int64)
    return X[:, : int(lengths.max()) if len(lengths) else 0, :], lengths


def _description(path: Path) -> str | None:
    """``NAME.txt`` beside ``NAME_TRAIN.txt``: the archive's description of the data set."""
    stem = re.sub(r"_(TRAIN|TEST)$", "", path.stem, flags=re.IGNORECASE)
    candidate = path.with_name(f"{stem}.txt")
    if candidate == path or not candidate.is_file():
        return None
    return candidate.read_text(encoding="utf-8-sig", errors="replace").strip()


def _check_labels_first(labels: list[str], path: Path) -> None:
    """Refuse a first column of measurements: the file's label is elsewhere (often last, as in Kaggle's CSVs).

    Class labels are names or whole numbers (``1.0000000e+00`` was already read as ``'1'``); a
    label such as ``'-0.518'`` is a value of the series, and reading it as a class would train on
    hundreds of one-case classes without a word.
    """
    for i, label in enumerate(labels):
        try:
            number = float(label)
        except ValueError:
            continue
        if not number.is_integer():
            raise DataError(
                f"{path}: the first column of case {i + 1} is {label!r}, not a class label (a name or a whole "
                "number). A UCR text file has the label first, then the values; if your label is in another "
                "column (often the last), move it first, or load the file with pandas and build the cases."
            )


def read_ucr_text(path: Path) -> dict[str, Any]:
    """Read a UCR ``.txt``/``.tsv``/``.csv`` file: the label first, then the values (see the module docstring).

    A first line of column names (``label,t1,t2,...``, as pandas' ``to_csv`` writes) is skipped: a
    first line whose label is a word and whose fields are not all numbers, or whose label is the
    only word among numeric labels.
    """
    cases: list[np.ndarray] = []
    labels: list[str] = []
    width: int | None = None
    header_candidate = False
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            tokens = _SEP.split(line)
            if len(tokens) < 2:
                raise DataError(
                    f"{_where(path, lineno)}: a UCR text line holds the label, then the values. Received one field "
                    f"{line[:40]!r}."
                )
            if not cases and not header_candidate and not is_number(tokens[0]):
                if not all(is_number(t) or t == "?" for t in tokens[1:]):
                    continue  # column names ('label,a,b'): not a case
                header_candidate = True  # 'label,1,2,...': decided once the other labels are read
            values = _floats(tokens[1:], path, lineno)
            if width is None:
                width = values.size
            cases.append(values[None, :])
            labels.append(tokens[0])
    if not cases:
        raise DataError(f"{path}: no cases. A UCR text file has one case a line: the label, then the values.")
    if header_candidate and len(labels) > 1 and all(is_number(label) for label in labels[1:]):
        cases, labels = cases[1:], labels[1:]  # numeric labels below a word: that first line named the columns
    X, lengths = _stack(cases)
    labels = clean_labels(labels)
    _check_labels_first(labels, path)
    metadata: dict[str, Any] = {
        "problemName": re.sub(r"_(TRAIN|TEST)$", "", path.stem, flags=re.IGNORECASE), "format": "ucr-text",
        "univariate": True, "classLabel": True, "classLabels": sorted(set(labels), key=_label_key),
        "equalLength": bool((lengths == lengths[0]).all()),
    }
    description = _description(path)
    if description is not None:
        metadata["description"] = description
    return {"X": X, "y": np.array(labels, dtype=str), "lengths": lengths, "metadata": metadata}


def _label_key(label: str) -> tuple[int, Any]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def read_arff(path: Path) -> dict[str, Any]:
    """Read a UEA ``.arff`` file, flat (univariate) or relational (multivariate)."""
    relation = path.stem
    attributes: list[tuple[str, str]] = []  # (name, type) at the top level
    relational = False
    depth = 0
    lines: list[tuple[int, str]] = []
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        in_data = False
        for lineno, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith("%"):
                continue
            if in_data:
                lines.append((lineno, line))
                continue
            low = line.lower()
            if low.startswith("@relation"):
                relation = _unquote(line.split(None, 1)[1]) if len(line.split(None, 1)) > 1 else relation
            elif low.startswith("@attribute"):
                parts = line.split(None, 2)
                if len(parts) < 3:
                    raise DataError(f"{_where(path, lineno)}: an @attribute line needs a name and a type. "
                                    f"Received: {line[:60]!r}.")
                kind = parts[2].strip()
                if kind.lower() == "relational":
                    relational = True
                    depth += 1
                    attributes.append((parts[1], "relational"))
                elif depth == 0:
                    attributes.append((parts[1], kind))
            elif low.startswith("@end"):
                depth = max(depth - 1, 0)
            elif low.startswith("@data"):
                in_data = True
    if not attributes:
        raise DataError(f"{path}: no @attribute lines. An .arff file declares its attributes, then @data.")
    if not lines:
        raise DataError(f"{path}: no cases after @data.")
    label_name, label_type = attributes[-1]
    nominal = label_type.startswith("{")
    declared = [_unquote(v) for v in label_type.strip("{} ").split(",")] if nominal else []
    numeric_target = label_type.lower() in ("numeric", "real")
    cases: list[np.ndarray] = []
    labels: list[str] = []
    for lineno, line in lines:
        if relational:
            body, sep, label = line.rpartition(",")
            if not sep:
                raise DataError(f"{_where(path, lineno)}: expected the quoted series, a comma and the label.")
            channels = [c for c in _unquote(body).split("\\n")]
            rows = [_floats([t for t in _SEP.split(c.strip()) if t], path, lineno) for c in channels]
            width = max(r.size for r in rows)
            case = np.full((len(rows), width), np.nan)
            for k, r in enumerate(rows):
                case[k, : r.size] = r
        else:
            tokens = [t.strip() for t in line.split(",")]
            label = tokens[-1]
            case = _floats(tokens[:-1], path, lineno)[None, :]
        label = _unquote(label)
        if declared and label not in declared:
            raise DataError(
                f"{_where(path, lineno)}: label {label!r} is not one of the values declared for {label_name!r}: "
                f"{declared}."
            )
        if cases and case.shape[0] != cases[0].shape[0]:
            raise DataError(
                f"{_where(path, lineno)}: this case has {case.shape[0]} channel(s) but the first has "
                f"{cases[0].shape[0]}."
            )
        cases.append(case)
        labels.append(label)
    X, lengths = _stack(cases)
    metadata: dict[str, Any] = {
        "problemName": relation, "format": "arff", "univariate": X.shape[2] == 1, "dimensions": int(X.shape[2]),
        "equalLength": bool((lengths == lengths[0]).all()),
    }
    if numeric_target:
        metadata["targetLabel"] = True
        y: np.ndarray = np.array([float(v) for v in labels], dtype=np.float64)
    else:
        metadata["classLabel"] = True
        metadata["classLabels"] = declared or sorted(set(labels), key=_label_key)
        y = np.array(labels, dtype=str)
    description = _description(path)
    if description is not None:
        metadata["description"] = description
    return {"X": X, "y": y, "lengths": lengths, "metadata": metadata}
