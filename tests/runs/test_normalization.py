"""The normalization of classification cases: instance, global (TRAIN statistics only), none, auto (1-NN inner CV)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from seqprep.cli import cli, main  # noqa: E402
from seqprep.exceptions import InvalidParameterError  # noqa: E402
from seqprep.runs import channel_stats, global_normalize, run_classification  # noqa: E402
from seqprep.runs._classify import NORMALIZATIONS, choose_normalization, prepare_cases  # noqa: E402

FAST = {"epochs": 1}
TINY = {"conv_channels": [4, 4, 4], "lstm_hidden": 4}


def _levels(n: int = 30, length: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two channels; the class is channel 0's LEVEL (+3 or -3), which instance normalization erases."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, length, 2))
    X[:, :, 0] += np.where(y == 1, 3.0, -3.0)[:, None]
    X[:, :, 1] = X[:, :, 1] * 100.0 + 50.0  # a channel in other units
    return X, y


def test_global_uses_training_statistics_only() -> None:
    X, y = _levels()
    Xtr, ytr, Xte, yte = X[:20], y[:20], X[20:] * 7.0 + 11.0, y[20:]  # test cases on another scale
    cases = prepare_cases(Xtr, ytr, Xte, yte, 0.0, 0, normalization="global")
    mean, std = channel_stats(Xtr)
    assert cases.normalization == "global"
    np.testing.assert_allclose(cases.normalization_info["mean"], mean)
    np.testing.assert_allclose(cases.normalization_info["std"], std)
    flat = cases.X_train.reshape(-1, 2)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(flat.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(cases.X_test, ((Xte - mean) / (std + 1e-8)).astype(np.float32), rtol=1e-5)
    # the test cases never move a statistic: other test values, same training cases and statistics
    other = prepare_cases(Xtr, ytr, Xte * 0.0 - 99.0, yte, 0.0, 0, normalization="global")
    np.testing.assert_array_equal(other.X_train, cases.X_train)
    assert other.normalization_info == cases.normalization_info
    # with a validation split, only the fitting cases give the statistics
    held = prepare_cases(Xtr, ytr, Xte, yte, 0.25, 0, normalization="global")
    np.testing.assert_allclose(held.normalization_info["mean"], channel_stats(Xtr[held.fit_idx])[0])


def test_global_excludes_padded_steps() -> None:
    X, y = _levels()
    X[::2, 8:] = np.nan  # every other case has 8 valid steps
    mean, std = channel_stats(X)
    valid = np.concatenate([X[::2, :8].reshape(-1, 2), X[1::2].reshape(-1, 2)])
    np.testing.assert_allclose(mean, valid.mean(axis=0))
    np.testing.assert_allclose(std, valid.std(axis=0))
    out = global_normalize(X, mean, std)
    assert np.isfinite(out).all() and (out[::2, 8:] == 0).all()
    for variable_length in ("mask", "pad"):
        cases = prepare_cases(X[:20], y[:20], X[20:], y[20:], 0.0, 0, variable_length, "global")
        np.testing.assert_allclose(cases.normalization_info["mean"], channel_stats(X[:20])[0])
        assert (cases.X_train[::2, 8:] == 0).all()


def test_none_and_instance() -> None:
    X, y = _levels()
    X[0, -1] = np.nan
    none = prepare_cases(X[:20], y[:20], X[20:], y[20:], 0.0, 0, normalization="none")
    assert none.normalization_info is None and none.X_train[0, -1, 0] == 0.0
    np.testing.assert_allclose(none.X_train[1], X[1].astype(np.float32))
    inst = prepare_cases(X[:20], y[:20], X[20:], y[20:], 0.0, 0)
    assert inst.normalization == "instance" and abs(float(inst.X_train[1, :, 0].mean())) < 1e-5


def test_auto_picks_from_training_cases() -> None:
    X, y = _levels()
    choice, info = choose_normalization(X, y)
    assert choice == "global" and info["cv_1nn"]["global"] > info["cv_1nn"]["instance"] + 0.02
    # a class told by the shape (instance erases nothing that matters): instance stays (ties too)
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, 16)
    shape = np.where((np.arange(30) % 2 == 1)[:, None], np.sin(6 * t), np.cos(6 * t))[:, :, None]
    Xs = shape * rng.uniform(0.5, 20, size=(30, 1, 1)) + rng.uniform(-50, 50, size=(30, 1, 1))
    assert choose_normalization(Xs, np.arange(30) % 2)[0] == "instance"
    assert choose_normalization(X[:4], y[:4])[0] == "instance"  # too few cases to test


def test_run_records_normalization_and_baseline_uses_it(tmp_path: Path) -> None:
    X, y = _levels(40)
    train, test = (X[:24], y[:24]), (X[24:], y[24:])
    res = run_classification(train, test, normalization="global", model_config=TINY, train_config=FAST,
                             progress=False, device="cpu", out_dir=tmp_path / "g")
    run = json.loads((tmp_path / "g" / "run.json").read_text())
    assert run["normalization"] == "global" and len(run["normalization_info"]["mean"]) == 2
    assert res.metrics["nearest_neighbour_1"]["accuracy"] == 1.0  # the level survives for 1-NN too
    inst = run_classification(train, test, normalization="instance", model_config=TINY, train_config=FAST,
                              progress=False, device="cpu")
    assert inst.config["normalization"] == "instance" and "normalization_info" not in inst.config
    assert inst.metrics["nearest_neighbour_1"]["accuracy"] < 0.8  # the same 1-NN without the level
    auto = run_classification(train, test, normalization="auto", model_config=TINY, train_config=FAST,
                              progress=False, device="cpu")
    assert auto.config["normalization"] == "global"
    assert auto.config["normalization_info"]["requested"] == "auto"
    assert set(auto.config["normalization_info"]["selection"]["cv_1nn"]) == {"instance", "global"}
    with pytest.raises(InvalidParameterError, match="normalization"):
        run_classification(train, test, normalization="minmax", train_config=FAST, progress=False)


def _ts(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    lines = ["@problemName toy", "@timeStamps false", "@univariate false", "@dimensions 2", "@equalLength true",
             "@seriesLength 12", "@classLabel true 0 1", "@data"]
    lines += [":".join(",".join(f"{v:.5f}" for v in case[:, c]) for c in range(2)) + f":{label}"
              for case, label in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_cli_flag_toml_key_and_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    X, y = _levels(36)
    _ts(tmp_path / "tr.ts", X[:24], y[:24])
    _ts(tmp_path / "te.ts", X[24:], y[24:])
    base = ["train", "--train", str(tmp_path / "tr.ts"), "--test", str(tmp_path / "te.ts"), "--epochs", "1",
            "--device", "cpu"]
    result = CliRunner().invoke(cli, [*base, "--normalization", "global", "--out", str(tmp_path / "flag")])
    assert result.exit_code == 0, result.output
    assert "Normalization: global" in result.output
    assert json.loads((tmp_path / "flag" / "run.json").read_text())["normalization"] == "global"
    toml = tmp_path / "n.toml"
    toml.write_text(f'train = "{tmp_path / "tr.ts"}"\ntest = "{tmp_path / "te.ts"}"\nepochs = 1\n'
                    'normalization = "none"\n[model]\nconv_channels = [4, 4, 4]\n')
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), "--out", str(tmp_path / "toml")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "toml" / "run.json").read_text())["normalization"] == "none"
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text(toml.read_text().replace('"none"', '"zscore"'))
    for argv in ([*base, "--normalization", "minmax"], ["train", "--config", str(bad_toml)],
                 ["train", str(tmp_path / "x.csv"), "--target", "f0", "--normalization", "global"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "normalization" in err and "Traceback" not in err


def test_cli_spells_the_library_values() -> None:
    from seqprep.cli._train import _NORMALIZATIONS, train
    from seqprep.runs import DEFAULT_CLASSIFICATION_NORMALIZATION

    assert _NORMALIZATIONS == NORMALIZATIONS
    option = next(p for p in train.params if p.name == "normalization")
    assert f"[{DEFAULT_CLASSIFICATION_NORMALIZATION}]" in (option.help or "")
