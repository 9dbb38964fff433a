"""Argument checks and the one place where error messages are worded.

Every message has three parts: what was expected, what was received, and how
to fix it -- ``"`lookback` must be a positive integer. Received: lookback=0.
Use lookback >= 1."``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .exceptions import InvalidParameterError, NotFittedError

__all__: list[str] = []  # internal module

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _short(value: Any, limit: int = 80) -> str:
    """``repr`` of *value*, shortened so that messages stay one line."""
    text = repr(value)
    if isinstance(value, np.ndarray):
        text = f"array(shape={value.shape}, dtype={value.dtype})"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def message(name: str, expected: str, value: Any, fix: str | None = None) -> str:
    """Word a parameter error uniformly.

    Parameters
    ----------
    name : str
        Argument name as the user typed it.
    expected : str
        What the argument must be, as a predicate ("a positive integer").
    value : object
        What was received.
    fix : str, optional
        One sentence that tells the user how to fix it.

    Returns
    -------
    str
        ``"`name` must be expected. Received: name=value. fix"``
    """
    text = f"`{name}` must be {expected}. Received: {name}={_short(value)}."
    if fix:
        text += f" {fix}"
    return text


def param_error(name: str, expected: str, value: Any, fix: str | None = None) -> InvalidParameterError:
    """Return (not raise) an :class:`InvalidParameterError` with a uniform message."""
    return InvalidParameterError(message(name, expected, value, fix))


def zero_of(dtype: Any) -> Any:
    """A zero of *dtype*: ``0``, ``0.0``, or a zero timedelta in the dtype's own unit.

    ``np.timedelta64(0)`` and ``dtype.type(0)`` carry NumPy's 'generic' timedelta unit, which
    NumPy 2.5 deprecates; a zero made from the dtype keeps the unit (``timedelta64[ns]``).

    >>> zero_of(np.dtype("m8[ns]")), zero_of(np.dtype("int64"))
    (np.timedelta64(0,'ns'), np.int64(0))
    """
    return np.zeros((), dtype=dtype)[()]


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    fix: str | None = None,
) -> int:
    """Check that *value* is an integer (not a bool, not a float) within bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise param_error(name, expected, value, fix or f"Pass a whole number such as {name}={max(minimum or 1, 1)}.")
    value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise param_error(
            name, "an integer that fits in 64 bits", value, fix or f"Use a value between {INT64_MIN} and {INT64_MAX}."
        )
    if minimum is not None and value < minimum:
        word = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise param_error(name, word, value, fix or f"Use {name} >= {minimum}.")
    if maximum is not None and value > maximum:
        raise param_error(name, f"an integer <= {maximum}", value, fix or f"Use {name} <= {maximum}.")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    inclusive: bool = True,
    fix: str | None = None,
) -> float:
    """Check that *value* is a finite real number within bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise param_error(name, "a finite number", value, fix)
    value = float(value)
    lo_bad = minimum is not None and (value < minimum if inclusive else value <= minimum)
    hi_bad = maximum is not None and (value > maximum if inclusive else value >= maximum)
    if lo_bad or hi_bad:
        op_lo, op_hi = ("<=", "<=") if inclusive else ("<", "<")
        bounds = " and ".join(
            part
            for part in (
                f"{minimum} {op_lo} {name}" if minimum is not None else "",
                f"{name} {op_hi} {maximum}" if maximum is not None else "",
            )
            if part
        )
        raise param_error(name, f"a number with {bounds}", value, fix)
    return value


def check_choice(value: Any, name: str, choices: Iterable[Any], fix: str | None = None) -> Any:
    """Check that *value* is one of *choices* (compared with ``==``)."""
    options = list(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise param_error(name, f"one of {listed}", value, fix)
    return value


def check_bool(value: Any, name: str) -> bool:
    """Check that *value* is a real bool (not 0/1 or a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise param_error(name, "True or False", value)
    return bool(value)


def check_int_sequence(
    value: Any, name: str, *, minimum: int | None = None, allow_scalar: bool = True
) -> tuple[tuple[int, ...], bool]:
    """Check an int or a non-empty sequence of ints.

    Returns
    -------
    values : tuple of int
        The checked values.
    was_scalar : bool
        True when a single int was given (so the caller can drop an axis).
    """
    if allow_scalar and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (check_int(value, name, minimum=minimum),), True
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise param_error(name, "an integer or a sequence of integers", value)
    if len(value) == 0:
        raise param_error(name, "a non-empty sequence of integers", value, f"Pass at least one {name}.")
    return tuple(check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(value)), False


def check_is_fitted(obj: Any, attribute: str) -> None:
    """Raise :class:`NotFittedError` (scikit-learn's wording) if *attribute* is missing."""
    if getattr(obj, attribute, None) is None:
        raise NotFittedError(
            f"This {type(obj).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def list_names(names: Iterable[Any], limit: int = 20) -> str:
    """Format a list of names for a message, truncated after *limit*."""
    names = [str(n) for n in names]
    if len(names) > limit:
        return ", ".join(repr(n) for n in names[:limit]) + f", ... ({len(names)} in all)"
    return ", ".join(repr(n) for n in names)


def is_number(value: Any) -> bool:
    """Whether ``float(value)`` reads ``value`` (``'3.5'``, ``'1e-3'``, ``'nan'``, ``2``); no exception escapes."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def divisors(n: int) -> list[int]:
    """The divisors of ``n``, ascending: the valid ``subsequences`` for a window of ``n`` steps (for messages)."""
    return [d for d in range(1, n + 1) if n % d == 0]


# --------------------------------------------------------------------------- names of columns
def check_distinct(values: Iterable[Any], name: str, what: str = "names") -> None:
    """Refuse a list of names that holds one twice (a target listed twice, a feature repeated).

    >>> check_distinct(["a", "b"], "features")
    >>> check_distinct(["a", "a"], "features")
    Traceback (most recent call last):
    ...
    seqprep.exceptions.InvalidParameterError: `features` must hold distinct names; 'a' is listed twice. ...
    """
    items = list(values)
    seen: set[Any] = set()
    for item in items:
        key = item if isinstance(item, str) else repr(item)
        if key in seen:
            raise InvalidParameterError(
                f"`{name}` must hold distinct {what}; {item!r} is listed twice. Received: {name}={_short(items)}. "
                "Remove the duplicate."
            )
        seen.add(key)


def check_names(wanted: Iterable[Any], name: str, available: Sequence[Any], where: str = "") -> None:
    """Refuse names that are not among *available*, listing the names that exist.

    Every lookup of a column by name goes through here (or :func:`column_positions`), so that a
    missing name is never resolved to another column (a lookup that returns -1 used as an index).

    >>> check_names(["a"], "target", ["a", "b"])
    >>> check_names(["nope"], "target", ["a", "b"], "data.csv")
    Traceback (most recent call last):
    ...
    seqprep.exceptions.InvalidParameterError: `target` names a column that does not exist in data.csv: 'nope'.
    Available columns: 'a', 'b'. Use one of them (names are case-sensitive).
    """
    names = [str(a) for a in available]
    missing = [w for w in wanted if not isinstance(w, str) or w not in names]
    if missing:
        place = f" in {where}" if where else ""
        noun = "a column that does not exist" if len(missing) == 1 else "columns that do not exist"
        raise InvalidParameterError(
            f"`{name}` names {noun}{place}: {list_names(missing)}. Available columns: "
            f"{list_names(names) or '(none)'}. Use one of them (names are case-sensitive)."
        )


def column_positions(wanted: Iterable[str], name: str, available: Sequence[Any], where: str = "") -> list[int]:
    """Positions of *wanted* in *available*, refusing a missing name (see :func:`check_names`).

    >>> column_positions(["b"], "target", ["a", "b"])
    [1]
    """
    items = list(wanted)
    names = [str(a) for a in available]
    check_names(items, name, names, where)
    return [names.index(w) for w in items]


def check_unique_columns(columns: Iterable[Any], where: str) -> None:
    """Refuse a table whose header repeats a column name (a lookup by name would be ambiguous).

    >>> check_unique_columns(["a", "b", "a"], "data.csv")
    Traceback (most recent call last):
    ...
    seqprep.exceptions.DataError: data.csv has duplicate column names: 'a'. Rename the columns ...
    """
    from .exceptions import DataError

    names = [str(c) for c in columns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(
            f"{where} has duplicate column names: {list_names(dup)}. Rename the columns so that every name "
            "appears once."
        )
