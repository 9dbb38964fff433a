"""Every case run scores MiniRocket on the same cases, and says what it means when MiniRocket wins."""

from __future__ import annotations

import numpy as np

from seqprep.datasets import make_classification_sines
from seqprep.runs import run_classification, run_regression
from seqprep.runs.verdict import compare_to_baselines


def test_classification_run_scores_minirocket_on_the_same_cases(tmp_path):
    X, y = make_classification_sines(60, 32, seed=0)
    res = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 1},
                             out_dir=tmp_path / "run")
    assert "minirocket" in res.metrics and 0 <= res.metrics["minirocket"]["accuracy"] <= 1
    table = (tmp_path / "run" / "predictions.csv").read_text().splitlines()[0].split(",")
    assert "minirocket" in table
    # the same seed gives the same baseline; the baseline reads the run's seed
    again = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 1})
    assert again.metrics["minirocket"] == res.metrics["minirocket"]


def test_minirocket_is_fitted_on_a_stratified_sample_above_its_case_limit(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from seqprep.cli import cli
    from seqprep.runs._classify import sample_cases
    from seqprep.training import baselines

    monkeypatch.setattr(baselines, "MINIROCKET_MAX_CASES", 12)
    X, y = make_classification_sines(60, 32, seed=0)
    res = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 1},
                             out_dir=tmp_path / "run")
    assert "minirocket" in res.metrics
    assert "stratified sample of" in res.info["notes"]["minirocket"] and "of the 40 training" in res.info["notes"][
        "minirocket"]
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["notes"] == res.info["notes"] and "MiniRocket baseline: fitted on a stratified sample" in (
        tmp_path / "run" / "report.html").read_text()
    shown = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run")])
    assert "MiniRocket: fitted on a stratified sample" in " ".join(shown.output.split())
    # every class keeps at least one case, the draw follows the seed
    labels = np.array(["a"] * 37 + ["b"] * 3)
    rows = sample_cases(labels, 40, 12, seed=0)
    assert set(labels[rows]) == {"a", "b"} and np.array_equal(rows, sample_cases(labels, 40, 12, seed=0))
    assert not np.array_equal(rows, sample_cases(labels, 40, 12, seed=1))


def test_regression_run_scores_minirocket():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 24, 1))
    y = X[:, :, 0].std(axis=1)
    res = run_regression((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 1})
    assert np.isfinite(res.metrics["minirocket"]["mae"])


def test_verdict_says_the_cases_carry_the_signal_when_minirocket_wins():
    v = compare_to_baselines("classification", {"cnn_lstm": {"accuracy": 0.74}, "minirocket": {"accuracy": 0.86},
                                                "nearest_neighbour_1": {"accuracy": 0.8}}, name="CNN-LSTM")
    assert v["beaten_by"] == ["minirocket", "nearest_neighbour_1"]
    assert v["lines"][0] == "MiniRocket beats the CNN-LSTM: accuracy 0.860 vs 0.740."
    assert "the network is what falls short" in v["summary"]
    won = compare_to_baselines("classification", {"cnn_lstm": {"accuracy": 0.9}, "minirocket": {"accuracy": 0.86}})
    assert "falls short" not in won["summary"] and won["model_wins"]


def test_minirocket_model_keeps_the_length_cap_but_no_epoch_budget():
    X, y = make_classification_sines(60, 40, seed=1)
    res = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False,
                             model_config={"type": "minirocket"}, compute_plan={"max_length": 16, "budget": 10})
    plan = res.config["compute_plan"]
    assert plan["changed"] == ["length"] and plan["factor"] == 3 and "epochs" not in plan["why"]
    assert plan["requested"] == {"max_length": 16, "budget": 10}
    assert res.config["train"]["fit"].startswith("closed form") and "minirocket" in res.info["skipped"]
