"""Tamper tests: every file of a saved pipeline, a run directory and an export is covered by checksums.json.

Each file is changed in two ways (one byte flipped; one value edited and the file rewritten in
its own format) and the loader must refuse it, naming the file. A removed file and an added
file are refused too, and a path stored in an artifact may not leave its directory.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline
from seqprep._manifest import CHECKSUMS_FILE, safe_member, verify_checksums, write_checksums
from seqprep.exceptions import ArtifactError


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _flip(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))


def _edit_json(value: object) -> object:
    """The JSON value with one leaf changed (the first number, else the first string, else a key added)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dict):
        for k in sorted(value):
            v = value[k]
            if isinstance(v, bool):
                return {**value, k: not v}
            if isinstance(v, (int, float)):
                return {**value, k: v + 1}
        for k in sorted(value):
            if isinstance(value[k], (dict, list)) and value[k]:
                return {**value, k: _edit_json(value[k])}
        for k in sorted(value):
            if isinstance(value[k], str):
                return {**value, k: value[k] + "x"}
        return {**value, "edited": 1}
    if isinstance(value, list) and value:
        return [_edit_json(value[0]), *value[1:]]
    if value is None:
        return 0
    return value


def _edit(path: Path) -> None:
    """Change one value of ``path`` and rewrite it in its own format."""
    if path.suffix == ".json":
        path.write_text(json.dumps(_edit_json(json.loads(path.read_text())), indent=1))
    elif path.suffix == ".npy":
        arr = np.load(path)
        if arr.size:
            flat = arr.reshape(-1)
            flat[-1] = flat[-1] + (np.timedelta64(1, "D") if arr.dtype.kind == "M" else 1)
        else:
            arr = np.zeros(1, arr.dtype)
        np.save(path, arr)
    elif path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k].copy() for k in npz.files}
        key = sorted(arrays)[0]
        if arrays[key].dtype.kind in "US":
            arrays[key][0] = "edited"
        else:
            arrays[key].reshape(-1)[0] += 1
        np.savez(path, **arrays)
    elif path.suffix == ".pt":
        import torch

        state = torch.load(path, weights_only=True)
        key = sorted(state)[0]
        state[key] = state[key] + 1
        buf = io.BytesIO()
        torch.save(state, buf)
        path.write_bytes(buf.getvalue())
    else:
        path.write_bytes(path.read_bytes() + b"edited\n")


def _refused(load, folder: Path, name: str, match: str | None = None) -> None:
    with pytest.raises(ArtifactError) as info:
        load(folder)
    message = str(info.value)
    assert "\n" not in message.strip()
    # the changed file is named (a change to checksums.json itself may name the file whose digest it broke)
    assert name in message or Path(name).name in message or (Path(name).name == CHECKSUMS_FILE and "was modified"
                                                                in message), message
    if match is not None:
        assert match in message, message


def _tamper_all(artifact: Path, tmp_path: Path, load) -> int:
    """Flip, edit, remove each file of ``artifact`` in turn (a fresh copy each time); add one file."""
    load(artifact)  # the untouched artifact loads
    cases = 0
    for name in _files(artifact):
        for how in (_flip, _edit, Path.unlink):
            copy = tmp_path / f"case{cases}"
            shutil.copytree(artifact, copy)
            before = (copy / name).read_bytes()
            how(copy / name)
            assert not (copy / name).exists() or (copy / name).read_bytes() != before, (name, how)
            _refused(load, copy, name)
            shutil.rmtree(copy)
            cases += 1
    copy = tmp_path / "added"
    shutil.copytree(artifact, copy)
    (copy / "notes.txt").write_text("mine")
    _refused(load, copy, "notes.txt", "not part of the saved artifact")
    return cases + 1


# --------------------------------------------------------------------------- saved pipelines


def _pipeline_dir(tmp_path: Path) -> Path:
    t = pd.date_range("2024-01-01", periods=90, freq="D")
    df = pd.DataFrame({"date": np.tile(t, 2), "site": np.repeat(["a", "b"], 90),
                       "temp": np.sin(np.arange(180) / 5.0), "rain": np.cos(np.arange(180) / 7.0)})
    pipe = Pipeline(lookback=5, target="temp", time="date", group="site", scale_per="series", scaler="robust")
    pipe.fit(df)
    return pipe.save(tmp_path / "pipe")


def test_every_file_of_a_saved_pipeline_is_checked(tmp_path):
    saved = _pipeline_dir(tmp_path)
    assert _files(saved) == ["arrays.npz", "checksums.json", "pipeline.json"]
    assert _tamper_all(saved, tmp_path, Pipeline.load) == 10


def test_artifacts_without_checksums_are_refused_with_a_resave_message(tmp_path):
    saved = _pipeline_dir(tmp_path)
    (saved / CHECKSUMS_FILE).unlink()
    with pytest.raises(ArtifactError, match=r"no checksums.json.*older than 0.2.*save it again"):
        Pipeline.load(saved)


def test_a_hand_made_checksums_file_may_not_point_outside(tmp_path):
    saved = _pipeline_dir(tmp_path)
    payload = json.loads((saved / CHECKSUMS_FILE).read_text())
    payload["files"]["../outside.json"] = {"size": 2, "sha256": "0" * 64}
    (saved / CHECKSUMS_FILE).write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match=r"refers to '../outside.json', which is outside"):
        Pipeline.load(saved)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a/../../b", "", "a\\b", 3, None])
def test_safe_member_refuses_paths_that_leave_the_directory(tmp_path, name):
    with pytest.raises(ArtifactError, match="outside"):
        safe_member(tmp_path, name, source="config.json")


def test_a_symbolic_link_in_an_artifact_is_refused(tmp_path):
    saved = _pipeline_dir(tmp_path)
    (tmp_path / "elsewhere.npz").write_bytes((saved / "arrays.npz").read_bytes())
    (saved / "arrays.npz").unlink()
    (saved / "arrays.npz").symlink_to(tmp_path / "elsewhere.npz")
    with pytest.raises(ArtifactError, match=r"arrays.npz.*(outside|is a symbolic link)"):
        verify_checksums(saved, fix="Save it again.")


# --------------------------------------------------------------------------- models


def test_model_weights_path_may_not_leave_the_model_directory(tmp_path):
    torch = pytest.importorskip("torch")
    from seqprep.models import CNNLSTM, load_model, save_model

    model_dir = save_model(CNNLSTM(2), tmp_path / "run" / "model")
    shutil.copy(model_dir / "weights.pt", tmp_path / "weights.pt")
    meta = json.loads((model_dir / "config.json").read_text())
    for path in ("../../weights.pt", str(tmp_path / "weights.pt")):
        (model_dir / "config.json").write_text(json.dumps({**meta, "weights": path}))
        with pytest.raises(ArtifactError, match="config.json was modified"):
            load_model(model_dir)
        write_checksums(model_dir, files=["config.json", "weights.pt"])  # even when the checksums were re-made
        with pytest.raises(ArtifactError, match="which is outside"):
            load_model(model_dir)
    assert torch is not None


# --------------------------------------------------------------------------- run directories


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    pytest.importorskip("torch")
    from seqprep.datasets import make_sine
    from seqprep.runs import run_forecast

    df = make_sine(120, n_features=2, period=20, noise=0.05, seed=0, as_frame=True).rename(columns={"time": "date"})
    out = tmp_path_factory.mktemp("run") / "run"
    run_forecast(df, target="f0", time="date", lookback=8, horizon=1, out_dir=out, train_config={"epochs": 1},
                 progress=False)
    return out, df


def _load_and_use(folder: Path) -> None:
    from seqprep.runs import evaluate_run

    evaluate_run(folder)


@pytest.mark.slow
def test_every_file_of_a_run_directory_is_checked(forecast_run, tmp_path):
    run, _ = forecast_run
    names = _files(run)
    for must in ("run.json", "metrics.json", "test_windows.npz", "model/config.json", "model/weights.pt",
                 "pipeline/pipeline.json", "COMPLETE", "checksums.json"):
        assert must in names
    assert _tamper_all(run, tmp_path, _load_and_use) == 3 * len(names) + 1


@pytest.mark.parametrize(("file", "edit"), [
    ("run.json", lambda d: {**d, "horizon": d["horizon"] + 3}),
    ("model/config.json", lambda d: {**d, "config": {**d["config"], "skip_index": 0}}),
    ("metrics.json", lambda d: {**d, "test": {k: {m: 0.0 for m in v} for k, v in d["test"].items()}}),
])
def test_the_reported_run_edits_are_refused_by_predict_and_evaluate(forecast_run, tmp_path, file, edit):
    from click.testing import CliRunner

    from seqprep.cli import cli

    run, df = forecast_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    path = copy / file
    path.write_text(json.dumps(edit(json.loads(path.read_text())), indent=2))
    data = tmp_path / "new.csv"
    df.to_csv(data, index=False)
    predict = ["predict", str(copy), "--data", str(data), "--out", str(tmp_path / "p.csv")]
    for args in (["evaluate", str(copy)], predict):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert f"{file} was modified after it was saved" in result.output
    assert not (tmp_path / "p.csv").exists()


def test_edited_test_windows_are_refused(forecast_run, tmp_path):
    from seqprep.runs import evaluate_run

    copy = tmp_path / "run"
    shutil.copytree(forecast_run[0], copy)
    with np.load(copy / "test_windows.npz") as npz:
        X, y = npz["X"].copy(), npz["y"].copy()
    np.savez(copy / "test_windows.npz", X=X[::-1], y=y[::-1])
    with pytest.raises(ArtifactError, match="test_windows.npz was modified"):
        evaluate_run(copy)


def test_predict_refuses_to_write_inside_the_sealed_run(forecast_run, tmp_path):
    from click.testing import CliRunner

    from seqprep.cli import cli

    run, df = forecast_run
    data = tmp_path / "new.csv"
    df.to_csv(data, index=False)
    result = CliRunner().invoke(cli, ["predict", str(run), "--data", str(data), "--out", str(run / "p.csv")])
    assert result.exit_code == 2 and "inside the run directory" in result.output
    assert not (run / "p.csv").exists()


# --------------------------------------------------------------------------- exports


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    pytest.importorskip("pyarrow")
    from seqprep.outofcore import export

    d = tmp_path_factory.mktemp("export")
    n = 12_000  # data.npy (96 kB of float32) is longer than the 64 KiB that checksums.json hashes of it
    t = pd.date_range("2024-01-01", periods=n, freq="h")
    pd.DataFrame({"date": t, "a": np.sin(np.arange(n) / 9.0), "b": np.cos(np.arange(n) / 4.0)}).to_parquet(
        d / "x.parquet")
    out = export(Pipeline(lookback=6, target="a", time="date", gap=2), d / "out", d / "x.parquet", chunk_rows=4096,
                 progress=False)
    return out


def _open_verified(folder: Path) -> None:
    from seqprep.outofcore import open_export

    open_export(folder, verify=True)


def test_every_file_of_an_export_is_checked(export_dir, tmp_path):
    names = _files(export_dir)
    for must in ("data.npy", "time.npy", "bounds.npy", "breaks.npy", "starts-train.npy", "starts-test.npy",
                 "manifest.json", "progress.json", "series.json", "pipeline/pipeline.json", "checksums.json"):
        assert must in names
    assert _tamper_all(export_dir, tmp_path, _open_verified) == 3 * len(names) + 1


def test_a_train_window_made_equal_to_a_test_window_is_refused_even_without_verify(export_dir, tmp_path):
    from seqprep.outofcore import open_export

    copy = tmp_path / "out"
    shutil.copytree(export_dir, copy)
    train, test = np.load(copy / "starts-train.npy"), np.load(copy / "starts-test.npy")
    train[-1] = test[0]
    np.save(copy / "starts-train.npy", train)
    with pytest.raises(ArtifactError, match="starts-train.npy was modified"):
        open_export(copy)


def test_an_edited_data_chunk_is_refused_with_verify(export_dir, tmp_path):
    from seqprep.outofcore import open_export

    copy = tmp_path / "out"
    shutil.copytree(export_dir, copy)
    data = np.load(copy / "data.npy", mmap_mode="r+")
    data[-1, 0] += 1.0
    data.flush()
    del data
    open_export(copy)  # the cheap check reads the header and sizes only
    with pytest.raises(ArtifactError, match=r"chunk 2 of .*data.npy"):
        open_export(copy, verify=True)
