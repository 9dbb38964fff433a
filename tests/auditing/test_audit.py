"""seqprep.audit: a corpus of leaky array sets (each must raise its finding) and of honest
pipelines built with plain numpy (each must come out with no warning and no error)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from seqprep.auditing import AuditReport, Finding, audit, check_data
from seqprep.auditing import _checks as _audit_checks
from seqprep.exceptions import DataError, InvalidParameterError, LeakageError, ShapeError

# --- realistic series ---------------------------------------------------------------------------------


def ar_series(n: int, n_features: int = 1, phi: float = 0.9, seed: int = 0) -> np.ndarray:
    """AR(1) processes with a mild trend and a daily-like cycle, one column per feature."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(n, n_features))
    out = np.empty_like(noise)
    out[0] = noise[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + noise[i]
    t = np.arange(n)[:, None]
    return out + 0.002 * t * (1 + np.arange(n_features)) + 2 * np.sin(2 * np.pi * t / 24 + np.arange(n_features))


def sine_trend(n: int, n_features: int = 3, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    periods = np.array([24.0, 168.0, 50.0, 12.0])[:n_features]
    scales = np.array([1.0, 10.0, 100.0, 0.1])[:n_features]
    return scales * (np.sin(2 * np.pi * t / periods) + t / n + 0.1 * rng.normal(size=(n, n_features)))


def weather(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "forecasting" / "seattle-weather.csv", parse_dates=["date"])


WEATHER_COLS = ["precipitation", "temp_max", "temp_min", "wind"]


# --- an honest pipeline, written independently of seqprep ------------------------------------------


def scale_with(train_rows: np.ndarray, data: np.ndarray, kind: str) -> np.ndarray:
    if kind == "standard":
        return (data - train_rows.mean(axis=0)) / train_rows.std(axis=0)
    lo, hi = train_rows.min(axis=0), train_rows.max(axis=0)
    return (data - lo) / (hi - lo)


def windows_for(data: np.ndarray, targets: np.ndarray, lookback: int, horizon: int, target: int):
    """Windows whose targets are the rows *targets*; inputs end ``horizon`` rows before."""
    view = sliding_window_view(data, lookback, axis=0).transpose(0, 2, 1)  # (n - L + 1, L, C)
    starts = targets - horizon - lookback + 1
    return np.ascontiguousarray(view[starts]), data[targets, target].copy(), targets.copy()


def honest_windows(
    data: np.ndarray,
    lookback: int,
    split: tuple[float, ...],
    *,
    horizon: int = 1,
    gap: int = 0,
    context: str = "history",
    kind: str = "standard",
    target: int = 0,
):
    """Chronological split -> scaler fitted on train rows -> windows inside each part.

    ``split`` holds the train share and optionally the val share; the rest is test.
    Parts are separated by ``gap`` rows that belong to no part. With
    ``context="history"`` the windows of val/test take their inputs from before the
    part; with ``context="part"`` every window lies inside its part.
    Returns {part: (X, y, target_rows)}.
    """
    n = len(data)
    cuts = [int(round(s * n)) for s in np.cumsum(split)]
    bounds, start = [], 0
    for c in cuts:
        bounds.append((start, c))
        start = c + gap
    bounds.append((start, n))
    scaled = scale_with(data[: bounds[0][1]], data, kind)
    names = ["train", "val", "test"] if len(bounds) == 3 else ["train", "test"]
    out = {}
    for name, (s, e) in zip(names, bounds, strict=True):
        first = s + lookback + horizon - 1 if (context == "part" or name == "train") else s
        out[name] = windows_for(scaled, np.arange(first, e), lookback, horizon, target)
    return out


def run_audit(parts, **kw) -> AuditReport:
    args = {f"X_{k}": v[0] for k, v in parts.items()}
    args.update({f"y_{k}": v[1] for k, v in parts.items()})
    args.update({f"time_{k}": v[2] for k, v in parts.items()})
    return audit(**args, **kw)


def assert_clean(report: AuditReport) -> None:
    assert report.ok, str(report)
    assert not report.errors and not report.warnings


# --- clean, honest pipelines: no warning and no error ------------------------------------------------

CLEAN_CASES = {
    "ar_univariate_standard_history_gap0": dict(data=("ar", 3000, 1), lookback=24, split=(0.8,)),
    "sine_multivariate_minmax_part_gap5": dict(
        data=("sine", 3000, 3), lookback=24, split=(0.7, 0.15), context="part", kind="minmax", gap=5
    ),
    "ar_multivariate_standard_history_gap10_val": dict(
        data=("ar", 4000, 3), lookback=48, split=(0.7, 0.15), gap=10, horizon=3
    ),
    "sine_univariate_minmax_history_gap3_val": dict(
        data=("sine", 2500, 1), lookback=16, split=(0.6, 0.2), gap=3, kind="minmax"
    ),
    "ar_multivariate_standard_part_gap0_h6": dict(
        data=("ar", 3000, 2), lookback=12, split=(0.75,), context="part", horizon=6
    ),
}


def _make(spec):
    kind, n, c = spec
    return ar_series(n, c) if kind == "ar" else sine_trend(n, c)


@pytest.mark.parametrize("name", sorted(CLEAN_CASES))
def test_clean_synthetic(name):
    spec = dict(CLEAN_CASES[name])
    data = _make(spec.pop("data"))
    report = run_audit(honest_windows(data, **spec))
    assert_clean(report)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lookback=14, split=(0.7, 0.15), kind="standard", context="history", gap=0),
        dict(lookback=7, split=(0.8,), kind="minmax", context="part", gap=7),
    ],
    ids=["weather_standard_history_val", "weather_minmax_part_gap7"],
)
def test_clean_weather(shared_data, kwargs):
    data = weather(shared_data)[WEATHER_COLS].to_numpy()
    report = run_audit(honest_windows(data, target=1, **kwargs), feature_names=WEATHER_COLS)
    assert_clean(report)


def test_clean_weather_rows_with_natural_repeats(shared_data):
    # the weather table holds days with identical coarse readings: repeats across parts are info only
    data = weather(shared_data)[WEATHER_COLS].to_numpy()
    scaled = scale_with(data[:1000], data, "standard")
    perm = np.random.default_rng(0).permutation(1000)  # rows of the training part shuffled for SGD
    report = audit(scaled[:1000][perm], scaled[1000:], feature_names=WEATHER_COLS)
    assert_clean(report)
    shuffled = np.random.default_rng(0).permutation(len(data))  # a random split: repeats are natural too
    report = audit(scaled[shuffled[:1100]], scaled[shuffled[1100:]])
    assert "DUPLICATE_SAMPLES" not in report.codes and "REPEATED_SAMPLES" in report.codes


def test_clean_tabular_rows():
    data = sine_trend(2000, 3)
    scaled = scale_with(data[:1500], data, "standard")
    report = audit(scaled[:1500], scaled[1500:], time_train=np.arange(1500), time_test=np.arange(1500, 2000))
    assert_clean(report)


def test_clean_when_training_windows_are_shuffled_for_sgd():
    parts = honest_windows(ar_series(3000, 2), 24, (0.8,))
    perm = np.random.default_rng(3).permutation(len(parts["train"][0]))
    parts["train"] = tuple(a[perm] for a in parts["train"])
    report = run_audit(parts)
    assert_clean(report)
    assert "BOUNDARY_OVERLAP" in report.codes  # history context shares inputs at the boundary


def test_clean_nct_layout():
    parts = honest_windows(sine_trend(2000, 3), 20, (0.8,))
    report = audit(parts["train"][0].transpose(0, 2, 1), parts["test"][0].transpose(0, 2, 1), layout="NCT")
    assert_clean(report)


# --- the leaky corpus: each case must raise its finding ----------------------------------------------


def codes_of(report: AuditReport, severity: str = "error") -> set[str]:
    return {f.code for f in report.findings if f.severity == severity}


def test_standardize_train_and_test_each_with_own_mean_and_std_rows():
    data = sine_trend(1000, 3)
    train, test = data[:800], data[800:]
    train = (train - train.mean(axis=0)) / train.std(axis=0)
    test = (test - test.mean(axis=0)) / test.std(axis=0)
    report = audit(train, test)
    assert codes_of(report) == {"SCALED_PER_PART"}
    f = report.errors[0]
    assert f.evidence["scaling"] == "standard" and f.evidence["deviation_test"] < 1e-9


def test_standardize_each_part_on_its_own_windows():
    data = ar_series(3000, 2)
    parts = {}
    for name, (s, e) in {"train": (0, 2400), "test": (2400, 3000)}.items():
        rows = data[s:e]
        scaled = (rows - rows.mean(axis=0)) / rows.std(axis=0)
        parts[name] = windows_for(scaled, np.arange(24, e - s), 24, 1, 0)
    report = run_audit(parts)
    assert "SCALED_PER_PART" in codes_of(report)


def test_minmax_each_part_on_its_own_with_val():
    data = sine_trend(3000, 3)
    parts = {}
    for name, (s, e) in {"train": (0, 2000), "val": (2000, 2500), "test": (2500, 3000)}.items():
        rows = data[s:e]
        scaled = (rows - rows.min(axis=0)) / (rows.max(axis=0) - rows.min(axis=0))
        parts[name] = windows_for(scaled, np.arange(16, e - s), 16, 1, 0)
    report = run_audit(parts)
    finding = next(f for f in report.errors if f.code == "SCALED_PER_PART")
    assert finding.evidence["scaling"] == "minmax"
    assert "deviation_val" in finding.evidence and "deviation_test" in finding.evidence


def test_scaled_before_split_windows():
    data = sine_trend(3000, 3)
    scaled = (data - data.mean(axis=0)) / data.std(axis=0)  # fitted on every row
    parts = {
        "train": windows_for(scaled, np.arange(24, 2400), 24, 1, 0),
        "test": windows_for(scaled, np.arange(2400, 3000), 24, 1, 0),
    }
    report = run_audit(parts)
    assert codes_of(report) == {"SCALED_BEFORE_SPLIT"}


def test_scaled_before_split_minmax_rows():
    data = sine_trend(1000, 2)
    scaled = (data - data.min(axis=0)) / (data.max(axis=0) - data.min(axis=0))
    report = audit(scaled[:700], scaled[850:], X_val=scaled[700:850])
    assert codes_of(report) == {"SCALED_BEFORE_SPLIT"}
    assert report.errors[0].evidence["scaling"] == "minmax"


def test_sklearn_scaler_fitted_on_all_weather_rows(shared_data):
    from sklearn.preprocessing import StandardScaler

    data = weather(shared_data)[WEATHER_COLS].to_numpy()
    scaled = StandardScaler().fit_transform(data)
    parts = {
        "train": windows_for(scaled, np.arange(14, 1100), 14, 1, 1),
        "val": windows_for(scaled, np.arange(1100, 1280), 14, 1, 1),
        "test": windows_for(scaled, np.arange(1280, len(data)), 14, 1, 1),
    }
    report = run_audit(parts, feature_names=WEATHER_COLS)
    assert codes_of(report) == {"SCALED_BEFORE_SPLIT"}


def test_scaled_before_split_recovered_from_raw():
    data = ar_series(1200, 2)
    scaled = (data - data.mean(axis=0)) / data.std(axis=0)
    report = audit(scaled[:1000], scaled[1000:], raw=data)
    assert "SCALED_BEFORE_SPLIT" in codes_of(report)
    honest = scale_with(data[:1000], data, "standard")
    assert_clean(audit(honest[:1000], honest[1000:], raw=data))


def _all_windows(data, lookback=24):
    scaled = scale_with(data[: int(0.8 * len(data))], data, "standard")
    return windows_for(scaled, np.arange(lookback, len(data)), lookback, 1, 0)


def test_windows_shuffled_with_train_test_split():
    from sklearn.model_selection import train_test_split

    X, y, rows = _all_windows(ar_series(3000, 2))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, shuffle=True, random_state=0)
    report = audit(X_tr, X_te, y_train=y_tr, y_test=y_te)
    assert "WINDOWS_SHUFFLED_ACROSS_SPLIT" in codes_of(report)
    f = next(f for f in report.errors if f.code == "WINDOWS_SHUFFLED_ACROSS_SPLIT")
    assert f.evidence["share_sharing_rows"] > 0.99
    assert f.evidence["order_rebuilt"] and f.evidence["extra_runs_in_time_order"] > 100


def test_windows_shuffled_three_ways_with_stride_2():
    from sklearn.model_selection import train_test_split

    X, _, _ = _all_windows(sine_trend(4000, 3), lookback=32)
    X = X[::2]  # stride 2
    X_tr, X_rest = train_test_split(X, test_size=0.3, random_state=1)
    X_va, X_te = train_test_split(X_rest, test_size=0.5, random_state=2)
    report = audit(X_tr, X_te, X_val=X_va)
    f = next(f for f in report.errors if f.code == "WINDOWS_SHUFFLED_ACROSS_SPLIT")
    assert f.evidence["stride"] == 2


def test_target_is_the_last_input_row():
    data = ar_series(2000, 3)
    scaled = scale_with(data[:1600], data, "standard")
    parts = {
        "train": windows_for(scaled, np.arange(23, 1600), 24, 0, 2),  # horizon 0: y inside the window
        "test": windows_for(scaled, np.arange(1600, 2000), 24, 0, 2),
    }
    report = run_audit(parts)
    f = next(f for f in report.errors if f.code == "TARGET_IN_INPUT")
    assert f.evidence["feature_index"] == 2 and f.evidence["steps_from_end"] == 0
    assert f.evidence["share"] == 1.0


def test_target_is_a_column_of_tabular_rows():
    data = sine_trend(1000, 3)
    scaled = scale_with(data[:800], data, "standard")
    report = audit(scaled[:800], scaled[800:], y_train=scaled[:800, 1], feature_names=["a", "b", "c"])
    f = next(f for f in report.errors if f.code == "TARGET_IN_INPUT")
    assert f.evidence["feature"] == "b"


def test_chronological_overlap_from_timestamps():
    data = ar_series(2000, 2)
    scaled = scale_with(data[:1600], data, "standard")
    X, y, rows = windows_for(scaled, np.arange(24, 2000, 24), 24, 1, 0)  # non-overlapping windows
    perm = np.random.default_rng(0).permutation(len(X))
    tr, te = perm[:60], perm[60:]
    times = pd.date_range("2020-01-01", periods=2000, freq="h").to_numpy()[rows]
    report = audit(X[tr], X[te], time_train=times[tr], time_test=times[te])
    f = next(f for f in report.errors if f.code == "CHRONOLOGICAL_OVERLAP")
    assert f.evidence["samples_at_or_after"] > 10


def test_duplicate_samples_across_parts():
    data = sine_trend(1000, 3)
    scaled = scale_with(data[:800], data, "standard")
    train = np.concatenate([scaled[:800], scaled[900:950]])  # 50 test rows copied into train
    report = audit(train, scaled[800:])
    f = next(f for f in report.errors if f.code == "DUPLICATE_SAMPLES")
    assert f.evidence["count"] == 50 and f.evidence["share"] == pytest.approx(0.25)


def test_rain_next_to_pressure_is_flagged(shared_data):
    df = weather(shared_data)
    rain = df["precipitation"].to_numpy()
    pressure = 1013 + 8 * np.sin(np.arange(len(df)) / 9)  # hPa
    X = np.column_stack([rain, pressure, df["temp_max"].to_numpy()])
    report = audit(X[:1100], X[1100:], feature_names=["rain_mm", "pressure_hpa", "temp_c"])
    f = next(f for f in report.warnings if f.code == "SCALE_DISPARITY")
    assert f.evidence["largest"] == "pressure_hpa" and f.evidence["smallest"] == "rain_mm"
    assert f.evidence["ratio"] > 100
    # temperature in degrees C next to rain in mm is ~3-fold: not flagged
    assert "SCALE_DISPARITY" not in audit(X[:1100][:, [0, 2]], X[1100:][:, [0, 2]]).codes


def test_constant_feature():
    parts = honest_windows(sine_trend(1500, 2), 12, (0.8,))
    X_tr, X_te = parts["train"][0].copy(), parts["test"][0].copy()
    X_tr = np.concatenate([X_tr, np.zeros(X_tr.shape[:2] + (1,))], axis=2)
    X_te = np.concatenate([X_te, np.zeros(X_te.shape[:2] + (1,))], axis=2)
    report = audit(X_tr, X_te, feature_names=["a", "b", "flag"])
    f = next(f for f in report.warnings if f.code == "CONSTANT_FEATURE")
    assert f.evidence["features"] == ["flag"]
    assert not report.errors


def test_nonfinite_values():
    parts = honest_windows(ar_series(1500, 2), 12, (0.8,))
    X_te = parts["test"][0].copy()
    X_te[3, 5, 1] = np.nan
    X_te[7, 0, 1] = np.inf
    report = audit(parts["train"][0], X_te, feature_names=["a", "b"])
    f = next(f for f in report.errors if f.code == "NONFINITE")
    assert f.evidence == {"X_test[b]": 2}


def test_strict_raises_leakage_error():
    data = sine_trend(500, 2)
    scaled = (data - data.mean(axis=0)) / data.std(axis=0)
    with pytest.raises(LeakageError, match="SCALED_BEFORE_SPLIT"):
        audit(scaled[:400], scaled[400:], strict=True)


# --- report object, validation, vectorization ---------------------------------------------------------


def test_report_serializes_and_prints():
    data = sine_trend(500, 2)
    scaled = (data - data.mean(axis=0)) / data.std(axis=0)
    report = audit(scaled[:400], scaled[400:])
    d = json.loads(report.to_json())
    assert d["n_errors"] == 1 and d["findings"][0]["code"] == "SCALED_BEFORE_SPLIT"
    text = str(report)
    assert "SCALED_BEFORE_SPLIT" in text and "fix:" in text and "evidence:" in text
    assert str(AuditReport()).endswith("No findings.")
    with pytest.raises(LeakageError, match="1 error"):
        report.raise_if_errors()
    assert Finding("X", "info", "t").to_dict()["evidence"] == {}


def test_invalid_inputs():
    X = np.zeros((10, 4, 2))
    with pytest.raises(ShapeError, match="same shape per sample"):
        audit(X, np.zeros((10, 5, 2)))
    with pytest.raises(ShapeError, match="2-D .* or 3-D"):
        audit(np.zeros(10), np.zeros(10))
    with pytest.raises(InvalidParameterError, match="`layout` must be one of"):
        audit(X, X, layout="TNC")
    with pytest.raises(InvalidParameterError, match="feature_names"):
        audit(X, X, feature_names=["a"])
    with pytest.raises(ShapeError, match="one entry per sample"):
        audit(X, X, y_train=np.zeros(3))
    with pytest.raises(DataError, match="must hold numbers"):
        audit(np.array([["a", "b"]]), np.array([["c", "d"]]))
    with pytest.raises(InvalidParameterError, match="strict"):
        audit(X, X, strict=1)


def test_rebuild_order_recovers_a_permutation():
    rows = np.arange(5000)
    ids = sliding_window_view(rows, 10)  # window i holds rows i..i+9
    perm = np.random.default_rng(0).permutation(len(ids))
    order = _audit_checks.rebuild_order(np.ascontiguousarray(ids[perm]))
    assert order.stride == 1 and (order.chain == order.chain[0]).all()
    assert np.array_equal(order.position, perm)


def test_large_audit_is_vectorized():
    # 100 000 windows of 32 x 4 audit in well under a few seconds (no per-window Python loop)
    data = np.random.default_rng(0).normal(size=(100_031, 4)).astype(np.float32)
    X = sliding_window_view(data, 32, axis=0).transpose(0, 2, 1)
    report = audit(X[:80_000], X[80_000:])
    assert "WINDOWS_SHUFFLED_ACROSS_SPLIT" not in report.codes


# --- check_data -------------------------------------------------------------------------------------


def test_check_data_weather_csv(shared_data):
    report = check_data(shared_data / "forecasting" / "seattle-weather.csv", time="date")
    assert codes_of(report, "warning") == {"NON_NUMERIC"}
    assert not report.errors


def test_check_data_finds_time_problems(tmp_path):
    df = pd.DataFrame(
        {
            "id": ["a"] * 5 + ["b"] * 4,
            "t": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-05", "2024-01-06"]
                + ["2024-01-03", "2024-01-02", "2024-01-04", "2024-01-05"]
            ),
            "x": [1.0, np.nan, 3, 4, 5, 6, 7, 8, np.inf],
            "c": [1.0] * 9,
        }
    )
    report = check_data(df, time="t", group="id")
    by = {f.code: f for f in report.findings}
    assert by["DUPLICATE_TIMESTAMPS"].evidence["first_row"] == 2
    assert by["UNSORTED_TIME"].evidence["first_row"] == 6
    assert by["NONFINITE"].evidence == {"x": 2, "first_row": 1}
    assert by["CONSTANT_FEATURE"].evidence["features"] == ["c"]
    path = tmp_path / "d.parquet"
    df.sort_values(["id", "t"]).drop_duplicates(["id", "t"]).to_parquet(path)
    report = check_data(str(path), time="t", group="id")
    gaps = next(f for f in report.findings if f.code == "TIME_GAPS")
    assert gaps.evidence["gaps"] == 1 and gaps.evidence["missing_steps"] == 2


def test_check_data_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        check_data(tmp_path / "nope.csv")
    with pytest.raises(InvalidParameterError, match="`time` names a column that does not exist"):
        check_data(pd.DataFrame({"a": [1.0]}), time="date")
    with pytest.raises(InvalidParameterError, match="df_or_path"):
        check_data(42)


# --- clean cases made by seqprep's own Pipeline -------------------------------------------------------


@pytest.mark.parametrize(
    "context, scaler, gap", [("history", "standard", 0), ("part", "minmax", 5), ("history", "minmax", 3)]
)
def test_clean_seqprep_pipeline(shared_data, context, scaler, gap):
    pipeline = pytest.importorskip("seqprep.pipeline")
    df = weather(shared_data).drop(columns="weather")
    pipe = pipeline.Pipeline(
        lookback=14, target="temp_max", time="date", split=(0.7, 0.15, 0.15), gap=gap, context=context, scaler=scaler
    )
    parts = pipe.fit(df)
    arrays = {name: getattr(parts, name).to_numpy(max_bytes=10**9) for name in ("train", "val", "test")}
    times = {name: getattr(parts, name).provenance()["target_time"].to_numpy() for name in arrays}
    report = audit(
        arrays["train"][0],
        arrays["test"][0],
        X_val=arrays["val"][0],
        **{f"y_{k}": v[1] for k, v in arrays.items()},
        **{f"time_{k}": v for k, v in times.items()},
    )
    assert_clean(report)
    assert ("BOUNDARY_OVERLAP" in report.codes) == (context == "history")  # inputs shared at the cut
