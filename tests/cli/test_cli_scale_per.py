"""seqprep train --scale-per / TOML scale_per, and evaluate/predict of a per-series run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep.cli import cli, main

TINY = """
epochs = 2
batch_size = 64
threads = 1
[model]
conv_channels = [4]
kernel_size = 3
lstm_hidden = 4
"""


def _panel_csv(tmp_path: Path, n: int = 120) -> Path:
    """Three daily series at levels 1, 100 and 10000: columns shop, day, y."""
    rng = np.random.default_rng(1)
    frames = [pd.DataFrame({"shop": shop, "day": pd.date_range("2021-01-01", periods=n, freq="D"),
                            "y": scale * (10.0 + np.sin(np.arange(n) / 5.0) + rng.normal(0.0, 0.2, n))})
              for shop, scale in (("a", 1.0), ("b", 100.0), ("c", 10000.0))]
    path = tmp_path / "panel.csv"
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_train_scale_per_series_then_evaluate_and_predict(tmp_path: Path) -> None:
    data = _panel_csv(tmp_path)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", str(data), "--target", "y", "--time", "day", "--group", "shop", "--lookback", "8",
                     "--scale-per", "series", "--device", "cpu", "--config", str(config), "--out", str(run))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "standard scaler per series" in text and "each of the 3 series scaled by its own training rows" in text
    assert "validation MAE, scaled per series:" in text
    saved = json.loads((run / "run.json").read_text())
    assert saved["scale_per"] == "series" and saved["ridge_path"]["units"] == "scaled per series"

    ev = _invoke("evaluate", str(run))
    assert ev.exit_code == 0, ev.output
    assert "(matches)" in ev.output

    pred = tmp_path / "pred.csv"
    out = _invoke("predict", str(run), "--data", str(data), "--out", str(pred))
    assert out.exit_code == 0, out.output
    table = pd.read_csv(pred, parse_dates=["end_time"])
    ours = pd.read_csv(run / "predictions.csv", parse_dates=["end_time"])
    merged = table.merge(ours, on=["series", "end_time"])
    assert len(merged) == len(ours) > 0
    np.testing.assert_allclose(merged["prediction"], merged["cnn_lstm"], rtol=1e-5)
    np.testing.assert_allclose(ours["persistence"], pd.read_csv(data, parse_dates=["day"]).set_index(
        ["shop", "day"])["y"].loc[list(zip(ours["series"], ours["end_time"], strict=True))], rtol=1e-6)


def test_toml_scale_per_and_the_flag_over_it(tmp_path: Path) -> None:
    data = _panel_csv(tmp_path, 60)
    config = tmp_path / "tiny.toml"
    config.write_text('scale_per = "series"\ntarget = "y"\ntime = "day"\ngroup = "shop"\nlookback = 8\n'
                      + TINY.replace("epochs = 2", "epochs = 1"))
    for extra, want in (([], "series"), (["--scale-per", "feature"], "feature")):
        run = tmp_path / f"run-{want}"
        result = _invoke("train", str(data), "--config", str(config), "--device", "cpu", "--out", str(run), *extra)
        assert result.exit_code == 0, result.output
        assert json.loads((run / "run.json").read_text())["scale_per"] == want


@pytest.mark.parametrize(
    ("args", "toml", "needle"),
    [
        (["--scale-per", "global"], "", "`scale_per` must be one of feature, series. Received: scale_per='global'"),
        ([], 'scale_per = "window"\n', "`scale_per` must be one of feature, series in '"),
        ([], "scale_per = 1\n", "`scale_per` must be a string in '"),
        (["--scale-per", "series"], "", "`scale_per` must be 'feature' when the data has no group column"),
    ],
)
def test_bad_scale_per_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                       toml: str, needle: str) -> None:
    data = _panel_csv(tmp_path, 40)
    single = tmp_path / "single.csv"
    pd.read_csv(data).query("shop == 'a'").drop(columns="shop").to_csv(single, index=False)
    config = tmp_path / "c.toml"
    config.write_text(toml + 'target = "y"\ntime = "day"\n')
    with pytest.raises(SystemExit) as exc:
        main(["train", str(single), "--config", str(config), "--out", str(tmp_path / "run"), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and needle in err, err
    assert not (tmp_path / "run").exists()


def test_scale_per_is_refused_for_classification(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["train", "--train", str(tmp_path / "tr.ts"), "--test", str(tmp_path / "te.ts"), "--scale-per", "series"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "`--scale-per` has no effect in classification (--train/--test .ts files)" in err


def test_cli_spells_the_library_values_and_says_the_default() -> None:
    from seqprep.cli._train import _SCALE_PER, train
    from seqprep.runs._forecast import SCALE_PER

    assert _SCALE_PER == SCALE_PER
    option = next(p for p in train.params if p.name == "scale_per")
    assert "[feature]" in (option.help or "") and "each series by the mean and std of its own" in (option.help or "")
    result = _invoke("train", "--help")
    assert "--scale-per [feature|series]" in result.output
