"""Tests of the demo/train/evaluate/predict commands (CliRunner and the real console script)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep.cli import cli, main
from seqprep.datasets import make_sine

SCRIPT = Path(sys.executable).parent / "seqprep"


def _csv(tmp_path: Path, n: int = 400) -> Path:
    df = make_sine(n, n_features=2, period=20, noise=0.05, seed=0, as_frame=True).rename(columns={"time": "date"})
    df["kind"] = "a"
    path = tmp_path / "sine.csv"
    df.to_csv(path, index=False)
    return path


def _script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=180)


@pytest.mark.skipif(not SCRIPT.exists(), reason="the seqprep console script is not installed in this environment")
def test_demo_console_script_and_evaluate(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = _script("demo", "--epochs", "2", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "very different scales" in text and "precipitation" in text
    assert "training rows" in text and "(1009, 14, 6)" in text
    assert "persistence" in text and "ridge" in text
    assert (out / "COMPLETE").is_file()
    # a second run into the same explicit directory is refused with one line and exit code 2
    again = _script("demo", "--epochs", "1", "--out", str(out), cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.startswith("error:") and "Traceback" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    ev = _script("evaluate", str(out), cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert "matches" in ev.stdout


def test_demo_default_dir_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["demo", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "demo" / "keep.txt").read_text() == "mine"
    new = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith("demo-")]
    assert len(new) == 1 and (new[0] / "COMPLETE").is_file()


def test_train_predict_evaluate_forecast(tmp_path: Path) -> None:
    data = _csv(tmp_path)
    run = tmp_path / "run"
    toml = tmp_path / "run.toml"
    toml.write_text('target = "f0"\ntime = "date"\nfeatures = ["f0", "f1"]\nlookback = 20\nepochs = 3\nperiod = 20\n'
                    'augment = ["jitter"]\nthreads = 1\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["train", str(data), "--config", str(toml), "--epochs", "2", "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert "seasonal naive" in result.output
    assert re.search(r"(beats the CNN-LSTM: MAE|the CNN-LSTM beats every baseline: MAE) \d+\.\d{3}", result.output)
    verdict = json.loads((run / "metrics.json").read_text())["verdict"]
    assert verdict["metric"] == "mae" and verdict["better"] == "lower"
    assert all(line in result.output for line in verdict["lines"])
    history = pd.read_json(run / "history.json", typ="series")
    assert len(history["history"]) == 2  # the flag overrode the TOML
    assert json.loads((run / "run.json").read_text())["train"]["augment"]["steps"][0]["kind"] == "jitter"
    assert json.loads((run / "run.json").read_text())["threads"] == 1  # the TOML key
    preds = tmp_path / "p.csv"
    result = runner.invoke(cli, ["predict", str(run), "--data", str(data), "--out", str(preds)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(preds, parse_dates=["end_time", "prediction_time"])
    assert len(table) == 400 - 20 + 1
    assert ((table["prediction_time"] - table["end_time"]) == pd.Timedelta("1D")).all()
    saved = pd.read_csv(run / "predictions.csv", parse_dates=["end_time"])
    merged = table.merge(saved, on="end_time")
    np.testing.assert_allclose(merged["prediction"], merged["cnn_lstm"], rtol=1e-5, atol=1e-6)
    result = runner.invoke(cli, ["evaluate", str(run)])
    assert result.exit_code == 0 and "matches" in result.output
    assert all(line in result.output for line in verdict["lines"])  # evaluate repeats the saved summary


def test_train_classification_ts(tmp_path: Path) -> None:
    from seqprep.datasets import make_classification_sines

    X, y = make_classification_sines(60, 24, seed=1)

    def write(path: Path, X: np.ndarray, y: np.ndarray) -> None:
        lines = ["@problemName toy", "@timeStamps false", "@univariate true", "@classLabel true 0 1", "@data"]
        lines += [",".join(f"{v:.5f}" for v in case[:, 0]) + f":{label}" for case, label in zip(X, y, strict=True)]
        path.write_text("\n".join(lines) + "\n")

    write(tmp_path / "tr.ts", X[:40], y[:40])
    write(tmp_path / "te.ts", X[40:], y[40:])
    result = CliRunner().invoke(cli, ["train", "--train", str(tmp_path / "tr.ts"), "--test", str(tmp_path / "te.ts"),
                                      "--epochs", "3", "--out", str(tmp_path / "cls")])
    assert result.exit_code == 0, result.output
    assert "majority class" in result.output and (tmp_path / "cls" / "COMPLETE").is_file()
    assert "the CNN-LSTM" in result.output  # the honest summary: who wins on accuracy, in plain words
    # an ensemble from the TOML file: shared [model] settings, one [[model.members]] table per network
    toml = tmp_path / "ens.toml"
    toml.write_text(f'train = "{tmp_path / "tr.ts"}"\ntest = "{tmp_path / "te.ts"}"\nepochs = 2\n'
                    '[model]\nconv_channels = [8, 8, 8]\n[[model.members]]\nkernel_size = 3\n'
                    '[[model.members]]\nkernel_size = 7\n')
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), "--out", str(tmp_path / "ens")])
    assert result.exit_code == 0, result.output
    members = json.loads((tmp_path / "ens" / "run.json").read_text())["model"]["members"]
    assert [m["config"]["kernel_size"] for m in members] == [3, 7]
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "ens")])
    assert result.exit_code == 0 and "matches" in result.output
    # --members overrides the TOML's list with a number of seeds, keeping the shared [model] settings
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), "--members", "3", "--epochs", "1",
                                      "--out", str(tmp_path / "ens3")])
    assert result.exit_code == 0, result.output
    members = json.loads((tmp_path / "ens3" / "run.json").read_text())["model"]["members"]
    assert len(members) == 3 and {m["config"]["conv_channels"] == [8, 8, 8] for m in members} == {True}
    # LSTM-FCN from the flag, its settings from the TOML's [model] table (type there too works)
    toml = tmp_path / "fcn.toml"
    toml.write_text(f'train = "{tmp_path / "tr.ts"}"\ntest = "{tmp_path / "te.ts"}"\nepochs = 1\n'
                    '[model]\nconv_channels = [8, 8, 8]\n')
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), "--model", "lstm_fcn", "--out",
                                      str(tmp_path / "fcn")])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "fcn" / "run.json").read_text())
    assert run["model_type"] == "lstm_fcn" and run["model"]["conv_channels"] == [8, 8, 8]
    # the run names its network: the table, the verdict and the report say LSTM-FCN, never CNN-LSTM
    out = " ".join(result.output.split())
    assert "LSTM-FCN" in out and "CNN-LSTM" not in out.replace("reference CNN-LSTM", "")
    saved = json.loads((tmp_path / "fcn" / "metrics.json").read_text())
    assert "the LSTM-FCN" in saved["summary"] and saved["verdict"]["name"] == "LSTM-FCN"
    report = (tmp_path / "fcn" / "report.html").read_text()
    assert "LSTM-FCN (the network)" in report and "CNN-LSTM" not in report
    shown = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "fcn")])
    assert shown.exit_code == 0 and "LSTM-FCN" in shown.output and "CNN-LSTM" not in shown.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "{tmp}/missing.csv", "--target", "f0"], "does not exist"),
        (["train", "{data}", "--target", "nope", "--time", "date"], "not in the data"),
        (["train", "{data}", "--target", "kind", "--time", "date"], "not numeric"),
        (["train", "{data}", "--target", "f0", "--time", "date", "--device", "tpu9"], "`device` must be"),
        (["train", "{data}", "--target", "f0", "--time", "date", "--threads", "0"], "`threads` must be"),
        (["train", "{data}", "--target", "f0", "--time", "date", "--lookback", "5000"], "lookback"),
        (["train", "{data}", "--config", "{tmp}/bad.toml"], "not valid TOML"),
        (["evaluate", "{tmp}"], "COMPLETE"),
    ],
)
def test_bad_inputs_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                    needle: str) -> None:
    data = _csv(tmp_path)
    (tmp_path / "bad.toml").write_text("target = \n")
    argv = [a.format(tmp=tmp_path, data=data) for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and needle in err


@pytest.mark.skipif(not SCRIPT.exists(), reason="the seqprep console script is not installed in this environment")
def test_bad_input_console_script(tmp_path: Path) -> None:
    proc = _script("train", str(tmp_path / "missing.csv"), "--target", "x", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
