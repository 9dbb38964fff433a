"""Progress when the output is not a terminal (CI, a log file): plain lines every few seconds, never silence."""

from __future__ import annotations

import math

import pytest

from seqprep.outofcore import _fit as outofcore_fit
from seqprep.training import _loop


def test_epochs_print_plain_lines_when_stdout_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(_loop, "PLAIN_PROGRESS_EVERY_S", 0.0)
    record = {"train_loss": 0.5, "val_loss": 0.4, "val_metric": 0.3}
    with _loop._EpochProgress(True, 3, "mae") as bar:  # pytest's captured stdout is not a terminal
        assert bar.plain and bar._bar is None
        for _ in range(3):
            bar.update(record)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("  epoch 1/3  loss 0.5  val_loss 0.4  val_mae 0.3")
    with _loop._EpochProgress(False, 3, "mae") as bar:
        bar.update({"train_loss": 0.5, "val_loss": math.nan, "val_metric": math.nan})
    assert capsys.readouterr().out == ""


def test_a_short_training_writes_no_line(capsys):
    with _loop._EpochProgress(True, 2, "mae") as bar:
        bar.update({"train_loss": 0.5, "val_loss": 0.4, "val_metric": 0.3})
        bar.update({"train_loss": 0.5, "val_loss": 0.4, "val_metric": 0.3})
    assert capsys.readouterr().out == ""  # under PLAIN_PROGRESS_EVERY_S: nothing to say


@pytest.mark.parametrize(("enabled", "lines"), [(None, True), (False, False)])
def test_export_passes_print_plain_lines_on_stderr(capsys, monkeypatch, enabled, lines):
    monkeypatch.setattr(outofcore_fit, "PLAIN_PROGRESS_EVERY_S", 0.0)
    with outofcore_fit._Bar(enabled) as bar:
        task = bar.add_task("fit statistics", total=10)
        bar.update(task, 5)
    err = capsys.readouterr().err
    assert ("fit statistics: 50%" in err) is lines
