"""predict_cases / ``seqprep predict`` on a case run: new cases go through what the run's test cases went through."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep.cli import cli
from seqprep.datasets import make_classification_sines
from seqprep.exceptions import DataError, SeqprepError
from seqprep.runs import predict_cases, run_classification, run_regression


def _unequal(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification_sines(n, 40, seed=seed)
    X = np.asarray(X, dtype=np.float64)
    lengths = np.random.default_rng(seed).integers(25, 41, n)
    X[np.arange(40)[None, :] >= lengths[:, None]] = np.nan
    return X, y


@pytest.mark.parametrize("settings", [
    {},  # instance normalization, masks
    {"normalization": "global"},
    {"variable_length": "resample"},
    {"compute_plan": {"max_length": 16, "budget": None}},  # pooled by 3 before anything else
    {"model_config": {"type": "minirocket"}},
])
def test_new_cases_get_the_runs_own_test_predictions(tmp_path, settings):
    X, y = _unequal(60, 0)
    run = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 1},
                             out_dir=tmp_path / "run", **settings)
    table = predict_cases(tmp_path / "run", (X[40:], y[40:]))
    saved = pd.read_csv(tmp_path / "run" / "predictions.csv")
    np.testing.assert_array_equal(table["prediction"].astype(str), saved["cnn_lstm"].astype(str))
    np.testing.assert_array_equal(table["y_true"].astype(str), np.asarray(y[40:]).astype(str))
    assert run.metrics["cnn_lstm"]["accuracy"] == pytest.approx(
        float((table["prediction"].astype(str) == table["y_true"].astype(str)).mean()))
    # unlabelled cases, shorter than the run's: predicted, no y_true
    short = predict_cases(tmp_path / "run", (X[40:45, :30], None))
    assert list(short.columns) == ["case", "prediction"] and len(short) == 5


def test_regression_run_predicts_values_in_the_targets_units(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 24, 1))
    y = 100 + 10 * X[:, :, 0].std(axis=1)
    run_regression((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 1},
                   out_dir=tmp_path / "run")
    table = predict_cases(tmp_path / "run", (X[40:], y[40:]))
    saved = pd.read_csv(tmp_path / "run" / "predictions.csv")
    np.testing.assert_allclose(table["prediction"], saved["cnn_lstm"], rtol=1e-5)


def test_bad_new_cases_are_refused(tmp_path):
    X, y = _unequal(50, 1)
    run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 1},
                       out_dir=tmp_path / "run")
    with pytest.raises(DataError, match="channel"):
        predict_cases(tmp_path / "run", (np.zeros((2, 40, 2)), None))
    with pytest.raises(DataError, match="longer than the 40"):
        predict_cases(tmp_path / "run", (np.zeros((2, 50, 1)), None))
    with pytest.raises(SeqprepError, match="data"):
        predict_cases(tmp_path / "run", "cases.ts")
    # rows of a forecasting file read as one-step "cases": shorter than any training case, refused
    with pytest.raises(DataError, match=r"case 0 has 1 step\(s\); the run's training cases had \d+ to 40 steps"):
        predict_cases(tmp_path / "run", (np.ones((3, 1, 1)), None))
    with pytest.raises(DataError, match="none of the file's labels"):
        predict_cases(tmp_path / "run", (X[40:42], np.array(["1949-01", "1949-02"])))


def test_cli_predict_refuses_a_forecasting_csv_for_a_classifier(tmp_path):
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data"
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--train", str(data / "ucr_unittest_chinatown" / "UnitTest_TRAIN.ts"),
                                      "--test", str(data / "ucr_unittest_chinatown" / "UnitTest_TEST.ts"),
                                      "--model", "minirocket", "--out", str(run)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(cli, ["predict", str(run), "--data", str(data / "airline" / "Airline.csv"),
                                      "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert "training cases had 24 steps" in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_predict_classifies_a_ts_file_and_refuses_a_forecast_run_for_cases(tmp_path):
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "ucr_unittest_chinatown"
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--train", str(data / "UnitTest_TRAIN.ts"), "--test",
                                      str(data / "UnitTest_TEST.ts"), "--model", "minirocket", "--out", str(run)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "pred.csv"
    result = CliRunner().invoke(cli, ["predict", str(run), "--data", str(data / "UnitTest_TEST.ts"), "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    saved = pd.read_csv(run / "predictions.csv")
    assert (table["prediction"].astype(str) == saved["cnn_lstm"].astype(str)).all()
    assert "accuracy against the file's labels" in result.output
    # an unlabelled .ts file
    text = (data / "UnitTest_TEST.ts").read_text().splitlines()
    body = [ln.rsplit(":", 1)[0] if not ln.startswith(("@", "#")) and ln.strip() else ln for ln in text]
    body = ["@classLabel false" if ln.lower().startswith("@classlabel") else ln for ln in body]
    unlabelled = tmp_path / "new.ts"
    unlabelled.write_text("\n".join(body) + "\n")
    result = CliRunner().invoke(cli, ["predict", str(run), "--data", str(unlabelled), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out).columns) == ["case", "prediction"] and "accuracy" not in result.output
    # garbage in: one line, exit 2, nothing written
    bad = tmp_path / "bad.ts"
    bad.write_text("not a ts file\n")
    out2 = tmp_path / "p2.csv"
    result = CliRunner().invoke(cli, ["predict", str(run), "--data", str(bad), "--out", str(out2)])
    assert result.exit_code == 2 and not out2.exists()
