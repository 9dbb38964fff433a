"""seqprep train, predict and check on Monash .tsf files: the file's series key, time axis and values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep.cli import cli

DATA = Path(__file__).resolve().parents[1] / "data"

TINY = """
epochs = 1
batch_size = 32
[model]
conv_channels = [8]
kernel_size = 3
lstm_hidden = 8
"""


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _panel(tmp_path: Path, start: bool = True) -> Path:
    """Three monthly series of 40 values; a numeric attribute that must not be taken as the target."""
    rng = np.random.default_rng(0)
    lines = ["# toy", "@relation toy", "@attribute series_name string", "@attribute weight numeric"]
    lines += ["@attribute start_timestamp date"] if start else []
    lines += ["@frequency monthly", "@horizon 3", "@missing false", "@equallength true", "@data"]
    for i, name in enumerate(["A", "B", "C"]):
        values = ",".join(f"{v:.3f}" for v in 10 * (i + 1) + np.sin(np.arange(40) / 3) + rng.normal(0, 0.1, 40))
        stamp = f"{2000 + i}-01-01 00-00-00:" if start else ""
        lines.append(f"{name}:{i + 1}:{stamp}{values}")
    path = tmp_path / "toy.tsf"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("start", [True, False])
def test_train_and_predict_take_the_tsf_roles(tmp_path, start):
    file = _panel(tmp_path, start)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", str(file), "--lookback", "4", "--device", "cpu", "--config", str(config),
                     "--out", str(run))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "series key: 'series_name' (the .tsf file's first string attribute" in text
    assert "target: 'value' (the .tsf file's series values" in text
    assert ("time axis: 'time' (the .tsf file's start timestamps, monthly steps" if start else
            "time axis: 'time' (step numbers 0, 1, ... of each series: the .tsf file has no start timestamp") in text
    saved = json.loads((run / "run.json").read_text())
    assert (saved["group"], saved["time"], saved["target"]) == ("series_name", "time", "value")
    assert saved["inputs"] == ["weight", "value"]  # the numeric attribute is an input, not the target
    if start:
        assert saved["time_axis"]["frequency"].startswith("MS")
    pred = tmp_path / "pred.csv"
    out = _invoke("predict", str(run), "--data", str(file), "--out", str(pred))
    assert out.exit_code == 0, out.output
    table = pd.read_csv(pred)
    assert len(table) > 0 and set(table["series"]) == {"A", "B", "C"}
    last = table.groupby("series")["prediction_time"].max()
    # one step after each series' last row: month 40 of 2000/2001/2002, or step 40
    expected = {"A": "2003-05-01", "B": "2004-05-01", "C": "2005-05-01"} if start else dict.fromkeys("ABC", "40")
    assert {k: str(v)[: len(expected[k])] for k, v in last.items()} == expected


def test_flags_override_the_tsf_roles(tmp_path):
    file = _panel(tmp_path)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", str(file), "--target", "weight", "--group", "series_name", "--lookback", "4",
                     "--device", "cpu", "--config", str(config), "--out", str(run))
    assert result.exit_code == 0, result.output
    assert "series key:" not in result.output and "target:" not in result.output
    assert json.loads((run / "run.json").read_text())["target"] == "weight"


def test_check_takes_the_tsf_time_axis_and_series_key(tmp_path):
    file = _panel(tmp_path)
    out = _invoke("check", str(file), "--target", "value", "--lookback", "4", "--json")
    assert out.exit_code == 0, out.output
    codes = {f["code"]: f for f in json.loads(out.output)["findings"]}
    assert "MS" in codes["TIME_AXIS"]["title"] and "TRAINING_DATA" in codes and "REFUSED" not in codes


def test_several_series_without_a_key_are_refused_in_words(tmp_path):
    file = tmp_path / "nokey.tsf"
    file.write_text("@attribute start date\n@frequency yearly\n@data\n2000-01-01 00-00-00:1,2,3\n"
                    "2001-01-01 00-00-00:4,5,6\n")
    for command in ("train", "check"):
        result = CliRunner().invoke(cli, [command, str(file)])
        assert result.exit_code == 2
        assert "the .tsf file holds 2 series but no string attribute names each one alone" in result.output


def test_m1_yearly_trains_with_defaults_but_the_model(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", str(DATA / "monash_tsf" / "m1_yearly_dataset.tsf"), "--device", "cpu",
                     "--config", str(config), "--out", str(run))
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "run.json").read_text())
    assert (saved["group"], saved["time"], saved["target"]) == ("series_name", "time", "value")
    assert saved["time_axis"]["frequency"].startswith("YS")
    assert saved["horizon"] == 1 and "@horizon is 6 (--horizon 6" in " ".join(result.output.split())
