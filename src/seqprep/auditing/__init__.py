"""Audit arrays you built yourself for leakage and data problems.

:func:`audit` looks at train / validation / test arrays (tabular rows or 3-D
windows) and reports what it can prove from the arrays alone: scalers fitted
before the split or per part, overlapping windows shuffled across the split, the
target inside its own input window, timestamps that overlap, duplicates, and
features that a network cannot train on as they are. :func:`check_data` looks at
a raw table before anything is built. Both return an :class:`AuditReport`; they
raise :class:`~seqprep.exceptions.LeakageError` only when asked to.

Every finding has a stable ``code``; ``docs/audit.md`` explains each one.

The work is split by concept: ``_audit_report`` holds :class:`Finding` and
:class:`AuditReport` (and their text and JSON forms), ``_audit_inputs`` checks the
arrays given, ``_audit_rules`` holds one function per rule of :func:`audit` and
``_audit_table`` the rules of :func:`check_data`; ``_audit_checks`` holds their
vectorised building blocks. This module is the public face: the two entry points, the
two classes, and the thresholds the rules use (``EXACT_TOL``, ``WINDOW_TOL``, ...).
"""

from __future__ import annotations

from ._audit import audit, check_data
from ._report import AuditReport, Finding

__all__ = [
    "AuditReport",
    "Finding",
    "audit",
    "check_data",
]
