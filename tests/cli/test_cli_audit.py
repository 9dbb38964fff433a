"""`seqprep audit` / `seqprep check` through click's runner and once through the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep.cli import cli, main

SCRIPT = Path(sys.executable).parent / "seqprep"


def _series(n: int = 600) -> np.ndarray:
    t = np.arange(n)[:, None]
    return np.sin(t / np.array([7.0, 13.0])) + t / n


def _windows(scaled: np.ndarray, lookback: int = 12) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    return np.ascontiguousarray(sliding_window_view(scaled, lookback, axis=0).transpose(0, 2, 1))


@pytest.fixture
def honest(tmp_path):
    data = _series()
    mu, sd = data[:480].mean(axis=0), data[:480].std(axis=0)
    scaled = (data - mu) / sd
    np.save(tmp_path / "X_train.npy", _windows(scaled[:480]))
    np.save(tmp_path / "X_test.npy", _windows(scaled[480:]))
    return tmp_path


@pytest.fixture
def leaky_npz(tmp_path):
    data = _series()
    train, test = data[:480], data[480:]
    X_train = _windows((train - train.mean(axis=0)) / train.std(axis=0))
    X_test = _windows((test - test.mean(axis=0)) / test.std(axis=0))
    path = tmp_path / "arrays.npz"
    np.savez(path, X_train=X_train, X_test=X_test)
    return path


def test_audit_clean_exit_0(honest):
    result = CliRunner().invoke(
        cli, ["audit", "--train", str(honest / "X_train.npy"), "--test", str(honest / "X_test.npy")]
    )
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


def test_audit_npz_leak_exit_1_json(leaky_npz):
    result = CliRunner().invoke(cli, ["audit", str(leaky_npz), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["findings"][0]["code"] == "SCALED_PER_PART" and report["ok"] is False


def test_audit_table_output(leaky_npz):
    result = CliRunner().invoke(cli, ["audit", str(leaky_npz)])
    assert result.exit_code == 1
    assert "SCALED_PER_PART" in result.output


def test_audit_csv_and_layout(tmp_path):
    data = _series(400)
    scaled = (data - data.mean(axis=0)) / data.std(axis=0)  # fitted before the split
    pd.DataFrame(scaled[:300]).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame(scaled[300:]).to_csv(tmp_path / "test.csv", index=False)
    args = ["audit", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert json.loads(result.output)["findings"][0]["code"] == "SCALED_BEFORE_SPLIT"


@pytest.mark.parametrize(
    "args, match",
    [
        (["audit", "missing.npz"], "does not exist"),
        (["audit", "--train", "missing.npy", "--test", "missing.npy"], "does not exist"),
        (["audit"], "`--train` and `--test` are required"),
    ],
)
def test_audit_bad_input_exit_2(args, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert match in capsys.readouterr().err


def test_audit_wrong_key_exit_2(tmp_path, capsys):
    path = tmp_path / "a.npz"
    np.savez(path, X_train=np.zeros((5, 2)), Xtest=np.zeros((5, 2)))
    with pytest.raises(SystemExit) as exc:
        main(["audit", str(path)])
    assert exc.value.code == 2
    assert "unknown key" in capsys.readouterr().err


def test_check_command(tmp_path):
    df = pd.DataFrame({"date": ["2024-01-01", "2024-01-02", "2024-01-05"], "x": [1.0, 2.0, 3.0]})
    df.to_csv(tmp_path / "d.csv", index=False)
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "d.csv"), "--time", "date", "--json"])
    assert result.exit_code == 0, result.output
    assert [f["code"] for f in json.loads(result.output)["findings"]] == ["TIME_GAPS", "TIME_AXIS"]
    df.loc[1, "x"] = np.nan
    df.to_csv(tmp_path / "d.csv", index=False)
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "d.csv"), "--time", "date"])
    assert result.exit_code == 1 and "NONFINITE" in result.output


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed in this environment")
def test_console_script_exit_codes(honest, leaky_npz):
    clean = subprocess.run(
        [str(SCRIPT), "audit", "--train", str(honest / "X_train.npy"), "--test", str(honest / "X_test.npy"), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["ok"] is True
    leak = subprocess.run([str(SCRIPT), "audit", str(leaky_npz), "--json"], capture_output=True, text=True, timeout=60)
    assert leak.returncode == 1
    assert json.loads(leak.stdout)["findings"][0]["code"] == "SCALED_PER_PART"
    bad = subprocess.run([str(SCRIPT), "audit", "nope.npz"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "does not exist" in bad.stderr
