"""``augment="auto"``: the augmentation chosen per classification run by a 2-fold CV on TRAIN (docs/results.md 4.10)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from seqprep.cli import main  # noqa: E402
from seqprep.exceptions import InvalidParameterError  # noqa: E402
from seqprep.runs import load_run, run_classification, run_forecast, run_regression  # noqa: E402
from seqprep.runs._augment_choice import (  # noqa: E402
    AUGMENT_CANDIDATES,
    AUGMENT_TIE,
    choose_augmentation,
)

TINY = {"conv_channels": [4, 4, 4], "lstm_hidden": 4}
DEFAULT, OTHER = list(AUGMENT_CANDIDATES)


def _cases(n: int = 24, length: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b", "c"])[np.arange(n) % 3]
    X = rng.normal(size=(n, length, 1)) + (np.arange(n) % 3)[:, None, None]
    return X, y


class _FakeRun:
    """Stands in for run_classification: a fixed held-out accuracy per candidate; records every call."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores, self.calls = scores, []

    def __call__(self, train: Any, test: Any, **kw: Any) -> Any:
        self.calls.append((train, test, kw))
        name = next(k for k, v in AUGMENT_CANDIDATES.items() if v == kw["train_config"]["augment"])
        return SimpleNamespace(metrics={"cnn_lstm": {"accuracy": self.scores[name]}})


@pytest.mark.parametrize(("other", "chosen"), [(0.70, DEFAULT), (0.70 + AUGMENT_TIE * 0.9, DEFAULT),
                                               (0.70 + AUGMENT_TIE * 1.5, OTHER), (0.5, DEFAULT)])
def test_the_rule_keeps_jitter_scaling_unless_the_other_wins_by_more_than_the_tie(other: float, chosen: str) -> None:
    X, y = _cases()
    fake = _FakeRun({DEFAULT: 0.70, OTHER: other})
    augment, info = choose_augmentation(fake, X, y, {"epochs": 300, "plateau_patience": 30, "lr": 1e-3}, 7, {})
    assert info["chosen"] == chosen and augment == AUGMENT_CANDIDATES[chosen]
    assert info["mean_accuracy"] == pytest.approx({DEFAULT: 0.70, OTHER: other})
    assert len(fake.calls) == 4 and info["skipped"] is None  # 2 candidates x 2 folds


def test_inner_fits_see_only_training_halves_with_a_quarter_of_the_budget() -> None:
    X, y = _cases(30)
    fake = _FakeRun({DEFAULT: 0.5, OTHER: 0.5})
    choose_augmentation(fake, X, y, {"epochs": 300, "plateau_patience": 30, "lr": 1e-3}, 3,
                        {"normalization": "auto"})
    helds = []
    for (Xf, yf), (Xh, yh), kw in fake.calls:
        assert kw["train_config"]["epochs"] == 75 and kw["train_config"]["plateau_patience"] == 8
        assert kw["train_config"]["lr"] == 1e-3 and kw["seed"] == 3 and kw["compute_plan"] == "off"
        assert kw["normalization"] == "auto" and kw["out_dir"] is None and kw["progress"] is False
        # the two halves of a fold are disjoint rows of X, and each class is in both (stratified)
        rows_f = {X.tolist().index(r) for r in Xf.tolist()}
        rows_h = {X.tolist().index(r) for r in Xh.tolist()}
        assert not rows_f & rows_h and len(rows_f) + len(rows_h) == len(X)
        assert set(yf) == set(yh) == {"a", "b", "c"}
        helds.append(frozenset(rows_h))
    assert len(set(helds)) == 2 and set().union(*helds) == set(range(len(X)))  # every case held out once


def test_too_few_cases_per_class_keeps_the_default_without_a_test() -> None:
    X, y = _cases(3)
    y = np.array(["a", "a", "b"])  # one "b": the half without it has one class
    fake = _FakeRun({DEFAULT: 0.0, OTHER: 1.0})
    augment, info = choose_augmentation(fake, X, y, {"epochs": 10}, 0, {})
    assert augment == AUGMENT_CANDIDATES[DEFAULT] and info["skipped"] and not fake.calls


def test_a_run_records_the_choice_reads_no_test_case_and_reloads(tmp_path: Path) -> None:
    X, y = _cases(36)
    cfg = {"epochs": 4, "augment": "auto"}
    res = run_classification((X[:24], y[:24]), (X[24:], y[24:]), model_config=TINY, train_config=cfg,
                             progress=False, device="cpu", out_dir=tmp_path / "run")
    choice = res.config["augment_choice"]
    assert choice["chosen"] in AUGMENT_CANDIDATES and choice["epochs"] == 1
    assert all(len(v) == 2 for v in choice["fold_accuracy"].values())
    # run.json stores the augmentation that trained (a spec fit accepts back), not "auto"
    saved = json.loads((tmp_path / "run" / "run.json").read_text())
    assert saved["augment_choice"] == choice
    assert [s["kind"] for s in saved["train"]["augment"]["steps"]] == AUGMENT_CANDIDATES[choice["chosen"]]
    assert load_run(tmp_path / "run").config["augment_choice"]["chosen"] == choice["chosen"]
    # other test cases, other labels' order: the same choice from the same training cases and seed
    other = run_classification((X[:24], y[:24]), (X[24:][::-1] * 5.0, y[24:][::-1]), model_config=TINY,
                               train_config=cfg, progress=False, device="cpu")
    assert other.config["augment_choice"] == choice


def test_auto_is_refused_where_no_choice_is_made() -> None:
    df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=120, freq="D"), "y": np.sin(np.arange(120.0))})
    with pytest.raises(InvalidParameterError, match=r"augment.*'auto'.*classification runs only"):
        run_forecast(df, target="y", time="t", train_config={"augment": "auto"}, progress=False)
    X = np.random.default_rng(0).normal(size=(20, 8, 1))
    with pytest.raises(InvalidParameterError, match="classification runs only"):
        run_regression((X[:12], X[:12, 0, 0]), (X[12:], X[12:, 0, 0]), train_config={"augment": "auto"},
                       progress=False)
    with pytest.raises(InvalidParameterError, match=r"augment.*'automatic'.*also takes augment = \"auto\""):
        run_classification(_cases(), _cases(), train_config={"augment": "automatic"}, progress=False)


def test_cli_toml_auto(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    X, y = _cases(36)
    for part, rows in (("tr", slice(0, 24)), ("te", slice(24, None))):
        lines = ["@problemName toy", "@timeStamps false", "@univariate true", "@equalLength true",
                 "@seriesLength 16", "@classLabel true a b c", "@data"]
        lines += [",".join(f"{v:.5f}" for v in case[:, 0]) + f":{label}" for case, label in zip(X[rows], y[rows],
                                                                                              strict=True)]
        (tmp_path / f"{part}.ts").write_text("\n".join(lines) + "\n")
    toml = tmp_path / "c.toml"
    toml.write_text(f'train = "{tmp_path / "tr.ts"}"\ntest = "{tmp_path / "te.ts"}"\nepochs = 4\naugment = "auto"\n'
                    f'device = "cpu"\nout = "{tmp_path / "out"}"\n[model]\nconv_channels = [4, 4, 4]\n')
    with pytest.raises(SystemExit) as done:
        main(["train", "--config", str(toml)])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "Augmentation (auto):" in out and "2-fold CV on TRAIN" in out
    assert json.loads((tmp_path / "out" / "run.json").read_text())["augment_choice"]["folds"] == 2
    # a forecasting run refuses it: one line, exit 2
    pd.DataFrame({"t": pd.date_range("2020-01-01", periods=120, freq="D"),
                  "y": np.sin(np.arange(120.0))}).to_csv(tmp_path / "f.csv", index=False)
    ftoml = tmp_path / "f.toml"
    ftoml.write_text(f'data = "{tmp_path / "f.csv"}"\ntarget = "y"\ntime = "t"\naugment = "auto"\nepochs = 1\n')
    with pytest.raises(SystemExit) as exc:
        main(["train", "--config", str(ftoml)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and "augment" in err
