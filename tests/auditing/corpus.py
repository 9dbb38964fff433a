"""A generated corpus of leaky and honest array sets for measuring :func:`seqprep.audit`.

Every case is one way of building model-ready arrays: a leak kind (or an honest pipeline),
a scaler, a series shape and the parts handed to the audit (train/test, train/val/test, or
a three-way split of which only train and test are given; with or without ``y`` and
timestamps). Each case knows which finding codes it must raise (``expect``), which others
are also true of it (``allow``), and which ``info`` codes may stand in for a finding that
the arrays given cannot decide (``explain``).

The corpus is split in two halves before anything is measured: ``dev`` (synthetic seed 0,
the Seattle daily weather and the airline data) is the half the thresholds were chosen on;
``held`` (synthetic seed 1, hourly Seattle temperatures and weekly Mauna Loa CO2) only
reports. ``benchmarks/audit_corpus.py`` prints the table; ``test_audit_corpus.py`` runs a
seeded subset.

Real data: ``tests/data/vega_seattle_temps`` and ``tests/data/sm_co2`` (see their
ATTRIBUTION.md), and, when present, ``seattle-weather.csv`` and ``airline.csv`` from the
shared data folder (``SEQPREP_SHARED_DATA``).
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

HERE = Path(__file__).resolve().parent
TEST_DATA = HERE.parent / "data"
SHARED_DATA = Path(os.environ.get("SEQPREP_SHARED_DATA", HERE.parents[2] / "shared" / "data"))

LEAKS = (
    "honest",
    "scale_before_split",
    "scale_per_part",
    "shuffled_windows",
    "target_in_input",
    "duplicates",
    "chrono_overlap",
    "nonfinite",
)
SCALERS = ("standard", "minmax", "robust", "none")
PARTS = ("train_test", "train_val_test", "train_test_of_three")
SHAPES = ("ar", "hourly", "walk", "trend", "short", "long", "panel")
REAL = {"dev": ("weather", "airline"), "held": ("seattle_temps", "co2")}
#: What each leak must raise when the arrays can show it (the scaling leaks need a scaler).
LEAK_CODE = {
    "scale_before_split": "SCALED_BEFORE_SPLIT",
    "scale_per_part": "SCALED_PER_PART",
    "shuffled_windows": "WINDOWS_SHUFFLED_ACROSS_SPLIT",
    "target_in_input": "TARGET_IN_INPUT",
    "duplicates": "DUPLICATE_SAMPLES",
    "chrono_overlap": "CHRONOLOGICAL_OVERLAP",
    "nonfinite": "NONFINITE",
}


@dataclass(frozen=True)
class Case:
    """One array set: how it was built, what the audit must say, and how to build it."""

    name: str
    half: str  # "dev" or "held"
    leak: str  # "honest" or one of LEAK_CODE
    scaler: str
    shape: str
    parts: str
    with_y: bool
    with_time: bool
    expect: frozenset[str]  # must be reported as error or warning
    allow: frozenset[str] = frozenset()  # also true of the case: not a false positive
    explain: frozenset[str] = frozenset()  # info codes that stand in for an undecidable expected code
    build: Callable[[], dict[str, Any]] = field(default=lambda: {}, repr=False, compare=False)


# --- series ---------------------------------------------------------------------------------------------


def _ar(rng: np.random.Generator, n: int, c: int, phi: float = 0.8) -> np.ndarray:
    noise = rng.normal(size=(n, c))
    out = np.empty_like(noise)
    out[0] = noise[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + noise[i]
    return out


@functools.lru_cache(maxsize=32)
def synthetic(shape: str, seed: int) -> tuple[list[np.ndarray], str]:
    """The series of a synthetic shape (a list: one array per series) and its frequency (cached: do not modify)."""
    rng = np.random.default_rng(seed)
    levels = np.array([10.0, 1000.0, 0.5])
    if shape == "ar":
        return [levels[:2] + _ar(rng, 1500, 2) * [1.0, 30.0]], "D"
    if shape == "hourly":
        t = np.arange(3000)[:, None]
        return [15 + 5 * np.sin(2 * np.pi * t / 24) + _ar(rng, 3000, 1, 0.9)], "h"
    if shape == "walk":
        return [np.cumsum(rng.normal(size=(2000, 2)), axis=0) + [0.0, 50.0]], "D"
    if shape == "trend":
        t = np.arange(1200)[:, None]
        return [0.05 * t * [1.0, 2.0] + _ar(rng, 1200, 2, 0.5)], "W"
    if shape == "short":
        return [levels[:1] + _ar(rng, 240, 1)], "MS"
    if shape == "long":
        t = np.arange(8000)[:, None]
        daily = np.sin(2 * np.pi * t / 24 + [0.0, 1.0, 2.0])
        return [levels + daily * [2.0, 40.0, 0.1] + _ar(rng, 8000, 3, 0.95) * [1.0, 20.0, 0.05]], "h"
    if shape == "panel":
        return [rng.uniform(-5, 5, 2) + _ar(rng, 500, 2) * rng.uniform(0.5, 3, 2) for _ in range(4)], "D"
    raise ValueError(shape)


def _shared(name: str) -> Path | None:
    p = SHARED_DATA / "forecasting" / name
    return p if p.is_file() else None


@functools.lru_cache(maxsize=8)
def real(name: str) -> tuple[list[np.ndarray], str] | None:
    """A real data set as one series (None when its file is absent; cached: do not modify); NaN interpolated."""
    if name == "weather":
        p = _shared("seattle-weather.csv")
        if p is None:
            return None
        cols = ["precipitation", "temp_max", "temp_min", "wind"]
        return [pd.read_csv(p)[cols].to_numpy(np.float64)], "D"
    if name == "airline":
        p = _shared("airline.csv")
        if p is None:
            return None
        return [pd.read_csv(p)[["Passengers"]].to_numpy(np.float64)], "MS"
    if name == "seattle_temps":
        return [pd.read_csv(TEST_DATA / "vega_seattle_temps" / "seattle-temps.csv")[["temp"]].to_numpy(np.float64)], "h"
    if name == "co2":
        co2 = pd.read_csv(TEST_DATA / "sm_co2" / "co2.csv")["co2"].interpolate(limit_direction="both")
        return [co2.to_numpy(np.float64)[:, None]], "W"
    raise ValueError(name)


# --- scalers, splits, windows ----------------------------------------------------------------------------


def stats(rows: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(center, scale)`` of a scaler of *kind* fitted on *rows* (NaN ignored), as scikit-learn does."""
    if kind == "standard":
        return np.nanmean(rows, axis=0), np.nanstd(rows, axis=0)
    if kind == "minmax":
        lo = np.nanmin(rows, axis=0)
        return lo, np.nanmax(rows, axis=0) - lo
    if kind == "robust":
        q1, med, q3 = np.nanpercentile(rows, [25, 50, 75], axis=0)
        return med, q3 - q1
    return np.zeros(rows.shape[1]), np.ones(rows.shape[1])


def _cuts(n: int, split: tuple[float, ...], gap: int) -> list[tuple[int, int]]:
    ends = [int(round(s * n)) for s in np.cumsum(split)]
    bounds, start = [], 0
    for e in ends:
        bounds.append((start, e))
        start = e + gap
    bounds.append((start, n))
    return bounds


def _windows(data: np.ndarray, targets: np.ndarray, lookback: int, horizon: int) -> np.ndarray:
    view = sliding_window_view(data, lookback, axis=0).transpose(0, 2, 1)
    return np.ascontiguousarray(view[targets - horizon - lookback + 1])


@dataclass
class _Plan:
    scaler: str
    fit: str  # "train", "all" or "part"
    split: tuple[float, ...]
    lookback: int
    horizon: int
    gap: int
    context: str  # "history" or "part"
    freq: str


def build_windows(series: list[np.ndarray], plan: _Plan) -> dict[str, dict[str, np.ndarray]]:
    """Split each series in time, scale (as *plan.fit* says), and window each part.

    Returns ``{part: {"X", "y", "time", "rows"}}`` with the series pooled; ``rows`` is the
    global index of each window's target row (series are laid end to end).
    """
    names = ("train", "val", "test")[: len(plan.split) + 1] if len(plan.split) == 2 else ("train", "test")
    bounds = [_cuts(len(s), plan.split, plan.gap) for s in series]
    if plan.fit == "all":
        fitted = {"all": stats(np.concatenate(series), plan.scaler)}
    else:
        fitted = {
            k: stats(np.concatenate([s[b[i][0] : b[i][1]] for s, b in zip(series, bounds, strict=True)]), plan.scaler)
            for i, k in enumerate(names)
        }
    out: dict[str, dict[str, list[np.ndarray]]] = {k: {"X": [], "y": [], "time": [], "rows": []} for k in names}
    offset = 0
    for s, b in zip(series, bounds, strict=True):
        for i, k in enumerate(names):
            center, scale = fitted["all"] if plan.fit == "all" else fitted["train" if plan.fit == "train" else k]
            scaled = (s - center) / np.where(scale > 0, scale, 1.0)
            lo, hi = b[i]
            first = lo + plan.lookback + plan.horizon - 1 if (plan.context == "part" or k == "train") else lo
            targets = np.arange(max(first, plan.lookback + plan.horizon - 1), hi)
            if plan.fit == "part" and plan.context == "history" and k != "train":
                # each part scaled alone: its windows' history rows come from the part before, scaled as it was
                prev = fitted[names[i - 1]]
                scaled = np.concatenate([(s[:lo] - prev[0]) / np.where(prev[1] > 0, prev[1], 1.0), scaled[lo:]])
            out[k]["X"].append(_windows(scaled, targets, plan.lookback, plan.horizon))
            out[k]["y"].append(scaled[targets, 0])
            out[k]["rows"].append(targets + offset)
            out[k]["time"].append(targets)  # the series of a panel run side by side in time
        offset += len(s) + 10 * plan.lookback  # rows of different series never coincide
    result = {}
    start = np.datetime64("2020-01-01T00:00")
    step = {"h": 1, "D": 24, "W": 168, "MS": 730}[plan.freq]
    for k, v in out.items():
        rows = np.concatenate(v["rows"])
        result[k] = {
            "X": np.concatenate(v["X"]),
            "y": np.concatenate(v["y"]),
            "time": start + np.concatenate(v["time"]).astype("timedelta64[h]") * step,
            "rows": rows,
        }
    return result


def _all_windows(series: list[np.ndarray], plan: _Plan) -> dict[str, np.ndarray]:
    """Every window of every series, the series scaled with the training rows' statistics (split later)."""
    train_rows = np.concatenate([s[: int(round(plan.split[0] * len(s)))] for s in series])
    center, scale = stats(train_rows, plan.scaler)
    X, y, rows, times, offset = [], [], [], [], 0
    for s in series:
        scaled = (s - center) / np.where(scale > 0, scale, 1.0)
        targets = np.arange(plan.lookback + plan.horizon - 1, len(s))
        X.append(_windows(scaled, targets, plan.lookback, plan.horizon))
        y.append(scaled[targets, 0])
        rows.append(targets + offset)
        times.append(targets)
        offset += len(s) + 10 * plan.lookback
    step = {"h": 1, "D": 24, "W": 168, "MS": 730}[plan.freq]
    r = np.concatenate(rows)
    return {
        "X": np.concatenate(X),
        "y": np.concatenate(y),
        "time": np.datetime64("2020-01-01T00:00") + np.concatenate(times).astype("timedelta64[h]") * step,
        "rows": r,
    }


def _take(d: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in d.items()}


def _leaky(leak: str, series: list[np.ndarray], plan: _Plan, rng: np.random.Generator) -> dict[str, dict]:
    """The parts of a case: an honest build, then the leak applied."""
    if leak == "shuffled_windows":
        pool = _all_windows(series, plan)
        idx = rng.permutation(len(pool["X"]))
        shares = np.cumsum(plan.split)
        cut = [int(round(s * len(idx))) for s in shares]
        pieces = np.split(idx, cut)
        names = ("train", "val", "test") if len(pieces) == 3 else ("train", "test")
        return {k: _take(pool, p) for k, p in zip(names, pieces, strict=True)}
    if leak == "nonfinite":
        series = [s.copy() for s in series]
        s = series[0]
        s[rng.choice(len(s), 3, replace=False), 0] = np.nan
    fit = {"scale_before_split": "all", "scale_per_part": "part"}.get(leak, "train")
    parts = build_windows(series, _Plan(**{**plan.__dict__, "fit": fit}))
    if leak == "target_in_input":
        for p in parts.values():
            p["y"] = p["X"][:, -1, 0].copy()
            p["time"] = p["time"] - np.timedelta64(1, "h")  # the target's time is the last input row's
    if leak == "duplicates":
        tr, te = parts["train"], parts["test"]
        copies = rng.choice(len(tr["X"]), max(3, len(te["X"]) // 20), replace=False)
        parts["test"] = {k: np.concatenate([te[k], tr[k][copies]]) for k in te}
    if leak == "chrono_overlap":
        # the training part runs past the start of the test part: its last windows are test windows
        tr, te = parts["train"], parts["test"]
        extra = np.arange(min(len(te["X"]) // 4, 200) + 1)
        parts["train"] = {k: np.concatenate([tr[k], te[k][extra]]) for k in tr}
    return parts


# --- the corpus ---------------------------------------------------------------------------------------


def _expect(leak: str, scaler: str, parts: str, with_y: bool, with_time: bool) -> tuple[set, set, set]:
    """(expect, allow, explain) for a case: what is visible in the arrays handed over."""
    expect: set[str] = set()
    allow: set[str] = set()
    explain: set[str] = set()
    if scaler == "none":
        allow.add("SCALE_DISPARITY")  # unscaled features of different magnitude are worth a warning
    code = LEAK_CODE.get(leak)
    if leak in ("scale_before_split", "scale_per_part"):
        if parts == "train_test_of_three" and leak == "scale_before_split":
            explain.add("SCALING_UNDECIDED")  # all parts together were scaled, but a part is missing
            allow.add(code)
        else:
            expect.add(code)
    elif leak == "target_in_input":
        if with_y:
            expect.add(code)
        else:
            explain.add("NOT_CHECKED")
    elif leak == "chrono_overlap":
        # the training part holds copies of test windows: duplicates and interleaving are true too
        expect.add(code if with_time else "DUPLICATE_SAMPLES")
        allow |= {"DUPLICATE_SAMPLES", "WINDOWS_SHUFFLED_ACROSS_SPLIT", "CHRONOLOGICAL_OVERLAP"}
    elif leak == "duplicates":
        expect.add(code)
        allow.add("CHRONOLOGICAL_OVERLAP" if with_time else code)  # the copies keep their training times
    elif leak == "shuffled_windows":
        expect.add(code)
        if with_time:
            expect.add("CHRONOLOGICAL_OVERLAP")
    elif code is not None:
        expect.add(code)
    return expect, allow, explain


def _case_args(parts: dict[str, dict], given: str, with_y: bool, with_time: bool) -> dict[str, Any]:
    names = ("train", "test") if given != "train_val_test" else ("train", "val", "test")
    args: dict[str, Any] = {f"X_{k}": parts[k]["X"] for k in names}
    if with_y:
        args.update({f"y_{k}": parts[k]["y"] for k in names})
    if with_time:
        args.update({f"time_{k}": parts[k]["time"] for k in names})
    return args


def _seed(*keys: object) -> int:
    return zlib.crc32("|".join(map(str, keys)).encode())


def _make_case(half: str, shape: str, leak: str, scaler: str, parts: str, load: Callable, seed: int) -> Case:
    rng = np.random.default_rng(_seed(half, shape, leak, scaler, parts, seed))
    with_y = bool(rng.integers(2)) or leak == "target_in_input" and bool(rng.integers(2))
    with_time = bool(rng.integers(2))
    freq_guess = "h" if shape in ("hourly", "long", "seattle_temps") else "D"
    lookback = int(rng.choice([6, 12] if shape in ("short", "airline") else [12, 24, 48]))
    horizon = int(rng.choice([1, 1, 3]))
    gap = int(rng.choice([0, 0, 5]))
    context = str(rng.choice(["history", "part"]))
    split = (0.8,) if parts == "train_test" else (0.7, 0.15)
    expect, allow, explain = _expect(leak, scaler, parts, with_y, with_time)

    def build() -> dict[str, Any]:
        series, freq = load()
        plan = _Plan(scaler, "train", split, lookback, horizon, gap, context, freq or freq_guess)
        built = _leaky(leak, series, plan, np.random.default_rng(seed))
        return _case_args(built, parts, with_y, with_time)

    given = f"y{int(with_y)}t{int(with_time)}"
    name = f"{half}/{shape}/{leak}/{scaler}/{parts}/{given}/L{lookback}h{horizon}g{gap}{context[0]}"
    return Case(
        name,
        half,
        leak,
        scaler,
        shape,
        parts,
        with_y,
        with_time,
        frozenset(expect),
        frozenset(allow),
        frozenset(explain),
        build,
    )


def _pipeline_cases(half: str) -> Iterator[Case]:
    """Honest arrays made by seqprep's own Pipeline (train/val/test, with y and target times)."""
    source = "weather" if half == "dev" else "seattle_temps"
    settings = [("standard", "history", 0), ("minmax", "part", 5), ("robust", "history", 3), ("none", "part", 0)]
    for scaler, context, gap in settings:

        def build(scaler: str = scaler, context: str = context, gap: int = gap) -> dict[str, Any]:
            from seqprep.pipeline import Pipeline

            if source == "weather":
                p = _shared("seattle-weather.csv")
                assert p is not None
                df = pd.read_csv(p, parse_dates=["date"]).drop(columns="weather")
                pipe = Pipeline(
                    lookback=14,
                    target="temp_max",
                    time="date",
                    split=(0.7, 0.15, 0.15),
                    gap=gap,
                    context=context,
                    scaler=scaler,
                )
            else:
                df = pd.read_csv(TEST_DATA / "vega_seattle_temps" / "seattle-temps.csv")
                df["date"] = pd.date_range("2010-01-01", periods=len(df), freq="h")
                pipe = Pipeline(
                    lookback=24,
                    target="temp",
                    time="date",
                    split=(0.7, 0.15, 0.15),
                    gap=gap,
                    context=context,
                    scaler=scaler,
                )
            fitted = pipe.fit(df)
            args: dict[str, Any] = {}
            for k in ("train", "val", "test"):
                part = getattr(fitted, k)
                X, y = part.to_numpy(max_bytes=10**9)
                args[f"X_{k}"], args[f"y_{k}"] = X, y
                args[f"time_{k}"] = part.provenance()["target_time"].to_numpy()
            return args

        allow = frozenset({"SCALE_DISPARITY"}) if scaler == "none" else frozenset()
        yield Case(
            f"{half}/pipeline_{source}/honest/{scaler}/train_val_test/y1t1/{context}g{gap}",
            half,
            "honest",
            scaler,
            f"pipeline_{source}",
            "train_val_test",
            True,
            True,
            frozenset(),
            allow,
            frozenset(),
            build,
        )


def _sgd_shuffled_cases(half: str, seed: int) -> Iterator[Case]:
    """Honest: chronological split, then the training windows alone shuffled for SGD."""
    for shape in ("ar", "hourly", "panel"):

        def build(shape: str = shape) -> dict[str, Any]:
            series, freq = synthetic(shape, seed)
            parts = build_windows(series, _Plan("standard", "train", (0.8,), 24, 1, 0, "history", freq))
            perm = np.random.default_rng(seed).permutation(len(parts["train"]["X"]))
            parts["train"] = _take(parts["train"], perm)
            return _case_args(parts, "train_test", True, True)

        yield Case(
            f"{half}/{shape}/honest/standard/train_test/y1t1/sgd_shuffled",
            half,
            "honest",
            "standard",
            shape,
            "train_test",
            True,
            True,
            frozenset(),
            frozenset(),
            frozenset(),
            build,
        )


def corpus(halves: tuple[str, ...] = ("dev", "held")) -> list[Case]:
    """Every case of the corpus, in a fixed order."""
    cases: list[Case] = []
    for half in halves:
        seed = 0 if half == "dev" else 1
        sources: list[tuple[str, Callable]] = [
            (shape, lambda shape=shape, seed=seed: synthetic(shape, seed)) for shape in SHAPES
        ]
        for name in REAL[half]:
            if real(name) is not None:
                sources.append((name, lambda name=name: real(name)))
        for shape, load in sources:
            for leak in LEAKS:
                for scaler in SCALERS:
                    if scaler == "none" and leak in ("scale_before_split", "scale_per_part"):
                        continue  # nothing was scaled: no scaling leak to make
                    for parts in PARTS:
                        cases.append(_make_case(half, shape, leak, scaler, parts, load, seed))
        cases += list(_pipeline_cases(half)) if half == "held" or _shared("seattle-weather.csv") else []
        cases += list(_sgd_shuffled_cases(half, seed))
    return cases


# --- scoring ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    reported: frozenset[str]  # codes reported as error or warning
    errors: frozenset[str]
    infos: frozenset[str]

    @property
    def false(self) -> frozenset[str]:
        """Codes reported (error or warning) that the case does not hold."""
        return self.reported - self.case.expect - self.case.allow

    @property
    def missed(self) -> frozenset[str]:
        return self.case.expect - self.reported

    @property
    def silent(self) -> bool:
        """A leaky case with no error, no warning and no explaining info: the audit said nothing."""
        if self.case.leak == "honest":
            return False
        return not self.reported and not (self.case.explain & self.infos)


def run_case(case: Case) -> Outcome:
    from seqprep.auditing import audit

    report = audit(**case.build())
    loud = frozenset(f.code for f in report.findings if f.severity in ("error", "warning"))
    errors = frozenset(f.code for f in report.errors)
    infos = frozenset(f.code for f in report.findings if f.severity == "info")
    return Outcome(case, loud, errors, infos)


def score(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Per code: true positives, false positives, false negatives (errors and warnings)."""
    table: dict[str, dict[str, int]] = {}
    for o in outcomes:
        for code in o.reported | o.case.expect:
            row = table.setdefault(code, {"tp": 0, "fp": 0, "fn": 0})
            if code in o.reported and code in o.case.expect | o.case.allow:
                row["tp"] += code in o.case.expect
            elif code in o.reported:
                row["fp"] += 1
            else:
                row["fn"] += 1
    return dict(sorted(table.items()))
