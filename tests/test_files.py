"""The one atomic-write implementation (seqprep._files, re-exported by seqprep.io)."""

from __future__ import annotations

import os
import stat

import pytest

from seqprep._files import atomic_write, replace_dir


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "stats.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(target) as fh:
            fh.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]


def test_binary_write_creates_parents_and_uses_the_umask(tmp_path):
    target = tmp_path / "a" / "b" / "w.bin"
    with atomic_write(target, "wb") as fh:
        fh.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write(target, "a"):
            pass



def test_replace_dir_swaps_a_finished_folder_in(tmp_path):
    new, target = tmp_path / "tmp", tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    replace_dir(new, target)
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_temp_dir_beside_uses_the_umask_and_runs_pipelines_follow_it(tmp_path):
    from seqprep._files import temp_dir_beside
    from seqprep.datasets import make_classification_sines
    from seqprep.runs import run_classification

    umask = os.umask(0)
    os.umask(umask)
    tmp = temp_dir_beside(tmp_path / "deep" / "run")
    assert tmp.parent == tmp_path / "deep" and tmp.name.startswith(".run.tmp-") and tmp.is_dir()
    assert stat.S_IMODE(tmp.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's private 0700
    assert temp_dir_beside(tmp_path / "deep" / "run") != tmp  # unique per call
    X, y = make_classification_sines(24, 16, seed=0)
    res = run_classification((X[:18], y[:18]), (X[18:], y[18:]), progress=False, out_dir=tmp_path / "r",
                             train_config={"epochs": 1})
    assert stat.S_IMODE(res.run_dir.stat().st_mode) == 0o777 & ~umask
