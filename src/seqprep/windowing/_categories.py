"""Categorical columns as integer codes: :class:`Vocabulary`, for :mod:`seqprep.windowing`.

A column of strings, a pandas ``category`` column or an ``object`` column (booleans, mixed values)
is categorical. Its values are compared as text (``str(value)``), so a vocabulary saves to JSON
and an integer category ``1`` and the string ``"1"`` are the same category. Codes are
``1..V`` for the vocabulary's values in sorted order and ``0`` for everything else: a value
not seen when the vocabulary was fitted, or a missing value. Encoding never fails: the rows coded
0 are counted instead, so a category first seen at prediction time is reported, not refused.

Encoding goes through :func:`pandas.factorize` (hashing in C) and a lookup table over the distinct
values, never a Python call per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ArtifactError

__all__ = ["Vocabulary", "factorize_text", "is_categorical"]


def is_categorical(column: pd.Series) -> bool:
    """Whether a column is categorical: strings, a pandas ``category``, or Python objects (e.g. booleans)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return False
    return bool(pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype))


def factorize_text(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes ``0..k-1`` of a column's distinct values (``-1`` for missing) and those values as text."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [str(u) for u in np.asarray(uniques, dtype=object)]


class Vocabulary:
    """The categories of one column: code ``i`` (1-based) is ``categories[i - 1]``; 0 is unknown or missing.

    Parameters
    ----------
    categories : sequence of str
        The known values, as text; they are sorted (duplicates are dropped).

    Examples
    --------
    >>> import pandas as pd
    >>> v = Vocabulary.fit(pd.Series(["b", "a", "b", None]))
    >>> v.categories, v.cardinality
    (('a', 'b'), 3)
    >>> codes, unknown = v.encode(pd.Series(["a", "c", None, "b"]))
    >>> codes.tolist(), unknown
    ([1, 0, 0, 2], 2)
    """

    __slots__ = ("_index", "categories")

    def __init__(self, categories: Sequence[str]) -> None:
        self.categories = tuple(sorted({str(c) for c in categories}))
        self._index = {c: i + 1 for i, c in enumerate(self.categories)}

    @property
    def cardinality(self) -> int:
        """Number of codes, the unknown code 0 included (the size of an embedding table)."""
        return len(self.categories) + 1

    @classmethod
    def fit(cls, column: pd.Series) -> Vocabulary:
        """The vocabulary of every non-missing value of *column*."""
        _, keys = factorize_text(column)
        return cls(keys)

    @classmethod
    def from_factorized(cls, codes: np.ndarray, keys: Sequence[str], rows: Any = None) -> Vocabulary:
        """The vocabulary of the values whose factorized *codes* occur in *rows* (a mask or index; all rows if None)."""
        seen = np.asarray(codes if rows is None else codes[rows])
        present = np.zeros(len(keys) + 1, dtype=bool)
        present[seen] = True  # -1 (missing) marks the extra last slot, never a key
        return cls([keys[int(i)] for i in np.flatnonzero(present[:-1])])

    def lookup(self, keys: Sequence[str]) -> np.ndarray:
        """Codes of factorized values (their texts *keys*), with a trailing 0 for the missing code ``-1``."""
        return np.array([self._index.get(k, 0) for k in keys] + [0], dtype=np.int32)

    def encode(self, column: pd.Series) -> tuple[np.ndarray, int]:
        """Codes (int32) of every value of *column*, and how many are 0 (unknown or missing)."""
        codes, keys = factorize_text(column)
        out = self.lookup(keys)[codes]
        return out, int(np.count_nonzero(out == 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return {"categories": list(self.categories)}

    @classmethod
    def from_dict(cls, d: Any) -> Vocabulary:
        """Inverse of :meth:`to_dict` (an :class:`~seqprep.ArtifactError` for a malformed entry)."""
        cats = d.get("categories") if isinstance(d, dict) else None
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise ArtifactError(f"a saved vocabulary must be {{'categories': [str, ...]}}. Received: {d!r:.120}.")
        return cls(cats)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other.categories == self.categories

    def __hash__(self) -> int:
        return hash(self.categories)

    def __repr__(self) -> str:
        shown = ", ".join(repr(c) for c in self.categories[:5]) + (", ..." if len(self.categories) > 5 else "")
        return f"Vocabulary([{shown}]; {self.cardinality} codes with 0 = unknown)"
