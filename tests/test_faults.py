"""Fault tests: kills at chosen points, reruns, --overwrite, two writers, a full disk.

A kill is a real SIGKILL of a real ``seqprep`` process: ``SEQPREP_FAULT=<point>`` makes
:func:`seqprep._files.fault_point` kill the process there (no ``finally`` runs, as with ``kill
-9`` or a power cut). The rerun is the same command, in-process. The rules checked: a rerun after
any failure or kill resumes or starts clean; ``--overwrite`` replaces the old output only once the
new one is complete; a second writer gets "in use by pid N"; a dead writer's lock and temporaries
are cleaned by the next run; a full disk is one line, never a traceback or a SIGBUS.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep._files import clean_stale, output_lock, replace_dir, temp_dir_beside
from seqprep.cli import cli
from seqprep.exceptions import ArtifactError

pytest.importorskip("pyarrow")

ROWS, CHUNK = 3000, 500


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# What the same arguments must give whatever happened before (manifest.json and progress.json also
# record how many runs wrote the chunks, so they differ after a resume).
_CONTENT = ("data.npy", "time.npy", "bounds.npy", "breaks.npy", "starts-train.npy", "starts-val.npy",
            "starts-test.npy", "series.json", "pipeline/pipeline.json")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data")
    t = pd.date_range("2024-01-01", periods=ROWS, freq="h")
    frame = pd.DataFrame({"date": t, "a": np.sin(np.arange(ROWS) / 9.0), "b": np.cos(np.arange(ROWS) / 4.0)})
    frame.to_parquet(d / "x.parquet")
    return d / "x.parquet"


def _args(data: Path, out: Path, lookback: int = 6) -> list[str]:
    return ["prepare", str(data), "--out", str(out), "--lookback", str(lookback), "--target", "a", "--time", "date",
            "--chunk-rows", str(CHUNK), "--no-progress"]


def _killed(args: list[str], point: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``seqprep *args`` in a subprocess that SIGKILLs itself at ``point``; check that it did."""
    env = {**os.environ, "SEQPREP_FAULT": point}
    proc = subprocess.run([sys.executable, "-m", "seqprep", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)
    assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr[-2000:])
    return proc


def _ok(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory) -> dict[str, dict[str, str]]:
    """The files of clean, uninterrupted exports (lookback 6 and 9)."""
    d = tmp_path_factory.mktemp("ref")
    _ok(_args(data, d / "six"))
    _ok(_args(data, d / "nine", lookback=9))
    return {"six": _digests(d / "six"), "nine": _digests(d / "nine")}


def _same_content(out: Path, ref: dict[str, str]) -> None:
    now = _digests(out)
    assert {k: now.get(k) for k in _CONTENT} == {k: ref[k] for k in _CONTENT}
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]  # no lock, no temporary


@pytest.mark.slow
@pytest.mark.parametrize("point", ["export:scanned", "export:setup", "export:chunk2", "export:sealed"])
@pytest.mark.parametrize("rerun", ["same", "overwrite"])
def test_prepare_killed_then_rerun_resumes_or_starts_clean(data, reference, tmp_path, point, rerun):
    out = tmp_path / "out"
    _killed(_args(data, out), point, tmp_path)
    assert out.is_dir() and (out / "progress.json").is_file()  # marked as an export from the start
    _ok(_args(data, out) + (["--overwrite"] if rerun == "overwrite" else []))
    _same_content(out, reference["six"])
    from seqprep.outofcore import open_export

    open_export(out, verify=True)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["export:scanned", "export:chunk2", "export:swap", "replace_dir:between"])
def test_a_killed_overwrite_keeps_the_old_export_byte_identical(data, reference, tmp_path, point):
    out = tmp_path / "out"
    _ok(_args(data, out))
    before = _digests(out)
    _killed(_args(data, out, lookback=9) + ["--overwrite"], point, tmp_path)
    if point == "replace_dir:between":  # killed between the two renames: the old export waits beside
        assert not out.exists() and [p.name for p in tmp_path.iterdir() if ".old-" in p.name]
    else:
        assert _digests(out) == before
    # the next run puts the old export back first (or never lost it), then does its own work
    _ok(_args(data, out, lookback=9) + ["--overwrite"])
    _same_content(out, reference["nine"])


def test_a_plain_rerun_after_a_killed_overwrite_keeps_the_old_export_and_drops_the_new_part(data, tmp_path):
    out = tmp_path / "out"
    _ok(_args(data, out))
    before = _digests(out)
    _killed(_args(data, out, lookback=9) + ["--overwrite"], "export:chunk2", tmp_path)
    assert (tmp_path / ".out.overwrite").is_dir()
    assert "train" in _ok(_args(data, out))  # the same command as the old export: it is complete
    assert _digests(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_prepare_leaves_nothing_and_does_not_block_the_next(data, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, _args(data, out, lookback=5000))  # longer than the data: no window
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []
    out.mkdir()
    result = CliRunner().invoke(cli, _args(data, out, lookback=5000))
    assert result.exit_code == 2 and list(out.iterdir()) == []  # an empty folder given is left empty
    _ok(_args(data, out))


def test_a_failed_resume_keeps_what_was_written(data, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("SEQPREP_EXPORT_FAIL_AFTER", "2")
    result = CliRunner().invoke(cli, _args(data, out))
    assert result.exit_code != 0
    monkeypatch.delenv("SEQPREP_EXPORT_FAIL_AFTER")
    import json

    assert len(json.loads((out / "progress.json").read_text())["chunks"]) == 2
    _ok(_args(data, out))


# --------------------------------------------------------------------------- train (run directories)


_WRITE_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from seqprep.runs._run_dir import write_run

    def write(tmp):
        (tmp / "run.json").write_text(sys.argv[2])
        (tmp / "model").mkdir()
        (tmp / "model" / "weights.pt").write_bytes(b"w" * 1000)

    write_run(Path(sys.argv[1]), write)
""")


@pytest.mark.parametrize("point", ["run:written", "run:sealed", "replace_dir:between"])
def test_a_killed_run_write_keeps_the_old_run_and_leaves_nothing_after_the_next(tmp_path, point):
    from seqprep._manifest import verify_checksums

    target = tmp_path / "run"
    script = tmp_path / "w.py"
    script.write_text(_WRITE_RUN)
    env = {**os.environ, "SEQPREP_FAULT": ""}
    assert subprocess.run([sys.executable, str(script), str(target), "old"], env=env, timeout=120).returncode == 0
    before = _digests(target)
    env["SEQPREP_FAULT"] = point
    proc = subprocess.run([sys.executable, str(script), str(target), "new"], env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]  # what the kill left
    env["SEQPREP_FAULT"] = ""
    if point == "replace_dir:between":
        with output_lock(target):
            clean_stale(target)  # what the next run does first
        assert _digests(target) == before
    else:
        assert _digests(target) == before
    assert subprocess.run([sys.executable, str(script), str(target), "new"], env=env, timeout=120).returncode == 0
    assert (target / "run.json").read_text() == "new"
    verify_checksums(target, fix="")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "w.py"]


@pytest.mark.slow
def test_train_killed_then_rerun_leaves_no_hidden_folder(tmp_path):
    from seqprep.datasets import make_sine

    df = make_sine(120, n_features=2, period=20, noise=0.05, seed=0, as_frame=True).rename(columns={"time": "date"})
    df.to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "stub" / "matplotlib").mkdir(parents=True)  # no report pictures: 3 s a run instead of 20
    (tmp_path / "stub" / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib in this test')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "stub"), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-m", "seqprep", "train", str(tmp_path / "s.csv"), "--target", "f0", "--time", "date",
            "--lookback", "8", "--epochs", "1", "--out", str(tmp_path / "run")]
    for point in ("run:written",):  # run:sealed and the swap: test_a_killed_run_write_keeps_the_old_run...
        proc = subprocess.run(args, env={**env, "SEQPREP_FAULT": point}, capture_output=True, text=True, timeout=300)
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.tmp-")]
        assert not (tmp_path / "run").exists()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "s.csv", "stub"]
    from seqprep.runs import load_run

    assert load_run(tmp_path / "run").config["lookback"] == 8


# --------------------------------------------------------------------------- two writers


_HOLD = textwrap.dedent("""
    import sys, time
    from seqprep._files import output_lock
    with output_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
""")


def test_a_second_writer_is_refused_and_a_dead_writers_lock_is_taken_over(data, tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(cli, _args(data, out))
        assert result.exit_code == 2
        assert f"is in use by pid {holder.pid} on " in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert not out.exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert (tmp_path / ".out.lock").exists()  # a dead writer's lock file stays ...
    _ok(_args(data, out))  # ... and the next run takes it over, and removes it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_two_writers_in_one_process_and_train_into_a_folder_in_use(tmp_path):
    from seqprep.runs import run_classification

    with output_lock(tmp_path / "r"):
        with pytest.raises(ArtifactError, match=rf"in use by pid {os.getpid()}"):
            with output_lock(tmp_path / "r"):
                pass
        with pytest.raises(ArtifactError, match=r"run directory .* is in use by pid"):
            cases = (np.zeros((4, 8, 1)), np.array([0, 1, 0, 1]))
            run_classification(cases, cases, out_dir=tmp_path / "r")
    with output_lock(tmp_path / "r"):  # released: taken again
        pass


def test_clean_stale_restores_a_folder_set_aside_and_removes_temporaries(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "a").write_text("old")
    new = temp_dir_beside(target)
    (new / "a").write_text("new")
    os.replace(target, tmp_path / ".run.old-123")  # the first rename of replace_dir, then a kill
    leftover = temp_dir_beside(target)
    (tmp_path / ".run.0a1b.tmp").write_text("half")
    assert sorted(clean_stale(target)) == sorted([".run.old-123", new.name, leftover.name, ".run.0a1b.tmp"])
    assert (target / "a").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    new = temp_dir_beside(target)
    replace_dir(new, target)
    assert list(target.iterdir()) == []


# --------------------------------------------------------------------------- full disk


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_prepare_on_a_full_disk_is_one_line_and_leaves_nothing(data, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(os, "posix_fallocate", _enospc)
    result = CliRunner().invoke(cli, _args(data, out))
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "no space left on the device" in line and "bytes needed" in line
    assert not out.exists()
    monkeypatch.undo()
    _ok(_args(data, out))


def test_prepare_refuses_before_memory_mapping_when_free_space_is_short(data, tmp_path, monkeypatch):
    import seqprep._files as files

    real = shutil.disk_usage
    monkeypatch.setattr(files.shutil, "disk_usage", lambda p: real(p)._replace(free=10_000))
    result = CliRunner().invoke(cli, _args(data, tmp_path / "out"))
    assert result.exit_code == 2
    assert "bytes needed, 10,000 bytes free" in result.output


def test_a_full_disk_while_writing_a_run_or_predictions_is_one_line(tmp_path, monkeypatch):
    from seqprep.runs._run_dir import write_run

    def write(tmp: Path) -> None:
        (tmp / "run.json").write_text("{}")
        _enospc()

    with pytest.raises(ArtifactError, match=r"no space left on the device to write .*run'.*bytes free"):
        write_run(tmp_path / "run", write)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(pd.DataFrame, "to_csv", _enospc)
    from seqprep._files import atomic_write

    with pytest.raises(ArtifactError, match="no space left"):
        with atomic_write(tmp_path / "p.csv") as fh:
            pd.DataFrame({"a": [1]}).to_csv(fh)
    assert list(tmp_path.iterdir()) == []


_TINY_FS = textwrap.dedent("""
    set -e
    mount -t tmpfs -o size=32k seqprep-test "$1"
    cd "$1"
    set +e
    "$2" -m seqprep prepare "$3" --out "$1/out" --lookback 6 --target a --time date --chunk-rows 500 --no-progress
    echo "rc=$?"
""")


def test_prepare_on_a_real_tiny_filesystem(data, tmp_path):
    """A 32 KiB tmpfs (a user namespace: no root needed where the kernel allows it; skipped otherwise)."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k t {mnt}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {probe.stderr.strip()[:200]}")
    start = time.monotonic()
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", _TINY_FS, "sh", str(mnt), sys.executable, str(data)],
                          capture_output=True, text=True, timeout=300)
    assert "rc=2" in proc.stdout, (proc.stdout, proc.stderr[-2000:])  # not -7 (SIGBUS), not 1 (a traceback)
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "no space left on the device" in err[0] and "Traceback" not in proc.stderr
    assert time.monotonic() - start < 120


def test_a_run_written_while_another_trained_is_not_replaced_without_overwrite(tmp_path):
    from seqprep.exceptions import DataError
    from seqprep.runs._run_dir import write_run

    target = tmp_path / "run"
    write_run(target, lambda tmp: (tmp / "run.json").write_text("first"), overwrite=False)
    with pytest.raises(DataError, match="already exists and is not empty"):
        write_run(target, lambda tmp: (tmp / "run.json").write_text("second"), overwrite=False)
    assert (target / "run.json").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
