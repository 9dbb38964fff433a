"""The rules of :func:`seqprep.audit`: one function a rule, each returning its findings.

Every rule reads the checked arrays (:mod:`seqprep.auditing._inputs`) and, where it needs
them, the vectorised row ids, time order and statistics of :mod:`seqprep.auditing._checks`.
The thresholds are module constants, re-exported by :mod:`seqprep.auditing` and
explained in ``docs/audit.md``. :func:`_check_features` also serves
:func:`seqprep.check_data`, where unscaled raw data is only worth an info.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import list_names
from ..exceptions import DataError, ShapeError
from . import _checks as _c
from ._inputs import _as_array, _rows
from ._report import Finding, Severity

__all__: list[str] = []  # internal module

#: Largest deviation from exact standardization (or min-max scaling) that still counts as
#: "exact" for tabular rows: float32 arithmetic leaves about 1e-7.
EXACT_TOL = 1e-5
#: The same for windows: the rows after a part's last input window (its horizon) and the
#: purge gap appear in no window, so the statistics of the covered rows are only close.
WINDOW_TOL = 0.02
#: A match must hold for this share of windows to call the target "inside the input".
TARGET_MATCH_SHARE = 0.95
#: Ratio of root-mean-square magnitudes between features that is flagged as unscaled.
SCALE_RATIO = 100.0
#: SCALED_BEFORE_SPLIT needs the training part's deviation mass to be this many times that of all parts.
BEFORE_SPLIT_MASS = 3.0
#: SCALED_PER_PART needs a part's deviation mass to be at most this many times the training part's.
PER_PART_MASS = 3.0
#: A part needs this many rows of its own (rows no training window holds) for SCALED_PER_PART.
MIN_OWN_ROWS = 3
#: Share of test samples duplicated in training above which duplicates are an error.
DUPLICATE_ERROR_SHARE = 0.01
#: Samples with fewer distinct values than this can repeat naturally (a dry week of rain).
MIN_DISTINCT = 3


def _check_nonfinite(xs: dict[str, np.ndarray], ys: dict[str, np.ndarray], names: list[str]) -> list[Finding]:
    """NONFINITE: count NaN/inf per part and feature (and in y); a network cannot train on them."""
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


_LABELS = {
    "standard": "standardized (mean 0, std 1)",
    "minmax": "min-max scaled (min 0, max 1)",
    "robust": "robust scaled (median 0, inter-quartile range 1)",
}


def _check_scaling(
    unique: dict[str, np.ndarray], union: np.ndarray, own: dict[str, np.ndarray], windowed: bool
) -> list[Finding]:
    """SCALED_BEFORE_SPLIT / SCALED_PER_PART from the arrays alone, or SCALING_UNDECIDED.

    A part counts as scaled of a kind when its underlying rows are within the tolerance of
    exact. ``own`` holds each later part's rows that the training windows do not hold: rows
    shared with training were scaled as training was, so only a part's own rows can show a
    scaler of its own (windows shuffled across the split leave a part no rows of its own).
    Only the first scaling kind that fires is reported. The mass rules (deviation x rows) are
    why the loose window tolerance stays quiet on honest pipelines; ``docs/audit.md`` gives
    the corpus numbers behind every threshold. When neither the training part nor all parts
    together look scaled by any kind, nothing can be decided and an info says why.
    """
    if union.shape[0] < 3:
        return []
    keep = np.ptp(union, axis=0) > 0
    if not keep.any():
        return []
    tr = _c.scale_fit(unique["train"], keep)
    fit_union = _c.scale_fit(union, keep)
    fits = {k: _c.scale_fit(r, keep) for k, r in own.items() if r.shape[0] >= MIN_OWN_ROWS}
    whole = {k: _c.scale_fit(r, keep) for k, r in unique.items() if k != "train"}
    tol = WINDOW_TOL if windowed else EXACT_TOL
    what = "their own rows (those no training window holds)" if windowed else "their own rows"
    for kind, label in _LABELS.items():
        floor = EXACT_TOL * fit_union.n_rows
        if (
            fit_union.dev(kind) <= tol
            and tr.dev(kind) > tol / 10
            and tr.mass(kind) >= BEFORE_SPLIT_MASS * max(fit_union.mass(kind), floor)
            and not all(f.dev(kind) <= tol for f in whole.values())  # every part exact alone: scaled per part
        ):
            return [
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
            ]
        per_part = [
            k
            for k, f in fits.items()
            if tr.dev(kind) <= tol
            and f.dev(kind) <= tol
            and f.mass(kind) <= PER_PART_MASS * max(tr.mass(kind), EXACT_TOL * tr.n_rows)
        ]
        if per_part:
            ev: dict[str, Any] = {"scaling": kind, "deviation_train": tr.dev(kind)}
            ev.update({f"deviation_{k}": fits[k].dev(kind) for k in per_part})
            ev.update({f"own_rows_{k}": fits[k].n_rows for k in per_part})
            ev["tolerance"] = tol
            return [
                Finding(
                    "SCALED_PER_PART",
                    "error",
                    f"The training part and the {' and '.join(per_part)} part are each exactly {label} "
                    f"on {what}: each part was scaled with its own statistics.",
                    ev,
                    "Fit the scaler on the training rows only and apply the same statistics to val and test.",
                )
            ]
    if any(tr.dev(kind) <= tol for kind in _LABELS):
        return []  # the scaler was fitted on the training rows (or is indistinguishable from one that was)
    return [
        Finding(
            "SCALING_UNDECIDED",
            "info",
            "Neither the training part nor all parts together are exactly standardized, min-max or robust "
            "scaled: the arrays are unscaled, or the scaler was fitted on rows not given here (a validation "
            "part between train and test, rows before the first window), or is of another kind (log, per "
            "window); whether a scaler saw the test rows cannot be decided from these arrays.",
            {
                "parts_given": list(unique),
                **{f"deviation_train_{k}": tr.dev(k) for k in _LABELS},
                **{f"deviation_all_parts_{k}": fit_union.dev(k) for k in _LABELS},
                "tolerance": tol,
            },
            "Pass every part (X_val too) to audit; if the data is scaled, fit the scaler on the training rows only.",
        )
    ]


def _check_raw(raw: Any, unique: dict[str, np.ndarray], n_features: int) -> list[Finding]:
    """SCALED_BEFORE_SPLIT from the raw rows: recover each feature's scaler by rank matching.

    The sorted arrays against the sorted raw values give the scaler's centre and spread; they
    are compared with the statistics of all raw rows and of the first (training) raw rows.
    """
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
    """WINDOWS_SHUFFLED_ACROSS_SPLIT, or BOUNDARY_OVERLAP when parts share rows only where they meet.

    Interleaving is read from the rebuilt time order. Without one (no stride found), two parts
    count as interleaved when at least half of the later part's windows hold only rows of the
    earlier part and more than ``T`` of them share rows with it.
    """
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


def _check_coverage(
    ys: dict[str, np.ndarray], times: dict[str, np.ndarray], order: _c.Order | None, roles: Sequence[str] = ()
) -> list[Finding]:
    """NOT_CHECKED: the rules that the arrays given cannot run, each with the reason."""
    skipped: dict[str, str] = {}
    if not ys:
        skipped["TARGET_IN_INPUT"] = "no y was given"
    if "known" in roles or "known_cat" in roles:
        skipped["FUTURE_TARGET_IN_INPUT for known inputs"] = (
            "known inputs are allowed to hold future values, so a known column shifted from the future "
            "cannot be told from an honest one"
        )
    if not times and (order is None or order.stride == 0):
        what = "the samples are tabular rows" if order is None else "the windows do not overlap"
        skipped["CHRONOLOGICAL_OVERLAP"] = (
            f"no timestamps were given and {what}, so their time order cannot be rebuilt: a random split is invisible"
        )
    if not skipped:
        return []
    return [
        Finding(
            "NOT_CHECKED",
            "info",
            f"Not checked for lack of inputs: {'; '.join(f'{k} ({v})' for k, v in skipped.items())}.",
            skipped,
            "Pass y_train/y_test and time_train/time_test (the time of each sample's target) to run these checks.",
        )
    ]


def _check_target(
    xs: dict[str, np.ndarray], ys: dict[str, np.ndarray], names: list[str], skip: Sequence[int] = ()
) -> list[Finding]:
    """TARGET_IN_INPUT: y equals one feature at one step of its own window far above chance.

    At most 4096 evenly spaced samples and 8 outputs are compared, and chance is measured
    with y rolled by half its length, so a slowly varying series does not match by accident.
    The features in *skip* (already reported as FUTURE_TARGET_IN_INPUT) are not compared.
    """
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
            match[:, list(skip)] = 0.0
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
    """CHRONOLOGICAL_OVERLAP: samples of an earlier part whose targets reach into a later part."""
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
    """DUPLICATE_SAMPLES when later parts copy earlier ones more than chance allows, else REPEATED_SAMPLES.

    Windows are compared by their row ids, tabular samples by their bytes. The natural rate is
    how often informative samples repeat inside the training part.
    """
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
