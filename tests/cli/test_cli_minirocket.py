"""``seqprep train --model minirocket``: the baseline as the run's model, end to end, and where it is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqprep.cli import cli

DATA = Path(__file__).resolve().parents[1] / "data"


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(("folder", "name", "task"), [("ucr_unittest_chinatown", "UnitTest", "classification"),
                                                      ("reg_covid3month", "Covid3Month", "regression")])
def test_train_evaluate_with_minirocket(tmp_path, folder, name, task):
    run = tmp_path / "run"
    result = _invoke("train", "--train", str(DATA / folder / f"{name}_TRAIN.ts"), "--test",
                     str(DATA / folder / f"{name}_TEST.ts"), "--model", "minirocket", "--out", str(run))
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "fitted in closed form" in out and "epoch(s)" not in out
    assert "MiniRocket skipped: it is the run's model." in out
    assert "CNN-LSTM" not in out.replace("reference CNN-LSTM", "")
    config = json.loads((run / "run.json").read_text())
    assert config["model_type"] == "minirocket" and config["train"]["fit"].startswith("closed form")
    assert config["train"]["alpha"] > 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert "minirocket" not in metrics["test"] and metrics["skipped"]["minirocket"] == "it is the run's model"
    assert metrics["verdict"]["name"] == "MiniRocket" and metrics["summary"].startswith(
        ("MiniRocket beats", "MiniRocket ties", "1-NN", "majority", "ridge", "the training mean", "mean"))
    report = (run / "report.html").read_text()
    assert "MiniRocket (the model)" in report
    assert task == "regression" or "Fitted in closed form: MiniRocket biases" in report
    assert "Learning curves" not in report and "epoch" not in report.split("Configuration")[0]
    ev = _invoke("evaluate", str(run))
    assert ev.exit_code == 0 and "matches" in ev.output


def test_minirocket_is_refused_for_forecasting_and_with_settings(tmp_path):
    result = _invoke("train", str(DATA / "airline" / "Airline.csv"), "--model", "minirocket", "--out",
                     str(tmp_path / "f"))
    assert result.exit_code == 2 and "forecast" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "f").exists()
    toml = tmp_path / "m.toml"
    toml.write_text(f'train = "{DATA / "ucr_unittest_chinatown" / "UnitTest_TRAIN.ts"}"\n'
                    f'test = "{DATA / "ucr_unittest_chinatown" / "UnitTest_TEST.ts"}"\n'
                    '[model]\ntype = "minirocket"\nconv_channels = [8]\n')
    result = _invoke("train", "--config", str(toml), "--out", str(tmp_path / "m"))
    assert result.exit_code == 2 and "conv_channels" in result.output and "minirocket" in result.output
    assert not (tmp_path / "m").exists()
