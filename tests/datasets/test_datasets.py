"""Tests of seqprep.datasets: the .ts reader, the embedded weather data and the generators."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seqprep.datasets as ds
from seqprep.datasets import (
    TSData,
    load_ts,
    load_ucr,
    load_weather,
    make_ar,
    make_classification_sines,
    make_panel,
    make_sine,
)
from seqprep.exceptions import DataError, DataWarning, InvalidParameterError

DATA = Path(__file__).parent / "data"


def _write(tmp_path: Path, text: str, name: str = "case.ts") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _simple_cases(path: Path) -> list[tuple[list[list[float]], str]]:
    """An independent, deliberately naive parse: (channels, label) per case line after @data."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data")
    cases = []
    for line in lines[start + 1 :]:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        values, label = line.rsplit(":", 1)
        channels = [[float("nan") if v == "?" else float(v) for v in ch.split(",")] for ch in values.split(":")]
        cases.append((channels, label))
    return cases


# --------------------------------------------------------------------------- real UCR/UEA files

REAL = [
    # name, split, n_cases, length, n_channels, labels
    ("GunPoint", "train", 50, 150, 1, {"1", "2"}),
    ("GunPoint", "test", 150, 150, 1, {"1", "2"}),
    ("ItalyPowerDemand", "train", 67, 24, 1, {"1", "2"}),
    ("ItalyPowerDemand", "test", 1029, 24, 1, {"1", "2"}),
    ("ArrowHead", "train", 36, 251, 1, {"0", "1", "2"}),
    ("ArrowHead", "test", 175, 251, 1, {"0", "1", "2"}),
    ("BasicMotions", "train", 40, 100, 6, {"Standing", "Running", "Walking", "Badminton"}),
    ("BasicMotions", "test", 40, 100, 6, {"Standing", "Running", "Walking", "Badminton"}),
]


@pytest.mark.parametrize(("name", "split", "n_cases", "length", "n_channels", "labels"), REAL)
def test_real_files_shapes_dtypes_labels(shared_data, name, split, n_cases, length, n_channels, labels):
    path = shared_data / "ucr" / name / f"{name}_{split.upper()}.ts"
    data = load_ts(path)
    assert isinstance(data, TSData)
    assert data.X.shape == (n_cases, length, n_channels)
    assert data.X.dtype == np.float32
    assert data.X.flags.c_contiguous
    assert not np.isnan(data.X).any()
    assert data.y.shape == (n_cases,)
    assert data.y.dtype.kind == "U"
    assert set(data.y.tolist()) == labels
    assert data.lengths.dtype == np.int64
    assert (data.lengths == length).all()
    assert data.metadata["problemName"] == name
    assert data.metadata["classLabel"] is True
    assert set(data.metadata["classLabels"]) == labels
    assert (data.n_cases, data.n_channels) == (n_cases, n_channels)


@pytest.mark.parametrize("name", ["GunPoint", "BasicMotions", "ArrowHead"])
def test_real_values_match_independent_parse(shared_data, name):
    path = shared_data / "ucr" / name / f"{name}_TRAIN.ts"
    data = load_ts(path)
    cases = _simple_cases(path)
    assert len(cases) == data.n_cases
    for i in (0, len(cases) // 2, len(cases) - 1):
        channels, label = cases[i]
        assert data.y[i] == label
        for c, values in enumerate(channels):
            np.testing.assert_array_equal(data.X[i, :, c], np.array(values, dtype=np.float32))
    assert data.y.tolist() == [label for _, label in cases]


def test_real_metadata(shared_data):
    data = load_ts(shared_data / "ucr" / "BasicMotions" / "BasicMotions_TRAIN.ts")
    assert data.metadata == {
        "problemName": "BasicMotions",
        "timeStamps": False,
        "missing": False,
        "univariate": False,
        "dimensions": 6,
        "equalLength": True,
        "seriesLength": 100,
        "classLabel": True,
        "classLabels": ["Standing", "Running", "Walking", "Badminton"],
    }


def test_load_ucr_with_root_and_env(shared_data, monkeypatch):
    direct = load_ts(shared_data / "ucr" / "ItalyPowerDemand" / "ItalyPowerDemand_TEST.ts")
    by_root = load_ucr("ItalyPowerDemand", split="test", root=shared_data / "ucr")
    np.testing.assert_array_equal(by_root.X, direct.X)
    np.testing.assert_array_equal(by_root.y, direct.y)
    # $SEQPREP_DATA may name the ucr folder or the folder above it; split is case-insensitive.
    monkeypatch.setenv("SEQPREP_DATA", str(shared_data))
    assert load_ucr("ItalyPowerDemand", split="TEST").X.shape == (1029, 24, 1)


# --------------------------------------------------------------------------- load_ucr lookup

TOY = "@problemName Toy\n@classLabel true a b\n@data\n1,2:a\n3,4:b\n"


def test_load_ucr_default_location_relative_to_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "shared" / "data" / "ucr" / "Toy"
    folder.mkdir(parents=True)
    (folder / "Toy_TRAIN.ts").write_text(TOY)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.delenv("SEQPREP_DATA", raising=False)
    data = load_ucr("Toy")
    assert data.X.shape == (2, 2, 1)
    assert data.y.tolist() == ["a", "b"]


def test_load_ucr_flat_folder(tmp_path):
    (tmp_path / "Toy_TEST.ts").write_text(TOY)
    assert load_ucr("Toy", "test", root=str(tmp_path)).n_cases == 2


def test_load_ucr_not_found_lists_places(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQPREP_DATA", str(tmp_path / "env"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"'Nope' \(train\) not found\. Looked in: .*Nope_TRAIN\.ts \(\$SEQPREP_DATA\)"):
        load_ucr("Nope")
    with pytest.raises(DataError, match=r"default \.\./shared/data/ucr"):
        load_ucr("Nope")
    with pytest.raises(DataError, match=r"root argument"):
        load_ucr("Nope", root=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "`name` must be a data set name"),
        ({"name": "a/b"}, "Use load_ts"),
        ({"name": 3}, "`name` must be"),
        ({"name": "Toy", "split": "valid"}, "`split` must be one of 'train', 'test'"),
        ({"name": "Toy", "split": 1}, "`split` must be"),
        ({"name": "Toy", "root": 5}, "`root` must be"),
    ],
)
def test_load_ucr_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        load_ucr(**kwargs)


# --------------------------------------------------------------------------- edge-case files


def test_unequal_length_padded_with_nan():
    data = load_ts(DATA / "unequal_length.ts")
    assert data.X.shape == (3, 5, 1)
    assert data.lengths.tolist() == [3, 5, 2]
    np.testing.assert_array_equal(data.X[0, :, 0], [1, 2, 3, np.nan, np.nan])
    np.testing.assert_array_equal(data.X[1, :, 0], [4.5, 5.5, 6.5, 7.5, 8.5])
    np.testing.assert_array_equal(data.X[2, :, 0], np.array([-1e-3, 200, np.nan, np.nan, np.nan], dtype=np.float32))
    assert data.y.tolist() == ["short", "long", "short"]
    assert data.metadata["equalLength"] is False


def test_missing_values_and_case_insensitive_headers():
    data = load_ts(DATA / "missing_values.ts")
    assert data.metadata["problemName"] == "MissingToy"
    assert data.metadata["missing"] is True
    assert data.metadata["seriesLength"] == 4
    assert data.metadata["classLabels"] == ["0", "1"]
    assert data.lengths.tolist() == [4, 4, 4]  # a '?' counts towards the length
    np.testing.assert_array_equal(data.X[:, :, 0], [[1, np.nan, 3, 4], [np.nan] * 4, [5, 6, 7, np.nan]])
    assert data.y.tolist() == ["0", "1", "1"]


def test_multivariate_unequal_channels():
    data = load_ts(DATA / "multivariate_unequal.ts")
    assert data.X.shape == (2, 4, 2)
    assert data.lengths.tolist() == [3, 4]  # the longest channel of each case
    np.testing.assert_array_equal(data.X[0], [[1, 10], [2, 20], [3, np.nan], [np.nan, np.nan]])
    np.testing.assert_array_equal(data.X[1], [[4, 40], [5, 50], [np.nan, 60], [np.nan, 70]])
    assert data.y.tolist() == ["walk", "run"]


def test_no_class_label_gives_y_none():
    data = load_ts(DATA / "no_label.ts")
    assert data.y is None
    assert data.metadata["classLabel"] is False
    assert data.metadata["classLabels"] == []
    assert data.X.shape == (2, 3, 2)
    np.testing.assert_array_equal(data.X[1], [[7, 10], [8, 11], [9, 12]])
    assert "y=None" in repr(data)


def test_regression_target_is_float():
    data = load_ts(DATA / "regression_target.ts")
    assert data.y.dtype == np.float64
    assert data.y.tolist() == [0.5, -1.25]
    assert "2 targets" in repr(data)


def test_tsdata_is_frozen_and_repr_short():
    data = load_ts(DATA / "unequal_length.ts")
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.X = None
    assert repr(data) == "TSData(problemName='UnequalToy', X=float32 (3, 5, 1), y=3 labels in 2 classes, lengths 2..5)"


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("bad_channel_count.ts", r"bad_channel_count\.ts, line 6: this case has 1 channel\(s\) but the first case "
         r"\(line 5\) has 2"),
        ("bad_label.ts", r"bad_label\.ts, line 5: class label 'c' is not one of the labels declared in "
         r"@classLabel: 'a', 'b'"),
        ("bad_value.ts", r"bad_value\.ts, line 5: channel 0 has the non-numeric value 'two' at position 1"),
        ("no_data.ts", r"no_data\.ts: no '@data' line found"),
        ("timestamps.ts", r"timestamps\.ts: timestamped \.ts files \(@timeStamps true\) are not supported"),
    ],
)
def test_malformed_files(name, match):
    with pytest.raises(DataError, match=match):
        load_ts(DATA / name)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("@classLabel true a\n1,2:a\n@data\n", r"line 2: expected a '#' comment or an '@' header before @data"),
        ("@classLabel true a\n@data\n1,2:a\n@missing true\n", r"line 4: header line '@missing true' after @data"),
        ("@classLabel true a\n@data\n\n# only comments\n", r"no cases after @data"),
        ("@univariate true\n@classLabel true a\n@data\n1,2:3,4:a\n", r"line 4: .*@univariate true but this case has 2"),
        ("@dimensions 3\n@classLabel false\n@data\n1:2\n", r"line 4: .*@dimensions 3 but this case has 2 channel"),
        ("@equalLength true\n@classLabel false\n@data\n1,2:3\n", r"line 4: .*@equalLength true but the channels"),
        ("@seriesLength 3\n@classLabel true a\n@data\n1,2,3:a\n1,2:a\n", r"line 5: .*@seriesLength 3 but channel 0"),
        ("@classLabel true a\n@data\n1,2,3\n", r"line 3: expected the values then ':' and the label"),
        ("@classLabel true a\n@data\n1,,3:a\n", r"line 3: channel 0 has an empty value at position 1"),
        ("@classLabel false\n@data\n1,2:3,x\n", r"line 3: channel 1 has the non-numeric value 'x' at position 1"),
        ("@univariate maybe\n@data\n1\n", r"line 1: header @univariate must be 'true' or 'false'\. Received: 'maybe'"),
        ("@seriesLength ten\n@data\n1\n", r"line 1: header @seriesLength must be a positive integer"),
        ("@classLabel\n@data\n1\n", r"line 1: header @classLabel must be 'true' followed by the labels"),
        ("@\n@data\n1\n", r"line 1: a header line must be '@name value'"),
        ("@classLabel true a\n@targetLabel true\n@data\n1:a\n", r"both @classLabel true and @targetLabel true"),
        ("@targetLabel true\n@data\n1,2:high\n", r"line 3: target 'high' is not a number"),
    ],
)
def test_malformed_text(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=match):
        load_ts(path)


def test_missing_false_but_missing_values_warns(tmp_path):
    path = _write(tmp_path, "@missing false\n@classLabel true a\n@data\n1,?,3:a\n")
    with pytest.warns(DataWarning, match=r"declares @missing false but has 1 missing value"):
        data = load_ts(path)
    assert np.isnan(data.X[0, 1, 0])


def test_labels_accepted_when_none_declared_and_unknown_headers_kept(tmp_path):
    text = "#c\n@classLabel true\n@myHeader some text\n@data\r\n1,2:x\r\n3,4:y\r\n"
    data = load_ts(_write(tmp_path, text))
    assert data.y.tolist() == ["x", "y"]
    assert data.metadata["myHeader"] == "some text"
    assert data.metadata["classLabels"] == []


def test_load_ts_path_errors(tmp_path):
    with pytest.raises(DataError, match=r"No \.ts file at '.*absent\.ts': the path does not exist"):
        load_ts(tmp_path / "absent.ts")
    with pytest.raises(DataError, match=r"is not a file"):
        load_ts(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"`path` must be a path"):
        load_ts(42)


# --------------------------------------------------------------------------- embedded weather data


def test_load_weather_frame():
    weather = load_weather()
    assert isinstance(weather, pd.DataFrame)
    assert weather.shape == (1461, 6)
    assert list(weather.columns) == ["date", "precipitation", "temp_max", "temp_min", "wind", "weather"]
    assert weather["date"].dtype == np.dtype("datetime64[ns]")
    assert weather["date"].iloc[0] == pd.Timestamp("2012-01-01")
    assert weather["date"].iloc[-1] == pd.Timestamp("2015-12-31")
    assert weather["date"].is_monotonic_increasing and weather["date"].is_unique
    for column in ("precipitation", "temp_max", "temp_min", "wind"):
        assert weather[column].dtype == np.float64
    assert pd.api.types.is_string_dtype(weather["weather"])
    assert set(weather["weather"]) == {"drizzle", "rain", "sun", "snow", "fog"}
    assert not weather.isna().any().any()
    assert weather.iloc[1].tolist()[1:] == [10.9, 10.6, 2.8, 4.5, "rain"]
    assert isinstance(weather.index, pd.RangeIndex)


def test_load_weather_dict():
    arrays = load_weather(as_frame=False)
    assert list(arrays) == ["date", "precipitation", "temp_max", "temp_min", "wind", "weather"]
    assert arrays["date"].dtype == np.dtype("datetime64[ns]")
    assert arrays["wind"].dtype == np.float64 and arrays["wind"].shape == (1461,)
    assert arrays["weather"].dtype == object and arrays["weather"][0] == "drizzle"
    with pytest.raises(InvalidParameterError, match=r"`as_frame` must be True or False"):
        load_weather(as_frame="yes")


def test_embedded_weather_is_unmodified_copy(shared_data):
    embedded = resources.files("seqprep.datasets").joinpath("data").joinpath("seattle-weather.csv").read_bytes()
    assert embedded == (shared_data / "forecasting" / "seattle-weather.csv").read_bytes()


def test_attribution_shipped():
    text = resources.files("seqprep.datasets").joinpath("data").joinpath("ATTRIBUTION.md").read_text("utf-8")
    for word in ("NOAA", "vega_datasets", "0.9.0", "BSD-3-Clause", "mm", "°C", "m/s", "1,461"):
        assert word in text


# --------------------------------------------------------------------------- generators


def test_make_sine_shapes_values_and_seed():
    X = make_sine(n=100, n_features=3, period=20, noise=0.1, seed=3)
    assert X.shape == (100, 3) and X.dtype == np.float64
    np.testing.assert_array_equal(X, make_sine(n=100, n_features=3, period=20, noise=0.1, seed=3))
    assert not np.array_equal(X, make_sine(n=100, n_features=3, period=20, noise=0.1, seed=4))
    clean = make_sine(n=8, n_features=2, period=8, noise=0.0)
    t = np.arange(8)
    np.testing.assert_allclose(clean[:, 0], np.sin(2 * np.pi * t / 8), atol=1e-12)
    np.testing.assert_allclose(clean[:, 1], np.sin(2 * np.pi * t / 8 + np.pi), atol=1e-12)
    assert make_sine().shape == (1000, 1)


def test_make_sine_frame():
    frame = make_sine(n=5, n_features=2, as_frame=True, seed=1)
    assert list(frame.columns) == ["time", "f0", "f1"]
    assert frame["time"].tolist() == list(pd.date_range("2000-01-01", periods=5, freq="D"))
    np.testing.assert_array_equal(frame[["f0", "f1"]].to_numpy(), make_sine(n=5, n_features=2, seed=1))


def test_generator_accepts_generator_seed():
    a = make_sine(n=10, seed=np.random.default_rng(7))
    b = make_sine(n=10, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_make_ar_properties():
    x = make_ar(20000, phi=(0.6, -0.2), noise=1.0, seed=0)
    assert x.shape == (20000, 1) and x.dtype == np.float64
    np.testing.assert_array_equal(x, make_ar(20000, seed=0))
    # Yule-Walker for AR(2): rho1 = phi1 / (1 - phi2) = 0.5.
    rho1 = np.corrcoef(x[1:, 0], x[:-1, 0])[0, 1]
    assert abs(rho1 - 0.5) < 0.03
    assert make_ar(3, phi=0.5, noise=0.0).tolist() == [[0.0], [0.0], [0.0]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "`n` must be a positive integer"),
        ({"n": 10, "phi": (1.0,)}, "`phi` must be the coefficients of a stationary AR process"),
        ({"n": 10, "phi": (0.5, 0.6)}, "stationary"),
        ({"n": 10, "phi": ()}, "`phi` must be a non-empty sequence"),
        ({"n": 10, "phi": "0.5"}, "`phi` must be a non-empty sequence"),
        ({"n": 10, "phi": (0.5, float("nan"))}, r"`phi\[1\]` must be a finite number"),
        ({"n": 10, "noise": -1.0}, "`noise` must be a number with 0.0 <= noise"),
        ({"n": 10, "seed": -1}, "`seed` must be an integer >= 0"),
        ({"n": 10, "seed": 1.5}, "`seed` must be"),
    ],
)
def test_make_ar_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_ar(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "`n` must be a positive integer"),
        ({"n": 2.5}, "`n` must be"),
        ({"n_features": 0}, "`n_features` must be a positive integer"),
        ({"period": 0}, "`period` must be a number with 0.0 < period"),
        ({"noise": -0.1}, "`noise` must be"),
        ({"as_frame": 1}, "`as_frame` must be True or False"),
        ({"seed": True}, "`seed` must be"),
    ],
)
def test_make_sine_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_sine(**kwargs)


def test_make_panel():
    panel = make_panel(n_series=4, length=30, n_features=2, seed=5)
    assert panel.shape == (120, 4)
    assert list(panel.columns) == ["series", "time", "f0", "f1"]
    assert panel["series"].dtype == np.int64
    assert panel["time"].dtype.kind == "M"
    assert panel[["f0", "f1"]].dtypes.tolist() == [np.float64, np.float64]
    assert panel["series"].tolist() == np.repeat(np.arange(4), 30).tolist()
    for _, group in panel.groupby("series"):
        assert group["time"].tolist() == list(pd.date_range("2000-01-01", periods=30, freq="D"))
    pd.testing.assert_frame_equal(panel, make_panel(4, 30, 2, seed=5))
    assert not panel.equals(make_panel(4, 30, 2, seed=6))
    # series differ from each other (own level, period, phase)
    assert panel.groupby("series")["f0"].mean().nunique() == 4
    with pytest.raises(InvalidParameterError, match="`n_series` must be a positive integer"):
        make_panel(0, 30, 2)
    with pytest.raises(InvalidParameterError, match="`length` must be"):
        make_panel(2, -1, 2)
    with pytest.raises(InvalidParameterError, match="`n_features` must be"):
        make_panel(2, 3, 0)


def test_make_classification_sines():
    X, y = make_classification_sines(n_samples=61, length=64, n_classes=3, n_channels=2, seed=0)
    assert X.shape == (61, 64, 2) and X.dtype == np.float32
    assert y.shape == (61,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [21, 20, 20]
    X2, y2 = make_classification_sines(61, 64, 3, 2, seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, make_classification_sines(61, 64, 3, 2, seed=1)[1])
    # The task is easy: the dominant frequency of each channel gives the class (2 * (k + 1) cycles).
    spectrum = np.abs(np.fft.rfft(X, axis=1))
    dominant = spectrum[:, 1:, :].argmax(axis=1) + 1
    assert (dominant == (2 * (y + 1))[:, None]).all()


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((1, 32), {}, r"`n_samples` must be an integer >= 2.*Use n_samples >= n_classes \(2\)"),
        ((10, 15), {}, r"`length` must be an integer >= 16"),
        ((10, 32), {"n_classes": 1}, "`n_classes` must be an integer >= 2"),
        ((10, 32), {"n_channels": 0}, "`n_channels` must be a positive integer"),
        ((10, 32), {"noise": float("inf")}, "`noise` must be a finite number"),
    ],
)
def test_make_classification_sines_bad_arguments(args, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_classification_sines(*args, **kwargs)


# --------------------------------------------------------------------------- module surface


def test_public_names():
    assert sorted(ds.__all__) == sorted(
        [
            "TSData",
            "load_ts",
            "load_tsf",
            "load_ucr",
            "load_weather",
            "make_ar",
            "make_classification_sines",
            "make_panel",
            "make_sine",
        ]
    )
    for name in ds.__all__:
        assert getattr(ds, name).__doc__


def test_import_is_light():
    code = (
        "import sys, seqprep.datasets; "
        "heavy = [m for m in ('torch', 'keras', 'matplotlib', 'scipy', 'sklearn') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "bom.ts"
    path.write_bytes(b"\xef\xbb\xbf# exported on Windows\r\n@classLabel true a b\r\n@data\r\n1,2:a\r\n3,4:b\r\n")
    data = load_ts(path)
    np.testing.assert_array_equal(data.X[:, :, 0], [[1, 2], [3, 4]])
    assert data.y.tolist() == ["a", "b"]
