"""Parsers for command-line option values shared by the ``seqprep`` subcommands."""

from __future__ import annotations

from typing import Any

from ..exceptions import InvalidParameterError

__all__: list[str] = []  # internal module


def names(value: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None or an empty string -> None."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def horizon(value: str) -> int | list[int]:
    """``"1"`` -> 1, ``"1,7"`` -> [1, 7]."""
    try:
        parts = [int(v) for v in value.split(",")]
    except ValueError:
        raise InvalidParameterError(
            f"`--horizon` must be an integer or a comma-separated list of integers. Received: --horizon={value!r}."
        ) from None
    return parts[0] if len(parts) == 1 else parts


def split(value: str) -> Any:
    """``"0.7,0.15,0.15"`` -> fractions; anything else is taken as cut timestamps."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    try:
        return tuple(float(v) for v in items)
    except ValueError:
        return tuple(items)


def gap(value: str) -> Any:
    """A number of rows, or a duration such as ``"7D"``."""
    try:
        return int(value)
    except ValueError:
        return value
