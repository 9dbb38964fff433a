"""The result objects of :func:`seqprep.audit` and :func:`seqprep.check_data`, and their text form.

A :class:`Finding` is one problem with a stable ``code``; an :class:`AuditReport` holds
them, errors first, and renders them as plain JSON types, a JSON string, or the text
table that ``print(report)`` shows. Both classes are public through
:mod:`seqprep.auditing`, which is also the module they name as their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..exceptions import LeakageError
from . import _checks as _c

__all__: list[str] = []  # internal module: the public names are served by seqprep.auditing

Severity = Literal["error", "warning", "info"]
_SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem found by an audit.

    Parameters
    ----------
    code : str
        Stable identifier such as ``"SCALED_BEFORE_SPLIT"``.
    severity : {"error", "warning", "info"}
        ``"error"``: leakage or data a model cannot use; ``"warning"``: likely to hurt;
        ``"info"``: worth knowing, expected in honest pipelines.
    title : str
        One line saying what was found.
    evidence : dict
        The numbers behind the finding (counts, shares, feature names).
    fix : str
        One sentence saying how to fix it.
    """

    code: str
    severity: Severity
    title: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as plain JSON types."""
        return {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "evidence": _c.jsonable(self.evidence),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class AuditReport:
    """The findings of :func:`audit` or :func:`check_data`, errors first.

    Parameters
    ----------
    findings : tuple of Finding
        Every finding, sorted by severity (errors, warnings, infos).

    Examples
    --------
    >>> report = AuditReport((Finding("CONSTANT_FEATURE", "warning", "1 constant feature", {"count": 1}, "Drop it."),))
    >>> report.ok, len(report.warnings), len(report.errors)
    (False, 1, 0)
    >>> report.raise_if_errors()  # warnings only: nothing raised
    """

    findings: tuple[Finding, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Findings of severity ``"error"``."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Findings of severity ``"warning"``."""
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when there is no error and no warning (infos are fine)."""
        return not self.errors and not self.warnings

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of all findings, in report order."""
        return tuple(f.code for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON types."""
        return {
            "ok": self.ok,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Return the report as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    def raise_if_errors(self) -> None:
        """Raise :class:`~seqprep.exceptions.LeakageError` when an error finding exists."""
        if self.errors:
            lines = [f"{f.code}: {f.title} Fix: {f.fix}" for f in self.errors]
            raise LeakageError(f"The audit found {len(self.errors)} error(s): " + " | ".join(lines))

    def __str__(self) -> str:
        n_info = len(self.findings) - len(self.errors) - len(self.warnings)
        head = f"seqprep audit: {len(self.errors)} error(s), {len(self.warnings)} warning(s), {n_info} info"
        if not self.findings:
            return head + "\nNo findings."
        width = max(len(f.code) for f in self.findings)
        lines = [head, f"{'SEVERITY':<8}  {'CODE':<{width}}  TITLE"]
        for f in self.findings:
            lines.append(f"{f.severity:<8}  {f.code:<{width}}  {f.title}")
            pad = " " * (12 + width)
            if f.evidence:
                ev = ", ".join(f"{k}={_fmt(v)}" for k, v in f.evidence.items())
                lines.append(f"{pad}evidence: {ev}")
            if f.fix:
                lines.append(f"{pad}fix: {f.fix}")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    """Format one evidence value for the text table: floats to 4 significant digits, lists item by item."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _report(findings: list[Finding]) -> AuditReport:
    """Wrap *findings* in a report sorted by severity; the sort is stable, so each check's order is kept."""
    rank = {s: i for i, s in enumerate(_SEVERITIES)}
    return AuditReport(tuple(sorted(findings, key=lambda f: rank[f.severity])))


