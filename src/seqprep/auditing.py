"""Audit arrays you built yourself for leakage and data problems.

:func:`audit` looks at train / validation / test arrays (tabular rows or 3-D
windows) and reports what it can prove from the arrays alone: scalers fitted
before the split or per part, overlapping windows shuffled across the split, the
target inside its own input window, timestamps that overlap, duplicates, and
features that a network cannot train on as they are. :func:`check_data` looks at
a raw table before anything is built. Both return an :class:`AuditReport`; they
raise :class:`~seqprep.exceptions.LeakageError` only when asked to.

Every finding has a stable ``code``; ``docs/audit.md`` explains each one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _audit_checks as _c
from ._validation import check_bool, check_choice, list_names, param_error, zero_of
from .exceptions import DataError, InvalidParameterError, LeakageError, ShapeError

__all__ = ["AuditReport", "Finding", "audit", "check_data"]

Severity = Literal["error", "warning", "info"]
_SEVERITIES = ("error", "warning", "info")

#: Largest deviation from exact standardization (or min-max scaling) that still counts as
#: "exact" for tabular rows: float32 arithmetic leaves about 1e-7.
EXACT_TOL = 1e-5
#: The same for windows: the rows after a part's last input window (its horizon) and the
#: purge gap appear in no window, so the statistics of the covered rows are only close.
WINDOW_TOL = 0.05
#: A match must hold for this share of windows to call the target "inside the input".
TARGET_MATCH_SHARE = 0.95
#: Ratio of root-mean-square magnitudes between features that is flagged as unscaled.
SCALE_RATIO = 100.0
#: Share of test samples duplicated in training above which duplicates are an error.
DUPLICATE_ERROR_SHARE = 0.01
#: Samples with fewer distinct values than this can repeat naturally (a dry week of rain).
MIN_DISTINCT = 3
_PART_NAMES = ("train", "val", "test")


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
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _report(findings: list[Finding]) -> AuditReport:
    rank = {s: i for i, s in enumerate(_SEVERITIES)}
    return AuditReport(tuple(sorted(findings, key=lambda f: rank[f.severity])))


# --- input handling ----------------------------------------------------------------------------------


def _as_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, pd.DataFrame):
        value = value.to_numpy()
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(f"`{name}` must hold numbers. Received dtype={arr.dtype}. Encode or drop non-numeric columns.")
    return arr.astype(np.float64, copy=False)


def _parts_x(xs: dict[str, Any], layout: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, value in xs.items():
        arr = _as_array(value, f"X_{name}")
        if arr.ndim not in (2, 3):
            raise ShapeError(
                f"`X_{name}` must be 2-D (n_samples, n_features) or 3-D windows (n_windows, n_timesteps, "
                f"n_features). Received: shape={arr.shape}. Reshape it, or pass layout='NCT' for channels-first."
            )
        if arr.ndim == 3 and layout == "NCT":
            arr = np.ascontiguousarray(arr.transpose(0, 2, 1))
        if arr.shape[0] == 0:
            raise ShapeError(f"`X_{name}` has no samples. Received: shape={arr.shape}. Pass a non-empty part.")
        out[name] = arr
    ref = out["train"].shape[1:]
    for name, arr in out.items():
        if arr.shape[1:] != ref:
            raise ShapeError(
                f"`X_{name}` must have the same shape per sample as `X_train` {ref} (layout NTC). "
                f"Received: shape={arr.shape}. Build all parts with the same lookback and features."
            )
    return out


def _parts_aux(values: dict[str, Any], xs: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in xs:
            raise InvalidParameterError(f"`{prefix}_{name}` was given without `X_{name}`. Pass X_{name} as well.")
        if prefix == "time":
            arr = np.asarray(value)
            if arr.dtype == object or arr.dtype.kind in "US":
                try:
                    arr = pd.to_datetime(arr.ravel()).to_numpy().reshape(arr.shape)
                except (ValueError, TypeError) as exc:
                    raise DataError(f"`time_{name}` could not be read as timestamps: {exc}") from exc
        else:
            arr = _as_array(value, f"{prefix}_{name}")
        if arr.ndim == 0 or arr.shape[0] != xs[name].shape[0]:
            raise ShapeError(
                f"`{prefix}_{name}` must have one entry per sample of `X_{name}` ({xs[name].shape[0]}). "
                f"Received: shape={arr.shape}. Build {prefix} and X from the same windows."
            )
        out[name] = arr
    return out


def _rows(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


# --- the audit ---------------------------------------------------------------------------------------


def audit(
    X_train: Any,
    X_test: Any,
    *,
    X_val: Any = None,
    y_train: Any = None,
    y_test: Any = None,
    y_val: Any = None,
    raw: Any = None,
    time_train: Any = None,
    time_test: Any = None,
    time_val: Any = None,
    strict: bool = False,
    feature_names: Sequence[str] | None = None,
    layout: str = "NTC",
) -> AuditReport:
    """Audit model-ready arrays for leakage and data problems.

    Parameters
    ----------
    X_train, X_test : array-like of shape (n_samples, n_features) or (n_windows, n_timesteps, n_features)
        The inputs of each part: tabular rows (or flattened windows), or 3-D windows.
    X_val : array-like of the same per-sample shape, optional
        The validation inputs.
    y_train, y_test, y_val : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        The targets; enable the ``TARGET_IN_INPUT`` check.
    raw : array-like of shape (n_rows, n_features), optional
        The unscaled rows, in time order, that the arrays were made from. For tabular
        inputs whose parts together hold every raw row, the scaler's statistics are
        recovered exactly (rank matching) and compared with those of all raw rows.
    time_train, time_test, time_val : array-like of shape (n_samples,) or (n_samples, horizon), optional
        The timestamp of each sample's target (datetimes or numbers); enable the
        ``CHRONOLOGICAL_OVERLAP`` check.
    strict : bool, default False
        Raise :class:`~seqprep.exceptions.LeakageError` when an error finding exists.
    feature_names : sequence of str, optional
        Names of the ``n_features`` features, used in the findings.
    layout : {"NTC", "NCT"}, default "NTC"
        Axis order of 3-D inputs: ``(N, T, C)`` or channels-first ``(N, C, T)``.

    Returns
    -------
    AuditReport
        The findings, errors first. ``report.ok`` is True when nothing of severity
        warning or error was found.

    Raises
    ------
    LeakageError
        With ``strict=True``, when an error finding exists.
    ShapeError, DataError, InvalidParameterError
        When the inputs cannot be audited (wrong ndim, mismatched shapes, text).

    Examples
    --------
    Standardizing train and test each with their own statistics is caught:

    >>> import numpy as np
    >>> t = np.arange(400.0)
    >>> X = np.column_stack([np.sin(t / 9) + t / 100, np.cos(t / 7) + t / 200])
    >>> train, test = X[:300], X[300:]
    >>> scale = lambda a: (a - a.mean(axis=0)) / a.std(axis=0)
    >>> audit(scale(train), scale(test)).codes
    ('SCALED_PER_PART',)
    >>> mu, sd = train.mean(axis=0), train.std(axis=0)  # the honest way
    >>> audit((train - mu) / sd, (test - mu) / sd).ok
    True
    """
    check_choice(layout, "layout", ("NTC", "NCT"), "Pass layout='NTC' for (N, T, C) or 'NCT' for (N, C, T).")
    strict = check_bool(strict, "strict")
    xs_in = {"train": X_train, "val": X_val, "test": X_test}
    xs = _parts_x({k: v for k, v in xs_in.items() if v is not None}, layout)
    ys = _parts_aux({"train": y_train, "val": y_val, "test": y_test}, xs, "y")
    times = _parts_aux({"train": time_train, "val": time_val, "test": time_test}, xs, "time")
    n_features = xs["train"].shape[-1]
    names = _feature_names(feature_names, n_features)
    windowed = xs["train"].ndim == 3

    findings: list[Finding] = []
    findings += _check_nonfinite(xs, ys, names)
    ids = dict(zip(xs, _c.window_row_ids(list(xs.values())), strict=True)) if windowed else {}
    order = _c.rebuild_order(np.concatenate(list(ids.values()))) if windowed else None
    if order is not None:  # key each window row by its place in the rebuilt series
        all_keys = _c.row_keys(np.concatenate(list(ids.values())), order)
        bounds = np.cumsum([0] + [len(x) for x in xs.values()])
        keys = {k: all_keys[bounds[i] : bounds[i + 1]] for i, k in enumerate(xs)}
        unique = {k: _unique_rows(xs[k], keys[k]) for k in xs}
        union = _unique_rows(np.concatenate(list(xs.values())), all_keys)  # shared rows count once
    else:
        unique = {k: _unique_rows(xs[k], None) for k in xs}
        union = np.concatenate(list(unique.values()))
    findings += _check_scaling(unique, union, windowed)
    if raw is not None:
        findings += _check_raw(raw, unique, n_features)
    if order is not None:
        findings += _check_shuffled(ids, order)
    findings += _check_target(xs, ys, names)
    findings += _check_time(times)
    findings += _check_duplicates(xs, ids)
    findings += _check_features(unique["train"], names, severity="warning")
    report = _report(findings)
    if strict:
        report.raise_if_errors()
    return report


def _feature_names(feature_names: Sequence[str] | None, n: int) -> list[str]:
    if feature_names is None:
        return [f"f{i}" for i in range(n)]
    if isinstance(feature_names, str) or len(feature_names) != n:
        raise param_error(
            "feature_names", f"a sequence of {n} names (one per feature)", feature_names, "Pass one name per feature."
        )
    return [str(x) for x in feature_names]


def _unique_rows(x: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
    """The finite underlying rows of a part: window rows deduplicated by their key."""
    if ids is None:
        rows = x
    else:
        _, first = np.unique(ids.ravel(), return_index=True)
        rows = _rows(x)[first]
    return rows[np.isfinite(rows).all(axis=1)]


def _check_nonfinite(xs: dict[str, np.ndarray], ys: dict[str, np.ndarray], names: list[str]) -> list[Finding]:
    evidence: dict[str, Any] = {}
    for k, x in xs.items():
        bad = (~np.isfinite(_rows(x))).sum(axis=0)
        evidence.update({f"X_{k}[{names[j]}]": int(bad[j]) for j in np.flatnonzero(bad)})
    for k, y in ys.items():
        bad_y = int((~np.isfinite(y)).sum())
        if bad_y:
            evidence[f"y_{k}"] = bad_y
    if not evidence:
        return []
    total = sum(evidence.values())
    return [
        Finding(
            "NONFINITE",
            "error",
            f"{total} NaN/inf value(s) in the arrays.",
            evidence,
            "Fill or drop missing values before scaling and windowing; a network cannot train on NaN.",
        )
    ]


def _check_scaling(unique: dict[str, np.ndarray], union: np.ndarray, windowed: bool) -> list[Finding]:
    if union.shape[0] < 3:
        return []
    keep = np.ptp(union, axis=0) > 0
    fits = {k: _c.scale_fit(r, keep) for k, r in unique.items()}
    fit_union = _c.scale_fit(union, keep)
    tol = WINDOW_TOL if windowed else EXACT_TOL
    what = "unique rows of the windows" if windowed else "rows"
    out: list[Finding] = []
    for kind in ("standard", "minmax"):
        label = "standardized (mean 0, std 1)" if kind == "standard" else "min-max scaled (min 0, max 1)"
        tr = fits["train"]
        floor = EXACT_TOL * fit_union.n_rows
        if (
            fit_union.dev(kind) <= tol
            and tr.dev(kind) > tol / 10
            and tr.mass(kind) >= 10 * max(fit_union.mass(kind), floor)
        ):
            out.append(
                Finding(
                    "SCALED_BEFORE_SPLIT",
                    "error",
                    f"All parts together are exactly {label}; the training part alone is not: the scaler "
                    "was fitted on every row before the split.",
                    {
                        "scaling": kind,
                        "deviation_all_parts": fit_union.dev(kind),
                        "deviation_train": tr.dev(kind),
                        "tolerance": tol,
                        "rows_checked": fit_union.n_rows,
                    },
                    "Split first, fit the scaler on the training rows only, then apply it to val and test.",
                )
            )
            break
        per_part = [
            k
            for k in ("val", "test")
            if k in fits
            and tr.dev(kind) <= tol
            and fits[k].dev(kind) <= tol
            and fits[k].mass(kind) <= 5 * max(tr.mass(kind), EXACT_TOL * tr.n_rows)
        ]
        if per_part:
            ev: dict[str, Any] = {"scaling": kind, "deviation_train": tr.dev(kind)}
            ev.update({f"deviation_{k}": fits[k].dev(kind) for k in per_part})
            ev["tolerance"] = tol
            out.append(
                Finding(
                    "SCALED_PER_PART",
                    "error",
                    f"The training part and the {' and '.join(per_part)} part are each exactly {label} "
                    f"on their own {what}: each part was scaled with its own statistics.",
                    ev,
                    "Fit the scaler on the training rows only and apply the same statistics to val and test.",
                )
            )
            break
    return out


def _check_raw(raw: Any, unique: dict[str, np.ndarray], n_features: int) -> list[Finding]:
    r = _as_array(raw, "raw")
    if r.ndim != 2 or r.shape[1] != n_features:
        raise ShapeError(
            f"`raw` must be 2-D (n_rows, {n_features}) with the arrays' features. Received: shape={r.shape}."
        )
    union = np.concatenate([unique[k] for k in ("train", "val", "test") if k in unique])
    if union.shape[0] != r.shape[0]:
        return [
            Finding(
                "RAW_NOT_MATCHED",
                "info",
                "The raw rows could not be matched one to one with the arrays' rows; "
                "the exact scaler check was skipped.",
                {"raw_rows": r.shape[0], "array_rows": union.shape[0]},
                "Pass raw with exactly the rows the parts hold, or rely on the array-only checks.",
            )
        ]
    n_train = unique["train"].shape[0]
    full_hits, train_hits = 0, 0
    for j in range(n_features):
        xs, rs = np.sort(union[:, j]), np.sort(r[:, j])
        if np.ptp(rs) == 0:
            continue
        a, b = np.polyfit(rs, xs, 1)
        if a <= 0:
            continue
        center, spread = -b / a, 1 / a  # x = (r - center) / spread
        for rows, counter in ((r, "full"), (r[:n_train], "train")):
            candidates = ((rows.mean(axis=0)[j], rows.std(axis=0)[j]), (rows.min(axis=0)[j], np.ptp(rows[:, j])))
            hit = any(
                np.isclose(center, c, rtol=1e-6, atol=1e-9) and np.isclose(spread, s, rtol=1e-6) for c, s in candidates
            )
            if hit and counter == "full":
                full_hits += 1
            elif hit:
                train_hits += 1
    if full_hits and not train_hits:
        return [
            Finding(
                "SCALED_BEFORE_SPLIT",
                "error",
                "The scaler's statistics, recovered from the raw rows, are those of all raw rows, "
                "not of the training rows.",
                {"features_matching_all_rows": full_hits, "raw_rows": r.shape[0], "train_rows": n_train},
                "Split first, fit the scaler on the training rows only, then apply it to val and test.",
            )
        ]
    return []


def _check_shuffled(ids: dict[str, np.ndarray], order: _c.Order) -> list[Finding]:
    names = list(ids)
    labels = np.concatenate([np.full(ids[k].shape[0], i) for i, k in enumerate(names)])
    out: list[Finding] = []
    boundary: dict[str, Any] = {}
    n_steps = ids[names[0]].shape[1]
    for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
        if a not in ids or b not in ids:
            continue
        n_b = ids[b].shape[0]
        any_shared, all_seen = _c.shared_rows(ids[a], ids[b])
        runs = _c.extra_runs(order, labels, (names.index(a), names.index(b)))
        ordered = order.stride > 0
        interleaved = runs > 0 if ordered else (all_seen >= 0.5 * n_b and any_shared > n_steps)
        ev = {
            f"{b}_windows": n_b,
            f"{b}_windows_sharing_rows_with_{a}": any_shared,
            "share_sharing_rows": any_shared / n_b,
            f"{b}_windows_entirely_seen_in_{a}": all_seen,
            "share_entirely_seen": all_seen / n_b,
            "extra_runs_in_time_order": runs,
            "order_rebuilt": ordered,
            "stride": order.stride,
        }
        if interleaved and any_shared:
            out.append(
                Finding(
                    "WINDOWS_SHUFFLED_ACROSS_SPLIT",
                    "error",
                    f"{any_shared} of {n_b} {b} windows ({any_shared / n_b:.0%}) share rows with {a} windows, "
                    f"and {a} and {b} interleave in time: overlapping windows were split at random.",
                    ev,
                    "Split the series chronologically first, then make windows inside each part.",
                )
            )
        elif any_shared:
            boundary[f"{b}_windows_sharing_rows_with_{a}"] = any_shared
            boundary[f"{b}_windows_entirely_seen_in_{a}"] = all_seen
    if boundary and not out:
        out.append(
            Finding(
                "BOUNDARY_OVERLAP",
                "info",
                "Windows share input rows only at a contiguous boundary between parts (expected when "
                "val/test windows take their inputs from before their part).",
                boundary,
                "Nothing to fix; use a purge gap or context='part' if inputs must not be shared.",
            )
        )
    return out


def _check_target(xs: dict[str, np.ndarray], ys: dict[str, np.ndarray], names: list[str]) -> list[Finding]:
    for part, y in ys.items():
        x = xs[part]
        x3 = x[:, None, :] if x.ndim == 2 else x
        n = x3.shape[0]
        if n < 10:
            continue
        sel = np.unique(np.linspace(0, n - 1, min(n, 4096)).astype(np.int64))
        xs_, ys_ = x3[sel], y.reshape(n, -1)[sel][:, :8]
        for k in range(ys_.shape[1]):
            yk = ys_[:, k]
            match = np.isclose(xs_, yk[:, None, None], rtol=1e-6, atol=1e-12).mean(axis=0)
            t, c = np.unravel_index(int(np.argmax(match)), match.shape)
            share = float(match[t, c])
            if share < TARGET_MATCH_SHARE:
                continue
            shifted = np.roll(yk, len(yk) // 2)
            chance = float(np.isclose(xs_[:, t, c], shifted, rtol=1e-6, atol=1e-12).mean())
            if share - chance < 0.5:
                continue
            steps_from_end = int(x3.shape[1] - 1 - t)
            where = "the last input row" if steps_from_end == 0 else f"input row -{steps_from_end + 1}"
            col = "" if ys_.shape[1] == 1 else f" (output {k})"
            return [
                Finding(
                    "TARGET_IN_INPUT",
                    "error",
                    f"y_{part}{col} equals feature {names[c]!r} at {where} in {share:.1%} of the samples: "
                    "the target is inside its own input window.",
                    {
                        "part": part,
                        "feature": names[int(c)],
                        "feature_index": int(c),
                        "time_index": int(t),
                        "steps_from_end": steps_from_end,
                        "output": k,
                        "share": share,
                        "chance_share": chance,
                    },
                    "Take the target from the row(s) after the window (horizon >= 1), not from inside it.",
                )
            ]
    return []


def _check_time(times: dict[str, np.ndarray]) -> list[Finding]:
    out: list[Finding] = []
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        if a not in times or b not in times:
            continue
        ta, tb = times[a].reshape(len(times[a]), -1), times[b].reshape(len(times[b]), -1)
        try:
            first_b = tb.min()
            late = (ta.max(axis=1) >= first_b).sum()
        except TypeError as exc:
            raise DataError(f"time_{a} and time_{b} cannot be compared: {exc}") from exc
        if late:
            out.append(
                Finding(
                    "CHRONOLOGICAL_OVERLAP",
                    "error",
                    f"{late} {a} sample(s) have targets at or after the first {b} target.",
                    {
                        "part": a,
                        "other": b,
                        "samples_at_or_after": int(late),
                        "share": float(late) / len(ta),
                        f"last_{a}_time": str(ta.max()),
                        f"first_{b}_time": str(first_b),
                    },
                    f"Split chronologically: every {a} target must come before the first {b} target.",
                )
            )
    return out


def _informative(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Among the samples selected by *mask*, those with at least MIN_DISTINCT distinct values."""
    out = np.zeros(len(mask), dtype=bool)
    if mask.any():
        out[mask] = _c.distinct_per_row(x.reshape(x.shape[0], -1)[mask]) >= MIN_DISTINCT
    return out


def _check_duplicates(xs: dict[str, np.ndarray], ids: dict[str, np.ndarray]) -> list[Finding]:
    keys = {k: (_c.sequence_hashes(ids[k]) if ids else _c.row_hashes(x.reshape(x.shape[0], -1))) for k, x in xs.items()}
    # how often informative samples repeat inside the training part: the natural rate
    _, inverse, counts = np.unique(keys["train"], return_inverse=True, return_counts=True)
    natural = float(_informative(xs["train"], counts[inverse] > 1).mean())
    out: list[Finding] = []
    repeats: dict[str, Any] = {}
    for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
        if a not in xs or b not in xs:
            continue
        dup = np.isin(keys[b], keys[a])
        if not dup.any():
            continue
        informative = int(_informative(xs[b], dup).sum())
        low = int(dup.sum()) - informative
        share = informative / xs[b].shape[0]
        if low:
            repeats[f"simple_{b}_in_{a}"] = low
        expected = natural * xs[b].shape[0]  # copies to expect at the natural rate (Poisson margin)
        if informative and informative <= 2 * expected + 3 * np.sqrt(expected):
            repeats[f"{b}_in_{a}"] = informative
            continue
        if informative:
            sev: Severity = "error" if share >= DUPLICATE_ERROR_SHARE else "warning"
            out.append(
                Finding(
                    "DUPLICATE_SAMPLES",
                    sev,
                    f"{informative} {b} sample(s) ({share:.1%}) are exact copies of {a} samples.",
                    {
                        "part": b,
                        "other": a,
                        "count": informative,
                        "share": share,
                        "share_repeated_within_train": natural,
                    },
                    f"Remove the copies from {a} or {b}; deduplicate before splitting.",
                )
            )
    if repeats:
        repeats["share_repeated_within_train"] = natural
        out.append(
            Finding(
                "REPEATED_SAMPLES",
                "info",
                f"Some samples repeat across parts, no more often than they repeat inside the training part "
                f"(or they hold fewer than {MIN_DISTINCT} distinct values, like a dry spell): this happens naturally "
                "with coarse measurements.",
                repeats,
                "Nothing to fix unless these repeats were not expected.",
            )
        )
    return out


def _check_features(rows: np.ndarray, names: list[str], severity: Severity) -> list[Finding]:
    """CONSTANT_FEATURE and SCALE_DISPARITY on 2-D finite rows."""
    out: list[Finding] = []
    if rows.shape[0] == 0:
        return out
    const = np.flatnonzero(np.ptp(rows, axis=0) == 0)
    if const.size:
        out.append(
            Finding(
                "CONSTANT_FEATURE",
                "warning",
                f"{const.size} feature(s) never change: {list_names(names[i] for i in const)}.",
                {"count": int(const.size), "features": [names[i] for i in const]},
                "Drop constant features; they carry no information and break standardization.",
            )
        )
    mag = _c.rms(rows)
    live = np.flatnonzero((mag > 0) & (np.ptp(rows, axis=0) > 0))  # constants are reported above
    if live.size >= 2:
        hi, lo = live[np.argmax(mag[live])], live[np.argmin(mag[live])]
        ratio = float(mag[hi] / mag[lo])
        if ratio >= SCALE_RATIO:
            out.append(
                Finding(
                    "SCALE_DISPARITY",
                    severity,
                    f"Feature magnitudes differ {ratio:.0f}-fold ({names[hi]!r} vs {names[lo]!r}, "
                    "root mean square): the features look unscaled.",
                    {
                        "largest": names[hi],
                        "largest_rms": float(mag[hi]),
                        "smallest": names[lo],
                        "smallest_rms": float(mag[lo]),
                        "ratio": ratio,
                        "threshold": SCALE_RATIO,
                    },
                    "Scale every feature (fit on the training rows) before training a network.",
                )
            )
    return out


# --- raw data ----------------------------------------------------------------------------------------


def _load_frame(df_or_path: Any) -> pd.DataFrame:
    if isinstance(df_or_path, pd.DataFrame):
        return df_or_path
    if not isinstance(df_or_path, (str, Path)):
        raise param_error("df_or_path", "a DataFrame or a path to a CSV or Parquet file", df_or_path)
    path = Path(df_or_path)
    if not path.is_file():
        raise InvalidParameterError(f"File not found: {str(path)!r}. Check the path.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, OSError) as exc:
        raise DataError(f"Could not read {str(path)!r}: {exc}") from exc
    raise param_error("df_or_path", "a .csv, .tsv or .parquet file", str(path), "Convert the file to CSV or Parquet.")


def _column(df: pd.DataFrame, name: Any, arg: str) -> Any:
    if name is not None and name not in df.columns:
        raise InvalidParameterError(
            f"`{arg}` must name a column. Received: {arg}={name!r}. Columns: {list_names(df.columns)}."
        )
    return name


def check_data(df_or_path: Any, *, time: str | None = None, group: str | None = None) -> AuditReport:
    """Check a raw table for data problems before anything is built from it.

    Parameters
    ----------
    df_or_path : DataFrame or str or Path
        The data, or a path to a ``.csv`` or ``.parquet`` file.
    time : str, optional
        The timestamp column; enables the order, duplicate and gap checks.
    group : str, optional
        The series id column; time checks then run within each series.

    Returns
    -------
    AuditReport
        Findings ``NONFINITE``, ``NON_NUMERIC``, ``UNSORTED_TIME``,
        ``DUPLICATE_TIMESTAMPS``, ``TIME_GAPS``, ``CONSTANT_FEATURE`` and (as info,
        since raw data is expected to be unscaled) ``SCALE_DISPARITY``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]),
    ...                    "temp": [1.0, 2.0, float("nan")]})
    >>> check_data(df, time="date").codes
    ('NONFINITE', 'TIME_GAPS')
    """
    df = _load_frame(df_or_path)
    time = _column(df, time, "time")
    group = _column(df, group, "group")
    findings: list[Finding] = []
    value_cols = [c for c in df.columns if c not in (time, group)]
    numeric = [c for c in value_cols if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    other = [c for c in value_cols if c not in numeric]
    if other:
        findings.append(
            Finding(
                "NON_NUMERIC",
                "warning",
                f"{len(other)} column(s) are not numeric: {list_names(other)}.",
                {"count": len(other), "columns": [str(c) for c in other]},
                "Encode them (one-hot, ordinal) or drop them before windowing.",
            )
        )
    values = df[numeric].to_numpy(dtype=np.float64) if numeric else np.zeros((len(df), 0))
    bad = (~np.isfinite(values)).sum(axis=0)
    if bad.any():
        ev = {str(numeric[j]): int(bad[j]) for j in np.flatnonzero(bad)}
        first = int(np.flatnonzero((~np.isfinite(values)).any(axis=1))[0])
        findings.append(
            Finding(
                "NONFINITE",
                "error",
                f"{int(bad.sum())} NaN/inf value(s) in {len(ev)} column(s); first in row {first}.",
                {**ev, "first_row": first},
                "Fill (interpolate, forward-fill) or drop them before scaling and windowing.",
            )
        )
    if time is not None:
        findings += _check_times(df, time, group)
    finite = values[np.isfinite(values).all(axis=1)] if values.size else values
    findings += _check_features(finite, [str(c) for c in numeric], severity="info")
    return _report(findings)


def _check_times(df: pd.DataFrame, time: str, group: str | None) -> list[Finding]:
    t = df[time]
    if not (pd.api.types.is_datetime64_any_dtype(t) or pd.api.types.is_numeric_dtype(t)):
        try:
            t = pd.to_datetime(t)
        except (ValueError, TypeError) as exc:
            raise DataError(f"Column {time!r} could not be read as timestamps: {exc}") from exc
    keys = df[group].to_numpy() if group is not None else np.zeros(len(df))
    tv = t.to_numpy()
    diffs = tv[1:] - tv[:-1]
    same = keys[1:] == keys[:-1]
    zero = diffs == zero_of(diffs.dtype)
    out: list[Finding] = []
    unsorted = np.flatnonzero(same & (diffs < zero_of(diffs.dtype)))
    if unsorted.size:
        row = int(unsorted[0]) + 1
        out.append(
            Finding(
                "UNSORTED_TIME",
                "error",
                f"Timestamps go backwards {unsorted.size} time(s) within a series; first at row {row} ({tv[row]}).",
                {"count": int(unsorted.size), "first_row": row},
                f"Sort by {'[' + repr(group) + ', ' if group else ''}{time!r}{']' if group else ''} before windowing.",
            )
        )
    dup = np.flatnonzero(same & zero)
    if dup.size:
        row = int(dup[0]) + 1
        out.append(
            Finding(
                "DUPLICATE_TIMESTAMPS",
                "error",
                f"{dup.size} repeated timestamp(s) within a series; first at row {row} ({tv[row]}).",
                {"count": int(dup.size), "first_row": row},
                "Aggregate or drop the repeated rows (or pass the series id as `group`).",
            )
        )
    pos = diffs[same & (diffs > zero_of(diffs.dtype))]
    if pos.size and not unsorted.size:
        vals, counts = np.unique(pos, return_counts=True)
        step = vals[np.argmax(counts)]
        gap_idx = np.flatnonzero(same & (diffs > step))
        if gap_idx.size:
            missing = int(np.sum(np.round(diffs[gap_idx] / step)) - gap_idx.size)
            row = int(gap_idx[0]) + 1
            out.append(
                Finding(
                    "TIME_GAPS",
                    "warning",
                    f"{gap_idx.size} gap(s) in the time axis (dominant step {step}); first before row {row} "
                    f"({tv[row]}).",
                    {"gaps": int(gap_idx.size), "missing_steps": missing, "first_row": row, "step": str(step)},
                    "Reindex to the regular step and fill, or split the series at the gaps.",
                )
            )
    return out
