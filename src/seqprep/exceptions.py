"""Exceptions and warnings raised by seqprep.

Every error seqprep raises on bad input is a :class:`SeqprepError`. Each class
also inherits the builtin a user would naturally catch, so ``except ValueError``
keeps working (the same double inheritance scikit-learn uses)::

    SeqprepError
    ├── InvalidParameterError(SeqprepError, ValueError, TypeError)  bad argument value or type
    │   └── NotSupportedError(InvalidParameterError)                 a combination of settings not supported yet
    ├── DataError(SeqprepError, ValueError)                         NaN/inf, unsorted timestamps, too short, ...
    │   └── StaticValueError(DataError)                             a `static` column varies within a series
    ├── ShapeError(SeqprepError, ValueError)                        wrong ndim/layout: expected vs received
    ├── NotFittedError(SeqprepError, ValueError, AttributeError)    transform before fit
    ├── LeakageError(SeqprepError, ValueError)                      an audit found leakage (strict mode, CLI)
    ├── ArtifactError(SeqprepError, ValueError)                     saved pipeline: version, hash, malformed field
    └── MemoryBudgetError(SeqprepError, MemoryError)                materialising would not fit in memory

    SeqprepWarning(UserWarning)
    └── DataWarning(SeqprepWarning)                                 data was changed or is suspicious

Messages are built in :mod:`seqprep._validation` so their wording stays uniform:
what was expected, what was received, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "DataError",
    "DataWarning",
    "InvalidParameterError",
    "LeakageError",
    "MemoryBudgetError",
    "NotFittedError",
    "NotSupportedError",
    "SeqprepError",
    "SeqprepWarning",
    "ShapeError",
    "StaticValueError",
]


# Characters str.splitlines() breaks a line at: a message must stay one line (the CLI prints one line),
# even when it quotes a column name or a file's content that carries one of them.
_LINE_BREAKS = {c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
_LINE_BREAK_TABLE = str.maketrans(_LINE_BREAKS)


class SeqprepError(Exception):
    r"""Base class of every error seqprep raises on purpose.

    Its message is always one line: line breaks in it (a quoted column name, a file's content) are
    shown escaped, e.g. ``\x0c``.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (args[0].translate(_LINE_BREAK_TABLE), *args[1:])
        super().__init__(*args)


class InvalidParameterError(SeqprepError, ValueError, TypeError):
    """An argument has a wrong value or type."""


class NotSupportedError(InvalidParameterError):
    """A valid setting that this path does not support yet (e.g. covariate roles when streaming)."""


class DataError(SeqprepError, ValueError):
    """The data itself cannot be used as given (NaN, unsorted time, too short, ...)."""


class StaticValueError(DataError):
    """A column declared ``static`` takes more than one value inside a series."""


class ShapeError(SeqprepError, ValueError):
    """An array has the wrong number of dimensions or the wrong layout."""


class NotFittedError(SeqprepError, ValueError, AttributeError):
    """A fitted object (scaler, pipeline) was used before ``fit``."""


class LeakageError(SeqprepError, ValueError):
    """An audit found information from the future or from the test part in training."""


class ArtifactError(SeqprepError, ValueError):
    """A saved artifact is of an unknown version, was tampered with or is malformed."""


class MemoryBudgetError(SeqprepError, MemoryError):
    """Materialising an array would need more memory than is available."""


class SeqprepWarning(UserWarning):
    """Base class of seqprep's warnings."""


class DataWarning(SeqprepWarning):
    """Data was changed (rows dropped or filled) or looks suspicious."""
