"""seqprep.distributed: 2 CPU processes under torchrun (gloo, loopback) see disjoint windows; rank 0 saves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqprep.exceptions import InvalidParameterError

torch = pytest.importorskip("torch")

from seqprep.distributed import fit_distributed  # noqa: E402

SCRIPT = Path(__file__).with_name("_ddp_script.py")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_share_the_windows_and_only_rank0_saves(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for _attempt in range(3):
        # The port is free when picked but another process (e.g. a Dask cluster started by a parallel test
        # worker) can take it before torchrun binds it: pick a new one and try again in that case only.
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
            f"--master_port={_free_port()}", str(SCRIPT), str(tmp_path), "seqprep",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        if proc.returncode == 0 or "address already in use" not in (proc.stdout + proc.stderr).lower():
            break
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = [json.loads((tmp_path / f"result-rank{r}.json").read_text()) for r in (0, 1)]
    logs = [json.loads((tmp_path / f"indices-rank{r}.json").read_text()) for r in (0, 1)]
    # training ran, and both ranks agree on the (all-reduced) losses
    assert [r["world_size"] for r in results] == [2, 2]
    assert len(results[0]["history"]) == 2
    assert results[0]["history"] == results[1]["history"]
    assert all(np.isfinite(h["train_loss"]) and np.isfinite(h["val_loss"]) for h in results[0]["history"])
    # only rank 0 saved, with seqprep's save_model
    assert results[0]["saved"] == str(tmp_path / "model") and results[1]["saved"] is None
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["checksums.json", "config.json", "weights.pt"]
    assert not (tmp_path / "model.pt").exists()
    from seqprep.models import load_model

    assert load_model(tmp_path / "model") is not None
    # disjoint shares covering every window; duplicates only DistributedSampler's padding
    n = logs[0]["n_train"]
    assert n % 2 == 1  # so that there is padding to account for
    for epoch in range(2):
        a, b = logs[0]["epochs"][epoch], logs[1]["epochs"][epoch]
        assert len(a) == len(b) == (n + 1) // 2
        assert len(set(a)) == len(a) and len(set(b)) == len(b)
        assert set(a) | set(b) == set(range(n))
        assert len(set(a) & set(b)) == len(a) + len(b) - n == 1  # the one padded window
    assert logs[0]["epochs"][0] != logs[0]["epochs"][1]  # set_epoch reshuffles


def test_plain_module_is_saved_as_a_state_dict(tmp_path, monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4, 1)).astype("float32")
    y = X[:, -1, 0] * 2
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1))
    result = fit_distributed(model, (X[:30], y[:30]), (X[30:], y[30:]), epochs=2, batch_size=8, lr=0.05, seed=0,
                             out_dir=tmp_path, backend="gloo")
    assert not torch.distributed.is_initialized()  # the group it created is torn down
    assert result["rank"] == 0 and result["saved"] == str(tmp_path / "model.pt")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert set(state) == {"1.weight", "1.bias"}
    assert torch.equal(state["1.weight"], model[1].weight.detach())
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left


def test_outside_torchrun_the_error_says_how_to_launch(monkeypatch, tmp_path):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    model = torch.nn.Linear(2, 1)
    with pytest.raises(InvalidParameterError, match="torchrun --nproc_per_node"):
        fit_distributed(model, (np.zeros((4, 2), "float32"), np.zeros(4, "float32")), epochs=1, batch_size=2,
                        lr=0.1, seed=0, out_dir=tmp_path)
    with pytest.raises(InvalidParameterError, match="epochs"):
        fit_distributed(model, (np.zeros((4, 2)), np.zeros(4)), epochs=0, batch_size=2, lr=0.1, seed=0,
                        out_dir=tmp_path)


def test_nccl_without_a_gpu_per_process_is_refused_and_the_default_falls_back_to_gloo(monkeypatch, tmp_path):
    # Two local processes on a one-GPU node: NCCL would fail inside CUDA ("invalid device ordinal").
    from seqprep import distributed

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    for var, value in (("RANK", "1"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "1"), ("LOCAL_WORLD_SIZE", "2"),
                       ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(_free_port()))):
        monkeypatch.setenv(var, value)
    X, y = np.zeros((4, 2), "float32"), np.zeros(4, "float32")
    with pytest.raises(InvalidParameterError, match=r"'nccl' needs one GPU per process.*1 GPU\(s\) for 2 .*"
                                                    r"--nproc_per_node=1\) or use backend='gloo'"):
        fit_distributed(torch.nn.Linear(2, 1), (X, y), epochs=1, batch_size=2, lr=0.1, seed=0, out_dir=tmp_path,
                        backend="nccl")
    assert not torch.distributed.is_initialized()
    chosen = []
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda backend: chosen.append(backend) or 1 / 0)
    with pytest.raises(ZeroDivisionError):  # stop right after the choice: no second process will join
        distributed._init_group(None)
    assert chosen == ["gloo"]
