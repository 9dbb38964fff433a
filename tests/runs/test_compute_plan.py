"""The compute plan of classification runs: identity on the pool's shapes, bounded work, exact masks, wiring."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from seqprep.cli import cli, main  # noqa: E402
from seqprep.exceptions import InvalidParameterError  # noqa: E402
from seqprep.runs import DEFAULT_CLASSIFICATION_TRAIN_CONFIG, evaluate_run, run_classification  # noqa: E402
from seqprep.runs._classify import case_lengths  # noqa: E402
from seqprep.runs._compute import AUTO_COMPUTE_PLAN, check_compute_plan, downsample_cases, plan_compute  # noqa: E402

TINY = {"conv_channels": [4, 4, 4], "lstm_hidden": 4}

# (training cases, longest length) of the eight development-pool sets (docs/results.md section 4.1)
POOL_SHAPES = {"ArrowHead": (36, 251), "BasicMotions": (40, 100), "GunPoint": (50, 150),
               "ItalyPowerDemand": (67, 24), "Coffee": (28, 286), "Trace": (100, 275), "JapaneseVowels": (270, 29),
               "PickupGestureWiimoteZ": (50, 361)}


@pytest.mark.parametrize("name", sorted(POOL_SHAPES))
def test_auto_plan_is_the_identity_on_the_pool(name: str) -> None:
    n, length = POOL_SHAPES[name]
    plan = plan_compute("auto", n, length, DEFAULT_CLASSIFICATION_TRAIN_CONFIG)
    assert plan["changed"] == []
    assert (plan["factor"], plan["length_used"]) == (1, length)
    assert plan["epochs_used"] == DEFAULT_CLASSIFICATION_TRAIN_CONFIG["epochs"]
    assert plan["plateau_patience_used"] == DEFAULT_CLASSIFICATION_TRAIN_CONFIG["plateau_patience"]
    assert plan["work_used"] == plan["work"] <= AUTO_COMPUTE_PLAN["budget"]


@pytest.mark.parametrize(("n", "length"), [(537, 1344), (100, 1460), (104, 2000), (5000, 300), (200_000, 9000)])
def test_long_or_many_cases_get_bounded_work(n: int, length: int) -> None:
    plan = plan_compute("auto", n, length, DEFAULT_CLASSIFICATION_TRAIN_CONFIG)
    cap, budget = AUTO_COMPUTE_PLAN["max_length"], AUTO_COMPUTE_PLAN["budget"]
    assert plan["length_used"] <= cap and plan["length_used"] == math.ceil(length / plan["factor"])
    per_epoch = n * plan["length_used"]
    assert plan["work_used"] == plan["epochs_used"] * per_epoch
    assert plan["work_used"] <= max(budget, per_epoch)  # one epoch is the floor
    assert plan["work_used"] < plan["work"]
    if plan["epochs_used"] < 300:  # the patience shrinks with the epochs
        assert plan["plateau_patience_used"] == max(1, round(30 * plan["epochs_used"] / 300))
    off = plan_compute("off", n, length, DEFAULT_CLASSIFICATION_TRAIN_CONFIG)
    assert off["changed"] == [] and off["work_used"] == n * length * 300


def test_epochs_and_patience_the_user_set_are_kept() -> None:
    cfg = {**DEFAULT_CLASSIFICATION_TRAIN_CONFIG, "epochs": 500, "plateau_patience": 40}
    plan = plan_compute("auto", 537, 1344, cfg, {"epochs": 500, "plateau_patience": 40})
    assert plan["epochs_used"] == 500 and plan["plateau_patience_used"] == 40 and plan["changed"] == ["length"]
    assert "set by the user" in plan["why"]
    only_patience = plan_compute("auto", 537, 1344, cfg, {"plateau_patience": 40})
    assert only_patience["epochs_used"] < 500 and only_patience["plateau_patience_used"] == 40


def test_downsampling_keeps_the_masks_exact() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 101, size=40)
    lengths[0] = 100
    X = rng.normal(size=(40, 100, 2))
    X[np.arange(100)[None, :] >= lengths[:, None]] = np.nan  # NaN padding after each case's length
    X[3, 0, 1] = np.nan  # a missing value inside a case: left out of its block's mean
    for factor in (1, 2, 3, 7, 100):
        out = downsample_cases(X, factor)
        assert out.shape == (40, math.ceil(100 / factor), 2)
        np.testing.assert_array_equal(case_lengths(out), np.ceil(lengths / factor).astype(int))
        for i in (0, 1, 3):  # block means over each case's valid steps only
            for j in range(math.ceil(lengths[i] / factor)):
                block = X[i, j * factor: (j + 1) * factor]
                with warnings.catch_warnings():  # a block of one missing value: NaN, as in the output
                    warnings.simplefilter("ignore", RuntimeWarning)
                    np.testing.assert_allclose(out[i, j], np.nanmean(block, axis=0))
        assert np.isnan(out[np.arange(out.shape[1])[None, :] >= np.ceil(lengths / factor)[:, None]]).all()


def _unequal_long(n: int = 24, length: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.arange(length)
    X = np.sin(t[None, :] / (8.0 + 8.0 * y[:, None]))[..., None] + 0.1 * rng.normal(size=(n, length, 1))
    lengths = rng.integers(length // 3, length + 1, size=n)
    lengths[0] = length
    X[t[None, :] >= lengths[:, None]] = np.nan
    return X, y


def test_run_applies_and_records_the_plan(tmp_path: Path) -> None:
    X, y = _unequal_long()
    plan = {"max_length": 100, "budget": 16 * 100 * 2}  # 16 fitting cases x 100 steps x 2 epochs
    res = run_classification((X[:16], y[:16]), (X[16:], y[16:]), model_config=TINY, progress=False, device="cpu",
                             compute_plan=plan, out_dir=tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "run.json").read_text())
    recorded = saved["compute_plan"]
    assert recorded["factor"] == 3 and recorded["length_used"] == 100 and recorded["epochs_used"] == 2
    assert recorded["changed"] == ["length", "epochs", "plateau_patience"] and recorded["work_used"] == 3200
    assert recorded["lstm_steps"] == 25  # pool="auto" on 100 steps: 100 -> 25, no further pool (it keeps >= 16)
    assert saved["length"] == 100 and saved["train"]["epochs"] == 2 and len(res.history.history) == 2
    assert res.model.config["lookback"] == 100
    assert "Compute plan: cases of 300 steps average-pooled by 3" in (tmp_path / "run" / "report.html").read_text()
    assert evaluate_run(tmp_path / "run")["matches"]  # the saved (pooled) test cases re-score the saved model
    windows = np.load(tmp_path / "run" / "test_windows.npz")  # the masks of the test cases follow the pooling
    np.testing.assert_array_equal(windows["lengths"], np.ceil(case_lengths(X[16:]) / 3).astype(int))


def test_off_is_the_run_without_a_plan() -> None:
    X, y = _unequal_long(length=60)
    cfg = {"epochs": 2}
    kwargs = {"model_config": TINY, "train_config": cfg, "progress": False, "device": "cpu"}
    auto = run_classification((X[:16], y[:16]), (X[16:], y[16:]), **kwargs)
    off = run_classification((X[:16], y[:16]), (X[16:], y[16:]), compute_plan="off", **kwargs)
    assert auto.config["compute_plan"]["changed"] == [] and off.config["compute_plan"]["requested"] == "off"
    assert auto.predictions.equals(off.predictions)
    assert auto.metrics == off.metrics


def test_budgets_in_scientific_notation_are_read_as_whole_numbers() -> None:
    assert check_compute_plan("budget=4e7") == {"max_length": 512, "budget": 40_000_000}
    assert check_compute_plan({"budget": 2e7})["budget"] == 20_000_000  # TOML `budget = 2e7` is a float


@pytest.mark.parametrize("bad", ["fast", "max_length=abc", "max_length=4", "budget=0", "speed=3", 7,
                                 {"max_length": 2.5}, {"budget": -1}, {"budget": "lots"}, {"epochs": 3},
                                 "max_length=1,max_length=2", "budget=2.5e0", "budget=inf", {"budget": float("nan")}])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="compute_plan"):
        check_compute_plan(bad)
    with pytest.raises(InvalidParameterError, match="compute_plan"):
        run_classification((np.zeros((4, 8, 1)), np.arange(4) % 2), (np.zeros((2, 8, 1)), np.arange(2)),
                           compute_plan=bad, progress=False)


def test_values_read() -> None:
    assert check_compute_plan(" OFF ") == "off" and check_compute_plan("auto") == "auto"
    assert check_compute_plan("max_length=none,budget=1_000") == {"max_length": None, "budget": 1000}
    assert check_compute_plan({"budget": "None"}) == {"max_length": 512, "budget": None}
    assert check_compute_plan({"max_length": np.int64(64)}) == {"max_length": 64, "budget": AUTO_COMPUTE_PLAN["budget"]}


def _ts(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    rows = [":".join(",".join(f"{v:.5f}" for v in case[np.isfinite(case[:, 0]), 0]) for _ in [0]) + f":{label}"
            for case, label in zip(X, y, strict=True)]
    path.write_text("@problemName t\n@timeStamps false\n@univariate true\n@equalLength false\n"
                    "@classLabel true 0 1\n@data\n" + "\n".join(rows) + "\n")


def test_cli_flag_toml_key_and_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    X, y = _unequal_long(36, 120)
    _ts(tmp_path / "tr.ts", X[:24], y[:24])
    _ts(tmp_path / "te.ts", X[24:], y[24:])
    base = ["train", "--train", str(tmp_path / "tr.ts"), "--test", str(tmp_path / "te.ts"), "--device", "cpu"]
    result = CliRunner().invoke(cli, [*base, "--compute-plan", "max_length=40,budget=1920",
                                      "--out", str(tmp_path / "flag")])
    assert result.exit_code == 0, result.output
    assert "Compute plan: cases of 120 steps average-pooled by 3" in result.output
    plan = json.loads((tmp_path / "flag" / "run.json").read_text())["compute_plan"]
    assert (plan["factor"], plan["epochs_used"]) == (3, 2)  # 24 cases x 40 steps x 2 epochs = 1920
    toml = tmp_path / "c.toml"
    toml.write_text(f'train = "{tmp_path / "tr.ts"}"\ntest = "{tmp_path / "te.ts"}"\nepochs = 1\ndevice = "cpu"\n'
                    '[compute_plan]\nmax_length = 60\n[model]\nconv_channels = [4, 4, 4]\n')
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), "--out", str(tmp_path / "toml")])
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "toml" / "run.json").read_text())["compute_plan"]
    assert plan["factor"] == 2 and plan["epochs_used"] == 1 and plan["requested"]["max_length"] == 60
    off = tmp_path / "off.toml"
    off.write_text(toml.read_text().replace("[compute_plan]\nmax_length = 60\n", 'compute_plan = "off"\n'))
    result = CliRunner().invoke(cli, ["train", "--config", str(off), "--out", str(tmp_path / "off")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "off" / "run.json").read_text())["compute_plan"]["factor"] == 1
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text(toml.read_text().replace("max_length = 60", "max_length = 2"))
    for argv in ([*base, "--compute-plan", "turbo"], [*base, "--compute-plan", "budget=-5"],
                 ["train", "--config", str(bad_toml)],
                 ["train", str(tmp_path / "x.csv"), "--target", "f0", "--compute-plan", "off"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "compute" in err and "Traceback" not in err
